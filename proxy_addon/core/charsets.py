"""Byte order marks and HTTP charsets: the one table and the one parser every reader uses."""

from __future__ import annotations

import codecs
import functools
import re

from proxy_addon.core.frozen import LazyPattern

# Each mark and the codec that reads what follows it. UTF-32 first: its little-endian mark starts
# with UTF-16's.
BYTE_ORDER_MARKS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
                    (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_CHARSET = LazyPattern(r"""charset\s*=\s*["']?([^"';,\s]+)""", re.IGNORECASE)


def byte_order_mark(data: bytes) -> tuple[bytes, str] | None:
    """(mark, codec) when `data` starts with a byte order mark."""
    for mark, codec in BYTE_ORDER_MARKS:
        if data.startswith(mark):
            return mark, codec
    return None


@functools.lru_cache(maxsize=64)  # a client sends the same few Content-Type values over and over
def charset_of(content_type: str | None) -> str | None:
    """The charset parameter of a Content-Type (or HAR mimeType) value, lower case; None without one."""
    found = _CHARSET.search(content_type or "")
    return found.group(1).strip().lower() if found else None


# Python codecs that are not character sets, though codecs.lookup knows them: text codecs for other
# jobs (domain names, Python escapes, a codec that refuses everything, the raw charmap machinery).
# Bytes-to-bytes and text-to-text codecs (base64, zlib, rot13) say so themselves.
_NOT_CHARACTER_SETS = frozenset({"idna", "punycode", "unicode-escape", "raw-unicode-escape", "undefined", "charmap"})


@functools.lru_cache(maxsize=256)
def is_character_set(name: str) -> bool:
    """Whether a document (or an HTTP charset) may name this codec: idna, base64 or rot13 may not.

    Decoding with one of those raised plain UnicodeErrors and LookupErrors nobody expected
    (`encoding="idna"` was a traceback in `check` and `audit`, and broke --fix).
    """
    try:
        info = codecs.lookup(name)
    except LookupError:
        return False
    return getattr(info, "_is_text_encoding", True) and info.name not in _NOT_CHARACTER_SETS
