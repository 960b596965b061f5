"""API key pairs: generation and salted hashing of secrets (pure functions, no I/O).

Keys look like Langfuse's (``pk-lf-…``) with our own prefix: ``pk-sg-<uuid>`` / ``sk-sg-<uuid>``.
Secrets are stored only as ``pbkdf2_sha256$<iterations>$<salt-hex>$<hash-hex>``; a per-key random
salt plus an optional server-wide pepper (``Settings.key_salt``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid

PUBLIC_PREFIX = "pk-sg-"
SECRET_PREFIX = "sk-sg-"
_SCHEME = "pbkdf2_sha256"
_ITERATIONS = 50_000


def new_public_key() -> str:
    return f"{PUBLIC_PREFIX}{uuid.uuid4()}"


def new_secret_key() -> str:
    return f"{SECRET_PREFIX}{uuid.uuid4()}"


def display_secret(secret: str) -> str:
    """What may be shown after creation: ``sk-sg-…abcd``."""
    return f"{secret[:6]}...{secret[-4:]}"


def hash_secret(secret: str, pepper: str = "", *, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", (secret + pepper).encode(), salt, _ITERATIONS)
    return f"{_SCHEME}${_ITERATIONS}${salt.hex()}${digest.hex()}"


def verify_secret(secret: str, stored: str, pepper: str = "") -> bool:
    try:
        scheme, iterations, salt_hex, hash_hex = stored.split("$")
    except ValueError:
        return False
    if scheme != _SCHEME:
        return False
    digest = hashlib.pbkdf2_hmac(
        "sha256", (secret + pepper).encode(), bytes.fromhex(salt_hex), int(iterations)
    )
    return hmac.compare_digest(digest.hex(), hash_hex)
