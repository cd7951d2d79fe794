"""Sources of an organization: add, list, show, remove, and run one.

::

    from baryon.connectors.sources import add_source, run_source

    add_source(ws, name="news", kind="feed", url="https://example.com/rss", actor="me")
    report = run_source(ws, "news", actor="me")    # {"fetched", "new", "duplicate", ...}

A source belongs to one organization (another organization's is not found, lists
included). Kinds: ``http_api`` (:mod:`baryon.connectors._api`), ``feed``
(:mod:`baryon.connectors._feeds`), ``crawl`` (:mod:`baryon.connectors._crawl`); every
request goes through :class:`~baryon.connectors.fetch.OutboundClient`.

A run
-----
1. pulls (the kind's puller, with the last successful run's incremental state);
2. de-duplicates: a record whose ``source_key`` or ``content_hash`` the dataset
   already holds, or that repeats one earlier in the batch, is a *duplicate*;
3. hands the new records to the source's *sink* when it has one (``sentiment``: see
   :mod:`baryon.solutions.sentiment.subscriptions`), which may refuse them all;
4. stores the new records as one new version of the source's dataset
   (:meth:`~baryon.data.versions.DatasetStore.collect`) with lineage (URLs, fetch
   times, validators, counts) — or none when nothing is new;
5. records the run (``fetched`` / ``new`` / ``duplicate`` / ``failed`` and the
   reasons) and the new state, with the sink's writes and an audit event, in one
   transaction.

A run that fails (a named error: ``address_refused``, ``malformed_json``,
``malformed_feed``, ``upstream_status``, ...; ``run_failed`` for an unexpected one,
logged) is recorded ``failed`` with the code;
it makes no version and keeps the old state, so the next run starts where this one
did. Credentials are encrypted at rest (:mod:`baryon.core.secrets`) or
referenced from the settings, and never shown (``auth`` shows only its type).

Codes: ``invalid_source_kind``, ``invalid_source_name``, ``invalid_source_config``,
``invalid_auth``, ``invalid_selector``, ``invalid_ticker``, the URL's codes of
:func:`~baryon.connectors.fetch.check_url` (422 at creation); ``source_not_found``
(404); ``source_exists`` (409).
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from baryon.connectors._api import check_api_config, pull_api
from baryon.connectors._crawl import check_crawl_config, pull_crawl
from baryon.connectors._feeds import check_feed_config, pull_feed
from baryon.connectors._records import Pull
from baryon.connectors.fetch import FetchPolicy, OutboundClient, check_url
from baryon.connectors.secrets import resolve_secret_ref
from baryon.connectors.tables import SourceRow, SourceRunRow
from baryon.core.audit import record_audit
from baryon.core.errors import BaryonError, Conflict, InvalidInput, NotFound, UpstreamError
from baryon.core.ids import new_id
from baryon.core.jsonvalues import to_jsonable
from baryon.core.refs import check_name
from baryon.core.secrets import open_secret, seal_secret

if TYPE_CHECKING:
    from baryon.workspace import Workspace

__all__ = [
    "KINDS",
    "Sink",
    "SinkCommit",
    "add_source",
    "get_source",
    "list_runs",
    "list_sources",
    "remove_source",
    "run_source",
]

logger = logging.getLogger("baryon.connectors")

KINDS = ("http_api", "feed", "crawl")
_AUTH_TYPES = ("bearer", "basic", "header")
_MAX_REASONS = 200
_CHECKS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "http_api": check_api_config,
    "feed": check_feed_config,
    "crawl": check_crawl_config,
}

#: Writes a sink makes in the run's transaction: ``commit(session) -> summary``.
SinkCommit = Callable[[Session], dict[str, Any]]


class Sink(Protocol):
    """Where a source's new records go besides its dataset (a solution's ingestion).

    Called with the organization's workspace, the source (as :func:`get_source`
    shows it) and the new records, **outside** any transaction (it may score them);
    returns what to write in the run's transaction. Raising a
    :class:`~baryon.core.errors.BaryonError` fails the run.
    """

    def __call__(
        self, ws: Workspace, source: dict[str, Any], records: Sequence[dict[str, Any]]
    ) -> SinkCommit: ...


# ----------------------------------------------------------------- shaping
def _org_id(ws: Workspace) -> str:
    org_id = ws.scope.org_id
    if org_id is None:
        raise InvalidInput("a source belongs to an organization")
    return org_id


def _public(row: SourceRow) -> dict[str, Any]:
    auth = row.auth or None
    return {
        "id": row.id,
        "name": row.name,
        "kind": row.kind,
        "url": row.url,
        "dataset": row.dataset,
        "config": dict(row.config),
        "auth": None
        if auth is None
        else {
            "type": auth["type"],
            **({"header": auth["header"]} if auth.get("header") else {}),
            **({"secret_ref": auth["secret_ref"]} if auth.get("secret_ref") else {}),
        },
        "created_by": row.created_by,
        "created_at": row.created_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
    }


def _run_dict(row: SourceRunRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "trigger": row.trigger,
        "status": row.status,
        "started_at": row.started_at.isoformat(),
        "finished_at": row.finished_at.isoformat(),
        "fetched": row.fetched,
        "new": row.new,
        "duplicate": row.duplicate,
        "failed": row.failed,
        "version_id": row.version_id,
        "error_code": row.error_code,
        "error": row.error,
        "report": dict(row.report),
    }


# ------------------------------------------------------------------ checking
def _check_auth(
    ws: Workspace, auth: Mapping[str, Any] | None, org_id: str
) -> dict[str, Any] | None:
    if auth is None:
        return None
    kind = auth.get("type")
    if kind not in _AUTH_TYPES:
        raise InvalidInput(
            f"auth type is one of {', '.join(_AUTH_TYPES)}, got {str(kind)[:20]!r}",
            code="invalid_auth",
        )
    secret, ref = auth.get("secret"), auth.get("secret_ref")
    if (secret is None) == (ref is None):
        raise InvalidInput("auth takes a secret or a secret_ref (one of them)", code="invalid_auth")
    out: dict[str, Any] = {"type": kind}
    if kind == "header":
        header = auth.get("header")
        if (
            not isinstance(header, str)
            or not header.replace("-", "").isalnum()
            or len(header) > 100
        ):
            raise InvalidInput(
                "a header auth names its header (e.g. X-Api-Key)", code="invalid_auth"
            )
        out["header"] = header
    if ref is not None:
        resolve_secret_ref(ws.settings, str(ref))
        out["secret_ref"] = str(ref)
    else:
        if not isinstance(secret, str) or not secret or len(secret) > 4096 or "\n" in secret:
            raise InvalidInput("a secret is one line of 1 to 4096 characters", code="invalid_auth")
        if kind == "basic" and ":" not in secret:
            raise InvalidInput("a basic auth secret is USER:PASSWORD", code="invalid_auth")
        out["ciphertext"] = seal_secret(ws.settings, secret, context=org_id)
    return out


def _auth_headers(ws: Workspace, row: SourceRow) -> dict[str, str]:
    auth = row.auth
    if not auth:
        return {}
    if auth.get("secret_ref"):
        secret = resolve_secret_ref(ws.settings, auth["secret_ref"])
    else:
        secret = open_secret(ws.settings, auth["ciphertext"], context=row.org_id)
    if auth["type"] == "bearer":
        return {"Authorization": f"Bearer {secret}"}
    if auth["type"] == "basic":
        return {"Authorization": "Basic " + base64.b64encode(secret.encode()).decode()}
    return {auth["header"]: secret}


def _source_row(session: Session, name: str) -> SourceRow:
    row = session.scalar(select(SourceRow).where(SourceRow.name == name))
    if row is None:
        raise NotFound(f"no source named {str(name)[:100]!r}", code="source_not_found")
    return row


# ----------------------------------------------------------------------- CRUD
def add_source(
    ws: Workspace,
    *,
    name: str,
    kind: str,
    url: str,
    dataset: str | None = None,
    config: Mapping[str, Any] | None = None,
    auth: Mapping[str, Any] | None = None,
    actor: str,
) -> dict[str, Any]:
    """Add a source to organization ``ws.scope``.

    Parameters
    ----------
    name : str
        Unique in the organization (the dataset name rule).
    kind : {"http_api", "feed", "crawl"}
    url : str
        The start URL (http or https; checked, not fetched).
    dataset : str, optional
        The dataset its runs add versions to (default: ``name``).
    config : mapping, optional
        The kind's options (see the kind's module).
    auth : mapping, optional
        ``{"type": "bearer"|"basic"|"header", "secret": ...}`` (stored encrypted) or
        ``{"type": ..., "secret_ref": NAME}`` (an entry of ``source_secrets``); a
        header auth also gives ``"header"``.
    actor : str
        Who adds it (audit log).

    Returns
    -------
    dict
        The source as :func:`get_source` shows it (never the secret).

    Raises
    ------
    InvalidInput, UpstreamError, Conflict
        See the module docstring's codes.
    """
    org_id = _org_id(ws)
    check_name(name, kind="source")
    if kind not in KINDS:
        raise InvalidInput(
            f"a source kind is one of {', '.join(KINDS)}, got {str(kind)[:20]!r}",
            code="invalid_source_kind",
        )
    try:
        parsed = check_url(url)
    except UpstreamError as exc:  # a shape rule, no network: the request's fault (422)
        if exc.code == "ambiguous_host":
            raise InvalidInput(exc.message, code="ambiguous_host") from None
        raise InvalidInput(exc.message, code="invalid_url") from None
    dataset = check_name(dataset or name, kind="dataset")
    if config is not None and not isinstance(config, Mapping):
        raise InvalidInput("config is an object of options", code="invalid_source_config")
    checked = _CHECKS[kind](dict(config or {}))
    if kind != "http_api" and auth is not None:
        raise InvalidInput("only http_api sources take auth", code="invalid_auth")
    stored_auth = _check_auth(ws, auth, org_id)
    now = ws.clock.now()
    row = SourceRow(
        id=new_id("src"), org_id=org_id, name=name, kind=kind, url=str(parsed), dataset=dataset,
        config=checked, auth=stored_auth, state={}, created_by=actor, created_at=now,
        updated_at=now,
    )  # fmt: skip
    try:
        with ws.db.session(ws.scope) as session:
            session.add(row)
            session.flush()
            record_audit(
                session, actor=actor, action="source.add", object_type="source", object_id=row.id,
                details={"name": name, "kind": kind, "url": row.url}, org_id=org_id, clock=ws.clock,
            )  # fmt: skip
            return _public(row)
    except IntegrityError:
        raise Conflict(f"a source named {name!r} exists", code="source_exists") from None


def list_sources(ws: Workspace) -> list[dict[str, Any]]:
    """The organization's sources by name, each with its last run (or ``None``)."""
    with ws.db.session(ws.scope) as session:
        rows = session.scalars(select(SourceRow).order_by(SourceRow.name)).all()
        out = []
        for row in rows:
            last = session.scalar(
                select(SourceRunRow)
                .where(SourceRunRow.source_id == row.id)
                .order_by(SourceRunRow.started_at.desc(), SourceRunRow.id.desc())
                .limit(1)
            )
            out.append({**_public(row), "last_run": None if last is None else _run_dict(last)})
        return out


