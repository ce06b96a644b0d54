"""A realistic demo: two organizations, members of every role, hundreds of accounts and their contacts."""

import random
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts import demo_data
from accounts.codenames import MINOR_PLANET_NAMES
from accounts.models import Account, AccountStatus, Cohort, CohortArrSnapshot, Contact, LeadStatus, LifecycleStage
from accounts.services import cohort_arr_snapshot_take, note_add
from core.models import AuditEntry, Organization, Role
from core.services import member_add, organization_create, user_get_or_create
from core.tenancy import Tenant, tenant_scope

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
        with transaction.atomic():
            organizations = []
            for index, (slug, name, currency, zone) in enumerate(DEMO_ORGANIZATIONS):
                organization = organization_create(slug=slug, name=name, default_currency=currency)
                organization.timezone = zone
                organization.save(update_fields=["timezone"])
                count = accounts if index == 0 else max(accounts * 2 // 5, 10)
                self._seed_organization(organization, password, count, rng)
                organizations.append(organization)
            # The first organization's admin also sees the second one, so the switcher has something to show.
            admin, _ = user_get_or_create(email=f"admin@{slugs[0]}.example")
            member_add(tenant=None, organization=organizations[1], user=admin, role=Role.VIEWER)
        self.stdout.write(self.style.SUCCESS("Demo data created."))
        self._print_logins(password)

    def _seed_organization(self, organization, password, account_count, rng) -> None:
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
            self._arr_history(organization, today, rng)

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
