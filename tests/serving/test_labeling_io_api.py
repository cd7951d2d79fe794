"""Agreement, export and import routes: permissions, another org's queue, bad files, SDK."""

from __future__ import annotations

import json

import pytest
from fastapi import FastAPI
from servingkit import ClientFactory, PortalTransport, Tenants
from sqlalchemy import func, select

from baryon.client import Client
from baryon.core.audit import AuditEvent
from baryon.core.clock import FixedClock
from baryon.core.errors import InvalidInput, NotFound
from baryon.core.ids import new_id
from baryon.core.scope import SYSTEM
from baryon.labeling.queue import enqueue, ensure_queue
from baryon.labeling.tables import AnnotationRow, LabelingQueueRow, LabelingTaskRow
from baryon.workspace import Workspace

URL = "/v1/labeling/queues/reviews"
# Wikipedia, "Cohen's kappa": 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no → κ = 0.4.
PAIRS = [("pos", "pos")] * 20 + [("pos", "neg")] * 5 + [("neg", "pos")] * 10 + [("neg", "neg")] * 15


def _queue(ws: Workspace, clock: FixedClock, org_id: str, *, labeled: bool = True) -> None:
    """Queue ``reviews`` of ``org_id``: 50 texts labeled by two annotators (κ = 0.4)."""
    with ws.db.session(SYSTEM) as s:
        q = ensure_queue(
            s, org_id=org_id, model_name="sentiment", classes=["neg", "pos"], clock=clock,
            name="reviews",
        )  # fmt: skip
        q.overlap = 2
        for n, labels in enumerate(PAIRS if labeled else []):
            clock.advance(1)
            task = enqueue(
                s, q, input={"text": f"review {n}"}, source="prediction",
                reason="low_confidence", clock=clock, suggested_label="pos", confidence=0.6,
                model_version=1,
            )  # fmt: skip
            for slot, (who, label) in enumerate(zip(("u_a", "u_b"), labels, strict=True)):
                s.add(
                    AnnotationRow(
                        id=new_id("ann", clock), org_id=org_id, task_id=task, queue_id=q.id,
                        slot=slot, annotator=who, status="submitted", label=label,
                        skip_reason=None, seconds=1.0, claimed_at=clock.now(),
                        submitted_at=clock.now(),
                    )
                )  # fmt: skip


def _tasks(ws: Workspace, org_id: str) -> int:
    with ws.db.session(SYSTEM) as s:
        return int(
            s.scalar(
                select(func.count())
                .select_from(LabelingTaskRow)
                .join(LabelingQueueRow, LabelingQueueRow.id == LabelingTaskRow.queue_id)
                .where(LabelingQueueRow.org_id == org_id)
            )
            or 0
        )


def test_agreement_route_answers_kappa_for_an_annotator_key(
    ws: Workspace, clock: FixedClock, tenants: Tenants, api: ClientFactory
) -> None:
    _queue(ws, clock, tenants.org_ids["acme"])
    response = api(tenants.keys["acme:annotator"]).get(f"{URL}/agreement")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["queue"] == "reviews"
    assert body["cohen_kappa"]["value"] == pytest.approx(0.4)
    assert body["krippendorff_alpha"]["items"] == 50
    assert [a["annotator"] for a in body["per_annotator"]] == ["u_a", "u_b"]
    assert api(tenants.keys["acme:viewer"]).get(f"{URL}/agreement").status_code == 403


def test_another_orgs_queue_is_404_on_every_route(
    ws: Workspace, clock: FixedClock, tenants: Tenants, api: ClientFactory
) -> None:
    _queue(ws, clock, tenants.org_ids["acme"])
    globex = api(tenants.keys["globex:owner"])
    for response in (
        globex.get(f"{URL}/agreement"),
        globex.get(f"{URL}/export", params={"format": "csv"}),
        globex.post(f"{URL}/import", params={"format": "jsonl"},
                    content=b'{"input": {"text": "x"}, "label": "pos"}\n'),
    ):  # fmt: skip
        assert response.status_code == 404, response.text
        assert response.json()["code"] == "queue_not_found"
        assert "review 1" not in response.text
    assert _tasks(ws, tenants.org_ids["globex"]) == 0
    assert _tasks(ws, tenants.org_ids["acme"]) == 50


