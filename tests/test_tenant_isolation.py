"""The outsider test: a member of Helios must not see, change or even detect anything of Northwind's.

It walks every URL pattern the project has, so a route added later is covered without anyone
remembering to add it here; a route with a parameter this test does not know makes it fail loudly.
"""

from datetime import date

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from churn.services import churn_case_open
from core.models import Role
from core.services import api_key_create
from core.tenancy import Tenant, tenant_scope
from integrations.models import Source, SyncKind, SyncRun
from lifecycle.models import OnboardingStepTemplate
from migrations_notify.models import MigrationCampaign
from playbooks.services import enrollment_create, playbook_create
from qbr.models import FeatureRequest, Meeting
from tests.factories import AccountFactory, ContactFactory, DealFactory, MembershipFactory, NoteFactory, TaskFactory
from tests.revenue.factories import revenue_objects
from tickets.models import Macro, RoutingRule, SlaPolicy
from tickets.services import ticket_create

# Routes that belong to no organization by design: signing in, the platform's own pages, the API description.
NOT_TENANT_ROUTES = {
    "home",
    "login",
    "logout",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
    "organization_picker",
    "healthz",
    "api:schema",
    "api:docs",
    "inbound_email",  # a machine posting with the organization's own secret: tests/tickets/test_inbound.py
    "github_webhook",  # signed with the organization's webhook secret: tests/tickets/test_escalation.py
    "qbr_shared",  # a customer's read-only link, found by its token: tests/qbr/test_meetings.py
    "stripe_webhook",  # signed with the organization's endpoint secret: tests/revenue
    "hubspot_webhook",  # signed (v3) with the organization's app secret: tests/integrations/hubspot
    "churn_learning_form",  # the customer's link, keyed by a random token: tests/churn/test_pages.py
}


def all_routes(resolver=None, prefix="", namespace="", params=frozenset()):
    """(route name, path, every URL parameter on the way down) for each leaf pattern."""
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        own = frozenset(getattr(pattern.pattern, "converters", {})) | _regex_groups(pattern)
        if isinstance(pattern, URLResolver):
            if pattern.app_name == "admin":
                continue  # the Django admin is for platform operators (superusers), not tenants
            child_namespace = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from all_routes(pattern, prefix + str(pattern.pattern), child_namespace, params | own)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}{pattern.name}" if pattern.name else None
            yield name, prefix + str(pattern.pattern), params | own


def _regex_groups(pattern) -> frozenset:
    """Named groups of regex routes (DRF's router builds those)."""
    regex = getattr(pattern.pattern, "regex", None)
    return frozenset(regex.groupindex) if regex is not None else frozenset()


@pytest.fixture
def victim(db):
    """Northwind, with one object of every kind an URL can point at."""
    admin = MembershipFactory(role=Role.ADMIN, organization__slug="victim-co")
    organization = admin.organization
    account = AccountFactory(organization=organization, name="Secret Customer")
    contact = ContactFactory(account=account, email="secret@customer.example")
    NoteFactory(account=account)
    deal = DealFactory(account=account, name="Secret Deal")
    task = TaskFactory(account=account, title="Secret task")
    step = OnboardingStepTemplate.objects.with_scopes_disabled().create(organization=organization, title="Secret step")
    api_key, _ = api_key_create(tenant=None, organization=organization, role=Role.ADMIN, name="victim key")
    with tenant_scope(organization):
        ticket = ticket_create(
            tenant=Tenant(organization=organization, role=Role.ADMIN, user=admin.user),
            subject="Secret Customer outage",
            body="Everything is down.",
            requester_email="secret@customer.example",
        )
        policy = SlaPolicy.objects.create(organization=organization, name="Secret policy", first_response_minutes=60)
        rule = RoutingRule.objects.create(organization=organization, action="keep")
        macro = Macro.objects.create(organization=organization, name="Secret macro", body="Hello")
        sync_run = SyncRun.objects.create(organization=organization, source=Source.STRIPE, kind=SyncKind.FULL)
        stripe_customer, stripe_subscription, plan_cohort = revenue_objects(organization, account)
        meeting = Meeting.objects.create(
            organization=organization, account=account, title="Secret QBR", starts_at=timezone.now()
        )
        feature_request = FeatureRequest.objects.create(organization=organization, title="Secret request")
        churn_case = churn_case_open(
            tenant=Tenant(organization=organization, role=Role.ADMIN, user=admin.user),
            account=AccountFactory(organization=organization, name="Secret Churner"),
            primary_reason="price",
            churn_date=date(2027, 1, 31),
        )
        campaign = MigrationCampaign.objects.create(
            organization=organization, name="Secret migration", target_server="k8s-2", deadline=date(2027, 3, 31)
        )
        playbook = playbook_create(
            tenant=Tenant(organization=organization, role=Role.ADMIN, user=admin.user), name="Secret playbook",
            status="active", definition={
                "trigger": {"type": "event", "event": "deal.committed"},
                "steps": [{"type": "wait", "days": 1}, {"type": "task", "assignee": "csm", "title": "Secret task"}],
            },
        )  # fmt: skip
        enrollment = enrollment_create(playbook=playbook, account=account, key="victim", summary="")
        step_run = enrollment.step_runs.get()
    return {
        "playbook": playbook,
        "playbook_enrollment": enrollment,
        "playbook_step_run": step_run,
        "churn_case": churn_case,
        "migration_campaign": campaign,
        "meeting": meeting,
        "feature_request": feature_request,
        "stripe_customer": stripe_customer,
        "stripe_subscription": stripe_subscription,
        "plan_cohort": plan_cohort,
        "sync_run": sync_run,
        "sla_policy": policy,
        "routing_rule": rule,
        "macro": macro,
        "ticket": ticket,
        "organization": organization,
        "account": account,
        "contact": contact,
        "deal": deal,
        "task": task,
        "onboarding_step": step,
        "membership": admin,
        "api_key": api_key,
    }


