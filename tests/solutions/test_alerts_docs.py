"""docs/alerts.md cannot rot: every alert route, command and setting is in it, and its
worked signature example verifies."""

from __future__ import annotations

import json
import re
from pathlib import Path

from baryon.cli.alerts import channels_app, deliveries_app, rules_app
from baryon.core.config import Settings
from baryon.serving.alert_schemas import DeliveryOut
from baryon.serving.routers import alerts
from baryon.solutions.sentiment.signing import verify_webhook

PAGE = (Path(__file__).resolve().parents[2] / "docs" / "alerts.md").read_text(encoding="utf-8")


def test_every_alert_route_is_documented() -> None:
    for route in alerts.router.routes:
        for method in route.methods:
            assert f"{method} {route.path}" in PAGE, f"{method} {route.path}"


def test_every_alert_command_is_documented() -> None:
    for noun, group in (
        ("rules", rules_app),
        ("channels", channels_app),
        ("deliveries", deliveries_app),
    ):
        for command in group.registered_commands:
            assert f"baryon sentiment {noun} {command.name}" in PAGE


def test_every_alert_setting_is_documented() -> None:
    names = [n for n in Settings.model_fields if n.startswith(("alert_", "smtp_"))]
    assert len(names) == 9
    for name in names:
        assert f"BARYON_{name.upper()}" in PAGE


def test_worked_signature_example_verifies() -> None:
    header = re.search(r"Baryon-Signature: (t=(\d+),v1=[0-9a-f]{64})", PAGE)
    assert header is not None
    body = b'{"type":"sentiment.test"}'
    stamp = int(header.group(2))
    assert verify_webhook("whsec_example", body, header.group(1), now=stamp) == stamp


def test_alert_body_example_is_a_delivery_payload() -> None:
    [block] = re.findall(r"```json\n(.*?)```", PAGE, re.S)
    body = json.loads(block)
    assert set(body) == {"type", "delivery_id", "alert"}
    assert set(body["alert"]) >= {"id", "rule", "kind", "state", "value", "fired_at", "message"}
    DeliveryOut.model_validate(
        {
            "id": body["delivery_id"],
            "org_id": "org_x",
            "channel_id": "chn_x",
            "alert_id": body["alert"]["id"],
            "event": body["type"],
            "payload": body,
            "status": "delivered",
            "attempts": 1,
            "job_id": None,
            "last_error_code": None,
            "last_error": None,
            "created_at": body["alert"]["fired_at"],
            "updated_at": body["alert"]["fired_at"],
            "delivered_at": body["alert"]["fired_at"],
        }
    )
