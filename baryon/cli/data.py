"""``baryon data ...``: ingest, clean, split, list, show, history, export and erase datasets.

Every command that makes a version prints its id on the first line
(``created dsv_...`` or ``unchanged dsv_...`` when the same input was already stored).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from baryon.cli._common import console, get_workspace, print_json
from baryon.cli.train import cli_actor
from baryon.core.errors import InvalidInput
from baryon.core.jsonvalues import to_jsonable
from baryon.data.schema import parse_pairs
from baryon.data.splits import split_options

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True, help="Ingest, clean, split and inspect datasets.")


def _say(text: str) -> None:
    """Print one plain line (no markup, no highlighting, never wrapped)."""
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def _report_made(version: Any, before: set[str]) -> None:
    state = "unchanged" if version.id in before else "created"
    _say(
        f"{state} {version.id}  {version.ref}  {version.row_count:,} rows × "
        f"{len(version.schema)} columns"
    )


def _print_columns(version: Any) -> None:
    from rich.table import Table

    stats = version.report.get("column_stats", {})
    table = Table("column", "type", "role", "missing", "distinct", "example")
    for column, logical in version.schema.items():
        col = stats.get(column, {})
        distinct = col.get("distinct", "")
        if col.get("distinct_estimated"):
            distinct = f"~{distinct}"
        examples = col.get("examples") or [""]
        table.add_row(
            column,
            logical,
            version.roles.get(column, ""),
            str(col.get("nulls", "")),
            str(distinct),
            str(examples[0])[:40],
        )
    console.print(table)


def _print_warnings(version: Any) -> None:
    for warning in version.report.get("warnings", []):
        _say(f"warning[{warning['code']}]: {warning['message']}")


@app.command("ingest")
def ingest_cmd(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="CSV/TSV (.gz), JSONL, JSON, Parquet or .xlsx.")],
    name: Annotated[str, typer.Option("--name", help="Dataset name.")],
    format: Annotated[
        str | None,
        typer.Option("--format", help="csv, tsv, jsonl, json, parquet or xlsx (default: guess)."),
    ] = None,
    delimiter: Annotated[
        str | None, typer.Option("--delimiter", help="Field delimiter, e.g. ';' or '\\t'.")
    ] = None,
    encoding: Annotated[
        str | None, typer.Option("--encoding", help="Text encoding, e.g. cp1252 (default: detect).")
    ] = None,
    role: Annotated[
        list[str] | None, typer.Option("--role", help="COLUMN=ROLE (repeatable).")
    ] = None,
    type_: Annotated[
        list[str] | None, typer.Option("--type", help="COLUMN=TYPE (repeatable).")
    ] = None,
    mask_pii: Annotated[
        list[str] | None,
        typer.Option(
            "--mask-pii",
            help="COLUMN[,COLUMN...]: mask e-mails, IBANs, card and phone numbers in these "
            "columns while reading; no unmasked version is ever stored (repeatable).",
        ),
    ] = None,
    sensitive: Annotated[
        bool,
        typer.Option(
            "--sensitive",
            help="Encrypt this dataset at rest (AES-256-GCM, key ring $BARYON_HOME/kek); "
            "every later version too.",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the version as JSON.")] = False,
) -> None:
    """Read a file into a new dataset version (same bytes and options: no new version)."""
    masked = None if not mask_pii else [c.strip() for v in mask_pii for c in v.split(",")]
    ws = get_workspace(ctx)
    before = set(ws.datasets.version_ids(name)) if name else set()
    version = ws.datasets.ingest(
        path,
        name=name,
        format=format,
        delimiter=delimiter,
        encoding=encoding,
        roles=parse_pairs(role, "--role"),
        types=parse_pairs(type_, "--type"),
        mask_pii=masked,
        sensitive=sensitive,
        progress=not as_json,
        actor=cli_actor(),
    )
    if as_json:
        print_json(_details(ws, version))
        return
    _report_made(version, before)
    for step in version.manifest.get("steps") or []:
        if step.get("step") == "mask_pii":
            found = {c: sum(k.values()) for c, k in step["report"]["masked"].items()}
            _say("masked at ingest: " + ", ".join(f"{c} ({n} found)" for c, n in found.items()))
    source = version.manifest.get("source") or {}
    if source.get("delimiter") is not None:
        _say(
            f"read as {source['format']}, encoding {source['encoding']}, "
            f"delimiter {source['delimiter']!r}"
        )
    _print_columns(version)
    _print_warnings(version)


@app.command("clean")
def clean_cmd(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(metavar="NAME[:VERSION]", help="Dataset to clean.")],
    step: Annotated[
        list[str] | None, typer.Option("--step", help="STEP[:ARGS] (repeatable, in order).")
    ] = None,
    recipe: Annotated[
        Path | None, typer.Option("--recipe", help="YAML file with a list of steps.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the version as JSON.")] = False,
) -> None:
    """Apply cleaning steps and store the result as a new version."""
    from baryon.data.recipes import STEPS, load_recipe

    if step and recipe is not None:
        raise InvalidInput("give --step options or --recipe, not both", code="invalid_option")
    if not step and recipe is None:
        raise InvalidInput(
            "give at least one --step (" + ", ".join(STEPS) + ") or a --recipe file",
            code="no_steps",
        )
    steps: list[Any] = list(step or []) if recipe is None else load_recipe(recipe)
    ws = get_workspace(ctx)
    before = set(ws.datasets.version_ids(ref))
    version = ws.datasets.clean(ref, steps, actor=cli_actor())
    if as_json:
        print_json(_details(ws, version))
        return
    _report_made(version, before)
    for entry in version.manifest.get("steps", []):
        _say(
            f"  {entry['step']}: {entry['rows_before']:,} → {entry['rows_after']:,} rows  "
            f"{_short(entry.get('report'))}"
        )
    _print_warnings(version)


def _short(report: Any) -> str:
    import json

    # one line for people: JSON with spaces after ',' and ':' (values by the one policy)
    text = json.dumps(to_jsonable(report, default=str), ensure_ascii=False)
    return text if len(text) <= 120 else text[:117] + "..."


@app.command("split")
def split_cmd(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(metavar="NAME[:VERSION]", help="Dataset to split.")],
    strategy: Annotated[
        str, typer.Option("--strategy", help="random, stratified, time or per-user.")
    ],
    test_size: Annotated[float, typer.Option("--test-size", help="Share of test rows.")] = 0.2,
    validation_size: Annotated[
        float, typer.Option("--validation-size", help="Share of validation rows.")
    ] = 0.1,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 42,
    label: Annotated[
        str | None, typer.Option("--label", help="Stratify by this column (default: label role).")
    ] = None,
    time_column: Annotated[
        str | None, typer.Option("--time-column", help="Time column (default: timestamp role).")
    ] = None,
    user_column: Annotated[
        str | None, typer.Option("--user-column", help="User column (default: user role).")
    ] = None,
    fraction: Annotated[
        float | None, typer.Option("--fraction", help="per-user: share of each user's rows.")
    ] = None,
    last_n: Annotated[
        int | None, typer.Option("--last-n", help="per-user: last N interactions of each user.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the version as JSON.")] = False,
) -> None:
    """Record a seeded train/validation/test split as a new version."""
    options = split_options(
        strategy,
        label=label,
        time_column=time_column,
        user_column=user_column,
        fraction=fraction,
        last_n=last_n,
    )
    ws = get_workspace(ctx)
    before = set(ws.datasets.version_ids(ref))
    version = ws.datasets.split(
        ref,
        strategy=strategy,
        test_size=test_size,
        validation_size=validation_size,
        seed=seed,
        actor=cli_actor(),
        **options,
    )
    if as_json:
        print_json(_details(ws, version))
        return
    _report_made(version, before)
    counts = (version.split or {}).get("counts", {})
    _say("  " + "  ".join(f"{k} {v:,}" for k, v in counts.items()))


@app.command("list")
def list_cmd(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List datasets with their latest version."""
    versions = get_workspace(ctx).datasets.list()
    if as_json:
        print_json([v.summary() for v in versions])
        return
    if not versions:
        _say("no datasets yet: baryon data ingest FILE --name NAME")
        return
    width = max(len(v.name) for v in versions)
    for v in versions:
        counts = (v.split or {}).get("counts")
        split = "" if not counts else "  split " + "/".join(f"{counts[k]:,}" for k in counts)
        _say(
            f"{v.name:<{width}}  v{v.version:<3} {v.id}  {v.operation:<6} "
            f"{v.row_count:>12,} rows × {len(v.schema)}{split}"
        )


