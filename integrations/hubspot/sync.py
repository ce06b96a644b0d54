"""One HubSpot sync run: companies, then contacts, then deals (so associations find their account), then the
write-back of what changed here.

- Full: the list endpoints, paged with their `after` cursor to the end, associations inline.
- Incremental: search on the last-modified property from the watermark minus an overlap up to the run's start.
  HubSpot's search pages through at most 10,000 results, so the time range is bisected until each part holds
  at most 10,000; within a part, pages of 200 by offset (stepping back when objects left the range meanwhile,
  so none is skipped), associations by v4 batch reads of 100.

Counts and progress go to the run after each batch of at most 100 (integrations.services.sync_run_advance), so
the settings page shows a live bar, and the lock is renewed with them.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta

from django.utils import timezone

from core.models import Organization
from integrations import services as integration_services
from integrations.hubspot import mapping
from integrations.hubspot.client import (
    SEARCH_LIMIT,
    HubSpotApiError,
    HubSpotAuthError,
    HubSpotClient,
    RemoteObject,
    hubspot_client,
)
from integrations.hubspot.mapping import ACCOUNT, CONTACT, DEAL, HUBSPOT_OBJECT
from integrations.hubspot.services import BatchResult, HubSpotImporter, stage_mappings_refresh
from integrations.hubspot.writeback import writeback_push
from integrations.models import Connection, Source, SyncKind, SyncRun
from integrations.registry import ConnectionCheck

logger = logging.getLogger(__name__)

ORDER = (ACCOUNT, CONTACT, DEAL)
OVERLAP = timedelta(minutes=5)  # clocks differ and HubSpot indexes search with a short delay
IMPORT_BATCH = 100
MILLISECOND = timedelta(milliseconds=1)
PREFETCH_PAGES = 100  # pages read ahead (about one rate-limit window: the burst is not wasted), ~10 MB
WRITE_BATCH = 500  # records written in one transaction, from the pages read meanwhile
REQUEST_JOIN_SECONDS = 90  # a read in flight finishes (or times out, REQUEST_TIMEOUT) before the run ends


class HubSpotAdapter:
    source = Source.HUBSPOT

    def test_connection(self, connection: Connection) -> list[ConnectionCheck]:
        return test_connection(connection)

    def sync(self, run: SyncRun, connection: Connection) -> None:
        HubSpotSync(run=run, connection=connection).execute()


def test_connection(connection: Connection) -> list[ConnectionCheck]:
    """What the stored token can do, read-only: each object it must read, the deal pipelines, the FFC properties."""
    client = hubspot_client(connection, max_attempts=3)
    checks: list[ConnectionCheck] = []
    for object_type, label in ((CONTACT, "Read contacts"), (ACCOUNT, "Read companies"), (DEAL, "Read deals")):
        try:
            client.list_page(HUBSPOT_OBJECT[object_type], properties=[], limit=1)
        except HubSpotAuthError as exc:
            detail = "The token was refused: check it, and its scopes." if exc.status == 401 else "Missing scope."
            checks.append(ConnectionCheck(label, ok=False, detail=f"{detail} ({exc.status})"))
            if exc.status == 401:
                return checks  # nothing else will work with this token
            continue
        except HubSpotApiError as exc:
            checks.append(ConnectionCheck(label, ok=False, detail=str(exc)))
            continue
        checks.append(ConnectionCheck(label, ok=True, detail="Works."))
    try:
        pipelines = client.deal_pipelines()
        stages = sum(len(pipeline["stages"]) for pipeline in pipelines)
        checks.append(
            ConnectionCheck(
                "Deal pipelines", ok=bool(pipelines), detail=f"{len(pipelines)} pipeline(s), {stages} stages."
            )
        )
    except HubSpotApiError as exc:
        checks.append(ConnectionCheck("Deal pipelines", ok=False, detail=str(exc)))
    missing = []
    for name in mapping.FFC_PROPERTIES:
        try:
            if not client.property_exists("contacts", name):
                missing.append(name)
        except HubSpotApiError:
            missing.append(name)
    checks.append(
        ConnectionCheck(
            "FFC properties",
            ok=not missing,
            detail="ffc_tier, ffc_actions and ffc_usage exist on contacts."
            if not missing
            else f"Create these contact properties in HubSpot: {', '.join(missing)}.",
        )
    )
    checks.append(
        ConnectionCheck(
            "Webhook secret",
            ok=bool(connection.webhook_secret_sealed),
            detail="Saved: webhooks are verified with it."
            if connection.webhook_secret_sealed
            else "Not saved: webhooks will be refused until the app's client secret is saved.",
        )
    )
    return checks


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _range_filter(object_type: str, start: datetime, end: datetime) -> list[dict]:
    prop = mapping.MODIFIED_PROPERTY[object_type]
    return [
        {
            "filters": [
                {"propertyName": prop, "operator": "GTE", "value": str(_ms(start))},
                {"propertyName": prop, "operator": "LT", "value": str(_ms(end))},
            ]
        }
    ]


class HubSpotSync:
    def __init__(self, *, run: SyncRun, connection: Connection, client: HubSpotClient | None = None) -> None:
        self.run = run
        self.connection = connection
        self.organization = Organization.objects.get(pk=run.organization_id)
        self.client = client or hubspot_client(connection)
        self.totals = BatchResult()
        self.windows = 0
        self.seconds_waiting_for_hubspot = 0.0  # the writer idle, waiting for the next page
        self.seconds_writing = 0.0

    def execute(self) -> SyncRun:
        started = timezone.now()
        stage_mappings_refresh(organization=self.organization, pipelines=self.client.deal_pipelines())
        self.importer = HubSpotImporter(organization=self.organization, run=self.run)
        watermark = self.connection.events_watermark
        if self.run.kind == SyncKind.FULL or watermark is None:
            self._full()
            since = None
        else:
            since = watermark - OVERLAP
            self._incremental(since=since, until=started)
        pushed = writeback_push(organization=self.organization, client=self.client, run=self.run)
        # A record that failed is read again next time: the watermark stops before the oldest failure.
        advance_to = started
        if self.totals.oldest_failed is not None:
            advance_to = min(started, self.totals.oldest_failed)
        integration_services.sync_watermark_advance(
            organization=self.organization, source=Source.HUBSPOT, to=advance_to
        )
        summary = {
            "read_since": since.isoformat() if since else None,
            "requests": self.client.stats.requests,
            "rate_limited": self.client.stats.rate_limited,
            "retried": self.client.stats.retried,
            "waited_seconds": round(self.client.pacer.waited, 1),
            "writing_seconds": round(self.seconds_writing, 1),
            "waiting_for_hubspot_seconds": round(self.seconds_waiting_for_hubspot, 1),
            "search_windows": self.windows,
            "stale_skipped": self.totals.stale,
            "conflicts": self.totals.conflicts,
            **pushed,
        }
        return integration_services.sync_run_finish(self.run, summary=summary)

    # ------------------------------------------------------------------ full

    def _full(self) -> None:
        total = sum(self.client.search_total(HUBSPOT_OBJECT[object_type], filter_groups=[]) for object_type in ORDER)
        integration_services.sync_run_set_total(self.run, total)
        self._pipelined(self._full_pages())

    def _full_pages(self) -> Iterator[tuple[str, list[RemoteObject]]]:
        for object_type in ORDER:
            after = None
            while True:
                objects, after = self.client.list_page(
                    HUBSPOT_OBJECT[object_type],
                    properties=mapping.PROPERTIES[object_type],
                    after=after,
                    associations=mapping.ASSOCIATIONS[object_type],
                )
                yield object_type, objects
                if not after:
                    break

    # ------------------------------------------------------------------ incremental

    def _incremental(self, *, since: datetime, until: datetime) -> None:
        plan = [(object_type, window) for object_type in ORDER for window in self.windows_of(object_type, since, until)]
        self.windows = len(plan)
        integration_services.sync_run_set_total(self.run, sum(total for _, (_, _, total) in plan))
        self._pipelined(
            batch
            for object_type, (start, end, total) in plan
            if total
            for batch in self._window_pages(object_type, start, end)
        )

    def windows_of(self, object_type: str, start: datetime, end: datetime) -> list[tuple[datetime, datetime, int]]:
        """Bisects [start, end) until each part has at most 10,000 modified objects: [(start, end, count)]."""
        total = self.client.search_total(
            HUBSPOT_OBJECT[object_type], filter_groups=_range_filter(object_type, start, end)
        )
        if total <= self.client.search_window:
            return [(start, end, total)]
        if end - start <= MILLISECOND:
            raise HubSpotApiError(
                400, f"More than {self.client.search_window} {object_type}s changed within one millisecond."
            )
        middle = start + (end - start) / 2
        middle = middle.replace(microsecond=middle.microsecond // 1000 * 1000)
        if middle <= start:
            middle = start + MILLISECOND
        return self.windows_of(object_type, start, middle) + self.windows_of(object_type, middle, end)

    def _window_pages(
        self, object_type: str, start: datetime, end: datetime
    ) -> Iterator[tuple[str, list[RemoteObject]]]:
        hubspot_type = HUBSPOT_OBJECT[object_type]
        prop = mapping.MODIFIED_PROPERTY[object_type]
        after, known_total = 0, None
        while True:
            objects, total, next_after = self.client.search_page(
                hubspot_type,
                filter_groups=_range_filter(object_type, start, end),
                sorts=[{"propertyName": prop, "direction": "ASCENDING"}],
                properties=mapping.PROPERTIES[object_type],
                after=after,
                limit=min(SEARCH_LIMIT, self.client.search_window - after),
            )
            for first in range(0, len(objects), IMPORT_BATCH):
                batch = objects[first : first + IMPORT_BATCH]
                self._associate(object_type, batch)
                yield object_type, batch
            if next_after is None or not objects:
                break
            if known_total is not None and total < known_total:
                # Objects changed again while we paged left the range, and those behind them moved up: step back
                # by as many, so none is skipped (the ones read twice are unchanged the second time).
                next_after = max(0, next_after - (known_total - total))
            known_total = total
            after = next_after

    def _associate(self, object_type: str, objects: list[RemoteObject]) -> None:
        for to_type in mapping.ASSOCIATIONS[object_type]:
            linked = self.client.associated_ids(HUBSPOT_OBJECT[object_type], to_type, [obj.id for obj in objects])
            for obj in objects:
                obj.associations = {**(obj.associations or {}), to_type: linked.get(obj.id, [])}

    # ------------------------------------------------------------------ shared

    def _pipelined(self, pages: Iterator[tuple[str, list[RemoteObject]]]) -> None:
        """Reads the next pages from HubSpot in a thread while this one writes the last to the database, so a sync
        runs at the pace HubSpot's rate limit allows rather than at that pace plus the database's. The reading
        thread touches no database; its errors (a TransientSyncError after too many 429s) are raised here."""
        pending: queue.Queue = queue.Queue(maxsize=PREFETCH_PAGES)
        stop = threading.Event()

        def put(item) -> bool:
            while not stop.is_set():
                try:
                    pending.put(item, timeout=0.2)
                    return True
                except queue.Full:
                    continue
            return False

        def read() -> None:
            try:
                for page in pages:
                    if not put(("page", page)):
                        return
            except BaseException as exc:  # handed to the writing thread, which raises it
                put(("error", exc))
                return
            put(("done", None))

        reader = threading.Thread(target=read, name="hubspot-reader", daemon=True)
        reader.start()
        held = None
        try:
            while True:
                waited = time.perf_counter()
                kind, item = held or pending.get()
                held = None
                self.seconds_waiting_for_hubspot += time.perf_counter() - waited
                if kind == "done":
                    break
                if kind == "error":
                    raise item
                object_type, objects = item
                # Pages already read of the same type are written together: fewer, larger statements.
                while len(objects) < WRITE_BATCH:
                    try:
                        kind, more = pending.get_nowait()
                    except queue.Empty:
                        break
                    if kind != "page" or more[0] != object_type:
                        held = (kind, more)
                        break
                    objects = objects + more[1]
                applying = time.perf_counter()
                self._apply(object_type, objects)
                self.seconds_writing += time.perf_counter() - applying
        finally:
            stop.set()
            reader.join(timeout=REQUEST_JOIN_SECONDS)

    def _apply(self, object_type: str, objects: list[RemoteObject]) -> None:
        result = self.importer.import_batch(object_type, objects)
        for error_type, external_id, message in result.errors:
            integration_services.sync_error_record(
                self.run, object_type=error_type, external_id=external_id, message=message
            )
        integration_services.sync_run_advance(
            self.run,
            processed=len(objects),
            created=result.created,
            updated=result.updated,
            unchanged=result.unchanged,
            failed=result.failed,
        )
        self.totals.add(result)
