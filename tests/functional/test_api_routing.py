"""Routing answers: unknown paths 404, known paths with the wrong method 405 with Allow."""

from __future__ import annotations

from tests.support.api import ApiClient


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
