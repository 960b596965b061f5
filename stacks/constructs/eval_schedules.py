"""EventBridge Scheduler schedules that start evaluation runs, from ``skyglass:eval_schedules``.

One role that only ``scheduler.amazonaws.com`` of this account may assume, allowed to start
executions of the evaluation state machine; each configured schedule (enabled or not) targets it
with its own input. The default configuration has one disabled sample schedule to copy from.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Aws, Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as targets
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from stacks.config import EvalSchedule


class EvalSchedules(Construct):
    """``role`` (assumable by EventBridge Scheduler) and one ``schedules`` entry per config item."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        state_machine: sfn.IStateMachine,
        schedules: Sequence[EvalSchedule],
    ):
        super().__init__(scope, construct_id)
        self.role = iam.Role(
            self,
            "SchedulerRole",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}}
            ),
            description="EventBridge Scheduler starts skyglass evaluation runs",
        )
        state_machine.grant_start_execution(self.role)
        self.schedules: list[scheduler.Schedule] = []
        for item in schedules:
            target = targets.StepFunctionsStartExecution(
                state_machine,
                role=self.role,
                input=scheduler.ScheduleTargetInput.from_object(item.input),
                retry_attempts=2,
                max_event_age=Duration.hours(1),
            )
            self.schedules.append(
                scheduler.Schedule(
                    self,
                    f"Schedule-{item.name}",
                    schedule=scheduler.ScheduleExpression.expression(item.expression),
                    target=target,
                    enabled=item.enabled,
                    description=f"skyglass evaluation run {item.name}",
                )
            )
