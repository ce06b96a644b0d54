"""A CSM builds a playbook in the editor, in a real browser: trigger, audience, three steps, an error, a fix."""

import pytest
from django.contrib.auth import get_user_model

from core.services import member_add, organization_create
from core.tenancy import tenant_scope
from playbooks.models import Playbook

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"


@pytest.fixture
def organization():
    organization = organization_create(slug="northwind", name="Northwind Robotics")
    user = get_user_model().objects.create_user(
        username="casey@northwind.test", email="casey@northwind.test", password=PASSWORD, first_name="Casey"
    )
    member_add(tenant=None, organization=organization, user=user, role="csm")
    return organization


def test_a_csm_builds_a_playbook_in_the_editor(live_server, page, organization):
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Email").fill("casey@northwind.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Good").wait_for()

    page.goto(f"{live_server.url}/o/northwind/playbooks/")
    page.get_by_role("link", name="New playbook").first.click()
    page.get_by_label("Name").fill("Snapshot nudge for Premium")
    page.get_by_label("Trigger").select_option("inaction")
    assert page.get_by_label("Feature not used").is_visible()
    assert not page.get_by_label("What happens").is_visible()
    page.get_by_label("Feature not used").fill("snapshot_created")
    page.get_by_label("Within (hours after sign-up)").fill("24")
    page.get_by_label("Premium").check()

    steps = page.get_by_test_id("steps").locator(".pb-step")
    page.get_by_label("Add a step").select_option("email")
    page.get_by_role("button", name="Add step").click()
    page.get_by_label("Subject").fill("Snapshots for {{ account.nmae }}")
    page.get_by_label("Message").fill("Hi {{ contact.first_name }}, try snapshots.")
    page.get_by_label("Add a step").select_option("task")
    page.get_by_role("button", name="Add step").click()
    page.get_by_label("Task", exact=True).fill("Call {{ account.name }} about snapshots")
    page.get_by_label("Add a step").select_option("wait")
    page.get_by_role("button", name="Add step").click()
    page.get_by_label("Days", exact=True).fill("2")
    assert steps.count() == 3
    # The wait belongs between the email and the task: move it up once.
    steps.nth(2).get_by_role("button", name="Move step up").click()
    assert [steps.nth(i).get_attribute("data-type") for i in range(3)] == ["email", "wait", "task"]

    page.get_by_role("button", name="Save as draft").click()
    error = page.locator(".pb-step.has-error .errors")
    error.wait_for()
    assert "Unknown merge field {{ account.nmae }}" in error.inner_text()
    # Nothing typed was lost: the three steps in their order, the audience, the trigger.
    assert [steps.nth(i).get_attribute("data-type") for i in range(3)] == ["email", "wait", "task"]
    assert page.get_by_label("Premium").is_checked()
    assert page.get_by_label("Feature not used").input_value() == "snapshot_created"
    assert page.get_by_label("Message").input_value() == "Hi {{ contact.first_name }}, try snapshots."

    page.get_by_label("Subject").fill("Snapshots for {{ account.name }}")
    page.get_by_role("button", name="Save as draft").click()
    page.get_by_text("Playbook saved as a draft").wait_for()
    summary = page.get_by_test_id("summary").inner_text()
    assert "No snapshot_created within 24 hours of sign-up" in summary
    assert "Wait 2 days" in summary

    with tenant_scope(organization):
        playbook = Playbook.objects.get()
    definition = playbook.current_version.definition
    assert definition["trigger"] == {"type": "inaction", "feature": "snapshot_created", "within_hours": 24}
    assert definition["audience"] == {"cohorts": ["premium"]}
    assert [step["type"] for step in definition["steps"]] == ["email", "wait", "task"]
    assert definition["steps"][1] == {"type": "wait", "days": 2}
    assert playbook.status == "draft"
