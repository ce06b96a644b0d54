"""The SDK client against the fake: paging, the batch limit, the search window, the rate limit and its headers."""

import time

import hubspot
import pytest
from hubspot.crm.contacts.exceptions import ApiException

from integrations.hubspot.client import HubSpotApiError, HubSpotClient
from integrations.hubspot.rate_limit import RateLimitPacer
from integrations.registry import TransientSyncError


def client_for(fake, **kwargs) -> HubSpotClient:
    return HubSpotClient(access_token=fake.token, host=fake.base_url, pacer=RateLimitPacer(), **kwargs)


def test_list_pages_follow_the_after_cursor_to_the_end(hubspot):
    for n in range(250):
        hubspot.add_contact(f"p{n}@example.com")
    client = client_for(hubspot)
    seen, after, pages = [], None, 0
    while True:
        objects, after = client.list_page("contacts", properties=["email"], after=after)
        seen += [obj.properties["email"] for obj in objects]
        pages += 1
        if not after:
            break
    assert pages == 3
    assert len(seen) == len(set(seen)) == 250
    assert hubspot.count("GET /crm/v3/objects/contacts") == 3


def test_batches_of_more_than_100_are_refused_by_the_client_and_by_hubspot(hubspot):
    contact = hubspot.add_contact("one@example.com")
    client = client_for(hubspot)
    with pytest.raises(ValueError, match="at most 100"):
        client.batch_read("contacts", [contact.id] * 101, properties=["email"])
    with pytest.raises(ValueError, match="at most 100"):
        client.batch_update("contacts", [{"id": contact.id, "properties": {}}] * 101)
    # HubSpot's own answer to 101 inputs, through the SDK itself: a 400 with its error shape.
    sdk = hubspot_sdk(hubspot)
    with pytest.raises(ApiException) as refused:
        sdk.crm.contacts.batch_api.read(
            batch_read_input_simple_public_object_id={"inputs": [{"id": contact.id}] * 101, "properties": []}
        )
    assert refused.value.status == 400
    assert '"category": "VALIDATION_ERROR"' in refused.value.body
    hundred = [contact.id] + [hubspot.add_contact(f"n{n}@example.com").id for n in range(99)]
    assert len(client.batch_read("contacts", hundred, properties=["email"])) == 100


def hubspot_sdk(fake):
    return hubspot.HubSpot(access_token=fake.token, host=fake.base_url)


def test_search_never_pages_past_the_window(hubspot):
    hubspot.search_window = 30
    for n in range(40):
        hubspot.add_contact(f"s{n}@example.com")
    client = client_for(hubspot, search_window=30)
    objects, total, next_after = client.search_page(
        "contacts", filter_groups=[], sorts=[], properties=["email"], after=0, limit=20
    )
    assert (len(objects), total, next_after) == (20, 40, 20)
    with pytest.raises(ValueError, match="does not page past 30"):
        client.search_page("contacts", filter_groups=[], sorts=[], properties=[], after=20, limit=20)
    # And HubSpot (the fake) answers 400 if a client asks anyway.
    unguarded = client_for(hubspot, search_window=10_000)
    with pytest.raises(HubSpotApiError) as refused:
        unguarded.search_page("contacts", filter_groups=[], sorts=[], properties=[], after=20, limit=20)
    assert refused.value.status == 400


def test_the_pacer_keeps_under_the_limit_the_headers_announce(hubspot):
    hubspot.limiter.max_requests, hubspot.limiter.interval_ms = 4, 400
    hubspot.add_contact("x@example.com")
    client = client_for(hubspot)
    started = time.monotonic()
    for _ in range(13):
        client.list_page("contacts", properties=[], limit=1)
    elapsed = time.monotonic() - started
    assert hubspot.rate_limited_count == 0
    assert client.pacer.max_requests == 4
    assert client.pacer.interval == 0.4
    assert elapsed >= 0.8  # 13 requests at 4 per 0.4 s need at least three waits... of the window
    assert client.stats.requests == 13


def test_a_429_is_retried_with_the_same_request(hubspot):
    contacts = [hubspot.add_contact(f"r{n}@example.com") for n in range(3)]
    hubspot.fail_next(429, times=2, path_contains="/batch/read")
    client = client_for(hubspot)
    objects = client.batch_read("contacts", [c.id for c in contacts], properties=["email"])
    assert {obj.id for obj in objects} == {c.id for c in contacts}
    assert hubspot.rate_limited_count == 2
    assert client.stats.rate_limited == 2
    assert client.stats.retried == 2
    bodies = hubspot.bodies("/batch/read")
    assert len(bodies) == 1  # refused requests are not served; the one served is the same batch
    assert [item["id"] for item in bodies[0]["inputs"]] == [c.id for c in contacts]


def test_a_portal_that_keeps_refusing_is_a_transient_error_for_the_task_to_retry(hubspot):
    hubspot.fail_next(429, times=5)
    client = client_for(hubspot, max_attempts=2)
    with pytest.raises(TransientSyncError, match="429"):
        client.list_page("contacts", properties=[])


def test_a_wrong_token_is_refused(hubspot):
    client = HubSpotClient(access_token="pat-wrong", host=hubspot.base_url, pacer=RateLimitPacer())
    with pytest.raises(HubSpotApiError) as refused:
        client.list_page("contacts", properties=[])
    assert refused.value.status == 401


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_pacer_rolling_window_and_header_corrections():
    clock = Clock()
    pacer = RateLimitPacer(max_requests=3, interval=10.0, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        pacer.wait()
        pacer.record({})
        clock.now += 1
    assert pacer.delay() == pytest.approx(7.0)  # the first leaves the window 10 s after it was answered
    pacer.wait()
    assert clock.now == pytest.approx(110.0)
    # Another client of the portal spent the quota: the headers say none is left, so we wait a whole window.
    fresh = RateLimitPacer(clock=clock, sleep=clock.sleep)
    fresh.record({"X-HubSpot-RateLimit-Max": "5", "X-HubSpot-RateLimit-Remaining": "0",
                  "X-HubSpot-RateLimit-Interval-Milliseconds": "2000"})  # fmt: skip
    assert fresh.max_requests == 5
    assert fresh.interval == 2.0
    assert fresh.delay() == pytest.approx(2.0)


def test_backoff_grows_with_jitter():
    pacer = RateLimitPacer(interval=10.0)
    first = [pacer.backoff(0) for _ in range(50)]
    later = [pacer.backoff(4) for _ in range(50)]
    assert all(0.25 <= pause <= 0.5 for pause in first)
    assert all(4 <= pause <= 8 for pause in later)
    assert len(set(first)) > 1  # jittered
    assert max(pacer.backoff(20) for _ in range(20)) <= 10.0  # capped at the window
