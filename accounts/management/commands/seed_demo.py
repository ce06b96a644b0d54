"""A realistic demo: two organizations, members of every role, hundreds of accounts and their contacts."""

import logging
import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import Max, OuterRef, Subquery
from django.utils import timezone

from accounts import demo_data
from accounts.codenames import MINOR_PLANET_NAMES
from accounts.models import (
    COHORT_ORDER,
    Account,
    AccountStatus,
    Cohort,
    CohortArrSnapshot,
    CohortChange,
    Contact,
    LeadStatus,
    LifecycleStage,
)
from accounts.services import account_update, cohort_arr_snapshot_take, note_add
from core.events import events_muted
from core.models import AuditEntry, Notification, Organization, Role
from core.services import member_add, organization_create, user_get_or_create
from core.tenancy import Tenant, tenant_scope
from cs_platform.celery import app as celery_app
from lifecycle.models import ContactQualification, Deal, DealStage, DealType, LifecycleStageChange, OnboardingPlan, Task
from lifecycle.rules import NEXT_STAGES
from lifecycle.services import (
    UNRESPONSIVE_NOT_SUGGESTED,
    deal_commit,
    deal_create,
    deal_move,
    pipeline_settings_get,
    task_complete,
    task_create,
)

User = get_user_model()
DEMO_ORGANIZATIONS = (
    ("northwind", "Northwind Robotics", "USD", "Europe/Berlin"),
    ("helios", "Helios Analytics", "EUR", "Europe/Amsterdam"),
)
MEMBER_NAMES = {
    Role.ADMIN: ("Alex", "Morgan"),
    Role.CSM: ("Casey", "Brooks"),
    Role.AE: ("Jordan", "Reyes"),
    Role.SUPPORT: ("Sam", "Okafor"),
    Role.VIEWER: ("Vic", "Lindqvist"),
}
ARR_RANGES = {
    Cohort.TRIAL: (0, 0),
    Cohort.STARTER: (1_200, 6_000),
    Cohort.PREMIUM: (8_000, 40_000),
    Cohort.ENTERPRISE: (50_000, 400_000),
}
COHORT_WEIGHTS = {Cohort.TRIAL: 30, Cohort.STARTER: 35, Cohort.PREMIUM: 25, Cohort.ENTERPRISE: 10}
STAGE_WEIGHTS = {
    LifecycleStage.SUBSCRIBER: 10,
    LifecycleStage.LEAD: 14,
    LifecycleStage.MARKETING_QUALIFIED_LEAD: 10,
    LifecycleStage.PRODUCT_QUALIFIED_LEAD: 6,
    LifecycleStage.SALES_QUALIFIED_LEAD: 8,
    LifecycleStage.OPPORTUNITY: 8,
    LifecycleStage.CUSTOMER: 38,
    LifecycleStage.EVANGELIST: 1,
    LifecycleStage.OTHER: 5,
}
COHORT_LADDER = list(Cohort.values)  # Trial, Starter, Premium, Enterprise: the way up (seed 000)
# The stage(s) a contact can come from, read off the funnel's forward moves.
PREVIOUS_STAGES = {
    stage: tuple(before for before, nexts in NEXT_STAGES.items() if stage in nexts) for stage in LifecycleStage.values
}
QUALIFIED_STAGES = (
    LifecycleStage.SALES_QUALIFIED_LEAD,
    LifecycleStage.OPPORTUNITY,
    LifecycleStage.CUSTOMER,
    LifecycleStage.EVANGELIST,
)
OPEN_BOARD = [DealStage.OPPORTUNITY, DealStage.POC_STARTED, DealStage.VALUE_VALIDATED, DealStage.CONTRACT_SENT]
# Where the demo deals end up, cycled: any prefix of a dozen or more covers the whole board.
DEAL_STAGE_CYCLE = (
    DealStage.OPPORTUNITY, DealStage.POC_STARTED, DealStage.VALUE_VALIDATED, DealStage.CONTRACT_SENT,
    DealStage.CLOSED_WON, DealStage.CLOSED_LOST, DealStage.OPPORTUNITY, DealStage.POC_STARTED,
    DealStage.VALUE_VALIDATED, DealStage.CONTRACT_SENT, DealStage.OPPORTUNITY, DealStage.CLOSED_WON,
    DealStage.POC_STARTED, DealStage.CLOSED_LOST, DealStage.VALUE_VALIDATED, DealStage.CONTRACT_SENT,
    DealStage.OPPORTUNITY, DealStage.POC_STARTED, DealStage.CLOSED_WON, DealStage.OPPORTUNITY,
)  # fmt: skip
# Manual tasks: days from today they are due (negative: overdue); the first of each list is done already.
CSM_TASK_DUE_DAYS = (-9, -3, 0, 0, 2, 4, 11)
AE_TASK_DUE_DAYS = (-5, -1, 0, 1, 3, 12)


