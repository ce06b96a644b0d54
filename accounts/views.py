"""Browser pages for accounts and contacts: translate the request, call selectors and services, render."""

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts import csv_io, selectors, services
from accounts.filters import AccountFilterSet, ContactFilterSet
from accounts.forms import AccountForm, ContactForm, ContactImportForm, NoteForm
from accounts.models import COHORT_TRAITS, Account, Contact
from core.decorators import tenant_permission_required
from core.forms import form_add_service_errors
from core.list_pages import list_page
from core.permissions import Permission
from core.tenancy import tenant_scope
from lifecycle import selectors as lifecycle_selectors
from lifecycle.forms import QualificationForm, StageChangeForm, TaskForm
from lifecycle.services import pipeline_settings_get


@tenant_permission_required(Permission.VIEW)
def dashboard(request, org_slug: str) -> HttpResponse:
    today = timezone.localdate()
    cohorts = selectors.cohort_summary(today=today, renewal_days=90)
    renewals = list(selectors.renewals_due(today=today, days=90))
    history = selectors.cohort_arr_history(since=today - timedelta(days=180))
    days = sorted({snapshot.day for snapshot in history})
    arr_by_day_and_cohort = {(snapshot.day, snapshot.cohort): float(snapshot.arr) for snapshot in history}
    arr_trend = {
        "labels": [day.isoformat() for day in days],
        "series": {
            cohort.label: [arr_by_day_and_cohort.get((day, cohort.cohort), 0.0) for day in days] for cohort in cohorts
        },
    }
    chart = {
        "labels": [c.label for c in cohorts],
        "arr": [float(c.arr) for c in cohorts],
        "accounts": [c.account_count for c in cohorts],
    }
    return render(
        request,
        "accounts/dashboard.html",
        {
            "cohorts": cohorts,
            "cohort_traits": {c.label: COHORT_TRAITS[c.cohort] for c in cohorts},
            "total_arr": sum(c.arr for c in cohorts),
            "total_accounts": sum(c.account_count for c in cohorts),
            "renewals": renewals,
            "renewal_count": sum(c.renewal_count for c in cohorts),
            "renewal_arr": sum(c.renewal_arr for c in cohorts),
            "today": today,
            "chart": chart,
            "trend": arr_trend,
            "has_trend": len(days) > 1,
            "currency": request.tenant.organization.default_currency,
        },
    )


@tenant_permission_required(Permission.VIEW)
def account_list(request, org_slug: str) -> HttpResponse:
    return list_page(
        request,
        AccountFilterSet(request.GET, queryset=Account.objects.all()),
        sorts=selectors.ACCOUNT_SORTS,
        default_sort="name",
        template="accounts/account_list.html",
        rows_template="accounts/_account_rows.html",
        owners=selectors.organization_member_users(organization=request.tenant.organization),
    )


@tenant_permission_required(Permission.VIEW)
def account_export(request, org_slug: str) -> StreamingHttpResponse:
    filterset = AccountFilterSet(request.GET, queryset=Account.objects.all())
    accounts = filterset.qs.order_by("name", "id") if filterset.is_valid() else Account.objects.none()
    return _csv_response(request, "accounts.csv", csv_io.ACCOUNT_EXPORT_HEADER, csv_io.account_export_rows(accounts))


def _csv_response(request, filename: str, header, rows) -> StreamingHttpResponse:
    organization = request.tenant.organization

    def stream():
        # The response body is produced after the middleware has left the tenant scope: re-enter it.
        with tenant_scope(organization):
            yield from csv_io.csv_rows(header, rows)

    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{organization.slug}-{filename}"'
    return response


