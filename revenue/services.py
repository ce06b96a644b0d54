"""Writes of the revenue app: the ledger, the plan → cohort map, the review queue's links, and the two Stripe actions
other issues call (cancel a subscription; send an invoice so the customer can change their card, seed 004).

Account fields (mrr, arr, currency, cohort, stripe_customer_id) change only through accounts.services.account_update,
so every change is audited and a cohort move writes its CohortChange.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import stripe
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone

from accounts.models import Account, Cohort
from accounts.services import account_create, account_update
from core.errors import ApplicationError
from core.models import Organization, Role
from core.services import audit_record
from core.tenancy import Tenant
from integrations.models import Source
from integrations.services import connection_get
from revenue.ledger import (
    COUNTED_STATUSES,
    Line,
    SubscriptionTerms,
    account_mrr,
    money,
    movement_kind,
)
from revenue.models import (
    MovementKind,
    PlanCohort,
    RevenueMovement,
    StripeAction,
    StripeActionKind,
    StripeActionStatus,
    StripeCustomer,
    StripeCustomerLink,
    StripeInvoice,
    StripeSubscription,
)
from revenue.stripe_client import TRANSIENT_STRIPE_ERRORS, StripeNotConfigured, as_dict, stripe_client_for

COHORT_RANK = {cohort: rank for rank, cohort in enumerate(Cohort.values)}


def system_tenant(organization: Organization) -> Tenant:
    """Who acts when Stripe changed something: no member, shown as "System" in histories."""
    return Tenant(organization=organization, role=Role.ADMIN)


# --- The ledger ---------------------------------------------------------------------------------------------------


def subscription_terms(subscription: StripeSubscription) -> SubscriptionTerms:
    return SubscriptionTerms(
        status=subscription.status,
        currency=subscription.currency,
        lines=tuple(
            Line(
                unit_amount=item.unit_amount or 0,
                quantity=item.quantity,
                interval=item.interval,
                interval_count=item.interval_count,
            )
            for item in subscription.items.all()
        ),
        percent_off=subscription.discount_percent_off,
        amount_off=subscription.discount_amount_off,
        amount_off_currency=subscription.discount_currency,
    )


def _mapped_cohort(subscriptions: Iterable[StripeSubscription], mapping: dict[str, str]) -> str | None:
    """The highest cohort any counted item's price (or, failing that, product) maps to."""
    found = []
    for subscription in subscriptions:
        for item in subscription.items.all():
            cohort = mapping.get(item.price_stripe_id) or mapping.get(item.product_id)
            if cohort:
                found.append(cohort)
    return max(found, key=COHORT_RANK.__getitem__) if found else None


@transaction.atomic
def revenue_refresh(
    *,
    organization: Organization,
    account_ids: Iterable[int],
    occurred_at: datetime | None = None,
    reason: str = "",
    tenant: Tenant | None = None,
    at: Mapping[int, datetime] | None = None,
) -> list[RevenueMovement]:
    """Recomputes each account's MRR from its Stripe subscriptions and, where it moved, appends one ledger movement
    and makes the account's mrr, arr (12 times MRR), currency and mapped cohort follow.

    A movement is dated `at[account id]` when given (a replay of history moving many accounts at once, each at its
    own moment), else `occurred_at` (an event's time), else from the subscriptions (see `_movement_time`).
    Idempotent: an unchanged MRR writes nothing, so a redelivered event or a second reconcile adds no movement.
    A movement is never dated before the account's previous one, so the ledger reads in order.
    """
    ids = sorted({pk for pk in account_ids if pk})
    if not ids:
        return []
    tenant = tenant or system_tenant(organization)
    now = timezone.now()
    latest = RevenueMovement.objects.filter(account=OuterRef("pk")).order_by("-occurred_at", "-id")
    accounts = Account.objects.filter(pk__in=ids).annotate(
        ledger_mrr=Subquery(latest.values("mrr_after")[:1]),
        ledger_at=Subquery(latest.values("occurred_at")[:1]),
        had_revenue=Exists(RevenueMovement.objects.filter(account=OuterRef("pk"), mrr_after__gt=0)),
    )
    by_account: dict[int, list[StripeSubscription]] = defaultdict(list)
    for subscription in StripeSubscription.objects.filter(account_id__in=ids).prefetch_related("items"):
        by_account[subscription.account_id].append(subscription)
    mapping = dict(PlanCohort.objects.values_list("stripe_id", "cohort"))
    movements: list[RevenueMovement] = []
    for account in accounts:
        subscriptions = by_account.get(account.pk, [])
        counted = [s for s in subscriptions if s.status in COUNTED_STATUSES]
        currency = _revenue_currency(account, counted)
        mrr = account_mrr(subscription_terms(s) for s in counted if s.currency == currency)
        before = account.ledger_mrr if account.ledger_mrr is not None else Decimal("0.00")
        kind = movement_kind(before=before, after=mrr, had_revenue_before=account.had_revenue)
        values: dict[str, Any] = {}
        cohort = _mapped_cohort(counted, mapping) if mapping else None
        if cohort and cohort != account.cohort:
            values["cohort"] = cohort
        if kind is not None or account.ledger_mrr is not None:
            # The account follows the ledger once the ledger speaks for it.
            values.update(mrr=mrr, arr=money(mrr * 12))
            if mrr and currency.upper() != account.currency:
                values["currency"] = currency.upper()
        if values:
            account_update(tenant=tenant, account=account, **values)
        if kind is None:
            continue
        when = (at or {}).get(account.pk) or occurred_at or _movement_time(kind, subscriptions, now)
        if account.ledger_at and when < account.ledger_at:
            when = account.ledger_at
        movements.append(
            RevenueMovement(
                organization=organization,
                account=account,
                occurred_at=min(when, now),
                kind=kind,
                currency=(currency or account.currency).upper(),
                mrr_before=before,
                mrr_after=mrr,
                cohort=account.cohort,
                reason=reason[:120],
            )
        )
    RevenueMovement.objects.bulk_create(movements)
    return movements


