"""The live proxy's view of a body: decoded from its Content-Encoding, never more than the linter reads.

The linter refuses messages over its size bound (WX009) after looking only at their length, so the
proxy never hands it more than the bound and one byte: a 50 MB body costs the lint worker 16 MiB,
not 50 (and does not crowd other messages out of the worker's pipe). mitmproxy's own decoder would
inflate a gzip body whole, so a 400 KB gzip bomb would become 400 MB inside mitmdump, and it takes a
truncated stream for a short message; gzip and deflate are inflated here instead, bounded and
strictly. Free of mitmproxy, like the pipeline.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

from proxy_addon.core.parsing import DEFAULT_MAX_BYTES

LINT_BYTES = DEFAULT_MAX_BYTES + 1  # enough for the linter to see that a message is over its bound
_GZIP_OR_ZLIB = 32 + zlib.MAX_WBITS  # zlib detects the gzip or zlib header itself
_RAW_DEFLATE = -zlib.MAX_WBITS  # "deflate" as some servers send it: no zlib header


class UndecodableBody(ValueError):
    """The body does not decode from its Content-Encoding; the text says which and why."""


def decoded_body(raw: bytes, content_encoding: str, decode_other: Callable[[], bytes]) -> bytes:
    """The first LINT_BYTES of the body without its Content-Encoding.

    gzip and deflate are inflated here, bounded; other codings (br, zstd) by `decode_other`
    (mitmproxy's decoder, which raises ValueError). Raises UndecodableBody.
    """
    coding = content_encoding.strip().lower()
    if coding in ("", "identity"):
        return raw[:LINT_BYTES]
    if coding in ("gzip", "x-gzip"):
        return _inflate(raw, coding, (_GZIP_OR_ZLIB,))
    if coding == "deflate":
        return _inflate(raw, coding, (_GZIP_OR_ZLIB, _RAW_DEFLATE))
    try:
        return decode_other()[:LINT_BYTES]
    except ValueError as error:
        raise UndecodableBody(f"Content-Encoding {coding}: the body cannot be decoded ({error}); "
                              "not linted, passed on as sent") from None


def _inflate(raw: bytes, coding: str, formats: tuple[int, ...]) -> bytes:
    problem = "no data"
    for wbits in formats:
        inflater = zlib.decompressobj(wbits)
        try:
            data = inflater.decompress(raw, LINT_BYTES)
        except zlib.error as error:
            problem = str(error)
            continue
        if len(data) < LINT_BYTES and not inflater.eof:
            problem = "the compressed stream is truncated"
            break
        return data
    raise UndecodableBody(f"Content-Encoding {coding}: the body cannot be decoded ({problem}); "
                          "not linted, passed on as sent")
