"""Erasure: the subject leaves every current version, the log and the labeling tasks."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from baryon.commerce.orgs import create_org
from baryon.commerce.plans import create_plan
from baryon.core.audit import list_audit_events, verify_audit_chain
from baryon.core.errors import Gone, InvalidInput, NotFound
from baryon.core.scope import SYSTEM
from baryon.labeling.queue import enqueue
from baryon.labeling.service import create_queue
from baryon.labeling.tables import LabelingQueueRow, LabelingTaskRow
from baryon.predictions.log import log_prediction
from baryon.predictions.tables import PredictionRow
from baryon.privacy import erase, parse_matches
from baryon.workspace import Workspace

SUBJECT = "ann@example.com"
PEOPLE = (
    "id,email,notes,label\n"
    f"1,{SUBJECT},likes tea,a\n"
    "2,bob@example.org,likes coffee,b\n"
    "3,cy@example.net,likes water,a\n"
    "4,dee@example.net,likes juice,b\n"
    f"5,{SUBJECT},second visit,b\n"
    "6,eve@example.net,likes soda,a\n"
)


def _stored(ws: Workspace) -> bytes:
    root = Path(ws.settings.resolved_artifact_root)
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


def _ingest(ws: Workspace, tmp_path: Path, name: str = "people", **kw: object):
    path = tmp_path / f"{name}.csv"
    path.write_text(PEOPLE)
    return ws.datasets.ingest(path, name=name, **kw)  # type: ignore[arg-type]


def test_erase_writes_version_without_rows_and_tombstones_old(
    workspace: Workspace, tmp_path: Path
) -> None:
    v1 = _ingest(workspace, tmp_path)
    v2 = workspace.datasets.split("people", strategy="random", test_size=0.34, seed=1)
    result = erase(workspace.datasets, [("email", SUBJECT)], actor="cli:test")
    [done] = result.datasets
    assert done["rows_removed"] == 2
    assert done["new_version"] == 3
    assert {e["id"] for e in done["erased_versions"]} == {v1.id, v2.id}
    v3 = workspace.datasets.get("people")
    assert v3.version == 3
    assert v3.parent_id == v2.id
    assert v3.operation == "erase"
    frame = v3.to_pandas()
    assert SUBJECT not in set(frame["email"])
    assert len(frame) == 4
    assert sum(v3.split["counts"].values()) == 4  # the split is kept for the rest
    assert v3.manifest["steps"] == [
        {"step": "erasure", "erasure_id": result.id, "columns": ["email"], "rows_removed": 2}
    ]
    # The old versions are tombstones: listed in the lineage, unreadable, bytes gone.
    old = workspace.datasets.get("people", 1)
    assert old.erased_at is not None
    with pytest.raises(Gone) as err:
        old.to_pandas()
    assert err.value.code == "version_erased"
    assert [v.version for v in workspace.datasets.lineage("people")] == [1, 2, 3]
    assert SUBJECT.encode() not in _stored(workspace)
    assert not workspace.artifacts.exists(v1.data_digest)


def test_erase_is_audited_without_the_value(workspace: Workspace, tmp_path: Path) -> None:
    _ingest(workspace, tmp_path)
    result = erase(workspace.datasets, [("email", SUBJECT)], actor="cli:test")
    with workspace.db.session() as session:
        assert verify_audit_chain(session).ok
    with workspace.db.session() as session:
        events = list_audit_events(session, action="data.erase")
        assert [e.object_id for e in events] == [result.id]
        assert SUBJECT not in repr([e.details for e in list_audit_events(session)])


def test_erase_only_older_versions_hold_subject_tombstones_without_new_version(
    workspace: Workspace, tmp_path: Path
) -> None:
    _ingest(workspace, tmp_path)
    workspace.datasets.clean("people", ["drop_columns:email"])
    result = erase(workspace.datasets, [("email", SUBJECT)])
    [done] = result.datasets
    assert done["new_version"] is None
    assert [e["version"] for e in done["erased_versions"]] == [1]
    assert workspace.datasets.get("people").version == 2
    assert len(workspace.datasets.get("people").to_pandas()) == 6


def test_erase_other_org_untouched_and_its_dataset_is_not_found(
    workspace: Workspace, tmp_path: Path
) -> None:
    with workspace.db.session(SYSTEM) as s:
        create_plan(s, name="team", quota=1000, rate_per_minute=1000)
        create_org(s, name="acme", plan="team")
        create_org(s, name="globex", plan="team")
    acme, globex = workspace.for_org("acme"), workspace.for_org("globex")
    _ingest(acme, tmp_path, "people")
    _ingest(globex, tmp_path, "people")
    _ingest(globex, tmp_path, "crm")
    with pytest.raises(NotFound) as err:
        erase(acme.datasets, [("email", SUBJECT)], datasets=["crm"])
    assert err.value.code == "dataset_not_found"
    erase(acme.datasets, [("email", SUBJECT)])
    assert SUBJECT not in set(acme.datasets.get("people").to_pandas()["email"])
    assert globex.datasets.get("people").version == 1
    assert SUBJECT in set(globex.datasets.get("people").to_pandas()["email"])


def test_erase_removes_log_feedback_and_tasks(workspace: Workspace, tmp_path: Path) -> None:
    from baryon.core.scope import OPERATOR_ORG_ID

    now = workspace.clock.now()
    with workspace.db.session(workspace.scope) as s:
        for i, text in enumerate([f"mail me at {SUBJECT}", "nothing here"]):
            log_prediction(
                s, prediction_id=f"pred_{i}", org_id=OPERATOR_ORG_ID, key_id="key_x",
                model_name="m", model_version=1, variant="champion", request_id=None,
                input_mode="full", inputs=[{"text": text}], outputs=["a"], flags=[],
                latency_ms=1.0, at=now,
            )  # fmt: skip
        create_queue(
            s, org_id=OPERATOR_ORG_ID, name="q", model_name="m", classes=["a", "b"],
            actor="t", clock=workspace.clock,
        )  # fmt: skip
        queue = s.scalars(select(LabelingQueueRow)).one()
        for text in (f"from {SUBJECT}", "other"):
            enqueue(s, queue, input={"text": text}, source="import", reason="import",
                    clock=workspace.clock)  # fmt: skip
    result = erase(workspace.datasets, [("email", SUBJECT)])
    assert (result.predictions_removed, result.tasks_removed) == (1, 1)
    with workspace.db.session(workspace.scope) as s:
        assert [r.id for r in s.scalars(select(PredictionRow))] == ["pred_1"]
        assert [r.input["text"] for r in s.scalars(select(LabelingTaskRow))] == ["other"]


@pytest.mark.parametrize("pairs", [[], ["email"], ["=x"], ["email="]])
def test_parse_matches_bad_input_invalid_match(pairs: list[str]) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_matches(pairs)
    assert err.value.code == "invalid_match"


def test_erase_sensitive_dataset_forgets_keys(workspace: Workspace, tmp_path: Path) -> None:
    v1 = _ingest(workspace, tmp_path, sensitive=True)
    assert v1.encrypted
    erase(workspace.datasets, [("id", "1")])
    v2 = workspace.datasets.get("people")
    assert v2.encrypted
    assert sorted(v2.to_pandas()["id"]) == [2, 3, 4, 5, 6]
    from baryon.data.tables import ArtifactKeyRow

    with workspace.db.session() as s:
        assert s.get(ArtifactKeyRow, v1.data_digest) is None
        assert s.get(ArtifactKeyRow, v2.data_digest) is not None


def test_erase_every_row_leaves_a_tombstone_as_latest(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "one.csv"
    path.write_text(f"id,email\n1,{SUBJECT}\n2,{SUBJECT}\n")
    workspace.datasets.ingest(path, name="one")
    [done] = erase(workspace.datasets, [("email", SUBJECT)]).datasets
    assert done["new_version"] is None
    latest = workspace.datasets.get("one")
    assert latest.erased_at is not None
    with pytest.raises(Gone):
        latest.to_pandas()
    assert SUBJECT.encode() not in _stored(workspace)
