"""Model definitions (custom prices): list and get for the API, and the worker's per-project view.

A project sees its own models and the managed ones of the shipped price table
(``isLangfuseManaged: true``); its own come first, as they also win when a generation's model
is matched (``domain.pricing_match``). Writes are in ``query/models_write.py``.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
import weakref
from collections.abc import Callable
from datetime import UTC, datetime

from skyglass.contracts.public_api.common import MetaResponse
from skyglass.contracts.public_api.models import ModelPriceView, ModelView, PaginatedModels, PricingTierView
from skyglass.domain.pricing_models import ModelPrice, load_default_models, load_price_table
from skyglass.domain.queries import PageRequest
from skyglass.errors import NotFound, StoreUnavailable
from skyglass.ports.meta import MetaStore
from skyglass.resume import retry_while_resuming

log = logging.getLogger(__name__)

# How long the worker trusts its copy of a project's models. Models change rarely, and a write
# through the API of the same process drops the copy at once (``invalidate_project_models``).
PROJECT_MODELS_TTL_SECONDS = 30.0
NOT_FOUND_MESSAGE = "No model with this id found."


# -- mapping --------------------------------------------------------------------------------------


def _sort_key(model: ModelPrice) -> tuple[str, str, int, float, str]:
    """Model name, unit, newest start date first (undated last), id: Langfuse's list order."""
    undated = model.start_date is None
    start = -model.start_date.timestamp() if model.start_date is not None else 0.0
    return (model.model_name, model.unit or "", int(undated), start, model.id)


def to_model_view(model: ModelPrice, *, managed: bool, created_at: datetime) -> ModelView:
    """The ``Model`` body; the flat prices mirror the default tier, as in Langfuse."""
    default = model.default_tier
    flat = dict(default.prices) if default is not None else {}
    tiers = sorted(model.pricing_tiers, key=lambda t: (t.priority, t.name))
    return ModelView(
        id=model.id,
        model_name=model.model_name,
        match_pattern=model.match_pattern,
        start_date=model.start_date,
        unit=model.unit,
        input_price=flat.get("input"),
        output_price=flat.get("output"),
        total_price=flat.get("total"),
        tokenizer_id=model.tokenizer_id,
        tokenizer_config=model.tokenizer_config,
        is_langfuse_managed=managed,
        created_at=created_at,
        prices={usage_type: ModelPriceView(price=price) for usage_type, price in flat.items()},
        pricing_tiers=[
            PricingTierView(
                id=tier.id or f"{model.id}_tier_{tier.priority}",
                name=tier.name,
                is_default=tier.is_default,
                priority=tier.priority,
                conditions=[c.model_dump(mode="json", by_alias=True) for c in tier.conditions],
                prices=dict(tier.prices),
            )
            for tier in tiers
        ],
    )


# -- managed models -------------------------------------------------------------------------------


@functools.cache
def _managed() -> tuple[tuple[ModelView, ...], dict[str, ModelView]]:
    """The managed models as API bodies, in list order and by id (built once per process)."""
    table = load_price_table()
    created_at = datetime.fromisoformat(table.updated_at).replace(tzinfo=UTC)
    views = tuple(
        to_model_view(model, managed=True, created_at=created_at)
        for model in sorted(load_default_models(), key=_sort_key)
    )
    return views, {view.id: view for view in views}


def managed_model_ids() -> frozenset[str]:
    """Ids of the managed models: they can be neither replaced nor deleted."""
    return frozenset(_managed()[1])


# -- use cases ------------------------------------------------------------------------------------


def list_models(meta: MetaStore, project_id: str, page: PageRequest) -> PaginatedModels:
    """One page of the project's models then the managed ones (``GET /models``)."""
    own = sorted(meta.list_models(project_id), key=lambda stored: _sort_key(stored.model))
    managed = _managed()[0]
    total = len(own) + len(managed)
    start, stop = page.offset, page.offset + page.limit
    data = [to_model_view(s.model, managed=False, created_at=s.created_at) for s in own[start:stop]]
    if stop > len(own):
        data.extend(managed[max(start - len(own), 0) : stop - len(own)])
    meta_response = MetaResponse(
        page=page.page, limit=page.limit, total_items=total, total_pages=page.total_pages(total)
    )
    return PaginatedModels(data=data, meta=meta_response)


