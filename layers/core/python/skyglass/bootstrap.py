"""Composition root: the only place that picks adapters, by URL scheme.

Embedded engines are the default (a local folder, an SQLite queue, chDB, SQLite); the AWS shape is
the same code with other URLs: ``s3://`` blobs, an SQS queue URL, ``clickhouse(s)://`` analytics
(password from Secrets Manager), ``aurora-data-api://`` metadata and an ``s3://`` key projection.
Ports are built lazily, so a CLI command that needs only the metadata store (``skyglass keys
create`` while the server runs) never opens chDB, which allows one process per data folder, and
the ingest Lambda never imports the analytics or SQL drivers at all.

Migrations: embedded and self-hosted stores migrate when first opened. Aurora's schema belongs to
the deploy (the migrate function), so a CLI on an operator's machine never migrates it, and the
Lambda runtimes (``function_runtime``) migrate nothing on their own.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, cast

from skyglass.api.deps import ApiServices
from skyglass.auth.service import Authenticator
from skyglass.errors import StoreUnavailable
from skyglass.ports.analytics import AnalyticsStore
from skyglass.ports.blob import BlobStore
from skyglass.ports.keys import ApiKeyLookup, KeyProjection
from skyglass.ports.meta import MetaStore
from skyglass.ports.queue import MessageQueue
from skyglass.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from skyglass.auth.projection import SyncReport
    from skyglass.processing.mapping import BlobMapper
    from skyglass.processing.worker import Processor

log = logging.getLogger(__name__)

DATA_API_SCHEME = "aurora-data-api:"


class _NotServedHere:
    """Stands in for a port a function must never open (the ingest function's stores)."""

    def __init__(self, what: str):
        self._what = what

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"the {self._what} is not available in this function (tried .{name})")


@dataclass(frozen=True, slots=True)
class MigrationReport:
    """What ``Runtime.migrate_stores`` did: stores migrated and attempts it took."""

    stores: tuple[str, ...]
    attempts: int


