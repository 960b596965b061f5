"""The two Lambda layers every function uses: the ``skyglass`` package and its third-party wheels.

Built without Docker: ``make layers`` runs ``pip install --platform manylinux2014_aarch64
--platform manylinux_2_28_aarch64 --only-binary=:all: --python-version <runtime>`` into
``build/layers/deps/python`` and writes the Python version beside it (``.python-version``). This
construct packages that folder as it is. Powertools is one of those wheels (it is a dependency of
the core package): bundling it pins the exact version the tests ran, needs no region-specific public
layer ARN, works in every partition, and saves a layer slot.

When the folder is not built (unit tests, a first ``cdk synth`` on a fresh clone) a small
placeholder asset is created at synth time and a warning says so; in strict mode (``make deploy``)
a missing or mismatched build is an error, so a placeholder never reaches an account.
"""

from __future__ import annotations

import tempfile
from functools import cache
from pathlib import Path

from aws_cdk import Annotations, IgnoreMode, RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from stacks.constructs.runtime import ARCHITECTURE, PYTHON_VERSION, ROOT, RUNTIME

VERSION_MARKER = ".python-version"
PLACEHOLDER_NOTE = "skyglass-placeholder.txt"


@cache
def placeholder_dir() -> Path:
    """A tiny stand-in layer folder (same content every time, so the asset hash is stable)."""
    root = Path(tempfile.mkdtemp(prefix="skyglass-deps-placeholder-"))
    (root / "python").mkdir()
    (root / "python" / PLACEHOLDER_NOTE).write_text(
        "Placeholder: the dependency layer was not built. Run `make layers` before deploying.\n"
    )
    return root


def is_built(deps_dir: Path) -> bool:
    """True when ``make layers`` has filled ``deps_dir/python``."""
    python = deps_dir / "python"
    return python.is_dir() and any(python.iterdir())


class CoreLayer(Construct):
    """``layers``: [third-party dependencies, the skyglass package], for arm64 and our runtime."""

    def __init__(self, scope: Construct, construct_id: str, *, deps_dir: Path, strict: bool = False):
        super().__init__(scope, construct_id)
        deps_dir = deps_dir if deps_dir.is_absolute() else ROOT / deps_dir
        self.built = is_built(deps_dir)
        if self.built:
            self._check_version(deps_dir)
            deps_asset = deps_dir
        elif strict:
            raise ValueError(f"dependency layer not built at {deps_dir}: run `make layers` first")
        else:
            Annotations.of(self).add_warning_v2(
                "skyglass:placeholderLayer",
                f"dependency layer not built at {deps_dir}; using a placeholder (run `make layers`)",
            )
            deps_asset = placeholder_dir()
        self.deps = lambda_.LayerVersion(
            self,
            "Deps",
            code=lambda_.Code.from_asset(str(deps_asset), exclude=[VERSION_MARKER]),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="skyglass third-party dependencies (manylinux aarch64 wheels)",
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.core = lambda_.LayerVersion(
            self,
            "Core",
            code=lambda_.Code.from_asset(
                str(ROOT / "layers" / "core"),
                exclude=["**/__pycache__", "**/*.pyc", "**/*.egg-info"],
                ignore_mode=IgnoreMode.DOCKER,
            ),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="skyglass core package",
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.layers: list[lambda_.ILayerVersion] = [self.deps, self.core]

    @staticmethod
    def _check_version(deps_dir: Path) -> None:
        marker = deps_dir / VERSION_MARKER
        built_for = marker.read_text().strip() if marker.is_file() else ""
        if built_for != PYTHON_VERSION:
            raise ValueError(
                f"dependency layer at {deps_dir} was built for Python {built_for or '(unknown)'}, "
                f"the functions run {PYTHON_VERSION}: run `make layers` again"
            )
