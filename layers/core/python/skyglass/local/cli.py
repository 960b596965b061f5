"""The ``skyglass`` command: serve, keys, replay, redrive.

Every command reads the same settings (``SKYGLASS_*``) as the runtimes, so pointed at a deployed
stack (``SKYGLASS_META_URL=aurora-data-api://…``, ``SKYGLASS_KEYS_URL=s3://…``,
``SKYGLASS_BLOB_URL=s3://…``, ``SKYGLASS_QUEUE_URL=https://sqs…``) it manages that stack's keys,
replays its raw log and redrives its dead-letter queue. The key commands wait (up to a minute, saying
so) while a paused Aurora resumes, rather than failing on the first call.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from skyglass.errors import StoreResuming
from skyglass.resume import retry_while_resuming
from skyglass.settings import Settings

T = TypeVar("T")

# How long the key commands wait for a paused Aurora (the metadata store) to resume.
RESUME_WAIT_SECONDS = 60.0


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, object] = {}
    for name in ("data_dir", "host", "port"):
        value = getattr(args, name, None)
        if value is not None:
            overrides[name] = value
    return Settings(**overrides)  # type: ignore[arg-type]


def iso_time(text: str) -> datetime:
    """An ISO-8601 time for ``--since``/``--until`` (no offset means UTC).

    Used as an argparse ``type``: a bad value becomes a usage error naming the option and an
    example (exit code 2), never a traceback.
    """
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an ISO-8601 time: {text!r} (e.g. 2026-01-01T00:00:00Z or 2026-01-01)"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _cmd_serve(args: argparse.Namespace) -> int:
    from skyglass.local.server import serve

    return serve(_settings(args))


def _announce_resume(exc: StoreResuming, delay: float) -> None:
    print(
        f"{exc.message} (Aurora takes ~15-30 s to wake from auto-pause); retrying in {delay:.0f} s",
        file=sys.stderr,
        flush=True,
    )


def _while_resuming(call: Callable[[], T]) -> T:
    """``call()``, waiting up to ``RESUME_WAIT_SECONDS`` for a paused metadata store to resume."""
    return retry_while_resuming(call, budget_seconds=RESUME_WAIT_SECONDS, on_wait=_announce_resume)


def _cmd_keys_create(args: argparse.Namespace) -> int:
    from skyglass.auth.projection import create_published_key_pair
    from skyglass.bootstrap import Runtime

    settings = _settings(args)
    runtime = Runtime(settings)
    try:
        # Against AWS (aurora-data-api:// metadata, an s3:// key projection) this writes both.
        pair = _while_resuming(
            lambda: create_published_key_pair(
                runtime.meta,
                runtime.key_projection,
                args.project,
                org_name=args.org,
                public_key=args.public_key,
                secret_key=args.secret_key,
                note=args.note,
                pepper=settings.key_salt,
            )
        )
    finally:
        runtime.close()
    print(f"project: {pair.project.name} ({pair.project.id})")
    print(f"LANGFUSE_PUBLIC_KEY={pair.public_key}")
    print(f"LANGFUSE_SECRET_KEY={pair.secret_key}")
    return 0


def _cmd_keys_list(args: argparse.Namespace) -> int:
    from skyglass.bootstrap import Runtime

    runtime = Runtime(_settings(args))
    try:
        projects = _while_resuming(runtime.meta.list_projects)
        for project in projects:
            for key in runtime.meta.list_api_keys(project.id):
                state = "revoked" if key.revoked_at else "active"
                print(f"{project.name}\t{key.public_key}\t{key.display_secret_key}\t{state}")
    finally:
        runtime.close()
    return 0


def _cmd_keys_revoke(args: argparse.Namespace) -> int:
    from skyglass.auth.projection import revoke_published_key
    from skyglass.bootstrap import Runtime

    runtime = Runtime(_settings(args))
    try:
        revoked = _while_resuming(
            lambda: revoke_published_key(runtime.meta, runtime.key_projection, args.public_key)
        )
    finally:
        runtime.close()
    print("revoked" if revoked else f"no such key: {args.public_key}")
    return 0 if revoked else 1


def _cmd_keys_sync(args: argparse.Namespace) -> int:
    from skyglass.auth.projection import sync_projection
    from skyglass.bootstrap import Runtime

    runtime = Runtime(_settings(args))
    try:
        projection = runtime.key_projection
        if projection is None:
            print("no key projection configured (SKYGLASS_KEYS_URL): nothing to sync")
            return 1
        report = _while_resuming(lambda: sync_projection(runtime.meta, projection))
    finally:
        runtime.close()
    print(f"key projection: {report.written} keys written, {report.removed} stale entries removed")
    return 0


def _cmd_replay(args: argparse.Namespace) -> int:
    from skyglass.bootstrap import Runtime
    from skyglass.processing.replay import replay

    runtime = Runtime(_settings(args))
    try:
        report = replay(
            runtime.blobs,
            runtime.queue,
            since=args.since,
            until=args.until or datetime.now(UTC),
            project_id=args.project_id,
            dry_run=args.dry_run,
        )
    finally:
        runtime.close()
    verb = "would re-enqueue" if args.dry_run else "re-enqueued"
    print(
        f"{verb} {report.count} blobs"
        + (f" ({report.first_key} … {report.last_key})" if report.count else "")
    )
    return 0


def _cmd_redrive(args: argparse.Namespace) -> int:
    from skyglass.bootstrap import Runtime
    from skyglass.processing.replay import redrive

    runtime = Runtime(_settings(args))
    try:
        moved = redrive(runtime.queue, max_messages=args.max)
    finally:
        runtime.close()
    print(f"moved {moved} messages from the dead-letter queue back to the queue")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="skyglass", description="LLM engineering platform (Langfuse-compatible)."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def data_dir(p: argparse.ArgumentParser) -> None:
        p.add_argument("--data-dir", type=Path, default=None, help="data folder (default ./.skyglass)")

    serve = sub.add_parser("serve", help="run the API and the worker on embedded engines")
    serve.add_argument("--host", default=None, help="listen address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="listen port (default 3000)")
    data_dir(serve)
    serve.set_defaults(func=_cmd_serve)

    keys = sub.add_parser("keys", help="manage API key pairs").add_subparsers(
        dest="keys_command", required=True
    )
    create = keys.add_parser("create", help="create a key pair (and the project if needed)")
    create.add_argument("--project", required=True)
    create.add_argument("--org", default="default")
    create.add_argument("--public-key", default=None)
    create.add_argument("--secret-key", default=None)
    create.add_argument("--note", default=None)
    data_dir(create)
    create.set_defaults(func=_cmd_keys_create)
    listing = keys.add_parser("list", help="list key pairs")
    data_dir(listing)
    listing.set_defaults(func=_cmd_keys_list)
    revoke = keys.add_parser("revoke", help="revoke a key pair")
    revoke.add_argument("public_key")
    data_dir(revoke)
    revoke.set_defaults(func=_cmd_keys_revoke)
    sync = keys.add_parser(
        "sync", help="rebuild the key projection (SKYGLASS_KEYS_URL) from the metadata store"
    )
    data_dir(sync)
    sync.set_defaults(func=_cmd_keys_sync)

    replay = sub.add_parser("replay", help="re-enqueue raw blobs received in a time range")
    replay.add_argument("--since", required=True, type=iso_time, help="ISO time (inclusive)")
    replay.add_argument("--until", default=None, type=iso_time, help="ISO time (exclusive; default now)")
    replay.add_argument("--project-id", default=None)
    replay.add_argument("--dry-run", action="store_true")
    data_dir(replay)
    replay.set_defaults(func=_cmd_replay)

    redrive = sub.add_parser("redrive", help="move dead-lettered messages back to the queue")
    redrive.add_argument("--max", type=int, default=None)
    data_dir(redrive)
    redrive.set_defaults(func=_cmd_redrive)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    from skyglass.errors import DomainError

    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except DomainError as exc:  # a refused or failed operation: its message, not a traceback
        print(f"error: {exc.message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
