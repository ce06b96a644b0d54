"""Pages of the revenue app; each translates the request, calls a selector or a service, and renders."""

from datetime import datetime, time, timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.models import Account
from core.decorators import tenant_permission_required
from core.errors import ApplicationError
from core.permissions import Permission

# The one place that reads a report period from the query string (see tickets/report_views.py for the same reuse).
from lifecycle.report_views import report_period
from revenue import selectors, services
from revenue.forms import CustomerLinkForm, PlanCohortForm
from revenue.ledger import minor_to_major
from revenue.models import PlanCohort, StripeActionStatus, StripeCustomer, StripeSubscription

DEFAULT_DAYS = 90


def _aware(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


@tenant_permission_required(Permission.VIEW)
def revenue_report(request, org_slug: str) -> HttpResponse:
    period = report_period(request, default_days=DEFAULT_DAYS)
    currencies = sorted(selectors.ledger_currencies())
    organization_currency = request.tenant.organization.default_currency.upper()
    default_currency = organization_currency if organization_currency in currencies or not currencies else currencies[0]
    currency = (request.GET.get("currency") or default_currency).upper()
    if currency not in currencies:
        currency = default_currency
    months = selectors.month_starts_between(period.start, period.end + timedelta(days=1))
    month_moments = [_aware(month) for month in months] + [period.end_before]
    series = selectors.mrr_over_time(month_starts=month_moments, currency=currency)
    series_labels = [month.strftime("%b %Y") for month in months] + [f"{period.end:%d %b %Y}"]
    report = selectors.retention_by_cohort(start=period.start_at, end=period.end_before, currency=currency)
    chart = {
        "labels": series_labels,
        "series": {label: [float(v) for v in values] for label, values in series.by_cohort.items() if any(values)},
    }
    retention_chart = {
        "labels": [row.cohort.title() for row in report.rows],
        "nrr": [float(row.nrr) if row.nrr is not None else None for row in report.rows],
        "grr": [float(row.grr) if row.grr is not None else None for row in report.rows],
    }
    return render(
        request,
        "revenue/report.html",
        {
            "period": period,
            "errors": [period.error] if period.error else [],
            "currency": currency,
            "currencies": currencies,
            "mrr_now": series.total[-1] if series.total else 0,
            "arr_now": (series.total[-1] if series.total else 0) * 12,
            "report": report,
            "mrr_chart": chart,
            "retention_chart": retention_chart,
            "movements": selectors.movements_in(start=period.start_at, end=period.end_before).order_by(
                "-occurred_at", "-id"
            )[:50],
            "review_count": selectors.review_queue_count(),
            "active_report": "revenue",
        },
    )


@tenant_permission_required(Permission.VIEW)
def review_queue(request, org_slug: str) -> HttpResponse:
    return render(
        request,
        "revenue/review_queue.html",
        {"customers": selectors.review_queue(), "total": selectors.review_queue_count()},
    )


@tenant_permission_required(Permission.VIEW)
def review_customer(request, org_slug: str, pk: int) -> HttpResponse:
    customer = get_object_or_404(StripeCustomer, pk=pk)
    form = CustomerLinkForm(request.POST or None)
    if request.method == "POST":
        if not request.tenant.can(Permission.ACCOUNT_WRITE):
            raise PermissionDenied("Your role in this organization may not do this.")
        if "create" in request.POST:
            account = services.stripe_customer_create_account(tenant=request.tenant, customer=customer)
            messages.success(request, f"Created {account.name} from the Stripe customer.")
            return redirect("revenue_review_queue", org_slug=org_slug)
        if form.is_valid():
            account = form.cleaned_data["account"]
            services.stripe_customer_link(tenant=request.tenant, customer=customer, account=account)
            messages.success(request, f"Linked {customer} to {account.name}.")
            return redirect("revenue_review_queue", org_slug=org_slug)
    return render(
        request,
        "revenue/review_customer.html",
        {"customer": customer, "form": form, "selected_account": customer.account},
    )


def _money(amount: int, currency: str):
    return minor_to_major(amount, currency)


@tenant_permission_required(Permission.VIEW)
def account_stripe(request, org_slug: str, pk: int) -> HttpResponse:
    account = get_object_or_404(Account, pk=pk)
    stripe = selectors.account_stripe(account=account)
    invoices = [
        {"invoice": invoice, "amount_due": _money(invoice.amount_due, invoice.currency)} for invoice in stripe.invoices
    ]
    subscriptions = [
        {
            "subscription": subscription,
            "items": [
                {"item": item, "unit": _money(item.unit_amount or 0, item.currency or subscription.currency)}
                for item in subscription.items.all()
            ],
        }
        for subscription in stripe.subscriptions
    ]
    return render(
        request,
        "revenue/account_stripe.html",
        {
            "account": account,
            "stripe": stripe,
            "subscriptions": subscriptions,
            "invoices": invoices,
            "card_update_invoice": services.invoice_for_card_update(account=account),
            "can_act": request.tenant.can(Permission.ACCOUNT_WRITE),
        },
    )


def _report_action(request, action) -> None:
    if action.status == StripeActionStatus.SUCCEEDED:
        messages.success(request, f"Stripe accepted: {action.get_kind_display().lower()}.")
    else:
        messages.error(request, f"Stripe refused: {action.error}")


@require_POST
@tenant_permission_required(Permission.ACCOUNT_WRITE)
def subscription_cancel(request, org_slug: str, pk: int) -> HttpResponse:
    subscription = get_object_or_404(StripeSubscription, pk=pk)
    at_period_end = request.POST.get("when") != "now"
    try:
        action = services.subscription_cancel(
            tenant=request.tenant, subscription=subscription, at_period_end=at_period_end
        )
        _report_action(request, action)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    except services.TRANSIENT_STRIPE_ERRORS:
        messages.error(request, "Stripe could not be reached. Try again: the same request is sent, never two.")
    if subscription.account_id:
        return redirect("revenue_account", org_slug=org_slug, pk=subscription.account_id)
    return redirect("revenue_report", org_slug=org_slug)


@require_POST
@tenant_permission_required(Permission.ACCOUNT_WRITE)
def account_send_invoice(request, org_slug: str, pk: int) -> HttpResponse:
    account = get_object_or_404(Account, pk=pk)
    try:
        _report_action(request, services.invoice_send_for_card_update(tenant=request.tenant, account=account))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    except services.TRANSIENT_STRIPE_ERRORS:
        messages.error(request, "Stripe could not be reached. Try again: the same request is sent, never two.")
    return redirect("revenue_account", org_slug=org_slug, pk=account.pk)


@tenant_permission_required(Permission.ORGANIZATION_MANAGE)
def plan_cohorts(request, org_slug: str) -> HttpResponse:
    form = PlanCohortForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.plan_cohort_set(tenant=request.tenant, **form.cleaned_data)
            messages.success(request, f"{form.cleaned_data['stripe_id']} now maps to a cohort.")
            return redirect("revenue_plan_cohorts", org_slug=org_slug)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
    return render(
        request,
        "revenue/settings_plans.html",
        {"form": form, "mappings": selectors.plan_cohorts(), "section": "revenue_plan_cohorts"},
    )


@require_POST
@tenant_permission_required(Permission.ORGANIZATION_MANAGE)
def plan_cohort_delete(request, org_slug: str, pk: int) -> HttpResponse:
    services.plan_cohort_delete(tenant=request.tenant, mapping=get_object_or_404(PlanCohort, pk=pk))
    return redirect("revenue_plan_cohorts", org_slug=org_slug)
