"""The dataset store: versions, idempotent ingest, lineage, splits, no partial versions."""

from __future__ import annotations

import json
import math
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from baryon.commerce.orgs import create_org
from baryon.core.audit import list_audit_events
from baryon.core.errors import InvalidFile, InvalidInput, NotFound
from baryon.core.ids import is_id
from baryon.core.refs import Ref
from baryon.core.scope import SYSTEM
from baryon.data.versions import DatasetStore
from baryon.tenancy.grants import create_grant
from baryon.workspace import Workspace

WriteFile = Callable[[str, bytes | str], Path]

TICKETS = (
    "id,text,label\n"
    "1,my card has not arrived yet,card\n"
    "2,please refund my last payment,refund\n"
    "3,my card has not arrived yet,card\n"
    "4,contact me at jane@example.com,other\n"
    "5,  how do I top up my account  ,topup\n"
    "6,why was my transfer declined,refund\n"
)


def _counts(store: DatasetStore) -> tuple[int, int, int]:
    counts = store.db.table_counts()
    return (
        counts["datasets"],
        counts["dataset_versions"],
        len(list(store.artifacts.digests())),
    )


def test_ingest_makes_version_one_with_content_id(
    store: DatasetStore, write_file: WriteFile
) -> None:
    version = store.ingest(write_file("t.csv", TICKETS), name="tickets")
    assert is_id(version.id, "dsv")
    assert (version.name, version.version, version.parent_id) == ("tickets", 1, None)
    assert version.row_count == 6
    assert version.schema == {"id": "int", "text": "string", "label": "string"}
    assert version.roles == {"id": "id", "text": "text", "label": "label"}
    assert version.operation == "ingest"
    assert version.manifest["source"]["filename"] == "t.csv"
    assert version.report["label_balance"]["label"]["classes"] == 4
    assert version.to_pandas()["text"].tolist()[1] == "please refund my last payment"


def test_ingest_same_bytes_twice_is_a_noop(store: DatasetStore, write_file: WriteFile) -> None:
    path = write_file("t.csv", TICKETS)
    first = store.ingest(path, name="tickets")
    before = _counts(store)
    second = store.ingest(write_file("copy.csv", TICKETS), name="tickets")
    assert second.id == first.id
    assert second.version == 1
    assert _counts(store) == before


def test_ingest_other_options_make_a_new_version(
    store: DatasetStore, write_file: WriteFile
) -> None:
    path = write_file("t.csv", TICKETS)
    first = store.ingest(path, name="tickets")
    second = store.ingest(path, name="tickets", roles={"id": "feature"})
    assert second.id != first.id
    assert second.version == 2
    assert second.roles["id"] == "feature"


def test_ingest_same_file_under_two_names_gives_two_datasets(
    store: DatasetStore, write_file: WriteFile
) -> None:
    path = write_file("t.csv", TICKETS)
    a, b = store.ingest(path, name="a"), store.ingest(path, name="b")
    assert a.id != b.id
    assert a.data_digest == b.data_digest  # the Parquet artifact is stored once
    assert [v.name for v in store.list()] == ["a", "b"]


def test_ingest_types_and_roles_overrides(store: DatasetStore, write_file: WriteFile) -> None:
    version = store.ingest(
        write_file("t.csv", TICKETS), name="t", types={"id": "string"}, roles={"label": "feature"}
    )
    assert version.schema["id"] == "string"
    assert version.roles["label"] == "feature"


def test_ingest_nan_and_inf_are_kept_and_reported(
    store: DatasetStore, write_file: WriteFile
) -> None:
    version = store.ingest(write_file("n.csv", "x,y\n1.5,a\nNaN,b\ninf,c\n-inf,d\n"), name="n")
    values = version.to_pandas()["x"].tolist()
    assert math.isnan(values[1])
    assert values[2:] == [math.inf, -math.inf]
    stats = version.report["column_stats"]["x"]
    assert (stats["nan"], stats["inf"]) == (1, 2)
    assert any(w["code"] == "non_finite" for w in version.report["warnings"])
    assert stats["max"] == 1.5


