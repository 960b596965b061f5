"""Monitoring: the alarm topic (optionally mailed), the alarms, and the dashboard."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from stacks.config import SkyglassConfig
from stacks.constructs.observability import ServiceAlarms, ServiceDashboard, Watched
from stacks.nag import acknowledge


class MonitoringStack(Stack):
    """``topic``, ``alarms`` and ``dashboard`` over what ``watched`` names."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: SkyglassConfig, watched: Watched, **kwargs: Any
    ):
        super().__init__(scope, construct_id, **kwargs)
        self.topic = sns.Topic(
            self, "AlarmTopic", display_name=f"skyglass {config.stage} alarms", enforce_ssl=True
        )
        acknowledge(
            self.topic,
            "AwsSolutions-SNS2",
            "Alarm notifications carry alarm names and states, no customer data. CloudWatch cannot "
            "publish to a topic encrypted with the AWS managed SNS key, and a customer managed KMS "
            "key would bill every month of an otherwise idle deployment.",
        )
        if config.alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(config.alarm_email))
        self.alarms = ServiceAlarms(
            self,
            "Alarms",
            watched=watched,
            topic=self.topic,
            queue_age_seconds=config.queue_age_alarm_seconds,
        )
        self.dashboard = ServiceDashboard(self, "Dashboard", name=f"skyglass-{config.stage}", watched=watched)
        CfnOutput(self, "AlarmTopicArn", value=self.topic.topic_arn)