def pk_for(route_name: str, victim: dict) -> int:
    for prefix, kind in (
        ("account", "account"),
        ("note", "account"),
        ("contact", "contact"),
        ("member", "membership"),
        ("api_key", "api_key"),
        ("api:account", "account"),
        ("api:contact", "contact"),
        ("deal", "deal"),
        ("api:deal", "deal"),
        ("task", "task"),
        ("onboarding_step", "onboarding_step"),
        ("message_resend", "ticket"),
        ("attachment_download", "ticket"),
        ("escalation_share", "ticket"),
        ("sla_policy", "sla_policy"),
        ("routing_rule", "routing_rule"),
        ("macro", "macro"),
        ("integration_run", "sync_run"),
        ("churn", "churn_case"),
        ("api:churn-case", "churn_case"),
        ("migration_campaign", "migration_campaign"),
        ("api:migration-campaign", "migration_campaign"),
        ("revenue_review_customer", "stripe_customer"),
        ("revenue_account", "account"),
        ("revenue_send_invoice", "account"),
        ("revenue_subscription_cancel", "stripe_subscription"),
        ("revenue_plan_cohort", "plan_cohort"),
        ("meeting", "meeting"),
        ("api:meeting", "meeting"),
        ("api:qbr", "meeting"),
        ("feature_request", "feature_request"),
        ("api:feature-request", "feature_request"),
        ("playbooks:step_run", "playbook_step_run"),
        ("playbooks:enrollment", "playbook_enrollment"),
        ("playbooks:", "playbook"),
        ("api:playbook", "playbook"),
    ):
        if route_name.startswith(prefix):
            return victim[kind].pk
    raise AssertionError(f"{route_name}: no victim object for its pk; extend pk_for() in this test")


def fill(route_name: str, params: frozenset, victim: dict, pk_override=None) -> dict:
    kwargs = {}
    for key in params:
        if key == "org_slug":
            kwargs[key] = victim["organization"].slug
        elif key == "pk":
            kwargs[key] = pk_override if pk_override is not None else pk_for(route_name, victim)
        elif key == "source":
            kwargs[key] = victim["sync_run"].source
        elif key == "number":
            kwargs[key] = pk_override if pk_override is not None else victim["ticket"].number
        else:
            raise AssertionError(f"{route_name}: unknown URL parameter '{key}'; teach this test how to fill it")
    return kwargs


def tenant_routes():
    routes = []
    for name, path, params in all_routes():
        if name in NOT_TENANT_ROUTES:
            continue
        is_api = path.startswith("api/v1/")
        assert name, f"route {path} has no name; name it so that this test can reverse it"
        assert is_api or "org_slug" in params, f"route {name} ({path}) names no organization"
        routes.append((name, path, params, is_api))
    return routes


