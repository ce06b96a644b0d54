import re

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.test import Client, override_settings
from django_scopes import ScopeError

from accounts.models import Account, Contact
from core.models import ApiKey, AuditEntry, Membership, Organization, Role
from core.tenancy import tenant_scope
from tests.factories import AccountFactory, MembershipFactory, UserFactory


@pytest.mark.parametrize("model", [Account, Contact, Membership, ApiKey, AuditEntry])
def test_tenant_queries_outside_a_scope_raise(db, model):
    with pytest.raises(ScopeError):
        list(model.objects.all())
    with pytest.raises(ScopeError):
        model.objects.filter(pk=1).exists()


def test_a_scope_only_sees_its_own_organization(org, other_org):
    AccountFactory(organization=org, name="Ours")
    AccountFactory(organization=other_org, name="Theirs")
    with tenant_scope(org):
        assert list(Account.objects.values_list("name", flat=True)) == ["Ours"]


def test_a_scope_needs_a_saved_organization(db):
    with pytest.raises(ValueError, match="saved organization"), tenant_scope(None):
        pass
    with pytest.raises(ValueError, match="saved organization"), tenant_scope(Organization(slug="unsaved")):
        pass


def test_anonymous_visitors_are_sent_to_sign_in(org, client):
    response = client.get(f"/o/{org.slug}/accounts/?cohort=trial")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/o/northwind/accounts/%3Fcohort%3Dtrial"


def test_non_members_and_unknown_organizations_are_the_same_404(org, client_for, other_org):
    outsider = client_for(Role.ADMIN, organization=other_org)
    assert outsider.get(f"/o/{org.slug}/").status_code == 404
    assert outsider.get("/o/no-such-org/").status_code == 404


def test_home_goes_to_the_only_organization_or_the_picker(org, other_org, client_for):
    client = client_for(Role.CSM)
    assert client.get("/")["Location"] == f"/o/{org.slug}/"
    MembershipFactory(user=client.user, organization=other_org, role=Role.VIEWER)
    client.logout()
    client.force_login(client.user)
    assert client.get("/")["Location"] == "/organizations/"
    picker = client.get("/organizations/").content.decode()
    assert "Northwind Robotics" in picker
    assert "Helios Analytics" in picker
    client.get(f"/o/{other_org.slug}/")
    assert client.get("/")["Location"] == f"/o/{other_org.slug}/"  # the last organization opened


def _login(client, email, password):
    return client.post("/login/", {"username": email, "password": password})


@override_settings(LOGIN_FAILURE_LIMIT=3)
def test_failed_logins_are_throttled(db):
    UserFactory(username="ada@example.test", email="ada@example.test")
    client = Client()
    for _ in range(3):
        assert "do not match" in _login(client, "ada@example.test", "wrong").content.decode()
    refused = _login(client, "ada@example.test", "pw-for-tests-1")
    assert "Too many failed sign-ins" in refused.content.decode()
    assert "_auth_user_id" not in client.session


def test_successful_login_by_email_clears_failures(db):
    UserFactory(username="ada@example.test", email="ada@example.test")
    client = Client()
    _login(client, "ada@example.test", "wrong")
    assert _login(client, "ADA@example.test", "pw-for-tests-1").status_code == 302


def test_password_reset_by_email(db):
    UserFactory(username="ada@example.test", email="ada@example.test")
    client = Client()
    client.post("/password-reset/", {"email": "ada@example.test"})
    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(/password-reset/\S+/)", mail.outbox[0].body).group(1)
    form_page = client.get(link, follow=True)
    client.post(
        form_page.redirect_chain[-1][0], {"new_password1": "N3w-passphrase!", "new_password2": "N3w-passphrase!"}
    )
    assert _login(Client(), "ada@example.test", "N3w-passphrase!").status_code == 302


