"""Request and response bodies of the HTTP API (pydantic v2).

Requests refuse unknown fields (``extra="forbid"``) so a typo is a 422, not a
silently ignored option. Money is a decimal **string** (``"49.00"``) both ways.
Limits (``quota``, ``rate_per_minute``) are strict integers: ``10.0`` or ``"10"``
are refused, as are negative values.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

__all__ = [
    "AuditEventOut",
    "CreateKeyRequest",
    "CreateOrgRequest",
    "CreatePlanRequest",
    "CreateUserRequest",
    "CreatedKeyOut",
    "EndpointOut",
    "EndpointRequest",
    "FeedbackOut",
    "FeedbackRequest",
    "HealthOut",
    "KeyOut",
    "MeOut",
    "OrgDetailOut",
    "OrgOut",
    "PeriodOut",
    "PlanOut",
    "PredictRequest",
    "PredictResponse",
    "PredictionOut",
    "Problem",
    "ReadyOut",
    "RoleName",
    "SubscribeRequest",
    "SubscriptionOut",
    "UpdateOrgRequest",
    "UsageGroup",
    "UsageOut",
    "UserOut",
]

RoleName = Literal["owner", "admin", "developer", "annotator", "viewer"]
InputMode = Literal["full", "hashed", "none"]
Money = str


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Problem(BaseModel):
    """An ``application/problem+json`` error (RFC 9457) with Baryon's stable ``code``."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    details: dict[str, Any] | None = None
    errors: list[dict[str, Any]] | None = None


# ------------------------------------------------------------------ operations
class HealthOut(_Out):
    """``/healthz``: the process is up."""

    status: Literal["ok"]


class ReadyOut(_Out):
    """``/readyz``: the database answers and every champion model loads."""

    status: Literal["ready"]
    database: Literal["ok"]
    models_checked: int


# ----------------------------------------------------------------------- plans
class PlanOut(_Out):
    """A plan; prices are exact decimal strings."""

    id: str
    name: str
    quota: int
    rate_per_minute: int
    monthly_price: Money
    overage_price: Money | None
    features: list[str]
    builtin: bool
    created_at: datetime


class CreatePlanRequest(_Request):
    """``POST /v1/plans`` (operators)."""

    name: str = Field(max_length=40)
    quota: StrictInt = Field(ge=0, description="Requests per billing period; 0 admits nothing.")
    rate_per_minute: StrictInt = Field(ge=0, description="Requests per minute per API key.")
    monthly_price: str = Field(default="0", max_length=32, description="Decimal string.")
    overage_price: str | None = Field(default=None, max_length=32)
    features: list[str] = Field(default_factory=list, max_length=32)


# ------------------------------------------------------------------------ orgs
class OrgOut(_Out):
    """An organization."""

    id: str
    name: str
    operator: bool
    prediction_inputs: InputMode
    created_at: datetime


class SubscriptionOut(_Out):
    """An organization's active subscription."""

    id: str
    plan: PlanOut
    status: str
    billing_anchor: datetime
    started_at: datetime


class PeriodOut(_Out):
    """The current billing period: quota, use, and the charge so far."""

    plan: str
    start: datetime
    end: datetime
    quota: int
    used: int
    remaining: int
    overage_allowed: bool
    charge: dict[str, Money | int]


class OrgDetailOut(_Out):
    """An organization with its subscription and current period."""

    organization: OrgOut
    subscription: SubscriptionOut | None
    period: PeriodOut | None


class UpdateOrgRequest(_Request):
    """``PATCH /v1/org``."""

    prediction_inputs: InputMode | None = None


class CreateOrgRequest(_Request):
    """``POST /v1/orgs`` (operators)."""

    name: str = Field(max_length=64)
    plan: str = Field(default="free", max_length=40)
    operator: bool = False
    prediction_inputs: InputMode = "full"


class SubscribeRequest(_Request):
    """``POST /v1/orgs/{org_id}/subscription`` (operators)."""

    plan: str = Field(max_length=40)


