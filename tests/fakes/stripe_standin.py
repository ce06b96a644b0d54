"""A small stateful Stripe on pytest-httpserver, for what localstripe lacks or serves in an old shape.

localstripe 1.15 has no /v1/prices, no POST /v1/invoices/<id>/send, one item per subscription, subscription items
without `price` or their own `current_period_start/end` (Stripe moved periods onto items in API 2025-03-31
"basil"), no discounts on subscriptions, and no idempotency keys. This stand-in serves today's shapes for those,
keeps every request the SDK sent (method, path, form body, headers) so tests can assert on them, answers a repeated
Idempotency-Key with the first answer (as Stripe does), and can be told to fail the next calls (429, 500, a dropped
connection) to exercise retries.
"""

import itertools
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from werkzeug import Request, Response

_ids = itertools.count(1)


def _new_id(prefix: str) -> str:
    return f"{prefix}_standin{next(_ids):06d}"


@dataclass
class Recorded:
    method: str
    path: str
    form: dict[str, str]
    query: dict[str, str]
    headers: dict[str, str]

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get("Idempotency-Key")


@dataclass
class Failure:
    pattern: re.Pattern
    status: int
    times: int


@dataclass
class StripeStandIn:
    customers: dict[str, dict] = field(default_factory=dict)
    prices: dict[str, dict] = field(default_factory=dict)
    subscriptions: dict[str, dict] = field(default_factory=dict)
    invoices: dict[str, dict] = field(default_factory=dict)
    coupons: dict[str, dict] = field(default_factory=dict)
    events: list[dict] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    idempotent_answers: dict[str, tuple[int, str]] = field(default_factory=dict)
    url: str = ""

    # --- Seeding, in today's shapes ---------------------------------------------------------------------------------

    def add_customer(self, *, email: str = "", name: str = "", metadata: dict | None = None, **extra) -> dict:
        customer = {
            "id": extra.pop("id", None) or _new_id("cus"),
            "object": "customer",
            "email": email or None,
            "name": name or None,
            "metadata": metadata or {},
            "currency": extra.pop("currency", None),
            "created": extra.pop("created", None) or int(time.time()),
            "livemode": False,
            **extra,
        }
        self.customers[customer["id"]] = customer
        return customer

    def add_price(
        self,
        *,
        unit_amount: int,
        currency: str = "usd",
        interval: str = "month",
        interval_count: int = 1,
        product: str = "prod_standin",
        price_id: str | None = None,
    ) -> dict:
        price = {
            "id": price_id or _new_id("price"),
            "object": "price",
            "active": True,
            "currency": currency,
            "unit_amount": unit_amount,
            "unit_amount_decimal": str(unit_amount),
            "product": product,
            "nickname": None,
            "type": "recurring",
            "recurring": {"interval": interval, "interval_count": interval_count, "usage_type": "licensed"},
            "created": int(time.time()),
            "livemode": False,
        }
        self.prices[price["id"]] = price
        return price

    def add_coupon(
        self, *, percent_off: float | None = None, amount_off: int | None = None, currency: str = ""
    ) -> dict:
        coupon = {
            "id": _new_id("co"),
            "object": "coupon",
            "percent_off": percent_off,
            "amount_off": amount_off,
            "currency": currency or None,
            "duration": "forever",
        }
        self.coupons[coupon["id"]] = coupon
        return coupon

    def add_subscription(
        self,
        *,
        customer: dict,
        items: list[tuple[dict, int]],
        status: str = "active",
        coupon: dict | None = None,
        start: int | None = None,
        emit: str | None = "customer.subscription.created",
        items_page: int | None = None,
    ) -> dict:
        start = start or int(time.time()) - 86400
        subscription_id = _new_id("sub")
        subscription = {
            "id": subscription_id,
            "object": "subscription",
            "customer": customer["id"],
            "status": status,
            "currency": items[0][0]["currency"],
            "cancel_at_period_end": False,
            "cancel_at": None,
            "canceled_at": None,
            "ended_at": None,
            "trial_end": None,
            "start_date": start,
            "created": start,
            "latest_invoice": None,
            "metadata": {},
            "discounts": [],
            "items": {
                "object": "list",
                "has_more": False,
                "url": f"/v1/subscription_items?subscription={subscription_id}",
                "data": [
                    {
                        "id": _new_id("si"),
                        "object": "subscription_item",
                        "price": price,
                        "quantity": quantity,
                        "subscription": subscription_id,
                        "current_period_start": start,
                        "current_period_end": start + 30 * 86400,
                        "discounts": [],
                        "metadata": {},
                    }
                    for price, quantity in items
                ],
            },
            "livemode": False,
        }
        if items_page:
            subscription["_items_page"] = items_page  # payloads show this many items, with has_more
        if coupon:
            subscription["_discount"] = {
                "id": _new_id("di"),
                "object": "discount",
                "source": {"type": "coupon", "coupon": coupon["id"]},
                "subscription": subscription_id,
                "start": start,
            }
            subscription["discounts"] = [subscription["_discount"]["id"]]
        self.subscriptions[subscription_id] = subscription
        if emit:
            self.emit(emit, subscription)
        return subscription

    def add_invoice(
        self, *, customer: dict, subscription: dict | None = None, amount: int, status: str = "open"
    ) -> dict:
        invoice_id = _new_id("in")
        invoice = {
            "id": invoice_id,
            "object": "invoice",
            "customer": customer["id"],
            "number": f"STANDIN-{len(self.invoices) + 1:04d}",
            "status": status,
            "collection_method": "charge_automatically",
            "currency": subscription["currency"] if subscription else "usd",
            "amount_due": amount,
            "amount_paid": amount if status == "paid" else 0,
            "amount_remaining": 0 if status == "paid" else amount,
            "total": amount,
            "hosted_invoice_url": f"https://invoice.stripe.test/{invoice_id}",
            "due_date": None,
            "parent": {
                "type": "subscription_details",
                "subscription_details": {"subscription": subscription["id"] if subscription else None},
            }
            if subscription
            else None,
            "status_transitions": {"paid_at": int(time.time()) if status == "paid" else None, "finalized_at": None},
            "created": int(time.time()),
            "livemode": False,
        }
        self.invoices[invoice_id] = invoice
        return invoice

    def emit(self, event_type: str, obj: dict, *, created: int | None = None) -> dict:
        event = {
            "id": _new_id("evt"),
            "object": "event",
            "type": event_type,
            "created": created or int(time.time()),
            "api_version": "2026-10-28.endive",
            "data": {"object": self.public(obj)},
            "livemode": False,
            "pending_webhooks": 1,
        }
        self.events.append(event)
        return event

    def fail_next(self, path_pattern: str, *, status: int = 500, times: int = 1) -> None:
        self.failures.append(Failure(re.compile(path_pattern), status, times))

    def sent(self, method: str, path_pattern: str) -> list[Recorded]:
        pattern = re.compile(path_pattern)
        return [r for r in self.requests if r.method == method and pattern.fullmatch(r.path)]

    @staticmethod
    def public(obj: dict, *, expand: list[str] | None = None, coupons: dict | None = None) -> dict:
        out = {key: value for key, value in obj.items() if not key.startswith("_")}
        if obj.get("_items_page"):
            out["items"] = {**obj["items"], "data": obj["items"]["data"][: obj["_items_page"]], "has_more": True}
        wants_discounts = any(path.startswith("discounts") for path in expand or [])
        if obj.get("object") == "subscription" and obj.get("_discount") and wants_discounts:
            discount = json.loads(json.dumps(obj["_discount"]))
            if any("source.coupon" in path for path in expand) and coupons is not None:
                discount["source"]["coupon"] = coupons[discount["source"]["coupon"]]
            out["discounts"] = [discount]
        return json.loads(json.dumps(out))

    # --- Serving --------------------------------------------------------------------------------------------------

    def install(self, httpserver) -> "StripeStandIn":
        httpserver.expect_request(re.compile(r"^/v1/.*")).respond_with_handler(self.handle)
        self.url = httpserver.url_for("").rstrip("/")
        return self

    def handle(self, request: Request) -> Response:
        form = dict(request.form.items())
        query = dict(request.args.items())
        recorded = Recorded(request.method, request.path, form, query, dict(request.headers))
        self.requests.append(recorded)
        for failure in self.failures:
            if failure.times > 0 and failure.pattern.search(request.path):
                failure.times -= 1
                return self._error(failure.status, "api_error", "The stand-in was told to fail this call.")
        key = recorded.idempotency_key
        if key and request.method == "POST" and key in self.idempotent_answers:
            status, body = self.idempotent_answers[key]
            return Response(
                body, status=status, content_type="application/json", headers={"Idempotent-Replayed": "true"}
            )
        response = self._route(request.method, request.path, form, query)
        if key and request.method in ("POST", "DELETE") and response.status_code < 500:
            self.idempotent_answers[key] = (response.status_code, response.get_data(as_text=True))
        return response

    def _route(self, method: str, path: str, form: dict, query: dict) -> Response:
        expand = [value for name, value in {**query, **form}.items() if name.startswith("expand")]
        collections = {
            "customers": self.customers,
            "prices": self.prices,
            "subscriptions": self.subscriptions,
            "invoices": self.invoices,
        }
        match = re.fullmatch(r"/v1/(\w+)(?:/([\w]+))?(?:/(\w+))?", path)
        if not match:
            return self._error(404, "invalid_request_error", f"Unrecognized request URL ({method}: {path}).")
        name, object_id, verb = match.groups()
        if name == "events" and method == "GET" and object_id is None:
            events = self.events
            gte = query.get("created[gte]")
            if gte:
                events = [event for event in events if event["created"] >= int(gte)]
            return self._list(list(reversed(events)), query, "/v1/events")  # Stripe lists newest first
        if name == "subscription_items" and method == "GET" and object_id is None:
            owner = self.subscriptions.get(query.get("subscription", ""))
            items = owner["items"]["data"] if owner else []
            return self._list(items, query, "/v1/subscription_items")
        if name not in collections:
            return self._error(404, "invalid_request_error", f"Unrecognized request URL ({method}: {path}).")
        store = collections[name]
        if object_id is None and method == "GET":
            rows = list(store.values())
            if name == "subscriptions":
                status = query.get("status")
                if status != "all":
                    rows = (
                        [row for row in rows if row["status"] == status]
                        if status
                        else [row for row in rows if row["status"] not in ("canceled", "incomplete_expired")]
                    )
            if query.get("customer"):
                rows = [row for row in rows if row.get("customer") == query["customer"]]
            return self._list(list(reversed(rows)), query, f"/v1/{name}", expand=expand)
        if object_id not in store:
            return self._error(
                404, "invalid_request_error", f"No such {name[:-1]}: '{object_id}'", code="resource_missing"
            )
        obj = store[object_id]
        now = int(time.time())
        if name == "subscriptions" and method == "DELETE" and verb is None:
            if obj["status"] == "canceled":
                return self._error(400, "invalid_request_error", "This subscription is already canceled.")
            obj.update(status="canceled", canceled_at=now, ended_at=now)
            self.emit("customer.subscription.deleted", obj)
        elif name == "subscriptions" and method == "POST" and verb is None:
            if "cancel_at_period_end" in form:
                obj["cancel_at_period_end"] = form["cancel_at_period_end"] == "true"
                obj["cancel_at"] = max(item["current_period_end"] for item in obj["items"]["data"])
                obj["canceled_at"] = now
            self.emit("customer.subscription.updated", obj)
        elif name == "invoices" and method == "POST" and verb == "send":
            if obj["status"] != "open":
                return self._error(400, "invalid_request_error", "You can only send an open invoice.")
            obj["_sent"] = obj.get("_sent", 0) + 1
            self.emit("invoice.sent", obj)
        elif method != "GET":
            return self._error(404, "invalid_request_error", f"Unrecognized request URL ({method}: {path}).")
        return self._json(self.public(obj, expand=expand, coupons=self.coupons))

    def _list(self, rows: list[dict], query: dict, url: str, expand: list[str] | None = None) -> Response:
        limit = int(query.get("limit") or 10)
        after = query.get("starting_after")
        if after:
            ids = [row["id"] for row in rows]
            rows = rows[ids.index(after) + 1 :] if after in ids else []
        page = rows[:limit]
        list_expand = [path.removeprefix("data.") for path in expand or [] if path.startswith("data.")]
        return self._json(
            {
                "object": "list",
                "url": url,
                "has_more": len(rows) > limit,
                "data": [self.public(row, expand=list_expand, coupons=self.coupons) for row in page],
            }
        )

    @staticmethod
    def _json(body: Any, status: int = 200) -> Response:
        return Response(
            json.dumps(body), status=status, content_type="application/json", headers={"Request-Id": "req_standin"}
        )

    def _error(self, status: int, error_type: str, message: str, code: str | None = None) -> Response:
        error = {"type": error_type, "message": message}
        if code:
            error["code"] = code
        return self._json({"error": error}, status=status)
