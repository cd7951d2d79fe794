"""Errors as ``application/problem+json`` (RFC 9457), one place for the whole API.

Every error response has ``type`` (``urn:baryon:problem:<code>``), ``title`` (the
HTTP reason phrase), ``status``, ``detail`` (one human sentence) and the stable
``code`` users script against (``quota_exceeded``, ``rate_limited``,
``invalid_input``, ``model_not_ready``, ...). 4xx problems also carry ``details``
(facts such as ``retry_after``) and, for request validation, ``errors`` (where and
what, never the offending input echoed back).

What never reaches a response: a stack trace, an exception's class or message from
outside Baryon, a file path, a database URL. Errors with a 5xx status other than
``model_not_ready`` get a generic detail; the cause is logged server side.

Status codes: :class:`~baryon.core.errors.BaryonError` subclasses decide their own
(``Unauthorized`` 401 with ``WWW-Authenticate: Bearer``, ``Forbidden`` 403,
``NotFound`` 404, ``InvalidInput`` 422, ``PayloadTooLarge`` 413, ``RateLimited`` and
``QuotaExceeded`` 429 with ``Retry-After``, ``ModelNotReady`` 503). A body that is
not JSON is 400 ``malformed_json``; a JSON body of the wrong shape is 422
``invalid_input``, or the named code when every error is the same named rule
(``invalid_time`` for a badly written time, see :mod:`baryon.serving.fields`). A 405
carries ``Allow`` listing every method the path has, across all the routes that share
it (Starlette lists only the first matching route's).
"""

from __future__ import annotations

import functools
import logging
import math
import re
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import BaseRoute, compile_path

from baryon.core.errors import CODES, BaryonError, QuotaExceeded, RateLimited
from baryon.core.jsonvalues import dumps

__all__ = [
    "PROBLEM_MEDIA_TYPE",
    "allowed_methods",
    "install_error_handlers",
    "problem_body",
    "problem_for_error",
    "problem_response",
]

logger = logging.getLogger("baryon.serving")

PROBLEM_MEDIA_TYPE = "application/problem+json"
_PUBLIC_5XX = frozenset(
    {
        "model_not_ready",
        "not_ready",
        "missing_dependency",
        "limiter_unavailable",
        "service_setup_failed",
        "invalid_service_output",
    }
)
_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem_body(status: int, code: str, detail: str, extra: dict[str, Any] | None = None) -> bytes:
    """Return the JSON bytes of a problem document."""
    doc: dict[str, Any] = {
        "type": f"urn:baryon:problem:{code}",
        "title": _title(status),
        "status": status,
        "detail": detail,
        "code": code,
    }
    if extra:
        doc.update(extra)
    return dumps(doc, default=str)


def problem_response(
    status: int,
    code: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    """Return a ``application/problem+json`` response."""
    return Response(
        problem_body(status, code, detail, extra),
        status_code=status,
        headers=headers,
        media_type=PROBLEM_MEDIA_TYPE,
    )


def problem_for_error(exc: BaryonError) -> Response:
    """Map a :class:`BaryonError` to its problem response (status, headers, body)."""
    status = exc.http_status
    headers: dict[str, str] = {}
    extra: dict[str, Any] = {}
    detail = exc.message
    if status >= 500 and exc.code not in _PUBLIC_5XX:
        logger.error("request failed: %s (%s)", exc.message, exc.code)
        detail = "the server could not complete this request"
    elif exc.details:
        extra["details"] = exc.details
    if status == 401:
        challenge = 'Bearer realm="baryon"'
        if exc.code != "missing_credentials":
            challenge += ', error="invalid_token"'
        headers["WWW-Authenticate"] = challenge
    if isinstance(exc, RateLimited | QuotaExceeded):
        retry = exc.details.get("retry_after")
        if retry is not None:
            headers["Retry-After"] = str(max(1, math.ceil(float(retry))))
    return problem_response(status, exc.code, detail, headers=headers, extra=extra)


def _clean_validation_errors(errors: Any) -> list[dict[str, Any]]:
    out = []
    for err in list(errors)[:20]:
        out.append(
            {
                "loc": [str(part) for part in err.get("loc", ())],
                "msg": str(err.get("msg", "")),
                "type": str(err.get("type", "")),
            }
        )
    return out


async def _on_baryon_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BaryonError)
    return problem_for_error(exc)


def _is_named(error_type: str) -> bool:
    """A schema error with a code of its own (:func:`baryon.serving.fields.named`): a
    422 code of the catalogue, such as ``invalid_time``."""
    entry = CODES.get(error_type)
    return entry is not None and entry.http_status == 422


async def _on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = _clean_validation_errors(exc.errors())
    if any(e["type"] == "json_invalid" for e in errors):
        return problem_response(400, "malformed_json", "the request body is not valid JSON")
    kinds = {e["type"] for e in errors}
    if len(kinds) == 1 and _is_named(named := kinds.pop()):
        where = ".".join(errors[0]["loc"])
        detail = f"{where}: {errors[0]['msg']}"
        return problem_response(422, named, detail, extra={"errors": errors})
    return problem_response(
        422, "invalid_input", "the request does not match the API schema", extra={"errors": errors}
    )


def allowed_methods(routes: Sequence[BaseRoute], path: str) -> list[str]:
    """Return every method ``path`` answers to, sorted (the ``Allow`` of a 405).

    Parameters
    ----------
    routes : sequence of BaseRoute
        The app's routes (``app.routes``; included routers are walked).
    path : str
        The request's path, e.g. ``/v1/keys/key_123``.
    """
    methods: set[str] = set()
    for context in iter_route_contexts(routes):
        template = context.path
        if template and context.methods and _path_regex(template).match(path):
            methods.update(context.methods)
    return sorted(methods)


@functools.lru_cache(maxsize=1024)
def _path_regex(template: str) -> re.Pattern[str]:
    return compile_path(template)[0]


async def _on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    code = _STATUS_CODES.get(status, "http_error")
    detail = exc.detail if isinstance(exc.detail, str) else _title(status)
    headers = dict(getattr(exc, "headers", None) or {})
    if status == 404 and detail == "Not Found":
        detail = "no such route"
    if status == 405:
        allow = allowed_methods(request.app.routes, request.url.path)
        headers["Allow"] = ", ".join(allow)
        detail = f"{request.method} is not allowed here; use {' or '.join(allow)}"
    return problem_response(status, code, detail, headers=headers or None)


def install_error_handlers(app: FastAPI) -> None:
    """Register the problem+json handlers on ``app``."""
    app.add_exception_handler(BaryonError, _on_baryon_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
