"""MessageQueue in one SQLite file: the embedded work queue with a dead-letter table.

Why SQLite: one file gives atomic, crash-safe commits and lets a second process (``skyglass
replay``/``redrive``) use the queue while the server runs. The file is in WAL mode so readers never
block the writer, with ``synchronous=FULL`` so every commit is fsynced: ``send`` returning means the
message survives ``kill -9`` *and* power loss (NORMAL would only survive a process crash, and the
ingest path answers the client right after ``send``). Every write is a short ``BEGIN IMMEDIATE``
transaction, which takes the write lock up front; with the busy timeout, concurrent writers (other
threads, other processes) wait for each other instead of failing with "database is locked".

A message is a row with a ``visible_at`` time: receiving hides it for the visibility timeout and
stamps a new receipt, acking deletes it, releasing moves ``visible_at``. A visible message that has
already been delivered ``max_receives`` times is moved to ``dead_letters`` instead of delivered.
Times are wall-clock epoch seconds because they must mean the same in another process or after a
restart. The file must be on a local disk (WAL needs shared memory between processes).
"""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import TracebackType

from skyglass.errors import InvalidRequest, StoreUnavailable
from skyglass.ports.queue import ReceivedMessage

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS messages (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL,
        body TEXT NOT NULL,
        sent_at REAL NOT NULL,
        visible_at REAL NOT NULL,
        receive_count INTEGER NOT NULL DEFAULT 0,
        receipt TEXT
    )""",
    # Receiving scans this index from the oldest visible time: O(batch), not O(backlog).
    "CREATE INDEX IF NOT EXISTS messages_visible ON messages (visible_at)",
    "CREATE INDEX IF NOT EXISTS messages_receipt ON messages (receipt) WHERE receipt IS NOT NULL",
    """CREATE TABLE IF NOT EXISTS dead_letters (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL,
        body TEXT NOT NULL,
        sent_at REAL NOT NULL,
        receive_count INTEGER NOT NULL,
        dead_at REAL NOT NULL
    )""",
    "PRAGMA user_version = 1",
)


class _Signal:
    """Wakes receivers waiting in this process when a message is sent here (no polling delay).

    Senders in other processes are not seen; receivers poll for those every ``poll_seconds``.
    """

    def __init__(self) -> None:
        self.generation = 0
        self._cond = threading.Condition()

    def notify(self) -> None:
        with self._cond:
            self.generation += 1
            self._cond.notify_all()

    def wait(self, seen: int, timeout: float) -> None:
        # Comparing generations closes the gap between "found nothing" and "started waiting".
        with self._cond:
            if self.generation == seen:
                self._cond.wait(timeout)


_signals: dict[str, _Signal] = {}
_signals_lock = threading.Lock()


def _signal_for(path: Path) -> _Signal:
    with _signals_lock:
        return _signals.setdefault(str(path), _Signal())


class LocalQueue:
    """Durable at-least-once queue in an SQLite file; safe across threads and processes."""

    def __init__(
        self,
        path: Path | str,
        visibility_seconds: float = 60,
        max_receives: int = 5,
        *,
        busy_timeout_seconds: float = 30.0,
        poll_seconds: float = 0.2,
    ):
        if visibility_seconds <= 0 or max_receives < 1:
            raise InvalidRequest("visibility_seconds must be > 0 and max_receives >= 1")
        self.path = Path(path).resolve()
        self.visibility_seconds = visibility_seconds
        self.max_receives = max_receives
        self._poll_seconds = poll_seconds
        self._lock = threading.Lock()
        self._signal = _signal_for(self.path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                self.path, timeout=busy_timeout_seconds, isolation_level=None, check_same_thread=False
            )
            self._setup(busy_timeout_seconds)
        except (OSError, sqlite3.Error) as exc:
            raise StoreUnavailable(f"cannot open local queue {self.path}: {exc}") from exc

    def _setup(self, busy_timeout_seconds: float) -> None:
        # Switching a new file to WAL needs an exclusive lock that the busy handler does not always
        # wait for, so two processes opening a fresh file at once retry here.
        deadline = time.monotonic() + busy_timeout_seconds
        while True:
            try:
                self._conn.execute("PRAGMA journal_mode = WAL")
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
        self._conn.execute("PRAGMA synchronous = FULL")
        with self._transaction("setup") as conn:
            for statement in _SCHEMA:
                conn.execute(statement)

    @contextmanager
    def _transaction(self, what: str) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` … ``COMMIT`` under the instance lock; SQLite errors → 503."""
        with self._lock:
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                    conn.execute("COMMIT")
                finally:
                    if conn.in_transaction:  # the body or COMMIT failed: undo everything
                        conn.rollback()
            except sqlite3.Error as exc:
                raise StoreUnavailable(f"local queue {what} failed: {exc}") from exc

    def _scalar(self, sql: str) -> float | None:
        with self._lock:
            try:
                row = self._conn.execute(sql).fetchone()
            except sqlite3.Error as exc:
                raise StoreUnavailable(f"local queue read failed: {exc}") from exc
        return None if row is None else row[0]

    def send(self, body: str) -> str:
        """Enqueue one message; it is fsynced to disk when this returns."""
        return self.send_many([body])[0]

    def send_many(self, bodies: list[str]) -> list[str]:
        """Enqueue messages in one transaction (one fsync for the whole batch)."""
        if not bodies:
            return []
        now = time.time()
        ids = [uuid.uuid4().hex for _ in bodies]
        with self._transaction("send") as conn:
            conn.executemany(
                "INSERT INTO messages (id, body, sent_at, visible_at) VALUES (?, ?, ?, ?)",
                [(message_id, body, now, now) for message_id, body in zip(ids, bodies, strict=True)],
            )
        self._signal.notify()
        return ids

    def receive(self, max_messages: int = 10, wait_seconds: float = 0.0) -> list[ReceivedMessage]:
        """Deliver up to ``max_messages`` visible messages, waiting up to ``wait_seconds`` for one.

        Idle waiting only reads the smallest ``visible_at`` (cheap, no write lock) and sleeps until
        a local send, the next message becoming visible, or the poll interval.
        """
        if max_messages <= 0:
            return []
        deadline = time.monotonic() + max(0.0, wait_seconds)
        while True:
            seen = self._signal.generation
            next_visible = self._scalar("SELECT MIN(visible_at) FROM messages")
            if next_visible is not None and next_visible <= time.time():
                received = self._receive_now(max_messages)
                if received:
                    return received
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            pause = min(remaining, self._poll_seconds)
            if next_visible is not None:
                pause = min(pause, max(0.0, next_visible - time.time()))
            if pause > 0:
                self._signal.wait(seen, pause)

    def _receive_now(self, max_messages: int) -> list[ReceivedMessage]:
        out: list[ReceivedMessage] = []
        with self._transaction("receive") as conn:
            # Read the clock once the write lock is held: waiting for it must not eat visibility.
            now = time.time()
            hidden_until = now + self.visibility_seconds
            while len(out) < max_messages:
                rows = conn.execute(
                    "SELECT seq, id, body, receive_count FROM messages WHERE visible_at <= ? "
                    "ORDER BY visible_at, seq LIMIT ?",
                    (now, max_messages - len(out)),
                ).fetchall()
                dead = [(now, seq) for seq, _, _, count in rows if count >= self.max_receives]
                updates = []
                for seq, message_id, body, count in rows:
                    if count < self.max_receives:
                        receipt = f"{seq}-{uuid.uuid4().hex}"
                        updates.append((receipt, hidden_until, seq))
                        out.append(ReceivedMessage(message_id, body, receipt, count + 1))
                conn.executemany(
                    "UPDATE messages SET receive_count = receive_count + 1, receipt = ?, visible_at = ? "
                    "WHERE seq = ?",
                    updates,
                )
                if not dead:
                    break
                conn.executemany(
                    "INSERT INTO dead_letters (id, body, sent_at, receive_count, dead_at) "
                    "SELECT id, body, sent_at, receive_count, ? FROM messages WHERE seq = ?",
                    dead,
                )
                conn.executemany("DELETE FROM messages WHERE seq = ?", [(seq,) for _, seq in dead])
                # Dead letters took places in this batch: look again for live messages behind them.
        return out

    def ack(self, receipts: list[str]) -> None:
        """Delete delivered messages; unknown or superseded receipts are ignored."""
        if not receipts:
            return
        with self._transaction("ack") as conn:
            conn.executemany("DELETE FROM messages WHERE receipt = ?", [(r,) for r in receipts])

    def release(self, receipt: str, delay_seconds: int = 0) -> None:
        """Make a delivered message visible again after ``delay_seconds``; unknown receipts ignored."""
        with self._transaction("release") as conn:
            conn.execute(
                "UPDATE messages SET visible_at = ? WHERE receipt = ?",
                (time.time() + max(0, delay_seconds), receipt),
            )
        self._signal.notify()

    def reclaim_in_flight(self) -> int:
        """Make every received, unacknowledged message visible now (receive counts kept).

        Only for the queue's sole consumer at start (see the port): the old receipts are dropped,
        so an ack or release with one is ignored, as for any superseded receipt.
        """
        with self._transaction("reclaim") as conn:
            now = time.time()
            reclaimed = conn.execute(
                "UPDATE messages SET visible_at = ?, receipt = NULL "
                "WHERE receipt IS NOT NULL AND visible_at > ?",
                (now, now),
            ).rowcount
        if reclaimed:
            self._signal.notify()
        return int(reclaimed)

    def depth(self) -> int:
        """Messages waiting or in flight (the dead-letter table not included)."""
        return int(self._scalar("SELECT COUNT(*) FROM messages") or 0)

    def dead_letter_depth(self) -> int:
        """Messages in the dead-letter table."""
        return int(self._scalar("SELECT COUNT(*) FROM dead_letters") or 0)

    def redrive(self, max_messages: int | None = None) -> int:
        """Move dead letters (oldest first) back to the queue with a fresh receive count."""
        limit = -1 if max_messages is None else max(0, max_messages)  # LIMIT -1: no limit
        now = time.time()
        with self._transaction("redrive") as conn:
            rows = conn.execute(
                "SELECT seq, id, body, sent_at FROM dead_letters ORDER BY seq LIMIT ?", (limit,)
            ).fetchall()
            conn.executemany(
                "INSERT INTO messages (id, body, sent_at, visible_at) VALUES (?, ?, ?, ?)",
                [(message_id, body, sent_at, now) for _, message_id, body, sent_at in rows],
            )
            conn.executemany("DELETE FROM dead_letters WHERE seq = ?", [(row[0],) for row in rows])
        if rows:
            self._signal.notify()
        return len(rows)

    def close(self) -> None:
        """Close the connection; committed messages stay in the file for the next opener."""
        with self._lock, suppress(sqlite3.Error):
            self._conn.close()

    def __enter__(self) -> LocalQueue:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
