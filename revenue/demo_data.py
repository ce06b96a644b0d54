"""Demo Stripe data for seed_demo: plans mapped to cohorts, customers linked to most accounts (and a few nothing
matches, for the review queue), subscriptions and invoices, and a year of revenue ledger.

The ledger is not invented: each account's subscription is written as it stood at each moment of its story (new,
seats added or removed, a failed payment and a comeback, a cancellation), through the sync's own apply functions,
and `revenue_refresh` runs after each step with that moment as `occurred_at`. So every movement agrees with the
subscriptions, and each account's mrr and arr end where the ledger ends. The last day's changes arrive as recorded
webhook events, processed by the webhook's own code.

The connection is stored with a fake key and turned off, so the demo never calls Stripe. Sync runs cannot be
replayed without Stripe, so their history rows are written directly, in `_integration_history_create` only.
"""

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from accounts.models import Account, AccountStatus, Cohort
from core.models import Organization, Role
from core.tenancy import Tenant
from integrations.models import Source, SyncError, SyncKind, SyncRun, SyncStatus, WebhookEvent
from integrations.services import (
    connection_update,
    external_records_touch,
    sync_error_record,
    sync_watermark_advance,
    webhook_event_record,
    webhook_event_reject,
)
from revenue.models import StripeCustomer, StripeSubscription
from revenue.services import plan_cohort_set, revenue_refresh
from revenue.sync import (
    Refresh,
    Tally,
    customers_apply,
    invoices_apply,
    prices_apply,
    subscriptions_apply,
    webhook_event_process,
)

DEMO_API_KEY = "rk_test_demo_not_a_real_key_51Demo"
DEMO_WEBHOOK_SECRET = "whsec_demo_not_a_real_secret"  # noqa: S105 (a fake, for the turned-off demo connection)
HISTORY_REASON = "demo history"
COUNTED = ("active", "past_due")


@dataclass(frozen=True)
class Plan:
    """A demo price: (price id, product id, name, minor units per seat per interval, interval)."""

    price_id: str
    product_id: str
    nickname: str
    unit_amount: int
    interval: str

    @property
    def months(self) -> int:
        return 12 if self.interval == "year" else 1

    @property
    def monthly_amount(self) -> Decimal:
        return Decimal(self.unit_amount) / 100 / self.months


# Yearly is ten months' price (two months free); Enterprise is sold yearly only.
PLANS = {
    "starter_month": Plan("price_demo_starter_monthly", "prod_demo_starter", "Starter monthly", 4_900, "month"),
    "starter_year": Plan("price_demo_starter_yearly", "prod_demo_starter", "Starter yearly", 49_000, "year"),
    "premium_month": Plan("price_demo_premium_monthly", "prod_demo_premium", "Premium monthly", 9_900, "month"),
    "premium_year": Plan("price_demo_premium_yearly", "prod_demo_premium", "Premium yearly", 99_000, "year"),
    "enterprise_year": Plan(
        "price_demo_enterprise_yearly", "prod_demo_enterprise", "Enterprise yearly", 118_800, "year"
    ),
    "support_month": Plan("price_demo_support_monthly", "prod_demo_support", "Premium support", 50_000, "month"),
}
PRODUCT_COHORTS = {
    "prod_demo_starter": Cohort.STARTER,
    "prod_demo_premium": Cohort.PREMIUM,
    "prod_demo_enterprise": Cohort.ENTERPRISE,
}
COUPONS = (
    {"id": "DEMO-LAUNCH20", "name": "Launch partner, 20% off", "percent_off": 20},
    {"id": "DEMO-NONPROFIT", "name": "Non-profit, 150 off each invoice", "amount_off": 15_000},
)
# Customers nothing matches: a personal address, a domain no account has, metadata naming an account that is gone.
UNMATCHED_CUSTOMERS = (
    ("Brightforge Labs", "billing@brightforge-labs.example", {}, "starter_month", 4),
    ("Jamie Alvarez", "jamie.alvarez@gmail.com", {}, "starter_month", 1),
    ("Kestrel Maritime AS", "ap@kestrel-maritime.example", {}, "premium_year", 12),
    ("Orbital Freight (old workspace)", "finance@orbital-freight.example", {"account_id": "999999"}, None, 0),
    ("Accounts payable", "invoices@fastmail.com", {"note": "PO 4471"}, None, 0),
)