def get_model(meta: MetaStore, project_id: str, model_id: str) -> ModelView:
    """One model by id, the project's own or a managed one (``GET /models/{id}``); else 404."""
    stored = meta.get_model(project_id, model_id)
    if stored is not None:
        return to_model_view(stored.model, managed=False, created_at=stored.created_at)
    managed = _managed()[1].get(model_id)
    if managed is None:
        raise NotFound(NOT_FOUND_MESSAGE)
    return managed


# -- the worker's view ----------------------------------------------------------------------------


class ProjectModelsCache:
    """Each project's own models as ``ModelPrice``, kept ``ttl_seconds`` (thread-safe).

    When the store fails, a stale copy is served rather than failing the batch. With no copy at
    all, a store that is resuming (Aurora waking from auto-pause) is waited for, up to
    ``resume_wait_seconds``; any other ``StoreUnavailable`` (or a resume that outlasts the wait)
    propagates, so the messages are retried instead of priced without the project's prices.
    """

    def __init__(
        self,
        meta: MetaStore,
        ttl_seconds: float = PROJECT_MODELS_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self._meta = meta
        self._ttl = ttl_seconds
        self._clock = clock
        self._sleep = sleep
        self._entries: dict[str, tuple[float, list[ModelPrice]]] = {}
        self._lock = threading.Lock()

    def get(self, project_id: str, *, resume_wait_seconds: float = 0.0) -> list[ModelPrice]:
        now = self._clock()
        with self._lock:
            hit = self._entries.get(project_id)
        if hit is not None and hit[0] > now:
            return list(hit[1])
        try:
            fresh = retry_while_resuming(
                lambda: [stored.model for stored in self._meta.list_models(project_id)],
                budget_seconds=0.0 if hit is not None else resume_wait_seconds,
                sleep=self._sleep,
                clock=self._clock,
            )
        except StoreUnavailable:
            if hit is None:
                raise
            log.warning("metadata store unavailable: using stale models of project %s", project_id)
            return list(hit[1])
        with self._lock:
            self._entries[project_id] = (self._clock() + self._ttl, fresh)
        return list(fresh)

    def invalidate(self, project_id: str | None = None) -> None:
        """Forget one project's copy (after a write), or every copy."""
        with self._lock:
            if project_id is None:
                self._entries.clear()
            else:
                self._entries.pop(project_id, None)


_CACHES: weakref.WeakKeyDictionary[object, ProjectModelsCache] = weakref.WeakKeyDictionary()
_CACHES_LOCK = threading.Lock()


def _cache_for(meta: MetaStore) -> ProjectModelsCache:
    with _CACHES_LOCK:
        cache = _CACHES.get(meta)
        if cache is None:
            cache = _CACHES[meta] = ProjectModelsCache(meta)
        return cache


def project_models(meta: MetaStore, project_id: str, *, resume_wait_seconds: float = 0.0) -> list[ModelPrice]:
    """The project's own models for cost enrichment (pass as ``project_models=``), TTL-cached.

    One cache per store object, so the worker can call this for every batch: the store is read
    at most once per project every ``PROJECT_MODELS_TTL_SECONDS``. ``resume_wait_seconds``: how
    long to wait for a resuming store when there is no copy yet (see ``ProjectModelsCache``).
    """
    return _cache_for(meta).get(project_id, resume_wait_seconds=resume_wait_seconds)


def project_models_provider(
    meta: MetaStore, *, resume_wait_seconds: float = 0.0
) -> Callable[[str], list[ModelPrice]]:
    """``project_models`` bound to one store: project id → its models (the worker's provider)."""
    return functools.partial(project_models, meta, resume_wait_seconds=resume_wait_seconds)


def invalidate_project_models(meta: MetaStore, project_id: str) -> None:
    """Drop the cached models of a project (the write use cases call it after every change)."""
    with _CACHES_LOCK:
        cache = _CACHES.get(meta)
    if cache is not None:
        cache.invalidate(project_id)
