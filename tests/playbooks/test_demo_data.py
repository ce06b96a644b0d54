"""The demo's playbooks: the templates installed, a history with each state a page shows, once."""

import random

from core.models import Role
from core.tenancy import tenant_scope
from playbooks.demo_data import seed_playbooks
from playbooks.models import Enrollment, Playbook, SentEmail, StepRun
from playbooks.selectors import playbook_dry_run
from tests.factories import AccountFactory, ContactFactory, MembershipFactory


def test_the_demo_installs_the_templates_and_a_history_once(org):
    members = {Role.CSM: MembershipFactory(organization=org, role=Role.CSM).user}
    for _ in range(20):
        ContactFactory(account=AccountFactory(organization=org, csm_owner=members[Role.CSM]))
    rng = random.Random(7)
    state = rng.getstate()
    with tenant_scope(org):
        seed_playbooks(organization=org, members=members, rng=rng)
        assert rng.getstate() == state  # the seeds after this one see the same random stream
        assert Playbook.objects.count() == 6
        assert set(Playbook.objects.values_list("status", flat=True)) == {"active", "paused", "draft"}
        statuses = set(StepRun.objects.values_list("status", flat=True))
        assert {"succeeded", "pending", "failed"} <= statuses
        assert set(Enrollment.objects.values_list("status", flat=True)) >= {"active", "completed", "failed"}
        assert SentEmail.objects.exists()
        for playbook in Playbook.objects.all():
            playbook_dry_run(playbook=playbook)  # every demo definition renders
        counts = (Playbook.objects.count(), StepRun.objects.count())
        seed_playbooks(organization=org, members=members, rng=random.Random(8))
        assert (Playbook.objects.count(), StepRun.objects.count()) == counts
