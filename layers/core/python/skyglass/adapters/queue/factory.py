"""Pick the MessageQueue adapter from a URL (called by ``skyglass.bootstrap``).

URL forms:

* ``local:///abs/path/queue.db`` → ``LocalQueue`` (SQLite file, created if missing).
* ``https://sqs.<region>.amazonaws.com/<account>/<name>`` (any ``https://`` URL, e.g. a VPC or
  LocalStack endpoint's queue URL) → ``SqsQueue``.
* ``sqs://<host>/<account>/<name>`` → the same queue as ``https://<host>/<account>/<name>``.

The SQS dead-letter queue comes from, in order: the ``dlq_url`` argument; a ``?dlq=<url-encoded
queue URL>`` query parameter on the queue URL (removed before use); otherwise ``SqsQueue`` looks it
up from the main queue's ``RedrivePolicy`` on first use.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from skyglass.errors import InvalidRequest
from skyglass.ports.queue import MessageQueue

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


def make_queue(
    url: str,
    *,
    visibility_seconds: float = 60,
    max_receives: int = 5,
    dlq_url: str | None = None,
    sqs_client: SQSClient | None = None,
) -> MessageQueue:
    """Build the queue a URL names; keyword arguments mirror ``Settings.queue_*``.

    ``visibility_seconds`` applies to the local queue only: on AWS the queue's own visibility
    timeout (set by the data stack to outlast the worker Lambda) stays in charge.
    """
    parts = urlsplit(url)
    if parts.scheme == "local":
        if parts.netloc not in ("", "localhost"):
            raise InvalidRequest(f"local queue URL must be absolute (local:///path/queue.db): {url}")
        path = Path(unquote(parts.path))
        if not path.is_absolute() or not path.name:
            raise InvalidRequest(f"local queue URL must be absolute (local:///path/queue.db): {url}")
        from skyglass.adapters.queue.local import LocalQueue

        return LocalQueue(path, visibility_seconds=visibility_seconds, max_receives=max_receives)
    if parts.scheme in ("https", "sqs"):
        if not parts.netloc or not parts.path.strip("/"):
            raise InvalidRequest(f"SQS queue URL needs a host and a queue path: {url}")
        query = parse_qsl(parts.query, keep_blank_values=True)
        from_query = next((value for key, value in query if key == "dlq"), None)
        rest = urlencode([(key, value) for key, value in query if key != "dlq"])
        queue_url = urlunsplit(("https", parts.netloc, parts.path, rest, ""))
        from skyglass.adapters.queue.sqs import SqsQueue

        return SqsQueue(
            queue_url, dlq_url=dlq_url or from_query or None, client=sqs_client, max_receives=max_receives
        )
    raise InvalidRequest(f"unsupported queue URL (expected local://, https:// or sqs://): {url}")
