"""The inbox rules of seed 000, through the services: numbering, ownership, comments, reopening, the SLA clock."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import override_settings

from core.models import Notification, Role
from core.tenancy import Tenant
from tests.factories import AccountFactory, MembershipFactory
from tickets import services
from tickets.models import Message, SlaPolicy, Status, SupportSettings, Ticket

# Friday 27 November 2026, 16:30 in Berlin (UTC+1).
FRIDAY_1630 = datetime(2026, 11, 27, 15, 30, tzinfo=UTC)


@pytest.fixture
def agent(org, scope):
    membership = MembershipFactory(organization=org, role=Role.SUPPORT)
    return Tenant(organization=org, role=Role.SUPPORT, user=membership.user)


@pytest.fixture
def colleague(org, scope):
    membership = MembershipFactory(organization=org, role=Role.SUPPORT, user__first_name="Casey")
    return Tenant(organization=org, role=Role.SUPPORT, user=membership.user)


@pytest.fixture
def one_hour_policy(org, scope):
    # Seed 003: "We respond within 1-hour during business hours".
    return SlaPolicy.objects.create(
        organization=org, name="Standard", first_response_minutes=60, resolution_minutes=2400
    )


def open_ticket(tenant, **overrides):
    values = {
        "subject": "Instance will not start",
        "body": "Since this morning.",
        "requester_email": "robin@quarry.example",
    }
    values.update(overrides)
    return services.ticket_create(tenant=tenant, **values)


def test_numbers_count_per_organization_and_the_requester_is_found_or_created(agent, org):
    account = AccountFactory(organization=org, domain="quarry.example", cohort="premium")
    first = open_ticket(agent)
    second = open_ticket(agent, requester_email="ROBIN@quarry.example")
    assert (first.number, second.number) == (1, 2)
    assert first.requester == second.requester
    assert first.account == account
    assert first.messages.get().kind == Message.Kind.CUSTOMER


def test_bad_input_names_every_field(agent):
    with pytest.raises(ValidationError) as excinfo:
        services.ticket_create(tenant=agent, subject=" ", body="", requester_email="nobody", priority="p9")
    assert set(excinfo.value.message_dict) == {"subject", "body", "requester_email", "priority"}
    assert not Ticket.objects.exists()


def test_the_first_member_who_replies_becomes_the_owner(agent, colleague):
    ticket = open_ticket(agent)
    services.ticket_reply(tenant=agent, ticket=ticket, body="Looking into it.")
    services.ticket_reply(tenant=colleague, ticket=ticket, body="I can help too.")
    ticket.refresh_from_db()
    assert ticket.owner == agent.user
    assert ticket.status == Status.PENDING_CUSTOMER
    assert ticket.first_response_at is not None


def test_comments_stay_internal_and_mentions_notify(agent, colleague, django_capture_on_commit_callbacks):
    ticket = open_ticket(agent)
    with django_capture_on_commit_callbacks(execute=True):
        comment = services.ticket_comment(tenant=agent, ticket=ticket, body="@casey have you seen this before?")
    assert comment.delivery == ""
    assert list(comment.mentions.all()) == [colleague.user]
    assert Notification.objects.get(recipient=colleague.user).text.startswith(agent.user.get_full_name() or "")
    assert all("have you seen" not in sent.body for sent in mail.outbox if sent.to == ["robin@quarry.example"])
    ticket.refresh_from_db()
    assert ticket.owner is None  # a comment is not a reply: ownership waits for the first public answer


def test_only_the_owner_is_alerted_when_the_customer_replies(agent, colleague):
    ticket = open_ticket(agent)
    services.ticket_reply(tenant=agent, ticket=ticket, body="Which version?")
    services.customer_message_add(tenant=agent, ticket=ticket, body="3.1")
    assert Notification.objects.filter(recipient=agent.user).count() == 1
    assert not Notification.objects.filter(recipient=colleague.user).exists()
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN


def test_a_reply_on_a_closed_ticket_reopens_within_the_window_else_opens_a_follow_up(agent, org):
    ticket = open_ticket(agent)
    services.ticket_status_set(tenant=agent, ticket=ticket, status=Status.CLOSED)
    reopened, _ = services.customer_message_add(tenant=agent, ticket=ticket, body="It broke again.")
    assert (reopened.pk, reopened.status) == (ticket.pk, Status.OPEN)
    services.ticket_status_set(tenant=agent, ticket=ticket, status=Status.CLOSED)
    window = SupportSettings.objects.get(organization=org).reopen_window_days
    with time_machine.travel(datetime.now(tz=UTC) + timedelta(days=window + 1)):
        follow_up, _ = services.customer_message_add(tenant=agent, ticket=ticket, body="Another question.")
    assert follow_up.pk != ticket.pk
    assert follow_up.subject.startswith(f"Follow-up to #{ticket.number}")
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED


def test_sla_due_in_business_hours_pauses_while_pending_and_resumes(agent, one_hour_policy):
    with time_machine.travel(FRIDAY_1630, tick=False):
        ticket = open_ticket(agent)
    # Friday 16:30 + one business hour (9-17 Berlin) = Monday 09:30 Berlin = 08:30 UTC.
    assert ticket.sla_due_at == datetime(2026, 11, 30, 8, 30, tzinfo=UTC)
    with time_machine.travel(datetime(2026, 11, 30, 8, 0, tzinfo=UTC), tick=False):
        services.ticket_reply(tenant=agent, ticket=ticket, body="Which version?")
    ticket.refresh_from_db()
    assert ticket.sla_due_at is None  # first response met, waiting on the customer: the clock is paused
    with time_machine.travel(datetime(2026, 11, 30, 10, 0, tzinfo=UTC), tick=False):
        services.customer_message_add(tenant=agent, ticket=ticket, body="3.1")
    ticket.refresh_from_db()
    assert ticket.sla_due_at is not None  # the resolution clock runs again


def test_a_breach_is_recorded_once_and_tells_the_owner_or_the_team(agent, colleague, one_hour_policy):
    with time_machine.travel(FRIDAY_1630, tick=False):
        ticket = open_ticket(agent)
    due = ticket.sla_due_at
    with time_machine.travel(due - timedelta(minutes=1), tick=False):
        assert services.sla_breach_record(ticket_id=ticket.pk, due_at=due) is False  # not yet: the alarm came early
    with time_machine.travel(due + timedelta(seconds=1), tick=False):
        assert services.sla_breach_record(ticket_id=ticket.pk, due_at=due) is True
        assert services.sla_breach_record(ticket_id=ticket.pk, due_at=due) is False  # redelivered: nothing more
    notified = set(Notification.objects.filter(text__startswith="SLA breached").values_list("recipient", flat=True))
    assert {agent.user.pk, colleague.user.pk} <= notified  # nobody owns it yet: the support team hears of it


def test_stale_alarm_for_a_moved_deadline_does_nothing(agent, one_hour_policy):
    ticket = open_ticket(agent)
    old_due = ticket.sla_due_at
    services.ticket_reply(tenant=agent, ticket=ticket, body="On it.", status=Status.OPEN)
    ticket.refresh_from_db()
    with time_machine.travel(old_due + timedelta(minutes=1), tick=False):
        assert services.sla_breach_record(ticket_id=ticket.pk, due_at=old_due) is False
    assert ticket.sla_breached_at is None


def test_replies_are_emailed_with_threading_headers(agent, django_capture_on_commit_callbacks):
    ticket = open_ticket(agent, message_id="abc123@mail.quarry.example")
    with django_capture_on_commit_callbacks(execute=True):
        reply = services.ticket_reply(tenant=agent, ticket=ticket, body="Restart it from the console.")
    sent = mail.outbox[-1]
    assert sent.to == ["robin@quarry.example"]
    assert f"[{ticket.organization.slug} #{ticket.number}]" in sent.subject
    assert sent.extra_headers["In-Reply-To"] == "<abc123@mail.quarry.example>"
    assert "Auto-Submitted" not in sent.extra_headers
    reply.refresh_from_db()
    assert reply.delivery == Message.Delivery.SENT
    assert reply.message_id


class FailingBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("SMTP server refused the connection")


def test_a_failed_reply_keeps_its_text_and_can_be_resent(agent, django_capture_on_commit_callbacks):
    ticket = open_ticket(agent)
    with (
        override_settings(EMAIL_BACKEND="tests.tickets.test_services.FailingBackend"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        reply = services.ticket_reply(tenant=agent, ticket=ticket, body="Try version 3.2.")
    reply.refresh_from_db()
    assert (reply.delivery, reply.body_text) == (Message.Delivery.FAILED, "Try version 3.2.")
    assert "refused" in reply.delivery_error
    with django_capture_on_commit_callbacks(execute=True):
        services.reply_resend(tenant=agent, message=reply)
    reply.refresh_from_db()
    assert reply.delivery == Message.Delivery.SENT
    assert mail.outbox[-1].body == "Try version 3.2."


def test_reassigning_leaves_a_note_in_the_conversation_and_tells_the_new_owner(agent, colleague):
    ticket = open_ticket(agent)
    services.ticket_assign(tenant=agent, ticket=ticket, owner=colleague.user, note="I am off next week.")
    event = ticket.messages.get(kind=Message.Kind.EVENT)
    assert "I am off next week." in event.body_text
    assert Notification.objects.filter(recipient=colleague.user, text__contains=f"#{ticket.number}").exists()


def test_the_sweep_records_a_breach_whose_alarm_was_lost(agent, one_hour_policy, org):
    from tickets.tasks import sla_breach_sweep

    with time_machine.travel(FRIDAY_1630, tick=False):
        ticket = open_ticket(agent)
    with time_machine.travel(ticket.sla_due_at + timedelta(minutes=1), tick=False):
        assert sla_breach_sweep() == 1
        assert sla_breach_sweep() == 0  # twice in a row: the second finds nothing left
    ticket.refresh_from_db()
    assert ticket.sla_breached_at is not None
