from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import LiveServer


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One ``skyglass serve`` subprocess per test module, on a free port and a fresh data folder."""
    root: Path = tmp_path_factory.mktemp("live")
    server = LiveServer(data_dir=root / "data").start()
    yield server
    code = server.stop()
    assert code == 0, f"server exited with {code}:\n{server.logs()}"