def test_ingest_emoji_and_bom_headers(store: DatasetStore, write_file: WriteFile) -> None:
    version = store.ingest(
        write_file("e.csv", b"\xef\xbb\xbf\xf0\x9f\x98\x80 ,b\nx,1\ny,2\n"), name="e"
    )
    assert list(version.schema) == ["😀", "b"]
    assert any(w["code"] == "renamed_column" for w in version.report["warnings"])


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"", "empty_file"),
        (b"a,b\n", "header_only"),
        (bytes(range(256)) * 4, "binary_file"),
        (b"a,a\n1,2\n", "duplicate_columns"),
        (b"a,b\n1,2,3\n4,5,6\n", "header_mismatch"),
        (b"a,b\n1,2\n3\n", "ragged_rows"),
    ],
)
def test_ingest_bad_file_leaves_nothing_behind(
    store: DatasetStore, write_file: WriteFile, content: bytes, code: str
) -> None:
    with pytest.raises(InvalidFile) as info:
        store.ingest(write_file("bad.csv", content), name="bad")
    assert info.value.code == code
    assert _counts(store)[:2] == (0, 0)
    with pytest.raises(NotFound):
        store.get("bad")


def test_ingest_then_good_file_after_a_bad_one(store: DatasetStore, write_file: WriteFile) -> None:
    with pytest.raises(InvalidFile):
        store.ingest(write_file("bad.csv", b"a,b\n1,2,3\n"), name="t")
    assert store.ingest(write_file("t.csv", TICKETS), name="t").version == 1


@pytest.mark.parametrize("name", ["", "has space", "a@b", "-dash", "x" * 101])
def test_ingest_invalid_name_is_refused(
    store: DatasetStore, write_file: WriteFile, name: str
) -> None:
    with pytest.raises(InvalidInput) as info:
        store.ingest(write_file("t.csv", TICKETS), name=name)
    assert info.value.code == "invalid_name"


def test_clean_makes_child_version_with_steps_in_lineage(
    store: DatasetStore, write_file: WriteFile
) -> None:
    v1 = store.ingest(write_file("t.csv", TICKETS), name="t")
    v2 = store.clean("t", ["drop_duplicates:text", "trim", "mask_pii"])
    assert (v2.version, v2.parent_id, v2.operation) == (2, v1.id, "clean")
    assert v2.row_count == 5
    texts = v2.to_pandas()["text"].tolist()
    assert "contact me at [EMAIL]" in texts
    assert "how do I top up my account" in texts
    assert [s["step"] for s in v2.manifest["steps"]] == ["drop_duplicates", "trim", "mask_pii"]
    assert v2.schema == v1.schema
    assert [v.id for v in store.lineage("t")] == [v1.id, v2.id]


def test_clean_same_steps_twice_is_a_noop(store: DatasetStore, write_file: WriteFile) -> None:
    store.ingest(write_file("t.csv", TICKETS), name="t")
    v2 = store.clean("t:1", ["trim"])
    before = _counts(store)
    assert store.clean("t", ["trim"], version=1).id == v2.id
    assert _counts(store) == before


def test_clean_keeps_nan_distinct_from_missing(store: DatasetStore, write_file: WriteFile) -> None:
    store.ingest(write_file("n.csv", "x,y\n1.0,a\nNaN,b\n,c\n"), name="n")
    cleaned = store.clean("n", ["trim"])
    stats = cleaned.report["column_stats"]["x"]
    assert (stats["nan"], stats["nulls"]) == (1, 1)


def test_clean_adding_flag_columns_gives_them_roles(
    store: DatasetStore, write_file: WriteFile
) -> None:
    store.ingest(write_file("n.csv", "x,y\n1,a\n2,b\n3,c\n100,d\n,e\n"), name="n")
    cleaned = store.clean("n", ["missing:x=flag", "flag_outliers:x"])
    assert cleaned.roles["x_missing"] == "feature"
    assert cleaned.roles["x_outlier"] == "ignore"
    assert cleaned.schema["x_missing"] == "bool"


def test_clean_dropping_every_row_is_refused(store: DatasetStore, write_file: WriteFile) -> None:
    store.ingest(write_file("t.csv", "text,n\n ,1\n,2\n"), name="t", roles={"text": "text"})
    with pytest.raises(InvalidInput) as info:
        store.clean("t", ["drop_empty_text"])
    assert info.value.code == "empty_result"
    assert len(store.history("t")) == 1


