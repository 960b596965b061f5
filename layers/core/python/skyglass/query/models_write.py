"""Model definitions (custom prices): create, replace by id, delete (``POST|PUT|DELETE /models``).

Bodies are checked in two steps: shapes and types by ``contracts.public_api.models``, then the
rules that span fields (Langfuse's): flat prices *or* pricing tiers, ``totalPrice`` only alone,
exactly one default tier (priority 0, no conditions), unique tier names and priorities, every
tier priced, non-default tiers conditioned and pricing the default tier's usage types, and
patterns that compile as the worker will compile them (``domain.pricing_match``). Every 400
names the field at fault. Managed models can be neither replaced nor deleted: a project
overrides one by creating a model with the same ``modelName``.
"""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from typing import Any

from pydantic import ValidationError

from skyglass.contracts.public_api.common import MessageResponse
from skyglass.contracts.public_api.models import (
    AttributeConditionBody,
    CreateModelRequest,
    ModelView,
    PricingTierBody,
)
from skyglass.domain.filters import parse_iso_datetime
from skyglass.domain.pricing_match import compile_pattern
from skyglass.domain.pricing_models import AttributeCondition, ModelPrice, PricingTier, UsageCondition
from skyglass.errors import InvalidRequest, NotFound
from skyglass.ports.meta import MetaStore
from skyglass.query.models import (
    NOT_FOUND_MESSAGE,
    invalidate_project_models,
    managed_model_ids,
    to_model_view,
)

MAX_MODEL_ID_LENGTH = 255
_FLAT_PRICES = (("input", "input_price"), ("output", "output_price"), ("total", "total_price"))
_INLINE_IGNORECASE = re.compile(r"(?<!\\)\(\?i\)")
_UNION_TAGS = ("usage", "attribute")


def new_model_id() -> str:
    return uuid.uuid4().hex


# -- parsing --------------------------------------------------------------------------------------


def _path(loc: tuple[Any, ...]) -> str:
    """``("pricingTiers", 0, "prices", "input")`` → ``pricingTiers[0].prices.input``."""
    out = ""
    for index, part in enumerate(loc):
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in _UNION_TAGS and index and isinstance(loc[index - 1], int):
            continue  # the discriminator tag of a condition, not a field
        else:
            out += f".{part}" if out else str(part)
    return out or "body"


