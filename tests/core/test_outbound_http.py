"""core.outbound_http: what it refuses to call, and what it records of a call it makes."""

import pytest

from core.outbound_http import OutboundRefusedError, outbound_post, outbound_target_check
from tests.fakes.loopback import loopback_server


@pytest.fixture
def private_refused(settings):
    settings.OUTBOUND_HTTP_ALLOW_PRIVATE = False


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/", "http://localhost:8080/", "http://10.0.0.5/hook", "http://192.168.1.1/",
        "http://172.16.0.1/", "http://169.254.169.254/latest/meta-data/", "http://[::1]/", "http://0.0.0.0/",
        "http://224.0.0.1/", "http://[::ffff:127.0.0.1]/",
    ],
)  # fmt: skip
def test_private_loopback_link_local_and_reserved_targets_are_refused(private_refused, url):
    with pytest.raises(OutboundRefusedError, match=r"private or reserved|could not be resolved"):
        outbound_target_check(url)


@pytest.mark.parametrize("url", ["ftp://example.com/", "file:///etc/passwd", "gopher://x/", "http:///nohost"])
def test_only_http_and_https_with_a_host(private_refused, url):
    with pytest.raises(OutboundRefusedError):
        outbound_target_check(url)


def test_a_low_port_other_than_80_and_443_is_refused(private_refused):
    with pytest.raises(OutboundRefusedError, match="Port 25"):
        outbound_target_check("http://93.184.215.14:25/")


def test_a_public_address_passes_the_check_without_a_dns_lookup_of_a_name(private_refused):
    assert outbound_target_check("https://93.184.215.14/hook") == ("https", 443, "93.184.215.14", "93.184.215.14")


def test_a_call_records_status_excerpt_and_duration():
    with loopback_server() as server:
        server.expect_request("/hook", method="POST").respond_with_data("x" * 5000, status=201)
        response = outbound_post(url=server.url_for("/hook"), body=b"{}", headers={"Content-Type": "application/json"})
    assert (response.status, response.ok, response.host) == (201, True, "127.0.0.1")
    assert len(response.excerpt) == 2000
    assert response.duration_ms >= 0
    assert not response.error


def test_a_redirect_is_not_followed():
    with loopback_server() as server:
        server.expect_request("/hook").respond_with_data("", status=302, headers={"Location": "http://10.0.0.1/"})
        response = outbound_post(url=server.url_for("/hook"), body=b"{}", headers={})
        assert len(server.log) == 1
    assert (response.status, response.ok) == (302, False)


def test_a_closed_port_is_an_error_not_an_exception():
    with loopback_server() as server:
        url = server.url_for("/hook")
    response = outbound_post(url=url, body=b"{}", headers={}, timeout=2)
    assert response.status is None
    assert response.error
