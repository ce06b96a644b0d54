"""The support inbox's admin settings: the services' refusals, the pages as an admin uses them, who may see them,
the inbound secret shown once, and the seed 000 / seed 003 defaults."""

import json

import pytest
from django.core.exceptions import ValidationError

from core.models import AuditEntry, Role
from core.secrets import unseal
from core.tenancy import tenant_scope
from tests.factories import OrganizationFactory
from tickets import settings_services as services
from tickets.models import Macro, RoutingRule, SlaPolicy, SupportSettings
from tickets.services import support_settings_get

SLACK = "https://hooks.slack.com/services/T000/B000/XXXXsecretXXXX"


def page(response) -> str:
    return response.content.decode()


def refusal(call, field: str) -> str:
    with pytest.raises(ValidationError) as caught:
        call()
    assert field in caught.value.message_dict, caught.value.message_dict
    return " ".join(caught.value.message_dict[field])


def audit_text(org) -> str:
    with tenant_scope(org):
        return json.dumps([[entry.action, entry.changes] for entry in AuditEntry.objects.all()])


@pytest.fixture
def admin(client_for):
    return client_for(Role.ADMIN)


@pytest.fixture
def base(org):
    return f"/o/{org.slug}/settings/support"


# --- Services ---------------------------------------------------------------------------------------------------


def test_support_settings_are_saved_and_audited_without_the_slack_address(tenant, scope):
    services.support_settings_update(
        tenant=tenant, slack_webhook_url=SLACK, reopen_window_days=30, timezone="America/New_York",
        weekly_hours={"mon": ["09:00-12:30", "13:30-18:00"], "fri": "09:00-15:00"}, holiday_country="de",
        holiday_subdivision="by", extra_holidays=["2026-12-31", "2026-12-24", "2026-12-24"],
        forum_url="https://forum.example/c/help", out_of_hours_reply="Back {next_open}.",
    )  # fmt: skip
    stored = SupportSettings.objects.get()
    assert stored.slack_webhook_url == SLACK
    assert (stored.reopen_window_days, stored.timezone) == (30, "America/New_York")
    assert stored.weekly_hours == {"mon": ["09:00-12:30", "13:30-18:00"], "fri": ["09:00-15:00"]}
    assert (stored.holiday_country, stored.holiday_subdivision) == ("DE", "BY")
    assert stored.extra_holidays == ["2026-12-24", "2026-12-31"]
    entry = AuditEntry.objects.get(action="support_settings.updated")
    assert entry.changes["slack_webhook_url"] == ["not set", "set"]
    assert entry.changes["reopen_window_days"] == [14, 30]
    assert "XXXXsecretXXXX" not in json.dumps(entry.changes)
    services.support_settings_update(tenant=tenant, slack_webhook_url="")
    assert SupportSettings.objects.get().slack_webhook_url == ""
    assert AuditEntry.objects.filter(action="support_settings.updated").first().changes == {
        "slack_webhook_url": ["set", "cleared"]
    }


@pytest.mark.parametrize(
    "url",
    ["http://hooks.slack.com/services/T/B/X", "https://example.com/hook", "http://169.254.169.254/latest/meta-data"],
)
def test_a_slack_webhook_must_be_slacks_own_https_address(tenant, scope, url):
    message = refusal(
        lambda: services.support_settings_update(tenant=tenant, slack_webhook_url=url), "slack_webhook_url"
    )
    assert "https://hooks.slack.com/services/" in message
    assert not SupportSettings.objects.filter(slack_webhook_url=url).exists()


@pytest.mark.parametrize(
    ("hours", "expected"),
    [
        ({"mon": ["9-17"]}, "Bad opening hours for 'mon': '9-17' (expected HH:MM-HH:MM)"),
        ({"mon": ["17:00-09:00"]}, "Monday 17:00-09:00: the start must be before the end"),
        ({"someday": ["09:00-17:00"]}, "Unknown weekday 'someday'"),
        ({"sat": []}, "must be open at least once a week"),
    ],
)
def test_bad_weekly_hours_are_refused_with_the_calendars_sentence(tenant, scope, hours, expected):
    assert expected in refusal(
        lambda: services.support_settings_update(tenant=tenant, weekly_hours=hours), "weekly_hours"
    )