def test_every_route_is_classified():
    routes = tenant_routes()
    assert any(is_api for *_, is_api in routes)
    assert sum(1 for *_, is_api in routes if not is_api) >= 15


def test_outsider_gets_404_on_every_organization_url(victim, client_for, other_org):
    outsider = client_for(Role.ADMIN, organization=other_org)
    checked = 0
    for name, _, params, is_api in tenant_routes():
        if is_api:
            continue
        url = reverse(name, kwargs=fill(name, params, victim))
        for method in ("get", "post"):
            response = getattr(outsider, method)(url)
            assert response.status_code == 404, f"{method.upper()} {url} ({name}) gave {response.status_code}"
            checked += 1
    assert checked >= 30


def test_outsider_api_key_cannot_reach_victim_objects(victim, api_for, other_org):
    outsider = api_for(Role.ADMIN, organization=other_org)
    for name, _, params, is_api in tenant_routes():
        if not is_api:
            continue
        if "pk" in params or "number" in params:
            real = reverse(name, kwargs=fill(name, params, victim))
            missing = reverse(name, kwargs=fill(name, params, victim, pk_override=999999))
            for method in ("get", "patch", "delete"):
                found = getattr(outsider, method)(real, {"name": "Stolen"}, format="json")
                absent = getattr(outsider, method)(missing, {"name": "Stolen"}, format="json")
                # 405 for a method the route does not offer comes before any lookup: it tells nothing either.
                assert found.status_code in (404, 405), f"{method.upper()} {real} gave {found.status_code}"
                assert found.status_code == absent.status_code
                # Indistinguishable from an id that exists nowhere: nothing to detect.
                assert found.json() == absent.json()
        else:
            path = reverse(name, kwargs=fill(name, params, victim))
            listed = outsider.get(path)
            assert listed.status_code == 200, path
            body = listed.content.decode()
            assert "Secret Customer" not in body
            assert "secret@customer.example" not in body
            assert "Secret Deal" not in body
            assert "Secret Customer outage" not in body
            assert "Secret migration" not in body
            assert "Secret QBR" not in body
            assert "Secret request" not in body
            assert "Secret playbook" not in body
    victim_account = victim["account"]
    victim_account.refresh_from_db()
    assert victim_account.name == "Secret Customer"


def test_outsider_cannot_point_a_contact_at_a_victim_account(victim, api_for, other_org):
    outsider = api_for(Role.ADMIN, organization=other_org)
    response = outsider.post(
        "/api/v1/contacts/", {"email": "x@outsider.example", "account": victim["account"].pk}, format="json"
    )
    assert response.status_code == 400
    assert "account" in response.json()


def test_outsider_search_and_filters_find_nothing_of_the_victim(victim, client_for, other_org):
    outsider = client_for(Role.ADMIN, organization=other_org)
    response = outsider.get(f"/o/{other_org.slug}/accounts/", {"search": "Secret"})
    assert response.status_code == 200
    assert "Secret Customer" not in response.content.decode()
    export = outsider.get(f"/o/{other_org.slug}/contacts/export.csv")
    assert "secret@customer.example" not in b"".join(export.streaming_content).decode()


def test_outsider_cannot_read_or_report_usage_of_victim_accounts(victim, api_for, other_org):
    from usage.models import DailyUsage
    from usage.services import usage_ingest

    account = victim["account"]
    organization = victim["organization"]
    with tenant_scope(organization):
        usage_ingest(
            tenant=Tenant(organization=organization, role=Role.ADMIN),
            metrics=[{"account": account.pk, "date": "2026-11-30", "users": 7, "instances": 1, "devices": 0,
                      "applications": 2}],
        )  # fmt: skip
    outsider = api_for(Role.ADMIN, organization=other_org)
    assert outsider.get("/api/v1/usage/", {"account": account.pk}).json()["results"] == []
    answer = outsider.post(
        "/api/v1/usage/",
        {"metrics": [{"account": account.pk, "date": "2026-11-30", "users": 0, "instances": 0, "devices": 0,
                      "applications": 0}]},
        format="json",
    ).json()  # fmt: skip
    assert [row["reason"] for row in answer["rejected"]] == ["unknown_account"]
    with tenant_scope(organization):
        assert DailyUsage.objects.get(account=account).users == 7
