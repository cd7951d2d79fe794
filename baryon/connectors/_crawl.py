"""The polite crawler (source kind ``crawl``).

Breadth first from the start URL (and, with ``sitemaps``, the URLs of the sitemaps
robots.txt lists), on the start URL's host only, at most ``max_pages`` pages and
``max_depth`` links deep. Each page is one record ``{source_key, content_hash, url,
canonical_url, title, text, depth}``: the main text is trafilatura's; the key is the
page's canonical URL (``<link rel="canonical">``, else its URL without fragment).

robots.txt, per RFC 9309 with protego, cached in the source's state for at most
24 hours (:data:`ROBOTS_TTL`): read up to 500 KiB (§2.5; the rest is ignored); a 2xx
is parsed, a 4xx allows everything (§2.3.1.3), a 5xx or an unreachable robots.txt
disallows everything (§2.3.1.4). Rules are matched for the User-Agent of the settings.

Politeness: one request at a time per host (concurrency 1), at least ``delay``
seconds apart (default 1) or the robots.txt ``Crawl-delay`` when longer.

Options (``config``): ``max_pages`` (default 50, at most 10 000), ``max_depth``
(default 2), ``delay`` (seconds, default 1.0), ``sitemaps`` (default true).

A page disallowed by robots.txt (``robots_disallowed``), that fails to fetch (the
client's codes, ``upstream_status``), is not HTML (``not_html``) or has no main text
(``no_text``) is skipped with its reason.
"""

from __future__ import annotations

import contextlib
import time
from collections import deque
from datetime import datetime, timedelta
from typing import Any

import httpx

from baryon.connectors._records import Pull, content_hash, problem
from baryon.connectors.fetch import OutboundClient
from baryon.core.errors import InvalidInput, UpstreamError

__all__ = ["ROBOTS_TTL", "check_crawl_config", "pull_crawl"]

#: How long a robots.txt is reused (RFC 9309 §2.4: SHOULD NOT use a cached copy for
#: more than 24 hours).
ROBOTS_TTL = timedelta(hours=24)
_ROBOTS_BYTES = 500 * 1024
_SITEMAP_BYTES = 5 * 1024 * 1024
_FIELDS = frozenset({"max_pages", "max_depth", "delay", "sitemaps"})


def check_crawl_config(config: dict[str, Any]) -> dict[str, Any]:
    """Check a ``crawl`` source's options; return them as stored.

    Raises
    ------
    InvalidInput
        ``invalid_source_config``.
    """
    unknown = sorted(set(config) - _FIELDS)
    if unknown:
        raise InvalidInput(
            f"unknown crawl option {', '.join(unknown)}", code="invalid_source_config"
        )
    out: dict[str, Any] = {}
    for name, default, high in (("max_pages", 50, 10_000), ("max_depth", 2, 20)):
        value = config.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= high:
            raise InvalidInput(
                f"{name} is 0 to {high}, got {value!r}", code="invalid_source_config"
            )
        out[name] = value
    if out["max_pages"] < 1:
        raise InvalidInput("max_pages is at least 1", code="invalid_source_config")
    delay = config.get("delay", 1.0)
    if isinstance(delay, bool) or not isinstance(delay, int | float) or not 0 <= delay <= 3600:
        raise InvalidInput("delay is 0 to 3600 seconds", code="invalid_source_config")
    out["delay"] = float(delay)
    sitemaps = config.get("sitemaps", True)
    if not isinstance(sitemaps, bool):
        raise InvalidInput("sitemaps is true or false", code="invalid_source_config")
    out["sitemaps"] = sitemaps
    return out


def _origin(url: httpx.URL) -> str:
    port = f":{url.port}" if url.port else ""
    return f"{url.scheme}://{url.host}{port}"


def _strip_fragment(url: str) -> str:
    return str(httpx.URL(url).copy_with(fragment=None))


class _Robots:
    """robots.txt of one origin: parsed rules, allow-all or disallow-all."""

    def __init__(self, verdict: str, body: str = "") -> None:
        from protego import Protego

        self.verdict = verdict
        self.rules = Protego.parse(body) if verdict == "parsed" else None

    def can_fetch(self, url: str, agent: str) -> bool:
        if self.rules is None:
            return self.verdict == "allow_all"
        return bool(self.rules.can_fetch(url, agent))

    def crawl_delay(self, agent: str) -> float:
        if self.rules is None:
            return 0.0
        delay = self.rules.crawl_delay(agent)
        return 0.0 if delay is None else float(delay)

    def sitemaps(self) -> list[str]:
        return [] if self.rules is None else list(self.rules.sitemaps)


def _robots(
    client: OutboundClient, origin: str, state: dict[str, Any], now: datetime, pull: Pull
) -> _Robots:
    cache = state.setdefault("robots", {})
    cached = cache.get(origin)
    if cached is not None:
        fetched_at = datetime.fromisoformat(cached["fetched_at"])
        if now - fetched_at < ROBOTS_TTL:
            return _Robots(cached["verdict"], cached.get("body", ""))
    url = f"{origin}/robots.txt"
    try:
        fetched = client.get(url, max_bytes=_ROBOTS_BYTES, truncate=True, retries=1)
    except UpstreamError as exc:
        verdict, body = "disallow_all", ""
        pull.failed.append(problem(url, exc.code, "robots.txt unreachable: crawling disallowed"))
    else:
        pull.fetches.append(
            {"url": fetched.url, "status": fetched.status, "fetched_at": fetched.fetched_at,
             "bytes": len(fetched.body), "attempts": fetched.attempts}
        )  # fmt: skip
        if fetched.ok:
            verdict, body = "parsed", fetched.body.decode("utf-8", errors="replace")
        elif 400 <= fetched.status < 500:
            verdict, body = "allow_all", ""
        else:
            verdict, body = "disallow_all", ""
    cache[origin] = {"fetched_at": now.isoformat(), "verdict": verdict, "body": body}
    return _Robots(verdict, body)


