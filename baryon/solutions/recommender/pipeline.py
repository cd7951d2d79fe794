"""Train the ``recommender`` model on X-Wines ratings, champion chosen on validation.

Through the public layers::

    ingest  XWines_Slim_150K_ratings.csv           ws.datasets.ingest
            (+ rated feedback events, if any)
    clean   one rating per (user, wine), the last   ws.datasets.clean
    split   per user, by date: the newest 20 % of   ws.datasets.split
            each user's ratings test, the 10 %
            before them validation (seeded)
    train   popularity, cf_seed, itemknn_cosine,    Trainer(ws).train
            als  -> versions of ``recommender``
    gate    the best by NDCG@10 on the validation   ws.promotion.promote
            split must beat the champion there       (evaluation_dataset=...)

The first version registered (``popularity``, the baseline) becomes champion; the
candidate with the best stored validation NDCG@10 is then promoted through the gate,
which re-measures it and the champion on a dataset holding exactly the validation
interactions (``xwines-validation``). Test-split metrics are reported, never used to
choose.

The whole X-Wines Slim set is used (120,064 ratings of 10,561 users on 1,007 wines;
no subsampling: the four models train and evaluate in well under a minute on two
cores). Parameters of ``itemknn_cosine`` and ``als`` were chosen on the validation
split (see ``docs/solutions/recommender.md``).

Ranking protocol (:mod:`baryon.training.evaluate`): a held-out rating of 4 stars or
more is relevant; the user's training wines are excluded from the candidates;
metrics are averaged over users with at least one relevant held-out wine.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from baryon.core.errors import InvalidFile, InvalidInput
from baryon.solutions._reuse import (
    ProgressCallback,
    champion_or_none,
    find_version_by_recipe,
    promote_or_note,
    recipe_digest,
)

if TYPE_CHECKING:
    import pandas as pd

    from baryon.data.versions import DatasetVersion
    from baryon.training.registry import ModelVersion
    from baryon.workspace import Workspace

__all__ = [
    "CANDIDATES",
    "MODEL_NAME",
    "TARGET_RATIO",
    "Candidate",
    "ProgressCallback",
    "RecommenderPipeline",
    "RecommenderResult",
]

MODEL_NAME = "recommender"
DATASET = "xwines-ratings"
VALIDATION_DATASET = "xwines-validation"
RATINGS_FILE = "XWines_Slim_150K_ratings.csv"
#: Column roles of the ratings source.
ROLES = {
    "RatingID": "id",
    "UserID": "user",
    "WineID": "item",
    "Vintage": "ignore",
    "Rating": "rating",
    "Date": "timestamp",
}
#: The champion's test NDCG@10 should be at least this many times popularity's.
TARGET_RATIO = 2.0
PRIMARY = "ndcg_at_10"

#: Kinds and parameters, in registration order (the first is the baseline champion).
CANDIDATES: dict[str, dict[str, Any]] = {
    "popularity": {},
    "cf_seed": {},
    "itemknn_cosine": {"min_rating": 3.5, "neighbours": 200, "shrinkage": 50.0},
    "als": {"factors": 16, "regularization": 0.1, "iterations": 15},
}


@dataclass(frozen=True)
class Candidate:
    """One trained recommender.

    Attributes
    ----------
    kind : str
    version : int
        Its version of ``recommender``.
    params : dict
    test : dict of str to float
        Test-split ranking metrics (``ndcg_at_10``, ``precision_at_10``, ...).
    validation : dict of str to float
        The same on the validation split.
    created : bool
        Trained by this run (False: reused).
    """

    kind: str
    version: int
    params: dict[str, Any]
    test: dict[str, float]
    validation: dict[str, float]
    created: bool

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "kind": self.kind,
            "version": self.version,
            "params": dict(self.params),
            "test": dict(self.test),
            "validation": dict(self.validation),
            "created": self.created,
        }


@dataclass(frozen=True)
class RecommenderResult:
    """Outcome of :meth:`RecommenderPipeline.run`.

    Attributes
    ----------
    candidates : dict of str to Candidate
        By kind.
    champion : int or None
        Champion version of ``recommender`` after the run.
    champion_kind : str or None
    dataset : str
        ``name:version`` of the split ratings.
    rows : dict of str to int
        Interactions per split.
    feedback_rows : int
        Rated events added to the bundled ratings.
    seconds : float
    notes : list of str
    """

    candidates: dict[str, Candidate]
    champion: int | None
    champion_kind: str | None
    dataset: str
    rows: dict[str, int]
    feedback_rows: int
    seconds: float
    notes: list[str] = field(default_factory=list)

    @property
    def created(self) -> bool:
        """Whether this run trained anything."""
        return any(c.created for c in self.candidates.values())

    @property
    def metrics(self) -> dict[str, float]:
        """The champion's test metrics."""
        for c in self.candidates.values():
            if c.version == self.champion:
                return dict(c.test)
        return {}

    @property
    def baseline(self) -> dict[str, float]:
        """Popularity's test metrics."""
        pop = self.candidates.get("popularity")
        return dict(pop.test) if pop else {}

    @property
    def ratio(self) -> float:
        """Champion test NDCG@10 divided by popularity's (NaN without both)."""
        champ, base = self.metrics.get(PRIMARY), self.baseline.get(PRIMARY)
        if not champ or not base:
            return float("nan")
        return float(champ) / float(base)

    @property
    def meets_target(self) -> bool:
        """Whether :attr:`ratio` reaches :data:`TARGET_RATIO`."""
        return self.ratio >= TARGET_RATIO

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "candidates": {k: c.to_dict() for k, c in self.candidates.items()},
            "champion": self.champion,
            "champion_kind": self.champion_kind,
            "dataset": self.dataset,
            "rows": dict(self.rows),
            "feedback_rows": self.feedback_rows,
            "metrics": self.metrics,
            "baseline": self.baseline,
            "ratio": self.ratio,
            "target_ratio": TARGET_RATIO,
            "meets_target": self.meets_target,
            "seconds": self.seconds,
            "notes": list(self.notes),
        }


