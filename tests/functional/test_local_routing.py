"""``skyglass serve`` routes like the deployed HTTP API, by the routes of ``functions/manifest.py``;
and an installed skyglass carries that manifest."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from functions.manifest import FUNCTIONS
from skyglass.local import asgi
from skyglass.local.asgi import LocalHttpApp, build_event
from skyglass.local.routes import Route, RouteTable
from tests.functional.test_otel_api import fake_services

REPO = Path(__file__).resolve().parents[2]


def test_the_local_route_table_is_the_manifests():
    keys = {route.key for route in RouteTable().routes}
    assert keys == {f"{m} {p}" for entry in FUNCTIONS.values() for m, p in entry.get("routes", [])}


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("POST", "/api/public/ingestion", "POST /api/public/ingestion"),
        ("POST", "/api/public/otel/v1/traces", "POST /api/public/otel/v1/traces"),
        ("GET", "/api/public/health", "GET /api/public/health"),
        # another method on a routed path falls to the greedy ANY route (the function answers 405)
        ("GET", "/api/public/ingestion", "ANY /api/public/{proxy+}"),
        ("DELETE", "/api/public/health", "ANY /api/public/{proxy+}"),
        ("GET", "/api/public/traces/t1", "ANY /api/public/{proxy+}"),
        ("GET", "/", None),
        ("GET", "/api/public", None),
        ("GET", "/api/public/", None),
        ("POST", "/v1/traces", None),
        ("GET", "/api/publicity/x", None),
    ],
)
def test_requests_select_routes_as_api_gateway_does(method: str, path: str, expected: str | None):
    match = RouteTable().match(method, path)
    assert (match.route.key if match else None) == expected


def test_selection_follows_api_gateways_priority():
    # Given the example routes of API Gateway's HTTP API guide
    table = RouteTable(
        [
            Route("GET", "/pets/dog/1", "a"),
            Route("GET", "/pets/dog/{id}", "b"),
            Route("GET", "/pets/{proxy+}", "c"),
            Route("ANY", "/{proxy+}", "d"),
        ]
    )

    def key(method: str, path: str) -> str | None:
        match = table.match(method, path)
        return match.route.key if match else None

    # Then a full match wins, then the longest greedy route of the method, then ANY
    assert key("GET", "/pets/dog/1") == "GET /pets/dog/1"
    assert key("GET", "/pets/dog/2") == "GET /pets/dog/{id}"
    assert key("GET", "/pets/cat/1") == "GET /pets/{proxy+}"
    assert key("POST", "/pets/dog/1") == "ANY /{proxy+}"
    # And path variables are passed decoded, the greedy one with its slashes
    match = table.match("GET", "/pets/cat/black%20one/2")
    assert match is not None and match.path_parameters == {"proxy": "cat/black one/2"}


def _scope(method: str, path: str) -> dict[str, Any]:
    return {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"content-type", b"application/json")],
    }


def request(
    app: LocalHttpApp, method: str, path: str, body: bytes = b""
) -> tuple[int, dict[str, str], bytes]:
    """One request through the ASGI app, as uvicorn would drive it (no socket)."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(_scope(method, path), receive, send))
    start, content = sent
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, content["body"]


@pytest.fixture
def app_and_events(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[LocalHttpApp, list[dict[str, Any]]]:
    """The local ASGI app over in-memory ports, and every event it hands the handler."""
    events: list[dict[str, Any]] = []
    real_handle = asgi.handle

    def recording_handle(app: Any, services: Any, event: dict[str, Any], context: Any) -> dict[str, Any]:
        events.append(event)
        return real_handle(app, services, event, context)

    monkeypatch.setattr(asgi, "handle", recording_handle)
    services, _ = fake_services(tmp_path)
    return LocalHttpApp(services, max_body_bytes=services.settings.max_body_bytes), events


@pytest.mark.parametrize(("method", "path"), [("GET", "/"), ("POST", "/v1/traces"), ("GET", "/api/public")])
def test_a_request_no_route_matches_gets_api_gateways_404_and_reaches_no_handler(
    app_and_events: tuple[LocalHttpApp, list[dict[str, Any]]], method: str, path: str
):
    app, events = app_and_events
    status, headers, body = request(app, method, path, b"{}")
    assert (status, body) == (404, b'{"message":"Not Found"}')
    assert headers["content-type"] == "application/json"
    assert events == []


def test_the_handler_sees_the_matched_route_key_and_path_parameters(
    app_and_events: tuple[LocalHttpApp, list[dict[str, Any]]],
):
    app, events = app_and_events
    # When the health check, a read and an ingestion request arrive
    assert request(app, "GET", "/api/public/health")[0] == 200
    assert request(app, "GET", "/api/public/traces/t1")[0] == 401  # no key: the function answered
    assert request(app, "POST", "/api/public/ingestion", b'{"batch": []}')[0] == 401
    # Then each event carries the route API Gateway would have chosen, in both places
    assert [e["routeKey"] for e in events] == [
        "GET /api/public/health",
        "ANY /api/public/{proxy+}",
        "POST /api/public/ingestion",
    ]
    assert [e["requestContext"]["routeKey"] for e in events] == [e["routeKey"] for e in events]
    assert events[1]["pathParameters"] == {"proxy": "traces/t1"}
    assert "pathParameters" not in events[0]


def test_an_event_without_a_route_is_the_default_route():
    event = build_event(_scope("GET", "/x"), b"")
    assert event["routeKey"] == event["requestContext"]["routeKey"] == "$default"


def test_an_installed_skyglass_carries_the_manifest_it_routes_by(tmp_path: Path):
    # Given what the distribution installs (setuptools' build of the packages, no editable paths)
    lib = tmp_path / "lib"
    build = subprocess.run(
        [sys.executable, "-c", "from setuptools import setup; setup()", "build_py", "--build-lib", str(lib)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    # Then it holds the functions package with its manifest, next to skyglass, and nothing else
    assert (lib / "functions" / "manifest.py").is_file()
    assert (lib / "functions" / "ingest" / "handler.py").is_file()
    assert sorted(p.name for p in lib.iterdir()) == ["functions", "skyglass"]
    # And, imported from there alone (outside the repository), the local server routes by it
    probe = (
        "import json, functions.manifest, skyglass.local.routes as r; "
        "m = r.RouteTable().match('GET', '/api/public/health'); "
        "print(json.dumps([functions.manifest.__file__, m.route.key]))"
    )
    env = {**os.environ, "PYTHONPATH": str(lib)}
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr[-3000:]
    manifest_file, key = json.loads(out.stdout)
    assert Path(manifest_file).is_relative_to(lib)
    assert key == "GET /api/public/health"
