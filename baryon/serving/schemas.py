"""Request and response bodies of the HTTP API (pydantic v2).

Requests refuse unknown fields (``extra="forbid"``) so a typo is a 422, not a
silently ignored option. Money is a decimal **string** (``"49.00"``) both ways.
Every number and flag of a request is strict: a boolean is never a number (``true`` is
not ``1``), a string never a number or a flag (``"0.5"``, ``"yes"``), and an integer
field refuses ``10.5`` (``10.0`` is the integer 10, as JSON Schema's ``integer`` says:
:data:`~baryon.serving.fields.Integer`); limits (``quota``, ``rate_per_minute``) also
refuse negative values. (Strict per field, not per model: FastAPI validates bodies in
Python mode, where a model-wide strict mode would also refuse ISO 8601 dates.)

Field types with a rule of their own (times, names, non-blank texts) are shared with
the other schema modules from :mod:`baryon.serving.fields`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    model_validator,
)
from pydantic_core import PydanticCustomError

from baryon.commerce.plans import (
    KNOWN_FEATURES,
    MAX_UNIT_WEIGHT,
    MONEY_PATTERN,
    PLAN_NAME_PATTERN,
)
from baryon.core.refs import MAX_VERSION, WHITE_SPACE
from baryon.ml.kinds import KINDS
from baryon.serving.fields import (
    MAX_SAFE_INTEGER,
    NON_BLANK,
    DatasetRef,
    Integer,
    ModelName,
    OneOf,
    WholeNumber,
    named,
)

__all__ = [
    "AliasMoveOut",
    "AuditEventOut",
    "ChampionOut",
    "CleanDatasetRequest",
    "CreateKeyRequest",
    "CreateOrgRequest",
    "CreatePlanRequest",
    "CreateUserRequest",
    "CreatedKeyOut",
    "DatasetDetailOut",
    "DatasetHistoryOut",
    "DatasetLineageOut",
    "DatasetMadeOut",
    "DatasetQualityOut",
    "DatasetSplitOut",
    "DatasetVersionOut",
    "EndpointOut",
    "EndpointRequest",
    "EvaluateRequest",
    "EvaluationOut",
    "FeedbackOut",
    "FeedbackRequest",
    "HealthOut",
    "KeyOut",
    "MeOut",
    "ModelDetailOut",
    "ModelOut",
    "ModelVersionOut",
    "OrgDetailOut",
    "OrgOut",
    "PeriodOut",
    "PlanOut",
    "PredictRequest",
    "PredictResponse",
    "PredictionOut",
    "PriceVersionOut",
    "Problem",
    "ProblemError",
    "PromoteRequest",
    "ReadyOut",
    "RegisteredVersionOut",
    "RoleName",
    "RollbackRequest",
    "SplitDatasetRequest",
    "SubscribeRequest",
    "SubscriptionOut",
    "UpdateOrgRequest",
    "UpdatePlanRequest",
    "UsageGroup",
    "UsageOut",
    "UserOut",
]

#: An email address as :func:`baryon.tenancy.users.create_user` reads it (stripped).
Email = Annotated[
    str,
    Field(
        max_length=254,
        pattern=f"^[{WHITE_SPACE}]*[^@{WHITE_SPACE}]{{1,64}}@[^@{WHITE_SPACE}]{{1,189}}[{WHITE_SPACE}]*$",
    ),
    named("invalid_email", "not an email address"),
]
RoleName = Literal["owner", "admin", "developer", "annotator", "viewer"]
InputMode = Literal["full", "masked", "hashed", "none"]
FiniteFloat = Annotated[float, Field(strict=True, allow_inf_nan=False)]
Money = str
#: A plan's feature flag (``unknown_feature`` otherwise).
PlanFeature = Annotated[str, OneOf(sorted(KNOWN_FEATURES), "unknown_feature", "a plan feature")]
#: A price in a request: plain decimal notation, under a trillion, at most 4 places.
Price = Annotated[
    str,
    Field(max_length=17, pattern=MONEY_PATTERN),
    named("invalid_price", "a price is a decimal string such as '49.00' (at most 4 places)"),
]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ProblemError(BaseModel):
    """Where and what in a request that does not match the schema (never the input)."""

    loc: list[str] = Field(description='Where: ["body", "inputs", "0"], ["query", "start"].')
    msg: str
    type: str = Field(description="What, e.g. missing, string_too_long, invalid_time.")


class Problem(BaseModel):
    """An ``application/problem+json`` error (RFC 9457) with Baryon's stable ``code``."""

    type: str = Field(
        pattern=r"^urn:baryon:problem:[a-z0-9_]+$",
        description="urn:baryon:problem:CODE",
        examples=["urn:baryon:problem:user_exists"],
    )
    title: str = Field(description="The HTTP reason phrase.")
    status: int = Field(ge=400, le=599)
    detail: str = Field(description="One human sentence; may change between releases.")
    code: str = Field(pattern=r"^[a-z0-9_]+$", description="The stable code users script against.")
    details: dict[str, Any] | None = Field(
        default=None, description="Facts about the error (retry_after, limits, ...)."
    )
    errors: list[ProblemError] | None = Field(
        default=None, description="Schema errors of the request (422 invalid_input)."
    )


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
    unit_weights: dict[str, int] = Field(
        default_factory=dict,
        description="Units per input by metered route template (a route not listed: 1).",
    )
    builtin: bool
    created_at: datetime
    currency: str = Field(description="ISO 4217 code of every price of the plan.")
    trial_days: int = Field(description="Days of a new subscription without the base price.")
    route_prices: dict[str, Money] = Field(
        default_factory=dict, description="Price per unit by metered route template."
    )
    price_version: int = Field(description="The newest price version (these prices).")
    archived_at: datetime | None = Field(description="When the plan stopped being offered.")


