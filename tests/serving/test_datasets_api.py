"""Datasets over the HTTP API: upload, list, show, versions, clean, split, export.

Two organizations (acme, globex): globex never sees acme's datasets until acme
shares one (read only), and sees it no more once the grant is revoked. Every bad
upload gets the CLI's named error, creates nothing and leaves no temporary file.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest
from fastapi import FastAPI
from servingkit import ClientFactory, PortalTransport, Tenants

from baryon.client import Client
from baryon.core.clock import FixedClock
from baryon.core.config import Settings
from baryon.core.errors import InvalidInput, NotFound, PayloadTooLarge
from baryon.core.scope import SYSTEM
from baryon.serving.app import create_app
from baryon.tenancy.grants import create_grant, revoke_grant
from baryon.workspace import Workspace

TICKETS = Path(__file__).resolve().parents[2] / "docs" / "examples" / "datasets" / "tickets.csv"
LATIN = "name,city\nJosé,Zürich\nAnna,Köln\n".encode("cp1252")
CSV = b"text,label\n" + b"".join(
    f"message number {i},{'pos' if i % 2 else 'neg'}\n".encode() for i in range(20)
)


def _upload(
    client: httpx.Client,
    content: bytes = CSV,
    *,
    name: str = "tickets",
    filename: str = "tickets.csv",
    **fields: Any,
) -> httpx.Response:
    return client.post(
        "/v1/datasets",
        files={"file": (filename, content, "text/csv")},
        data={"name": name, **fields},
    )


def _code(response: httpx.Response) -> str:
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    return str(response.json()["code"])


def _scratch(settings: Settings) -> list[Path]:
    """What is left in the workspace's scratch directory (uploads, exports)."""
    tmp = settings.home / "tmp"
    return sorted(tmp.rglob("*")) if tmp.exists() else []


@pytest.fixture
def acme(api: ClientFactory, tenants: Tenants) -> httpx.Client:
    return api(tenants.keys["acme:developer"])


@pytest.fixture
def globex(api: ClientFactory, tenants: Tenants) -> httpx.Client:
    return api(tenants.keys["globex:developer"])


#: grants.py (tenancy branch) calls ``Result.tuples()``, deprecated in SQLAlchemy 2.1.
_GRANTS_WARN = pytest.mark.filterwarnings("ignore:The Result.tuples:DeprecationWarning")


def _share(ws: Workspace, tenants: Tenants, name: str = "tickets") -> str:
    """acme grants globex ``read`` on its dataset ``name``; return the grant id."""
    with ws.db.session(ws.for_org("acme").scope) as session:
        grant = create_grant(
            session,
            owner_org_id=tenants.org_ids["acme"],
            object_type="dataset",
            object_name=name,
            grantee="globex",
            permission="read",
            actor="test",
        )
    return grant.id


# ------------------------------------------------------------------- upload
def test_upload_new_file_is_201_with_version_schema_roles_and_quality(
    acme: httpx.Client, settings: Settings
) -> None:
    response = _upload(acme, TICKETS.read_bytes(), role=["ticket_id=id"])
    assert response.status_code == 201, response.text
    made = response.json()
    assert made["created"] is True
    assert made["id"].startswith("dsv_")
    assert (made["name"], made["version"], made["owner"]) == ("tickets", 1, "acme")
    assert made["operation"] == "ingest"
    assert made["rows"] == 13
    assert made["schema"] == {"ticket_id": "int", "text": "string", "category": "string"}
    assert made["roles"] == {"ticket_id": "id", "text": "text", "category": "label"}
    assert made["quality"]["duplicate_rows"] == 1
    assert "duplicate_rows" in {w["code"] for w in made["quality"]["warnings"]}
    assert made["source"]["filename"] == "tickets.csv"
    assert made["source"]["delimiter"] == ";"
    assert _scratch(settings) == []


def test_upload_mask_pii_stores_masked_values_and_says_so(
    acme: httpx.Client, ws: Workspace, settings: Settings
) -> None:
    content = b"id,contact,label\n1,ann@example.com,a\n2,call +44 20 7946 0958,b\n"
    response = _upload(acme, content, name="people", mask_pii=["contact"])
    assert response.status_code == 201, response.text
    version = ws.for_org("acme").datasets.get("people")
    assert list(version.to_pandas()["contact"]) == ["[EMAIL]", "call [PHONE]"]
    [step] = acme.get("/v1/datasets/people").json()["steps"]
    assert (step["step"], step["at"], step["columns"]) == ("mask_pii", "ingest", ["contact"])
    assert step["report"]["masked"]["contact"]["phone"] == 1
    assert _scratch(settings) == []  # the raw upload is gone too
    bad = _upload(acme, content, name="people", mask_pii=["nope"])
    assert (bad.status_code, _code(bad)) == (422, "unknown_column")


