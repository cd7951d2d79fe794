"""From gathered labels to new dataset rows, keeping the champion's test split frozen.

Each :class:`~baryon.flywheel.labels.LabeledInput` becomes one row with the columns
of the champion's training dataset version (:class:`Columns`):

- a text classifier's input (a task's ``{"text": ...}``, or the logged text) fills
  the text column; a tabular classifier's input dict (or list of values, in the
  model's feature order) fills the feature columns — every feature must be there;
- the label fills the target column as one of the champion's classes (compared as
  text, stored with the class's own type); a label outside them is skipped
  (``unknown_label``: the frozen test split could not measure a new class);
- columns the model does not read (ids, ignored columns) are left empty;
- values are cast to the dataset's column types; a value that does not fit is
  skipped (``invalid_input``).

Then, per input (the cast input columns, hashed):

- the same input labelled twice keeps one row (``duplicate``): a consensus label wins
  over feedback, a newer label over an older one of the same kind;
- an input that is a row of the **test split** is skipped (``in_test_split``): training
  on it would leak the frozen test split into training and flatter the candidate;
- an input already in the train or validation split is added again as a train row
  (the label is new evidence: a confirmation or a correction) and counted in
  ``overlap`` — note that an input from the validation split then sits in both.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from baryon.core.errors import InvalidInput
from baryon.core.jsonvalues import to_jsonable
from baryon.data.splits import SPLIT_NAMES, TEST
from baryon.flywheel.labels import FEEDBACK, LabeledInput
from baryon.predictions.log import hash_input

if TYPE_CHECKING:
    from baryon.data.versions import DatasetVersion
    from baryon.training.model_versions import ModelVersion

__all__ = ["CLASSIFIER_TASKS", "Columns", "NewRows", "build_rows", "rows_digest"]

#: Tasks whose models a flywheel cycle retrains.
CLASSIFIER_TASKS = ("classification", "text_classification")


class _Skip(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Columns:
    """How a label becomes a row of the champion's dataset.

    Attributes
    ----------
    target : str
        The target column.
    text : str or None
        The text column (text classifiers).
    features : tuple of str
        Feature columns in the model's order (tabular classifiers).
    classes : tuple
        The champion's classes (labels outside them are skipped).
    """

    target: str
    text: str | None
    features: tuple[str, ...]
    classes: tuple[Any, ...]

    @classmethod
    def of(cls, champion: ModelVersion) -> Columns:
        """Read the columns of a champion classifier.

        Raises
        ------
        InvalidInput
            ``not_a_classifier`` (no target or no classes recorded).
        """
        text = next((c for c, r in champion.column_roles.items() if r == "text"), None)
        if champion.target is None or not champion.classes:
            raise InvalidInput(
                f"{champion.ref} records no target column or classes; a flywheel cycle "
                "retrains classifiers",
                code="not_a_classifier",
            )
        features = () if text is not None else tuple(champion.feature_columns)
        return cls(champion.target, text, features, tuple(champion.classes))

    @property
    def inputs(self) -> list[str]:
        """The columns the model reads."""
        return [self.text] if self.text is not None else list(self.features)

    def values(self, item: LabeledInput) -> dict[str, Any]:
        """The row's values of :attr:`inputs` and the target (raises ``_Skip``)."""
        label = self._label(item.label)
        if self.text is not None:
            return {self.text: self._text(item.input), self.target: label}
        data = item.input
        if isinstance(data, list) and len(data) == len(self.features):
            data = dict(zip(self.features, data, strict=True))
        if not isinstance(data, dict) or any(f not in data for f in self.features):
            raise _Skip("invalid_input")
        return {**{f: data[f] for f in self.features}, self.target: label}

    def _text(self, value: Any) -> str:
        if isinstance(value, dict):
            value = value.get("text", value.get(self.text))
        if not isinstance(value, str) or not value.strip():
            raise _Skip("invalid_input")
        return value

    def _label(self, label: Any) -> Any:
        for known in self.classes:
            if str(known) == str(label):
                return known
        raise _Skip("unknown_label")


