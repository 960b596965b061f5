"""One real synthesis of the whole CDK app per test session (per xdist worker), shared by the tests.

The app is composed exactly as ``app.py`` does (``cdk.json``'s feature flags, cdk-nag on), with test
context: a ClickHouse URL, an alarm e-mail, a pinned deploy nonce, and a dependency-layer folder
that does not exist, so the placeholder layer is used and no test needs the network or a ``make
layers`` build.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Node 20 is what this project's machines have; jsii's end-of-life banner would only add noise.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import pytest
from aws_cdk import App
from aws_cdk.assertions import Template

from stacks.composition import SkyglassStacks, cdk_json_context, compose

STAGE = "ci"
CLICKHOUSE_URL = "clickhouses://ch.example.com:8443/skyglass"
ALARM_EMAIL = "ops@example.com"
DEPLOY_NONCE = "20260101T000000Z-test"


def app_context(deps_dir: Path, **overrides: Any) -> dict[str, Any]:
    """``cdk.json``'s context plus the test deployment's knobs."""
    return {
        **cdk_json_context(),
        "skyglass:stage": STAGE,
        "skyglass:clickhouse_url": CLICKHOUSE_URL,
        "skyglass:alarm_email": ALARM_EMAIL,
        "skyglass:deps_layer_dir": str(deps_dir),
        "skyglass:ingest_layer_dir": str(deps_dir / "ingest"),
        "skyglass:deploy_nonce": DEPLOY_NONCE,  # reproducible templates
        **overrides,
    }


@dataclass
class Synth:
    """The composed app, its templates and what validation reported."""

    app: App
    stacks: SkyglassStacks
    outdir: Path
    error: str  # the synth error, "" when validation passed

    def template(self, role: str) -> Template:
        return Template.from_stack(getattr(self.stacks, role))

    def template_json(self, role: str) -> dict[str, Any]:
        return dict(self.template(role).to_json())

    def report(self) -> dict[str, Any]:
        path = self.outdir / "validation-report.json"
        return json.loads(path.read_text()) if path.exists() else {"pluginReports": []}


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """Synthesize the app once; a validation failure is kept for the compliance tests to report."""
    base = tmp_path_factory.mktemp("cdk")
    app = App(outdir=str(base / "cdk.out"), context=app_context(base / "no-layer-build"))
    stacks = compose(app)
    error = ""
    try:
        app.synth()
    except RuntimeError as exc:  # cdk-nag findings fail synthesis: the compliance test shows them
        error = str(exc)
    return Synth(app=app, stacks=stacks, outdir=base / "cdk.out", error=error)


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    """``{logical id: resource}`` of one CloudFormation type."""
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


def only(template: dict[str, Any], kind: str) -> dict[str, Any]:
    """The one resource of ``kind`` (fails if there are none or several)."""
    found = list(resources(template, kind).values())
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def function_by_handler(template: dict[str, Any], handler: str) -> tuple[str, dict[str, Any]]:
    """``(logical id, resource)`` of the Lambda function with ``handler``."""
    found = [
        (k, r)
        for k, r in resources(template, "AWS::Lambda::Function").items()
        if r["Properties"].get("Handler") == handler
    ]
    assert len(found) == 1, f"expected one function with handler {handler}, found {len(found)}"
    return found[0]


def policy_statements(template: dict[str, Any], role_logical_id: str) -> list[dict[str, Any]]:
    """Every statement of the IAM policies attached to one role."""
    out: list[dict[str, Any]] = []
    for policy in resources(template, "AWS::IAM::Policy").values():
        if {"Ref": role_logical_id} in policy["Properties"]["Roles"]:
            out.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return out


def actions_of(statements: list[dict[str, Any]]) -> set[str]:
    out: set[str] = set()
    for statement in statements:
        action = statement["Action"]
        out.update([action] if isinstance(action, str) else action)
    return out
