"""What the OpenAPI document says beyond what FastAPI derives: error responses, links.

Error responses are ``application/problem+json`` documents whose schema is
:class:`~baryon.serving.schemas.Problem`. Every authenticated route documents the
statuses any route can give (:data:`PROBLEMS`: 400, 401, 403, 404, 413, 422, 429, 503); a
route that can also answer a named error documents it through :func:`problems`, from
the code catalogue (:data:`baryon.core.errors.CODES`), never by hand::

    @router.post("", responses=problems("user_exists"))

:func:`problems` groups the codes by HTTP status. A status outside the shared set
(409, 415) is documented as exactly those codes: its schema restricts ``code`` to
them, so a response with another code disagrees with the document. A status of the
shared set (422, say) stays open and lists the route's named codes among others. Each
documented response also carries its codes as ``x-codes``.

:func:`openapi_document` builds the document once per app: FastAPI's, plus the problem
schema under ``components``, plus the links of :data:`LINKS` — an id one answer carries
is the parameter or body field of the operations that read or change that object (a
prediction's id → its log entry and its feedback; a cycle's id → the cycle). Clients
and schema-driven fuzzers follow them; the links between a resource's path and its
``{id}`` sub-paths are plain from the paths and are not repeated.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from baryon.core.errors import CODES
from baryon.jobs.schedules import ScheduledKind
from baryon.serving.errors import PROBLEM_MEDIA_TYPE
from baryon.serving.schemas import Problem

__all__ = ["LINKS", "PROBLEMS", "Link", "openapi_document", "problems"]

_PROBLEM_REF = "#/components/schemas/Problem"

#: Statuses every authenticated route can give; their codes are open-ended.
_SHARED: dict[int, str] = {
    400: "Malformed JSON (`malformed_json`)",
    401: "Missing, unknown, revoked or expired API key",
    403: "The key's role lacks the permission (`forbidden`), or an on-premises licence refuses "
    "the request: a write after it expired (`licence_read_only`), a feature it does not grant "
    "(`licence_feature`), a user or organization over its caps (`licence_seat_limit`, "
    "`licence_org_limit`)",
    404: "Not found (or another organization's)",
    413: "Body, batch or text too large",
    422: "Invalid input: the request does not match the schema (`invalid_input`, with "
    "`errors`) or a named rule",
    429: "Rate limited (`rate_limited`) or quota exceeded (`quota_exceeded`), with `Retry-After`",
    503: "Rate limits and quotas cannot be checked (`limiter_unavailable`: their Redis is "
    "unreachable; nothing was done, retry)",
}


def _response(status: int, codes: Iterable[str] = ()) -> dict[str, Any]:
    codes = list(codes)
    schema: dict[str, Any] = {"$ref": _PROBLEM_REF}
    if status in _SHARED:
        text = _SHARED[status]
        if codes:
            text += ". Named here, among others:"
    else:
        text = HTTPStatus(status).phrase
        schema = {"allOf": [schema, {"type": "object", "properties": {"code": {"enum": codes}}}]}
    text += "".join(f"\n- `{code}`: {CODES[code].summary}" for code in codes)
    out: dict[str, Any] = {"description": text, "content": {PROBLEM_MEDIA_TYPE: {"schema": schema}}}
    if codes:
        out["x-codes"] = codes
    return out


#: Error responses every authenticated route can give (a router's ``responses``).
PROBLEMS: dict[int | str, dict[str, Any]] = {status: _response(status) for status in _SHARED}


def problems(*codes: str) -> dict[int | str, dict[str, Any]]:
    """Return the OpenAPI responses of named error ``codes`` (a route's ``responses``).

    Parameters
    ----------
    *codes : str
        Codes of the catalogue :data:`baryon.core.errors.CODES`.

    Returns
    -------
    dict
        ``{status: response}`` for the statuses of ``codes`` (merged over the router's
        :data:`PROBLEMS` by FastAPI).

    Raises
    ------
    KeyError
        A code that is not in the catalogue (when the router module is imported).
    """
    by_status: dict[int, list[str]] = {}
    for code in codes:
        by_status.setdefault(CODES[code].http_status, []).append(code)
    return {status: _response(status, listed) for status, listed in sorted(by_status.items())}


@dataclass(frozen=True)
class Link:
    """An OpenAPI link: what ``source`` answers with ``status`` feeds ``target``.

    Attributes
    ----------
    source, target : str
        ``"METHOD /path"`` of the operations.
    status : int
        The source's response that carries the value.
    name : str
        The link's name under the response's ``links``.
    parameters : dict
        ``{parameter: runtime expression}``, e.g. ``{"cycle_id": "$response.body#/cycle_id"}``.
    body : dict, optional
        The target's request body, with runtime expressions as values.
    """

    source: str
    status: int
    target: str
    name: str
    parameters: dict[str, str] = field(default_factory=dict)
    body: dict[str, str] | None = None


_PREDICTION = "$response.body#/prediction_id"
#: Operations that answer a ``prediction_id`` (every metered prediction does).
_PREDICTING = (
    ("POST /v1/models/{name}/predict", 200),
    ("POST /v1/support/answer", 200),
    ("POST /v1/sentiment/analyze", 200),
    ("GET /v1/recommendations/{user_id}", 200),
)
#: The links the paths alone do not tell (see the module docstring).
LINKS: tuple[Link, ...] = (
    *(
        link
        for source, status in _PREDICTING
        for link in (
            Link(source, status, "GET /v1/predictions/{prediction_id}", "GetPrediction",
                 {"prediction_id": _PREDICTION}),
            Link(source, status, "POST /v1/feedback", "PostFeedback",
                 body={"prediction_id": _PREDICTION}),
        )
    ),
    Link("POST /v1/flywheel/{model}/cycles", 202, "GET /v1/flywheel/cycles/{cycle_id}",
         "GetCycle", {"cycle_id": "$response.body#/cycle_id"}),
    Link("POST /v1/runs", 202, "GET /v1/runs/{run_id}", "GetRun",
         {"run_id": "$response.body#/run_id"}),
)  # fmt: skip


def _operation(doc: dict[str, Any], label: str) -> dict[str, Any]:
    method, path = label.split(" ", 1)
    return doc["paths"][path][method.lower()]  # type: ignore[no-any-return]


def _add_links(doc: dict[str, Any]) -> None:
    for link in LINKS:
        target = _operation(doc, link.target)
        value: dict[str, Any] = {
            "operationId": target["operationId"],
            "description": f"{link.target} with this answer's values",
        }
        if link.parameters:
            value["parameters"] = link.parameters
        if link.body is not None:
            value["requestBody"] = link.body
        response = _operation(doc, link.source)["responses"][str(link.status)]
        response.setdefault("links", {})[link.name] = value


def _document_idempotency(doc: dict[str, Any]) -> None:
    """An operation that takes ``Idempotency-Key`` can answer its two 422 codes."""
    for item in doc["paths"].values():
        for operation in item.values():
            headers = {
                p["name"].lower() for p in operation.get("parameters", []) if p["in"] == "header"
            }
            if "idempotency-key" in headers:
                codes = operation["responses"].get("422", {}).get("x-codes", [])
                operation["responses"]["422"] = _response(
                    422, [*codes, "invalid_idempotency_key", "idempotency_key_reused"]
                )


def _document_schedule_kinds(doc: dict[str, Any], kinds: Mapping[str, ScheduledKind]) -> None:
    """``POST /v1/schedules`` takes the app's schedulable kinds, each with its payload."""
    request = doc["components"]["schemas"].get("ScheduleRequest")
    if request is None:
        return
    request["properties"]["kind"]["enum"] = sorted(kinds)
    by_kind = [
        {
            "properties": {"kind": {"const": name}, "payload": kind.payload_schema},
            **({"required": ["payload"]} if kind.payload_schema.get("required") else {}),
        }
        for name, kind in sorted(kinds.items())
    ]
    request.setdefault("allOf", []).append({"oneOf": by_kind})


def openapi_document(
    app: FastAPI, *, schedule_kinds: Mapping[str, ScheduledKind] | None = None
) -> dict[str, Any]:
    """Return ``app``'s OpenAPI document (built on first use, then cached on the app).

    FastAPI's document, plus the :class:`~baryon.serving.schemas.Problem` schema that
    every error response refers to, plus the 422 codes of ``Idempotency-Key``
    (``invalid_idempotency_key``, ``idempotency_key_reused``) on every operation that
    takes the header, plus :data:`LINKS`, plus the app's schedulable kinds and their
    payloads (``schedule_kinds``, :attr:`ScheduledKind.payload_schema
    <baryon.jobs.schedules.ScheduledKind.payload_schema>`) on ``POST /v1/schedules``.

    Raises
    ------
    KeyError
        A link names an operation or a response the app does not have.
    """
    if app.openapi_schema is not None:
        return app.openapi_schema
    doc = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(problem.pop("$defs", {}))
    schemas["Problem"] = problem
    _document_idempotency(doc)
    _document_schedule_kinds(doc, schedule_kinds or {})
    _add_links(doc)
    app.openapi_schema = doc
    return doc
