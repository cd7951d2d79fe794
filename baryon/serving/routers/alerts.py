"""Sentiment alert rules and their delivery over HTTP.

=================================================  ================  ===============
route                                              permission        answer
=================================================  ================  ===============
``POST   /v1/sentiment/rules``                     ``alerts:write``  201 rule
``GET    /v1/sentiment/rules``                     ``alerts:read``   rules, by name
``GET    /v1/sentiment/rules/{rule}``              ``alerts:read``   rule
``POST   /v1/sentiment/rules/{rule}/enable``       ``alerts:write``  rule
``POST   /v1/sentiment/rules/{rule}/disable``      ``alerts:write``  rule
``POST   /v1/sentiment/rules/{rule}/test``         ``alerts:read``   times it fires
``DELETE /v1/sentiment/rules/{rule}``              ``alerts:write``  rule as it was
``POST   /v1/sentiment/channels``                  ``alerts:write``  201 + secret
``GET    /v1/sentiment/channels``                  ``alerts:read``   channels
``GET    /v1/sentiment/channels/{channel}``        ``alerts:read``   channel
``POST   /v1/sentiment/channels/{channel}/enable``  ``alerts:write`` channel
``POST   /v1/sentiment/channels/{channel}/disable`` ``alerts:write`` channel
``POST   /v1/sentiment/channels/{channel}/test``   ``alerts:write``  202 delivery
``DELETE /v1/sentiment/channels/{channel}``        ``alerts:write``  channel as it was
``GET    /v1/sentiment/deliveries``                ``alerts:read``   ``?status=dead``
``GET    /v1/sentiment/deliveries/{delivery_id}``     ``alerts:read``   delivery
``POST   /v1/sentiment/deliveries/{delivery_id}/redeliver`` ``alerts:write`` 202 delivery
=================================================  ================  ===============

Rules and channels are named by id or name; another organization's are a 404. Domain
rules and codes: :mod:`baryon.solutions.sentiment.rules` and
:mod:`baryon.solutions.sentiment.delivery`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from baryon.serving.alert_schemas import (
    ChannelCreatedOut,
    ChannelOut,
    ChannelRequest,
    DeliveryOut,
    RuleOut,
    RuleRequest,
    RuleTestOut,
    RuleTestRequest,
)
from baryon.serving.auth import Principal, require
from baryon.serving.deps import AppState, get_state
from baryon.serving.fields import OneOf
from baryon.serving.openapi import PROBLEMS, problems
from baryon.serving.routers._common import json_bytes, run_write
from baryon.solutions.sentiment import delivery, rules
from baryon.solutions.sentiment.tables import DELIVERY_STATUSES

__all__ = ["router"]

router = APIRouter(prefix="/v1/sentiment", tags=["sentiment alerts"], responses=PROBLEMS)

_RULE = Path(max_length=200, description="The rule's id (rule_…) or name.")
_CHANNEL = Path(max_length=200, description="The channel's id (chn_…) or name.")
_DELIVERY = Path(max_length=64, description="The delivery's id (dlv_…).")


def _json(value: Any, status_code: int = 200) -> Response:
    return Response(json_bytes(value), status_code=status_code, media_type="application/json")


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# ---------------------------------------------------------------------- rules
@router.post(
    "/rules",
    response_model=RuleOut,
    status_code=201,
    responses=problems("invalid_rule", "rule_exists"),
)
def post_rule(
    body: RuleRequest,
    request: Request,
    idempotency_key: str | None = Header(None, max_length=255),
    principal: Principal = require("alerts:write"),
    state: AppState = Depends(get_state),
) -> Response:
    """Make an alert rule. Bad input writes nothing (422 ``unknown_rule_kind``,
    ``invalid_rule``, ``unknown_window``, ``invalid_ticker``, ``invalid_rule_name``); a
    name in use is a 409 ``rule_exists``. The organization's first rule replaces the
    default rules."""
    spec = rules.check_rule(
        kind=body.kind, threshold=body.threshold, window=body.window, ticker=body.ticker,
        direction=body.direction, min_items=body.min_items,
        baseline_windows=body.baseline_windows, name=body.name,
    )  # fmt: skip

    def work(session: Session) -> dict[str, Any]:
        return rules.create_rule(
            session, spec, org_id=principal.org_id, actor=principal.actor, clock=state.clock,
            enabled=body.enabled,
        ).to_dict()  # fmt: skip

    return run_write(
        state, principal, request, work, body=body, idempotency_key=idempotency_key,
        status_code=201,
    )  # fmt: skip


@router.get("/rules", response_model=list[RuleOut])
def get_rules(
    principal: Principal = require("alerts:read"), state: AppState = Depends(get_state)
) -> Response:
    """The organization's alert rules, by name."""
    with state.transaction(principal.own_scope) as session:
        return _json([r.to_dict() for r in rules.list_rules(session)])


