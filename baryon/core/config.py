"""Workspace settings.

Settings are read from ``BARYON_*`` environment variables (and keyword arguments)
**once**, at an entry point (the CLI, :func:`baryon.serving.create_app`, a test), and
then passed down. No other module reads the environment.

Example
-------
>>> from baryon.core.config import Settings
>>> s = Settings(home="/tmp/bry")
>>> s.database_url
'sqlite:////tmp/bry/baryon.db'
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from baryon.core.errors import InvalidInput

__all__ = ["Settings", "limits_redis_url", "redact_url"]


class Settings(BaseSettings):
    """All of Baryon's configuration, one object.

    Every field can be set by an environment variable named ``BARYON_<FIELD>``
    (e.g. ``BARYON_HOME``, ``BARYON_DATABASE_URL``).

    Attributes
    ----------
    home : Path
        The workspace directory (default ``~/.baryon``).
    database_url : str or None
        SQLAlchemy URL of the metadata database; ``None`` means the SQLite file
        ``<home>/baryon.db``. PostgreSQL: ``postgresql+psycopg://user:pw@host/db``.
    artifact_root : str or None
        Where artifacts live; ``None`` means ``<home>/artifacts``. A directory, or an
        object store's URL: ``s3://bucket/prefix`` (needs ``baryon[s3]``), ``gs://``,
        ``az://`` (see :func:`baryon.core.artifacts.open_artifact_store`). Read from
        ``BARYON_ARTIFACTS_URL`` or its older name ``BARYON_ARTIFACT_ROOT`` (the first
        wins when both are set).
    artifact_storage_options : dict of str to any
        Options of an object store's fsspec file system (s3fs: ``endpoint_url``,
        ``key``, ``secret``, ``client_kwargs``, ``config_kwargs``), as a JSON object
        in ``BARYON_ARTIFACT_STORAGE_OPTIONS``; never printed. Empty (the default):
        the standard variables ``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``,
        ``AWS_SECRET_ACCESS_KEY``, ``AWS_DEFAULT_REGION`` (or ``~/.aws``) apply.
    audit_key_file : Path or None
        The audit log's HMAC key (hex, mode 0600); ``None`` means ``<home>/audit.key``.
        Created on first open; a file others may read is refused
        (``key_file_insecure``). Every process sharing one PostgreSQL database needs
        the same key file.
    kek_file : Path or None
        The key-encryption key ring of datasets marked sensitive (mode 0600); ``None``
        means ``<home>/kek``. Made on the first sensitive write; once data is
        encrypted, a missing file is ``encryption_key_missing`` (see
        :mod:`baryon.core.encryption`).
    host : str
        Bind address of ``baryon serve`` (default ``127.0.0.1``: loopback only).
    port : int
        TCP port of ``baryon serve``.
    debug : bool
        Show tracebacks on errors.
    sqlite_busy_timeout : float
        Seconds a SQLite connection waits for a lock before failing.
    max_body_bytes, max_batch_size, max_text_chars : int
        Request caps of the HTTP API (bytes, items, characters).
    max_model_bytes : int
        Largest model file registered from outside (``POST /v1/models/{name}/versions``,
        ``baryon models register``), in bytes (default 64 MiB). Over it: 413
        ``model_file_too_large``. That route's request body may exceed
        ``max_body_bytes`` by this much.
    max_upload_bytes : int
        Cap of one upload's request body in bytes (``POST /v1/datasets``; default
        512 MiB). Uploads are streamed to disk, so memory does not grow with it; the
        cap bounds disk use and ingest time. Over it: 413 ``upload_too_large``.
    header_timeout : float
        Seconds a client of ``baryon serve`` has to send a request's line and headers,
        from the moment it connects (or sends the request's first byte on a kept-alive
        connection); past it: 408 ``request_timeout`` and the connection is closed.
    body_timeout : float
        Seconds a client has to send a request's body, from the end of its headers,
        plus one second per ``body_min_rate`` bytes it has sent; past it: 408
        ``request_timeout`` and the connection is closed.
    body_min_rate : int
        Bytes per second of body that earn one more second of ``body_timeout`` (so a
        large upload at this rate or faster never times out); 0: none.
    keep_alive_timeout : float
        Seconds an idle kept-alive connection stays open between two requests.
    max_connections : int
        Concurrent connections one server process serves; a request on a connection
        beyond them is answered 503.
    production : bool
        Strict mode: refuse to load models saved under another scikit-learn
        major.minor, and similar safety checks.
    inprocess_worker : bool
        ``baryon serve`` runs a job worker in a thread of each server process
        (default). Turn off when dedicated ``baryon worker`` processes run the jobs.
    batch_max_size : int
        Most inputs scored in one model pass when concurrent prediction requests for one
        model version are batched together (:mod:`baryon.predictions.batching`); 1
        turns batching off.
    batch_max_wait_ms : float
        Milliseconds a request waits for others to join its pass (default 0: only
        requests already waiting join, a lone request waits for nobody).
    warm_models : bool
        ``baryon serve`` loads every champion model and scores one sample input with
        each before it accepts requests (default), so ``/readyz`` never says ready while
        the first request would still pay the model's load.
    job_lease_seconds : float
        Seconds a worker's claim on a job lasts unless renewed (renewed every third
        of it). A killed worker's job is recovered this long after its last renewal.
    job_poll_interval : float
        Seconds a worker waits between two looks at an empty queue (a wake-up from
        an enqueue in the same process, or through Redis, ends the wait early).
    redis_url : str or None
        ``redis://host:port/db``: enqueues wake workers on every machine through
        Redis (needs ``baryon[redis]``). The jobs themselves stay in the database.
    limits : str
        Where rate-limit buckets and quota counters live: ``database`` (default;
        shared by every process on the database), ``memory`` (rate limits in each
        process on its own, quotas in the database), ``redis`` (the Redis of
        ``redis_url``) or a ``redis://``/``rediss://`` URL of its own. Usage records
        stay in the database whatever the choice (docs/scaling.md).
    ray_address : str or None
        ``ray://host:10001`` or ``auto``: run ``baryon tune`` and ``baryon score`` on
        that Ray cluster (:mod:`baryon.core.engines`). Unset (default): they run on
        this machine. The Ray back ends are not built yet: a set address is refused
        with ``ray_not_available``.
    labeling_claim_seconds : float
        Seconds an annotator's claim on a labeling task lasts (default 1800); an
        expired claim's slot goes to the next annotator who claims.
    labeling_threshold : float
        In [0, 1]: a served classifier's output whose confidence is below it is
        queued for labeling (a model version's ``extra["labeling_threshold"]`` wins).
    labeling_max_skips : int
        Annotators who may skip one task before it leaves the queue (``skipped``,
        or ``review`` when it already has labels).
    console_session_seconds : float
        How long a web console session lasts after signing in, in seconds (default
        28800, 8 hours; at most 30 days). It ends earlier at logout or when its key
        is revoked or expires.
    alert_delivery_attempts : int
        Attempts at delivering one alert to one channel (default 5) before it goes to
        the dead-letter list.
    alert_retry_seconds : float
        Wait before the first retry of a failed delivery, in seconds (default 2); each
        further wait doubles it (exponential back-off), at most 600 s.
    alert_send_timeout : float
        Seconds one webhook POST or SMTP conversation may take (default 10).
    smtp_host : str or None
        SMTP server for e-mail alert channels (none: e-mail channels are refused,
        ``smtp_not_configured``).
    smtp_port : int
        Its port (default 587).
    smtp_security : str
        ``starttls`` (default: plain connection upgraded with STARTTLS), ``tls``
        (implicit TLS, usually port 465) or ``none`` (loopback relays only).
    smtp_username, smtp_password : str or None
        Credentials, if the server asks for them (the password is never printed).
    smtp_from : str
        The ``From`` address of alert e-mails.
    fetch_allow : list of str
        Networks (``127.0.0.1/32``, ``10.0.0.0/8``, ``fd00::/8``) that sources may
        fetch from although they are not public; empty by default, so loopback,
        private, link-local, CGNAT, unique-local, IPv4-mapped, multicast and
        unspecified addresses are refused (``address_refused``). As an environment
        variable: networks separated by commas, ``BARYON_FETCH_ALLOW=127.0.0.1/32,10.0.0.0/8``
        (a JSON list, ``'["127.0.0.1/32"]'``, is read too).
    fetch_user_agent : str
        The ``User-Agent`` of every outbound request (and the name a crawler obeys
        in robots.txt groups).
    fetch_timeout : float
        Seconds one outbound response may take, connecting to last byte.
    fetch_max_bytes : int
        Largest outbound response body, in bytes, declared, received and
        decompressed (default 10 MiB; a robots.txt is read up to 500 KiB).
    secrets_key_file : Path or None
        The key that encrypts sources' credentials and alert webhooks' signing
        secrets at rest (:mod:`baryon.core.secrets`; hex, mode 0600); ``None``
        means ``<home>/secrets.key``, created on first use. Every process sharing one
        PostgreSQL database needs the same file.
    services : list of str
        Services ``baryon serve`` serves (:func:`baryon.services.load_services`):
        ``file.py``, ``file.py:Class``, ``package.module[:Class]``. As an environment
        variable: separated by commas, or a JSON list.
    services_org : str or None
        The id of the organization that owns those services (only its keys may call
        them); ``None``: the operator's, offered to every organization.
    source_secrets : dict of str to str
        Named credentials a source may reference instead of storing one
        (``--secret-ref NAME``); never printed. As an environment variable: a JSON
        object, ``BARYON_SOURCE_SECRETS='{"news-api": "tok..."}'``.
    """

    # validate_by_name: ``Settings(artifact_root=...)`` as well as its variables' names.
    model_config = SettingsConfigDict(env_prefix="BARYON_", extra="ignore", validate_by_name=True)

    home: Path = Field(default_factory=lambda: Path("~/.baryon"))
    database_url: str | None = None
    artifact_root: str | None = Field(
        default=None,
        validation_alias=AliasChoices("BARYON_ARTIFACTS_URL", "BARYON_ARTIFACT_ROOT"),
    )
    artifact_storage_options: dict[str, Any] = Field(default_factory=dict, repr=False)
    audit_key_file: Path | None = None
    kek_file: Path | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    debug: bool = False
    sqlite_busy_timeout: float = Field(default=30.0, gt=0)
    max_body_bytes: int = Field(default=1_048_576, gt=0)
    max_batch_size: int = Field(default=256, gt=0)
    max_text_chars: int = Field(default=10_000, gt=0)
    max_model_bytes: int = Field(default=64 * 1024 * 1024, gt=0)
    max_upload_bytes: int = Field(default=512 * 1024 * 1024, gt=0)
    header_timeout: float = Field(default=10.0, gt=0, le=3600.0)
    body_timeout: float = Field(default=30.0, gt=0, le=86_400.0)
    body_min_rate: int = Field(default=8192, ge=0)
    keep_alive_timeout: float = Field(default=5.0, gt=0, le=3600.0)
    max_connections: int = Field(default=512, ge=1, le=1_000_000)
    production: bool = False
    inprocess_worker: bool = True
    warm_models: bool = True
    batch_max_size: int = Field(default=64, ge=1, le=100_000)
    batch_max_wait_ms: float = Field(default=0.0, ge=0.0, le=1000.0)
    job_lease_seconds: float = Field(default=60.0, ge=1.0, le=86_400.0)
    job_poll_interval: float = Field(default=1.0, gt=0, le=3600.0)
    redis_url: str | None = None
    limits: str = "database"
    ray_address: str | None = None
    labeling_claim_seconds: float = Field(default=1800.0, gt=0, le=7 * 86_400.0)
    labeling_threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    labeling_max_skips: int = Field(default=3, ge=1, le=1000)
    console_session_seconds: float = Field(default=28_800.0, ge=60.0, le=30 * 86_400.0)
    alert_delivery_attempts: int = Field(default=5, ge=1, le=20)
    alert_retry_seconds: float = Field(default=2.0, gt=0, le=600.0)
    alert_send_timeout: float = Field(default=10.0, gt=0, le=300.0)
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "baryon@localhost"
    fetch_allow: Annotated[list[str], NoDecode] = Field(default_factory=list)
    fetch_user_agent: str = Field(
        default="Baryon/0.1 (+https://github.com/baryon; data collection)",
        min_length=1,
        max_length=300,
    )
    fetch_timeout: float = Field(default=30.0, gt=0, le=3600.0)
    fetch_max_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    secrets_key_file: Path | None = None
    source_secrets: dict[str, str] = Field(default_factory=dict, repr=False)
    services: Annotated[list[str], NoDecode] = Field(default_factory=list)
    services_org: str | None = None

    @field_validator("fetch_allow", "services", mode="before")
    @classmethod
    def _split_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                try:
                    return json.loads(text)
                except ValueError:
                    raise ValueError("not a JSON list") from None
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("limits", mode="after")
    @classmethod
    def _limits_known(cls, value: str, info: ValidationInfo) -> str:
        limits_redis_url(value, info.data.get("redis_url"))  # refuses an unknown back end
        return value

    @field_validator("home", mode="before")
    @classmethod
    def _home_not_empty(cls, value: object) -> object:
        if isinstance(value, str | Path) and not str(value).strip():
            raise ValueError("the home directory must not be empty")
        return value

    @field_validator("home", mode="after")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        return value.expanduser().absolute()

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to ``sqlite:///<home>/baryon.db``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home / 'baryon.db'}"

    @property
    def resolved_audit_key_file(self) -> Path:
        """The audit key file, defaulting to ``<home>/audit.key``."""
        if self.audit_key_file is not None:
            return self.audit_key_file.expanduser().absolute()
        return self.home / "audit.key"

    @property
    def resolved_secrets_key_file(self) -> Path:
        """The secrets key file (:mod:`baryon.core.secrets`), defaulting to
        ``<home>/secrets.key``."""
        if self.secrets_key_file is not None:
            return self.secrets_key_file.expanduser().absolute()
        return self.home / "secrets.key"

    @property
    def resolved_kek_file(self) -> Path:
        """The key-encryption key file of sensitive datasets, default ``<home>/kek``."""
        if self.kek_file is not None:
            return self.kek_file.expanduser().absolute()
        return self.home / "kek"

    @property
    def resolved_artifact_root(self) -> str:
        """The artifact store location, defaulting to ``<home>/artifacts``."""
        if self.artifact_root:
            return self.artifact_root
        return str(self.home / "artifacts")


def limits_redis_url(name: str, redis_url: str | None) -> str | None:
    """Return the Redis URL of the limits back end ``name``, or None if it is not Redis.

    Parameters
    ----------
    name : str
        ``BARYON_LIMITS``: ``database``, ``memory``, ``redis`` (the Redis of
        ``BARYON_REDIS_URL``) or a ``redis://``/``rediss://`` URL.
    redis_url : str or None
        ``BARYON_REDIS_URL``.

    Raises
    ------
    InvalidInput
        ``unsupported_rate_limiter``: ``redis`` without ``BARYON_REDIS_URL``, or a
        name that is none of the above.
    """
    if name in ("database", "memory"):
        return None
    if name == "redis":
        if not redis_url:
            raise InvalidInput(
                "BARYON_LIMITS=redis needs BARYON_REDIS_URL (or give BARYON_LIMITS a redis:// URL)",
                code="unsupported_rate_limiter",
            )
        return redis_url
    if name.startswith(("redis://", "rediss://")):
        return name
    raise InvalidInput(
        f"limits back end {name!r} is not available; use 'database', 'memory', 'redis' "
        "or a redis:// URL",
        code="unsupported_rate_limiter",
    )


def redact_url(url: str) -> str:
    """Return ``url`` with any password replaced by ``***``.

    >>> redact_url("postgresql://bob:secret@db/baryon")
    'postgresql://bob:***@db/baryon'
    """
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL is shown without its userinfo part
        if "@" in url and "://" in url:
            scheme, rest = url.split("://", 1)
            return f"{scheme}://***@{rest.split('@', 1)[1]}"
        return url
