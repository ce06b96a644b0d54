"""Pacing requests under HubSpot's rolling-window limit, fed by the `X-HubSpot-RateLimit-*` headers.

HubSpot counts requests per private app in a rolling window (100 or 190 per 10 seconds, by plan) and, for some
apps, per second too; every answer says what is left. A token bucket refilled at max/interval would still send
a burst of `max` followed by steady refills and overrun a rolling window, so the pacer keeps the moments of its
own requests instead (exactly what the window counts) and waits until the oldest leaves the window.

A moment is taken when the answer arrives: HubSpot counted the request before it answered, so the request leaves
HubSpot's window no later than our copy leaves ours. When the headers say fewer requests remain than we think
(another integration of the same portal spends the quota), the difference is counted as spent now.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

DEFAULT_MAX_REQUESTS = 100
DEFAULT_INTERVAL_SECONDS = 10.0


def _header(headers: Mapping[str, str], name: str) -> int | None:
    for key, value in headers.items():
        if key.lower() == name.lower():
            try:
                return int(value)
            except (TypeError, ValueError):
                return None
    return None


@dataclass
class RateLimitPacer:
    max_requests: int = DEFAULT_MAX_REQUESTS
    interval: float = DEFAULT_INTERVAL_SECONDS
    secondly: int | None = None
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    moments: deque[float] = field(default_factory=deque)
    second_moments: deque[float] = field(default_factory=deque)
    waited: float = 0.0  # seconds spent waiting for the window, for the run's summary
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _forget_old(self, now: float) -> None:
        while self.moments and now - self.moments[0] >= self.interval:
            self.moments.popleft()
        while self.second_moments and now - self.second_moments[0] >= 1.0:
            self.second_moments.popleft()

    def delay(self) -> float:
        """Seconds to wait before the next request fits in both windows (0 when it fits now)."""
        now = self.clock()
        self._forget_old(now)
        wait = 0.0
        if len(self.moments) >= self.max_requests:
            # The request that leaves the window next frees the place: len - max + 1 requests must leave.
            wait = self.moments[len(self.moments) - self.max_requests] + self.interval - now
        if self.secondly is not None and len(self.second_moments) >= self.secondly:
            wait = max(wait, self.second_moments[len(self.second_moments) - self.secondly] + 1.0 - now)
        return max(0.0, wait)

    def wait(self) -> None:
        with self._lock:
            while (pause := self.delay()) > 0:
                self.waited += pause
                self.sleep(pause)

    def record(self, headers: Mapping[str, str] | None) -> None:
        """One answered request (2xx, 4xx or 429 alike: HubSpot counts them all) and what its headers say."""
        with self._lock:
            now = self.clock()
            self._forget_old(now)
            self.moments.append(now)
            self.second_moments.append(now)
            if not headers:
                return
            if (max_requests := _header(headers, "X-HubSpot-RateLimit-Max")) and max_requests > 0:
                self.max_requests = max_requests
            if (interval_ms := _header(headers, "X-HubSpot-RateLimit-Interval-Milliseconds")) and interval_ms > 0:
                self.interval = interval_ms / 1000
            if (secondly := _header(headers, "X-HubSpot-RateLimit-Secondly")) and secondly > 0:
                self.secondly = secondly
            remaining = _header(headers, "X-HubSpot-RateLimit-Remaining")
            if remaining is not None:
                self._spend_unseen(self.moments, self.max_requests - remaining, now)
            second_remaining = _header(headers, "X-HubSpot-RateLimit-Secondly-Remaining")
            if second_remaining is not None and self.secondly:
                self._spend_unseen(self.second_moments, self.secondly - second_remaining, now)

    @staticmethod
    def _spend_unseen(moments: deque[float], spent_per_headers: int, now: float) -> None:
        # Requests HubSpot counted that we did not send (another client of the portal): spent now, to be safe.
        for _ in range(max(0, spent_per_headers - len(moments))):
            moments.append(now)

    def backoff(self, attempt: int, *, base: float = 0.5, cap: float | None = None) -> float:
        """Exponential backoff with jitter for the attempt-th retry (0-based): between half and all of the step,
        so clients that were refused together do not come back together."""
        cap = self.interval if cap is None else cap
        step = min(cap, base * 2**attempt)
        return step / 2 + random.uniform(0, step / 2)


_pacers: dict[str, RateLimitPacer] = {}
_pacers_lock = threading.Lock()


def pacer_for(key: str) -> RateLimitPacer:
    """One pacer per HubSpot portal token in this process, shared by its sync and webhook tasks."""
    with _pacers_lock:
        if key not in _pacers:
            _pacers[key] = RateLimitPacer()
        return _pacers[key]
