"""Reads for the integrations settings pages."""

from django.db.models import QuerySet

from integrations.models import SyncRun, WebhookEvent

RECENT_RUNS = 10
RECENT_EVENTS = 15


def sync_runs_recent(*, source: str, limit: int = RECENT_RUNS) -> list[SyncRun]:
    return list(SyncRun.objects.filter(source=source).select_related("requested_by")[:limit])


def sync_run_errors(*, run: SyncRun, limit: int = 200) -> QuerySet:
    return run.errors.all()[:limit]


def webhook_events_recent(*, source: str, limit: int = RECENT_EVENTS) -> list[WebhookEvent]:
    return list(
        WebhookEvent.objects.filter(source=source).defer("payload", "raw_body").order_by("-received_at", "-id")[:limit]
    )
