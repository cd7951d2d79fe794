"""Cleaning recipes: the ``STEP[:ARGS]`` syntax, YAML recipes and the step registry.

A step is written in one of three ways, all normalised by :func:`parse_step` to one
canonical dict (what lineage records and what makes a clean repeatable):

- a string ``"missing:age=median,city=fill=unknown"`` (the CLI's ``--step``);
- a dict ``{"step": "missing", "age": "median"}`` or ``{"missing": {"age": "median"}}``;
- an entry of a YAML recipe file (a list of the above, or ``{"steps": [...]}``).

In ``ARGS``, pieces are separated by commas; ``key=value`` sets a parameter, a bare
value names columns (``text+title`` for several). For ``missing`` and ``set_role``
every ``column=value`` pair that is not a parameter is a per-column setting.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pandas as pd

from baryon.core.errors import BaryonError, InvalidFile, InvalidInput
from baryon.data import cleaning
from baryon.data.pii import PII_KINDS
from baryon.data.schema import ROLES

__all__ = [
    "STEPS",
    "Param",
    "Step",
    "apply_steps",
    "load_recipe",
    "parse_step",
    "parse_steps",
    "read_recipe",
]


@dataclass(frozen=True)
class Param:
    """One parameter of a step.

    Attributes
    ----------
    kind : str
        ``columns`` (list of names), ``choice``, ``float``, ``kinds`` (PII kinds).
    required : bool
        Must be given.
    choices : tuple of str
        Allowed values of a ``choice``.
    """

    kind: str
    required: bool = False
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Step:
    """A registered cleaning step: its function, parameters and one-line summary."""

    name: str
    func: Callable[..., cleaning.StepResult]
    summary: str
    params: Mapping[str, Param] = field(default_factory=dict)
    per_column: str | None = None  # "missing" or "role": column=value pairs allowed


def _cols(required: bool = False) -> Param:
    return Param("columns", required=required)


STEPS: Mapping[str, Step] = MappingProxyType(
    {
        s.name: s
        for s in (
            Step("drop_duplicates", cleaning.drop_duplicates, "drop rows equal to an earlier row",
                 {"columns": _cols()}),
            Step("dedupe", cleaning.dedupe, "one row per key (keep first, last or mean)",
                 {"key": _cols(True), "keep": Param("choice", choices=("first", "last", "mean")),
                  "mean_of": _cols()}),
            Step("normalize_unicode", cleaning.normalize_unicode,
                 "NFC, invalid code points to U+FFFD",
                 {"columns": _cols(), "form": Param("choice", choices=("NFC", "NFKC"))}),
            Step("trim", cleaning.trim, "strip surrounding whitespace", {"columns": _cols()}),
            Step("drop_empty_text", cleaning.drop_empty_text, "drop rows with blank text",
                 {"columns": _cols()}),
            Step("strip_urls", cleaning.strip_urls, "remove links from text", {"columns": _cols()}),
            Step("strip_html", cleaning.strip_html, "remove tags, decode entities",
                 {"columns": _cols()}),
            Step("missing", cleaning.handle_missing,
                 "per column: drop, fill=VALUE, median, mean, mode or flag", {},
                 per_column="missing"),
            Step("coerce_numeric", cleaning.coerce_numeric, "text to numbers, failures reported",
                 {"columns": _cols(True),
                  "decimal": Param("choice", choices=("point", "comma"))}),
            Step("flag_outliers", cleaning.flag_outliers, "add <col>_outlier (IQR rule)",
                 {"columns": _cols(), "k": Param("float")}),
            Step("mask_pii", cleaning.mask_pii, "mask e-mails, phones, cards, IBANs",
                 {"columns": _cols(), "kinds": Param("kinds")}),
            Step("drop_columns", cleaning.drop_columns, "remove columns", {"columns": _cols(True)}),
            Step("set_role", cleaning.set_role, "set column roles (col=role)", {},
                 per_column="role"),
        )
    }
)  # fmt: skip


def _bad(message: str) -> InvalidInput:
    return InvalidInput(message, code="invalid_step_args")


def _as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [v.strip() for v in value.split("+") if v.strip()]
    if isinstance(value, Sequence):
        return [str(v) for v in value]
    return [str(value)]


def _convert(step: Step, key: str, value: Any) -> Any:
    param = step.params[key]
    if param.kind == "columns":
        columns = _as_list(value)
        if not columns:
            raise _bad(f"step {step.name!r}: {key} needs at least one column")
        return columns
    if param.kind == "kinds":
        kinds = [k.lower() for k in _as_list(value)]
        unknown = [k for k in kinds if k not in PII_KINDS]
        if unknown or not kinds:
            raise _bad(f"step {step.name!r}: kinds must be among {', '.join(PII_KINDS)}")
        return kinds
    if param.kind == "float":
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise _bad(f"step {step.name!r}: {key} must be a number, not {value!r}") from None
        if number <= 0:
            raise _bad(f"step {step.name!r}: {key} must be positive")
        return number
    text = str(value).strip()
    match = {c.lower(): c for c in param.choices}.get(text.lower())
    if match is None:
        raise _bad(f"step {step.name!r}: {key} must be one of {', '.join(param.choices)}")
    return match


def _missing_spec(column: str, value: Any) -> dict[str, Any]:
    if isinstance(value, Mapping):
        strategy, fill = str(value.get("strategy", "")).lower(), value.get("value")
        if strategy == "" and "fill" in value:
            strategy, fill = "fill", value["fill"]
    else:
        text = str(value).strip()
        strategy, _, fill_text = text.partition("=")
        if not _:
            strategy, _, fill_text = text.partition(":")
        strategy = strategy.strip().lower()
        fill = fill_text if _ else None
    if strategy not in cleaning._MISSING_STRATEGIES:
        raise _bad(
            f"missing: strategy for {column!r} must be one of "
            f"{', '.join(cleaning._MISSING_STRATEGIES)} (fill=VALUE), not {value!r}"
        )
    if strategy == "fill":
        if fill is None or str(fill) == "":
            raise _bad(f"missing: fill for {column!r} needs a value (fill=VALUE)")
        return {"strategy": "fill", "value": fill}
    return {"strategy": strategy}


def _split_args(text: str) -> tuple[dict[str, str], list[str]]:
    pairs: dict[str, str] = {}
    bare: list[str] = []
    for piece in (p.strip() for p in text.split(",")):
        if not piece:
            continue
        key, eq, value = piece.partition("=")
        if eq:
            pairs[key.strip()] = value.strip()
        else:
            bare.append(piece)
    return pairs, bare


def parse_step(spec: str | Mapping[str, Any]) -> dict[str, Any]:
    """Normalise one step to its canonical dict ``{"step": name, **params}``.

    Parameters
    ----------
    spec : str or mapping
        ``"NAME[:ARGS]"``, ``{"step": NAME, ...}`` or ``{NAME: {...}}``.

    Raises
    ------
    InvalidInput
        ``unknown_step`` (the message lists the steps) or ``invalid_step_args``.
    """
    if isinstance(spec, str):
        name, _, args = spec.strip().partition(":")
        pairs, bare = _split_args(args)
        raw: dict[str, Any] = dict(pairs)
        if bare:
            raw.setdefault("columns", "+".join(bare))
    elif isinstance(spec, Mapping):
        if "step" in spec:
            name, raw = str(spec["step"]), {k: v for k, v in spec.items() if k != "step"}
        elif len(spec) == 1:
            name, value = next(iter(spec.items()))
            name = str(name)
            raw = (
                dict(value)
                if isinstance(value, Mapping)
                else ({} if value is None else {"columns": value})
            )
        else:
            raise _bad(f"a step dict needs a 'step' key: {dict(spec)!r}")
    else:
        raise _bad(f"a step is a string or a dict, not {type(spec).__name__}")
    name = name.strip().lower().replace("-", "_")
    step = STEPS.get(name)
    if step is None:
        raise InvalidInput(
            f"unknown cleaning step {name!r}; the steps are {', '.join(STEPS)}",
            code="unknown_step",
        )
    out: dict[str, Any] = {"step": name}
    if step.per_column is not None:
        given = raw.pop("columns", None)
        mapping: dict[str, Any] = dict(given) if isinstance(given, Mapping) else {}
        if given is not None and not isinstance(given, Mapping):
            raise _bad(f"step {name!r} takes column=value pairs, e.g. {name}:age=median")
        mapping.update(raw)
        if not mapping:
            raise _bad(f"step {name!r} needs at least one column=value pair")
        if step.per_column == "missing":
            out["columns"] = {str(c): _missing_spec(str(c), v) for c, v in mapping.items()}
        else:
            bad = {c: v for c, v in mapping.items() if str(v).lower() not in ROLES}
            if bad:
                raise InvalidInput(
                    f"set_role: unknown role(s) {bad}; use one of {', '.join(ROLES)}",
                    code="invalid_role",
                )
            out["columns"] = {str(c): str(v).lower() for c, v in mapping.items()}
        return out
    for key, value in raw.items():
        if key not in step.params:
            allowed = ", ".join(step.params) or "none"
            raise _bad(f"step {name!r} has no parameter {key!r} (parameters: {allowed})")
        out[key] = _convert(step, key, value)
    missing = [k for k, p in step.params.items() if p.required and k not in out]
    if missing:
        raise _bad(f"step {name!r} needs {', '.join(missing)} (e.g. {name}:COLUMN)")
    return out


def parse_steps(specs: Sequence[str | Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Normalise a list of steps (see :func:`parse_step`); an empty list is an error."""
    if not specs:
        raise InvalidInput("no cleaning steps given", code="no_steps")
    return [parse_step(s) for s in specs]


