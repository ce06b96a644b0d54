from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Account, Contact
from core.models import AuditEntry, Role
from core.tenancy import tenant_scope
from tests.factories import AccountFactory, ContactFactory, MembershipFactory, NoteFactory


def rows(response) -> list[str]:
    return [account.name for account in response.context["page"].rows]


def test_account_list_searches_filters_and_sorts(org, client_for):
    owner = MembershipFactory(organization=org, role=Role.CSM).user
    AccountFactory(organization=org, name="Bluefin Logistics", cohort="premium", arr=Decimal("30000"), csm_owner=owner)
    AccountFactory(organization=org, name="Quarry Labs", cohort="premium", arr=Decimal("9000"), status="churned")
    AccountFactory(organization=org, name="Harbor Foods", cohort="trial", arr=Decimal("0"), domain="harbor.example")
    client = client_for(Role.VIEWER)
    url = f"/o/{org.slug}/accounts/"
    assert rows(client.get(url)) == ["Bluefin Logistics", "Harbor Foods", "Quarry Labs"]
    assert rows(client.get(url, {"search": "harbor.ex"})) == ["Harbor Foods"]
    assert rows(client.get(url, {"cohort": "premium"})) == ["Bluefin Logistics", "Quarry Labs"]
    assert rows(client.get(url, {"status": "churned"})) == ["Quarry Labs"]
    assert rows(client.get(url, {"owner": owner.pk})) == ["Bluefin Logistics"]
    assert rows(client.get(url, {"ordering": "-arr"})) == ["Bluefin Logistics", "Quarry Labs", "Harbor Foods"]
    empty = client.get(url, {"search": "nothing like it"})
    assert "No accounts match these filters" in empty.content.decode()


def test_account_list_pages_with_next_link(org, client_for):
    for index in range(30):
        AccountFactory(organization=org, name=f"Account {index:02d}")
    client = client_for(Role.VIEWER)
    first = client.get(f"/o/{org.slug}/accounts/")
    assert "30 accounts" in first.content.decode()
    second = client.get(f"/o/{org.slug}/accounts/", {"cursor": first.context["page"].next_cursor})
    assert rows(second) == [f"Account {i:02d}" for i in range(25, 30)]
    htmx = client.get(f"/o/{org.slug}/accounts/", {"cohort": "starter"}, HTTP_HX_REQUEST="true")
    assert "<html" not in htmx.content.decode()  # only the table is swapped in


def test_empty_organization_shows_a_friendly_empty_state(org, client_for):
    page = client_for(Role.CSM).get(f"/o/{org.slug}/accounts/").content.decode()
    assert "No accounts yet" in page
    assert "Create the first account" in page


def test_account_page_shows_contacts_and_timeline(org, client_for):
    client = client_for(Role.CSM)
    account = AccountFactory(organization=org, name="Bluefin Logistics")
    ContactFactory(account=account, first_name="Ada", last_name="Lovelace")
    NoteFactory(account=account, body="Kickoff: OEE dashboards by Q2.")
    client.post(f"/o/{org.slug}/accounts/{account.pk}/edit/", _form(account, arr="42000"))
    page = client.get(f"/o/{org.slug}/accounts/{account.pk}/").content.decode()
    assert "Ada Lovelace" in page
    assert "Kickoff: OEE dashboards by Q2." in page
    assert "changed the account" in page
    assert "42000" in page


def _form(account, **overrides):
    data = {
        "name": account.name,
        "domain": account.domain,
        "cohort": account.cohort,
        "status": account.status,
        "currency": account.currency,
        "arr": str(account.arr),
        "mrr": str(account.mrr),
        "codename": account.codename,
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("arr", "-5", "Must be zero or more."),
        ("cohort", "gold", "Select a valid choice."),
        ("name", "", "This field is required."),
    ],
)
def test_edit_form_shows_field_errors_and_saves_nothing(org, client_for, field, value, message):
    account = AccountFactory(organization=org, name="Quarry Labs", arr=Decimal("1000"))
    response = client_for(Role.CSM).post(f"/o/{org.slug}/accounts/{account.pk}/edit/", _form(account, **{field: value}))
    assert response.status_code == 200
    assert message in response.content.decode()
    with tenant_scope(org):
        stored = Account.objects.get(pk=account.pk)
        assert (stored.name, stored.arr, stored.cohort) == ("Quarry Labs", Decimal("1000.00"), "starter")
        assert not AuditEntry.objects.filter(action="account.updated").exists()