def test_split_version_shares_data_and_filters_rows(
    store: DatasetStore, write_file: WriteFile
) -> None:
    rows = "".join(f"{i},text number {i},{'ab'[i % 2]}\n" for i in range(40))
    v1 = store.ingest(write_file("s.csv", "id,text,label\n" + rows), name="s")
    v2 = store.split("s", strategy="stratified", test_size=0.25, validation_size=0.0, seed=1)
    assert (v2.version, v2.parent_id, v2.operation) == (2, v1.id, "split")
    assert v2.data_digest == v1.data_digest
    assert v2.split is not None
    assert v2.split["counts"] == {"train": 30, "validation": 0, "test": 10}
    test = v2.to_pandas(split="test")
    assert len(test) == 10
    assert "split" not in test.columns
    assert sorted(test["label"].value_counts().tolist()) == [5, 5]
    assert len(v2.to_pandas()) == 40
    assert (
        store.split("s:1", strategy="stratified", test_size=0.25, validation_size=0.0, seed=1).id
        == v2.id
    )


def test_to_pandas_split_on_version_without_split_is_no_split(
    store: DatasetStore, write_file: WriteFile
) -> None:
    version = store.ingest(write_file("t.csv", TICKETS), name="t")
    with pytest.raises(InvalidInput) as info:
        version.to_pandas(split="test")
    assert info.value.code == "no_split"
    with pytest.raises(InvalidInput) as info:
        version.to_arrow(split="holdout")
    assert info.value.code == "invalid_split"


def test_get_list_history_and_lookup_errors(store: DatasetStore, write_file: WriteFile) -> None:
    v1 = store.ingest(write_file("t.csv", TICKETS), name="t")
    v2 = store.clean("t", ["trim"])
    assert store.get("t").id == v2.id
    assert store.get("t", 1).id == v1.id
    assert store.get("t:1").id == v1.id
    assert store.get_by_id(v2.id).version == 2
    assert store.resolve(v1.id).version == 1
    assert [v.version for v in store.history("t")] == [1, 2]
    assert [v.id for v in store.list()] == [v2.id]
    assert store.version_ids("t") == [v1.id, v2.id]
    assert store.version_ids("none") == []
    for call, code in [
        (lambda: store.get("nope"), "dataset_not_found"),
        (lambda: store.get("t", 9), "version_not_found"),
        (lambda: store.get_by_id("dsv_00000000000000000000000000"), "version_not_found"),
        (lambda: store.history("nope"), "dataset_not_found"),
    ]:
        with pytest.raises(NotFound) as info:
            call()
        assert info.value.code == code


def test_get_references_name_version_and_latest(store: DatasetStore, write_file: WriteFile) -> None:
    v1 = store.ingest(write_file("t.csv", TICKETS), name="t")
    v2 = store.clean("t:1", ["trim"])
    assert store.get("t:1").id == v1.id
    assert store.get("t@latest").id == v2.id
    assert store.get(Ref("t", 1)).id == v1.id
    assert store.resolve("t:2").id == v2.id
    assert [v.version for v in store.history("t:1")] == [1, 2]
    assert v1.ref == "t:1"


@pytest.mark.parametrize(("ref", "hint"), [("t@1", "use t:1"), ("t:latest", "use t@latest")])
def test_get_old_or_swapped_reference_refused_with_the_right_form(
    store: DatasetStore, write_file: WriteFile, ref: str, hint: str
) -> None:
    store.ingest(write_file("t.csv", TICKETS), name="t")
    with pytest.raises(InvalidInput) as info:
        store.get(ref)
    assert info.value.code == "invalid_ref"
    assert hint in info.value.message


@pytest.mark.parametrize("ref", ["t:0", "t:x", "t@champion", "t:1@latest"])
def test_every_lookup_refuses_a_malformed_reference_as_invalid_ref(
    store: DatasetStore, write_file: WriteFile, ref: str
) -> None:
    store.ingest(write_file("t.csv", TICKETS), name="t")
    for call in (store.get, store.resolve, store.history, store.version_ids):
        with pytest.raises(InvalidInput) as info:
            call(ref)
        assert info.value.code == "invalid_ref"


def test_get_other_organizations_dataset_not_found(
    store: DatasetStore, write_file: WriteFile
) -> None:
    store.ingest(write_file("t.csv", TICKETS), name="t")
    with pytest.raises(NotFound) as info:
        store.get("acme/t")
    assert info.value.code == "dataset_not_found"


def test_columns_with_role(store: DatasetStore, write_file: WriteFile) -> None:
    version = store.ingest(write_file("t.csv", TICKETS), name="t")
    assert version.columns_with_role("text") == ["text"]
    assert version.columns_with_role("rating") == []