@contextmanager
def demo_notifications_not_emailed() -> Iterator[None]:
    """Seeding notifies the demo CSMs (commits, wins, tasks); those notifications must not become emails.

    notification_send enqueues deliver_notification_email.delay() on commit. With REDIS_URL set and Redis down,
    .delay() raises kombu's OperationalError after the data has committed; with the filesystem broker it queues
    messages a worker would later mail to the demo addresses. So while seeding, Celery runs tasks eagerly (no
    broker is touched) and each organization marks its notifications emailed before commit, so the eager task's
    compare-and-set claim finds nothing to send. The in-app notifications stay, unread.
    """
    previous = celery_app.conf.task_always_eager
    # Eager runs still log "Task ... succeeded" each, and the pooled producer Celery takes (unused) makes kombu
    # warn that filesystem:// has no hostname; the demo's refused webhook deliveries are logged as warnings too:
    # noise in the command's output, so quiet while seeding.
    loggers = [logging.getLogger(name) for name in ("celery.app.trace", "kombu.connection", "integrations.services")]
    levels = [logger.level for logger in loggers]
    celery_app.conf.task_always_eager = True
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        celery_app.conf.task_always_eager = previous
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


class Command(BaseCommand):
    help = "Seed two demo organizations with members of every role, accounts, contacts, notes and ARR history."

    def add_arguments(self, parser):
        parser.add_argument("--password", default="demo-password-2026")
        parser.add_argument("--accounts", type=int, default=300, help="Accounts in the first organization")
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--reset", action="store_true", help="Delete the demo organizations first")

    def handle(self, *args, password, accounts, seed, reset, **options):
        slugs = [slug for slug, *_ in DEMO_ORGANIZATIONS]
        if reset:
            Organization.objects.filter(slug__in=slugs).delete()
        if Organization.objects.filter(slug__in=slugs).exists():
            self.stdout.write("The demo organizations exist already; nothing was changed (use --reset to recreate).")
            self._print_logins(password)
            return
        rng = random.Random(seed)
        # Muted: the seed's thousands of changes would each enqueue a health recompute and a playbook check; the
        # seeds of those apps compute what they need themselves.
        with demo_notifications_not_emailed(), events_muted(), transaction.atomic():
            organizations = []
            for index, (slug, name, currency, zone) in enumerate(DEMO_ORGANIZATIONS):
                organization = organization_create(slug=slug, name=name, default_currency=currency)
                organization.timezone = zone
                organization.save(update_fields=["timezone"])
                count = accounts if index == 0 else max(accounts * 2 // 5, 10)
                self._seed_organization(organization, password, count, rng, deal_target=40 if index == 0 else 15)
                organizations.append(organization)
            # The first organization's admin also sees the second one, so the switcher has something to show.
            admin, _ = user_get_or_create(email=f"admin@{slugs[0]}.example")
            member_add(tenant=None, organization=organizations[1], user=admin, role=Role.VIEWER)
        self.stdout.write(self.style.SUCCESS("Demo data created."))
        self._print_logins(password)

    def _seed_organization(self, organization, password, account_count, rng, deal_target) -> None:
        members = {}
        for role, (first, last) in MEMBER_NAMES.items():
            user, _ = user_get_or_create(
                email=f"{role}@{organization.slug}.example", password=password, first_name=first, last_name=last
            )
            member_add(tenant=None, organization=organization, user=user, role=role)
            members[role] = user
        extra_csm, _ = user_get_or_create(
            email=f"csm2@{organization.slug}.example", password=password, first_name="Riley", last_name="Chen"
        )
        member_add(tenant=None, organization=organization, user=extra_csm, role=Role.CSM)
        csms = [members[Role.CSM], extra_csm]
        today = timezone.localdate()

        with tenant_scope(organization):
            account_rows = self._accounts(organization, account_count, csms, members[Role.AE], today, rng)
            Account.objects.bulk_create(account_rows, batch_size=500)
            saved_accounts = list(Account.objects.order_by("id"))
            Contact.objects.bulk_create(self._contacts(organization, saved_accounts, rng), batch_size=1000)
            self._creation_history(organization, members[Role.AE])
            tenant = Tenant(organization=organization, role=Role.CSM, user=members[Role.CSM])
            for account in rng.sample(saved_accounts, min(40, len(saved_accounts))):
                note_add(tenant=tenant, account=account, body=rng.choice(demo_data.NOTES))
            self._lifecycle(organization, members, saved_accounts, deal_target, today, rng)
            from qbr.demo_data import seed_qbrs  # qbr builds on accounts: imported here, as the seeds go

            seed_qbrs(organization=organization, members=members, rng=rng)
            from churn.demo_data import seed_churn  # churn and migrations build on accounts: imported here too
            from migrations_notify.demo_data import seed_migrations

            seed_churn(organization=organization, members=members, rng=rng)
            seed_migrations(organization=organization, members=members, rng=rng)
            from revenue.demo_data import seed_revenue  # after churn: its cases say which subscriptions were canceled

            seed_revenue(organization=organization, members=members, rng=rng)
            from integrations.hubspot.demo_data import seed_hubspot

            seed_hubspot(organization=organization, members=members, rng=rng)
            from usage.demo_data import seed_usage  # usage builds on accounts: imported here, as the seeds go

            seed_usage(organization=organization, members=members, rng=rng)
            from playbooks.demo_data import seed_playbooks  # playbooks build on accounts: imported here too

            seed_playbooks(organization=organization, members=members, rng=rng)
            from health.demo_data import seed_health  # health reads every source above: last

            seed_health(organization=organization, members=members, rng=rng)
            # After every seed above has notified its members: see demo_notifications_not_emailed.
            Notification.objects.filter(emailed_at__isnull=True).update(emailed_at=timezone.now())
            # Last, so today's snapshot includes what the won deals added.
            self._arr_history(organization, today, rng)

    def _lifecycle(self, organization, members, accounts, deal_target, today, rng) -> None:
        """The lifecycle features, lived in: histories, qualification, a pipeline, onboarding, tasks, outreach."""
        now = timezone.now()
        ae, csm = members[Role.AE], members[Role.CSM]
        ae_tenant = Tenant(organization=organization, role=Role.AE, user=ae)
        csm_tenant = Tenant(organization=organization, role=Role.CSM, user=csm)
        # Histories first: the services below (a won deal's handoff) append their rows after them.
        account_born = self._cohort_paths(organization, accounts, now, rng)
        self._stage_history(organization, accounts, account_born, csm, now, rng)
        self._qualifications(organization, rng)
        plans = self._deals(ae_tenant, accounts, deal_target, today, now, rng)
        self._onboarding_progress(csm_tenant, plans, today, now, rng)
        self._tasks(ae_tenant, csm_tenant, accounts, today, rng)
        self._outreach(ae, now, rng)
        self._support(organization, members, accounts, now, rng)

    def _support(self, organization, members, accounts, now, rng) -> None:
        """A lived-in support inbox: seed 000's rules, tickets of the last ten days, replies, comments, closures."""
        from core.secrets import seal
        from tickets import services as ticket_services
        from tickets.models import Message, SupportSettings, Ticket, TicketStatusChange
        from tickets.settings_services import default_support_rules_create

        SupportSettings.objects.update_or_create(
            organization=organization,
            defaults={
                "forum_url": "https://forum.example.com/c/help",
                "feature_tracker_url": "https://github.com/example/platform/issues",
                "docs_url": "https://docs.example.com",
                "inbound_secret_sealed": seal(f"demo-inbound-{organization.slug}"),
            },
        )
        default_support_rules_create(organization=organization)
        support = Tenant(organization=organization, role=Role.SUPPORT, user=members[Role.SUPPORT])
        csm = Tenant(organization=organization, role=Role.CSM, user=members[Role.CSM])
        requesters = list(
            Contact.objects.filter(account__in=[a for a in accounts if a.status == "active"][:120])
            .exclude(lifecycle_stage="other")
            .values_list("email", flat=True)[:200]
        )
        count = min(36, len(requesters))
        for index in range(count):
            subject, body, topic, priority = demo_data.TICKETS[index % len(demo_data.TICKETS)]
            ticket = ticket_services.ticket_create(
                tenant=support, subject=subject, body=body, requester_email=rng.choice(requesters),
                channel=rng.choice(["email", "email", "web", "contact_form", "chat"]), topic=topic, priority=priority,
            )  # fmt: skip
            # Back in time, spread over ten days, so the SLA clocks and the inbox read like a real week.
            opened = now - timedelta(hours=rng.randint(1, 240))
            Ticket.objects.filter(pk=ticket.pk).update(
                created_at=opened, last_customer_message_at=opened, updated_at=opened
            )
            Message.objects.filter(ticket=ticket).update(created_at=opened)
            TicketStatusChange.objects.filter(ticket=ticket).update(changed_at=opened)
            ticket.refresh_from_db()
            if ticket.status == "closed":
                continue  # answered by a routing rule
            fate = index % 6
            if fate in (1, 2, 3, 4):
                ticket_services.ticket_reply(
                    tenant=support, ticket=ticket, body=rng.choice(demo_data.TICKET_REPLIES),
                    status="pending_customer" if fate in (1, 2) else "open",
                )  # fmt: skip
            if fate == 2:
                ticket_services.customer_message_add(tenant=support, ticket=ticket, body="Thanks, that worked for me.")
                ticket_services.ticket_close(tenant=support, ticket=ticket)
            if fate == 3:
                ticket_services.ticket_comment(
                    tenant=support, ticket=ticket, body="@casey this account renews next month, worth a call?"
                )
                ticket_services.ticket_comment(tenant=csm, ticket=ticket, body="Thanks, I will call them this week.")
            # What happened after the ticket opened happened within hours of it, not all "now".
            step = opened + timedelta(minutes=rng.choice([25, 50, 90, 200, 420, 700]))
            for message in Message.objects.filter(ticket=ticket).exclude(kind=Message.Kind.CUSTOMER, created_at=opened):
                step += timedelta(minutes=rng.randint(5, 90))
                Message.objects.filter(pk=message.pk).update(created_at=min(step, now))
            later = TicketStatusChange.objects.filter(ticket=ticket).exclude(changed_at=opened).order_by("id")
            for offset, change in enumerate(later):
                TicketStatusChange.objects.filter(pk=change.pk).update(
                    changed_at=min(step + timedelta(minutes=offset), now)
                )
            ticket.refresh_from_db()
            replies = Message.objects.filter(ticket=ticket, kind=Message.Kind.REPLY, automatic=False).order_by(
                "created_at"
            )
            first_reply = replies.values_list("created_at", flat=True).first()
            Ticket.objects.filter(pk=ticket.pk).update(
                first_response_at=first_reply,
                last_agent_message_at=replies.values_list("created_at", flat=True).last(),
                closed_at=min(step, now) if ticket.status == "closed" else None,
                updated_at=min(step, now),
            )
            ticket.refresh_from_db()
            ticket_services.sla_refresh(ticket=ticket)
        # Nothing of the demo goes out by email: replies count as delivered before the queued sends run.
        Message.objects.filter(delivery=Message.Delivery.QUEUED).update(delivery=Message.Delivery.SENT)
        for ticket_id, due_at in ticket_services.sla_overdue_unrecorded():
            ticket_services.sla_breach_record(ticket_id=ticket_id, due_at=due_at)

    def _cohort_paths(self, organization, accounts, now, rng) -> dict[int, datetime]:
        """Every account's way to its cohort, one row per step; returns when each account was created.

        Most paying accounts started as a Trial one to two years ago and moved up one cohort at a time; some were
        sold straight into a paid cohort, some skipped a step, and a few went one cohort too far and came back.
        """
        rows, born = [], {}
        for account in accounts:
            target = COHORT_ORDER[account.cohort]
            if target == 0:
                path = [Cohort.TRIAL]
                created = now - timedelta(days=rng.randint(5, 120), hours=rng.randint(0, 23))
            else:
                start = 0 if rng.random() < 0.8 else rng.randint(1, target)
                path = COHORT_LADDER[start : target + 1]
                if len(path) > 2 and rng.random() < 0.15:
                    path.pop(rng.randrange(1, len(path) - 1))
                if target < len(COHORT_LADDER) - 1 and rng.random() < 0.08:
                    path += [COHORT_LADDER[target + 1], COHORT_LADDER[target]]  # upgraded, then downgraded
                created = now - timedelta(days=rng.randint(max(100, 60 * len(path)), 730), hours=rng.randint(0, 23))
            moves = self._spread(created, now - timedelta(days=1), len(path) - 1, rng, lean=0.7)
            changed_by = account.csm_owner_id or account.ae_owner_id
            for step, (from_cohort, to_cohort, when) in enumerate(
                zip(["", *path[:-1]], path, [created, *moves], strict=True)
            ):
                rows.append(
                    CohortChange(
                        organization=organization,
                        account=account,
                        from_cohort=from_cohort,
                        to_cohort=to_cohort,
                        changed_at=when,
                        changed_by_id=account.ae_owner_id if step == 0 else changed_by,
                    )
                )
            account.created_at = born[account.pk] = created
        CohortChange.objects.bulk_create(rows, batch_size=1000)
        # One UPDATE (a bulk_update's CASE per row is slow on SQLite): each account was created with its first row.
        first_row = CohortChange.objects.filter(account=OuterRef("pk"), from_cohort="").values("changed_at")[:1]
        Account.objects.update(created_at=Subquery(first_row))
        return born

    @staticmethod
    def _spread(start: datetime, end: datetime, count: int, rng, lean: float = 1.0) -> list[datetime]:
        """`count` increasing moments between start and end; lean < 1 pulls them towards the end, > 1 the start."""
        span = (end - start).total_seconds()
        points = sorted(rng.random() ** lean for _ in range(count))
        moments, last = [], start
        for point in points:
            moment = max(start + timedelta(seconds=span * point), last + timedelta(minutes=30))
            moments.append(moment)
            last = moment
        return moments

    def _stage_path(self, stage: str, rng) -> list[str]:
        """A forward path to `stage` one step at a time (rules.NEXT_STAGES), from Subscriber or Lead."""
        if stage == LifecycleStage.OTHER:
            return [rng.choice((LifecycleStage.SUBSCRIBER, LifecycleStage.LEAD)), LifecycleStage.OTHER]
        path = [stage]
        while path[0] not in (LifecycleStage.SUBSCRIBER, LifecycleStage.LEAD):
            options = PREVIOUS_STAGES[path[0]]
            # Most SQLs came through marketing; customer success found the product-qualified ones.
            path.insert(0, options[0] if len(options) == 1 or rng.random() < 0.75 else options[1])
        if path[0] == LifecycleStage.LEAD and rng.random() < 0.5:
            path.insert(0, LifecycleStage.SUBSCRIBER)
        return path

    def _stage_history(self, organization, accounts, account_born, csm, now, rng) -> None:
        """Each contact's dated way through the funnel, owned by the account's AE (who also owns the contact)."""
        by_id = {account.pk: account for account in accounts}
        owners = User.objects.filter(pk__in={account.ae_owner_id for account in accounts})
        names = {user.pk: user.get_full_name() or user.email for user in owners}
        rows = []
        for contact in Contact.objects.only("id", "account_id", "lifecycle_stage").order_by("id"):
            account = by_id[contact.account_id]
            owner_id = account.ae_owner_id
            path = self._stage_path(contact.lifecycle_stage, rng)
            earliest = max(account_born[account.pk], now - timedelta(days=365))
            # Contacts arrive all year; most of their moves follow within weeks or months, some are recent.
            created = earliest + (now - earliest) * rng.random() ** 2 * 0.9
            moves = self._spread(created, now - timedelta(hours=2), len(path) - 1, rng, lean=2.0)
            for from_stage, to_stage, when in zip(["", *path[:-1]], path, [created, *moves], strict=True):
                by_csm = to_stage == LifecycleStage.PRODUCT_QUALIFIED_LEAD  # customer success sets PQL
                rows.append(
                    LifecycleStageChange(
                        organization=organization,
                        contact=contact,
                        account_id=account.pk,
                        from_stage=from_stage,
                        to_stage=to_stage,
                        owner_id=owner_id,
                        changed_by_id=csm.pk if by_csm else owner_id,
                        changed_by_label=csm.get_full_name() if by_csm else names.get(owner_id, ""),
                        changed_at=when,
                    )
                )
        LifecycleStageChange.objects.bulk_create(rows, batch_size=1000)
        # Three UPDATEs rather than a bulk_update (a CASE per row, slow on SQLite): each contact is owned by its
        # account's AE, was created with its first history row, and an Opportunity has its deal open.
        first_row = LifecycleStageChange.objects.filter(contact=OuterRef("pk"), from_stage="").values("changed_at")[:1]
        ae_owner = Account.objects.filter(pk=OuterRef("account_id")).values("ae_owner_id")[:1]
        Contact.objects.update(owner_id=Subquery(ae_owner), created_at=Subquery(first_row))
        Contact.objects.filter(lifecycle_stage=LifecycleStage.OPPORTUNITY).update(lead_status=LeadStatus.OPEN_DEAL)

    def _qualifications(self, organization, rng) -> None:
        """The four qualifying answers for every SQL and beyond; the three W's from Opportunity on."""
        rows = []
        for contact in Contact.objects.filter(lifecycle_stage__in=QUALIFIED_STAGES).order_by("id"):
            three_ws = contact.lifecycle_stage != LifecycleStage.SALES_QUALIFIED_LEAD
            rows.append(
                ContactQualification(
                    organization=organization,
                    contact=contact,
                    adoption=rng.choice(demo_data.QUALIFICATION_ADOPTION),
                    scale=rng.choice(demo_data.QUALIFICATION_SCALE),
                    production_use=rng.choice(demo_data.QUALIFICATION_PRODUCTION),
                    next_year_plans=rng.choice(demo_data.QUALIFICATION_NEXT_YEAR),
                    why_change=rng.choice(demo_data.QUALIFICATION_WHY_CHANGE) if three_ws else "",
                    why_now=rng.choice(demo_data.QUALIFICATION_WHY_NOW) if three_ws else "",
                    why_us=rng.choice(demo_data.QUALIFICATION_WHY_US) if three_ws else "",
                )
            )
        ContactQualification.objects.bulk_create(rows, batch_size=1000)

    def _deal_plan(self, account, today, rng) -> tuple[str, Decimal, date | None, str]:
        """Type, amount, expected close date and name (blank: the service's suggestion) of a deal on `account`."""
        arr = int(account.arr)
        renewing_soon = account.renewal_date is not None and (account.renewal_date - today).days <= 150
        if account.cohort != Cohort.TRIAL and renewing_soon and rng.random() < 0.6:
            amount = int(round(arr * rng.uniform(1.0, 1.1), -2))
            return DealType.RENEWAL, Decimal(amount), account.renewal_date, ""
        if account.cohort != Cohort.TRIAL and rng.random() < 0.4:
            amount = max(1_200, int(round(arr * rng.uniform(0.15, 0.5), -2)))
            return DealType.EXPANSION, Decimal(amount), today + timedelta(days=rng.randint(10, 180)), ""
        # New business: a Trial converting, or a new site or team of a paying account.
        low, high = ARR_RANGES[rng.choice((Cohort.STARTER, Cohort.STARTER, Cohort.PREMIUM))]
        if account.cohort in (Cohort.PREMIUM, Cohort.ENTERPRISE):
            low, high = ARR_RANGES[Cohort.PREMIUM]
        name = f"{account.name}: {rng.choice(demo_data.DEAL_TOPICS)}"
        return (
            DealType.NEW,
            Decimal(rng.randrange(low, high + 1, 100)),
            today + timedelta(days=rng.randint(10, 180)),
            name,
        )

    @staticmethod
    def _deal_route(deal_type: str, target: str, rng) -> list[str]:
        """The moves from Opportunity to `target`: new business earns every stage, the others skip the POC."""
        if target == DealStage.CLOSED_WON:
            last = DealStage.CONTRACT_SENT
        elif target == DealStage.CLOSED_LOST:
            last = rng.choice(OPEN_BOARD[:3])
        else:
            last = target
        route = OPEN_BOARD[1 : OPEN_BOARD.index(last) + 1]
        if deal_type != DealType.NEW:
            route = [stage for stage in route if stage != DealStage.POC_STARTED]
        return [*route, target] if target in (DealStage.CLOSED_WON, DealStage.CLOSED_LOST) else route

    def _deals(self, ae_tenant, accounts, deal_target, today, now, rng) -> list[OnboardingPlan]:
        """A pipeline across the whole board, worked by the AE through the services; ~5 deals committed.

        Returns every onboarding plan (the commits' and the wins'), their schedules moved back to the commit day.
        """
        lost_reasons = pipeline_settings_get(organization=ae_tenant.organization).lost_reasons
        active = [account for account in accounts if account.status == AccountStatus.ACTIVE]
        # Accounts whose contacts are at Opportunity come first: their open deal is why they are there.
        with_opportunity = set(
            Contact.objects.filter(lifecycle_stage=LifecycleStage.OPPORTUNITY).values_list("account_id", flat=True)
        )
        rng.shuffle(active)
        active.sort(key=lambda account: account.pk not in with_opportunity)
        chosen = active[: min(deal_target, len(accounts) * 3 // 5, len(active))]
        open_committable = []
        for index, account in enumerate(chosen):
            target = DEAL_STAGE_CYCLE[index % len(DEAL_STAGE_CYCLE)]
            deal_type, amount, close, name = self._deal_plan(account, today, rng)
            if target in (DealStage.CLOSED_WON, DealStage.CLOSED_LOST):
                close = today - timedelta(days=rng.randint(3, 85))
            values = {"name": name} if name else {}
            deal = deal_create(
                tenant=ae_tenant, account=account, owner=ae_tenant.user, amount=amount, type=deal_type,
                expected_close_date=close, **values,
            )  # fmt: skip
            for stage in self._deal_route(deal_type, target, rng):
                reason = rng.choice(lost_reasons) if stage == DealStage.CLOSED_LOST else ""
                deal = deal_move(tenant=ae_tenant, deal=deal, to_stage=stage, lost_reason=reason)
            if target == DealStage.CLOSED_WON:
                self._book_win(ae_tenant, deal, today)
            elif target in (DealStage.VALUE_VALIDATED, DealStage.CONTRACT_SENT):
                open_committable.append(deal)
            self._deal_backdate(deal, close, today, now, rng)
        for deal in rng.sample(open_committable, min(5, max(1, len(open_committable) // 2), len(open_committable))):
            deal_commit(tenant=ae_tenant, deal=deal)
            self._commit_backdate(deal, deal.stage_changed_at, now, rng)
        return list(OnboardingPlan.objects.select_related("deal").order_by("id"))

    @staticmethod
    def _book_win(ae_tenant, deal, today) -> None:
        """What finance books after a win: ARR grows (a Trial now pays) or the renewal date moves on a year."""
        account = Account.objects.get(pk=deal.account_id)
        if deal.type == DealType.RENEWAL:
            values = {"renewal_date": (account.renewal_date or today) + timedelta(days=365)}
        else:
            arr = account.arr + deal.amount
            values = {"arr": arr, "mrr": (arr / 12).quantize(Decimal("0.01"))}
            if account.renewal_date is None:
                values["renewal_date"] = deal.expected_close_date + timedelta(days=365)
        account_update(tenant=ae_tenant, account=account, **values)

    def _deal_backdate(self, deal, close, today, now, rng) -> None:
        """The services stamp every move "now"; a lived-in board has deals that have sat in a stage a while.

        Demo-only backdating, straight on the rows: closed deals closed on their expected date, open ones
        entered their stage days or weeks ago, and every deal was opened before that.
        """
        if deal.stage in (DealStage.CLOSED_WON, DealStage.CLOSED_LOST):
            stage_changed_at = closed_at = now - timedelta(days=(today - close).days, hours=rng.randint(0, 8))
        else:
            stage_changed_at, closed_at = now - timedelta(days=rng.randint(1, 40), hours=rng.randint(0, 8)), None
        created_at = stage_changed_at - timedelta(days=rng.randint(7, 60))
        Deal.objects.filter(pk=deal.pk).update(
            stage_changed_at=stage_changed_at, closed_at=closed_at, created_at=created_at
        )
        deal.stage_changed_at, deal.closed_at, deal.created_at = stage_changed_at, closed_at, created_at
        if deal.stage == DealStage.CLOSED_WON:
            self._commit_backdate(deal, stage_changed_at - timedelta(days=rng.randint(2, 12)), now, rng)
            self._handoff_backdate(deal, closed_at, now)

    @staticmethod
    def _handoff_backdate(deal, closed_at, now) -> None:
        """The handoff promoted the account's contacts (and a Trial's cohort) "now": date those rows at the win,
        after each one's earlier history, so the funnel and cohort reports count them when they happened."""
        for model, key in ((LifecycleStageChange, "contact_id"), (CohortChange, "account_id")):
            for change in model.objects.filter(account_id=deal.account_id, changed_at__gt=now):
                before = model.objects.filter(**{key: getattr(change, key)}, changed_at__lte=now).aggregate(
                    latest=Max("changed_at")
                )["latest"]
                when = max(closed_at, before + timedelta(minutes=5)) if before else closed_at
                model.objects.filter(pk=change.pk).update(changed_at=min(when, now))

    @staticmethod
    def _commit_backdate(deal, committed_at, now, rng) -> None:
        """Moves a commitment (and its onboarding plan's schedule) back to when the AE committed."""
        committed_at = min(committed_at + timedelta(hours=rng.randint(1, 20)), now)
        days_back = (now - committed_at).days
        Deal.objects.filter(pk=deal.pk).update(committed_at=committed_at)
        plan = OnboardingPlan.objects.get(deal_id=deal.pk)
        OnboardingPlan.objects.filter(pk=plan.pk).update(created_at=committed_at)
        tasks = list(plan.tasks.all())
        for task in tasks:
            task.due_date -= timedelta(days=days_back)
            task.created_at = committed_at
        Task.objects.bulk_update(tasks, ["due_date", "created_at"])

    def _onboarding_progress(self, csm_tenant, plans, today, now, rng) -> None:
        """The CSMs work through their plans: the oldest is finished, the others have their past steps done,
        except that every second plan has fallen behind on its latest step (overdue in "My work").

        task_complete acts as the plan's CSM; the completion is then dated around the step's due date.
        """
        for rank, plan in enumerate(sorted(plans, key=lambda plan: plan.created_at)):
            tenant = Tenant(organization=csm_tenant.organization, role=Role.CSM, user=plan.csm or csm_tenant.user)
            steps = list(plan.tasks.order_by("position", "id"))
            past_due = [task for task in steps if task.due_date < today]
            if rank == 0 and len(past_due) == len(steps):
                finished = past_due
            else:
                finished = past_due[:-1] if rank % 2 == 0 else past_due
            for task in finished:
                task_complete(tenant=tenant, task=task)
                done_on = task.due_date - timedelta(days=rng.randint(0, 3))
                completed_at = min(now - timedelta(days=(today - done_on).days, hours=rng.randint(0, 6)), now)
                Task.objects.filter(pk=task.pk).update(completed_at=completed_at)

    def _tasks(self, ae_tenant, csm_tenant, accounts, today, rng) -> None:
        """Manual to-dos in "My work": the CSM's and the AE's, some due today or this week, some overdue.

        task_create takes a past due date as it is (nothing to backdate); the first task of each list is done.
        """
        csm, ae = csm_tenant.user, ae_tenant.user
        paying = [account for account in accounts if account.cohort != Cohort.TRIAL] or accounts
        own = [account for account in paying if account.csm_owner_id == csm.pk] or paying
        for tenant, titles, due_days, pool in (
            (csm_tenant, demo_data.CSM_TASKS, CSM_TASK_DUE_DAYS, own),
            (ae_tenant, demo_data.AE_TASKS, AE_TASK_DUE_DAYS, accounts),
        ):
            for index, days in enumerate(due_days):
                task = task_create(
                    tenant=tenant,
                    account=rng.choice(pool),
                    title=titles[index % len(titles)],
                    due_date=today + timedelta(days=days),
                )
                if index == 0:
                    task_complete(tenant=tenant, task=task)
        # One the AE hands to the CSM (which notifies them).
        task_create(
            tenant=ae_tenant,
            account=rng.choice(own),
            title="Prepare the kickoff call: goals and success criteria",
            description=f"From {ae.get_full_name()}: their champion expects a call this week.",
            assignee=csm,
            due_date=today + timedelta(days=2),
        )

    def _outreach(self, ae, now, rng) -> None:
        """The AE's reach-outs to leads: ~10 silent for two weeks or more (Unresponsive is suggested),
        a few awaiting a reply still, and a few who replied recently."""
        candidates = list(
            Contact.objects.filter(
                owner=ae,
                lifecycle_stage__in=(
                    LifecycleStage.LEAD,
                    LifecycleStage.MARKETING_QUALIFIED_LEAD,
                    LifecycleStage.SALES_QUALIFIED_LEAD,
                ),
            )
            .exclude(lead_status__in=UNRESPONSIVE_NOT_SUGGESTED)
            .order_by("id")
        )
        rng.shuffle(candidates)
        silent_count = min(10, (len(candidates) + 1) // 2)
        silent, rest = candidates[:silent_count], candidates[silent_count:]
        waiting, replied = rest[: min(4, len(rest) // 2)], rest[min(4, len(rest) // 2) :][:5]
        for contact in silent + waiting:
            days = rng.randint(15, 30) if contact in silent else rng.randint(1, 10)
            contact.last_outreach_at = now - timedelta(days=days, hours=rng.randint(0, 10))
            contact.lead_status = LeadStatus.ATTEMPTED_TO_CONTACT
        for contact in replied:
            contact.last_outreach_at = now - timedelta(days=rng.randint(4, 12), hours=rng.randint(0, 10))
            contact.last_reply_at = contact.last_outreach_at + timedelta(days=rng.randint(1, 3))
            contact.lead_status = LeadStatus.CONNECTED
        Contact.objects.bulk_update(silent + waiting + replied, ["last_outreach_at", "last_reply_at", "lead_status"])

    def _accounts(self, organization, count, csms, ae, today, rng) -> list[Account]:
        rows, used_names = [], set()
        planets = list(MINOR_PLANET_NAMES)
        rng.shuffle(planets)
        cohorts, weights = zip(*COHORT_WEIGHTS.items(), strict=True)
        for index in range(count):
            name = f"{rng.choice(demo_data.COMPANY_PREFIXES)} {rng.choice(demo_data.COMPANY_SUFFIXES)}"
            while name in used_names:
                name = f"{rng.choice(demo_data.COMPANY_PREFIXES)} {rng.choice(demo_data.COMPANY_SUFFIXES)}"
            used_names.add(name)
            # The first four cover every cohort, however few accounts are asked for.
            cohort = cohorts[index] if index < len(cohorts) else rng.choices(cohorts, weights)[0]
            low, high = ARR_RANGES[cohort]
            arr = Decimal(rng.randrange(low, high + 1, 100) if high else 0)
            churned = cohort != Cohort.TRIAL and rng.random() < 0.06
            nominated = cohort == Cohort.PREMIUM and rng.random() < 0.15
            rows.append(
                Account(
                    organization=organization,
                    name=name,
                    domain=name.lower().replace(" ", "") + ".example",
                    cohort=cohort,
                    currency=organization.default_currency,
                    arr=arr,
                    mrr=(arr / 12).quantize(Decimal("0.01")),
                    csm_owner=rng.choice(csms) if cohort != Cohort.TRIAL else None,
                    ae_owner=ae,
                    renewal_date=None if cohort == Cohort.TRIAL else today + timedelta(days=rng.randint(1, 365)),
                    codename=planets[index] if index < len(planets) else f"{planets[index % len(planets)]} {index}",
                    qbr_nominated=nominated,
                    qbr_nomination_reason="Growth potential: second plant evaluating." if nominated else "",
                    status=AccountStatus.CHURNED if churned else AccountStatus.ACTIVE,
                )
            )
        return rows

    def _contacts(self, organization, accounts, rng) -> list[Contact]:
        stages, weights = zip(*STAGE_WEIGHTS.items(), strict=True)
        rows, emails = [], set()
        for account in accounts:
            for _ in range(rng.randint(2, 6)):
                first, last = rng.choice(demo_data.FIRST_NAMES), rng.choice(demo_data.LAST_NAMES)
                email = f"{first}.{last}@{account.domain}".lower()
                if email in emails:
                    continue
                emails.add(email)
                stage = LifecycleStage.CUSTOMER if account.cohort != Cohort.TRIAL and rng.random() < 0.5 else None
                stage = stage or rng.choices(stages, weights)[0]
                lead_status = ""
                if stage in (LifecycleStage.MARKETING_QUALIFIED_LEAD, LifecycleStage.SALES_QUALIFIED_LEAD):
                    lead_status = rng.choice(LeadStatus.values)
                rows.append(
                    Contact(
                        organization=organization,
                        first_name=first,
                        last_name=last,
                        email=email,
                        title=rng.choice(demo_data.TITLES),
                        account=account,
                        lifecycle_stage=stage,
                        lead_status=lead_status,
                        ffc_tier=rng.choice(demo_data.FFC_TIERS),
                        ffc_actions=rng.sample(demo_data.FFC_ACTIONS, rng.randint(0, 3)),
                        ffc_usage=rng.choice(demo_data.FFC_USAGES),
                        activation_outbound=rng.random() < 0.2,
                    )
                )
        return rows

    def _creation_history(self, organization, creator) -> None:
        """Bulk inserts skip the services, so write the "created" entries the services would have written."""
        entries = [
            AuditEntry(
                organization=organization,
                action="account.created",
                actor=creator,
                object_type="account",
                object_id=account.pk,
                object_repr=account.name,
                account_id=account.pk,
                changes={"cohort": [None, account.cohort], "arr": [None, str(account.arr)]},
            )
            for account in Account.objects.all()
        ]
        entries += [
            AuditEntry(
                organization=organization,
                action="contact.created",
                actor=creator,
                object_type="contact",
                object_id=contact.pk,
                object_repr=str(contact),
                account_id=contact.account_id,
                changes={"lifecycle_stage": [None, contact.lifecycle_stage]},
            )
            for contact in Contact.objects.all()
        ]
        AuditEntry.objects.bulk_create(entries, batch_size=1000)

    def _arr_history(self, organization, today, rng) -> None:
        """60 nightly snapshots, ending with today's real numbers, drifting up like a growing book."""
        current = {
            snapshot.cohort: snapshot for snapshot in cohort_arr_snapshot_take(organization=organization, day=today)
        }
        rows = []
        for days_ago in range(59, 0, -1):
            factor = Decimal(1) - Decimal(days_ago) * Decimal("0.004") + Decimal(rng.uniform(-0.01, 0.01))
            for cohort, snapshot in current.items():
                rows.append(
                    CohortArrSnapshot(
                        organization=organization,
                        day=today - timedelta(days=days_ago),
                        cohort=cohort,
                        account_count=snapshot.account_count,
                        arr=(snapshot.arr * factor).quantize(Decimal("0.01")),
                    )
                )
        CohortArrSnapshot.objects.bulk_create(rows)

    def _print_logins(self, password: str) -> None:
        first, second = DEMO_ORGANIZATIONS[0][0], DEMO_ORGANIZATIONS[1][0]
        self.stdout.write(f"\nOpen {settings.SITE_URL}/o/{first}/ and {settings.SITE_URL}/o/{second}/")
        for role in Role.values:
            self.stdout.write(f"Login: {role}@{first}.example / {password}")
        self.stdout.write(f"Login: admin@{second}.example / {password}")
