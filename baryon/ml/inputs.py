"""Input contracts of tabular models: what a feature row must hold, and how a JSON row
becomes the model's input.

A tabular model version carries an :class:`InputContract`, declared when it is trained
(``baryon train ... --missing impute``, ``POST /v1/runs {"missing": "impute"}``) and
stored with the version (``extra["inputs"]``). :func:`read_rows` is the one place a
prediction request's rows (objects ``{feature: value}`` or lists of values in feature
order) become the frame the model reads; it applies the contract to every row:

========================  =============================================================
a feature's value         answer
========================  =============================================================
of the feature's type     used as given
``null`` or key missing   ``missing="strict"`` (the default): refused;
                          ``missing="impute"``: the training statistic, and the row
                          says which features were imputed
another type              refused, in both policies: a boolean is never a number
                          (``true`` is not ``1``), a string never a number (``"0.7"``),
                          a number never a string or a boolean
an object or array        refused
a key the model does not  refused, in both policies (a misspelt feature is an error,
know                      never silently dropped)
========================  =============================================================

Feature types come from the training dataset's schema: ``int`` and ``float`` columns
take JSON numbers, ``bool`` columns ``true``/``false``, ``string`` and ``category``
columns strings, ``datetime`` columns ISO 8601 strings. The training statistic is the
median of the training split (numbers) or its most frequent value (other types; ties
go to the first in sorted order). A contract without a feature's type (a version
trained before contracts, whose dataset cannot be read) takes a number or a string
there.

Every refused row is reported at once in one ``InvalidInput`` with code
``invalid_features``: ``details["errors"]`` lists ``{"row", "field", "problem",
"expected", "got"}`` (``problem`` is ``null``, ``missing``, ``wrong_type``,
``unknown_feature``, ``wrong_length`` or ``not_a_row``; at most 50 entries).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from baryon.core.errors import InvalidInput
from baryon.core.jsonvalues import to_jsonable

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "FEATURE_TYPES",
    "IMPUTED_FLAG",
    "MISSING_POLICIES",
    "FeatureRows",
    "InputContract",
    "check_missing_policy",
    "input_contract",
    "read_rows",
]

#: What to do with a null or absent feature: refuse it, or fill in the training value.
MISSING_POLICIES = ("strict", "impute")
#: Dataset column type → the JSON type its feature takes.
FEATURE_TYPES = {
    "int": "number",
    "float": "number",
    "bool": "boolean",
    "string": "string",
    "category": "string",
    "datetime": "datetime",
}
#: Response flag of a prediction in which at least one feature was imputed.
IMPUTED_FLAG = "imputed_input"
_MAX_REPORTED = 50
_EXPECTED = {
    "number": "a number",
    "boolean": "true or false",
    "string": "a string",
    "datetime": "an ISO 8601 date-time string",
    None: "a number or a string",
}


def check_missing_policy(missing: str) -> str:
    """Return ``missing`` if it is one of :data:`MISSING_POLICIES`.

    Raises
    ------
    InvalidInput
        Code ``invalid_missing_policy``.
    """
    if missing not in MISSING_POLICIES:
        raise InvalidInput(
            f"missing must be one of {', '.join(MISSING_POLICIES)}, got {missing!r}",
            code="invalid_missing_policy",
        )
    return missing


@dataclass(frozen=True)
class InputContract:
    """What each feature of a tabular model takes, and what a null or absent one becomes.

    Attributes
    ----------
    missing : str
        ``"strict"`` (refuse) or ``"impute"`` (fill in ``fill[feature]``).
    types : mapping of str to str
        Feature → JSON type: ``number``, ``boolean``, ``string`` or ``datetime``. A
        feature not listed takes a number or a string.
    fill : mapping of str to object
        Feature → training statistic (JSON value; ``None``: no value to impute, the
        feature is then refused as under ``strict``).
    """

    missing: str = "strict"
    types: Mapping[str, str] = field(default_factory=dict)
    fill: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form stored with a model version (``extra["inputs"]``)."""
        return {"missing": self.missing, "types": dict(self.types), "fill": dict(self.fill)}

    @classmethod
    def from_dict(cls, data: Any) -> InputContract | None:
        """Read the JSON form back; ``None`` when ``data`` is not one (older versions)."""
        if not isinstance(data, Mapping) or data.get("missing") not in MISSING_POLICIES:
            return None
        types: Mapping[str, Any] = data["types"] if isinstance(data.get("types"), Mapping) else {}
        fill: Mapping[str, Any] = data["fill"] if isinstance(data.get("fill"), Mapping) else {}
        return cls(
            missing=str(data["missing"]),
            types={str(k): str(v) for k, v in types.items() if v in _EXPECTED},
            fill={str(k): v for k, v in fill.items()},
        )

    @classmethod
    def from_schema(cls, schema: Mapping[str, str], features: Sequence[str]) -> InputContract:
        """A strict contract typed from a dataset schema (column → ``int``, ``bool``, ...)."""
        return cls(types=_types(schema, features))


