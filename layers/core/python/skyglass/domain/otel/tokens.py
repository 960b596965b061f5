"""Token counts of the GenAI and OpenInference conventions → Langfuse ``usageDetails``.

Providers count cached and reasoning tokens *inside* input/output; Langfuse keeps usage keys
disjoint (prices are per key and ``total`` is their sum), so the details are split out and
subtracted from their side, as ``domain.usage`` does for OpenAI usage objects (compat §4.2).
"""

from __future__ import annotations

from typing import Any

from skyglass.domain.otel.values import as_number

INPUT_KEYS = ("prompt_tokens", "input_tokens", "prompt", "input")
OUTPUT_KEYS = ("completion_tokens", "output_tokens", "completion", "output")
TOTAL_KEYS = ("total_tokens", "total")

# Raw key (suffix after ``gen_ai.usage.`` / ``llm.token_count.``) → (Langfuse key, side it is part of).
# Several spellings of one detail: the first present wins.
DETAIL_KEYS: dict[str, tuple[str, str]] = {
    "cache_read.input_tokens": ("input_cached_tokens", "input"),
    "cache_read_input_tokens": ("input_cached_tokens", "input"),
    "cache_read_tokens": ("input_cached_tokens", "input"),
    "prompt_details.cache_read": ("input_cached_tokens", "input"),
    "prompt_tokens_details.cached_tokens": ("input_cached_tokens", "input"),
    "input_tokens_details.cached_tokens": ("input_cached_tokens", "input"),
    "cache_creation.input_tokens": ("input_cache_creation", "input"),
    "cache_creation_input_tokens": ("input_cache_creation", "input"),
    "cache_write_input_tokens": ("input_cache_creation", "input"),
    "cache_write_tokens": ("input_cache_creation", "input"),
    "prompt_details.cache_write": ("input_cache_creation", "input"),
    "prompt_details.audio": ("input_audio_tokens", "input"),
    "prompt_tokens_details.audio_tokens": ("input_audio_tokens", "input"),
    "reasoning.output_tokens": ("output_reasoning_tokens", "output"),
    "reasoning_tokens": ("output_reasoning_tokens", "output"),
    "completion_details.reasoning": ("output_reasoning_tokens", "output"),
    "completion_tokens_details.reasoning_tokens": ("output_reasoning_tokens", "output"),
    "output_tokens_details.reasoning_tokens": ("output_reasoning_tokens", "output"),
    "completion_details.audio": ("output_audio_tokens", "output"),
    "completion_tokens_details.audio_tokens": ("output_audio_tokens", "output"),
}
_KNOWN = frozenset((*INPUT_KEYS, *OUTPUT_KEYS, *TOTAL_KEYS, *DETAIL_KEYS))


def _count(value: Any) -> int | None:
    number = as_number(value)
    if number is None or number < 0:
        return None
    return int(number)


def normalize_token_counts(raw: dict[str, Any]) -> dict[str, int]:
    """``{raw key: count}`` → ``{input, output, total, input_cached_tokens, …}``.

    Unknown keys are kept under their raw name (never dropped); non-numeric values are.
    """
    counts = {key: c for key, value in raw.items() if (c := _count(value)) is not None}
    if not counts:
        return {}
    usage: dict[str, int] = {}
    for target, keys in (("input", INPUT_KEYS), ("output", OUTPUT_KEYS), ("total", TOTAL_KEYS)):
        for key in keys:
            if key in counts:
                usage[target] = counts[key]
                break
    subtract = {"input": 0, "output": 0}
    for key, (target, side) in DETAIL_KEYS.items():
        if key in counts and target not in usage:
            usage[target] = counts[key]
            subtract[side] += counts[key]
    for side, amount in subtract.items():
        if side in usage and amount:
            usage[side] = max(usage[side] - amount, 0)
    for key, count in counts.items():
        if key not in _KNOWN:
            usage.setdefault(key, count)
    return usage
