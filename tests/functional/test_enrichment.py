"""Usage and cost enrichment in the worker: default prices, tokenisation, project models, tiers,
determinism; then the read API's view of it on chDB (``GET /traces/{id}``, ``/v2/observations``).

Generations are sent as batch-ingestion events so these tests do not depend on OTel mapping
(``test_otel_api`` covers OTel spans end to end).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from skyglass.contracts.messages import BlobEnvelope, QueueMessage, blob_key_for
from skyglass.domain.pricing_match import match_model
from skyglass.domain.pricing_models import ModelPrice, load_default_models
from skyglass.domain.records import ObservationRecord
from skyglass.local.server import LocalPlatform, build_platform
from skyglass.processing.tokenize import count_tokens
from skyglass.processing.worker import Processor
from skyglass.query.models import project_models_provider
from skyglass.settings import Settings
from tests.support.api import ApiClient, basic_auth
from tests.support.fake_analytics import FakeAnalyticsWriter
from tests.support.fakes import FakeBlobStore

BASE = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
MESSAGES = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Name a colour."}]


def default_price(model_id: str, key: str, tier: str = "standard") -> float:
    model = next(m for m in load_default_models() if m.id == model_id)
    return next(t for t in model.pricing_tiers if t.id == f"{model_id}:{tier}").prices[key]


def generation(gen_id: str, ms: int = 0, **body: Any) -> dict[str, Any]:
    start = (BASE + timedelta(milliseconds=ms)).isoformat().replace("+00:00", "Z")
    return {
        "id": f"ev-{gen_id}",
        "type": "generation-create",
        "timestamp": start,
        "body": {"id": gen_id, "traceId": "tr-1", "startTime": start, **body},
    }


class Blobs:
    """Puts ingestion blobs (one per call) into a fake blob store and names them in messages."""

    def __init__(self) -> None:
        self.store = FakeBlobStore()
        self._n = 0

    def put(self, events: list[dict[str, Any]], project_id: str = "p1") -> QueueMessage:
        self._n += 1
        received_at = BASE + timedelta(minutes=5, milliseconds=self._n)
        key = blob_key_for(project_id, received_at, "ingestion")
        envelope = BlobEnvelope(
            kind="ingestion", project_id=project_id, received_at=received_at, events=events
        )
        self.store.put(key, envelope.model_dump_json().encode())
        return QueueMessage(blob_key=key, project_id=project_id, kind="ingestion", received_at=received_at)


def process(events: list[dict[str, Any]], **processor: Any) -> dict[str, ObservationRecord]:
    blobs, store = Blobs(), FakeAnalyticsWriter()
    assert Processor(blobs.store, store, **processor).process([blobs.put(events)]).ok
    return {key[1]: row for key, row in store.observations.items()}


def project_model(model_id: str, pattern: str, prices: dict[str, float], **extra: Any) -> ModelPrice:
    return ModelPrice.model_validate(
        {
            "id": model_id,
            "modelName": model_id,
            "matchPattern": pattern,
            "projectId": "p1",
            "pricingTiers": [{"id": f"{model_id}:t", "name": "Custom", "isDefault": True, "prices": prices}],
            **extra,
        }
    )


# --- the default price table ------------------------------------------------------------------


def test_usage_alone_is_priced_from_the_default_table():
    # Given a gpt-4o generation that reports usage but no cost
    rows = process([generation("g", model="gpt-4o", usageDetails={"input": 1000, "output": 200})])
    row = rows["g"]
    # Then usage gets its total and every priced key a cost, summed into the total
    assert row.usage_details == {"input": 1000, "output": 200, "total": 1200}
    expected = {
        "input": 1000 * default_price("gpt-4o", "input"),
        "output": 200 * default_price("gpt-4o", "output"),
    }
    assert row.cost_details == pytest.approx({**expected, "total": sum(expected.values())})
    assert row.total_cost == pytest.approx(sum(expected.values()))
    # And the matched model and tier are recorded; what was provided stays as provided
    assert (row.internal_model_id, row.usage_pricing_tier_id, row.usage_pricing_tier_name) == (
        "gpt-4o",
        "gpt-4o:standard",
        "Standard",
    )
    assert row.provided_usage_details == {"input": 1000, "output": 200} and row.provided_cost_details == {}


def test_provided_cost_wins_over_prices():
    rows = process(
        [
            generation(
                "g", model="gpt-4o", usageDetails={"input": 1000}, costDetails={"input": 0.5, "output": 0.25}
            )
        ]
    )
    row = rows["g"]
    assert row.cost_details == {"input": 0.5, "output": 0.25, "total": 0.75} and row.total_cost == 0.75
    assert row.internal_model_id == "gpt-4o"  # still matched: reads show which model it was


def test_a_conditional_tier_applies_when_its_condition_holds():
    # Given a gpt-4o-mini generation asking for the priority service tier
    rows = process(
        [
            generation(
                "g",
                model="gpt-4o-mini",
                modelParameters={"service_tier": "priority"},
                usageDetails={"input": 100},
            )
        ]
    )
    # Then it is priced with the priority tier
    row = rows["g"]
    assert (row.usage_pricing_tier_id, row.usage_pricing_tier_name) == ("gpt-4o-mini:priority", "Priority")
    assert row.total_cost == pytest.approx(100 * default_price("gpt-4o-mini", "input", "priority"))


def test_without_usage_input_and_output_are_tokenised_and_priced():
    # Given a generation with chat input and text output but no usage or cost
    rows = process([generation("g", model="gpt-4o", input=MESSAGES, output="Teal.")])
    row = rows["g"]
    # Then its usage is the offline token count of what it stored
    counted = count_tokens(
        "openai",
        {"tokenizerModel": "gpt-4o", "tokensPerMessage": 3, "tokensPerName": 1},
        row.input,
        row.output,
    )
    assert counted and row.usage_details == counted and counted["input"] > 10 and counted["output"] >= 2
    expected = counted["input"] * default_price("gpt-4o", "input") + counted["output"] * default_price(
        "gpt-4o", "output"
    )
    assert row.total_cost == pytest.approx(expected)


@pytest.mark.parametrize(
    "body",
    [{"level": "ERROR"}, {"costDetails": {"total": 0.01}}, {"model": "no-such-model"}],
    ids=["error-level", "cost-provided", "unknown-model"],
)
def test_no_tokenisation_when_langfuse_would_not(body):
    rows = process([generation("g", **{"model": "gpt-4o", "input": MESSAGES, "output": "Teal.", **body})])
    assert rows["g"].usage_details == {}


def test_rows_without_a_model_keep_what_was_provided():
    rows = process([generation("g", usageDetails={"input": 3}, costDetails={"total": 0.1})])
    row = rows["g"]
    assert (row.usage_details, row.cost_details, row.total_cost) == (
        {"input": 3, "total": 3},
        {"total": 0.1},
        0.1,
    )
    assert row.internal_model_id is None and row.usage_pricing_tier_id is None


# --- project models ---------------------------------------------------------------------------


class Provider:
    """A ``project_models`` provider that counts its calls."""

    def __init__(self, models: dict[str, Sequence[ModelPrice]]) -> None:
        self.models = models
        self.calls: list[str] = []

    def __call__(self, project_id: str) -> Sequence[ModelPrice]:
        self.calls.append(project_id)
        return self.models.get(project_id, ())


def test_project_models_take_precedence_and_are_read_once_per_project_and_batch():
    # Given a project that prices gpt-4o itself and has its own model
    provider = Provider(
        {
            "p1": [
                project_model("my-gpt-4o", r"(?i)^gpt-4o$", {"input": 1.0, "output": 2.0}),
                project_model("house-llm", r"^house-llm-v\d+$", {"total": 0.5}),
            ]
        }
    )
    blobs, store = Blobs(), FakeAnalyticsWriter()
    messages = [
        blobs.put([generation("a", model="gpt-4o", usageDetails={"input": 2, "output": 3})]),
        blobs.put([generation("b", model="house-llm-v2", usageDetails={"input": 7, "output": 1})]),
        blobs.put([generation("c", model="gpt-4o", usageDetails={"input": 2})], project_id="p2"),
    ]
    # When one batch holds generations of both projects
    assert Processor(blobs.store, store, project_models=provider).process(messages).ok
    rows = {key: row for key, row in store.observations.items()}
    # Then p1's own prices apply (a priced "total" key is the total), p2 keeps the defaults
    assert rows[("p1", "a")].internal_model_id == "my-gpt-4o" and rows[
        ("p1", "a")
    ].total_cost == pytest.approx(8.0)
    assert rows[("p1", "b")].cost_details == {"total": pytest.approx(4.0)}
    assert rows[("p2", "c")].internal_model_id == "gpt-4o"
    # And each project's models were read once for the batch
    assert sorted(provider.calls) == ["p1", "p2"]


def test_prices_are_those_in_force_at_the_start_time_and_replays_are_identical():
    # Given a project model whose price changed on March 1st, 12:00:01
    old = project_model("m-2025", r"^house$", {"input": 1.0}, startDate="2025-01-01T00:00:00Z")
    new = project_model("m-2026", r"^house$", {"input": 3.0}, startDate="2026-03-01T12:00:01Z")
    provider = Provider({"p1": [new, old]})
    events = [
        generation("before", 0, model="house", usageDetails={"input": 1}),
        generation("after", 2000, model="house", usageDetails={"input": 1}),
    ]
    blobs, store = Blobs(), FakeAnalyticsWriter()
    message = blobs.put(events)
    processor = Processor(blobs.store, store, project_models=provider)
    # When processed
    assert processor.process([message]).ok
    # Then each generation is priced as of its own start, not as of now
    assert store.observations[("p1", "before")].total_cost == pytest.approx(1.0)
    assert store.observations[("p1", "after")].total_cost == pytest.approx(3.0)
    # And processing the blob again (a replay) yields identical rows
    before = copy.deepcopy(store.observations)
    assert processor.process([message]).ok
    assert store.observations == before


def test_a_failing_provider_fails_the_batch_retryably_and_writes_no_rows():
    def broken(project_id: str) -> Sequence[ModelPrice]:
        raise ConnectionError("metadata store asleep")

    blobs, store = Blobs(), FakeAnalyticsWriter()
    message = blobs.put([generation("g", model="gpt-4o", usageDetails={"input": 1})])
    result = Processor(blobs.store, store, project_models=broken).process([message])
    assert [f.retryable for f in result.failures] == [True]
    assert "models of project p1" in result.failures[0].reason
    assert store.observations == {}


# --- the read API on chDB ---------------------------------------------------------------------

PK, SK = "pk-sg-enrich", "sk-sg-enrich"


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[LocalPlatform]:
    settings = Settings(
        data_dir=tmp_path / "data",
        init_org_name="acme",
        init_project_name="costs",
        init_public_key=PK,
        init_secret_key=SK,
    )
    built = build_platform(settings)
    yield built
    built.runtime.close()


def test_trace_total_cost_and_v2_observation_fields_show_the_enrichment(platform: LocalPlatform):
    client = ApiClient(platform.runtime.api_services(), auth=basic_auth(PK, SK))
    # Given a trace with a priced, a provided-cost and a tokenised generation, plus a span
    batch = [
        {
            "id": "t",
            "type": "trace-create",
            "timestamp": "2026-03-01T12:00:00Z",
            "body": {"id": "tr-1", "name": "costs"},
        },
        generation("priced", model="gpt-4o", usageDetails={"input": 1000, "output": 100}),
        generation(
            "provided", 10, model="gpt-4o-mini", usageDetails={"input": 5}, costDetails={"total": 0.25}
        ),
        generation("counted", 20, model="gpt-4o", input=MESSAGES, output="Teal."),
        {
            "id": "s",
            "type": "span-create",
            "timestamp": "2026-03-01T12:00:00Z",
            "body": {"id": "span", "traceId": "tr-1"},
        },
    ]
    assert client.post("/api/public/ingestion", body={"batch": batch}).status == 207
    # When the worker (with a project-models provider, as bootstrap will wire it) runs
    processor = Processor(platform.runtime.blobs, platform.runtime.analytics, project_models=lambda _: ())
    messages = platform.runtime.queue.receive(max_messages=10)
    assert processor.process([QueueMessage.model_validate_json(m.body) for m in messages]).ok
    # Then v2 observations carry usage, cost, model id and tier
    page = client.get(
        "/api/public/v2/observations", query={"traceId": "tr-1", "fields": "core,basic,model,usage"}
    ).json()
    by_id = {o["id"]: o for o in page["data"]}
    priced = by_id["priced"]
    expected = 1000 * default_price("gpt-4o", "input") + 100 * default_price("gpt-4o", "output")
    assert priced["usageDetails"] == {"input": 1000, "output": 100, "total": 1100}
    assert priced["totalCost"] == pytest.approx(expected) and priced["costDetails"]["total"] == pytest.approx(
        expected
    )
    assert (priced["internalModelId"], priced["usagePricingTierName"]) == ("gpt-4o", "Standard")
    assert by_id["provided"]["totalCost"] == pytest.approx(0.25)
    counted = by_id["counted"]
    assert counted["usageDetails"]["input"] > 10 and counted["totalCost"] > 0
    assert by_id["span"]["totalCost"] is None
    # And the v1 trace rolls the costs up
    trace = client.get("/api/public/traces/tr-1").json()
    assert trace["totalCost"] == pytest.approx(expected + 0.25 + counted["totalCost"])
    views = {o["id"]: o for o in trace["observations"]}
    assert (
        views["priced"]["calculatedTotalCost"] == pytest.approx(expected)
        and views["priced"]["modelId"] == "gpt-4o"
    )
    assert views["counted"]["usageDetails"] == counted["usageDetails"]


def test_a_model_created_through_the_models_api_prices_the_next_generations(platform: LocalPlatform):
    client = ApiClient(platform.runtime.api_services(), auth=basic_auth(PK, SK))
    # Given a project model created with POST /api/public/models, overriding gpt-4o's price
    body = {"modelName": "gpt-4o", "matchPattern": "(?i)^gpt-4o$", "unit": "TOKENS", "inputPrice": 1e-3}
    created = client.post("/api/public/models", body=body)
    assert created.status == 200, created.text
    # And a generation using it
    batch = [generation("mine", model="gpt-4o", usageDetails={"input": 10})]
    assert client.post("/api/public/ingestion", body={"batch": batch}).status == 207
    # When the worker runs with the metadata store's provider (as bootstrap wires it)
    provider = project_models_provider(platform.runtime.meta)
    processor = Processor(platform.runtime.blobs, platform.runtime.analytics, project_models=provider)
    messages = platform.runtime.queue.receive(max_messages=10)
    assert processor.process([QueueMessage.model_validate_json(m.body) for m in messages]).ok
    # Then the project's price applied, and the row names the project's model
    [row] = client.get("/api/public/v2/observations", query={"fields": "core,model,usage"}).json()["data"]
    assert row["totalCost"] == pytest.approx(10 * 1e-3)
    assert row["internalModelId"] == created.json()["id"]


def test_a_project_model_matching_a_bedrock_application_inference_profile_arn_prices_it(
    platform: LocalPlatform,
):
    client = ApiClient(platform.runtime.api_services(), auth=basic_auth(PK, SK))
    # Given a generation whose model is an application inference profile ARN: an opaque id that
    # names no model, so the shipped table cannot price it
    arn = "arn:aws:bedrock:eu-west-1:123456789012:application-inference-profile/a1b2c3d4e5f6"
    assert match_model(arn, load_default_models()) is None
    # And a project model whose pattern matches that ARN, created with POST /api/public/models
    body = {
        "modelName": "claude-sonnet-4-5 (team profile)",
        "matchPattern": "(?i)^arn:aws:bedrock:[a-z0-9-]+:123456789012:application-inference-profile/a1b2c3d4e5f6$",
        "unit": "TOKENS",
        "inputPrice": 3e-6,
        "outputPrice": 1.5e-5,
    }
    created = client.post("/api/public/models", body=body)
    assert created.status == 200, created.text
    batch = [generation("profiled", model=arn, usageDetails={"input": 2000, "output": 100})]
    assert client.post("/api/public/ingestion", body={"batch": batch}).status == 207
    # When the worker runs with the metadata store's provider
    provider = project_models_provider(platform.runtime.meta)
    processor = Processor(platform.runtime.blobs, platform.runtime.analytics, project_models=provider)
    messages = platform.runtime.queue.receive(max_messages=10)
    assert processor.process([QueueMessage.model_validate_json(m.body) for m in messages]).ok
    # Then the generation is priced by the project model
    [row] = client.get("/api/public/v2/observations", query={"fields": "core,model,usage"}).json()["data"]
    assert row["internalModelId"] == created.json()["id"]
    assert row["costDetails"] == pytest.approx(
        {"input": 2000 * 3e-6, "output": 100 * 1.5e-5, "total": 0.0075}
    )
    assert row["totalCost"] == pytest.approx(0.0075)
