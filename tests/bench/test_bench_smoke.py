"""Every benchmark runs end to end on a tiny load and produces sane numbers.

Timings are never asserted here (the machine is shared and small); only that each benchmark ran,
measured something and — for ingestion — that every accepted span became queryable. Results go to
a temporary file, never to ``docs/benchmarks.md``. Phoenix is not started here (its install takes
a minute and 850 MB); ``make bench`` runs it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bench import coldstart, ingest, processing, query
from bench.common import percentile, table

pytestmark = pytest.mark.timeout(120)


def _numbers(text: str, header: str) -> list[str]:
    """The cells of the first table row after the heading ``header``."""
    section = text.split(f"**{header}**", 1)[1]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "---" not in line]
    return [cell.strip() for cell in rows[1].strip("|").split("|")]


def _number(cell: str) -> float:
    return float(cell.replace(",", "").split()[0])


def test_helpers_percentile_and_table() -> None:
    # Given values, When taking percentiles, Then nearest-rank picks existing values
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 99) == 4.0
    assert "| a | b |" in table(["a", "b"], [[1, 2.5]])


def test_ingest_smoke_every_span_queryable(tmp_path: Path) -> None:
    # Given a tiny closed-loop load against skyglass serve, When it runs and drains,
    out = tmp_path / "results.md"
    assert ingest.main(["--duration", "2", "--senders", "2", "--max-spans", "3060", "--peers", "skyglass",
                        "--drain-timeout", "30", "--results", str(out)]) == 0  # fmt: skip
    # Then spans were accepted and every one of them is queryable, with latencies measured
    text = out.read_text()
    cells = _numbers(text, "Results")
    assert cells[0] == "skyglass"
    assert _number(cells[2]) > 0  # spans/s accepted
    assert _number(cells[3]) > 0 and _number(cells[4]) >= _number(cells[3])  # ack p50 <= p99
    samples = re.match(r"(\d+) \((\d+)\)", cells[7])
    assert samples is not None and int(samples.group(1)) >= 1 and samples.group(2) == "0"
    details = _numbers(text, "Details")
    assert _number(details[1]) > 0 and details[1] == details[2]  # accepted == stored
    assert "command:" in text and "load average" in text and "commit:" in text


def test_processing_smoke_stores_every_span(tmp_path: Path) -> None:
    out = tmp_path / "results.md"
    assert processing.main(["--spans", "600", "--batch-messages", "4", "--results", str(out)]) == 0
    text = out.read_text()
    cells = _numbers(text, "Results")
    assert _number(cells[3]) > 0 and cells[3] == cells[4]  # spans sent == stored
    assert _number(cells[7]) > 0  # spans/s processed
    assert cells[11] == "0"  # nothing left in the queue


def test_query_smoke_answers_every_query(tmp_path: Path) -> None:
    out = tmp_path / "results.md"
    assert query.main(["--traces", "300", "--requests", "5", "--layout", "--results", str(out)]) == 0
    text = out.read_text()
    assert "by table layout" in text  # the layout experiment ran on both tables
    section = text.split("**Latency (ms)**", 1)[1]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert len(rows) >= 5
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert _number(cells[1]) > 0 and _number(cells[2]) > 0, row
        assert cells[5] == "0", row  # no bad answers


def test_coldstart_smoke_measures_imports_and_first_requests(tmp_path: Path) -> None:
    out = tmp_path / "results.md"
    assert coldstart.main(["--repeats", "1", "--serve-repeats", "1", "--results", str(out)]) == 0
    text = out.read_text()
    for name in ("ingest", "api", "worker"):
        row = next(line for line in text.splitlines() if line.startswith(f"| {name}:"))
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert _number(cells[2]) > 0 and _number(cells[3]) > 0, row  # import ms, package MiB
        assert cells[4] == "-" or _number(cells[4]) > 0, row  # layer MiB, when `make layers` ran
    serve = _numbers(text, "`skyglass serve`: seconds from spawn until")
    assert all(_number(c) > 0 for c in serve[1:])
