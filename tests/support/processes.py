"""Child processes killed mid-flight, for durability tests."""

from __future__ import annotations

import signal
import subprocess
import sys


def run_and_sigkill(code: str, *args: str) -> str:
    """Run ``python -c code *args``, wait for its first line of output, then kill it with SIGKILL
    (no clean-up of any kind can run); the line it printed."""
    child = subprocess.Popen(
        [sys.executable, "-c", code, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    line = child.stdout.readline()
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL
    return line.strip()
