"""Secrets Manager: the analytics URL completed from a secret (moto), read once per process."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from skyglass.adapters import secrets
from skyglass.adapters.analytics.clickhouse_executor import parse_clickhouse_url
from skyglass.errors import InvalidRequest, StoreUnavailable

URL = "clickhouses://reader@ch.example.com:8443/skyglass?connect_timeout=5"


@pytest.fixture
def secretsmanager(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        client = boto3.client("secretsmanager")
        secrets.set_client_factory(lambda: client)
        yield client
        secrets.set_client_factory(None)


@pytest.mark.parametrize(
    ("secret", "user", "password"),
    [
        ("p@ss/word", "reader", "p@ss/word"),
        (json.dumps({"password": "s3cret"}), "reader", "s3cret"),
        (json.dumps({"username": "writer", "password": "a:b"}), "writer", "a:b"),
    ],
    ids=["plain", "json-password", "json-user-and-password"],
)
def test_the_password_is_inserted_into_the_url(secret: str, user: str, password: str):
    # When a URL without a password is completed from the secret
    target = parse_clickhouse_url(secrets.url_with_secret(URL, secret))
    # Then host, port, database and options stay; user and password come from the secret
    assert (target.host, target.port, target.database, target.secure) == (
        "ch.example.com",
        8443,
        "skyglass",
        True,
    )
    assert (target.username, target.password) == (user, password)
    assert target.options == {"connect_timeout": 5}


def test_a_secret_with_a_whole_url_replaces_the_setting():
    secret = json.dumps({"url": "clickhouse://u:p@other:8123/db"})
    assert secrets.url_with_secret("", secret) == "clickhouse://u:p@other:8123/db"


def test_a_json_secret_without_password_or_url_is_refused():
    with pytest.raises(InvalidRequest):
        secrets.url_with_secret(URL, json.dumps({"user": "x"}))


def test_secrets_are_read_once_and_missing_ones_are_unavailable(secretsmanager: Any):
    # Given a secret
    arn = secretsmanager.create_secret(Name="ch", SecretString="pw1")["ARN"]
    # When it is resolved, changed, and resolved again
    first = secrets.resolve_url(URL, arn)
    secretsmanager.put_secret_value(SecretId=arn, SecretString="pw2")
    # Then the process keeps the value it read (one call per cold start)
    assert secrets.resolve_url(URL, arn) == first
    assert parse_clickhouse_url(first).password == "pw1"
    # And without a secret the URL is used as it is; an unknown secret is a retryable 503
    assert secrets.resolve_url(URL, "") == URL
    with pytest.raises(StoreUnavailable):
        secrets.secret_string("no-such-secret")
