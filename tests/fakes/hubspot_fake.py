"""A stateful fake of HubSpot's CRM API on pytest-httpserver, for the tests and the benchmark.

It keeps companies, contacts and deals with their properties, timestamps, archived flag and associations,
and answers the endpoints `hubspot-api-client` 12 calls (paths and payload shapes read from the SDK's
`hubspot/crm/{contacts,companies,deals}/api`, `crm/associations/v4/api/batch_api.py` and
`crm/pipelines/api/pipelines_api.py`):

    GET  /crm/v3/objects/{type}                    list, `after` cursor, limit <= 100, inline associations
    GET  /crm/v3/objects/{type}/{id}               one object
    POST /crm/v3/objects/{type}/batch/read|create|update|upsert   at most 100 inputs, else 400
    POST /crm/v3/objects/{type}/search             filterGroups, sorts, limit <= 200, 10,000-result window
    POST /crm/v4/associations/{from}/{to}/batch/read
    GET  /crm/v3/pipelines/deals
    GET  /crm/v3/properties/{type}/{name}

Like HubSpot it checks the Bearer token, enforces a rolling-window rate limit (default 100 requests per
10 seconds), sends the `X-HubSpot-RateLimit-*` headers on every answer and a 429 with HubSpot's error JSON
when over. It counts requests and 429s so tests and the benchmark can assert on them.
"""

from __future__ import annotations

import bisect
import itertools
import json
import re
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

OBJECT_TYPES = ("companies", "contacts", "deals")
BATCH_LIMIT = 100
LIST_LIMIT = 100
SEARCH_LIMIT = 200
SEARCH_WINDOW = 10_000

# The property holding the last-modified time: contacts still use the legacy name (HubSpot's docs).
MODIFIED_PROPERTY = {"companies": "hs_lastmodifieddate", "contacts": "lastmodifieddate", "deals": "hs_lastmodifieddate"}
DEFAULT_PROPERTIES = {
    "companies": ("createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"),
    "contacts": ("createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"),
    "deals": (
        "amount",
        "closedate",
        "createdate",
        "dealname",
        "dealstage",
        "hs_lastmodifieddate",
        "hs_object_id",
        "pipeline",
    ),
}
SINGULAR = {"companies": "company", "contacts": "contact", "deals": "deal"}
ALIASES = {"company": "companies", "contact": "contacts", "deal": "deals", "0-2": "companies", "0-1": "contacts"}
ALIASES |= {"0-3": "deals"}
# HubSpot-defined association type ids (primary, unlabeled) by direction.
ASSOCIATION_TYPE_IDS = {
    ("contacts", "companies"): 279,
    ("companies", "contacts"): 280,
    ("deals", "companies"): 341,
    ("companies", "deals"): 342,
    ("deals", "contacts"): 3,
    ("contacts", "deals"): 4,
}
# Contact properties a HubSpot portal of seed 000 has (plus HubSpot's standard ones).
KNOWN_PROPERTIES = {
    "contacts": {"ffc_tier", "ffc_actions", "ffc_usage", "ffc_events", "lifecyclestage", "hs_lead_status", "email"},
    "companies": {"name", "domain"},
    "deals": {"dealname", "dealstage", "pipeline", "amount"},
}

# Seed 002's deal stages as a HubSpot pipeline: custom stages get numeric ids, the closed ones keep HubSpot's.
DEFAULT_PIPELINE_STAGES = (
    ("101", "Opportunity", "0.1", False),
    ("102", "POC Started", "0.3", False),
    ("103", "Value Validated", "0.6", False),
    ("104", "Contract Sent", "0.9", False),
    ("closedwon", "Closed Won", "1.0", True),
    ("closedlost", "Closed Lost", "0.0", True),
)


