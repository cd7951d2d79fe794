"""Request and response bodies of the labeling routes (``/v1/labeling``, pydantic v2).

Kept apart from :mod:`baryon.serving.schemas` like the solutions' bodies; they import
nothing but pydantic and constants, so :mod:`baryon.client` types its answers with
them. Requests refuse unknown fields, numbers are strict (``true`` is not 1, ``"2"``
is not 2) and every text and list is bounded.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, model_validator
from pydantic_core import PydanticCustomError

from baryon.core.refs import NAME_PATTERN, WHITE_SPACE
from baryon.labeling.limits import (
    MAX_CLASSES,
    MAX_INSTRUCTIONS_CHARS,
    MAX_LABEL_CHARS,
    MAX_OVERLAP,
    MAX_SECONDS,
    MAX_SKIP_REASON_CHARS,
)
from baryon.serving.fields import Unique, WholeNumber, named

__all__ = [
    "AnnotationOut",
    "AnnotatorProgressOut",
    "ClaimOut",
    "CreateQueueRequest",
    "QueueDetailOut",
    "QueueOut",
    "ReviewRequest",
    "SkipRequest",
    "SubmissionOut",
    "SubmitLabelRequest",
    "TaskOut",
    "UpdateQueueRequest",
]

_NAME = f"^{NAME_PATTERN}$"
Label = Annotated[str, Field(min_length=1, max_length=MAX_LABEL_CHARS)]
#: A class of a queue: non-blank, no white space around it.
ClassName = Annotated[
    str,
    Field(
        max_length=MAX_LABEL_CHARS,
        pattern=f"^[^{WHITE_SPACE}](?:[\\s\\S]*[^{WHITE_SPACE}])?$",
    ),
    named("invalid_classes", "each class is non-blank, without white space around it"),
]
Seconds = Annotated[StrictFloat, Field(ge=0, le=MAX_SECONDS, allow_inf_nan=False)]
Agreement = Annotated[StrictFloat, Field(ge=0, le=1, allow_inf_nan=False)]
Overlap = Annotated[StrictInt, Field(ge=1, le=MAX_OVERLAP), WholeNumber]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ------------------------------------------------------------------- requests
class CreateQueueRequest(_Request):
    """``POST /v1/labeling/queues``: a queue for one of your models."""

    name: str = Field(max_length=100, pattern=_NAME, description="Unique per organization.")
    model: str = Field(
        max_length=100,
        pattern=_NAME,
        description="A registered model you own or that is shared with you.",
    )
    classes: Annotated[list[ClassName], Unique("invalid_classes", "classes")] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_CLASSES,
        description="Labels annotators may give: some of the model champion's classes "
        "(default: all of them; others are 422 unknown_label).",
    )
    overlap: Overlap = Field(default=1, description="Annotators per task (k).")
    min_agreement: Agreement = Field(
        default=0.5,
        description="Least share of a task's labels the majority needs; below it, or on "
        "a tie, the task goes to review.",
    )
    instructions: str | None = Field(default=None, max_length=MAX_INSTRUCTIONS_CHARS)


_UPDATABLE = ("overlap", "min_agreement", "instructions")


class UpdateQueueRequest(_Request):
    """``PATCH /v1/labeling/queues/{name}``: fields left out (or null) stay as they are;
    at least one is given and not null (``empty_update``)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "anyOf": [
                {"required": [name], "properties": {name: {"not": {"type": "null"}}}}
                for name in _UPDATABLE
            ]
        },
    )

    overlap: Overlap | None = None
    min_agreement: Agreement | None = None
    instructions: str | None = Field(
        default=None, max_length=MAX_INSTRUCTIONS_CHARS, description="Empty clears them."
    )

    @model_validator(mode="after")
    def _something_to_change(self) -> UpdateQueueRequest:
        if all(getattr(self, name) is None for name in _UPDATABLE):
            raise PydanticCustomError("empty_update", "give overlap, min_agreement or instructions")
        return self


class SubmitLabelRequest(_Request):
    """``POST /v1/labeling/tasks/{task_id}/annotations``: your label for a task."""

    label: Label = Field(description="One of the queue's classes.")
    seconds: Seconds | None = Field(
        default=None, description="Time spent (default: measured from your claim)."
    )


class SkipRequest(_Request):
    """``POST /v1/labeling/tasks/{task_id}/skip``: pass on a task, saying why."""

    reason: str = Field(min_length=1, max_length=MAX_SKIP_REASON_CHARS)
    seconds: Seconds | None = None


class ReviewRequest(_Request):
    """``POST /v1/labeling/tasks/{task_id}/review``: the final label of a task."""

    label: Label = Field(description="One of the queue's classes.")


# ------------------------------------------------------------------ responses
class QueueOut(BaseModel):
    """A labeling queue."""

    id: str
    name: str
    model: str
    classes: list[str]
    overlap: int
    min_agreement: float
    instructions: str | None
    created_at: datetime
    updated_at: datetime


class AnnotatorProgressOut(BaseModel):
    """One annotator's work on a queue (live claims only)."""

    annotator: str
    submitted: int
    skipped: int
    claimed: int
    seconds_mean: float | None


class QueueDetailOut(QueueOut):
    """A queue with its progress: tasks by status and annotations per annotator."""

    tasks: dict[str, int]
    annotators: list[AnnotatorProgressOut]


class AnnotationOut(BaseModel):
    """One annotator's claim, label or skip of a task."""

    id: str
    task_id: str
    annotator: str
    slot: int
    status: str
    label: str | None
    skip_reason: str | None
    seconds: float | None
    claimed_at: datetime
    submitted_at: datetime | None


class TaskOut(BaseModel):
    """One labeling task: input, suggestion, status and (when shown) annotations."""

    id: str
    queue: str
    source: str
    reason: str
    input: dict[str, Any]
    suggested_label: str | None
    confidence: float | None
    priority: float
    seen_count: int
    status: str
    label: str | None
    resolution: str | None
    agreement: float | None
    prediction_id: str | None
    model_version: int | None
    created_at: datetime
    updated_at: datetime
    done_at: datetime | None
    annotations: list[AnnotationOut] | None = None


class ClaimOut(BaseModel):
    """A claimed task, its suggestion and what the annotator needs to label it."""

    task: TaskOut
    annotation_id: str
    slot: int
    claimed_at: datetime
    expires_at: datetime
    classes: list[str]
    instructions: str | None


class SubmissionOut(BaseModel):
    """A label or skip, and the task after it."""

    annotation: AnnotationOut
    task: TaskOut
