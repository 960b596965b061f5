"""JSON responses: one serialiser (orjson) and one place that shapes error bodies."""

from __future__ import annotations

from typing import Any

import orjson
from aws_lambda_powertools.event_handler import Response
from pydantic import BaseModel

from skyglass.errors import DomainError

JSON = "application/json"


def _default(obj: Any) -> Any:
    if isinstance(obj, BaseModel):
        return obj.model_dump(mode="json", by_alias=True)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def dumps(body: Any) -> str:
    if isinstance(body, BaseModel):
        return body.model_dump_json(by_alias=True)
    return orjson.dumps(body, default=_default).decode()


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(status_code=status, content_type=JSON, body=dumps(body), headers=headers or {})


def error_response(exc: DomainError) -> Response:
    return json_response(exc.status, exc.body(), exc.headers)
