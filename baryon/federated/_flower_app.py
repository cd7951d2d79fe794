"""The Flower ``ServerApp`` and ``ClientApp`` of a federated run.

Imported only by Flower's own processes (the SuperLink's ServerApp process and each
SuperNode's ClientApp process, see :mod:`baryon.federated._deployment`); importing
it needs ``flwr`` (``pip install 'baryon[federated]'``).

Both read the run's spec, a JSON file named by the run config (``spec``). The
ServerApp never opens the workspace: it starts one of Flower's strategies
(``FedAvg``, ``FedProx``, ``FedMedian``, ``FedTrimmedAvg``, optionally wrapped in
``DifferentialPrivacyServerSideFixedClipping`` with Flower's RDP accountant) over a
:class:`ReplyGuard` grid, which refuses any reply that holds anything but numeric
parameter arrays and numeric metrics, and records every reply it accepts (per-silo
metrics of each round, and on request the raw bytes of every array received). Each
ClientApp loads only its own silo's rows, through the silo organization's view of the
workspace, and answers with arrays and numbers.

Files the ServerApp writes in the spec's ``workdir``: ``result.npz`` (final global
arrays ``arr_0``, ``arr_1``, ...), ``rounds.json`` (per round and silo evaluation
metrics, train metrics, privacy spent), ``messages/`` (with ``record_messages``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from flwr.app import ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp
from flwr.serverapp import Grid, ServerApp
from flwr.serverapp import strategy as strategies

from baryon.federated._learners import SiloData, learner_for

__all__ = ["ReplyGuard", "client_app", "server_app"]

server_app = ServerApp()
client_app = ClientApp()

_NUMERIC_KINDS = frozenset("biuf")


def read_spec(path: str) -> dict[str, Any]:
    """Read the run's spec JSON (written by :mod:`baryon.federated.runner`)."""
    return dict(json.loads(Path(path).read_text(encoding="utf-8")))


# ---------------------------------------------------------------------- server
class ReplyGuard(Grid):
    """A grid that checks and records every reply before a strategy sees it.

    A reply may hold only ``ArrayRecord`` items whose arrays are numeric
    (bool, int, float) and ``MetricRecord`` items (numbers by construction); anything
    else (a ``ConfigRecord``, a string or object array) stops the run with
    ``RuntimeError("federated_message_refused: ...")``.

    Parameters
    ----------
    grid : Grid
        Flower's grid of the run.
    workdir : Path
        Where ``messages/`` is written when ``record`` is true.
    record : bool
        Also write every received array's raw bytes (``messages/NNNN-key-i.bin``) and
        a ``messages/log.jsonl`` line per reply (record types, dtypes, shapes, metrics).
    """

    def __init__(self, grid: Grid, workdir: Path, *, record: bool) -> None:
        self._grid = grid
        self._dir = workdir / "messages"
        self._record = record
        self._count = 0
        self.evaluations: list[dict[str, float]] = []
        self.trainings: list[dict[str, float]] = []
        if record:
            self._dir.mkdir(parents=True, exist_ok=True)

    # Grid's abstract surface: delegate.
    def set_run(self, run: Any) -> None:
        self._grid.set_run(run)

    @property
    def run(self) -> Any:
        return self._grid.run

    def create_message(self, *args: Any, **kwargs: Any) -> Message:
        return self._grid.create_message(*args, **kwargs)

    def get_node_ids(self) -> Iterable[int]:
        return self._grid.get_node_ids()

    def get_nodes(self) -> Iterable[Any]:
        return self._grid.get_nodes()

    def push_messages(self, messages: Iterable[Message]) -> Iterable[str]:
        return self._grid.push_messages(messages)

    def pull_messages(self, message_ids: Iterable[str]) -> Iterable[Message]:
        return [self._accept(m) for m in self._grid.pull_messages(message_ids)]

    def send_and_receive(
        self, messages: Iterable[Message], *, timeout: float | None = None
    ) -> Iterable[Message]:
        return [self._accept(m) for m in self._grid.send_and_receive(messages, timeout=timeout)]

    def _accept(self, message: Message) -> Message:
        if message.has_error():
            raise RuntimeError(f"a silo failed: {message.error.reason}")
        entry: dict[str, Any] = {"type": message.metadata.message_type, "records": {}}
        for key, record in message.content.items():
            if isinstance(record, ArrayRecord):
                shapes = []
                for i, (name, array) in enumerate(record.items()):
                    received = array.numpy()
                    if received.dtype.kind not in _NUMERIC_KINDS:
                        raise RuntimeError(
                            f"federated_message_refused: array {key}.{name} has dtype "
                            f"{received.dtype}, not a number"
                        )
                    shapes.append([str(received.dtype), list(received.shape)])
                    if self._record:
                        path = self._dir / f"{self._count:04d}-{key}-{i}.bin"
                        path.write_bytes(array.data)
                entry["records"][key] = {"arrays": shapes}
            elif isinstance(record, MetricRecord):
                entry["records"][key] = {"metrics": dict(record)}
            else:
                raise RuntimeError(
                    f"federated_message_refused: a reply holds {type(record).__name__} "
                    f"{key!r}; only parameter arrays and metrics may leave a silo"
                )
        metrics = list(message.content.metric_records.values())
        if metrics:
            values = {k: float(v) for k, v in metrics[0].items()}  # type: ignore[arg-type]
            if message.metadata.message_type.startswith("evaluate"):
                self.evaluations.append(values)
            elif message.metadata.message_type.startswith("train"):
                self.trainings.append(values)
        if self._record:
            with (self._dir / "log.jsonl").open("a", encoding="utf-8") as log:
                log.write(json.dumps(entry, default=float) + "\n")
        self._count += 1
        return message


