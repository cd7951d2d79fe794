"""Services: ``POST /v1/services/{service}/{path}``, one route per endpoint of a service.

====================================  ==================  ==============================
route                                 permission          metered
====================================  ==================  ==============================
``POST /v1/services/<service>/<p>``   ``models:predict``  the units the endpoint declares
``GET /v1/services``                  ``models:read``     no
====================================  ==================  ==============================

Each endpoint of a :class:`~baryon.services.Service` served by this process
(:func:`baryon.services.load_services`, from ``baryon serve my_service.py``) is a
route of its own, with the request body and response schemas its type hints make
(so the OpenAPI document shows them). A call goes the way of every metered route: the
key, role and rate limit (:func:`~baryon.serving.auth.require`), the request caps
(:func:`~baryon.serving.routers.predictions.check_caps`: batch length on the list
that ``units`` counts, text length, finite numbers), then the service runs **outside**
any transaction (``setup()`` first if no call ran it yet), then the metered commit
path (:class:`~baryon.serving.routers._metered.MeteredCall`): idempotent replay, the
quota taken in the units the endpoint declares (times the plan's weight, 1), one
prediction-log entry (model ``service:<service>/<path>``, version the service's
``version``: feedback on it goes through ``POST /v1/feedback`` as for models), the
usage record under the route's path, and ``usage`` in the answer.

Another organization's service does not exist for the caller: its routes are left
out of the (public) OpenAPI document, and a call is the 404 of a route that does not
exist (``not_found``, "no such route"), answered before the body is validated, so the
answer tells nothing of the service's schema (a body that is not JSON at all is still
refused first, as on every route). Its outputs are logged as its inputs are: as they
are when the organization logs inputs in ``full``, with personal data masked
(:func:`baryon.data.pii.mask_json`) in every other mode, since a service's outputs may
repeat its inputs.

A call the service cannot answer is a 0-unit usage record with the error's status: a service whose
``setup()`` failed 503 ``service_setup_failed``, a method that raised 500
``service_error``, a result its type hints forbid 500 ``invalid_service_output`` with
the field in ``details``. A body that does not match the schema is the usual 422.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fastapi import APIRouter, Depends, Header, Request
from pydantic import BaseModel, Field, create_model
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from baryon.core.errors import BaryonError
from baryon.data.pii import mask_json
from baryon.predictions.inference import ServedModel
from baryon.services import SERVICES_PREFIX, Endpoint, ServedService
from baryon.serving.auth import Principal, require
from baryon.serving.deps import AppState, get_state
from baryon.serving.fields import IdempotencyKey
from baryon.serving.openapi import PROBLEMS, problems
from baryon.serving.routers._metered import Logged, MeteredCall, Transaction
from baryon.serving.routers.predictions import check_caps
from baryon.serving.schemas import ServiceOut

__all__ = ["service_model", "services_router"]

_ERRORS = problems("service_setup_failed", "service_error", "invalid_service_output")


def service_model(service: ServedService, spec: Endpoint) -> ServedModel:
    """The prediction log's view of one endpoint: model ``service:<service>/<path>``."""
    return ServedModel(
        name=f"service:{service.name}/{spec.path}",
        version=service.version,
        task="service",
        estimator=None,
        kind="service",
        org_id=service.owner_org_id,
    )


def services_router(served: Sequence[ServedService]) -> APIRouter:
    """Return the router of ``served``: one ``POST`` route per endpoint, and the list.

    Parameters
    ----------
    served : sequence of ServedService
        The services of this process (names are unique).

    Returns
    -------
    APIRouter
    """
    router = APIRouter(prefix=SERVICES_PREFIX, tags=["services"], responses=PROBLEMS)
    for service in served:
        for spec in service.endpoints:
            router.add_api_route(
                f"/{service.name}/{spec.path}",
                _handler(service, spec),
                methods=["POST"],
                response_model=_response_model(service, spec),
                responses=_ERRORS,
                summary=spec.summary,
                description=spec.description or None,
                operation_id=f"service_{service.name}_{spec.method}",
                include_in_schema=service.owner_org_id is None,
            )

    @router.get("", response_model=list[ServiceOut])
    def list_services(
        principal: Principal = require("models:read"),
    ) -> list[dict[str, Any]]:
        """The services this organization's keys may call, with their endpoints."""
        return [
            {
                "name": s.name,
                "version": s.version,
                "endpoints": [
                    {
                        "path": f"{SERVICES_PREFIX}/{s.name}/{e.path}",
                        "summary": e.summary,
                        "units": e.units if isinstance(e.units, int) else f"per item of {e.units}",
                    }
                    for e in s.endpoints
                ],
            }
            for s in served
            if s.visible_to(principal.org_id)
        ]

    return router


def _response_model(service: ServedService, spec: Endpoint) -> type[BaseModel]:
    return create_model(
        f"service_{service.name}_{spec.method}_response",
        prediction_id=(str, Field(description="Give feedback on it: POST /v1/feedback.")),
        service=(str, ...),
        service_version=(int, ...),
        result=(spec.result_type, ...),
        usage=(dict[str, int], Field(description="units, quota, used, remaining")),
    )


def _caller_of(service: ServedService) -> Callable[..., Principal]:
    """The dependency that admits ``models:predict`` keys of organizations that may call
    ``service`` and answers any other the 404 of a route that does not exist."""

    def caller(principal: Principal = require("models:predict")) -> Principal:
        if not service.visible_to(principal.org_id):
            raise StarletteHTTPException(404)  # as an unknown route: "no such route"
        return principal

    return caller


def _handler(service: ServedService, spec: Endpoint) -> Callable[..., Response]:
    model = service_model(service, spec)

    def call_endpoint(
        body: BaseModel,
        request: Request,
        idempotency_key: IdempotencyKey | None = Header(None),
        x_request_id: str | None = Header(None, max_length=200),
        principal: Principal = Depends(_caller_of(service)),
        state: AppState = Depends(get_state),
    ) -> Response:
        call = MeteredCall(
            state, principal, request, body=body, idempotency_key=idempotency_key,
            request_id=x_request_id,
        )  # fmt: skip
        counted = getattr(body, spec.units) if isinstance(spec.units, str) else ()
        check_caps(list(counted), state.settings)  # the batch cap on what units count
        logged = body.model_dump(mode="json")
        check_caps([logged], state.settings)  # text lengths and finite numbers anywhere
        try:
            result = service.call(spec, body)
        except BaryonError as exc:
            return call.fail(exc, model=model)
        shown = result if principal.prediction_inputs == "full" else mask_json(result)[0]

        def answer(tx: Transaction, ids: list[str | None]) -> dict[str, Any]:
            return {
                "prediction_id": ids[0],
                "service": service.name,
                "service_version": service.version,
                "result": result,
            }

        return call.commit(
            inputs=spec.units_of(body),
            logs=[Logged(model, "champion", [logged], [shown])],
            answer=answer,
        )

    # The body's type is the endpoint's own request model (FastAPI reads annotations).
    call_endpoint.__annotations__ = {**call_endpoint.__annotations__, "body": spec.request_model}
    call_endpoint.__name__ = f"service_{service.name}_{spec.method}"
    return call_endpoint