class Runtime:
    """The ports and services of one process, each built on first use.

    ``migrate``: None (default) migrates stores when first opened, except an Aurora metadata store
    (its schema is deployed); False never migrates (the Lambda functions); True always does.
    """

    def __init__(self, settings: Settings, *, migrate: bool | None = None):
        self.settings = settings
        self._migrate = migrate

    def _migrates(self, store: str) -> bool:
        if self._migrate is not None:
            return self._migrate
        return not (store == "meta" and self.settings.resolved_meta_url().startswith(DATA_API_SCHEME))

    @cached_property
    def s3_client(self) -> S3Client:
        """One S3 client for the blob store and the key projection (boto3 is imported here)."""
        from skyglass.adapters.blob.s3 import new_s3_client

        return new_s3_client()

    def _blob_store(self, url: str) -> BlobStore:
        from skyglass.adapters.blob.factory import make_blob_store

        return make_blob_store(url, s3_client=self.s3_client if url.startswith("s3:") else None)

    @cached_property
    def blobs(self) -> BlobStore:
        return self._blob_store(self.settings.resolved_blob_url())

    @cached_property
    def queue(self) -> MessageQueue:
        from skyglass.adapters.queue.factory import make_queue

        return make_queue(
            self.settings.resolved_queue_url(),
            visibility_seconds=self.settings.queue_visibility_seconds,
            max_receives=self.settings.queue_max_receives,
        )

    @cached_property
    def analytics(self) -> AnalyticsStore:
        from skyglass.adapters.analytics.factory import make_executor
        from skyglass.adapters.analytics.store import ClickHouseAnalyticsStore
        from skyglass.adapters.secrets import resolve_url

        url = resolve_url(self.settings.resolved_analytics_url(), self.settings.analytics_secret_arn)
        store = ClickHouseAnalyticsStore(make_executor(url))
        if self._migrates("analytics"):
            store.migrate()
        return store

    @cached_property
    def meta(self) -> MetaStore:
        from skyglass.adapters.meta.factory import make_meta_store

        store = make_meta_store(self.settings.resolved_meta_url())
        if self._migrates("meta"):
            store.migrate()
        return store

    @cached_property
    def key_projection(self) -> KeyProjection | None:
        """The API-key projection, when ``keys_url`` configures one."""
        if not self.settings.keys_url:
            return None
        from skyglass.adapters.keys.blob_projection import BlobKeyProjection

        return BlobKeyProjection(self._blob_store(self.settings.keys_url))

    @property
    def key_lookup(self) -> ApiKeyLookup:
        """Where authentication reads keys: the projection if there is one, else the metadata store."""
        projection = self.key_projection
        return projection if projection is not None else self.meta

    @cached_property
    def authenticator(self) -> Authenticator:
        # The Authenticator only ever calls find_api_key, which both lookups provide.
        return Authenticator(
            cast(MetaStore, self.key_lookup),
            pepper=self.settings.key_salt,
            ttl_seconds=self.settings.api_key_cache_seconds,
        )

    def api_services(self) -> ApiServices:
        return ApiServices(
            settings=self.settings,
            blobs=self.blobs,
            queue=self.queue,
            analytics=self.analytics,
            meta=self.meta,
            authenticator=self.authenticator,
        )

    def ingest_services(self) -> ApiServices:
        """Services of the ingest path: blobs, queue and authentication, never the databases."""
        return self._ingest_services

    @cached_property
    def _ingest_services(self) -> ApiServices:
        if self.key_projection is None:
            log.warning("no key projection configured: ingestion authenticates against the metadata store")
        return ApiServices(
            settings=self.settings,
            blobs=self.blobs,
            queue=self.queue,
            analytics=cast(AnalyticsStore, _NotServedHere("analytics store")),
            meta=cast(MetaStore, _NotServedHere("metadata store")),
            authenticator=self.authenticator,
        )

    @cached_property
    def processor(self) -> Processor:
        """The worker use case over this runtime's blobs and analytics store (local thread or Lambda)."""
        from skyglass.processing.worker import Processor
        from skyglass.query.models import project_models_provider

        # Project models are read through a TTL cache: one metadata read per project per 30 s
        # while data flows, none when idle (so Aurora can still pause). After an idle spell the
        # first read wakes Aurora, and the worker waits for it rather than failing the batch.
        models = project_models_provider(
            self.meta, resume_wait_seconds=self.settings.meta_resume_wait_seconds
        )
        return Processor(self.blobs, self.analytics, project_models=models, mapper=self._mapper())

    def _mapper(self) -> BlobMapper:
        from skyglass.processing.mapping import InlineMapper, ProcessMapper

        processes = self.settings.worker_processes
        return ProcessMapper(processes) if processes > 0 else InlineMapper()

    def migrate_stores(
        self,
        *,
        retry_for_seconds: float = 0.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> MigrationReport:
        """Apply the metadata (Alembic) and analytics migrations, both idempotent.

        ``StoreUnavailable`` (Aurora resuming from auto-pause, a ClickHouse hiccup) is retried
        with exponential back-off for up to ``retry_for_seconds``; then the last error is raised.
        """
        deadline = clock() + retry_for_seconds
        attempt, delay = 0, 1.0
        while True:
            attempt += 1
            try:
                self.meta.migrate()
                self.analytics.migrate()
                return MigrationReport(stores=("meta", "analytics"), attempts=attempt)
            except StoreUnavailable as exc:
                if clock() + delay > deadline:
                    raise
                log.warning("migration attempt %d: %s; retrying in %.0f s", attempt, exc.message, delay)
                sleep(delay)
                delay = min(delay * 2, 15.0)

    def sync_key_projection(self) -> SyncReport | None:
        """Rebuild the key projection from the metadata store (None when there is no projection)."""
        from skyglass.auth.projection import sync_projection

        projection = self.key_projection
        return None if projection is None else sync_projection(self.meta, projection)

    def close(self) -> None:
        """Close whatever was opened, in reverse order of dependency."""
        for name in ("processor", "analytics", "meta", "queue"):
            port = self.__dict__.get(name)
            close = getattr(port, "close", None)
            if close is not None:
                close()


def build_runtime(settings: Settings | None = None) -> Runtime:
    from skyglass.settings import get_settings

    return Runtime(settings or get_settings())


# -- Lambda functions -------------------------------------------------------------------------------

_function_runtimes: dict[str, Runtime] = {}
_function_lock = threading.Lock()


def function_runtime(function: str) -> Runtime:
    """The runtime of one Lambda function, built on its first invocation and kept warm.

    Settings come from the environment; nothing migrates (the migrate function does, at deploy).
    """
    with _function_lock:
        runtime = _function_runtimes.get(function)
        if runtime is None:
            from skyglass.settings import get_settings

            # One batch per invocation and a fraction of a core: mapping stays in process.
            settings = get_settings().model_copy(update={"worker_processes": 0})
            runtime = _function_runtimes[function] = Runtime(settings, migrate=False)
    return runtime


def reset_function_runtimes() -> None:
    """Close and forget every function runtime and the cached settings (tests, between cases)."""
    from skyglass.settings import get_settings

    with _function_lock:
        runtimes = list(_function_runtimes.values())
        _function_runtimes.clear()
    for runtime in runtimes:
        runtime.close()
    get_settings.cache_clear()


def ingest_routers() -> list[Any]:
    """The ingest function's routers: batch ingestion, scores and, where present, OTLP."""
    import importlib
    import importlib.util

    from skyglass.api import ingestion, scores

    routers = [ingestion.router, scores.router]
    if importlib.util.find_spec("skyglass.api.otel") is not None:
        routers.append(importlib.import_module("skyglass.api.otel").router)
    return routers


def all_routers() -> list[Any]:
    """The api function's routers: the whole public API."""
    from skyglass.api.routes import all_routers as every_router

    return every_router()


class HttpFunction:
    """An API Gateway (HTTP API, payload v2) Lambda: its routers, resolver and services.

    The resolver is built on the first event and kept for the life of the process; services are
    bound per request (``skyglass.api.app.handle``), so several functions may share a process.
    """

    def __init__(
        self,
        routers: Callable[[], list[Any]],
        services: Callable[[], ApiServices],
        metrics: Any = None,
    ):
        self._routers = routers
        self._services = services
        self._metrics = metrics
        self._app: Any = None
        self._lock = threading.Lock()

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        """Resolve one event; counts ``Requests`` and ``ServerErrors`` when metrics are given."""
        from skyglass.api.app import build_app, handle

        with self._lock:
            if self._app is None:
                self._app = build_app(self._routers())
        response = handle(self._app, self._services(), event, context)
        if self._metrics is not None:
            from aws_lambda_powertools.metrics import MetricUnit

            self._metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
            if int(response.get("statusCode", 500)) >= 500:
                self._metrics.add_metric(name="ServerErrors", unit=MetricUnit.Count, value=1)
        return response


class _NoTracer:
    """Stands in for Powertools' Tracer when aws-xray-sdk is not installed."""

    def capture_lambda_handler(self, handler: Callable[..., Any]) -> Callable[..., Any]:
        return handler


def lambda_tracer() -> Any:
    """Powertools' Tracer if ``aws_xray_sdk`` is installed and tracing is on, else a pass-through.

    Both Lambda layers ship the X-Ray SDK (``aws-lambda-powertools[tracer]`` in the ``aws`` extra),
    so the functions' handlers and subsegments are traced; an install without it (a local one)
    gets the pass-through. ``Settings.trace_disabled`` (``POWERTOOLS_TRACE_DISABLED=true``, set by
    the stacks on the ingest function unless ``skyglass:ingest_tracer``) gives the pass-through
    too, without importing the SDK at all: its import builds X-Ray clients and costs about a
    quarter second of cold start, which a disabled Powertools Tracer would still pay. The service name comes from
    ``POWERTOOLS_SERVICE_NAME`` (set per function by the stacks).
    """
    import importlib.util

    from skyglass.settings import get_settings

    if get_settings().trace_disabled or importlib.util.find_spec("aws_xray_sdk") is None:
        return _NoTracer()
    from aws_lambda_powertools import Tracer

    return Tracer()


def lambda_metrics() -> Any:
    """Powertools' Metrics in ``Settings.metrics_namespace`` (service from ``POWERTOOLS_SERVICE_NAME``).

    A namespace is always set: Powertools refuses to flush metrics without one.
    """
    from aws_lambda_powertools import Metrics

    from skyglass.settings import get_settings

    return Metrics(namespace=get_settings().metrics_namespace)