def test_admin_invites_a_member_who_sets_a_password(org, client_for):
    admin = client_for(Role.ADMIN)
    response = admin.post(f"/o/{org.slug}/settings/members/", {"email": "new@northwind.example", "role": "support"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert "Northwind Robotics" in mail.outbox[0].subject
    link = re.search(r"http://testserver(/password-reset/\S+/)", mail.outbox[0].body).group(1)
    client = Client()
    page = client.get(link, follow=True)
    client.post(page.redirect_chain[-1][0], {"new_password1": "Welc0me-aboard!", "new_password2": "Welc0me-aboard!"})
    assert _login(Client(), "new@northwind.example", "Welc0me-aboard!").status_code == 302
    with tenant_scope(org):
        assert Membership.objects.get(user__email="new@northwind.example").role == "support"


def test_the_last_admin_cannot_be_removed_or_demoted(org, client_for):
    admin = client_for(Role.ADMIN)
    with tenant_scope(org):
        membership = Membership.objects.get(user=admin.user)
    response = admin.post(f"/o/{org.slug}/settings/members/{membership.pk}/role/", {"role": "viewer"}, follow=True)
    assert "at least one admin" in response.content.decode()
    admin.post(f"/o/{org.slug}/settings/members/{membership.pk}/remove/")
    with tenant_scope(org):
        assert Membership.objects.get(pk=membership.pk).role == "admin"


def test_api_keys_are_stored_hashed_listed_and_revoked(org, client_for, client):
    admin = client_for(Role.ADMIN)
    page = admin.post(f"/o/{org.slug}/settings/api-keys/", {"name": "Usage sync", "role": "csm"})
    raw_key = page.context["new_key"]
    with tenant_scope(org):
        key = ApiKey.objects.get(name="Usage sync")
    assert raw_key not in (key.hashed_secret, key.prefix)
    assert raw_key.startswith(f"csp_{key.prefix}_")
    assert client.get("/api/v1/accounts/", HTTP_AUTHORIZATION=f"Bearer {raw_key}").status_code == 200
    listing = admin.get(f"/o/{org.slug}/settings/api-keys/").content.decode()
    assert "Usage sync" in listing
    assert raw_key not in listing  # shown once, never again
    admin.post(f"/o/{org.slug}/settings/api-keys/{key.pk}/revoke/")
    assert client.get("/api/v1/accounts/", HTTP_AUTHORIZATION=f"Bearer {raw_key}").status_code == 401


def test_organization_settings_validate_and_record_changes(org, client_for):
    admin = client_for(Role.ADMIN)
    bad = admin.post(f"/o/{org.slug}/settings/", {"name": "Northwind", "default_currency": "E1R", "timezone": "UTC"})
    assert "three-letter" in bad.content.decode()
    admin.post(
        f"/o/{org.slug}/settings/", {"name": "Northwind AG", "default_currency": "eur", "timezone": "Europe/Berlin"}
    )
    org.refresh_from_db()
    assert (org.name, org.default_currency) == ("Northwind AG", "EUR")


def test_management_commands_bootstrap_a_deployment(db, capsys, client):
    call_command("create_org", "acme", "--name", "Acme Inc")
    with pytest.raises(CommandError, match="already exists"):
        call_command("create_org", "acme", "--name", "Again")
    call_command("create_member", "alice@acme.test", "--org", "acme", "--role", "csm", "--password", "pw-Alice-123")
    call_command("create_member", "alice@acme.test", "--org", "acme", "--role", "admin")
    organization = Organization.objects.get(slug="acme")
    with tenant_scope(organization):
        assert Membership.objects.get(user__email="alice@acme.test").role == "admin"
    with pytest.raises(CommandError, match="No organization"):
        call_command("create_member", "bob@acme.test", "--org", "nope", "--role", "csm")
    capsys.readouterr()
    call_command("create_api_key", "--org", "acme", "--role", "viewer", "--name", "ci")
    raw_key = capsys.readouterr().out.strip().splitlines()[-1]
    assert re.fullmatch(r"csp_[0-9a-f]{8}_\S+", raw_key)
    assert client.get("/api/v1/accounts/", HTTP_AUTHORIZATION=f"Bearer {raw_key}").status_code == 200


def test_seed_demo_creates_every_role_and_runs_once(db, capsys):
    call_command("seed_demo", "--accounts", "20")
    out = capsys.readouterr().out
    assert "Login: admin@northwind.example / demo-password-2026" in out
    northwind = Organization.objects.get(slug="northwind")
    with tenant_scope(northwind):
        assert set(Membership.objects.values_list("role", flat=True)) == set(Role.values)
        assert Account.objects.count() == 20
        assert set(Account.objects.values_list("cohort", flat=True)) == {"trial", "starter", "premium", "enterprise"}
        stages = set(Contact.objects.values_list("lifecycle_stage", flat=True))
        assert {"subscriber", "lead", "customer"} <= stages
        assert AuditEntry.objects.filter(action="account.created").count() == 20
    call_command("seed_demo")
    assert "nothing was changed" in capsys.readouterr().out
    with tenant_scope(northwind):
        assert Account.objects.count() == 20
