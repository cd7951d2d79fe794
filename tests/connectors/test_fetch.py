"""The outbound client: address vetting on every hop, caps, retries (loopback origins)."""

from __future__ import annotations

import gzip
import ipaddress
from collections.abc import Iterator
from pathlib import Path

import pytest
from originkit import Origin

from baryon.connectors.fetch import (
    FetchPolicy,
    OutboundClient,
    check_url,
    retry_after_seconds,
)
from baryon.core.config import Settings
from baryon.core.errors import InvalidInput, UpstreamError

LOOPBACK = (ipaddress.ip_network("127.0.0.1/32"),)


@pytest.fixture
def target() -> Iterator[Origin]:
    """A second origin that redirects point at: it must never see a connection."""
    with Origin() as server:
        server.static("/secret", b"internal")
        yield server


def _client(*, allow: bool = True, **kw: object) -> tuple[OutboundClient, list[float]]:
    waits: list[float] = []
    policy = FetchPolicy(allow=LOOPBACK if allow else (), **kw)  # type: ignore[arg-type]
    return OutboundClient(policy, sleep=waits.append), waits


def _redirect(to: str) -> tuple[int, dict[str, str], bytes]:
    return 302, {"Location": to}, b""


def test_fetch_allowed_loopback_returns_body_and_sends_user_agent(origin: Origin) -> None:
    origin.static("/a", b"hello", "text/plain; charset=utf-8")
    client, _ = _client(user_agent="TestBot/1")
    got = client.get(origin.url("/a"))
    assert (got.status, got.body, got.text(), got.address) == (200, b"hello", "hello", "127.0.0.1")
    assert origin.requests[0].headers["user-agent"] == "TestBot/1"
    assert origin.requests[0].headers["host"] == f"127.0.0.1:{origin.port}"


def test_fetch_loopback_without_allow_list_is_refused_before_connecting(target: Origin) -> None:
    client, _ = _client(allow=False)
    with pytest.raises(UpstreamError) as info:
        client.get(target.url("/secret"))
    assert info.value.code == "address_refused"
    assert target.connections == 0


@pytest.mark.parametrize(
    "host",
    ["[::ffff:127.0.0.1]", "2130706433", "0x7f000001", "127.1", "017700000001"],
)
def test_fetch_redirect_to_disguised_loopback_is_refused(
    origin: Origin, target: Origin, host: str
) -> None:
    origin.route("/go", lambda _r: _redirect(f"http://{host}:{target.port}/secret"))
    client, _ = _client()  # 127.0.0.1/32 allowed: only the disguise is refused
    with pytest.raises(UpstreamError) as info:
        client.get(origin.url("/go"))
    assert info.value.code in {"address_refused", "ambiguous_host"}
    assert target.connections == 0
    assert origin.hits("/go") == 1


def test_fetch_redirect_to_link_local_metadata_is_refused(origin: Origin) -> None:
    origin.route("/go", lambda _r: _redirect("http://169.254.169.254/latest/meta-data/"))
    client, _ = _client()
    with pytest.raises(UpstreamError) as info:
        client.get(origin.url("/go"))
    assert info.value.code == "address_refused"


def test_fetch_five_redirects_followed_sixth_refused(origin: Origin, target: Origin) -> None:
    for hop in range(5):
        origin.route(f"/h{hop}", lambda _r, n=hop: _redirect(f"/h{n + 1}"))  # type: ignore[misc]
    origin.static("/h5", b"end")
    client, _ = _client()
    got = client.get(origin.url("/h0"))
    assert (got.body, len(got.redirects)) == (b"end", 5)

    origin.route("/h5", lambda _r: _redirect(target.url("/secret")))  # a 6th hop
    with pytest.raises(UpstreamError) as info:
        client.get(origin.url("/h0"))
    assert info.value.code == "too_many_redirects"
    assert target.connections == 0


def test_fetch_redirect_to_other_origin_drops_authorization(origin: Origin, target: Origin) -> None:
    origin.route("/go", lambda _r: _redirect(target.url("/secret")))
    client, _ = _client()
    client.get(origin.url("/go"), headers={"Authorization": "Bearer s3cret"})
    assert origin.requests[0].headers["authorization"] == "Bearer s3cret"
    assert "authorization" not in target.requests[0].headers


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("ftp://example.com/x", "invalid_url"),
        ("file:///etc/passwd", "invalid_url"),
        ("http://user:pw@example.com/", "invalid_url"),
        ("http://0177.0.0.1/", "invalid_url"),
        ("not a url", "invalid_url"),
        ("http://2130706433/", "ambiguous_host"),
    ],
)
def test_check_url_bad_urls_named(url: str, code: str) -> None:
    with pytest.raises(UpstreamError) as info:
        check_url(url)
    assert info.value.code == code


@pytest.mark.parametrize(
    "address",
    ["10.0.0.1", "172.16.0.1", "192.168.1.1", "100.64.0.1", "169.254.169.254", "0.0.0.0",
     "224.0.0.1", "::1", "fd00::1", "fe80::1", "::ffff:8.8.8.8", "::", "ff02::1"],
)  # fmt: skip
def test_policy_refuses_non_public_addresses(address: str) -> None:
    assert not FetchPolicy().permits(ipaddress.ip_address(address))


