"""Who may edit playbooks.

Playbooks send email to customers and post in channels on the organization's behalf, so writing them is customer
success's work (seed 000: the CSM owns the customer lifecycle): admins and CSMs, the roles that already run
customer-facing campaigns (`migration.write`). Every role may read them. core.permissions has no playbook entry
yet; this one alias is the place to switch to a dedicated `Permission.PLAYBOOK_WRITE` once the matrix gains it.
"""

from core.permissions import Permission

PLAYBOOK_WRITE = Permission.PLAYBOOK_WRITE
PLAYBOOK_VIEW = Permission.VIEW
