"""Contract of the MetaStore's project models, on SQLite, PostgreSQL and the test fake."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from skyglass.adapters.meta.factory import make_meta_store
from skyglass.domain.pricing_models import AttributeCondition, ModelPrice, PricingTier, UsageCondition
from skyglass.errors import Conflict, NotFound
from skyglass.ports.meta import MetaStore
from tests.support.fakes import FakeMetaStore

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres), "fake"]
SQL_BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def _open(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if kind == "fake":
        return FakeMetaStore()
    url = (
        f"sqlite:///{tmp_path / 'meta.db'}"
        if kind == "sqlite"
        else str(request.getfixturevalue("fresh_postgres_url"))
    )
    meta = make_meta_store(url)
    meta.migrate()
    return meta


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MetaStore]:
    meta = _open(request.param, request, tmp_path)
    yield meta
    meta.close()


@pytest.fixture(params=SQL_BACKENDS)
def sql_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    meta = _open(request.param, request, tmp_path)
    yield meta
    meta.close()


def project_of(meta: MetaStore, name: str = "web") -> str:
    return meta.ensure_project(meta.ensure_organization("acme").id, name).id


def make_model(model_id: str = "m1", **overrides: Any) -> ModelPrice:
    """A tiered model using every condition kind, a tokenizer config and a start date."""
    fields: dict[str, Any] = {
        "id": model_id,
        "model_name": "my-gpt",
        "match_pattern": "(?i)^(openai/)?my-gpt$",
        "start_date": datetime(2025, 6, 10, 12, 30, tzinfo=UTC),
        "unit": "TOKENS",
        "tokenizer_id": "openai",
        "tokenizer_config": {"tokenizerModel": "gpt-4o", "tokensPerMessage": 3},
        "pricing_tiers": (
            PricingTier(id=f"{model_id}_tier_default", name="Standard", is_default=True, prices={"input": 2.5e-6, "output": 1e-5}),
            PricingTier(
                id="t-long",
                name="Long context",
                priority=1,
                conditions=(
                    UsageCondition(usage_detail_pattern="(input|prompt)", operator="gt", value=200_000),
                    AttributeCondition(source="model_parameters", key="service_tier", values=("priority", "fast")),
                ),
                prices={"input": 5e-6, "output": 2e-5},
            ),
        ),
    }  # fmt: skip
    fields.update(overrides)
    return ModelPrice(**fields)


def test_put_then_get_and_list_round_trip_every_field(store: MetaStore):
    # Given a project and a model with tiers, conditions, tokenizer settings and a start date
    project_id = project_of(store)
    model = make_model()
    # When it is stored
    before = datetime.now(UTC) - timedelta(seconds=1)
    saved = store.put_model(project_id, model)
    # Then reading it back gives the same model, owned by the project, with its times
    got = store.get_model(project_id, "m1")
    assert got is not None
    assert got.model == model.model_copy(update={"project_id": project_id})
    assert got.model == saved.model
    assert got.created_at.tzinfo is not None and got.created_at >= before
    assert abs((got.created_at - saved.created_at).total_seconds()) < 0.001
    assert [s.model.id for s in store.list_models(project_id)] == ["m1"]
    # And the tiers survive with their condition kinds and exact float prices
    tiers = got.model.pricing_tiers
    assert isinstance(tiers[1].conditions[0], UsageCondition)
    assert isinstance(tiers[1].conditions[1], AttributeCondition)
    assert tiers[0].prices == {"input": 2.5e-6, "output": 1e-5}


def test_put_with_an_existing_id_replaces_the_model_and_keeps_created_at(store: MetaStore):
    # Given a stored model
    project_id = project_of(store)
    first = store.put_model(project_id, make_model())
    time.sleep(0.01)
    # When the same id is put with other fields
    flat = make_model(
        model_name="renamed",
        start_date=None,
        unit="REQUESTS",
        tokenizer_id=None,
        tokenizer_config=None,
        pricing_tiers=(
            PricingTier(id="m1_tier_default", name="Standard", is_default=True, prices={"total": 0.01}),
        ),
    )
    second = store.put_model(project_id, flat)
    # Then there is still one model, replaced whole, created when it first was
    listed = store.list_models(project_id)
    assert [s.model.model_name for s in listed] == ["renamed"]
    got = store.get_model(project_id, "m1")
    assert got is not None
    assert got.model == flat.model_copy(update={"project_id": project_id})
    assert got.model.tokenizer_config is None and got.model.start_date is None
    assert abs((got.created_at - first.created_at).total_seconds()) < 0.001
    assert got.updated_at > first.updated_at
    assert abs((second.updated_at - got.updated_at).total_seconds()) < 0.001


@pytest.mark.parametrize("start", [None, datetime(2025, 1, 1, tzinfo=UTC)], ids=["undated", "dated"])
def test_same_name_start_date_and_unit_in_one_project_is_a_conflict(store: MetaStore, start: datetime | None):
    # Given a model
    project_id = project_of(store)
    store.put_model(project_id, make_model("a", start_date=start))
    # When another id claims the same name, start date and unit
    # Then Conflict (undated models collide too), naming the model
    with pytest.raises(Conflict, match="my-gpt"):
        store.put_model(project_id, make_model("b", start_date=start))
    assert [s.model.id for s in store.list_models(project_id)] == ["a"]


def test_another_start_date_unit_or_project_is_no_conflict(store: MetaStore):
    # Given a project model "my-gpt" starting on a date
    web, batch = project_of(store, "web"), project_of(store, "batch")
    store.put_model(web, make_model("a"))
    # When models of the same name differ by start date, by unit, or live in another project
    store.put_model(web, make_model("b", start_date=None))
    store.put_model(web, make_model("c", start_date=datetime(2026, 1, 1, tzinfo=UTC)))
    store.put_model(web, make_model("d", unit="CHARACTERS"))
    store.put_model(batch, make_model("e"))
    # Then each is stored, and each project lists only its own
    assert sorted(s.model.id for s in store.list_models(web)) == ["a", "b", "c", "d"]
    assert [s.model.id for s in store.list_models(batch)] == ["e"]


def test_another_projects_model_is_invisible_and_untouchable(store: MetaStore):
    # Given a model of project "web"
    web, batch = project_of(store, "web"), project_of(store, "batch")
    store.put_model(web, make_model("shared-id"))
    # Then project "batch" cannot read, replace or delete it
    assert store.get_model(batch, "shared-id") is None
    with pytest.raises(NotFound):
        store.put_model(batch, make_model("shared-id", model_name="mine"))
    assert store.delete_model(batch, "shared-id") is False
    # And it is unchanged for its owner
    got = store.get_model(web, "shared-id")
    assert got is not None and got.model.model_name == "my-gpt"


def test_put_for_an_unknown_project_is_not_found(store: MetaStore):
    with pytest.raises(NotFound):
        store.put_model("no-such-project", make_model())


def test_delete_removes_the_model_once(store: MetaStore):
    # Given two models
    project_id = project_of(store)
    store.put_model(project_id, make_model("a"))
    store.put_model(project_id, make_model("b", unit="IMAGES"))
    # When one is deleted (twice)
    assert store.delete_model(project_id, "a") is True
    assert store.delete_model(project_id, "a") is False
    # Then only the other remains, and the freed key can be reused
    assert [s.model.id for s in store.list_models(project_id)] == ["b"]
    assert store.get_model(project_id, "a") is None
    store.put_model(project_id, make_model("c"))


def test_list_is_by_model_name_then_id(store: MetaStore):
    project_id = project_of(store)
    for model_id, name, unit in [
        ("z1", "beta", "TOKENS"),
        ("a9", "alpha", "TOKENS"),
        ("a1", "beta", "IMAGES"),
    ]:
        store.put_model(project_id, make_model(model_id, model_name=name, unit=unit))
    assert [s.model.id for s in store.list_models(project_id)] == ["a9", "a1", "z1"]
    assert store.list_models(project_id="empty") == []


def test_the_models_table_has_its_unique_key(sql_store: Any):
    # Given a migrated store
    inspector = sa.inspect(sql_store.engine)
    # Then "models" exists with the unique key the API's 409 relies on
    uniques = [u["column_names"] for u in inspector.get_unique_constraints("models")]
    assert ["project_id", "model_name", "start_key", "unit"] in uniques


def test_concurrent_puts_of_one_new_id_all_succeed(sql_store: Any):
    # Given several writers creating the same new model id at once
    project_id = project_of(sql_store)
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def put() -> None:
        barrier.wait()
        try:
            sql_store.put_model(project_id, make_model("race"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=put) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Then every writer succeeded (the losers of the insert race updated) and there is one row
    assert errors == []
    assert [s.model.id for s in sql_store.list_models(project_id)] == ["race"]


def test_deleting_a_project_removes_its_models(sql_store: Any):
    # Given a project with a model
    project_id = project_of(sql_store)
    sql_store.put_model(project_id, make_model())
    # When the project row is deleted (the foreign key cascades)
    with sql_store.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM projects WHERE id = :id"), {"id": project_id})
    # Then its models are gone
    assert sql_store.list_models(project_id) == []
