"""Monitoring: alarms on the DLQ, queue age, each function's errors and throttles, API 5xx; topic; dashboard."""

from __future__ import annotations

import json

from tests.infra.conftest import ALARM_EMAIL, Synth, only, resources


def _alarms(synth: Synth) -> dict[str, dict]:
    return {
        k: a["Properties"]
        for k, a in resources(synth.template_json("monitoring"), "AWS::CloudWatch::Alarm").items()
    }


def test_dead_letters_alarm_fires_on_the_first_message(synth: Synth) -> None:
    # Given the alarms
    alarms = [a for a in _alarms(synth).values() if a["MetricName"] == "ApproximateNumberOfMessagesVisible"]
    # Then one watches the DLQ: any visible message (> 0) alarms
    assert len(alarms) == 1
    assert alarms[0]["Threshold"] == 0
    assert alarms[0]["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarms[0]["TreatMissingData"] == "notBreaching"
    assert "DeadLetters" in json.dumps(alarms[0]["Dimensions"])


def test_queue_age_alarm_uses_the_configured_threshold(synth: Synth) -> None:
    ages = [a for a in _alarms(synth).values() if a["MetricName"] == "ApproximateAgeOfOldestMessage"]
    assert len(ages) == 1
    assert ages[0]["Threshold"] == synth.stacks.config.queue_age_alarm_seconds


def test_every_function_has_an_errors_and_a_throttles_alarm(synth: Synth) -> None:
    # Given every Lambda function of the stateless stacks (the provider framework's own excepted)
    stacks = synth.stacks
    functions = {**stacks.api.functions, **stacks.worker.functions, **stacks.eval.functions}
    alarms = _alarms(synth).values()
    # Then each one is watched for errors and throttles
    for metric in ("Errors", "Throttles"):
        watched = [a for a in alarms if a["MetricName"] == metric and a["Namespace"] == "AWS/Lambda"]
        assert len(watched) == len(functions) == 8


def test_api_5xx_alarm(synth: Synth) -> None:
    server_errors = [a for a in _alarms(synth).values() if a["MetricName"] == "5xx"]
    assert len(server_errors) == 1
    assert server_errors[0]["Namespace"] == "AWS/ApiGateway"


def test_alarms_notify_the_topic_which_mails_the_operator(synth: Synth) -> None:
    # Given the monitoring template
    template = synth.template_json("monitoring")
    topic_id = next(iter(resources(template, "AWS::SNS::Topic")))
    # Then every alarm (and its recovery) notifies the topic
    for alarm in _alarms(synth).values():
        assert alarm["AlarmActions"] == [{"Ref": topic_id}]
        assert alarm["OKActions"] == [{"Ref": topic_id}]
    # And the configured e-mail is subscribed; the topic refuses plain HTTP
    subscription = only(template, "AWS::SNS::Subscription")["Properties"]
    assert subscription["Protocol"] == "email"
    assert subscription["Endpoint"] == ALARM_EMAIL
    policy = only(template, "AWS::SNS::TopicPolicy")["Properties"]["PolicyDocument"]
    assert "aws:SecureTransport" in json.dumps(policy)


def test_dashboard_shows_api_queue_functions_aurora_and_runs(synth: Synth) -> None:
    # Given the dashboard
    dashboard = only(synth.template_json("monitoring"), "AWS::CloudWatch::Dashboard")["Properties"]
    body = json.dumps(dashboard["DashboardBody"])
    # Then its widgets cover each part of the deployment
    for title in (
        "API requests",
        "Ingest queue",
        "Dead letters",
        "Invocations",
        "Aurora capacity",
        "Evaluation runs",
    ):
        assert title in body, title