@transaction.atomic
def revenue_churn_record(
    *, tenant: Tenant, account: Account, churned_at: datetime, reason: str
) -> RevenueMovement | None:
    """A churn the ledger cannot hear from Stripe: an account billed outside Stripe (or never synced) stops paying.

    Its MRR until now (the ledger's last figure, else the account's own) goes to zero in one churn movement, and the
    account's mrr and arr follow. An account that Stripe still bills is left to Stripe: its churn movement comes
    when the subscription is canceled or its period ends, so nothing is counted twice. Recording it again changes
    nothing. Returns the movement, or None when there was nothing to record.
    """
    account = Account.objects.select_for_update().get(pk=account.pk)
    if StripeSubscription.objects.filter(account=account, status__in=COUNTED_STATUSES).exists():
        return None
    last = RevenueMovement.objects.filter(account=account).order_by("-occurred_at", "-id").first()
    before = last.mrr_after if last is not None else account.mrr
    if not before:
        return None
    when = max(churned_at, last.occurred_at) if last is not None else churned_at
    movement = RevenueMovement.objects.create(
        organization=tenant.organization,
        account=account,
        occurred_at=min(when, timezone.now()),
        kind=MovementKind.CHURN,
        currency=account.currency.upper(),
        mrr_before=before,
        mrr_after=Decimal("0.00"),
        cohort=account.cohort,
        reason=reason[:120],
    )
    account_update(tenant=tenant, account=account, mrr=Decimal("0.00"), arr=Decimal("0.00"))
    return movement


def _revenue_currency(account: Account, counted: list[StripeSubscription]) -> str:
    """Stripe bills each subscription in one currency; we do not convert. An account billed in several counts the
    subscriptions in its own currency (or, if none, the first), and the others are shown on its Stripe page."""
    currencies = sorted({s.currency for s in counted if s.currency})
    if not currencies:
        return account.currency.lower()
    if account.currency.lower() in currencies:
        return account.currency.lower()
    return currencies[0]


def _movement_time(kind: str, subscriptions: list[StripeSubscription], now: datetime) -> datetime:
    """Without an event's time (a reconcile): a first subscription counts from its start, a churn from its end."""
    if kind == "new":
        starts = [s.start_date for s in subscriptions if s.start_date and s.status in COUNTED_STATUSES]
        return min(starts) if starts else now
    if kind == "churn":
        ends = [s.ended_at or s.canceled_at for s in subscriptions if s.ended_at or s.canceled_at]
        return max(ends) if ends else now
    return now


# --- Plan → cohort ----------------------------------------------------------------------------------------------


@transaction.atomic
def plan_cohort_set(*, tenant: Tenant, stripe_id: str, cohort: str) -> PlanCohort:
    """Maps a Stripe price (price_…) or product (prod_…) to a cohort; accounts on it move at their next refresh."""
    stripe_id = stripe_id.strip()
    if not stripe_id.startswith(("price_", "prod_", "plan_")):
        raise ValidationError({"stripe_id": ["Give a Stripe price id (price_…) or product id (prod_…)."]})
    if cohort not in Cohort.values:
        raise ValidationError({"cohort": ["Choose a cohort."]})
    mapping, created = PlanCohort.objects.update_or_create(
        organization=tenant.organization, stripe_id=stripe_id, defaults={"cohort": cohort}
    )
    audit_record(
        tenant=tenant,
        action="revenue.plan_cohort.set",
        obj=mapping,
        changes={"stripe_id": [None, stripe_id], "cohort": [None, cohort]} if created else {"cohort": [None, cohort]},
    )
    affected = StripeSubscription.objects.filter(items__price_stripe_id=stripe_id) | StripeSubscription.objects.filter(
        items__product_id=stripe_id
    )
    revenue_refresh(
        organization=tenant.organization,
        account_ids=affected.exclude(account_id=None).values_list("account_id", flat=True).distinct(),
        reason="plan cohort mapping",
        tenant=tenant,
    )
    return mapping


