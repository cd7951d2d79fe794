"""Request and response bodies of the flywheel routes (``/v1/flywheel``, pydantic v2).

Kept apart from :mod:`baryon.serving.schemas` like the solutions' bodies; imports
nothing but pydantic, so :mod:`baryon.client` types its answers with them without
loading the app. Requests refuse unknown fields (``extra="forbid"``). The shape of a
cycle's ``report`` is documented in ``docs/flywheel.md``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["FlywheelCycleOut", "FlywheelCycleSubmittedOut", "FlywheelRunRequest"]

CycleStatus = Literal["queued", "running", "promoted", "kept", "nothing_new", "failed"]


class FlywheelRunRequest(BaseModel):
    """``POST /v1/flywheel/{model}/cycles``: run one flywheel cycle of the model as a job."""

    model_config = ConfigDict(extra="forbid")

    iteration_id: str | None = Field(
        default=None,
        max_length=100,
        description="The iteration the cycle counts towards: its id (it_…) or its name.",
    )
    min_delta: float = Field(
        default=0.0,
        strict=True,
        ge=0.0,
        allow_inf_nan=False,
        description="Required improvement of the primary metric at the gate (a tie never "
        "promotes).",
    )


class FlywheelCycleSubmittedOut(BaseModel):
    """``202`` to ``POST /v1/flywheel/{model}/cycles``: the queued cycle and its job."""

    cycle_id: str
    job_id: str
    model: str
    status: Literal["queued"]


class FlywheelCycleOut(BaseModel):
    """One flywheel cycle with its job's state.

    ``report`` holds ``decision`` (``promoted``, ``kept`` or ``nothing_new``),
    ``rows_added`` by source, ``metrics`` (``champion``, ``candidate``, and ``delta``
    with 95 % intervals), the gate's ``message``, and ``error`` when it failed.
    """

    id: str
    model: str
    status: CycleStatus
    job_id: str | None
    job_status: str | None
    stage: str | None
    progress: float | None
    attempts: int | None
    iteration_id: str | None
    champion_version: int | None
    parent_version_id: str | None
    dataset_version_id: str | None
    run_id: str | None
    candidate_version: int | None
    report: dict[str, Any]
    created_at: datetime
    finished_at: datetime | None