def load_recipe(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Read a YAML recipe file (a list of steps, or ``{"steps": [...]}``) and normalise it.

    Raises
    ------
    InvalidFile
        ``file_not_found`` or ``invalid_recipe`` (not YAML, or not a list of steps).
    InvalidInput
        From :func:`parse_step`.
    """
    p = Path(path)
    if not p.is_file():
        raise InvalidFile(f"no such recipe file: {p}", code="file_not_found")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        reason = " ".join(str(exc).split())
        raise InvalidFile(f"{p.name} is not valid YAML: {reason}", code="invalid_recipe") from None
    return read_recipe(text, source=p.name)


def read_recipe(text: str, *, source: str = "the recipe") -> list[dict[str, Any]]:
    """Parse a recipe's YAML text (a list of steps, or ``{"steps": [...]}``) and normalise it.

    Parameters
    ----------
    text : str
        The YAML document (what a recipe file holds; what ``POST
        /v1/datasets/{name}/clean`` takes as ``recipe``).
    source : str
        What to call it in error messages (a file name).

    Raises
    ------
    InvalidFile
        ``invalid_recipe`` (not YAML, or not a list of steps), ``too_deep`` (lists or
        mappings nested deeper than the YAML parser can follow).
    InvalidInput
        From :func:`parse_step`.
    """
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        reason = " ".join(str(exc).split())  # PyYAML messages span lines; errors are one line
        raise InvalidFile(f"{source} is not valid YAML: {reason}", code="invalid_recipe") from None
    except RecursionError:  # PyYAML's composer recurses once per level of nesting
        raise InvalidFile(f"{source} nests lists or mappings too deeply", code="too_deep") from None
    if isinstance(data, Mapping):
        data = data.get("steps")
    if not isinstance(data, list):
        raise InvalidFile(
            f"{source} must hold a list of steps (or 'steps:' with a list)",
            code="invalid_recipe",
        )
    return parse_steps(data)


def apply_steps(
    frame: pd.DataFrame, roles: Mapping[str, str], steps: Sequence[Mapping[str, Any]]
) -> tuple[pd.DataFrame, dict[str, str], list[dict[str, Any]]]:
    """Run canonical steps in order.

    Returns
    -------
    frame : pandas.DataFrame
        The cleaned frame.
    roles : dict
        Roles after the steps (new flag columns included, dropped columns removed).
    lineage : list of dict
        Each canonical step with ``rows_before``, ``rows_after`` and its ``report``.

    Raises
    ------
    InvalidInput
        A step's own error (``unknown_column``, ...), or ``step_failed`` when the data
        made a step fail in an unforeseen way (the message names the step).
    """
    current, current_roles = frame, dict(roles)
    lineage: list[dict[str, Any]] = []
    for spec in steps:
        step = STEPS[spec["step"]]
        params = {k: v for k, v in spec.items() if k != "step"}
        try:
            result = step.func(current, current_roles, **params)
        except BaryonError:
            raise
        except (TypeError, ValueError, KeyError, ArithmeticError) as exc:
            raise InvalidInput(
                f"cleaning step {step.name!r} failed: {type(exc).__name__}: {exc}",
                code="step_failed",
                details={"step": dict(spec)},
            ) from exc
        lineage.append(
            {
                **spec,
                "rows_before": len(current),
                "rows_after": len(result.frame),
                "report": result.report,
            }
        )
        current, current_roles = result.frame, result.roles
    return current, current_roles, lineage
