"""What route handlers receive: the ports and use-case services of one runtime.

The composition root (``skyglass.bootstrap``) builds one ``ApiServices``; ``skyglass.api.app.handle``
binds it for the duration of one request, and handlers read it with ``services(router)``. A context
variable (not the resolver's context) carries it, because routers are module-level objects that
Powertools re-binds to whichever resolver included them last: several apps may live in one
process (tests, or a subset app beside the full one) and each request still sees its own services.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from skyglass.auth.service import Authenticator
    from skyglass.ports.analytics import AnalyticsStore
    from skyglass.ports.blob import BlobStore
    from skyglass.ports.meta import MetaStore
    from skyglass.ports.queue import MessageQueue
    from skyglass.settings import Settings


@dataclass
class ApiServices:
    settings: Settings
    blobs: BlobStore
    queue: MessageQueue
    analytics: AnalyticsStore
    meta: MetaStore
    authenticator: Authenticator


_current: ContextVar[ApiServices | None] = ContextVar("skyglass_api_services", default=None)


@contextmanager
def bound(svc: ApiServices) -> Iterator[None]:
    """Make ``svc`` the services of the request being handled in this context."""
    token = _current.set(svc)
    try:
        yield
    finally:
        _current.reset(token)


def services(router: Any = None) -> ApiServices:
    """The services of the current request (bound by ``skyglass.api.app.handle``)."""
    svc = _current.get()
    if svc is None:  # pragma: no cover - wiring error
        raise RuntimeError("no ApiServices bound: call skyglass.api.app.handle")
    return svc