def test_holidays_are_checked_and_an_unknown_region_names_the_known_ones(tenant, scope):
    message = refusal(
        lambda: services.support_settings_update(tenant=tenant, holiday_country="DE", holiday_subdivision="XX"),
        "holiday_subdivision",
    )
    assert "Unknown subdivision 'XX' of DE" in message
    assert "BE" in message
    assert "BY" in message
    country = refusal(lambda: services.support_settings_update(tenant=tenant, holiday_country="ZZ"), "holiday_country")
    assert "Unknown holiday country 'ZZ'" in country
    alone = refusal(
        lambda: services.support_settings_update(tenant=tenant, holiday_country="", holiday_subdivision="BE"),
        "holiday_subdivision",
    )
    assert "country first" in alone


@pytest.mark.parametrize(
    ("values", "field", "expected"),
    [
        ({"reopen_window_days": 0}, "reopen_window_days", "from 1 to 365"),
        ({"reopen_window_days": 366}, "reopen_window_days", "from 1 to 365"),
        ({"timezone": "Berlin"}, "timezone", "“Berlin” is not a time zone"),
        ({"extra_holidays": ["2026-12-24", "24.12.2026"]}, "extra_holidays", "Not a date: 24.12.2026"),
        ({"forum_url": "forum.example"}, "forum_url", "starting with https://"),
        ({"out_of_hours_reply": "Back {when}"}, "out_of_hours_reply", "Unknown merge field {when}"),
    ],
)
def test_other_settings_refusals(tenant, scope, values, field, expected):
    assert expected in refusal(lambda: services.support_settings_update(tenant=tenant, **values), field)


def test_the_inbound_secret_is_stored_sealed_and_never_audited(tenant, scope):
    secret = services.inbound_secret_rotate(tenant=tenant)
    stored = SupportSettings.objects.get().inbound_secret_sealed
    assert len(secret) >= 40
    assert secret not in stored
    assert unseal(stored) == secret
    second = services.inbound_secret_rotate(tenant=tenant)
    assert second != secret
    assert unseal(SupportSettings.objects.get().inbound_secret_sealed) == second
    entries = AuditEntry.objects.filter(action="support_settings.inbound_secret_rotated")
    assert [entry.changes["inbound_secret"] for entry in entries] == [["set", "replaced"], ["not set", "set"]]
    assert secret not in audit_text(tenant.organization)
    assert second not in audit_text(tenant.organization)


def test_sla_policy_save_validates_positions_and_audits(tenant, scope):
    first = services.sla_policy_save(tenant=tenant, policy=None, name="Standard", first_response_minutes=480)
    second = services.sla_policy_save(tenant=tenant, policy=None, name="Enterprise", first_response_minutes=60)
    assert second.position > first.position  # new policies go to the bottom
    message = refusal(
        lambda: services.sla_policy_save(
            tenant=tenant, policy=None, name="Fast", first_response_minutes=120, resolution_minutes=60
        ),
        "resolution_minutes",
    )
    assert "Resolution (60 min) must take longer than the first response (120 min)" in message
    assert "above zero" in refusal(
        lambda: services.sla_policy_save(tenant=tenant, policy=None, name="Zero", first_response_minutes=0),
        "first_response_minutes",
    )
    assert "Give the policy a name" in refusal(
        lambda: services.sla_policy_save(tenant=tenant, policy=None, name=" ", first_response_minutes=5), "name"
    )
    assert "is not a cohort" in refusal(
        lambda: services.sla_policy_save(tenant=tenant, policy=None, name="X", cohort="gold", first_response_minutes=5),
        "cohort",
    )
    services.sla_policy_save(tenant=tenant, policy=second, first_response_minutes=45, business_hours=False)
    entry = AuditEntry.objects.filter(action="sla_policy.updated").get()
    assert entry.changes == {"first_response_minutes": [60, 45], "business_hours": [True, False]}
    services.sla_policy_delete(tenant=tenant, policy=first)
    assert list(SlaPolicy.objects.values_list("name", flat=True)) == ["Enterprise"]


