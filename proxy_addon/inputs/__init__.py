"""Captured traffic in: .xml files and folders, HAR exports, mitmproxy flow dumps.

`read_inputs(paths)` yields `Exchange`s (a request and its response, when captured) and
`CaptureError`s (an unreadable file, a bad HAR entry, a corrupt flow dump), in input order. An error
never stops the rest: the caller reports it and goes on.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from proxy_addon.core.charsets import byte_order_mark
from proxy_addon.core.frozen import LazyPattern
from proxy_addon.core.parsing import DEFAULT_MAX_BYTES
from proxy_addon.exchange.observed import Exchange, Observed
from proxy_addon.inputs.model import CaptureError
from proxy_addon.inputs.walk import (
    FLOW_SUFFIXES,
    HAR_SUFFIXES,
    KNOWN_SUFFIXES,
    XML_SUFFIXES,
    Walk,
)

# A mitmproxy flow dump is a sequence of tnetstrings, each a dict whose first key is a tnetstring too:
# "LENGTH:LENGTH:key...". Notes that start "12:30 ..." are not one.
_TNETSTRING_START = LazyPattern(rb"^[0-9]{1,12}:[0-9]{1,12}:")
_CAPTURE_SUFFIXES = HAR_SUFFIXES | FLOW_SUFFIXES


def input_files(paths: list[str], walk: Walk | None = None) -> Iterator[Path | CaptureError]:
    """Every file to read: named files as given, folders searched (see inputs/walk.py)."""
    return (walk or Walk()).files(paths)


def capture_kind(path: Path | str, head: bytes) -> str:
    """"xml", "har" or "flows", from the first bytes (the suffix only decides when they cannot).

    A file is read as a flow dump when it is named as one or starts as one (tnetstrings): a .txt file
    or a binary file is linted as a message, whose findings then say it is not XML.
    """
    marked = byte_order_mark(head)
    if marked is not None:
        if marked[1] != "utf-8":
            return "xml"  # UTF-16/32 text: an XML message (HAR is UTF-8)
        head = head[len(marked[0]):]
    first = head.lstrip()[:1]
    if first == b"<":
        return "xml"
    if first in (b"{", b"["):
        return "har"
    suffix = os.path.splitext(path)[1].lower()
    if suffix in HAR_SUFFIXES:
        return "har"
    if suffix in FLOW_SUFFIXES or (suffix not in XML_SUFFIXES and _TNETSTRING_START.match(head)):
        return "flows"
    return "xml"


def read_file(path: Path | str, walk: Walk | None = None, *, sniff: bool = False) -> Iterator[Exchange | CaptureError]:
    """The exchanges of one file. `sniff` (with `walk`): an .xml file a folder walk found (never
    named HAR or flow dump), left out and counted in `walk.not_messages` when its first bytes are
    not a message."""
    source = str(path)
    if os.path.splitext(source)[1].lower() not in _CAPTURE_SUFFIXES:
        # Most likely one message: read once, whole (up to the lint bound plus one byte), and
        # sniffed and classified from the bytes read. A capture file by its content is read again
        # as a stream below.
        try:
            data = _read_message_file(source, DEFAULT_MAX_BYTES + 1)
        except OSError as error:
            yield CaptureError(source, f"cannot read: {error.strerror or error}")
            return
        if sniff and walk is not None and walk.skip_not_message(source, data):
            return
        if capture_kind(source, data[:64]) == "xml":
            yield Exchange((Observed(data, None, source),), weight=len(data))
            return
        del data
    yield from _read_capture(source)


def _read_message_file(source: str, limit: int) -> bytes:
    """At most `limit` bytes of the file: for a regular file one open, fstat and read (no file
    object, no seek), else as read_at_most reads a pipe."""
    descriptor = os.open(source, os.O_RDONLY | _CLOEXEC)
    try:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            with open(descriptor, "rb", buffering=0, closefd=False) as raw:
                return read_at_most(raw, limit)
        want = min(limit, status.st_size + 1)  # one byte more than fstat says: a file that grew shows it
        data = os.read(descriptor, want)
        # All fstat announced is the usual answer; any other short read (a large file, a signal,
        # a file growing as it is read) goes on as read_at_most would.
        if 0 < len(data) < want and len(data) != status.st_size:
            chunks = [data]
            total = len(data)
            while total < want and (chunk := os.read(descriptor, want - total)):
                chunks.append(chunk)
                total += len(chunk)
            data = b"".join(chunks)
        return data
    finally:
        os.close(descriptor)


_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def _read_capture(source: str) -> Iterator[Exchange | CaptureError]:
    """A file read as a stream: a HAR export or a flow dump (any size: only one entry is held at a
    time), or a message whose name said capture."""
    try:
        with open(source, "rb") as stream:
            kind = capture_kind(source, stream.peek(64)[:64])
            if kind == "flows":
                from proxy_addon.inputs.flows import read_flow_dump  # noqa: PLC0415 (mitmproxy: only for flow dumps)

                yield from read_flow_dump(source, stream)
                return
            if kind == "har":
                from proxy_addon.inputs.har import read_har  # noqa: PLC0415

                yield from read_har(source, stream)
                return
            # A message is read up to the lint bound plus one byte (WX009 needs no more): a 3 GB
            # file costs 16 MiB, not 3 GB. Not stream.read() after peek(): that joins two copies.
            stream.raw.seek(0)
            data = read_at_most(stream.raw, DEFAULT_MAX_BYTES + 1)
    except OSError as error:
        yield CaptureError(source, f"cannot read: {error.strerror or error}")
        return
    yield Exchange((Observed(data, None, source),), weight=len(data))


def read_at_most(raw: BinaryIO, limit: int) -> bytes:
    """At most `limit` bytes of `raw`. A regular file is read in one call sized from fstat; a pipe in
    chunks (it may answer short reads)."""
    try:
        status = os.fstat(raw.fileno())
        regular = stat.S_ISREG(status.st_mode)
    except (OSError, AttributeError, ValueError):
        regular = False
    want = min(limit, status.st_size - raw.tell() + 1) if regular else limit
    chunks: list[bytes] = []
    total = 0
    while total < want:
        chunk = raw.read(want - total if regular else min(want - total, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def read_inputs(paths: list[str], walk: Walk | None = None) -> Iterator[Exchange | CaptureError]:
    walk = walk or Walk()
    for item in walk.candidates(paths):
        if isinstance(item, CaptureError):
            yield item
        else:
            yield from read_file(item[0], walk, sniff=item[1])


__all__ = ["KNOWN_SUFFIXES", "CaptureError", "Exchange", "Observed", "Walk", "input_files", "read_at_most", "read_file",
           "read_inputs"]
