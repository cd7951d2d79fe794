"""Federated runs: one model trained across data silos whose rows never move.

:class:`FederatedTrainer` has the trainer's small steps::

    resolve  → FederatedSpec   licence, kind, strategy, rounds, DP, silos found (errors: no run)
    start    → Run             a tracked run (queued for a job, or running now)
    execute  → Run             Flower rounds on loopback, then record, register

A **silo** is a dataset version (``NAME``, ``NAME:N``, ``OWNER/NAME:N``) that the
caller's organization owns or was granted; each is served by its own Flower
SuperNode process, which reads only that silo's rows through the silo owner's view of
the workspace (:mod:`baryon.federated._flower_app`). The server side receives only
parameter arrays and numeric metrics.

Each round is a tracked step: the run's ``history`` holds the global test metrics
(``loss``, ``accuracy`` or ``r2``/``mse``, pooled over every silo's held-out rows by
their counts) and each silo's (``silo_<i>_<metric>``). The final model is stored and
registered like any other (a first version becomes ``champion``, later ones
``challenger``: they reach ``champion`` only through the gate); the run's params and
the registered version's extra record ``federated: true``, the silos and the strategy.

The coordinator reads one thing from the silos itself: the distinct values of the
label column of a text classifier's silos, so that every silo numbers the classes the
same way (the class vocabulary is agreed up front).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from baryon.core.errors import BaryonError, InvalidInput, NotFound
from baryon.core.jsonvalues import dumps, to_jsonable
from baryon.core.refs import check_name
from baryon.federated._learners import FEDERATED_KINDS

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from baryon.training.runs import Run
    from baryon.workspace import Workspace

__all__ = ["STRATEGIES", "FederatedSpec", "FederatedTrainer", "Silo"]

#: Flower strategies a run may use.
STRATEGIES = ("fedavg", "fedprox", "fedmedian", "fedtrimmedavg")
#: δ at which the privacy budget ε is reported.
DP_DELTA = 1e-5
_MAX_ROUNDS = 1000
#: Hyper-parameters a federated run takes: name → (kind or None for any, low, high).
_PARAMS: dict[str, tuple[str | None, float, float]] = {
    "learning_rate": (None, 1e-9, 1e6),
    "local_epochs": (None, 1, 1000),
    "batch_size": ("hashed_text_classifier", 1, 1e6),
    "alpha": ("hashed_text_classifier", 0, 1e3),
    "n_features": ("hashed_text_classifier", 16, 2**20),
    "proximal_mu": (None, 0, 1e3),
    "trim_beta": (None, 0, 0.49),
}
_INTEGRAL = frozenset({"local_epochs", "batch_size", "n_features"})


@dataclass(frozen=True)
class Silo:
    """One silo: a dataset version and the organization that owns it."""

    ref: str
    org_id: str
    version_id: str
    name: str
    version: int


@dataclass(frozen=True)
class FederatedSpec:
    """A checked federated run (from :meth:`FederatedTrainer.resolve`)."""

    model: str
    kind: str
    silos: tuple[Silo, ...]
    rounds: int
    strategy: str
    params: dict[str, Any] = field(default_factory=dict)
    seed: int = 42
    dp_clip: float | None = None
    dp_noise: float | None = None
    target: str | None = None
    feature_columns: tuple[str, ...] = ()
    classes: tuple[str, ...] = ()

    @property
    def n_features(self) -> int:
        """Width of the parameter space (hashed columns, or tabular features)."""
        if self.kind == "hashed_text_classifier":
            return int(self.params.get("n_features", 2**13))
        return len(self.feature_columns)

    def facts(self) -> dict[str, Any]:
        """What the run's params and the registered version record about federation."""
        facts: dict[str, Any] = {
            "federated": True,
            "silos": [s.ref for s in self.silos],
            "strategy": self.strategy,
            "rounds": self.rounds,
        }
        if self.dp_clip is not None:
            facts["dp"] = {"clip": self.dp_clip, "noise": self.dp_noise, "delta": DP_DELTA}
        return facts


