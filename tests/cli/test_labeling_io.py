"""``labeling agreement|export|import`` on the command line (mounted in the ``labeling`` group)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from baryon.cli.main import app
from baryon.core.clock import FixedClock
from baryon.core.config import Settings
from baryon.core.errors import InvalidInput, NotFound
from baryon.core.ids import new_id
from baryon.core.scope import OPERATOR_ORG_ID, SYSTEM
from baryon.labeling.queue import enqueue, ensure_queue
from baryon.labeling.tables import AnnotationRow
from baryon.workspace import Workspace

# Wikipedia, "Cohen's kappa": 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no → κ = 0.4.
PAIRS = [("pos", "pos")] * 20 + [("pos", "neg")] * 5 + [("neg", "pos")] * 10 + [("neg", "neg")] * 15


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace whose operator organization has queue ``reviews`` (κ = 0.4) and ``copy``."""
    base = tmp_path_factory.mktemp("labeling-cli") / "home"
    clock = FixedClock()
    with Workspace.open(Settings(home=base), clock=clock) as ws, ws.db.session(SYSTEM) as s:
        queues = {
            name: ensure_queue(
                s,
                org_id=OPERATOR_ORG_ID,
                model_name="sentiment",
                classes=["neg", "pos"],
                clock=clock,
                name=name,
            )
            for name in ("reviews", "copy")
        }
        for q in queues.values():
            q.overlap = 2
        queue = queues["reviews"]
        for n, labels in enumerate(PAIRS):
            clock.advance(1)
            task = enqueue(
                s, queue, input={"text": f"review {n}"}, source="prediction",
                reason="low_confidence", clock=clock,
            )  # fmt: skip
            for slot, (who, label) in enumerate(zip(("u_a", "u_b"), labels, strict=True)):
                s.add(
                    AnnotationRow(
                        id=new_id("ann", clock), org_id=OPERATOR_ORG_ID, task_id=task,
                        queue_id=queue.id, slot=slot, annotator=who, status="submitted",
                        label=label, skip_reason=None, seconds=None, claimed_at=clock.now(),
                        submitted_at=clock.now(),
                    )
                )  # fmt: skip
    return base


def test_agreement_json_and_table(home: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["--home", str(home), "labeling", "agreement", "reviews", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["cohen_kappa"]["value"] == pytest.approx(0.4)
    table = runner.invoke(app, ["--home", str(home), "labeling", "agreement", "reviews"])
    assert table.exit_code == 0, table.output
    assert "Cohen's kappa" in table.stdout
    assert "0.400" in table.stdout


def test_export_guesses_the_format_and_writes_the_label_config(home: Path, tmp_path: Path) -> None:
    out, config = tmp_path / "labels.csv", tmp_path / "config.xml"
    result = CliRunner().invoke(
        app,
        [
            "--home",
            str(home),
            "labeling",
            "export",
            "reviews",
            "--out",
            str(out),
            "--label-config",
            str(config),
        ],
    )
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert lines[0].startswith("task_id,text,task_status")
    assert len(lines) == 1 + 100
    choices = ET.fromstring(config.read_text()).find("Choices")
    assert choices is not None
    assert [c.attrib["value"] for c in choices] == ["neg", "pos"]


def test_export_to_stdout_then_import_round_trips(home: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    exported = runner.invoke(app, ["--home", str(home), "labeling", "export", "reviews"])
    assert exported.exit_code == 0, exported.output
    path = tmp_path / "ls.json"
    path.write_bytes(exported.stdout_bytes)
    assert len(json.loads(path.read_text())) == 50
    dry = runner.invoke(
        app, ["--home", str(home), "labeling", "import", "copy", str(path), "--dry-run"]
    )
    assert dry.exit_code == 0, dry.output
    assert "would import 50 task(s) into copy: 50 new" in " ".join(dry.stdout.split())
    done = runner.invoke(
        app, ["--home", str(home), "labeling", "import", "copy", str(path), "--json"]
    )
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["annotations"] == 100
    again = runner.invoke(app, ["--home", str(home), "labeling", "agreement", "copy", "--json"])
    assert json.loads(again.stdout)["cohen_kappa"]["value"] == pytest.approx(0.4)


def test_import_bad_file_lists_bad_tasks_and_fails(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"input": {"text": "x"}, "label": "maybe"}\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["--home", str(home), "labeling", "import", "copy", str(path)])
    assert isinstance(result.exception, InvalidInput)
    assert result.exception.code == "import_rejected"
    assert "'maybe' is not one of the queue's classes" in " ".join(result.stderr.split())


@pytest.mark.parametrize(
    ("args", "error", "code"),
    [
        (["import", "copy", "labels.txt"], InvalidInput, "unknown_format"),
        (["import", "copy", "missing.csv"], InvalidInput, "file_not_found"),
        (["agreement", "nope"], NotFound, "queue_not_found"),
    ],
)
def test_labeling_io_errors_are_named(
    home: Path, args: list[str], error: type[Exception], code: str
) -> None:
    result = CliRunner().invoke(app, ["--home", str(home), "labeling", *args])
    assert isinstance(result.exception, error)
    assert getattr(result.exception, "code", None) == code


def test_import_dry_run_with_bad_tasks_says_nothing_would_be_imported_and_fails(
    home: Path, tmp_path: Path
) -> None:
    # QA 13 #12: it exited 0 and said "would import 2 task(s) … 1 new" for a file an
    # import refuses whole
    path = tmp_path / "half.jsonl"
    path.write_text(
        '{"input": {"text": "x"}, "label": "pos"}\n{"input": {"text": "y"}, "label": "maybe"}\n',
        encoding="utf-8",
    )
    args = ["--home", str(home), "labeling", "import", "copy", str(path), "--dry-run"]
    result = CliRunner().invoke(app, args)
    assert isinstance(result.exception, InvalidInput)
    assert result.exception.code == "import_rejected"
    said = " ".join(result.stdout.split())
    assert "would import nothing into copy: 1 of 2 task(s) are bad" in said
    assert "the 1 good task(s) alone would give: 1 new" in said
    assert "'maybe' is not one of the queue's classes" in " ".join(result.stderr.split())
    as_json = CliRunner().invoke(app, [*args, "--json"])
    assert isinstance(as_json.exception, InvalidInput)
    report = json.loads(as_json.stdout)
    assert (report["tasks"], report["bad"], report["created"], report["dry_run"]) == (
        2, 1, 1, True,
    )  # fmt: skip
