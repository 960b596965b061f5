"""Secrets Manager: credentials that must not sit in Lambda environment variables.

Used for the bring-your-own ClickHouse: ``SKYGLASS_ANALYTICS_URL`` names the server without a
password and ``SKYGLASS_ANALYTICS_SECRET_ARN`` the secret holding it. The secret's string is either
the bare password, or JSON with ``password`` (and optionally ``username``), or JSON with a whole
``url``. (Aurora's credentials never pass through here: the Data API reads its secret itself.)

Secrets are read once per process and cached, through a client factory tests can replace.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from functools import lru_cache
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from skyglass.errors import InvalidRequest, StoreUnavailable

ClientFactory = Callable[[], Any]
_override: ClientFactory | None = None
_cache: dict[str, str] = {}
_lock = threading.Lock()


@lru_cache(maxsize=1)
def _default_client() -> Any:
    import boto3

    return boto3.client("secretsmanager")


def set_client_factory(factory: ClientFactory | None) -> None:
    """Use ``factory()`` for Secrets Manager (tests); ``None`` restores boto3. Clears the cache."""
    global _override
    with _lock:
        _override = factory
        _cache.clear()


def secret_string(secret_id: str) -> str:
    """The ``SecretString`` of a secret (ARN or name), read once per process."""
    with _lock:
        cached = _cache.get(secret_id)
        factory = _override or _default_client
    if cached is not None:
        return cached
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        value = factory().get_secret_value(SecretId=secret_id)
    except (ClientError, BotoCoreError) as exc:
        raise StoreUnavailable(f"could not read secret {secret_id}: {exc}") from exc
    text = value.get("SecretString")
    if text is None:
        raise InvalidRequest(f"secret {secret_id} has no string value")
    with _lock:
        _cache[secret_id] = text
    return str(text)


def url_with_secret(url: str, secret: str) -> str:
    """``url`` completed from a secret: a JSON ``url`` replaces it; a password (and user) is inserted."""
    try:
        parsed: Any = json.loads(secret)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and parsed.get("url"):
        return str(parsed["url"])
    if isinstance(parsed, dict):
        if "password" not in parsed:
            raise InvalidRequest("analytics secret JSON needs `password` or `url`")
        password, username = str(parsed["password"]), parsed.get("username")
    else:
        password, username = secret, None
    if not url:
        raise InvalidRequest("an analytics secret holding only a password needs SKYGLASS_ANALYTICS_URL")
    parts = urlsplit(url)
    user = quote(str(username), safe="") if username else (parts.username or "default")
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    netloc = f"{user}:{quote(password, safe='')}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def resolve_url(url: str, secret_id: str) -> str:
    """``url`` itself when no secret is configured, else completed from the secret."""
    return url_with_secret(url, secret_string(secret_id)) if secret_id else url
