"""One typed Settings model: the only place that reads ``os.environ``.

Every setting has an environment variable ``SKYGLASS_<NAME>``; the README's configuration table
is generated from the field descriptions here. URLs choose adapters (see ``bootstrap``): an empty
URL means "the embedded default under ``data_dir``".
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SKYGLASS_", extra="ignore")

    data_dir: Path = Field(
        Path(".skyglass"), description="Folder for the embedded stores (blobs, queue, chDB, SQLite)."
    )
    blob_url: str = Field(
        "", description="Raw event log: `file:///path` or `s3://bucket/prefix`. Default: `<data_dir>/blobs`."
    )
    queue_url: str = Field(
        "",
        description="Work queue: `local:///path/queue.db` or an SQS queue URL (`https://sqs…`). "
        "Default: `<data_dir>/queue.db`.",
    )
    analytics_url: str = Field(
        "",
        description="Analytics store: `chdb:///path` or `clickhouse(s)://user:pass@host:port/db`. "
        "Default: `<data_dir>/chdb`.",
    )
    meta_url: str = Field(
        "",
        description="Metadata store: an SQLAlchemy URL (`sqlite:///…`, `postgresql+psycopg://…`) or Aurora "
        "through the RDS Data API (`aurora-data-api://<db>?cluster_arn=…&secret_arn=…`). "
        "Default: `<data_dir>/meta.db` (SQLite).",
    )
    analytics_secret_arn: str = Field(
        "",
        description="Secrets Manager secret (ARN or name) completing `analytics_url`: the ClickHouse "
        "password, or JSON with `password` (and `username`) or a whole `url`. Empty: the URL is complete.",
    )
    keys_url: str = Field(
        "",
        description="API-key projection that authentication reads instead of the metadata store, one "
        "`<sha256(public key)>.json` per key under `s3://bucket/prefix` (or `file:///path`), so ingestion never "
        "waits for Aurora. Kept in sync by `skyglass keys create/revoke/sync`. Empty: keys are read from the "
        "metadata store.",
    )
    metrics_namespace: str = Field(
        "Skyglass",
        validation_alias=AliasChoices("SKYGLASS_METRICS_NAMESPACE", "POWERTOOLS_METRICS_NAMESPACE"),
        description="CloudWatch namespace of the Lambda functions' metrics (also read from "
        "`POWERTOOLS_METRICS_NAMESPACE`).",
    )
    trace_disabled: bool = Field(
        False,
        validation_alias=AliasChoices("SKYGLASS_TRACE_DISABLED", "POWERTOOLS_TRACE_DISABLED"),
        description="Lambda functions: no Powertools Tracer (X-Ray SDK subsegments), sparing the SDK's "
        "~0.25 s of cold start; set on the ingest function unless `skyglass:ingest_tracer` (also read "
        "from `POWERTOOLS_TRACE_DISABLED`).",
    )
    host: str = Field("127.0.0.1", description="`skyglass serve` listen address.")
    port: int = Field(3000, description="`skyglass serve` listen port.")
    max_body_bytes: int = Field(5 * 1024 * 1024, description="Largest request body accepted (else 413).")
    max_event_bytes: int = Field(
        1024 * 1024, description="Largest single ingestion event (else per-event 400)."
    )
    queue_max_receives: int = Field(
        5, description="Deliveries of one message before it moves to the dead-letter queue."
    )
    queue_visibility_seconds: int = Field(
        60, description="How long a received message stays hidden before it is delivered again."
    )
    queue_backpressure_depth: int = Field(
        20_000, description="Queued messages above which ingestion answers 503 with Retry-After."
    )
    worker_batch_messages: int = Field(100, description="Messages the local worker processes per batch.")
    worker_threads: int = Field(1, description="Local worker threads (chDB is in-process: keep it small).")
    worker_processes: int = Field(
        1,
        ge=0,
        description="Helper processes that map blobs to events for the local worker, so mapping one "
        "batch overlaps writing the previous one and the API thread; 0 maps in the worker thread. "
        "Lambda functions always map in process.",
    )
    meta_resume_wait_seconds: float = Field(
        45.0,
        description="How long the worker waits for the metadata store to resume (Aurora waking from "
        "auto-pause) before failing a batch retryably; well within the worker function's timeout.",
    )
    api_key_cache_seconds: int = Field(60, description="How long a verified API key is cached in memory.")
    key_salt: str = Field(
        "", description="Extra salt (pepper) mixed into API secret hashes; keep it stable once set."
    )
    init_org_name: str = Field("", description="Headless init: organisation created at start.")
    init_project_name: str = Field("", description="Headless init: project created at start.")
    init_public_key: str = Field("", description="Headless init: public key (`pk-sg-…`) created at start.")
    init_secret_key: str = Field("", description="Headless init: secret key (`sk-sg-…`) created at start.")
    log_level: str = Field("INFO", description="Log level.")

    def resolved_blob_url(self) -> str:
        return self.blob_url or f"file://{(self.data_dir / 'blobs').resolve()}"

    def resolved_queue_url(self) -> str:
        return self.queue_url or f"local://{(self.data_dir / 'queue.db').resolve()}"

    def resolved_analytics_url(self) -> str:
        return self.analytics_url or f"chdb://{(self.data_dir / 'chdb').resolve()}"

    def resolved_meta_url(self) -> str:
        return self.meta_url or f"sqlite:///{(self.data_dir / 'meta.db').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings; tests build ``Settings(...)`` directly instead."""
    return Settings()
