"""``python app.py`` synthesizes offline, environment-agnostic; the repo's CDK wiring stays consistent."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from aws_cdk import App

from stacks.composition import cdk_json_context, compose
from stacks.config import SkyglassConfig
from stacks.constructs.runtime import PYTHON_VERSION, ROOT, RUNTIME
from tests.infra.conftest import CLICKHOUSE_URL, app_context

STACK_ROLES = ("data", "worker", "api", "eval", "monitoring")


def test_python_app_py_synthesizes_offline_without_credentials(tmp_path: Path) -> None:
    # Given no AWS credentials or region at all, and an output folder in tmp
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_"))}
    env.update(
        CDK_OUTDIR=str(tmp_path / "cdk.out"),
        AWS_EC2_METADATA_DISABLED="true",
        JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20",
        # What `cdk synth -c …` would pass; the layer folder does not exist, so no network is needed.
        CDK_CONTEXT_JSON=json.dumps(
            {
                "skyglass:deps_layer_dir": str(tmp_path / "no-build"),
                "skyglass:ingest_layer_dir": str(tmp_path / "no-build-ingest"),
                "skyglass:clickhouse_url": CLICKHOUSE_URL,
            }
        ),
    )
    # When app.py runs as the CDK CLI would run it
    result = subprocess.run(
        [sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=240
    )
    # Then it succeeds and writes the five stacks, none tied to an account or region
    assert result.returncode == 0, result.stderr[-3000:]
    manifest = json.loads((tmp_path / "cdk.out" / "manifest.json").read_text())
    stacks = {k: a for k, a in manifest["artifacts"].items() if a["type"] == "aws:cloudformation:stack"}
    assert sorted(stacks) == sorted(f"skyglass-prod-{role}" for role in STACK_ROLES)
    assert {a["environment"] for a in stacks.values()} == {"aws://unknown-account/unknown-region"}
    # And nothing had to be looked up in an account (no cdk.context.json needed)
    assert "missing" not in manifest
    for name in stacks:
        assert (tmp_path / "cdk.out" / f"{name}.template.json").is_file()


def test_cdk_json_runs_app_py_and_carries_the_feature_flags() -> None:
    config = json.loads((ROOT / "cdk.json").read_text())
    assert config["app"] == "python3 app.py"
    assert config["context"]["@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy"] is True
    assert not [k for k in config["context"] if k.startswith("skyglass:")], (
        "skyglass knobs belong in docs/deploy.md"
    )


def test_makefile_builds_the_layer_for_the_functions_runtime() -> None:
    # Given the Makefile's layer Python version
    match = re.search(r"^LAMBDA_PYTHON\s*\?=\s*(\S+)", (ROOT / "Makefile").read_text(), re.M)
    # Then it is the runtime every function runs
    assert match is not None
    assert match.group(1) == PYTHON_VERSION
    assert RUNTIME.name == f"python{PYTHON_VERSION}"


def test_makefile_builds_the_layers_where_the_stacks_look_for_them() -> None:
    # Given the Makefile's layer folders and the config's defaults
    makefile = (ROOT / "Makefile").read_text()
    folders = dict(re.findall(r"^(LAYER_DIR|INGEST_LAYER_DIR)\s*:=\s*(\S+)", makefile, re.M))
    defaults = SkyglassConfig()
    # Then `make layers` fills exactly the folders the stacks package by default
    assert folders == {"LAYER_DIR": defaults.deps_layer_dir, "INGEST_LAYER_DIR": defaults.ingest_layer_dir}
    assert re.search(r"^layers: \$\(LAYER_DIR\)/\S+ \$\(INGEST_LAYER_DIR\)/\S+$", makefile, re.M)


def test_stacks_import_no_runtime_code_but_the_manifest() -> None:
    # Given every module of stacks/ and app.py
    offenders = []
    for path in [*sorted((ROOT / "stacks").rglob("*.py")), ROOT / "app.py"]:
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                if name.startswith("skyglass") or (
                    name.startswith("functions") and name != "functions.manifest"
                ):
                    offenders.append(f"{path.relative_to(ROOT)}: {name}")
    # Then none imports the skyglass package or a handler (functions.manifest is data only)
    assert offenders == []


def test_strict_mode_refuses_a_placeholder_layer(tmp_path: Path) -> None:
    # Given `make deploy`'s strict mode and no layer build
    app = App(context=app_context(tmp_path / "missing", **{"skyglass:strict": "true"}))
    # When the stacks are composed, Then it stops before anything is synthesized
    with pytest.raises(ValueError, match="make layers"):
        compose(app)


def test_strict_mode_requires_a_clickhouse_url(tmp_path: Path) -> None:
    context = {**cdk_json_context(), "skyglass:strict": True, "skyglass:deps_layer_dir": str(tmp_path)}
    with pytest.raises(ValueError, match="clickhouse_url is required"):
        compose(App(context=context))
