"""What members see and do: the account card (why, what changed, missing data, override, sentiment), the signals
list, the model editor, the account list's columns and sorting, the QBR pack, and the roles and outsiders refused."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.models import Role
from core.tenancy import tenant_scope
from health import services
from health.models import AccountHealth, HealthModel, HealthSignal
from tests.factories import AccountFactory
from tests.health.factories import NOW, TODAY, HealthModelFactory, features, usage_days

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def scored(org):
    """An account scored a week ago (more users then) and today."""
    with tenant_scope(org):
        HealthModelFactory(organization=org)
        account = AccountFactory(organization=org, name="Bluefin Logistics")
        usage_days(account, users=lambda ago: 4 if ago < 7 else 10, days=60)
        features(account, ["instance_created", "device_added"])
        services.health_compute(organization=org, now=NOW - timedelta(days=7))
        services.health_compute(organization=org)
    return account


def card(html: str) -> str:
    start = html.index('data-testid="account-health"')
    return html[start : html.index('data-testid="account-usage"', start)]


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_card_explains_the_score_what_pulls_it_down_and_what_changed(org, client_for, scored):
    html = card(client_for(Role.VIEWER).get(f"/o/{org.slug}/accounts/{scored.pk}/").content.decode())
    words = text(html)
    # today users 4 → 40 (62.5%), 2 features → 50 (37.5%): 25 + 18.75 = 44; a week ago users 10 → 100: 81
    assert 'aria-label="Health score 44 of 100"' in html
    assert "▼ -37 since 24 Nov" in words
    assert "Pulling it down most: Active users (\u221238), Feature adoption breadth (\u221219)" in words
    assert "No data for csm sentiment : it is left out, and its weight is shared among the other measures." in words
    assert "The score rests on 80% of the model's weight." in words
    assert 'data-testid="health-low-coverage"' not in html
    assert "Active users -37.5 points" in words  # what changed since last week
    assert "Score 81 on 24 Nov → 44 now" in words
    assert "data-health-chart" in html
    assert '"scores": [81, 44]' in html
    assert "Override the score" not in html  # a viewer may not


def test_the_card_without_a_score_says_how_scores_come(org, client_for, scope):
    account = AccountFactory(organization=org)
    html = card(client_for(Role.CSM).get(f"/o/{org.slug}/accounts/{account.pk}/").content.decode())
    assert "No health score yet" in html
    assert "data-health-chart" not in html


def test_a_csm_overrides_with_reason_and_expiry_and_both_values_show(org, client_for, scored):
    client = client_for(Role.CSM)
    response = client.post(
        f"/o/{org.slug}/health/override/",
        {"account": scored.pk, "score": 75, "reason": "Renewal signed yesterday", "expires_on": "2026-12-20"},
    )
    assert response.status_code == 302
    html = card(client.get(response.url).content.decode())
    words = text(html)
    assert 'aria-label="Health score 75 of 100"' in html  # the score shown is the CSM's
    assert "75 Healthy" in words
    assert "Overridden by" in words
    assert "until 20 Dec 2026: “Renewal signed yesterday”" in words
    assert "Computed score: 44 Watch" in words
    with tenant_scope(org):
        from core.models import AuditEntry

        assert AuditEntry.objects.filter(action="health.overridden", account_id=scored.pk).exists()

    with time_machine.travel(NOW + timedelta(days=20), tick=False):  # a fresh sign-in: sessions expire too
        words = text(card(client_for(Role.CSM).get(f"/o/{org.slug}/accounts/{scored.pk}/").content.decode()))
    assert "An override of 75 (“Renewal signed yesterday”) expired on 20 Dec 2026" in words


def test_an_override_with_errors_shows_them_in_the_card(org, client_for, scored):
    response = client_for(Role.CSM).post(
        f"/o/{org.slug}/health/override/",
        {"account": scored.pk, "score": 75, "reason": "", "expires_on": "2026-11-01"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Please correct the highlighted fields." in html
    assert "This field is required." in html
    with tenant_scope(org):
        assert AccountHealth.objects.get(account=scored).override_score is None

    past = client_for(Role.CSM).post(
        f"/o/{org.slug}/health/override/",
        {"account": scored.pk, "score": 75, "reason": "Why not", "expires_on": "2026-11-01"},
    )
    assert "Choose a day after today." in past.content.decode()


def test_read_only_roles_may_not_override_or_record_sentiment(org, client_for, scored):
    for role in (Role.VIEWER, Role.SUPPORT):
        client = client_for(role)
        override = {"account": scored.pk, "score": 75, "reason": "x", "expires_on": "2026-12-20"}
        assert client.post(f"/o/{org.slug}/health/override/", override).status_code == 403
        assert (
            client.post(f"/o/{org.slug}/health/sentiment/", {"account": scored.pk, "sentiment": 5}).status_code == 403
        )


def test_sentiment_recorded_from_the_card_rescores_at_once(org, client_for, scored):
    client = client_for(Role.CSM)
    response = client.post(
        f"/o/{org.slug}/health/sentiment/", {"account": scored.pk, "sentiment": 5, "comment": "Loves it"},
        HTTP_HX_REQUEST="true",
    )  # fmt: skip
    words = text(response.content.decode())
    assert "5 of 5 : “Loves it”" in words
    assert "No data for" not in words


def test_an_account_of_another_organization_is_not_found(org, other_org, client_for, scored):
    outsider = client_for(Role.ADMIN, organization=other_org)
    assert outsider.get(f"/o/{org.slug}/health/signals/").status_code == 404
    assert outsider.get(f"/o/{org.slug}/settings/health/").status_code == 404
    # A member of its own organization naming a foreign account id: 404 too.
    override = {"account": scored.pk, "score": 1, "reason": "x", "expires_on": "2026-12-20"}
    assert outsider.post(f"/o/{other_org.slug}/health/override/", override).status_code == 404


def test_the_account_list_shows_score_and_trend_and_sorts_by_them(org, client_for, scope):
    HealthModelFactory(organization=org, measures=[{"type": "active_users", "weight": 100, "thresholds": [0, 50, 100]}])
    for name, users in (("Low", 10), ("High", 90), ("Middle", 50)):
        usage_days(AccountFactory(organization=org, name=name), users=users)
    AccountFactory(organization=org, name="Unscored")
    services.health_compute(organization=org)
    client = client_for(Role.VIEWER)

    def names(ordering):
        html = client.get(f"/o/{org.slug}/accounts/", {"ordering": ordering}).content.decode()
        return re.findall(r'class="primary" href="[^"]+">([^<]+)</a>', html)

    assert names("-health_score") == ["High", "Middle", "Low", "Unscored"]
    assert names("health_score") == ["Low", "Middle", "High", "Unscored"]
    html = client.get(f"/o/{org.slug}/accounts/").content.decode()
    # The score sits in its account's row, coloured by band; the unscored account shows a dash.
    assert re.search(r'>High</a>.*?<span class="badge badge-active"[^>]*>90</span>', html, re.S)
    assert re.search(r'>Low</a>.*?<span class="badge badge-churned"[^>]*>10</span>', html, re.S)
    assert re.search(r'>Unscored</a>.*?<td class="num health-cell"><span class="faint">—</span>', html, re.S)


def test_the_account_list_costs_the_same_queries_with_and_without_scores(org, client_for, scope):
    client = client_for(Role.VIEWER)
    AccountFactory.create_batch(3, organization=org)

    def count():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(f"/o/{org.slug}/accounts/", {"ordering": "-health_score"}).status_code == 200
        return len(captured)

    count()  # the first request also stores the active organization in the session
    before = count()
    for account in AccountFactory.create_batch(5, organization=org):
        usage_days(account, users=5, days=10)
    services.health_compute(organization=org)
    assert count() == before


def test_the_signals_list_filters_pages_and_has_an_empty_state(org, client_for, scope):
    client = client_for(Role.VIEWER)
    empty = client.get(f"/o/{org.slug}/health/signals/").content.decode()
    assert "No signals yet" in empty
    accounts = AccountFactory.create_batch(3, organization=org)
    for index in range(30):
        HealthSignal.objects.create(
            organization=org, account=accounts[index % 3], kind="seat_growth" if index % 2 else "usage_drop",
            period=f"p{index}", summary=f"Signal {index}", raised_at=NOW - timedelta(hours=index),
        )  # fmt: skip
    first = client.get(f"/o/{org.slug}/health/signals/").content.decode()
    assert "Signal 0" in first
    assert "Older" in first
    expansion = client.get(f"/o/{org.slug}/health/signals/", {"kind": "expansion"}).content.decode()
    assert "Signal 1<" in expansion
    assert "Signal 0<" not in expansion
    assert "15 signals" in text(expansion)
    none = client.get(f"/o/{org.slug}/health/signals/", {"kind": "instance_growth"}).content.decode()
    assert "No signals match these filters" in none


def test_the_model_editor_saves_a_new_version_and_shows_row_errors(org, client_for, scope):
    admin = client_for(Role.ADMIN)
    page = admin.get(f"/o/{org.slug}/settings/health/").content.decode()
    assert "Usage trend" in page
    assert "Save as version 2" in page
    fields = {"cohort": "", "name": "Default", "weight_active_users": "60", "t0_active_users": "0",
              "t50_active_users": "5", "t100_active_users": "10"}  # fmt: skip
    bad = admin.post(f"/o/{org.slug}/settings/health/", {**fields, "t50_active_users": "20"}).content.decode()
    assert "The model was not saved" in bad
    assert "Thresholds must run one way" in bad
    assert HealthModel.objects.get(cohort="").version == 1

    saved = admin.post(f"/o/{org.slug}/settings/health/", fields)
    assert saved.status_code == 302
    model = HealthModel.objects.get(cohort="")
    assert model.version == 2
    assert model.measures == [{"type": "active_users", "weight": 60, "thresholds": [0, 5, 10]}]

    premium = admin.get(f"/o/{org.slug}/settings/health/?cohort=premium").content.decode()
    assert "uses the default model" in premium
    admin.post(f"/o/{org.slug}/settings/health/?cohort=premium", {**fields, "cohort": "premium", "name": "Premium"})
    assert HealthModel.objects.get(cohort="premium").name == "Premium"


def test_only_admins_edit_the_model(org, client_for, scope):
    csm = client_for(Role.CSM)
    assert csm.get(f"/o/{org.slug}/settings/health/").status_code == 200
    assert "Only admins edit the health model." in csm.get(f"/o/{org.slug}/settings/health/").content.decode()
    assert csm.post(f"/o/{org.slug}/settings/health/", {"cohort": "", "name": "x"}).status_code == 403


def test_a_score_resting_on_little_of_the_model_says_so(org, client_for):
    with tenant_scope(org):
        HealthModelFactory(
            organization=org,
            measures=[
                {"type": "active_users", "weight": 20, "thresholds": [0, 5, 10]},
                {"type": "csm_sentiment", "weight": 80, "thresholds": [1, 3, 5]},
            ],
        )
        account = AccountFactory(organization=org)
        usage_days(account, users=10, days=30)
        services.health_compute(organization=org)
    html = card(client_for(Role.VIEWER).get(f"/o/{org.slug}/accounts/{account.pk}/").content.decode())
    assert 'aria-label="Health score 100 of 100"' in html  # all it knows is good
    assert "The score rests on 20% of the model's weight: read it with care" in text(html)


def test_the_qbr_pack_has_the_health_part(org, scored):
    from datetime import date

    from qbr.datapack import data_pack

    with tenant_scope(org):
        pack = {p.key: p for p in data_pack(account=scored, start=date(2026, 9, 1), end=TODAY, now=NOW)}
    part = pack["health"]
    assert part.available
    assert part.data["score"] == 44
    assert part.data["change"] == -37
    assert part.data["factors"][0]["label"] == "Active users"


def test_the_qbr_page_and_pdf_show_the_score_and_the_team_sees_its_factors(org, client_for, scored):
    from tests.qbr.factories import MeetingFactory
    from tests.qbr.test_meetings import _pdf_text

    with tenant_scope(org):
        meeting = MeetingFactory(account=scored, starts_at=NOW)
    client = client_for(Role.VIEWER)
    page = text(client.get(f"/o/{org.slug}/meetings/{meeting.pk}/").content.decode())
    assert "Health 44 (Watch) · -37 since 81 at the start of the quarter" in page
    assert "Pulling it down most: Active users (\u221238)" in page
    pdf = _pdf_text(client.get(f"/o/{org.slug}/meetings/{meeting.pk}/qbr.pdf").content)
    assert "Health 44 \\(Watch\\), -37 since 81 at the quarter's start" in pdf  # the PDF escapes parentheses
    assert "Active users" not in pdf  # the customer's copy carries the score, not the team's diagnosis


def test_the_navigation_marks_the_health_pages_active(org, client_for, scope):
    admin = client_for(Role.ADMIN)
    signals = admin.get(f"/o/{org.slug}/health/signals/").content.decode()
    assert re.search(r'href="/o/northwind/health/signals/" class="active"', signals)
    model = admin.get(f"/o/{org.slug}/settings/health/").content.decode()
    assert re.search(r'href="/o/northwind/settings/health/" class="active"', model)
