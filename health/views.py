"""Health pages: the account card's actions (override, sentiment), the signals list and the model editor."""

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.models import Account, Cohort
from core.decorators import tenant_permission_required
from core.errors import ApplicationError
from core.list_pages import query_without
from core.pagination import InvalidCursor, SortKey, bounded_count, keyset_paginate
from core.permissions import Permission
from health import selectors, services
from health.forms import THRESHOLD_KEYS, HealthModelForm, OverrideForm, SentimentForm
from health.models import MeasureType, SignalKind
from health.scoring import MEASURE_UNITS
from health.templatetags.health import card_context

SIGNAL_SORT = SortKey("raised_at", True)


def _account_from(request) -> Account:
    raw = request.POST.get("account") or request.GET.get("account") or ""
    if not raw.isdigit():
        raise Http404("No such account.")
    return get_object_or_404(Account, pk=int(raw))


def _card_response(request, account: Account, **forms) -> HttpResponse:
    """htmx swaps the card in place; without it, a page that holds just the card (with any errors)."""
    context = card_context(request, account, **forms)
    if request.headers.get("HX-Request"):
        return render(request, "health/_account_health.html", context)
    return render(request, "health/account_health.html", context)


def _back_to_account(request, account: Account) -> HttpResponse:
    if request.headers.get("HX-Request"):
        return _card_response(request, account)
    return redirect(reverse("account_detail", kwargs={"org_slug": request.tenant.organization.slug, "pk": account.pk}))


@require_POST
@tenant_permission_required(Permission.ACCOUNT_WRITE)
def health_override(request, org_slug: str) -> HttpResponse:
    account = _account_from(request)
    form = OverrideForm(request.POST)
    if form.is_valid():
        try:
            services.health_override_set(
                tenant=request.tenant, account=account, score=form.cleaned_data["score"],
                reason=form.cleaned_data["reason"], expires_on=form.cleaned_data["expires_on"],
            )  # fmt: skip
        except ApplicationError as exc:
            for name, message in exc.field_errors.items():
                form.add_error(name if name in form.fields else None, message)
        else:
            messages.success(
                request, f"Health of {account.name} overridden until {form.cleaned_data['expires_on']:%-d %b %Y}."
            )
            return _back_to_account(request, account)
    return _card_response(request, account, override_form=form)


@require_POST
@tenant_permission_required(Permission.ACCOUNT_WRITE)
def health_override_clear(request, org_slug: str) -> HttpResponse:
    account = _account_from(request)
    services.health_override_clear(tenant=request.tenant, account=account)
    messages.success(request, f"Override removed: {account.name} shows its computed score again.")
    return _back_to_account(request, account)


@require_POST
@tenant_permission_required(Permission.ACCOUNT_WRITE)
def health_sentiment(request, org_slug: str) -> HttpResponse:
    account = _account_from(request)
    form = SentimentForm(request.POST)
    if form.is_valid():
        try:
            services.sentiment_record(
                tenant=request.tenant, account=account, sentiment=form.cleaned_data["sentiment"],
                comment=form.cleaned_data["comment"],
            )  # fmt: skip
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Sentiment recorded for {account.name}; its score was recomputed.")
            return _back_to_account(request, account)
    return _card_response(request, account, sentiment_form=form)


