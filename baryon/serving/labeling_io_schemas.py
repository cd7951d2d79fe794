"""Response bodies of the labeling agreement, export and import routes (pydantic v2).

Kept apart from :mod:`baryon.serving.schemas` like
:mod:`baryon.serving.solution_schemas`; they import nothing but pydantic, so
:mod:`baryon.client` types its answers with them without loading the app. The fields
are those of :mod:`baryon.labeling.agreement` and :mod:`baryon.labeling.interop`.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = [
    "AgreementOut",
    "AnnotatorAgreementOut",
    "BadTaskOut",
    "ImportReportOut",
    "MeasureOut",
    "PairAgreementOut",
]


class MeasureOut(BaseModel):
    """One agreement coefficient; ``value`` null when undefined (``note`` says why)."""

    value: float | None = Field(description="1 perfect, 0 chance level, below 0 worse.")
    items: int = Field(description="Tasks it was computed on.")
    note: str | None = Field(description="Why it is undefined, or what was left out.")


class PairAgreementOut(BaseModel):
    """Two annotators on the tasks both labeled."""

    annotators: list[str]
    shared: int = Field(description="Tasks both labeled.")
    percent_agreement: float | None
    cohen_kappa: MeasureOut


class AnnotatorAgreementOut(BaseModel):
    """One annotator against the others and against the consensus."""

    annotator: str
    annotations: int = Field(description="Labels given.")
    skipped: int = Field(description="Tasks skipped.")
    shared_tasks: int = Field(description="Labeled tasks that someone else labeled too.")
    co_annotators: int
    mean_pairwise_kappa: float | None = Field(
        description="Mean Cohen's kappa with each co-annotator over the tasks both labeled."
    )
    kappa_pairs: int = Field(description="Co-annotators whose kappa is defined.")
    consensus_tasks: int = Field(description="Done tasks with two labels or more they labeled.")
    consensus_agreement: float | None = Field(
        description="Share of their labels on those tasks equal to the consensus label."
    )
    note: str | None


class AgreementOut(BaseModel):
    """``GET /v1/labeling/queues/{name}/agreement``."""

    queue: str
    annotations: int
    annotators: int
    tasks: int = Field(description="Tasks with at least one label.")
    shared_tasks: int = Field(description="Tasks with two labels or more.")
    percent_agreement: float | None = Field(
        description="Mean share of agreeing pairs of labels per shared task (no chance correction)."
    )
    cohen_kappa: MeasureOut = Field(description="Two annotators only (else see pairs).")
    fleiss_kappa: MeasureOut
    krippendorff_alpha: MeasureOut
    pairs: list[PairAgreementOut]
    per_annotator: list[AnnotatorAgreementOut]


class BadTaskOut(BaseModel):
    """A task an import refused."""

    task: int = Field(description="Its position in the file (1 is the first task).")
    id: str | None = Field(description="Its id in the file, if it has one.")
    line: int | None = Field(description="Its (first) line, for CSV and JSONL.")
    reasons: list[str]


class ImportReportOut(BaseModel):
    """``POST /v1/labeling/queues/{name}/import``: what was (or would be) imported."""

    queue: str
    format: str
    tasks: int = Field(description="Tasks in the file.")
    created: int = Field(description="New tasks on the queue.")
    merged: int = Field(description="Tasks whose input was already queued (or repeated).")
    annotations: int = Field(description="Annotations added (labels and skips).")
    unchanged: int = Field(description="Annotations already on the queue.")
    done: int
    review: int
    skipped: int
    reviewed: int = Field(
        0, description="Tasks given the admin's review decision the file carries (also in done)."
    )
    dry_run: bool
    bad: int = Field(description="Bad tasks (nothing is imported when there is one).")
    bad_tasks: list[BadTaskOut]
