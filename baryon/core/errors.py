"""Baryon's error hierarchy.

Every error Baryon raises on purpose is a :class:`BaryonError` with a stable,
machine-readable ``code``. The code is part of the public contract: the CLI
prints it, the HTTP API returns it in ``application/problem+json`` bodies, and
users script against it. Messages may change; codes do not.

Hierarchy::

    BaryonError                      code "baryon_error"     HTTP 500
    ├── InvalidInput(ValueError)     code "invalid_input"    HTTP 422
    │   ├── InvalidHome              code "invalid_home"
    │   ├── InvalidFile              code "invalid_file"
    │   ├── UnsupportedMediaType     code "unsupported_media_type" HTTP 415
    │   └── ValidationFailed         code "failed_validation"
    ├── NotFound(LookupError)        code "not_found"        HTTP 404
    ├── Gone                         code "gone"             HTTP 410
    ├── Conflict                     code "conflict"         HTTP 409
    ├── Unauthorized                 code "unauthorized"     HTTP 401
    ├── Forbidden                    code "forbidden"        HTTP 403
    ├── RateLimited                  code "rate_limited"     HTTP 429
    ├── QuotaExceeded                code "quota_exceeded"   HTTP 429
    ├── PayloadTooLarge              code "payload_too_large" HTTP 413
    ├── ModelNotReady                code "model_not_ready"  HTTP 503
    ├── IntegrityError               code "integrity_error"  HTTP 500
    ├── UpstreamError                code "upstream_error"   HTTP 502
    ├── EncryptionKeyMissing         code "encryption_key_missing" HTTP 503
    ├── LimiterUnavailable           code "limiter_unavailable" HTTP 503
    ├── ArtifactStoreUnavailable     code "artifact_store_unavailable" HTTP 503
    ├── DatabaseError                code "database_error"   HTTP 503
    │   ├── DatabaseCorrupt          code "database_corrupt"
    │   └── SchemaTooNew             code "schema_too_new"
    └── MissingDependency(ImportError) code "missing_dependency"

Subclasses may override ``code`` per instance (``InvalidInput("...", code="empty_file")``)
so that fine-grained codes stay in the family that decides the HTTP status.

:data:`CODES` is the catalogue of the fine-grained codes the HTTP API documents in its
OpenAPI responses (:func:`baryon.serving.openapi.problems`): each code with the class
that raises it (hence its HTTP status) and a public one-line summary.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar

__all__ = [
    "CODES",
    "ArtifactStoreUnavailable",
    "BaryonError",
    "Conflict",
    "DatabaseCorrupt",
    "DatabaseError",
    "EncryptionKeyMissing",
    "ErrorCode",
    "Forbidden",
    "Gone",
    "IntegrityError",
    "InvalidFile",
    "InvalidHome",
    "InvalidInput",
    "LimiterUnavailable",
    "MissingDependency",
    "ModelNotReady",
    "NotFound",
    "PayloadTooLarge",
    "QuotaExceeded",
    "RateLimited",
    "SchemaTooNew",
    "Unauthorized",
    "UnsupportedMediaType",
    "UpstreamError",
    "ValidationFailed",
    "http_status_for",
]


class BaryonError(Exception):
    """Base class of every error Baryon raises on purpose.

    Parameters
    ----------
    message : str
        A one-line, human-readable explanation (shown to users as is).
    code : str, optional
        Override of the class's stable code, e.g. ``"empty_file"``.
    details : dict, optional
        JSON-serialisable extra facts (line numbers, versions, ...).
    """

    code: ClassVar[str] = "baryon_error"
    http_status: ClassVar[int] = 500

    def __init__(
        self, message: str, *, code: str | None = None, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            # Instance attribute shadows the ClassVar on purpose: fine-grained code.
            self.code = code  # type: ignore[misc]
        self.details: dict[str, Any] = dict(details or {})

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"code", "message", "details"}`` for JSON output."""
        return {"code": self.code, "message": self.message, "details": self.details}


class InvalidInput(BaryonError, ValueError):
    """The caller gave input Baryon cannot use (bad value, bad file, bad option)."""

    code = "invalid_input"
    http_status = 422


class InvalidHome(InvalidInput):
    """The workspace home is not a writable directory."""

    code = "invalid_home"


