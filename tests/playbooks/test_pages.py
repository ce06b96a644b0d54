"""The browser pages: list, editor, detail, dry run, outbox; the actions; roles; and the outsider's 404s."""

import json

import pytest
from django.core import mail
from django.urls import reverse

from core.models import Role
from playbooks.library import playbook_template_install
from playbooks.models import Playbook, PlaybookStatus, StepRun
from playbooks.services import enrollment_create, playbook_create, step_runs_due_run
from tests.factories import AccountFactory, ContactFactory

DEFINITION = {
    "trigger": {"type": "event", "event": "deal.committed"},
    "audience": {"cohorts": ["premium"]},
    "steps": [
        {
            "type": "email",
            "to": "contact",
            "subject": "Welcome to {{ account.name }}",
            "body": "Hi {{ contact.first_name }}",
        },
        {"type": "wait", "days": 2},
        {"type": "task", "assignee": "csm", "title": "Call {{ account.name }}"},
    ],
}


def url(name, org, **kwargs):
    return reverse(f"playbooks:{name}", kwargs={"org_slug": org.slug, **kwargs})


@pytest.fixture
def playbook(org, tenant):
    from core.tenancy import tenant_scope

    with tenant_scope(org):
        return playbook_create(tenant=tenant, name="Onboarding", definition=json.loads(json.dumps(DEFINITION)),
                               status="active")  # fmt: skip


def test_the_list_shows_status_counts_and_the_templates(client_for, org, playbook, django_assert_max_num_queries):
    client = client_for(Role.CSM)
    with django_assert_max_num_queries(12):
        response = client.get(url("playbook_list", org))
    body = response.content.decode()
    assert "Onboarding" in body
    assert "The AE commits a deal" in body
    assert "Snapshot nudge after 24 hours" in body  # a template to start from
    assert 'data-confirm="Pause' in body


def test_the_list_is_empty_and_says_what_to_do(client_for, org):
    body = client_for(Role.VIEWER).get(url("playbook_list", org)).content.decode()
    assert "No playbooks yet" in body
    assert "New playbook</a>" not in body  # a viewer cannot make one


def test_creating_from_the_editor_posts_the_definition(client_for, org):
    client = client_for(Role.CSM)
    assert client.get(url("playbook_create", org)).status_code == 200
    response = client.post(
        url("playbook_create", org),
        {"name": "Welcome", "description": "", "definition": json.dumps(DEFINITION), "switch_on": "1"},
    )
    playbook = Playbook.objects.with_scopes_disabled().get()
    assert response.status_code == 302
    assert response["Location"] == url("playbook_detail", org, pk=playbook.pk)
    assert playbook.status == PlaybookStatus.ACTIVE


def test_an_invalid_definition_comes_back_with_errors_beside_fields_and_nothing_lost(client_for, org):
    client = client_for(Role.CSM)
    broken = {**DEFINITION, "steps": [
        {"type": "email", "to": "contact", "subject": "Hi {{ account.nmae }}", "body": "Keep this text"},
        {"type": "wait"},
    ]}  # fmt: skip
    response = client.post(url("playbook_create", org), {"name": "", "definition": json.dumps(broken)})
    assert response.status_code == 400
    body = response.content.decode()
    assert "Unknown merge field {{ account.nmae }}" in body
    assert "Wait at least one hour or one day." in body
    assert "Keep this text" in body
    assert "This field is required." in body  # the name
    assert not Playbook.objects.with_scopes_disabled().exists()


def test_editing_makes_a_new_version(client_for, org, playbook):
    client = client_for(Role.ADMIN)
    page = client.get(url("playbook_edit", org, pk=playbook.pk)).content.decode()
    assert "Welcome to {{ account.name }}" in page
    changed = {**DEFINITION, "steps": [*DEFINITION["steps"], {"type": "wait", "hours": 3}]}
    response = client.post(url("playbook_edit", org, pk=playbook.pk),
                           {"name": "Onboarding", "definition": json.dumps(changed)})  # fmt: skip
    assert response.status_code == 302
    detail = client.get(url("playbook_detail", org, pk=playbook.pk)).content.decode()
    assert "Version 2" in detail
    assert "Wait 3 hours" in detail


def test_detail_shows_step_runs_with_errors_and_a_retry_button(
    client_for, org, playbook, csm_account, django_capture_on_commit_callbacks
):
    from core.tenancy import tenant_scope

    with tenant_scope(org):
        enrollment = enrollment_create(playbook=playbook, account=csm_account, key="k", summary="The AE commits a deal")
        step = enrollment.step_runs.get()
        StepRun.objects.filter(pk=step.pk).update(status="failed", error="SMTP said no", attempts=4)
    client = client_for(Role.CSM)
    body = client.get(url("playbook_detail", org, pk=playbook.pk)).content.decode()
    assert "SMTP said no" in body
    assert "Retry</button>" in body
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url("step_run_retry", org, pk=step.pk)).status_code == 302
    step.refresh_from_db()
    assert step.status == "succeeded"  # retried now: the eager task ran the due pass
    assert mail.outbox[-1].subject == f"Welcome to {csm_account.name}"


