"""Spans recorded from real OpenAI instrumentations (``tests/events/record_openai.py``), posted to
``POST /api/public/otel/v1/traces`` of the local platform (in-process API, chDB, SQLite queue) and
read back as priced generations.

Expected values come from the fake endpoint's canned answers (``QUESTIONS``) and the shipped price
table, not from the recordings; one test re-runs each instrumentation live and checks it still
produces what was recorded.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from skyglass.contracts.otlp import decode_export_request, iter_spans
from skyglass.domain.otel import span_to_events
from skyglass.domain.pricing_models import load_default_models
from skyglass.local.server import LocalPlatform, build_platform
from skyglass.settings import Settings
from tests.events.otel.record import RECEIVED_AT
from tests.events.record_openai import QUESTIONS, SCENARIOS, SYSTEM, load_recorded, recorded_request
from tests.support.api import ApiClient, basic_auth
from tests.support.platform import drain

PATH = "/api/public/otel/v1/traces"
PK, SK = "pk-sg-recorded", "sk-sg-recorded"
PLAIN, STREAMED = "gpt-4o-mini", "gpt-4o"  # the two calls of every scenario, by requested model


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[LocalPlatform]:
    settings = Settings(
        data_dir=tmp_path / "data",
        init_org_name="acme",
        init_project_name="recorded",
        init_public_key=PK,
        init_secret_key=SK,
    )
    built = build_platform(settings)
    yield built
    built.runtime.close()


def ingest(platform: LocalPlatform, scenario: str) -> dict[str, dict[str, Any]]:
    """Post the recorded request as OTLP/JSON, run the worker; observations by requested model."""
    client = ApiClient(platform.runtime.api_services(), auth=basic_auth(PK, SK))
    reply = client.request(
        "POST", PATH, body=load_recorded(scenario), headers={"content-type": "application/json"}
    )
    assert reply.status == 200 and reply.json() == {}  # every span accepted
    drain(platform)
    observations = client.get("/api/public/observations", query={"limit": 50}).json()["data"]
    assert len(observations) == 2
    return {
        o["modelId"]: {**o, "_trace": client.get(f"/api/public/traces/{o['traceId']}").json()}
        for o in observations
    }


def price(model_id: str, key: str) -> float:
    model = next(m for m in load_default_models() if m.id == model_id)
    assert model.default_tier is not None
    return model.default_tier.prices[key]


def canned(model: str) -> tuple[str, str, str, dict[str, int]]:
    """``(question, answer, answering model, usage counts)`` the fake endpoint used for ``model``."""
    return QUESTIONS[model]


def assert_priced_generation(observation: dict[str, Any], model: str, usage: dict[str, int]) -> None:
    """A GENERATION of the answering model, matched to ``model``'s prices, costed from ``usage``."""
    _, _, served_by, _ = canned(model)
    assert observation["type"] == "GENERATION"
    assert (observation["model"], observation["modelId"]) == (served_by, model)
    for key, count in usage.items():
        assert observation["usageDetails"][key] == count, key
    expected = sum(count * price(model, key) for key, count in usage.items())
    assert observation["calculatedTotalCost"] == pytest.approx(expected)
    assert observation["costDetails"]["total"] == pytest.approx(expected)


# --- opentelemetry-instrumentation-openai-v2 ------------------------------------------------------


@pytest.mark.parametrize("model", [PLAIN, STREAMED])
def test_openai_v2_spans_become_priced_generations_with_their_messages(platform, model):
    observation = ingest(platform, "openai_v2")[model]
    question, answer, _, counts = canned(model)
    # Then the chat span is a generation priced from its reported usage (the v2 instrumentation
    # reports no cached tokens, so all input is priced as fresh input)
    usage = {"input": counts["prompt_tokens"], "output": counts["completion_tokens"]}
    assert_priced_generation(observation, model, usage)
    assert observation["usageDetails"]["total"] == sum(usage.values())
    # And its input/output are the GenAI-semconv messages the instrumentation captured
    assert observation["input"] == [
        {"role": "system", "parts": [{"type": "text", "content": SYSTEM["content"]}]},
        {"role": "user", "parts": [{"type": "text", "content": question}]},
    ]
    [reply] = observation["output"]
    assert reply["role"] == "assistant" and reply["parts"] == [{"type": "text", "content": answer}]
    # And, being the root of its trace, it gives the trace its name, IO and environment
    trace = observation["_trace"]
    assert (trace["name"], trace["environment"]) == (observation["name"], "test")
    assert (trace["input"], trace["output"]) == (observation["input"], observation["output"])
    assert trace["totalCost"] == pytest.approx(observation["calculatedTotalCost"])


