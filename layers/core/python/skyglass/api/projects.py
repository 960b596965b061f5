"""Routes of the public API: projects.

``GET /projects`` answers with the one project of the calling key, as Langfuse does for a
project-scoped key. The SDK calls it from ``auth_check()`` and to learn its ``project_id``.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from skyglass.api.auth import project_scope
from skyglass.api.deps import services
from skyglass.api.responses import json_response
from skyglass.ports.meta import Project

router = Router()


def project_body(project: Project) -> dict[str, Any]:
    """The OpenAPI ``Project`` schema: id, name, organization {id, name}, metadata, retentionDays."""
    return {
        "id": project.id,
        "name": project.name,
        "organization": {"id": project.org_id, "name": project.org_name},
        "metadata": project.metadata,
        "retentionDays": project.retention_days,
    }


@router.get("/projects")
def get_projects() -> Response:
    """``{"data": [project]}`` for the key's project (Basic auth only; Bearer is 403)."""
    scope = project_scope(router)
    project = services(router).meta.get_project(scope.project_id)
    # A key outliving its project cannot happen (foreign key), but answer like Langfuse would.
    return json_response(200, {"data": [project_body(project)] if project is not None else []})
