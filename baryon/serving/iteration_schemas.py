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

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from baryon.core.ids import ID_BODY, is_id
from baryon.core.refs import NAME_PATTERN, WHITE_SPACE
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


#: A title or owner: 1 to ``n`` characters with one that is neither white space nor a
#: control character, and no control character but tab and line feed.
_TEXT = (
    f"^[^\\u0000-\\u0008\\u000b-\\u001f\\u007f]*[^{WHITE_SPACE}\\u0000-\\u001f\\u007f]"
    "[^\\u0000-\\u0008\\u000b-\\u001f\\u007f]*$"
)
Title = Annotated[
    str,
    Field(min_length=1, max_length=500, pattern=_TEXT),
    named("invalid_title", "a title is 1-500 characters without control characters"),
]
Owner = Annotated[
    str,
    Field(min_length=1, max_length=200, pattern=_TEXT),
    named("invalid_owner", "an owner is 1-200 characters without control characters"),
]
#: The id prefix of the object each kind of item links.
_REF_PREFIX = {"labeling": "lq", "run": "run", "flywheel": "fw"}


def _item_rules(schema: dict[str, Any]) -> None:
    """A task has a title and no ref; another item has a ref of its kind's id."""
    schema["oneOf"] = [
        {
            "required": ["kind", "title"],
            "properties": {
                "kind": {"const": "task"},
                "title": {"type": "string"},
                "ref": {"type": "null"},
            },
        },
        *(
            {
                "required": ["kind", "ref"],
                "properties": {
                    "kind": {"const": kind},
                    "ref": {"type": "string", "pattern": f"^{prefix}_{ID_BODY}$"},
                },
            }
            for kind, prefix in _REF_PREFIX.items()
        ),
    ]


class IterationItemRequest(_Request):
    """``POST /v1/iterations/{iteration}/items``: a work item on the board.

    A ``task`` has a ``title`` and no ``ref`` (``missing_title``, ``unexpected_ref``);
    any other kind links an object by its id (``missing_ref``, ``invalid_ref``).
    """

    model_config = ConfigDict(extra="forbid", json_schema_extra=_item_rules)

    kind: ItemKind
    title: Title | None = Field(
        default=None, description="Required for a task; default: what the linked object is."
    )
    ref: str | None = Field(
        default=None,
        max_length=40,
        description="lq_… (labeling), run_… (run) or fw_… (flywheel); none for a task.",
    )
    owner: Owner | None = Field(default=None, description="usr_… or a name.")
    state: ItemState = "todo"

    @model_validator(mode="after")
    def _kind_rules(self) -> IterationItemRequest:
        if self.kind == "task":
            if self.ref is not None:
                raise PydanticCustomError("unexpected_ref", "a task item links to nothing")
            if self.title is None:
                raise PydanticCustomError("missing_title", "a task item needs a title")
        elif self.ref is None:
            raise PydanticCustomError("missing_ref", "a linked item needs a ref")
        elif not is_id(self.ref, _REF_PREFIX[self.kind]):
            raise PydanticCustomError("invalid_ref", "the ref is not an id of the item's kind")
        return self


def _update_rules(schema: dict[str, Any]) -> None:
    """At least one field; ``state`` and ``title`` never null (only ``owner`` unassigns)."""
    schema["minProperties"] = 1
    for name in ("state", "title"):
        prop = schema["properties"][name]
        prop["anyOf"] = [k for k in prop["anyOf"] if k != {"type": "null"}]


class IterationItemUpdate(_Request):
    """``PATCH /v1/iterations/{iteration}/items/{item_id}``: move, assign, rename.

    Fields left out stay as they are; ``"owner": null`` unassigns.
    """

    model_config = ConfigDict(extra="forbid", json_schema_extra=_update_rules)

    state: ItemState | None = None
    owner: Owner | None = None
    title: Title | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> IterationItemUpdate:
        given = self.model_fields_set
        if not given:
            raise PydanticCustomError("empty_update", "give a state, an owner or a title")
        if "state" in given and self.state is None:
            raise PydanticCustomError("invalid_item_state", "an item's state is not null")
        if "title" in given and self.title is None:
            raise PydanticCustomError("invalid_title", "a title is not null")
        return self


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