#: Units per input of a metered route: a whole number from 1 to MAX_UNIT_WEIGHT.
UnitWeight = Annotated[
    StrictInt,
    Field(ge=1, le=MAX_UNIT_WEIGHT),
    WholeNumber,
    named("invalid_unit_weight", f"a unit weight is a whole number from 1 to {MAX_UNIT_WEIGHT}"),
]


class CreatePlanRequest(_Request):
    """``POST /v1/plans`` (operators)."""

    name: Annotated[
        str,
        Field(pattern=PLAN_NAME_PATTERN),
        named("invalid_name", "a plan name is 1-40 lower-case letters, digits, '_' or '-'"),
    ]
    quota: Integer = Field(
        ge=0,
        le=MAX_SAFE_INTEGER,
        description="Units per billing period, >= 1; 0 only with the overage feature "
        "(every unit billed as overage).",
    )
    rate_per_minute: Integer = Field(
        ge=0, le=MAX_SAFE_INTEGER, description="Requests per minute per API key."
    )
    monthly_price: Price = Field(default="0", description="Decimal string.")
    overage_price: Price | None = Field(
        default=None, description="Decimal string, per unit beyond the quota."
    )
    features: list[PlanFeature] = Field(default_factory=list, max_length=32)
    unit_weights: dict[str, UnitWeight] = Field(
        default_factory=dict,
        max_length=32,
        description="Units per input by metered route template, e.g. "
        '{"/v1/sentiment/analyze": 2}; whole numbers >= 1 (a route not listed: 1).',
    )
    currency: str = Field(default="USD", max_length=8, description="ISO 4217 code.")
    trial_days: Integer = Field(default=0, ge=0, le=366)
    route_prices: dict[str, Price] = Field(
        default_factory=dict,
        max_length=32,
        description="Price per unit (decimal string) by metered route template.",
    )


#: A plan's limit (quota, rate) as ``PATCH`` takes it: a whole number >= 0.
_Limit = Annotated[StrictInt, Field(ge=0, le=MAX_SAFE_INTEGER), WholeNumber]


class UpdatePlanRequest(_Request):
    """``PATCH /v1/plans/{name}`` (operators): fields left out are kept. Limits apply at
    once; a price change is a new price version, in force from the next period."""

    quota: _Limit | None = None
    rate_per_minute: _Limit | None = None
    features: list[PlanFeature] | None = Field(default=None, max_length=32)
    unit_weights: dict[str, UnitWeight] | None = Field(default=None, max_length=32)
    trial_days: Annotated[StrictInt, Field(ge=0, le=366), WholeNumber] | None = None
    monthly_price: Price | None = None
    overage_price: Price | None = Field(default=None, description="Sent as null: no overage price.")
    route_prices: dict[str, Price] | None = Field(default=None, max_length=32)


