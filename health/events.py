"""Which domain events change a health input: each enqueues a recompute of that one account."""

from core.events import DomainEvent

# Names and prefixes of the events whose change feeds a measure (usage, tickets, notes, meetings and QBRs,
# onboarding and tasks, deals, Stripe, the account's cohort). Health's own events are not among them.
RECOMPUTE_PREFIXES = ("usage.", "ticket.", "meeting.", "qbr.", "onboarding.", "revenue.", "stripe.")
RECOMPUTE_NAMES = {
    "note.added", "task.completed", "task.reopened", "task.created", "deal.committed", "deal.stage_changed",
    "account.updated", "account.handoff_completed", "account.created",
}  # fmt: skip


def affects_health(name: str) -> bool:
    return name in RECOMPUTE_NAMES or name.startswith(RECOMPUTE_PREFIXES)


def health_event_received(event: DomainEvent) -> None:
    """Kept cheap, as core.events asks: a name check and one enqueue."""
    if event.account_id is None or not affects_health(event.name):
        return
    from health.tasks import health_recompute_account

    health_recompute_account.delay(event.organization_id, event.account_id)
