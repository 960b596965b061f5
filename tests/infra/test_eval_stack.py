"""Evaluation runs: the state machine (Map + Retry + Catch), its ASL for moto, and Scheduler."""

from __future__ import annotations

import json

import pytest

from stacks.constructs.eval_workflow import TASKS
from tests.infra.conftest import Synth, only, resources
from tests.infra.statemachine import definition_from_template, task_functions


@pytest.fixture(scope="module")
def asl(synth: Synth) -> dict:
    return definition_from_template(synth.template_json("eval"))


def test_run_lists_items_fans_out_and_finalizes(asl: dict) -> None:
    # Given the definition
    states = asl["States"]
    # Then it starts by listing items, evaluates them in a Map, then finalizes and succeeds
    assert asl["StartAt"] == "ListItems"
    assert states["ListItems"]["Next"] == "EvaluateItems"
    assert states["EvaluateItems"]["Type"] == "Map"
    assert states["EvaluateItems"]["ItemsPath"] == "$.items"
    assert states["EvaluateItems"]["MaxConcurrency"] == 10
    assert states["EvaluateItems"]["Next"] == "Finalize"
    assert states["Finalize"]["Next"] == "Succeeded"


def test_each_item_is_retried_with_backoff_and_jitter(asl: dict) -> None:
    # Given the Map's item processor
    item = asl["States"]["EvaluateItems"]["ItemProcessor"]["States"]["EvaluateItem"]
    # Then a failed evaluation is retried with exponential backoff and full jitter, capped
    retry = next(r for r in item["Retry"] if "States.TaskFailed" in r["ErrorEquals"])
    assert retry["BackoffRate"] == 2
    assert retry["JitterStrategy"] == "FULL"
    assert retry["MaxAttempts"] >= 3
    assert retry["MaxDelaySeconds"] == 60


def test_any_failure_marks_the_run_failed_then_fails(asl: dict) -> None:
    # Given the definition
    states = asl["States"]
    # Then every working step catches everything into MarkFailed, which ends in a Fail state
    for name in ("ListItems", "EvaluateItems", "Finalize"):
        assert states[name]["Catch"] == [
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "MarkFailed"}
        ]
    assert states["MarkFailed"]["Next"] == "RunFailed"
    assert states["RunFailed"]["Type"] == "Fail"


def test_definition_helper_substitutes_the_given_lambda_arns(synth: Synth) -> None:
    # Given one ARN per task
    template = synth.template_json("eval")
    arns = {task: f"arn:aws:lambda:eu-west-1:111122223333:function:{task}-x" for task in TASKS}
    # When the definition is extracted with them
    asl = definition_from_template(template, arns)
    # Then every task resource is one of them, and nothing unresolved is left
    states = asl["States"]
    assert states["ListItems"]["Resource"] == arns["list_items"]
    assert (
        states["EvaluateItems"]["ItemProcessor"]["States"]["EvaluateItem"]["Resource"]
        == arns["evaluate_item"]
    )
    assert states["Finalize"]["Resource"] == arns["finalize"]
    assert states["MarkFailed"]["Resource"] == arns["mark_failed"]
    assert "Fn::" not in json.dumps(asl)
    assert sorted(task_functions(template).values()) == sorted(TASKS)


def test_definition_helper_rejects_an_unknown_task(synth: Synth) -> None:
    with pytest.raises(ValueError, match="no task function named"):
        definition_from_template(synth.template_json("eval"), {"score_items": "arn:aws:lambda:x"})


def test_state_machine_logs_and_traces(synth: Synth) -> None:
    # Given the state machine resource
    machine = only(synth.template_json("eval"), "AWS::StepFunctions::StateMachine")["Properties"]
    # Then it is a standard workflow with full logging (without item data) and X-Ray
    assert machine["StateMachineType"] == "STANDARD"
    assert machine["LoggingConfiguration"]["Level"] == "ALL"
    assert machine["LoggingConfiguration"]["IncludeExecutionData"] is False
    assert machine["TracingConfiguration"] == {"Enabled": True}


def test_scheduler_role_may_only_start_this_state_machine(synth: Synth) -> None:
    # Given the eval template
    template = synth.template_json("eval")
    machine_id = next(iter(resources(template, "AWS::StepFunctions::StateMachine")))
    roles = {
        k: r
        for k, r in resources(template, "AWS::IAM::Role").items()
        if "scheduler.amazonaws.com" in json.dumps(r["Properties"]["AssumeRolePolicyDocument"])
    }
    # Then one role trusts EventBridge Scheduler from this account only
    assert len(roles) == 1
    ((role_id, role),) = roles.items()
    trust = role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    # And its only permission is states:StartExecution on the evaluation state machine
    statements = [
        s
        for p in resources(template, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert statements == [
        {"Action": "states:StartExecution", "Effect": "Allow", "Resource": {"Ref": machine_id}}
    ]


def test_sample_schedule_is_disabled_and_targets_the_state_machine(synth: Synth) -> None:
    # Given the default context (one sample schedule)
    schedule = only(synth.template_json("eval"), "AWS::Scheduler::Schedule")["Properties"]
    # Then it exists, is disabled, and starts the state machine with its input through the role
    assert schedule["State"] == "DISABLED"
    assert schedule["ScheduleExpression"] == "cron(0 3 * * ? *)"
    assert json.loads(schedule["Target"]["Input"]) == {"runName": "nightly", "datasetName": "example"}
    assert "RoleArn" in schedule["Target"]


def test_each_task_has_its_own_arm64_function(synth: Synth) -> None:
    # Given the eval template
    template = synth.template_json("eval")
    functions = resources(template, "AWS::Lambda::Function")
    handlers = {f["Properties"]["Handler"] for f in functions.values()}
    # Then there is one function per task handler
    assert handlers == {f"functions.eval_tasks.handler.{task}" for task in TASKS}
    assert {tuple(f["Properties"]["Architectures"]) for f in functions.values()} == {("arm64",)}