def test_upload_same_bytes_again_is_200_same_version_not_created(acme: httpx.Client) -> None:
    first = _upload(acme).json()
    again = _upload(acme, filename="renamed.csv")
    assert again.status_code == 200
    assert again.json()["created"] is False
    assert again.json()["id"] == first["id"]
    assert [v["version"] for v in acme.get("/v1/datasets/tickets/versions").json()] == [1]


def test_upload_same_bytes_other_options_is_a_new_version(acme: httpx.Client) -> None:
    _upload(acme)
    response = _upload(acme, type=["label=category"])
    assert response.status_code == 201
    assert response.json()["version"] == 2
    assert response.json()["schema"]["label"] == "category"


def test_upload_larger_than_max_body_bytes_is_streamed_past_the_json_cap(
    acme: httpx.Client, settings: Settings
) -> None:
    rows = settings.max_body_bytes // 15 + 1000
    big = b"id,value\n" + b"".join(f"{i},{i * 7 % 1000:>10}\n".encode() for i in range(rows))
    assert len(big) > settings.max_body_bytes
    response = _upload(acme, big, name="big")
    assert response.status_code == 201, response.text
    assert response.json()["rows"] == rows


@pytest.mark.parametrize(
    ("content", "fields", "code"),
    [
        (b"", {}, "empty_file"),
        (b"a,b\n", {}, "header_only"),
        (b"a,b\n1,2\n3,4,5\n6,7\n", {}, "ragged_rows"),
        (LATIN, {"encoding": "utf-8"}, "encoding_error"),
        (CSV, {"encoding": "klingon"}, "unknown_encoding"),
        (bytes(range(256)) * 8, {}, "binary_file"),
        (b"a,a\n1,2\n", {}, "duplicate_columns"),
        (CSV, {"format": "xml"}, "invalid_format"),
        (CSV, {"role": ["label"]}, "invalid_option"),
        (CSV, {"role": ["label=boss"]}, "invalid_role"),
        (CSV, {"name": "no spaces"}, "invalid_name"),
        (CSV, {"name": "tickets@2"}, "invalid_name"),
    ],
)  # fmt: skip
def test_upload_bad_file_or_option_is_the_cli_error_and_leaves_nothing(
    acme: httpx.Client,
    settings: Settings,
    content: bytes,
    fields: dict[str, Any],
    code: str,
) -> None:
    response = _upload(acme, content, **fields)
    assert response.status_code == 422, response.text
    assert _code(response) == code
    assert acme.get("/v1/datasets").json() == []
    assert _scratch(settings) == []


@pytest.fixture
def capped(
    settings: Settings, ws: Workspace, clock: FixedClock, tenants: Tenants
) -> Iterator[tuple[httpx.Client, Settings]]:
    """acme's developer on an app whose uploads are capped at 4 KiB."""
    small = settings.model_copy(update={"max_upload_bytes": 4096})
    transport = PortalTransport(create_app(small, workspace=ws, clock=clock))
    headers = {"Authorization": f"Bearer {tenants.keys['acme:developer']}"}
    client = httpx.Client(base_url="http://testserver", transport=transport, headers=headers)
    try:
        yield client, small
    finally:
        client.close()
        transport.shutdown()


def test_upload_over_cap_by_content_length_is_413_and_leaves_nothing(
    capped: tuple[httpx.Client, Settings],
) -> None:
    client, small = capped
    response = _upload(client, CSV * 40)
    assert response.status_code == 413
    assert _code(response) == "upload_too_large"
    assert response.json()["details"]["max_bytes"] == 4096
    assert client.get("/v1/datasets").json() == []
    assert _scratch(small) == []
    assert _upload(client, CSV).status_code == 201  # under the cap: fine