def _sitemap_urls(client: OutboundClient, url: str, pull: Pull) -> list[str]:
    from lxml import etree

    try:
        fetched = client.get(url, max_bytes=_SITEMAP_BYTES)
    except UpstreamError as exc:
        pull.failed.append(problem(url, exc.code, "sitemap not read"))
        return []
    if not fetched.ok:
        pull.failed.append(problem(url, "upstream_status", f"sitemap answered {fetched.status}"))
        return []
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(fetched.body, parser=parser)
    except etree.XMLSyntaxError:
        pull.failed.append(problem(url, "malformed_xml", "the sitemap is not XML"))
        return []
    return [str(loc.text).strip() for loc in root.iter("{*}loc") if loc.text]


def _page(html: str, url: str) -> tuple[str, str, list[str]]:
    """(canonical URL, title, links) of a page."""
    import lxml.html

    try:
        doc = lxml.html.document_fromstring(html)
    except (ValueError, lxml.etree.ParserError):
        return _strip_fragment(url), "", []
    base = httpx.URL(url)
    canonical = _strip_fragment(url)
    for link in doc.xpath("//link[@rel='canonical']/@href")[:1]:
        with contextlib.suppress(httpx.InvalidURL, ValueError):
            canonical = _strip_fragment(str(base.join(str(link).strip())))
    titles = doc.xpath("//title/text()")
    links = []
    for href in doc.xpath("//a/@href"):
        try:
            target = base.join(str(href).strip())
        except (httpx.InvalidURL, ValueError):
            continue
        if target.scheme in ("http", "https"):
            links.append(_strip_fragment(str(target)))
    return canonical, str(titles[0]).strip() if titles else "", links


def pull_crawl(
    client: OutboundClient,
    url: str,
    config: dict[str, Any],
    state: dict[str, Any],
    *,
    now: datetime,
    monotonic: Any = time.monotonic,
) -> Pull:
    """Crawl from ``url`` (see the module docstring).

    Parameters
    ----------
    client : OutboundClient
        Its ``sleep`` waits between two requests to the host.
    now : datetime
        The run's time (robots.txt cache).

    Raises
    ------
    UpstreamError
        The client's codes for the start URL itself (``invalid_url``, ...).
    """
    import trafilatura

    pull = Pull(state=dict(state))
    start = client.vet(url)[0]
    origin = _origin(start)
    agent = client.policy.user_agent
    robots = _robots(client, origin, pull.state, now, pull)
    delay = max(config["delay"], robots.crawl_delay(agent))
    queue: deque[tuple[str, int]] = deque([(_strip_fragment(str(start)), 0)])
    if config["sitemaps"]:
        for sitemap in robots.sitemaps():
            queue.extend((u, 1) for u in _sitemap_urls(client, sitemap, pull))
    seen: set[str] = set()
    last_request: float | None = None
    while queue and len(seen) < config["max_pages"] * 10:  # bounds robots-disallowed links
        page_url, depth = queue.popleft()
        if page_url in seen:
            continue
        seen.add(page_url)
        try:
            parsed = httpx.URL(page_url)
        except (httpx.InvalidURL, ValueError):
            continue
        if _origin(parsed) != origin:
            continue
        if not robots.can_fetch(page_url, agent):
            pull.failed.append(problem(page_url, "robots_disallowed", "robots.txt disallows it"))
            continue
        if pull.fetched >= config["max_pages"]:
            pull.notes.append("max_pages_reached")
            break
        if last_request is not None:
            wait = delay - (monotonic() - last_request)
            if wait > 0:
                client.sleep(wait)
        last_request = monotonic()
        pull.fetched += 1
        try:
            fetched = client.get(page_url, retries=1)
        except UpstreamError as exc:
            pull.failed.append(problem(page_url, exc.code, exc.message))
            continue
        pull.fetches.append(
            {"url": fetched.url, "status": fetched.status, "fetched_at": fetched.fetched_at,
             "bytes": len(fetched.body), "attempts": fetched.attempts}
        )  # fmt: skip
        if not fetched.ok:
            pull.failed.append(problem(page_url, "upstream_status", f"HTTP {fetched.status}"))
            continue
        if "html" not in fetched.headers.get("content-type", "text/html").lower():
            pull.failed.append(problem(page_url, "not_html", "the page is not HTML"))
            continue
        html = fetched.text()
        canonical, title, links = _page(html, fetched.url)
        text = trafilatura.extract(html, url=fetched.url, include_comments=False) or ""
        if depth < config["max_depth"]:
            queue.extend((link, depth + 1) for link in links if link not in seen)
        if not text.strip():
            pull.failed.append(problem(page_url, "no_text", "no main text found"))
            continue
        pull.records.append(
            {
                "source_key": canonical,
                "content_hash": content_hash(text),
                "url": fetched.url,
                "canonical_url": canonical,
                "title": title,
                "text": text,
                "depth": depth,
            }
        )
    return pull
