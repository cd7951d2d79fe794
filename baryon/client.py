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
response and metered once. ``quota_exceeded`` is never retried.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import httpx
from pydantic import TypeAdapter

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
from baryon.serving.schemas import (
    AuditEventOut,
    CreatedKeyOut,
    EndpointOut,
    FeedbackOut,
    GrantOut,
    GrantsOut,
    KeyOut,
    MeOut,
    OrgDetailOut,
    OrgOut,
    PlanOut,
    PredictionOut,
    PredictResponse,
    RunComparisonOut,
    RunOut,
    RunSubmittedOut,
    RunSummaryOut,
    UsageOut,
    UserOut,
)

__all__ = ["Client", "ConnectionFailed", "WaitTimedOut", "error_from_response"]

T = TypeVar("T")
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
    ) -> httpx.Response:
        """Send one request with safe retries; return the 2xx response or raise.

        Raises
        ------
        BaryonError
            The problem the server answered (see :func:`error_from_response`).
        ConnectionFailed
            The server could not be reached after every retry.
        """
        method = method.upper()
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        repeatable = method in _IDEMPOTENT_METHODS or idempotency_key is not None
        query = {k: v for k, v in (params or {}).items() if v is not None}
        attempt = 0
        while True:
            try:
                response = self._http.request(
                    method, path, json=json, params=query, headers=headers
                )
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
        """Change organization settings (``prediction_inputs``: full, hashed, none)."""
        response = self.request("PATCH", "/v1/org", json={"prediction_inputs": prediction_inputs})
        return _parse(OrgDetailOut, response)

    def audit(self, *, limit: int = 100) -> list[AuditEventOut]:
        """The organization's audit events, newest first."""
        return self._get("/v1/audit", list[AuditEventOut], limit=limit)

    # ------------------------------------------------------------ users, keys
    def users(self) -> list[UserOut]:
        """The organization's users."""
        return self._get("/v1/users", list[UserOut])

    def create_user(self, email: str, role: str) -> UserOut:
        """Add a user."""
        return self._post("/v1/users", UserOut, {"email": email, "role": role})

    def disable_user(self, user_id: str) -> UserOut:
        """Disable a user and revoke their keys."""
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
        """Revoke a key (idempotent)."""
        return _parse(KeyOut, self.request("DELETE", f"/v1/keys/{key_id}"))

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
    ) -> PlanOut:
        """Add a plan (operator keys)."""
        body = {
            "name": name,
            "quota": quota,
            "rate_per_minute": rate_per_minute,
            "monthly_price": monthly_price,
            "overage_price": overage_price,
            "features": features or [],
        }
        return self._post("/v1/plans", PlanOut, body)

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

    # ------------------------------------------------------------------ usage
    def usage(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        group_by: str = "endpoint",
    ) -> UsageOut:
        """The organization's usage in ``[start, end)`` (default: this billing period)."""
        return self._get(
            "/v1/usage",
            UsageOut,
            start=None if start is None else start.isoformat(),
            end=None if end is None else end.isoformat(),
            group_by=group_by,
        )

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
        """Give ground truth (a ``label`` or a ``rating``) for one item of a prediction."""
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
        deadline = time.monotonic() + timeout
        waited = 0.0
        while True:
            run = self.run(run_id)
            if run.status in _FINAL_RUN_STATUSES and run.job_status not in _BUSY_JOB_STATUSES:
                return run
            if waited >= timeout or time.monotonic() >= deadline:
                raise WaitTimedOut(
                    f"run {run_id} still {run.status} after {timeout:g} s",
                    details={"run_id": run_id, "status": run.status, "stage": run.stage},
                )
            step = max(0.0, min(poll, timeout - waited))
            self._sleep(step)
            waited += step


def _parse(model: type[T], response: httpx.Response) -> T:
    return TypeAdapter(model).validate_json(response.content)
