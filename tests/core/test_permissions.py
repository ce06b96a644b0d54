"""Every role against every permission, through the real browser views and API endpoints."""

import re
from pathlib import Path

import pytest

from core.models import Role
from core.permissions import PERMISSION_LABELS, ROLE_PERMISSIONS, Permission
from tests.factories import AccountFactory, ContactFactory, DealFactory, TaskFactory

ALL_ROLES = list(Role.values)


# Who may set PQL or correct a stage backwards is decided inside the stage move (the same form for everyone):
# a role without the permission gets the move refused with the reason, 400, and the stage stays.
STAGE_RULE_PERMISSIONS = {
    Permission.STAGE_SET_PQL: ("lead", "productqualifiedlead", "", "Customer success sets Product Qualified Lead"),
    Permission.STAGE_CORRECT: ("salesqualifiedlead", "lead", "Imported wrongly", "is a correction"),
}


def ui_request(permission: Permission, client, org, account, contact):
    """One browser endpoint guarded by each permission: (method, url, data)."""
    base = f"/o/{org.slug}"
    deal = DealFactory(account=account)
    task = TaskFactory(account=account)
    return {
        Permission.DEAL_WRITE: ("get", f"{base}/deals/new/", None),
        Permission.DEAL_DELETE: ("get", f"{base}/deals/{deal.pk}/delete/", None),
        Permission.TASK_WRITE: ("post", f"{base}/tasks/{task.pk}/complete/", {}),
        Permission.TICKET_WORK: ("get", f"{base}/tickets/new/", None),
        Permission.VIEW: ("get", f"{base}/accounts/", None),
        Permission.ACCOUNT_WRITE: ("get", f"{base}/accounts/{account.pk}/edit/", None),
        Permission.ACCOUNT_DELETE: ("get", f"{base}/accounts/{account.pk}/delete/", None),
        Permission.CONTACT_WRITE: ("get", f"{base}/contacts/{contact.pk}/edit/", None),
        Permission.CONTACT_DELETE: ("get", f"{base}/contacts/{contact.pk}/delete/", None),
        Permission.CONTACT_IMPORT: ("get", f"{base}/contacts/import/", None),
        Permission.NOTE_ADD: ("post", f"{base}/accounts/{account.pk}/notes/", {"body": "Called the champion."}),
        Permission.ORGANIZATION_MANAGE: ("get", f"{base}/settings/members/", None),
        Permission.QBR_WRITE: ("get", f"{base}/accounts/{account.pk}/meetings/new/", None),
        Permission.FEATURE_REQUEST_WRITE: ("get", f"{base}/feature-requests/new/", None),
        Permission.CHURN_WRITE: ("get", f"{base}/churn/new/", None),
        Permission.MIGRATION_WRITE: ("get", f"{base}/migrations/new/", None),
        Permission.PLAYBOOK_WRITE: ("get", f"{base}/playbooks/new/", None),
        # Usage is reported through the API only; a signed-in member's session reaches it too.
        Permission.USAGE_WRITE: ("post", "/api/v1/usage/", {}),
    }[permission]


@pytest.mark.parametrize("role", ALL_ROLES)
@pytest.mark.parametrize("permission", [p for p in Permission if p not in STAGE_RULE_PERMISSIONS])
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


@pytest.mark.parametrize("role", [Role.ADMIN, Role.CSM, Role.AE, Role.SUPPORT])
@pytest.mark.parametrize("permission", list(STAGE_RULE_PERMISSIONS))
def test_stage_rule_permissions_in_the_browser(role, permission, org, client_for):
    from_stage, to_stage, reason, refusal = STAGE_RULE_PERMISSIONS[permission]
    contact = ContactFactory(account=AccountFactory(organization=org), lifecycle_stage=from_stage)
    response = client_for(role).post(
        f"/o/{org.slug}/contacts/{contact.pk}/stage/", {"lifecycle_stage": to_stage, "stage_change_reason": reason}
    )
    contact.refresh_from_db()
    if permission in ROLE_PERMISSIONS[role]:
        assert response.status_code == 302, (role, permission, response.status_code)
        assert contact.lifecycle_stage == to_stage
    else:
        assert response.status_code == 400, (role, permission, response.status_code)
        assert refusal in response.content.decode()
        assert contact.lifecycle_stage == from_stage


API_CASES = {
    Permission.VIEW: ("get", "/api/v1/accounts/", None),
    Permission.ACCOUNT_WRITE: ("post", "/api/v1/accounts/", {"name": "Quarry Labs", "cohort": "starter"}),
    Permission.ACCOUNT_DELETE: ("delete", "/api/v1/accounts/{account}/", None),
    Permission.CONTACT_WRITE: ("post", "/api/v1/contacts/", {"email": "new@quarry.example"}),
    Permission.CONTACT_DELETE: ("delete", "/api/v1/contacts/{contact}/", None),
    Permission.DEAL_WRITE: ("post", "/api/v1/deals/", {"account": "{account}", "amount": "5000"}),
    Permission.DEAL_DELETE: ("delete", "/api/v1/deals/{deal}/", None),
    Permission.TICKET_WORK: (
        "post",
        "/api/v1/tickets/",
        {"subject": "Help", "body": "Down", "requester_email": "a@quarry.example"},
    ),
    Permission.QBR_WRITE: ("post", "/api/v1/qbrs/", {"account": "{account}", "starts_at": "2027-01-12T10:00:00Z"}),
    Permission.FEATURE_REQUEST_WRITE: ("post", "/api/v1/feature-requests/", {"title": "Dark mode"}),
    Permission.MIGRATION_WRITE: (
        "post",
        "/api/v1/migration-campaigns/",
        {"name": "Move", "target_server": "k8s-2", "deadline": "2027-06-30", "instance_source": "csv"},
    ),
    Permission.PLAYBOOK_WRITE: (
        "post",
        "/api/v1/playbooks/",
        {
            "name": "Kickoff",
            "definition": {
                "trigger": {"type": "event", "event": "deal.committed"},
                "steps": [{"type": "task", "assignee": "csm", "title": "Kickoff with {{ account.name }}"}],
            },
        },
    ),
}


@pytest.mark.parametrize("role", ALL_ROLES)
@pytest.mark.parametrize("permission", list(API_CASES))
def test_api_enforces_the_matrix(role, permission, org, api_for):
    account = AccountFactory(organization=org)
    contact = ContactFactory(account=account)
    deal = DealFactory(account=account)
    method, url, data = API_CASES[permission]
    url = url.format(account=account.pk, contact=contact.pk, deal=deal.pk)
    if data:
        data = {
            key: value.format(account=account.pk) if isinstance(value, str) else value for key, value in data.items()
        }
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
