"""Who may edit playbooks.

Playbooks send email to customers and post in channels on the organization's behalf, so writing them is customer
success's work (seed 000: the CSM owns the customer lifecycle): admins and CSMs hold `playbook.write`
(core.permissions). Every role may read them.
"""

from core.permissions import Permission

PLAYBOOK_WRITE = Permission.PLAYBOOK_WRITE
PLAYBOOK_VIEW = Permission.VIEW
