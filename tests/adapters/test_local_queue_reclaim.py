"""LocalQueue.reclaim_in_flight across a crash: what ``skyglass serve`` does at start.

The queue uses the production visibility timeout (60 s) here, so a delivery right after the
reclaim can only come from the reclaim, never from the timeout running out.
"""

from __future__ import annotations

from pathlib import Path

from skyglass.adapters.queue.local import LocalQueue
from tests.support.processes import run_and_sigkill

VISIBILITY = 60

RECEIVER = """
import sys
from skyglass.adapters.queue.local import LocalQueue

queue = LocalQueue(sys.argv[1], visibility_seconds=60)
received = queue.receive(max_messages=int(sys.argv[2]))
print(len(received), flush=True)
sys.stdin.read()  # hold the deliveries, never ack, until killed
"""


def _receive_in_a_process_killed_with_sigkill(path: Path, count: int) -> None:
    assert run_and_sigkill(RECEIVER, str(path), str(count)) == str(count)


def test_messages_held_by_a_killed_process_are_delivered_at_once_after_reclaim(tmp_path: Path) -> None:
    path = tmp_path / "queue.db"
    # Given 5 messages, 3 of them received by a worker process that was then killed with SIGKILL
    with LocalQueue(path, visibility_seconds=VISIBILITY) as queue:
        queue.send_many([f"m{i}" for i in range(5)])
    _receive_in_a_process_killed_with_sigkill(path, 3)
    # When the next process opens the queue, only 2 are deliverable until it reclaims
    with LocalQueue(path, visibility_seconds=VISIBILITY) as restarted:
        assert sorted(m.body for m in restarted.receive(max_messages=10)) == ["m3", "m4"]
        assert restarted.reclaim_in_flight() == 5  # the killed process's 3 and its own 2
        # Then all 5 come back at once (no 60 s wait), counting the earlier deliveries
        again = restarted.receive(max_messages=10)
        assert sorted((m.body, m.receive_count) for m in again) == [(f"m{i}", 2) for i in range(5)]
        restarted.ack([m.receipt for m in again])
        assert restarted.depth() == 0


def test_a_message_that_keeps_killing_the_process_still_reaches_the_dead_letter_queue(
    tmp_path: Path,
) -> None:
    path = tmp_path / "queue.db"
    with LocalQueue(path, visibility_seconds=VISIBILITY, max_receives=3) as queue:
        queue.send("poison")
    # Given a message whose processing kills the process, restart after restart
    for _ in range(3):
        with LocalQueue(path, visibility_seconds=VISIBILITY, max_receives=3) as queue:
            queue.reclaim_in_flight()
        _receive_in_a_process_killed_with_sigkill(path, 1)
    # When the next start reclaims it and receives
    with LocalQueue(path, visibility_seconds=VISIBILITY, max_receives=3) as queue:
        assert queue.reclaim_in_flight() == 1
        # Then it has used up its deliveries: it is dead-lettered instead of delivered again
        assert queue.receive(max_messages=10) == []
        assert (queue.depth(), queue.dead_letter_depth()) == (0, 1)