def test_export_route_needs_labeling_write_and_sends_an_attachment(
    ws: Workspace, clock: FixedClock, tenants: Tenants, api: ClientFactory
) -> None:
    _queue(ws, clock, tenants.org_ids["acme"])
    assert api(tenants.keys["acme:annotator"]).get(f"{URL}/export").status_code == 403
    developer = api(tenants.keys["acme:developer"])
    ls = developer.get(f"{URL}/export")
    assert ls.status_code == 200, ls.text
    assert ls.headers["content-type"].startswith("application/json")
    assert ls.headers["content-disposition"] == 'attachment; filename="reviews-labels.json"'
    tasks = ls.json()
    assert len(tasks) == 50
    assert tasks[0]["predictions"][0]["model_version"] == "sentiment:1"
    csv = developer.get(f"{URL}/export", params={"format": "csv", "status": "open"})
    assert csv.headers["content-type"].startswith("text/csv")
    assert len(csv.text.splitlines()) == 1 + 100
    bad = developer.get(f"{URL}/export", params={"format": "xml"})
    assert (bad.status_code, bad.json()["code"]) == (422, "unknown_format")


def test_import_route_imports_a_label_studio_file_and_reports(
    ws: Workspace, clock: FixedClock, tenants: Tenants, api: ClientFactory
) -> None:
    _queue(ws, clock, tenants.org_ids["acme"], labeled=False)
    tasks = [
        {"data": {"text": t}, "annotations": [
            {"completed_by": 1, "result": [{"from_name": "label", "to_name": "text",
                                            "type": "choices", "value": {"choices": [c]}}]}]}
        for t, c in (("loved it", "pos"), ("hated it", "neg"))
    ]  # fmt: skip
    response = api(tenants.keys["acme:developer"]).post(
        f"{URL}/import", params={"format": "label-studio"}, content=json.dumps(tasks).encode()
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["queue"], report["created"], report["annotations"], report["done"]) == (
        "reviews", 2, 2, 2,
    )  # fmt: skip
    with ws.db.session(SYSTEM) as s:
        labels = {t.input["text"]: t.label for t in s.scalars(select(LabelingTaskRow)).all()}
        audit = s.scalars(select(AuditEvent).where(AuditEvent.action == "labeling.import")).one()
    assert labels == {"loved it": "pos", "hated it": "neg"}
    assert audit.actor == f"key:{tenants.key_ids['acme:developer']}"


