"""Model (custom price) bodies: ``CreateModelRequest`` in, ``Model`` / ``PaginatedModels`` out.

The response fields are those of the OpenAPI ``Model`` schema, every one always present (the
deprecated flat ``inputPrice``/``outputPrice``/``totalPrice`` and ``prices`` are read from the
default tier, as Langfuse does). The request models check shapes and types only; the rules that
span fields (one default tier, flat prices or tiers, a compilable pattern…) live in the use case.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Discriminator, Field, StrictBool, StrictFloat, StrictInt, StrictStr, Tag

from skyglass.contracts.public_api.common import IsoDateTime, MetaResponse, WireModel

ModelUsageUnit = Literal["CHARACTERS", "TOKENS", "MILLISECONDS", "SECONDS", "IMAGES", "REQUESTS"]
TokenizerId = Literal["openai", "claude"]
PricingTierOperator = Literal["gt", "gte", "lt", "lte", "eq", "neq"]

# JSON numbers only (no strings, no booleans), finite and not negative.
Price = Annotated[StrictFloat, Field(ge=0, allow_inf_nan=False)]


# -- responses ------------------------------------------------------------------------------------


class ModelPriceView(WireModel):
    """``ModelPrice``: ``{"price": number}``."""

    price: float


class PricingTierView(WireModel):
    """``PricingTier``: conditions as ``PricingTierUsageCondition`` / ``...AttributeCondition``."""

    id: str
    name: str
    is_default: bool
    priority: int
    conditions: list[dict[str, Any]]
    prices: dict[str, float]


class ModelView(WireModel):
    """``Model``: one model definition, a project's own or a managed one."""

    id: str
    model_name: str
    match_pattern: str
    start_date: IsoDateTime | None
    unit: str | None
    input_price: float | None
    output_price: float | None
    total_price: float | None
    tokenizer_id: str | None
    tokenizer_config: Any
    is_langfuse_managed: bool
    created_at: IsoDateTime
    prices: dict[str, ModelPriceView]
    pricing_tiers: list[PricingTierView]


class PaginatedModels(WireModel):
    """``PaginatedModels``: ``{data: [Model], meta}``."""

    data: list[ModelView]
    meta: MetaResponse


# -- requests -------------------------------------------------------------------------------------


class _Body(WireModel):
    """Request bodies: camelCase keys, unknown keys ignored (as Langfuse strips them)."""

    model_config = ConfigDict(extra="ignore")


class UsageConditionBody(_Body):
    """``PricingTierUsageCondition``: the sum of usage values whose key matches a regex."""

    usage_detail_pattern: StrictStr = Field(min_length=1, max_length=200)
    operator: PricingTierOperator
    value: Annotated[StrictFloat, Field(ge=0, allow_inf_nan=False)]
    case_sensitive: StrictBool = False


class AttributeConditionBody(_Body):
    """``PricingTierAttributeCondition``: a top-level model parameter / metadata value."""

    source: Literal["model_parameters", "metadata"]
    key: StrictStr = Field(min_length=1)
    operator: Literal["in"] = "in"
    values: list[StrictStr] = Field(min_length=1)


def _condition_kind(value: Any) -> str | None:
    """Which condition shape a dict is: by its distinguishing key (no guessing from errors)."""
    if isinstance(value, dict):
        if "usageDetailPattern" in value or "usage_detail_pattern" in value:
            return "usage"
        if "source" in value:
            return "attribute"
    if isinstance(value, UsageConditionBody):
        return "usage"
    if isinstance(value, AttributeConditionBody):
        return "attribute"
    return None


ConditionBody = Annotated[
    Annotated[UsageConditionBody, Tag("usage")] | Annotated[AttributeConditionBody, Tag("attribute")],
    Discriminator(
        _condition_kind,
        custom_error_type="condition_shape",
        custom_error_message="Each condition needs either usageDetailPattern (a usage condition) "
        "or source (an attribute condition)",
    ),
]


class PricingTierBody(_Body):
    """``PricingTierInput``: the id is generated server-side."""

    name: StrictStr = Field(min_length=1, max_length=100)
    is_default: StrictBool | None = False
    priority: StrictInt = Field(ge=0, le=999)
    conditions: list[ConditionBody] = Field(default_factory=list)
    prices: dict[str, Price]


class CreateModelRequest(_Body):
    """``CreateModelRequest``, the body of ``POST /models`` and ``PUT /models/{id}``."""

    model_name: StrictStr = Field(min_length=1, max_length=255)
    match_pattern: StrictStr = Field(min_length=1)
    start_date: StrictStr | None = None
    # Langfuse requires it; the OpenAPI schema does not. Absent means TOKENS.
    unit: ModelUsageUnit | None = None
    input_price: Price | None = None
    output_price: Price | None = None
    total_price: Price | None = None
    pricing_tiers: list[PricingTierBody] | None = None
    tokenizer_id: TokenizerId | None = None
    tokenizer_config: dict[str, Any] | None = None