@router.get("/rules/{rule}", response_model=RuleOut)
def get_one_rule(
    rule: str = _RULE,
    principal: Principal = require("alerts:read"),
    state: AppState = Depends(get_state),
) -> Response:
    """One rule, by id or name."""
    with state.transaction(principal.own_scope) as session:
        return _json(rules.get_rule(session, rule).to_dict())


def _toggle(
    state: AppState, principal: Principal, request: Request, rule: str, on: bool
) -> Response:
    def work(session: Session) -> dict[str, Any]:
        return rules.set_rule_enabled(
            session, rule, on, actor=principal.actor, clock=state.clock
        ).to_dict()

    return run_write(state, principal, request, work)


@router.post("/rules/{rule}/enable", response_model=RuleOut)
def post_enable_rule(
    request: Request,
    rule: str = _RULE,
    principal: Principal = require("alerts:write"),
    state: AppState = Depends(get_state),
) -> Response:
    """Enable a rule (an enabled one is answered as is)."""
    return _toggle(state, principal, request, rule, True)


@router.post("/rules/{rule}/disable", response_model=RuleOut)
def post_disable_rule(
    request: Request,
    rule: str = _RULE,
    principal: Principal = require("alerts:write"),
    state: AppState = Depends(get_state),
) -> Response:
    """Disable a rule: it fires no more until enabled."""
    return _toggle(state, principal, request, rule, False)


@router.post(
    "/rules/{rule}/test",
    response_model=RuleTestOut,
    responses=problems("invalid_range", "history_too_large"),
)
def post_test_rule(
    body: RuleTestRequest,
    rule: str = _RULE,
    principal: Principal = require("alerts:read"),
    state: AppState = Depends(get_state),
) -> Response:
    """When the rule would have fired over the organization's stored items in
    ``(start, end]`` (default: the last 7 days). Writes nothing. ``start`` not before
    ``end`` is a 422 ``invalid_range``; too many items a 422 ``history_too_large``."""
    start, end = rules.default_test_span(state.clock.now())
    start = start if body.start is None else _utc(body.start)
    end = end if body.end is None else _utc(body.end)
    with state.transaction(principal.own_scope) as session:
        shown = rules.get_rule(session, rule)
        fired = rules.backtest_rule(session, shown.id, start=start, end=end)
    return _json(
        {
            "rule": shown.to_dict(),
            "start": start,
            "end": end,
            "fired": [a.to_dict() for a in fired],
        }
    )


@router.delete("/rules/{rule}", response_model=RuleOut)
def delete_rule(
    request: Request,
    rule: str = _RULE,
    principal: Principal = require("alerts:write"),
    state: AppState = Depends(get_state),
) -> Response:
    """Remove a rule; answer it as it was (its past alerts stay)."""

    def work(session: Session) -> dict[str, Any]:
        return rules.remove_rule(session, rule, actor=principal.actor, clock=state.clock).to_dict()

    return run_write(state, principal, request, work)


# ------------------------------------------------------------------- channels
@router.post(
    "/channels",
    response_model=ChannelCreatedOut,
    status_code=201,
    responses=problems(
        "invalid_webhook_url", "invalid_email", "smtp_not_configured", "channel_exists"
    ),
)
def post_channel(
    body: ChannelRequest,
    request: Request,
    idempotency_key: str | None = Header(None, max_length=255),
    principal: Principal = require("alerts:write"),
    state: AppState = Depends(get_state),
) -> Response:
    """Make a delivery channel; a webhook's signing secret is in this answer only.

    Bad input writes nothing (422 ``unknown_channel_kind``, ``invalid_webhook_url``,
    ``invalid_email``, ``smtp_not_configured``, ``invalid_channel_name``); a name in
    use is a 409 ``channel_exists``."""

    def work(session: Session) -> dict[str, Any]:
        channel, secret = delivery.create_channel(
            session, kind=body.kind, target=body.target, name=body.name,
            org_id=principal.org_id, actor=principal.actor, clock=state.clock,
            settings=state.settings,
        )  # fmt: skip
        return {"channel": channel.to_dict(), "secret": secret}

    return run_write(
        state, principal, request, work, body=body, idempotency_key=idempotency_key,
        status_code=201,
    )  # fmt: skip


@router.get("/channels", response_model=list[ChannelOut])
def get_channels(
    principal: Principal = require("alerts:read"), state: AppState = Depends(get_state)
) -> Response:
    """The organization's channels, by name."""
    with state.transaction(principal.own_scope) as session:
        return _json([c.to_dict() for c in delivery.list_channels(session)])


