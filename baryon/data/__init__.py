"""Baryon's data layer: sources, cleaning, quality reports, versions and splits.

The usual entry point is the workspace's dataset store::

    from baryon import Settings, Workspace

    ws = Workspace.open(Settings())
    v1 = ws.datasets.ingest("tickets.csv", name="tickets")
    v2 = ws.datasets.clean("tickets", ["drop_duplicates", "trim", "mask_pii"])
    v3 = ws.datasets.split("tickets", strategy="stratified", seed=42)
    train = v3.to_pandas(split="train")

Modules: :mod:`~baryon.data.sources` (reading files), :mod:`~baryon.data.schema`
(types and roles), :mod:`~baryon.data.cleaning` and :mod:`~baryon.data.recipes`
(cleaning steps), :mod:`~baryon.data.pii`, :mod:`~baryon.data.quality`,
:mod:`~baryon.data.splits`, :mod:`~baryon.data.versions`. A dataset is named by a
reference (``tickets``, ``tickets:3``, ``tickets@latest``) parsed by
:func:`baryon.core.refs.parse_ref`.
"""

from __future__ import annotations

from baryon.data.quality import ReportBuilder, build_report
from baryon.data.recipes import STEPS, load_recipe, parse_step, parse_steps
from baryon.data.schema import LOGICAL_TYPES, ROLES, suggest_roles
from baryon.data.sources import FORMATS, open_source, read_table
from baryon.data.splits import SPLIT_NAMES, STRATEGIES, assign_split
from baryon.data.versions import DatasetStore, DatasetVersion

__all__ = [
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
