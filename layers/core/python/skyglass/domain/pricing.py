"""Usage and cost of a generation from provided values, model prices and tokenisation (compat §7.2).

The steps, in order:

1. match the provided model name to a priced model (project models first; ``pricing_match``);
2. usage: what the client provided (plus ``total``), else — when no cost was provided, the level
   is not ERROR and the model has a tokenizer — token counts of input and output;
3. the pricing tier: the first non-default tier (by priority) whose conditions all hold, else
   the default tier;
4. cost: provided costs win; else ``usage[k] * price[k]`` for every priced key, ``total`` being
   the priced ``total`` key when there is one and the sum of the entries otherwise.

Tokenisation needs encodings and native code, so it is not done here: the caller passes a
``TokenCounter`` (``skyglass.processing.tokenize.count_tokens``), keeping this module pure.
"""

from __future__ import annotations

import functools
import json
import operator as op
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from skyglass.domain.pricing_match import compile_pattern, match_model
from skyglass.domain.pricing_models import (
    AttributeCondition,
    ModelPrice,
    PricingTier,
    UsageCondition,
    load_default_models,
)
from skyglass.domain.records import ObservationRecord
from skyglass.domain.usage import cost_with_total, usage_with_total

__all__ = [
    "CostResult",
    "Enrichment",
    "ModelPrice",
    "PricingTier",
    "TokenCounter",
    "compute_cost",
    "enrich_observation",
    "enrich_usage_and_cost",
    "load_default_models",
    "match_model",
    "select_tier",
]

# (tokenizer_id, tokenizer_config, input JSON text, output JSON text) -> {input, output, total} | None
TokenCounter = Callable[[str, Mapping[str, Any] | None, str | None, str | None], Mapping[str, int] | None]

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "gt": op.gt,
    "gte": op.ge,
    "lt": op.lt,
    "lte": op.le,
    "eq": op.eq,
    "neq": op.ne,
}


@dataclass(frozen=True, slots=True)
class CostResult:
    """``cost_details`` (USD per usage key, incl. ``total``) and ``total_cost`` (``None``: unknown)."""

    cost_details: dict[str, float] = field(default_factory=dict)
    total_cost: float | None = None


@dataclass(frozen=True, slots=True)
class Enrichment:
    """What enrichment adds to an observation row (``usage_details`` … ``usage_pricing_tier_*``)."""

    usage_details: dict[str, int] = field(default_factory=dict)
    cost_details: dict[str, float] = field(default_factory=dict)
    total_cost: float | None = None
    internal_model_id: str | None = None
    tier_id: str | None = None
    tier_name: str | None = None


# ---------------------------------------------------------------------------- tier selection


@functools.lru_cache(maxsize=1024)
def _usage_key_pattern(pattern: str, case_sensitive: bool) -> re.Pattern[str] | None:
    compiled = compile_pattern(pattern)
    if compiled is None or case_sensitive:
        return compiled
    try:
        return re.compile(compiled.pattern, compiled.flags | re.IGNORECASE)
    except re.error:
        return None


def _usage_condition_holds(condition: UsageCondition, usage: Mapping[str, int]) -> bool:
    """The sum of usage values whose key matches the pattern, compared with the threshold."""
    pattern = _usage_key_pattern(condition.usage_detail_pattern, condition.case_sensitive)
    if pattern is None:
        return False
    total = sum(count for key, count in usage.items() if pattern.search(key))
    return _COMPARE[condition.operator](total, condition.value)


def _decode_mapping(value: Mapping[str, Any] | str | None) -> Mapping[str, Any]:
    """A mapping from a mapping or its JSON text (rows store model parameters as JSON text)."""
    if isinstance(value, Mapping):
        return value
    if isinstance(value, str) and value:
        try:
            decoded = json.loads(value)
        except ValueError:
            return {}
        return decoded if isinstance(decoded, dict) else {}
    return {}


def _attribute_text(value: Any) -> str | None:
    """An attribute value as the string a condition compares with.

    Row metadata keeps values JSON-encoded (``'"flex"'``), so a JSON string literal is decoded;
    booleans and numbers compare by their JSON spelling (``true``, ``1``).
    """
    if isinstance(value, str):
        if len(value) >= 2 and value[0] == value[-1] == '"':
            try:
                decoded = json.loads(value)
            except ValueError:
                return value
            return decoded if isinstance(decoded, str) else value
        return value
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    return None


def _attribute_condition_holds(
    condition: AttributeCondition, model_parameters: Mapping[str, Any], metadata: Mapping[str, Any]
) -> bool:
    source = model_parameters if condition.source == "model_parameters" else metadata
    if condition.key not in source:
        return False
    return _attribute_text(source[condition.key]) in condition.values