class MeOut(_Out):
    """``GET /v1/me``: the calling key and what it may do."""

    key_id: str
    org_id: str
    org_name: str
    role: RoleName
    user_id: str | None
    operator: bool
    permissions: list[str]


# ----------------------------------------------------------------- users, keys
class UserOut(_Out):
    """A user."""

    id: str
    org_id: str
    email: str
    role: RoleName
    created_at: datetime
    disabled_at: datetime | None


class CreateUserRequest(_Request):
    """``POST /v1/users``."""

    email: str = Field(max_length=254)
    role: RoleName


class KeyOut(_Out):
    """An API key as listed: never its secret."""

    id: str
    org_id: str
    user_id: str | None
    name: str
    role: RoleName
    prefix: str
    status: Literal["active", "revoked", "expired"]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class CreatedKeyOut(KeyOut):
    """A new key with its secret: shown this once, stored nowhere."""

    secret: str


class CreateKeyRequest(_Request):
    """``POST /v1/keys``; ``expires_in`` is a duration such as ``30d``, ``12h``."""

    role: RoleName
    name: str = Field(default="", max_length=100)
    user_id: str | None = Field(default=None, max_length=40)
    expires_in: str | None = Field(default=None, max_length=16, examples=["30d"])


# ----------------------------------------------------------------------- usage
class UsageGroup(_Out):
    """One group of a usage report."""

    group: str | None
    requests: int
    units: int
    errors: int


class UsageOut(_Out):
    """``GET /v1/usage``: the organization's usage records, grouped."""

    org_id: str
    start: datetime
    end: datetime
    group_by: Literal["endpoint", "key", "day"]
    groups: list[UsageGroup]
    total: UsageGroup
    period: PeriodOut | None


# ----------------------------------------------------------------- predictions
class PredictRequest(_Request):
    """``POST /v1/models/{name}/predict``.

    ``inputs`` holds one entry per prediction: an object of features (tabular), a
    text, a user id (recommenders). ``request_id`` makes a traffic split sticky.
    """

    inputs: list[Any] = Field(min_length=1)
    request_id: str | None = Field(default=None, max_length=200)


class PredictResponse(_Out):
    """A prediction: always with ``prediction_id`` and ``model_version``."""

    prediction_id: str
    model: str
    model_version: int
    variant: Literal["champion", "challenger", "pinned"]
    outputs: list[Any]
    flags: list[str]
    usage: dict[str, int]


class PredictionOut(_Out):
    """A logged prediction."""

    prediction_id: str
    model: str
    model_version: int
    variant: str
    request_id: str | None
    key_id: str
    input_mode: InputMode
    inputs: list[Any] | None
    input_hashes: list[str] | None
    outputs: list[Any]
    flags: list[str]
    n_inputs: int
    latency_ms: float
    at: datetime


class FeedbackRequest(_Request):
    """``POST /v1/feedback``: exactly one of ``label`` or ``rating`` for item ``item``."""

    prediction_id: str = Field(max_length=40)
    item: int = Field(default=0, ge=0)
    label: str | int | bool | None = Field(default=None)
    rating: float | None = Field(default=None, allow_inf_nan=False)


class FeedbackOut(_Out):
    """Stored feedback."""

    feedback_id: str
    prediction_id: str
    item: int
    label: str | int | bool | None
    rating: float | None
    at: datetime


class EndpointRequest(_Request):
    """``PUT /v1/endpoints/{name}``: share of traffic sent to the challenger."""

    challenger_weight: float = Field(ge=0.0, le=1.0, allow_inf_nan=False)


class EndpointOut(_Out):
    """An organization's endpoint for one model."""

    model: str
    challenger_weight: float
    updated_at: datetime


class AuditEventOut(_Out):
    """An audit event of the organization."""

    id: str
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    details: dict[str, Any]


# --------------------------------------------------------------------- grants
class GrantRequest(_Request):
    """Share one of the caller's models or datasets with another organization."""

    object_type: Literal["model", "dataset"]
    name: str = Field(min_length=1, max_length=100, description="The object's name.")
    grantee: str = Field(
        min_length=1,
        max_length=64,
        description="An organization name or id, or '*' for every organization.",
    )
    permission: Literal["read", "predict"]