def test_upload_over_cap_without_content_length_stops_reading_at_the_cap(
    capped: tuple[httpx.Client, Settings],
) -> None:
    client, small = capped
    boundary = "x1y2z3"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\nbig\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
        "Content-Type: text/csv\r\n\r\nid,value\n"
    ).encode()
    pulled = []

    def body() -> Iterator[bytes]:  # chunked: no Content-Length to refuse early
        yield head
        for i in range(1000):
            pulled.append(i)
            yield b"".join(f"{i * 100 + j},{j}\n".encode() for j in range(100))  # ~1 KiB
        yield f"\r\n--{boundary}--\r\n".encode()

    response = client.post(
        "/v1/datasets",
        content=body(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.status_code == 413
    assert _code(response) == "upload_too_large"
    assert len(pulled) < 20  # stopped at ~4 KiB, not after reading 1 MiB
    assert client.get("/v1/datasets").json() == []
    assert _scratch(small) == []


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"json": {"name": "x"}}, 415, "unsupported_media_type"),
        ({"data": {"name": "x"}, "files": {"other": ("a.csv", CSV)}}, 422, "invalid_upload"),
        ({"files": {"file": ("a.csv", CSV)}}, 422, "missing_field"),
        ({"data": {"name": "x"}, "files": {"notfile": ("a", b"x")}}, 422, "invalid_upload"),
        ({"data": {"name": "x", "colour": "red"}, "files": {"file": ("a.csv", CSV)}}, 422,
         "unknown_field"),
        ({"data": {"name": ["x", "y"]}, "files": {"file": ("a.csv", CSV)}}, 422, "invalid_upload"),
        ({"data": {"name": "x"}}, 415, "unsupported_media_type"),
    ],
)  # fmt: skip
def test_upload_malformed_form_is_a_named_error(
    acme: httpx.Client, settings: Settings, kwargs: dict[str, Any], status: int, code: str
) -> None:
    response = acme.post("/v1/datasets", **kwargs)
    assert response.status_code == status, response.text
    assert _code(response) == code
    assert acme.get("/v1/datasets").json() == []
    assert _scratch(settings) == []


def test_upload_without_file_part_is_missing_field(acme: httpx.Client) -> None:
    body = b'--b\r\nContent-Disposition: form-data; name="name"\r\n\r\nx\r\n--b--\r\n'
    headers = {"Content-Type": "multipart/form-data; boundary=b"}
    response = acme.post("/v1/datasets", content=body, headers=headers)
    assert response.status_code == 422
    assert _code(response) == "missing_field"


@pytest.mark.parametrize(
    "body",
    [
        b'--b\r\nContent-Disposition: form-data; name="name"\r\n\r\nx\r\n--b\r\n'
        b'Content-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\na,b\n1,2\n',
        b"this is not multipart at all",
        b"--b\r\nNo-Disposition: here\r\n\r\nx\r\n--b--\r\n",
    ],
    ids=["truncated", "garbage", "no-disposition"],
)
def test_upload_broken_multipart_is_invalid_upload_and_leaves_nothing(
    acme: httpx.Client, settings: Settings, body: bytes
) -> None:
    headers = {"Content-Type": "multipart/form-data; boundary=b"}
    response = acme.post("/v1/datasets", content=body, headers=headers)
    assert response.status_code == 422, response.text
    assert _code(response) == "invalid_upload"
    assert _scratch(settings) == []


def test_upload_client_file_name_is_made_safe(acme: httpx.Client) -> None:
    made = _upload(acme, filename="../../etc/tickets.csv").json()
    assert made["source"]["filename"] == "tickets.csv"


# -------------------------------------------------------------- roles
@pytest.mark.parametrize(
    ("role", "upload", "read"),
    [
        ("owner", 201, 200),
        ("admin", 201, 200),
        ("developer", 201, 200),
        ("annotator", 403, 200),
        ("viewer", 403, 200),
    ],
)
def test_role_matrix_upload_needs_datasets_write_read_needs_datasets_read(
    api: ClientFactory, tenants: Tenants, settings: Settings, role: str, upload: int, read: int
) -> None:
    client = api(tenants.keys[f"acme:{role}"])
    response = _upload(client)
    assert response.status_code == upload, response.text
    if upload == 403:
        assert _code(response) == "forbidden"
        _upload(api(tenants.keys["acme:developer"]))
        split = client.post("/v1/datasets/tickets/split", json={"strategy": "random"})
        assert split.status_code == 403
        clean = client.post("/v1/datasets/tickets/clean", json={"steps": ["trim"]})
        assert clean.status_code == 403
    assert client.get("/v1/datasets").status_code == read
    assert client.get("/v1/datasets/tickets").status_code == read
    assert client.get("/v1/datasets/tickets/versions").status_code == read
    assert client.get("/v1/datasets/tickets/export").status_code == read
    assert _scratch(settings) == []


