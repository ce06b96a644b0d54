"""Every role against every permission, through the real browser views and API endpoints."""

import re
from pathlib import Path

import pytest

from core.models import Role
from core.permissions import PERMISSION_LABELS, ROLE_PERMISSIONS, Permission
from tests.factories import AccountFactory, ContactFactory

ALL_ROLES = list(Role.values)


def ui_request(permission: Permission, client, org, account, contact):
    """One browser endpoint guarded by each permission: (method, url, data)."""
    base = f"/o/{org.slug}"
    return {
        Permission.VIEW: ("get", f"{base}/accounts/", None),
        Permission.ACCOUNT_WRITE: ("get", f"{base}/accounts/{account.pk}/edit/", None),
        Permission.ACCOUNT_DELETE: ("get", f"{base}/accounts/{account.pk}/delete/", None),
        Permission.CONTACT_WRITE: ("get", f"{base}/contacts/{contact.pk}/edit/", None),
        Permission.CONTACT_DELETE: ("get", f"{base}/contacts/{contact.pk}/delete/", None),
        Permission.CONTACT_IMPORT: ("get", f"{base}/contacts/import/", None),
        Permission.NOTE_ADD: ("post", f"{base}/accounts/{account.pk}/notes/", {"body": "Called the champion."}),
        Permission.ORGANIZATION_MANAGE: ("get", f"{base}/settings/members/", None),
    }[permission]


@pytest.mark.parametrize("role", ALL_ROLES)
@pytest.mark.parametrize("permission", list(Permission))
def test_browser_enforces_the_matrix(role, permission, org, client_for):
    account = AccountFactory(organization=org)
    contact = ContactFactory(account=account)
    client = client_for(role)
    method, url, data = ui_request(permission, client, org, account, contact)
    response = getattr(client, method)(url, data or {})
    allowed = permission in ROLE_PERMISSIONS[role]
    if allowed:
        assert response.status_code in (200, 302), (role, permission, response.status_code)
    else:
        assert response.status_code == 403, (role, permission, response.status_code)


API_CASES = {
    Permission.VIEW: ("get", "/api/v1/accounts/", None),
    Permission.ACCOUNT_WRITE: ("post", "/api/v1/accounts/", {"name": "Quarry Labs", "cohort": "starter"}),
    Permission.ACCOUNT_DELETE: ("delete", "/api/v1/accounts/{account}/", None),
    Permission.CONTACT_WRITE: ("post", "/api/v1/contacts/", {"email": "new@quarry.example"}),
    Permission.CONTACT_DELETE: ("delete", "/api/v1/contacts/{contact}/", None),
}


@pytest.mark.parametrize("role", ALL_ROLES)
@pytest.mark.parametrize("permission", list(API_CASES))
def test_api_enforces_the_matrix(role, permission, org, api_for):
    account = AccountFactory(organization=org)
    contact = ContactFactory(account=account)
    method, url, data = API_CASES[permission]
    url = url.format(account=account.pk, contact=contact.pk)
    response = getattr(api_for(role), method)(url, data, format="json")
    if permission in ROLE_PERMISSIONS[role]:
        assert response.status_code in (200, 201, 204), (role, permission, response.status_code, response.content)
    else:
        assert response.status_code == 403, (role, permission, response.status_code)
        assert response.json() == {"detail": "Your role may not do this."}


def test_write_buttons_are_hidden_from_viewers(org, client_for):
    account = AccountFactory(organization=org)
    page = client_for(Role.VIEWER).get(f"/o/{org.slug}/accounts/{account.pk}/").content.decode()
    assert "Edit account" not in page
    assert "Add note" not in page
    assert "Edit account" in client_for(Role.CSM).get(f"/o/{org.slug}/accounts/{account.pk}/").content.decode()


def test_permissions_doc_matches_the_code():
    text = (Path(__file__).resolve().parents[2] / "docs" / "permissions.md").read_text()
    rows = [line for line in text.splitlines() if line.startswith("| ") and "`" in line]
    header = next(line for line in text.splitlines() if line.startswith("| Permission |"))
    roles = [cell.strip() for cell in header.strip("|").split("|")][2:]
    assert roles == list(ROLE_PERMISSIONS)
    documented = {}
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        code = re.fullmatch(r"`(.+)`", cells[1]).group(1)
        documented[Permission(code)] = (
            cells[0],
            {role for role, cell in zip(roles, cells[2:], strict=True) if cell == "yes"},
        )
    assert set(documented) == set(Permission)
    for permission, (label, roles_allowed) in documented.items():
        assert label == PERMISSION_LABELS[permission]
        assert roles_allowed == {role for role, granted in ROLE_PERMISSIONS.items() if permission in granted}
