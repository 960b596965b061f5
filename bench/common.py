"""Shared helpers of the benchmarks: statistics, tables, machine facts and the results file.

Every benchmark prints its tables and appends them to ``docs/benchmarks.md`` together with the
exact command, the git commit (``+dirty`` when the tree has changes), the date and the machine
(cores, RAM, Python, load average before and after), so a number never travels without the
conditions it was measured under.
"""

from __future__ import annotations

import os
import platform
import shlex
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "docs" / "benchmarks.md"
RESULTS_MARKER = "<!-- results: benchmarks append below this line -->"


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (``pct`` in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def fmt(value: float | int | str | None, digits: int = 1) -> str:
    """A number for a table: thousands separators, ``-`` for missing or NaN."""
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value != value:
        return "-"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{digits}f}"


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub markdown table; cells are formatted with ``fmt`` unless already strings."""
    cells = [[c if isinstance(c, str) else fmt(c) for c in row] for row in rows]  # type: ignore[arg-type]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in cells]
    return "\n".join(lines)


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def _mem_total_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return float("nan")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine() -> str:
    """One line describing the machine this runs on."""
    return (
        f"{os.cpu_count()} cores ({_cpu_model()}), {_mem_total_gib():.0f} GiB RAM, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def git_commit() -> str:
    """``<short sha>`` or ``<short sha>+dirty``."""
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
        # The results file itself does not count: a run of ``make bench`` appends to it between
        # its benchmarks, and those later ones ran the same code.
        dirty = subprocess.run(
            [
                "git",
                "status",
                "--porcelain",
                "--untracked-files=no",
                "--",
                ".",
                f":!{RESULTS.relative_to(REPO)}",
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{sha}+dirty" if dirty else sha


def command_line() -> str:
    """The command that is running, as it could be typed again from the repository root."""
    argv = [Path(sys.executable).relative_to(REPO).as_posix() if _inside_repo(sys.executable) else "python"]
    main = sys.modules["__main__"]
    spec = getattr(main, "__spec__", None)
    argv += ["-m", spec.name] if spec is not None and spec.name else [sys.argv[0]]
    return shlex.join(argv + sys.argv[1:])


def _inside_repo(path: str) -> bool:
    try:
        Path(path).relative_to(REPO)
    except ValueError:
        return False
    return True


@dataclass
class Report:
    """The result of one benchmark run: sections of text and tables, recorded together."""

    title: str
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    load_before: str = field(default_factory=load_average)
    sections: list[str] = field(default_factory=list)
    t0: float = field(default_factory=time.monotonic)

    def add(self, heading: str, body: str) -> None:
        """Add one section (printed at once, recorded at the end)."""
        text = f"**{heading}**\n\n{body}" if heading else body
        self.sections.append(text)
        print(f"\n{text}\n", flush=True)

    def render(self, command: str | None = None) -> str:
        head = [
            f"### {self.title} — {self.started:%Y-%m-%d %H:%M} UTC",
            "",
            f"- command: `{command or command_line()}`",
            f"- commit: `{git_commit()}`",
            f"- machine: {machine()}",
            f"- load average (1/5/15 min): before `{self.load_before}`, after `{load_average()}`",
            f"- wall time: {time.monotonic() - self.t0:,.0f} s",
            "",
        ]
        return "\n".join(head) + "\n\n".join(self.sections) + "\n"

    def save(self, path: Path | None = RESULTS) -> None:
        """Append to ``path`` (``docs/benchmarks.md`` by default; ``None`` records nothing)."""
        if path is None:
            return
        text = self.render()
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"# Benchmark results\n\n{RESULTS_MARKER}\n")
        with path.open("a") as out:
            out.write("\n" + text)
        print(f"recorded in {path}", flush=True)


def results_path(value: str) -> Path | None:
    """``--results`` argument: a file, or ``-`` for printing only."""
    return None if value == "-" else Path(value)