# ------------------------------------------------------- two organizations
def _every_route(client: httpx.Client, owner: str | None = None) -> dict[str, httpx.Response]:
    params = {} if owner is None else {"owner": owner}
    return {
        "show": client.get("/v1/datasets/tickets", params=params),
        "show v1": client.get("/v1/datasets/tickets", params={**params, "version": 1}),
        "versions": client.get("/v1/datasets/tickets/versions", params=params),
        "export": client.get("/v1/datasets/tickets/export", params=params),
        "clean": client.post("/v1/datasets/tickets/clean", params=params, json={"steps": ["trim"]}),
        "split": client.post(
            "/v1/datasets/tickets/split", params=params, json={"strategy": "random"}
        ),
    }


def test_other_org_gets_404_on_every_route_and_an_empty_list(
    acme: httpx.Client, globex: httpx.Client, tenants: Tenants
) -> None:
    made = _upload(acme).json()
    for owner in (None, "acme", tenants.org_ids["acme"]):
        for route, response in _every_route(globex, owner).items():
            assert response.status_code == 404, (route, owner, response.text)
            assert _code(response) in ("dataset_not_found", "owner_not_found")
            assert made["id"] not in response.text
    assert globex.get("/v1/datasets").json() == []
    assert [d["owner"] for d in acme.get("/v1/datasets").json()] == ["acme"]


def test_other_org_same_name_is_its_own_dataset(acme: httpx.Client, globex: httpx.Client) -> None:
    mine = _upload(acme).json()
    theirs = _upload(globex)
    assert theirs.status_code == 201  # same bytes, other owner: a version of its own
    assert theirs.json()["id"] != mine["id"]
    assert theirs.json()["owner"] == "globex"
    assert [d["id"] for d in acme.get("/v1/datasets").json()] == [mine["id"]]


@_GRANTS_WARN
def test_grant_makes_dataset_readable_not_writable_and_revoke_ends_it(
    acme: httpx.Client, globex: httpx.Client, ws: Workspace, tenants: Tenants, app: FastAPI
) -> None:
    # grants change here outside the app, as from another process: the app sees them
    # once its cached scopes are older than scope_ttl
    app.state.baryon.scope_ttl = 0.2
    made = _upload(acme).json()
    acme.post("/v1/datasets/tickets/split", json={"strategy": "random", "seed": 1})
    grant_id = _share(ws, tenants)

    listed = globex.get("/v1/datasets").json()
    assert [(d["name"], d["owner"], d["version"]) for d in listed] == [("tickets", "acme", 2)]
    for owner in (None, "acme"):
        routes = _every_route(globex, owner)
        for read in ("show", "show v1", "versions", "export"):
            assert routes[read].status_code == 200, (read, owner, routes[read].text)
        for write in ("clean", "split"):
            assert routes[write].status_code == 404, (write, owner)
            assert _code(routes[write]) == "dataset_not_found"
    assert globex.get("/v1/datasets/tickets/versions").json()[0]["id"] == made["id"]
    assert [v["version"] for v in acme.get("/v1/datasets/tickets/versions").json()] == [1, 2]

    with ws.db.session(ws.for_org("acme").scope) as session:
        revoke_grant(session, owner_org_id=tenants.org_ids["acme"], grant_id=grant_id, actor="test")
    time.sleep(0.25)
    assert globex.get("/v1/datasets").json() == []
    assert globex.get("/v1/datasets/tickets").status_code == 404


@_GRANTS_WARN
def test_granted_and_own_same_name_owner_picks_which(
    acme: httpx.Client, globex: httpx.Client, ws: Workspace, tenants: Tenants
) -> None:
    _upload(acme)
    _share(ws, tenants)
    _upload(globex, CSV + b"one more,pos\n")
    listed = {(d["name"], d["owner"]) for d in globex.get("/v1/datasets").json()}
    assert listed == {("tickets", "acme"), ("tickets", "globex")}
    assert globex.get("/v1/datasets/tickets").json()["owner"] == "globex"
    assert globex.get("/v1/datasets/tickets", params={"owner": "acme"}).json()["owner"] == "acme"
    assert globex.get("/v1/datasets/tickets").json()["rows"] == 21
    refused = globex.post(
        "/v1/datasets/tickets/clean", params={"owner": "acme"}, json={"steps": ["trim"]}
    )
    assert refused.status_code == 404
    own = globex.post(
        "/v1/datasets/tickets/clean", params={"owner": "globex"}, json={"steps": ["trim"]}
    )
    assert own.status_code == 201, own.text