def test_manifest_artifact_matches_version(store: DatasetStore, write_file: WriteFile) -> None:
    version = store.ingest(write_file("t.csv", TICKETS), name="t")
    digests = set(store.artifacts.digests())
    assert version.data_digest in digests
    manifests = [
        json.loads(store.artifacts.get_bytes(d)) for d in digests if d != version.data_digest
    ]
    assert manifests[0]["id"] == version.id
    assert manifests[0]["data"]["digest"] == version.data_digest


def test_every_new_version_writes_an_audit_event(
    store: DatasetStore, write_file: WriteFile
) -> None:
    path = write_file("t.csv", TICKETS)
    v1 = store.ingest(path, name="t", actor="tester")
    store.ingest(path, name="t")
    with store.db.session(SYSTEM) as session:
        events = list_audit_events(session, object_type="dataset_version")
        assert [(e.action, e.object_id, e.actor, e.org_id) for e in events] == [
            ("dataset.ingest", v1.id, "tester", store.scope.org_id)  # its org sees it
        ]


def test_export_writes_split_column_and_single_splits(
    store: DatasetStore, write_file: WriteFile, tmp_path: Path
) -> None:
    import pandas as pd

    store.ingest(write_file("t.csv", TICKETS), name="t")
    store.split("t", strategy="random", test_size=0.5, validation_size=0.0)
    out = store.export("t", tmp_path / "all.csv")
    frame = pd.read_csv(tmp_path / "all.csv")
    assert out["rows"] == 6
    assert sorted(frame["split"].unique().tolist()) == ["test", "train"]
    store.export("t:2", tmp_path / "test.jsonl", split="test")
    assert len((tmp_path / "test.jsonl").read_text().splitlines()) == 3
    store.export("t", tmp_path / "train.parquet", split="train")
    assert len(pd.read_parquet(tmp_path / "train.parquet")) == 3
    again = store.ingest(tmp_path / "all.csv", name="again")
    assert again.row_count == 6


def test_split_frames_match_to_pandas_and_read_data_once(
    store: DatasetStore, write_file: WriteFile, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the trainer used to call to_pandas(split=s) three times: three reads of the data
    store.ingest(write_file("t.csv", TICKETS), name="t")
    version = store.split("t", strategy="random", test_size=0.5, validation_size=0.2)
    expected = {s: version.to_pandas(split=s) for s in ("train", "validation", "test")}
    assert version.artifacts is not None
    reads: list[str] = []
    real = version.artifacts.get_bytes

    def counting(digest: str, **kwargs: Any) -> bytes:
        reads.append(digest)
        return real(digest, **kwargs)

    monkeypatch.setattr(version.artifacts, "get_bytes", counting)
    frames = version.split_frames()
    assert list(frames) == ["train", "validation", "test"]
    for name, frame in frames.items():
        pd.testing.assert_frame_equal(frame, expected[name])
    assert reads.count(version.data_digest) == 1


def test_export_file_gets_umask_permissions_not_0600(
    store: DatasetStore, write_file: WriteFile, tmp_path: Path
) -> None:
    # the export was written through tempfile.mkstemp, so out.csv ended up -rw-------
    store.ingest(write_file("t.csv", TICKETS), name="t")
    old = os.umask(0o022)
    try:
        store.export("t", tmp_path / "out.csv")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "out.csv").stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.csv")] == []


def test_export_unknown_extension_is_refused(
    store: DatasetStore, write_file: WriteFile, tmp_path: Path
) -> None:
    store.ingest(write_file("t.csv", TICKETS), name="t")
    with pytest.raises(InvalidInput) as info:
        store.export("t", tmp_path / "out.xls")
    assert info.value.code == "invalid_format"
    assert not (tmp_path / "out.xls").exists()


def test_export_unknown_format_option_names_the_format(
    store: DatasetStore, write_file: WriteFile, tmp_path: Path
) -> None:
    # format="bogus" with out.csv used to say "cannot tell the export format of 'out.csv'"
    store.ingest(write_file("t.csv", TICKETS), name="t")
    with pytest.raises(InvalidInput) as info:
        store.export("t", tmp_path / "out.csv", format="bogus")
    assert info.value.code == "invalid_format"
    assert "'bogus'" in str(info.value)
    assert not (tmp_path / "out.csv").exists()


