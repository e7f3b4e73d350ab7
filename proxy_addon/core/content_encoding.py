"""HTTP bodies without their Content-Encoding, never inflated past a bound.

A 1 KB body can inflate to gigabytes (a compression bomb). mitmproxy's decoder inflates a body
whole, and for a coding it does not know it falls back to Python's codecs, so `bz2` or `zlib` in
Content-Encoding would decode there too. Every coding an HTTP client may send is decoded here
instead, incrementally, stopping once `limit` bytes are out; anything else is refused. Used by the
live proxy and by the flow-dump reader, so neither ever asks mitmproxy to decode a body.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

_GZIP_OR_ZLIB = 32 + zlib.MAX_WBITS  # zlib detects the gzip or zlib header itself
_RAW_DEFLATE = -zlib.MAX_WBITS  # "deflate" as some servers send it: no zlib header
_GZIP_MAGIC = b"\x1f\x8b"
SHOWN_CODING = 40  # characters of a coding name an error quotes


class UndecodableBody(ValueError):
    """The body does not decode from its Content-Encoding; the text says which and why."""


def decode_bounded(raw: bytes, content_encoding: str, limit: int) -> bytes:
    """The first `limit` bytes of the body once its content codings are undone.

    Codings are listed in the order they were applied, so they are undone last first. Raises
    UndecodableBody for an unknown coding or a corrupt or truncated stream.
    """
    codings = [coding.strip().lower() for coding in content_encoding.split(",") if coding.strip()]
    data = raw
    for coding in reversed(codings):
        if coding in ("identity", "none"):
            continue
        decoder = _DECODERS.get(coding)
        if decoder is None:
            raise UndecodableBody(f"Content-Encoding {_shown(coding)} is not an HTTP content coding this tool "
                                  "decodes (gzip, deflate, br, zstd); not linted, passed on as sent")
        try:
            data = decoder(data, limit)
        except UndecodableBody as error:
            raise UndecodableBody(f"Content-Encoding {_shown(coding)}: the body cannot be decoded ({error}); "
                                  "not linted, passed on as sent") from None
    return data[:limit]


def _shown(coding: str) -> str:
    """A coding name as the reason quotes it: a client's 60 KB name must not go into every log line."""
    return coding if len(coding) <= SHOWN_CODING else coding[:SHOWN_CODING] + f"… ({len(coding)} characters)"


def _gzip(raw: bytes, limit: int) -> bytes:
    """gzip, all its members (a body may be several gzip streams one after the other)."""
    out = bytearray()
    rest = raw
    while True:
        inflater = zlib.decompressobj(_GZIP_OR_ZLIB)
        out += _inflate(inflater, rest, limit - len(out))
        if len(out) >= limit:
            return bytes(out)
        rest = inflater.unused_data
        if not rest.startswith(_GZIP_MAGIC):
            return bytes(out)


def _deflate(raw: bytes, limit: int) -> bytes:
    try:
        return _inflate(zlib.decompressobj(_GZIP_OR_ZLIB), raw, limit)
    except UndecodableBody:
        return _inflate(zlib.decompressobj(_RAW_DEFLATE), raw, limit)


def _inflate(inflater, raw: bytes, limit: int) -> bytes:
    try:
        data = inflater.decompress(raw, limit)
    except zlib.error as error:
        raise UndecodableBody(str(error)) from None
    if not raw:
        raise UndecodableBody("no data")
    if len(data) < limit and not inflater.eof:
        raise UndecodableBody("the compressed stream is truncated")
    return data


def _brotli(raw: bytes, limit: int) -> bytes:
    import brotli  # noqa: PLC0415 (only br bodies need it; it comes with mitmproxy)

    decompressor = brotli.Decompressor()
    try:
        data = decompressor.process(raw, output_buffer_limit=limit)
    except brotli.error as error:
        raise UndecodableBody(f"brotli: {error}") from None
    if len(data) < limit and not decompressor.is_finished():
        raise UndecodableBody("the compressed stream is truncated")
    return data


def _zstd(raw: bytes, limit: int) -> bytes:
    zstd = _zstd_module()
    out = bytearray()
    rest = raw
    while rest and len(out) < limit:  # a body may hold several frames
        decompressor = zstd.ZstdDecompressor()
        try:
            out += decompressor.decompress(rest, max_length=limit - len(out))
        except zstd.ZstdError as error:
            raise UndecodableBody(f"zstd: {error}") from None
        if len(out) >= limit:
            break
        if not decompressor.eof:
            raise UndecodableBody("the compressed stream is truncated")
        rest = decompressor.unused_data
    if not raw:
        raise UndecodableBody("no data")
    return bytes(out)


def _zstd_module():
    try:
        from compression import zstd  # noqa: PLC0415 (Python 3.14)
    except ImportError:
        from backports import zstd  # noqa: PLC0415 (what mitmproxy uses before 3.14)
    return zstd


_DECODERS: dict[str, Callable[[bytes, int], bytes]] = {
    "gzip": _gzip, "x-gzip": _gzip, "deflate": _deflate, "deflateraw": _deflate, "br": _brotli, "zstd": _zstd,
}
