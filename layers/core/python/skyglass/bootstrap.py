"""Composition root: the only place that picks adapters, by URL scheme.

Embedded engines are the default (a local folder, an SQLite queue, chDB, SQLite). Ports are built
lazily, so a CLI command that needs only the metadata store (``skyglass keys create`` while the
server runs) never opens chDB, which allows one process per data folder.
"""

from __future__ import annotations

from functools import cached_property

from skyglass.api.deps import ApiServices
from skyglass.auth.service import Authenticator
from skyglass.ports.analytics import AnalyticsStore
from skyglass.ports.blob import BlobStore
from skyglass.ports.meta import MetaStore
from skyglass.ports.queue import MessageQueue
from skyglass.settings import Settings


class Runtime:
    """The ports and services of one process, each built on first use."""

    def __init__(self, settings: Settings):
        self.settings = settings

    @cached_property
    def blobs(self) -> BlobStore:
        from skyglass.adapters.blob.factory import make_blob_store

        return make_blob_store(self.settings.resolved_blob_url())

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

        store = ClickHouseAnalyticsStore(make_executor(self.settings.resolved_analytics_url()))
        store.migrate()
        return store

    @cached_property
    def meta(self) -> MetaStore:
        from skyglass.adapters.meta.factory import make_meta_store

        store = make_meta_store(self.settings.resolved_meta_url())
        store.migrate()
        return store

    @cached_property
    def authenticator(self) -> Authenticator:
        return Authenticator(
            self.meta, pepper=self.settings.key_salt, ttl_seconds=self.settings.api_key_cache_seconds
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

    def close(self) -> None:
        """Close whatever was opened, in reverse order of dependency."""
        for name in ("analytics", "meta", "queue"):
            port = self.__dict__.get(name)
            close = getattr(port, "close", None)
            if close is not None:
                close()


def build_runtime(settings: Settings | None = None) -> Runtime:
    from skyglass.settings import get_settings

    return Runtime(settings or get_settings())