def test_openai_v2_request_parameters_become_model_parameters(platform):
    observations = ingest(platform, "openai_v2")
    assert observations[PLAIN]["modelParameters"] == {"temperature": 0.2, "max_tokens": 16}
    assert not observations[STREAMED]["modelParameters"]  # the streamed call set none


@pytest.mark.parametrize("model", [PLAIN, STREAMED])
def test_openai_v2_without_content_capture_is_still_a_priced_generation(platform, model):
    observation = ingest(platform, "openai_v2_no_content")[model]
    _, _, _, counts = canned(model)
    # Given the instrumentation's defaults (no message content on spans)
    # Then the generation is priced but has no IO (and none is guessed by tokenising nothing)
    assert_priced_generation(
        observation, model, {"input": counts["prompt_tokens"], "output": counts["completion_tokens"]}
    )
    assert observation["input"] is None and observation["output"] is None


# --- openinference-instrumentation-openai ---------------------------------------------------------


@pytest.mark.parametrize("model", [PLAIN, STREAMED])
def test_openinference_spans_become_priced_generations_with_cached_tokens_split_out(platform, model):
    observation = ingest(platform, "openinference_openai")[model]
    question, answer, _, counts = canned(model)
    # Then the LLM span is a generation whose cached input is priced at the cached rate
    usage = {
        "input": counts["prompt_tokens"] - counts["cached_tokens"],
        "input_cached_tokens": counts["cached_tokens"],
        "output": counts["completion_tokens"],
    }
    assert_priced_generation(observation, model, usage)
    assert observation["usageDetails"]["total"] == counts["prompt_tokens"] + counts["completion_tokens"]
    # And its input/output are OpenInference's input.value/output.value: the request and the answer
    assert observation["input"]["messages"] == [SYSTEM, {"role": "user", "content": question}]
    [choice] = observation["output"]["choices"]
    assert (choice["message"]["role"], choice["message"]["content"]) == ("assistant", answer)
    assert observation["_trace"]["input"] == observation["input"]


def test_openinference_invocation_parameters_become_model_parameters(platform):
    observations = ingest(platform, "openinference_openai")
    assert observations[PLAIN]["modelParameters"] == {"model": PLAIN, "temperature": 0.2, "max_tokens": 16}
    assert observations[STREAMED]["modelParameters"]["stream"] is True


# --- the recordings are still what the instrumentations produce -----------------------------------

VOLATILE = {"id", "timestamp", "startTime", "endTime", "completionStartTime"}


def _shape(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The mapped events of an OTLP/JSON request, without what differs between runs (times)."""
    request = decode_export_request(orjson.dumps(document), "application/json", None)
    shaped: list[dict[str, Any]] = []
    for span in iter_spans(request):
        for event in span_to_events(span, received_at=RECEIVED_AT):
            body = {k: v for k, v in event["body"].items() if k not in VOLATILE - {"id"}}
            metadata = copy.deepcopy(body.get("metadata", {}))
            for entry in metadata.get("events", []):
                entry.pop("time", None)
            body["metadata"] = metadata
            shaped.append({"type": event["type"], "body": body})
    return shaped


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_the_live_instrumentation_still_produces_the_recording(scenario):
    # Given the scenario run now with the installed openai client and instrumentation
    live = recorded_request(SCENARIOS[scenario]())
    # Then, times aside, it maps to exactly the events of the recording
    assert _shape(live) == _shape(orjson.loads(load_recorded(scenario)))