#: The train replies' metric that weighs each silo's update in the average: its training
#: rows, or under DP the same weight for every silo (:data:`EQUAL_WEIGHT`).
ROWS_WEIGHT, EQUAL_WEIGHT = "num-examples", "silo-weight"


def make_strategy(spec: dict[str, Any], n_silos: int) -> strategies.Strategy:
    """Build the spec's Flower strategy, every silo in every round.

    ``fedprox`` uses ``params["proximal_mu"]`` (default 0.1), ``fedtrimmedavg``
    ``params["trim_beta"]`` (default 0.2). With ``spec["dp"]`` the strategy is wrapped
    in Flower's ``DifferentialPrivacyServerSideFixedClipping`` (each silo's update is
    clipped to L2 norm ``clip``; Gaussian noise of standard deviation
    ``noise × clip / n_silos`` is added to the average) with an RDP accountant at
    ``delta`` (client-level privacy, no sampling amplification: every silo takes part
    in every round). Under DP the silos' updates are averaged with equal weights (the
    accountant's Gaussian mechanism bounds one silo's influence on an unweighted mean,
    as in DP-FedAvg, McMahan et al. 2018, "Learning Differentially Private Recurrent
    Language Models"); without DP they are weighted by their training rows.
    """
    common: dict[str, Any] = {
        "fraction_train": 1.0,
        "fraction_evaluate": 1.0,
        "min_train_nodes": n_silos,
        "min_evaluate_nodes": n_silos,
        "min_available_nodes": n_silos,
        "weighted_by_key": EQUAL_WEIGHT if spec.get("dp") else ROWS_WEIGHT,
    }
    params = spec.get("params") or {}
    name = spec["strategy"]
    strategy: strategies.Strategy
    if name == "fedavg":
        strategy = strategies.FedAvg(**common)
    elif name == "fedprox":
        strategy = strategies.FedProx(**common, proximal_mu=float(params.get("proximal_mu", 0.1)))
    elif name == "fedmedian":
        strategy = strategies.FedMedian(**common)
    elif name == "fedtrimmedavg":
        strategy = strategies.FedTrimmedAvg(**common, beta=float(params.get("trim_beta", 0.2)))
    else:  # the runner validated it
        raise ValueError(f"unknown strategy {name!r}")
    dp = spec.get("dp")
    if dp:
        from flwr.supercore.privacy_accounting import (
            NeighboringRelation,
            PrivacyConfig,
            SamplingMethod,
        )
        from flwr.supercore.privacy_accounting.rdp_accountant import RdpAccountant

        accountant = RdpAccountant(
            PrivacyConfig(
                target_delta=float(dp["delta"]),
                population_size=n_silos,
                neighboring_relation=NeighboringRelation.ADD_OR_REMOVE_ONE,
                sampling_method=SamplingMethod.NO_AMPLIFICATION,
            )
        )
        strategy = strategies.DifferentialPrivacyServerSideFixedClipping(
            strategy,
            noise_multiplier=float(dp["noise"]),
            clipping_norm=float(dp["clip"]),
            num_sampled_clients=n_silos,
            accountant=accountant,
        )
    return strategy