def input_contract(
    X: pd.DataFrame, schema: Mapping[str, str], *, missing: str = "strict"
) -> InputContract:
    """Build the contract of a model trained on ``X``.

    Parameters
    ----------
    X : pandas.DataFrame of shape (n_samples, n_features)
        The training split's feature columns.
    schema : mapping of str to str
        The dataset version's column types (``int``, ``float``, ``bool``, ``string``,
        ``category``, ``datetime``).
    missing : str
        ``"strict"`` or ``"impute"``.

    Returns
    -------
    InputContract
        Typed from ``schema``; ``fill`` holds each feature's median (numbers) or most
        frequent value (others; ties to the first in sorted order) over the non-null
        training values, ``None`` when it has none.

    Raises
    ------
    InvalidInput
        ``invalid_missing_policy``.
    """
    check_missing_policy(missing)
    features = [str(c) for c in X.columns]
    types = _types(schema, features)
    fill: dict[str, Any] = {}
    for name in features:
        values = X[name].dropna()
        if values.empty:
            fill[name] = None
        elif types.get(name) == "number":
            fill[name] = float(values.astype(float).median())
        else:
            counts = values.map(_text).value_counts()
            best = sorted(counts[counts == counts.max()].index)[0]
            fill[name] = to_jsonable(values[values.map(_text) == best].iloc[0], default=str)
    return InputContract(missing=missing, types=types, fill=fill)


@dataclass(frozen=True)
class FeatureRows:
    """Rows read under a contract.

    Attributes
    ----------
    frame : pandas.DataFrame of shape (n_rows, n_features)
        Features in the model's order (columns as in the rows when the model names
        none).
    imputed : list of list of str
        Per row, the features filled with their training value (empty: none).
    """

    frame: pd.DataFrame
    imputed: list[list[str]]


def read_rows(
    inputs: Sequence[Any], features: Sequence[str], contract: InputContract | None = None
) -> FeatureRows:
    """Turn the JSON rows of a prediction request into the model's input frame.

    Parameters
    ----------
    inputs : sequence
        One row per prediction: an object ``{feature: value}``, or a list of values in
        the order of ``features``.
    features : sequence of str
        The model's feature columns, in its order (empty: unknown; then each row must
        be an object, and its keys are the columns).
    contract : InputContract, optional
        Default: strict, no types.

    Returns
    -------
    FeatureRows

    Raises
    ------
    InvalidInput
        Code ``invalid_features``, listing every refused value (see the module
        docstring).
    """
    import pandas as pd

    contract = contract or InputContract()
    named = bool(features)
    # Without the model's features, the rows name the columns (keys, or positions of
    # lists), and each row must have them all.
    columns: list[Any] = list(features) if named else _keys_of(inputs)
    errors: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    imputed: list[list[str]] = []
    for index, raw in enumerate(inputs):
        row, filled = _read_row(index, raw, columns, named, contract, errors)
        rows.append(row)
        imputed.append(filled)
    if errors:
        raise _refused(errors, contract)
    frame = pd.DataFrame([[row[c] for c in columns] for row in rows], columns=columns)
    return FeatureRows(frame=frame, imputed=imputed)