def _number(name: str, value: Any, low: float, high: float, *, integral: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise InvalidInput(
            f"{name} must be a number from {low:g} to {high:g}, got {value!r}",
            code="invalid_param",
            details={"param": name},
        )
    if integral and value != int(value):
        raise InvalidInput(f"{name} must be a whole number, got {value!r}", code="invalid_param")
    return float(value)


class FederatedTrainer:
    """Train one model across silos with Flower, as a tracked, registered run.

    Parameters
    ----------
    workspace : Workspace
        The caller organization's view: it owns the run and the model.
    actor : str
        Recorded as the registering actor.
    timeout : float
        Seconds a run's Flower processes may take before it fails.
    """

    def __init__(self, workspace: Workspace, *, actor: str = "system", timeout: float = 1800.0):
        self.workspace = workspace
        self.actor = actor
        self.timeout = timeout

    # ------------------------------------------------------------------ resolve
    def resolve(
        self,
        model: str,
        kind: str,
        silos: list[str],
        *,
        rounds: int = 5,
        strategy: str = "fedavg",
        params: dict[str, Any] | None = None,
        seed: int = 42,
        dp_clip: float | None = None,
        dp_noise: float | None = None,
        target: str | None = None,
    ) -> FederatedSpec:
        """Check everything about a federated run; nothing is written.

        Parameters
        ----------
        model : str
            Name to register the model under.
        kind : str
            ``linear_regression_gd`` or ``hashed_text_classifier``.
        silos : list of str
            Two or more distinct dataset references, each a version with a split.
        rounds : int
            Federated rounds (1 to 1000).
        strategy : str
            One of :data:`STRATEGIES`.
        params : dict, optional
            ``learning_rate``, ``local_epochs``, ``proximal_mu`` (FedProx μ),
            ``trim_beta`` (FedTrimmedAvg β < 0.5); for text also ``batch_size``,
            ``alpha``, ``n_features``.
        seed : int
            Seed of the silos' shuffles.
        dp_clip, dp_noise : float, optional
            Differential privacy: L2 clipping norm of each silo's update and the noise
            multiplier σ (both or neither, both > 0).
        target : str, optional
            Target column (default: chosen by role, as the trainer does).

        Raises
        ------
        LicenceError
            ``licence_feature``: the install's licence does not include ``federated``.
        InvalidInput
            ``kind_not_federated``, ``invalid_strategy``, ``invalid_rounds``,
            ``invalid_param``, ``invalid_dp``, ``invalid_silos`` (fewer than two, or
            repeated), ``silo_mismatch`` (silos with different columns), ``no_split``,
            ``invalid_model_name``, ``invalid_ref``.
        NotFound
            A silo that is neither the caller's nor granted to it.
        """
        self.workspace.require_feature("federated")
        check_name(model, kind="model")
        if kind not in FEDERATED_KINDS:
            raise InvalidInput(
                f"kind {kind!r} cannot be trained federated; use one of "
                + ", ".join(FEDERATED_KINDS),
                code="kind_not_federated",
                details={"kind": kind, "known": list(FEDERATED_KINDS)},
            )
        if strategy not in STRATEGIES:
            raise InvalidInput(
                f"unknown strategy {strategy!r}; use one of {', '.join(STRATEGIES)}",
                code="invalid_strategy",
            )
        if (
            isinstance(rounds, bool)
            or not isinstance(rounds, int)
            or not 1 <= rounds <= _MAX_ROUNDS
        ):
            raise InvalidInput(
                f"rounds must be a whole number from 1 to {_MAX_ROUNDS}, got {rounds!r}",
                code="invalid_rounds",
            )
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise InvalidInput(
                f"seed must be a whole number >= 0, got {seed!r}", code="invalid_seed"
            )
        checked = self._params(kind, params or {})
        rate = checked.get("learning_rate", 8.0 if kind == "hashed_text_classifier" else 0.1)
        if strategy == "fedprox" and rate * checked.get("proximal_mu", 0.1) >= 2:
            raise InvalidInput(
                "learning_rate × proximal_mu must be below 2, or the proximal step diverges",
                code="invalid_param",
                details={"param": "proximal_mu"},
            )
        clip, noise = self._dp(dp_clip, dp_noise)
        found = self._silos(silos)
        target, features, classes = self._columns(kind, found, target)
        return FederatedSpec(
            model=model,
            kind=kind,
            silos=tuple(s for s, _ in found),
            rounds=rounds,
            strategy=strategy,
            params=checked,
            seed=seed,
            dp_clip=clip,
            dp_noise=noise,
            target=target,
            feature_columns=tuple(features),
            classes=tuple(classes),
        )

    @staticmethod
    def _params(kind: str, params: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(params, dict):
            raise InvalidInput("params must be an object", code="invalid_param")
        out: dict[str, Any] = {}
        for name, value in params.items():
            rule = _PARAMS.get(name)
            if rule is None or (rule[0] is not None and rule[0] != kind):
                known = sorted(n for n, r in _PARAMS.items() if r[0] in (None, kind))
                raise InvalidInput(
                    f"unknown parameter {name!r} for a federated {kind}; known: {', '.join(known)}",
                    code="invalid_param",
                    details={"param": name},
                )
            integral = name in _INTEGRAL
            number = _number(name, value, rule[1], rule[2], integral=integral)
            out[name] = int(number) if integral else number
        return out

    @staticmethod
    def _dp(clip: float | None, noise: float | None) -> tuple[float | None, float | None]:
        if clip is None and noise is None:
            return None, None
        if clip is None or noise is None:
            raise InvalidInput("give both --dp-clip and --dp-noise, or neither", code="invalid_dp")
        for name, value in (("dp_clip", clip), ("dp_noise", noise)):
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1e6:
                raise InvalidInput(f"{name} must be a number > 0, got {value!r}", code="invalid_dp")
        return float(clip), float(noise)

    def _silos(self, refs: list[str]) -> list[tuple[Silo, Any]]:
        if isinstance(refs, str) or not isinstance(refs, list | tuple):
            raise InvalidInput("silos must be a list of dataset references", code="invalid_silos")
        if len(refs) < 2:
            raise InvalidInput("a federated run needs at least two silos", code="invalid_silos")
        found = []
        for ref in refs:
            if not isinstance(ref, str):
                raise InvalidInput("a silo is a dataset reference (a string)", code="invalid_silos")
            try:
                version = self.workspace.datasets.get(ref)
            except NotFound as exc:  # name the silo as given (an owner's prefix included)
                raise NotFound(
                    f"silo {ref!r}: no such dataset version, or not granted to this organization",
                    code=exc.code,
                ) from None
            if not version.split:
                raise InvalidInput(
                    f"silo {ref} has no split; split it first (baryon data split ...)",
                    code="no_split",
                )
            silo = Silo(ref, version.org_id, version.id, version.name, version.version)
            found.append((silo, version))
        if len({s.version_id for s, _ in found}) != len(found):
            raise InvalidInput("the silos must be different dataset versions", code="invalid_silos")
        return found

    @staticmethod
    def _columns(
        kind: str, found: list[tuple[Silo, Any]], target: str | None
    ) -> tuple[str | None, list[str], list[str]]:
        first = found[0][1]
        if target is None:
            labels = first.columns_with_role("label")
            target = labels[0] if labels else None
        if target is None and kind == "hashed_text_classifier":
            raise InvalidInput("no column has role label; pass a target", code="missing_role")
        features = [c for c, r in first.roles.items() if r == "feature" and c != target]
        for silo, version in found[1:]:
            if dict(version.schema) != dict(first.schema):
                raise InvalidInput(
                    f"silo {silo.ref} has other columns than {found[0][0].ref}",
                    code="silo_mismatch",
                )
        if kind != "hashed_text_classifier":
            return target, features, []
        classes: set[str] = set()
        for _, version in found:
            column = version.to_pandas(columns=[target])[target]
            classes.update(str(v) for v in column.dropna().unique())
        return target, [], sorted(classes)

    # ------------------------------------------------------------------ workflow
    def start(
        self, spec: FederatedSpec, *, status: str = "running", session: Session | None = None
    ) -> Run:
        """Record the run of ``spec`` (``running``, or ``queued`` for a job).

        The run's dataset is the first silo; its params hold the hyper-parameters and
        :meth:`FederatedSpec.facts`.
        """
        from baryon.ml.kinds import task_of

        first = spec.silos[0]
        return self.workspace.runs.start(
            kind=spec.kind,
            task=task_of(spec.kind),
            params={**spec.params, **spec.facts()},
            seed=spec.seed,
            dataset_version_id=first.version_id,
            dataset_name=first.name,
            dataset_version=first.version,
            target=spec.target,
            status=status,
            extra={"federated": spec.facts(), "submitted_by": self.actor},
            session=session,
        )

    def train(self, spec: FederatedSpec, *, record_messages: bool = False) -> Run:
        """:meth:`start` then :meth:`execute`, now, in this process.

        The run is recorded with an audit event ``run.start`` (its silos and strategy)
        in one transaction, before any silo is read; a queued run is audited as
        ``run.submit`` by :func:`~baryon.federated.jobs.submit_federated`.
        """
        from baryon.core.audit import record_audit

        ws = self.workspace
        with ws.db.session(ws.scope) as session:
            run = self.start(spec, session=session)
            record_audit(
                session, actor=self.actor, action="run.start", object_type="run",
                object_id=run.id, details={"kind": spec.kind, **spec.facts()},
                org_id=ws.scope.org_id, clock=ws.clock,
            )  # fmt: skip
        return self.execute(run.id, spec, record_messages=record_messages)

    def execute(
        self,
        run_id: str,
        spec: FederatedSpec,
        *,
        progress: Callable[[str, float], None] | None = None,
        record_messages: bool = False,
    ) -> Run:
        """Run the rounds inside run ``run_id``, record them, register the model.

        Parameters
        ----------
        run_id : str
            A ``running`` run of ``spec``.
        spec : FederatedSpec
        progress : callable, optional
            ``progress(stage, percent)``: ``federate`` 10, ``register`` 90.
        record_messages : bool
            Keep every array the server received under the work directory's
            ``messages/`` (the no-raw-row test reads them); the directory is then
            kept, at ``<home>/tmp/federated-<run id>``.

        Returns
        -------
        Run
            ``succeeded`` (registered under ``spec.model``) or ``failed`` with the
            error (``federation_failed``, ``unknown_class``, ...).
        """
        from baryon.federated._deployment import FederationFailed, run_on_loopback

        runs = self.workspace.runs
        workdir = self.workspace.settings.home / "tmp" / f"federated-{run_id}"
        shutil.rmtree(workdir, ignore_errors=True)
        workdir.mkdir(parents=True)
        try:
            if progress is not None:
                progress("federate", 10.0)
            spec_path = workdir / "spec.json"
            spec_path.write_bytes(dumps(self._wire_spec(spec, workdir, record_messages)))
            result = workdir / "rounds.json"
            run_on_loopback(
                spec_path, n_silos=len(spec.silos), workdir=workdir, timeout=self.timeout,
                result=result,
            )  # fmt: skip
            summary = json.loads(result.read_text(encoding="utf-8"))
            if len(summary["evaluations"]) != spec.rounds * len(spec.silos):
                raise FederationFailed(
                    f"{len(summary['evaluations'])} of {spec.rounds * len(spec.silos)} "
                    "silo evaluations came back"
                )
            with np.load(workdir / "result.npz", allow_pickle=False) as saved:
                arrays = [saved[f"arr_{i}"] for i in range(len(saved.files))]
            if progress is not None:
                progress("register", 90.0)
            self._record(run_id, spec, arrays, summary)
        except BaryonError as exc:
            return runs.finish(run_id, status="failed", error=exc.message, error_code=exc.code)
        except Exception as exc:
            return runs.finish(
                run_id, status="failed", error=f"{type(exc).__name__}: {exc}",
                error_code="internal_error",
            )  # fmt: skip
        finally:
            if not record_messages:
                shutil.rmtree(workdir, ignore_errors=True)
        runs.finish(run_id, status="succeeded")
        version = self.workspace.registry.register(
            run_id, spec.model, actor=self.actor, extra=spec.facts()
        )
        return runs.update(
            run_id, extra={"registered": {"name": version.name, "version": version.version}}
        )

    def _wire_spec(self, spec: FederatedSpec, workdir: Path, record: bool) -> dict[str, Any]:
        settings = self.workspace.settings
        return {
            "kind": spec.kind,
            "rounds": spec.rounds,
            "strategy": spec.strategy,
            "params": spec.params,
            "seed": spec.seed,
            "target": spec.target,
            "classes": list(spec.classes),
            "n_features": spec.n_features,
            "dp": {"clip": spec.dp_clip, "noise": spec.dp_noise, "delta": DP_DELTA}
            if spec.dp_clip is not None
            else None,
            "silos": [asdict(s) for s in spec.silos],
            "settings": {
                "home": str(settings.home),
                "database_url": settings.database_url,
                "artifact_root": settings.artifact_root,
                "audit_key_file": str(settings.audit_key_file) if settings.audit_key_file else None,
            },
            "workdir": str(workdir),
            "record_messages": record,
        }

    # ------------------------------------------------------------------- record
    def _record(
        self, run_id: str, spec: FederatedSpec, arrays: list[np.ndarray], summary: dict[str, Any]
    ) -> None:
        from baryon.ml.kinds import task_of
        from baryon.ml.persistence import dump_model

        history, metrics = round_metrics(spec.kind, summary["evaluations"], len(spec.silos))
        privacy = summary.get("privacy")
        if privacy:
            metrics["dp_epsilon"] = privacy["epsilon"]
            metrics["dp_delta"] = privacy["delta"]
        estimator = self._estimator(spec, arrays, summary.get("stats") or {}, history)
        task = task_of(spec.kind)
        classes = list(spec.classes) or None
        column_roles = {spec.target: "target"} if spec.target else {}
        if spec.kind == "hashed_text_classifier":
            text = next(iter(self.workspace.datasets.get_by_id(spec.silos[0].version_id)
                             .columns_with_role("text")), None)  # fmt: skip
            if text:
                column_roles[text] = "text"
        column_roles.update(dict.fromkeys(spec.feature_columns, "feature"))
        payload, manifest = dump_model(
            estimator,
            kind=spec.kind,
            extra={
                "run_id": run_id,
                "dataset_version_id": spec.silos[0].version_id,
                "task": task,
                "target": spec.target,
                "feature_columns": list(spec.feature_columns),
                "column_roles": column_roles,
                "classes": classes,
                **spec.facts(),
            },
        )
        runs = self.workspace.runs
        runs.put_artifact(run_id, "model", payload)
        runs.put_artifact(run_id, "manifest", dumps(manifest, sort_keys=True))
        report = {
            "run_id": run_id,
            "kind": spec.kind,
            "task": task,
            **spec.facts(),
            "metrics": to_jsonable(metrics),
            "privacy": privacy,
            "rounds_history": history,
        }
        runs.put_artifact(run_id, "report", dumps(report, default=str, sort_keys=True))
        runs.update(
            run_id,
            task=task,
            target=spec.target,
            column_roles=column_roles,
            feature_columns=list(spec.feature_columns),
            metrics=metrics,
            history=history,
            extra={"classes": classes, "privacy": privacy},
        )

    @staticmethod
    def _estimator(
        spec: FederatedSpec,
        arrays: list[np.ndarray],
        stats: dict[str, list[float]],
        history: dict[str, list[float]],
    ) -> Any:
        if spec.kind == "hashed_text_classifier":
            from baryon.ml.hashed_text import HashedTextClassifier

            params = {k: v for k, v in spec.params.items()
                      if k in ("n_features", "learning_rate", "batch_size", "alpha")}  # fmt: skip
            model = HashedTextClassifier(**params, random_state=spec.seed)
            model.coef_ = np.asarray(arrays[0], dtype=np.float64)
            model.intercept_ = np.asarray(arrays[1], dtype=np.float64)
            model.classes_ = np.asarray(spec.classes, dtype=object)
            return model
        from baryon.ml.linear import LinearRegressionGD

        theta = np.asarray(arrays[0], dtype=np.float64)
        mean = np.asarray(stats["mean"], dtype=np.float64)
        scale = np.asarray(stats["scale"], dtype=np.float64)
        coef = theta[1:] / scale
        state = {
            "coef": coef,
            "mean": mean,
            "scale": scale,
            "loss_history": np.asarray(history.get("loss", []), dtype=np.float64),
            "feature_names": np.asarray(spec.feature_columns, dtype=str),
        }
        meta = {
            "params": {
                "learning_rate": float(spec.params.get("learning_rate", 0.1)),
                "max_iter": spec.rounds,
                "tol": 1e-6,
                "standardize": True,
                "batch_size": None,
                "random_state": spec.seed,
            },
            "intercept": float(theta[0] - np.dot(coef, mean)),
            "n_iter": spec.rounds,
            "converged": False,
            "n_features_in": len(coef),
        }
        return LinearRegressionGD.from_state(state, meta)


def round_metrics(
    kind: str, evaluations: list[dict[str, float]], n_silos: int
) -> tuple[dict[str, list[float]], dict[str, float]]:
    """Per-round history and final metrics from the silos' evaluation replies.

    Global metrics pool every silo's held-out rows: a mean weighted by row counts
    (``loss``, ``accuracy``, ``mse``), and for regression R² = 1 − ΣSSE / SST with
    SST = Σy² − (Σy)²/N over the pooled rows.

    Parameters
    ----------
    kind : str
    evaluations : list of dict
        One per silo and round: ``round``, ``silo``, ``num-examples`` and the metrics.
    n_silos : int

    Returns
    -------
    (history, metrics)
        ``history[name]`` is a list with one value per round; ``metrics`` holds the
        last round's values (global and ``silo_<i>_<name>``).
    """
    names = ["loss", "accuracy"] if kind == "hashed_text_classifier" else ["loss", "mse", "r2"]
    by_round: dict[int, list[dict[str, float]]] = {}
    for entry in evaluations:
        by_round.setdefault(int(entry["round"]), []).append(entry)
    history: dict[str, list[float]] = {}
    for number in sorted(by_round):
        entries = by_round[number]
        counts = np.asarray([e["num-examples"] for e in entries], dtype=np.float64)
        total = float(counts.sum())
        point: dict[str, float] = {}
        for name in names:
            if name == "r2":
                sse = sum(e["sse"] for e in entries)
                sum_y = sum(e["sum_y"] for e in entries)
                sst = sum(e["sum_y2"] for e in entries) - sum_y**2 / total
                point["r2"] = float(1 - sse / sst) if sst > 0 else 0.0
            else:
                point[name] = float(np.dot(counts, [e[name] for e in entries]) / total)
        for e in entries:
            for name in names:
                if name in e:
                    point[f"silo_{int(e['silo'])}_{name}"] = float(e[name])
        for key, value in point.items():
            history.setdefault(key, []).append(value)
    metrics = {key: values[-1] for key, values in history.items()}
    return history, metrics
