"""One outbound HTTP client for every source: SSRF-safe by construction.

Every URL Baryon fetches for a user (an HTTP API page, a feed, a crawled page, a
robots.txt) goes through :class:`OutboundClient`:

- **http and https only**; no user info in the URL; a host written as a number in a
  non-canonical form (``2130706433``, ``0x7f000001``, ``127.1``) is refused
  (``ambiguous_host``): those spellings exist to slip past filters.
- **The host is resolved once** and *every* address it resolves to is vetted: loopback,
  private (RFC 1918), link-local (``169.254.169.254`` included), CGNAT
  (``100.64.0.0/10``), unique-local IPv6 (``fc00::/7``), IPv4-mapped IPv6
  (``::ffff:a.b.c.d``), multicast, unspecified, reserved and every other
  non-global address are refused (``address_refused``) unless a network of the
  operator's allow-list (:attr:`~baryon.core.config.Settings.fetch_allow`) holds it.
- **The connection goes to the vetted address**: the transport is pinned to it (no
  second DNS lookup, so DNS rebinding cannot swap it), while the TLS SNI, certificate
  check and ``Host`` header keep the URL's host name. Proxies from the environment
  are ignored.
- **Redirects are followed by hand** (GET only; a POST's redirect is refused), at
  most :data:`MAX_REDIRECTS`, each hop checked as above; an ``Authorization`` header
  is dropped when a redirect leaves the origin.
- **Caps**: total time per response (``fetch_timeout`` seconds, checked while the body
  trickles in), declared and received size and decompressed size (``fetch_max_bytes``).
- **Upstream bodies are never echoed** in errors: a message names the URL, the status
  and the reason only.

Retries (:meth:`OutboundClient.get` with ``retries``): a 429 or a 5xx is retried with
exponential backoff (1 s, 2 s, 4 s, ... capped at 60 s), or after the server's
``Retry-After`` (seconds or an HTTP date, RFC 9110 §10.2.3) when it sends one; a
``Retry-After`` above :data:`MAX_RETRY_AFTER` seconds ends the retries at once.

Errors are :class:`~baryon.core.errors.UpstreamError` (HTTP 502) with codes
``invalid_url``, ``ambiguous_host``, ``address_refused``, ``dns_failed``,
``connect_failed``, ``tls_failed``, ``fetch_timeout``, ``response_too_large``,
``too_many_redirects``, ``bad_redirect``, ``bad_content_encoding``, ``fetch_failed``,
and for :meth:`OutboundClient.post` ``redirect_refused`` (a POST's 3xx is never
followed).
"""

from __future__ import annotations

import email.utils
import ipaddress
import re
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpcore
import httpx

from baryon.core.errors import InvalidInput, UpstreamError

if TYPE_CHECKING:
    from baryon.core.config import Settings

__all__ = [
    "MAX_REDIRECTS",
    "MAX_RETRY_AFTER",
    "FetchPolicy",
    "Fetched",
    "OutboundClient",
    "check_url",
    "retry_after_seconds",
]

#: Redirect hops followed at most; the sixth is refused (``too_many_redirects``).
MAX_REDIRECTS = 5
#: A ``Retry-After`` longer than this many seconds ends the retries of a request.
MAX_RETRY_AFTER = 120.0
_BACKOFF_CAP = 60.0
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$", re.IGNORECASE)
_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_CANONICAL_V4 = re.compile(rf"^{_OCTET}(\.{_OCTET}){{3}}$")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]


def _parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    out = []
    for value in values:
        try:
            out.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise InvalidInput(
                f"fetch_allow holds networks such as 127.0.0.1/32 or fd00::/8, got {value!r}",
                code="invalid_fetch_allow",
            ) from None
    return tuple(out)


@dataclass(frozen=True)
class FetchPolicy:
    """What the outbound client may do.

    Attributes
    ----------
    allow : tuple of networks
        Networks that are reachable even though they are not global (the operator's
        allow-list); empty by default.
    user_agent : str
        The ``User-Agent`` of every request.
    timeout : float
        Seconds one response may take, from connecting to its last body byte.
    max_bytes : int
        Largest response body, in bytes, as declared, as received and decompressed.
    """

    allow: tuple[Network, ...] = ()
    user_agent: str = "Baryon"
    timeout: float = 30.0
    max_bytes: int = 10 * 1024 * 1024

    @classmethod
    def from_settings(cls, settings: Settings) -> FetchPolicy:
        """The policy of ``settings`` (``fetch_allow``, ``fetch_user_agent``,
        ``fetch_timeout``, ``fetch_max_bytes``).

        Raises
        ------
        InvalidInput
            ``invalid_fetch_allow``: an entry is not an IP network.
        """
        return cls(
            allow=_parse_networks(settings.fetch_allow),
            user_agent=settings.fetch_user_agent,
            timeout=settings.fetch_timeout,
            max_bytes=settings.fetch_max_bytes,
        )

    def permits(self, address: Address) -> bool:
        """Whether ``address`` may be connected to: global and not multicast, or in
        the allow-list. IPv4-mapped IPv6 addresses are never global here."""
        if any(address in net for net in self.allow if net.version == address.version):
            return True
        if isinstance(address, ipaddress.IPv6Address):
            if address.ipv4_mapped is not None or address.sixtofour is not None:
                return False
            if address.teredo is not None:
                return False
            if address in ipaddress.ip_network("64:ff9b::/96"):  # NAT64 of any IPv4
                return False
        return address.is_global and not address.is_multicast


