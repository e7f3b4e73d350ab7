"""A cache of parsed data files (rule packs, the release catalog), so start-up imports no YAML parser.

An entry is plain JSON under a digest of the file's exact bytes and the kind of parse: an edited
file has another digest and is parsed anew, so an entry is never stale, and reading one can only
ever produce dicts, lists, text and numbers (no pickle, no marshal: nothing in it can run).

Whoever can write an entry decides which rules run, so the folder must be the user's own and
private: created 0700, and before every use checked to be a real directory (not a link) owned by
this user with no group or other access; an entry is opened without following a link and used only
when it is a regular file of this user. A temporary file is created exclusively (O_EXCL, O_NOFOLLOW)
under a random name and renamed into place, so a planted link is never written through. Anything
wrong (no home, a shared or foreign folder, a read-only or full disk, a damaged entry, a value JSON
cannot hold exactly) means the file is parsed as if there were no cache: never an error.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from typing import Any

try:  # the C module hashlib itself uses, without hashlib's ~10 ms import of OpenSSL's digests
    from _blake2 import blake2b
except ImportError:  # pragma: no cover (a Python built without it)
    from hashlib import blake2b

# Part of every key, with the caller's kind: a change of an entry's shape or of Python must not
# read old entries.
_FORMAT = f"data-cache-v2 py{sys.version_info[0]}.{sys.version_info[1]}".encode()
_MAX_ENTRIES = 256  # tests write many throw-away packs; beyond this the folder is emptied
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_BINARY = getattr(os, "O_BINARY", 0)


def cache_dir() -> str | None:
    """$XDG_CACHE_HOME/webex-xml-lint/data, else ~/.cache/...; None without an absolute home (a
    relative one would put the cache in whatever folder the command runs from)."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "webex-xml-lint", "data") if os.path.isabs(base) else None


def private(folder: str | None) -> bool:
    """The folder is a real directory of this user that nobody else can read or write."""
    getuid = getattr(os, "getuid", None)
    if getuid is None or folder is None:  # no owners to check (Windows): no cache rather than a cache anyone may fill
        return False
    try:
        info = os.lstat(folder)
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == getuid() and not info.st_mode & 0o077


def _make_private(folder: str) -> None:
    """A folder of this user's that others could enter (an older version's, a lax umask) is closed
    and emptied: nothing written while it was open is trusted."""
    info = os.lstat(folder)
    if stat.S_ISDIR(info.st_mode) and info.st_uid == getattr(os, "getuid", lambda: -1)() and info.st_mode & 0o077:
        os.chmod(folder, 0o700)
        _empty(folder)


def _empty(folder: str) -> None:
    for name in os.listdir(folder):
        os.unlink(os.path.join(folder, name))


def _name(kind: str, data: bytes) -> str:
    return blake2b(_FORMAT + b"\0" + kind.encode() + b"\0" + data, digest_size=20).hexdigest() + ".json"


def load(kind: str, data: bytes) -> Any | None:
    """The value stored for the parse `kind` of a file with these bytes, or None."""
    folder = cache_dir()
    if not private(folder):
        return None
    try:
        descriptor = os.open(os.path.join(folder, _name(kind, data)), os.O_RDONLY | _NOFOLLOW | _BINARY)
    except OSError:
        return None
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid():
            return None
        with os.fdopen(descriptor, "rb", closefd=False) as entry:
            return json.loads(entry.read())
    except (OSError, ValueError, RecursionError):
        return None
    finally:
        os.close(descriptor)


def store(kind: str, data: bytes, value: Any) -> None:
    """Remember `value` as the parse `kind` of `data`; silently nothing when it cannot be stored."""
    if not _plain(value):
        return
    folder = cache_dir()
    if folder is None:
        return
    try:
        encoded = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        os.makedirs(folder, mode=0o700, exist_ok=True)
        _make_private(folder)
        if not private(folder):
            return
        if len(os.listdir(folder)) >= _MAX_ENTRIES:
            _empty(folder)
        partial = os.path.join(folder, f".{os.urandom(8).hex()}.tmp")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _BINARY, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as entry:
                entry.write(encoded)
            os.replace(partial, os.path.join(folder, _name(kind, data)))  # readers see a whole entry or none
        except BaseException:
            try:
                os.unlink(partial)
            except OSError:
                pass
            raise
    except (OSError, ValueError, RecursionError):
        pass


def _plain(value: Any, depth: int = 0) -> bool:
    """JSON gives back exactly this value: text keys only, no tuples, dates or other types."""
    if depth > 100:
        return False
    if value is None or isinstance(value, str | bool | int | float):
        return True
    if isinstance(value, list):
        return all(_plain(item, depth + 1) for item in value)
    if isinstance(value, dict):
        return all(isinstance(key, str) and _plain(item, depth + 1) for key, item in value.items())
    return False