def _has_nul(value: Any) -> bool:
    """Whether any string (key or value) holds U+0000, which PostgreSQL text and JSON refuse."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def parse_model_request(body: str | bytes | None) -> CreateModelRequest:
    """The ``CreateModelRequest`` of a JSON body; 400 naming every field at fault."""
    if not body or not body.strip():
        raise InvalidRequest("Invalid request data: the body must be a JSON object (CreateModelRequest).")
    try:
        data = json.loads(body)  # bytes: UTF-8/16/32 detected; undecodable is a ValueError too
    except ValueError as exc:
        raise InvalidRequest(f"Invalid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidRequest("Invalid request data: the body must be a JSON object (CreateModelRequest).")
    if _has_nul(data):
        raise InvalidRequest("Invalid request data: strings must not contain the NUL character (\\u0000).")
    try:
        return CreateModelRequest.model_validate(data)
    except ValidationError as exc:
        issues = exc.errors(include_url=False, include_context=False, include_input=False)
        described = "; ".join(f"{_path(tuple(i['loc']))}: {i['msg']}" for i in issues[:5])
        raise InvalidRequest(f"Invalid request data: {described}", detail=issues) from None


# -- rules ----------------------------------------------------------------------------------------


def _regex_error(pattern: str) -> str | None:
    """Why ``pattern`` does not compile as the worker compiles it, or None when it does."""
    if compile_pattern(pattern) is not None:
        return None
    try:
        re.compile(_INLINE_IGNORECASE.sub("", pattern))
    except re.error as exc:
        return str(exc)
    return "not a valid regular expression"  # pragma: no cover - compile_pattern agrees with re


def _check_tiers(tiers: list[PricingTierBody]) -> None:
    defaults = [tier for tier in tiers if tier.is_default]
    if len(defaults) != 1:
        found = "none has" if not defaults else f"{len(defaults)} have"
        raise InvalidRequest(f"Invalid pricingTiers: exactly one tier must have isDefault: true ({found}).")
    default = defaults[0]
    if default.priority != 0:
        raise InvalidRequest(f"Invalid pricingTiers: the default tier {default.name!r} must have priority 0.")
    if default.conditions:
        raise InvalidRequest(
            f"Invalid pricingTiers: the default tier {default.name!r} must have no conditions."
        )
    for name, count in Counter(tier.name for tier in tiers).items():
        if count > 1:
            raise InvalidRequest(
                f"Invalid pricingTiers: tier names must be unique ({name!r} is used {count} times)."
            )
    for priority, count in Counter(tier.priority for tier in tiers).items():
        if count > 1:
            raise InvalidRequest(
                f"Invalid pricingTiers: tier priorities must be unique (priority {priority} is used {count} times)."
            )
    expected = sorted(default.prices)
    for tier in tiers:
        if not tier.prices:
            raise InvalidRequest(f"Invalid pricingTiers: tier {tier.name!r} must define at least one price.")
        if tier is default:
            continue
        if not tier.conditions:
            raise InvalidRequest(
                f"Invalid pricingTiers: tier {tier.name!r} is not the default, so it needs at least one condition."
            )
        if sorted(tier.prices) != expected:
            raise InvalidRequest(
                f"Invalid pricingTiers: tier {tier.name!r} must price the same usage types as the default "
                f"tier: expected {expected}, got {sorted(tier.prices)}."
            )
        for condition in tier.conditions:
            if isinstance(condition, AttributeConditionBody):
                continue
            problem = _regex_error(condition.usage_detail_pattern)
            if problem is not None:
                raise InvalidRequest(
                    f"Invalid usageDetailPattern {condition.usage_detail_pattern!r} in pricing tier "
                    f"{tier.name!r}: {problem}."
                )


def _tier(model_id: str, body: PricingTierBody) -> PricingTier:
    conditions: list[UsageCondition | AttributeCondition] = []
    for condition in body.conditions:
        if isinstance(condition, AttributeConditionBody):
            conditions.append(
                AttributeCondition(source=condition.source, key=condition.key, values=tuple(condition.values))
            )
        else:
            conditions.append(
                UsageCondition(
                    usage_detail_pattern=condition.usage_detail_pattern,
                    operator=condition.operator,
                    value=condition.value,
                    case_sensitive=condition.case_sensitive,
                )
            )
    is_default = bool(body.is_default)
    return PricingTier(
        id=f"{model_id}_tier_default" if is_default else uuid.uuid4().hex,
        name=body.name,
        is_default=is_default,
        priority=body.priority,
        conditions=tuple(conditions),
        prices=dict(body.prices),
    )


def build_model(project_id: str, model_id: str, request: CreateModelRequest) -> ModelPrice:
    """The project model a valid request describes; 400 naming the field for a rule it breaks."""
    problem = _regex_error(request.match_pattern)
    if problem is not None:
        raise InvalidRequest(f"Invalid matchPattern {request.match_pattern!r}: {problem}.")
    start_date = None
    if request.start_date is not None:
        start_date = parse_iso_datetime(request.start_date)
        if start_date is None:
            raise InvalidRequest(
                f"Invalid startDate {request.start_date!r}: expected an ISO 8601 date-time such as "
                "2025-01-31T00:00:00Z."
            )
    flat = {usage: getattr(request, field) for usage, field in _FLAT_PRICES}
    flat = {usage: price for usage, price in flat.items() if price is not None}
    tiers_in = request.pricing_tiers or []
    if flat and tiers_in:
        raise InvalidRequest(
            "Invalid request data: provide either flat prices (inputPrice/outputPrice/totalPrice) "
            "or pricingTiers, not both."
        )
    if not flat and not tiers_in:
        raise InvalidRequest(
            "Invalid request data: provide either flat prices (inputPrice/outputPrice/totalPrice) "
            "or pricingTiers."
        )
    if "total" in flat and len(flat) > 1:
        raise InvalidRequest("Invalid totalPrice: it must be null when inputPrice or outputPrice is set.")
    if tiers_in:
        _check_tiers(tiers_in)
        tiers = tuple(_tier(model_id, tier) for tier in tiers_in)
    else:
        default = PricingTierBody(name="Standard", is_default=True, priority=0, conditions=[], prices=flat)
        tiers = (_tier(model_id, default),)
    return ModelPrice(
        id=model_id,
        model_name=request.model_name,
        match_pattern=request.match_pattern,
        start_date=start_date,
        unit=request.unit or "TOKENS",
        tokenizer_id=request.tokenizer_id,
        tokenizer_config=request.tokenizer_config,
        project_id=project_id,
        pricing_tiers=tiers,
    )


# -- use cases ------------------------------------------------------------------------------------


def _refuse_managed(model_id: str, action: str) -> None:
    if model_id in managed_model_ids():
        raise InvalidRequest(
            f"Model {model_id!r} is a managed (built-in) model and cannot be {action}. To use other "
            "prices, create your own model with the same modelName: a project's models take "
            "precedence over the managed ones."
        )


def _save(meta: MetaStore, project_id: str, model: ModelPrice) -> ModelView:
    stored = meta.put_model(project_id, model)
    invalidate_project_models(meta, project_id)
    return to_model_view(stored.model, managed=False, created_at=stored.created_at)


def create_model(meta: MetaStore, project_id: str, body: str | bytes | None) -> ModelView:
    """``POST /models``: a new project model under a generated id; 409 when its modelName,
    startDate and unit are taken by another model of the project."""
    request = parse_model_request(body)
    return _save(meta, project_id, build_model(project_id, new_model_id(), request))


def upsert_model(meta: MetaStore, project_id: str, model_id: str, body: str | bytes | None) -> ModelView:
    """``PUT /models/{id}``: create the project model with this id, or replace it whole.

    404 when the id belongs to another project's model, 400 for a managed model's id.
    """
    if not model_id.strip() or len(model_id) > MAX_MODEL_ID_LENGTH:
        raise InvalidRequest(f"Invalid model id: use 1 to {MAX_MODEL_ID_LENGTH} characters.")
    _refuse_managed(model_id, "modified")
    request = parse_model_request(body)
    return _save(meta, project_id, build_model(project_id, model_id, request))


def delete_model(meta: MetaStore, project_id: str, model_id: str) -> MessageResponse:
    """``DELETE /models/{id}``: remove one of the project's models; 404 for unknown ids."""
    _refuse_managed(model_id, "deleted")
    if not meta.delete_model(project_id, model_id):
        raise NotFound(NOT_FOUND_MESSAGE)
    invalidate_project_models(meta, project_id)
    return MessageResponse(message="Model successfully deleted")
