"""Captured traffic in: .xml files and folders, HAR exports, mitmproxy flow dumps.

`read_inputs(paths)` yields `Exchange`s (a request and its response, when captured) and
`CaptureError`s (an unreadable file, a bad HAR entry, a corrupt flow dump), in input order. An error
never stops the rest: the caller reports it and goes on.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from proxy_addon.core.charsets import byte_order_mark
from proxy_addon.exchange.observed import Exchange, Observed
from proxy_addon.inputs.flows import read_flow_dump
from proxy_addon.inputs.har import read_har
from proxy_addon.inputs.model import CaptureError

XML_SUFFIXES = {".xml"}
HAR_SUFFIXES = {".har"}
FLOW_SUFFIXES = {".flow", ".flows", ".mitm", ".dump"}
# Files picked up when a folder is searched; a file named explicitly is read whatever its name.
KNOWN_SUFFIXES = XML_SUFFIXES | HAR_SUFFIXES | FLOW_SUFFIXES


def input_files(paths: list[str]) -> Iterator[Path | CaptureError]:
    """Every file to read: named files as given, folders searched recursively for known suffixes."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from _search(path)
        elif path.is_file():
            yield path
        else:
            yield CaptureError(raw, "no such file or folder")


def _search(folder: Path) -> list[Path]:
    """The files under `folder` with a known suffix, in the order (and the form) of
    sorted(p for p in folder.rglob("*") if p.suffix.lower() in KNOWN_SUFFIXES and p.is_file()).

    Walked with os.scandir on strings, names filtered before any Path is made, and sorted on the
    key of Path's own ordering: rglob, Path joins and comparisons cost more than reading the files.
    """
    top = str(folder)
    found: list[str] = []
    pending = [top]
    while pending:  # every folder once, as Path.walk() (which rglob uses) visits them
        directory = pending.pop()
        prefix = "" if directory == "." else directory + os.sep if not directory.endswith(os.sep) else directory
        try:
            with os.scandir(directory) as entries:
                for entry in entries:
                    name = entry.name
                    try:
                        if entry.is_dir(follow_symlinks=False):  # as rglob: symlinked folders not entered
                            pending.append(prefix + name)
                            continue
                        dot = name.rfind(".")
                        if 0 < dot < len(name) - 1 and name[dot:].lower() in KNOWN_SUFFIXES and entry.is_file():
                            found.append(prefix + name)
                    except OSError:
                        continue
        except OSError:  # an unreadable folder is skipped, as rglob skips it
            continue
    found.sort(key=_path_order)
    return [Path(name) for name in found]


def _path_order(path: str) -> list[str]:
    """The key of pathlib's own ordering (PurePath.__lt__ compares case-normalised parts)."""
    return os.path.normcase(path).split(os.sep)


def capture_kind(path: Path, head: bytes) -> str:
    """"xml", "har" or "flows", from the first bytes (the suffix only decides when they cannot)."""
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
    suffix = path.suffix.lower()
    if suffix in XML_SUFFIXES or not head.strip():
        return "xml"
    if suffix in HAR_SUFFIXES:
        return "har"
    return "flows"


def read_file(path: Path) -> Iterator[Exchange | CaptureError]:
    source = str(path)
    try:
        with path.open("rb") as stream:
            kind = capture_kind(path, stream.peek(64)[:64])
            if kind == "flows":
                yield from read_flow_dump(source, stream)
                return
            # Not stream.read(): after peek() it joins the buffered head and the rest, two copies of
            # the file at once. Reading from the start in one go sizes one buffer from fstat.
            stream.raw.seek(0)
            data = stream.raw.readall()
    except OSError as error:
        yield CaptureError(source, f"cannot read: {error.strerror or error}")
        return
    if kind == "har":
        yield from read_har(source, data)
    else:
        yield Exchange((Observed(data, None, source),), weight=len(data))


def read_inputs(paths: list[str]) -> Iterator[Exchange | CaptureError]:
    for item in input_files(paths):
        if isinstance(item, CaptureError):
            yield item
        else:
            yield from read_file(item)


__all__ = ["CaptureError", "Exchange", "Observed", "input_files", "read_file", "read_inputs"]