# ----------------------------------------------------- show, versions, clean, split
def test_show_versions_clean_split_lineage(acme: httpx.Client) -> None:
    _upload(acme, TICKETS.read_bytes())
    cleaned = acme.post(
        "/v1/datasets/tickets/clean",
        json={"steps": ["trim", "drop_duplicates", {"step": "drop_empty_text"}]},
    )
    assert cleaned.status_code == 201, cleaned.text
    assert (cleaned.json()["version"], cleaned.json()["rows"]) == (2, 11)
    split = acme.post(
        "/v1/datasets/tickets/split",
        json={"strategy": "random", "test_size": 0.25, "validation_size": 0, "seed": 42},
    )
    assert split.status_code == 201
    assert split.json()["split"]["counts"] == {"train": 8, "validation": 0, "test": 3}
    again = acme.post(
        "/v1/datasets/tickets/split",
        params={"version": 2},  # the same parent (the latest is now the split itself)
        json={"strategy": "random", "test_size": 0.25, "validation_size": 0, "seed": 42},
    )
    assert again.status_code == 200
    assert again.json()["created"] is False
    assert again.json()["id"] == split.json()["id"]

    shown = acme.get("/v1/datasets/tickets").json()
    assert shown["version"] == 3
    assert [e["operation"] for e in shown["lineage"]] == ["ingest", "clean", "split"]
    assert shown["report"]["column_stats"]["text"]["type"] == "string"
    assert shown["split"]["strategy"] == "random"
    assert shown["provenance"] == {}
    first = acme.get("/v1/datasets/tickets", params={"version": 1}).json()
    assert (first["rows"], first["source"]["filename"]) == (13, "tickets.csv")

    history = acme.get("/v1/datasets/tickets/versions").json()
    assert [(v["version"], v["parent_version"], v["operation"]) for v in history] == [
        (1, None, "ingest"),
        (2, 1, "clean"),
        (3, 2, "split"),
    ]
    assert [s["step"] for s in history[1]["steps"]] == [
        "trim",
        "drop_duplicates",
        "drop_empty_text",
    ]
    missing = acme.get("/v1/datasets/tickets", params={"version": 9})
    assert (missing.status_code, _code(missing)) == (404, "version_not_found")


def test_show_append_version_has_the_provenance_of_its_rows(
    acme: httpx.Client, ws: Workspace
) -> None:
    import pyarrow as pa

    _upload(acme)
    acme.post("/v1/datasets/tickets/split", json={"strategy": "random", "test_size": 0.25})
    rows = pa.table({"text": ["one more message"], "label": ["pos"]})
    facts = {"parent": {"ref": "tickets:2"}, "sources": [{"source": "queue:q", "rows": 1}]}
    ws.for_org("acme").datasets.append("tickets", rows, lineage=facts)

    shown = acme.get("/v1/datasets/tickets").json()

    assert (shown["version"], shown["operation"], shown["rows"]) == (3, "append", 21)
    assert shown["provenance"] == facts


def test_clean_with_recipe_text_same_as_steps(acme: httpx.Client) -> None:
    _upload(acme, TICKETS.read_bytes())
    recipe = "steps:\n  - trim\n  - drop_duplicates\n"
    by_recipe = acme.post("/v1/datasets/tickets/clean", json={"recipe": recipe})
    assert by_recipe.status_code == 201
    by_steps = acme.post(
        "/v1/datasets/tickets/clean",
        params={"version": 1},
        json={"steps": ["trim", "drop_duplicates"]},
    )
    assert by_steps.status_code == 200  # the same recipe on the same parent: the same version
    assert by_steps.json()["id"] == by_recipe.json()["id"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "no_steps"),
        ({"steps": []}, "no_steps"),
        ({"steps": ["trim"], "recipe": "- trim"}, "invalid_option"),
        ({"steps": ["polish"]}, "unknown_step"),
        ({"recipe": "steps: [unclosed"}, "invalid_recipe"),
        ({"recipe": "just text"}, "invalid_recipe"),
        ({"steps": ["drop_columns:nope"]}, "unknown_column"),
    ],
)
def test_clean_bad_steps_are_the_cli_errors(
    acme: httpx.Client, body: dict[str, Any], code: str
) -> None:
    _upload(acme)
    response = acme.post("/v1/datasets/tickets/clean", json=body)
    assert response.status_code == 422, response.text
    assert _code(response) == code
    assert len(acme.get("/v1/datasets/tickets/versions").json()) == 1


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"strategy": "sideways"}, "invalid_split"),
        ({"strategy": "random", "test_size": 1.5}, "invalid_split_size"),
        ({"strategy": "time"}, "missing_role"),
        ({"strategy": "random", "seed": -1}, "invalid_split"),
        ({"strategy": "random", "last_n": 2}, "invalid_split"),
        ({"strategy": "stratified", "label": "nope"}, "unknown_column"),
        ({"strategy": "random", "seed": "1"}, "invalid_input"),
    ],
)
def test_split_bad_options_are_the_cli_errors(
    acme: httpx.Client, body: dict[str, Any], code: str
) -> None:
    _upload(acme)
    response = acme.post("/v1/datasets/tickets/split", json=body)
    assert response.status_code == 422, response.text
    assert _code(response) == code