def _collect_stats(grid: Grid, n_silos: int) -> dict[str, list[float]]:
    """Global mean and scale of the features from each silo's (count, sum, sum of squares).

    Pooled moments: μ = Σₖ sₖ / Σₖ nₖ, σ² = Σₖ qₖ / Σₖ nₖ − μ² (a constant column gets
    σ = 1, as :class:`~baryon.ml.linear.LinearRegressionGD` does).
    """
    nodes = _wait_for_nodes(grid, n_silos)
    messages = [
        grid.create_message(
            content=RecordDict({"config": ConfigRecord({"server-round": 0})}),
            message_type="query",
            dst_node_id=node,
            group_id="0",
        )
        for node in nodes
    ]
    replies = list(grid.send_and_receive(messages))
    moments = [
        r.content["moments"].to_numpy_ndarrays()  # type: ignore[union-attr]
        for r in replies
        if r.has_content()
    ]
    if len(moments) != n_silos:
        raise RuntimeError(f"feature statistics came back from {len(moments)} of {n_silos} silos")
    count = float(sum(m[0][0] for m in moments))
    total = np.sum([m[1] for m in moments], axis=0)
    squares = np.sum([m[2] for m in moments], axis=0)
    mean = total / count
    scale = np.sqrt(np.maximum(squares / count - mean**2, 0.0))
    scale[scale < 1e-12] = 1.0
    return {"mean": [float(v) for v in mean], "scale": [float(v) for v in scale]}


def _wait_for_nodes(grid: Grid, n_silos: int) -> list[int]:
    import time

    while len(nodes := list(grid.get_node_ids())) < n_silos:
        time.sleep(0.5)
    return nodes[:n_silos]


@server_app.main()
def _server_main(grid: Grid, context: Context) -> None:
    spec = read_spec(str(context.run_config["spec"]))
    run_server(grid, spec)


def run_server(grid: Grid, spec: dict[str, Any]) -> None:
    """Run the federated rounds of ``spec`` on ``grid`` and write the results.

    Parameters
    ----------
    grid : Grid
        Flower's grid (the SuperLink's nodes).
    spec : dict
        The run's spec (see :mod:`baryon.federated.runner`).
    """
    workdir = Path(spec["workdir"])
    n_silos = len(spec["silos"])
    guard = ReplyGuard(grid, workdir, record=bool(spec.get("record_messages")))
    stats: dict[str, list[float]] = {}
    if spec["kind"] == "linear_regression_gd":
        stats = _collect_stats(guard, n_silos)
    learner = learner_for(spec["kind"], spec.get("params") or {})
    initial = learner.initial_arrays(int(spec["n_features"]), len(spec.get("classes") or []))
    strategy = make_strategy(spec, n_silos)
    config = ConfigRecord({"stats": json.dumps(stats)})
    result = strategy.start(
        grid=guard,
        initial_arrays=ArrayRecord(initial),
        num_rounds=int(spec["rounds"]),
        train_config=config,
        evaluate_config=ConfigRecord({"stats": json.dumps(stats)}),
    )
    np.savez(workdir / "result.npz", *result.arrays.to_numpy_ndarrays())
    privacy = None
    spent = getattr(strategy, "privacy_spent", None)
    if callable(spent) and (done := spent()) is not None:
        privacy = {
            "epsilon": float(done.epsilon),
            "delta": float(done.delta),
            "releases": int(done.num_releases),
            "method": str(done.accounting_method),
        }
    summary = {
        "evaluations": guard.evaluations,
        "trainings": guard.trainings,
        "stats": stats,
        "privacy": privacy,
    }
    partial = workdir / "rounds.json.partial"
    partial.write_text(json.dumps(summary), encoding="utf-8")
    partial.replace(workdir / "rounds.json")  # atomic: the coordinator waits for this name


