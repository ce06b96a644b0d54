import logging
import uuid

import pytest
from pytest_httpserver import HTTPServer

from tests.fakes.hosting_fake import HostingFake

OLD_SERVER = "k8s-eu-1"
NEW_SERVER = "k8s-eu-2"


@pytest.fixture(scope="session")
def hosting_server():
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    yield server
    server.clear()
    server.stop()


@pytest.fixture
def hosting(hosting_server) -> HostingFake:
    hosting_server.clear_all_handlers()
    fake = HostingFake(hosting_server, token=f"host-{uuid.uuid4()}", old_server=OLD_SERVER, new_server=NEW_SERVER)
    yield fake.install()
    hosting_server.clear_all_handlers()
