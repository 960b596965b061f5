"""Sampling profiles of a running server with py-spy (installed on first use into
``bench/.venv-tools`` from PyPI), summarised as the functions with the most inclusive and self time.
"""

from __future__ import annotations

import collections
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.common import REPO

TOOLS_VENV = REPO / "bench" / ".venv-tools"


def ensure_pyspy(venv: Path = TOOLS_VENV) -> Path:
    exe = venv / "bin" / "py-spy"
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, "py-spy"], check=True)
    return exe


@dataclass
class Recording:
    """A py-spy ``record`` running against one process; ``finish`` waits for it."""

    process: subprocess.Popen[bytes]
    output: Path

    def finish(self, timeout: float = 60.0) -> Path | None:
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.terminate()
            self.process.wait(timeout=10)
        return self.output if self.output.exists() else None


def record(pid: int, seconds: float, output: Path, rate: int = 100) -> Recording:
    """Start sampling ``pid`` (all threads, idle ones excluded) for ``seconds``; raw collapsed stacks."""
    exe = ensure_pyspy()
    cmd = [str(exe), "record", "--pid", str(pid), "--duration", str(max(1, int(seconds)))]
    cmd += ["--rate", str(rate), "--format", "raw", "--output", str(output), "--nonblocking", "--threads"]
    process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return Recording(process, output)


def _frame_name(frame: str) -> str:
    # "function (path/to/module.py:123)" -> "function (to/module.py)"
    name, _, where = frame.partition(" (")
    file = where.rsplit(":", 1)[0].rstrip(")")
    short = "/".join(Path(file).parts[-2:]) if file else ""
    return f"{name} ({short})" if short else name


_BORING = ("Thread._bootstrap", "Thread.run ", "_WorkItem.run", "_worker (futures", "_run_module_as_main",
           "_run_code", "<module>")  # fmt: skip


@dataclass
class ThreadProfile:
    name: str
    samples: int
    inclusive: list[tuple[str, float]]  # share of this thread's samples
    own: list[tuple[str, float]]


def summarise(path: Path, top: int = 12) -> tuple[list[ThreadProfile], int]:
    """Per thread (by name): its samples and its top functions by inclusive and self share."""
    inclusive: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    own: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    samples: collections.Counter[str] = collections.Counter()
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        head, _, rest = stack.partition(";")
        thread = head.split(": ", 1)[-1].rstrip("_0123456789") or head
        frames = [_frame_name(f) for f in rest.split(";") if f] or ["(no python frame)"]
        count = int(count_text)
        samples[thread] += count
        for name in set(frames):
            if not name.startswith(_BORING):
                inclusive[thread][name] += count
        own[thread][frames[-1]] += count
    total = sum(samples.values())
    out = []
    for thread, n in samples.most_common():
        share = 100.0 / n
        out.append(
            ThreadProfile(
                thread,
                n,
                [(f, c * share) for f, c in inclusive[thread].most_common(top)],
                [(f, c * share) for f, c in own[thread].most_common(top)],
            )
        )
    return out, total


def profile_markdown(path: Path, top: int = 12, min_share: float = 5.0) -> str:
    """Per busy thread: inclusive and self time tables (shares of that thread's samples)."""
    threads, total = summarise(path, top)
    if not total:
        return "(no samples)"
    lines = [f"{total:,} samples of busy threads (py-spy, 100 Hz, idle excluded)."]
    for thread in threads:
        if thread.samples * 100 / total < min_share:
            continue
        lines += ["", f"Thread `{thread.name}`: {thread.samples * 100 / total:.0f}% of the samples.", ""]
        lines += ["| inclusive % | function | self % | function |", "|---|---|---|---|"]
        for i in range(max(len(thread.inclusive), len(thread.own))):
            inc = thread.inclusive[i] if i < len(thread.inclusive) else ("", 0.0)
            own = thread.own[i] if i < len(thread.own) else ("", 0.0)
            lines.append(f"| {inc[1]:.1f} | `{inc[0]}` | {own[1]:.1f} | `{own[0]}` |")
    return "\n".join(lines)
