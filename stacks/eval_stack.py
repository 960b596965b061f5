"""Evaluation runs: the task functions, the state machine that drives them, and their schedules."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from stacks.config import SkyglassConfig
from stacks.constructs.data_access import DataResources
from stacks.constructs.eval_schedules import EvalSchedules
from stacks.constructs.eval_workflow import TASKS, EvaluationWorkflow
from stacks.constructs.service_function import FunctionFactory


def _construct_id(task: str) -> str:
    return "Eval" + "".join(part.title() for part in task.split("_"))


class EvalStack(Stack):
    """``functions`` (one per task), ``workflow`` (state machine) and ``schedules``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: SkyglassConfig,
        data: DataResources,
        **kwargs: Any,
    ):
        super().__init__(scope, construct_id, **kwargs)
        factory = FunctionFactory(self, config=config, environment=data.environment())
        self.functions: dict[str, lambda_.Function] = {}
        for task in TASKS:
            function = factory.make(_construct_id(task), f"eval_{task}").function
            data.grant_meta(function)
            data.grant_analytics(function)
            self.functions[task] = function
        self.workflow = EvaluationWorkflow(
            self,
            "Workflow",
            name=f"skyglass-{config.stage}-eval-run",
            functions=self.functions,
            max_concurrency=config.eval_max_concurrency,
            log_retention_days=config.log_retention_days,
        )
        self.schedules = EvalSchedules(
            self, "Schedules", state_machine=self.workflow.state_machine, schedules=config.eval_schedules
        )
        CfnOutput(self, "EvalStateMachineArn", value=self.workflow.state_machine.state_machine_arn)
