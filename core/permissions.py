"""The permission matrix: which role may do what inside its organization.

This table is the single source for the UI, the API and docs/permissions.md (a test keeps
that document in step with it). A foreign organization's objects are never a question of
role: they are 404 before any permission is looked at.
"""

from enum import StrEnum

from core.models import Role


class Permission(StrEnum):
    VIEW = "view"
    ACCOUNT_WRITE = "account.write"
    ACCOUNT_DELETE = "account.delete"
    CONTACT_WRITE = "contact.write"
    CONTACT_DELETE = "contact.delete"
    CONTACT_IMPORT = "contact.import"
    NOTE_ADD = "note.add"
    DEAL_WRITE = "deal.write"
    DEAL_DELETE = "deal.delete"
    TASK_WRITE = "task.write"
    STAGE_SET_PQL = "lifecycle.pql"
    STAGE_CORRECT = "lifecycle.correct"
    TICKET_WORK = "ticket.work"
    QBR_WRITE = "qbr.write"
    FEATURE_REQUEST_WRITE = "feature_request.write"
    CHURN_WRITE = "churn.write"
    MIGRATION_WRITE = "migration.write"
    USAGE_WRITE = "usage.write"
    PLAYBOOK_WRITE = "playbook.write"
    ORGANIZATION_MANAGE = "organization.manage"  # members, API keys, organization settings


PERMISSION_LABELS: dict[Permission, str] = {
    Permission.VIEW: "See accounts, contacts, notes, history, dashboard; export CSV",
    Permission.ACCOUNT_WRITE: "Create and edit accounts",
    Permission.ACCOUNT_DELETE: "Delete accounts",
    Permission.CONTACT_WRITE: "Create and edit contacts",
    Permission.CONTACT_DELETE: "Delete contacts",
    Permission.CONTACT_IMPORT: "Import contacts from CSV",
    Permission.NOTE_ADD: "Add notes to an account's timeline",
    Permission.DEAL_WRITE: "Create, edit, move and commit deals",
    Permission.DEAL_DELETE: "Delete deals",
    Permission.TASK_WRITE: "Add, complete and reopen tasks",
    Permission.STAGE_SET_PQL: "Mark a contact Product Qualified Lead",
    Permission.STAGE_CORRECT: "Move a contact's lifecycle stage backwards (a correction, with a reason)",
    Permission.TICKET_WORK: "Open, reply to, comment on, assign and close tickets",
    Permission.QBR_WRITE: "Schedule QBRs and customer meetings, record outcomes, share QBRs, record champion changes",
    Permission.FEATURE_REQUEST_WRITE: "Capture customer feature requests and change their status",
    Permission.CHURN_WRITE: "Open churn cases, run and skip their steps",
    Permission.MIGRATION_WRITE: "Create, run and pause server-migration campaigns",
    Permission.USAGE_WRITE: "Report product usage (daily metrics and feature events) through the API",
    Permission.PLAYBOOK_WRITE: "Create, edit, pause and resume playbooks; retry failed steps",
    Permission.ORGANIZATION_MANAGE: "Manage members, API keys and organization settings",
}

_EVERYTHING = frozenset(Permission)

_ADMIN_ONLY = {Permission.ORGANIZATION_MANAGE, Permission.STAGE_CORRECT}

ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    Role.ADMIN: _EVERYTHING,
    Role.CSM: _EVERYTHING - _ADMIN_ONLY,
    # Seed 002: customer success identifies PQLs from product usage; sales owns the rest of the funnel.
    # Seed 000: migration campaigns are run by customer success (and admins), not by sales.
    # Product usage is reported by the product's database with a customer-success key (seed 000, "Data Sources").
    # Playbooks email customers and post on the team's behalf: customer success's automation, not sales'.
    Role.AE: _EVERYTHING
    - _ADMIN_ONLY
    - {Permission.STAGE_SET_PQL, Permission.MIGRATION_WRITE, Permission.USAGE_WRITE, Permission.PLAYBOOK_WRITE},
    # Support creates and corrects contacts from tickets but does not own the account book.
    # Seed 004, "Customer requests": whoever hears a request files it, support included.
    Role.SUPPORT: frozenset(
        {
            Permission.VIEW,
            Permission.CONTACT_WRITE,
            Permission.NOTE_ADD,
            Permission.TASK_WRITE,
            Permission.TICKET_WORK,
            Permission.FEATURE_REQUEST_WRITE,
        }
    ),
    Role.VIEWER: frozenset({Permission.VIEW}),
}


def role_can(role: str, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS.get(role, frozenset())