def get_source(ws: Workspace, name: str, *, runs: int = 10) -> dict[str, Any]:
    """A source with its ``runs`` latest runs, newest first.

    Raises
    ------
    NotFound
        ``source_not_found`` (also another organization's).
    """
    with ws.db.session(ws.scope) as session:
        row = _source_row(session, name)
        return {**_public(row), "runs": list_runs(session, row.id, limit=runs)}


def list_runs(session: Session, source_id: str, *, limit: int = 10) -> list[dict[str, Any]]:
    """Runs of a source, newest first."""
    rows = session.scalars(
        select(SourceRunRow)
        .where(SourceRunRow.source_id == source_id)
        .order_by(SourceRunRow.started_at.desc(), SourceRunRow.id.desc())
        .limit(limit)
    ).all()
    return [_run_dict(r) for r in rows]


def remove_source(ws: Workspace, name: str, *, actor: str) -> None:
    """Remove a source and its runs (its dataset versions stay).

    Raises
    ------
    NotFound
        ``source_not_found``.
    """
    with ws.db.session(ws.scope) as session:
        row = _source_row(session, name)
        session.execute(delete(SourceRunRow).where(SourceRunRow.source_id == row.id))
        session.delete(row)
        record_audit(
            session, actor=actor, action="source.remove", object_type="source", object_id=row.id,
            details={"name": row.name}, org_id=row.org_id, clock=ws.clock,
        )  # fmt: skip