def test_policy_permits_public_and_allow_listed() -> None:
    assert FetchPolicy().permits(ipaddress.ip_address("93.184.216.34"))
    allowed = FetchPolicy(allow=(ipaddress.ip_network("10.0.0.0/8"),))
    assert allowed.permits(ipaddress.ip_address("10.1.2.3"))
    assert not allowed.permits(ipaddress.ip_address("192.168.1.1"))


def test_vet_refuses_when_any_resolved_address_is_private() -> None:
    client = OutboundClient(FetchPolicy(), resolver=lambda h, p: ["93.184.216.34", "10.0.0.1"])
    with pytest.raises(UpstreamError) as info:
        client.vet("http://rebind.example/")
    assert info.value.code == "address_refused"


def test_fetch_declared_too_large_refused(origin: Origin) -> None:
    origin.static("/big", b"x" * 5000)
    client, _ = _client(max_bytes=1000)
    with pytest.raises(UpstreamError) as info:
        client.get(origin.url("/big"))
    assert info.value.code == "response_too_large"
    assert "xxx" not in info.value.message


def test_fetch_gzip_bomb_refused_on_decompressed_size(origin: Origin) -> None:
    bomb = gzip.compress(b"\0" * 200_000)
    origin.static("/bomb", bomb, "text/plain", Content_Encoding="gzip")
    client, _ = _client(max_bytes=50_000)
    assert len(bomb) < 50_000
    with pytest.raises(UpstreamError) as info:
        client.get(origin.url("/bomb"))
    assert info.value.code == "response_too_large"


def test_fetch_trickling_server_times_out(origin: Origin) -> None:
    origin.route("/slow", lambda _r: (200, {}, (b"x" for _ in range(100))), delay=0.05)
    client, _ = _client(timeout=0.5)
    with pytest.raises(UpstreamError) as info:
        client.get(origin.url("/slow"))
    assert info.value.code == "fetch_timeout"


def test_fetch_429_honours_retry_after_then_succeeds(origin: Origin) -> None:
    answers = iter([(429, {"Retry-After": "7"}, b"slow down"), (503, {}, b"busy")])

    def flaky(_r: object) -> tuple[int, dict[str, str], bytes]:
        return next(answers, (200, {}, b"done"))

    origin.route("/r", flaky)
    client, waits = _client()
    got = client.get(origin.url("/r"), retries=3)
    assert (got.status, got.body, got.attempts) == (200, b"done", 3)
    assert waits == [7.0, 2.0]


def test_fetch_429_storm_gives_up_after_retries(origin: Origin) -> None:
    origin.route("/r", lambda _r: (429, {"Retry-After": "1"}, b"no"))
    client, waits = _client()
    got = client.get(origin.url("/r"), retries=2)
    assert (got.status, got.attempts, waits) == (429, 3, [1.0, 1.0])


def test_fetch_retry_after_too_long_stops_at_once(origin: Origin) -> None:
    origin.route("/r", lambda _r: (429, {"Retry-After": "86400"}, b"no"))
    client, waits = _client()
    assert client.get(origin.url("/r"), retries=5).attempts == 1
    assert waits == []


def test_retry_after_http_date_and_garbage() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert retry_after_seconds("Thu, 01 Jan 2026 00:00:30 GMT", now=now) == 30.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


def test_policy_from_settings_reads_allow_list() -> None:
    policy = FetchPolicy.from_settings(Settings(home=Path("/tmp/x"), fetch_allow=["127.0.0.1/32"]))
    assert policy.permits(ipaddress.ip_address("127.0.0.1"))
    with pytest.raises(InvalidInput) as info:
        FetchPolicy.from_settings(Settings(home=Path("/tmp/x"), fetch_allow=["localhost"]))
    assert info.value.code == "invalid_fetch_allow"


def test_post_sends_the_body_to_an_allowed_address_and_returns_the_status(
    origin: Origin,
) -> None:
    origin.route("/hook", lambda r: (202, {"Content-Type": "text/plain"}, b"thanks " + r.body))
    client, _ = _client(user_agent="Hooks/1")
    got = client.post(origin.url("/hook"), b'{"a": 1}', headers={"X-Sig": "s"})
    assert (got.status, got.body, got.address) == (202, b'thanks {"a": 1}', "127.0.0.1")
    [request] = origin.requests
    assert (request.method, request.body, request.headers["x-sig"]) == ("POST", b'{"a": 1}', "s")
    assert request.headers["user-agent"] == "Hooks/1"


@pytest.mark.parametrize("host", ["127.0.0.1", "169.254.169.254", "[::1]", "2130706433"])
def test_post_to_a_non_public_address_is_refused_before_connecting(
    target: Origin, host: str
) -> None:
    client, _ = _client(allow=False)
    with pytest.raises(UpstreamError) as info:
        client.post(f"http://{host}:{target.port}/secret", b"x")
    assert info.value.code in ("address_refused", "ambiguous_host")
    assert target.connections == 0


def test_post_redirect_is_refused_and_not_followed(origin: Origin, target: Origin) -> None:
    origin.route("/hook", lambda _r: (307, {"Location": target.url("/secret")}, b"moved"))
    client, _ = _client()
    with pytest.raises(UpstreamError) as info:
        client.post(origin.url("/hook"), b"x")
    assert info.value.code == "redirect_refused"
    assert "moved" not in info.value.message
    assert target.connections == 0
