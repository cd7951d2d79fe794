"""``baryon demo``: the whole flywheel on the bundled real data, in one command.

:class:`Demo` is a workflow with small steps, each usable alone::

    solutions → train (or reuse) every solution through the public layers
    tenant    → the ``demo`` organization on plan ``pro`` and its API key
    feed      → replay held-out news items through the sentiment monitor
    flywheel  → one flywheel cycle of ``support-intent`` on its hand-off queue, labelled
                by a SIMULATED annotator (the held-out data's own labels)
    results   → one table: each solution's metric, its baseline, the published reference

Running it again on the same home changes nothing that exists: dataset versions are
content-addressed, the pipelines reuse model versions trained on the same data with the
same parameters, the organization is found by name, the key is kept in
``<home>/demo_api_key`` (file mode 0600) and reused while it is valid, feed items
already stored are not counted twice, and the flywheel step is skipped once its cycle
exists (its report is shown again).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from baryon.core.errors import ModelNotReady, NotFound
from baryon.core.keyfile import write_secret_file
from baryon.core.scope import Scope
from baryon.workspace import Workspace

__all__ = [
    "DEMO_ORG",
    "DEMO_PLAN",
    "FLYWHEEL_QUESTIONS",
    "SUPPORT_MODEL",
    "Demo",
    "DemoResult",
    "DemoRow",
    "SolutionStep",
]

DEMO_ORG = "demo"
DEMO_PLAN = "pro"
KEY_FILE = "demo_api_key"
#: The model whose flywheel the demo turns once.
SUPPORT_MODEL = "support-intent"
#: Held-out questions the demo asks the support assistant before its flywheel cycle.
FLYWHEEL_QUESTIONS = 500

#: ``progress(solution, message, fraction_done)``.
Progress = Callable[[str, str, float], None]

#: Banking77 with a fine-tuned BERT: Casanueva et al., "Efficient Intent Detection with
#: Dual Sentence Encoders", NLP4ConvAI @ ACL 2020, Table 2 (full training data).
BANKING77_BERT_ACCURACY = 0.937


@dataclass(frozen=True)
class DemoRow:
    """One line of the results table.

    Attributes
    ----------
    solution, model : str
        Solution name and registered model name.
    metric : str
        Metric name (test split).
    value : float
        The champion's value on the held-out test split.
    baseline : str
        What the baseline is.
    baseline_value : float
        The baseline's value on the same split.
    reference : str
        A published reference figure, or ``""``.
    target : str
        The quality bar from the solutions issue.
    met : bool
        Whether ``value`` meets ``target``.
    """

    solution: str
    model: str
    metric: str
    value: float
    baseline: str
    baseline_value: float
    reference: str
    target: str
    met: bool

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return dict(self.__dict__)


@dataclass
class DemoResult:
    """What :meth:`Demo.run` did."""

    rows: list[DemoRow] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    org: str = DEMO_ORG
    api_key: str | None = None
    api_key_new: bool = False
    api_key_file: str = ""
    feed: dict[str, Any] = field(default_factory=dict)
    flywheel: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (without the key's secret)."""
        return {
            "rows": [r.to_dict() for r in self.rows],
            "details": self.details,
            "org": self.org,
            "api_key_file": self.api_key_file,
            "feed": self.feed,
            "flywheel": self.flywheel,
            "seconds": self.seconds,
        }


@dataclass(frozen=True)
class SolutionStep:
    """A solution the demo runs: its name and how to run it on a workspace."""

    name: str
    run: Callable[[Workspace, Callable[[str, float], None]], tuple[list[DemoRow], dict[str, Any]]]