# ------------------------------------------------------------------------ run
@dataclass(frozen=True)
class _Known:
    keys: set[str]
    hashes: set[str]


def _known(ws: Workspace, dataset: str) -> _Known:
    try:
        version = ws.datasets.get(dataset)
    except NotFound:
        return _Known(set(), set())
    if not ws.scope.owns(version.org_id):
        return _Known(set(), set())
    columns = [c for c in ("source_key", "content_hash") if c in version.schema]
    if not columns:
        return _Known(set(), set())
    table = version.to_arrow(columns=columns)
    keys = table.column("source_key").to_pylist() if "source_key" in columns else []
    hashes = table.column("content_hash").to_pylist() if "content_hash" in columns else []
    return _Known({str(k) for k in keys if k}, {str(h) for h in hashes if h})


def _dedupe(records: list[dict[str, Any]], known: _Known) -> tuple[list[dict[str, Any]], int]:
    fresh, duplicates = [], 0
    keys, hashes = set(known.keys), set(known.hashes)
    for record in records:
        key, digest = str(record["source_key"]), str(record["content_hash"])
        if key in keys or digest in hashes:
            duplicates += 1
            continue
        keys.add(key)
        hashes.add(digest)
        fresh.append(record)
    return fresh, duplicates


def _pull(ws: Workspace, row: SourceRow, client: OutboundClient, now: datetime) -> Pull:
    state = dict(row.state or {})
    if row.kind == "http_api":
        return pull_api(client, row.url, dict(row.config), state, _auth_headers(ws, row))
    if row.kind == "feed":
        return pull_feed(client, row.url, dict(row.config), state)
    return pull_crawl(client, row.url, dict(row.config), state, now=now)


