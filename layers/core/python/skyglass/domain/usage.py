"""Provided usage and cost of a generation, normalised to flat maps (compat §2.1 and §7.2).

Inputs a body may carry:

* ``usage`` (legacy): ``{input, output, total, unit, inputCost, outputCost, totalCost}`` or the
  OpenAI camelCase form ``{promptTokens, completionTokens, totalTokens}``;
* ``usageDetails``: a free map ``{key: count}``, or the OpenAI chat-completions
  (``prompt_tokens``…``completion_tokens_details``) or responses (``input_tokens``…) usage object,
  whose ``*_details`` entries are split out as ``input_<k>``/``output_<k>`` and subtracted from
  ``input``/``output`` so the keys never double count;
* ``costDetails``: a free map ``{key: amount}``.

Model price matching and tokenisation come later; for now ``usage_details``/``cost_details`` are
derived from what was provided.
"""

from __future__ import annotations

import math
from typing import Any

_COMPLETION_KEYS = ("prompt_tokens", "completion_tokens", "total_tokens")
_COMPLETION_DETAILS = ("prompt_tokens_details", "completion_tokens_details")
_RESPONSE_KEYS = ("input_tokens", "output_tokens", "total_tokens")
_RESPONSE_DETAILS = ("input_tokens_details", "output_tokens_details")
_CAMEL_KEYS = ("promptTokens", "completionTokens", "totalTokens")


def _count(value: Any) -> int | None:
    """A token count: non-negative int (integral floats and numeric strings accepted)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float):
        return int(value) if math.isfinite(value) and value >= 0 else None
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return int(number) if math.isfinite(number) and number >= 0 else None
    return None


def _amount(value: Any) -> float | None:
    """A cost: a non-negative finite number; anything else is dropped."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) and number >= 0 else None


def _openai_usage(
    value: dict[str, Any], keys: tuple[str, ...], details: tuple[str, ...]
) -> dict[str, int] | None:
    """The OpenAI usage object (strict: only its own keys) as ``{input, output, total, <side>_<k>}``."""
    if keys[0] not in value or not all(k in value for k in keys) or not set(value) <= {*keys, *details}:
        return None
    counts = [_count(value[k]) for k in keys]
    if any(c is None for c in counts):
        return None
    result: dict[str, int] = {"input": counts[0] or 0, "output": counts[1] or 0, "total": counts[2] or 0}
    for side, detail_key in zip(("input", "output"), details, strict=True):
        detail = value.get(detail_key)
        if not isinstance(detail, dict):
            continue
        for key, raw in detail.items():
            count = _count(raw)
            if count is None:
                continue
            result[f"{side}_{key}"] = count
            # The detail is part of the side's count in OpenAI's numbers; keep keys disjoint.
            result[side] = max(result[side] - count, 0)
    return result


def normalize_usage_details(value: Any) -> dict[str, int]:
    """``usageDetails`` in any accepted shape → ``{key: count}`` (invalid entries dropped)."""
    if not isinstance(value, dict) or not value:
        return {}
    for keys, details in ((_COMPLETION_KEYS, _COMPLETION_DETAILS), (_RESPONSE_KEYS, _RESPONSE_DETAILS)):
        openai = _openai_usage(value, keys, details)
        if openai is not None:
            return openai
    out: dict[str, int] = {}
    for key, raw in value.items():
        count = _count(raw)
        if count is not None:
            out[str(key)] = count
    return out


def legacy_usage(value: Any) -> tuple[dict[str, int | None], dict[str, float]]:
    """Legacy ``usage`` → (``{input, output, total}`` counts, possibly ``None``; costs).

    The OpenAI camelCase form wins when any of its keys is present (costs are then ignored, as
    Langfuse does); ``unit`` is accepted and dropped.
    """
    if not isinstance(value, dict) or not value:
        return {}, {}
    if any(k in value for k in _CAMEL_KEYS):
        counts = {
            "input": _count(value.get("promptTokens")),
            "output": _count(value.get("completionTokens")),
            "total": _count(value.get("totalTokens")),
        }
        return counts, {}
    counts = {k: _count(value.get(k)) for k in ("input", "output", "total")}
    costs: dict[str, float] = {}
    for key, source in (("input", "inputCost"), ("output", "outputCost"), ("total", "totalCost")):
        amount = _amount(value.get(source))
        if amount is not None:
            costs[key] = amount
    return counts, costs


def provided_usage(body: dict[str, Any]) -> dict[str, int]:
    """What one event body says about usage: legacy ``usage`` overlaid with ``usageDetails``.

    A legacy total missing while no ``usageDetails`` were sent is the sum of input and output.
    """
    counts, _ = legacy_usage(body.get("usage"))
    details = normalize_usage_details(body.get("usageDetails"))
    result: dict[str, int] = {}
    for key in ("input", "output"):
        count = counts.get(key)
        if count is not None:
            result[key] = count
    total = counts.get("total")
    if total is None and not details and result:
        total = sum(result.values())
    if total is not None:
        result["total"] = total
    result.update(details)
    return result


def provided_costs(body: dict[str, Any]) -> dict[str, float]:
    """What one event body says about cost: legacy ``usage.*Cost`` overlaid with ``costDetails``."""
    _, costs = legacy_usage(body.get("usage"))
    details = body.get("costDetails")
    if isinstance(details, dict):
        for key, raw in details.items():
            amount = _amount(raw)
            if amount is not None:
                costs[str(key)] = amount
    return costs


def usage_with_total(provided: dict[str, int]) -> dict[str, int]:
    """``usage_details`` from provided usage: adds ``total`` = sum of all keys when missing."""
    if not provided or "total" in provided:
        return dict(provided)
    return {**provided, "total": sum(provided.values())}


def cost_with_total(provided: dict[str, float]) -> tuple[dict[str, float], float | None]:
    """``(cost_details, total_cost)`` from provided costs (compat §7.2 step 4).

    A provided ``total`` wins; otherwise the total is the sum of the provided components (they
    are disjoint, like usage keys: cached input is not also counted in ``input``). With nothing
    provided there is no cost until model prices are matched.
    """
    if not provided:
        return {}, None
    if "total" in provided:
        return dict(provided), provided["total"]
    total = sum(provided.values())
    return {**provided, "total": total}, total