# ----------------------------------------------------------------------- helpers
def _types(schema: Mapping[str, str], features: Sequence[str]) -> dict[str, str]:
    return {f: FEATURE_TYPES[schema[f]] for f in features if schema.get(f) in FEATURE_TYPES}


def _text(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _keys_of(inputs: Sequence[Any]) -> list[Any]:
    keys: dict[Any, None] = {}
    for raw in inputs:
        if isinstance(raw, dict):
            keys.update(dict.fromkeys(raw))
        elif isinstance(raw, list):
            keys.update(dict.fromkeys(range(len(raw))))
    return list(keys)


def _read_row(
    index: int,
    raw: Any,
    columns: list[Any],
    named: bool,
    contract: InputContract,
    errors: list[dict[str, Any]],
) -> tuple[dict[str, Any], list[str]]:
    """One row as ``{feature: value}`` and the features imputed in it (errors appended)."""
    if isinstance(raw, list):
        if not named:  # positions are the columns
            raw = dict(enumerate(raw))
        elif len(raw) != len(columns):
            expected = f"{len(columns)} values ({', '.join(columns)})"
            errors.append(_error(index, None, "wrong_length", expected, f"{len(raw)} values"))
            return {}, []
        else:
            raw = dict(zip(columns, raw, strict=True))
    elif not isinstance(raw, dict):
        errors.append(_error(index, None, "not_a_row", "an object of features", _kind(raw)))
        return {}, []
    row: dict[str, Any] = {}
    filled: list[str] = []
    known = set(columns)
    for key in raw:
        if key not in known:
            errors.append(_error(index, key, "unknown_feature", "no such feature", _kind(raw[key])))
    for name in columns:
        wanted = contract.types.get(name)
        if name not in raw or raw[name] is None:
            value = contract.fill.get(name)
            if contract.missing == "impute" and value is not None:
                row[name] = value
                filled.append(name)
            else:
                problem = "missing" if name not in raw else "null"
                errors.append(_error(index, name, problem, _EXPECTED[wanted], problem))
            continue
        value = raw[name]
        if not _fits(value, wanted):
            errors.append(_error(index, name, "wrong_type", _EXPECTED[wanted], _kind(value)))
            continue
        row[name] = value
    return row, filled


def _fits(value: Any, wanted: str | None) -> bool:
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if is_number and isinstance(value, float) and not math.isfinite(value):
        return False
    if wanted == "number":
        return is_number
    if wanted == "boolean":
        return isinstance(value, bool)
    if wanted == "string":
        return isinstance(value, str)
    if wanted == "datetime":
        return isinstance(value, str) and _is_datetime(value)
    return is_number or isinstance(value, str)


def _is_datetime(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__


def _error(row: int, field: str | None, problem: str, expected: Any, got: str) -> dict[str, Any]:
    return {"row": row, "field": field, "problem": problem, "expected": expected, "got": got}


def _refused(errors: list[dict[str, Any]], contract: InputContract) -> InvalidInput:
    first = errors[0]
    where = f"inputs[{first['row']}]" + ("" if first["field"] is None else f".{first['field']}")
    if first["problem"] == "unknown_feature":
        what = "is not a feature of this model"
    elif first["problem"] in ("missing", "null"):
        what = f"is {first['problem']} (expected {first['expected']}; missing={contract.missing})"
    else:
        what = f"expected {first['expected']}, got {first['got']}"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return InvalidInput(
        f"{where} {what}{more}",
        code="invalid_features",
        details={"missing": contract.missing, "errors": errors[:_MAX_REPORTED]},
    )
