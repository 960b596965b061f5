"""Model matching against the shipped price table: names, provider prefixes, Bedrock ids and ARNs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from skyglass.domain.pricing import ModelPrice, load_default_models, match_model
from skyglass.domain.pricing_match import compile_pattern, pattern_matches

ACCOUNT = "123456789012"

MATCHES = [
    # OpenAI: bare, dated, LiteLLM/Azure/OpenRouter prefixes
    ("gpt-4o", "gpt-4o"),
    ("GPT-4o", "gpt-4o"),
    ("gpt-4o-2024-08-06", "gpt-4o"),
    ("gpt-4o-2024-11-20", "gpt-4o"),
    ("openai/gpt-4o", "gpt-4o"),
    ("azure/gpt-4o", "gpt-4o"),
    ("gpt-4o-2024-05-13", "gpt-4o-2024-05-13"),
    ("gpt-4o-mini", "gpt-4o-mini"),
    ("openai/gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
    ("gpt-4o-audio-preview-2024-12-17", "gpt-4o-audio-preview"),
    ("gpt-4.1", "gpt-4.1"),
    ("gpt-4.1-2025-04-14", "gpt-4.1"),
    ("gpt-4.1-mini", "gpt-4.1-mini"),
    ("gpt-4.1-nano-2025-04-14", "gpt-4.1-nano"),
    ("gpt-4-turbo-2024-04-09", "gpt-4-turbo"),
    ("gpt-4", "gpt-4"),
    ("gpt-3.5-turbo-0125", "gpt-3.5-turbo"),
    ("gpt-35-turbo", "gpt-3.5-turbo"),
    ("o1", "o1"),
    ("o1-2024-12-17", "o1"),
    ("o1-mini", "o1-mini"),
    ("o3-mini-2025-01-31", "o3-mini"),
    ("o3-pro", "o3-pro"),
    ("o4-mini", "o4-mini"),
    ("o4-mini-2025-04-16", "o4-mini"),
    ("gpt-5", "gpt-5"),
    ("gpt-5-2025-08-07", "gpt-5"),
    ("gpt-5-chat-latest", "gpt-5"),
    ("gpt-5-mini", "gpt-5-mini"),
    ("gpt-5-nano-2025-08-07", "gpt-5-nano"),
    ("gpt-5-codex", "gpt-5-codex"),
    ("gpt-5.1", "gpt-5.1"),
    ("gpt-5.1-codex-mini", "gpt-5.1-codex-mini"),
    ("gpt-4.5-preview", "gpt-4.5-preview"),
    ("gpt-4.5-preview-2025-02-27", "gpt-4.5-preview"),
    ("codex-mini-latest", "codex-mini-latest"),
    ("openai/codex-mini", "codex-mini-latest"),
    ("gpt-realtime", "gpt-realtime"),
    ("gpt-realtime-2025-08-28", "gpt-realtime"),
    ("text-embedding-3-small", "text-embedding-3-small"),
    ("text-embedding-ada-002", "text-embedding-ada-002"),
    # Anthropic: first party, aliases, Vertex @-dates, OpenRouter dots
    ("claude-3-5-sonnet-20241022", "claude-3-5-sonnet"),
    ("claude-3-5-sonnet-latest", "claude-3-5-sonnet"),
    ("anthropic/claude-3.5-sonnet", "claude-3-5-sonnet"),
    ("vertex_ai/claude-3-5-sonnet-v2@20241022", "claude-3-5-sonnet"),
    ("claude-3-7-sonnet-20250219", "claude-3-7-sonnet"),
    ("anthropic/claude-3.7-sonnet:thinking", "claude-3-7-sonnet"),
    ("claude-3-5-haiku-20241022", "claude-3-5-haiku"),
    ("claude-3-haiku-20240307", "claude-3-haiku"),
    ("claude-sonnet-4-20250514", "claude-sonnet-4"),
    ("claude-sonnet-4-0", "claude-sonnet-4"),
    ("claude-sonnet-4@20250514", "claude-sonnet-4"),
    ("claude-sonnet-4-5", "claude-sonnet-4-5"),
    ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
    ("anthropic/claude-sonnet-4.5", "claude-sonnet-4-5"),
    ("claude-opus-4-20250514", "claude-opus-4"),
    ("claude-opus-4-1-20250805", "claude-opus-4-1"),
    ("claude-opus-4-1@20250805", "claude-opus-4-1"),
    ("claude-opus-4-5-20251101", "claude-opus-4-5"),
    ("claude-haiku-4-5-20251001", "claude-haiku-4-5"),
    # Anthropic on Bedrock: model ids, inference profiles, ARNs, LiteLLM prefixes
    ("anthropic.claude-3-5-sonnet-20241022-v2:0", "claude-3-5-sonnet"),
    ("anthropic.claude-3-5-sonnet-20240620-v1:0", "claude-3-5-sonnet"),
    ("anthropic.claude-3-haiku-20240307-v1:0:200k", "claude-3-haiku"),
    ("us.anthropic.claude-3-7-sonnet-20250219-v1:0", "claude-3-7-sonnet"),
    ("us.anthropic.claude-sonnet-4-20250514-v1:0", "claude-sonnet-4"),
    ("eu.anthropic.claude-sonnet-4-20250514-v1:0", "claude-sonnet-4"),
    ("apac.anthropic.claude-sonnet-4-20250514-v1:0", "claude-sonnet-4"),
    ("global.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"),
    ("jp.anthropic.claude-haiku-4-5-20251001-v1:0", "claude-haiku-4-5"),
    ("us.anthropic.claude-opus-4-1-20250805-v1:0", "claude-opus-4-1"),
    ("anthropic.claude-3-5-haiku-20241022-v1:0", "claude-3-5-haiku"),
    (
        f"arn:aws:bedrock:us-east-1:{ACCOUNT}:inference-profile/us.anthropic.claude-sonnet-4-20250514-v1:0",
        "claude-sonnet-4",
    ),
    (
        "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-sonnet-20241022-v2:0",
        "claude-3-5-sonnet",
    ),
    (
        f"arn:aws:bedrock:eu-central-1:{ACCOUNT}:inference-profile/eu.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "claude-sonnet-4-5",
    ),
    ("bedrock/us.anthropic.claude-3-7-sonnet-20250219-v1:0", "claude-3-7-sonnet"),
    ("bedrock/converse/anthropic.claude-3-5-haiku-20241022-v1:0", "claude-3-5-haiku"),
    # Google
    ("gemini-2.5-pro", "gemini-2.5-pro"),
    ("models/gemini-2.5-pro-preview-06-05", "gemini-2.5-pro"),
    ("vertex_ai/gemini-2.5-flash", "gemini-2.5-flash"),
    ("gemini/gemini-2.5-flash-preview-09-2025", "gemini-2.5-flash"),
    ("gemini-2.5-flash-lite", "gemini-2.5-flash-lite"),
    ("gemini-2.0-flash-001", "gemini-2.0-flash"),
    ("gemini-2.0-flash-lite-001", "gemini-2.0-flash-lite"),
    ("gemini-1.5-pro-002", "gemini-1.5-pro"),
    ("gemini-1.5-flash-8b", "gemini-1.5-flash-8b"),
    ("google/gemini-3-pro-preview", "gemini-3-pro-preview"),
    # Mistral, incl. Bedrock ids
    ("mistral-large-2411", "mistral-large-2"),
    ("mistral.mistral-large-2407-v1:0", "mistral-large-2"),
    ("mistral.mistral-large-2402-v1:0", "mistral-large-2402"),
    ("mistral-medium-2508", "mistral-medium-3"),
    ("mistral/mistral-small-latest", "mistral-small-3"),
    ("codestral-2501", "codestral"),
    ("devstral-medium-2507", "devstral-medium-2507"),
    ("mistral/devstral-medium-2507", "devstral-medium-2507"),
    ("ministral-8b-latest", "ministral-8b"),
    ("mistral.mixtral-8x7b-instruct-v0:1", "mixtral-8x7b"),
    ("us.mistral.pixtral-large-2502-v1:0", "pixtral-large"),
    # Meta Llama across hosts
    ("meta.llama3-3-70b-instruct-v1:0", "llama-3.3-70b-instruct"),
    ("us.meta.llama3-3-70b-instruct-v1:0", "llama-3.3-70b-instruct"),
    ("groq/llama-3.3-70b-versatile", "llama-3.3-70b-instruct"),
    ("together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo", "llama-3.3-70b-instruct"),
    ("accounts/fireworks/models/llama-v3p1-8b-instruct", "llama-3.1-8b-instruct"),
    ("meta.llama3-1-405b-instruct-v1:0", "llama-3.1-405b-instruct"),
    ("meta.llama3-8b-instruct-v1:0", "llama-3-8b-instruct"),
    ("bedrock/meta.llama3-8b-instruct-v1:0", "llama-3-8b-instruct"),
    ("meta-llama/Meta-Llama-3-8B-Instruct", "llama-3-8b-instruct"),
    ("groq/llama3-8b-8192", "llama-3-8b-instruct"),
    ("meta.llama3-70b-instruct-v1:0", "llama-3-70b-instruct"),
    ("arn:aws:bedrock:us-east-1::foundation-model/meta.llama3-70b-instruct-v1:0", "llama-3-70b-instruct"),
    ("meta-llama/Meta-Llama-3-70B-Instruct", "llama-3-70b-instruct"),
    ("meta.llama3-1-8b-instruct-v1:0", "llama-3.1-8b-instruct"),
    ("us.meta.llama3-2-11b-instruct-v1:0", "llama-3.2-11b-vision-instruct"),
    ("us.meta.llama4-maverick-17b-instruct-v1:0", "llama-4-maverick-17b-instruct"),
    ("meta-llama/llama-4-scout-17b-16e-instruct", "llama-4-scout-17b-instruct"),
    # Amazon and Cohere on Bedrock
    ("amazon.nova-micro-v1:0", "amazon-nova-micro"),
    ("us.amazon.nova-lite-v1:0", "amazon-nova-lite"),
    (f"arn:aws:bedrock:us-west-2:{ACCOUNT}:inference-profile/us.amazon.nova-pro-v1:0", "amazon-nova-pro"),
    ("us.amazon.nova-premier-v1:0", "amazon-nova-premier"),
    ("amazon.titan-embed-text-v2:0", "amazon-titan-embed-text-v2"),
    ("amazon.titan-embed-text-v1", "amazon-titan-embed-text-v1"),
    ("cohere.command-r-plus-v1:0", "command-r-plus"),
    ("cohere.command-r-v1:0", "command-r"),
    ("cohere.embed-english-v3", "cohere-embed-english-v3"),
]

NO_MATCH = [
    "",
    "gpt-4o-mini-tts",  # a different product, not gpt-4o-mini
    "gpt-4o-realtime-preview",
    "gpt-realtime-mini",  # cheaper siblings with their own prices, not gpt-realtime
    "gpt-realtime-1.5",
    "gpt-realtime-2",
    "text-embedding-004",  # priced per character, not per token
    "devstral-medium-latest",
    "ft:gpt-4o-2024-08-06:acme::abc123",  # fine-tuned models have their own prices
    "claude-2.1",
    "claude-sonnet-4-7",
    "gemini-2.5-flash-image",
    "amazon.nova-2-lite-v1:0",
    "llama3.1:8b",  # a local Ollama tag: no list price
    f"arn:aws:bedrock:us-east-1:{ACCOUNT}:application-inference-profile/a1b2c3d4e5",  # opaque id
    "my-finetuned-model",
    "gpt-4o extra",
]


@pytest.fixture(scope="module")
def models() -> list[ModelPrice]:
    return load_default_models()


def _id(model_name: str, models: list[ModelPrice], **kwargs) -> str | None:
    matched = match_model(model_name, models, **kwargs)
    return matched.id if matched is not None else None


@pytest.mark.parametrize(("model_name", "expected_id"), MATCHES)
def test_model_strings_match_the_expected_model(models, model_name, expected_id):
    # Given the shipped price table / When a generation's model string is matched
    matched = match_model(model_name, models)
    # Then the intended model is found (the dated o3 entry aside, ids equal slugs)
    assert matched is not None, model_name
    assert matched.id == expected_id


@pytest.mark.parametrize("model_name", NO_MATCH)
def test_unpriced_or_different_models_match_nothing(models, model_name):
    assert match_model(model_name, models) is None


def test_sibling_models_never_shadow_each_other(models):
    # Given names that share a prefix with a cheaper/dearer sibling
    pairs = {"gpt-4o": "gpt-4o-mini", "gpt-4.1": "gpt-4.1-mini", "o3": "o3-mini", "gpt-5": "gpt-5-nano"}
    for short, longer in pairs.items():
        # Then each name resolves to its own entry
        short_model, long_model = match_model(short, models), match_model(longer, models)
        assert short_model is not None and long_model is not None
        assert short_model.model_name == short and long_model.model_name == longer


def test_project_models_win_over_defaults(models):
    # Given a project model overriding gpt-4o
    custom = ModelPrice.model_validate(
        {
            "id": "proj-gpt-4o",
            "modelName": "gpt-4o",
            "matchPattern": "(?i)^(openai/)?(gpt-4o)$",
            "inputPrice": 1e-6,
        }
    )
    # When matching with and without it
    assert _id("gpt-4o", models, project_models=[custom]) == "proj-gpt-4o"
    # Then names the project model does not cover still fall back to the defaults
    assert _id("gpt-4o-mini", models, project_models=[custom]) == "gpt-4o-mini"


def test_latest_start_date_not_in_the_future_wins(models):
    # Given o3's price cut, recorded as a dated entry from 2025-06-10
    before = datetime(2025, 5, 1, tzinfo=UTC)
    after = datetime(2025, 7, 1, tzinfo=UTC)
    # Then generations are priced by the entry in force at their time
    assert _id("o3", models, at=before) == "o3"
    assert _id("o3", models, at=after) == "o3-2025-06-10-price"
    # And an undated entry loses to a dated one that is in force
    undated = ModelPrice(id="a", model_name="m", match_pattern="^m$")
    dated = ModelPrice(id="b", model_name="m", match_pattern="^m$", start_date=before)
    assert _id("m", [undated, dated], at=after) == "b"
    assert _id("m", [undated, dated], at=datetime(2024, 1, 1, tzinfo=UTC)) == "a"


def test_postgres_style_inline_flags_are_translated():
    # Given patterns written for PostgreSQL, with (?i) not only at the start
    assert pattern_matches("(?i)^(openai/)?(gpt-4o)$", "OpenAI/GPT-4o")
    assert pattern_matches("^(?i)claude", "Claude-3")
    # Then case-sensitive patterns stay case-sensitive and broken ones never match
    assert not pattern_matches("^gpt-4o$", "GPT-4o")
    assert compile_pattern("(unclosed") is None
    assert not pattern_matches("(unclosed", "(unclosed")
