"""Request and response bodies of active-learning sampling (pydantic v2).

``POST /v1/labeling/queues/{name}/sample`` (:mod:`baryon.serving.routers.labeling_sample`).
Kept apart from :mod:`baryon.serving.schemas` like the solution bodies; imports only
pydantic, so :mod:`baryon.client` types its answers with it. Requests
refuse unknown fields. The strategy, ``n`` and ``max_rows`` rules are in the schema
with the domain's codes (``invalid_strategy``, ``invalid_sample_size``,
``invalid_max_rows``; :func:`baryon.labeling.sampling.check_request` holds the same
rules for other callers, and a test pins them equal).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from baryon.serving.fields import DatasetRef, Integer, WholeNumber, named

__all__ = ["SampleCounts", "SampleRequest", "SampleResponse", "SampledTaskOut"]


class SampleRequest(BaseModel):
    """``POST /v1/labeling/queues/{name}/sample``: queue the most uncertain rows of a dataset."""

    model_config = ConfigDict(extra="forbid")

    dataset: DatasetRef = Field(description="Dataset reference (NAME: its latest version).")
    strategy: Annotated[
        Literal["least_confidence", "margin", "entropy", "random"],
        named("invalid_strategy", "use least_confidence, margin, entropy or random"),
    ] = "margin"
    n: Annotated[
        StrictInt,
        Field(ge=1, le=1000),
        WholeNumber,
        named("invalid_sample_size", "n is from 1 to 1000"),
    ] = Field(default=50, description="Tasks to queue (1 to 1000).")
    diversity: StrictBool = Field(
        default=False, description="Cluster the candidates so the batch is not one question."
    )
    seed: Integer = Field(default=0, ge=0, le=2**32 - 1, description="Random seed.")
    max_rows: (
        Annotated[
            StrictInt,
            Field(ge=1, le=100_000),
            WholeNumber,
            named("invalid_max_rows", "max_rows is from 1 to 100000"),
        ]
        | None
    ) = Field(default=None, description="Most rows scored (1 to 100000; default 10000).")


class SampledTaskOut(BaseModel):
    """One queued task: its id, input, score and the champion's suggestion."""

    task_id: str
    input: dict[str, Any]
    score: float
    suggested_label: str
    confidence: float


class SampleCounts(BaseModel):
    """How many rows were available, scored and dropped (and why)."""

    rows_available: int
    rows_scored: int
    empty: int
    duplicates: int
    already_queued: int
    in_test_split: int


class SampleResponse(SampleCounts):
    """What one sampling call queued."""

    queue: str
    model: str
    model_version: int
    dataset: str
    strategy: str
    diversity: bool
    seed: int
    requested: int
    enqueued: int
    tasks: list[SampledTaskOut]
