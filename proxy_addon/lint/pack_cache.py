"""A cache of parsed rule packs, keyed on each pack's contents, so start-up skips PyYAML.

Importing PyYAML and parsing the packs was about a third of a `check` run's start-up. The parsed
data (plain dicts, lists, strings and numbers, with the loader's line bookkeeping) is stored with
`marshal` under a digest of the file's bytes: an edited pack has another digest and is parsed
anew, so an entry is never stale. Anything wrong with the cache (no home, a read-only or full disk,
a damaged entry, a value marshal cannot hold) means the pack is parsed as before: never an error.
"""

from __future__ import annotations

import marshal
import os
import sys
from pathlib import Path
from typing import Any

try:  # the C module hashlib itself uses, without hashlib's ~10 ms import of OpenSSL's digests
    from _blake2 import blake2b
except ImportError:  # pragma: no cover (a Python built without it)
    from hashlib import blake2b

# Part of every key: a change of the loader's output format, of Python or of marshal's format
# must not read old entries.
_FORMAT = f"rule-pack-v1 py{sys.version_info[0]}.{sys.version_info[1]} marshal{marshal.version}".encode()
_MAX_ENTRIES = 256  # tests write many throw-away packs; beyond this the folder is emptied


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "webex-xml-lint" / "rule-packs"


def _entry(data: bytes) -> Path:
    return cache_dir() / (blake2b(_FORMAT + b"\0" + data, digest_size=20).hexdigest() + ".marshal")


def load(data: bytes) -> Any | None:
    """The parsed value stored for a pack with these bytes, or None."""
    try:
        return marshal.loads(_entry(data).read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        return None


def store(data: bytes, value: Any) -> None:
    """Remember `value` as the parse of `data`; silently nothing when it cannot be stored."""
    try:
        encoded = marshal.dumps(value)
        entry = _entry(data)
        entry.parent.mkdir(parents=True, exist_ok=True)
        names = os.listdir(entry.parent)
        if len(names) >= _MAX_ENTRIES:
            for name in names:
                (entry.parent / name).unlink(missing_ok=True)
        partial = entry.with_name(f"{entry.name}.{os.getpid()}.tmp")
        partial.write_bytes(encoded)
        os.replace(partial, entry)  # readers see a whole entry or none
    except (OSError, ValueError):
        pass
