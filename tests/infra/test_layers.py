"""Dependency layers: the lean one for ingest, the full one for every other function, and what
``make layers`` installs into each (``stacks/layer_requirements.py``)."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import requires
from typing import Any

import pytest
from packaging.requirements import Requirement

from functions.manifest import FUNCTIONS
from stacks.layer_requirements import (
    PROVIDED_BY_LAMBDA,
    declared,
    layer_requirements,
    requirement_names,
    target_environment,
)
from tests.infra.conftest import Synth, resources

# The drivers and data the ingest path must never load or ship.
HEAVY = {"sqlalchemy", "alembic", "psycopg", "psycopg-binary", "clickhouse-connect", "tiktoken", "chdb"}


def layer_descriptions(template: dict[str, Any], function: dict[str, Any]) -> set[str]:
    """What the layers a function resource uses are (their descriptions, up to the parenthesis)."""
    layers = resources(template, "AWS::Lambda::LayerVersion")
    return {
        layers[ref["Ref"]]["Properties"]["Description"].split(" (")[0]
        for ref in function["Properties"]["Layers"]
    }


def test_ingest_gets_the_lean_layer_and_every_other_function_the_full_one(synth: Synth) -> None:
    # Given every function of every stack
    seen: dict[str, set[str]] = {}
    for role in ("api", "worker", "eval"):
        template = synth.template_json(role)
        for function in resources(template, "AWS::Lambda::Function").values():
            handler = function["Properties"].get("Handler", "")
            if handler.startswith("functions."):
                seen[handler] = layer_descriptions(template, function)
    # Then ingest has the ingest dependency layer and the skyglass package, nothing else
    ingest = seen.pop(FUNCTIONS["ingest"]["handler"])
    assert ingest == {"skyglass ingest function's third-party dependencies", "skyglass core package"}
    # And every other function (api, worker, migrate, eval tasks) the full layer and the package
    assert len(seen) >= 6
    for handler, layers in seen.items():
        assert layers == {"skyglass third-party dependencies", "skyglass core package"}, handler


def test_stacks_without_an_ingest_function_build_no_ingest_layer(synth: Synth) -> None:
    for role in ("worker", "eval"):
        layers = resources(synth.template_json(role), "AWS::Lambda::LayerVersion").values()
        assert not [x for x in layers if "ingest" in x["Properties"]["Description"]], role


def test_the_ingest_layer_leaves_out_the_database_drivers_and_tokenizer() -> None:
    # Given both layers' requirements
    full = requirement_names(layer_requirements("full"))
    ingest = requirement_names(layer_requirements("ingest"))
    # Then the lean one is a part of the full one without the heavy drivers
    assert ingest < full
    assert not ingest & HEAVY
    assert {"sqlalchemy", "psycopg", "clickhouse-connect", "tiktoken"} <= full
    # And what the ingest handler needs is there
    assert {"pydantic", "pydantic-settings", "aws-lambda-powertools", "orjson", "protobuf"} <= ingest


@pytest.mark.parametrize("layer", ["full", "ingest"])
def test_both_layers_carry_the_tracers_dependency(layer: str) -> None:
    # Given Powertools as declared for the Lambda layers
    powertools = [r for r in declared() if r.name == "aws-lambda-powertools"]
    assert any("tracer" in r.extras for r in powertools)
    tracer_deps = {
        Requirement(text).name
        for text in requires("aws-lambda-powertools") or []
        if Requirement(text).marker is not None
        and Requirement(text).marker.evaluate({**target_environment("3.13"), "extra": "tracer"})  # type: ignore[union-attr]
    }
    # Then the X-Ray SDK the Tracer needs is in the layer, pinned
    assert "aws-xray-sdk" in tracer_deps
    assert tracer_deps <= requirement_names(layer_requirements(layer))


@pytest.mark.parametrize("layer", ["full", "ingest"])
def test_layers_are_a_pinned_closure_without_the_runtimes_own_sdk(layer: str) -> None:
    # Given a layer's requirements (installed with pip --no-deps)
    lines = layer_requirements(layer)
    names = requirement_names(lines)
    # Then every line is pinned, boto3/botocore are left to the runtime
    assert all("==" in line for line in lines)
    assert not names & PROVIDED_BY_LAMBDA
    # And every dependency of every member (on the functions' runtime) is in the layer or the runtime
    env = target_environment("3.13")
    for name in names:
        for text in requires(name) or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({**env, "extra": ""}):
                dep = requirement.name.lower().replace("_", "-").replace(".", "-")
                assert dep in names | PROVIDED_BY_LAMBDA, f"{name} needs {dep}"


def test_with_the_layers_packages_the_handlers_get_powertools_real_tracer() -> None:
    # Given this environment, which has the layers' packages installed (the aws extra)
    from aws_lambda_powertools import Tracer

    from skyglass.bootstrap import lambda_tracer

    # Then the functions trace with Powertools' Tracer rather than the pass-through
    assert isinstance(lambda_tracer(), Tracer)


def test_a_disabled_tracer_is_the_pass_through_and_never_imports_the_x_ray_sdk() -> None:
    # Given a fresh interpreter with tracing disabled, as the ingest function runs by default
    code = (
        "import sys; from skyglass.bootstrap import lambda_tracer; t = lambda_tracer(); "
        "print(type(t).__name__, 'aws_xray_sdk' in sys.modules)"
    )
    env = {**os.environ, "POWERTOOLS_TRACE_DISABLED": "true"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    # Then it got the pass-through and the X-Ray SDK was not imported
    assert out.stdout.split() == ["_NoTracer", "False"]