class PriceVersionOut(_Out):
    """One price version of a plan (in force from the first period starting after it)."""

    plan_id: str
    version: int
    monthly_price: Money
    overage_price: Money | None
    route_prices: dict[str, Money]
    created_at: datetime


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
    trial_ends_at: datetime | None = None


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
    operator: StrictBool = False
    prediction_inputs: InputMode = Field(
        default="masked",
        description="How the prediction log keeps inputs: full, masked (personal data "
        "masked; the default), hashed or none.",
    )


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
    """A user; ``status`` ``disabled`` once deleted (a soft delete: the record stays)."""

    id: str
    org_id: str
    email: str
    role: RoleName
    status: Literal["active", "disabled"] = Field(
        description="disabled after DELETE /v1/users/{user_id} (its keys are revoked)."
    )
    created_at: datetime
    disabled_at: datetime | None


class CreateUserRequest(_Request):
    """``POST /v1/users``."""

    email: Email
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
    expires_in: (
        Annotated[
            str,
            Field(
                max_length=16,
                pattern=f"^[{WHITE_SPACE}]*[0-9]+[{WHITE_SPACE}]*[smhdw][{WHITE_SPACE}]*$",
            ),
            named("invalid_duration", "a duration such as 30d, 12h, 90m, 2w (at most 100 years)"),
        ]
        | None
    ) = Field(default=None, examples=["30d"])


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
    flags: list[str] = Field(
        description="non_finite_output: a NaN or infinity became null; imputed_input: a "
        "feature was imputed in some row."
    )
    imputed: list[list[str]] = Field(
        default_factory=list,
        description="One entry per input: the features filled with their training value "
        "(versions trained with missing=impute; empty otherwise).",
    )
    usage: dict[str, int]


class ServiceEndpointOut(_Out):
    """One endpoint of a service."""

    path: str = Field(description="POST it with the JSON body its schema gives.")
    summary: str
    units: int | str = Field(
        description="Units a call costs: a constant, or 'per item of <parameter>'."
    )


class ServiceOut(_Out):
    """A service the organization's keys may call (``GET /v1/services``)."""

    name: str
    version: int
    endpoints: list[ServiceEndpointOut]


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

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "oneOf": [
                {"required": ["label"], "properties": {"label": {"not": {"type": "null"}}}},
                {"required": ["rating"], "properties": {"rating": {"not": {"type": "null"}}}},
            ]
        },
    )

    prediction_id: str = Field(min_length=1, max_length=40, pattern=NON_BLANK)
    item: Integer = Field(default=0, ge=0, le=MAX_SAFE_INTEGER)
    label: str | Integer | FiniteFloat | StrictBool | None = Field(
        default=None, description="The right class, or a regression's true value."
    )
    rating: FiniteFloat | None = None

    @model_validator(mode="after")
    def _one_of_label_or_rating(self) -> FeedbackRequest:
        if (self.label is None) == (self.rating is None):
            raise PydanticCustomError("invalid_feedback", "give exactly one of label or rating")
        return self


class FeedbackOut(_Out):
    """Stored feedback."""

    feedback_id: str
    prediction_id: str
    item: int
    label: str | int | float | bool | None
    rating: float | None
    at: datetime


class EndpointRequest(_Request):
    """``PUT /v1/endpoints/{name}``: share of traffic sent to the challenger."""

    challenger_weight: StrictFloat = Field(ge=0.0, le=1.0, allow_inf_nan=False)


class EndpointOut(_Out):
    """An organization's endpoint for one model."""

    model: str
    challenger_weight: float
    updated_at: datetime


class AuditEventOut(_Out):
    """An audit event of the organization (``seq``: its place in the workspace's chain)."""

    seq: int
    id: str
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    details: dict[str, Any]


