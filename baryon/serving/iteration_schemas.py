"""Request and response bodies of the iteration routes (``/v1/iterations``, pydantic v2).

Kept apart from :mod:`baryon.serving.schemas` (the platform's bodies) so that both
stay small; like it, this module imports nothing but pydantic, so
:mod:`baryon.client` types its answers with it without loading the app. Requests
refuse unknown fields (``extra="forbid"``), booleans and strings as numbers, NaN and
infinities, times that are not RFC 3339 with an offset (:data:`~baryon.serving.schemas.Timestamp`),
and over-long strings. Semantic checks
(the goal's model and metric, the time box, links) are the domain's, with the codes
listed in :mod:`baryon.flywheel.iterations`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from baryon.core.refs import NAME_PATTERN
from baryon.serving.fields import Timestamp, named

__all__ = [
    "CreateIterationRequest",
    "GoalIn",
    "GoalOut",
    "GoalSpecOut",
    "ItemCountsOut",
    "IterationItemOut",
    "IterationItemRequest",
    "IterationItemUpdate",
    "IterationItemsOut",
    "IterationOut",
    "IterationSummaryOut",
    "TrajectoryPointOut",
]

ItemKind = Literal["labeling", "run", "flywheel", "task"]
ItemState = Literal["todo", "doing", "done"]
GoalOp = Literal[">=", "<="]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class GoalIn(_Request):
    """A metric goal: ``model``'s ``metric`` on its test split ``op`` ``target``."""

    model: str = Field(min_length=1, max_length=100, description="A registered model.")
    metric: str = Field(
        min_length=1, max_length=64, description="A test-split metric its runs report."
    )
    op: GoalOp
    target: float = Field(strict=True, allow_inf_nan=False, examples=[0.94])


class CreateIterationRequest(_Request):
    """``POST /v1/iterations``: a time box with metric goals."""

    name: Annotated[
        str,
        Field(pattern=f"^{NAME_PATTERN}$"),
        named("invalid_iteration_name", "1-100 letters, digits, '.', '_' or '-'"),
    ] = Field(examples=["2026-w51"])
    starts_at: Timestamp | None = Field(default=None, description="Default: now.")
    ends_at: Timestamp
    goals: list[GoalIn] = Field(default_factory=list, max_length=20)


class IterationItemRequest(_Request):
    """``POST /v1/iterations/{iteration}/items``: a work item on the board."""

    kind: ItemKind
    title: str | None = Field(
        default=None,
        min_length=1,
        max_length=500,
        description="Required for a task; default: what the linked object is.",
    )
    ref: str | None = Field(
        default=None,
        max_length=40,
        description="lq_… (labeling), run_… (run) or fw_… (flywheel); none for a task.",
    )
    owner: str | None = Field(
        default=None, min_length=1, max_length=200, description="usr_… or a name."
    )
    state: ItemState = "todo"


class IterationItemUpdate(_Request):
    """``PATCH /v1/iterations/{iteration}/items/{item_id}``: move, assign, rename.

    Fields left out stay as they are; ``"owner": null`` unassigns.
    """

    state: ItemState | None = None
    owner: str | None = Field(default=None, min_length=1, max_length=200)
    title: str | None = Field(default=None, min_length=1, max_length=500)


class TrajectoryPointOut(_Out):
    """A goal's metric in one flywheel cycle of its model inside the time box."""

    cycle_id: str
    at: datetime
    finished_at: datetime | None
    status: str
    decision: Any = Field(description="The cycle report's decision, as the flywheel wrote it.")
    champion_version: int | None
    candidate_version: int | None
    champion: float | None
    candidate: float | None
    value: float | None = Field(
        description="The model's metric after the cycle (the candidate's if promoted)."
    )


class GoalOut(_Out):
    """A goal with its trajectory, its value and whether it is met."""

    model: str
    metric: str
    op: GoalOp
    target: float
    value: float | None = Field(
        description="The champion's test-split value (at closing time once closed)."
    )
    champion_version: int | None
    met: bool
    trajectory: list[TrajectoryPointOut]


class IterationItemOut(_Out):
    """A work item with the status of the object it links to."""

    id: str
    iteration_id: str
    kind: ItemKind
    title: str
    ref: str | None
    state: ItemState
    owner: str | None
    created_at: datetime
    updated_at: datetime
    linked: dict[str, Any] | None = Field(
        description="A queue's progress, a run's status and test metrics, a cycle's "
        "status and decision; null for a task or an object that is gone."
    )


class IterationItemsOut(_Out):
    """The Kanban board: items by state, oldest first."""

    todo: list[IterationItemOut]
    doing: list[IterationItemOut]
    done: list[IterationItemOut]


class ItemCountsOut(_Out):
    """Items per Kanban state."""

    todo: int
    doing: int
    done: int


class GoalSpecOut(_Out):
    """A goal as stored."""

    model: str
    metric: str
    op: GoalOp
    target: float


class IterationSummaryOut(_Out):
    """An iteration in a list."""

    id: str
    name: str
    status: Literal["open", "closed"]
    starts_at: datetime
    ends_at: datetime
    created_at: datetime
    closed_at: datetime | None
    goals: list[GoalSpecOut]
    counts: ItemCountsOut


class IterationOut(_Out):
    """An iteration in full: goals with trajectories, the board, and (closed) its summary."""

    id: str
    name: str
    status: Literal["open", "closed"]
    starts_at: datetime
    ends_at: datetime
    created_at: datetime
    closed_at: datetime | None
    goals: list[GoalOut]
    items: IterationItemsOut
    counts: ItemCountsOut
    summary: dict[str, Any] = Field(
        description="Empty while open; once closed: each goal's final value and met, "
        "goals met of total, items per state."
    )
