"""The shipped price table is well formed: it validates, compiles and is unambiguous."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib import resources

import pytest

from skyglass.domain.pricing import ModelPrice, load_default_models, match_model
from skyglass.domain.pricing_match import compile_pattern, pattern_matches
from skyglass.domain.pricing_models import AttributeCondition, load_price_table, parse_price_table
from tests.unit.test_pricing_match import MATCHES, NO_MATCH


@pytest.fixture(scope="module")
def models() -> list[ModelPrice]:
    return load_default_models()


def test_file_validates_and_every_provider_has_a_source():
    # Given the raw shipped file
    raw = resources.files("skyglass.domain.data").joinpath("model_prices.json").read_bytes()
    # When it is validated from scratch
    table = parse_price_table(raw)
    # Then it holds every model of the raw JSON, and each provider names where its prices come from
    assert len(table.models) == len(json.loads(raw)["models"]) > 50
    providers = {m.provider for m in table.models}
    assert providers <= set(table.sources)
    assert {"openai", "anthropic", "google", "mistral", "meta", "amazon", "cohere"} <= providers
    assert all(source.url.startswith("https://") and source.compiled for source in table.sources.values())


def test_loading_is_cached():
    assert load_price_table() is load_price_table()


def test_ids_unique_and_every_pattern_compiles(models):
    ids = [m.id for m in models]
    assert len(ids) == len(set(ids))
    for model in models:
        assert compile_pattern(model.match_pattern) is not None, model.id
        assert model.unit == "TOKENS"
        assert model.tokenizer_id in (None, "openai", "claude")
        if model.tokenizer_id == "openai":
            assert model.tokenizer_config and model.tokenizer_config.get("tokenizerModel")


def test_tiers_are_well_formed_and_prices_non_negative(models):
    for model in models:
        tiers = model.pricing_tiers
        defaults = [t for t in tiers if t.is_default]
        # Exactly one default tier, priority 0, no conditions; unique names, priorities and ids
        assert len(defaults) == 1, model.id
        assert defaults[0].priority == 0 and not defaults[0].conditions
        assert len({t.name for t in tiers}) == len({t.priority for t in tiers}) == len(tiers)
        for tier in tiers:
            assert tier.id.startswith(f"{model.id}:")
            assert tier.prices, (model.id, tier.name)
            assert all(price >= 0 for price in tier.prices.values()), (model.id, tier.name)
            if not tier.is_default:
                assert tier.conditions and tier.priority > 0
            for condition in tier.conditions:
                if isinstance(condition, AttributeCondition):
                    assert condition.values
                else:
                    assert compile_pattern(condition.usage_detail_pattern) is not None


def test_prices_are_per_token_not_per_million(models):
    # A per-1M price pasted without conversion would be >= 0.01 per token; nothing costs that.
    for model in models:
        for tier in model.pricing_tiers:
            assert all(price < 0.001 for price in tier.prices.values()), (model.id, tier.name)


def test_no_test_string_is_claimed_by_two_models_with_the_same_start_date(models):
    # Given every model string the matching tests use
    for name in [n for n, _ in MATCHES] + NO_MATCH + [m.model_name for m in models]:
        # When collecting every default model whose pattern matches it
        hits = [m for m in models if name and pattern_matches(m.match_pattern, name)]
        # Then no two of them compete on equal footing (different start dates are a price history)
        keys = [m.start_date for m in hits]
        assert len(keys) == len(set(keys)), (name, [m.id for m in hits])


def test_every_model_name_resolves_to_a_model_of_that_name(models):
    # Clients often send the bare model name the Models API shows; it must price as that model.
    for model in models:
        matched = match_model(model.model_name, models, at=datetime(2100, 1, 1, tzinfo=UTC))
        assert matched is not None and matched.model_name == model.model_name, model.id
