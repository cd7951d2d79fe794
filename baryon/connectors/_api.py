"""The HTTP JSON API puller (source kind ``http_api``).

Options (``config``):

``records``
    Selector of the records in each page (default ``$``: the page is the list).
``columns``
    ``{column: selector}`` applied to each record (default: the record's top-level
    fields; nested values are kept as JSON text).
``key``
    Selector of a record's identity (de-duplication; default: its content hash).
``pagination``
    ``{"type": "page", "param": "page", "start": 1, "size_param": ..., "size": ...}``,
    ``{"type": "offset", "param": "offset", "size_param": "limit", "size": 100}``,
    ``{"type": "cursor", "param": "cursor", "next": "$.next_cursor"}``,
    ``{"type": "link"}`` (the ``Link: <...>; rel="next"`` header, RFC 8288), or none.
``max_pages``
    Pages read at most per run (default 100).
``since_param``, ``since_field``
    Incremental pull by a since-cursor: the largest ``since_field`` of the records
    is sent as ``since_param`` on the next run.
``retries``
    Retries of a 429 or 5xx answer (default 3, honouring ``Retry-After``).

Without a since-cursor and without pagination the first page is requested with
``If-None-Match`` / ``If-Modified-Since`` from the last run, and a ``304`` ends the run
with nothing new.

A page that is not JSON (``malformed_json``), a non-2xx answer after the retries
(``upstream_status``) or a selector that does not reach a list (``records_not_found``)
fail the run; a record that is not an object is skipped (``not_an_object``).
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx

from baryon.connectors._records import Pull, Selector, content_hash, problem
from baryon.connectors.fetch import Fetched, OutboundClient
from baryon.core.errors import InvalidInput, UpstreamError

__all__ = ["check_api_config", "pull_api"]

_PAGINATION = ("page", "offset", "cursor", "link")
_LINK_NEXT = re.compile(r'<([^>]*)>\s*;[^,]*?\brel\s*=\s*"?([^",;]*)"?', re.IGNORECASE)
_FIELDS = frozenset(
    {"records", "columns", "key", "pagination", "max_pages", "since_param", "since_field",
     "retries"}
)  # fmt: skip


def _int(config: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = config.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(
            f"{name} is a whole number from {low} to {high}, got {value!r}",
            code="invalid_source_config",
        )
    return value


def check_api_config(config: dict[str, Any]) -> dict[str, Any]:
    """Check an ``http_api`` source's options; return them as stored.

    Raises
    ------
    InvalidInput
        ``invalid_source_config``, ``invalid_selector``.
    """
    unknown = sorted(set(config) - _FIELDS)
    if unknown:
        raise InvalidInput(
            f"unknown http_api option {', '.join(unknown)}", code="invalid_source_config"
        )
    out: dict[str, Any] = {"records": Selector(config.get("records") or "$").text}
    columns = config.get("columns")
    if columns is not None:
        if not isinstance(columns, dict) or not columns or len(columns) > 200:
            raise InvalidInput(
                "columns is a mapping {column: selector} of 1 to 200 entries",
                code="invalid_source_config",
            )
        out["columns"] = {str(k): Selector(v).text for k, v in columns.items()}
    if config.get("key") is not None:
        out["key"] = Selector(config["key"]).text
    pagination = config.get("pagination")
    if pagination is not None:
        kind = pagination.get("type") if isinstance(pagination, dict) else None
        if kind not in _PAGINATION:
            raise InvalidInput(
                f"pagination type is one of {', '.join(_PAGINATION)}, got {kind!r}",
                code="invalid_source_config",
            )
        page = dict(pagination)
        if kind == "cursor":
            page["next"] = Selector(page.get("next") or "$.next").text
        if "size" in page:
            page["size"] = _int(page, "size", 100, 1, 10_000)
        out["pagination"] = page
    out["max_pages"] = _int(config, "max_pages", 100, 1, 10_000)
    out["retries"] = _int(config, "retries", 3, 0, 10)
    for name in ("since_param", "since_field"):
        if config.get(name) is not None:
            out[name] = str(config[name])
    if ("since_param" in out) != ("since_field" in out):
        raise InvalidInput("since_param and since_field go together", code="invalid_source_config")
    return out


def _next_link(fetched: Fetched) -> str | None:
    for header in fetched.headers.get_list("link"):
        for target, rel in _LINK_NEXT.findall(header):
            if "next" in rel.lower().split():
                return str(httpx.URL(fetched.url).join(target))
    return None


def _with_params(url: str, params: dict[str, Any]) -> str:
    return str(httpx.URL(url).copy_merge_params({k: str(v) for k, v in params.items()}))


def _cell(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _record(raw: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    columns = config.get("columns")
    if columns is None:
        row = {str(k): _cell(v) for k, v in raw.items()}
    else:
        row = {name: _cell(Selector(path).first(raw)) for name, path in columns.items()}
    digest = content_hash(row)
    key = Selector(config["key"]).first(raw) if "key" in config else None
    return {"source_key": digest if key is None else str(key), "content_hash": digest, **row}


def pull_api(
    client: OutboundClient,
    url: str,
    config: dict[str, Any],
    state: dict[str, Any],
    headers: dict[str, str],
) -> Pull:
    """Pull every page of an ``http_api`` source (see the module docstring).

    Parameters
    ----------
    client : OutboundClient
    url : str
        The first page.
    config : dict
        Checked options (:func:`check_api_config`).
    state : dict
        The last successful run's state (``etag``, ``last_modified``, ``since``).
    headers : dict
        Authentication headers (never logged).

    Raises
    ------
    UpstreamError
        ``upstream_status``, ``malformed_json``, ``records_not_found`` and the client's.
    """
    pull = Pull(state=dict(state))
    pagination = config.get("pagination") or {}
    kind = pagination.get("type")
    records = Selector(config["records"])
    since_field = config.get("since_field")
    params: dict[str, Any] = {}
    if since_field and state.get("since") is not None:
        params[config["since_param"]] = state["since"]
    page_no = int(pagination.get("start", 1))
    offset = 0
    next_url: str | None = url
    request_headers = dict(headers)
    conditional = kind is None and not since_field
    if conditional and state.get("etag"):
        request_headers["If-None-Match"] = state["etag"]
    if conditional and state.get("last_modified"):
        request_headers["If-Modified-Since"] = state["last_modified"]
    newest = state.get("since")
    for page_index in range(config["max_pages"]):
        page_params = dict(params)
        if kind == "page":
            page_params[pagination.get("param", "page")] = page_no
        elif kind == "offset":
            page_params[pagination.get("param", "offset")] = offset
        if kind in ("page", "offset") and "size" in pagination:
            page_params[pagination.get("size_param", "limit")] = pagination["size"]
        assert next_url is not None
        target = _with_params(next_url, page_params) if page_params else next_url
        fetched = client.get(target, headers=request_headers, retries=config["retries"])
        pull.fetches.append(
            {"url": fetched.url, "status": fetched.status, "fetched_at": fetched.fetched_at,
             "etag": fetched.headers.get("etag"),
             "last_modified": fetched.headers.get("last-modified"), "bytes": len(fetched.body),
             "attempts": fetched.attempts}
        )  # fmt: skip
        if fetched.status == 304 and page_index == 0:
            pull.notes.append("not_modified")
            return pull
        if not fetched.ok:
            raise UpstreamError(
                f"{fetched.url} answered HTTP {fetched.status}", code="upstream_status"
            )
        try:
            document = json.loads(fetched.body)
        except (ValueError, UnicodeDecodeError):
            raise UpstreamError(
                f"{fetched.url} did not answer JSON (page {page_index + 1})",
                code="malformed_json",
            ) from None
        found = records.find(document)
        items = found[0] if len(found) == 1 and isinstance(found[0], list) else found
        if not isinstance(items, list) or (not found and page_index == 0 and kind is None):
            raise UpstreamError(
                f"the records selector {records.text!r} reaches no list in {fetched.url}",
                code="records_not_found",
            )
        for position, raw in enumerate(items):
            pull.fetched += 1
            if not isinstance(raw, dict):
                pull.failed.append(
                    problem(
                        f"{fetched.url} #{position}", "not_an_object", "a record is not an object"
                    )
                )
                continue
            row = _record(raw, config)
            pull.records.append(row)
            if since_field:
                value = Selector(since_field).first(raw)
                if value is not None and (newest is None or str(value) > str(newest)):
                    newest = str(value)
        if page_index == 0:
            pull.state["etag"] = fetched.headers.get("etag")
            pull.state["last_modified"] = fetched.headers.get("last-modified")
        if kind is None or not items:
            break
        if kind == "page":
            page_no += 1
            if "size" in pagination and len(items) < pagination["size"]:
                break
        elif kind == "offset":
            offset += len(items)
            if "size" in pagination and len(items) < pagination["size"]:
                break
        elif kind == "cursor":
            cursor = Selector(pagination["next"]).first(document)
            if cursor in (None, ""):
                break
            params[pagination.get("param", "cursor")] = cursor
        elif kind == "link":
            next_url = _next_link(fetched)
            params = {}
            if next_url is None:
                break
    else:
        pull.notes.append("max_pages_reached")
    if since_field:
        pull.state["since"] = newest
    return pull
