"""Artifacts on S3-compatible object storage, through the callers that write and read
them: a workspace configured as an operator would (``BARYON_ARTIFACTS_URL`` and the
standard AWS variables), a dataset uploaded over the API, a model trained and
registered, a prediction served from the model read back from the bucket; and a store
that refuses writes, which leaves no version pointing at a missing artifact.

Every test needs the S3 server of ``BARYON_TEST_S3_URL`` (``scripts/start-s3.sh``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import s3fs
from fastapi import FastAPI
from s3kit import ACCESS_KEY, REGION, SECRET_KEY, fresh_bucket
from servingkit import ClientFactory, Tenants

from baryon.core.clock import FixedClock
from baryon.core.config import Settings
from baryon.core.errors import NotFound
from baryon.predictions.inference import RegistryModelResolver
from baryon.serving.app import create_app
from baryon.training.trainer import Trainer
from baryon.workspace import Workspace

pytestmark = pytest.mark.s3

#: label "hi" iff x1 + x2 > 1: a depth-3 tree gets the two rows predicted below right.
CSV = "x1,x2,label\n" + "".join(
    f"{a / 10:.1f},{b / 10:.1f},{'hi' if a + b > 10 else 'lo'}\n"
    for a in range(10)
    for b in range(10)
)


@pytest.fixture
def bucket() -> Iterator[tuple[str, dict[str, Any]]]:
    with fresh_bucket() as made:
        yield made


@pytest.fixture
def bucket_fs(bucket: tuple[str, dict[str, Any]]) -> s3fs.S3FileSystem:
    """The test's own view of the bucket (to list, or to remove it)."""
    return s3fs.S3FileSystem(skip_instance_cache=True, **bucket[1])


@pytest.fixture
def settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bucket: tuple[str, dict[str, Any]]
) -> Settings:
    """Settings from the environment, as ``baryon serve`` reads them: the artifacts in
    ``s3://<bucket>/baryon``, endpoint and credentials in the AWS variables."""
    name, options = bucket
    monkeypatch.setenv("BARYON_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("BARYON_ARTIFACTS_URL", f"s3://{name}/baryon")
    monkeypatch.setenv("AWS_ENDPOINT_URL", options["endpoint_url"])
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    return Settings()


@pytest.fixture
def app(settings: Settings, ws: Workspace, clock: FixedClock) -> FastAPI:
    """The app on the real registry: models are loaded from the artifact store."""
    return create_app(
        settings, workspace=ws, clock=clock, resolver=RegistryModelResolver(ws, alias_ttl=0.0)
    )


def _upload(client: httpx.Client, name: str = "toy") -> httpx.Response:
    return client.post(
        "/v1/datasets",
        files={"file": ("toy.csv", CSV.encode(), "text/csv")},
        data={"name": name, "role": ["label=label"]},
    )


def _stored(fs: s3fs.S3FileSystem, bucket: str) -> set[str]:
    return {path.rsplit("/", 1)[-1] for path in fs.find(f"{bucket}/baryon/sha256")}


def test_dataset_model_and_prediction_go_through_the_bucket(
    settings: Settings,
    ws: Workspace,
    api: ClientFactory,
    tenants: Tenants,
    bucket: tuple[str, dict[str, Any]],
    bucket_fs: s3fs.S3FileSystem,
) -> None:
    admin = api(tenants.keys["acme:admin"])
    uploaded = _upload(admin)
    assert uploaded.status_code == 201, uploaded.text
    acme = ws.for_org("acme")
    version = acme.datasets.split("toy", strategy="random", seed=1)
    run = Trainer(acme).train("decision_tree", dataset="toy", register="toy", seed=0)
    assert run.status == "succeeded", run.error
    acme.registry.clear_cache()  # the model is read back from the bucket to answer

    answer = api(tenants.keys["acme:developer"]).post(
        "/v1/models/toy/predict", json={"inputs": [{"x1": 0.9, "x2": 0.9}, {"x1": 0, "x2": 0}]}
    )

    assert answer.status_code == 200, answer.text
    assert [o["label"] for o in answer.json()["outputs"]] == ["hi", "lo"]
    stored = _stored(bucket_fs, bucket[0])
    model = acme.registry.get_version("toy")
    wanted = {version.data_digest, version.split_digest, model.artifact_digest}
    assert wanted | {model.manifest_digest} <= stored
    assert not (settings.home / "artifacts").exists()  # nothing went to the local disk
    assert list((settings.home / "tmp").glob("baryon-scratch-*")) == []  # nor stayed there


def test_upload_to_a_bucket_gone_missing_is_503_and_creates_no_version(
    ws: Workspace,
    api: ClientFactory,
    tenants: Tenants,
    bucket: tuple[str, dict[str, Any]],
    bucket_fs: s3fs.S3FileSystem,
    caplog: pytest.LogCaptureFixture,
) -> None:
    bucket_fs.rm(bucket[0], recursive=True)
    answer = _upload(api(tenants.keys["acme:admin"]))
    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["code"] == "artifact_store_unavailable"
    assert bucket[0] not in answer.text  # the operator's store is not the tenant's business
    logged = caplog.text  # ... it is the operator's: the log names the store and why
    assert f"s3://{bucket[0]}/baryon" in logged
    assert "no such bucket" in logged
    for secret in (SECRET_KEY, ACCESS_KEY):
        assert secret not in answer.text
        assert secret not in logged
    assert ws.for_org("acme").datasets.list() == []


def test_train_with_writes_refused_registers_no_version(
    ws: Workspace,
    api: ClientFactory,
    tenants: Tenants,
    bucket: tuple[str, dict[str, Any]],
    bucket_fs: s3fs.S3FileSystem,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert _upload(api(tenants.keys["acme:admin"])).status_code == 201
    acme = ws.for_org("acme")
    acme.datasets.split("toy", strategy="random", seed=1)
    before = _stored(bucket_fs, bucket[0])

    def refuse(*args: object, **kwargs: object) -> None:  # a policy that went read-only
        raise PermissionError("Access Denied")

    monkeypatch.setattr(ws.artifacts.fs, "put_file", refuse)  # type: ignore[attr-defined]
    run = Trainer(acme).train("decision_tree", dataset="toy", register="toy", seed=0)

    assert (run.status, run.error_code) == ("failed", "artifact_write_failed")
    assert "refused the write" in (run.error or "")
    with pytest.raises(NotFound):
        acme.registry.get_version("toy")
    assert acme.registry.list_models() == []
    assert _stored(bucket_fs, bucket[0]) == before  # nothing half written
    for name, digest in acme.runs.get(run.id).artifacts.items():
        assert digest in before, name  # every artifact a run names exists