# --------------------------------------------------------------------- grants
class GrantRequest(_Request):
    """Share one of the caller's models or datasets with another organization; a
    dataset can be granted ``read`` only (``invalid_permission``)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "oneOf": [
                {"properties": {"object_type": {"const": "model"}}},
                {
                    "properties": {
                        "object_type": {"const": "dataset"},
                        "permission": {"const": "read"},
                    }
                },
            ]
        },
    )

    object_type: Literal["model", "dataset"]
    name: str = Field(min_length=1, max_length=100, description="The object's name.")
    grantee: str = Field(
        min_length=1,
        max_length=64,
        description="An organization name or id, or '*' for every organization.",
    )
    permission: Literal["read", "predict"]

    @model_validator(mode="after")
    def _dataset_read_only(self) -> GrantRequest:
        if self.object_type == "dataset" and self.permission != "read":
            raise PydanticCustomError("invalid_permission", "a dataset can be granted read only")
        return self


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


# ---------------------------------------------------------------------- models
ModelAccess = Literal["own", "predict", "read"]


class ChampionOut(_Out):
    """The version a model serves with, and its test metrics."""

    version: int
    kind: str
    metrics: dict[str, float | None]
    primary_value: float | None
    dataset_version_id: str
    created_at: datetime


class ModelOut(_Out):
    """A model in the catalogue: own, or shared with the caller by its owner."""

    name: str
    owner: str = Field(description="The owning organization's name.")
    ref: str = Field(description="NAME for your own model, OWNER/NAME for a shared one.")
    access: ModelAccess = Field(
        description="own; predict or read: shared with you with that grant."
    )
    actions: list[str] = Field(
        description="What this key may do with it: read, evaluate, predict, register, "
        "promote, rollback."
    )
    task: str
    primary_metric: str
    latest_version: int
    aliases: dict[str, int]
    champion: ChampionOut | None
    created_at: datetime
    updated_at: datetime


class ModelVersionOut(_Out):
    """One immutable version of a model."""

    version: int
    kind: str
    task: str
    run_id: str
    dataset_version_id: str
    metrics: dict[str, float | None]
    primary_metric: str
    primary_value: float | None
    aliases: list[str]
    feature_columns: list[str]
    target: str | None
    classes: list[Any] | None
    extra: dict[str, Any]
    created_by: str
    created_at: datetime


class AliasMoveOut(_Out):
    """One alias move: who moved which alias from where to where, why, and the gate."""

    seq: int
    alias: str
    action: str
    from_version: int | None
    to_version: int | None
    actor: str
    reason: str
    forced: bool
    gate: dict[str, Any] | None
    at: datetime
    changed: bool = True


class ModelDetailOut(ModelOut):
    """A model with every version and its alias history (gate decisions included)."""

    versions: list[ModelVersionOut]
    history: list[AliasMoveOut]


class PromoteRequest(_Request):
    """``POST /v1/models/{name}/promote``: make ``version`` champion through the gate."""

    version: Integer = Field(ge=1, le=MAX_VERSION)
    min_delta: StrictFloat = Field(
        default=0.0, ge=0.0, allow_inf_nan=False, description="Required gain of the metric."
    )
    force: StrictBool = Field(default=False, description="Promote even if the gate refuses.")
    reason: str = Field(default="", max_length=500)


class RollbackRequest(_Request):
    """``POST /v1/models/{name}/rollback``: champion back to the previous one."""

    reason: str = Field(default="", max_length=500)


class EvaluateRequest(_Request):
    """``POST /v1/models/{name}/evaluate``: measure a version on a dataset version."""

    dataset: DatasetRef = Field(description="A dataset reference.")
    version: Annotated[StrictInt, Field(ge=1, le=MAX_VERSION), WholeNumber] | None = Field(
        default=None, description="Default: the champion."
    )
    split: Literal["test", "validation", "train"] = "test"


class EvaluationOut(_Out):
    """Metrics of one version on one split of a dataset version."""

    model: str
    version: int
    task: str
    dataset: str
    dataset_version_id: str
    split: str
    metrics: dict[str, float | None]
    report: dict[str, Any]


class RegisteredVersionOut(_Out):
    """``POST /v1/models/{name}/versions``: the run and the version a model file made."""

    model: str
    created: bool = Field(description="False: these bytes were registered already.")
    run_id: str
    version: ModelVersionOut


# -------------------------------------------------------------------- datasets
class DatasetSplitOut(_Out):
    """A version's train/validation/test split: how it was drawn and its row counts."""

    strategy: str
    seed: int
    test_size: float
    validation_size: float
    options: dict[str, Any]
    counts: dict[str, int]


