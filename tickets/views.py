"""The support inbox in the browser: the views of the inbox, one ticket's conversation, its composer."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.models import Cohort
from accounts.selectors import organization_member_users
from core.decorators import tenant_permission_required
from core.forms import form_add_service_errors
from core.list_pages import list_page
from core.permissions import Permission
from tickets import selectors, services
from tickets.filters import TicketFilterSet
from tickets.forms import AssignForm, ComposerForm, TicketCreateForm, TicketPropertiesForm
from tickets.inbound import attachments_store, uploaded
from tickets.models import OPEN_STATUSES, Channel, Message, Priority, Status, Ticket, Topic
from tickets.sla import format_duration
from tickets.sla_clock import ticket_targets


@tenant_permission_required(Permission.VIEW)
def inbox(request, org_slug: str) -> HttpResponse:
    view = request.GET.get("view") or "open"
    return list_page(
        request,
        TicketFilterSet(
            request.GET, queryset=Ticket.objects.select_related("requester", "owner", "account"), request=request
        ),
        sorts=selectors.TICKET_SORTS,
        default_sort="sla_due_at" if view != "closed" else "-updated_at",
        template="tickets/inbox.html",
        rows_template="tickets/_ticket_rows.html",
        views=selectors.INBOX_VIEWS,
        current_view=view if view in selectors.INBOX_VIEWS else "open",
        counts=selectors.view_counts(user=request.user),
        owners=organization_member_users(organization=request.tenant.organization),
        priorities=Priority.choices,
        topics=Topic.choices,
        statuses=Status.choices,
        cohorts=Cohort.choices,
    )


def _ticket(number: int) -> Ticket:
    return get_object_or_404(
        Ticket.objects.select_related("requester", "account", "owner", "sla_policy"), number=number
    )


@tenant_permission_required(Permission.VIEW)
def ticket_detail(request, org_slug: str, number: int, composer: ComposerForm | None = None, status: int = 200):
    ticket = _ticket(number)
    targets = ticket_targets(ticket=ticket)
    reply_channel, reply_channel_reason = services.reply_channel_for(ticket=ticket)
    return render(
        request,
        "tickets/ticket_detail.html",
        {
            "ticket": ticket,
            "conversation": selectors.ticket_conversation(ticket=ticket),
            "composer": composer or ComposerForm(),
            "assign_form": AssignForm(organization=request.tenant.organization, initial={"owner": ticket.owner_id}),
            "properties_form": TicketPropertiesForm(
                initial={
                    "topic": ticket.topic,
                    "priority": ticket.priority,
                    "tags": ", ".join(ticket.tags.values_list("name", flat=True)),
                }
            ),
            "targets": [
                {
                    "name": target.name,
                    "met": target.met,
                    "status": target.status,
                    "left": format_duration(abs(target.status.remaining_seconds)),
                }
                for target in targets
            ],
            "statuses": Status.choices,
            "is_open": ticket.status in OPEN_STATUSES,
            "reply_channel": reply_channel,
            "reply_channel_reason": reply_channel_reason,
            "macros": services.macros_rendered(ticket=ticket, agent=request.user),
            "close_confirmation": services.CLOSE_CONFIRMATION,
            "neighbours": selectors.ticket_neighbours(ticket=ticket),
            "escalations": list(ticket.escalations.order_by("-created_at")),
            "followers": (followers := list(ticket.followers.all())),
            "following": any(follower.pk == request.user.pk for follower in followers),
            "max_attachment": settings.ATTACHMENT_MAX_BYTES,
        },
        status=status,
    )


@tenant_permission_required(Permission.TICKET_WORK)
def ticket_create(request, org_slug: str) -> HttpResponse:
    form = TicketCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            ticket = services.ticket_create(tenant=request.tenant, channel=Channel.WEB, **form.cleaned_data)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(request, f"Ticket #{ticket.number} opened.")
            return redirect("ticket_detail", org_slug=org_slug, number=ticket.number)
    return render(request, "tickets/ticket_form.html", {"form": form})


@require_POST
@tenant_permission_required(Permission.TICKET_WORK)
def ticket_post(request, org_slug: str, number: int) -> HttpResponse:
    """The composer: a public reply (which may make the replier the owner) or an internal comment."""
    ticket = _ticket(number)
    form = ComposerForm(request.POST)
    if form.is_valid():
        try:
            if form.cleaned_data["kind"] == "comment":
                services.ticket_comment(tenant=request.tenant, ticket=ticket, body=form.cleaned_data["body"])
                messages.success(request, "Comment added (the customer does not see it).")
            else:
                message = services.ticket_reply(
                    tenant=request.tenant,
                    ticket=ticket,
                    body=form.cleaned_data["body"],
                    status=form.cleaned_data["status"] or Status.PENDING_CUSTOMER,
                )
                kept = attachments_store(message=message, attachments=uploaded(request.FILES.getlist("attachments")))
                messages.success(request, "Reply sent." + (f" {len(kept)} file(s) attached." if kept else ""))
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            return redirect("ticket_detail", org_slug=org_slug, number=number)
    # The text stays in the composer: nothing typed is lost to a refusal.
    return ticket_detail(request, org_slug=org_slug, number=number, composer=form, status=400)


@require_POST
@tenant_permission_required(Permission.TICKET_WORK)
def ticket_assign(request, org_slug: str, number: int) -> HttpResponse:
    ticket = _ticket(number)
    form = AssignForm(request.POST, organization=request.tenant.organization)
    if form.is_valid():
        try:
            services.ticket_assign(
                tenant=request.tenant, ticket=ticket, owner=form.cleaned_data["owner"], note=form.cleaned_data["note"]
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, "Owner changed.")
    else:
        messages.error(request, "Choose a member of this organization.")
    return redirect("ticket_detail", org_slug=org_slug, number=number)


@require_POST
@tenant_permission_required(Permission.TICKET_WORK)
def ticket_status(request, org_slug: str, number: int) -> HttpResponse:
    ticket = _ticket(number)
    try:
        if request.POST.get("status") == Status.CLOSED:
            confirmation = request.POST.get("confirmation", "") if request.POST.get("send_confirmation") else ""
            ticket = services.ticket_close(tenant=request.tenant, ticket=ticket, confirmation=confirmation)
        else:
            ticket = services.ticket_status_set(
                tenant=request.tenant, ticket=ticket, status=request.POST.get("status", "")
            )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"#{ticket.number} is {ticket.get_status_display().lower()}.")
    return redirect("ticket_detail", org_slug=org_slug, number=number)


@require_POST
@tenant_permission_required(Permission.TICKET_WORK)
def ticket_properties(request, org_slug: str, number: int) -> HttpResponse:
    ticket = _ticket(number)
    form = TicketPropertiesForm(request.POST)
    if form.is_valid():
        tags = [tag for tag in form.cleaned_data["tags"].split(",") if tag.strip()]
        services.ticket_update(
            tenant=request.tenant,
            ticket=ticket,
            topic=form.cleaned_data["topic"],
            priority=form.cleaned_data["priority"],
            tags=tags,
        )
        messages.success(request, "Ticket updated.")
    else:
        messages.error(request, "Choose a topic and a priority from the lists.")
    return redirect("ticket_detail", org_slug=org_slug, number=number)


@require_POST
@tenant_permission_required(Permission.VIEW)
def ticket_follow(request, org_slug: str, number: int) -> HttpResponse:
    """Follow a ticket to see it in your notifications when it changes hands or closes; follow again to stop."""
    ticket = _ticket(number)
    following = services.ticket_follow_toggle(tenant=request.tenant, ticket=ticket)
    messages.success(request, "You follow this ticket." if following else "You no longer follow this ticket.")
    return redirect("ticket_detail", org_slug=org_slug, number=number)


@require_POST
@tenant_permission_required(Permission.TICKET_WORK)
def message_resend(request, org_slug: str, number: int, pk: int) -> HttpResponse:
    ticket = _ticket(number)
    message = get_object_or_404(Message, pk=pk, ticket=ticket)
    try:
        services.reply_resend(tenant=request.tenant, message=message)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "The reply is queued again.")
    return redirect("ticket_detail", org_slug=org_slug, number=number)


@require_POST
@tenant_permission_required(Permission.TICKET_WORK)
def inbox_bulk(request, org_slug: str) -> HttpResponse:
    """Bulk assign, tag or close the tickets ticked in the inbox."""
    numbers = [int(value) for value in request.POST.getlist("ticket") if value.isdigit()]
    tickets = list(Ticket.objects.filter(number__in=numbers[:200]))
    action = request.POST.get("action")
    back = request.POST.get("next") or reverse("inbox", kwargs={"org_slug": org_slug})
    if not tickets:
        messages.error(request, "Tick at least one ticket first.")
        return redirect(back)
    done, refused = 0, []
    for ticket in tickets:
        if action == "close":
            try:
                services.ticket_status_set(tenant=request.tenant, ticket=ticket, status=Status.CLOSED)
            except ValidationError as exc:
                refused.append(f"#{ticket.number}: {' '.join(exc.messages)}")
                continue
        elif action == "assign":
            owner_id = request.POST.get("owner")
            owner = organization_member_users(organization=request.tenant.organization).filter(pk=owner_id).first()
            services.ticket_assign(tenant=request.tenant, ticket=ticket, owner=owner, note="Bulk assignment.")
        elif action == "tag" and request.POST.get("tag", "").strip():
            names = [*ticket.tags.values_list("name", flat=True), request.POST["tag"]]
            services.ticket_update(tenant=request.tenant, ticket=ticket, tags=names)
        else:
            messages.error(request, "Choose what to do with the ticked tickets.")
            return redirect(back)
        done += 1
    messages.success(request, f"{done} ticket{'s' if done != 1 else ''} updated.")
    for refusal in refused:
        messages.error(request, refusal)
    return redirect(back)


@tenant_permission_required(Permission.VIEW)
def attachment_download(request, org_slug: str, number: int, pk: int) -> HttpResponse:
    """Attachments are served only through here: the tenant scope decides, and the browser downloads, never runs."""
    from django.http import FileResponse

    from tickets.models import Attachment

    attachment = get_object_or_404(Attachment, pk=pk, message__ticket__number=number)
    response = FileResponse(attachment.file.open("rb"), as_attachment=True, filename=attachment.filename)
    response["Content-Type"] = attachment.content_type
    response["X-Content-Type-Options"] = "nosniff"
    return response
