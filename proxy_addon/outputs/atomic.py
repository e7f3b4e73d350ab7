"""Replacing a file whole or not at all: what `check --fix` and the audit report both write with.

The new content goes to a file beside the target, is synced, takes the target's mode (and owner,
where the process may give files away), and is renamed over it; the folder is synced so the rename
itself survives a crash. A failed write (full disk, quota, file size limit) leaves the target as it
was and no temporary file behind.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path


def write_atomically(path: Path, data: bytes, *, before_replace: Callable[[], None] = lambda: None) -> None:
    """Replace `path` with `data`. A new file gets the usual permissions (0o666 less the umask).

    `before_replace` runs just before the rename: raising there leaves `path` untouched.
    """
    try:
        status: os.stat_result | None = path.stat()
    except FileNotFoundError:
        status = None
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        try:
            if status is not None:
                os.fchmod(descriptor, status.st_mode & 0o7777)
                with contextlib.suppress(OSError):  # only root may give a file away; others keep their own
                    os.fchown(descriptor, status.st_uid, status.st_gid)
            view = memoryview(data)
            while view:
                view = view[os.write(descriptor, view):]
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        before_replace()
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    """Make the rename durable (best effort: some file systems refuse fsync on a folder)."""
    with contextlib.suppress(OSError):
        descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
