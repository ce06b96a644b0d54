"""List pages and endpoints run a constant number of queries; the churn settings are the admins' and say what is
wrong in words."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from churn import services
from churn.models import ChurnSettings
from core.models import Role
from core.tenancy import Tenant, tenant_scope
from migrations_notify.models import MigrationCampaign
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


def _cases(org, count):
    tenant = Tenant(organization=org, role=Role.ADMIN)
    with tenant_scope(org):
        for _ in range(count):
            services.churn_case_open(
                tenant=tenant,
                account=AccountFactory(organization=org),
                primary_reason="price",
                churn_date=date(2027, 1, 31),
            )
            MigrationCampaign.objects.create(
                organization=org, name="M", target_server="k8s-2", deadline=date(2027, 3, 31)
            )


def _count(client, path) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured)


def test_lists_run_a_constant_number_of_queries(org, client_for, api_for):
    client, api = client_for(Role.CSM), api_for(Role.CSM)
    paths = [
        f"/o/{org.slug}/churn/",
        f"/o/{org.slug}/churn/?status=all",
        f"/o/{org.slug}/migrations/",
        f"/o/{org.slug}/reports/churn/",
    ]
    api_paths = ["/api/v1/churn-cases/", "/api/v1/migration-campaigns/"]
    _cases(org, 1)
    for path in paths:  # the first visit creates the settings rows and the session
        _count(client, path)
    for path in api_paths:
        _count(api, path)
    few = [_count(client, path) for path in paths] + [_count(api, path) for path in api_paths]
    _cases(org, 6)
    many = [_count(client, path) for path in paths] + [_count(api, path) for path in api_paths]
    assert few == many
    assert max(many) <= 15


def test_churn_settings_are_for_admins_and_explain_refusals(org, client_for):
    path = f"/o/{org.slug}/settings/churn/"
    assert client_for(Role.CSM).get(path).status_code == 403
    admin = client_for(Role.ADMIN)
    assert "Missing feature" in admin.get(path).content.decode()
    refused = admin.post(
        path, {"reasons": "Price", "learning_questions": "", "sales_slack_webhook_url": "https://example.com/hook"}
    )
    assert refused.status_code == 400
    body = refused.content.decode()
    assert "Ask the customer at least one question" in body
    assert "https://hooks.slack.com/services/" in body
    saved = admin.post(
        path,
        {
            "reasons": "Price\nToo complex\nPrice",
            "learning_questions": "Why?\nWhat next?",
            "sales_slack_webhook_url": "https://hooks.slack.com/services/T1/B1/x",
        },
    )
    assert saved.status_code == 302
    with tenant_scope(org):
        stored = ChurnSettings.objects.get()
    assert stored.reasons == [["price", "Price"], ["too_complex", "Too complex"], ["other", "Other"]]
    assert stored.learning_questions == ["Why?", "What next?"]
    assert stored.sales_slack_webhook_url == "https://hooks.slack.com/services/T1/B1/x"
    # An empty webhook box keeps the stored one; the checkbox removes it.
    admin.post(path, {"reasons": "Price", "learning_questions": "Why?"})
    with tenant_scope(org):
        assert ChurnSettings.objects.get().sales_slack_webhook_url
    admin.post(path, {"reasons": "Price", "learning_questions": "Why?", "clear_sales_slack_webhook_url": "on"})
    with tenant_scope(org):
        assert ChurnSettings.objects.get().sales_slack_webhook_url == ""
