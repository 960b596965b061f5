"""The evaluation run state machine under moto, with our four task handlers as its Lambdas.

The definition is the eval stack's own: the app is composed as ``tests/infra`` does and
``definition_from_template`` pulls the ASL out of the eval stack's template.

moto executes the state machine (``execute_state_machine``) but never runs Lambda code; its
docker-free Lambda backend is pointed at our handlers instead, so each Task state really calls
``functions.eval_tasks.handler`` in-process (a raised exception becomes a Lambda function error,
as on AWS): ListItems → Map(EvaluateItem, results discarded) → Finalize → Succeeded, every
failure caught into MarkFailed → RunFailed.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from aws_cdk import App
from aws_cdk.assertions import Template
from moto import mock_aws
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

from functions.eval_tasks import handler as tasks
from stacks.composition import compose
from tests.infra.conftest import app_context
from tests.infra.statemachine import definition_from_template

ACCOUNT, REGION = "123456789012", "us-east-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/skyglass-eval"
# Function name (as definition_from_template names them by default) → the task handler.
HANDLERS: dict[str, Callable[..., Any]] = {
    "list_items": tasks.list_items,
    "evaluate_item": tasks.evaluate_item,
    "finalize": tasks.finalize,
    "mark_failed": tasks.mark_failed,
}


def _arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


class Invocations:
    """Runs the task handlers for moto's Lambda backend and records each call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any, Any]] = []
        self._lock = threading.Lock()
        self.handlers: dict[str, Callable[..., Any]] = dict(HANDLERS)

    def invoke(self, function_name: str, body: Any, response_headers: dict[str, str]) -> bytes:
        name = function_name.rsplit(":", 1)[-1]
        event = json.loads(body or "{}")
        try:
            result: Any = self.handlers[name](event, None)
        except Exception as exc:  # what the Lambda runtime reports for an unhandled error
            response_headers["x-amz-function-error"] = "Unhandled"
            result = {"errorType": type(exc).__name__, "errorMessage": str(exc)}
        with self._lock:
            self.calls.append((name, event, result))
        return json.dumps(result).encode()

    def of(self, name: str) -> list[tuple[Any, Any]]:
        with self._lock:
            return [(event, result) for called, event, result in self.calls if called == name]