def hs_time(moment: datetime) -> str:
    """HubSpot's datetime format in properties and timestamps: ISO 8601, milliseconds, Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_hs_time(value: str) -> datetime:
    """A filter value: epoch milliseconds (what most clients send) or an ISO 8601 string."""
    if re.fullmatch(r"-?\d+", value):
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass
class FakeObject:
    id: str
    object_type: str
    properties: dict[str, str]
    created_at: datetime
    updated_at: datetime
    archived: bool = False
    archived_at: datetime | None = None

    @property
    def int_id(self) -> int:
        return int(self.id)


@dataclass
class Fault:
    """A forced answer for the next matching requests (a 429 or a 5xx in the middle of a sync)."""

    status: int
    remaining: int
    path_contains: str = ""
    method: str = ""


@dataclass
class RateLimiter:
    """HubSpot's rolling window: `max_requests` per `interval_ms`, optionally a secondly limit too."""

    max_requests: int
    interval_ms: int
    secondly: int | None = None
    clock: Callable[[], float] = time.monotonic
    accepted: deque[float] = field(default_factory=deque)

    def admit(self) -> tuple[bool, int, str]:
        """(admitted, remaining in the window, the policy that refused)."""
        now = self.clock()
        while self.accepted and now - self.accepted[0] >= self.interval_ms / 1000:
            self.accepted.popleft()
        if len(self.accepted) >= self.max_requests:
            return False, 0, "TEN_SECONDLY_ROLLING"
        if self.secondly is not None:
            in_last_second = len(self.accepted) - bisect.bisect_right(list(self.accepted), now - 1)
            if in_last_second >= self.secondly:
                return False, self.max_requests - len(self.accepted), "SECONDLY"
        self.accepted.append(now)
        return True, self.max_requests - len(self.accepted), ""

    def secondly_remaining(self) -> int | None:
        if self.secondly is None:
            return None
        now = self.clock()
        return max(0, self.secondly - sum(1 for moment in self.accepted if now - moment < 1))


class HubSpotError(Exception):
    def __init__(self, status: int, message: str, category: str, **extra) -> None:
        super().__init__(message)
        self.status, self.message, self.category, self.extra = status, message, category, extra


