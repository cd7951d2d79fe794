"""The public surface of baryon.data is pinned."""

from __future__ import annotations

import baryon.data


def test_all_is_pinned_and_every_name_exists() -> None:
    assert baryon.data.__all__ == [
        "FORMATS",
        "LOGICAL_TYPES",
        "ROLES",
        "SPLIT_NAMES",
        "STEPS",
        "STRATEGIES",
        "DatasetStore",
        "DatasetVersion",
        "ReportBuilder",
        "assign_split",
        "build_report",
        "load_recipe",
        "open_source",
        "parse_step",
        "parse_steps",
        "read_table",
        "suggest_roles",
    ]
    for name in baryon.data.__all__:
        assert getattr(baryon.data, name) is not None


def test_roles_and_types_are_the_contracts_vocabulary() -> None:
    assert baryon.data.ROLES == (
        "id", "text", "label", "user", "item", "rating", "timestamp", "feature", "ignore",
    )  # fmt: skip
    assert baryon.data.LOGICAL_TYPES == ("int", "float", "bool", "datetime", "string", "category")
