"""Each source plugs in one adapter; the shared machinery (settings page, runs, tasks, schedules) calls only this.

An adapter is a class with:
  - `source`: a `Source` value;
  - `test_connection(connection) -> list[ConnectionCheck]`: what works with the stored credentials, without writing;
  - `sync(run, connection) -> None`: one run of `run.kind`, reporting through `integrations.services.sync_run_*`.
It raises `TransientSyncError` for what a retry may fix (the source unreachable, rate limited past patience).
"""

from dataclasses import asdict, dataclass
from typing import Protocol

from django.utils.module_loading import import_string

from integrations.models import Connection, Source, SyncRun

ADAPTERS: dict[str, str] = {
    Source.STRIPE: "revenue.sync.StripeAdapter",
    Source.HUBSPOT: "integrations.hubspot.sync.HubSpotAdapter",
}


class TransientSyncError(Exception):
    """The source could not be reached or refused for now; the task retries with backoff."""


@dataclass(frozen=True)
class ConnectionCheck:
    name: str  # "API key", "Read customers", …
    ok: bool
    detail: str  # what the admin should know: what works, or what to fix

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


class SourceAdapter(Protocol):
    source: str

    def test_connection(self, connection: Connection) -> list[ConnectionCheck]: ...

    def sync(self, run: SyncRun, connection: Connection) -> None: ...


def adapter_for(source: str) -> SourceAdapter:
    return import_string(ADAPTERS[source])()
