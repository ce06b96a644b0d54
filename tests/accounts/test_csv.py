import csv
import io

from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.csv_io import defuse_formula, split_name
from accounts.models import Contact
from core.models import Role
from core.tenancy import tenant_scope
from tests.factories import AccountFactory, ContactFactory

GOOD_AND_BAD = (
    "Name,Email,Title,Account,Lifecycle stage\n"
    "Ada King Lovelace,ada@example.com,CTO,quarry.example,lead\n"
    "Bad Email,not-an-email,,,\n"
    "Grace Hopper,grace@example.com,VP,No Such Co,customer\n"
    "Alan Turing,alan@example.com,,,wizard\n"
    "Katherine Johnson,KJ@example.com,,Quarry Labs,Marketing Qualified Lead\n"
    "Katherine Again,kj@example.com,,,\n"
)


def upload(client, org, text: str, name="contacts.csv"):
    file = SimpleUploadedFile(name, text.encode(), content_type="text/csv")
    return client.post(f"/o/{org.slug}/contacts/import/", {"file": file})


def test_name_is_split_into_first_and_last():
    assert split_name("Ada King Lovelace") == ("Ada King", "Lovelace")
    assert split_name("Plato") == ("Plato", "")
    assert split_name("  ") == ("", "")


def test_import_reports_every_bad_row_and_imports_the_rest(org, client_for):
    AccountFactory(organization=org, name="Quarry Labs", domain="quarry.example")
    response = upload(client_for(Role.CSM), org, GOOD_AND_BAD)
    report = response.context["report"]
    assert report.created == 2
    reasons = {row.line: " ".join(row.reasons) for row in report.rejected}
    assert reasons == {
        3: "email: Enter a valid email address.",
        4: "No account named or with the domain 'No Such Co'.",
        5: "Unknown lifecycle stage 'wizard'.",
        7: "Same email as line 6, which was imported.",
    }
    page = response.content.decode()
    assert "Unknown lifecycle stage" in page
    with tenant_scope(org):
        ada = Contact.objects.get(email="ada@example.com")
        assert (ada.first_name, ada.last_name, ada.account.name, ada.lifecycle_stage) == (
            "Ada King",
            "Lovelace",
            "Quarry Labs",
            "lead",
        )
        assert Contact.objects.get(email="kj@example.com").lifecycle_stage == "marketingqualifiedlead"


def test_importing_the_same_file_twice_adds_nothing(org, client_for):
    client = client_for(Role.CSM)
    text = "First name,Last name,Email\nAda,Lovelace,ada@example.com\nAlan,Turing,alan@example.com\n"
    assert upload(client, org, text).context["report"].created == 2
    again = upload(client, org, text).context["report"]
    assert again.created == 0
    assert [email for _, email in again.skipped_existing] == ["ada@example.com", "alan@example.com"]
    with tenant_scope(org):
        assert Contact.objects.count() == 2


def test_a_file_without_an_email_column_is_a_form_error(org, client_for):
    response = upload(client_for(Role.CSM), org, "Name,Phone\nAda Lovelace,123\n")
    assert "has no Email column" in response.content.decode()
    assert response.context["report"] is None


def test_non_csv_upload_is_refused(org, client_for):
    response = upload(client_for(Role.CSM), org, "hello", name="contacts.xlsx")
    assert "Upload a .csv file." in response.content.decode()


def test_export_defuses_formulas_and_stays_in_the_tenant(org, other_org, client_for):
    account = AccountFactory(organization=org, name='=HYPERLINK("http://evil")')
    ContactFactory(account=account, first_name="+cmd|calc", last_name="@SUM(A1)", email="ok@example.com")
    ContactFactory(account=AccountFactory(organization=other_org), email="theirs@example.com")
    response = client_for(Role.VIEWER).get(f"/o/{org.slug}/contacts/export.csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["First name", "Last name", "Email"]
    assert rows[1][:3] == ["'+cmd|calc", "'@SUM(A1)", "ok@example.com"]
    assert rows[1][4] == '\'=HYPERLINK("http://evil")'
    assert len(rows) == 2
    accounts = b"".join(client_for(Role.VIEWER).get(f"/o/{org.slug}/accounts/export.csv").streaming_content)
    assert b"'=HYPERLINK" in accounts


def test_defuse_formula_leaves_plain_text_alone():
    assert defuse_formula("Ada") == "Ada"
    assert defuse_formula("-5") == "'-5"
    assert defuse_formula(None) == ""