@dataclass(frozen=True)
class Fetched:
    """A response read whole, within the caps.

    Attributes
    ----------
    url : str
        The final URL (after redirects).
    status : int
        Its HTTP status (any: callers decide what a non-2xx means).
    headers : httpx.Headers
        Its headers.
    body : bytes
        Its body, decompressed (empty for a 304).
    address : str
        The IP address the final response came from.
    redirects : tuple of str
        The URLs redirected through, in order (not the final one).
    fetched_at : datetime
        When the final response's body was complete (UTC).
    attempts : int
        Requests made for it (retries included).
    """

    url: str
    status: int
    headers: httpx.Headers
    body: bytes
    address: str
    redirects: tuple[str, ...] = ()
    fetched_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    attempts: int = 1

    @property
    def ok(self) -> bool:
        """A 2xx status."""
        return 200 <= self.status < 300

    def text(self) -> str:
        """The body as text: the declared charset, else UTF-8; undecodable bytes replaced."""
        charset = self.headers.get("content-type", "")
        match = re.search(r"charset=\"?([A-Za-z0-9._:-]+)", charset)
        encoding = match.group(1) if match else "utf-8"
        try:
            return self.body.decode(encoding, errors="replace")
        except LookupError:  # an unknown charset name: read it as UTF-8
            return self.body.decode("utf-8", errors="replace")


def _fail(code: str, message: str) -> UpstreamError:
    return UpstreamError(message, code=code)


def _short(url: Any) -> str:
    text = str(url)
    return text if len(text) <= 200 else text[:197] + "..."


def check_url(url: Any) -> httpx.URL:
    """Check a URL's shape (no network): http or https, a host, no user info, no
    number-spelled host other than a dotted quad.

    Returns
    -------
    httpx.URL

    Raises
    ------
    UpstreamError
        ``invalid_url``, ``ambiguous_host``.
    """
    if not isinstance(url, str | httpx.URL) or len(str(url)) > 4096:
        raise _fail("invalid_url", "a URL is text of at most 4096 characters")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError):
        raise _fail("invalid_url", f"not a URL: {_short(url)!r}") from None
    if parsed.scheme not in ("http", "https"):
        raise _fail("invalid_url", f"only http and https URLs are fetched, got {_short(url)!r}")
    host = parsed.host
    if not host:
        raise _fail("invalid_url", f"the URL has no host: {_short(url)!r}")
    if parsed.userinfo:
        raise _fail("invalid_url", "a URL with user:password@ is refused; give credentials as auth")
    if ":" not in host:
        labels = host.rstrip(".").split(".")
        if _NUMERIC_LABEL.match(labels[-1]) and not _CANONICAL_V4.match(host):
            raise _fail(
                "ambiguous_host",
                f"the host {host!r} is a number not written as a dotted quad (a.b.c.d)",
            )
    return parsed


def _system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


class _PinnedBackend(httpcore.SyncBackend):
    """An httpcore network backend that connects to one vetted address, whatever host
    name httpcore asks for (TLS still uses the URL's host name for SNI)."""

    def __init__(self, address: str) -> None:
        self.address = address

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        return super().connect_tcp(self.address, port, timeout, local_address, socket_options)