class InvalidFile(InvalidInput):
    """A file handed to Baryon cannot be read as what it claims to be."""

    code = "invalid_file"


class UnsupportedMediaType(InvalidInput):
    """A request body is not in a media type the route reads (an upload not sent as
    ``multipart/form-data``)."""

    code = "unsupported_media_type"
    http_status = 415


class ValidationFailed(InvalidInput):
    """A dataset failed pre-training validation (too few rows, single class, ...)."""

    code = "failed_validation"


class NotFound(BaryonError, LookupError):
    """The named object does not exist (or belongs to another organization)."""

    code = "not_found"
    http_status = 404


class Gone(BaryonError):
    """The object existed and was removed on purpose (an erased dataset version)."""

    code = "gone"
    http_status = 410


class Conflict(BaryonError):
    """The request conflicts with the current state (name taken, gate refused, ...)."""

    code = "conflict"
    http_status = 409


class Unauthorized(BaryonError):
    """No valid credential was presented."""

    code = "unauthorized"
    http_status = 401


class Forbidden(BaryonError):
    """The credential is valid but its role lacks the permission."""

    code = "forbidden"
    http_status = 403


class RateLimited(BaryonError):
    """Too many requests in the current window; ``details['retry_after']`` in seconds."""

    code = "rate_limited"
    http_status = 429


class QuotaExceeded(BaryonError):
    """The organization used its plan's quota for the billing period."""

    code = "quota_exceeded"
    http_status = 429


class PayloadTooLarge(BaryonError):
    """A request body, batch or text exceeds a configured cap."""

    code = "payload_too_large"
    http_status = 413


class ModelNotReady(BaryonError):
    """No servable model version (no champion, or it cannot be loaded)."""

    code = "model_not_ready"
    http_status = 503


class IntegrityError(BaryonError):
    """Stored bytes do not match their recorded digest, or a manifest is inconsistent."""

    code = "integrity_error"
    http_status = 500


class UpstreamError(BaryonError):
    """A server Baryon fetched from (a source's URL) could not be used: refused address,
    timeout, too large, too many redirects, a status that is not a success. The
    message names the URL and the reason, never the upstream body."""

    code = "upstream_error"
    http_status = 502


class EncryptionKeyMissing(BaryonError):
    """Encrypted data cannot be read or written: its key-encryption key is absent.

    HTTP 503: the operator must restore the key file (or the key provider); the
    data itself is intact.
    """

    code = "encryption_key_missing"
    http_status = 503


class LimiterUnavailable(BaryonError):
    """The shared store of rate limits and quota counters (Redis) cannot be reached.

    HTTP 503: the request is refused (fail closed: never admitted unmetered); it can be
    retried, and requests are admitted again as soon as the store answers.
    """

    code = "limiter_unavailable"
    http_status = 503


class ArtifactStoreUnavailable(BaryonError):
    """The artifact store (an object store such as S3) cannot be reached, has no such
    bucket, or refused a read or a write (``artifact_write_failed``).

    HTTP 503: the operator must fix the store (endpoint, bucket, credentials); nothing
    was half written. The message names the store's URL and the reason, never a
    credential.
    """

    code = "artifact_store_unavailable"
    http_status = 503


class DatabaseError(BaryonError):
    """The metadata database cannot be used."""

    code = "database_error"
    http_status = 503


class DatabaseCorrupt(DatabaseError):
    """The database file is not a database Baryon can open; it is left untouched."""

    code = "database_corrupt"


class SchemaTooNew(DatabaseError):
    """The database schema was written by a newer Baryon than this one."""

    code = "schema_too_new"


class MissingDependency(BaryonError, ImportError):
    """An optional dependency is not installed; the message names the extra.

    HTTP 503: the server cannot serve this until its operator installs the extra
    (the message, with the install command, is shown to the caller).
    """

    code = "missing_dependency"
    http_status = 503


def http_status_for(error: BaseException) -> int:
    """Return the HTTP status code for ``error`` (500 for anything not a BaryonError)."""
    if isinstance(error, BaryonError):
        return error.http_status
    return 500


