"""The inbox's (and churn's) Slack post goes through core.outbound_http: sent to a real webhook, refused for an
address inside the deployment's network."""

import json

from tests.fakes.loopback import loopback_server
from tickets.slack import slack_post


def test_a_message_reaches_the_webhook():
    with loopback_server() as slack:
        slack.expect_request("/services/T0/B0/x", method="POST").respond_with_data("ok")
        assert slack_post(webhook_url=slack.url_for("/services/T0/B0/x"), text="#12 breached its SLA") is True
        [(request, _response)] = slack.log
    assert json.loads(request.data) == {"text": "#12 breached its SLA"}


def test_a_private_address_is_refused_and_nothing_is_sent(settings):
    settings.OUTBOUND_HTTP_ALLOW_PRIVATE = False
    with loopback_server() as slack:
        slack.expect_request("/hook", method="POST").respond_with_data("ok")
        assert slack_post(webhook_url=slack.url_for("/hook"), text="hello") is False
        assert slack.log == []


def test_an_answer_slack_refuses_is_false():
    with loopback_server() as slack:
        slack.expect_request("/hook", method="POST").respond_with_data("invalid_token", status=403)
        assert slack_post(webhook_url=slack.url_for("/hook"), text="hello") is False