@transaction.atomic
def plan_cohort_delete(*, tenant: Tenant, mapping: PlanCohort) -> None:
    audit_record(tenant=tenant, action="revenue.plan_cohort.deleted", obj=mapping)
    mapping.delete()


# --- The review queue -------------------------------------------------------------------------------------------


@transaction.atomic
def stripe_customer_link(*, tenant: Tenant, customer: StripeCustomer, account: Account) -> StripeCustomer:
    """A member links a customer nothing matched to an account. The account remembers the customer id (when it has
    none yet) so later syncs find it by that, and its revenue is computed at once."""
    from revenue.sync import Refresh, customer_accounts_propagate

    if account.organization_id != tenant.organization.pk:
        raise ApplicationError("No such account.")
    previous = customer.account_id
    customer.account = account
    customer.linked_by = StripeCustomerLink.MANUAL
    customer.save(update_fields=["account", "linked_by"])
    if not account.stripe_customer_id:
        account_update(tenant=tenant, account=account, stripe_customer_id=customer.stripe_id)
    audit_record(
        tenant=tenant,
        action="revenue.stripe_customer.linked",
        obj=customer,
        changes={"account": [previous, account.pk]},
        account_id=account.pk,
    )
    refresh = Refresh()
    customer_accounts_propagate(customers=[customer], refresh=refresh)
    revenue_refresh(
        organization=tenant.organization, account_ids=refresh.account_ids, reason="linked by a member", tenant=tenant
    )
    return customer


@transaction.atomic
def stripe_customer_create_account(*, tenant: Tenant, customer: StripeCustomer) -> Account:
    """Creates an account from a customer nothing matched: its name, its email's domain, its Stripe id."""
    from revenue.sync import Refresh, customer_accounts_propagate

    account = account_create(
        tenant=tenant,
        name=customer.name or customer.email or customer.stripe_id,
        domain=customer.email_domain,
        stripe_customer_id=customer.stripe_id,
    )
    customer.account = account
    customer.linked_by = StripeCustomerLink.CREATED
    customer.save(update_fields=["account", "linked_by"])
    refresh = Refresh()
    customer_accounts_propagate(customers=[customer], refresh=refresh)
    revenue_refresh(
        organization=tenant.organization, account_ids=refresh.account_ids, reason="account created", tenant=tenant
    )
    return account


# --- Actions on Stripe -----------------------------------------------------------------------------------------


def _client(organization: Organization) -> stripe.StripeClient:
    connection = connection_get(organization=organization, source=Source.STRIPE)
    if connection.is_configured and not connection.enabled:
        raise ApplicationError("The Stripe connection is turned off: turn it on in Settings → Integrations → Stripe.")
    try:
        return stripe_client_for(connection)
    except StripeNotConfigured as exc:
        raise ApplicationError("Connect Stripe first (Settings → Integrations → Stripe).") from exc


def _action_claim(*, tenant: Tenant, kind: str, key: str, account: Account | None, target: str) -> StripeAction:
    """One row per idempotency key: a retry of the same action finds and reuses it (and its key)."""
    try:
        with transaction.atomic():
            action, _ = StripeAction.objects.get_or_create(
                organization=tenant.organization,
                idempotency_key=key,
                defaults={"kind": kind, "account": account, "target_stripe_id": target, "requested_by": tenant.member},
            )
    except IntegrityError:
        action = StripeAction.objects.get(idempotency_key=key)
    return action


def _action_send(
    *, tenant: Tenant, action: StripeAction, call, audit_action: str, account_id: int | None
) -> StripeAction:
    action.attempts += 1
    try:
        answer = as_dict(call())
    except TRANSIENT_STRIPE_ERRORS as exc:
        action.error = f"Stripe could not be reached: {exc}. Trying again sends the same request."
        action.status = StripeActionStatus.FAILED
        action.save(update_fields=["attempts", "error", "status"])
        raise
    except stripe.StripeError as exc:
        action.status = StripeActionStatus.FAILED
        action.error = str(getattr(exc, "user_message", None) or exc)[:2000]
        action.response = exc.json_body if isinstance(exc.json_body, dict) else {}
        action.finished_at = timezone.now()
        action.save(update_fields=["attempts", "error", "status", "response", "finished_at"])
        audit_record(
            tenant=tenant,
            action=f"{audit_action}.failed",
            obj=action,
            changes={"error": [None, action.error]},
            account_id=account_id,
        )
        return action
    action.status = StripeActionStatus.SUCCEEDED
    action.response = answer
    action.error = ""
    action.finished_at = timezone.now()
    action.save(update_fields=["attempts", "error", "status", "response", "finished_at"])
    audit_record(tenant=tenant, action=audit_action, obj=action, account_id=account_id)
    return action