@dataclass(frozen=True)
class State:
    """A subscription as Stripe held it from a moment on."""

    status: str
    quantity: int
    cancel_at_period_end: bool = False
    canceled_at: datetime | None = None
    ended_at: datetime | None = None
    trial_end: datetime | None = None


@dataclass
class Story:
    """One demo subscription and the states it went through, oldest first."""

    subscription_id: str
    customer_id: str
    plan: Plan
    start: datetime
    steps: list[tuple[datetime, State]]
    add_on: tuple[Plan, int] | None = None
    coupon: dict[str, Any] | None = None
    invoices: list[dict[str, Any]] = field(default_factory=list)

    def state_at(self, moment: datetime) -> State | None:
        current = None
        for at, state in self.steps:
            if at <= moment:
                current = state
        return current


def _add_months(moment: datetime, months: int) -> datetime:
    year, month = divmod(moment.month - 1 + months, 12)
    return moment.replace(year=moment.year + year, month=month + 1, day=min(moment.day, 28))


def _ts(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment else None


def _period(story: Story, moment: datetime) -> tuple[datetime, datetime]:
    """The billing period containing `moment` (or, after the end, the last one)."""
    start, index = story.start, 0
    while _add_months(story.start, (index + 1) * story.plan.months) <= moment:
        index += 1
        start = _add_months(story.start, index * story.plan.months)
    return start, _add_months(story.start, (index + 1) * story.plan.months)


def _price_payload(plan: Plan, currency: str) -> dict[str, Any]:
    return {
        "id": plan.price_id,
        "object": "price",
        "product": plan.product_id,
        "nickname": plan.nickname,
        "currency": currency,
        "unit_amount": plan.unit_amount,
        "recurring": {"interval": plan.interval, "interval_count": 1},
        "active": True,
    }


def _subscription_payload(story: Story, state: State, moment: datetime, currency: str) -> dict[str, Any]:
    """The subscription object Stripe would have returned at `moment` (today's API shape: periods on items,
    discounts expanded as `source.coupon`)."""
    period_start, period_end = _period(story, min(moment, state.ended_at or moment))
    if state.status == "trialing" and state.trial_end:
        period_start, period_end = story.start, state.trial_end
    lines = [(story.plan, state.quantity)] + ([story.add_on] if story.add_on else [])
    items = [
        {
            "id": f"si_{story.subscription_id.removeprefix('sub_')}_{index}",
            "object": "subscription_item",
            "quantity": quantity,
            "price": _price_payload(plan, currency),
            "current_period_start": _ts(period_start),
            "current_period_end": _ts(period_end),
        }
        for index, (plan, quantity) in enumerate(lines)
    ]
    discounts = []
    if story.coupon:
        coupon = {"object": "coupon", **story.coupon}
        if "amount_off" in coupon:
            coupon["currency"] = currency
        discounts.append({"object": "discount", "source": {"type": "coupon", "coupon": coupon}})
    latest = [invoice for invoice in story.invoices if invoice["created"] <= _ts(moment)]
    return {
        "id": story.subscription_id,
        "object": "subscription",
        "customer": story.customer_id,
        "status": state.status,
        "currency": currency,
        "cancel_at_period_end": state.cancel_at_period_end,
        "cancel_at": _ts(period_end) if state.cancel_at_period_end else None,
        "canceled_at": _ts(state.canceled_at),
        "ended_at": _ts(state.ended_at),
        "trial_end": _ts(state.trial_end),
        "start_date": _ts(story.start),
        "discounts": discounts,
        "latest_invoice": latest[-1]["id"] if latest else None,
        "items": {"object": "list", "data": items, "has_more": False},
    }


def _invoice_amount(story: Story, state: State) -> int:
    amount = story.plan.unit_amount * state.quantity
    if story.add_on:
        amount += story.add_on[0].unit_amount * story.add_on[1]
    if story.coupon and "percent_off" in story.coupon:
        amount = amount * (100 - story.coupon["percent_off"]) // 100
    if story.coupon and "amount_off" in story.coupon:
        amount = max(0, amount - story.coupon["amount_off"])
    return amount


def _invoices_for(story: Story, *, now: datetime, since: datetime, numbers, currency: str, open_last: bool) -> None:
    """One invoice at the start of each billing period since `since` while the subscription billed: paid an hour
    later, except (with `open_last`) the latest, whose card was declined: open, still due."""
    index = 0
    current_period = _period(story, now)[0]  # a yearly plan's current invoice may be older than `since`
    while (issued := _add_months(story.start, index * story.plan.months)) <= now:
        index += 1
        state = story.state_at(issued)
        if (issued < since and issued != current_period) or state is None or state.status not in COUNTED:
            continue
        amount = _invoice_amount(story, state)
        story.invoices.append(
            {
                "id": f"in_demo{next(numbers):05d}",
                "object": "invoice",
                "customer": story.customer_id,
                "parent": {
                    "type": "subscription_details",
                    "subscription_details": {"subscription": story.subscription_id},
                },
                "status": "paid",
                "collection_method": "charge_automatically",
                "currency": currency,
                "amount_due": amount,
                "amount_paid": amount,
                "amount_remaining": 0,
                "total": amount,
                "hosted_invoice_url": "",
                "due_date": None,
                "status_transitions": {"paid_at": _ts(issued + timedelta(hours=1))},
                "created": _ts(issued),
            }
        )
    if open_last and story.invoices:
        story.invoices[-1].update(amount_paid=0, amount_remaining=story.invoices[-1]["amount_due"], status="open")
        story.invoices[-1]["status_transitions"] = {"paid_at": None}
        story.invoices[-1]["due_date"] = story.invoices[-1]["created"] + 7 * 86_400


def _at(moment: datetime, rng) -> datetime:
    """A working-hours time on that day (UTC), a day of the month a period can fall on every month."""
    day = moment.replace(day=min(moment.day, 28))
    return datetime.combine(day.date(), time(rng.randint(7, 17), rng.randint(0, 59)), tzinfo=UTC)


def _plan_for(account: Account, rng) -> Plan:
    if account.cohort == Cohort.ENTERPRISE:
        return PLANS["enterprise_year"]
    if account.cohort == Cohort.PREMIUM:
        return PLANS["premium_year" if rng.random() < 0.4 else "premium_month"]
    return PLANS["starter_year" if rng.random() < 0.2 else "starter_month"]


def _seats(account: Account, plan: Plan) -> int:
    """Seats that bring the account's MRR close to what the demo gave it."""
    return max(1, round(account.mrr / plan.monthly_amount)) if account.mrr else 1


def seed_revenue(*, organization: Organization, members: dict, rng, now: datetime | None = None) -> None:
    """Seeds Stripe and the revenue ledger for one demo organization, inside its scope. Runs once: an organization
    that has demo Stripe customers already is left as it is (replaying the stories would move the ledger again)."""
    if StripeCustomer.objects.filter(stripe_id__startswith="cus_demo").exists():
        return
    now = now or timezone.now()
    currency = organization.default_currency.lower()
    admin = Tenant(organization=organization, role=Role.ADMIN, user=members[Role.ADMIN])
    connection_update(
        tenant=admin,
        source=Source.STRIPE,
        api_key=DEMO_API_KEY,
        webhook_secret=DEMO_WEBHOOK_SECRET,
        api_base_url="",
        enabled=False,  # a demo: never call Stripe with the fake key
    )
    for product_id, cohort in PRODUCT_COHORTS.items():
        plan_cohort_set(tenant=admin, stripe_id=product_id, cohort=cohort)
    history_start = now - timedelta(days=730)
    prices_apply(
        organization=organization, prices=[_price_payload(plan, currency) for plan in PLANS.values()], now=history_start
    )
    # The nightly full reconcile (beat, 02:30 UTC): last night's, or the night before if tonight's just ran.
    full_at = datetime.combine(now.astimezone(UTC).date(), time(2, 30), tzinfo=UTC)
    if full_at > now - timedelta(hours=2):
        full_at -= timedelta(days=1)
    customers, stories = _stories(organization, now, currency, rng, full_at=full_at)
    customers_apply(organization=organization, customers=customers, now=history_start)
    # Two accounts' last change reached us by neither webhook nor incremental run: the nightly reconcile repairs it.
    missed = {story.subscription_id for story in stories if len(story.steps) > 1 and story.steps[-1][0] < full_at}
    missed = set(sorted(missed)[:2])
    _history_replay(organization, stories, until=full_at, missed=missed, currency=currency)
    full_tallies, full_movements = _reconcile(organization, customers, stories, at=full_at, currency=currency)
    processed_events = _webhooks_replay(organization, stories, after=full_at, now=now, currency=currency)
    _integration_history_create(
        organization,
        now=now,
        full_at=full_at,
        tallies=full_tallies,
        repaired=sorted(missed),
        movements=full_movements,
        events=processed_events,
    )


def _stories(organization, now, currency, rng, *, full_at: datetime) -> tuple[list[dict[str, Any]], list[Story]]:
    """Customers (one per account with a Stripe story, plus the unmatched ones) and each one's subscription."""
    from churn.selectors import churn_case_list  # churn's cases say when (and whether) Stripe was canceled

    cases = {case.account_id: case for case in churn_case_list()}
    accounts = list(Account.objects.order_by("id"))
    numbers = iter(range(1, 1_000_000))
    customers: list[dict[str, Any]] = []
    stories: list[Story] = []
    invoices_since = now - timedelta(days=100)
    trials = 0

    def customer_for(account: Account, index: int) -> str:
        customer_id = f"cus_demo{index:05d}"
        # Most link by their billing email's domain; every fourth carries our account id in its metadata.
        metadata = {"account_id": str(account.pk)} if index % 4 == 0 else {}
        customers.append(
            {
                "id": customer_id,
                "object": "customer",
                "email": f"billing@{account.domain}" if account.domain else "",
                "name": account.name,
                "metadata": metadata,
                "currency": currency,
                "created": _ts(history_start_of(account)),
            }
        )
        return customer_id

    starts: dict[int, datetime] = {}

    def history_start_of(account: Account) -> datetime:
        return starts[account.pk] - timedelta(days=1)

    paying = [a for a in accounts if a.status == AccountStatus.ACTIVE and a.mrr > 0]
    ordered = list(paying)
    rng.shuffle(ordered)
    # Stories, dealt out over the paying accounts; churned ones are canceled, a few trials are trialing.
    reactivated = {a.pk for a in ordered[:3]}
    past_due = {a.pk for a in ordered[3:5]}
    coupons = {a.pk: COUPONS[i] for i, a in enumerate(ordered[5:7])}
    expanding = {a.pk for a in ordered[7 : 7 + len(ordered) // 4]}
    contracting = {a.pk for a in ordered[7 + len(ordered) // 4 : 7 + len(ordered) // 4 + len(ordered) // 10]}
    # The last two expansions happen after the nightly reconcile: they arrive as webhooks.
    recent = set(sorted(expanding)[:2])
    for index, account in enumerate(accounts, start=1):
        case = cases.get(account.pk)
        stripe_step = _cancel_step(case) if case else None
        if stripe_step is not None and stripe_step.status == "skipped":
            continue  # invoiced by bank transfer: never in Stripe (the churn case says so)
        plan = _plan_for(account, rng)
        subscription_id = (
            case.stripe_subscription_id if case and case.stripe_subscription_id else f"sub_demo{index:05d}"
        )
        if account.status == AccountStatus.CHURNED and account.mrr > 0 and not (case and case.status == "open"):
            # Canceled in Stripe on the churn date (seed 000, step 2), after a year or more of paying.
            churned_on = case.churn_date if case else (now - timedelta(days=rng.randint(30, 330))).date()
            ended = _at(datetime.combine(churned_on, time(12), tzinfo=UTC), rng)
            start = _at(ended - timedelta(days=rng.randint(200, 700)), rng)
            starts[account.pk] = start
            seats = _seats(account, plan)
            steps = [
                (start, State("active", seats)),
                (ended, State("canceled", seats, canceled_at=ended, ended_at=ended)),
            ]
        elif (account.status == AccountStatus.ACTIVE and account.mrr > 0) or (case and case.status == "open"):
            seats = _seats(account, plan)
            # A story with a change in it needs room: it started 5 to 24 months ago; a plain one any time.
            storied = account.pk in expanding | contracting | reactivated
            start = _at(now - timedelta(days=rng.randint(150 if storied else 20, 720)), rng)
            starts[account.pk] = start
            steps = [(start, State("active", seats))]
            span = (now - start).days
            if account.pk in expanding and seats > 1 and span > 40:
                moved = (
                    full_at + (now - full_at) * rng.uniform(0.3, 0.9) if account.pk in recent
                    else _at(start + timedelta(days=rng.randint(30, span - 5)), rng)
                )  # fmt: skip
                steps = [(start, State("active", max(1, seats * 2 // 3))), (moved, State("active", seats))]
            elif account.pk in contracting and span > 40:
                moved = _at(start + timedelta(days=rng.randint(30, span - 5)), rng)
                steps = [(start, State("active", seats + max(1, seats // 3))), (moved, State("active", seats))]
            elif account.pk in reactivated and span > 120:
                lapsed = _at(start + timedelta(days=rng.randint(40, span - 70)), rng)
                back = _at(lapsed + timedelta(days=rng.randint(25, 60)), rng)
                steps += [(lapsed, State("unpaid", seats)), (back, State("active", seats))]
            if case and case.status == "suggested":
                # The case Stripe suggested: set to cancel at the end of the period, a week ago.
                steps.append((now - timedelta(days=7), replace(steps[-1][1], cancel_at_period_end=True)))
        elif account.cohort == Cohort.TRIAL and account.status == AccountStatus.ACTIVE and trials < 8:
            trials += 1
            plan = PLANS["premium_month" if trials % 3 == 0 else "starter_month"]
            start = _at(now - timedelta(days=rng.randint(1, 12)), rng)
            starts[account.pk] = start
            steps = [(start, State("trialing", rng.randint(2, 6), trial_end=start + timedelta(days=14)))]
        else:
            continue
        story = Story(
            subscription_id=subscription_id,
            customer_id=customer_for(account, index),
            plan=plan,
            start=start,
            steps=steps,
            add_on=(PLANS["support_month"], 1) if account.cohort == Cohort.ENTERPRISE and index % 3 == 0 else None,
            coupon=coupons.get(account.pk),
        )
        if account.pk in past_due:
            # The latest invoice's card was declined: past due since, Stripe retrying.
            last_period = _period(story, now)[0]
            story.steps.append((last_period + timedelta(hours=1), replace(story.steps[-1][1], status="past_due")))
        story.steps.sort(key=lambda step: step[0])
        _invoices_for(
            story, now=now, since=invoices_since, numbers=numbers, currency=currency, open_last=account.pk in past_due
        )
        stories.append(story)
    for offset, (name, email, metadata, plan_key, seats) in enumerate(UNMATCHED_CUSTOMERS, start=1):
        customer_id = f"cus_demo9{offset:04d}"
        created = now - timedelta(days=3 + offset * 9, hours=offset)
        customers.append(
            {
                "id": customer_id,
                "object": "customer",
                "email": email,
                "name": name,
                "metadata": metadata,
                "currency": currency,
                "created": _ts(created),
            }
        )
        if plan_key:
            story = Story(
                subscription_id=f"sub_demo9{offset:04d}",
                customer_id=customer_id,
                plan=PLANS[plan_key],
                start=_at(created, rng),
                steps=[(_at(created, rng), State("active", seats))],
            )
            _invoices_for(story, now=now, since=invoices_since, numbers=numbers, currency=currency, open_last=False)
            stories.append(story)
    return customers, stories


def _cancel_step(case):
    return next((step for step in case.steps.all() if step.kind == "cancel_stripe"), None)


def _history_replay(organization, stories: list[Story], *, until: datetime, missed: set[str], currency: str) -> None:
    """Every change before `until`: the subscriptions as they became, with the ledger refreshed as of each one's
    moment, then the invoices (as they stood at `until`). `missed` subscriptions skip their last change: the
    reconcile repairs it.

    One account's changes are applied in order; different accounts do not touch each other's ledger, so round k
    applies every story's k-th change in one batch (a handful of batches, not one per day), and `revenue_refresh`
    dates each account's movement at its own moment (`at=`).
    """
    rounds: dict[int, dict[str, tuple[datetime, dict[str, Any]]]] = defaultdict(dict)
    for story in stories:
        steps = story.steps[:-1] if story.subscription_id in missed else story.steps
        for index, (at, state) in enumerate(step for step in steps if step[0] < until):
            rounds[index][story.subscription_id] = (at, _subscription_payload(story, state, at, currency))
    for index in sorted(rounds):
        changes = rounds[index]
        latest = max(at for at, _ in changes.values())
        refresh = Refresh()
        subscriptions_apply(
            organization=organization,
            subscriptions=[payload for _, payload in changes.values()],
            remote_updated_at=latest,
            now=latest,
            refresh=refresh,
        )
        account_of = dict(
            StripeSubscription.objects.filter(stripe_id__in=list(changes))
            .exclude(account_id=None)
            .values_list("stripe_id", "account_id")
        )
        revenue_refresh(
            organization=organization,
            account_ids=refresh.account_ids,
            at={account_of[stripe_id]: at for stripe_id, (at, _) in changes.items() if stripe_id in account_of},
            reason=HISTORY_REASON,
        )
    # Webhooks kept the rest current as periods rolled over (new period, latest invoice): the reconcile finds them
    # unchanged, and only the missed changes repaired.
    caught_up = until - timedelta(minutes=10)
    current = [
        _subscription_payload(story, state, caught_up, currency)
        for story in stories
        if story.subscription_id not in missed and (state := story.state_at(caught_up)) is not None
    ]
    subscriptions_apply(organization=organization, subscriptions=current, remote_updated_at=caught_up, now=caught_up)
    invoices = [
        _invoice_as_of(invoice, until)
        for story in stories
        for invoice in story.invoices
        if invoice["created"] < _ts(until)
    ]
    invoices_apply(
        organization=organization,
        invoices=invoices,
        remote_updated_at=until - timedelta(minutes=1),
        now=until - timedelta(minutes=1),
    )


def _invoice_as_of(invoice: dict[str, Any], moment: datetime) -> dict[str, Any]:
    """An invoice is read paid only once it was paid: before that it is open."""
    paid_at = (invoice.get("status_transitions") or {}).get("paid_at")
    if paid_at and paid_at > _ts(moment):
        return {**invoice, "status": "open", "amount_paid": 0, "amount_remaining": invoice["amount_due"]}
    return invoice


def _reconcile(organization, customers, stories: list[Story], *, at: datetime, currency: str):
    """The nightly full reconcile, as the sync runs it: every object as it stood at `at`, guarded, then the ledger."""
    refresh = Refresh()
    as_of = {"remote_updated_at": at, "guard": True, "now": at}
    tallies = {
        "customers": customers_apply(organization=organization, customers=customers, refresh=refresh, **as_of)[0]
    }
    payloads = [
        _subscription_payload(story, state, at, currency)
        for story in stories
        if (state := story.state_at(at)) is not None
    ]
    tallies["subscriptions"] = subscriptions_apply(
        organization=organization, subscriptions=payloads, refresh=refresh, **as_of
    )[0]
    invoices = [
        _invoice_as_of(invoice, at) for story in stories for invoice in story.invoices if invoice["created"] <= _ts(at)
    ]
    tallies["invoices"] = invoices_apply(organization=organization, invoices=invoices, **as_of)[0]
    refresh.account_ids |= set(
        StripeSubscription.objects.filter(stripe_id__in=[p["id"] for p in payloads])
        .exclude(account_id=None)
        .values_list("account_id", flat=True)
    )
    movements = revenue_refresh(
        organization=organization, account_ids=refresh.account_ids, occurred_at=at, reason="reconcile"
    )
    linked = StripeCustomer.objects.exclude(account_id=None).values_list("stripe_id", "account_id")
    external_records_touch(
        organization=organization,
        source=Source.STRIPE,
        object_type="account",
        links=[(customer_id, account_id, None) for customer_id, account_id in linked],
    )
    return tallies, len(movements)


def _webhooks_replay(
    organization, stories: list[Story], *, after: datetime, now: datetime, currency: str
) -> list[WebhookEvent]:
    """What changed since the reconcile arrives as Stripe events: recorded and processed by the webhook's code."""
    events: list[tuple[datetime, str, dict[str, Any]]] = []
    for story in stories:
        for index, (at, state) in enumerate(story.steps):
            if after <= at <= now:
                kind = "created" if index == 0 else ("deleted" if state.status == "canceled" else "updated")
                events.append((at, f"customer.subscription.{kind}", _subscription_payload(story, state, at, currency)))
        for invoice in story.invoices:
            issued = datetime.fromtimestamp(invoice["created"], tz=UTC)
            if after <= issued <= now:
                invoice = _invoice_as_of(invoice, now)
                failed = invoice["status"] == "open"
                events.append((issued, "invoice.payment_failed" if failed else "invoice.paid", invoice))
    recorded = []
    for number, (at, event_type, obj) in enumerate(sorted(events, key=lambda event: event[0]), start=1):
        event_id = f"evt_demo{number:05d}"
        event, _ = webhook_event_record(
            organization=organization,
            source=Source.STRIPE,
            event_id=event_id,
            event_type=event_type,
            payload={
                "id": event_id,
                "object": "event",
                "type": event_type,
                "created": _ts(at),
                "data": {"object": obj},
            },
            occurred_at=at,
        )
        webhook_event_process(organization=organization, event_pk=event.pk, client=None)
        recorded.append(event)
    return recorded


def _integration_history_create(organization, *, now, full_at, tallies: dict[str, Tally], repaired, movements, events):
    """Demo-only rows the integrations foundation would have written while Stripe was connected: three runs (the
    nightly full reconcile whose counts are the real tallies above, an incremental pass that finished with errors,
    an earlier one that failed), and the webhook deliveries' times, plus one ignored and one refused delivery.

    Written directly: a run cannot be replayed without Stripe, and the services stamp "now"."""
    counts = {
        "processed": sum(t.created + t.updated + t.unchanged + t.stale for t in tallies.values()),
        "created": sum(t.created for t in tallies.values()),
        "updated": sum(t.updated for t in tallies.values()),
        "unchanged": sum(t.unchanged + t.stale for t in tallies.values()),
    }
    summary = {name: tally.as_dict() for name, tally in tallies.items()}
    summary.update(
        repaired=repaired,
        repaired_count=len(repaired),
        ledger_movements=movements,
        review_queue=StripeCustomer.objects.filter(account=None, deleted=False).count(),
    )
    failed_at = now - timedelta(days=2, hours=3)
    SyncRun.objects.create(
        organization=organization, source=Source.STRIPE, kind=SyncKind.INCREMENTAL, status=SyncStatus.FAILED,
        started_at=failed_at, finished_at=failed_at + timedelta(minutes=4), heartbeat_at=failed_at,
        error="Stripe could not be reached after 5 tries (Connection to api.stripe.com timed out); "
        "the next scheduled run read the missed events.",
    )  # fmt: skip
    SyncRun.objects.create(
        organization=organization, source=Source.STRIPE, kind=SyncKind.FULL, status=SyncStatus.SUCCEEDED,
        started_at=full_at, finished_at=full_at + timedelta(seconds=48), heartbeat_at=full_at + timedelta(seconds=47),
        total=counts["processed"], summary=summary, **counts,
    )  # fmt: skip
    partial_at = now - timedelta(minutes=35)
    partial = SyncRun.objects.create(
        organization=organization, source=Source.STRIPE, kind=SyncKind.INCREMENTAL, status=SyncStatus.PARTIAL,
        started_at=partial_at, finished_at=partial_at + timedelta(seconds=6), heartbeat_at=partial_at,
        total=len(events) + 2, processed=len(events) + 2, unchanged=len(events), failed=2,
        summary={"read_from": (full_at - timedelta(minutes=5)).isoformat(), "events": len(events) + 2,
                 "duplicate": len(events), "failed": 2},
    )  # fmt: skip
    sync_error_record(
        partial,
        object_type="event",
        external_id="evt_demo_1QxR7",
        message="InvalidRequestError: No such subscription: 'sub_demo_9f3K' (deleted in Stripe before we fetched it).",
    )
    sync_error_record(
        partial,
        object_type="event",
        external_id="evt_demo_1QxS2",
        message="InvalidRequestError: No such customer: 'cus_demo_4Lm2'; the subscription waits for the next run.",
    )
    SyncError.objects.filter(run=partial).update(created_at=partial_at + timedelta(seconds=5))
    # The runs' requested_at is auto_now_add: date each run at its start.
    for run in SyncRun.objects.filter(source=Source.STRIPE):
        SyncRun.objects.filter(pk=run.pk).update(requested_at=run.started_at - timedelta(seconds=2))
    for event in events:
        WebhookEvent.objects.filter(pk=event.pk).update(
            received_at=event.occurred_at + timedelta(seconds=1), processed_at=event.occurred_at + timedelta(seconds=2)
        )
    ignored_at = now - timedelta(hours=2, minutes=12)
    ignored, _ = webhook_event_record(
        organization=organization, source=Source.STRIPE, event_id="evt_demo_charge01", event_type="charge.succeeded",
        payload={"id": "evt_demo_charge01", "object": "event", "type": "charge.succeeded", "created": _ts(ignored_at),
                 "data": {"object": {"id": "ch_demo01", "object": "charge"}}},
        occurred_at=ignored_at,
    )  # fmt: skip
    webhook_event_process(organization=organization, event_pk=ignored.pk, client=None)
    WebhookEvent.objects.filter(pk=ignored.pk).update(
        received_at=ignored_at + timedelta(seconds=1), processed_at=ignored_at + timedelta(seconds=2)
    )
    rejected = webhook_event_reject(
        organization=organization,
        source=Source.STRIPE,
        reason="No signatures found matching the expected signature for payload",
        body=b'{"id": "evt_demo_unsigned", "object": "event", "type": "customer.subscription.deleted"}',
    )
    WebhookEvent.objects.filter(pk=rejected.pk).update(received_at=now - timedelta(hours=5, minutes=41))
    sync_watermark_advance(organization=organization, source=Source.STRIPE, to=partial_at)
