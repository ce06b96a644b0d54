"""/api/v1/playbooks/: the editor's definitions as JSON, validated, tenant-bound, role-checked."""

import pytest

from core.models import Role
from playbooks.definition import SCHEMA
from playbooks.models import Playbook
from tests.factories import AccountFactory

DEFINITION = {
    "trigger": {"type": "event", "event": "deal.committed"},
    "audience": {"cohorts": ["premium"]},
    "steps": [
        {"type": "task", "assignee": "csm", "title": "Kickoff with {{ account.name }}"},
        {"type": "wait", "days": 1},
    ],
}
URL = "/api/v1/playbooks/"


def test_create_read_list_edit_pause_resume_delete(api_for, org):
    AccountFactory(organization=org, name="Bluefin Labs", cohort="premium")
    api = api_for(Role.CSM)
    created = api.post(URL, {"name": "Onboarding", "definition": DEFINITION, "status": "active"}, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["name"], body["status"], body["version"], body["definition"]) == (
        "Onboarding",
        "active",
        1,
        DEFINITION,
    )
    url = f"{URL}{body['id']}/"

    listed = api.get(URL).json()["results"]
    assert [row["name"] for row in listed] == ["Onboarding"]
    assert listed[0]["enrollment_count"] == 0

    changed = {**DEFINITION, "steps": [*DEFINITION["steps"], {"type": "task", "assignee": "ae", "title": "Hand over"}]}
    edited = api.patch(url, {"definition": changed, "description": "v2"}, format="json")
    assert edited.status_code == 200, edited.json()
    assert (edited.json()["version"], edited.json()["description"]) == (2, "v2")

    assert api.post(f"{url}pause/").json()["status"] == "paused"
    assert api.post(f"{url}resume/").json()["status"] == "active"
    dry_run = api.get(f"{url}dry-run/")
    assert dry_run.status_code == 200
    assert dry_run.json()["total"] == 1
    [row] = dry_run.json()["accounts"]
    assert (row["account_name"], row["steps"][0]["preview"]["title"]) == ("Bluefin Labs", "Kickoff with Bluefin Labs")

    assert api.delete(url).status_code == 204
    assert api.get(url).status_code == 404


def test_invalid_definitions_are_400_with_paths_into_the_definition(api_for):
    api = api_for(Role.ADMIN)
    bad = {
        "trigger": {"type": "schedule", "cron": "99 * * * *"},
        "steps": [{"type": "email", "to": "contact", "subject": "Hi {{ account.nmae }}", "body": "x"}],
    }
    response = api.post(URL, {"name": "", "definition": bad}, format="json")
    assert response.status_code == 400
    errors = response.json()
    assert "name" in errors
    response = api.post(URL, {"name": "Bad", "definition": bad}, format="json")
    errors = response.json()
    assert errors["trigger.cron"] == ["The minute field '99' is not valid."]
    assert errors["steps.0.subject"][0].startswith("Unknown merge field {{ account.nmae }}")
    response = api.post(
        URL, {"name": "Bad", "definition": {"trigger": {"type": "event"}, "steps": [{}]}}, format="json"
    )
    assert set(response.json()) >= {"trigger.event", "steps.0.type"}
    assert not Playbook.objects.with_scopes_disabled().exists()


def test_the_schema_is_served(api_for):
    response = api_for(Role.VIEWER).get(f"{URL}schema/")
    assert response.status_code == 200
    assert response.json() == SCHEMA


def test_read_only_roles_may_read_but_not_write(api_for):
    api_for(Role.CSM).post(URL, {"name": "Onboarding", "definition": DEFINITION}, format="json")
    viewer = api_for(Role.VIEWER)
    assert viewer.get(URL).status_code == 200
    assert viewer.post(URL, {"name": "Mine", "definition": DEFINITION}, format="json").status_code == 403
    playbook_id = viewer.get(URL).json()["results"][0]["id"]
    assert viewer.post(f"{URL}{playbook_id}/pause/").status_code == 403
    assert api_for(Role.SUPPORT).patch(f"{URL}{playbook_id}/", {"name": "x"}, format="json").status_code == 403


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_another_organizations_playbook_is_a_404(api_for, org, other_org, method):
    created = api_for(Role.ADMIN).post(URL, {"name": "Secret playbook", "definition": DEFINITION}, format="json")
    url = f"{URL}{created.json()['id']}/"
    outsider = api_for(Role.ADMIN, organization=other_org)
    found = getattr(outsider, method)(url, {"name": "Stolen"}, format="json")
    missing = getattr(outsider, method)(f"{URL}999999/", {"name": "Stolen"}, format="json")
    assert found.status_code == missing.status_code == 404
    assert found.json() == missing.json()
    assert "Secret playbook" not in outsider.get(URL).content.decode()
    assert outsider.post(f"{url}pause/").status_code == 404
    assert outsider.get(f"{url}dry-run/").status_code == 404


def test_openapi_describes_the_playbook_routes(api_for, client_for):
    schema = client_for(Role.VIEWER).get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    text = schema.content.decode()
    assert "/api/v1/playbooks/schema/" in text
    assert "/api/v1/playbooks/{id}/dry-run/" in text


def test_read_only_roles_do_not_see_slack_and_webhook_addresses(api_for):
    secret = "https://hooks.slack.com/services/T1/B2/very-secret"
    definition = {**DEFINITION, "steps": [{"type": "slack", "webhook_url": secret, "text": "Hi"}]}
    created = api_for(Role.CSM).post(URL, {"name": "Alerts", "definition": definition}, format="json")
    assert created.json()["definition"]["steps"][0]["webhook_url"] == secret
    read = api_for(Role.VIEWER).get(f"{URL}{created.json()['id']}/").json()
    assert read["definition"]["steps"][0]["webhook_url"] == "https://hooks.slack.com/…"
