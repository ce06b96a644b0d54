"""The one way this code talks to HubSpot: the official SDK, paced, retried, and pointed at the right host.

`hubspot_client(connection)` builds it from the organization's sealed token and optional `api_base_url`. Every
call goes through `HubSpotClient._call`, which waits for the rate-limit window, reads the answer's
`X-HubSpot-RateLimit-*` headers, and retries a 429 (or a 5xx, or a dropped connection) with exponential backoff
and jitter: a batch refused for the rate is sent again as it was, so no record is lost to a 429. After
`max_attempts` it raises TransientSyncError and the Celery task retries the run (whose writes are upserts).

hubspot-api-client 12 facts this relies on (read in site-packages/hubspot):
  - `HubSpot(**config)` copies every config key onto each API's `Configuration` (discovery_base.py), and
    `Configuration.host` has a setter, so `host=` points every API at another address;
  - `retry=` becomes `Configuration.retries`, handed to urllib3's PoolManager: we let urllib3 retry only
    connection set-up, and do status retries ourselves so that each retry passes the pacer;
  - each `discovery` property builds a new ApiClient (and connection pool), so the APIs are built once here;
  - `*_with_http_info` returns (data, status, headers); an ApiException carries `.status` and `.headers`.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import hubspot
import urllib3
from hubspot.crm.associations.v4 import (
    BatchInputPublicFetchAssociationsBatchRequest,
    PublicFetchAssociationsBatchRequest,
)
from hubspot.crm.associations.v4.exceptions import ApiException as AssociationsApiException
from hubspot.crm.companies.exceptions import ApiException as CompaniesApiException
from hubspot.crm.contacts.exceptions import ApiException as ContactsApiException
from hubspot.crm.deals.exceptions import ApiException as DealsApiException
from hubspot.crm.pipelines.exceptions import ApiException as PipelinesApiException
from hubspot.crm.properties.exceptions import ApiException as PropertiesApiException
from urllib3.util.retry import Retry

from integrations.hubspot.rate_limit import RateLimitPacer, pacer_for
from integrations.registry import TransientSyncError

logger = logging.getLogger(__name__)

API_EXCEPTIONS = (
    ContactsApiException,
    CompaniesApiException,
    DealsApiException,
    AssociationsApiException,
    PipelinesApiException,
    PropertiesApiException,
)
BATCH_LIMIT = 100  # HubSpot's batch read/create/update/upsert take at most 100 inputs
LIST_LIMIT = 100  # the list endpoints page by at most 100
SEARCH_LIMIT = 200  # search pages by at most 200
SEARCH_WINDOW = 10_000  # and never past the 10,000th result
REQUEST_TIMEOUT = (5, 60)  # connect, read (seconds)
OBJECT_TYPES = ("companies", "contacts", "deals")


class HubSpotApiError(Exception):
    """HubSpot refused for good (4xx other than 429): the request, not the moment, is wrong."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"HubSpot answered {status}: {body[:500]}")
        self.status, self.body = status, body


class HubSpotAuthError(HubSpotApiError):
    """401/403: the token is wrong, revoked, or lacks a scope."""


@dataclass
class RemoteObject:
    """What the sync needs of a HubSpot CRM object, whichever endpoint it came from."""

    id: str
    properties: dict[str, str | None]
    updated_at: datetime | None
    archived: bool = False
    associations: dict[str, list[str]] | None = None  # {"companies": ["123"]} when the endpoint gave them


@dataclass
class CallStats:
    requests: int = 0
    rate_limited: int = 0
    retried: int = 0


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _as_remote(obj: dict[str, Any]) -> RemoteObject:
    """An object of a JSON answer (list, search, batch): id, properties, updatedAt, inline associations."""
    inline = obj.get("associations")
    associations = None
    if inline:
        associations = {
            name: [str(item["id"]) for item in value.get("results") or []] for name, value in inline.items()
        }
    return RemoteObject(
        id=str(obj["id"]),
        properties=dict(obj.get("properties") or {}),
        updated_at=_time(obj.get("updatedAt")),
        archived=bool(obj.get("archived")),
        associations=associations,
    )


