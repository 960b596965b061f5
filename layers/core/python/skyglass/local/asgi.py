"""HTTP → API Gateway v2 event → the same handler the Lambda functions run.

A raw ASGI app (served by uvicorn) that routes like the deployed HTTP API — by the routes of
``functions/manifest.py``, API Gateway's ``{"message":"Not Found"}`` for a request no route
matches (``skyglass.local.routes``) — reads the request body with a size cap, builds a payload v2
event like API Gateway does (``routeKey`` and ``pathParameters`` of the matched route), and
resolves it on one dedicated thread: the Powertools resolver keeps per-request state at class
level, exactly one request at a time — as in a Lambda.
"""

from __future__ import annotations

import asyncio
import base64
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote

import orjson

from skyglass.api.app import build_app, handle
from skyglass.api.deps import ApiServices
from skyglass.local.routes import NOT_FOUND_BODY, RouteMatch, RouteTable

Scope = dict[str, Any]


def _json_error(status: int, message: str, error: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    body = orjson.dumps({"message": message, "error": error})
    return status, [(b"content-type", b"application/json")], body


def _request_path(scope: Scope) -> str:
    """The path as sent (still percent-encoded), without the query string."""
    raw_path = scope.get("raw_path")
    return raw_path.decode("latin-1").split("?", 1)[0] if raw_path else str(scope["path"])


def build_event(scope: Scope, body: bytes, match: RouteMatch | None = None) -> dict[str, Any]:
    """The API Gateway HTTP API (payload format 2.0) event for one ASGI HTTP request.

    ``match``: the route API Gateway selected (its key and path parameters); ``$default`` without.
    """
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        if name == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
            continue
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    raw_qs = scope.get("query_string", b"").decode("latin-1")
    query: dict[str, str] = {}
    for key, value in parse_qsl(raw_qs, keep_blank_values=True):
        query[key] = f"{query[key]},{value}" if key in query else value
    path = _request_path(scope)
    route_key = match.route.key if match is not None else "$default"
    now = datetime.now(UTC)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": raw_qs,
        "headers": headers,
        "requestContext": {
            "accountId": "local",
            "apiId": "local",
            "domainName": headers.get("host", "localhost"),
            "http": {
                "method": scope["method"],
                "path": unquote(path),
                "protocol": f"HTTP/{scope.get('http_version', '1.1')}",
                "sourceIp": (scope.get("client") or ("127.0.0.1", 0))[0],
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": f"local-{time.monotonic_ns()}",
            "routeKey": route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": bool(body),
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if match is not None and match.path_parameters:
        event["pathParameters"] = dict(match.path_parameters)
    if body:
        event["body"] = base64.b64encode(body).decode()
    return event


class LocalHttpApp:
    """ASGI application wrapping the public API resolver for ``skyglass serve``."""

    def __init__(self, services: ApiServices, max_body_bytes: int, routes: RouteTable | None = None):
        self._services = services
        self._max_body = max_body_bytes
        self._routes = routes or RouteTable()
        self._app = build_app()
        # one thread: the resolver is not re-entrant (see module docstring)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="skyglass-api")

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        status, headers, body = await self._respond(scope, receive)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self._pool.shutdown(wait=True)
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _read_body(self, scope: Scope, receive: Any) -> bytes | None:
        """The whole body, or None when it exceeds the limit (answered 413 without buffering it)."""
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self._max_body:
            return None
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self._max_body:
                return None
            chunks.append(chunk)
            more = message.get("more_body", False)
        return b"".join(chunks)

    async def _respond(self, scope: Scope, receive: Any) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        match = self._routes.match(scope["method"], _request_path(scope))
        if match is None:  # API Gateway answers this itself; no function is invoked
            return 404, [(b"content-type", b"application/json")], NOT_FOUND_BODY
        body = await self._read_body(scope, receive)
        if body is None:
            return _json_error(
                413,
                f"Request body exceeds the limit of {self._max_body} bytes (SKYGLASS_MAX_BODY_BYTES).",
                "PayloadTooLargeError",
            )
        event = build_event(scope, body, match)
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(self._pool, handle, self._app, self._services, event, None)
        return _to_http(result)


def _to_http(result: dict[str, Any]) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    raw = result.get("body") or ""
    body = base64.b64decode(raw) if result.get("isBase64Encoded") else raw.encode()
    headers = [(k.lower().encode(), str(v).encode()) for k, v in (result.get("headers") or {}).items()]
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((name.lower().encode(), str(v).encode()) for v in values)
    for cookie in result.get("cookies") or []:
        headers.append((b"set-cookie", cookie.encode()))
    return int(result.get("statusCode", 200)), headers, body
