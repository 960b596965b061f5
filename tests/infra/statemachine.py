"""The evaluation state machine's ASL, taken out of a synthesized template, ready for moto.

``definition_from_template(template)`` resolves the ``DefinitionString`` intrinsics (``Fn::Join``,
``Ref`` to pseudo parameters, ``Fn::GetAtt`` of the task functions) into plain JSON, with each task
function's ARN replaced by one you give (by task name: ``list_items``, ``evaluate_item``,
``finalize``, ``mark_failed``) or by a default ARN in the given account and region::

    from aws_cdk.assertions import Template
    template = Template.from_stack(stacks.eval).to_json()
    asl = definition_from_template(template, {"list_items": my_list_items_arn, ...})
    sfn.create_state_machine(name="run", definition=json.dumps(asl), roleArn=role_arn)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

TASK_HANDLER_PREFIX = "functions.eval_tasks.handler."


def task_functions(template: Mapping[str, Any]) -> dict[str, str]:
    """``{logical id: task name}`` of the Lambda functions whose handler is an eval task."""
    out: dict[str, str] = {}
    for logical_id, resource in template["Resources"].items():
        handler = resource.get("Properties", {}).get("Handler", "")
        if resource["Type"] == "AWS::Lambda::Function" and handler.startswith(TASK_HANDLER_PREFIX):
            out[logical_id] = handler[len(TASK_HANDLER_PREFIX) :]
    return out


def definition_from_template(
    template: Mapping[str, Any],
    function_arns: Mapping[str, str] | None = None,
    *,
    region: str = "us-east-1",
    account: str = "123456789012",
    partition: str = "aws",
) -> dict[str, Any]:
    """The state machine definition (ASL) of ``template`` as a dict, every intrinsic resolved."""
    machines = [r for r in template["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine"]
    if len(machines) != 1:
        raise ValueError(f"expected one state machine in the template, found {len(machines)}")
    tasks = task_functions(template)
    arns = dict(function_arns or {})
    unknown = set(arns) - set(tasks.values())
    if unknown:
        raise ValueError(
            f"no task function named {sorted(unknown)}; the template has {sorted(tasks.values())}"
        )
    for task in tasks.values():
        arns.setdefault(task, f"arn:{partition}:lambda:{region}:{account}:function:{task}")
    pseudo = {
        "AWS::Region": region,
        "AWS::AccountId": account,
        "AWS::Partition": partition,
        "AWS::URLSuffix": "amazonaws.com",
    }

    def resolve(value: Any) -> Any:
        if isinstance(value, str | int | float | bool) or value is None:
            return value
        if isinstance(value, list):
            return [resolve(v) for v in value]
        if not isinstance(value, dict) or len(value) != 1:
            raise ValueError(f"cannot resolve {value!r}")
        ((fn, arg),) = value.items()
        if fn == "Fn::Join":
            delimiter, parts = arg
            return str(delimiter).join(str(resolve(p)) for p in parts)
        if fn == "Ref" and arg in pseudo:
            return pseudo[arg]
        if fn == "Fn::GetAtt" and arg[1] == "Arn" and arg[0] in tasks:
            return arns[tasks[arg[0]]]
        raise ValueError(f"cannot resolve {fn} {arg!r} in the state machine definition")

    definition = resolve(machines[0]["Properties"]["DefinitionString"])
    parsed: dict[str, Any] = json.loads(definition)
    return parsed
