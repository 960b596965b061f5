"""The Lambda layers: the ``skyglass`` package and the third-party wheels of each function's kind.

Two dependency layers (``stacks/layer_requirements.py``): ``full`` for every function but ingest,
and the lean ``ingest`` one (no SQLAlchemy, psycopg, clickhouse-connect or tiktoken), so the
function on the SDKs' critical path loads and ships only what its handler imports. The manifest
says which one a function gets (``"layer"``, default ``full``).

Built without Docker: ``make layers`` runs ``pip install --no-deps --platform manylinux2014_aarch64
--platform manylinux_2_28_aarch64 --only-binary=:all: --python-version <runtime>`` on each layer's
pinned requirements into ``build/layers/<deps|ingest>/python`` and writes the Python version beside
it (``.python-version``). This construct packages those folders as they are. Powertools is one of
those wheels (it is a dependency of the core package): bundling it pins the exact version the tests
ran, needs no region-specific public layer ARN, works in every partition, and saves a layer slot.

When a folder is not built (unit tests, a first ``cdk synth`` on a fresh clone) a small placeholder
asset is created at synth time and a warning says so; in strict mode (``make deploy``) a missing
or mismatched build is an error, so a placeholder never reaches an account.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
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


# What each dependency layer is called in the template (the full one keeps its original id).
_DEPS = {
    "full": ("Deps", "skyglass third-party dependencies (manylinux aarch64 wheels)"),
    "ingest": (
        "IngestDeps",
        "skyglass ingest function's third-party dependencies (manylinux aarch64 wheels)",
    ),
}
LAYER_KINDS = tuple(_DEPS)


class CoreLayer(Construct):
    """``core`` (the skyglass package) and, per kind asked for, its third-party layer in ``deps``.

    ``deps_dirs``: kind → the ``make layers`` folder. A dependency layer is created when the first
    function of its kind asks (``layers_for``), so a stack holds only the layers its functions use.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, deps_dirs: Mapping[str, Path], strict: bool = False
    ):
        super().__init__(scope, construct_id)
        unknown = set(deps_dirs) - set(LAYER_KINDS)
        if unknown:
            raise ValueError(f"unknown layer kinds {sorted(unknown)}: one of {LAYER_KINDS}")
        self._deps_dirs = {kind: d if d.is_absolute() else ROOT / d for kind, d in deps_dirs.items()}
        self._strict = strict
        self.deps: dict[str, lambda_.LayerVersion] = {}
        self.built: dict[str, bool] = {}
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

    def layers_for(self, kind: str) -> list[lambda_.ILayerVersion]:
        """[the ``kind`` dependency layer, the skyglass package] for one function."""
        return [self.deps_layer(kind), self.core]

    def deps_layer(self, kind: str) -> lambda_.LayerVersion:
        """The third-party layer of ``kind``, created on first use."""
        layer = self.deps.get(kind)
        if layer is not None:
            return layer
        if kind not in self._deps_dirs:
            raise ValueError(f"no dependency folder for layer kind {kind!r} (have {sorted(self._deps_dirs)})")
        deps_dir = self._deps_dirs[kind]
        self.built[kind] = is_built(deps_dir)
        if self.built[kind]:
            self._check_version(deps_dir)
            asset = deps_dir
        elif self._strict:
            raise ValueError(f"{kind} dependency layer not built at {deps_dir}: run `make layers` first")
        else:
            Annotations.of(self).add_warning_v2(
                "skyglass:placeholderLayer",
                f"{kind} dependency layer not built at {deps_dir}; using a placeholder (run `make layers`)",
            )
            asset = placeholder_dir()
        construct_id, description = _DEPS[kind]
        layer = self.deps[kind] = lambda_.LayerVersion(
            self,
            construct_id,
            code=lambda_.Code.from_asset(str(asset), exclude=[VERSION_MARKER]),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description=description,
            removal_policy=RemovalPolicy.DESTROY,
        )
        return layer

    @staticmethod
    def _check_version(deps_dir: Path) -> None:
        marker = deps_dir / VERSION_MARKER
        built_for = marker.read_text().strip() if marker.is_file() else ""
        if built_for != PYTHON_VERSION:
            raise ValueError(
                f"dependency layer at {deps_dir} was built for Python {built_for or '(unknown)'}, "
                f"the functions run {PYTHON_VERSION}: run `make layers` again"
            )