def run_source(
    ws: Workspace,
    name: str,
    *,
    actor: str,
    trigger: str = "manual",
    client: OutboundClient | None = None,
    sinks: Mapping[str, Sink] | None = None,
) -> dict[str, Any]:
    """Run a source once (see the module docstring) and return its run record.

    Parameters
    ----------
    ws : Workspace
        The organization's view.
    name : str
        The source.
    actor : str
        Who runs it (audit log; ``job:…`` for a scheduled run).
    trigger : str
        ``manual``, ``api``, ``job`` — shown in the run.
    client : OutboundClient, optional
        Default: one built from ``ws.settings``.
    sinks : mapping of str to Sink, optional
        Sinks by name; a source whose ``config["sink"]`` names a sink not given fails
        its run (``sink_unavailable``).

    Returns
    -------
    dict
        The run: ``status`` (``succeeded`` or ``failed``), ``fetched``, ``new``,
        ``duplicate``, ``failed``, ``version_id``, ``error_code``, ``error``,
        ``report`` (``failures`` with reasons, ``fetches``, ``notes``, ``sink``).

    Raises
    ------
    NotFound
        ``source_not_found``. Every other error ends in a ``failed`` run, not raised.
    """
    org_id = _org_id(ws)
    with ws.db.session(ws.scope) as session:
        row = _source_row(session, name)
        session.expunge(row)
    started = ws.clock.now()
    pull = Pull()
    version_id: str | None = None
    fresh: list[dict[str, Any]] = []
    duplicates = 0
    sink_commit: SinkCommit | None = None
    error: BaryonError | None = None
    try:
        client = client or OutboundClient(FetchPolicy.from_settings(ws.settings))
        pull = _pull(ws, row, client, started)
        fresh, duplicates = _dedupe(pull.records, _known(ws, row.dataset))
        sink_name = row.config.get("sink", "dataset")
        if fresh and sink_name != "dataset":
            sink = (sinks or {}).get(sink_name)
            if sink is None:
                raise BaryonError(
                    f"this process has no {sink_name!r} sink for source {row.name!r}",
                    code="sink_unavailable",
                )
            sink_commit = sink(ws, _public(row), fresh)
        if fresh:
            fetched_at = started.isoformat()
            rows = [{**r, "fetched_at": fetched_at} for r in fresh]
            lineage = {
                "source": {"id": row.id, "name": row.name, "kind": row.kind, "url": row.url},
                "run_started_at": fetched_at,
                "fetches": pull.fetches[:100],
                "counts": {"fetched": pull.fetched, "new": len(fresh), "duplicate": duplicates,
                           "failed": len(pull.failed)},
            }  # fmt: skip
            version_id = ws.datasets.collect(row.dataset, rows, lineage=lineage, actor=actor).id
    except BaryonError as exc:
        error, version_id, sink_commit = exc, None, None
    except Exception:  # a bug or a library's surprise: the run fails, the worker goes on
        logger.exception("source %s run failed unexpectedly", row.id)
        error = BaryonError("the run failed unexpectedly (see the server log)", code="run_failed")
        version_id, sink_commit = None, None
    report: dict[str, Any] = {
        "failures": pull.failed[:_MAX_REASONS],
        "fetches": to_jsonable(pull.fetches[:_MAX_REASONS], default=str),
        "notes": pull.notes,
    }
    run = SourceRunRow(
        id=new_id("srun"), org_id=org_id, source_id=row.id, trigger=trigger[:40],
        status="failed" if error else "succeeded", started_at=started,
        finished_at=ws.clock.now(), fetched=pull.fetched, new=0 if error else len(fresh),
        duplicate=duplicates, failed=len(pull.failed), version_id=version_id,
        error_code=None if error is None else error.code,
        error=None if error is None else error.message[:1000], report=report,
    )  # fmt: skip
    with ws.db.session(ws.scope) as session:
        if sink_commit is not None:
            report["sink"] = to_jsonable(sink_commit(session), default=str)
        session.add(run)
        current = session.get(SourceRow, row.id)
        if current is not None and error is None:
            current.state = to_jsonable(pull.state, default=str)
            current.updated_at = run.finished_at
        record_audit(
            session, actor=actor, action="source.run", object_type="source", object_id=row.id,
            details={"run": run.id, "status": run.status, "new": run.new, "version": version_id},
            org_id=org_id, clock=ws.clock,
        )  # fmt: skip
        session.flush()
        return _run_dict(run)
