"""Python client of the Baryon HTTP API (over httpx).

::

    from baryon.client import Client

    with Client("http://127.0.0.1:8000", api_key="bry_...") as client:
        answer = client.predict("support-intents", ["my card was charged twice"])
        print(answer.prediction_id, answer.model_version, answer.outputs[0])
        client.feedback(answer.prediction_id, label="card_payment_fee_charged")
        print(client.usage(group_by="day").period)

Methods return the API's pydantic models (:mod:`baryon.serving.schemas`). Error
responses (``application/problem+json``) are raised as the matching
:class:`~baryon.core.errors.BaryonError` subclass with the problem's ``code``
(``QuotaExceeded`` with code ``quota_exceeded``, ``Unauthorized`` with ``key_revoked``,
...); ``details`` holds the HTTP ``status`` and the problem's own details.

Retries are safe by construction: a request is retried (``max_retries`` times, with
exponential back-off, honouring ``Retry-After``) only when repeating it cannot do
something twice, i.e. on a 429 ``rate_limited`` (the server did nothing), or on a
network error or a 502/503/504 for GET, PUT and DELETE and for POSTs carrying an
``Idempotency-Key``. POSTs that accept one get a fresh random key automatically, so
a predict retried after a lost response is answered from the server's stored first
response and metered once. ``quota_exceeded`` is never retried. Dataset writes
(upload, clean, split) are idempotent by content on the server (the same input gives
the same version), so they are retried like GETs.

Datasets::

    made = client.upload_dataset("tickets.csv", "tickets", roles={"ticket_id": "id"})
    client.split_dataset("tickets", strategy="stratified", seed=42)
    client.export_dataset("tickets", "train.parquet", format="parquet", split="train")

``upload_dataset`` streams the file from disk (it is never read whole into memory) and
``export_dataset`` streams the download to a file.

Labeling (an annotator's loop)::

    while (claim := client.claim("support-intent")) is not None:
        label = ask_a_human(claim.task.input, claim.task.suggested_label, claim.classes)
        client.submit_label(claim.task.id, label)
The data flywheel::

    submitted = client.run_flywheel("support-intent")
    cycle = client.wait_for_cycle(submitted.cycle_id)
    print(cycle.status, cycle.report["metrics"]["delta"]["accuracy"])

Schedules (a worker enqueues the job at each due time)::

    nightly = client.create_schedule("flywheel", payload={"model": "support-intent"},
                                     cron="0 3 * * *")
    client.pause_schedule(nightly.id)
    print(client.schedule("flywheel-support-intent").paused)   # True

Solutions::

    reply = client.support_answer("my card has not arrived", conversation_id="c-17")
    scores = client.sentiment_analyze(["$AAPL beats estimates"]).results
    wines = client.recommendations("new-user", n=5, type="Red", country="France")
    client.event("new-user", wines.items[0].item_id, "rate", 5)

The metered POSTs (``support_answer``, ``sentiment_analyze``, ``sentiment_items``) and
``event`` get an ``Idempotency-Key`` like ``predict``. ``recommendations`` is a
metered GET without one, so it is retried only after a 429.

Iterations::

    it = client.create_iteration(
        "2026-w51", ends_at=datetime(2026, 12, 21, tzinfo=UTC),
        goals=[{"model": "support-intent", "metric": "accuracy", "op": ">=", "target": 0.94}],
    )
    item = client.add_iteration_item("2026-w51", "run", ref=run_id)
    client.move_iteration_item("2026-w51", item.id, "done", owner="ana")
    print(client.iteration("2026-w51").goals[0].trajectory)
    client.close_iteration("2026-w51")

Sentiment alerts (rules, a signed webhook, and the receiver's check)::

    client.create_alert_rule("index_crossing", 0.5, ticker="AAPL", window="1h")
    made = client.create_alert_channel("webhook", "https://hooks.example.org/baryon")
    secret = made.secret                       # shown once: keep it
    # in the receiver: verify_webhook(secret, raw_body, headers["Baryon-Signature"])
    print(client.alert_deliveries(status="dead"))
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import quote

import httpx
from pydantic import TypeAdapter
from pydantic_core import to_jsonable_python

from baryon.core.errors import (
    BaryonError,
    Conflict,
    Forbidden,
    InvalidInput,
    ModelNotReady,
    NotFound,
    PayloadTooLarge,
    QuotaExceeded,
    RateLimited,
    Unauthorized,
)
from baryon.serving.alert_schemas import (
    ChannelCreatedOut,
    ChannelOut,
    DeliveryOut,
    RuleOut,
    RuleTestOut,
)
from baryon.serving.billing_schemas import InvoiceOut
from baryon.serving.flywheel_schemas import FlywheelCycleOut, FlywheelCycleSubmittedOut
from baryon.serving.iteration_schemas import (
    IterationItemOut,
    IterationOut,
    IterationSummaryOut,
)
from baryon.serving.labeling_io_schemas import AgreementOut, ImportReportOut
from baryon.serving.labeling_schemas import (
    ClaimOut,
    QueueDetailOut,
    QueueOut,
    SubmissionOut,
    TaskOut,
)
from baryon.serving.sampling_schemas import SampleResponse
from baryon.serving.schedule_schemas import ScheduleOut
from baryon.serving.schemas import (
    AliasMoveOut,
    AuditEventOut,
    CreatedKeyOut,
    DatasetDetailOut,
    DatasetHistoryOut,
    DatasetMadeOut,
    DatasetVersionOut,
    EndpointOut,
    ErasureOut,
    EvaluationOut,
    FeedbackOut,
    GrantOut,
    GrantsOut,
    KeyOut,
    MeOut,
    ModelDetailOut,
    ModelOut,
    OrgDetailOut,
    OrgOut,
    PlanOut,
    PredictionOut,
    PredictResponse,
    PriceVersionOut,
    RegisteredVersionOut,
    RunComparisonOut,
    RunOut,
    RunSubmittedOut,
    RunSummaryOut,
    UsageOut,
    UserOut,
)
from baryon.serving.solution_schemas import (
    AlertOut,
    AnalyzeResponse,
    EventOut,
    IndexResponse,
    ItemsResponse,
    NewsItemIn,
    RecommendationsResponse,
    SupportAnswerResponse,
)
from baryon.serving.source_schemas import SourceOut, SourceRunSubmittedOut, SubscriptionOut
from baryon.solutions.sentiment.signing import WebhookSignatureError, verify_webhook

__all__ = [
    "Client",
    "ConnectionFailed",
    "WaitTimedOut",
    "WebhookSignatureError",
    "error_from_response",
    "verify_webhook",
]

T = TypeVar("T")


class _Progressing(Protocol):
    """What :meth:`Client._wait_until` reads of a run or a cycle."""

    @property
    def status(self) -> str: ...
    @property
    def stage(self) -> str | None: ...


_Watched = TypeVar("_Watched", bound=_Progressing)
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
_RETRY_STATUSES = frozenset({502, 503, 504})
_BY_CODE: dict[str, type[BaryonError]] = {
    "rate_limited": RateLimited,
    "quota_exceeded": QuotaExceeded,
    "no_subscription": QuotaExceeded,
    "model_not_ready": ModelNotReady,
    "not_ready": ModelNotReady,
}
_BY_STATUS: dict[int, type[BaryonError]] = {
    400: InvalidInput,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    415: InvalidInput,
    422: InvalidInput,
    429: RateLimited,
    503: ModelNotReady,
}


class ConnectionFailed(BaryonError):
    """The server could not be reached (or the connection broke) after every retry."""

    code = "connection_failed"
    http_status = 503


class WaitTimedOut(BaryonError):
    """:meth:`Client.wait_for_run` gave up: the run had not ended in time."""

    code = "wait_timeout"
    http_status = 504


_FINAL_RUN_STATUSES = frozenset({"succeeded", "failed", "failed_validation", "cancelled"})
_BUSY_JOB_STATUSES = frozenset({"queued", "running"})
_FINAL_CYCLE_STATUSES = frozenset({"promoted", "kept", "nothing_new", "failed"})


def error_from_response(response: httpx.Response) -> BaryonError:
    """Return the :class:`BaryonError` a failed response stands for.

    A problem document gives the class (by its ``code``, else by HTTP status) and
    the code; anything else is a plain ``BaryonError`` with code ``http_error``.
    """
    status = response.status_code
    try:
        doc = response.json()
    except ValueError:
        doc = None
    if not isinstance(doc, dict) or "code" not in doc:
        return BaryonError(
            f"HTTP {status} from {response.request.url.path}",
            code="http_error",
            details={"status": status},
        )
    code = str(doc["code"])
    cls = _BY_CODE.get(code) or _BY_STATUS.get(status, BaryonError)
    details: dict[str, Any] = {"status": status, **(doc.get("details") or {})}
    if "errors" in doc:
        details["errors"] = doc["errors"]
    if "retry-after" in response.headers:
        details.setdefault("retry_after", _retry_after(response))
    return cls(str(doc.get("detail", code)), code=code, details=details)


def _when(value: datetime | str | None, what: str) -> str | None:
    """``value`` in the API's one time format, RFC 3339 with an offset.

    ``value`` is a ``datetime`` or an ISO 8601 text (``"2026-12-30T00:00:00Z"``); a
    naive one is UTC. ``None`` stays ``None``.

    Raises
    ------
    InvalidInput
        ``invalid_datetime``: neither a ``datetime`` nor an ISO 8601 text.
    """
    if value is None:
        return None
    when: datetime | None = value if isinstance(value, datetime) else None
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            when = datetime.fromisoformat(value)
    if when is None:
        raise InvalidInput(
            f"{what} must be a datetime or an ISO 8601 text, got {value!r:.60}",
            code="invalid_datetime",
        )
    return (when if when.tzinfo is not None else when.replace(tzinfo=UTC)).isoformat()


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return None if value is None else max(0.0, float(value))
    except ValueError:
        return None


class Client:
    """A client of one Baryon server with one API key.

    Parameters
    ----------
    base_url : str
        ``http://127.0.0.1:8000``.
    api_key : str or None
        ``bry_...``; ``None`` for ``health()``/``ready()`` only.
    transport : httpx.BaseTransport, optional
        Custom transport (tests, proxies). Default: httpx's HTTP transport.
    timeout : float
        Seconds per request.
    max_retries : int
        Retries after the first attempt (see the module docstring for when).
    backoff : float
        First back-off in seconds; doubles each retry.
    max_wait : float
        Longest single wait in seconds: when a server's ``Retry-After`` asks for more,
        the error is raised at once instead of waiting.
    sleep : callable
        How to wait (tests pass a fake).
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        transport: httpx.BaseTransport | None = None,
        *,
        timeout: float = 10.0,
        max_retries: int = 2,
        backoff: float = 0.5,
        max_wait: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        headers = {"User-Agent": "baryon-client"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._http = httpx.Client(
            base_url=base_url, headers=headers, transport=transport, timeout=timeout
        )
        self.max_retries = max(0, max_retries)
        self.backoff = backoff
        self.max_wait = max_wait
        self._sleep = sleep

    # ------------------------------------------------------------ plumbing
    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        files: Any = None,
        data: Any = None,
        content: bytes | None = None,
        repeatable: bool | None = None,
        timeout: float | None = None,
        stream: bool = False,
        accept: str | None = None,
    ) -> httpx.Response:
        """Send one request with safe retries; return the 2xx response or raise.

        Parameters
        ----------
        method, path : str
            ``"GET"``, ``"/v1/me"``.
        json : any, optional
            A JSON body.
        params : dict, optional
            Query parameters (``None`` values are left out).
        idempotency_key : str, optional
            Sent as ``Idempotency-Key``; makes a POST safe to retry.
        files, data : optional
            A ``multipart/form-data`` body (httpx's ``files=`` and ``data=``); a file
            object is streamed, and rewound by httpx when the request is retried.
        content : bytes, optional
            A raw body (a file sent as it is).
        repeatable : bool, optional
            Whether repeating the request cannot act twice (default: GET, PUT and
            DELETE, or a POST with an ``idempotency_key``).
        timeout : float, optional
            Seconds for this request instead of the client's.
        stream : bool
            Return without reading the body (read it with ``iter_bytes`` and close
            the response).
        accept : str, optional
            Sent as ``Accept`` (e.g. ``application/pdf``).

        Raises
        ------
        BaryonError
            The problem the server answered (see :func:`error_from_response`).
        ConnectionFailed
            The server could not be reached after every retry.
        """
        method = method.upper()
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        if accept is not None:
            headers["Accept"] = accept
        if repeatable is None:
            repeatable = method in _IDEMPOTENT_METHODS or idempotency_key is not None
        query = {k: v for k, v in (params or {}).items() if v is not None}
        attempt = 0
        while True:
            try:
                built = self._http.build_request(
                    method,
                    path,
                    json=json,
                    params=query,
                    headers=headers,
                    files=files,
                    data=data,
                    content=content,
                    timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else timeout,
                )
                response = self._http.send(built, stream=stream)
            except httpx.TransportError as exc:
                if not repeatable or attempt >= self.max_retries:
                    raise ConnectionFailed(
                        f"cannot reach {self._http.base_url}: {type(exc).__name__}"
                    ) from None
                self._wait(attempt, None)
                attempt += 1
                continue
            if response.is_success:
                return response
            if stream:
                response.read()
                response.close()
            error = error_from_response(response)
            retry = error.code == "rate_limited" or (
                repeatable and response.status_code in _RETRY_STATUSES
            )
            wait = _retry_after(response)
            too_long = wait is not None and wait > self.max_wait
            if not retry or too_long or attempt >= self.max_retries:
                raise error
            self._wait(attempt, wait)
            attempt += 1

    def _wait(self, attempt: int, retry_after: float | None) -> None:
        delay = self.backoff * (2**attempt) if retry_after is None else retry_after
        self._sleep(min(self.max_wait, delay))  # Retry-After above max_wait never gets here

    def _get(self, path: str, schema: type[T], /, **params: Any) -> T:
        return _parse(schema, self.request("GET", path, params=params))

    def _post(self, path: str, model: type[T], body: Any, idempotency_key: str | None = None) -> T:
        key = idempotency_key or (str(uuid.uuid4()) if self.max_retries else None)
        return _parse(model, self.request("POST", path, json=body, idempotency_key=key))

    # ----------------------------------------------------------- operations
    def health(self) -> dict[str, Any]:
        """``GET /healthz``."""
        return dict(self.request("GET", "/healthz").json())

    def ready(self) -> dict[str, Any]:
        """``GET /readyz`` (raises :class:`ModelNotReady` code ``not_ready`` when not)."""
        return dict(self.request("GET", "/readyz").json())

    def metrics(self) -> str:
        """``GET /metrics``: Prometheus text (operator admin keys)."""
        return self.request("GET", "/metrics").text

    # --------------------------------------------------------- organization
    def me(self) -> MeOut:
        """The calling key: organization, role, permissions."""
        return self._get("/v1/me", MeOut)

    def org(self) -> OrgDetailOut:
        """The caller's organization, subscription and current period."""
        return self._get("/v1/org", OrgDetailOut)

    def update_org(self, *, prediction_inputs: str | None = None) -> OrgDetailOut:
        """Change organization settings (``prediction_inputs``: full, masked, hashed, none)."""
        response = self.request("PATCH", "/v1/org", json={"prediction_inputs": prediction_inputs})
        return _parse(OrgDetailOut, response)

    def audit(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        object_type: str | None = None,
        object_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
    ) -> list[AuditEventOut]:
        """The organization's audit events, newest first, filtered.

        ``action`` may be a prefix ending in ``*`` (``"model.*"``); ``since`` is
        inclusive, ``until`` exclusive. Unset filters match everything.
        """
        params: dict[str, Any] = {
            "actor": actor,
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "since": _when(since, "since"),
            "until": _when(until, "until"),
        }
        given = {k: v for k, v in params.items() if v is not None}
        return self._get("/v1/audit", list[AuditEventOut], limit=limit, **given)

    # ------------------------------------------------------------ users, keys
    def users(self) -> list[UserOut]:
        """The organization's users."""
        return self._get("/v1/users", list[UserOut])

    def create_user(self, email: str, role: str) -> UserOut:
        """Add a user."""
        return self._post("/v1/users", UserOut, {"email": email, "role": role})

    def disable_user(self, user_id: str) -> UserOut:
        """Disable a user and revoke their keys (a soft delete: ``status`` ``disabled``).

        Raises ``Conflict`` (code ``last_admin``) when the user holds the organization's
        last active owner or admin key.
        """
        return _parse(UserOut, self.request("DELETE", f"/v1/users/{user_id}"))

    def keys(self) -> list[KeyOut]:
        """The organization's keys (never their secrets)."""
        return self._get("/v1/keys", list[KeyOut])

    def create_key(
        self,
        role: str,
        *,
        name: str = "",
        user_id: str | None = None,
        expires_in: str | None = None,
    ) -> CreatedKeyOut:
        """Make a key; ``secret`` is in this answer only. Never retried on network errors."""
        body = {"role": role, "name": name, "user_id": user_id, "expires_in": expires_in}
        return _parse(CreatedKeyOut, self.request("POST", "/v1/keys", json=body))

    def revoke_key(self, key_id: str) -> KeyOut:
        """Revoke a key (idempotent).

        Raises ``Conflict`` (code ``last_admin``) for the organization's last active
        owner or admin key (this client's own included): make another one first.
        """
        return _parse(KeyOut, self.request("DELETE", f"/v1/keys/{key_id}"))

    # ---------------------------------------------------------------- models
    def models(self) -> list[ModelOut]:
        """Every model you own or that was shared with you, with its champion's metrics."""
        return self._get("/v1/models", list[ModelOut])

    def model(self, name: str, *, owner: str | None = None) -> ModelDetailOut:
        """One model: versions, aliases, alias history with gate decisions.

        ``owner`` names the organization of a model shared with you.
        """
        return self._get(f"/v1/models/{name}", ModelDetailOut, owner=owner)

    def promote(
        self,
        name: str,
        version: int,
        *,
        min_delta: float = 0.0,
        force: bool = False,
        reason: str = "",
    ) -> AliasMoveOut:
        """Make ``version`` champion through the gate (``gate_refused`` is a ``Conflict``).

        Owner/admin keys; ``changed`` is False when it already was the champion.
        """
        body = {"version": version, "min_delta": min_delta, "force": force, "reason": reason}
        return self._post(f"/v1/models/{name}/promote", AliasMoveOut, body)

    def rollback(self, name: str, *, reason: str = "") -> AliasMoveOut:
        """Move the champion back to the previous one (owner/admin keys)."""
        return self._post(f"/v1/models/{name}/rollback", AliasMoveOut, {"reason": reason})

    def evaluate(
        self,
        name: str,
        dataset: str,
        version: int | None = None,
        *,
        split: str = "test",
        owner: str | None = None,
    ) -> EvaluationOut:
        """Measure a version (default: the champion) on a split of a dataset version."""
        body: dict[str, Any] = {"dataset": dataset, "split": split}
        if version is not None:
            body["version"] = version
        response = self.request(
            "POST", f"/v1/models/{name}/evaluate", json=body, params={"owner": owner}
        )
        return _parse(EvaluationOut, response)

    def register_model(
        self,
        name: str,
        path: str | Path,
        *,
        dataset: str,
        target: str,
        task: str | None = None,
    ) -> RegisteredVersionOut:
        """Register a scikit-learn model trained elsewhere from a ``.skops`` file.

        It is measured on ``dataset``'s test split and becomes ``challenger`` (the
        first version of a new name: ``champion``). Sending the same file again gives
        back the same version (``created`` False), so a retry is harmless.
        """
        file = Path(path)
        fields = {"dataset": dataset, "target": target}
        if task is not None:
            fields["task"] = task
        with file.open("rb") as handle:
            response = self.request(
                "POST",
                f"/v1/models/{name}/versions",
                files={"file": (file.name, handle, "application/octet-stream")},
                data=fields,
            )
        return _parse(RegisteredVersionOut, response)

    # ---------------------------------------------------------------- grants
    def grants(self) -> GrantsOut:
        """Grants the organization gave and received."""
        return self._get("/v1/grants", GrantsOut)

    def grant(self, object_type: str, name: str, *, grantee: str, permission: str) -> GrantOut:
        """Share ``name`` (a ``model`` or ``dataset``) with ``grantee`` (``"*"``: everyone).

        ``permission`` is ``read`` or ``predict`` (models only). Owner/admin keys.
        """
        body = {
            "object_type": object_type,
            "name": name,
            "grantee": grantee,
            "permission": permission,
        }
        return self._post("/v1/grants", GrantOut, body)

    def revoke_grant(self, grant_id: str) -> GrantOut:
        """Revoke one of the organization's grants (effective on the next request)."""
        return _parse(GrantOut, self.request("DELETE", f"/v1/grants/{grant_id}"))

    # ------------------------------------------------------ plans, organizations
    def plans(self) -> list[PlanOut]:
        """Every plan."""
        return self._get("/v1/plans", list[PlanOut])

    def create_plan(
        self,
        name: str,
        *,
        quota: int,
        rate_per_minute: int,
        monthly_price: str = "0",
        overage_price: str | None = None,
        features: list[str] | None = None,
        unit_weights: dict[str, int] | None = None,
        currency: str = "USD",
        trial_days: int = 0,
        route_prices: dict[str, str] | None = None,
    ) -> PlanOut:
        """Add a plan (operator keys).

        ``unit_weights`` maps a metered route template (``"/v1/sentiment/analyze"``) to
        the units one input costs there (whole number >= 1; default 1);
        ``route_prices`` maps one to a price per unit (decimal string). Prices are
        decimal strings in ``currency`` (ISO 4217; ``unknown_currency`` otherwise).
        """
        body = {
            "name": name,
            "quota": quota,
            "rate_per_minute": rate_per_minute,
            "monthly_price": monthly_price,
            "overage_price": overage_price,
            "features": features or [],
            "unit_weights": unit_weights or {},
            "currency": currency,
            "trial_days": trial_days,
            "route_prices": route_prices or {},
        }
        return self._post("/v1/plans", PlanOut, body)

    def update_plan(self, name: str, **changes: Any) -> PlanOut:
        """Change a plan (operator keys): any of ``quota``, ``rate_per_minute``,
        ``features``, ``unit_weights``, ``trial_days`` (at once) and ``monthly_price``,
        ``overage_price`` (``None`` removes it), ``route_prices`` (a new price version,
        from the next billing period)."""
        response = self.request("PATCH", f"/v1/plans/{quote(name, safe='')}", json=changes)
        return _parse(PlanOut, response)

    def archive_plan(self, name: str) -> PlanOut:
        """Stop offering a plan (operator keys); organizations on it keep it."""
        return self._post(f"/v1/plans/{quote(name, safe='')}/archive", PlanOut, None)

    def plan_prices(self, name: str) -> list[PriceVersionOut]:
        """A plan's price versions, oldest first."""
        return self._get(f"/v1/plans/{quote(name, safe='')}/prices", list[PriceVersionOut])

    def orgs(self) -> list[OrgOut]:
        """Every organization (operator keys)."""
        return self._get("/v1/orgs", list[OrgOut])

    def create_org(self, name: str, *, plan: str = "free", operator: bool = False) -> OrgDetailOut:
        """Create an organization (operator keys)."""
        body = {"name": name, "plan": plan, "operator": operator}
        return self._post("/v1/orgs", OrgDetailOut, body)

    def subscribe(self, org_id: str, plan: str) -> OrgDetailOut:
        """Move an organization to a plan (operator keys)."""
        path = f"/v1/orgs/{org_id}/subscription"
        return self._post(path, OrgDetailOut, {"plan": plan})

    # --------------------------------------------------------------- invoices
    def invoices(self, *, status: str | None = None, limit: int = 100) -> list[InvoiceOut]:
        """The organization's invoices, newest period first (owner/admin keys)."""
        return self._get("/v1/invoices", list[InvoiceOut], status=status, limit=limit)

    def invoice(self, invoice_id: str) -> InvoiceOut:
        """One invoice (``invoice_not_found`` for another organization's)."""
        return self._get(f"/v1/invoices/{quote(invoice_id, safe='')}", InvoiceOut)

    def invoice_pdf(self, invoice_id: str, path: str | Path | None = None) -> bytes:
        """The invoice as a PDF document; also written to ``path`` when given."""
        path_ = f"/v1/invoices/{quote(invoice_id, safe='')}"
        document = self.request("GET", path_, accept="application/pdf").content
        if path is not None:
            Path(path).write_bytes(document)
        return document

    # ------------------------------------------------------------------ usage
    def usage(
        self,
        *,
        start: datetime | str | None = None,
        end: datetime | str | None = None,
        group_by: str = "endpoint",
    ) -> UsageOut:
        """The organization's usage in ``[start, end)`` (default: this billing period).

        A naive ``datetime`` is UTC.
        """
        return self._get(
            "/v1/usage",
            UsageOut,
            start=_when(start, "start"),
            end=_when(end, "end"),
            group_by=group_by,
        )

    # -------------------------------------------------------------- solutions
    def support_answer(
        self,
        text: str,
        *,
        conversation_id: str | None = None,
        request_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> SupportAnswerResponse:
        """Answer one customer message, or hand it to a human (``POST /v1/support/answer``).

        Metered at one unit (times the plan's weight for the route). A hand-off
        (``handoff`` true, ``handoff_reason`` ``out_of_scope``, ``low_confidence`` or
        ``no_answer``) is queued for an agent.

        Parameters
        ----------
        text : str
            The customer's message, at most the server's ``max_text_chars`` characters.
        conversation_id : str, optional
            Groups the turns of one conversation (1 to 200 characters).
        request_id : str, optional
            Keeps the champion/challenger choice the same for every call with this id.
        idempotency_key : str, optional
            Default: a fresh random key, so a retried call is answered and metered once.

        Raises
        ------
        InvalidInput
            ``empty_text`` (blank), ``text_too_long``, ``invalid_input``.
        ModelNotReady
            ``model_not_ready``: the workspace has no ``support-intent`` champion.
        QuotaExceeded
            ``quota_exceeded``.
        """
        body = {"text": text, "conversation_id": conversation_id, "request_id": request_id}
        return self._post("/v1/support/answer", SupportAnswerResponse, body, idempotency_key)

    def sentiment_analyze(
        self,
        texts: Sequence[str],
        *,
        request_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> AnalyzeResponse:
        """Sentiment and topic of each text (``POST /v1/sentiment/analyze``).

        Metered at one unit per text. ``results`` are in input order.

        Parameters
        ----------
        texts : sequence of str
            1 to the server's ``max_batch_size`` texts.
        request_id : str, optional
            Keeps the champion/challenger choice the same for every call with this id.
        idempotency_key : str, optional
            Default: a fresh random key, so a retried call is answered and metered once.

        Raises
        ------
        InvalidInput
            ``empty_batch`` (no texts), ``empty_text``, ``text_too_long``.
        PayloadTooLarge
            ``batch_too_large``: more than ``max_batch_size`` texts.
        ModelNotReady
            ``model_not_ready``: no ``sentiment`` champion.
        """
        body = {"texts": list(texts), "request_id": request_id}
        return self._post("/v1/sentiment/analyze", AnalyzeResponse, body, idempotency_key)

    def sentiment_items(
        self,
        items: Sequence[Mapping[str, Any] | NewsItemIn],
        *,
        idempotency_key: str | None = None,
    ) -> ItemsResponse:
        """Score and store news items; returns them with the alerts they fired.

        ``POST /v1/sentiment/items``. Metered at one unit per new item: an ``id`` the
        organization sent before is listed in ``duplicates``, not scored or charged.

        Parameters
        ----------
        items : sequence of mapping or NewsItemIn
            ``{"id", "published_at", "text"}`` and optionally ``source`` and
            ``tickers``; ``published_at`` is a timezone-aware ``datetime`` or an ISO
            8601 string with a timezone.
        idempotency_key : str, optional
            Default: a fresh random key, so a retried call is answered and metered once.

        Raises
        ------
        InvalidInput
            ``empty_batch``, ``published_in_future``, ``text_too_long``,
            ``invalid_input`` (a missing field; ``details["errors"]`` says which).
        PayloadTooLarge
            ``batch_too_large``.
        """
        body = {"items": to_jsonable_python(list(items))}
        return self._post("/v1/sentiment/items", ItemsResponse, body, idempotency_key)

    def sentiment_index(
        self,
        *,
        ticker: str | None = None,
        window: str = "1h",
        at: datetime | str | None = None,
    ) -> IndexResponse:
        """The mood index ``(bullish - bearish) / n`` of the organization's items.

        ``GET /v1/sentiment/index``: over ``(at - window, at]`` (``at`` default: now;
        a naive ``datetime`` is UTC), for one ``ticker`` or all, with ``n`` and a 95 %
        band.

        Raises
        ------
        InvalidInput
            ``unknown_window``: ``window`` is not one the server knows (``1h``,
            ``1d``).
        """
        return self._get(
            "/v1/sentiment/index",
            IndexResponse,
            ticker=ticker,
            window=window,
            at=_when(at, "at"),
        )

    def sentiment_alerts(
        self,
        *,
        ticker: str | None = None,
        since: datetime | str | None = None,
        limit: int = 50,
        items_per_alert: int = 20,
    ) -> list[AlertOut]:
        """Alerts fired for the organization, newest first (``GET /v1/sentiment/alerts``).

        Each carries up to ``items_per_alert`` of the items that caused it; ``since``
        keeps those fired after that time (a naive ``datetime`` is UTC).
        """
        return self._get(
            "/v1/sentiment/alerts",
            list[AlertOut],
            ticker=ticker,
            since=_when(since, "since"),
            limit=limit,
            items_per_alert=items_per_alert,
        )

    # ------------------------------------------------------------ alert rules
    def create_alert_rule(
        self,
        kind: str,
        threshold: float,
        *,
        window: str = "1h",
        ticker: str | None = None,
        direction: str = "both",
        min_items: int = 10,
        baseline_windows: int | None = None,
        name: str | None = None,
        enabled: bool = True,
        idempotency_key: str | None = None,
    ) -> RuleOut:
        """Make an alert rule (``POST /v1/sentiment/rules``).

        ``kind`` is ``index_crossing`` (``threshold`` t in (0, 1): index above +t or
        below -t), ``index_change`` (d in (0, 2) between consecutive windows) or
        ``volume_spike`` (factor over the mean of ``baseline_windows`` windows).
        ``direction`` keeps one side (``above``/``below``, ``up``/``down``). The
        organization's first rule replaces the default rules.
        """
        body: dict[str, Any] = {
            "kind": kind, "threshold": threshold, "window": window, "direction": direction,
            "min_items": min_items, "enabled": enabled,
        }  # fmt: skip
        for key, value in (
            ("ticker", ticker),
            ("baseline_windows", baseline_windows),
            ("name", name),
        ):
            if value is not None:
                body[key] = value
        return self._post("/v1/sentiment/rules", RuleOut, body, idempotency_key)

    def alert_rules(self) -> list[RuleOut]:
        """The organization's alert rules, by name."""
        return self._get("/v1/sentiment/rules", list[RuleOut])

    def alert_rule(self, rule: str) -> RuleOut:
        """One alert rule by id (``rule_…``) or name."""
        return self._get(f"/v1/sentiment/rules/{quote(rule, safe='')}", RuleOut)

    def enable_alert_rule(self, rule: str, enabled: bool = True) -> RuleOut:
        """Enable (or, with ``enabled=False``, disable) an alert rule."""
        verb = "enable" if enabled else "disable"
        path = f"/v1/sentiment/rules/{quote(rule, safe='')}/{verb}"
        return _parse(RuleOut, self.request("POST", path, repeatable=True))

    def test_alert_rule(
        self,
        rule: str,
        *,
        start: datetime | str | None = None,
        end: datetime | str | None = None,
    ) -> RuleTestOut:
        """When ``rule`` would have fired over the stored items in ``(start, end]``
        (default: the last 7 days); writes nothing."""
        body = {k: v for k, v in (("start", _when(start, "start")), ("end", _when(end, "end")))
                if v is not None}  # fmt: skip
        path = f"/v1/sentiment/rules/{quote(rule, safe='')}/test"
        return _parse(RuleTestOut, self.request("POST", path, json=body, repeatable=True))

    def delete_alert_rule(self, rule: str) -> RuleOut:
        """Remove an alert rule; returns it as it was."""
        path = f"/v1/sentiment/rules/{quote(rule, safe='')}"
        return _parse(RuleOut, self.request("DELETE", path))

    # ------------------------------------------------------ alert delivery
    def create_alert_channel(
        self,
        kind: str,
        target: str,
        *,
        name: str | None = None,
        idempotency_key: str | None = None,
    ) -> ChannelCreatedOut:
        """Make a delivery channel: ``kind="webhook"`` with an http(s) URL, or
        ``kind="email"`` with an address. The answer's ``secret`` (webhooks) signs every
        delivery and is never shown again: keep it for :func:`verify_webhook`."""
        body: dict[str, Any] = {"kind": kind, "target": target}
        if name is not None:
            body["name"] = name
        return self._post("/v1/sentiment/channels", ChannelCreatedOut, body, idempotency_key)

    def alert_channels(self) -> list[ChannelOut]:
        """The organization's delivery channels, by name (never their secrets)."""
        return self._get("/v1/sentiment/channels", list[ChannelOut])

    def enable_alert_channel(self, channel: str, enabled: bool = True) -> ChannelOut:
        """Enable (or, with ``enabled=False``, disable) a channel."""
        verb = "enable" if enabled else "disable"
        path = f"/v1/sentiment/channels/{quote(channel, safe='')}/{verb}"
        return _parse(ChannelOut, self.request("POST", path, repeatable=True))

    def send_test_alert(self, channel: str) -> DeliveryOut:
        """Queue a test alert to ``channel``; returns its delivery (follow it with
        :meth:`alert_delivery`)."""
        path = f"/v1/sentiment/channels/{quote(channel, safe='')}/test"
        return _parse(DeliveryOut, self.request("POST", path))

    def delete_alert_channel(self, channel: str) -> ChannelOut:
        """Remove a channel and its deliveries; returns it as it was."""
        path = f"/v1/sentiment/channels/{quote(channel, safe='')}"
        return _parse(ChannelOut, self.request("DELETE", path))

    def alert_deliveries(
        self, *, status: str | None = None, channel: str | None = None, limit: int = 50
    ) -> list[DeliveryOut]:
        """Deliveries, newest first; ``status="dead"`` is the dead-letter list."""
        return self._get(
            "/v1/sentiment/deliveries", list[DeliveryOut], status=status, channel=channel,
            limit=limit,
        )  # fmt: skip

    def alert_delivery(self, delivery_id: str) -> DeliveryOut:
        """One delivery: status, attempts and last error."""
        return self._get(f"/v1/sentiment/deliveries/{quote(delivery_id, safe='')}", DeliveryOut)

    def redeliver(self, delivery_id: str) -> DeliveryOut:
        """Queue a dead delivery again with fresh attempts."""
        path = f"/v1/sentiment/deliveries/{quote(delivery_id, safe='')}/redeliver"
        return _parse(DeliveryOut, self.request("POST", path))

    def recommendations(
        self,
        user_id: str | int,
        *,
        n: int = 10,
        type: str | Sequence[str] | None = None,
        country: str | Sequence[str] | None = None,
        grape: str | Sequence[str] | None = None,
    ) -> RecommendationsResponse:
        """Top-``n`` wines for a user, best first (``GET /v1/recommendations/{user_id}``).

        A user the model does not know gets ``cold_start`` true and a content-based
        answer from ``type``, ``country`` and ``grape`` (or from their events), else
        the most popular wines. Metered at one unit; as it has no ``Idempotency-Key``,
        it is retried only after a 429, never after a network error or a 5xx.

        Parameters
        ----------
        user_id : str or int
            Your user's id (X-Wines UserID for known users), 1 to 200 characters.
        n : int
            1 to 100.
        type, country, grape : str or sequence of str, optional
            Stated tastes (``"Red"``, ``"France"``, ``"Pinot Noir"``).

        Raises
        ------
        InvalidInput
            ``invalid_input``: ``n`` out of range, too many tastes.
        ModelNotReady
            ``model_not_ready``: no ``recommender`` champion.
        """
        params: dict[str, Any] = {"n": n}
        for name, value in (("type", type), ("country", country), ("grape", grape)):
            if value is not None:
                params[name] = [value] if isinstance(value, str) else list(value)
        response = self.request(
            "GET",
            f"/v1/recommendations/{quote(str(user_id), safe='')}",
            params=params,
            repeatable=False,
        )
        return _parse(RecommendationsResponse, response)

    def event(
        self,
        user_id: str | int,
        item_id: str | int,
        type: str,
        value: float | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> EventOut:
        """Store a ``view``, ``click`` or ``rate`` (``value`` 1-5) for the next training.

        ``POST /v1/events``; not metered (ground truth that improves the model is not
        charged).

        Raises
        ------
        InvalidInput
            ``missing_value`` (a ``rate`` without ``value``), ``value_out_of_range``,
            ``value_not_allowed`` (a ``view`` or ``click`` with one), ``unknown_item``
            (not in the wine catalogue), ``invalid_input`` (another ``type``).
        """
        body = {"user_id": user_id, "item_id": item_id, "type": type, "value": value}
        return self._post("/v1/events", EventOut, body, idempotency_key)

    # ------------------------------------------------------------- predictions
    def predict(
        self,
        model: str,
        inputs: list[Any],
        *,
        version: int | None = None,
        request_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> PredictResponse:
        """Predict with ``model``'s champion (or ``version``); one entry per input."""
        body: dict[str, Any] = {"inputs": inputs}
        if request_id is not None:
            body["request_id"] = request_id
        key = idempotency_key or (str(uuid.uuid4()) if self.max_retries else None)
        response = self.request(
            "POST",
            f"/v1/models/{model}/predict",
            json=body,
            params={"version": version},
            idempotency_key=key,
        )
        return _parse(PredictResponse, response)

    def feedback(
        self,
        prediction_id: str,
        *,
        label: Any = None,
        rating: float | None = None,
        item: int = 0,
        idempotency_key: str | None = None,
    ) -> FeedbackOut:
        """Give ground truth (a ``label`` or a ``rating``) for one item of a prediction.

        A classifier's label must be one of its classes (``unknown_label``), a
        regression's a number (``label_not_numeric``). A label that differs from the
        prediction's queues the item for labeling.
        """
        body = {"prediction_id": prediction_id, "item": item, "label": label, "rating": rating}
        return self._post("/v1/feedback", FeedbackOut, body, idempotency_key)

    def predictions(self, *, model: str | None = None, limit: int = 50) -> list[PredictionOut]:
        """The organization's latest logged predictions."""
        return self._get("/v1/predictions", list[PredictionOut], model=model, limit=limit)

    def prediction(self, prediction_id: str) -> PredictionOut:
        """One logged prediction."""
        return self._get(f"/v1/predictions/{prediction_id}", PredictionOut)

    def endpoints(self) -> list[EndpointOut]:
        """The organization's traffic splits."""
        return self._get("/v1/endpoints", list[EndpointOut])

    def set_endpoint(self, model: str, *, challenger_weight: float) -> EndpointOut:
        """Send ``challenger_weight`` of ``model``'s traffic to its challenger."""
        response = self.request(
            "PUT", f"/v1/endpoints/{model}", json={"challenger_weight": challenger_weight}
        )
        return _parse(EndpointOut, response)

    # -------------------------------------------------------------- labeling
    def queues(self) -> list[QueueOut]:
        """The organization's labeling queues (``GET /v1/labeling/queues``)."""
        return self._get("/v1/labeling/queues", list[QueueOut])

    def create_queue(
        self,
        name: str,
        model: str,
        *,
        classes: Sequence[str] | None = None,
        overlap: int = 1,
        min_agreement: float = 0.5,
        instructions: str | None = None,
        idempotency_key: str | None = None,
    ) -> QueueOut:
        """Create a labeling queue for ``model`` (``POST /v1/labeling/queues``).

        Parameters
        ----------
        name : str
            Unique in the organization.
        model : str
            A registered model of yours, or shared with you.
        classes : sequence of str, optional
            Labels annotators may give: some of the model champion's classes
            (default: all of them).
        overlap : int
            Annotators per task, 1 to 20.
        min_agreement : float
            Least share of a task's labels the majority needs, in [0, 1] (else review).
        instructions : str, optional
            Shown to annotators with each task they claim.

        Raises
        ------
        Conflict
            ``queue_exists``.
        NotFound
            ``model_not_found``.
        InvalidInput
            ``no_model_classes`` (give ``classes``), ``unknown_label`` (a class the
            champion does not have), ``invalid_input``.
        """
        body = {
            "name": name, "model": model, "classes": None if classes is None else list(classes),
            "overlap": overlap, "min_agreement": min_agreement, "instructions": instructions,
        }  # fmt: skip
        return self._post("/v1/labeling/queues", QueueOut, body, idempotency_key)

    def queue(self, name: str) -> QueueDetailOut:
        """A labeling queue with its progress: tasks by status, work per annotator."""
        return self._get(f"/v1/labeling/queues/{quote(name, safe='')}", QueueDetailOut)

    def update_queue(
        self,
        name: str,
        *,
        overlap: int | None = None,
        min_agreement: float | None = None,
        instructions: str | None = None,
    ) -> QueueOut:
        """Change a queue's overlap, min_agreement or instructions (``None``: unchanged;
        ``""`` clears the instructions; all ``None`` is ``empty_update``)."""
        body = {"overlap": overlap, "min_agreement": min_agreement, "instructions": instructions}
        path = f"/v1/labeling/queues/{quote(name, safe='')}"
        return _parse(QueueOut, self.request("PATCH", path, json=body, repeatable=True))

    def tasks(self, queue: str, *, status: str | None = None, limit: int = 50) -> list[TaskOut]:
        """A queue's tasks, highest priority then oldest first (``status``: open,
        review, done or skipped)."""
        path = f"/v1/labeling/queues/{quote(queue, safe='')}/tasks"
        return self._get(path, list[TaskOut], status=status, limit=limit)

    def task(self, task_id: str) -> TaskOut:
        """One labeling task with the annotations you may see."""
        return self._get(f"/v1/labeling/tasks/{quote(task_id, safe='')}", TaskOut)

    def claim(self, queue: str) -> ClaimOut | None:
        """Claim the next task of ``queue`` to label; ``None`` when there is nothing to do.

        Safe to repeat: claiming again returns your live claim.
        """
        path = f"/v1/labeling/queues/{quote(queue, safe='')}/claim"
        response = self.request("POST", path, repeatable=True)
        return None if response.status_code == 204 else _parse(ClaimOut, response)

    def submit_label(
        self,
        task_id: str,
        label: str,
        *,
        seconds: float | None = None,
        idempotency_key: str | None = None,
    ) -> SubmissionOut:
        """Your label for a task (``POST /v1/labeling/tasks/{task_id}/annotations``).

        Parameters
        ----------
        label : str
            One of the queue's classes.
        seconds : float, optional
            Time spent (default: measured by the server from your claim).

        Raises
        ------
        InvalidInput
            ``unknown_label``.
        Conflict
            ``task_not_open``, ``task_full``, ``already_annotated``, ``already_skipped``.
        """
        path = f"/v1/labeling/tasks/{quote(task_id, safe='')}/annotations"
        body = {"label": label, "seconds": seconds}
        return self._post(path, SubmissionOut, body, idempotency_key)

    def skip_task(
        self,
        task_id: str,
        reason: str,
        *,
        seconds: float | None = None,
        idempotency_key: str | None = None,
    ) -> SubmissionOut:
        """Skip a task, saying why; it is never offered to you again.

        Skipping again for the same reason returns the skip; for another reason it
        raises :class:`~baryon.core.errors.Conflict` ``already_skipped``.
        """
        path = f"/v1/labeling/tasks/{quote(task_id, safe='')}/skip"
        body = {"reason": reason, "seconds": seconds}
        return self._post(path, SubmissionOut, body, idempotency_key)

    def review_task(
        self, task_id: str, label: str, *, idempotency_key: str | None = None
    ) -> TaskOut:
        """Set a task's final label (keys with ``labeling:review``: owners, admins)."""
        path = f"/v1/labeling/tasks/{quote(task_id, safe='')}/review"
        return self._post(path, TaskOut, {"label": label}, idempotency_key)

    # -------------------------------------------------------------- datasets
    def upload_dataset(
        self,
        path: str | os.PathLike[str],
        name: str,
        *,
        format: str | None = None,
        delimiter: str | None = None,
        encoding: str | None = None,
        roles: dict[str, str] | None = None,
        types: dict[str, str] | None = None,
        mask_pii: list[str] | None = None,
        sensitive: bool = False,
        timeout: float = 600.0,
    ) -> DatasetMadeOut:
        """Upload a file as a new version of dataset ``name`` (``POST /v1/datasets``).

        The file is streamed from disk, never read whole into memory. Uploading the
        same bytes with the same options again returns the existing version with
        ``created`` false.

        Parameters
        ----------
        path : str or PathLike
            CSV/TSV (optionally ``.gz``), JSON Lines, JSON, Parquet or .xlsx.
        name : str
            Dataset name.
        format, delimiter, encoding : str, optional
            Override detection, as ``baryon data ingest`` does.
        roles, types : dict, optional
            ``{column: role}`` and ``{column: type}``.
        mask_pii : list of str, optional
            Columns whose personal data is masked before any version is stored (see
            ``docs/privacy.md``); the raw values never reach the dataset store.
        sensitive : bool
            Encrypt this dataset at rest, this version and every later one.
        timeout : float
            Seconds to wait for the server (the upload, then the ingest).

        Raises
        ------
        PayloadTooLarge
            ``upload_too_large``: over the server's ``BARYON_MAX_UPLOAD_BYTES``.
        InvalidInput
            The ingest's named errors (``empty_file``, ``ragged_rows``,
            ``encoding_error``, ...).
        """
        file = Path(path)
        fields: dict[str, str | list[str]] = {"name": name}
        for key, value in (("format", format), ("delimiter", delimiter), ("encoding", encoding)):
            if value is not None:
                fields[key] = value
        fields["role"] = [f"{c}={r}" for c, r in (roles or {}).items()]
        fields["type"] = [f"{c}={t}" for c, t in (types or {}).items()]
        if mask_pii:
            fields["mask_pii"] = list(mask_pii)
        if sensitive:
            fields["sensitive"] = "true"
        with file.open("rb") as handle:
            response = self.request(
                "POST",
                "/v1/datasets",
                files={"file": (file.name, handle, "application/octet-stream")},
                data=fields,
                repeatable=True,
                timeout=timeout,
            )
        return _parse(DatasetMadeOut, response)

    def erase(self, match: dict[str, str], *, datasets: list[str] | None = None) -> ErasureOut:
        """Erase a data subject from your organization (``POST /v1/erasures``).

        Parameters
        ----------
        match : dict of str to str
            ``{column: value}``; a row where any column's text equals its value goes.
        datasets : list of str, optional
            Only these datasets (default: all of yours).

        Returns
        -------
        ErasureOut
            New and erased versions per dataset, predictions and labeling tasks
            removed, and the runs and models to retrain.

        Raises
        ------
        Forbidden
            Not an owner or admin key.
        InvalidInput
            ``invalid_match``.
        NotFound
            ``dataset_not_found``.
        """
        body: dict[str, Any] = {"match": [{"column": c, "value": v} for c, v in match.items()]}
        if datasets is not None:
            body["datasets"] = list(datasets)
        return _parse(ErasureOut, self.request("POST", "/v1/erasures", json=body))

    def list_datasets(self) -> list[DatasetVersionOut]:
        """The latest version of every dataset you own or that was shared with you."""
        return self._get("/v1/datasets", list[DatasetVersionOut])

    def get_dataset(
        self, name: str, *, version: int | None = None, owner: str | None = None
    ) -> DatasetDetailOut:
        """One version (default: the latest) with its quality report and lineage.

        ``owner`` names the organization that shared the dataset when you have one of
        the same name.
        """
        return self._get(f"/v1/datasets/{name}", DatasetDetailOut, version=version, owner=owner)

    def dataset_versions(self, name: str, *, owner: str | None = None) -> list[DatasetHistoryOut]:
        """Every version of a dataset, oldest first, with parents and steps."""
        return self._get(f"/v1/datasets/{name}/versions", list[DatasetHistoryOut], owner=owner)

    def clean_dataset(
        self,
        name: str,
        steps: list[str | dict[str, Any]] | None = None,
        *,
        recipe: str | None = None,
        version: int | None = None,
        timeout: float = 600.0,
    ) -> DatasetMadeOut:
        """Clean a version with ``steps`` (``"trim"``, ``"mask_pii:text"``, ...) or a
        ``recipe`` (a recipe file's YAML text); returns the new (or same) version."""
        body = {"steps": steps, "recipe": recipe}
        response = self.request(
            "POST",
            f"/v1/datasets/{name}/clean",
            json={k: v for k, v in body.items() if v is not None},
            params={"version": version},
            repeatable=True,
            timeout=timeout,
        )
        return _parse(DatasetMadeOut, response)

    def split_dataset(
        self,
        name: str,
        *,
        strategy: str,
        test_size: float = 0.2,
        validation_size: float = 0.1,
        seed: int = 42,
        label: str | None = None,
        time_column: str | None = None,
        user_column: str | None = None,
        fraction: float | None = None,
        last_n: int | None = None,
        version: int | None = None,
        timeout: float = 600.0,
    ) -> DatasetMadeOut:
        """Record a seeded train/validation/test split (``random``, ``stratified``,
        ``time`` or ``per-user``) as a new version, as ``baryon data split`` does."""
        body: dict[str, Any] = {
            "strategy": strategy,
            "test_size": test_size,
            "validation_size": validation_size,
            "seed": seed,
            "label": label,
            "time_column": time_column,
            "user_column": user_column,
            "fraction": fraction,
            "last_n": last_n,
        }
        response = self.request(
            "POST",
            f"/v1/datasets/{name}/split",
            json={k: v for k, v in body.items() if v is not None},
            params={"version": version},
            repeatable=True,
            timeout=timeout,
        )
        return _parse(DatasetMadeOut, response)

    def export_dataset(
        self,
        name: str,
        out_path: str | os.PathLike[str],
        *,
        version: int | None = None,
        owner: str | None = None,
        format: str = "csv",
        split: str | None = None,
        timeout: float = 600.0,
    ) -> Path:
        """Download a version (or one ``split``) to ``out_path``, streamed to disk.

        The file is written beside ``out_path`` and renamed into place, so a failed
        download never leaves half a file. Returns ``out_path``.

        Raises
        ------
        BaryonError
            The problem the server answered (``dataset_not_found``, ``no_split``, ...).
        ConnectionFailed
            The connection broke.
        """
        out = Path(out_path)
        response = self.request(
            "GET",
            f"/v1/datasets/{name}/export",
            params={"version": version, "owner": owner, "format": format, "split": split},
            timeout=timeout,
            stream=True,
        )
        partial = out.parent / f".{out.name}.{secrets.token_hex(6)}.part"
        try:
            with contextlib.closing(response), partial.open("wb") as sink:
                for chunk in response.iter_bytes():
                    sink.write(chunk)
            os.replace(partial, out)
        except httpx.TransportError as exc:
            raise ConnectionFailed(
                f"the download from {self._http.base_url} broke: {type(exc).__name__}"
            ) from None
        finally:
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()
        return out

    # ------------------------------------------- labeling: agreement and label files
    def agreement(self, queue: str) -> AgreementOut:
        """Inter-annotator agreement of a labeling queue (``GET .../agreement``).

        Cohen's kappa (two annotators), Fleiss' kappa, Krippendorff's alpha, each
        pair of annotators, and per annotator the mean pairwise kappa and the
        agreement with the consensus; an undefined measure is ``None`` with a note.

        Raises
        ------
        NotFound
            ``queue_not_found`` (also for another organization's queue).
        """
        return self._get(f"/v1/labeling/queues/{quote(queue, safe='')}/agreement", AgreementOut)

    def export_labels(
        self,
        queue: str,
        *,
        format: str = "label-studio",
        status: str | None = None,
        from_name: str = "label",
    ) -> bytes:
        """A queue's tasks with annotations and suggestions as a file's bytes.

        ``format`` is ``label-studio`` (JSON), ``csv`` or ``jsonl``; ``status`` keeps
        only tasks with that status. Needs ``labeling:write`` (exports hold inputs).
        """
        response = self.request(
            "GET",
            f"/v1/labeling/queues/{quote(queue, safe='')}/export",
            params={"format": format, "status": status, "from_name": from_name},
        )
        return response.content

    def import_labels(
        self,
        queue: str,
        file: str | os.PathLike[str] | bytes,
        *,
        format: str | None = None,
        from_name: str = "label",
        input_fields: Sequence[str] | None = None,
        dry_run: bool = False,
        idempotency_key: str | None = None,
        to_name: str | None = None,
    ) -> ImportReportOut:
        """Import a Label Studio export, CSV or JSONL file into a queue, all or nothing.

        Parameters
        ----------
        file : str, path or bytes
            A path (read whole: the server caps bodies at ``BARYON_MAX_BODY_BYTES``)
            or the file's bytes.
        format : str, optional
            ``label-studio``, ``csv`` or ``jsonl``; by default from the path's suffix
            (``.json``, ``.csv``, ``.jsonl``), required with bytes.
        input_fields : sequence of str, optional
            The input's fields (default: those of the queue's tasks, else ``text``).
        dry_run : bool
            Check and report without writing.
        idempotency_key : str, optional
            Default: a fresh one, so a retry answers the first report.
        to_name : str, optional
            Label Studio's object name in results (default: ``text``, else the first
            input field).

        Raises
        ------
        InvalidInput
            ``import_rejected`` (``details["bad_tasks"]``: each bad task and why;
            nothing was imported), ``malformed_import``, ``empty_import``,
            ``unknown_format``.
        NotFound
            ``queue_not_found``.
        PayloadTooLarge
            The file exceeds the server's body cap.
        """
        if isinstance(file, bytes):
            if format is None:
                raise InvalidInput("give the format of the bytes", code="unknown_format")
            body = file
        else:
            from baryon.labeling.interop import format_for_path

            path = Path(file)
            format = format_for_path(path, format)
            body = path.read_bytes()
        key = idempotency_key or (str(uuid.uuid4()) if self.max_retries else None)
        response = self.request(
            "POST",
            f"/v1/labeling/queues/{quote(queue, safe='')}/import",
            params={
                "format": format,
                "from_name": from_name,
                "to_name": to_name,
                "input_field": list(input_fields) if input_fields else None,
                "dry_run": "true" if dry_run else None,
            },
            content=body,
            idempotency_key=key,
        )
        return _parse(ImportReportOut, response)

    # ------------------------------------------------------------------- runs
    def train(
        self,
        kind: str,
        dataset: str,
        *,
        target: str | None = None,
        params: dict[str, Any] | None = None,
        seed: int | None = None,
        cv_folds: int | None = None,
        register: str | None = None,
        idempotency_key: str | None = None,
    ) -> RunSubmittedOut:
        """Train ``kind`` on ``dataset`` as a background job; returns at once (``queued``).

        Bad input (unknown kind or parameter, missing dataset, invalid model name) is
        raised here, before anything is written. Follow the run with :meth:`run` or
        :meth:`wait_for_run`.
        """
        body: dict[str, Any] = {"kind": kind, "dataset": dataset, "params": params or {}}
        for name, value in (
            ("target", target),
            ("seed", seed),
            ("cv_folds", cv_folds),
            ("register", register),
        ):
            if value is not None:
                body[name] = value
        return self._post("/v1/runs", RunSubmittedOut, body, idempotency_key)

    def federated_run(
        self,
        model: str,
        kind: str,
        silos: list[str],
        *,
        rounds: int = 5,
        strategy: str = "fedavg",
        params: dict[str, Any] | None = None,
        seed: int | None = None,
        dp_clip: float | None = None,
        dp_noise: float | None = None,
        target: str | None = None,
        idempotency_key: str | None = None,
    ) -> RunSubmittedOut:
        """Train one model across ``silos`` with Flower, as a background job (``queued``).

        ``POST /v1/federated/runs``; follow it with :meth:`run` or :meth:`wait_for_run`
        (see docs/federated.md).

        Raises
        ------
        InvalidInput
            ``kind_not_federated``, ``invalid_strategy``, ``invalid_rounds``,
            ``invalid_param``, ``invalid_dp``, ``invalid_silos``, ``no_split``, ...
        NotFound
            A silo that is neither yours nor shared with you.
        LicenceError
            ``licence_feature``: the install's licence lacks ``federated``.
        """
        body: dict[str, Any] = {
            "model": model, "kind": kind, "silos": list(silos), "rounds": rounds,
            "strategy": strategy, "params": params or {},
        }  # fmt: skip
        for name, value in (
            ("seed", seed), ("dp_clip", dp_clip), ("dp_noise", dp_noise), ("target", target),
        ):  # fmt: skip
            if value is not None:
                body[name] = value
        return self._post("/v1/federated/runs", RunSubmittedOut, body, idempotency_key)

    def runs(
        self,
        *,
        status: str | None = None,
        kind: str | None = None,
        dataset: str | None = None,
        limit: int = 50,
    ) -> list[RunSummaryOut]:
        """The organization's runs, newest first."""
        return self._get(
            "/v1/runs",
            list[RunSummaryOut],
            status=status,
            kind=kind,
            dataset=dataset,
            limit=limit,
        )

    def run(self, run_id: str) -> RunOut:
        """One run: status, stage, progress, metrics, metric histories, error, model."""
        return self._get(f"/v1/runs/{run_id}", RunOut)

    def cancel_run(self, run_id: str) -> RunOut:
        """Cancel a run: a queued one at once, a running one at its next stage."""
        return self._post(f"/v1/runs/{run_id}/cancel", RunOut, None)

    def compare_runs(self, run_ids: list[str]) -> RunComparisonOut:
        """2 to 5 runs side by side: parameters and metrics, and which parameters differ."""
        return self._get("/v1/runs/compare", RunComparisonOut, ids=",".join(run_ids))

    def wait_for_run(self, run_id: str, *, timeout: float = 600.0, poll: float = 1.0) -> RunOut:
        """Poll a run until it ends and its job is done; return it (whatever its status).

        "Done" includes registering the model when the run was submitted with
        ``register`` (``registered`` or ``registration_error`` is then set).

        Parameters
        ----------
        run_id : str
        timeout : float
            Seconds to wait at most.
        poll : float
            Seconds between two looks.

        Returns
        -------
        RunOut
            Status ``succeeded``, ``failed``, ``failed_validation`` or ``cancelled``
            (check ``status``; ``error_code`` and ``error`` say why it failed).

        Raises
        ------
        WaitTimedOut
            Code ``wait_timeout``: the run had not ended after ``timeout`` seconds
            (``details["status"]`` is its last status; it keeps running).
        """
        return self._wait_until(
            lambda: self.run(run_id),
            lambda run: (
                run.status in _FINAL_RUN_STATUSES and run.job_status not in _BUSY_JOB_STATUSES
            ),
            what=f"run {run_id}",
            details={"run_id": run_id},
            timeout=timeout,
            poll=poll,
        )

    # --------------------------------------------------------------- labeling
    def sample_for_labeling(
        self,
        queue: str,
        dataset: str,
        *,
        strategy: str = "margin",
        n: int = 50,
        diversity: bool = False,
        seed: int = 0,
        max_rows: int | None = None,
        timeout: float = 300.0,
        idempotency_key: str | None = None,
    ) -> SampleResponse:
        """Queue the ``n`` rows of ``dataset`` that ``queue``'s champion is least sure of.

        ``POST /v1/labeling/queues/{queue}/sample``: the server scores the dataset
        version's rows (at most ``max_rows``, default 10,000) with the champion's
        ``predict_proba`` and queues the best ``n`` (1 to 1000) with ``strategy``
        (``least_confidence``, ``margin``, ``entropy`` or ``random``), skipping rows
        already on the queue. Scoring can take a while: ``timeout`` seconds.

        Raises
        ------
        NotFound
            ``queue_not_found``, ``dataset_not_found`` (also another organization's).
        InvalidInput
            ``invalid_strategy``, ``invalid_sample_size``, ``invalid_max_rows``,
            ``missing_feature``, ``not_a_classifier``.
        ModelNotReady
            The queue's model has no champion.
        """
        body: dict[str, Any] = {
            "dataset": dataset,
            "strategy": strategy,
            "n": n,
            "diversity": diversity,
            "seed": seed,
        }
        if max_rows is not None:
            body["max_rows"] = max_rows
        key = idempotency_key or (str(uuid.uuid4()) if self.max_retries else None)
        response = self.request(
            "POST",
            f"/v1/labeling/queues/{quote(queue, safe='')}/sample",
            json=body,
            idempotency_key=key,
            timeout=timeout,
        )
        return _parse(SampleResponse, response)

    # ------------------------------------------------------------- iterations
    def iterations(self, *, status: str | None = None) -> list[IterationSummaryOut]:
        """The organization's iterations (``open`` or ``closed`` only, if given)."""
        return self._get("/v1/iterations", list[IterationSummaryOut], status=status)

    def create_iteration(
        self,
        name: str,
        *,
        ends_at: datetime | str,
        starts_at: datetime | str | None = None,
        goals: Sequence[Mapping[str, Any]] = (),
        idempotency_key: str | None = None,
    ) -> IterationOut:
        """Create an iteration: a time box (datetimes with a time zone) with goals.

        ``ends_at`` and ``starts_at`` are ``datetime`` objects or ISO 8601 texts
        (``"2026-12-30T00:00:00Z"``); anything else raises ``invalid_datetime``.
        ``goals`` are ``{"model": NAME, "metric": "accuracy", "op": ">=", "target":
        0.94}`` each (:func:`baryon.flywheel.iterations.parse_goal` reads
        ``"NAME accuracy>=0.94"``). ``starts_at`` defaults to now on the server.
        """
        body: dict[str, Any] = {
            "name": name,
            "ends_at": _when(ends_at, "ends_at"),
            "goals": [dict(g) for g in goals],
        }
        if starts_at is not None:
            body["starts_at"] = _when(starts_at, "starts_at")
        return self._post("/v1/iterations", IterationOut, body, idempotency_key)

    def iteration(self, iteration: str) -> IterationOut:
        """One iteration by name or id: goals with trajectories, items by Kanban state."""
        return self._get(f"/v1/iterations/{quote(iteration, safe='')}", IterationOut)

    def add_iteration_item(
        self,
        iteration: str,
        kind: str,
        *,
        ref: str | None = None,
        title: str | None = None,
        owner: str | None = None,
        state: str = "todo",
        idempotency_key: str | None = None,
    ) -> IterationItemOut:
        """Add a work item: ``kind`` ``labeling``/``run``/``flywheel`` with the ``ref``
        of the queue (``lq_…``), run (``run_…``) or cycle (``fw_…``), or a ``task``
        with a ``title``."""
        body: dict[str, Any] = {"kind": kind, "state": state}
        for name, value in (("ref", ref), ("title", title), ("owner", owner)):
            if value is not None:
                body[name] = value
        path = f"/v1/iterations/{quote(iteration, safe='')}/items"
        return self._post(path, IterationItemOut, body, idempotency_key)

    def move_iteration_item(
        self,
        iteration: str,
        item_id: str,
        state: str | None = None,
        *,
        owner: str | None = None,
        title: str | None = None,
        unassign: bool = False,
    ) -> IterationItemOut:
        """Move an item to ``state`` (``todo``, ``doing``, ``done``), assign it to
        ``owner`` (``usr_…`` or a name), rename it, or ``unassign`` it; what is not
        given stays as it is."""
        body: dict[str, Any] = {}
        if state is not None:
            body["state"] = state
        if owner is not None or unassign:
            body["owner"] = None if unassign else owner
        if title is not None:
            body["title"] = title
        path = f"/v1/iterations/{quote(iteration, safe='')}/items/{quote(item_id, safe='')}"
        # setting fields to given values is safe to repeat
        response = self.request("PATCH", path, json=body, repeatable=True)
        return _parse(IterationItemOut, response)

    def close_iteration(self, iteration: str) -> IterationOut:
        """Close an iteration: each goal's final value and whether it was met."""
        path = f"/v1/iterations/{quote(iteration, safe='')}/close"
        return self._post(path, IterationOut, None)

    # -------------------------------------------------------------- flywheel
    def run_flywheel(
        self,
        model: str,
        *,
        iteration_id: str | None = None,
        min_delta: float = 0.0,
        idempotency_key: str | None = None,
    ) -> FlywheelCycleSubmittedOut:
        """Run one flywheel cycle of ``model`` as a background job; returns at once.

        ``iteration_id`` is the iteration's id (``it_…``) or its name. Bad input
        (unknown model, no champion, not a classifier, unknown iteration, a cycle of the
        model already queued or running) is raised here, before anything is written.
        Follow the cycle with :meth:`flywheel_cycle` or :meth:`wait_for_cycle`.
        """
        body: dict[str, Any] = {"min_delta": min_delta}
        if iteration_id is not None:
            body["iteration_id"] = iteration_id
        path = f"/v1/flywheel/{quote(model, safe='')}/cycles"
        return self._post(path, FlywheelCycleSubmittedOut, body, idempotency_key)

    def flywheel_cycles(
        self, *, model: str | None = None, limit: int = 50
    ) -> list[FlywheelCycleOut]:
        """The organization's flywheel cycles (of ``model``), newest first."""
        return self._get("/v1/flywheel/cycles", list[FlywheelCycleOut], model=model, limit=limit)

    def flywheel_cycle(self, cycle_id: str) -> FlywheelCycleOut:
        """One flywheel cycle: status, job stage and progress, and its report once ended."""
        return self._get(f"/v1/flywheel/cycles/{quote(cycle_id, safe='')}", FlywheelCycleOut)

    def wait_for_cycle(
        self, cycle_id: str, *, timeout: float = 1800.0, poll: float = 1.0
    ) -> FlywheelCycleOut:
        """Poll a flywheel cycle until it ends; return it (whatever its status).

        Parameters
        ----------
        cycle_id : str
        timeout : float
            Seconds to wait at most.
        poll : float
            Seconds between two looks.

        Returns
        -------
        FlywheelCycleOut
            Status ``promoted``, ``kept``, ``nothing_new`` or ``failed`` (then
            ``report["error"]`` says why).

        Raises
        ------
        WaitTimedOut
            Code ``wait_timeout``: the cycle had not ended after ``timeout`` seconds
            (``details["status"]`` is its last status; it keeps running).
        """
        return self._wait_until(
            lambda: self.flywheel_cycle(cycle_id),
            lambda cycle: cycle.status in _FINAL_CYCLE_STATUSES,
            what=f"flywheel cycle {cycle_id}",
            details={"cycle_id": cycle_id},
            timeout=timeout,
            poll=poll,
        )

    # ------------------------------------------------------------- schedules
    def create_schedule(
        self,
        kind: str,
        *,
        payload: Mapping[str, Any] | None = None,
        every: str | None = None,
        cron: str | None = None,
        name: str | None = None,
        description: str | None = None,
        paused: bool = False,
        idempotency_key: str | None = None,
    ) -> ScheduleOut:
        """Schedule a job of ``kind`` (today ``flywheel``, payload ``{"model": NAME,
        "min_delta": X}``) ``every`` an interval (``"15m"``, ``"1d"``; at least 60 s)
        or on a 5-field ``cron`` expression in UTC (exactly one of the two).

        ``name`` defaults to the kind's (``flywheel-MODEL``) and is unique in the
        organization (409 ``schedule_exists``). Owner/admin keys.
        """
        body: dict[str, Any] = {"kind": kind, "payload": dict(payload or {}), "paused": paused}
        for key, value in (
            ("every", every), ("cron", cron), ("name", name), ("description", description),
        ):  # fmt: skip
            if value is not None:
                body[key] = value
        return self._post("/v1/schedules", ScheduleOut, body, idempotency_key)

    def schedules(self, *, kind: str | None = None) -> list[ScheduleOut]:
        """The organization's schedules (of ``kind``), by name."""
        return self._get("/v1/schedules", list[ScheduleOut], kind=kind)

    def schedule(self, schedule: str) -> ScheduleOut:
        """One schedule by id or name: next due time, last firing's outcome and job."""
        return self._get(f"/v1/schedules/{quote(schedule, safe='')}", ScheduleOut)

    def pause_schedule(self, schedule: str) -> ScheduleOut:
        """Pause a schedule (pausing a paused one changes nothing)."""
        path = f"/v1/schedules/{quote(schedule, safe='')}/pause"
        return _parse(ScheduleOut, self.request("POST", path, repeatable=True))

    def resume_schedule(self, schedule: str) -> ScheduleOut:
        """Resume a schedule from its next due time after now (no catching up)."""
        path = f"/v1/schedules/{quote(schedule, safe='')}/resume"
        return _parse(ScheduleOut, self.request("POST", path, repeatable=True))

    def delete_schedule(self, schedule: str) -> ScheduleOut:
        """Remove a schedule; returns it as it was (its jobs are left as they are)."""
        path = f"/v1/schedules/{quote(schedule, safe='')}"
        return _parse(ScheduleOut, self.request("DELETE", path))

    # --------------------------------------------------------------- sources
    def create_source(
        self,
        name: str,
        *,
        kind: str,
        url: str,
        dataset: str | None = None,
        config: Mapping[str, Any] | None = None,
        auth: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> SourceOut:
        """Add a source: ``kind`` ``http_api``, ``feed`` or ``crawl`` from ``url``;
        ``config`` holds the kind's options, ``auth`` (http_api) ``{"type": "bearer",
        "secret": ...}`` or ``{"type": ..., "secret_ref": NAME}`` (see docs/sources.md).
        A name in use is a 409 ``source_exists``; the answer never holds the secret."""
        body: dict[str, Any] = {
            "name": name,
            "kind": kind,
            "url": url,
            "config": dict(config or {}),
        }
        if dataset is not None:
            body["dataset"] = dataset
        if auth is not None:
            body["auth"] = dict(auth)
        return self._post("/v1/sources", SourceOut, body, idempotency_key)

    def sources(self) -> list[SourceOut]:
        """The organization's sources by name, each with its last run."""
        return self._get("/v1/sources", list[SourceOut])

    def source(self, name: str, *, runs: int = 10) -> SourceOut:
        """One source with its ``runs`` latest runs (fetched, new, duplicate, failed)."""
        return self._get(f"/v1/sources/{quote(name, safe='')}", SourceOut, runs=runs)

    def run_source(self, name: str) -> SourceRunSubmittedOut:
        """Run a source as a background job (``202``): its ``job_id``."""
        path = f"/v1/sources/{quote(name, safe='')}/run"
        return _parse(SourceRunSubmittedOut, self.request("POST", path))

    def delete_source(self, name: str) -> None:
        """Remove a source and its runs (its dataset versions stay)."""
        self.request("DELETE", f"/v1/sources/{quote(name, safe='')}")

    def sentiment_subscribe(
        self,
        url: str,
        *,
        every: str | None = None,
        cron: str | None = None,
        tickers: Sequence[str] = (),
        name: str | None = None,
        idempotency_key: str | None = None,
    ) -> SubscriptionOut:
        """Subscribe the sentiment monitor to a feed fetched ``every`` interval (``"5m"``)
        or on ``cron``: a feed source and its schedule (owner/admin keys)."""
        body: dict[str, Any] = {"url": url, "tickers": list(tickers)}
        for key, value in (("every", every), ("cron", cron), ("name", name)):
            if value is not None:
                body[key] = value
        return self._post("/v1/sentiment/subscriptions", SubscriptionOut, body, idempotency_key)

    def _wait_until(
        self,
        look: Callable[[], _Watched],
        ended: Callable[[_Watched], bool],
        *,
        what: str,
        details: dict[str, Any],
        timeout: float,
        poll: float,
    ) -> _Watched:
        """Call ``look`` every ``poll`` seconds until ``ended`` holds: the one polling loop.

        Raises :class:`WaitTimedOut` (``details`` plus the last ``status`` and ``stage``)
        when ``timeout`` seconds of waiting have passed.
        """
        deadline = time.monotonic() + timeout
        waited = 0.0
        while True:
            seen = look()
            if ended(seen):
                return seen
            if waited >= timeout or time.monotonic() >= deadline:
                raise WaitTimedOut(
                    f"{what} still {seen.status} after {timeout:g} s",
                    details={**details, "status": seen.status, "stage": seen.stage},
                )
            step = max(0.0, min(poll, timeout - waited))
            self._sleep(step)
            waited += step


def _parse(model: type[T], response: httpx.Response) -> T:
    return TypeAdapter(model).validate_json(response.content)