def test_import_route_review_decisions_need_labeling_review(
    ws: Workspace, clock: FixedClock, tenants: Tenants, api: ClientFactory
) -> None:
    _queue(ws, clock, tenants.org_ids["acme"], labeled=False)
    line = {"input": {"text": "so so"}, "status": "done", "resolution": "review",
            "consensus": "neg", "annotations": [{"annotator": "u_a", "label": "pos"},
                                                {"annotator": "u_b", "label": "neg"}]}  # fmt: skip
    body = json.dumps(line).encode()
    refused = api(tenants.keys["acme:developer"]).post(
        f"{URL}/import", params={"format": "jsonl"}, content=body
    )
    assert refused.status_code == 422, refused.text
    (bad,) = refused.json()["details"]["bad_tasks"]
    assert "labeling:review" in bad["reasons"][0]
    assert _tasks(ws, tenants.org_ids["acme"]) == 0
    done = api(tenants.keys["acme:admin"]).post(
        f"{URL}/import", params={"format": "jsonl"}, content=body
    )
    assert done.status_code == 200, done.text
    assert (done.json()["reviewed"], done.json()["done"], done.json()["review"]) == (1, 1, 0)
    with ws.db.session(SYSTEM) as s:
        task = s.scalars(select(LabelingTaskRow)).one()
    assert (task.status, task.label, task.resolution, task.agreement) == (
        "done", "neg", "review", 0.5,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("fmt", "body", "code"),
    [
        ("label-studio", b'[{"data": ', "malformed_import"),
        ("label-studio", b"\x00\xff", "malformed_import"),
        ("csv", b'text,label\n"open,pos\n', "malformed_import"),
        ("jsonl", b"{}\n[1]\n", "import_rejected"),
        ("jsonl", b"", "empty_import"),
        ("yaml", b"a: 1", "unknown_format"),
    ],
)
def test_import_route_bad_file_is_a_named_422_never_500(
    ws: Workspace, clock: FixedClock, tenants: Tenants, api: ClientFactory,
    fmt: str, body: bytes, code: str,
) -> None:  # fmt: skip
    _queue(ws, clock, tenants.org_ids["acme"], labeled=False)
    response = api(tenants.keys["acme:developer"]).post(
        f"{URL}/import", params={"format": fmt}, content=body
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code
    assert _tasks(ws, tenants.org_ids["acme"]) == 0


def test_import_route_bad_tasks_are_listed_and_nothing_is_imported(
    ws: Workspace, clock: FixedClock, tenants: Tenants, api: ClientFactory
) -> None:
    _queue(ws, clock, tenants.org_ids["acme"], labeled=False)
    body = b"text,annotator,label\nfine,u1,pos\nwrong,u1,maybe\n,u1,pos\n"
    response = api(tenants.keys["acme:developer"]).post(
        f"{URL}/import", params={"format": "csv"}, content=body
    )
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "import_rejected"
    bad = problem["details"]["bad_tasks"]
    assert [(b["task"], b["line"]) for b in bad] == [(2, 3), (3, 4)]
    assert bad[0]["reasons"] == ["line 3: 'maybe' is not one of the queue's classes"]
    assert bad[1]["reasons"] == ["line 4 has no 'text'"]
    assert _tasks(ws, tenants.org_ids["acme"]) == 0


def test_import_route_body_over_the_cap_is_413(
    ws: Workspace, clock: FixedClock, tenants: Tenants, api: ClientFactory
) -> None:
    _queue(ws, clock, tenants.org_ids["acme"], labeled=False)
    line = json.dumps({"input": {"text": "x" * 1000}}).encode() + b"\n"
    response = api(tenants.keys["acme:developer"]).post(
        f"{URL}/import", params={"format": "jsonl"}, content=line * 1100
    )
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


def test_import_route_idempotency_key_replays_the_first_report(
    ws: Workspace, clock: FixedClock, tenants: Tenants, api: ClientFactory
) -> None:
    _queue(ws, clock, tenants.org_ids["acme"], labeled=False)
    client = api(tenants.keys["acme:developer"], **{"Idempotency-Key": "imp-1"})
    body = b'{"input": {"text": "a"}, "label": "pos"}\n'
    first = client.post(f"{URL}/import", params={"format": "jsonl"}, content=body)
    again = client.post(f"{URL}/import", params={"format": "jsonl"}, content=body)
    assert first.status_code == again.status_code == 200
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json() == first.json()
    with ws.db.session(SYSTEM) as s:
        assert s.scalar(select(LabelingTaskRow.seen_count)) == 1


def test_sdk_agreement_export_and_import_round_trip(
    app: FastAPI, ws: Workspace, clock: FixedClock, tenants: Tenants
) -> None:
    _queue(ws, clock, tenants.org_ids["acme"])
    with ws.db.session(SYSTEM) as s:
        copy = ensure_queue(
            s, org_id=tenants.org_ids["acme"], model_name="sentiment", classes=["neg", "pos"],
            clock=clock, name="copy",
        )  # fmt: skip
        copy.overlap = 2
    transport = PortalTransport(app)
    try:
        with Client("http://testserver", tenants.keys["acme:developer"], transport) as client:
            assert client.agreement("reviews").cohen_kappa.value == pytest.approx(0.4)
            data = client.export_labels("reviews", format="jsonl")
            dry = client.import_labels("copy", data, format="jsonl", dry_run=True)
            assert (dry.dry_run, dry.created, dry.annotations) == (True, 50, 100)
            report = client.import_labels("copy", data, format="jsonl")
            assert (report.created, report.annotations, report.bad) == (50, 100, 0)
            assert client.agreement("copy").cohen_kappa.value == pytest.approx(0.4)
            with pytest.raises(InvalidInput) as caught:
                client.import_labels("copy", b'{"input": {}}', format="jsonl")
            assert caught.value.code == "import_rejected"
            assert caught.value.details["bad_tasks"][0]["reasons"] == ["input has no 'text'"]
            with pytest.raises(NotFound):
                client.agreement("nope")
    finally:
        transport.shutdown()
