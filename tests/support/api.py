"""Drive the API in-process: build API Gateway v2 events and call ``skyglass.api.app.handle``."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from skyglass.api.app import build_app, handle
from skyglass.api.deps import ApiServices


def basic_auth(public_key: str, secret_key: str) -> str:
    return "Basic " + base64.b64encode(f"{public_key}:{secret_key}".encode()).decode()


def make_event(
    method: str,
    path: str,
    *,
    query: dict[str, Any] | list[tuple[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    body: bytes | str | Any = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload v2) event, as the local server builds one."""
    hdrs = {k.lower(): v for k, v in (headers or {}).items()}
    raw_body: bytes | None
    if body is None or isinstance(body, bytes | str):
        raw_body = body.encode() if isinstance(body, str) else body
    else:
        raw_body = json.dumps(body).encode()
        hdrs.setdefault("content-type", "application/json")
    pairs: list[tuple[str, str]] = []
    if isinstance(query, dict):
        for key, value in query.items():
            for item in value if isinstance(value, list) else [value]:
                pairs.append((key, str(item)))
    elif query:
        pairs = list(query)
    qs: dict[str, str] = {}
    for key, value in pairs:
        qs[key] = f"{qs[key]},{value}" if key in qs else value
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": urlencode(pairs),
        "headers": hdrs,
        "requestContext": {
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1"},
            "stage": "$default",
        },
        "isBase64Encoded": raw_body is not None,
    }
    if qs:
        event["queryStringParameters"] = qs
    if raw_body is not None:
        event["body"] = base64.b64encode(raw_body).decode()
    return event


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text) if self.text else None


class ApiClient:
    """``client.get("/api/public/traces", query={...})`` → Reply, with Basic auth by default."""

    def __init__(self, services: ApiServices, auth: str | None = None):
        self.app = build_app()
        self.services = services
        self.auth = auth

    def request(self, method: str, path: str, **kwargs: Any) -> Reply:
        headers = dict(kwargs.pop("headers", None) or {})
        if self.auth and not any(k.lower() == "authorization" for k in headers):
            headers["authorization"] = self.auth
        result = handle(self.app, self.services, make_event(method, path, headers=headers, **kwargs), None)
        body = result.get("body") or ""
        if result.get("isBase64Encoded"):
            body = base64.b64decode(body).decode()
        return Reply(result["statusCode"], {k.lower(): v for k, v in result.get("headers", {}).items()}, body)

    def get(self, path: str, **kwargs: Any) -> Reply:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Reply:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Reply:
        return self.request("PATCH", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Reply:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Reply:
        return self.request("DELETE", path, **kwargs)