def _details(ws: Any, version: Any) -> dict[str, Any]:
    manifest = version.manifest
    return {
        **version.summary(),
        "schema": version.schema,
        "roles": version.roles,
        "split": version.split,
        "source": manifest.get("source"),
        "options": manifest.get("options"),
        "steps": manifest.get("steps"),
        "report": manifest.get("report"),
        "lineage": [
            {"id": v.id, "ref": v.ref, "operation": v.operation}
            for v in ws.datasets.lineage(version.name, version.version)
        ],
        "provenance": version.lineage,
        "data_digest": version.data_digest,
    }


@app.command("show")
def show_cmd(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(metavar="NAME[:VERSION]", help="Dataset or version id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show a version: schema, roles, rows, quality report, lineage and split."""
    ws = get_workspace(ctx)
    version = ws.datasets.resolve(ref)
    details = _details(ws, version)
    if as_json:
        print_json(details)
        return
    _say(
        f"{version.id}  {version.ref}  {version.operation}  {version.row_count:,} rows × "
        f"{len(version.schema)} columns  created {version.created_at:%Y-%m-%d %H:%M:%S}"
    )
    _print_columns(version)
    report = version.report
    _say(f"duplicate rows: {report.get('duplicate_rows', 0):,}")
    for column, balance in report.get("label_balance", {}).items():
        _say(
            f"label {column}: {balance['classes']} classes, largest {balance['largest']:,}, "
            f"smallest {balance['smallest']:,}"
        )
    for column, lengths in report.get("text_lengths", {}).items():
        _say(
            f"text {column}: length mean {lengths['mean']:.1f}, median {lengths['p50']}, "
            f"p95 {lengths['p95']}, max {lengths['max']} characters"
        )
    if version.split:
        counts = version.split.get("counts", {})
        _say(
            f"split {version.split['strategy']} (seed {version.split['seed']}): "
            + ", ".join(f"{k} {v:,}" for k, v in counts.items())
        )
    _print_warnings(version)
    _say("lineage: " + " → ".join(f"{e['ref']} ({e['operation']})" for e in details["lineage"]))


@app.command("history")
def history_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Dataset name.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List every version of a dataset, oldest first."""
    versions = get_workspace(ctx).datasets.history(name)
    if as_json:
        print_json([v.summary() for v in versions])
        return
    for v in versions:
        steps = ", ".join(s["step"] for s in v.manifest.get("steps") or [])
        what = (
            steps
            or (v.split or {}).get("strategy", "")
            or ((v.manifest.get("source") or {}).get("filename", ""))
        )
        _say(
            f"v{v.version:<3} {v.id}  {v.created_at:%Y-%m-%d %H:%M}  {v.operation:<6} "
            f"{v.row_count:>12,} rows  {what}"
        )


@app.command("export")
def export_cmd(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(metavar="NAME[:VERSION]", help="Dataset or version id.")],
    out: Annotated[Path, typer.Option("--out", help="Output file (.csv, .tsv, .parquet, .jsonl).")],
    split: Annotated[
        str | None, typer.Option("--split", help="Only train, validation or test rows.")
    ] = None,
    format: Annotated[
        str | None,
        typer.Option("--format", help="csv, tsv, parquet or jsonl (default: from --out)."),
    ] = None,
) -> None:
    """Write a version (with its split column) or one split to a file."""
    ws = get_workspace(ctx)
    version = ws.datasets.resolve(ref)
    result = ws.datasets.export(version.id, out, split=split, format=format)
    _say(
        f"exported {version.id}  {version.ref}{'' if split is None else f' ({split})'}  "
        f"{result['rows']:,} rows → {result['path']}"
    )


@app.command("erase")
def erase_cmd(
    ctx: typer.Context,
    match: Annotated[
        list[str],
        typer.Option(
            "--match",
            help="COLUMN=VALUE: rows whose COLUMN equals VALUE go (repeatable: any match).",
        ),
    ],
    dataset: Annotated[
        list[str] | None,
        typer.Option("--dataset", help="Only this dataset (repeatable; default: all)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Erase a data subject: new versions without its rows, old versions' bytes deleted.

    Also removes the organization's logged predictions and labeling tasks where the
    value appears (see docs/privacy.md), audits it, and lists the runs and models
    trained on erased versions, to retrain.
    """
    from baryon.privacy import erase, parse_matches

    matches = parse_matches(match)
    ws = get_workspace(ctx)
    result = erase(ws.datasets, matches, datasets=dataset or None, actor=cli_actor())
    if as_json:
        print_json(result.to_dict())
        return
    _say(f"erasure {result.id}")
    if not result.datasets:
        _say("no dataset version held a matching row")
    for done in result.datasets:
        erased = ", ".join(str(e["version"]) for e in done["erased_versions"])
        made = "" if done["new_version"] is None else f"; new version {done['new_version']}"
        _say(
            f"{done['name']}: {done['rows_removed']} row(s) removed, "
            f"version(s) {erased} erased{made}"
        )
    _say(
        f"prediction log: {result.predictions_removed} removed; "
        f"labeling tasks: {result.tasks_removed} removed"
    )
    for item in result.retrain:
        model = "" if item["model"] is None else f" → {item['model']}:{item['model_version']}"
        _say(f"retrain: run {item['run_id']} on {item['dataset']}{model}")