@dataclass
class NewRows:
    """The rows a cycle adds, and what it left out.

    Attributes
    ----------
    table : pyarrow.Table or None
        The new rows with the parent's columns and types (None when there are none).
    by_source : dict of str to int
        Rows added per source (``queue:<name>``, ``feedback``).
    origins : dict of str to dict of str to int
        Per source, rows added per origin (what queued each task).
    skipped : dict of str to int
        Labels left out, by reason (see the module docstring).
    overlap : dict of str to int
        Added rows whose input already is a row of the parent's ``train`` or
        ``validation`` split.
    digest : str or None
        SHA-256 (hex) of the rows as a multiset (each row's canonical JSON hashed,
        the hashes sorted, then hashed together): two cycles that would add the same
        rows, in any order and from any labels, have the same digest. None when
        there are no rows.
    """

    table: pa.Table | None
    by_source: dict[str, int] = field(default_factory=dict)
    origins: dict[str, dict[str, int]] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    overlap: dict[str, int] = field(default_factory=dict)
    digest: str | None = None

    @property
    def count(self) -> int:
        """Rows added."""
        return 0 if self.table is None else self.table.num_rows


def _key(values: Sequence[Any]) -> str:
    return hash_input(to_jsonable(list(values), default=str))


def build_rows(items: Sequence[LabeledInput], columns: Columns, parent: DatasetVersion) -> NewRows:
    """Map gathered labels to rows of ``parent`` (see the module docstring).

    Parameters
    ----------
    items : sequence of LabeledInput
    columns : Columns
    parent : DatasetVersion
        The champion's training dataset version (with its split).

    Returns
    -------
    NewRows
    """
    base = parent.to_arrow()
    schema = base.schema
    inputs = columns.inputs
    codes = parent.split_codes()
    existing = zip(base.select(inputs).to_pylist(), codes.tolist(), strict=True)
    where: dict[str, set[int]] = {}
    for row, code in existing:
        where.setdefault(_key([row[c] for c in inputs]), set()).add(int(code))
    skipped: Counter[str] = Counter()
    chosen: dict[str, tuple[tuple[int, Any, str], LabeledInput, pa.Table]] = {}
    mapped = 0
    for item in items:
        try:
            values = columns.values(item)
            full = {name: values.get(name) for name in schema.names}
            one = pa.Table.from_pylist([full], schema=schema)
        except _Skip as skip:
            skipped[skip.reason] += 1
            continue
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, ValueError, TypeError):
            skipped["invalid_input"] += 1
            continue
        mapped += 1
        cast = one.select(inputs).to_pylist()[0]
        key = _key([cast[c] for c in inputs])
        rank = (0 if item.source == FEEDBACK else 1, item.at, item.ref)
        if key not in chosen or rank > chosen[key][0]:
            chosen[key] = (rank, item, one)
    if mapped > len(chosen):
        skipped["duplicate"] += mapped - len(chosen)
    kept: list[tuple[LabeledInput, pa.Table]] = []
    overlap: Counter[str] = Counter()
    for key, (_, item, one) in chosen.items():
        seen = where.get(key, set())
        if TEST in seen:
            skipped["in_test_split"] += 1
            continue
        for code in seen:
            overlap[SPLIT_NAMES[code]] += 1
        kept.append((item, one))
    kept.sort(key=lambda pair: (pair[0].at, pair[0].ref))
    by_source: Counter[str] = Counter(item.source for item, _ in kept)
    origins: dict[str, Counter[str]] = {}
    for item, _ in kept:
        origins.setdefault(item.source, Counter())[item.origin] += 1
    table = pa.concat_tables([one for _, one in kept]) if kept else None
    return NewRows(
        table=table,
        by_source=dict(sorted(by_source.items())),
        origins={s: dict(sorted(c.items())) for s, c in sorted(origins.items())},
        skipped=dict(sorted(skipped.items())),
        overlap=dict(sorted(overlap.items())),
        digest=None if table is None else rows_digest(table),
    )


def rows_digest(table: pa.Table) -> str:
    """SHA-256 (hex) of ``table``'s rows as a multiset (order does not count).

    Each row's canonical JSON is hashed (:func:`~baryon.predictions.log.hash_input`),
    the hashes are sorted and hashed together.
    """
    rows = sorted(_key(list(row.values())) for row in table.to_pylist())
    return hash_input(rows)