@tenant_permission_required(Permission.VIEW)
def account_detail(request, org_slug: str, pk: int) -> HttpResponse:
    account = get_object_or_404(Account.objects.select_related("csm_owner", "ae_owner"), pk=pk)
    contacts = list(account.contacts.order_by("last_name", "id")[:51])
    pipeline_settings = pipeline_settings_get(organization=request.tenant.organization)
    return render(
        request,
        "accounts/account_detail.html",
        {
            "account": account,
            "contacts": contacts[:50],
            "more_contacts": len(contacts) > 50,
            "timeline": selectors.account_timeline(account=account),
            "note_form": NoteForm(),
            "today": timezone.localdate(),
            "deals": lifecycle_selectors.account_deals(account_id=account.pk, pipeline_settings=pipeline_settings),
            "plans": lifecycle_selectors.onboarding_plans_of(account_id=account.pk),
            "tasks": lifecycle_selectors.account_open_tasks(account_id=account.pk),
            "task_form": TaskForm(organization=request.tenant.organization),
            "cohort_path": lifecycle_selectors.account_cohort_path(account_id=account.pk),
            "stage_history": lifecycle_selectors.account_stage_history(account_id=account.pk),
        },
    )


@tenant_permission_required(Permission.ACCOUNT_WRITE)
def account_create(request, org_slug: str) -> HttpResponse:
    form = AccountForm(request.POST or None, organization=request.tenant.organization)
    if request.method == "POST" and form.is_valid():
        try:
            account = services.account_create(tenant=request.tenant, **form.cleaned_data)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(request, f"Account {account.name} created (codename {account.codename}).")
            return redirect("account_detail", org_slug=org_slug, pk=account.pk)
    return render(request, "accounts/account_form.html", {"form": form, "account": None})


@tenant_permission_required(Permission.ACCOUNT_WRITE)
def account_edit(request, org_slug: str, pk: int) -> HttpResponse:
    account = get_object_or_404(Account, pk=pk)
    form = AccountForm(request.POST or None, instance=account, organization=request.tenant.organization)
    if request.method == "POST" and form.is_valid():
        # form.is_valid() copied the values onto the instance; the service compares against a fresh copy.
        stored = Account.objects.get(pk=pk)
        try:
            services.account_update(tenant=request.tenant, account=stored, **form.cleaned_data)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(request, "Account saved.")
            return redirect("account_detail", org_slug=org_slug, pk=pk)
    return render(request, "accounts/account_form.html", {"form": form, "account": account})


@tenant_permission_required(Permission.ACCOUNT_DELETE)
def account_delete(request, org_slug: str, pk: int) -> HttpResponse:
    account = get_object_or_404(Account, pk=pk)
    if request.method == "POST":
        services.account_delete(tenant=request.tenant, account=account)
        messages.success(request, f"Account {account.name} deleted. Its contacts were kept without an account.")
        return redirect("account_list", org_slug=org_slug)
    return render(
        request,
        "accounts/confirm_delete.html",
        {"object": account, "kind": "account", "contact_count": account.contacts.count()},
    )


@require_POST
@tenant_permission_required(Permission.NOTE_ADD)
def note_add(request, org_slug: str, pk: int) -> HttpResponse:
    account = get_object_or_404(Account, pk=pk)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            services.note_add(tenant=request.tenant, account=account, body=form.cleaned_data["body"])
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, "Note added.")
    else:
        messages.error(request, "Write something before adding a note.")
    return redirect("account_detail", org_slug=org_slug, pk=pk)


@tenant_permission_required(Permission.VIEW)
def account_lookup(request, org_slug: str) -> HttpResponse:
    """Options for the account picker: the first matches by name or domain."""
    query = request.GET.get("q", "").strip()
    accounts = selectors.account_list(filters=selectors.AccountFilters(search=query)).order_by("name", "id")[:15]
    return render(request, "accounts/_account_options.html", {"accounts": accounts if query else []})


@tenant_permission_required(Permission.VIEW)
def contact_list(request, org_slug: str) -> HttpResponse:
    return list_page(
        request,
        ContactFilterSet(request.GET, queryset=Contact.objects.all()),
        sorts=selectors.CONTACT_SORTS,
        default_sort="last_name",
        template="accounts/contact_list.html",
        rows_template="accounts/_contact_rows.html",
    )


@tenant_permission_required(Permission.VIEW)
def contact_export(request, org_slug: str) -> StreamingHttpResponse:
    filterset = ContactFilterSet(request.GET, queryset=Contact.objects.all())
    contacts = filterset.qs.order_by("last_name", "id") if filterset.is_valid() else Contact.objects.none()
    return _csv_response(request, "contacts.csv", csv_io.CONTACT_EXPORT_HEADER, csv_io.contact_export_rows(contacts))