@dataclass(frozen=True)
class ErrorCode:
    """One fine-grained error code of the catalogue.

    Attributes
    ----------
    code : str
        The stable code (``"user_exists"``).
    error : type of BaryonError
        The class raised with it; decides the HTTP status.
    summary : str
        When it happens, in one public line (shown in the OpenAPI document).
    """

    code: str
    error: type[BaryonError]
    summary: str

    @property
    def http_status(self) -> int:
        """The HTTP status of this code (its class's)."""
        return self.error.http_status


#: The catalogue: code → :class:`ErrorCode` (read-only). A code raised by a route and
#: documented in its OpenAPI responses is listed here once, with its class.
CODES: MappingProxyType[str, ErrorCode] = MappingProxyType(
    {
        c.code: c
        for c in (
            # 409: the request conflicts with the state of the resources.
            ErrorCode("user_exists", Conflict, "the email is already a user of the organization"),
            ErrorCode("org_exists", Conflict, "an organization of that name exists"),
            ErrorCode("plan_exists", Conflict, "a plan of that name exists"),
            ErrorCode("last_admin", Conflict, "the organization's last active owner/admin key"),
            ErrorCode("plan_archived", Conflict, "the plan is archived: no longer offered"),
            ErrorCode(
                "currency_mismatch", Conflict, "the plan's currency is not the current one's"
            ),
            ErrorCode("schedule_exists", Conflict, "a schedule of that name exists"),
            ErrorCode("source_exists", Conflict, "a source (or subscription) of that name exists"),
            ErrorCode("rule_exists", Conflict, "an alert rule of that name exists"),
            ErrorCode("channel_exists", Conflict, "an alert channel of that name exists"),
            ErrorCode("delivery_not_dead", Conflict, "only a dead delivery can be redelivered"),
            ErrorCode("channel_disabled", Conflict, "the delivery's channel is disabled"),
            ErrorCode("gate_refused", Conflict, "the version does not beat the champion"),
            ErrorCode("no_previous_champion", Conflict, "no earlier champion to roll back to"),
            ErrorCode("concurrent_change", Conflict, "another request moved the alias first"),
            ErrorCode("register_contention", Conflict, "a concurrent registration won; retry"),
            ErrorCode("task_mismatch", Conflict, "the model's task differs from the name's"),
            ErrorCode("run_finished", Conflict, "the run already ended"),
            ErrorCode("run_not_cancellable", Conflict, "the run is trained in the foreground"),
            ErrorCode("feedback_exists", Conflict, "this prediction item has feedback already"),
            ErrorCode("iteration_exists", Conflict, "an iteration of that name exists"),
            ErrorCode("iteration_closed", Conflict, "the iteration is closed"),
            ErrorCode("item_exists", Conflict, "the iteration has an item for that object"),
            ErrorCode("queue_exists", Conflict, "a labeling queue of that name exists"),
            ErrorCode("queue_changed", Conflict, "the queue changed while sampling; retry"),
            ErrorCode("task_full", Conflict, "every annotation slot of the task is taken"),
            ErrorCode("task_not_open", Conflict, "the task is done or awaits review"),
            ErrorCode("already_annotated", Conflict, "you labeled this task already"),
            ErrorCode("already_skipped", Conflict, "you skipped this task"),
            ErrorCode("task_busy", Conflict, "another request holds the task; retry"),
            ErrorCode("cycle_in_progress", Conflict, "a cycle of the model is queued or running"),
            ErrorCode("no_champion", Conflict, "the model has no champion to retrain"),
            # 415
            ErrorCode("unsupported_media_type", UnsupportedMediaType, "the body is not multipart"),
            # 503: the server cannot serve this now.
            ErrorCode("model_not_ready", ModelNotReady, "no servable version (no champion)"),
            ErrorCode("missing_dependency", MissingDependency, "an optional extra is missing"),
            ErrorCode("not_ready", ModelNotReady, "a champion model cannot be loaded"),
            ErrorCode(
                "limiter_unavailable",
                LimiterUnavailable,
                "rate limits and quotas cannot be checked (Redis unreachable); retry",
            ),
            ErrorCode(
                "artifact_store_unavailable",
                ArtifactStoreUnavailable,
                "the artifact store cannot be reached, or has no such bucket",
            ),
            ErrorCode(
                "artifact_write_failed",
                ArtifactStoreUnavailable,
                "the artifact store refused a write (permission denied)",
            ),
            ErrorCode(
                "service_setup_failed", ModelNotReady, "the service's setup() raised (see the log)"
            ),
            # 500 with a public detail: the service broke its own contract.
            ErrorCode(
                "invalid_service_output",
                BaryonError,
                "the service returned a value its type hints forbid (details name the field)",
            ),
            ErrorCode("service_error", BaryonError, "the service's endpoint raised"),
            # 422 of a rule the schema states (baryon.serving.fields.named).
            ErrorCode("invalid_time", InvalidInput, "a time is not RFC 3339 with an offset"),
            ErrorCode(
                "invalid_idempotency_key",
                InvalidInput,
                "the Idempotency-Key is not 1 to 255 visible ASCII characters",
            ),
            ErrorCode("invalid_ref", InvalidInput, "not a reference (or id) of the right form"),
            ErrorCode("invalid_name", InvalidInput, "not a dataset name"),
            ErrorCode("invalid_role", InvalidInput, "not a column role"),
            ErrorCode("invalid_type", InvalidInput, "not a column type"),
            ErrorCode("invalid_model_name", InvalidInput, "not a model name"),
            ErrorCode("empty_text", InvalidInput, "a text is empty or white space"),
            ErrorCode("empty_batch", InvalidInput, "the batch is empty"),
            ErrorCode("invalid_email", InvalidInput, "not an email address"),
            ErrorCode("unknown_kind", InvalidInput, "not an estimator kind"),
            ErrorCode("invalid_status", InvalidInput, "not a status of the listed objects"),
            ErrorCode("invalid_run_ids", InvalidInput, "not 2 to 5 distinct run ids"),
            ErrorCode("invalid_ticker", InvalidInput, "not a ticker (AAPL, BRK.B)"),
            ErrorCode("unknown_window", InvalidInput, "not a window of the index"),
            ErrorCode("invalid_split", InvalidInput, "not a split, or options it does not take"),
            ErrorCode("invalid_format", InvalidInput, "not a file format of the route"),
            ErrorCode("unknown_format", InvalidInput, "not a labeling file format"),
            ErrorCode("invalid_classes", InvalidInput, "classes repeat"),
            ErrorCode(
                "invalid_input_fields", InvalidInput, "an input field name is not 1-100 characters"
            ),
            ErrorCode("invalid_max_rows", InvalidInput, "max_rows is not from 1 to 100000"),
            ErrorCode("invalid_strategy", InvalidInput, "not a sampling strategy"),
            ErrorCode("invalid_feedback", InvalidInput, "not exactly one of label or rating"),
            ErrorCode("missing_value", InvalidInput, "a rate event without a value"),
            ErrorCode("value_out_of_range", InvalidInput, "a rating outside 1 to 5"),
            ErrorCode("value_not_allowed", InvalidInput, "a value on a view or click event"),
            ErrorCode(
                "invalid_option", InvalidInput, "an option is malformed, or two exclude each other"
            ),
            ErrorCode("no_steps", InvalidInput, "neither cleaning steps nor a recipe"),
            ErrorCode("unknown_step", InvalidInput, "not a cleaning step"),
            ErrorCode("invalid_permission", InvalidInput, "a dataset granted other than read"),
            ErrorCode(
                "invalid_duration", InvalidInput, "not a duration such as 30d, up to 100 years"
            ),
            ErrorCode("invalid_iteration_name", InvalidInput, "not an iteration name"),
            ErrorCode("unknown_label", InvalidInput, "not one of the queue's classes"),
            ErrorCode("invalid_sample_size", InvalidInput, "n is not from 1 to 1000"),
            ErrorCode(
                "invalid_interval", InvalidInput, "not an interval such as 15m, or over 366 d"
            ),
            ErrorCode("invalid_schedule_name", InvalidInput, "not a schedule name"),
            ErrorCode("invalid_description", InvalidInput, "a description with control characters"),
            ErrorCode("unknown_schedule_kind", InvalidInput, "not a kind the server schedules"),
            ErrorCode("invalid_schedule", InvalidInput, "not exactly one of every and cron"),
            ErrorCode("invalid_job_payload", InvalidInput, "a payload the job kind does not take"),
            ErrorCode("invalid_min_delta", InvalidInput, "min_delta is not a number >= 0"),
            ErrorCode("interval_too_short", InvalidInput, "an interval under 60 seconds"),
            ErrorCode("invalid_cron", InvalidInput, "not a 5-field cron expression"),
            # 422 that no JSON Schema can say: they depend on two fields, on a file's
            # content or on stored state (a dataset's columns, a model's features).
            ErrorCode("binary_file", InvalidFile, "the file holds binary data, not text"),
            ErrorCode("encoding_error", InvalidFile, "the file is not in its encoding"),
            ErrorCode("unknown_encoding", InvalidInput, "not an encoding Python knows"),
            ErrorCode("invalid_mask_pii", InvalidInput, "a column to mask is empty, or also typed"),
            ErrorCode("invalid_flag", InvalidInput, "a yes/no form field is not true or false"),
            ErrorCode("invalid_source_name", InvalidInput, "not a source name"),
            ErrorCode("invalid_url", InvalidInput, "not an http or https URL with a host"),
            ErrorCode("ambiguous_host", InvalidInput, "a host spelled as a number, not a.b.c.d"),
            ErrorCode("invalid_price", InvalidInput, "not a decimal amount such as 49.00"),
            ErrorCode("unknown_feature", InvalidInput, "not a feature a plan or licence has"),
            ErrorCode("unknown_rule_kind", InvalidInput, "not an alert rule kind"),
            ErrorCode("invalid_rule", InvalidInput, "a rule's threshold, direction or counts"),
            ErrorCode("invalid_rule_name", InvalidInput, "not an alert rule name"),
            ErrorCode("history_too_large", InvalidInput, "too many stored items to replay"),
            ErrorCode("unknown_channel_kind", InvalidInput, "not webhook or email"),
            ErrorCode("invalid_channel_name", InvalidInput, "not an alert channel name"),
            ErrorCode("invalid_webhook_url", InvalidInput, "not a webhook URL Baryon sends to"),
            ErrorCode("smtp_not_configured", InvalidInput, "e-mail needs BARYON_SMTP_HOST"),
            ErrorCode("invalid_delivery_status", InvalidInput, "not pending, delivered or dead"),
            ErrorCode("kind_not_federated", InvalidInput, "the kind cannot be trained federated"),
            ErrorCode("invalid_rounds", InvalidInput, "rounds is not an integer from 1 to 1000"),
            ErrorCode("invalid_dp", InvalidInput, "DP clip and noise: both > 0, or neither"),
            ErrorCode("invalid_silos", InvalidInput, "fewer than two silos, or one repeated"),
            ErrorCode("silo_mismatch", InvalidInput, "the silos' columns differ"),
            ErrorCode("mask_pii_type", InvalidInput, "a column to mask cannot be read as text"),
            ErrorCode("empty_file", InvalidInput, "the file is empty"),
            ErrorCode("header_only", InvalidFile, "the file has a header and no rows"),
            ErrorCode("ragged_rows", InvalidFile, "rows with more fields than the header"),
            ErrorCode("invalid_xlsx", InvalidFile, "not an .xlsx workbook"),
            ErrorCode("invalid_parquet", InvalidFile, "not a Parquet file"),
            ErrorCode("invalid_json", InvalidFile, "not JSON Lines or a JSON array of objects"),
            ErrorCode("unterminated_quote", InvalidFile, "a quoted field is never closed"),
            ErrorCode("unparseable_csv", InvalidFile, "the text cannot be read as delimited rows"),
            ErrorCode("duplicate_columns", InvalidFile, "two columns have the same name"),
            ErrorCode(
                "type_override_failed", InvalidInput, "a column cannot be read as its --type"
            ),
            ErrorCode("unknown_column", InvalidInput, "a column the dataset does not have"),
            ErrorCode("missing_column", InvalidInput, "the dataset lacks a column the model needs"),
            ErrorCode("missing_role", InvalidInput, "no column has the role the step needs"),
            ErrorCode("too_few_rows", InvalidInput, "too few rows for this"),
            ErrorCode("no_split", InvalidInput, "the dataset version has no split"),
            ErrorCode("invalid_split_size", InvalidInput, "split sizes that do not fit the rows"),
            ErrorCode("invalid_recipe", InvalidFile, "the recipe is not a list of steps"),
            ErrorCode("invalid_step_args", InvalidInput, "a cleaning step's arguments are wrong"),
            ErrorCode("invalid_model_file", InvalidInput, "not a skops file"),
            ErrorCode("untrusted_model", InvalidInput, "the model file holds untrusted types"),
            ErrorCode("invalid_inputs", InvalidInput, "inputs of the wrong shape for the model"),
            ErrorCode("missing_feature", InvalidInput, "the dataset lacks a feature of the model"),
            ErrorCode(
                "invalid_features",
                InvalidInput,
                "a row's features break the model's input contract (type, null, extra, missing)",
            ),
            ErrorCode("malformed_import", InvalidInput, "the file is not in its format"),
            ErrorCode("empty_import", InvalidInput, "the file is empty"),
            ErrorCode("import_rejected", InvalidInput, "tasks of the file do not fit the queue"),
            ErrorCode("unknown_item", InvalidInput, "not a wine of the catalogue"),
            ErrorCode("published_in_future", InvalidInput, "an item published after now"),
            ErrorCode("self_grant", InvalidInput, "an organization granting itself"),
            ErrorCode("invalid_event", InvalidInput, "an event's id is empty or too long"),
            ErrorCode("invalid_delimiter", InvalidInput, "not a delimiter"),
            ErrorCode(
                "invalid_service", InvalidInput, "a service file or class Baryon cannot serve"
            ),
            ErrorCode("invalid_unit_weight", InvalidInput, "a unit weight outside 1 to 1000000"),
            ErrorCode("invalid_title", InvalidInput, "a title that is blank, long or has controls"),
            ErrorCode(
                "invalid_owner", InvalidInput, "an owner that is blank, long or has controls"
            ),
            ErrorCode("unexpected_ref", InvalidInput, "a task item with a ref"),
            ErrorCode("missing_title", InvalidInput, "a task item without a title"),
            ErrorCode("missing_ref", InvalidInput, "a linked item without a ref"),
            ErrorCode("empty_update", InvalidInput, "an update that changes nothing"),
            ErrorCode("invalid_item_state", InvalidInput, "not a Kanban state"),
            ErrorCode("unknown_goal_model", InvalidInput, "a goal's model the organization lacks"),
            ErrorCode("unknown_goal_metric", InvalidInput, "a goal's metric its model's runs lack"),
            ErrorCode("duplicate_goal", InvalidInput, "the same goal twice"),
            ErrorCode(
                "no_model_classes", InvalidInput, "a queue without classes for a non-classifier"
            ),
            ErrorCode("invalid_seed", InvalidInput, "a seed that is not an integer >= 0"),
            ErrorCode("invalid_cv_folds", InvalidInput, "folds that are 1, or for a recommender"),
            ErrorCode("invalid_param", InvalidInput, "a parameter the kind does not take"),
            ErrorCode("invalid_params", InvalidInput, "parameters that are not JSON values"),
            ErrorCode("invalid_search", InvalidInput, "a search that is not grid, random or tpe"),
            ErrorCode("invalid_search_space", InvalidInput, "a --param spec that does not parse"),
            ErrorCode("invalid_trials", InvalidInput, "a number of trials below 1"),
            ErrorCode("grid_too_large", InvalidInput, "a grid with more points than --trials"),
            ErrorCode("no_default_space", InvalidInput, "a kind without a default search space"),
            ErrorCode("unknown_metric", InvalidInput, "a metric the task does not measure"),
            ErrorCode("no_validation_rows", InvalidInput, "tuning without validation rows or CV"),
            ErrorCode("all_trials_failed", BaryonError, "no tuning trial succeeded"),
            ErrorCode("unscorable_model", InvalidInput, "a model batch scoring cannot use"),
            ErrorCode("output_column_exists", InvalidInput, "the dataset has a prediction column"),
            ErrorCode("invalid_batch_rows", InvalidInput, "a batch size below 1"),
            ErrorCode("ray_not_available", MissingDependency, "the Ray back end is not built"),
            ErrorCode("invalid_range", InvalidInput, "start is not before end"),
            ErrorCode("invalid_time_box", InvalidInput, "starts_at is not before ends_at"),
            ErrorCode(
                "idempotency_key_reused",
                InvalidInput,
                "the Idempotency-Key was used for a different request",
            ),
        )
    }
)