# ---------------------------------------------------------------------- client
def load_silo(spec: dict[str, Any], index: int) -> SiloData:
    """Load silo ``index``'s rows through its organization's view of the workspace.

    The silo's dataset version is prepared as the trainer prepares any run
    (:meth:`baryon.training.trainer.Trainer.prepare`: target, columns, stored
    split); the features are hashed text or the numeric feature columns.

    Raises
    ------
    BaryonError
        The dataset version is not this organization's, has no split, or its
        labels are outside the run's classes (``unknown_class``).
    """
    from baryon.core.config import Settings
    from baryon.core.errors import InvalidInput
    from baryon.training.trainer import Trainer
    from baryon.workspace import Workspace

    silo = spec["silos"][index]
    settings = Settings(**{k: v for k, v in spec["settings"].items() if v is not None})
    ws = Workspace.open(settings, migrate=False).for_org(silo["org_id"])
    try:
        trainer = Trainer(ws)
        run_spec = trainer.resolve(
            spec["kind"], silo["version_id"], target=spec.get("target"), seed=int(spec["seed"])
        )
        prepared = trainer.prepare(run_spec)
    finally:
        ws.close()
    params = spec.get("params") or {}
    if spec["kind"] == "hashed_text_classifier":
        from baryon.ml.hashed_text import hashed_features

        index_of = {c: i for i, c in enumerate(spec["classes"])}

        def encode(y: Any) -> np.ndarray:
            unknown = sorted({str(v) for v in y if str(v) not in index_of})
            if unknown:
                raise InvalidInput(
                    f"silo {silo['ref']} has labels outside the run's classes",
                    code="unknown_class",
                )
            return np.asarray([index_of[str(v)] for v in y], dtype=np.int64)

        def hashed(texts: Any) -> Any:
            return hashed_features(
                [str(t) for t in texts],
                n_features=int(spec["n_features"]),
                ngram_range=tuple(params.get("ngram_range", (1, 2))),
            )

        return SiloData(
            hashed(prepared.train.X), encode(prepared.train.y),
            hashed(prepared.test.X), encode(prepared.test.y),
        )  # fmt: skip
    return SiloData(
        np.asarray(prepared.train.X, dtype=np.float64),
        np.asarray(prepared.train.y, dtype=np.float64),
        np.asarray(prepared.test.X, dtype=np.float64),
        np.asarray(prepared.test.y, dtype=np.float64),
    )


def _silo(context: Context) -> tuple[dict[str, Any], int]:
    spec = read_spec(str(context.node_config["spec"]))
    return spec, int(context.node_config["silo"])


def _config(msg: Message) -> ConfigRecord:
    records = list(msg.content.config_records.values())
    return records[0] if records else ConfigRecord()


def _stats(msg: Message) -> dict[str, list[float]]:
    return dict(json.loads(str(_config(msg).get("stats", "{}"))))


def _round(msg: Message) -> int:
    value = _config(msg).get("server-round", 0)
    return int(value) if isinstance(value, int | float) else 0


@client_app.query()
def _client_stats(msg: Message, context: Context) -> Message:
    spec, index = _silo(context)
    data = load_silo(spec, index)
    X = np.asarray(data.X_train, dtype=np.float64)
    moments = [np.asarray([float(len(X))]), X.sum(axis=0), (X**2).sum(axis=0)]
    return Message(content=RecordDict({"moments": ArrayRecord(moments)}), reply_to=msg)


@client_app.train()
def _client_train(msg: Message, context: Context) -> Message:
    spec, index = _silo(context)
    data = load_silo(spec, index)
    learner = learner_for(spec["kind"], spec.get("params") or {})
    arrays = msg.content["arrays"].to_numpy_ndarrays()  # type: ignore[union-attr]
    mu = float(_config(msg).get("proximal-mu", 0.0))  # type: ignore[arg-type]
    rng = np.random.default_rng([int(spec["seed"]), index, _round(msg)])
    new, metrics = learner.fit(arrays, data, rng=rng, proximal_mu=mu, stats=_stats(msg))
    record = MetricRecord(
        {
            ROWS_WEIGHT: len(data.y_train),
            EQUAL_WEIGHT: 1,
            "silo": index,
            "round": _round(msg),
            **metrics,
        }
    )
    content = RecordDict({"arrays": ArrayRecord(new), "metrics": record})
    return Message(content=content, reply_to=msg)


@client_app.evaluate()
def _client_evaluate(msg: Message, context: Context) -> Message:
    spec, index = _silo(context)
    data = load_silo(spec, index)
    learner = learner_for(spec["kind"], spec.get("params") or {})
    arrays = msg.content["arrays"].to_numpy_ndarrays()  # type: ignore[union-attr]
    metrics = learner.evaluate(arrays, data, stats=_stats(msg))
    record = MetricRecord(
        {"num-examples": len(data.y_test), "silo": index, "round": _round(msg), **metrics}
    )
    return Message(content=RecordDict({"metrics": record}), reply_to=msg)
