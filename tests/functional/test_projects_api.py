"""GET /api/public/projects through the in-process API, over a real metadata store.

The body is also parsed by the real Langfuse SDK: its ``projects.get()`` runs against the
handler through an in-process httpx transport, exactly as it would against a server.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from skyglass.adapters.meta.factory import make_meta_store
from skyglass.adapters.meta.store import SqlMetaStore
from skyglass.api.app import handle as resolve
from skyglass.api.deps import ApiServices
from skyglass.auth.keys import CreatedKeyPair, create_key_pair, revoke_key
from skyglass.auth.service import Authenticator
from skyglass.settings import Settings
from tests.support.api import ApiClient, basic_auth, make_event
from tests.support.fakes import FakeBlobStore, FakeQueue

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@dataclass
class World:
    meta: SqlMetaStore
    services: ApiServices
    pair: CreatedKeyPair

    def client(self, auth: str | None = None) -> ApiClient:
        return ApiClient(self.services, auth=auth)


def build_world(url: str, tmp_path: Path) -> World:
    meta = make_meta_store(url)
    meta.migrate()
    settings = Settings(data_dir=tmp_path, key_salt="pepper")
    services = ApiServices(
        settings=settings,
        blobs=FakeBlobStore(),
        queue=FakeQueue(),
        analytics=None,  # type: ignore[arg-type]  # GET /projects never reads analytics
        meta=meta,
        authenticator=Authenticator(meta, pepper=settings.key_salt, ttl_seconds=60),
    )
    pair = create_key_pair(meta, "web", org_name="acme", pepper=settings.key_salt)
    return World(meta, services, pair)


@pytest.fixture(params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    """A project "web" in "acme" with one key pair, on each metadata backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'meta.db'}"
    else:
        url = str(request.getfixturevalue("fresh_postgres_url"))
    built = build_world(url, tmp_path)
    yield built
    built.meta.close()


@pytest.fixture
def lite_world(tmp_path: Path) -> Iterator[World]:
    """The same on SQLite only: for header parsing, which never depends on the backend."""
    built = build_world(f"sqlite:///{tmp_path / 'meta.db'}", tmp_path)
    yield built
    built.meta.close()


def sdk_transport(services: ApiServices) -> httpx.MockTransport:
    """An httpx transport that hands each SDK request to the in-process API."""
    client = ApiClient(services)

    def handle(request: httpx.Request) -> httpx.Response:
        event = make_event(
            request.method,
            request.url.path,
            query=list(request.url.params.multi_items()),
            headers=dict(request.headers),
            body=request.content or None,
        )
        result = resolve(client.app, services, event, None)
        body = result.get("body") or ""
        raw = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
        return httpx.Response(result["statusCode"], headers=result.get("headers") or {}, content=raw)

    return httpx.MockTransport(handle)


def test_get_projects_returns_the_keys_project_in_the_langfuse_shape(world: World):
    # Given a key pair of project "web" in organisation "acme"
    client = world.client(basic_auth(world.pair.public_key, world.pair.secret_key))
    # When the project is requested
    reply = client.get("/api/public/projects")
    # Then exactly that project comes back, shaped like the OpenAPI Projects schema
    assert reply.status == 200, reply.text
    project = world.pair.project
    assert reply.json() == {
        "data": [
            {
                "id": project.id,
                "name": "web",
                "organization": {"id": project.org_id, "name": "acme"},
                "metadata": {},
                "retentionDays": None,
            }
        ]
    }
    assert reply.headers["content-type"].startswith("application/json")


def test_the_real_sdk_parses_get_projects(world: World):
    # Given the SDK's generated API client, wired to the in-process API
    from langfuse.api import Projects
    from langfuse.api.client import LangfuseAPI

    api = LangfuseAPI(
        base_url="http://skyglass.test",
        username=world.pair.public_key,
        password=world.pair.secret_key,
        httpx_client=httpx.Client(transport=sdk_transport(world.services)),
    )
    # When it fetches the projects
    projects = api.projects.get()
    # Then its own pydantic model holds our project
    assert isinstance(projects, Projects)
    assert [(p.id, p.name, p.organization.name) for p in projects.data] == [
        (world.pair.project.id, "web", "acme")
    ]
    assert projects.data[0].metadata == {}
    assert projects.data[0].retention_days is None


def test_the_sdk_model_validates_the_raw_body(world: World):
    # Given the raw JSON body
    from langfuse.api import Projects

    body = world.client(basic_auth(world.pair.public_key, world.pair.secret_key)).get("/api/public/projects")
    # Then the SDK's model accepts it as is
    parsed = Projects.model_validate(body.json())
    assert parsed.data[0].organization.id == world.pair.project.org_id


def test_each_key_sees_only_its_own_project(world: World):
    # Given a second project with its own key
    other = create_key_pair(world.meta, "batch", org_name="acme", pepper="pepper")
    # When each key asks
    mine = world.client(basic_auth(world.pair.public_key, world.pair.secret_key)).get("/api/public/projects")
    theirs = world.client(basic_auth(other.public_key, other.secret_key)).get("/api/public/projects")
    # Then each sees one project, its own
    assert [p["name"] for p in mine.json()["data"]] == ["web"]
    assert [p["id"] for p in theirs.json()["data"]] == [other.project.id]


def test_no_authorization_header_is_401_with_a_message(lite_world: World):
    reply = lite_world.client().get("/api/public/projects")
    assert reply.status == 401
    assert reply.json()["error"] == "UnauthorizedError"
    assert "No authorization header" in reply.json()["message"]
    assert "correct host" in reply.json()["message"]


def test_wrong_secret_is_401(world: World):
    reply = world.client(basic_auth(world.pair.public_key, "sk-sg-wrong")).get("/api/public/projects")
    assert reply.status == 401
    assert reply.json()["message"].startswith("Invalid credentials")


def test_unknown_public_key_is_401(lite_world: World):
    reply = lite_world.client(basic_auth("pk-sg-unknown", lite_world.pair.secret_key)).get(
        "/api/public/projects"
    )
    assert reply.status == 401


def test_revoked_key_is_401(world: World):
    # Given a key that worked once (and is therefore cached)
    client = world.client(basic_auth(world.pair.public_key, world.pair.secret_key))
    assert client.get("/api/public/projects").status == 200
    # When it is revoked and the server forgets its cached verifications
    revoke_key(world.meta, world.pair.public_key)
    world.services.authenticator.invalidate()
    # Then it no longer authenticates
    reply = client.get("/api/public/projects")
    assert reply.status == 401
    assert reply.json()["error"] == "UnauthorizedError"


def test_bearer_public_key_is_403_on_projects(lite_world: World):
    reply = lite_world.client(f"Bearer {lite_world.pair.public_key}").get("/api/public/projects")
    assert reply.status == 403
    assert reply.json()["error"] == "ForbiddenError"


@pytest.mark.parametrize(
    "header",
    [
        "Basic not-base64!!",
        "Basic " + base64.b64encode(b"no-colon-here").decode(),
        "Basic " + base64.b64encode(b":only-secret").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:x").decode(),
        "Token abc",
    ],
    ids=["not-base64", "no-colon", "empty-public", "not-utf8", "unknown-scheme"],
)
def test_malformed_authorization_is_401(lite_world: World, header: str):
    reply = lite_world.client(header).get("/api/public/projects")
    assert reply.status == 401
    assert reply.json()["message"]
