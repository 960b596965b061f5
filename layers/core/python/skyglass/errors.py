"""Error hierarchy carrying an HTTP status; mapped to responses once, in ``skyglass.api.app``.

Use cases and adapters raise these; nothing else decides a status code. Adapters wrap provider
errors with ``raise StoreUnavailable(...) from exc`` so a broken backend becomes a 503 the
client retries, never a 500 that an OTLP exporter would drop.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base class: ``status`` is the HTTP status, ``message`` what the client is told."""

    status: int = 500
    error: str = "Internal Server Error"

    def __init__(self, message: str, *, detail: Any = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.detail = detail
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"message": self.message, "error": self.error}
        if self.detail is not None:
            out["detail"] = self.detail
        return out


class InvalidRequest(DomainError):
    status = 400
    error = "InvalidRequestError"


class Unauthorized(DomainError):
    status = 401
    error = "UnauthorizedError"


class Forbidden(DomainError):
    status = 403
    error = "ForbiddenError"


class NotFound(DomainError):
    status = 404
    error = "LangfuseNotFoundError"


class MethodNotAllowed(DomainError):
    status = 405
    error = "MethodNotAllowedError"


class Conflict(DomainError):
    status = 409
    error = "ConflictError"


class PayloadTooLarge(DomainError):
    status = 413
    error = "PayloadTooLargeError"


class UnsupportedMediaType(DomainError):
    status = 415
    error = "UnsupportedMediaTypeError"


class TooManyRequests(DomainError):
    """Back-pressure: the client should retry after ``retry_after`` seconds."""

    status = 429
    error = "TooManyRequests"

    def __init__(self, message: str, *, retry_after: int = 1, detail: Any = None):
        super().__init__(message, detail=detail, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


class StoreUnavailable(DomainError):
    """A backing store (blob, queue, database) failed; retryable, so 503 with Retry-After."""

    status = 503
    error = "ServiceUnavailable"

    def __init__(self, message: str, *, retry_after: int = 2, detail: Any = None):
        super().__init__(message, detail=detail, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


class StoreResuming(StoreUnavailable):
    """A store is waking up (Aurora resuming from auto-pause) and will answer within seconds.

    A request path answers it at once (503 + Retry-After); a caller that can afford to wait (the
    worker, an operator's CLI) retries it with ``skyglass.resume.retry_while_resuming``.
    """
