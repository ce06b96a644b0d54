"""What the inbox does on its own: routing by topic and cohort, out-of-hours notices, Slack, chat or email."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail

from core.models import Role
from core.tenancy import Tenant
from tests.factories import AccountFactory, MembershipFactory
from tickets import services
from tickets.models import Channel, Message, RoutingRule, SlaPolicy, Status, SupportSettings

SATURDAY_NOON = datetime(2026, 11, 28, 11, 0, tzinfo=UTC)  # 12:00 in Berlin
TUESDAY_TEN = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


@pytest.fixture
def agent(org, scope):
    membership = MembershipFactory(organization=org, role=Role.SUPPORT, user__first_name="Sam")
    return Tenant(organization=org, role=Role.SUPPORT, user=membership.user)


def open_ticket(tenant, **values):
    defaults = {"subject": "Question", "body": "Hello", "requester_email": "robin@quarry.example"}
    return services.ticket_create(tenant=tenant, **{**defaults, **values})


def test_a_flows_question_gets_the_forum_redirect_and_closes(agent, org, django_capture_on_commit_callbacks):
    SupportSettings.objects.create(organization=org, forum_url="https://forum.example/c/help")
    RoutingRule.objects.create(
        organization=org, topic="flows", action=RoutingRule.Action.FORUM,
        reply="Hi {first_name}, flow questions are answered on our forum: {forum_url}",
    )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        ticket = open_ticket(agent, topic="flows", requester_name="Robin Mayer")
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED
    sent = mail.outbox[-1]
    assert "Hi Robin, flow questions are answered on our forum: https://forum.example/c/help" in sent.body
    assert sent.extra_headers["Auto-Submitted"] == "auto-replied"
    event = ticket.messages.get(kind=Message.Kind.EVENT)
    assert "Routing rule" in event.body_text
    billing = open_ticket(agent, topic="billing", requester_email="kim@quarry.example")
    assert billing.status == Status.NEW  # no rule for billing: it stays a ticket


def test_trial_customers_are_pointed_to_the_forum_by_cohort(agent, org):
    AccountFactory(organization=org, domain="trialco.example", cohort="trial")
    RoutingRule.objects.create(
        organization=org, cohort="trial", action=RoutingRule.Action.FORUM, reply="Trials get help on the forum."
    )
    assert open_ticket(agent, requester_email="ann@trialco.example").status == Status.CLOSED
    assert open_ticket(agent, requester_email="bob@payingco.example").status == Status.NEW


def test_out_of_hours_the_customer_is_told_when_we_are_back(agent, org, django_capture_on_commit_callbacks):
    SlaPolicy.objects.create(organization=org, name="Standard", first_response_minutes=60)
    with time_machine.travel(SATURDAY_NOON, tick=False), django_capture_on_commit_callbacks(execute=True):
        ticket = open_ticket(agent)
    event = ticket.messages.get(kind=Message.Kind.EVENT)
    assert "Monday 09:00" in event.body_text
    assert mail.outbox[-1].extra_headers["Auto-Submitted"] == "auto-replied"
    ticket.refresh_from_db()
    assert ticket.first_response_at is None  # an automatic notice is not the team's first response
    mail.outbox.clear()
    with time_machine.travel(TUESDAY_TEN, tick=False), django_capture_on_commit_callbacks(execute=True):
        open_ticket(agent, requester_email="kim@quarry.example")
    assert mail.outbox == []  # in business hours nobody gets a notice


def test_new_tickets_are_announced_in_slack_and_the_owner_hears_of_replies(
    agent, org, httpserver, django_capture_on_commit_callbacks
):
    httpserver.expect_request("/hooks/support", method="POST").respond_with_data("ok")
    SupportSettings.objects.create(organization=org, slack_webhook_url=httpserver.url_for("/hooks/support"))
    with django_capture_on_commit_callbacks(execute=True):
        ticket = open_ticket(agent, subject="Instance down")
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_reply(tenant=agent, ticket=ticket, body="Looking.")
    with django_capture_on_commit_callbacks(execute=True):
        services.customer_message_add(tenant=agent, ticket=ticket, body="Still down.")
    announcement, alert = [request.get_json()["text"] for request, _ in httpserver.log]
    assert announcement.startswith(f"New ticket #{ticket.number}: Instance down from robin@quarry.example")
    assert f"/tickets/{ticket.number}/" in announcement
    assert alert.startswith(f"{agent.user.get_full_name()}: robin@quarry.example replied on #{ticket.number}")


def test_slack_that_refuses_does_not_break_the_inbox(agent, org, httpserver, django_capture_on_commit_callbacks):
    httpserver.expect_request("/hooks/support").respond_with_data("no_service", status=404)
    SupportSettings.objects.create(organization=org, slack_webhook_url=httpserver.url_for("/hooks/support"))
    with django_capture_on_commit_callbacks(execute=True):
        ticket = open_ticket(agent)
    assert ticket.pk is not None


def test_replies_go_by_chat_only_while_the_customer_is_online(agent):
    ticket = open_ticket(agent, channel=Channel.CHAT)
    channel, why = services.reply_channel_for(ticket=ticket)
    assert channel == Channel.EMAIL
    assert "not been seen" in why
    services.chat_presence_touch(tenant=agent, contact=ticket.requester)
    channel, why = services.reply_channel_for(ticket=ticket)
    assert channel == Channel.CHAT
    reply = services.ticket_reply(tenant=agent, ticket=ticket, body="Hi!")
    assert (reply.channel, reply.delivery) == (Channel.CHAT, Message.Delivery.SENT)
    with time_machine.travel(datetime.now(tz=UTC) + timedelta(minutes=10)):
        channel, why = services.reply_channel_for(ticket=ticket)
    assert channel == Channel.EMAIL
    assert "left the chat" in why


def test_closing_with_the_does_this_solve_it_message(agent, django_capture_on_commit_callbacks):
    ticket = open_ticket(agent)
    with django_capture_on_commit_callbacks(execute=True):
        closed = services.ticket_close(tenant=agent, ticket=ticket, confirmation="Does this solve it? Reply if not.")
    assert closed.status == Status.CLOSED
    assert mail.outbox[-1].body == "Does this solve it? Reply if not."
    assert closed.owner == agent.user


def test_job_applications_get_their_own_sla_and_copy_the_head_of_people(agent, org, django_capture_on_commit_callbacks):
    from tickets.settings_services import default_support_rules_create

    default_support_rules_create(organization=org)
    services.support_settings_get(organization=org)
    SupportSettings.objects.filter(organization=org).update(job_applications_cc="people@northwind.example")
    application = open_ticket(
        agent, topic="job_application", channel=Channel.CONTACT_FORM, subject="Application: support engineer"
    )
    assert application.sla_policy.name == "Job applications"
    assert application.sla_policy.first_response_minutes == 4 * 60  # seed 003: within 4 business hours
    macro = dict(services.macros_rendered(ticket=application, agent=agent.user))["Applying for an open position"]
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_reply(tenant=agent, ticket=application, body=macro)
    assert mail.outbox[-1].cc == ["people@northwind.example"]
    question = open_ticket(agent, subject="Billing", topic="billing", requester_email="kim@quarry.example")
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_reply(tenant=agent, ticket=question, body="Sure.")
    assert mail.outbox[-1].cc == []
