"""The project-model half of ``SqlMetaStore``: custom model prices, one row per model.

A mixin so the store stays one class behind the ``MetaStore`` port while each area keeps its own
module. Tiers (conditions and prices included) are one JSON column, written and read whole; see
``migrations/meta/versions/0002_models.py`` for why.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc

from skyglass.adapters.meta.engine import guard
from skyglass.adapters.meta.tables import models, projects
from skyglass.domain.pricing_models import ModelPrice, PricingTier
from skyglass.errors import Conflict, NotFound
from skyglass.ports.meta import StoredModel

# Tries of ``put_model`` when a concurrent insert of the same id wins the race (then it updates).
_PUT_ATTEMPTS = 2


def _as_utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes (we only ever store UTC); PostgreSQL the session zone.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def start_key(start_date: datetime | None) -> str:
    """``start_date`` as it takes part in the unique key: UTC ISO text, '' when undated."""
    if start_date is None:
        return ""
    return _as_utc(start_date).isoformat(timespec="microseconds")


def _columns(model: ModelPrice) -> dict[str, Any]:
    """The columns of a model that a replace overwrites (all but id, owner and created_at)."""
    return {
        "model_name": model.model_name,
        "match_pattern": model.match_pattern,
        "start_date": _as_utc(model.start_date) if model.start_date is not None else None,
        "start_key": start_key(model.start_date),
        "unit": model.unit or "TOKENS",
        "tokenizer_id": model.tokenizer_id,
        "tokenizer_config": model.tokenizer_config,
        "pricing_tiers": [tier.model_dump(mode="json", by_alias=True) for tier in model.pricing_tiers],
    }


def _stored(row: Any) -> StoredModel:
    tiers = tuple(PricingTier.model_validate(tier) for tier in row.pricing_tiers or ())
    model = ModelPrice(
        id=row.id,
        model_name=row.model_name,
        match_pattern=row.match_pattern,
        start_date=_as_utc(row.start_date) if row.start_date is not None else None,
        unit=row.unit,
        tokenizer_id=row.tokenizer_id,
        tokenizer_config=row.tokenizer_config,
        project_id=row.project_id,
        pricing_tiers=tiers,
    )
    return StoredModel(model=model, created_at=_as_utc(row.created_at), updated_at=_as_utc(row.updated_at))


class ModelStoreMixin:
    """``list_models`` / ``get_model`` / ``put_model`` / ``delete_model`` over ``self._engine``."""

    _engine: sa.Engine

    def list_models(self, project_id: str) -> list[StoredModel]:
        """The project's own models, by model name then id."""
        query = (
            sa.select(models)
            .where(models.c.project_id == project_id)
            .order_by(models.c.model_name, models.c.id)
        )
        with guard("list models"), self._engine.connect() as conn:
            return [_stored(row) for row in conn.execute(query)]

    def get_model(self, project_id: str, model_id: str) -> StoredModel | None:
        """One of the project's own models (another project's id reads as missing)."""
        query = sa.select(models).where(models.c.id == model_id, models.c.project_id == project_id)
        with guard("read a model"), self._engine.connect() as conn:
            row = conn.execute(query).first()
        return _stored(row) if row is not None else None

    def put_model(self, project_id: str, model: ModelPrice) -> StoredModel:
        """Insert or replace (by ``model.id``) in one transaction; ``created_at`` survives a replace.

        ``Conflict`` when another model of the project has the same name, start date and unit;
        ``NotFound`` when the id belongs to another project or the project does not exist.
        """
        columns = _columns(model)
        for attempt in range(_PUT_ATTEMPTS):
            now = datetime.now(UTC)
            try:
                with guard("save a model"), self._engine.begin() as conn:
                    created_at = self._write(conn, project_id, model.id, columns, now)
            except exc.IntegrityError as error:
                self._explain_integrity_error(project_id, model, error, last=attempt + 1 == _PUT_ATTEMPTS)
                continue  # a concurrent insert of the same id won: now it is an update
            saved = model.model_copy(update={"project_id": project_id, "unit": columns["unit"]})
            return StoredModel(model=saved, created_at=created_at, updated_at=now)
        raise AssertionError("unreachable")  # pragma: no cover - the last attempt raises

    def delete_model(self, project_id: str, model_id: str) -> bool:
        """Delete one of the project's own models; False when there is none with this id."""
        delete = models.delete().where(models.c.id == model_id, models.c.project_id == project_id)
        with guard("delete a model"), self._engine.begin() as conn:
            return bool(conn.execute(delete).rowcount)

    # -- helpers --------------------------------------------------------------------------------

    @staticmethod
    def _write(
        conn: sa.Connection, project_id: str, model_id: str, columns: dict[str, Any], now: datetime
    ) -> datetime:
        """Insert or update the row; returns its creation time."""
        owner = conn.execute(
            sa.select(models.c.project_id, models.c.created_at).where(models.c.id == model_id)
        ).first()
        if owner is None:
            values = {"id": model_id, "project_id": project_id, "created_at": now, "updated_at": now}
            conn.execute(models.insert().values(**values, **columns))
            return now
        if owner.project_id != project_id:
            raise NotFound("No model with this id found.")
        conn.execute(models.update().where(models.c.id == model_id).values(updated_at=now, **columns))
        return _as_utc(owner.created_at)

    def _explain_integrity_error(
        self, project_id: str, model: ModelPrice, error: exc.IntegrityError, *, last: bool
    ) -> None:
        """Raise what a failed write means; return only when a retry may succeed (an id race)."""
        key = start_key(model.start_date)
        clash = (
            sa.select(models.c.id)
            .where(
                models.c.project_id == project_id,
                models.c.model_name == model.model_name,
                models.c.start_key == key,
                models.c.unit == (model.unit or "TOKENS"),
                models.c.id != model.id,
            )
            .limit(1)
        )
        with guard("read a model"), self._engine.connect() as conn:
            other = conn.execute(clash).scalar()
            project = conn.execute(sa.select(projects.c.id).where(projects.c.id == project_id)).scalar()
        if other is not None:
            start = model.start_date
            when = f"startDate {_as_utc(start).isoformat()}" if start is not None else "no startDate"
            raise Conflict(
                f"A model with modelName {model.model_name!r}, {when} and unit "
                f"{model.unit or 'TOKENS'} already exists in this project (id {other})."
            ) from error
        if project is None:
            raise NotFound(f"project not found: {project_id}") from error
        if last:
            raise Conflict(f"model {model.id!r} was being written concurrently; retry") from error
