"""The whole data flywheel through the Python SDK against a real ``baryon serve``.

predict → low confidence → task (with the model's suggestion) → two annotators
(overlap 2) → consensus (and one admin review of a tie) → flywheel cycle (a job of the
server's in-process worker) → new dataset version → gate → promoted; a second cycle
with nothing new changes nothing; another organization sees none of it.

The data make the right answers known. Three intents, each with its own words: the
training rows use ``alpha``… (``a``), ``bravo``… (``b``), ``charlie``… (``c``); the
test split (the newest rows of a ``time`` split) also holds sentences made of words
the champion never saw (``kilo``…, ``mike``…, ``oscar``…). On those the champion's
raw logistic probabilities stay near 1/3 — below the default labeling threshold of
0.5 — and it gets about half of them wrong. Annotators label *other* sentences of the
new words; a candidate trained with those labels gets the test split's new-word rows
right, so the gate promotes it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from serverkit import free_port, start_server, stop_server, wait_ready

from baryon.client import Client
from baryon.commerce.orgs import create_org
from baryon.commerce.plans import create_plan
from baryon.core.config import Settings
from baryon.core.errors import NotFound
from baryon.core.scope import SYSTEM
from baryon.tenancy.keys import create_key
from baryon.workspace import Workspace

pytestmark = [pytest.mark.server]

MODEL = "intent"
DATASET = "intents"
#: Words of each intent in the training rows, and words the champion never saw.
KNOWN = {
    "a": ["alpha", "apple", "anchor", "amber"],
    "b": ["bravo", "banana", "bucket", "button"],
    "c": ["charlie", "cherry", "candle", "copper"],
}
NEW = {
    "a": ["kilo", "kettle", "kiwi", "koala"],
    "b": ["mike", "mango", "marble", "muffin"],
    "c": ["oscar", "olive", "orbit", "otter"],
}
#: Raw probabilities of a multinomial logistic regression: no calibration to sharpen
#: them, so an input of unseen words scores near the class prior.
RECIPE = {"model": "logistic", "calibration": None, "cv": 3}
#: Seconds any one wait (a run, a cycle) may take at most.
WAIT = 240.0


def _pairs(words: list[str]) -> list[str]:
    """The 12 two-word sentences of four words (ordered pairs)."""
    return [" ".join(p) for p in itertools.permutations(words, 2)]


def _triples(words: list[str]) -> list[str]:
    return [" ".join(p) for p in itertools.permutations(words, 3)]


def intent_frame() -> pd.DataFrame:
    """36 training rows (12 pairs of known words per intent), then 18 test rows (the
    newest): per intent 2 triples of known words and 4 pairs of new words."""
    rows = [(text, c) for c in "abc" for text in _pairs(KNOWN[c])]
    rows += [(text, c) for c in "abc" for text in _triples(KNOWN[c])[:2]]
    rows += [(text, c) for c in "abc" for text in _pairs(NEW[c])[8:]]
    frame = pd.DataFrame(rows, columns=["text", "intent"])
    start = pd.Timestamp("2025-01-01", tz="UTC")
    frame["ts"] = [start + pd.Timedelta(minutes=i) for i in range(len(frame))]
    return frame


def unsure_inputs() -> dict[str, str]:
    """Text → true intent of what the test predicts: 8 new-word pairs per intent (not
    test rows)."""
    return {text: c for c in "abc" for text in _pairs(NEW[c])[:8]}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """A real server with two organizations, ``acme`` and ``globex``, and each one's
    admin key: ``(base URL, {org: secret})``. Stopped after the test."""
    home = tmp_path / "home"
    with Workspace.open(Settings(home=home)) as ws, ws.db.session(SYSTEM) as s:
        create_plan(s, name="team", quota=100_000, rate_per_minute=100_000)
        secrets = {}
        for name in ("acme", "globex"):
            org = create_org(s, name=name, plan="team")
            secrets[name] = create_key(s, org_id=org.id, role="admin").secret
    port = free_port()
    proc = start_server(home, port, env={"BARYON_JOB_POLL_INTERVAL": "0.2"})
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, proc)
        yield base, secrets
    finally:
        stop_server(proc)


def test_flywheel_loop_unsure_predictions_two_annotators_cycle_promotes_a_better_model(
    server: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    base, secrets = server
    csv = tmp_path / "intents.csv"
    intent_frame().to_csv(csv, index=False)
    with Client(base, secrets["acme"], timeout=WAIT) as admin:
        # ---------------------------------------------------------------- champion
        admin.upload_dataset(
            csv, DATASET, roles={"text": "text", "intent": "label", "ts": "timestamp"}
        )
        split = admin.split_dataset(DATASET, strategy="time", test_size=1 / 3, validation_size=0.0)
        assert split.split is not None
        assert split.split.counts == {"train": 36, "validation": 0, "test": 18}
        submitted = admin.train(
            "text_classifier", f"{DATASET}:{split.version}", target="intent", params=RECIPE,
            seed=0, register=MODEL,
        )  # fmt: skip
        run = admin.wait_for_run(submitted.run_id, timeout=WAIT, poll=0.2)
        assert run.status == "succeeded", run.error
        assert run.dataset_version_id == split.id
        # the first version of a name is its champion already: promoting it is a no-op
        move = admin.promote(MODEL, 1, reason="first model")
        assert (move.to_version, move.changed) == (1, False)
        assert admin.model(MODEL).aliases["champion"] == 1
        before_accuracy = admin.model(MODEL).versions[0].metrics["accuracy"]
        assert before_accuracy is not None
        assert before_accuracy < 0.9

        # ------------------------------------------- queue, then unsure predictions
        queue = admin.create_queue(MODEL, MODEL, overlap=2, instructions="The main intent.")
        assert (queue.classes, queue.overlap) == (["a", "b", "c"], 2)
        truth = unsure_inputs()
        test_row = intent_frame()["text"].iloc[-1]  # a test-split input, unsure too
        truth[test_row] = intent_frame()["intent"].iloc[-1]
        sure = "alpha apple amber"
        predicted = admin.predict(MODEL, [*truth, sure])
        assert predicted.model_version == 1
        outputs = dict(zip([*truth, sure], predicted.outputs, strict=True))
        assert outputs[sure]["label"] == "a"
        assert outputs[sure]["probabilities"]["a"] >= 0.5
        tasks = admin.tasks(MODEL, limit=100)
        assert sorted(t.input["text"] for t in tasks) == sorted(truth)  # not ``sure``
        for task in tasks:
            out = outputs[task.input["text"]]
            assert (task.source, task.reason, task.status) == (
                "prediction",
                "low_confidence",
                "open",
            )
            assert task.suggested_label == out["label"]
            assert task.confidence is not None
            assert task.confidence == pytest.approx(out["probabilities"][out["label"]])
            assert task.confidence < 0.5
            assert task.prediction_id == predicted.prediction_id
            assert task.model_version == 1

        # ------------------------------------------ two annotators, overlap 2
        keys = []
        for who in ("ann1", "ann2"):
            user = admin.create_user(f"{who}@acme.test", "annotator")
            keys.append(admin.create_key("annotator", name=who, user_id=user.id).secret)
        tie = sorted(truth)[0]  # the second annotator gets this one wrong: a tie
        for n, secret in enumerate(keys):
            with Client(base, secret) as annotator:
                assert annotator.me().role == "annotator"
                labelled = 0
                while (claim := annotator.claim(MODEL)) is not None:
                    assert claim.classes == ["a", "b", "c"]
                    assert claim.instructions == "The main intent."
                    assert claim.task.suggested_label == outputs[claim.task.input["text"]]["label"]
                    text = claim.task.input["text"]
                    answer = truth[text]
                    if n == 1 and text == tie:
                        answer = next(c for c in "abc" if c != answer)
                    made = annotator.submit_label(claim.task.id, answer, seconds=1.5)
                    assert (made.annotation.label, made.annotation.seconds) == (answer, 1.5)
                    labelled += 1
                assert labelled == len(truth)
        progress = admin.queue(MODEL)
        assert progress.tasks == {
            "open": 0,
            "done": len(truth) - 1,
            "review": 1,
            "skipped": 0,
            "total": len(truth),
        }
        assert sorted(a.submitted for a in progress.annotators) == [len(truth), len(truth)]
        (in_review,) = admin.tasks(MODEL, status="review")
        assert in_review.input["text"] == tie
        assert admin.review_task(in_review.id, truth[tie]).resolution == "review"
        done = admin.tasks(MODEL, status="done", limit=100)
        assert {t.input["text"]: t.label for t in done} == truth
        assert {(t.resolution, t.agreement) for t in done if t.id != in_review.id} == {
            ("majority", 1.0)
        }

        # ------------------------------------------------------------ the flywheel
        versions_before = admin.dataset_versions(DATASET)
        cycle = admin.wait_for_cycle(admin.run_flywheel(MODEL).cycle_id, timeout=WAIT, poll=0.2)
        report = cycle.report
        assert cycle.status == "promoted", report
        assert report["decision"] == "promoted"
        assert report["rows_added"] == {f"queue:{MODEL}": len(truth) - 1}
        assert report["skipped"] == {"in_test_split": 1}  # the labelled test row
        assert report["gate"]["passed"] is True
        assert " beats " in report["message"]
        assert (
            report["metrics"]["candidate"]["accuracy"] > report["metrics"]["champion"]["accuracy"]
        )
        assert (cycle.champion_version, cycle.candidate_version) == (1, 2)
        assert cycle.parent_version_id == split.id

        # the new version: parent + new rows; lineage names the parent and the source
        new = admin.get_dataset(DATASET)
        assert new.id == cycle.dataset_version_id
        assert (new.operation, new.parent_id, new.rows) == ("append", split.id, 54 + len(truth) - 1)
        assert [v.id for v in new.lineage[-2:]] == [split.id, new.id]
        assert new.provenance["parent"] == {"id": split.id, "ref": f"{DATASET}:{split.version}"}
        assert [(s["source"], s["rows"]) for s in new.provenance["sources"]] == [
            (f"queue:{MODEL}", len(truth) - 1)
        ]
        assert new.provenance["sources"][0]["origins"] == {"prediction": len(truth) - 1}
        assert new.split is not None
        assert new.split.counts == {"train": 36 + len(truth) - 1, "validation": 0, "test": 18}

        # the frozen test split: the same rows, in the same order
        frozen = admin.export_dataset(
            DATASET, tmp_path / "v2-test.csv", version=split.version, split="test"
        )
        after = admin.export_dataset(
            DATASET, tmp_path / "new-test.csv", version=new.version, split="test"
        )
        assert pd.read_csv(after).equals(pd.read_csv(frozen))
        assert len(pd.read_csv(frozen)) == 18

        # the gate's decision is the model's history too
        model = admin.model(MODEL)
        assert model.aliases["champion"] == 2
        (promoted,) = [m for m in model.history if m.alias == "champion" and m.to_version == 2]
        assert (promoted.from_version, promoted.forced) == (1, False)
        assert promoted.gate is not None
        assert promoted.gate["passed"] is True
        assert cycle.id in promoted.reason

        # ------------------------------------------------ again, with nothing new
        runs_before = len(admin.runs(limit=100))
        again = admin.wait_for_cycle(admin.run_flywheel(MODEL).cycle_id, timeout=WAIT, poll=0.2)
        assert again.status == "nothing_new"
        assert again.report["decision"] == "nothing_new"
        assert again.report["rows_added"] == {}
        assert (again.dataset_version_id, again.run_id, again.candidate_version) == (None,) * 3
        assert len(admin.dataset_versions(DATASET)) == len(versions_before) + 1
        assert len(admin.runs(limit=100)) == runs_before
        assert admin.model(MODEL).latest_version == 2
        assert admin.model(MODEL).aliases["champion"] == 2

        # the new champion knows the new words
        served = admin.predict(MODEL, ["kiwi kettle", "muffin mango", "otter orbit"])
        assert served.model_version == 2
        assert [o["label"] for o in served.outputs] == ["a", "b", "c"]

    # ---------------------------------------------- another organization: 404
    with Client(base, secrets["globex"]) as other:
        for call, code in (
            (lambda: other.queue(MODEL), "queue_not_found"),
            (lambda: other.tasks(MODEL), "queue_not_found"),
            (lambda: other.claim(MODEL), "queue_not_found"),
            (lambda: other.task(in_review.id), "task_not_found"),
            (lambda: other.submit_label(in_review.id, "a"), "task_not_found"),
            (lambda: other.flywheel_cycle(cycle.id), "cycle_not_found"),
            (lambda: other.run_flywheel(MODEL), "model_not_found"),
        ):
            with pytest.raises(NotFound) as refused:
                call()
            assert refused.value.code == code
        assert other.queues() == []
        assert other.flywheel_cycles() == []
