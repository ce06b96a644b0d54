"""GET /api/v1/health-scores/: the current scores, computed and effective, for any role's key; writes refused."""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.models import Role
from core.tenancy import Tenant, tenant_scope
from health import services
from tests.factories import AccountFactory
from tests.health.factories import NOW, TODAY, HealthModelFactory, usage_days

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def test_the_api_lists_computed_and_effective_scores_at_a_constant_query_count(org, other_org, api_for):
    with tenant_scope(org):
        HealthModelFactory(
            organization=org, measures=[{"type": "active_users", "weight": 100, "thresholds": [0, 5, 10]}]
        )
        accounts = AccountFactory.create_batch(3, organization=org)
        for account in accounts:
            usage_days(account, users=5)
        services.health_compute(organization=org)
        services.health_override_set(
            tenant=Tenant(organization=org, role=Role.CSM), account=accounts[0], score=90, reason="Renewed",
            expires_on=TODAY + timedelta(days=5),
        )  # fmt: skip
    with tenant_scope(other_org):
        usage_days(AccountFactory(organization=other_org), users=5)
        services.health_compute(organization=other_org)
    api = api_for(Role.VIEWER)
    with CaptureQueriesContext(connection) as few:
        body = api.get("/api/v1/health-scores/").json()
    rows = body["results"]
    assert [(r["account"], r["effective_score"], r["computed_score"], r["overridden"]) for r in rows] == [
        (accounts[0].pk, 90, 50, True), (accounts[1].pk, 50, 50, False), (accounts[2].pk, 50, 50, False),
    ]  # fmt: skip
    # The overridden account's bands: healthy by the CSM's score, watch by the computed one.
    assert (rows[0]["effective_band"], rows[0]["band"]) == ("healthy", "watch")
    assert api.get("/api/v1/health-scores/", {"account": accounts[1].pk}).json()["results"][0]["account"] == (
        accounts[1].pk
    )
    with tenant_scope(org):
        for account in AccountFactory.create_batch(5, organization=org):
            usage_days(account, users=5)
        services.health_compute(organization=org)
    with CaptureQueriesContext(connection) as many:
        assert len(api.get("/api/v1/health-scores/").json()["results"]) == 8
    assert len(many) == len(few)
    assert api.post("/api/v1/health-scores/", {}).status_code == 403  # a viewer
    assert api_for(Role.ADMIN).post("/api/v1/health-scores/", {}).status_code == 405  # read-only for everyone
