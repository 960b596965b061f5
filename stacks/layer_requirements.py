"""Print the requirements of a Lambda dependency layer, every distribution pinned to the version
installed in this environment (the versions the test suite ran against).

Two layers (``LAYERS``), each the full closure of its roots' dependencies, so ``make layers`` installs
them with ``pip install --no-deps`` and nothing unpinned sneaks in:

* ``full``: the runtime dependencies of ``pyproject.toml`` (core + the ``aws`` extra), for every
  function but ingest;
* ``ingest``: only what ``functions/ingest/handler.py`` imports, so the ingest function's cold start
  and package stay small (``tests/functional/test_ingest_cold_start.py`` derives that set from a
  running handler and checks it is covered here). Its roots take their extras from the
  ``pyproject.toml`` declarations (``aws-lambda-powertools[tracer]``).

boto3, botocore and s3transfer are left out (not followed either): the Lambda Python runtime ships
them, and botocore alone would add ~25 MB to each layer. Markers are evaluated for the functions'
runtime (Linux, aarch64, CPython ``LAMBDA_PYTHON``), not for this interpreter.

Usage: ``python -m stacks.layer_requirements {full,ingest} [--python 3.13] > requirements.txt``
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
PROVIDED_BY_LAMBDA = frozenset({"boto3", "botocore", "s3transfer"})
FULL_EXTRAS = ("aws",)
INGEST_ROOTS = (
    "aws-lambda-powertools",
    "googleapis-common-protos",  # google.rpc.Status: the OTLP endpoint's error bodies
    "opentelemetry-proto",
    "orjson",
    "protobuf",
    "pydantic",
    "pydantic-settings",
    "zlib-ng",  # gzip request bodies (contracts/compression.py)
)
LAYERS = ("full", "ingest")


def declared(pyproject: Path = PYPROJECT) -> list[Requirement]:
    """The core dependencies and those of ``FULL_EXTRAS``, as declared in ``pyproject.toml``."""
    project = tomllib.loads(pyproject.read_text())["project"]
    texts = list(project["dependencies"])
    for extra in FULL_EXTRAS:
        texts.extend(project["optional-dependencies"][extra])
    return [Requirement(text) for text in texts]


def roots(layer: str, pyproject: Path = PYPROJECT) -> dict[str, set[str]]:
    """Canonical name → extras of the distributions ``layer`` starts from."""
    out: dict[str, set[str]] = {}
    for requirement in declared(pyproject):
        out.setdefault(canonicalize_name(requirement.name), set()).update(requirement.extras)
    if layer == "full":
        return out
    if layer == "ingest":
        return {name: out.get(name, set()) for name in map(canonicalize_name, INGEST_ROOTS)}
    raise ValueError(f"unknown layer {layer!r}: one of {LAYERS}")


def target_environment(python_version: str) -> dict[str, str]:
    """Marker variables of the functions' runtime (Lambda: Amazon Linux, arm64, CPython)."""
    env = dict(default_environment())
    env.update(
        python_version=python_version,
        python_full_version=f"{python_version}.0",
        implementation_name="cpython",
        platform_python_implementation="CPython",
        sys_platform="linux",
        platform_system="Linux",
        platform_machine="aarch64",
        os_name="posix",
    )
    return env


def closure(start: dict[str, set[str]], python_version: str) -> dict[str, str]:
    """Canonical name → installed version of ``start`` and everything it requires on the target."""
    env = target_environment(python_version)
    versions: dict[str, str] = {}
    seen_extras: dict[str, set[str]] = {}
    pending = [(name, set(extras)) for name, extras in start.items()]
    while pending:
        name, extras = pending.pop()
        if name in PROVIDED_BY_LAMBDA:
            continue
        known = seen_extras.get(name)
        if known is not None and extras <= known:
            continue
        seen_extras[name] = (known or set()) | extras
        try:
            dist = distribution(name)
        except PackageNotFoundError as exc:
            raise RuntimeError(
                f"{name} is required on Python {python_version} but not installed here: run `make install`"
            ) from exc
        versions[name] = dist.version
        for text in dist.requires or []:
            requirement = Requirement(text)
            wanted = ["", *sorted(seen_extras[name])]
            if requirement.marker is not None and not any(
                requirement.marker.evaluate({**env, "extra": extra}) for extra in wanted
            ):
                continue
            pending.append((canonicalize_name(requirement.name), set(requirement.extras)))
    return versions


def layer_requirements(layer: str, python_version: str = "3.13", pyproject: Path = PYPROJECT) -> list[str]:
    """``name==version`` lines of ``layer``'s closure, sorted by name."""
    pins = closure(roots(layer, pyproject), python_version)
    return [f"{name}=={pins[name]}" for name in sorted(pins)]


def requirement_names(lines: list[str]) -> set[str]:
    """The canonical names in ``layer_requirements`` output."""
    return {canonicalize_name(re.split(r"[=<>!~\[;]", line, maxsplit=1)[0]) for line in lines}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("layer", choices=LAYERS)
    parser.add_argument("--python", default="3.13", help="the functions' Python version")
    args = parser.parse_args(argv)
    sys.stdout.write("".join(f"{line}\n" for line in layer_requirements(args.layer, args.python)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