class DatasetQualityOut(_Out):
    """The quality report in short: sizes, label balance and warnings.

    Each warning is ``{"code", "message"}`` and, for one column, ``"column"``
    (``duplicate_rows``, ``mostly_null``, ``single_class``, ``renamed_column``, ...).
    """

    rows: int
    columns: int
    duplicate_rows: int
    label_balance: dict[str, Any]
    warnings: list[dict[str, Any]]


class DatasetVersionOut(_Out):
    """A dataset version: what it holds and who owns it.

    ``owner`` is the owning organization's name: the caller's own, or the one that
    shared the dataset (address it with ``?owner=``). ``schema`` maps each column to
    its type (``int``, ``float``, ``bool``, ``datetime``, ``string``, ``category``),
    ``roles`` to its role (``id``, ``text``, ``label``, ``user``, ``item``, ``rating``,
    ``timestamp``, ``feature``, ``ignore``).
    """

    id: str
    name: str
    version: int
    owner: str
    operation: Literal["ingest", "clean", "split", "append", "erase"]
    parent_id: str | None
    rows: int
    columns: int
    schema_: dict[str, str] = Field(
        validation_alias="schema", serialization_alias="schema", description="column → type"
    )
    roles: dict[str, str]
    split: DatasetSplitOut | None
    quality: DatasetQualityOut
    created_at: datetime
    erased_at: datetime | None = Field(
        default=None, description="When an erasure deleted its data (a tombstone)."
    )


class DatasetMadeOut(DatasetVersionOut):
    """The version an upload, clean or split made (``created``) or found (not ``created``).

    Answered with 201 when ``created``, 200 when the same input was already stored
    (then nothing new was written). ``source`` describes an uploaded file: name,
    format, compression, size, SHA-256, encoding, delimiter, renamed columns.
    """

    created: bool
    source: dict[str, Any] | None


class DatasetLineageOut(_Out):
    """One step of a version's lineage."""

    id: str
    version: int
    operation: Literal["ingest", "clean", "split", "append", "erase"]


class DatasetDetailOut(DatasetVersionOut):
    """``GET /v1/datasets/{name}``: a version with its full quality report and lineage.

    ``report`` also has per-column statistics (``column_stats``) and text lengths;
    ``options`` are the ingest options, ``steps`` the cleaning steps with what each did,
    ``lineage`` the chain from the ingest to this version (oldest first), and
    ``provenance`` where an ``append`` version's new rows came from (its manifest's
    lineage facts: for a flywheel cycle the parent, every label source with its row
    count, what was left out and the watermark; ``{}`` for other versions).
    """

    report: dict[str, Any]
    source: dict[str, Any] | None
    options: dict[str, Any]
    steps: list[dict[str, Any]]
    lineage: list[DatasetLineageOut]
    provenance: dict[str, Any]


class DatasetHistoryOut(DatasetVersionOut):
    """One entry of ``GET /v1/datasets/{name}/versions``: a version, its parent and steps."""

    parent_version: int | None
    steps: list[dict[str, Any]]