@tenant_permission_required(Permission.VIEW)
def contact_detail(request, org_slug: str, pk: int) -> HttpResponse:
    contact = get_object_or_404(Contact.objects.select_related("account", "owner"), pk=pk)
    return render_contact_page(request, contact)


def render_contact_page(request, contact: Contact, *, stage_form=None, qualification_form=None, status: int = 200):
    """The contact page; the lifecycle views re-render it with their form's errors when a move is refused."""

    pipeline_settings = pipeline_settings_get(organization=request.tenant.organization)
    lifecycle = lifecycle_selectors.contact_lifecycle(
        contact=contact, evangelist_enabled=pipeline_settings.evangelist_enabled
    )
    if stage_form is None:
        first_next = lifecycle.next_stages[0][0] if lifecycle.next_stages else contact.lifecycle_stage
        stage_form = StageChangeForm(initial={"lifecycle_stage": first_next})
    history = selectors.object_history(object_type="contact", object_id=contact.pk)
    return render(
        request,
        "accounts/contact_detail.html",
        {
            "contact": contact,
            "history": history,
            "lifecycle": lifecycle,
            "stage_form": stage_form,
            "qualification_form": qualification_form or QualificationForm(instance=lifecycle.qualification),
            "may_correct": request.tenant.can(Permission.STAGE_CORRECT),
            "next_values": [value for value, _ in lifecycle.next_stages],
        },
        status=status,
    )


def _contact_form_view(request, org_slug: str, contact: Contact | None) -> HttpResponse:
    initial = {}
    if contact is None and request.GET.get("account"):
        initial["account"] = request.GET["account"]
    form = ContactForm(
        request.POST or None, instance=contact, initial=initial, organization=request.tenant.organization
    )
    if request.method == "POST" and form.is_valid():
        try:
            if contact is None:
                contact = services.contact_create(tenant=request.tenant, **form.cleaned_data)
                messages.success(request, f"Contact {contact} created.")
            else:
                stored = Contact.objects.get(pk=contact.pk)
                contact = services.contact_update(tenant=request.tenant, contact=stored, **form.cleaned_data)
                messages.success(request, "Contact saved.")
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            return redirect("contact_detail", org_slug=org_slug, pk=contact.pk)
    return render(
        request,
        "accounts/contact_form.html",
        {"form": form, "contact": contact, "selected_account": selected_account_of(form["account"].value())},
    )


def selected_account_of(value) -> Account | None:
    """The account an account picker holds (its id as posted or initial), for the picker to show it chosen."""
    if not value or not str(value).isdigit():
        return None
    return Account.objects.filter(pk=value).first()


@tenant_permission_required(Permission.CONTACT_WRITE)
def contact_create(request, org_slug: str) -> HttpResponse:
    return _contact_form_view(request, org_slug, None)


@tenant_permission_required(Permission.CONTACT_WRITE)
def contact_edit(request, org_slug: str, pk: int) -> HttpResponse:
    return _contact_form_view(request, org_slug, get_object_or_404(Contact, pk=pk))


@tenant_permission_required(Permission.CONTACT_DELETE)
def contact_delete(request, org_slug: str, pk: int) -> HttpResponse:
    contact = get_object_or_404(Contact, pk=pk)
    if request.method == "POST":
        services.contact_delete(tenant=request.tenant, contact=contact)
        messages.success(request, f"Contact {contact} deleted.")
        return redirect("contact_list", org_slug=org_slug)
    return render(request, "accounts/confirm_delete.html", {"object": contact, "kind": "contact"})


@tenant_permission_required(Permission.CONTACT_IMPORT)
def contact_import(request, org_slug: str) -> HttpResponse:
    form = ContactImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        report = csv_io.contacts_import_csv(tenant=request.tenant, raw=form.cleaned_data["file"].read())
        if report.missing_columns:
            form.add_error("file", f"The file has no {' and no '.join(report.missing_columns)} column.")
            report = None
    return render(request, "accounts/contact_import.html", {"form": form, "report": report})
