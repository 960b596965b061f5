"""DB-API 2.0 errors of the Data API driver, and how botocore failures map onto them.

``DatabaseResumingException`` (a paused Aurora cluster waking up) is not a DB-API error but
``DatabaseResuming``, a ``StoreResuming``: a request answers 503 + Retry-After at once, while the
worker and the CLI wait for the resume (``skyglass.resume``).
Errors that carry a PostgreSQL SQLSTATE map by its class (23 → ``IntegrityError``, so SQLAlchemy
raises its ``IntegrityError`` and the store can tell a conflict from an outage).
"""

from __future__ import annotations

import re
from typing import Any

from skyglass.errors import StoreResuming

# Retry-After while Aurora resumes from auto-pause (it takes about 15 seconds).
RESUME_RETRY_AFTER = 10


class Warning(Exception):  # the DB-API name (shadows the builtin inside this module only)
    pass


class Error(Exception):
    pass


class InterfaceError(Error):
    pass


class DatabaseError(Error):
    pass


class DataError(DatabaseError):
    pass


class OperationalError(DatabaseError):
    pass


class IntegrityError(DatabaseError):
    pass


class InternalError(DatabaseError):
    pass


class ProgrammingError(DatabaseError):
    pass


class NotSupportedError(DatabaseError):
    pass


class DatabaseResuming(StoreResuming):
    """Aurora is resuming from auto-pause: retry in a few seconds (503 + Retry-After)."""

    def __init__(self, message: str = "the metadata database is resuming; retry shortly"):
        super().__init__(message, retry_after=RESUME_RETRY_AFTER)


_SQLSTATE = re.compile(r"SQLState:\s*([0-9A-Z]{5})")
_BY_SQLSTATE_CLASS: dict[str, type[DatabaseError]] = {
    "23": IntegrityError,
    "22": DataError,
    "42": ProgrammingError,
    "0A": NotSupportedError,
    "XX": InternalError,
}
_SQL_ERROR_CODES = frozenset({"BadRequestException", "DatabaseErrorException"})


def translate_error(exc: Exception) -> Exception:
    """The DB-API error (or ``DatabaseResuming``) for a botocore failure."""
    response: Any = getattr(exc, "response", None) or {}
    code = str(response.get("Error", {}).get("Code", ""))
    message = str(response.get("Error", {}).get("Message", "")) or str(exc)
    if code == "DatabaseResumingException":
        return DatabaseResuming()
    state = _SQLSTATE.search(message)
    if state:
        return _BY_SQLSTATE_CLASS.get(state.group(1)[:2], OperationalError)(message)
    if code in _SQL_ERROR_CODES:
        return ProgrammingError(message)
    return OperationalError(f"{code or exc.__class__.__name__}: {message}")
