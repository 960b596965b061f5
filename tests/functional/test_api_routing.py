"""Routing answers: unknown paths 404, known paths with the wrong method 405 with Allow."""

from __future__ import annotations

from datetime import UTC, datetime

from skyglass.api.deps import ApiServices
from skyglass.auth.service import Authenticator
from skyglass.domain.keys import hash_secret
from skyglass.ports.meta import StoredApiKey
from skyglass.settings import Settings
from tests.support.api import ApiClient, basic_auth
from tests.support.fakes import FakeMetaStore


def test_unknown_path_is_404_with_a_message():
    reply = ApiClient(None).get("/api/public/nothing-here")  # type: ignore[arg-type]
    assert reply.status == 404
    assert "GET /api/public/nothing-here" in reply.json()["message"]


def test_known_path_with_the_wrong_method_is_405_naming_the_allowed_ones():
    # When a route that only accepts GET is called with DELETE
    reply = ApiClient(None).delete("/api/public/health")  # type: ignore[arg-type]
    # Then the answer says which methods exist
    assert reply.status == 405
    assert reply.headers["allow"] == "GET"
    assert reply.json()["error"] == "MethodNotAllowedError"


def test_health_needs_no_key():
    reply = ApiClient(None).get("/api/public/health")  # type: ignore[arg-type]
    assert reply.status == 200 and reply.json()["status"] == "OK"


def test_two_apps_in_one_process_each_see_their_own_services():
    def services_with_project(name: str) -> tuple[ApiServices, str]:
        meta = FakeMetaStore()
        org = meta.ensure_organization("org")
        project = meta.ensure_project(org.id, name)
        meta.add_api_key(
            StoredApiKey(
                id=name,
                project_id=project.id,
                public_key=f"pk-{name}",
                secret_hash=hash_secret(f"sk-{name}"),
                display_secret_key="sk-...",
                created_at=datetime.now(UTC),
            )
        )
        svc = ApiServices(Settings(), None, None, None, meta, Authenticator(meta))  # type: ignore[arg-type]
        return svc, basic_auth(f"pk-{name}", f"sk-{name}")

    # Given two apps built one after the other, each with its own services
    first_services, first_auth = services_with_project("first")
    first = ApiClient(first_services, auth=first_auth)
    second_services, second_auth = services_with_project("second")
    second = ApiClient(second_services, auth=second_auth)
    # When both are used, the first after the second was built
    # Then each answers from its own metadata store
    assert first.get("/api/public/projects").json()["data"][0]["name"] == "first"
    assert second.get("/api/public/projects").json()["data"][0]["name"] == "second"
