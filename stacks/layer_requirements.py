"""Print the Lambda dependency layer's requirements: the runtime dependencies of ``pyproject.toml``
(core + the ``aws`` extra), each pinned to the version installed in this environment, i.e. the
versions the test suite ran against. ``make layers`` feeds this to ``pip install --platform …``.

boto3/botocore are left out: the Lambda Python runtime ships them, and they are a third of the size.

Usage: ``python -m stacks.layer_requirements > build/layers/requirements.txt``
"""

from __future__ import annotations

import sys
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from packaging.requirements import Requirement

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
PROVIDED_BY_LAMBDA = frozenset({"boto3", "botocore"})
EXTRAS = ("aws",)


def layer_requirements(pyproject: Path = PYPROJECT) -> list[str]:
    """``name[extras]==installed version`` lines (the declared specifier when not installed)."""
    project = tomllib.loads(pyproject.read_text())["project"]
    declared = list(project["dependencies"])
    for extra in EXTRAS:
        declared.extend(project["optional-dependencies"][extra])
    lines: dict[str, str] = {}
    for text in declared:
        requirement = Requirement(text)
        name = requirement.name.lower()
        if name in PROVIDED_BY_LAMBDA:
            continue
        extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
        try:
            pin = f"=={version(requirement.name)}"
        except PackageNotFoundError:
            pin = str(requirement.specifier)
        lines[name] = f"{requirement.name}{extras}{pin}"
    return sorted(lines.values(), key=str.lower)


if __name__ == "__main__":
    sys.stdout.write("".join(f"{line}\n" for line in layer_requirements()))