def test_routing_rule_reply_rules(tenant, scope):
    keep = services.routing_rule_save(tenant=tenant, rule=None, topic="billing", action="keep", reply="")
    assert keep.active
    assert "Write the reply" in refusal(
        lambda: services.routing_rule_save(tenant=tenant, rule=None, topic="flows", action="forum", reply=" "), "reply"
    )
    message = refusal(
        lambda: services.routing_rule_save(
            tenant=tenant, rule=None, topic="flows", action="forum", reply="Hi {firstname}, see {forum_url} {url}"
        ),
        "reply",
    )
    assert "Unknown merge fields {firstname}, {url}" in message
    assert "{first_name}, {forum_url}, {feature_tracker_url}" in message
    rule = services.routing_rule_save(
        tenant=tenant, rule=None, topic="flows", action="forum", reply="Hi {first_name}: {forum_url}"
    )
    services.routing_rule_save(tenant=tenant, rule=rule, active=False)
    assert AuditEntry.objects.get(action="routing_rule.updated").changes == {"active": [True, False]}
    services.routing_rule_delete(tenant=tenant, rule=rule)
    assert RoutingRule.objects.count() == 1


def test_macro_names_are_unique_and_merge_fields_known(tenant, scope):
    macro = services.macro_save(tenant=tenant, macro=None, name="Need more information", body="Hi {first_name}")
    message = refusal(
        lambda: services.macro_save(tenant=tenant, macro=None, name="need more information", body="Hello"), "name"
    )
    assert "There is already a macro called “Need more information”" in message
    services.macro_save(tenant=tenant, macro=macro, name="Need more information", body="Hi {first_name}!")
    assert "Unknown merge field {ticket_id}" in refusal(
        lambda: services.macro_save(tenant=tenant, macro=None, name="Other", body="About #{ticket_id}"), "body"
    )
    assert "Write the text" in refusal(
        lambda: services.macro_save(tenant=tenant, macro=None, name="E", body=""), "body"
    )


def test_the_defaults_follow_the_seeds_and_a_second_run_creates_nothing(org):
    created = services.default_support_rules_create(organization=org)  # callable outside any tenant scope
    assert created == {"routing_rules": 7, "sla_policies": 4, "macros": 3}
    assert services.default_support_rules_create(organization=org) == {
        "routing_rules": 0,
        "sla_policies": 0,
        "macros": 0,
    }
    with tenant_scope(org):
        rules = list(RoutingRule.objects.order_by("position", "id"))
        assert len(rules) == 7
        assert SlaPolicy.objects.count() == 4
        assert Macro.objects.count() == 3

        def first_match(topic: str, cohort: str) -> RoutingRule:
            return next(rule for rule in rules if rule.topic in ("", topic) and rule.cohort in ("", cohort))

        assert (
            first_match("billing", "trial").action == RoutingRule.Action.KEEP
        )  # billing stays a ticket, even in trial
        assert first_match("application", "trial").action == RoutingRule.Action.FORUM
        assert first_match("application", "starter").action == RoutingRule.Action.KEEP
        assert first_match("flows", "enterprise").action == RoutingRule.Action.FORUM
        assert first_match("feature_request", "trial").action == RoutingRule.Action.FEATURE_TRACKER
        assert all("{forum_url}" in rule.reply for rule in rules if rule.action == RoutingRule.Action.FORUM)
        policies = list(SlaPolicy.objects.order_by("position"))
        assert [(p.cohort, p.priority, p.first_response_minutes, p.business_hours) for p in policies] == [
            ("", "", 240, True),  # job applications (seed 003: within 4 business hours)
            ("enterprise", "p0", 60, False),
            ("enterprise", "", 60, True),
            ("", "", 480, True),
        ]
        assert AuditEntry.objects.filter(action="routing_rule.created", actor=None).count() == 7


def test_defaults_leave_an_organization_with_its_own_rules_alone(org, tenant, scope):
    services.routing_rule_save(tenant=tenant, rule=None, topic="other", action="keep", reply="")
    created = services.default_support_rules_create(organization=org)
    assert created["routing_rules"] == 0
    assert created["sla_policies"] == 4
    assert RoutingRule.objects.count() == 1


# --- Pages ------------------------------------------------------------------------------------------------------


