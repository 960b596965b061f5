"""Usage and cost normalisation (compat §2.1 table, §7.2 step 4 for provided costs)."""

from __future__ import annotations

from typing import Any

import pytest

from skyglass.domain.usage import (
    cost_with_total,
    legacy_usage,
    normalize_usage_details,
    provided_costs,
    provided_usage,
    usage_with_total,
)


def test_openai_chat_completion_usage_subtracts_details() -> None:
    # Given OpenAI chat usage with cached and reasoning token details
    value = {
        "prompt_tokens": 100,
        "completion_tokens": 50,
        "total_tokens": 150,
        "prompt_tokens_details": {"cached_tokens": 30, "audio_tokens": None},
        "completion_tokens_details": {"reasoning_tokens": 20},
    }
    # When normalised
    result = normalize_usage_details(value)
    # Then details become their own keys and are subtracted from input/output
    assert result == {
        "input": 70,
        "output": 30,
        "total": 150,
        "input_cached_tokens": 30,
        "output_reasoning_tokens": 20,
    }


def test_openai_responses_usage_subtracts_details_and_never_goes_negative() -> None:
    # Given responses-API usage whose detail exceeds the side count
    value = {
        "input_tokens": 10,
        "output_tokens": 5,
        "total_tokens": 15,
        "input_tokens_details": {"cached_tokens": 12},
        "output_tokens_details": {"reasoning_tokens": 0},
    }
    # Then input floors at zero and a zero detail is still recorded
    assert normalize_usage_details(value) == {
        "input": 0,
        "output": 5,
        "total": 15,
        "input_cached_tokens": 12,
        "output_reasoning_tokens": 0,
    }


def test_openai_shape_with_extra_keys_is_a_free_map() -> None:
    # Given the OpenAI keys plus an unknown one (the OpenAI schemas are strict)
    value = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15, "extra": 1}
    # Then it is read as a free map, key by key
    assert normalize_usage_details(value) == value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"input": 3, "cache_read": "7"}, {"input": 3, "cache_read": 7}),
        ({"input": -1, "output": None, "flag": True, "nested": {"a": 1}, "f": 2.0}, {"f": 2}),
        ({}, {}),
        (None, {}),
        ("not a map", {}),
    ],
)
def test_free_usage_maps_keep_valid_counts_only(value: Any, expected: dict[str, int]) -> None:
    assert normalize_usage_details(value) == expected


def test_legacy_usage_with_costs() -> None:
    # Given the legacy usage object with unit and costs
    counts, costs = legacy_usage(
        {"input": 4, "output": 6, "unit": "TOKENS", "inputCost": 0.1, "totalCost": 0.3}
    )
    # Then counts and costs are split out, the unit dropped
    assert counts == {"input": 4, "output": 6, "total": None}
    assert costs == {"input": 0.1, "total": 0.3}


def test_legacy_openai_camel_case_usage() -> None:
    counts, costs = legacy_usage({"promptTokens": 2, "completionTokens": 3, "totalTokens": 5, "inputCost": 1})
    assert counts == {"input": 2, "output": 3, "total": 5}
    assert costs == {}


def test_provided_usage_computes_a_legacy_total_without_usage_details() -> None:
    # Given legacy usage without total
    assert provided_usage({"usage": {"input": 4, "output": 6}}) == {"input": 4, "output": 6, "total": 10}
    assert provided_usage({"usage": {"output": 6}}) == {"output": 6, "total": 6}


def test_provided_usage_details_overlay_legacy_usage() -> None:
    # Given both legacy usage and usageDetails
    body = {"usage": {"input": 4, "output": 6}, "usageDetails": {"input": 5, "cache_read": 1}}
    # Then usageDetails win per key and no legacy total is invented
    assert provided_usage(body) == {"input": 5, "output": 6, "cache_read": 1}


def test_usage_details_total_is_the_sum_when_missing() -> None:
    assert usage_with_total({"input": 5, "input_cached_tokens": 2, "output": 1}) == {
        "input": 5,
        "input_cached_tokens": 2,
        "output": 1,
        "total": 8,
    }
    assert usage_with_total({"input": 5, "total": 9}) == {"input": 5, "total": 9}
    assert usage_with_total({}) == {}


def test_provided_costs_overlay_and_drop_non_numbers() -> None:
    body = {
        "usage": {"inputCost": 0.1, "outputCost": 0.2},
        "costDetails": {"output": 0.3, "x": "1", "neg": -1},
    }
    assert provided_costs(body) == {"input": 0.1, "output": 0.3}


@pytest.mark.parametrize(
    ("provided", "details", "total"),
    [
        ({}, {}, None),
        ({"input": 1.0, "output": 2.0}, {"input": 1.0, "output": 2.0, "total": 3.0}, 3.0),
        ({"input": 1.0, "total": 5.0}, {"input": 1.0, "total": 5.0}, 5.0),
        (
            {"input": 1.0, "input_cached_tokens": 0.5, "output": 2.0},
            {"input": 1.0, "input_cached_tokens": 0.5, "output": 2.0, "total": 3.5},
            3.5,
        ),
    ],
)
def test_cost_totals(provided: dict[str, float], details: dict[str, float], total: float | None) -> None:
    assert cost_with_total(provided) == (details, total)
