"""Text every writer can encode: what Python could not decode is kept, written as an escape.

A file name with a byte that is not UTF-8 reaches us with that byte as a lone surrogate
(surrogateescape: b"\\xff" -> "\\udcff"); a HAR's JSON may hold a lone "\\ud800" escape. Neither
encodes as UTF-8, so printing or storing it raised, and one such name cost a whole output or batch.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _escaped(match: re.Match[str], backslash: str) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte, kept by surrogateescape
        return f"{backslash}x{code - 0xDC00:02x}"
    return f"{backslash}u{code:04x}"


def encodable(text: str, *, json: bool = False) -> str:
    """`text` with each lone surrogate written as an escape: \\xff for an undecodable byte, \\ud800
    for any other. `json=True` is for JSON text, where the backslash itself must be escaped."""
    if _LONE_SURROGATE.search(text) is None:
        return text
    backslash = "\\\\" if json else "\\"
    return _LONE_SURROGATE.sub(lambda match: _escaped(match, backslash), text)


def path_bytes(path: str) -> bytes:
    """A path as the bytes the file system holds (an undecodable byte restored), for URIs."""
    try:
        return path.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate no file system produced
        return encodable(path).encode("utf-8")


def xml_escape(text: str) -> str:
    """`text` as XML character data (&, < and > escaped), as xml.sax.saxutils.escape does.

    Here rather than imported: xml.sax.saxutils imports urllib.request, and with it http.client,
    email and ssl, about 25 ms of every `check` run's start-up for three replacements.
    """
    return text.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;")


def format_time(time: float) -> str:
    """A time as findings and notes show it: "2024-05-01 09:30:00 UTC"."""
    return datetime.fromtimestamp(time, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