def test_the_general_page_saves_and_shows_errors_beside_the_field_with_the_input_kept(org, admin, base):
    html = page(admin.get(f"{base}/"))
    assert "No inbound secret yet" in html
    assert f"/inbound/email/{org.slug}/" in html
    form = {
        "timezone": "Europe/Berlin", "weekly_hours": "mon: 09:00-12:30, 13:30-18:00\ntue: 09:00-17:00\nsat: closed",
        "holiday_country": "DE", "holiday_subdivision": "BE", "extra_holidays": "2026-12-24",
        "reopen_window_days": "10",
        "forum_url": "https://forum.example/c/help", "feature_tracker_url": "", "docs_url": "",
        "slack_webhook_url": SLACK, "out_of_hours_reply": "Back {next_open}.",
    }  # fmt: skip
    response = admin.post(f"{base}/", form)
    assert response.status_code == 302
    with tenant_scope(org):
        stored = support_settings_get(organization=org)
    assert stored.weekly_hours == {"mon": ["09:00-12:30", "13:30-18:00"], "tue": ["09:00-17:00"], "sat": []}
    assert stored.slack_webhook_url == SLACK
    assert stored.reopen_window_days == 10
    html = page(admin.get(f"{base}/"))
    assert "Support settings saved." in html
    assert "mon: 09:00-12:30, 13:30-18:00" in html
    assert SLACK not in html
    assert "…XXXX" in html

    response = admin.post(
        f"{base}/", {**form, "weekly_hours": "mon: 9-17", "holiday_subdivision": "XX", "slack_webhook_url": ""}
    )
    assert response.status_code == 400
    html = page(response)
    assert "Bad opening hours for &#x27;mon&#x27;: &#x27;9-17&#x27;" in html
    assert "mon: 9-17</textarea>" in html
    assert "Unknown subdivision" not in html  # the form refused first; the service was not reached
    response = admin.post(f"{base}/", {**form, "holiday_subdivision": "XX", "slack_webhook_url": ""})
    assert response.status_code == 400
    assert "Unknown subdivision &#x27;XX&#x27; of DE (known: " in page(response)
    assert 'value="XX"' in page(response)
    with tenant_scope(org):
        assert support_settings_get(organization=org).holiday_subdivision == "BE"
    response = admin.post(f"{base}/", {**form, "slack_webhook_url": "", "clear_slack_webhook_url": "on"})
    assert response.status_code == 302
    with tenant_scope(org):
        assert support_settings_get(organization=org).slack_webhook_url == ""


def test_the_inbound_secret_is_shown_once(org, admin, base):
    response = admin.post(f"{base}/rotate-secret/")
    assert response.status_code == 200
    html = page(response)
    with tenant_scope(org):
        secret = unseal(support_settings_get(organization=org).inbound_secret_sealed)
        sealed = support_settings_get(organization=org).inbound_secret_sealed
    assert secret
    assert f'data-testid="new-inbound-secret">{secret}<' in html
    assert secret not in sealed
    later = page(admin.get(f"{base}/"))
    assert secret not in later
    assert f"set (…{secret[-4:]})" in later
    assert "Rotate secret" in later
    assert "data-confirm=" in later
    assert secret not in audit_text(org)
    assert admin.get(f"{base}/rotate-secret/").status_code == 405


def test_sla_policies_page_add_edit_delete(org, admin, base):
    url = f"{base}/sla/"
    html = page(admin.get(url))
    assert 'data-testid="empty"' in html
    assert "First match wins, top to bottom" in html
    new = {"new-name": "Enterprise", "new-position": "", "new-cohort": "enterprise", "new-priority": "",
           "new-channel": "", "new-first_response_minutes": "60", "new-next_response_minutes": "",
           "new-resolution_minutes": "30", "new-business_hours": "on"}  # fmt: skip
    response = admin.post(f"{url}new/", new)
    assert response.status_code == 400
    html = page(response)
    assert "Resolution (30 min) must take longer than the first response (60 min)" in html
    assert 'value="Enterprise"' in html
    assert 'value="30"' in html
    assert admin.post(f"{url}new/", {**new, "new-resolution_minutes": "2400"}).status_code == 302
    with tenant_scope(org):
        policy = SlaPolicy.objects.get()
    html = page(admin.get(url))
    assert "SLA policy “Enterprise” saved." in html
    assert "first response 1 h" in html
    assert "resolution 1 d 16 h" in html
    edit = {f"row-{policy.pk}-{key[4:]}": value for key, value in new.items()}
    edit |= {f"row-{policy.pk}-first_response_minutes": "0", f"row-{policy.pk}-resolution_minutes": ""}
    response = admin.post(f"{url}{policy.pk}/", edit)
    assert response.status_code == 400
    html = page(response)
    assert "above zero" in html
    assert 'data-testid="policy-' in html
    assert "<details open>" in html
    edit[f"row-{policy.pk}-first_response_minutes"] = "30"
    assert admin.post(f"{url}{policy.pk}/", edit).status_code == 302
    with tenant_scope(org):
        policy.refresh_from_db()
    assert (policy.first_response_minutes, policy.resolution_minutes) == (30, None)
    assert 'data-confirm="Delete the policy' in page(admin.get(url))
    assert admin.post(f"{url}{policy.pk}/delete/").status_code == 302
    with tenant_scope(org):
        assert not SlaPolicy.objects.exists()


