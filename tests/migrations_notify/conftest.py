import uuid

import pytest

from tests.fakes.hosting_fake import HostingFake
from tests.fakes.loopback import loopback_server

OLD_SERVER = "k8s-eu-1"
NEW_SERVER = "k8s-eu-2"


@pytest.fixture(scope="session")
def hosting_server():
    with loopback_server() as server:
        yield server


@pytest.fixture
def hosting(hosting_server) -> HostingFake:
    hosting_server.clear_all_handlers()
    fake = HostingFake(hosting_server, token=f"host-{uuid.uuid4()}", old_server=OLD_SERVER, new_server=NEW_SERVER)
    yield fake.install()
    hosting_server.clear_all_handlers()