def test_create_account_and_contact_through_the_forms(org, client_for):
    client = client_for(Role.CSM)
    response = client.post(
        f"/o/{org.slug}/accounts/new/",
        {
            "name": "Kestrel Dairy",
            "cohort": "premium",
            "status": "active",
            "currency": "EUR",
            "arr": "12000",
            "mrr": "",
        },
    )
    with tenant_scope(org):
        account = Account.objects.get(name="Kestrel Dairy")
    assert response["Location"] == f"/o/{org.slug}/accounts/{account.pk}/"
    assert account.mrr == Decimal("1000.00")
    response = client.post(
        f"/o/{org.slug}/contacts/new/",
        {"first_name": "Ada", "email": "ada@kestrel.example", "account": account.pk, "lifecycle_stage": "lead"},
    )
    assert response.status_code == 302
    with tenant_scope(org):
        assert Contact.objects.get(email="ada@kestrel.example").account == account
    duplicate = client.post(f"/o/{org.slug}/contacts/new/", {"email": "ADA@kestrel.example", "lifecycle_stage": "lead"})
    assert "already exists" in duplicate.content.decode()


def test_dashboard_shows_arr_by_cohort_and_renewals_within_90_days(org, client_for):
    today = timezone.localdate()
    AccountFactory(
        organization=org,
        name="Soon",
        cohort="enterprise",
        arr=Decimal("100000"),
        renewal_date=today + timedelta(days=30),
    )
    AccountFactory(
        organization=org, name="Later", cohort="premium", arr=Decimal("20000"), renewal_date=today + timedelta(days=120)
    )
    AccountFactory(
        organization=org, name="Gone", cohort="premium", arr=Decimal("5000"), status="churned", renewal_date=today
    )
    response = client_for(Role.VIEWER).get(f"/o/{org.slug}/")
    summary = {row.cohort: row for row in response.context["cohorts"]}
    assert summary["enterprise"].arr == Decimal("100000")
    assert summary["premium"].account_count == 1
    assert [a.name for a in response.context["renewals"]] == ["Soon"]
    assert response.context["renewal_count"] == 1
    assert "$120,000" in response.content.decode()


@pytest.mark.parametrize("path", ["accounts/", "contacts/", "", "accounts/?cohort=starter&ordering=-arr"])
def test_list_pages_run_a_constant_number_of_queries(org, client_for, path):
    client = client_for(Role.CSM)
    owner = client.user
    url = f"/o/{org.slug}/{path}"

    def count() -> int:
        client.get(url)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    for _ in range(5):
        ContactFactory(account=AccountFactory(organization=org, csm_owner=owner, renewal_date=timezone.localdate()))
    few = count()
    for _ in range(40):
        ContactFactory(account=AccountFactory(organization=org, csm_owner=owner, ae_owner=owner))
    assert count() == few
    assert few <= 5


def test_account_page_queries_do_not_grow_with_contacts_or_history(org, client_for):
    client = client_for(Role.CSM)
    account = AccountFactory(organization=org)
    url = f"/o/{org.slug}/accounts/{account.pk}/"

    def count() -> int:
        client.get(url)
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        return len(queries)

    ContactFactory(account=account)
    NoteFactory(account=account)
    few = count()
    ContactFactory.create_batch(20, account=account)
    NoteFactory.create_batch(20, account=account)
    assert count() == few


def test_account_picker_suggests_matching_accounts_of_this_organization(org, other_org, client_for):
    AccountFactory(organization=org, name="Bluefin Logistics", domain="bluefin.example")
    AccountFactory(organization=other_org, name="Bluefin Rival")
    options = client_for(Role.CSM).get(f"/o/{org.slug}/accounts/lookup/", {"q": "bluefin"}).content.decode()
    assert "Bluefin Logistics — bluefin.example" in options
    assert "Bluefin Rival" not in options
    assert "Choose one of 1 match" in options


def test_contact_page_shows_its_history(org, client_for):
    client = client_for(Role.SUPPORT)
    contact = ContactFactory(account=AccountFactory(organization=org), lifecycle_stage="lead")
    client.post(f"/o/{org.slug}/contacts/{contact.pk}/edit/", {"email": contact.email, "first_name": "Robin"})
    client.post(f"/o/{org.slug}/contacts/{contact.pk}/stage/", {"lifecycle_stage": "marketingqualifiedlead"})
    page = client.get(f"/o/{org.slug}/contacts/{contact.pk}/").content.decode()
    assert "Lifecycle stage" in page
    assert "<del>lead</del>" in page
    assert "<ins>marketingqualifiedlead</ins>" in page
