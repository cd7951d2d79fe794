"""Sources end to end against loopback origins: feeds, HTTP APIs, the crawler, reports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from originkit import Origin, Request

from baryon.connectors.fetch import FetchPolicy, OutboundClient
from baryon.connectors.sources import (
    add_source,
    get_source,
    list_sources,
    remove_source,
    run_source,
)
from baryon.core.config import Settings
from baryon.core.errors import Conflict, InvalidInput, NotFound
from baryon.workspace import Workspace

RSS = """<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{items}</channel></rss>"""
ITEM = "<item><guid>{id}</guid><link>http://news/{id}</link><title>{title}</title><description>&lt;p&gt;{text}&lt;/p&gt;</description><pubDate>Mon, 07 Dec 2026 10:00:00 GMT</pubDate></item>"  # noqa: E501


def _rss(*items: tuple[str, str, str]) -> bytes:
    return RSS.format(
        items="".join(ITEM.format(id=i, title=t, text=x) for i, t, x in items)
    ).encode()


def _client(waits: list[float] | None = None) -> OutboundClient:
    policy = FetchPolicy.from_settings(
        Settings(home=Path("/tmp/unused"), fetch_allow=["127.0.0.1/32"])
    )
    return OutboundClient(policy, sleep=(waits if waits is not None else []).append)


# ---------------------------------------------------------------------- feeds
def test_feed_run_dedupes_batch_and_history_and_makes_versions(
    ws: Workspace, origin: Origin
) -> None:
    origin.static("/rss", _rss(("a", "Up", "Stocks rise"), ("a", "Up", "Stocks rise"),
                               ("b", "Down", "Stocks fall")), "application/rss+xml")  # fmt: skip
    add_source(ws, name="news", kind="feed", url=origin.url("/rss"), actor="t")
    first = run_source(ws, "news", actor="t", client=_client())
    assert (first["status"], first["fetched"], first["new"], first["duplicate"]) == (
        "succeeded",
        3,
        2,
        1,
    )
    version = ws.datasets.get("news")
    frame = version.to_pandas()
    assert sorted(frame["id"]) == ["a", "b"]
    assert frame.loc[frame["id"] == "a", "summary"].item() == "Stocks rise"
    assert version.lineage["source"]["url"] == origin.url("/rss")
    assert version.lineage["counts"] == {"fetched": 3, "new": 2, "duplicate": 1, "failed": 0}

    origin.static("/rss", _rss(("b", "Down", "Stocks fall"), ("c", "Flat", "Nothing")))
    second = run_source(ws, "news", actor="t", client=_client())
    assert (second["new"], second["duplicate"]) == (1, 1)
    latest = ws.datasets.get("news")
    assert latest.version == 2
    assert sorted(latest.to_pandas()["id"]) == ["a", "b", "c"]


def test_feed_same_content_other_id_is_duplicate(ws: Workspace, origin: Origin) -> None:
    origin.static("/rss", _rss(("a", "Up", "Same words")))
    add_source(ws, name="news", kind="feed", url=origin.url("/rss"), actor="t")
    run_source(ws, "news", actor="t", client=_client())
    origin.static("/rss", _rss(("a2", "Up", "Same words")))
    run = run_source(ws, "news", actor="t", client=_client())
    assert (run["new"], run["duplicate"], run["version_id"]) == (0, 1, None)


def test_feed_etag_304_means_nothing_new(ws: Workspace, origin: Origin) -> None:
    def conditional(request: Request) -> tuple[int, dict[str, str], bytes]:
        if request.headers.get("if-none-match") == '"v1"':
            return 304, {"ETag": '"v1"'}, b""
        return 200, {"ETag": '"v1"', "Content-Type": "application/rss+xml"}, _rss(("a", "T", "x"))

    origin.route("/rss", conditional)
    add_source(ws, name="news", kind="feed", url=origin.url("/rss"), actor="t")
    assert run_source(ws, "news", actor="t", client=_client())["new"] == 1
    again = run_source(ws, "news", actor="t", client=_client())
    assert (again["status"], again["fetched"], again["report"]["notes"]) == (
        "succeeded",
        0,
        ["not_modified"],
    )
    assert origin.requests[-1].headers["if-none-match"] == '"v1"'


def test_feed_malformed_xml_fails_run_without_version(ws: Workspace, origin: Origin) -> None:
    origin.static("/rss", b"<rss><channel><item><title>broken", "application/rss+xml")
    add_source(ws, name="news", kind="feed", url=origin.url("/rss"), actor="t")
    run = run_source(ws, "news", actor="t", client=_client())
    assert (run["status"], run["error_code"], run["version_id"]) == (
        "failed",
        "malformed_feed",
        None,
    )
    with pytest.raises(NotFound):
        ws.datasets.get("news")


def test_feed_redirect_to_private_address_fails_named(ws: Workspace, origin: Origin) -> None:
    origin.route("/rss", lambda _r: (302, {"Location": "http://10.0.0.7/rss"}, b""))
    add_source(ws, name="news", kind="feed", url=origin.url("/rss"), actor="t")
    run = run_source(ws, "news", actor="t", client=_client())
    assert (run["status"], run["error_code"]) == ("failed", "address_refused")


def test_feed_unknown_encoding_still_read(ws: Workspace, origin: Origin) -> None:
    body = _rss(("a", "Caf\xe9", "na\xefve")).replace(
        b'version="1.0"', b'version="1.0" encoding="x-nope"'
    )
    origin.static("/rss", body.decode().encode("latin-1"), "application/rss+xml; charset=x-nope")
    add_source(ws, name="news", kind="feed", url=origin.url("/rss"), actor="t")
    run = run_source(ws, "news", actor="t", client=_client())
    assert (run["status"], run["new"]) == ("succeeded", 1)
    assert ws.datasets.get("news").to_pandas()["summary"].item().startswith("na")


def test_feed_entry_without_identity_skipped_with_reason(ws: Workspace, origin: Origin) -> None:
    body = RSS.format(
        items="<item><title>No id</title></item>" + ITEM.format(id="a", title="x", text="y")
    )
    origin.static("/rss", body.encode(), "application/rss+xml")
    add_source(ws, name="news", kind="feed", url=origin.url("/rss"), actor="t")
    run = run_source(ws, "news", actor="t", client=_client())
    assert (run["new"], run["failed"]) == (1, 1)
    assert run["report"]["failures"][0]["code"] == "no_identity"


# ------------------------------------------------------------------ http api
def _pages(request: Request) -> tuple[int, dict[str, str], bytes]:
    page = int(request.path.split("page=")[1].split("&")[0])
    rows = {1: [{"id": 1, "v": "a"}, {"id": 2, "v": "b"}], 2: [{"id": 3, "v": "c"}]}.get(page, [])
    return 200, {"Content-Type": "application/json"}, json.dumps({"data": rows}).encode()


def test_api_page_pagination_with_bearer_from_settings(ws: Workspace, origin: Origin) -> None:
    origin.route("/items", _pages)
    add_source(ws, name="api", kind="http_api", url=origin.url("/items"), actor="t",
               config={"records": "$.data", "key": "$.id", "pagination": {"type": "page", "size": 2,
                                                                          "size_param": "n"}},
               auth={"type": "bearer", "secret_ref": "api-token"})  # fmt: skip
    run = run_source(ws, "api", actor="t", client=_client())
    assert (run["status"], run["new"]) == ("succeeded", 3)
    assert origin.hits("/items") == 2  # page 2 had fewer than 2 rows: the last
    assert origin.requests[0].headers["authorization"] == "Bearer tok-from-settings"
    assert sorted(ws.datasets.get("api").to_pandas()["v"]) == ["a", "b", "c"]


def test_api_offset_pagination(ws: Workspace, origin: Origin) -> None:
    def offsets(request: Request) -> tuple[int, dict[str, str], bytes]:
        offset = int(request.path.split("offset=")[1].split("&")[0])
        return 200, {}, json.dumps([{"n": i} for i in range(offset, min(offset + 2, 5))]).encode()

    origin.route("/o", offsets)
    add_source(ws, name="api", kind="http_api", url=origin.url("/o"), actor="t",
               config={"pagination": {"type": "offset", "size": 2}})  # fmt: skip
    run = run_source(ws, "api", actor="t", client=_client())
    assert run["new"] == 5
    assert sorted(ws.datasets.get("api").to_pandas()["n"]) == [0, 1, 2, 3, 4]


def test_api_cursor_pagination_and_header_auth_encrypted(ws: Workspace, origin: Origin) -> None:
    def cursor(request: Request) -> tuple[int, dict[str, str], bytes]:
        after = request.path.split("cursor=")[1] if "cursor=" in request.path else ""
        body = {"": {"items": [{"k": "x"}], "next": "c2"},
                "c2": {"items": [{"k": "y"}], "next": None}}[after]  # fmt: skip
        return 200, {}, json.dumps(body).encode()

    origin.route("/c", cursor)
    config = {"records": "items[*]", "pagination": {"type": "cursor", "next": "next"}}
    auth = {"type": "header", "header": "X-Api-Key", "secret": "s3cret-value"}
    made = add_source(
        ws, name="api", kind="http_api", url=origin.url("/c"), actor="t", config=config, auth=auth
    )
    assert "s3cret-value" not in json.dumps(made)
    assert made["auth"] == {
        "type": "header",
        "header": "X-Api-Key",
    }
    assert "s3cret-value" not in json.dumps(get_source(ws, "api"))
    run = run_source(ws, "api", actor="t", client=_client())
    assert run["new"] == 2
    assert {r.headers["x-api-key"] for r in origin.requests} == {"s3cret-value"}


def test_api_link_header_pagination(ws: Workspace, origin: Origin) -> None:
    origin.route(
        "/l1", lambda _r: (200, {"Link": f'<{origin.url("/l2")}>; rel="next"'}, b'[{"a": 1}]')
    )
    origin.route("/l2", lambda _r: (200, {"Link": '</l1>; rel="prev"'}, b'[{"a": 2}]'))
    add_source(ws, name="api", kind="http_api", url=origin.url("/l1"), actor="t",
               config={"pagination": {"type": "link"}})  # fmt: skip
    assert run_source(ws, "api", actor="t", client=_client())["new"] == 2


def test_api_since_cursor_sent_on_next_run(ws: Workspace, origin: Origin) -> None:
    origin.route(
        "/s",
        lambda _r: (
            200,
            {},
            b'[{"id": 1, "updated": "2026-01-02"}, {"id": 2, "updated": "2026-01-05"}]',
        ),
    )
    add_source(ws, name="api", kind="http_api", url=origin.url("/s"), actor="t",
               config={"key": "id", "since_param": "since", "since_field": "updated"})  # fmt: skip
    run_source(ws, "api", actor="t", client=_client())
    assert "since=" not in origin.requests[0].path
    run_source(ws, "api", actor="t", client=_client())
    assert "since=2026-01-05" in origin.requests[1].path


def test_api_429_storm_fails_run_named_after_backoff(ws: Workspace, origin: Origin) -> None:
    origin.route("/r", lambda _r: (429, {"Retry-After": "2"}, b"slow down, secret body"))
    add_source(
        ws, name="api", kind="http_api", url=origin.url("/r"), actor="t", config={"retries": 3}
    )
    waits: list[float] = []
    run = run_source(ws, "api", actor="t", client=_client(waits))
    assert (run["status"], run["error_code"]) == ("failed", "upstream_status")
    assert waits == [2.0, 2.0, 2.0]
    assert origin.hits("/r") == 4
    assert "secret body" not in (run["error"] or "")


def test_api_malformed_json_fails_without_version_or_state(ws: Workspace, origin: Origin) -> None:
    origin.static("/j", b"{not json", "application/json", ETag='"e1"')
    add_source(ws, name="api", kind="http_api", url=origin.url("/j"), actor="t")
    run = run_source(ws, "api", actor="t", client=_client())
    assert (run["status"], run["error_code"]) == ("failed", "malformed_json")
    origin.static("/j", b'[{"a": 1}]', "application/json", ETag='"e2"')
    assert run_source(ws, "api", actor="t", client=_client())["new"] == 1
    assert "if-none-match" not in origin.requests[1].headers  # the failed run kept no state


def test_api_second_page_failure_leaves_no_partial_version(ws: Workspace, origin: Origin) -> None:
    def pages(request: Request) -> tuple[int, dict[str, str], bytes]:
        if "page=1" in request.path:
            return 200, {}, b'[{"a": 1}]'
        return 200, {}, b"<html>oops</html>"

    origin.route("/p", pages)
    add_source(ws, name="api", kind="http_api", url=origin.url("/p"), actor="t",
               config={"pagination": {"type": "page"}})  # fmt: skip
    run = run_source(ws, "api", actor="t", client=_client())
    assert (run["status"], run["error_code"], run["version_id"]) == (
        "failed",
        "malformed_json",
        None,
    )
    with pytest.raises(NotFound):
        ws.datasets.get("api")


# --------------------------------------------------------------------- crawl
PAGE = (
    "<html><head><title>{t}</title>{canon}</head>"
    "<body><article><p>{body}</p></article>{links}</body></html>"
)


def _page(title: str, links: list[str], canonical: str = "") -> bytes:
    body = f"{title} is a page with enough words to count as the main text of an article. " * 8
    canon = f'<link rel="canonical" href="{canonical}">' if canonical else ""
    anchors = "".join(f'<a href="{link}">{link}</a>' for link in links)
    return PAGE.format(t=title, canon=canon, body=body, links=anchors).encode()


def test_crawl_obeys_robots_disallow_crawl_delay_depth_and_canonical(
    ws: Workspace, origin: Origin
) -> None:
    origin.static("/robots.txt", b"User-agent: *\nDisallow: /private\nCrawl-delay: 3\n")
    origin.static("/", _page("Home", ["/a", "/private/x", "/a#frag", "/b"]), "text/html")
    origin.static("/a", _page("A", ["/deep"]), "text/html")
    origin.static("/b", _page("A", [], canonical=origin.url("/a")), "text/html")  # same page
    origin.static("/deep", _page("Deep", ["/deeper"]), "text/html")
    add_source(ws, name="site", kind="crawl", url=origin.url("/"), actor="t",
               config={"max_depth": 1, "delay": 0.5})  # fmt: skip
    waits: list[float] = []
    run = run_source(ws, "site", actor="t", client=_client(waits))
    assert run["status"] == "succeeded"
    assert origin.hits("/private/x") == 0
    assert origin.hits("/deep") == 0
    assert {f["code"] for f in run["report"]["failures"]} == {"robots_disallowed"}
    assert (run["fetched"], run["new"], run["duplicate"]) == (3, 2, 1)
    assert waits
    assert all(2.5 < w <= 3.0 for w in waits)
    assert sorted(ws.datasets.get("site").to_pandas()["title"]) == ["A", "Home"]


@pytest.mark.parametrize(("status", "pages"), [(404, 1), (503, 0)])
def test_crawl_robots_4xx_allows_5xx_disallows(
    ws: Workspace, origin: Origin, status: int, pages: int
) -> None:
    origin.route("/robots.txt", lambda _r: (status, {}, b"nope"))
    origin.static("/", _page("Home", []), "text/html")
    add_source(ws, name="site", kind="crawl", url=origin.url("/"), actor="t", config={"delay": 0})
    run_source(ws, "site", actor="t", client=_client())
    assert origin.hits("/") == pages


def test_crawl_huge_robots_read_to_500_kib(ws: Workspace, origin: Origin) -> None:
    robots = b"User-agent: *\nDisallow: /private\n" + b"# padding\n" * 1_000_000  # ~10 MB
    origin.static("/robots.txt", robots)
    origin.static("/", _page("Home", ["/private"]), "text/html")
    add_source(ws, name="site", kind="crawl", url=origin.url("/"), actor="t", config={"delay": 0})
    run = run_source(ws, "site", actor="t", client=_client())
    assert (run["status"], run["new"], origin.hits("/private")) == ("succeeded", 1, 0)


def test_crawl_sitemap_urls_and_robots_cache(ws: Workspace, origin: Origin) -> None:
    sitemap = f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>{origin.url("/s")}</loc></url></urlset>'
    origin.static(
        "/robots.txt", f"User-agent: *\nAllow: /\nSitemap: {origin.url('/sitemap.xml')}\n".encode()
    )
    origin.static("/sitemap.xml", sitemap.encode(), "application/xml")
    origin.static("/", _page("Home", []), "text/html")
    origin.static("/s", _page("From sitemap", []), "text/html")
    add_source(ws, name="site", kind="crawl", url=origin.url("/"), actor="t", config={"delay": 0})
    assert run_source(ws, "site", actor="t", client=_client())["new"] == 2
    run_source(ws, "site", actor="t", client=_client())
    assert origin.hits("/robots.txt") == 1  # cached for 24 h


# ----------------------------------------------------------------- lifecycle
def test_sources_crud_bad_input_and_other_org(ws: Workspace, origin: Origin) -> None:
    add_source(ws, name="news", kind="feed", url=origin.url("/rss"), actor="t")
    with pytest.raises(Conflict) as exists:
        add_source(ws, name="news", kind="feed", url=origin.url("/rss"), actor="t")
    assert exists.value.code == "source_exists"
    bad: list[tuple[dict[str, Any], str]] = [
        ({"kind": "ftp"}, "invalid_source_kind"),
        ({"url": "file:///etc/passwd"}, "invalid_url"),
        ({"url": "http://2130706433/"}, "ambiguous_host"),
        ({"name": "bad name"}, "invalid_source_name"),
        ({"config": {"nope": 1}}, "invalid_source_config"),
        ({"kind": "http_api", "config": {"records": "$$"}}, "invalid_selector"),
        (
            {"kind": "http_api", "auth": {"type": "bearer", "secret_ref": "missing"}},
            "unknown_secret_ref",
        ),
        ({"kind": "http_api", "auth": {"type": "magic", "secret": "x"}}, "invalid_auth"),
        ({"config": {"sink": "sentiment", "tickers": ["not a ticker"]}}, "invalid_ticker"),
    ]
    for change, code in bad:
        args: dict[str, Any] = {"name": "other", "kind": "feed", "url": origin.url("/rss")}
        args.update(change)
        with pytest.raises(InvalidInput) as bad_input:
            add_source(ws, actor="t", **args)
        assert bad_input.value.code == code, change
    assert [s["name"] for s in list_sources(ws)] == ["news"]

    from baryon.commerce.orgs import create_org

    with ws.db.session() as session:
        other_id = create_org(session, name="acme", actor="t", clock=ws.clock).id
    other = ws.for_org(other_id)
    assert list_sources(other) == []
    with pytest.raises(NotFound) as info:
        get_source(other, "news")
    assert info.value.code == "source_not_found"
    with pytest.raises(NotFound):
        run_source(other, "news", actor="t", client=_client())
    with pytest.raises(NotFound):
        remove_source(other, "news", actor="t")
    remove_source(ws, "news", actor="t")
    assert list_sources(ws) == []


def test_unexpected_error_is_a_failed_run_not_a_crash(
    ws: Workspace, origin: Origin, monkeypatch: pytest.MonkeyPatch
) -> None:
    import baryon.connectors.sources as sources

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("library surprise with upstream text")

    monkeypatch.setattr(sources, "pull_feed", broken)
    add_source(ws, name="news", kind="feed", url=origin.url("/rss"), actor="t")
    run = run_source(ws, "news", actor="t", client=_client())
    assert (run["status"], run["error_code"]) == ("failed", "run_failed")
    assert "upstream text" not in (run["error"] or "")
