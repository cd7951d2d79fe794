"""Request and response bodies of active-learning sampling (pydantic v2).

``POST /v1/labeling/queues/{name}/sample`` (:mod:`baryon.serving.routers.labeling_sample`).
Kept apart from :mod:`baryon.serving.schemas` like the solution bodies; imports only
pydantic, so :mod:`baryon.client` types its answers with it. Requests
refuse unknown fields. The strategy and ``n`` are checked by the domain
(:func:`baryon.labeling.sampling.check_request`), so a bad one gets its own code
(``invalid_strategy``, ``invalid_sample_size``) instead of a schema error.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

__all__ = ["SampleCounts", "SampleRequest", "SampleResponse", "SampledTaskOut"]


class SampleRequest(BaseModel):
    """``POST /v1/labeling/queues/{name}/sample``: queue the most uncertain rows of a dataset."""

    model_config = ConfigDict(extra="forbid")

    dataset: str = Field(
        min_length=1, max_length=300, description="Dataset reference (NAME: its latest version)."
    )
    strategy: str = Field(
        default="margin",
        max_length=64,
        description="least_confidence, margin, entropy or random.",
    )
    n: StrictInt = Field(default=50, description="Tasks to queue (1 to 1000).")
    diversity: StrictBool = Field(
        default=False, description="Cluster the candidates so the batch is not one question."
    )
    seed: StrictInt = Field(default=0, ge=0, le=2**32 - 1, description="Random seed.")
    max_rows: StrictInt | None = Field(
        default=None, description="Most rows scored (1 to 100000; default 10000)."
    )


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
