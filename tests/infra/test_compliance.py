"""cdk-nag (AwsSolutions) with zero unacknowledged findings, reasons on every acknowledgment, cfn-lint clean."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
from aws_cdk import App, Stack, Validations
from aws_cdk import aws_sqs as sqs
from cfnlint.api import ManualArgs, lint
from constructs import IConstruct

from stacks.nag import acknowledge, enable_nag
from tests.infra.conftest import Synth

ROLES = ("data", "worker", "api", "eval", "monitoring")
# The placeholder layer warning is expected here: the tests synthesize without `make layers`.
EXPECTED_WARNINGS = {"Annotation::skyglass:placeholderLayer"}
# W3005 "dependency already enforced": CDK adds an explicit DependsOn on a role that the resource also
# references with GetAtt. Redundant, harmless, and not ours to remove from CDK's output.
ALLOWED_LINT_WARNINGS = {"W3005"}
LINT_REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"]


def test_cdk_nag_aws_solutions_has_no_unacknowledged_findings(synth: Synth) -> None:
    # Given the app synthesized with the AwsSolutions pack (as app.py does)
    findings = [
        f"{v['ruleName']} at {[c.get('constructPath') for c in v.get('violatingConstructs', [])]}"
        for plugin in synth.report()["pluginReports"]
        if plugin["pluginName"] == "AwsSolutions"
        for v in plugin["violations"]
    ]
    # Then validation passed and nothing is left to acknowledge
    assert findings == []
    assert synth.error == ""


def test_only_the_expected_warnings_are_reported(synth: Synth) -> None:
    # Given the construct annotations of the app
    warnings = {
        v["ruleName"]
        for plugin in synth.report()["pluginReports"]
        if plugin["pluginName"] != "AwsSolutions"
        for v in plugin["violations"]
        if v.get("severity") == "warning"
    }
    errors = [
        v["ruleName"]
        for plugin in synth.report()["pluginReports"]
        for v in plugin["violations"]
        if v.get("severity") == "error"
    ]
    # Then there is no error and no warning beyond the placeholder layer's
    assert errors == []
    assert warnings <= EXPECTED_WARNINGS


def test_nag_really_runs_and_fails_synthesis_on_a_finding(tmp_path: Path) -> None:
    # Given an app with cdk-nag on and a queue with neither encryption nor TLS enforcement
    app = App(outdir=str(tmp_path))
    stack = Stack(app, "NagProbe")
    queue = sqs.Queue(stack, "Plain", encryption=sqs.QueueEncryption.UNENCRYPTED)
    acknowledge(queue, "AwsSolutions-SQS3", "probe: the dead-letter rule is not what this test is about")
    enable_nag(app)
    # When it is synthesized
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    # Then the report names the unacknowledged findings but not the acknowledged one
    report = json.loads((tmp_path / "validation-report.json").read_text())
    rules = {v["ruleName"] for p in report["pluginReports"] for v in p["violations"]}
    assert {"AwsSolutions-SQS2", "AwsSolutions-SQS4"} <= rules
    assert "AwsSolutions-SQS3" not in rules


def _nag_acknowledgments(root: IConstruct) -> list[tuple[str, str, str]]:
    """(construct path, rule, reason) of every cdk-nag acknowledgment (CDK adds a few of its own
    for its built-in template checks; those are not ours)."""
    out: list[tuple[str, str, str]] = []
    for construct in root.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY and entry.data:
                out.extend(
                    (construct.node.path, rule, reason)
                    for rule, reason in dict(entry.data).items()
                    if "AwsSolutions" in rule
                )
    return out


def test_every_acknowledgment_names_one_rule_and_gives_a_reason(synth: Synth) -> None:
    # Given every cdk-nag acknowledgment in the app
    acks = _nag_acknowledgments(synth.app)
    # Then each gives a real sentence as its reason
    assert acks, "expected some acknowledgments"
    for path, rule, reason in acks:
        assert len(reason) >= 40 and reason.strip().endswith("."), (path, rule, reason)
    # And the set of rules acknowledged stays small and reviewed
    rules = Counter(re.search(r"AwsSolutions-[A-Z]+\d+", rule).group(0) for _, rule, _ in acks)  # type: ignore[union-attr]
    assert set(rules) == {
        "AwsSolutions-S1",  # the access-log bucket itself
        "AwsSolutions-SQS3",  # the DLQ itself
        "AwsSolutions-RDS11",  # default port, no network path
        "AwsSolutions-SMG4",  # no rotation: needs always-on networking / external ClickHouse
        "AwsSolutions-APIG4",  # Basic auth of the Langfuse protocol, checked in the functions
        "AwsSolutions-L1",  # runtime pinned with the layer build; CDK's provider runtime
        "AwsSolutions-IAM4",  # CDK Provider framework's basic execution role
        "AwsSolutions-IAM5",  # X-Ray/log delivery '*', object prefixes, function versions
        "AwsSolutions-SNS2",  # alarm topic without a paid KMS key
    }


@pytest.mark.parametrize("role", ROLES)
def test_cfn_lint_finds_no_errors(synth: Synth, role: str) -> None:
    # Given one synthesized template
    template = synth.template_json(role)
    # When cfn-lint checks it in a few regions
    matches = lint(json.dumps(template), config=ManualArgs(regions=LINT_REGIONS))
    # Then there is no error, and no warning beyond the documented one
    errors = [
        f"{m.rule.id} {m.message} @ {'/'.join(map(str, m.path))}"
        for m in matches
        if m.rule.id.startswith("E")
    ]
    warnings = {m.rule.id for m in matches if m.rule.id.startswith("W")}
    assert errors == []
    assert warnings <= ALLOWED_LINT_WARNINGS
