"""The auth dependency of every public route: the caller's project, from the request headers."""

from __future__ import annotations

from typing import Any

from skyglass.api.deps import services
from skyglass.auth.service import ProjectScope


def project_scope(router: Any, *, allow_bearer: bool = False) -> ProjectScope:
    """Authenticate the current request (Basic; Bearer only where ``allow_bearer``)."""
    headers = router.current_event.headers or {}
    header = headers.get("authorization") or headers.get("Authorization")
    return services(router).authenticator.authenticate(header, allow_bearer=allow_bearer)
