"""The Python client's labeling methods over the real app (in process)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from serving.servingkit import (  # tests/serving, as a namespace package
    PortalTransport,
    Tenants,
    fresh_home,
    make_resolver,
    make_tenants,
)

from baryon.client import Client
from baryon.core.clock import FixedClock
from baryon.core.config import Settings
from baryon.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from baryon.predictions.inference import ServedModel
from baryon.serving.app import create_app
from baryon.workspace import Workspace


class Unsure:
    classes_ = np.array(["card", "fee", "other"])

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        return np.array([[0.3, 0.45, 0.25] for _ in texts])


@pytest.fixture
def world(
    settings: Settings, clock: FixedClock, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[PortalTransport, Tenants]]:
    template = tmp_path_factory.getbasetemp() / "client-labeling-template" / "baryon.db"
    if not template.exists():
        Workspace.open(Settings(home=template.parent)).close()
    fresh_home(template, settings.home)
    ws = Workspace.open(settings, clock=clock)
    tenants = make_tenants(ws, clock)
    resolver = make_resolver()
    resolver.add(ServedModel("intent", 1, "text_classification", Unsure()), "champion")
    transport = PortalTransport(create_app(settings, workspace=ws, clock=clock, resolver=resolver))
    yield transport, tenants
    transport.shutdown()
    ws.close()


def _client(world: tuple[PortalTransport, Tenants], role: str) -> Client:
    transport, tenants = world
    return Client("http://testserver", tenants.keys[f"acme:{role}"], transport=transport)


def test_client_labeling_two_annotators_reach_consensus(
    world: tuple[PortalTransport, Tenants],
) -> None:
    with (
        _client(world, "developer") as dev,
        _client(world, "annotator") as ann,
        _client(world, "admin") as admin,
    ):
        made = dev.create_queue("intent", "intent", overlap=2, instructions="Be quick")
        assert made.classes == ["card", "fee", "other"]
        dev.predict("intent", ["is it a fee?", "card?"])
        assert [t.status for t in dev.tasks("intent")] == ["open", "open"]
        for annotator in (ann, dev):
            done = []
            while (claim := annotator.claim("intent")) is not None:
                assert claim.instructions == "Be quick"
                assert claim.task.suggested_label == "fee"
                done.append(annotator.submit_label(claim.task.id, "fee", seconds=2.0))
            assert len(done) == 2
        tasks = dev.tasks("intent", status="done")
        assert {(t.label, t.resolution, t.agreement) for t in tasks} == {("fee", "majority", 1.0)}
        progress = ann.queue("intent")
        assert progress.tasks["done"] == 2
        assert len(progress.annotators) == 2
        assert admin.review_task(tasks[0].id, "card").resolution == "review"
        assert admin.task(tasks[0].id).label == "card"
        assert dev.update_queue("intent", overlap=1).overlap == 1
        assert [q.name for q in ann.queues()] == ["intent"]


def test_client_labeling_errors_by_code(world: tuple[PortalTransport, Tenants]) -> None:
    with _client(world, "developer") as dev, _client(world, "annotator") as ann:
        dev.predict("intent", ["card?"])
        claim = ann.claim("intent")
        assert claim is not None
        with pytest.raises(InvalidInput) as bad:
            ann.submit_label(claim.task.id, "zebra")
        assert bad.value.code == "unknown_label"
        skipped = ann.skip_task(claim.task.id, "no idea")
        assert skipped.annotation.status == "skipped"
        assert ann.claim("intent") is None
        with pytest.raises(Conflict) as taken:
            dev.create_queue("intent", "intent")
        assert taken.value.code == "queue_exists"
        with pytest.raises(Forbidden):
            ann.review_task(claim.task.id, "card")
        with pytest.raises(NotFound) as missing:
            dev.queue("nope")
        assert missing.value.code == "queue_not_found"