@pytest.fixture(scope="module")
def definition(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The eval stack's ASL, from a synthesized template."""
    base = tmp_path_factory.mktemp("eval-cdk")
    app = App(outdir=str(base / "cdk.out"), context=app_context(base / "no-layer-build"))
    template = Template.from_stack(compose(app).eval).to_json()
    return definition_from_template(template, region=REGION, account=ACCOUNT)


class Waits:
    """Stands in for the ``time`` module of moto's retrier: records each retry wait, sleeps none."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.seconds.append(seconds)


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> Waits:
    recorded = Waits()
    monkeypatch.setattr(retrier_decl, "time", recorded)
    return recorded


@pytest.fixture
def sfn(
    monkeypatch: pytest.MonkeyPatch, definition: dict[str, Any], waits: Waits
) -> Iterator[tuple[Any, str, Invocations]]:
    # moto executes state machines with its ASL parser, which needs moto[stepfunctions]'s extras
    # (declared in the dev extra): a missing parser is an error, not a reason to skip.
    import antlr4  # noqa: F401

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    invocations = Invocations()

    def invoke(
        self: Any, function_name: str, qualifier: Any, body: Any, headers: Any, response_headers: Any
    ) -> bytes:
        return invocations.invoke(function_name, body, response_headers)

    monkeypatch.setattr(LambdaSimpleBackend, "invoke", invoke)
    config: Any = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
    with mock_aws(config=config):
        client = boto3.client("stepfunctions")
        arn = client.create_state_machine(
            name="skyglass-test-eval-run", definition=json.dumps(definition), roleArn=ROLE
        )["stateMachineArn"]
        yield client, arn, invocations


def run(client: Any, arn: str, payload: dict[str, Any], timeout: float = 30.0) -> dict[str, Any]:
    execution = client.start_execution(stateMachineArn=arn, input=json.dumps(payload))["executionArn"]
    deadline = time.monotonic() + timeout
    while True:
        described: dict[str, Any] = client.describe_execution(executionArn=execution)
        if described["status"] != "RUNNING" or time.monotonic() > deadline:
            return described
        time.sleep(0.05)


ITEMS = [
    {"id": "a", "output": "Paris is the capital", "expectedOutput": "Paris is the capital"},
    {"id": "b", "output": "Lyon", "expectedOutput": "Paris"},
    {"id": "c", "output": "the capital is Paris", "expectedOutput": "Paris"},
]


def test_a_run_lists_evaluates_every_item_and_finalizes(sfn: tuple[Any, str, Invocations]):
    client, arn, calls = sfn
    # When a run over three items executes
    described = run(client, arn, {"runId": "run-1", "items": ITEMS})
    # Then it succeeded with the summary Finalize computed
    assert described["status"] == "SUCCEEDED", described
    summary = json.loads(described["output"])
    assert summary["runId"] == "run-1" and summary["status"] == "SUCCEEDED" and summary["itemCount"] == 3
    assert summary["scores"]["token_f1"] == {
        "mean": pytest.approx((1.0 + 0.0 + 0.4) / 3, abs=1e-6),
        "min": 0.0,
        "max": 1.0,
    }
    # And each item was evaluated once, with the run id the Map's ItemSelector passed along
    evaluated = sorted(
        (event["runId"], event["item"]["id"], result["value"]) for event, result in calls.of("evaluate_item")
    )
    assert evaluated == [("run-1", "a", 1.0), ("run-1", "b", 0.0), ("run-1", "c", 0.4)]
    assert calls.of("mark_failed") == []


def test_a_failing_step_marks_the_run_failed(sfn: tuple[Any, str, Invocations]):
    client, arn, calls = sfn
    # When a run starts with input ListItems refuses
    described = run(client, arn, {"runId": "run-2", "items": "not a list"})
    # Then the run failed through MarkFailed, which got the error ListItems raised
    assert described["status"] == "FAILED", described
    assert described.get("error") == "EvaluationRunFailed"
    [(event, marked)] = calls.of("mark_failed")
    assert event["error"]["Error"] == "InvalidRequest"
    assert marked == {
        "runId": "run-2",
        "status": "FAILED",
        "error": "InvalidRequest",
        "cause": marked["cause"],
    }
    assert "items" in marked["cause"]
    assert calls.of("evaluate_item") == [] and calls.of("finalize") == []


def test_the_task_handlers_called_directly():
    # Given a run's input, each step's output is the next step's input (payload response only)
    listed = tasks.list_items({"items": [{"output": "a b", "expectedOutput": "a c"}]})
    assert listed["runId"] and listed["items"] == [{"output": "a b", "expectedOutput": "a c", "id": "0"}]
    result = tasks.evaluate_item({"runId": listed["runId"], "item": listed["items"][0]})
    assert result == {"runId": listed["runId"], "itemId": "0", "name": "token_f1", "value": 0.5}
    assert tasks.finalize(listed)["scores"]["token_f1"]["mean"] == 0.5
    assert tasks.finalize([result])["itemCount"] == 1
    failed = tasks.mark_failed({"runId": "r", "error": {"Error": "States.Timeout", "Cause": "slow"}})
    assert failed == {"runId": "r", "status": "FAILED", "error": "States.Timeout", "cause": "slow"}
    with pytest.raises(Exception, match="output"):
        tasks.evaluate_item({"item": {"id": "x"}})


def test_an_item_failing_once_is_retried_and_the_run_succeeds(
    sfn: tuple[Any, str, Invocations], waits: Waits
):
    client, arn, calls = sfn
    # Given an evaluation that fails the first time it sees item "b" (a throttled judge, say)
    seen: set[str] = set()

    def flaky(event: dict[str, Any], context: Any) -> Any:
        if event["item"]["id"] == "b" and "b" not in seen:
            seen.add("b")
            raise RuntimeError("judge throttled")
        return tasks.evaluate_item(event, context)

    calls.handlers["evaluate_item"] = flaky
    # When the run executes
    described = run(client, arn, {"runId": "run-3", "items": ITEMS})
    # Then it succeeded after one retry of "b", waiting within the first backoff step (2 s, full jitter)
    assert described["status"] == "SUCCEEDED", described
    assert sorted(event["item"]["id"] for event, _ in calls.of("evaluate_item")) == ["a", "b", "b", "c"]
    assert len(waits.seconds) == 1 and 0 <= waits.seconds[0] <= 2
    assert calls.of("mark_failed") == []


def test_an_item_failing_every_attempt_fails_the_run_after_the_retries(
    sfn: tuple[Any, str, Invocations], waits: Waits
):
    client, arn, calls = sfn
    # Given an item the evaluator cannot score (no output)
    items = [ITEMS[0], {"id": "broken", "expectedOutput": "Paris"}]
    # When the run executes
    described = run(client, arn, {"runId": "run-4", "items": items})
    # Then the item was tried 1 + 4 times, with growing, capped waits between attempts
    attempts = [event for event, _ in calls.of("evaluate_item") if event["item"]["id"] == "broken"]
    assert len(attempts) == 5
    assert len(waits.seconds) == 4
    assert all(0 <= wait <= cap for wait, cap in zip(waits.seconds, (2, 4, 8, 16), strict=True))
    # And the run failed through MarkFailed with the evaluator's error, without finalizing
    assert described["status"] == "FAILED", described
    [(event, marked)] = calls.of("mark_failed")
    assert event["error"]["Error"] == marked["error"] == "InvalidRequest"
    assert marked["runId"] == "run-4" and marked["status"] == "FAILED"
    assert calls.of("finalize") == []
