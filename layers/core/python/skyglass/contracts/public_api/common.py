"""Shared pieces of the Langfuse public-API response models: base class, times, page meta.

Responses are built explicitly field by field and dumped with ``exclude_unset``: optional field
groups (``fields=``) leave their fields unset and so absent from the JSON, while every field the
Langfuse schema requires is declared without a default, so forgetting one fails loudly.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, PlainSerializer
from pydantic.alias_generators import to_camel


def iso_millis(value: datetime) -> str:
    """``2026-01-01T10:00:00.123Z``: what Langfuse (JavaScript ``toISOString``) sends."""
    utc = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


IsoDateTime = Annotated[datetime, PlainSerializer(iso_millis, return_type=str)]


class WireModel(BaseModel):
    """camelCase on the wire, snake_case in Python."""

    # fields like ``model_id`` are wire names, not pydantic internals
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, protected_namespaces=())

    def wire(self) -> dict[str, Any]:
        """The JSON-ready body: camelCase keys, unset optional groups left out."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


class MetaResponse(WireModel):
    """Page-number pagination meta (``utilsMetaResponse``)."""

    page: int
    limit: int
    total_items: int
    total_pages: int


class MessageResponse(WireModel):
    """``{"message": …}`` (e.g. ``DeleteTraceResponse``)."""

    message: str
