"""Flywheel cycles on a schedule: the ``flywheel`` kind of :mod:`baryon.jobs.schedules`.

::

    from baryon.flywheel.schedules import flywheel_schedule_kinds
    from baryon.jobs.schedules import create_schedule, plan_schedule

    kinds = flywheel_schedule_kinds()
    spec = plan_schedule(ws, kinds, kind="flywheel", payload={"model": "support-intent"},
                         cron="0 3 * * *")         # checks the model; writes nothing
    with ws.db.session(ws.scope) as session:
        create_schedule(session, spec, org_id=ws.scope.org_id, actor="docs", clock=ws.clock)

A flywheel schedule's payload is ``{"model": NAME, "min_delta": X}`` (``min_delta``
defaults to 0). Making one checks what :func:`~baryon.flywheel.jobs.prepare_cycle`
checks (the organization's own classifier with a champion trained by Baryon). Each
firing prepares the cycle again and submits it as :func:`~baryon.flywheel.jobs.submit_cycle`
does for ``baryon flywheel run`` (trigger ``schedule``, actor ``schedule:sch_…``): a
cycle of the model already queued or running skips the firing (``cycle_in_progress``);
a model that lost its champion fails it (``no_champion``), and the schedule goes on.
Its default name is ``flywheel-MODEL``: one schedule per model unless named.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from baryon.core.errors import InvalidInput
from baryon.flywheel.cycle import check_min_delta
from baryon.flywheel.jobs import FLYWHEEL, prepare_cycle, submit_cycle
from baryon.jobs.queue import Job, JobQueue
from baryon.jobs.schedules import ScheduledKind

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from baryon.flywheel.cycle import Recipe
    from baryon.workspace import Workspace

__all__ = ["FlywheelSchedule", "flywheel_schedule_kinds"]

_FIELDS = frozenset({"model", "min_delta"})


class FlywheelSchedule(ScheduledKind):
    """Schedules of the ``flywheel`` kind: one cycle of a model per due time."""

    payload_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["model"],
        "additionalProperties": False,
        "properties": {
            "model": {"type": "string", "minLength": 1, "maxLength": 200},
            "min_delta": {"type": "number", "minimum": 0},
        },
    }

    def __init__(self) -> None:
        super().__init__(FLYWHEEL)

    def check(self, payload: dict[str, Any]) -> dict[str, Any]:
        """``{"model": NAME, "min_delta": X}``; ``min_delta`` defaults to 0.

        Raises
        ------
        InvalidInput
            ``invalid_job_payload`` (no model, or a field other than these two),
            ``invalid_min_delta``.
        """
        model = payload.get("model")
        unknown = sorted(set(payload) - _FIELDS)
        if not isinstance(model, str) or not model or len(model) > 200 or unknown:
            raise InvalidInput(
                "a flywheel schedule's payload is {'model': NAME, 'min_delta': X}"
                + (f"; unknown field {', '.join(unknown)}" if unknown else ""),
                code="invalid_job_payload",
            )
        return {"model": model, "min_delta": check_min_delta(payload.get("min_delta", 0.0))}

    def default_name(self, payload: dict[str, Any]) -> str:
        """``flywheel-MODEL``."""
        return f"flywheel-{payload['model']}"

    def prepare(self, ws: Workspace, payload: dict[str, Any]) -> tuple[Recipe, float]:
        """The cycle's recipe (:func:`~baryon.flywheel.jobs.prepare_cycle`) and ``min_delta``."""
        min_delta = float(payload["min_delta"])
        return prepare_cycle(ws, payload["model"], min_delta=min_delta), min_delta

    def submit(
        self, ws: Workspace, queue: JobQueue, prepared: Any, *, session: Session, actor: str
    ) -> Job:
        """Record a queued cycle and its job (:func:`~baryon.flywheel.jobs.submit_cycle`)."""
        recipe, min_delta = prepared
        state = submit_cycle(
            ws, queue, recipe, actor=actor, min_delta=min_delta, trigger="schedule",
            session=session,
        )  # fmt: skip
        assert state.job is not None  # submit_cycle always enqueues
        return state.job


def flywheel_schedule_kinds() -> dict[str, ScheduledKind]:
    """Return the flywheel's schedulable kinds, ``kind → ScheduledKind``:
    ``{"flywheel": FlywheelSchedule()}`` (a new dict each call).

    The entry points (``baryon serve``, ``baryon worker``, the CLI) pass it on.
    """
    return {FLYWHEEL: FlywheelSchedule()}