class HubSpotClient:
    def __init__(
        self,
        *,
        access_token: str,
        host: str = "",
        pacer: RateLimitPacer | None = None,
        max_attempts: int = 8,
        sleep: Callable[[float], None] | None = None,
        search_window: int = SEARCH_WINDOW,
    ) -> None:
        config: dict[str, Any] = {
            "access_token": access_token,
            # urllib3 retries only a failed connection set-up; 429s and 5xx come back to _call.
            "retry": Retry(total=2, connect=2, read=0, redirect=0, status=0, other=0),
        }
        if host:
            config["host"] = host.rstrip("/")
        sdk = hubspot.HubSpot(**config)
        crm = sdk.crm
        self.basic = {
            "companies": crm.companies.basic_api,
            "contacts": crm.contacts.basic_api,
            "deals": crm.deals.basic_api,
        }
        self.batch = {
            "companies": crm.companies.batch_api,
            "contacts": crm.contacts.batch_api,
            "deals": crm.deals.batch_api,
        }
        self.search = {
            "companies": crm.companies.search_api,
            "contacts": crm.contacts.search_api,
            "deals": crm.deals.search_api,
        }
        self.associations_batch = crm.associations.v4.batch_api
        self.pipelines = crm.pipelines.pipelines_api
        self.properties = crm.properties.core_api
        self.pacer = pacer or pacer_for(hashlib.sha256(access_token.encode()).hexdigest())
        self.max_attempts = max_attempts
        self.search_window = search_window  # HubSpot's is 10,000; a test portal may have a smaller one
        self._sleep = sleep or self.pacer.sleep
        self.stats = CallStats()

    # ------------------------------------------------------------------ the one door

    def _call(self, operation: Callable[..., Any], *, raw: bool = False, **kwargs: Any) -> Any:
        """Runs one `*_with_http_info` SDK call under the pacer; retries what a retry can fix.

        raw=True returns the answer's JSON instead of the SDK's model objects (`_preload_content=False`, an SDK
        option): the models cost a third of a millisecond a record (an object per record, each timestamp parsed
        by dateutil), a third of the whole budget at the 1,000 records a second HubSpot's limit allows.
        """
        for attempt in itertools.count():
            self.pacer.wait()
            self.stats.requests += 1
            try:
                if raw:
                    response = operation(**kwargs, _request_timeout=REQUEST_TIMEOUT, _preload_content=False)
                    data, headers = json.loads(response.data or b"{}"), response.headers
                else:
                    data, _status, headers = operation(**kwargs, _request_timeout=REQUEST_TIMEOUT)
            except API_EXCEPTIONS as exc:
                self.pacer.record(dict(exc.headers or {}))
                status = exc.status or 0
                if status == 429 or status >= 500:
                    self.stats.rate_limited += status == 429
                    if attempt + 1 >= self.max_attempts:
                        raise TransientSyncError(f"HubSpot kept answering {status} after {attempt + 1} tries") from exc
                    pause = self.pacer.backoff(attempt)
                    logger.info("HubSpot answered %s; trying the same request again in %.1fs", status, pause)
                    self.stats.retried += 1
                    self._sleep(pause)
                    continue
                body = exc.body if isinstance(exc.body, str) else (exc.body or b"").decode("utf-8", "replace")
                if status in (401, 403):
                    raise HubSpotAuthError(status, body) from exc
                raise HubSpotApiError(status, body) from exc
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                self.pacer.record(None)
                if attempt + 1 >= self.max_attempts:
                    raise TransientSyncError(f"HubSpot could not be reached: {exc}") from exc
                self.stats.retried += 1
                self._sleep(self.pacer.backoff(attempt))
                continue
            self.pacer.record(dict(headers or {}))
            return data
        raise AssertionError("unreachable")  # pragma: no cover

    # ------------------------------------------------------------------ reads

    def list_page(
        self,
        object_type: str,
        *,
        properties: Iterable[str],
        after: str | None = None,
        associations: Iterable[str] = (),
        limit: int = LIST_LIMIT,
    ) -> tuple[list[RemoteObject], str | None]:
        """One page of the list endpoint (at most 100) with associations inline; (objects, next cursor)."""
        kwargs: dict[str, Any] = {"limit": min(limit, LIST_LIMIT), "properties": list(properties), "archived": False}
        if after:
            kwargs["after"] = after
        if associations:
            kwargs["associations"] = list(associations)
        page = self._call(self.basic[object_type].get_page_with_http_info, raw=True, **kwargs)
        next_after = ((page.get("paging") or {}).get("next") or {}).get("after")
        return [_as_remote(obj) for obj in page.get("results") or []], next_after

    def search_page(
        self,
        object_type: str,
        *,
        filter_groups: list[dict],
        sorts: list[dict],
        properties: Iterable[str],
        after: int = 0,
        limit: int = SEARCH_LIMIT,
    ) -> tuple[list[RemoteObject], int, int | None]:
        """One search page: (objects, total matching, next offset or None). Refuses to page past 10,000."""
        if after + limit > self.search_window:
            raise ValueError(f"HubSpot's search does not page past {self.search_window} results: split the time range.")
        request = {
            "filterGroups": filter_groups,
            "sorts": sorts,
            "properties": list(properties),
            "limit": limit,
            "after": str(after),
        }
        page = self._call(
            self.search[object_type].do_search_with_http_info, raw=True, public_object_search_request=request
        )
        next_after = ((page.get("paging") or {}).get("next") or {}).get("after")
        objects = [_as_remote(obj) for obj in page.get("results") or []]
        return objects, int(page.get("total") or 0), int(next_after) if next_after is not None else None

    def search_total(self, object_type: str, *, filter_groups: list[dict]) -> int:
        _, total, _ = self.search_page(object_type, filter_groups=filter_groups, sorts=[], properties=[], limit=1)
        return total

    def batch_read(self, object_type: str, ids: list[str], *, properties: Iterable[str]) -> list[RemoteObject]:
        """Objects by id, at most 100 per call; ids HubSpot no longer has are simply not in the answer."""
        if len(ids) > BATCH_LIMIT:
            raise ValueError(f"HubSpot batch reads take at most {BATCH_LIMIT} ids")
        if not ids:
            return []
        request = {"inputs": [{"id": object_id} for object_id in ids], "properties": list(properties)}
        page = self._call(
            self.batch[object_type].read_with_http_info, raw=True, batch_read_input_simple_public_object_id=request
        )
        return [_as_remote(obj) for obj in page.get("results") or []]

    def associated_ids(self, from_type: str, to_type: str, ids: list[str]) -> dict[str, list[str]]:
        """{from id: [to ids]} through the v4 associations batch read (ids without any are left out)."""
        if not ids:
            return {}
        request = BatchInputPublicFetchAssociationsBatchRequest(
            inputs=[PublicFetchAssociationsBatchRequest(id=object_id) for object_id in ids]
        )
        page = self._call(
            self.associations_batch.get_page_with_http_info,
            raw=True,
            from_object_type=from_type,
            to_object_type=to_type,
            batch_input_public_fetch_associations_batch_request=request,
        )
        return {
            str(result["from"]["id"]): [str(to["toObjectId"]) for to in result.get("to") or []]
            for result in page.get("results") or []
        }

    def get_object(self, object_type: str, object_id: str, *, properties: Iterable[str]) -> RemoteObject | None:
        objects = self.batch_read(object_type, [object_id], properties=properties)
        return objects[0] if objects else None

    def deal_pipelines(self) -> list[dict]:
        """[{id, label, stages: [{id, label, closed}]}] of the portal's deal pipelines."""
        page = self._call(self.pipelines.get_all_with_http_info, object_type="deals")
        return [
            {
                "id": pipeline.id,
                "label": pipeline.label,
                "stages": [
                    {
                        "id": stage.id,
                        "label": stage.label,
                        "closed": str((stage.metadata or {}).get("isClosed", "false")).lower() == "true",
                    }
                    for stage in sorted(pipeline.stages or [], key=lambda stage: stage.display_order or 0)
                ],
            }
            for pipeline in page.results or []
        ]

    def property_exists(self, object_type: str, name: str) -> bool:
        try:
            self._call(self.properties.get_by_name_with_http_info, object_type=object_type, property_name=name)
        except HubSpotApiError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    # ------------------------------------------------------------------ writes

    def batch_update(self, object_type: str, inputs: list[dict]) -> list[RemoteObject]:
        """[{id, properties}] → the updated objects; at most 100 per call (HubSpot answers 400 beyond)."""
        if len(inputs) > BATCH_LIMIT:
            raise ValueError(f"HubSpot batch updates take at most {BATCH_LIMIT} inputs")
        if not inputs:
            return []
        page = self._call(
            self.batch[object_type].update_with_http_info,
            raw=True,
            batch_input_simple_public_object_batch_input={"inputs": inputs},
        )
        return [_as_remote(obj) for obj in page.get("results") or []]


def hubspot_client(connection, **kwargs: Any) -> HubSpotClient:
    """The SDK client for an organization's connection: its sealed token, and its `api_base_url` if set."""
    from integrations.services import connection_api_key

    return HubSpotClient(access_token=connection_api_key(connection), host=connection.api_base_url, **kwargs)
