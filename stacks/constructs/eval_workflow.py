"""The evaluation run state machine: list items → Map(evaluate item) → finalize; failures mark the run.

```
ListItems ──► EvaluateItems (Map, max concurrency N) ──► Finalize ──► Succeeded
                 └─ EvaluateItem  Retry: backoff x2, full jitter, capped
any of the three, on States.ALL ──► MarkFailed ──► RunFailed (Fail)
```

Tasks invoke Lambda by ARN with the state as payload (``payload_response_only``): the ASL stays
plain enough to run under moto (``tests/infra/statemachine.py`` extracts it from the template).
Each task's output becomes the next state; the Map discards per-item results (each evaluation
writes its own scores), so a large run never approaches the 256 KiB state size limit.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from stacks.constructs.log_groups import log_group
from stacks.nag import acknowledge, acknowledge_invoke_versions

TASKS = ("list_items", "evaluate_item", "finalize", "mark_failed")
RUN_TIMEOUT = Duration.hours(12)


def _invoke(scope: Construct, state_id: str, function: lambda_.IFunction) -> tasks.LambdaInvoke:
    return tasks.LambdaInvoke(scope, state_id, lambda_function=function, payload_response_only=True)


class EvaluationWorkflow(Construct):
    """``state_machine`` driving one evaluation run; ``functions`` maps each task name to its Lambda."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        functions: Mapping[str, lambda_.IFunction],
        max_concurrency: int,
        log_retention_days: int,
    ):
        super().__init__(scope, construct_id)
        missing = set(TASKS) - set(functions)
        if missing:
            raise ValueError(f"evaluation workflow needs functions for {sorted(missing)}")

        failed = _invoke(self, "MarkFailed", functions["mark_failed"]).next(
            sfn.Fail(self, "RunFailed", error="EvaluationRunFailed", cause="An evaluation step failed")
        )
        list_items = _invoke(self, "ListItems", functions["list_items"])
        evaluate = _invoke(self, "EvaluateItem", functions["evaluate_item"]).add_retry(
            errors=[sfn.Errors.TASKS_FAILED, sfn.Errors.TIMEOUT],
            interval=Duration.seconds(2),
            max_attempts=4,
            backoff_rate=2,
            max_delay=Duration.seconds(60),
            jitter_strategy=sfn.JitterType.FULL,
        )
        fan_out = sfn.Map(
            self,
            "EvaluateItems",
            items_path="$.items",
            item_selector={"runId.$": "$.runId", "item.$": "$$.Map.Item.Value"},
            max_concurrency=max_concurrency,
            result_path=sfn.JsonPath.DISCARD,
        )
        fan_out.item_processor(evaluate)
        finalize = _invoke(self, "Finalize", functions["finalize"])
        # Any failure of a working step (after its retries) marks the run failed, error in $.error.
        list_items.add_catch(failed, errors=[sfn.Errors.ALL], result_path="$.error")
        fan_out.add_catch(failed, errors=[sfn.Errors.ALL], result_path="$.error")
        finalize.add_catch(failed, errors=[sfn.Errors.ALL], result_path="$.error")

        definition = list_items.next(fan_out).next(finalize).next(sfn.Succeed(self, "Succeeded"))
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=name,
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            state_machine_type=sfn.StateMachineType.STANDARD,
            timeout=RUN_TIMEOUT,
            tracing_enabled=True,
            logs=sfn.LogOptions(
                destination=log_group(self, "Logs", log_retention_days),
                level=sfn.LogLevel.ALL,
                include_execution_data=False,
            ),
        )
        acknowledge(
            self.state_machine,
            "AwsSolutions-IAM5[Resource::*]",
            "Step Functions log delivery (logs:CreateLogDelivery and friends) supports no "
            "resource-level permissions, so AWS documents Resource '*' for it; X-Ray's "
            "PutTraceSegments is the same.",
        )
        for task in TASKS:
            acknowledge_invoke_versions(
                self.state_machine,
                functions[task],
                f"The state machine may invoke the {task} task function and its versions; nothing else.",
            )
        self.functions = dict(functions)