class _PinnedTransport(httpx.HTTPTransport):
    def __init__(self, address: str, ssl_context: ssl.SSLContext) -> None:
        super().__init__(verify=ssl_context, trust_env=False, retries=0)
        # The pool httpx built resolves names itself; ours connects to the vetted address.
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=1,
            retries=0,
            network_backend=_PinnedBackend(address),
        )


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """Read a ``Retry-After`` header (RFC 9110 §10.2.3): delay-seconds or an HTTP date.

    Returns
    -------
    float or None
        Seconds to wait (0 for a date in the past), or ``None`` if absent or unreadable.
    """
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class OutboundClient:
    """The SSRF-safe HTTP client (see the module docstring).

    Parameters
    ----------
    policy : FetchPolicy
        Allow-list, User-Agent, caps.
    resolver : callable, optional
        ``(host, port) -> [ip, ...]``; default :func:`socket.getaddrinfo`.
    sleep : callable, optional
        Waits between retries (default :func:`time.sleep`; tests pass a recorder).
    """

    def __init__(
        self,
        policy: FetchPolicy,
        *,
        resolver: Resolver | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.policy = policy
        self.resolver = resolver or _system_resolver
        self.sleep = sleep
        self._ssl: ssl.SSLContext | None = None

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:  # loading the CA bundle costs ~20 ms: once per client
            self._ssl = ssl.create_default_context()
        return self._ssl

    # ---------------------------------------------------------------- vetting
    def vet(self, url: Any) -> tuple[httpx.URL, str]:
        """Check ``url`` and resolve its host; return it and the address to connect to.

        Raises
        ------
        UpstreamError
            ``invalid_url``, ``ambiguous_host``, ``dns_failed``, ``address_refused``.
        """
        parsed = check_url(url)
        host = parsed.host
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        try:
            literal: Address | None = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None:
            addresses = [str(literal)]
        else:
            try:
                addresses = list(self.resolver(host, port))
            except (OSError, UnicodeError):
                raise _fail("dns_failed", f"cannot resolve {host!r}") from None
        if not addresses:
            raise _fail("dns_failed", f"cannot resolve {host!r}")
        for text in addresses:
            address = ipaddress.ip_address(text.split("%", 1)[0])
            if not self.policy.permits(address):
                raise _fail(
                    "address_refused",
                    f"{host} resolves to {address}, a non-public address Baryon does not "
                    "fetch from (an operator may allow it with fetch_allow)",
                )
        return parsed, addresses[0].split("%", 1)[0]

    # ---------------------------------------------------------------- fetching
    def get(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        retries: int = 0,
        max_bytes: int | None = None,
        truncate: bool = False,
    ) -> Fetched:
        """GET ``url`` following at most :data:`MAX_REDIRECTS` checked redirects.

        Parameters
        ----------
        url : str
            An http(s) URL.
        headers : mapping, optional
            Extra request headers (``Authorization``, ``If-None-Match``, ...).
        retries : int
            Extra attempts after a 429 or 5xx answer or a connection failure
            (0-10), with backoff or ``Retry-After``.
        max_bytes : int, optional
            A smaller body cap than the policy's, in bytes.
        truncate : bool
            Keep the first ``max_bytes`` of a longer body instead of refusing it (a
            robots.txt: RFC 9309 §2.5 reads at least 500 KiB and may ignore the rest).

        Returns
        -------
        Fetched
            The final response, whatever its status (after the retries).

        Raises
        ------
        UpstreamError
            Any code of the module docstring.
        """
        retries = max(0, min(int(retries), 10))
        attempt = 0
        while True:
            attempt += 1
            try:
                cap = min(max_bytes or self.policy.max_bytes, self.policy.max_bytes)
                fetched = self._follow(url, headers or {}, cap, truncate)
            except UpstreamError as exc:
                if exc.code not in ("connect_failed", "fetch_timeout") or attempt > retries:
                    raise
                self.sleep(min(_BACKOFF_CAP, 2.0 ** (attempt - 1)))
                continue
            if not (fetched.status == 429 or fetched.status >= 500) or attempt > retries:
                return _with_attempts(fetched, attempt)
            wait = retry_after_seconds(fetched.headers.get("retry-after"))
            if wait is not None and wait > MAX_RETRY_AFTER:
                return _with_attempts(fetched, attempt)
            self.sleep(min(_BACKOFF_CAP, 2.0 ** (attempt - 1)) if wait is None else wait)

    def _follow(
        self, url: str, headers: Mapping[str, str], max_bytes: int, truncate: bool
    ) -> Fetched:
        hops: list[str] = []
        current = url
        request_headers = dict(headers)
        origin: tuple[str, str, int | None] | None = None
        while True:
            parsed, address = self.vet(current)
            here = (parsed.scheme, parsed.host, parsed.port)
            if origin is None:
                origin = here
            elif here != origin:
                request_headers = {
                    k: v for k, v in request_headers.items() if k.lower() != "authorization"
                }
            fetched = self._once(parsed, address, request_headers, max_bytes, truncate)
            if fetched.status not in _REDIRECTS:
                return Fetched(
                    url=str(parsed), status=fetched.status, headers=fetched.headers,
                    body=fetched.body, address=address, redirects=tuple(hops),
                    fetched_at=fetched.fetched_at,
                )  # fmt: skip
            location = fetched.headers.get("location")
            if not location:
                raise _fail("bad_redirect", f"{_short(parsed)} redirects without a Location")
            hops.append(str(parsed))
            if len(hops) > MAX_REDIRECTS:
                raise _fail(
                    "too_many_redirects",
                    f"{_short(url)} redirects more than {MAX_REDIRECTS} times",
                )
            try:
                current = str(parsed.join(location))
            except (httpx.InvalidURL, ValueError):
                raise _fail("bad_redirect", f"{_short(parsed)} redirects to a bad URL") from None

    def post(
        self,
        url: str,
        body: bytes,
        *,
        headers: Mapping[str, str] | None = None,
        max_bytes: int = 64 * 1024,
    ) -> Fetched:
        """POST ``body`` to ``url`` once, vetted like :meth:`get`, redirects refused.

        The URL is checked and its host resolved and vetted (``fetch_allow``), the
        connection is pinned to the vetted address, and the policy's time cap holds.
        A redirect is not followed (a POST is not replayed elsewhere): a 3xx answer
        is ``redirect_refused``. The answer's body is read up to ``max_bytes`` and
        kept (longer bodies are cut, never refused: a receiver's reply is not data).

        Parameters
        ----------
        url : str
            An http(s) URL.
        body : bytes
            The request body, sent as is.
        headers : mapping, optional
            Request headers (``Content-Type``, signatures, ...).
        max_bytes : int
            Most bytes of the answer's body kept (default 64 KiB).

        Returns
        -------
        Fetched
            The answer, whatever its non-redirect status; no retries (the caller
            owns them).

        Raises
        ------
        UpstreamError
            ``invalid_url``, ``ambiguous_host``, ``dns_failed``, ``address_refused``,
            ``connect_failed``, ``tls_failed``, ``fetch_timeout``, ``fetch_failed``,
            ``redirect_refused``.
        """
        parsed, address = self.vet(url)
        cap = min(max_bytes, self.policy.max_bytes)
        fetched = self._once(
            parsed, address, headers or {}, cap, truncate=True, method="POST", content=body
        )
        if fetched.status in _REDIRECTS:
            raise _fail(
                "redirect_refused",
                f"{_short(parsed)} answered HTTP {fetched.status} (a redirect); "
                "a POST is not followed to another URL",
            )
        return fetched

    def _once(
        self,
        url: httpx.URL,
        address: str,
        headers: Mapping[str, str],
        max_bytes: int,
        truncate: bool,
        *,
        method: str = "GET",
        content: bytes | None = None,
    ) -> Fetched:
        policy = self.policy
        deadline = time.monotonic() + policy.timeout
        timeout = httpx.Timeout(policy.timeout, connect=min(10.0, policy.timeout))
        request_headers = {
            "User-Agent": policy.user_agent,
            "Accept-Encoding": "gzip, deflate",
            **headers,
        }
        where = _short(url)
        try:
            with (
                httpx.Client(
                    transport=_PinnedTransport(address, self._ssl_context()),
                    timeout=timeout,
                    trust_env=False,
                    follow_redirects=False,
                ) as client,  # fmt: skip
                client.stream(method, url, headers=request_headers, content=content) as response,
            ):
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > max_bytes and not truncate:
                    raise _fail(
                        "response_too_large",
                        f"{where} declares {int(declared)} bytes (limit {max_bytes})",
                    )
                chunks: list[bytes] = []
                size = 0
                if response.status_code not in _REDIRECTS:
                    for chunk in response.iter_bytes():
                        size += len(chunk)
                        if truncate and size >= max_bytes:
                            chunks.append(chunk[: max_bytes - (size - len(chunk))])
                            break
                        if size > max_bytes or response.num_bytes_downloaded > max_bytes:
                            raise _fail(
                                "response_too_large",
                                f"{where} sent more than {max_bytes} bytes",
                            )
                        chunks.append(chunk)
                        if time.monotonic() > deadline:
                            raise _fail(
                                "fetch_timeout",
                                f"{where} took more than {policy.timeout:g} s",
                            )
                return Fetched(
                    url=str(url), status=response.status_code, headers=response.headers,
                    body=b"".join(chunks), address=address,
                )  # fmt: skip
        except httpx.TimeoutException:
            raise _fail("fetch_timeout", f"{where} took more than {policy.timeout:g} s") from None
        except httpx.DecodingError:
            raise _fail("bad_content_encoding", f"{where} sent a corrupt compressed body") from None
        except httpx.ConnectError as exc:
            if isinstance(exc.__cause__, ssl.SSLError) or "SSL" in type(exc.__context__).__name__:
                raise _fail("tls_failed", f"{where}: TLS handshake failed") from None
            raise _fail("connect_failed", f"cannot connect to {where}") from None
        except httpx.HTTPError:
            raise _fail("fetch_failed", f"{where}: the connection failed") from None


def _with_attempts(fetched: Fetched, attempts: int) -> Fetched:
    from dataclasses import replace

    return replace(fetched, attempts=attempts)
