"""A real Celery worker in a thread of the test process, on the configured broker (Redis when REDIS_URL is set,
else the embedded filesystem one), and a poll for what it should have written."""

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from celery.contrib.testing.worker import start_worker

from cs_platform import celery_app


@contextmanager
def running_worker() -> Iterator[None]:
    """Tasks go through the broker while it runs (the test settings run them eagerly otherwise)."""
    celery_app.conf.task_always_eager = False
    try:
        with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            yield
    finally:
        celery_app.conf.task_always_eager = True


def wait_for(condition: Callable[[], bool], seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False
