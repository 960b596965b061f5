"""Alarms (to an SNS topic) and one CloudWatch dashboard over the whole deployment.

Every alarm treats missing data as OK: an idle deployment publishes no datapoints (SQS stops after
six idle hours, Lambda and API Gateway publish only on traffic), and idle is healthy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_rds as rds
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

PERIOD = Duration.minutes(5)


@dataclass(frozen=True)
class Watched:
    """What the alarms and the dashboard look at (owned by the other stacks)."""

    queue: sqs.IQueue
    dead_letters: sqs.IQueue
    functions: Mapping[str, lambda_.IFunction]
    http_api: apigwv2.IHttpApi
    cluster: rds.IDatabaseCluster
    state_machine: sfn.IStateMachine


class ServiceAlarms(Construct):
    """``alarms`` by name, each notifying ``topic``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        watched: Watched,
        topic: sns.ITopic,
        queue_age_seconds: int,
    ):
        super().__init__(scope, construct_id)
        self.alarms: dict[str, cw.Alarm] = {}
        self._add(
            "DeadLetters",
            watched.dead_letters.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(1), statistic="Maximum"
            ),
            threshold=0,
            what="messages in the dead-letter queue (inspect, fix, `skyglass redrive`)",
        )
        self._add(
            "QueueAge",
            watched.queue.metric_approximate_age_of_oldest_message(period=PERIOD, statistic="Maximum"),
            threshold=queue_age_seconds,
            what=f"ingest queue's oldest message older than {queue_age_seconds}s (worker behind or failing)",
        )
        for name, function in watched.functions.items():
            label = name.title().replace("_", "")
            self._add(
                f"{label}Errors", function.metric_errors(period=PERIOD), threshold=0, what=f"{name} errors"
            )
            self._add(
                f"{label}Throttles",
                function.metric_throttles(period=PERIOD),
                threshold=0,
                what=f"{name} throttles",
            )
        self._add(
            "Api5xx",
            watched.http_api.metric_server_error(period=PERIOD),
            threshold=0,
            what="API 5xx responses",
        )
        action = cw_actions.SnsAction(topic)
        for alarm in self.alarms.values():
            alarm.add_alarm_action(action)
            alarm.add_ok_action(action)

    def _add(self, alarm_id: str, metric: cw.Metric, *, threshold: float, what: str) -> None:
        self.alarms[alarm_id] = cw.Alarm(
            self,
            alarm_id,
            metric=metric,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            alarm_description=f"skyglass: {what}",
        )


class ServiceDashboard(Construct):
    """``dashboard``: API, queue, functions, Aurora capacity and evaluation runs at a glance."""

    def __init__(self, scope: Construct, construct_id: str, *, name: str, watched: Watched):
        super().__init__(scope, construct_id)
        api = watched.http_api
        functions = watched.functions

        def per_function(title: str, metric_of: str, statistic: str) -> cw.GraphWidget:
            metrics = [
                getattr(fn, metric_of)(period=PERIOD, statistic=statistic, label=name)
                for name, fn in functions.items()
            ]
            return cw.GraphWidget(title=title, left=metrics, width=8)

        self.dashboard = cw.Dashboard(self, "Dashboard", dashboard_name=name)
        self.dashboard.add_widgets(
            cw.GraphWidget(
                title="API requests",
                left=[api.metric_count(period=PERIOD), api.metric_client_error(period=PERIOD)],
                right=[api.metric_server_error(period=PERIOD)],
                width=12,
            ),
            cw.GraphWidget(
                title="API latency",
                left=[
                    api.metric_latency(period=PERIOD, statistic="p50"),
                    api.metric_latency(period=PERIOD, statistic="p99"),
                ],
                width=12,
            ),
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(
                title="Ingest queue",
                left=[watched.queue.metric_approximate_number_of_messages_visible(period=PERIOD)],
                right=[
                    watched.queue.metric_approximate_age_of_oldest_message(period=PERIOD, statistic="Maximum")
                ],
                width=12,
            ),
            cw.GraphWidget(
                title="Dead letters",
                left=[watched.dead_letters.metric_approximate_number_of_messages_visible(period=PERIOD)],
                width=12,
            ),
        )
        self.dashboard.add_widgets(
            per_function("Invocations", "metric_invocations", "Sum"),
            per_function("Errors", "metric_errors", "Sum"),
            per_function("Duration p95", "metric_duration", "p95"),
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(
                title="Aurora capacity (ACU)",
                left=[
                    watched.cluster.metric("ServerlessDatabaseCapacity", period=PERIOD, statistic="Maximum")
                ],
                width=12,
            ),
            cw.GraphWidget(
                title="Evaluation runs",
                left=[
                    watched.state_machine.metric_started(period=PERIOD),
                    watched.state_machine.metric_succeeded(period=PERIOD),
                    watched.state_machine.metric_failed(period=PERIOD),
                ],
                width=12,
            ),
        )
