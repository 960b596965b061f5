"""BlobStore on a local folder: the embedded raw event log.

Each blob is one file at ``<root>/<key>``. A write goes to a hidden temp file in the target folder,
is fsynced, atomically renamed into place and the folder is fsynced, so after a crash (``kill -9``
or power loss) a key holds either its old content or its complete new content, never a prefix.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

from skyglass.errors import Conflict, InvalidRequest, NotFound, StoreUnavailable

# Hidden names are reserved for in-progress writes, so listings can skip them without a lookup.
_TEMP_PREFIX = "."
_TEMP_SUFFIX = ".tmp"


def _check_key(key: str) -> list[str]:
    """Split ``key`` into path segments, refusing anything that could leave the root folder."""
    if not key or key.startswith("/") or "\\" in key or "\x00" in key:
        raise InvalidRequest(f"invalid blob key: {key!r}")
    parts = key.split("/")
    for part in parts:
        if part in ("", ".", "..") or part.startswith(_TEMP_PREFIX):
            raise InvalidRequest(f"invalid blob key: {key!r}")
    return parts


def _fsync_dir(directory: Path) -> None:
    """Persist a folder's entries (a new or renamed file is only durable once its folder is)."""
    if not hasattr(os, "O_DIRECTORY"):  # Windows cannot open folders; NTFS journals renames
        return
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _discard(tmp: Path) -> None:
    with suppress(OSError):  # best effort: listings skip temp files anyway
        tmp.unlink(missing_ok=True)


class LocalBlobStore:
    """The raw event log in a folder; keys are ``/``-separated relative paths."""

    def __init__(self, root: Path | str):
        self.root = Path(root).resolve()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreUnavailable(f"cannot create blob folder {self.root}: {exc}") from exc

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*_check_key(key))

    def put(self, key: str, data: bytes) -> None:
        """Write ``data`` under ``key`` atomically and durably; returns once it survives a crash."""
        path = self._path(key)
        tmp = path.with_name(f"{_TEMP_PREFIX}{path.name}.{uuid.uuid4().hex}{_TEMP_SUFFIX}")
        try:
            self._make_dirs(path.parent)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path)
            _fsync_dir(path.parent)
        except (IsADirectoryError, NotADirectoryError, FileExistsError) as exc:
            # A folder cannot also be a file: "a/b" and "a/b/c" cannot both be keys here (S3 allows
            # it; ``blob_key_for`` keys never nest like that). Retrying would not help, so no 503.
            _discard(tmp)
            raise Conflict(f"blob key clashes with a folder or file of another key: {key}") from exc
        except OSError as exc:
            _discard(tmp)
            raise StoreUnavailable(f"blob write failed for {key}: {exc}") from exc

    def _make_dirs(self, directory: Path) -> None:
        """Create missing folders, fsyncing each parent so the new folder entry is durable too."""
        if directory.is_dir():
            return
        missing: list[Path] = []
        current = directory
        while not current.is_dir():
            missing.append(current)
            current = current.parent
        for folder in reversed(missing):
            with suppress(FileExistsError):  # another writer created it first: fine
                folder.mkdir()
            _fsync_dir(folder.parent)

    def get(self, key: str) -> bytes:
        """Read one blob; ``NotFound`` when absent."""
        path = self._path(key)
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise NotFound(f"blob not found: {key}") from exc
        except OSError as exc:
            raise StoreUnavailable(f"blob read failed for {key}: {exc}") from exc

    def delete(self, key: str) -> None:
        """Remove a blob; absent keys are ignored (empty folders are left: they cost nothing)."""
        try:
            self._path(key).unlink(missing_ok=True)
        except IsADirectoryError:
            return
        except OSError as exc:
            raise StoreUnavailable(f"blob delete failed for {key}: {exc}") from exc

    def list_keys(self, prefix: str = "", start_after: str | None = None) -> Iterator[str]:
        """Keys under ``prefix`` in lexicographic order, strictly after ``start_after``.

        Starts at the deepest folder the prefix names and skips whole folders that are outside the
        prefix or entirely before ``start_after``, so listing one hour of ``raw/YYYY/MM/DD/HH/``
        touches only that hour's folder.
        """
        head, sep, _ = prefix.rpartition("/")
        base = ""
        if sep:
            try:
                _check_key(head)
            except InvalidRequest:  # no valid key can start with it: an empty listing, like S3
                return
            base = head + "/"
        yield from self._walk(self.root / base if base else self.root, base, prefix, start_after)

    def _walk(self, folder: Path, base: str, prefix: str, start_after: str | None) -> Iterator[str]:
        try:
            with os.scandir(folder) as entries:
                found = [(e.name, e.is_dir()) for e in entries if not e.name.startswith(_TEMP_PREFIX)]
            # A folder's keys all start with "name/", so sorting folders by "name/" and files by
            # "name" yields exact lexicographic key order even for names like "a-c" vs "a/b".
            children = sorted((base + name + ("/" if is_dir else ""), is_dir) for name, is_dir in found)
        except (FileNotFoundError, NotADirectoryError):
            return
        except OSError as exc:
            raise StoreUnavailable(f"blob listing failed under {base or '/'}: {exc}") from exc
        for key, is_dir in children:
            if is_dir:
                if not (key.startswith(prefix) or prefix.startswith(key)):
                    continue
                # Every key below ``key`` is <= start_after when start_after sorts after the folder
                # without lying inside it.
                if start_after is not None and start_after > key and not start_after.startswith(key):
                    continue
                yield from self._walk(folder / key[len(base) : -1], key, prefix, start_after)
            elif key.startswith(prefix) and (start_after is None or key > start_after):
                yield key