def _split_metrics(metrics: Mapping[str, Any]) -> tuple[dict[str, float], dict[str, float]]:
    test, validation = {}, {}
    for key, value in metrics.items():
        if value is None or key == "fit_seconds":
            continue
        if key.startswith("validation_"):
            validation[key.removeprefix("validation_")] = float(value)
        else:
            test[key] = float(value)
    return test, validation


class RecommenderPipeline:
    """Ingest → clean → per-user split → train four recommenders → gate on validation.

    Parameters
    ----------
    workspace : Workspace
    seed : int
        Seed of the split and of training.
    test_size, validation_size : float
        Share of each user's (newest) ratings held out.
    candidates : mapping of str to dict, optional
        Kinds and parameters (default :data:`CANDIDATES`; must include ``popularity``).
    ratings : path, optional
        A ratings file laid out like the X-Wines source, replacing the bundled one.
    feedback : bool
        Add rated events (``POST /v1/events``) of every organization to the ratings.
    actor : str
    """

    def __init__(
        self,
        workspace: Workspace,
        *,
        seed: int = 42,
        test_size: float = 0.2,
        validation_size: float = 0.1,
        candidates: Mapping[str, Mapping[str, Any]] | None = None,
        ratings: str | Path | None = None,
        feedback: bool = True,
        actor: str = "system",
    ) -> None:
        self.workspace = workspace
        self.seed = seed
        self.test_size = test_size
        self.validation_size = validation_size
        chosen = CANDIDATES if candidates is None else candidates
        self.candidates = {k: dict(v) for k, v in chosen.items()}
        if "popularity" not in self.candidates:
            raise InvalidInput(
                "the candidates must include the popularity baseline", code="no_baseline"
            )
        self.ratings = None if ratings is None else Path(ratings)
        self.feedback = feedback
        self.actor = actor

    # ------------------------------------------------------------------ data
    def feedback_frame(self) -> pd.DataFrame:
        """This organization's rated events, laid out like the ratings source.

        The workspace's scope decides whose: ``RecommenderPipeline(ws.for_org("acme"))``
        retrains on acme's events (plus the bundled ratings) and no one else's.
        """
        from baryon.solutions.recommender.service import feedback_ratings

        with self.workspace.db.session(self.workspace.scope) as session:
            return feedback_ratings(session)

    def prepare(self) -> tuple[DatasetVersion, int]:
        """Ingest (with feedback), clean and split; return the split version and feedback rows.

        Raises
        ------
        InvalidFile
            The ratings file is missing (``file_not_found``), a directory
            (``not_a_file``), empty (``empty_file``) or not a CSV (``invalid_ratings``).
        """
        import pandas as pd

        store = self.workspace.datasets
        source = self.ratings
        if source is None:
            from baryon.solutions.bundled import bundled_path

            source = bundled_path("xwines", RATINGS_FILE)
        extra = self.feedback_frame() if self.feedback else None
        with tempfile.TemporaryDirectory(prefix="baryon-xwines-") as tmp:
            path = source
            if extra is not None and len(extra):
                base = _read_ratings(source)
                merged = pd.concat([base, extra], ignore_index=True)
                path = Path(tmp) / "ratings-with-feedback.csv"
                merged.to_csv(path, index=False)
            roles = {c: r for c, r in ROLES.items() if c in _header(path)}
            raw = store.ingest(path, name=DATASET, roles=roles, actor=self.actor)
        cleaned = store.clean(
            DATASET,
            [{"step": "dedupe", "key": ["UserID", "WineID"], "keep": "last"}],
            version=raw.version,
            actor=self.actor,
        )
        split = store.split(
            DATASET,
            strategy="per_user",
            test_size=self.test_size,
            validation_size=self.validation_size,
            seed=self.seed,
            version=cleaned.version,
            actor=self.actor,
        )
        return split, 0 if extra is None else len(extra)

    def validation_dataset(self, split: DatasetVersion) -> DatasetVersion:
        """A dataset holding exactly ``split``'s validation interactions (no split)."""
        frame = split.to_pandas(split="validation")
        users, items = split.columns_with_role("user")[0], split.columns_with_role("item")[0]
        rating = split.columns_with_role("rating")[0]
        frame = frame[[users, items, rating]]
        with tempfile.TemporaryDirectory(prefix="baryon-xwines-") as tmp:
            path = Path(tmp) / "validation.csv"
            frame.to_csv(path, index=False)
            return self.workspace.datasets.ingest(
                path,
                name=VALIDATION_DATASET,
                roles={users: "user", items: "item", rating: "rating"},
                actor=self.actor,
            )

    # ---------------------------------------------------------------- models
    def recipe(self, kind: str, dataset: DatasetVersion) -> str:
        """Identify a training: dataset version, kind, parameters and seed."""
        return recipe_digest(
            dataset=dataset.id, kind=kind, params=self.candidates[kind], seed=self.seed
        )

    def find_trained(self, kind: str, dataset: DatasetVersion) -> ModelVersion | None:
        """Return the version trained by this recipe, if any."""
        return find_version_by_recipe(
            self.workspace.registry, MODEL_NAME, self.recipe(kind, dataset)
        )

    def train(self, kind: str, dataset: DatasetVersion) -> ModelVersion:
        """Train one candidate and register it as a version of ``recommender``."""
        from baryon.training.trainer import Trainer

        run = Trainer(self.workspace, actor=self.actor).train(
            kind,
            dataset=dataset.ref,
            params=self.candidates[kind],
            register=MODEL_NAME,
            seed=self.seed,
            extra={"solution": "recommender", "recipe": self.recipe(kind, dataset)},
        )
        run.raise_for_status()
        number = int((run.extra.get("registered") or {})["version"])
        return self.workspace.registry.get_version(MODEL_NAME, version=number)

    @staticmethod
    def best(versions: Mapping[str, ModelVersion]) -> str:
        """The kind with the best stored validation NDCG@10 (ties: the earlier version)."""
        scored = {
            kind: float(v.metrics.get(f"validation_{PRIMARY}") or float("-inf"))
            for kind, v in versions.items()
        }
        return max(scored, key=lambda k: (scored[k], -versions[k].version))

    def _champion(self) -> ModelVersion | None:
        return champion_or_none(self.workspace.registry, MODEL_NAME)

    def choose_champion(
        self, versions: dict[str, ModelVersion], validation: DatasetVersion
    ) -> str | None:
        """Promote the candidate with the best validation NDCG@10 through the gate.

        Returns
        -------
        str or None
            A note when the gate refused.
        """
        best = self.best(versions)
        chosen = versions[best]
        champion = self._champion()
        if champion is not None and champion.version == chosen.version:
            return None
        return promote_or_note(
            self.workspace.promotion,
            MODEL_NAME,
            chosen,
            actor=self.actor,
            reason=f"recommender pipeline: best validation {PRIMARY} ({best})",
            label=best,
            evaluation_dataset=validation.ref,
        )

    # -------------------------------------------------------------------- run
    def run(self, progress: ProgressCallback | None = None) -> RecommenderResult:
        """Train (or reuse) the four recommenders and promote the best through the gate.

        Parameters
        ----------
        progress : callable, optional
            ``progress(message, fraction_done)``.

        Returns
        -------
        RecommenderResult
        """
        started = time.monotonic()
        report = progress or (lambda message, fraction: None)
        report("recommender: ingest, clean, per-user split", 0.0)
        dataset, feedback_rows = self.prepare()
        steps = len(self.candidates) + 2
        versions: dict[str, ModelVersion] = {}
        created: dict[str, bool] = {}
        for k, kind in enumerate(self.candidates, start=1):
            report(f"recommender: {kind}", k / steps)
            found = self.find_trained(kind, dataset)
            versions[kind] = found if found is not None else self.train(kind, dataset)
            created[kind] = found is None
        notes: list[str] = []
        champion = self._champion()
        best = self.best(versions)
        settled = champion is not None and (
            champion.version == versions[best].version or champion.dataset_version_id != dataset.id
        )
        if any(created.values()) or not settled:
            report("recommender: gate on the validation split", (steps - 1) / steps)
            note = self.choose_champion(versions, self.validation_dataset(dataset))
            if note:
                notes.append(note)
            champion = self._champion()
        candidates = {}
        for kind, v in versions.items():
            test, validation = _split_metrics(v.metrics)
            candidates[kind] = Candidate(
                kind, v.version, dict(self.candidates[kind]), test, validation, created[kind]
            )
        counts = (dataset.split or {}).get("counts", {})
        result = RecommenderResult(
            candidates=candidates,
            champion=None if champion is None else champion.version,
            champion_kind=None if champion is None else champion.kind,
            dataset=dataset.ref,
            rows={k: int(v) for k, v in counts.items()},
            feedback_rows=feedback_rows,
            seconds=time.monotonic() - started,
            notes=notes,
        )
        if not result.meets_target:
            notes.append(
                f"champion test {PRIMARY} is {result.ratio:.2f}x popularity's "
                f"(target {TARGET_RATIO:g}x)"
            )
        report("recommender ready", 1.0)
        return result


def _header(path: Path) -> list[str]:
    return [str(c) for c in _read_ratings(path, nrows=0).columns]


def _read_ratings(path: Path, **options: Any) -> pd.DataFrame:
    """Read a ratings CSV; a missing or unreadable file is an :class:`InvalidFile`."""
    import pandas as pd

    if not path.exists():
        raise InvalidFile(f"no such file: {path}", code="file_not_found")
    if not path.is_file():
        raise InvalidFile(f"{path} is not a file", code="not_a_file")
    try:
        return pd.read_csv(path, **options)
    except pd.errors.EmptyDataError as exc:
        raise InvalidFile(f"{path} is empty", code="empty_file") from exc
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InvalidFile(
            f"{path} is not a readable ratings CSV: {exc}", code="invalid_ratings"
        ) from exc