def select_tier(
    model: ModelPrice,
    usage_details: Mapping[str, int],
    model_parameters: Mapping[str, Any] | str | None = None,
    metadata: Mapping[str, Any] | str | None = None,
) -> PricingTier:
    """The tier that prices this usage: the first conditional tier (ascending priority) whose
    conditions all hold, else the model's default tier.

    ``model_parameters``/``metadata`` may be mappings or their JSON text; metadata values may be
    JSON-encoded strings as rows store them.
    """
    parameters, meta = _decode_mapping(model_parameters), _decode_mapping(metadata)
    conditional = sorted((t for t in model.pricing_tiers if not t.is_default), key=lambda t: t.priority)
    for tier in conditional:
        if all(
            _usage_condition_holds(c, usage_details)
            if isinstance(c, UsageCondition)
            else _attribute_condition_holds(c, parameters, meta)
            for c in tier.conditions
        ):
            return tier
    default = model.default_tier
    return (
        default
        if default is not None
        else PricingTier(id=f"{model.id}:default", name="Standard", is_default=True)
    )


# ---------------------------------------------------------------------------- cost


def compute_cost(
    usage_details: Mapping[str, int],
    provided_cost: Mapping[str, float] | None,
    tier: PricingTier | None,
) -> CostResult:
    """Cost of one generation (compat §7.2 step 4).

    Provided costs win outright. Otherwise every usage key with a price costs ``count * price``
    (computed in decimal so sums of many small products do not drift); ``total`` is the priced
    ``total`` key when the tier prices it (e.g. embeddings) and the sum of the entries otherwise.
    No priced key means no cost (``total_cost`` ``None``), not a cost of zero.
    """
    if provided_cost:
        details, total = cost_with_total(dict(provided_cost))
        return CostResult(details, total)
    if tier is None or not tier.prices:
        return CostResult()
    costs: dict[str, Decimal] = {}
    for key, count in usage_details.items():
        price = tier.prices.get(key)
        if price is not None:
            costs[key] = Decimal(count) * Decimal(repr(price))
    if not costs:
        return CostResult()
    if "total" not in costs:
        costs["total"] = sum(costs.values(), Decimal(0))
    return CostResult({k: float(v) for k, v in costs.items()}, float(costs["total"]))


# ---------------------------------------------------------------------------- enrichment


def _usage(
    model: ModelPrice | None,
    provided_usage: Mapping[str, int] | None,
    provided_cost: Mapping[str, float] | None,
    input_text: str | None,
    output_text: str | None,
    level: str | None,
    tokenizer: TokenCounter | None,
) -> dict[str, int]:
    """Step 2: provided usage (with ``total``), else tokenised input/output when allowed."""
    if provided_usage:
        return usage_with_total(dict(provided_usage))
    if provided_cost or (level or "").upper() == "ERROR" or tokenizer is None:
        return {}
    if model is None or not model.tokenizer_id:
        return {}
    counted = tokenizer(model.tokenizer_id, model.tokenizer_config, input_text, output_text)
    return usage_with_total(dict(counted)) if counted else {}


def enrich_usage_and_cost(
    model_name: str | None,
    provided_usage: Mapping[str, int] | None,
    provided_cost: Mapping[str, float] | None,
    input_text: str | None,
    output_text: str | None,
    level: str | None,
    model_parameters: Mapping[str, Any] | str | None,
    metadata: Mapping[str, Any] | str | None,
    models: Sequence[ModelPrice],
    tokenizer: TokenCounter | None,
    *,
    project_models: Sequence[ModelPrice] = (),
    at: datetime | None = None,
) -> Enrichment:
    """Usage, cost, matched model and pricing tier of one generation (compat §7.2 steps 1-5).

    ``input_text``/``output_text`` are the JSON texts rows store; ``tokenizer`` counts tokens for
    a model's tokenizer (``None`` disables tokenisation). The tier is reported whenever a model
    matched, even when provided costs made its prices moot, so reads show which tier applied.
    Provided values themselves stay in ``provided_*`` columns; they are not part of the result.
    """
    model = match_model(model_name, models, project_models=project_models, at=at)
    usage = _usage(model, provided_usage, provided_cost, input_text, output_text, level, tokenizer)
    tier = select_tier(model, usage, model_parameters, metadata) if model is not None else None
    cost = compute_cost(usage, provided_cost, tier)
    return Enrichment(
        usage_details=usage,
        cost_details=cost.cost_details,
        total_cost=cost.total_cost,
        internal_model_id=model.id if model is not None else None,
        tier_id=tier.id if tier is not None else None,
        tier_name=tier.name if tier is not None else None,
    )


def enrich_observation(
    record: ObservationRecord,
    models: Sequence[ModelPrice],
    tokenizer: TokenCounter | None,
    *,
    project_models: Sequence[ModelPrice] = (),
) -> Enrichment:
    """``enrich_usage_and_cost`` for a merged observation row, priced as of its start time."""
    return enrich_usage_and_cost(
        record.provided_model_name,
        record.provided_usage_details,
        record.provided_cost_details,
        record.input,
        record.output,
        record.level,
        record.model_parameters,
        record.metadata,
        models,
        tokenizer,
        project_models=project_models,
        at=record.start_time,
    )