def test_split_stratified_and_time_column_options(acme: httpx.Client) -> None:
    _upload(
        acme,
        b"t,label\n" + b"".join(f"2026-01-{i + 1:02d},{'ab'[i % 2]}\n".encode() for i in range(20)),
    )
    strat = acme.post(
        "/v1/datasets/tickets/split", json={"strategy": "stratified", "label": "label"}
    ).json()
    assert strat["split"]["options"] == {"label": "label"}
    timed = acme.post(
        "/v1/datasets/tickets/split", params={"version": 1},
        json={"strategy": "time", "time_column": "t", "test_size": 0.25, "validation_size": 0},
    ).json()  # fmt: skip
    assert timed["split"]["options"] == {"column": "t"}
    assert timed["split"]["counts"]["test"] == 5


# ------------------------------------------------------------------ export
def test_export_formats_and_split_are_attachments(acme: httpx.Client, settings: Settings) -> None:
    _upload(acme, TICKETS.read_bytes())
    acme.post("/v1/datasets/tickets/split", json={"strategy": "random", "seed": 42})

    csv = acme.get("/v1/datasets/tickets/export")
    assert csv.status_code == 200
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.headers["content-disposition"] == 'attachment; filename="tickets-v2.csv"'
    assert int(csv.headers["content-length"]) == len(csv.content)
    lines = csv.text.splitlines()
    assert lines[0] == '"ticket_id","text","category","split"'
    assert len(lines) == 14

    parquet = acme.get("/v1/datasets/tickets/export", params={"format": "parquet", "version": 1})
    assert parquet.headers["content-type"] == "application/vnd.apache.parquet"
    table = pq.read_table(io.BytesIO(parquet.content))
    assert (table.num_rows, table.column_names) == (13, ["ticket_id", "text", "category"])

    test = acme.get("/v1/datasets/tickets/export", params={"format": "jsonl", "split": "test"})
    assert test.headers["content-disposition"] == 'attachment; filename="tickets-v2-test.jsonl"'
    rows = [json.loads(line) for line in test.text.splitlines()]
    assert len(rows) == acme.get("/v1/datasets/tickets").json()["split"]["counts"]["test"]
    assert "split" not in rows[0]
    assert _scratch(settings) == []


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"format": "xml"}, "invalid_format"),
        ({"split": "holdout"}, "invalid_split"),
        ({"split": "test", "version": 1}, "no_split"),
    ],
)
def test_export_bad_options_are_the_cli_errors(
    acme: httpx.Client, settings: Settings, params: dict[str, Any], code: str
) -> None:
    _upload(acme)
    acme.post("/v1/datasets/tickets/split", json={"strategy": "random"})
    response = acme.get("/v1/datasets/tickets/export", params=params)
    assert response.status_code == 422
    assert _code(response) == code
    assert _scratch(settings) == []


# --------------------------------------------------------------------- SDK
@pytest.fixture
def sdk(app: FastAPI, tenants: Tenants) -> Iterator[Client]:
    transport = PortalTransport(app)
    client = Client("http://testserver", tenants.keys["acme:developer"], transport=transport)
    try:
        yield client
    finally:
        client.close()
        transport.shutdown()


def test_sdk_round_trip_upload_list_show_versions_export(sdk: Client, tmp_path: Path) -> None:
    tmp_path = tmp_path / "downloads"
    tmp_path.mkdir()
    made = sdk.upload_dataset(TICKETS, "tickets", roles={"ticket_id": "id"})
    assert made.created
    assert made.version == 1
    assert made.schema_["ticket_id"] == "int"
    assert sdk.upload_dataset(TICKETS, "tickets", roles={"ticket_id": "id"}).created is False
    assert [(d.name, d.owner, d.version) for d in sdk.list_datasets()] == [("tickets", "acme", 1)]

    cleaned = sdk.clean_dataset("tickets", ["trim", "drop_duplicates"])
    split = sdk.split_dataset("tickets", strategy="stratified", seed=42, validation_size=0)
    assert (cleaned.version, split.version) == (2, 3)
    shown = sdk.get_dataset("tickets")
    assert [e.operation for e in shown.lineage] == ["ingest", "clean", "split"]
    assert sdk.get_dataset("tickets", version=1).rows == 13
    assert [v.parent_version for v in sdk.dataset_versions("tickets")] == [None, 1, 2]

    out = sdk.export_dataset("tickets", tmp_path / "train.parquet", format="parquet", split="train")
    assert pq.read_table(out).num_rows == split.split.counts["train"]  # type: ignore[union-attr]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.parquet"]