class GrantOut(_Out):
    """One grant."""

    id: str
    owner: str
    grantee: str
    object_type: Literal["model", "dataset"]
    object_name: str
    permission: Literal["read", "predict"]
    created_by: str
    created_at: datetime


class GrantsOut(_Out):
    """Grants the organization gave and received."""

    given: list[GrantOut]
    received: list[GrantOut]


# ----------------------------------------------------------------------- runs
class RunRequest(_Request):
    """``POST /v1/runs``: train ``kind`` on a dataset version as a background job.

    Everything is checked before anything is written (unknown kind, parameter or
    dataset, bad seed or folds, invalid model name: 422/404, no run, no job).
    """

    kind: str = Field(min_length=1, max_length=64, description="Estimator kind.")
    dataset: str = Field(
        min_length=1, max_length=300, description="Dataset reference (NAME: its latest version)."
    )
    target: str | None = Field(
        default=None, max_length=200, description="Target column (default: by role)."
    )
    params: dict[str, Any] = Field(default_factory=dict, description="Estimator parameters.")
    seed: StrictInt = Field(default=42, description="Random seed (>= 0).")
    cv_folds: StrictInt = Field(
        default=0, description="Cross-validation folds on the train split (0: none, else >= 2)."
    )
    register_as: str | None = Field(
        default=None,
        max_length=100,
        alias="register",
        description="Register the model under this name.",
    )  # not ``register``: pydantic models have a ``register`` attribute (ABCMeta)


class RunSubmittedOut(_Out):
    """``202`` to ``POST /v1/runs``: the queued run and the job that trains it."""

    run_id: str
    job_id: str
    status: Literal["queued"]


class RegisteredVersionOut(_Out):
    """The model version a run registered."""

    name: str
    version: int


class RunErrorOut(_Out):
    """Why a succeeded run's registration was refused."""

    code: str
    message: str


class RunSummaryOut(_Out):
    """A run in a list: what was trained on what, its status, progress and metrics.

    ``stage``, ``progress``, ``attempts`` and ``job_status`` come from the run's job
    (``null`` for a run trained in the foreground by ``baryon train``, and, in lists,
    for finished runs).
    """

    id: str
    status: Literal["queued", "running", "succeeded", "failed", "failed_validation", "cancelled"]
    kind: str
    task: str
    dataset: str = Field(description="NAME@N of the dataset version trained on.")
    dataset_version_id: str
    target: str | None
    params: dict[str, Any]
    seed: int
    cv_folds: int
    metrics: dict[str, float | None]
    error_code: str | None
    error: str | None
    started_at: datetime
    ended_at: datetime | None
    duration_seconds: float | None
    job_id: str | None
    job_status: str | None
    stage: str | None
    progress: float | None
    attempts: int | None
    cancel_requested: bool
    registered: RegisteredVersionOut | None
    registration_error: RunErrorOut | None


class RunOut(RunSummaryOut):
    """One run in full: adds metric histories, columns, split, artifacts, libraries."""

    history: dict[str, list[float | None]]
    feature_columns: list[str]
    column_roles: dict[str, str]
    split: dict[str, Any] | None
    artifacts: dict[str, str]
    library_versions: dict[str, str]
    queued_at: datetime | None


class ComparisonRowOut(_Out):
    """One parameter or metric across the compared runs (one value per run)."""

    name: str
    values: list[Any]
    differs: bool


class RunComparisonOut(_Out):
    """``GET /v1/runs/compare``: runs side by side, and which parameters differ."""

    run_ids: list[str]
    runs: list[RunSummaryOut]
    params: list[ComparisonRowOut]
    metrics: list[ComparisonRowOut]
    differing_params: list[str]


__all__ += [
    "ComparisonRowOut",
    "RegisteredVersionOut",
    "RunComparisonOut",
    "RunErrorOut",
    "RunOut",
    "RunRequest",
    "RunSubmittedOut",
    "RunSummaryOut",
]