class HubSpotFake:
    """The state of one fake HubSpot portal, served by `server` once `install()` has run."""

    def __init__(
        self,
        server: HTTPServer,
        *,
        token: str = "pat-na1-fake-token",  # noqa: S107 - the fake portal's own test token
        rate_limit: int = 100,
        interval_ms: int = 10_000,
        secondly_limit: int | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.server = server
        self.token = token
        self.limiter = RateLimiter(rate_limit, interval_ms, secondly_limit)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.objects: dict[str, dict[str, FakeObject]] = {object_type: {} for object_type in OBJECT_TYPES}
        # Sorted integer ids per type, so list pages are a bisect away (20,000 contacts page quickly).
        self._ordered_ids: dict[str, list[int]] = {object_type: [] for object_type in OBJECT_TYPES}
        self.associations: dict[tuple[str, str], dict[str, list[str]]] = {}
        self.pipelines = [self._pipeline("default", "Sales Pipeline", DEFAULT_PIPELINE_STAGES)]
        self.faults: list[Fault] = []
        self._ids = itertools.count(1001)
        self._lock = threading.Lock()
        self._last_modified = datetime(1970, 1, 1, tzinfo=UTC)
        # What tests and the benchmark read.
        self.request_count = 0
        self.rate_limited_count = 0
        self.requests_by_endpoint: Counter[str] = Counter()
        self.requests: list[tuple[str, str, dict | None]] = []  # (method, path, JSON body) of admitted requests
        self.keep_request_bodies = True
        self.search_window = SEARCH_WINDOW  # a test may shrink it to exercise the split without 10,000 objects

    # ----------------------------------------------------------------- serving

    @property
    def base_url(self) -> str:
        return self.server.url_for("/").rstrip("/")

    def install(self) -> HubSpotFake:
        self.server.expect_request(re.compile(r"^/.*")).respond_with_handler(self.handle)
        return self

    def handle(self, request: Request) -> Response:
        if request.path == "/__fake__/stats":
            # The fake's own counters, for a benchmark that runs it in another process (not a HubSpot endpoint).
            return Response(json.dumps(self.stats()), content_type="application/json")
        with self._lock:
            self.request_count += 1
            if request.headers.get("Authorization", "") != f"Bearer {self.token}":
                return self._error_response(
                    HubSpotError(
                        401,
                        "Authentication credentials not found. This API supports OAuth 2.0 authentication and you "
                        "can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
                        "INVALID_AUTHENTICATION",
                    ),
                    rate_headers={},
                )
            admitted, remaining, policy = self.limiter.admit()
            rate_headers = self._rate_headers(remaining)
            fault = self._take_fault(request)
            if not admitted or (fault and fault.status == 429):
                self.rate_limited_count += 1
                return self._rate_limited_response(policy or "TEN_SECONDLY_ROLLING", rate_headers)
            body = request.get_json(silent=True) if request.data else None
            endpoint = self._endpoint_name(request.method, request.path)
            self.requests_by_endpoint[endpoint] += 1
            if self.keep_request_bodies:
                self.requests.append((request.method, request.path, body))
            if fault:
                return self._error_response(
                    HubSpotError(fault.status, "Internal error", "INTERNAL_ERROR"), rate_headers
                )
            try:
                status, payload = self._route(request, body)
            except HubSpotError as error:
                return self._error_response(error, rate_headers)
            return Response(json.dumps(payload), status=status, headers=rate_headers, content_type="application/json")

    def _rate_headers(self, remaining: int) -> dict[str, str]:
        headers = {
            "X-HubSpot-RateLimit-Max": str(self.limiter.max_requests),
            "X-HubSpot-RateLimit-Remaining": str(max(0, remaining)),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(self.limiter.interval_ms),
        }
        secondly_remaining = self.limiter.secondly_remaining()
        if secondly_remaining is not None:
            headers["X-HubSpot-RateLimit-Secondly"] = str(self.limiter.secondly)
            headers["X-HubSpot-RateLimit-Secondly-Remaining"] = str(secondly_remaining)
        return headers

    def _rate_limited_response(self, policy: str, headers: dict[str, str]) -> Response:
        window = "secondly" if policy == "SECONDLY" else "ten secondly rolling"
        payload = {
            "status": "error",
            "message": f"You have reached your {window} limit.",
            "errorType": "RATE_LIMIT",
            "correlationId": str(uuid.uuid4()),
            "policyName": policy,
            "groupName": "publicapi:private-app",
        }
        return Response(json.dumps(payload), status=429, headers=headers, content_type="application/json")

    def _error_response(self, error: HubSpotError, rate_headers: dict[str, str]) -> Response:
        payload = {
            "status": "error",
            "message": error.message,
            "correlationId": str(uuid.uuid4()),
            "category": error.category,
            **error.extra,
        }
        return Response(json.dumps(payload), status=error.status, headers=rate_headers, content_type="application/json")

    def _take_fault(self, request: Request) -> Fault | None:
        for fault in self.faults:
            if fault.path_contains in request.path and (not fault.method or fault.method == request.method):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    @staticmethod
    def _endpoint_name(method: str, path: str) -> str:
        return f"{method} {re.sub(r'/\d+(?=/|$)', '/{id}', path)}"

    def _route(self, request: Request, body: dict | None) -> tuple[int, dict]:
        path, method = request.path, request.method
        if match := re.fullmatch(r"/crm/v3/objects/(\w+)/batch/(read|create|update|upsert)", path):
            object_type = self._object_type(match[1])
            if method != "POST":
                raise HubSpotError(405, "Method not allowed", "VALIDATION_ERROR")
            inputs = (body or {}).get("inputs")
            if not isinstance(inputs, list):
                raise HubSpotError(400, "Invalid input JSON: 'inputs' is required", "VALIDATION_ERROR")
            if len(inputs) > BATCH_LIMIT:
                raise HubSpotError(
                    400,
                    f"Batch input limit exceeded: {len(inputs)} inputs were given, the limit is {BATCH_LIMIT}.",
                    "VALIDATION_ERROR",
                    context={"inputs": [str(len(inputs))]},
                )
            return getattr(self, f"_batch_{match[2]}")(object_type, body)
        if match := re.fullmatch(r"/crm/v3/objects/(\w+)/search", path):
            return self._search(self._object_type(match[1]), body or {})
        if match := re.fullmatch(r"/crm/v3/objects/(\w+)", path):
            return self._list(self._object_type(match[1]), request)
        if match := re.fullmatch(r"/crm/v3/objects/(\w+)/(\d+)", path):
            object_type = self._object_type(match[1])
            record = self.objects[object_type].get(match[2])
            if record is None or record.archived:
                raise HubSpotError(404, "Object not found.", "OBJECT_NOT_FOUND")
            return 200, self._serialize(record, request.args.getlist("properties"))
        if match := re.fullmatch(r"/crm/v4/associations/([\w-]+)/([\w-]+)/batch/read", path):
            return self._associations_read(self._object_type(match[1]), self._object_type(match[2]), body or {})
        if match := re.fullmatch(r"/crm/v3/pipelines/(\w+)", path):
            if self._object_type(match[1]) != "deals":
                return 200, {"results": []}
            return 200, {"results": self.pipelines}
        if match := re.fullmatch(r"/crm/v3/properties/(\w+)/(\w+)", path):
            object_type = self._object_type(match[1])
            if match[2] not in KNOWN_PROPERTIES[object_type]:
                raise HubSpotError(404, f"Property {match[2]} does not exist", "OBJECT_NOT_FOUND")
            return 200, {"name": match[2], "label": match[2], "type": "string", "fieldType": "text"}
        raise HubSpotError(404, f"Unknown path {path}", "OBJECT_NOT_FOUND")

    @staticmethod
    def _object_type(name: str) -> str:
        object_type = ALIASES.get(name, name)
        if object_type not in OBJECT_TYPES:
            raise HubSpotError(400, f"Unable to infer object type from: {name}", "VALIDATION_ERROR")
        return object_type

    # ----------------------------------------------------------------- endpoints

    def _list(self, object_type: str, request: Request) -> tuple[int, dict]:
        limit = int(request.args.get("limit", 10))
        if limit > LIST_LIMIT or limit < 1:
            raise HubSpotError(400, f"limit must be between 1 and {LIST_LIMIT}", "VALIDATION_ERROR")
        archived = request.args.get("archived", "false").lower() == "true"
        after = int(request.args.get("after") or 0)
        properties = request.args.getlist("properties")
        associated_types = [self._object_type(name) for name in request.args.getlist("associations")]
        ordered = self._ordered_ids[object_type]
        results: list[dict] = []
        position = bisect.bisect_left(ordered, after)
        next_after = None
        while position < len(ordered):
            record = self.objects[object_type][str(ordered[position])]
            position += 1
            if record.archived != archived:
                continue
            if len(results) == limit:
                next_after = record.id
                break
            item = self._serialize(record, properties)
            if associated_types:
                item["associations"] = self._inline_associations(object_type, record.id, associated_types)
            results.append(item)
        payload: dict = {"results": results}
        if next_after is not None:
            payload["paging"] = {
                "next": {
                    "after": next_after,
                    "link": f"{self.base_url}/crm/v3/objects/{object_type}?after={next_after}",
                }
            }
        return 200, payload

    def _inline_associations(self, object_type: str, object_id: str, associated_types: list[str]) -> dict:
        inline = {}
        for to_type in associated_types:
            to_ids = self.associations.get((object_type, to_type), {}).get(object_id, [])
            if to_ids:
                kind = f"{SINGULAR[object_type]}_to_{SINGULAR[to_type]}"
                inline[to_type] = {"results": [{"id": to_id, "type": kind} for to_id in to_ids]}
        return inline

    def _batch_read(self, object_type: str, body: dict) -> tuple[int, dict]:
        properties = body.get("properties") or []
        id_property = body.get("idProperty")
        results, missing = [], []
        for item in body["inputs"]:
            record = self._find(object_type, str(item.get("id")), id_property)
            if record is None or record.archived:
                missing.append(str(item.get("id")))
            else:
                results.append(self._serialize(record, properties))
        return self._batch_answer(results, missing, object_type, verb="get")

    def _batch_create(self, object_type: str, body: dict) -> tuple[int, dict]:
        results = []
        for item in body["inputs"]:
            record = self.create(object_type, item.get("properties") or {})
            for association in item.get("associations") or []:
                to_id = str(association["to"]["id"])
                to_type = self._type_of(to_id)
                if to_type:
                    self.associate(object_type, record.id, to_type, to_id)
            results.append(self._serialize(record, list((item.get("properties") or {}).keys())))
        _, payload = self._batch_answer(results, [], object_type, verb="create")
        return 201, payload

    def _batch_update(self, object_type: str, body: dict) -> tuple[int, dict]:
        id_property = body.get("idProperty")
        results, missing = [], []
        for item in body["inputs"]:
            record = self._find(object_type, str(item.get("id")), item.get("idProperty") or id_property)
            if record is None or record.archived:
                missing.append(str(item.get("id")))
                continue
            self.update(object_type, record.id, item.get("properties") or {})
            results.append(self._serialize(record, list((item.get("properties") or {}).keys())))
        return self._batch_answer(results, missing, object_type, verb="update")

    def _batch_upsert(self, object_type: str, body: dict) -> tuple[int, dict]:
        results = []
        for item in body["inputs"]:
            id_property = item.get("idProperty")
            record = self._find(object_type, str(item.get("id")), id_property)
            properties = dict(item.get("properties") or {})
            if record is None:
                if id_property and id_property != "hs_object_id":
                    properties.setdefault(id_property, str(item["id"]))
                record = self.create(object_type, properties)
                new = True
            else:
                self.update(object_type, record.id, properties)
                new = False
            results.append(self._serialize(record, list(properties.keys())) | {"new": new})
        return self._batch_answer(results, [], object_type, verb="upsert")

    def _batch_answer(self, results: list, missing: list[str], object_type: str, *, verb: str) -> tuple[int, dict]:
        now = hs_time(datetime.now(UTC))
        payload: dict = {"status": "COMPLETE", "results": results, "startedAt": now, "completedAt": now}
        if not missing:
            return 200, payload
        payload["numErrors"] = 1
        payload["errors"] = [
            {
                "status": "error",
                "category": "OBJECT_NOT_FOUND",
                "message": f"Could not {verb} some {SINGULAR[object_type].upper()} objects, they may be deleted or "
                "not exist. Check that ids are valid.",
                "context": {"ids": missing},
            }
        ]
        return 207, payload

    def _search(self, object_type: str, body: dict) -> tuple[int, dict]:
        limit = int(body.get("limit") or 10)
        if limit > SEARCH_LIMIT or limit < 1:
            raise HubSpotError(400, f"limit must be between 1 and {SEARCH_LIMIT}", "VALIDATION_ERROR")
        after = int(body.get("after") or 0)
        if after + limit > self.search_window:
            # HubSpot's search pages through at most 10,000 results; asking beyond is a 400.
            raise HubSpotError(
                400,
                f"The search cannot page beyond {self.search_window} results (after={after}, limit={limit}); "
                "narrow the filters.",
                "VALIDATION_ERROR",
            )
        groups = body.get("filterGroups") or []
        if len(groups) > 5:
            raise HubSpotError(400, "Too many filter groups: at most 5", "VALIDATION_ERROR")
        matches = [
            record
            for record in self.objects[object_type].values()
            if not record.archived and (not groups or any(self._group_matches(record, group) for group in groups))
        ]
        for sort in reversed(body.get("sorts") or []):
            name, descending = self._sort_key(sort)
            matches.sort(key=lambda record, name=name: self._sort_value(record, name), reverse=descending)
        if not body.get("sorts"):
            matches.sort(key=lambda record: record.int_id)
        page = matches[after : after + limit]
        payload: dict = {"total": len(matches), "results": [self._serialize(r, body.get("properties")) for r in page]}
        if after + limit < len(matches):
            payload["paging"] = {"next": {"after": str(after + limit)}}
        return 200, payload

    @staticmethod
    def _sort_key(sort: str | dict) -> tuple[str, bool]:
        if isinstance(sort, dict):
            return sort["propertyName"], sort.get("direction", "ASCENDING").upper() == "DESCENDING"
        return sort.lstrip("-"), sort.startswith("-")

    def _sort_value(self, record: FakeObject, name: str):
        value = record.properties.get(name)
        if name in ("hs_lastmodifieddate", "lastmodifieddate", "createdate"):
            return parse_hs_time(value) if value else datetime.min.replace(tzinfo=UTC)
        if name == "hs_object_id":
            return record.int_id
        return value or ""

    def _group_matches(self, record: FakeObject, group: dict) -> bool:
        return all(self._filter_matches(record, one) for one in group.get("filters") or [])

    def _filter_matches(self, record: FakeObject, one: dict) -> bool:
        name, operator = one["propertyName"], one["operator"]
        if name == "lastmodifieddate" and record.object_type != "contacts":
            name = "hs_lastmodifieddate"
        present = record.properties.get(name)
        if operator == "HAS_PROPERTY":
            return present not in (None, "")
        if operator == "NOT_HAS_PROPERTY":
            return present in (None, "")
        if present is None:
            return operator == "NEQ"

        def convert(value: str):
            if name in ("hs_lastmodifieddate", "lastmodifieddate", "createdate", "closedate"):
                return parse_hs_time(str(value))
            if name == "hs_object_id":
                return int(value)
            return str(value)

        actual = convert(present)
        if operator == "IN":
            return actual in {convert(value) for value in one.get("values") or []}
        if operator == "NOT_IN":
            return actual not in {convert(value) for value in one.get("values") or []}
        if operator == "BETWEEN":
            return convert(one["value"]) <= actual <= convert(one["highValue"])
        expected = convert(one["value"])
        comparisons = {
            "EQ": actual == expected,
            "NEQ": actual != expected,
            "GT": actual > expected,
            "GTE": actual >= expected,
            "LT": actual < expected,
            "LTE": actual <= expected,
        }
        if operator not in comparisons:
            raise HubSpotError(400, f"Unsupported operator {operator}", "VALIDATION_ERROR")
        return comparisons[operator]

    def _associations_read(self, from_type: str, to_type: str, body: dict) -> tuple[int, dict]:
        inputs = body.get("inputs") or []
        if len(inputs) > 1000:
            raise HubSpotError(400, "Batch input limit exceeded: the limit is 1000.", "VALIDATION_ERROR")
        type_id = ASSOCIATION_TYPE_IDS.get((from_type, to_type), 0)
        results, missing = [], []
        for item in inputs:
            from_id = str(item["id"])
            to_ids = self.associations.get((from_type, to_type), {}).get(from_id, [])
            if not to_ids:
                missing.append(from_id)
                continue
            results.append(
                {
                    "from": {"id": from_id},
                    "to": [
                        {
                            "toObjectId": int(to_id),
                            "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": type_id, "label": None}],
                        }
                        for to_id in to_ids
                    ],
                }
            )
        now = hs_time(datetime.now(UTC))
        payload: dict = {"status": "COMPLETE", "results": results, "startedAt": now, "completedAt": now}
        if missing:
            # HubSpot answers 207 with NO_ASSOCIATIONS_FOUND for ids without associations of that type.
            payload["numErrors"] = len(missing)
            payload["errors"] = [
                {
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
                    "message": f"No {to_type} is associated with {SINGULAR[from_type]} {from_id}.",
                    "context": {"fromObjectId": [from_id]},
                }
                for from_id in missing
            ]
            return 207, payload
        return 200, payload

    # ----------------------------------------------------------------- state (called by tests)

    def _next_modified(self, when: datetime | None) -> datetime:
        """The modification time of a write: the clock's, strictly increasing unless a test gives one."""
        if when is not None:
            return when
        moment = self.clock()
        if moment <= self._last_modified:
            moment = self._last_modified + timedelta(milliseconds=1)
        self._last_modified = moment
        return moment

    def create(
        self,
        object_type: str,
        properties: dict[str, str],
        *,
        modified_at: datetime | None = None,
        created_at: datetime | None = None,
    ) -> FakeObject:
        object_type = self._object_type(object_type)
        object_id = str(next(self._ids))
        modified = self._next_modified(modified_at)
        created = created_at or modified
        record = FakeObject(object_id, object_type, {}, created, modified)
        record.properties.update({key: "" if value is None else str(value) for key, value in properties.items()})
        record.properties.update({"hs_object_id": object_id, "createdate": hs_time(created)})
        self._stamp(record, modified)
        self.objects[object_type][object_id] = record
        self._ordered_ids[object_type].append(int(object_id))  # ids only grow, so the list stays sorted
        return record

    def update(
        self, object_type: str, object_id: str, properties: dict[str, str], *, modified_at: datetime | None = None
    ) -> FakeObject:
        record = self.objects[self._object_type(object_type)][str(object_id)]
        record.properties.update({key: "" if value is None else str(value) for key, value in properties.items()})
        self._stamp(record, self._next_modified(modified_at))
        return record

    def archive(self, object_type: str, object_id: str) -> None:
        record = self.objects[self._object_type(object_type)][str(object_id)]
        record.archived, record.archived_at = True, self._next_modified(None)
        self._stamp(record, record.archived_at)

    def _stamp(self, record: FakeObject, modified: datetime) -> None:
        record.updated_at = modified
        record.properties[MODIFIED_PROPERTY[record.object_type]] = hs_time(modified)
        if record.object_type == "contacts":
            record.properties["hs_lastmodifieddate"] = hs_time(modified)

    def associate(self, from_type: str, from_id: str, to_type: str, to_id: str) -> None:
        """Associations are two-way in HubSpot: store both directions."""
        from_type, to_type = self._object_type(from_type), self._object_type(to_type)
        for (a_type, a_id), (b_type, b_id) in (
            ((from_type, from_id), (to_type, to_id)),
            ((to_type, to_id), (from_type, from_id)),
        ):
            linked = self.associations.setdefault((a_type, b_type), {}).setdefault(str(a_id), [])
            if str(b_id) not in linked:
                linked.append(str(b_id))

    def dissociate(self, from_type: str, from_id: str, to_type: str, to_id: str) -> None:
        from_type, to_type = self._object_type(from_type), self._object_type(to_type)
        for (a_type, a_id), (b_type, b_id) in (
            ((from_type, from_id), (to_type, to_id)),
            ((to_type, to_id), (from_type, from_id)),
        ):
            linked = self.associations.get((a_type, b_type), {}).get(str(a_id), [])
            if str(b_id) in linked:
                linked.remove(str(b_id))

    def add_company(
        self, name: str, *, domain: str = "", modified_at: datetime | None = None, **properties
    ) -> FakeObject:
        return self.create("companies", {"name": name, "domain": domain, **properties}, modified_at=modified_at)

    def add_contact(
        self,
        email: str,
        *,
        firstname: str = "",
        lastname: str = "",
        company: FakeObject | None = None,
        modified_at: datetime | None = None,
        **properties,
    ) -> FakeObject:
        record = self.create(
            "contacts",
            {"email": email, "firstname": firstname, "lastname": lastname, **properties},
            modified_at=modified_at,
        )
        if company is not None:
            self.associate("contacts", record.id, "companies", company.id)
        return record

    def add_deal(
        self,
        name: str,
        *,
        stage: str = "101",
        amount: str = "1000",
        pipeline: str = "default",
        company: FakeObject | None = None,
        contacts: Iterable[FakeObject] = (),
        modified_at: datetime | None = None,
        **properties,
    ) -> FakeObject:
        record = self.create(
            "deals",
            {"dealname": name, "dealstage": stage, "amount": amount, "pipeline": pipeline, **properties},
            modified_at=modified_at,
        )
        if company is not None:
            self.associate("deals", record.id, "companies", company.id)
        for contact in contacts:
            self.associate("deals", record.id, "contacts", contact.id)
        return record

    def bulk_create(self, object_type: str, rows: Iterable[dict[str, str]], *, modified_at: datetime) -> list[str]:
        """Many objects at once with one modification time (the benchmark's 25,000 records)."""
        return [self.create(object_type, row, modified_at=modified_at).id for row in rows]

    def fail_next(self, status: int = 429, *, times: int = 1, path_contains: str = "", method: str = "") -> None:
        """Answer the next `times` matching requests with `status` (429: HubSpot's rate-limit error)."""
        self.faults.append(Fault(status, times, path_contains, method))

    def set_pipeline_stages(self, stages: Iterable[tuple[str, str, str, bool]], pipeline_id: str = "default") -> None:
        self.pipelines = [p for p in self.pipelines if p["id"] != pipeline_id]
        self.pipelines.append(self._pipeline(pipeline_id, "Sales Pipeline", tuple(stages)))

    def get(self, object_type: str, object_id: str) -> FakeObject:
        return self.objects[self._object_type(object_type)][str(object_id)]

    def stats(self) -> dict:
        return {
            "requests": self.request_count,
            "rate_limited": self.rate_limited_count,
            "by_endpoint": dict(self.requests_by_endpoint),
            "objects": {object_type: len(objects) for object_type, objects in self.objects.items()},
        }

    def count(self, endpoint_substring: str) -> int:
        return sum(n for endpoint, n in self.requests_by_endpoint.items() if endpoint_substring in endpoint)

    def bodies(self, path_substring: str) -> list[dict]:
        return [body for _, path, body in self.requests if path_substring in path and body is not None]

    # ----------------------------------------------------------------- helpers

    def _find(self, object_type: str, value: str, id_property: str | None) -> FakeObject | None:
        if not id_property or id_property == "hs_object_id":
            return self.objects[object_type].get(value)
        for record in self.objects[object_type].values():
            if record.properties.get(id_property, "").lower() == value.lower():
                return record
        return None

    def _type_of(self, object_id: str) -> str | None:
        for object_type in OBJECT_TYPES:
            if object_id in self.objects[object_type]:
                return object_type
        return None

    def _serialize(self, record: FakeObject, properties: Iterable[str] | None) -> dict:
        wanted = set(DEFAULT_PROPERTIES[record.object_type]) | set(properties or ())
        payload = {
            "id": record.id,
            "properties": {name: record.properties.get(name) for name in sorted(wanted)},
            "createdAt": hs_time(record.created_at),
            "updatedAt": hs_time(record.updated_at),
            "archived": record.archived,
        }
        if record.archived_at:
            payload["archivedAt"] = hs_time(record.archived_at)
        return payload

    @staticmethod
    def _pipeline(pipeline_id: str, label: str, stages: tuple[tuple[str, str, str, bool], ...]) -> dict:
        stamp = "2026-01-01T00:00:00.000Z"
        return {
            "id": pipeline_id,
            "label": label,
            "displayOrder": 0,
            "archived": False,
            "createdAt": stamp,
            "updatedAt": stamp,
            "stages": [
                {
                    "id": stage_id,
                    "label": stage_label,
                    "displayOrder": order,
                    "archived": False,
                    "metadata": {"probability": probability, "isClosed": "true" if closed else "false"},
                    "writePermissions": "CRUD",
                    "createdAt": stamp,
                    "updatedAt": stamp,
                }
                for order, (stage_id, stage_label, probability, closed) in enumerate(stages)
            ],
        }