def test_sdk_errors_are_named_and_leave_no_partial_download(sdk: Client, tmp_path: Path) -> None:
    tmp_path = tmp_path / "files"
    tmp_path.mkdir()
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(InvalidInput) as err:
        sdk.upload_dataset(empty, "empty")
    assert err.value.code == "empty_file"
    with pytest.raises(NotFound) as missing:
        sdk.export_dataset("nothing", tmp_path / "out.csv")
    assert missing.value.code == "dataset_not_found"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.csv"]


def test_sdk_upload_over_cap_is_payload_too_large(
    capped: tuple[httpx.Client, Settings], ws: Workspace, clock: FixedClock, tenants: Tenants,
    tmp_path: Path,
) -> None:  # fmt: skip
    _, small = capped
    transport = PortalTransport(create_app(small, workspace=ws, clock=clock))
    big = tmp_path / "big.csv"
    big.write_bytes(CSV * 40)
    try:
        with (
            Client("http://t", tenants.keys["acme:developer"], transport=transport) as client,
            pytest.raises(PayloadTooLarge) as err,
        ):
            client.upload_dataset(big, "big")
    finally:
        transport.shutdown()
    assert err.value.code == "upload_too_large"


# ------------------------------------------------------- a real server, 200 MB
#: Most the server's resident memory may grow (MiB over its warmed-up level) while it
#: receives a 200 MB upload to disk: the body is never held in memory (about 1 MiB of
#: it at a time, plus the parser's buffers).
RECEIVE_RSS_BOUND_MIB = 32
#: Most the whole upload (receive + ingest) may grow the server's memory beyond what
#: ``ws.datasets.ingest`` of the same file grows a fresh process by (MiB). Measured:
#: the two are within about 25 MiB of each other (~300 MiB each for this file, the
#: ingest's row groups and statistics); the margin absorbs allocator noise.
UPLOAD_OVER_INGEST_BOUND_MIB = 96

_LOCAL_INGEST = """
import sys, tempfile
from pathlib import Path
from baryon import Settings, Workspace
from serverkit import memory_kib
ws = Workspace.open(Settings(home=Path(sys.argv[2])))
small = Path(sys.argv[2]) / "small.csv"
small.write_bytes(b"a,b\\n1,2\\n3,4\\n")
ws.datasets.ingest(small, name="warm-up")
open("/proc/self/clear_refs", "w").write("5")
before = memory_kib()["VmRSS"]
ws.datasets.ingest(sys.argv[1], name="big")
print((memory_kib()["VmHWM"] - before) / 1024)
"""


def _write_csv(path: Path, target_bytes: int) -> int:
    """Write a CSV of about ``target_bytes`` in 5 MB pieces; return its row count."""
    rows = 0
    with path.open("w", encoding="utf-8") as out:
        out.write("id,user_id,item_id,rating,text\n")
        while out.tell() < target_bytes:
            out.write(
                "".join(
                    f"{i},{i % 5003},{i % 997},{i % 10 / 2},message {i % 1000} item {i % 97}\n"
                    for i in range(rows, rows + 100_000)
                )
            )
            rows += 100_000
    return rows


def _reset_peak(pid: int | str) -> None:
    with open(f"/proc/{pid}/clear_refs", "w") as fh:
        fh.write("5")  # the peak (VmHWM) starts again from the current RSS


def _growth_mib(before: dict[str, int], after: dict[str, int]) -> float:
    return (after["VmHWM"] - before["VmRSS"]) / 1024


