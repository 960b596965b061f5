"""Compose the skyglass stacks into an app: what ``app.py`` (and the infra tests) call.

Deploy order, made explicit where no reference implies it: data → worker (migrations run) → api
(serves only once the schema exists) → eval → monitoring.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aws_cdk import App, Stack, Tags

from stacks.api_stack import ApiStack
from stacks.config import SkyglassConfig, load_config
from stacks.constructs.observability import Watched
from stacks.constructs.runtime import ROOT
from stacks.data_stack import DataStack
from stacks.eval_stack import EvalStack
from stacks.monitoring_stack import MonitoringStack
from stacks.nag import enable_nag
from stacks.worker_stack import WorkerStack


@dataclass(frozen=True)
class SkyglassStacks:
    """The composed stacks, by role."""

    config: SkyglassConfig
    data: DataStack
    worker: WorkerStack
    api: ApiStack
    eval: EvalStack
    monitoring: MonitoringStack

    def all(self) -> list[Stack]:
        return [self.data, self.worker, self.api, self.eval, self.monitoring]


def cdk_json_context() -> dict[str, Any]:
    """``cdk.json``'s context (the feature flags): the CLI passes it to the app; ``python app.py``
    and the tests pass it themselves so every synth sees the same flags (``-c`` still wins)."""
    context: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]
    return context


def compose(app: App) -> SkyglassStacks:
    """Add every skyglass stack to ``app`` (environment-agnostic: the CLI's credentials decide
    account and region at deploy time) and turn cdk-nag on."""
    config = load_config(app)
    prefix = f"skyglass-{config.stage}"
    data = DataStack(
        app, f"{prefix}-data", config=config, description="skyglass: stateful resources (retained)"
    )
    resources = data.resources
    worker = WorkerStack(
        app, f"{prefix}-worker", config=config, data=resources, description="skyglass: worker and migrations"
    )
    api = ApiStack(
        app, f"{prefix}-api", config=config, data=resources, description="skyglass: public HTTP API"
    )
    api.add_stack_dependency(worker, "the API serves only once the migrations have run")
    evals = EvalStack(
        app, f"{prefix}-eval", config=config, data=resources, description="skyglass: evaluation runs"
    )
    watched = Watched(
        queue=resources.queue,
        dead_letters=resources.dead_letters,
        functions={
            **api.functions,
            **worker.functions,
            **{f"eval_{k}": v for k, v in evals.functions.items()},
        },
        http_api=api.http.api,
        cluster=resources.cluster,
        state_machine=evals.workflow.state_machine,
    )
    monitoring = MonitoringStack(
        app,
        f"{prefix}-monitoring",
        config=config,
        watched=watched,
        description="skyglass: alarms and dashboard",
    )
    for stack in (data, worker, api, evals, monitoring):
        Tags.of(stack).add("project", "skyglass")
        Tags.of(stack).add("skyglass:stage", config.stage)
    enable_nag(app)
    return SkyglassStacks(config, data, worker, api, evals, monitoring)
