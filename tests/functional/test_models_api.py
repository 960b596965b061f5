"""``/api/public/models`` through the in-process API over a real metadata store, and the real
SDK's generated client (``langfuse.api.models``) driven into the same handler.

Also the worker's view of the same data: ``query.models.project_models`` and its TTL cache.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from skyglass.adapters.meta.factory import make_meta_store
from skyglass.adapters.meta.store import SqlMetaStore
from skyglass.api.deps import ApiServices
from skyglass.auth.keys import CreatedKeyPair, create_key_pair
from skyglass.auth.service import Authenticator
from skyglass.domain.pricing_match import match_model
from skyglass.domain.pricing_models import ModelPrice, load_default_models
from skyglass.errors import StoreResuming, StoreUnavailable
from skyglass.query.models import ProjectModelsCache, project_models, project_models_provider
from skyglass.settings import Settings
from tests.functional.test_projects_api import sdk_transport
from tests.support.api import ApiClient, Reply, basic_auth
from tests.support.fakes import FakeBlobStore, FakeMetaStore, FakeQueue
from tests.support.openapi import assert_matches_schema

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
MANAGED = len(load_default_models())
FLAT = {"modelName": "my-gpt", "matchPattern": "(?i)^(openai/)?my-gpt$", "unit": "TOKENS",
        "inputPrice": 1e-6, "outputPrice": 2e-6}  # fmt: skip
TIERED = {
    "modelName": "my-claude",
    "matchPattern": "(?i)^my-claude",
    "unit": "TOKENS",
    "startDate": "2025-06-10T00:00:00Z",
    "tokenizerId": "claude",
    "tokenizerConfig": {"note": "any JSON object"},
    "pricingTiers": [
        {"name": "Standard", "isDefault": True, "priority": 0, "conditions": [],
         "prices": {"input": 3e-6, "output": 1.5e-5}},
        {"name": "Long context", "isDefault": False, "priority": 1,
         "conditions": [{"usageDetailPattern": "input", "operator": "gt", "value": 200000, "caseSensitive": False},
                        {"source": "metadata", "key": "tier", "operator": "in", "values": ["gold"]}],
         "prices": {"input": 6e-6, "output": 2.25e-5}},
    ],
}  # fmt: skip


@dataclass
class Caller:
    """Requests with one key through the world's single ``ApiClient``.

    Routers are module singletons bound to the most recently built app, so a test keeps one
    app and varies the Authorization header instead of building a client per key.
    """

    api: ApiClient
    auth: str

    def request(self, method: str, path: str, **kwargs: Any) -> Reply:
        return self.api.request(method, path, headers={"authorization": self.auth}, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Reply:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Reply:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Reply:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Reply:
        return self.request("DELETE", path, **kwargs)


@dataclass
class World:
    meta: SqlMetaStore
    services: ApiServices
    pair: CreatedKeyPair
    other: CreatedKeyPair
    api: ApiClient

    def client(self, pair: CreatedKeyPair | None = None) -> Caller:
        keys = pair or self.pair
        return Caller(self.api, basic_auth(keys.public_key, keys.secret_key))


@pytest.fixture(params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    """Projects "web" and "batch" of "acme", a key pair each, on each metadata backend."""
    url = (
        f"sqlite:///{tmp_path / 'meta.db'}"
        if request.param == "sqlite"
        else str(request.getfixturevalue("fresh_postgres_url"))
    )
    meta = make_meta_store(url)
    meta.migrate()
    settings = Settings(data_dir=tmp_path, key_salt="pepper")
    services = ApiServices(
        settings=settings,
        blobs=FakeBlobStore(),
        queue=FakeQueue(),
        analytics=None,  # type: ignore[arg-type]  # models never read analytics
        meta=meta,
        authenticator=Authenticator(meta, pepper=settings.key_salt, ttl_seconds=60),
    )
    pair = create_key_pair(meta, "web", org_name="acme", pepper=settings.key_salt)
    other = create_key_pair(meta, "batch", org_name="acme", pepper=settings.key_salt)
    yield World(meta, services, pair, other, ApiClient(services))
    meta.close()


def created(world: World, body: dict[str, Any], pair: CreatedKeyPair | None = None) -> dict[str, Any]:
    reply = world.client(pair).post("/api/public/models", body=body)
    assert reply.status == 200, reply.text
    return reply.json()  # type: ignore[no-any-return]


# -- create, get, list ----------------------------------------------------------------------------


def test_create_with_flat_prices_answers_a_model_with_one_default_tier(world: World):
    # When a model is created with the legacy flat prices
    model = created(world, FLAT)
    # Then the answer is a Model: flat prices mirrored in prices and one "Standard" default tier
    assert_matches_schema("Model", model)
    assert model["modelName"] == "my-gpt" and model["isLangfuseManaged"] is False
    assert (model["inputPrice"], model["outputPrice"], model["totalPrice"]) == (1e-6, 2e-6, None)
    assert model["prices"] == {"input": {"price": 1e-6}, "output": {"price": 2e-6}}
    assert model["startDate"] is None and model["unit"] == "TOKENS"
    assert model["tokenizerId"] is None and model["tokenizerConfig"] is None
    [tier] = model["pricingTiers"]
    assert tier == {"id": f"{model['id']}_tier_default", "name": "Standard", "isDefault": True,
                    "priority": 0, "conditions": [], "prices": {"input": 1e-6, "output": 2e-6}}  # fmt: skip
    # And GET by id answers the same body
    again = world.client().get(f"/api/public/models/{model['id']}")
    assert again.status == 200 and again.json() == model


def test_create_with_pricing_tiers_keeps_conditions_and_dates(world: World):
    model = created(world, TIERED)
    assert_matches_schema("Model", model)
    assert model["startDate"] == "2025-06-10T00:00:00.000Z"
    assert model["tokenizerId"] == "claude" and model["tokenizerConfig"] == {"note": "any JSON object"}
    assert model["inputPrice"] == 3e-6 and model["prices"]["output"] == {"price": 1.5e-5}
    standard, long_context = model["pricingTiers"]
    assert standard["isDefault"] and not long_context["isDefault"]
    assert long_context["conditions"] == TIERED["pricingTiers"][1]["conditions"]
    assert long_context["prices"] == {"input": 6e-6, "output": 2.25e-5}


def test_list_puts_project_models_first_then_managed_ones_and_pages(world: World):
    # Given two project models
    mine = [created(world, TIERED)["id"], created(world, FLAT)["id"]]
    client = world.client()
    # When the first page is listed
    page = client.get("/api/public/models", query={"limit": 3}).json()
    # Then it is a PaginatedModels: the project's models (by name), then managed ones
    assert_matches_schema("PaginatedModels", page)
    assert [m["id"] for m in page["data"][:2]] == mine
    assert [m["isLangfuseManaged"] for m in page["data"]] == [False, False, True]
    assert page["meta"] == {"page": 1, "limit": 3, "totalItems": MANAGED + 2,
                            "totalPages": -(-(MANAGED + 2) // 3)}  # fmt: skip
    # And walking every page yields every model exactly once
    seen: list[str] = []
    for number in range(1, page["meta"]["totalPages"] + 1):
        seen += [
            m["id"]
            for m in client.get("/api/public/models", query={"page": number, "limit": 3}).json()["data"]
        ]
    assert len(seen) == len(set(seen)) == MANAGED + 2
    # And a page past the end is empty
    past = client.get("/api/public/models", query={"page": 999, "limit": 100}).json()
    assert past["data"] == [] and past["meta"]["totalItems"] == MANAGED + 2


def test_managed_models_are_readable_by_id(world: World):
    reply = world.client().get("/api/public/models/gpt-4o")
    assert reply.status == 200
    model = reply.json()
    assert_matches_schema("Model", model)
    assert model["isLangfuseManaged"] is True and model["modelName"] == "gpt-4o"
    assert model["inputPrice"] == model["pricingTiers"][0]["prices"]["input"]
    assert [t["priority"] for t in model["pricingTiers"]] == sorted(
        t["priority"] for t in model["pricingTiers"]
    )


def test_a_page_of_managed_models_matches_the_schema(world: World):
    page = world.client().get("/api/public/models", query={"limit": 100}).json()
    assert_matches_schema("PaginatedModels", page)
    assert len(page["data"]) == min(100, MANAGED)


# -- replace and delete ---------------------------------------------------------------------------


def test_put_creates_then_replaces_a_model_by_id(world: World):
    client = world.client()
    # When a model is put under a chosen id
    first = client.put("/api/public/models/team-gpt", body=FLAT)
    assert first.status == 200, first.text
    assert_matches_schema("Model", first.json())
    assert first.json()["id"] == "team-gpt"
    # And put again with other prices and tiers
    second = client.put("/api/public/models/team-gpt", body=TIERED)
    # Then the model is replaced whole, keeping its id and creation time
    assert second.status == 200, second.text
    body = second.json()
    assert (body["id"], body["modelName"], body["createdAt"]) == (
        "team-gpt",
        "my-claude",
        first.json()["createdAt"],
    )
    assert len(body["pricingTiers"]) == 2
    assert client.get("/api/public/models/team-gpt").json() == body
    assert client.get("/api/public/models", query={"limit": 1}).json()["meta"]["totalItems"] == MANAGED + 1


def test_managed_models_can_be_neither_replaced_nor_deleted(world: World):
    client = world.client()
    for reply in (
        client.put("/api/public/models/gpt-4o", body=FLAT),
        client.delete("/api/public/models/gpt-4o"),
    ):
        assert reply.status == 400
        assert reply.json()["error"] == "InvalidRequestError"
        assert "managed" in reply.json()["message"] and "same modelName" in reply.json()["message"]
    # And overriding one by name is how a project changes its price
    override = created(world, {**FLAT, "modelName": "gpt-4o", "matchPattern": "(?i)^gpt-4o$"})
    listed = client.get("/api/public/models", query={"limit": 1}).json()["data"]
    assert listed[0]["id"] == override["id"]


def test_delete_removes_a_project_model(world: World):
    client = world.client()
    model_id = created(world, FLAT)["id"]
    reply = client.delete(f"/api/public/models/{model_id}")
    assert reply.status == 200 and reply.json() == {"message": "Model successfully deleted"}
    assert client.get(f"/api/public/models/{model_id}").status == 404
    again = client.delete(f"/api/public/models/{model_id}")
    assert again.status == 404 and again.json()["message"] == "No model with this id found."


def test_other_projects_models_are_invisible(world: World):
    # Given a model of project "batch"
    theirs = created(world, FLAT, pair=world.other)["id"]
    client = world.client()
    # Then project "web" can neither see, replace nor delete it: 404 everywhere
    assert client.get(f"/api/public/models/{theirs}").status == 404
    assert client.put(f"/api/public/models/{theirs}", body=FLAT).status == 404
    assert client.delete(f"/api/public/models/{theirs}").status == 404
    ids = [m["id"] for m in client.get("/api/public/models", query={"limit": 100}).json()["data"]]
    assert theirs not in ids
    # And it is unchanged for its owner, while "web" may use the same name for its own model
    assert world.client(world.other).get(f"/api/public/models/{theirs}").json()["modelName"] == "my-gpt"
    created(world, FLAT)


def test_the_same_name_start_date_and_unit_twice_is_a_conflict(world: World):
    first = created(world, FLAT)
    reply = world.client().post("/api/public/models", body={**FLAT, "inputPrice": 5e-6})
    assert reply.status == 409
    assert "my-gpt" in reply.json()["message"] and first["id"] in reply.json()["message"]
    # A dated version of the same model is fine: it applies from its start date
    created(world, {**FLAT, "startDate": "2026-01-01T00:00:00Z"})


# -- bad input ------------------------------------------------------------------------------------

DEFAULT_TIER = {
    "name": "Standard",
    "isDefault": True,
    "priority": 0,
    "conditions": [],
    "prices": {"input": 1.0},
}
LONG_TIER = {"name": "Long", "priority": 1, "prices": {"input": 2.0},
             "conditions": [{"usageDetailPattern": "input", "operator": "gt", "value": 10}]}  # fmt: skip


def _tiers(*tiers: dict[str, Any]) -> dict[str, Any]:
    return {"modelName": "m", "matchPattern": "^m$", "unit": "TOKENS", "pricingTiers": list(tiers)}


BAD_BODIES = [
    ("missing-name", {"matchPattern": "x", "inputPrice": 1}, "modelName"),
    ("missing-pattern", {"modelName": "m", "inputPrice": 1}, "matchPattern"),
    ("bad-regex", {**FLAT, "matchPattern": "(?i)^(gpt"}, "matchPattern"),
    ("negative-price", {**FLAT, "inputPrice": -1}, "inputPrice"),
    ("string-price", {**FLAT, "outputPrice": "0.1"}, "outputPrice"),
    ("bad-unit", {**FLAT, "unit": "BYTES"}, "unit"),
    ("bad-tokenizer", {**FLAT, "tokenizerId": "llama"}, "tokenizerId"),
    ("tokenizer-config-not-object", {**FLAT, "tokenizerConfig": [1]}, "tokenizerConfig"),
    ("bad-start-date", {**FLAT, "startDate": "yesterday"}, "startDate"),
    ("no-prices", {"modelName": "m", "matchPattern": "x"}, "pricingTiers"),
    ("flat-and-tiers", {**_tiers(DEFAULT_TIER), "inputPrice": 1}, "pricingTiers"),
    ("total-with-input", {**FLAT, "totalPrice": 1}, "totalPrice"),
    ("no-default-tier", _tiers({**DEFAULT_TIER, "isDefault": False}), "isDefault"),
    ("two-default-tiers", _tiers(DEFAULT_TIER, {**DEFAULT_TIER, "name": "B", "priority": 1}), "isDefault"),
    ("default-priority", _tiers({**DEFAULT_TIER, "priority": 1}), "priority 0"),
    ("default-conditions", _tiers({**DEFAULT_TIER, "conditions": LONG_TIER["conditions"]}), "conditions"),
    ("duplicate-names", _tiers(DEFAULT_TIER, {**LONG_TIER, "name": "Standard"}), "names"),
    ("duplicate-priorities", _tiers(DEFAULT_TIER, LONG_TIER, {**LONG_TIER, "name": "Other"}), "priorities"),
    ("unconditioned-tier", _tiers(DEFAULT_TIER, {**LONG_TIER, "conditions": []}), "condition"),
    ("tier-without-prices", _tiers({**DEFAULT_TIER, "prices": {}}), "price"),
    ("tier-other-usage-types", _tiers(DEFAULT_TIER, {**LONG_TIER, "prices": {"output": 1.0}}), "usage types"),
    (
        "negative-tier-price",
        _tiers({**DEFAULT_TIER, "prices": {"input": -0.5}}),
        "pricingTiers[0].prices.input",
    ),
    (
        "bad-operator",
        _tiers(
            DEFAULT_TIER,
            {**LONG_TIER, "conditions": [{"usageDetailPattern": "x", "operator": "over", "value": 1}]},
        ),
        "operator",
    ),
    (
        "bad-usage-regex",
        _tiers(
            DEFAULT_TIER,
            {**LONG_TIER, "conditions": [{"usageDetailPattern": "(", "operator": "gt", "value": 1}]},
        ),
        "usageDetailPattern",
    ),
    ("unknown-condition", _tiers(DEFAULT_TIER, {**LONG_TIER, "conditions": [{"key": "x"}]}), "conditions[0]"),
    (
        "empty-attribute-values",
        _tiers(DEFAULT_TIER, {**LONG_TIER, "conditions": [{"source": "metadata", "key": "k", "values": []}]}),
        "values",
    ),
    ("not-an-object", [FLAT], "JSON object"),
]


@pytest.mark.parametrize(("body", "field"), [pytest.param(b, f, id=i) for i, b, f in BAD_BODIES])
def test_bad_bodies_are_400_naming_the_field(world: World, body: Any, field: str):
    reply = world.client().post("/api/public/models", body=body)
    assert reply.status == 400, reply.text
    assert reply.json()["error"] == "InvalidRequestError"
    assert field in reply.json()["message"], reply.json()["message"]
    # And nothing was stored
    assert world.meta.list_models(world.pair.project.id) == []


def test_invalid_json_and_empty_bodies_are_400(world: World):
    client = world.client()
    assert "Invalid JSON" in client.post("/api/public/models", body="{nope").json()["message"]
    assert client.post("/api/public/models", body="").status == 400
    assert client.put("/api/public/models/x", body="").status == 400
    assert client.post("/api/public/models", body=b"\xff\xfe\xfa").status == 400
    nul = client.post("/api/public/models", body={**FLAT, "modelName": "a\u0000b"})
    assert nul.status == 400 and "NUL" in nul.json()["message"]


def test_bad_page_parameters_are_400(world: World):
    reply = world.client().get("/api/public/models", query={"limit": 101})
    assert reply.status == 400 and "limit" in reply.json()["message"]


def test_models_need_a_project_key(world: World):
    assert world.api.get("/api/public/models").status == 401
    bearer = Caller(world.api, f"Bearer {world.pair.public_key}")
    assert bearer.post("/api/public/models", body=FLAT).status == 403


# -- the real SDK ---------------------------------------------------------------------------------


def test_the_sdk_round_trips_create_get_list_upsert_delete(world: World):
    # Given the SDK's generated API client wired to the in-process API
    from langfuse.api import (
        Model,
        PaginatedModels,
        PricingTierAttributeCondition,
        PricingTierInput,
        PricingTierUsageConditionInput,
    )
    from langfuse.api.client import LangfuseAPI

    api = LangfuseAPI(
        base_url="http://skyglass.test",
        username=world.pair.public_key,
        password=world.pair.secret_key,
        httpx_client=httpx.Client(transport=sdk_transport(world.services)),
    )
    # When it creates a flat-priced model
    model = api.models.create(model_name="sdk-gpt", match_pattern="(?i)^sdk-gpt$", unit="TOKENS",
                              input_price=1e-6, output_price=2e-6,
                              start_date=datetime(2025, 1, 1, tzinfo=UTC))  # fmt: skip
    # Then its own pydantic model holds what was sent
    assert isinstance(model, Model)
    assert (model.model_name, model.input_price, model.is_langfuse_managed) == ("sdk-gpt", 1e-6, False)
    assert model.start_date == datetime(2025, 1, 1, tzinfo=UTC)
    assert api.models.get(model.id) == model
    # And the list holds it first, then the managed models
    page = api.models.list(page=1, limit=5)
    assert isinstance(page, PaginatedModels)
    assert page.data[0].id == model.id and page.data[1].is_langfuse_managed
    assert page.meta.total_items == MANAGED + 1
    # When it upserts tiered prices under its own id
    tiers = [
        PricingTierInput(name="Standard", is_default=True, priority=0, conditions=[], prices={"input": 1.0}),
        PricingTierInput(
            name="Big",
            priority=1,
            conditions=[
                PricingTierUsageConditionInput(usage_detail_pattern="input", operator="gte", value=1000),
                PricingTierAttributeCondition(source="model_parameters", key="service_tier", values=["flex"]),
            ],
            prices={"input": 0.5},
        ),
    ]
    upserted = api.models.upsert("sdk-tiered", model_name="sdk-tiered", match_pattern="^sdk-tiered$",
                                 unit="REQUESTS", pricing_tiers=tiers, tokenizer_id="openai")  # fmt: skip
    assert upserted.id == "sdk-tiered" and upserted.unit == "REQUESTS"
    assert [t.name for t in upserted.pricing_tiers] == ["Standard", "Big"]
    assert upserted.pricing_tiers[1].conditions[0].usage_detail_pattern == "input"  # type: ignore[union-attr]
    assert upserted.pricing_tiers[1].conditions[1].values == ["flex"]  # type: ignore[union-attr]
    # And a managed model parses too
    assert api.models.get("gpt-4o").is_langfuse_managed is True
    # When it deletes both project models
    api.models.delete(model.id)
    api.models.delete("sdk-tiered")
    # Then they are gone, as a NotFoundError
    from langfuse.api.commons.errors.not_found_error import NotFoundError

    with pytest.raises(NotFoundError):
        api.models.get(model.id)
    assert api.models.list(limit=1).meta.total_items == MANAGED


# -- the worker's view ----------------------------------------------------------------------------


def test_project_models_feed_the_matcher_and_see_api_writes_at_once(world: World):
    # Given a project model overriding a managed one through the API
    project_id = world.pair.project.id
    assert project_models(world.meta, project_id) == []  # cached empty
    override = created(world, {**FLAT, "modelName": "gpt-4o", "matchPattern": "(?i)^gpt-4o$"})
    # When the worker asks for the project's models (the write dropped the cached copy)
    mine = project_models(world.meta, project_id)
    # Then the matcher picks the project's model over the managed one, for this project only
    matched = match_model("gpt-4o", load_default_models(), project_models=mine)
    assert matched is not None and matched.id == override["id"] and matched.project_id == project_id
    assert project_models(world.meta, world.other.project.id) == []
    assert project_models_provider(world.meta)(project_id) == mine
    # And a delete is seen at once as well
    world.client().delete(f"/api/public/models/{override['id']}")
    assert project_models(world.meta, project_id) == []


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_project_models_cache_reads_the_store_once_per_ttl():
    # Given a store with one model and a cache with a 30 s TTL
    meta = FakeMetaStore()
    project = meta.ensure_project(meta.ensure_organization("o").id, "p")
    meta.put_model(
        project.id,
        ModelPrice.model_validate({"id": "m1", "modelName": "m", "matchPattern": "^m$", "inputPrice": 1.0}),
    )
    clock = _Clock()
    cache = ProjectModelsCache(meta, ttl_seconds=30, clock=clock)
    # When the worker asks for every batch within the TTL
    for _ in range(5):
        assert [m.id for m in cache.get(project.id)] == ["m1"]
    # Then the store was read once; after the TTL once more
    assert meta.model_reads == 1
    clock.now += 31
    cache.get(project.id)
    assert meta.model_reads == 2
    # And an invalidation forces a read
    cache.invalidate(project.id)
    cache.get(project.id)
    assert meta.model_reads == 3


def test_project_models_cache_serves_stale_models_when_the_store_is_down():
    # Given a cached copy and then a failing store
    meta = FakeMetaStore()
    project = meta.ensure_project(meta.ensure_organization("o").id, "p")
    meta.put_model(
        project.id,
        ModelPrice.model_validate({"id": "m1", "modelName": "m", "matchPattern": "^m$", "inputPrice": 1.0}),
    )
    clock = _Clock()
    cache = ProjectModelsCache(meta, ttl_seconds=30, clock=clock)
    cache.get(project.id)

    def down(project_id: str) -> Any:
        raise StoreUnavailable("down")

    meta.list_models = down  # type: ignore[method-assign]
    clock.now += 60
    # Then the stale copy is used; a project never read before fails retryably
    assert [m.id for m in cache.get(project.id)] == ["m1"]
    with pytest.raises(StoreUnavailable):
        cache.get("never-read")


class _SleepingClock(_Clock):
    """A clock that moves only when slept on."""

    def __init__(self) -> None:
        super().__init__()
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _resuming_store(times: int) -> tuple[FakeMetaStore, str]:
    """A store with one model of one project, whose next ``times`` model reads answer "resuming"."""
    meta = FakeMetaStore()
    project = meta.ensure_project(meta.ensure_organization("o").id, "p")
    meta.put_model(
        project.id,
        ModelPrice.model_validate({"id": "m1", "modelName": "m", "matchPattern": "^m$", "inputPrice": 1.0}),
    )
    read = meta.list_models
    left = [times]

    def resuming(project_id: str) -> Any:
        if left[0] > 0:
            left[0] -= 1
            raise StoreResuming("the metadata database is resuming")
        return read(project_id)

    meta.list_models = resuming  # type: ignore[method-assign]
    return meta, project.id


def test_project_models_cache_without_a_copy_waits_for_a_resuming_store():
    # Given a fresh cache (a cold worker) and a store that answers "resuming" twice
    meta, project_id = _resuming_store(2)
    clock = _SleepingClock()
    cache = ProjectModelsCache(meta, ttl_seconds=30, clock=clock, sleep=clock.sleep)
    # When the worker asks, allowed to wait 45 s
    models = cache.get(project_id, resume_wait_seconds=45)
    # Then it waited (1 s, then 2 s) and got the project's models
    assert [m.id for m in models] == ["m1"]
    assert clock.sleeps == [1.0, 2.0]


def test_project_models_cache_gives_up_after_the_wait_and_never_waits_with_a_copy():
    # Given a store that keeps resuming for longer than the allowed wait
    meta, project_id = _resuming_store(10**6)
    clock = _SleepingClock()
    cache = ProjectModelsCache(meta, ttl_seconds=30, clock=clock, sleep=clock.sleep)
    # Then the read fails retryably once 10 s are spent, and without a wait budget at once
    with pytest.raises(StoreResuming):
        cache.get(project_id, resume_wait_seconds=10)
    assert sum(clock.sleeps) <= 10
    clock.sleeps.clear()
    with pytest.raises(StoreResuming):
        cache.get(project_id)
    assert clock.sleeps == []
    # And with a (stale) copy the copy is served at once instead of waiting
    meta2, project2 = _resuming_store(0)
    cache2 = ProjectModelsCache(meta2, ttl_seconds=30, clock=clock, sleep=clock.sleep)
    cache2.get(project2)
    meta2.list_models = meta.list_models  # type: ignore[method-assign]
    clock.now += 60
    assert [m.id for m in cache2.get(project2, resume_wait_seconds=45)] == ["m1"]
    assert clock.sleeps == []