class CleanDatasetRequest(_Request):
    """``POST /v1/datasets/{name}/clean``: ``steps`` or a ``recipe``, not both.

    A step is ``"STEP[:ARGS]"`` (as ``baryon data clean --step``), ``{"step": NAME, ...}``
    or ``{NAME: {...}}``; ``recipe`` is the YAML text of a recipe file (a list of
    steps, or ``steps:`` with a list). Both, or neither, is ``invalid_option``.
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "oneOf": [
                {
                    "required": ["steps"],
                    "properties": {
                        "steps": {"type": "array", "minItems": 1},
                        "recipe": {"type": "null"},
                    },
                },
                {
                    "required": ["recipe"],
                    "properties": {
                        "recipe": {"type": "string"},
                        "steps": {"anyOf": [{"type": "null"}, {"type": "array", "maxItems": 0}]},
                    },
                },
            ]
        },
    )

    steps: list[str | dict[str, Any]] | None = Field(
        default=None, max_length=100, examples=[["trim", "drop_duplicates", "mask_pii:text"]]
    )
    recipe: str | None = Field(default=None, max_length=65_536)

    @model_validator(mode="after")
    def _steps_or_recipe(self) -> CleanDatasetRequest:
        if self.steps and self.recipe is not None:
            raise PydanticCustomError("invalid_option", "give steps or a recipe, not both")
        if not self.steps and self.recipe is None:
            raise PydanticCustomError("no_steps", "give at least one step or a recipe")
        return self


_SIZES = "test_size is in (0, 1), validation_size in [0, 1), and their sum below 1"


__all__ += ["ErasedVersionOut", "ErasureDatasetOut", "ErasureMatch", "ErasureOut",
            "ErasureRequest", "RetrainOut"]  # fmt: skip


class ErasureMatch(_Request):
    """One ``column=value`` match of an erasure (the column's text equals the value)."""

    column: str = Field(min_length=1, max_length=200)
    value: str = Field(min_length=1, max_length=10_000)


class ErasureRequest(_Request):
    """``POST /v1/erasures``: a row matching any ``match`` goes."""

    match: list[ErasureMatch] = Field(min_length=1, max_length=20)
    datasets: list[str] | None = Field(default=None, max_length=1000)


class ErasedVersionOut(_Out):
    id: str
    version: int


class ErasureDatasetOut(_Out):
    name: str
    rows_removed: int
    new_version: int | None
    new_version_id: str | None
    erased_versions: list[ErasedVersionOut]


class RetrainOut(_Out):
    run_id: str
    dataset: str
    model: str | None
    model_version: int | None


class ErasureOut(_Out):
    """What an erasure did (:class:`baryon.privacy.erasure.Erasure`)."""

    id: str
    columns: list[str]
    datasets: list[ErasureDatasetOut]
    predictions_removed: int
    feedback_removed: int
    tasks_removed: int
    deleted_artifacts: int
    retrain: list[RetrainOut]


class SplitDatasetRequest(_Request):
    """``POST /v1/datasets/{name}/split``: the options of ``baryon data split``.

    ``strategy`` is ``random``, ``stratified``, ``time`` or ``per-user``;
    ``label`` (stratified), ``time_column`` (time, per-user), ``user_column``,
    ``fraction`` and ``last_n`` (per-user) override the columns and shares.
    """

    strategy: Annotated[
        str,
        OneOf(
            ("random", "stratified", "time", "per-user", "per_user"), "invalid_split", "strategy"
        ),
    ] = Field(examples=["stratified"])
    test_size: Annotated[StrictFloat, Field(gt=0, lt=1), named("invalid_split_size", _SIZES)] = (
        Field(default=0.2, allow_inf_nan=False)
    )
    validation_size: Annotated[
        StrictFloat, Field(ge=0, lt=1), named("invalid_split_size", _SIZES)
    ] = Field(default=0.1, allow_inf_nan=False)
    seed: Annotated[
        StrictInt,
        Field(ge=0, le=MAX_SAFE_INTEGER),
        WholeNumber,
        named("invalid_split", "seed is an integer >= 0"),
    ] = 42
    label: str | None = Field(default=None, max_length=200)
    time_column: str | None = Field(default=None, max_length=200)
    user_column: str | None = Field(default=None, max_length=200)
    fraction: (
        Annotated[
            StrictFloat, Field(gt=0, lt=1), named("invalid_split_size", "fraction is in (0, 1)")
        ]
        | None
    ) = Field(default=None, allow_inf_nan=False)
    last_n: (
        Annotated[
            StrictInt,
            Field(ge=1, le=MAX_SAFE_INTEGER),
            WholeNumber,
            named("invalid_split", "last_n is a positive integer"),
        ]
        | None
    ) = None


# ----------------------------------------------------------------------- runs
def _no_single_fold(folds: int) -> int:
    if folds == 1:
        raise ValueError("one fold is no cross-validation")
    return folds


class RunRequest(_Request):
    """``POST /v1/runs``: train ``kind`` on a dataset version as a background job.

    Everything is checked before anything is written (unknown kind, parameter or
    dataset, bad seed or folds, invalid model name: 422/404, no run, no job).
    """

    kind: Annotated[str, OneOf(sorted(KINDS), "unknown_kind", "kind")] = Field(
        description="Estimator kind."
    )
    dataset: DatasetRef = Field(description="Dataset reference (NAME: its latest version).")
    target: str | None = Field(
        default=None, max_length=200, description="Target column (default: by role)."
    )
    params: dict[str, Any] = Field(default_factory=dict, description="Estimator parameters.")
    seed: Annotated[
        StrictInt,
        Field(ge=0, le=MAX_SAFE_INTEGER),
        WholeNumber,
        named("invalid_seed", "seed is an integer >= 0"),
    ] = Field(default=42, description="Random seed (>= 0).")
    cv_folds: Annotated[
        StrictInt,
        Field(ge=0, le=MAX_SAFE_INTEGER, json_schema_extra={"not": {"const": 1}}),
        WholeNumber,
        AfterValidator(_no_single_fold),
        named("invalid_cv_folds", "cv_folds is 0 (none) or >= 2"),
    ] = Field(
        default=0,
        description="Cross-validation folds on the train split (0: none, else >= 2; not for "
        "recommenders).",
    )
    register_as: ModelName | None = Field(
        default=None,
        alias="register",
        description="Register the model under this name.",
    )  # not ``register``: pydantic models have a ``register`` attribute (ABCMeta)
    missing: Literal["strict", "impute"] = Field(
        default="strict",
        description="Input policy of a tabular model at prediction time: a null or absent "
        "feature is refused (strict) or filled in with the training median or most "
        "frequent value and flagged (impute).",
    )


class RunSubmittedOut(_Out):
    """``202`` to ``POST /v1/runs``: the queued run and the job that trains it."""

    run_id: str
    job_id: str
    status: Literal["queued"]


class FederatedRunRequest(_Request):
    """``POST /v1/federated/runs``: train one model across silos with Flower (a job).

    Everything is checked before anything is written (licence feature ``federated``,
    kind, strategy, rounds, DP, parameters, silos: 403/422/404, no run, no job).
    """

    model: ModelName = Field(description="Register under this name.")
    kind: Annotated[
        str, OneOf(("hashed_text_classifier", "linear_regression_gd"), "kind_not_federated", "kind")
    ] = Field(description="A kind that can be trained federated.")
    silos: list[DatasetRef] = Field(
        min_length=2, max_length=64, description="Dataset references, one per silo."
    )
    rounds: Annotated[
        StrictInt,
        Field(ge=1, le=1000),
        WholeNumber,
        named("invalid_rounds", "rounds is an integer from 1 to 1000"),
    ] = Field(default=5, description="Federated rounds (1 to 1000).")
    strategy: Literal["fedavg", "fedprox", "fedmedian", "fedtrimmedavg"] = Field(
        default="fedavg", description="Flower strategy."
    )
    params: dict[str, Any] = Field(default_factory=dict, description="Hyper-parameters.")
    seed: Annotated[
        StrictInt,
        Field(ge=0, le=MAX_SAFE_INTEGER),
        WholeNumber,
        named("invalid_seed", "seed is an integer >= 0"),
    ] = Field(default=42, description="Random seed (>= 0).")
    dp_clip: (
        Annotated[FiniteFloat, Field(gt=0), named("invalid_dp", "dp_clip is a number > 0")] | None
    ) = Field(default=None, description="DP: L2 clipping norm (> 0).")
    dp_noise: (
        Annotated[FiniteFloat, Field(gt=0), named("invalid_dp", "dp_noise is a number > 0")] | None
    ) = Field(default=None, description="DP: noise multiplier σ (> 0).")
    target: str | None = Field(default=None, max_length=200, description="Target column.")


class RunRegisteredOut(_Out):
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
    dataset: str = Field(description="NAME:N of the dataset version trained on.")
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
    registered: RunRegisteredOut | None
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
    "RunComparisonOut",
    "RunErrorOut",
    "RunOut",
    "RunRegisteredOut",
    "RunRequest",
    "RunSubmittedOut",
    "RunSummaryOut",
]
