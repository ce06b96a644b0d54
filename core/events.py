"""Domain events: what just happened in an organization, told to the apps that react to it once the change commits.

`audit_record` publishes every audited action under its own name ("deal.committed", "contact.stage_changed",
"account.updated" with the field changes); the few changes made without an actor publish directly
("ticket.sla_breached", "usage.reported", "health.threshold_crossed", "health.signal_raised").

Subscribers (health recompute, playbook triggers) register in their AppConfig.ready and must stay cheap: they
enqueue a Celery task and return. A subscriber that fails is logged and never undoes the change that was made.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DomainEvent:
    organization_id: int
    name: str
    account_id: int | None = None
    object_type: str = ""
    object_id: int | None = None
    changes: dict[str, list[Any]] = field(default_factory=dict)  # {"field": [before, after]}, printable values
    payload: dict[str, Any] = field(default_factory=dict)
    occurred_at: datetime = field(default_factory=timezone.now)

    def as_message(self) -> dict[str, Any]:
        """A JSON-safe dict for a Celery message; `from_message` reads it back."""
        message = asdict(self)
        message["occurred_at"] = self.occurred_at.isoformat()
        return message

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> DomainEvent:
        values = dict(message)
        values["occurred_at"] = datetime.fromisoformat(values["occurred_at"])
        return cls(**values)


Subscriber = Callable[[DomainEvent], None]
_subscribers: list[Subscriber] = []
_muted: ContextVar[bool] = ContextVar("events_muted", default=False)


@contextmanager
def events_muted() -> Iterator[None]:
    """For bulk work that recomputes what it needs at the end (the demo seed): its thousands of changes would
    otherwise each enqueue a recompute and a trigger check."""
    token = _muted.set(True)
    try:
        yield
    finally:
        _muted.reset(token)


def event_subscribe(subscriber: Subscriber) -> None:
    if subscriber not in _subscribers:
        _subscribers.append(subscriber)


def event_unsubscribe(subscriber: Subscriber) -> None:
    if subscriber in _subscribers:
        _subscribers.remove(subscriber)


def event_publish(event: DomainEvent) -> None:
    """Tells the subscribers after the surrounding transaction commits: a rolled-back change never happened."""
    if _muted.get():
        return
    transaction.on_commit(lambda: _deliver(event))


def _deliver(event: DomainEvent) -> None:
    for subscriber in list(_subscribers):
        try:
            subscriber(event)
        except Exception:
            logger.exception(
                "Event subscriber %s failed on %s", getattr(subscriber, "__name__", subscriber), event.name
            )