@router.get("/channels/{channel}", response_model=ChannelOut)
def get_one_channel(
    channel: str = _CHANNEL,
    principal: Principal = require("alerts:read"),
    state: AppState = Depends(get_state),
) -> Response:
    """One channel, by id or name (never its secret)."""
    with state.transaction(principal.own_scope) as session:
        return _json(delivery.get_channel(session, channel).to_dict())


def _switch(
    state: AppState, principal: Principal, request: Request, channel: str, on: bool
) -> Response:
    def work(session: Session) -> dict[str, Any]:
        return delivery.set_channel_enabled(
            session, channel, on, actor=principal.actor, clock=state.clock
        ).to_dict()

    return run_write(state, principal, request, work)


@router.post("/channels/{channel}/enable", response_model=ChannelOut)
def post_enable_channel(
    request: Request,
    channel: str = _CHANNEL,
    principal: Principal = require("alerts:write"),
    state: AppState = Depends(get_state),
) -> Response:
    """Enable a channel: it receives the alerts fired from now on."""
    return _switch(state, principal, request, channel, True)


@router.post("/channels/{channel}/disable", response_model=ChannelOut)
def post_disable_channel(
    request: Request,
    channel: str = _CHANNEL,
    principal: Principal = require("alerts:write"),
    state: AppState = Depends(get_state),
) -> Response:
    """Disable a channel: it receives no new alert (queued deliveries still go)."""
    return _switch(state, principal, request, channel, False)


@router.post("/channels/{channel}/test", response_model=DeliveryOut, status_code=202)
def post_test_channel(
    request: Request,
    channel: str = _CHANNEL,
    principal: Principal = require("alerts:write"),
    state: AppState = Depends(get_state),
) -> Response:
    """Send a test alert to the channel: 202 with its delivery (a worker sends it)."""

    def work(session: Session) -> dict[str, Any]:
        return delivery.send_test(
            session, state.jobs, channel, actor=principal.actor, clock=state.clock
        ).to_dict()

    return run_write(state, principal, request, work, status_code=202)


@router.delete("/channels/{channel}", response_model=ChannelOut)
def delete_channel(
    request: Request,
    channel: str = _CHANNEL,
    principal: Principal = require("alerts:write"),
    state: AppState = Depends(get_state),
) -> Response:
    """Remove a channel and its deliveries; answer it as it was."""

    def work(session: Session) -> dict[str, Any]:
        return delivery.remove_channel(
            session, channel, actor=principal.actor, clock=state.clock
        ).to_dict()

    return run_write(state, principal, request, work)


# ----------------------------------------------------------------- deliveries
@router.get("/deliveries", response_model=list[DeliveryOut])
def get_deliveries(
    status: Annotated[str, OneOf(DELIVERY_STATUSES, "invalid_delivery_status", "status")]
    | None = Query(None, description="pending, delivered or dead."),
    channel: str | None = Query(None, max_length=200, description="A channel's id or name."),
    limit: int = Query(50, ge=1, le=500),
    principal: Principal = require("alerts:read"),
    state: AppState = Depends(get_state),
) -> Response:
    """The organization's deliveries, newest first; ``?status=dead`` is the dead-letter list."""
    with state.transaction(principal.own_scope) as session:
        found = delivery.list_deliveries(session, status=status, channel=channel, limit=limit)
        return _json([d.to_dict() for d in found])


@router.get("/deliveries/{delivery_id}", response_model=DeliveryOut)
def get_one_delivery(
    delivery_id: str = _DELIVERY,
    principal: Principal = require("alerts:read"),
    state: AppState = Depends(get_state),
) -> Response:
    """One delivery: its status, attempts and last error."""
    with state.transaction(principal.own_scope) as session:
        return _json(delivery.get_delivery(session, delivery_id).to_dict())


@router.post(
    "/deliveries/{delivery_id}/redeliver",
    response_model=DeliveryOut,
    status_code=202,
    responses=problems("delivery_not_dead", "channel_disabled"),
)
def post_redeliver(
    request: Request,
    delivery_id: str = _DELIVERY,
    principal: Principal = require("alerts:write"),
    state: AppState = Depends(get_state),
) -> Response:
    """Queue a dead delivery again with fresh attempts (409 ``delivery_not_dead`` for
    any other, ``channel_disabled`` when its channel is disabled)."""

    def work(session: Session) -> dict[str, Any]:
        return delivery.redeliver(
            session, state.jobs, delivery_id, actor=principal.actor, clock=state.clock
        ).to_dict()

    return run_write(state, principal, request, work, status_code=202)