def subscription_cancel(*, tenant: Tenant, subscription: StripeSubscription, at_period_end: bool) -> StripeAction:
    """Seed 000, churn step 2: cancel in Stripe so no further invoice is sent. Now, or at the end of the period
    already paid (`cancel_at_period_end`). The key names the subscription and the choice, so a retry (a double
    click, a task redelivered) sends the same key and Stripe cancels once; Stripe's answer is applied at once."""
    from revenue.sync import subscriptions_apply

    if subscription.status in ("canceled", "incomplete_expired"):
        raise ApplicationError("This subscription is already canceled in Stripe.")
    when = "period_end" if at_period_end else "now"
    key = f"cs-platform:{tenant.organization.pk}:subscription_cancel:{subscription.stripe_id}:{when}"
    kind = StripeActionKind.SUBSCRIPTION_CANCEL_AT_PERIOD_END if at_period_end else StripeActionKind.SUBSCRIPTION_CANCEL
    action = _action_claim(
        tenant=tenant, kind=kind, key=key, account=subscription.account, target=subscription.stripe_id
    )
    if action.status == StripeActionStatus.SUCCEEDED:
        return action
    client = _client(tenant.organization)
    options = {"idempotency_key": key}
    if at_period_end:

        def call():
            return client.v1.subscriptions.update(
                subscription.stripe_id, params={"cancel_at_period_end": True}, options=options
            )
    else:

        def call():
            return client.v1.subscriptions.cancel(subscription.stripe_id, options=options)

    action = _action_send(
        tenant=tenant,
        action=action,
        call=call,
        audit_action=f"stripe.{kind}",
        account_id=subscription.account_id,
    )
    if action.status == StripeActionStatus.SUCCEEDED and action.response.get("id"):
        with transaction.atomic():
            from revenue.sync import Refresh

            refresh = Refresh()
            subscriptions_apply(
                organization=tenant.organization,
                subscriptions=[action.response],
                remote_updated_at=timezone.now(),
                guard=True,
                refresh=refresh,
            )
            revenue_refresh(
                organization=tenant.organization,
                account_ids=refresh.account_ids,
                reason="subscription_cancel",
                tenant=tenant,
            )
    return action


def invoice_for_card_update(*, account: Account) -> StripeInvoice | None:
    """Seed 004: the invoice to email so the customer can pay it with their new card: the account's latest open one."""
    return StripeInvoice.objects.filter(account=account, status="open").order_by("-stripe_created", "-id").first()


def invoice_send_for_card_update(*, tenant: Tenant, account: Account) -> StripeAction:
    """Seed 004, "Responding to a request to change a credit card number": email the customer an invoice, and they
    update the payment method on file when they pay it. The key names the invoice and the day: a retry that day
    sends the same key (Stripe emails once); asking again another day sends it again."""
    invoice = invoice_for_card_update(account=account)
    if invoice is None:
        raise ApplicationError(
            f"{account.name} has no open invoice in Stripe to send. Sync Stripe, or create the invoice in Stripe first."
        )
    key = (
        f"cs-platform:{tenant.organization.pk}:invoice_send_for_card_update:{invoice.stripe_id}:"
        f"{timezone.now().date().isoformat()}"
    )
    action = _action_claim(
        tenant=tenant,
        kind=StripeActionKind.INVOICE_SEND_FOR_CARD_UPDATE,
        key=key,
        account=account,
        target=invoice.stripe_id,
    )
    if action.status == StripeActionStatus.SUCCEEDED:
        return action
    client = _client(tenant.organization)
    action = _action_send(
        tenant=tenant,
        action=action,
        call=lambda: client.v1.invoices.send_invoice(invoice.stripe_id, options={"idempotency_key": key}),
        audit_action="stripe.invoice_send_for_card_update",
        account_id=account.pk,
    )
    if action.status == StripeActionStatus.SUCCEEDED and action.response.get("id"):
        from revenue.sync import invoices_apply

        invoices_apply(
            organization=tenant.organization, invoices=[action.response], remote_updated_at=timezone.now(), guard=True
        )
    return action
