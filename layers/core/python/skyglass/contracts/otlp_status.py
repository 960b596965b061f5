"""OTLP/HTTP failure bodies: a ``google.rpc.Status`` in the request's encoding.

The OTLP specification (OTLP/HTTP Response, Failures) asks every 4xx/5xx answer of an export
endpoint to carry a ``Status`` describing the problem, binary protobuf for
``application/x-protobuf`` requests and its protobuf JSON mapping for ``application/json`` ones;
a 400 SHOULD detail the bad data with a ``google.rpc.BadRequest``. Exporters decide on the HTTP
status alone (retry 429/502/503/504, drop the rest); the body is for people reading their logs.

``Status.code`` is optional in OTLP; it is set to the gRPC code matching the HTTP status so the
body reads the same as an OTLP/gRPC error. The JSON body also carries Langfuse's ``error`` name
for clients that read it (a strict protobuf JSON parser of ``Status`` needs
``ignore_unknown_fields`` for that one key).
"""

from __future__ import annotations

from typing import Any

import orjson
from google.protobuf import json_format
from google.rpc import code_pb2, error_details_pb2, status_pb2

from skyglass.contracts.otlp import JSON, MEDIA_TYPES, PROTOBUF, Encoding

# HTTP status → google.rpc.Code, after the canonical mapping in google/rpc/code.proto. 413 is
# RESOURCE_EXHAUSTED as gRPC reports an oversized message; 415 is INVALID_ARGUMENT (the request
# names an encoding this server does not read).
GRPC_CODES: dict[int, int] = {
    400: code_pb2.INVALID_ARGUMENT,
    401: code_pb2.UNAUTHENTICATED,
    403: code_pb2.PERMISSION_DENIED,
    404: code_pb2.NOT_FOUND,
    405: code_pb2.UNIMPLEMENTED,
    409: code_pb2.ALREADY_EXISTS,
    413: code_pb2.RESOURCE_EXHAUSTED,
    415: code_pb2.INVALID_ARGUMENT,
    429: code_pb2.RESOURCE_EXHAUSTED,
    500: code_pb2.INTERNAL,
    501: code_pb2.UNIMPLEMENTED,
    503: code_pb2.UNAVAILABLE,
    504: code_pb2.DEADLINE_EXCEEDED,
}
CONTENT_TYPES: dict[Encoding, str] = {"protobuf": PROTOBUF, "json": JSON}


def grpc_code(http_status: int) -> int:
    """The ``google.rpc.Code`` for an HTTP error status (UNKNOWN for one not listed)."""
    if http_status in GRPC_CODES:
        return GRPC_CODES[http_status]
    return code_pb2.INTERNAL if http_status >= 500 else code_pb2.UNKNOWN


def error_encoding(content_type: str | None) -> Encoding:
    """The encoding of a failure body: the request's, JSON when it named none we read (a 415)."""
    essence = (content_type or "").split(";", 1)[0].strip().lower()
    return MEDIA_TYPES.get(essence, "json")


def status_message(http_status: int, message: str) -> status_pb2.Status:
    """The ``Status`` of a failure; a 400 details its problem with a ``BadRequest``."""
    status = status_pb2.Status(code=grpc_code(http_status), message=message)
    if http_status == 400:
        violation = error_details_pb2.BadRequest.FieldViolation(description=message)
        status.details.add().Pack(error_details_pb2.BadRequest(field_violations=[violation]))
    return status


def encode_status(http_status: int, message: str, error: str, encoding: Encoding) -> bytes:
    """The failure body: ``Status`` bytes, or its JSON mapping plus Langfuse's ``error`` name."""
    status = status_message(http_status, message)
    if encoding == "protobuf":
        return status.SerializeToString()
    document: dict[str, Any] = json_format.MessageToDict(status)
    document["error"] = error
    return orjson.dumps(document)