@pytest.fixture
def csm_account(org):
    account = AccountFactory(organization=org, cohort="premium", name="Bluefin Labs")
    ContactFactory(account=account, first_name="Ada")
    return account


def test_pause_and_resume_from_the_page(client_for, org, playbook):
    client = client_for(Role.CSM)
    client.post(url("playbook_pause", org, pk=playbook.pk))
    playbook.refresh_from_db()
    assert playbook.status == "paused"
    client.post(url("playbook_resume", org, pk=playbook.pk), {"from_list": "1"})
    playbook.refresh_from_db()
    assert playbook.status == "active"


def test_dry_run_page_shows_what_would_be_sent_and_sends_nothing(client_for, org, playbook, csm_account):
    AccountFactory(organization=org, cohort="trial", name="Trial Co")
    body = client_for(Role.VIEWER).get(url("playbook_dry_run", org, pk=playbook.pk)).content.decode()
    assert "1 account would enroll" in body
    assert "Welcome to Bluefin Labs" in body
    assert "Hi Ada" in body
    assert "Trial Co" not in body
    assert not mail.outbox


def test_new_from_template_installs_a_draft(client_for, org):
    response = client_for(Role.CSM).post(url("playbook_template_add", org), {"template": "snapshot-nudge"})
    playbook = Playbook.objects.with_scopes_disabled().get()
    assert response["Location"] == url("playbook_detail", org, pk=playbook.pk)
    assert (playbook.status, playbook.template_key) == ("draft", "snapshot-nudge")


def test_outbox_lists_sent_emails(client_for, org, playbook, csm_account):
    from core.tenancy import tenant_scope

    with tenant_scope(org):
        enrollment_create(playbook=playbook, account=csm_account, key="k", summary="")
        step_runs_due_run(organization=org)
    body = client_for(Role.VIEWER).get(url("outbox", org)).content.decode()
    assert "Welcome to Bluefin Labs" in body
    assert "Hi Ada" in body


@pytest.mark.parametrize("role", [Role.VIEWER, Role.SUPPORT, Role.AE])
def test_roles_without_the_write_permission_cannot_change_playbooks(client_for, org, playbook, role):
    client = client_for(role)
    assert client.get(url("playbook_detail", org, pk=playbook.pk)).status_code == 200
    assert client.get(url("playbook_create", org)).status_code == 403
    assert client.post(url("playbook_pause", org, pk=playbook.pk)).status_code == 403
    assert client.post(url("playbook_template_add", org), {"template": "snapshot-nudge"}).status_code == 403


def test_an_outsider_gets_404_on_every_playbooks_page(client_for, org, other_org, playbook, csm_account):
    from core.tenancy import tenant_scope

    with tenant_scope(org):
        enrollment = enrollment_create(playbook=playbook, account=csm_account, key="k", summary="")
    step = StepRun.objects.with_scopes_disabled().get()
    outsider = client_for(Role.ADMIN, organization=other_org)
    from playbooks.urls import urlpatterns

    checked = 0
    for pattern in urlpatterns:
        kwargs = {}
        if "<int:pk>" in str(pattern.pattern):
            kwargs["pk"] = {"step_run_retry": step.pk, "enrollment_cancel": enrollment.pk}.get(
                pattern.name, playbook.pk
            )
        target = url(pattern.name, org, **kwargs)
        for method in ("get", "post"):
            response = getattr(outsider, method)(target)
            assert response.status_code == 404, f"{method} {target}"
            checked += 1
        # and the outsider's own organization does not have the victim's rows either
        if kwargs:
            own = url(pattern.name, other_org, **kwargs)
            assert outsider.get(own).status_code in (404, 405), own
    assert checked == 2 * len(urlpatterns)
    assert "No playbooks yet" in outsider.get(url("playbook_list", other_org)).content.decode()


def test_a_template_installed_in_one_organization_is_not_listed_in_another(client_for, org, other_org, tenant):
    from core.tenancy import tenant_scope

    with tenant_scope(org):
        playbook_template_install(tenant=tenant, key="qbr-over-10k")
    body = client_for(Role.ADMIN, organization=other_org).get(url("playbook_list", other_org)).content.decode()
    assert "No playbooks yet" in body


def test_the_detail_page_costs_the_same_queries_for_more_enrollments(client_for, org, playbook):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from core.tenancy import tenant_scope

    client = client_for(Role.CSM)

    def enroll(count):
        with tenant_scope(org):
            for _ in range(count):
                account = AccountFactory(organization=org, cohort="premium")
                ContactFactory(account=account)
                enrollment_create(playbook=playbook, account=account, key=f"k{account.pk}", summary="")
            step_runs_due_run(organization=org)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url("playbook_detail", org, pk=playbook.pk)).status_code == 200
        return len(captured)

    enroll(2)
    queries()  # the first request also reads the session and the membership into the cache
    few = queries()
    enroll(6)
    assert queries() == few
