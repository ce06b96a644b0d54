"""A real Celery worker process, killed with SIGKILL in the middle of a HubSpot sync, then a new one started.

The issue's promise: the sync ends with every record present once. What makes it true, and what this exercises
end to end: the task is acks_late (Redis gives the message back once the visibility timeout passes), the lock the
dead worker held expires because nobody renews it, the new worker takes the same run over, and every write is an
upsert keyed on HubSpot's id.

It needs what a worker in another process can share: PostgreSQL (an in-memory SQLite test database is invisible to
another process) and Redis (the filesystem broker has no acknowledgements). CI (.ci/run) provides both and the test
fails there without them; on a SQLite run elsewhere it is skipped with that reason.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime

import pytest
from django.conf import settings
from django.db import connection

from accounts.models import Contact
from core.models import Role
from core.tenancy import Tenant, tenant_scope
from cs_platform import celery_app
from integrations.models import Source, SyncKind, SyncRun, SyncStatus
from integrations.services import connection_update
from integrations.tasks import sync_run_execute
from tests.factories import OrganizationFactory
from tests.fakes.hubspot_fake import HubSpotFake
from tests.fakes.loopback import loopback_server

pytestmark = pytest.mark.worker

CONTACTS = 3000
LOCK_TTL_SECONDS = 3
VISIBILITY_TIMEOUT_SECONDS = 4


@pytest.fixture
def shared_services(transactional_db) -> None:
    if connection.vendor == "postgresql" and settings.REDIS_URL:
        return
    reason = "needs PostgreSQL and Redis shared with a worker process: set DATABASE_URL and REDIS_URL (as .ci/run does)"
    if os.environ.get("CI"):
        pytest.fail(reason, pytrace=False)  # CI provides both: missing them there is a broken CI, not a skip
    pytest.skip(reason)


def _database_url() -> str:
    db = connection.settings_dict
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _start_worker(queue: str, log_path: str) -> subprocess.Popen:
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "cs_platform.settings.base",
        "DEBUG": "true",
        # The same key as the test process, so the worker can unseal the connection's token.
        "SECRET_KEY": settings.SECRET_KEY,
        "SECRETS_KEY": settings.SECRETS_KEY,
        "DATABASE_URL": _database_url(),
        "DATABASE_CONN_MAX_AGE": "0",
        "REDIS_URL": settings.REDIS_URL,
        "SYNC_LOCK_TTL_SECONDS": str(LOCK_TTL_SECONDS),
        "CELERY_VISIBILITY_TIMEOUT_SECONDS": str(VISIBILITY_TIMEOUT_SECONDS),
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "cs_platform",
        "worker",
        "--pool=solo",
        "--queues",
        queue,
        "--hostname",
        f"{queue}-{uuid.uuid4().hex[:6]}@%h",
        "--without-gossip",
        "--without-mingle",
        "--loglevel=info",
    ]
    log = open(log_path, "ab")  # noqa: SIM115 - handed to the child, closed with it
    return subprocess.Popen(command, env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _stop(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def _wait_for(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"gave up after {seconds} s waiting for {what}")


@pytest.fixture
def slow_hubspot():
    """A portal of CONTACTS contacts behind a tight rate limit, so a full sync takes several seconds."""
    with loopback_server() as server:
        fake = HubSpotFake(server, token=f"pat-na1-{uuid.uuid4()}", rate_limit=8, interval_ms=1000).install()
        fake.bulk_create(
            "contacts",
            ({"email": f"person{n}@kill-test.example", "firstname": f"Person{n}"} for n in range(CONTACTS)),
            modified_at=datetime(2026, 11, 1, tzinfo=UTC),
        )
        yield fake


def test_a_worker_killed_mid_sync_leaves_every_record_present_once(shared_services, slow_hubspot, tmp_path):
    organization = OrganizationFactory()
    queue = f"kill-test-{uuid.uuid4().hex[:8]}"
    log_path = str(tmp_path / "worker.log")
    with tenant_scope(organization):
        connection_update(
            tenant=Tenant(organization=organization, role=Role.ADMIN),
            source=Source.HUBSPOT,
            api_key=slow_hubspot.token,
            webhook_secret="",
            api_base_url=slow_hubspot.base_url,
            enabled=True,
        )
        run = SyncRun.objects.create(organization=organization, source=Source.HUBSPOT, kind=SyncKind.FULL)

    def current_run() -> SyncRun:
        with tenant_scope(organization):
            return SyncRun.objects.get(pk=run.pk)

    def contacts() -> list[str]:
        with tenant_scope(organization):
            return list(Contact.objects.values_list("hubspot_contact_id", flat=True))

    first = _start_worker(queue, log_path)
    second = None
    celery_app.conf.task_always_eager = False
    try:
        sync_run_execute.apply_async((organization.pk, run.pk), queue=queue)
        # Kill it once part of the portal is written and well before the end.
        _wait_for(lambda: 0 < len(contacts()) < CONTACTS // 2, 60, "the first worker to write some contacts")
        _stop(first, signal.SIGKILL)
        written_by_the_first = len(contacts())
        assert current_run().status == SyncStatus.RUNNING  # nobody told the run: its worker just vanished
        assert 0 < written_by_the_first < CONTACTS

        second = _start_worker(queue, log_path)
        finished = _wait_for(lambda: (r := current_run()).is_finished and r, 120, "the second worker to finish the run")
    finally:
        celery_app.conf.task_always_eager = True
        _stop(first, signal.SIGKILL)
        if second is not None:
            _stop(second)

    log = (tmp_path / "worker.log").read_text(encoding="utf-8", errors="replace")
    assert finished.status == SyncStatus.SUCCEEDED, f"{finished.error}\n--- worker log ---\n{log[-4000:]}"
    assert "resumed_at" in finished.summary  # the same run, taken over, not a new one
    ids = contacts()
    assert len(ids) == CONTACTS
    assert len(set(ids)) == CONTACTS
    assert set(ids) == {record.id for record in slow_hubspot.objects["contacts"].values()}
