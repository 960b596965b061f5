"""Tier selection, cost computation and the whole enrichment step (compat §7.2)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from skyglass.domain.pricing import (
    ModelPrice,
    PricingTier,
    compute_cost,
    enrich_observation,
    enrich_usage_and_cost,
    load_default_models,
    match_model,
    select_tier,
)
from skyglass.domain.records import ObservationRecord

M = 1_000_000


@pytest.fixture(scope="module")
def models() -> list[ModelPrice]:
    return load_default_models()


def _model(models: list[ModelPrice], name: str) -> ModelPrice:
    model = match_model(name, models)
    assert model is not None
    return model


def _fake_tokenizer(calls: list[tuple[str, Any]]):
    def count(tokenizer_id: str, config: Mapping[str, Any] | None, input_text, output_text):
        calls.append((tokenizer_id, config))
        return {"input": 10, "output": 4, "total": 14}

    return count


# ---------------------------------------------------------------------------- compute_cost


def test_provided_cost_wins_over_prices(models):
    # Given a priced model and a client that reports its own cost
    tier = select_tier(_model(models, "gpt-4o"), {"input": M})
    # When computing cost
    result = compute_cost({"input": M, "output": M}, {"input": 0.5, "output": 1.5}, tier)
    # Then the provided numbers are kept and totalled
    assert result.cost_details == {"input": 0.5, "output": 1.5, "total": 2.0}
    assert result.total_cost == 2.0
    # And a provided total is taken as is
    assert compute_cost({"input": M}, {"total": 3.0}, tier).total_cost == 3.0


def test_each_priced_usage_key_costs_count_times_price(models):
    # Given gpt-4o ($2.50 input, $1.25 cached input, $10 output per 1M)
    tier = select_tier(_model(models, "gpt-4o"), {})
    usage = {"input": 800_000, "input_cached_tokens": 200_000, "output": 100_000, "total": 1_100_000}
    # When computing cost
    result = compute_cost(usage, None, tier)
    # Then each key is priced on its own and total is their sum (``total`` itself is unpriced)
    assert result.cost_details["input"] == pytest.approx(2.0)
    assert result.cost_details["input_cached_tokens"] == pytest.approx(0.25)
    assert result.cost_details["output"] == pytest.approx(1.0)
    assert result.total_cost == pytest.approx(3.25)
    assert result.cost_details["total"] == result.total_cost


def test_reasoning_tokens_are_priced_as_output(models):
    # Given o4-mini usage whose reasoning tokens were split out of output by normalisation
    tier = select_tier(_model(models, "o4-mini"), {})
    result = compute_cost({"input": 0, "output": 1000, "output_reasoning_tokens": 9000}, None, tier)
    # Then reasoning is billed at the output rate ($4.40 per 1M)
    assert result.total_cost == pytest.approx(10_000 * 4.4 / M)


def test_anthropic_cache_reads_and_writes(models):
    # Given Claude Sonnet 4.5: $3 input, $15 output, cache read 0.1x, 5m write 1.25x, 1h write 2x
    tier = select_tier(_model(models, "claude-sonnet-4-5-20250929"), {"input": 1000})
    usage = {
        "input": M,
        "output": M,
        "input_cache_read": M,
        "input_cache_creation_5m": M,
        "input_cache_creation_1h": M,
    }
    result = compute_cost(usage, None, tier)
    # Then each cache operation has its own price
    assert result.cost_details["input_cache_read"] == pytest.approx(0.30)
    assert result.cost_details["input_cache_creation_5m"] == pytest.approx(3.75)
    assert result.cost_details["input_cache_creation_1h"] == pytest.approx(6.0)
    assert result.total_cost == pytest.approx(3 + 15 + 0.30 + 3.75 + 6.0)


def test_priced_total_key_is_the_total(models):
    # Given an embedding model priced on ``total`` only
    tier = select_tier(_model(models, "text-embedding-3-small"), {})
    # Then total cost is total usage x price, whatever else was reported
    result = compute_cost({"input": 1000, "total": 1000}, None, tier)
    assert result.cost_details == {"total": pytest.approx(1000 * 0.02 / M)}
    assert result.total_cost == pytest.approx(1000 * 0.02 / M)


def test_no_priced_key_or_no_tier_means_no_cost(models):
    tier = select_tier(_model(models, "gpt-4o"), {})
    assert compute_cost({"images": 3}, None, tier).total_cost is None
    assert compute_cost({"input": 10}, None, None).cost_details == {}


# ---------------------------------------------------------------------------- select_tier


def test_long_context_tier_applies_above_the_input_threshold(models):
    # Given Claude Sonnet 4 with a >200k-input tier
    model = _model(models, "us.anthropic.claude-sonnet-4-20250514-v1:0")
    # When the prompt (input + cache reads) is at or below / above 200k
    at_limit = select_tier(model, {"input": 150_000, "input_cache_read": 50_000, "output": 900_000})
    above = select_tier(model, {"input": 150_000, "input_cache_read": 50_001, "output": 10})
    # Then output tokens never count towards the threshold, and crossing it switches the tier
    assert at_limit.is_default
    assert above.name == "Long context (>200k input)"
    assert compute_cost({"input": M}, None, above).total_cost == pytest.approx(6.0)


def test_gemini_tiers_count_gemini_usage_keys(models):
    model = _model(models, "gemini-2.5-pro")
    assert select_tier(model, {"promptTokenCount": 250_000}).name.startswith("Long context")
    assert select_tier(model, {"prompt_token_count": 100_000, "candidates_token_count": 500_000}).is_default
    # And Gemini 1.5 switches at 128k
    assert select_tier(_model(models, "gemini-1.5-pro"), {"input": 130_000}).name.startswith("Long context")


@pytest.mark.parametrize(
    ("parameters", "expected"),
    [
        ({"service_tier": "flex"}, "Flex"),
        ({"service_tier": "priority"}, "Priority"),
        ({"service_tier": "default"}, "Standard"),
        ({"service_tier": "auto"}, "Standard"),
        ({}, "Standard"),
        ('{"service_tier": "flex", "temperature": 1}', "Flex"),  # rows store JSON text
        (None, "Standard"),
    ],
)
def test_service_tier_selects_flex_and_priority(models, parameters, expected):
    # Given gpt-5 with Flex and Priority tiers keyed on model_parameters.service_tier
    tier = select_tier(_model(models, "gpt-5"), {"input": 10}, parameters)
    assert tier.name == expected


def test_attribute_conditions_read_json_encoded_metadata_and_all_conditions_must_hold():
    # Given a custom model whose tier needs a metadata value AND a usage threshold
    model = ModelPrice.model_validate(
        {
            "id": "m",
            "modelName": "m",
            "matchPattern": "^m$",
            "pricingTiers": [
                {
                    "name": "Base",
                    "isDefault": True,
                    "priority": 0,
                    "conditions": [],
                    "prices": {"input": 1.0},
                },
                {
                    "name": "Batch big",
                    "isDefault": False,
                    "priority": 1,
                    "conditions": [
                        {"source": "metadata", "key": "mode", "operator": "in", "values": ["batch"]},
                        {
                            "usageDetailPattern": "^INPUT$",
                            "operator": "gte",
                            "value": 100,
                            "caseSensitive": True,
                        },
                    ],
                    "prices": {"input": 0.5},
                },
            ],
        }
    )
    # Then metadata as rows store it ('"batch"') matches, but only with the usage condition too
    assert select_tier(model, {"INPUT": 100}, None, {"mode": '"batch"'}).name == "Batch big"
    assert select_tier(model, {"INPUT": 99}, None, {"mode": '"batch"'}).name == "Base"
    assert select_tier(model, {"input": 100}, None, {"mode": "batch"}).name == "Base"  # case-sensitive key


def test_conditional_tiers_are_tried_by_priority():
    model = ModelPrice.model_validate(
        {
            "id": "m",
            "modelName": "m",
            "matchPattern": "^m$",
            "pricingTiers": [
                {"name": "Default", "isDefault": True, "priority": 0, "conditions": [], "prices": {}},
                {"name": "Medium", "isDefault": False, "priority": 2, "conditions": [_gt(100)], "prices": {}},
                {"name": "High", "isDefault": False, "priority": 1, "conditions": [_gt(1000)], "prices": {}},
            ],
        }
    )
    assert select_tier(model, {"input": 5000}).name == "High"
    assert select_tier(model, {"input": 500}).name == "Medium"
    assert select_tier(model, {"input": 5}).name == "Default"


def _gt(value: int) -> dict[str, Any]:
    return {"usageDetailPattern": "input", "operator": "gt", "value": value, "caseSensitive": False}


def test_legacy_flat_prices_become_a_default_tier():
    model = ModelPrice.model_validate(
        {"id": "x", "modelName": "x", "matchPattern": "^x$", "inputPrice": 1e-6, "outputPrice": 2e-6}
    )
    tier = select_tier(model, {})
    assert isinstance(tier, PricingTier) and tier.is_default
    assert tier.prices == {"input": 1e-6, "output": 2e-6}


# ---------------------------------------------------------------------------- enrichment


def test_enrichment_prices_provided_usage_and_reports_model_and_tier(models):
    enrichment = enrich_usage_and_cost(
        "gpt-4o-mini", {"input": 1000, "output": 500}, None, None, None, "DEFAULT", None, None, models, None
    )
    assert enrichment.usage_details == {"input": 1000, "output": 500, "total": 1500}
    assert enrichment.total_cost == pytest.approx(1000 * 0.15 / M + 500 * 0.6 / M)
    assert enrichment.internal_model_id == "gpt-4o-mini"
    assert (enrichment.tier_id, enrichment.tier_name) == ("gpt-4o-mini:standard", "Standard")


def test_tokenizes_only_without_usage_without_cost_and_not_on_error(models):
    # Given a model with a tokenizer and a counting function that records its calls
    calls: list[tuple[str, Any]] = []
    tokenizer = _fake_tokenizer(calls)

    def run(usage=None, cost=None, level="DEFAULT", name="gpt-4o"):
        return enrich_usage_and_cost(name, usage, cost, '"hi"', '"yo"', level, None, None, models, tokenizer)

    # When nothing was provided, the input/output are tokenised and priced
    enrichment = run()
    assert enrichment.usage_details == {"input": 10, "output": 4, "total": 14}
    assert enrichment.total_cost == pytest.approx(10 * 2.5 / M + 4 * 10 / M)
    assert calls == [("openai", {"tokenizerModel": "gpt-4o", "tokensPerMessage": 3, "tokensPerName": 1})]
    # Then provided usage, provided cost, ERROR level or a model without tokenizer skip it
    calls.clear()
    assert run(usage={"input": 1}).usage_details == {"input": 1, "total": 1}
    assert run(cost={"total": 0.1}).usage_details == {}
    assert run(level="ERROR").usage_details == {}
    assert run(name="gemini-2.5-pro").usage_details == {}
    assert run(name="unknown-model").internal_model_id is None
    assert calls == []


def test_unmatched_model_keeps_provided_values_only(models):
    enrichment = enrich_usage_and_cost(
        "my-own-model", {"input": 3}, {"input": 0.01}, None, None, None, None, None, models, None
    )
    assert enrichment.usage_details == {"input": 3, "total": 3}
    assert enrichment.cost_details == {"input": 0.01, "total": 0.01}
    assert enrichment.internal_model_id is None and enrichment.tier_name is None


def test_enrich_observation_prices_a_row_as_of_its_start_time(models):
    # Given an o3 generation from before the 2025-06-10 price cut, with flex service tier
    record = ObservationRecord(
        id="o",
        trace_id="t",
        project_id="p",
        type="GENERATION",
        start_time=datetime(2025, 6, 1, tzinfo=UTC),
        provided_model_name="o3",
        provided_usage_details={"input": M},
        model_parameters='{"service_tier": "flex"}',
    )
    # Then the old price applies (that entry has no flex tier)
    enrichment = enrich_observation(record, models, None)
    assert enrichment.internal_model_id == "o3"
    assert enrichment.total_cost == pytest.approx(10.0)
    # And after the cut the dated entry's flex tier applies
    record.start_time = datetime(2025, 7, 1, tzinfo=UTC)
    later = enrich_observation(record, models, None)
    assert (later.internal_model_id, later.tier_name) == ("o3-2025-06-10-price", "Flex")
    assert later.total_cost == pytest.approx(1.0)