def test_routing_rules_page_refuses_unknown_merge_fields_and_keeps_the_text(org, admin, base):
    url = f"{base}/routing/"
    html = page(admin.get(url))
    assert 'data-testid="empty"' in html
    assert 'data-testid="missing-links"' in html
    new = {"new-topic": "flows", "new-cohort": "", "new-action": "forum", "new-position": "",
           "new-reply": "Hi {name}, ask on {forum_url}", "new-active": "on"}  # fmt: skip
    response = admin.post(f"{url}new/", new)
    assert response.status_code == 400
    html = page(response)
    assert "Unknown merge field {name}" in html
    assert "Hi {name}, ask on {forum_url}</textarea>" in html
    assert admin.post(f"{url}new/", {**new, "new-reply": "Hi {first_name}, ask on {forum_url}"}).status_code == 302
    with tenant_scope(org):
        rule = RoutingRule.objects.get()
    edit = {f"row-{rule.pk}-{key[4:]}": value for key, value in new.items() if key != "new-active"}
    edit[f"row-{rule.pk}-reply"] = "Hi {first_name}: {forum_url}"
    assert admin.post(f"{url}{rule.pk}/", edit).status_code == 302
    with tenant_scope(org):
        rule.refresh_from_db()
    assert not rule.active
    assert rule.reply == "Hi {first_name}: {forum_url}"
    assert "(inactive)" in page(admin.get(url))
    assert admin.post(f"{url}{rule.pk}/delete/").status_code == 302
    with tenant_scope(org):
        assert not RoutingRule.objects.exists()


def test_macros_page_refuses_a_duplicate_name(org, admin, base):
    url = f"{base}/macros/"
    assert "No macros yet" in page(admin.get(url))
    assert (
        admin.post(f"{url}new/", {"new-name": "Does this solve it?", "new-body": "Hi {first_name}"}).status_code == 302
    )
    response = admin.post(f"{url}new/", {"new-name": "does this solve it?", "new-body": "Typed text stays"})
    assert response.status_code == 400
    html = page(response)
    assert "There is already a macro called “Does this solve it?”" in html
    assert "Typed text stays</textarea>" in html
    with tenant_scope(org):
        macro = Macro.objects.get()
    response = admin.post(f"{url}{macro.pk}/", {f"row-{macro.pk}-name": "Solved?", f"row-{macro.pk}-body": "Hi!"})
    assert response.status_code == 302
    assert admin.post(f"{url}{macro.pk}/delete/").status_code == 302
    with tenant_scope(org):
        assert not Macro.objects.exists()


PAGES = ("", "sla/", "routing/", "macros/")
POSTS = ("", "rotate-secret/", "sla/new/", "routing/new/", "macros/new/")


@pytest.mark.parametrize("role", [Role.CSM, Role.SUPPORT, Role.VIEWER, Role.AE])
def test_only_admins_may_open_the_support_settings(org, client_for, base, role):
    client = client_for(role)
    for path in PAGES:
        assert client.get(f"{base}/{path}").status_code == 403, path
    for path in POSTS:
        assert client.post(f"{base}/{path}", {}).status_code == 403, path
    with tenant_scope(org):
        assert not SupportSettings.objects.filter(inbound_secret_sealed__gt="").exists()


def test_another_organizations_admin_gets_404_and_cannot_touch_rows(org, tenant, client_for, base):
    with tenant_scope(org):
        policy = services.sla_policy_save(tenant=tenant, policy=None, name="Ours", first_response_minutes=60)
    outsider = client_for(Role.ADMIN, organization=OrganizationFactory(slug="elsewhere"))
    for path in PAGES:
        assert outsider.get(f"{base}/{path}").status_code == 404, path
    assert outsider.post(f"{base}/sla/{policy.pk}/delete/").status_code == 404
    # Their own organization's URL with our row's id: the row is not in their scope.
    assert outsider.post(f"/o/elsewhere/settings/support/sla/{policy.pk}/delete/").status_code == 404
    with tenant_scope(org):
        assert SlaPolicy.objects.filter(pk=policy.pk).exists()
