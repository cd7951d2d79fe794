"""PII masked at ingest: no unmasked byte is ever stored; the choice is in the lineage."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from baryon.core.errors import InvalidInput
from baryon.data.versions import DatasetStore
from baryon.workspace import Workspace

WriteFile = Callable[[str, "bytes | str"], Path]

SECRETS = ("ann@example.com", "DE89370400440532013000", "4111111111111111", "7946 0958")
CUSTOMERS = (
    "id,email,notes,card,label\n"
    "1,ann@example.com,call +44 20 7946 0958 please,4111111111111111,a\n"
    "2,bob@example.org,IBAN DE89370400440532013000,5500000000000004,b\n"
    "3,,no contact,,a\n"
)


def _stored_bytes(workspace: Workspace) -> bytes:
    root = Path(workspace.settings.resolved_artifact_root)
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


def test_ingest_mask_pii_stores_only_masked_values(
    workspace: Workspace, store: DatasetStore, write_file: WriteFile
) -> None:
    path = write_file("c.csv", CUSTOMERS)
    version = store.ingest(path, name="customers", mask_pii=["email", "notes", "card"])
    frame = version.to_pandas().astype(object).where(lambda f: f.notna(), None)
    assert list(frame["email"]) == ["[EMAIL]", "[EMAIL]", None]
    assert list(frame["notes"]) == ["call [PHONE] please", "IBAN [IBAN]", "no contact"]
    assert list(frame["card"]) == ["[CARD]", "[CARD]", None]  # read as numbers, stored as text
    assert list(frame["label"]) == ["a", "b", "a"]
    stored = _stored_bytes(workspace)
    assert stored  # the data and its manifest are there
    for secret in SECRETS:  # in no artifact: data, manifest, report (its examples included)
        assert secret.encode() not in stored, secret
        assert secret.replace(" ", "").encode() not in stored, secret


def test_ingest_mask_pii_recorded_in_lineage(store: DatasetStore, write_file: WriteFile) -> None:
    version = store.ingest(write_file("c.csv", CUSTOMERS), name="c", mask_pii=["notes", "email"])
    [step] = version.manifest["steps"]
    assert step["step"] == "mask_pii"
    assert step["at"] == "ingest"
    assert step["columns"] == ["notes", "email"]
    assert step["kinds"] == ["email", "iban", "card", "phone"]
    assert step["report"]["masked"] == {
        "notes": {"email": 0, "iban": 1, "card": 0, "phone": 1},
        "email": {"email": 2, "iban": 0, "card": 0, "phone": 0},
    }
    assert (step["rows_before"], step["rows_after"]) == (3, 3)
    assert version.manifest["options"]["mask_pii"] == {
        "columns": ["notes", "email"], "kinds": ["email", "iban", "card", "phone"],
    }  # fmt: skip
    [first] = store.lineage("c")
    assert first.id == version.id


def test_ingest_masked_and_unmasked_are_different_versions(
    store: DatasetStore, write_file: WriteFile
) -> None:
    path = write_file("c.csv", CUSTOMERS)
    masked = store.ingest(path, name="c", mask_pii=["email"])
    assert store.ingest(path, name="c", mask_pii=["email"]).id == masked.id  # same recipe
    plain = store.ingest(path, name="c")
    assert plain.id != masked.id
    assert plain.manifest["steps"] == []


@pytest.mark.parametrize(
    ("mask", "types", "code"),
    [
        (["nope"], None, "unknown_column"),
        ([], None, "invalid_mask_pii"),
        (["email"], {"email": "string"}, "invalid_mask_pii"),
    ],
)
def test_ingest_mask_pii_bad_input_writes_nothing(
    workspace: Workspace,
    store: DatasetStore,
    write_file: WriteFile,
    mask: list[str],
    types: dict[str, str] | None,
    code: str,
) -> None:
    before = _stored_bytes(workspace)
    with pytest.raises(InvalidInput) as err:
        store.ingest(write_file("c.csv", CUSTOMERS), name="c", mask_pii=mask, types=types)
    assert err.value.code == code
    assert store.list() == []
    assert _stored_bytes(workspace) == before