def test_ingest_progress_callback_reaches_file_size(
    store: DatasetStore, write_file: WriteFile
) -> None:
    path = write_file("t.csv", TICKETS)
    seen: list[tuple[int, int]] = []
    store.ingest(path, name="t", progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (path.stat().st_size, path.stat().st_size)


def test_two_threads_ingesting_the_same_file_make_one_version(
    store: DatasetStore, write_file: WriteFile
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    path = write_file("t.csv", TICKETS)
    with ThreadPoolExecutor(max_workers=2) as pool:
        ids = list(pool.map(lambda _: store.ingest(path, name="t").id, range(2)))
    assert ids[0] == ids[1]
    assert store.db.table_counts()["dataset_versions"] == 1


def test_clean_of_a_split_version_gives_an_unsplit_child(
    store: DatasetStore, write_file: WriteFile
) -> None:
    store.ingest(write_file("t.csv", TICKETS), name="t")
    split = store.split("t", strategy="random", test_size=0.5, validation_size=0.0)
    cleaned = store.clean("t", ["trim"])
    assert cleaned.parent_id == split.id
    assert cleaned.split is None
    with pytest.raises(InvalidInput):
        cleaned.to_pandas(split="train")


def test_to_pandas_selected_columns(store: DatasetStore, write_file: WriteFile) -> None:
    version = store.ingest(write_file("t.csv", TICKETS), name="t")
    assert list(version.to_pandas(columns=["label"]).columns) == ["label"]
    with pytest.raises(InvalidInput) as info:
        version.to_arrow(columns=["nope"])
    assert info.value.code == "unknown_column"


def test_version_ids_are_the_same_in_two_fresh_workspaces(
    tmp_path: Path, write_file: WriteFile
) -> None:
    from baryon.core.config import Settings
    from baryon.workspace import Workspace

    path = write_file("t.csv", TICKETS)
    ids = []
    for home in ("a", "b"):
        with Workspace.open(Settings(home=tmp_path / home)) as ws:
            v1 = ws.datasets.ingest(path, name="t")
            v2 = ws.datasets.clean("t", ["trim"])
            v3 = ws.datasets.split("t", strategy="random", seed=1)
            ids.append((v1.id, v2.id, v3.id))
    assert ids[0] == ids[1]


def test_ingest_date_only_column_is_a_timestamp_not_a_crash(
    store: DatasetStore, write_file: WriteFile
) -> None:
    # Broke with ArrowNotImplementedError (cast date32 -> int64) in the quality report.
    path = write_file("days.csv", "id,day,value\n1,2024-01-02,3.5\n2,2024-01-03,4.0\n")
    version = store.ingest(path, name="days")
    assert version.schema["day"] == "datetime"
    assert version.roles["day"] == "timestamp"
    assert version.row_count == 2


# ------------------------------------------------ datasets shared by a grant
@pytest.mark.filterwarnings("ignore:The Result.tuples:DeprecationWarning")  # grants.py, SA 2.1
def test_shared_dataset_is_readable_by_owner_name_never_writable(
    workspace: Workspace, write_file: WriteFile
) -> None:
    with workspace.db.session(SYSTEM) as s:
        acme = create_org(s, name="acme")
        create_org(s, name="globex")
    owner_view = workspace.for_org("acme")
    made = owner_view.datasets.ingest(write_file("t.csv", "a,label\n1,x\n2,y\n3,x\n"), name="t")
    with workspace.db.session(owner_view.scope) as s:
        create_grant(
            s, owner_org_id=acme.id, object_type="dataset", object_name="t",
            grantee="globex", permission="read", actor="test",
        )  # fmt: skip
    shared = workspace.for_org("globex").datasets
    assert shared.get("t").id == made.id
    assert shared.get("t", owner="acme").org_id == acme.id
    assert [v.id for v in shared.history("t", owner="acme")] == [made.id]
    for write in (
        lambda: shared.clean("t", ["trim"]),
        lambda: shared.clean("t", ["trim"], owner="acme"),
        lambda: shared.split("t", strategy="random"),
    ):
        with pytest.raises(NotFound) as err:
            write()
        assert err.value.code == "dataset_not_found"
    with pytest.raises(NotFound) as unknown:
        shared.get("t", owner="initech")
    assert unknown.value.code == "dataset_not_found"  # an unknown owner is no match
    assert [v.id for v in owner_view.datasets.history("t")] == [made.id]


# ------------------------------------------------------------------------ append
def _split_tickets(store: DatasetStore, write_file: WriteFile) -> Any:
    rows = "".join(f"{i},text number {i},{'ab'[i % 2]}\n" for i in range(40))
    store.ingest(write_file("s.csv", "id,text,label\n" + rows), name="s")
    return store.split("s", strategy="stratified", test_size=0.25, validation_size=0.1, seed=1)


def test_append_keeps_parent_splits_and_adds_rows_to_train(
    store: DatasetStore, write_file: WriteFile
) -> None:
    import pyarrow as pa

    parent = _split_tickets(store, write_file)
    new = pa.table({"id": [100, 101], "text": ["new one", "new two"], "label": ["a", "b"]})
    lineage = {"sources": [{"type": "test", "rows": 2}]}
    child = store.append("s", new, lineage=lineage)
    assert (child.version, child.parent_id, child.operation) == (3, parent.id, "append")
    assert child.row_count == parent.row_count + 2
    assert child.split is not None
    assert child.split["counts"] == {
        "train": parent.split["counts"]["train"] + 2,
        "validation": parent.split["counts"]["validation"],
        "test": parent.split["counts"]["test"],
    }
    pd.testing.assert_frame_equal(child.to_pandas(split="test"), parent.to_pandas(split="test"))
    pd.testing.assert_frame_equal(
        child.to_pandas(split="validation"), parent.to_pandas(split="validation")
    )
    train = child.to_pandas(split="train")
    assert train["text"].tolist()[-2:] == ["new one", "new two"]
    assert child.lineage == {"sources": [{"type": "test", "rows": 2}]}
    assert child.schema == parent.schema
    assert child.roles == parent.roles
    # the same rows and lineage on the same parent again: the same version
    assert store.append("s", new, version=parent.version, lineage=lineage) == child


def test_append_to_test_split_refused_nothing_written(
    store: DatasetStore, write_file: WriteFile
) -> None:
    import pyarrow as pa

    _split_tickets(store, write_file)
    before = _counts(store)
    new = pa.table({"id": [100], "text": ["x"], "label": ["a"]})
    with pytest.raises(InvalidInput) as info:
        store.append("s", new, split="test")
    assert info.value.code == "invalid_split"
    with pytest.raises(InvalidInput) as info:
        store.append("s", new.drop_columns(["id"]))
    assert info.value.code == "schema_mismatch"
    bad = pa.table({"id": ["not a number"], "text": ["x"], "label": ["a"]})
    with pytest.raises(InvalidInput) as info:
        store.append("s", bad)
    assert info.value.code == "schema_mismatch"
    with pytest.raises(InvalidInput) as info:
        store.append("s", new.slice(0, 0))
    assert info.value.code == "empty_append"
    with pytest.raises(InvalidInput) as info:
        store.append("s", new, version=1)
    assert info.value.code == "no_split"
    assert _counts(store) == before


def test_ingest_decimal_commas_are_numeric_and_reported(
    store: DatasetStore, write_file: WriteFile
) -> None:
    # a ;-file with "12,5" was a text column with no warning (issue 12)
    path = write_file("prices.csv", "item;price;qty\nx;12,5;1\ny;3,25;2\nz;1.000,0;3\n")
    version = store.ingest(path, name="prices")
    assert version.schema["price"] == "float"
    assert version.to_pandas()["price"].tolist() == [12.5, 3.25, 1000.0]
    assert version.manifest["source"]["decimal_comma_columns"] == ["price"]
    (note,) = [w for w in version.report["warnings"] if w["code"] == "decimal_comma"]
    assert note["column"] == "price"
    assert "'12,5'" in note["message"]
    assert "--type price=string" in note["message"]
    kept = store.ingest(path, name="prices", types={"price": "string"})
    assert kept.schema["price"] == "string"
    assert not [w for w in kept.report["warnings"] if w["code"] == "decimal_comma"]


def test_iter_batches_streams_every_row_in_order(
    workspace: Workspace, write_file: WriteFile
) -> None:
    made = workspace.datasets.ingest(
        write_file("n.csv", "a\n" + "\n".join(map(str, range(10)))), name="n"
    )
    batches = list(made.iter_batches(4))
    assert [b.num_rows for b in batches] == [4, 4, 2]
    assert [v for b in batches for v in b.column("a").to_pylist()] == list(range(10))
    with pytest.raises(InvalidInput) as err:
        next(made.iter_batches(0))
    assert err.value.code == "invalid_batch_rows"