@pytest.mark.slow
@pytest.mark.server
def test_upload_200_mb_streams_with_bounded_server_memory(tmp_path: Path) -> None:
    import subprocess
    import sys

    from serverkit import free_port, memory_kib, start_server, stop_server, wait_ready

    from baryon.commerce.orgs import create_org
    from baryon.commerce.plans import create_plan
    from baryon.tenancy.keys import create_key

    home = tmp_path / "home"
    with Workspace.open(Settings(home=home)) as ws, ws.db.session(SYSTEM) as s:
        create_plan(s, name="big", quota=1000, rate_per_minute=1000)
        org = create_org(s, name="acme", plan="big")
        secret = create_key(s, org_id=org.id, role="developer").secret
    small, big = tmp_path / "small.csv", tmp_path / "big.csv"
    small.write_bytes(CSV)
    rows = _write_csv(big, 200 * 10**6)
    size = big.stat().st_size
    port = free_port()
    proc = start_server(home, port)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, proc)
        with Client(base, secret, timeout=600) as client:
            client.upload_dataset(small, "warm-up")  # imports and first-call caches
            # 1. Receiving only: the whole body goes to disk, then a bad field refuses it.
            _reset_peak(proc.pid)
            idle = memory_kib(proc.pid)
            with pytest.raises(InvalidInput) as refused:
                client.upload_dataset(big, "big", roles={"": "label"})
            received = memory_kib(proc.pid)
            assert refused.value.code == "invalid_option"
            assert not list((home / "tmp").iterdir())
            # 2. The real thing, from the SDK, which streams the file from disk too.
            _reset_peak(proc.pid)
            _reset_peak("self")
            idle, client_idle = memory_kib(proc.pid), memory_kib()
            made = client.upload_dataset(big, "big")
            ingested, client_after = memory_kib(proc.pid), memory_kib()
    finally:
        stop_server(proc)
    local = subprocess.run(
        [sys.executable, "-c", _LOCAL_INGEST, str(big), str(tmp_path / "local")],
        capture_output=True, text=True, check=True, cwd=Path(__file__).parents[1],
    )  # fmt: skip
    local_growth = float(local.stdout.strip().splitlines()[-1])
    receive_growth = _growth_mib(idle, received)
    upload_growth = _growth_mib(idle, ingested)
    print(
        f"\n{size / 2**20:.0f} MiB CSV ({rows:,} rows) over HTTP: server RSS grows "
        f"{receive_growth:.0f} MiB receiving it (bound {RECEIVE_RSS_BOUND_MIB}), "
        f"{upload_growth:.0f} MiB receiving + ingesting it; a local ingest of the file grows "
        f"{local_growth:.0f} MiB (bound: + {UPLOAD_OVER_INGEST_BOUND_MIB}); the SDK grows "
        f"{_growth_mib(client_idle, client_after):.0f} MiB"
    )
    assert size >= 200 * 10**6
    assert made.created
    assert made.rows == rows
    assert receive_growth < RECEIVE_RSS_BOUND_MIB
    assert upload_growth < local_growth + UPLOAD_OVER_INGEST_BOUND_MIB
    assert _growth_mib(client_idle, client_after) < RECEIVE_RSS_BOUND_MIB
    assert not list((home / "tmp").iterdir())


@pytest.mark.server
def test_upload_over_cap_on_a_real_server_is_413_for_the_sdk_and_a_chunked_body(
    tmp_path: Path,
) -> None:
    from serverkit import free_port, start_server, stop_server, wait_ready

    from baryon.commerce.orgs import create_org
    from baryon.commerce.plans import create_plan
    from baryon.tenancy.keys import create_key

    home = tmp_path / "home"
    with Workspace.open(Settings(home=home)) as ws, ws.db.session(SYSTEM) as s:
        create_plan(s, name="p", quota=1000, rate_per_minute=1000)
        org = create_org(s, name="acme", plan="p")
        secret = create_key(s, org_id=org.id, role="developer").secret
    big = tmp_path / "big.csv"
    big.write_bytes(CSV * 2000)  # ~600 KB
    port = free_port()
    proc = start_server(home, port, env={"BARYON_MAX_UPLOAD_BYTES": "100000"})
    base = f"http://127.0.0.1:{port}"

    def chunked() -> Iterator[bytes]:
        yield b'--b\r\nContent-Disposition: form-data; name="name"\r\n\r\nbig\r\n--b\r\n'
        yield b'Content-Disposition: form-data; name="file"; filename="big.csv"\r\n\r\n'
        yield from (CSV for _ in range(2000))
        yield b"\r\n--b--\r\n"

    try:
        wait_ready(base, proc)
        with Client(base, secret) as client:
            with pytest.raises(PayloadTooLarge) as err:
                client.upload_dataset(big, "big")  # Content-Length over the cap
            assert err.value.code == "upload_too_large"
            response = httpx.post(
                f"{base}/v1/datasets",
                content=chunked(),
                headers={
                    "Authorization": f"Bearer {secret}",
                    "Content-Type": "multipart/form-data; boundary=b",
                },
            )
            assert response.status_code == 413
            assert response.json()["code"] == "upload_too_large"
            assert client.list_datasets() == []
            small = tmp_path / "small.csv"
            small.write_bytes(CSV)
            assert client.upload_dataset(small, "small").created  # under the cap: fine
    finally:
        stop_server(proc)
    assert not list((home / "tmp").iterdir())