@tenant_permission_required(Permission.VIEW)
def signal_list(request, org_slug: str) -> HttpResponse:
    kind = request.GET.get("kind", "")
    if kind and kind not in SignalKind.values and kind not in selectors.SIGNAL_KIND_FILTERS:
        kind = ""
    account_raw = request.GET.get("account", "")
    account = None
    if account_raw.isdigit():
        account = Account.objects.filter(pk=int(account_raw)).first()
    signals = selectors.signal_list(
        filters=selectors.SignalFilters(kind=kind, account_id=account.pk if account else None)
    )
    try:
        page = keyset_paginate(
            signals, sort=SIGNAL_SORT, cursor=request.GET.get("cursor"), page_size=settings.LIST_PAGE_SIZE
        )
    except InvalidCursor:
        page = keyset_paginate(signals, sort=SIGNAL_SORT, cursor=None, page_size=settings.LIST_PAGE_SIZE)
    return render(
        request,
        "health/signal_list.html",
        {
            "page": page,
            "total": bounded_count(signals),
            "kind": kind,
            "account": account,
            "kinds": [("risk", "All risk signals"), ("expansion", "All expansion signals"), *SignalKind.choices],
            "is_filtered": bool(kind or account),
            "query": query_without(request, "cursor"),
            "section": "signal_list",  # the nav's active item
        },
    )


COHORT_TABS = [("", "Default (every cohort without its own)"), *Cohort.choices]


@tenant_permission_required(Permission.VIEW)
def health_model_edit(request, org_slug: str) -> HttpResponse:
    """Viewing needs VIEW; saving needs organization.manage (admins), like the other organization settings."""
    cohort = request.GET.get("cohort", request.POST.get("cohort", ""))
    if cohort not in dict(COHORT_TABS):
        raise Http404("No such cohort.")
    services.health_models_ensure(organization=request.tenant.organization)
    own, default = selectors.health_model_for_editor(cohort=cohort)
    shown = own or default
    can_edit = request.tenant.can(Permission.ORGANIZATION_MANAGE)
    errors: dict = {}
    if request.method == "POST":
        if not can_edit:
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied("Only admins edit the health model.")
        if request.POST.get("action") == "delete":
            try:
                services.health_model_delete(tenant=request.tenant, cohort=cohort)
            except ApplicationError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, f"{dict(COHORT_TABS)[cohort]} now uses the default model.")
            return redirect(f"{reverse('health:health_model_edit', kwargs={'org_slug': org_slug})}?cohort={cohort}")
        form = HealthModelForm(request.POST, measures=shown.measures)
        if form.is_valid():
            measures = form.measures()
            try:
                model = services.health_model_save(
                    tenant=request.tenant, cohort=cohort, name=form.cleaned_data["name"], measures=measures
                )
            except ApplicationError as exc:
                raw = exc.field_errors.get("measures", {})
                if isinstance(raw, dict):
                    for index, message in raw.items():
                        if index == -1:
                            form.add_error(None, message)
                        else:
                            errors[measures[index]["type"]] = message
                else:
                    form.add_error(None, exc.message)
                if not errors and not form.errors:
                    form.add_error(None, exc.message)
            else:
                messages.success(request, f"Saved {model.name} (version {model.version}). Scores are being recomputed.")
                return redirect(f"{reverse('health:health_model_edit', kwargs={'org_slug': org_slug})}?cohort={cohort}")
    else:
        form = HealthModelForm(
            initial={"name": shown.name if own else f"{dict(COHORT_TABS)[cohort]}"}, measures=shown.measures
        )
    rows = []
    for kind in form.rows:
        rows.append(
            {
                "kind": kind, "label": MeasureType(kind).label, "unit": MEASURE_UNITS[kind],
                "weight": form[f"weight_{kind}"], "thresholds": [form[f"{key}_{kind}"] for key in THRESHOLD_KEYS],
                "error": errors.get(kind) or "; ".join(
                    str(e) for name in (f"weight_{kind}", *(f"{key}_{kind}" for key in THRESHOLD_KEYS))
                    for e in form.errors.get(name, [])
                ),
            }
        )  # fmt: skip
    return render(
        request,
        "health/model_edit.html",
        {
            "form": form, "rows": rows, "cohort": cohort, "cohort_tabs": COHORT_TABS, "own": own,
            "default": default, "shown": shown, "can_edit": can_edit, "has_errors": bool(errors or form.errors),
            "models": selectors.health_models(), "section": "health_model_edit",  # the nav's active item
        },
    )  # fmt: skip
