"""What route handlers receive: the ports and use-case services of one runtime.

The composition root (``skyglass.bootstrap``) builds one ``ApiServices`` and passes it with every
request through the resolver context; handlers read it with ``services(router)``.
"""

from __future__ import annotations

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


def services(router: Any) -> ApiServices:
    """The services of the current request (set by ``skyglass.api.app.handle``)."""
    svc = router.context.get("services")
    if svc is None:  # pragma: no cover - wiring error
        raise RuntimeError("ApiServices missing from the resolver context")
    return svc  # type: ignore[no-any-return,unused-ignore]
