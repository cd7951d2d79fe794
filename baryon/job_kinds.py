"""Baryon's own background-job handlers and schedule kinds, assembled in one place.

``baryon serve`` (its in-process worker, :func:`baryon.serving.app.create_app`) and
``baryon worker`` run exactly this set unless told otherwise, so a job kind added here
runs wherever jobs run.
"""

from __future__ import annotations

from baryon.jobs import Handler, ScheduledKind

__all__ = ["default_job_handlers", "default_schedule_kinds"]


def default_job_handlers() -> dict[str, Handler]:
    """Return ``{job kind: handler}`` for every kind Baryon itself queues.

    :func:`baryon.jobs.builtin_handlers`, ``train``
    (:func:`baryon.training.jobs.training_handlers`), ``federated``, ``flywheel``,
    billing's ``billing_close``, ``alert.deliver`` and the sources' ``source_run`` (with
    the sentiment monitor as the sink of subscribed feeds).
    """
    from baryon.commerce.billing import billing_handlers
    from baryon.connectors.jobs import source_handlers
    from baryon.federated.jobs import federated_handlers
    from baryon.flywheel.jobs import flywheel_handlers
    from baryon.jobs import builtin_handlers
    from baryon.solutions.sentiment.delivery import alert_handlers
    from baryon.solutions.sentiment.subscriptions import sentiment_sinks
    from baryon.training.jobs import training_handlers

    return {
        **builtin_handlers(),
        **training_handlers(),
        **federated_handlers(),
        **flywheel_handlers(),
        **billing_handlers(),
        **alert_handlers(),
        **source_handlers(sentiment_sinks()),
    }


def default_schedule_kinds() -> dict[str, ScheduledKind]:
    """Return ``{job kind: ScheduledKind}`` for the kinds ``/v1/schedules`` accepts.

    ``flywheel`` (:func:`baryon.flywheel.schedules.flywheel_schedule_kinds`),
    ``source_run`` (:func:`baryon.connectors.jobs.source_schedule_kinds`) and, for
    operator organizations, ``billing_close``
    (:func:`baryon.commerce.billing.billing_schedule_kinds`).
    """
    from baryon.commerce.billing import billing_schedule_kinds
    from baryon.connectors.jobs import source_schedule_kinds
    from baryon.flywheel.schedules import flywheel_schedule_kinds

    return {**flywheel_schedule_kinds(), **source_schedule_kinds(), **billing_schedule_kinds()}
