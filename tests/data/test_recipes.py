"""The STEP[:ARGS] syntax, dict and YAML forms, and running steps with lineage."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from baryon.core.errors import InvalidFile, InvalidInput
from baryon.data.recipes import (
    STEPS,
    apply_steps,
    load_recipe,
    parse_step,
    parse_steps,
    read_recipe,
)


def test_parse_step_bare_name() -> None:
    assert parse_step("drop_duplicates") == {"step": "drop_duplicates"}
    assert parse_step("Drop-Duplicates") == {"step": "drop_duplicates"}


def test_parse_step_bare_values_are_columns() -> None:
    assert parse_step("trim:text+title") == {"step": "trim", "columns": ["text", "title"]}
    assert parse_step("mask_pii:text,kinds=email+card") == {
        "step": "mask_pii",
        "columns": ["text"],
        "kinds": ["email", "card"],
    }


def test_parse_step_missing_pairs_with_fill_values() -> None:
    assert parse_step("missing:age=median,city=fill=unknown,score=flag") == {
        "step": "missing",
        "columns": {
            "age": {"strategy": "median"},
            "city": {"strategy": "fill", "value": "unknown"},
            "score": {"strategy": "flag"},
        },
    }


def test_parse_step_string_dict_and_single_key_forms_agree() -> None:
    expected = parse_step("dedupe:key=user+item,keep=mean")
    assert parse_step({"step": "dedupe", "key": ["user", "item"], "keep": "mean"}) == expected
    assert parse_step({"dedupe": {"key": "user+item", "keep": "MEAN"}}) == expected
    assert parse_step({"missing": {"age": {"fill": 0}}}) == {
        "step": "missing",
        "columns": {"age": {"strategy": "fill", "value": 0}},
    }


@pytest.mark.parametrize(
    ("spec", "code"),
    [
        ("explode", "unknown_step"),
        ("dedupe", "invalid_step_args"),
        ("dedupe:key=a,keep=median", "invalid_step_args"),
        ("trim:colour=red", "invalid_step_args"),
        ("flag_outliers:k=-1", "invalid_step_args"),
        ("flag_outliers:k=wide", "invalid_step_args"),
        ("mask_pii:kinds=ssn", "invalid_step_args"),
        ("missing", "invalid_step_args"),
        ("missing:age=guess", "invalid_step_args"),
        ("missing:age=fill", "invalid_step_args"),
        ("set_role:age=target", "invalid_role"),
    ],
)
def test_parse_step_bad_specs_raise_named_errors(spec: str, code: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_step(spec)
    assert info.value.code == code


def test_parse_step_unknown_step_message_lists_steps() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_step("explode")
    assert all(name in info.value.message for name in STEPS)


def test_parse_steps_empty_list_is_refused() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_steps([])
    assert info.value.code == "no_steps"


def test_load_recipe_reads_list_or_steps_key(tmp_path: Path) -> None:
    recipe = tmp_path / "r.yaml"
    recipe.write_text("steps:\n  - drop_duplicates\n  - step: missing\n    age: median\n")
    assert load_recipe(recipe) == [
        {"step": "drop_duplicates"},
        {"step": "missing", "columns": {"age": {"strategy": "median"}}},
    ]
    recipe.write_text("- trim\n- {mask_pii: {columns: [text]}}\n")
    assert load_recipe(recipe)[1] == {"step": "mask_pii", "columns": ["text"]}


@pytest.mark.parametrize(
    ("content", "code"),
    [("steps: [unclosed", "invalid_recipe"), ("just text", "invalid_recipe")],
)
def test_load_recipe_bad_files(tmp_path: Path, content: str, code: str) -> None:
    recipe = tmp_path / "bad.yaml"
    recipe.write_text(content)
    with pytest.raises(InvalidFile) as info:
        load_recipe(recipe)
    assert info.value.code == code


def test_load_recipe_broken_yaml_error_is_one_line(tmp_path: Path) -> None:
    # PyYAML's message spans several lines; the CLI prints errors as one line
    recipe = tmp_path / "broken.yaml"
    recipe.write_text(": : :\n  - [\n")
    with pytest.raises(InvalidFile) as info:
        load_recipe(recipe)
    assert info.value.code == "invalid_recipe"
    assert "\n" not in str(info.value)
    assert "line 1" in str(info.value)


def test_load_recipe_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidFile) as info:
        load_recipe(tmp_path / "nope.yaml")
    assert info.value.code == "file_not_found"


def test_apply_steps_runs_in_order_and_records_lineage() -> None:
    frame = pd.DataFrame({"t": [" a ", "a", "b", None], "n": [1.0, 1.0, None, 3.0]})
    steps = parse_steps(["trim", "drop_duplicates", "missing:n=fill=0,t=drop"])
    out, roles, lineage = apply_steps(frame, {"t": "text", "n": "feature"}, steps)
    assert out.to_dict("list") == {"t": ["a", "b"], "n": [1.0, 0.0]}
    assert [e["step"] for e in lineage] == ["trim", "drop_duplicates", "missing"]
    assert [(e["rows_before"], e["rows_after"]) for e in lineage] == [(4, 4), (4, 3), (3, 2)]
    assert lineage[1]["report"] == {"dropped": 1}
    assert roles == {"t": "text", "n": "feature"}


def test_read_recipe_text_same_as_file(tmp_path: Path) -> None:
    text = "steps:\n  - trim\n  - {step: drop_duplicates}\n"
    (tmp_path / "r.yaml").write_text(text)
    assert read_recipe(text) == load_recipe(tmp_path / "r.yaml")
    with pytest.raises(InvalidFile) as err:
        read_recipe("just text", source="the body")
    assert err.value.code == "invalid_recipe"
    assert err.value.message.startswith("the body must hold a list of steps")


@pytest.mark.parametrize(
    "text", ["[" * 5_000 + "]" * 5_000, "steps:\n- " + "{a: " * 2_000 + "}" * 2_000]
)
def test_read_recipe_deep_nesting_too_deep_not_recursion_error(text: str) -> None:
    # Broke as RecursionError from PyYAML's composer (a 500 on POST .../clean).
    with pytest.raises(InvalidFile) as err:
        read_recipe(text, source="the body")
    assert err.value.code == "too_deep"
