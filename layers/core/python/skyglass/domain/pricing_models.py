"""Model price definitions: the shape of one priced model and its pricing tiers (compat §2.10, §7.1).

The field names follow the Langfuse ``Model`` object (camelCase on the wire, snake_case here), so
the same classes validate the shipped price table, rows of project-specific models and bodies of
``POST /api/public/models``. Prices are USD per unit (per token for ``unit`` TOKENS).

A model without ``pricingTiers`` (the legacy flat shape: ``inputPrice``/``outputPrice``/
``totalPrice`` or ``prices: {usageType: {price}}``) gets one synthesised default tier, so pricing
code only ever deals with tiers.
"""

from __future__ import annotations

import functools
import json
from datetime import datetime
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

_DATA_PACKAGE = "skyglass.domain.data"
_PRICE_FILE = "model_prices.json"

Operator = Literal["gt", "gte", "lt", "lte", "eq", "neq"]


class _Wire(BaseModel):
    """camelCase on the wire, snake_case in code; unknown keys ignored (forward compatible)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="ignore")


class UsageCondition(_Wire):
    """Holds when the sum of usage values whose key matches ``usage_detail_pattern`` compares true."""

    usage_detail_pattern: str
    operator: Operator
    value: float
    case_sensitive: bool = False


class AttributeCondition(_Wire):
    """Holds when a top-level model parameter / metadata value is one of ``values``."""

    source: Literal["model_parameters", "metadata"]
    key: str
    operator: Literal["in"] = "in"
    values: tuple[str, ...] = Field(min_length=1)


class PricingTier(_Wire):
    """One set of prices and the conditions under which it applies (all must hold)."""

    id: str = ""
    name: str
    is_default: bool = False
    priority: int = 0
    # Smart-mode union: the two shapes share no required key, so each dict validates as exactly one.
    conditions: tuple[UsageCondition | AttributeCondition, ...] = ()
    prices: dict[str, float] = Field(default_factory=dict)


class ModelPrice(_Wire):
    """A priced model: how to recognise it (``match_pattern``), tokenise it and price its usage."""

    id: str
    model_name: str
    match_pattern: str
    start_date: datetime | None = None
    unit: str | None = "TOKENS"
    tokenizer_id: str | None = None
    tokenizer_config: dict[str, Any] | None = None
    provider: str | None = None
    project_id: str | None = None
    pricing_tiers: tuple[PricingTier, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _flat_prices_to_tier(cls, data: Any) -> Any:
        """Legacy flat prices (``inputPrice``… or ``prices``) become one default tier."""
        if not isinstance(data, dict) or data.get("pricingTiers") or data.get("pricing_tiers"):
            return data
        prices: dict[str, float] = {}
        flat = data.get("prices")
        if isinstance(flat, dict):
            for key, value in flat.items():
                amount = value.get("price") if isinstance(value, dict) else value
                if isinstance(amount, int | float) and not isinstance(amount, bool):
                    prices[str(key)] = float(amount)
        for usage_type in ("input", "output", "total"):
            for field_name in (f"{usage_type}Price", f"{usage_type}_price"):
                amount = data.get(field_name)
                if isinstance(amount, int | float) and not isinstance(amount, bool):
                    prices[usage_type] = float(amount)
        model_id = data.get("id", "")
        tier = {"id": f"{model_id}:default", "name": "Standard", "isDefault": True, "prices": prices}
        rest = {k: v for k, v in data.items() if k not in ("pricingTiers", "pricing_tiers")}
        return {**rest, "pricingTiers": [tier]}

    @property
    def default_tier(self) -> PricingTier | None:
        """The fallback tier (first flagged default, else the lowest priority one)."""
        for tier in self.pricing_tiers:
            if tier.is_default:
                return tier
        return min(self.pricing_tiers, key=lambda t: t.priority, default=None)


class PriceSource(_Wire):
    """Where the prices of one provider come from.

    ``compiled`` is when the entries were written from the provider's published list prices;
    ``verified`` (optional) when they were last compared with that page.
    """

    url: str
    compiled: str
    verified: str | None = None
    notes: str = ""


class PriceTable(_Wire):
    """The whole shipped price file."""

    schema_version: int
    updated_at: str
    currency: str = "USD"
    sources: dict[str, PriceSource] = Field(default_factory=dict)
    models: tuple[ModelPrice, ...] = ()


def parse_price_table(text: str | bytes) -> PriceTable:
    """Validate price-file JSON text (used by the loader and by tests of edited files)."""
    return PriceTable.model_validate(json.loads(text))


@functools.cache
def load_price_table() -> PriceTable:
    """The shipped price table, read once per process.

    This is the one file read the domain allows itself: it is package data, read lazily on first
    use (never at import) and cached, so a Lambda pays for it once per container.
    """
    text = resources.files(_DATA_PACKAGE).joinpath(_PRICE_FILE).read_bytes()
    return parse_price_table(text)


def load_default_models() -> list[ModelPrice]:
    """The default (managed) models of the shipped price table, in file order."""
    return list(load_price_table().models)