def _f(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _support(
    ws: Workspace, progress: Callable[[str, float], None]
) -> tuple[list[DemoRow], dict[str, Any]]:
    from baryon.solutions.support.pipeline import SupportPipeline

    result = SupportPipeline(ws).run(progress=progress)
    data = result.to_dict()
    metrics = data.get("metrics", {})
    baseline = data.get("baseline", {})
    acc = _f(metrics.get("accuracy"))
    return [
        DemoRow(
            solution="support",
            model="support-intent",
            metric="accuracy (Banking77, 77 intents)",
            value=acc,
            baseline="majority class",
            baseline_value=_f(baseline.get("majority_accuracy", baseline.get("accuracy"))),
            reference=f"{BANKING77_BERT_ACCURACY:.3f} (BERT, Casanueva et al. 2020)",
            target="≥ 0.91",
            met=acc >= 0.91,
        )
    ], data


def _sentiment(
    ws: Workspace, progress: Callable[[str, float], None]
) -> tuple[list[DemoRow], dict[str, Any]]:
    from baryon.solutions.sentiment.pipeline import SentimentPipeline

    result = SentimentPipeline(ws).run(progress=progress)
    rows = []
    for outcome, label, bar in (
        (result.sentiment, "accuracy (3 classes)", 0.85),
        (result.topic, "accuracy (20 topics)", 0.86),
    ):
        acc = _f(outcome.metrics.get("accuracy"))
        rows.append(
            DemoRow(
                solution="sentiment",
                model=outcome.model,
                metric=label,
                value=acc,
                baseline="majority class",
                baseline_value=_f(outcome.baseline.get("majority_accuracy")),
                reference="",
                target=f"≥ {bar:.2f}",
                met=acc >= bar,
            )
        )
    return rows, result.to_dict()


def _recommender(
    ws: Workspace, progress: Callable[[str, float], None]
) -> tuple[list[DemoRow], dict[str, Any]]:
    from baryon.solutions.recommender.pipeline import RecommenderPipeline

    result = RecommenderPipeline(ws).run(progress=progress)
    value = _f(result.metrics.get("ndcg_at_10"))
    base = _f(result.baseline.get("ndcg_at_10"))
    return [
        DemoRow(
            solution="recommender",
            model=f"recommender ({result.champion_kind})",
            metric="NDCG@10 (per-user split)",
            value=value,
            baseline="popularity",
            baseline_value=base,
            reference="",
            target="≥ 2 × popularity",
            met=bool(value >= 2 * base),
        )
    ], result.to_dict()


def _tabular(
    ws: Workspace, progress: Callable[[str, float], None]
) -> tuple[list[DemoRow], dict[str, Any]]:
    from baryon.solutions.tabular.pipeline import TabularPipeline

    result = TabularPipeline(ws).run(progress=progress)
    data = result.to_dict()
    metrics = data.get("metrics", {})
    baseline = data.get("baseline", {})
    r2 = _f(metrics.get("r2"))
    return [
        DemoRow(
            solution="tabular",
            model=f"concrete-strength ({data.get('best', '?')})",
            metric="R² (compressive strength, MPa)",
            value=r2,
            baseline="training mean",
            baseline_value=_f(baseline.get("r2")),
            reference="",
            target="≥ 0.90",
            met=r2 >= 0.90,
        )
    ], data


#: The solutions in the order the demo runs them.
SOLUTIONS: tuple[SolutionStep, ...] = (
    SolutionStep("tabular", _tabular),
    SolutionStep("support", _support),
    SolutionStep("sentiment", _sentiment),
    SolutionStep("recommender", _recommender),
)


class Demo:
    """The demo workflow on one workspace.

    Parameters
    ----------
    workspace : Workspace
        An open workspace (fresh or from an earlier demo run).
    progress : callable, optional
        ``progress(solution, message, fraction)`` for a progress display.
    """

    def __init__(self, workspace: Workspace, *, progress: Progress | None = None) -> None:
        self.ws = workspace
        self.progress = progress

    def _report(self, solution: str) -> Callable[[str, float], None]:
        def report(message: str, fraction: float) -> None:
            if self.progress is not None:
                self.progress(solution, message, fraction)

        return report

    def solutions(self) -> tuple[list[DemoRow], dict[str, Any]]:
        """Train (or reuse) every solution; return the results rows and each one's details."""
        rows: list[DemoRow] = []
        details: dict[str, Any] = {}
        for step in SOLUTIONS:
            step_rows, details[step.name] = step.run(self.ws, self._report(step.name))
            rows.extend(step_rows)
            self._report(step.name)("done", 1.0)
        from baryon.solutions.sharing import share_solution_models

        share_solution_models(self.ws, actor="demo")
        return rows, details

    def tenant(self) -> tuple[str, bool, Path]:
        """Make sure the ``demo`` org (plan ``pro``) and its key exist.

        Returns
        -------
        (secret, new, path)
            The API key, whether it was created now, and the 0600 file keeping it.
        """
        from baryon.commerce.orgs import create_org, get_org

        key_path = self.ws.settings.home / KEY_FILE
        with self.ws.db.session() as session:
            try:
                org = get_org(session, DEMO_ORG)
            except NotFound:
                org = create_org(
                    session, name=DEMO_ORG, plan=DEMO_PLAN, actor="demo", clock=self.ws.clock
                )
        if key_path.is_file():
            secret = key_path.read_text().strip()
            if self._key_is_valid(secret, org.id):
                return secret, False, key_path
            # revoked, expired or from another workspace: make a new one below
        from baryon.tenancy.keys import create_key

        with self.ws.db.session() as session:
            created = create_key(
                session,
                org_id=org.id,
                role="admin",
                name="demo",
                actor="demo",
                clock=self.ws.clock,
            )
            # Inside the transaction: if the file cannot be written, no key is kept either.
            write_secret_file(key_path, created.secret)
        return created.secret, True, key_path

    def _key_is_valid(self, secret: str, org_id: str) -> bool:
        from sqlalchemy import select

        from baryon.tenancy.keys import ApiKey, hash_secret
        from baryon.tenancy.tables import ApiKeyRow

        with self.ws.db.session() as session:
            row = session.scalars(
                select(ApiKeyRow).where(ApiKeyRow.secret_sha256 == hash_secret(secret))
            ).first()
            return (
                row is not None
                and row.org_id == org_id
                and ApiKey.from_row(row).status(self.ws.clock.now()) == "active"
            )

    def feed(self, n: int = 600) -> dict[str, Any]:
        """Replay ``n`` held-out news items (synthetic arrival times) into the demo org.

        The items are the sentiment test split, shuffled with a fixed seed, one a minute:
        the texts are real, the times are not (the source has no dates). A shuffled feed
        has no real mood swings, so the rules usually stay quiet; the source file's
        label order would make them fire, and that would be an artefact, not news.

        Returns ``{"items", "accepted", "duplicates", "alerts", "interval_seconds"}``.
        """
        from baryon.commerce.orgs import get_org
        from baryon.core.clock import FixedClock
        from baryon.solutions.sentiment.pipeline import SentimentPipeline
        from baryon.solutions.sentiment.service import (
            SentimentScorer,
            ingest_items,
            parse_item,
        )

        interval = 60.0
        feed = SentimentPipeline(self.ws).held_out_feed(n, interval_seconds=interval, shuffle=True)
        items = [parse_item(obj) for obj in feed]
        scorer = SentimentScorer.from_workspace(self.ws)
        analyses = dict(
            zip([i.id for i in items], scorer.analyze([i.text for i in items]), strict=True)
        )
        # Arrive in order, ten at a time, with the rules' clock at the batch's last item:
        # the monitor sees the feed as it would have unfolded.
        accepted = duplicates = alerts = 0
        feed_clock = FixedClock(items[0].published_at if items else self.ws.clock.now())
        with self.ws.db.session() as session:
            org_id = get_org(session, DEMO_ORG).id
        for start in range(0, len(items), 10):
            batch = items[start : start + 10]
            feed_clock.advance((batch[-1].published_at - feed_clock.now()).total_seconds())
            with self.ws.db.session(Scope.own(org_id)) as session:
                result = ingest_items(
                    session,
                    org_id,
                    batch,
                    analyses,
                    sentiment_version=scorer.sentiment.version,
                    topic_version=scorer.topic.version if scorer.topic else None,
                    clock=feed_clock,
                )
            accepted += len(result.accepted)
            duplicates += len(result.duplicates)
            alerts += len(result.alerts)
        return {
            "items": len(items),
            "accepted": accepted,
            "duplicates": duplicates,
            "alerts": alerts,
            "interval_seconds": interval,
        }

    def flywheel(
        self, model: str = SUPPORT_MODEL, *, questions: int | None = FLYWHEEL_QUESTIONS
    ) -> dict[str, Any]:
        """One flywheel cycle of ``model`` on its hand-off queue, with a SIMULATED annotator.

        1. ``questions`` questions of the champion's **validation** split (held out from
           its training; a seeded sample, all of them when None) are asked of the
           support assistant, as the operator organization that owns the model: the
           ones it is unsure of are handed off and queued for labeling, as in
           production;
        2. a simulated annotator labels each queued question with the validation
           split's own intent (``resolution`` ``import``): no person labels anything;
        3. :func:`~baryon.flywheel.cycle.run_cycle` adds them to the champion's dataset
           (train split; the test split stays frozen), retrains with the champion's
           recipe and runs the gate.

        Once the demo's cycle exists the step writes nothing and returns that cycle
        again (``reused`` true). Without a champion of ``model`` it returns
        ``{"skipped": reason}``.

        Returns
        -------
        dict
            ``model``, ``questions``, ``handed_off``, ``labelled``, ``cycle`` (the
            cycle's :meth:`~baryon.flywheel.records.Cycle.to_dict`), ``reused``,
            ``simulated_annotator`` (true) and ``seconds``.
        """
        from baryon.flywheel.cycle import run_cycle
        from baryon.flywheel.records import cycle_row, list_cycles

        start = time.perf_counter()
        done = [c for c in list_cycles(self.ws, model=model) if c.report.get("trigger") == "demo"]
        if done:
            return {**done[0].report.get("demo", {}), "cycle": done[0].to_dict(), "reused": True}
        try:
            champion = self.ws.registry.get_version(model, alias="champion")
        except (NotFound, ModelNotReady):
            return {"skipped": f"no {model} champion"}
        asked = self._simulated_labels(model, champion, questions)
        cycle = run_cycle(self.ws, model, actor="demo", trigger="demo")
        facts = {
            "model": model,
            **asked,
            "simulated_annotator": True,
            "seconds": round(time.perf_counter() - start, 3),
        }
        with self.ws.db.session(self.ws.scope) as session:  # kept with the cycle for reruns
            row = cycle_row(session, cycle.id)
            row.report = {**row.report, "demo": facts}
        return {**facts, "cycle": cycle.to_dict(), "reused": False}

    def _simulated_labels(self, model: str, champion: Any, questions: int | None) -> dict[str, Any]:
        """Ask held-out questions; label the handed-off ones with their true intent."""
        import unicodedata

        import numpy as np
        from sqlalchemy import select

        from baryon.labeling.tables import LabelingQueueRow, LabelingTaskRow
        from baryon.predictions.log import hash_input
        from baryon.solutions.support.service import SupportService

        dataset = self.ws.datasets.get_by_id(champion.dataset_version_id)
        text = next(c for c, r in champion.column_roles.items() if r == "text")
        held_out = dataset.to_pandas(split="validation", columns=[text, champion.target])
        if questions is not None and questions < len(held_out):
            rng = np.random.default_rng(0)
            picked = np.sort(rng.choice(len(held_out), size=questions, replace=False))
            held_out = held_out.iloc[picked]
        service = SupportService(self.ws, model_name=model)
        truth: dict[str, Any] = {}
        handed_off = 0
        for question, intent in zip(held_out[text], held_out[champion.target], strict=True):
            answer = service.answer(str(question))
            if answer["handoff"]:
                handed_off += 1
                asked = unicodedata.normalize("NFC", str(question)).strip()  # as the service
                truth[hash_input({"text": asked})] = intent
        labelled = 0
        now = self.ws.clock.now()
        with self.ws.db.session(self.ws.scope) as session:
            tasks = session.scalars(
                select(LabelingTaskRow)
                .join(LabelingQueueRow, LabelingQueueRow.id == LabelingTaskRow.queue_id)
                .where(
                    LabelingQueueRow.model_name == model,
                    LabelingTaskRow.status == "open",
                    LabelingTaskRow.input_hash.in_(list(truth)),
                )
            )
            for task in tasks:
                task.status, task.label = "done", str(truth[task.input_hash])
                task.resolution, task.done_at, task.updated_at = "import", now, now
                labelled += 1
        return {"questions": len(held_out), "handed_off": handed_off, "labelled": labelled}

    def run(self) -> DemoResult:
        """Run every step; the result holds the table, the key and the timings."""
        start = time.perf_counter()
        rows, details = self.solutions()
        secret, new, path = self.tenant()
        feed = self.feed()
        self._report("flywheel")("one cycle of support-intent (simulated annotator)", 0.0)
        flywheel = self.flywheel()
        self._report("flywheel")("done", 1.0)
        return DemoResult(
            rows=rows,
            details=details,
            api_key=secret,
            api_key_new=new,
            api_key_file=str(path),
            feed=feed,
            flywheel=flywheel,
            seconds=time.perf_counter() - start,
        )


def results_markdown(rows: list[DemoRow], seconds: float | None = None) -> str:
    """Render the results table as markdown (for the README; generated, not typed)."""
    lines = [
        "| solution | model | metric (held-out test) | Baryon | baseline | baseline value "
        "| published reference | target | met |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.solution} | {r.model} | {r.metric} | {r.value:.3f} | {r.baseline} "
            f"| {r.baseline_value:.3f} | {r.reference or '—'} | {r.target} "
            f"| {'yes' if r.met else 'no'} |"
        )
    if seconds is not None:
        lines.append("")
        lines.append(f"Demo run time: {seconds:.0f} s.")
    return "\n".join(lines) + "\n"
