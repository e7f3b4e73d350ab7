"""Writing a fixed message back to its file (`check --fix`) without ever losing what was there.

The new content replaces the original whole or not at all (outputs/atomic.py): a failed write (full
disk, quota, file size limit) leaves the original as it was. A file that changed since it was linted
is not written (the edit made meanwhile wins), and inside a folder given on the command line a
symlink whose target lies outside that folder is not followed. A symlink that is followed stays a symlink: its target is what gets replaced.
"""

from __future__ import annotations

import os
from pathlib import Path

from proxy_addon.outputs.atomic import write_atomically


class FixNotWritten(Exception):
    """Why a fixed file was left as it was; the text completes "PATH: ..."."""


def write_fixed(path: str, data: bytes, *, original: bytes, given: list[str]) -> None:
    """Replace the file at `path` (as linted, holding `original`) with `data`.

    `given` are the paths named on the command line: a file found inside one of those folders must
    resolve inside it. Raises FixNotWritten, the file untouched, when the fix cannot be written safely.
    """
    target = Path(os.path.realpath(path))
    tree = _given_folder(path, given)
    if tree is not None and not target.is_relative_to(os.path.realpath(tree)):
        raise FixNotWritten(f"symlink to {target}, outside {tree}: not followed, fixes not written")
    try:
        status = target.stat()
    except OSError as error:
        raise FixNotWritten(f"cannot write the fixed file: {error.strerror}") from None
    if not status.st_mode & 0o222:
        # Root ignores permission bits; a file nobody may write is a reference copy: leave it be.
        raise FixNotWritten("read-only file, fixes not written (use --diff to see them)")
    _unchanged_since_linted(target, original)
    try:
        # Checked again just before the swap: an editor may have saved meanwhile.
        write_atomically(target, data, before_replace=lambda: _unchanged_since_linted(target, original))
    except OSError as error:
        raise FixNotWritten(f"cannot write the fixed file: {error.strerror or error}; the original is unchanged") from None


def _given_folder(path: str, given: list[str]) -> str | None:
    """The folder named on the command line that `path` was found in, or None for a file named itself."""
    found = Path(path)
    for raw in given:
        if raw != "-" and found != Path(raw) and found.is_relative_to(raw) and os.path.isdir(raw):
            return raw
    return None


def _unchanged_since_linted(target: Path, original: bytes) -> None:
    try:
        current = target.read_bytes()
    except OSError as error:
        raise FixNotWritten(f"cannot read the file again before writing: {error.strerror}") from None
    if current != original:
        raise FixNotWritten("changed since it was linted: fixes not written (run again)")
