"""HAR exports (browser devtools, Fiddler, mitmproxy's save.har, Charles...).

HAR is JSON, read here rather than with mitmproxy's HAR loader: that loader replaces the client
address with 127.0.0.1, ignores base64 request bodies and gives up on the whole file at the first
bad entry, and an audit needs all three.

A truncated file (an export cut short, a disk that filled up) still yields every complete entry
before the cut; the cut is reported with its line and column.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import json
import math
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, BinaryIO

from proxy_addon.core.charsets import charset_of
from proxy_addon.core.parsing import DEFAULT_MAX_BYTES
from proxy_addon.exchange.observed import Exchange, Observed
from proxy_addon.exchange.sniff import is_xml_api
from proxy_addon.inputs.model import CaptureError, text_to_bytes

_ENTRIES = re.compile(r'"entries"\s*:\s*\[')
# What the entry scanner stops at: inside a string its end or an escape, outside strings and brackets.
_IN_STRING = re.compile(r'["\\]')
_OUTSIDE = re.compile(r'["{}\[\]]')
_CHUNK = 1 << 20
# One entry may hold two bodies at the lint bound, base64 (4/3) or JSON-escaped text, and its headers.
ENTRY_BOUND = 4 * (DEFAULT_MAX_BYTES + 1) + _CHUNK
# Text before log.entries (creator, browser, pages).
_HEADER_BOUND = 16 * _CHUNK
# A body is read up to the lint bound plus one byte: enough for WX009, never the whole 3 GB.
_BODY_BYTES = DEFAULT_MAX_BYTES + 1
_BASE64_CHARS = 4 * (_BODY_BYTES // 3 + 1)
# Where a client address may be found: tools' own fields first, then what a forwarding proxy adds.
_CLIENT_FIELDS = ("_clientAddress", "clientIPAddress", "_clientIPAddress")
_FORWARDED_HEADERS = ("x-forwarded-for", "x-real-ip")


def read_har(path: str, stream: BinaryIO) -> Iterator[Exchange | CaptureError]:
    """Every entry of the HAR export in `stream`, one at a time: only one entry is ever decoded, so a
    HAR of a million entries costs the memory of one (json.loads of the whole file: 4.5 GB)."""
    entries = _EntryStream(path, stream)
    weight = 0  # entries that are not XML API traffic count towards the next one that is
    try:
        for index, entry, size in entries:
            weight += size
            if isinstance(entry, CaptureError):
                yield entry
                continue
            try:
                exchange = _exchange(path, index, entry)
            except (KeyError, TypeError, ValueError, AttributeError, OverflowError, binascii.Error) as error:
                yield CaptureError(path, f"unusable HAR entry: {_describe(error)}", f"entry {index}")
                continue
            except (RecursionError, MemoryError) as error:
                yield CaptureError(path, f"unusable HAR entry: {_resource(error)}", f"entry {index}")
                continue
            if exchange is not None:
                exchange.weight, weight = weight, 0
                yield exchange
    except _Stop as stop:
        yield CaptureError(path, str(stop))


class _Stop(Exception):
    """The rest of the file cannot be read: the reason, for one CaptureError."""


def _resource(error: BaseException) -> str:
    return "nested too deeply" if isinstance(error, RecursionError) else "too large to hold in memory"


class _EntryStream:
    """(index, entry or CaptureError, characters) for each element of log.entries, read in chunks.

    Where an entry ends is found by a linear scan of strings and brackets; only then is that slice
    decoded. An entry over ENTRY_BOUND characters is skipped (scanned, not kept) and reported.
    """

    def __init__(self, path: str, stream: BinaryIO):
        self.path = path
        self.stream = stream
        self.decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self.read_bytes = 0
        self.eof = False
        self.buffer = ""
        self.lines = 0  # newlines in the text dropped from the buffer's front
        self.column = 0  # characters after the last of them
        self.read_entries = 0

    def _more(self) -> bool:
        """Append the next chunk to the buffer; False at the end of the file."""
        if self.eof:
            return False
        chunk = self.stream.read(_CHUNK)
        final = not chunk
        try:
            text = self.decoder.decode(chunk, final)
        except UnicodeDecodeError as error:
            raise _Stop(f"not UTF-8 at byte {self.read_bytes + error.start}: a HAR file is UTF-8 JSON") from None
        self.read_bytes += len(chunk)
        self.buffer += text
        self.eof = final
        return not final or bool(text)

    def _drop(self, upto: int) -> None:
        dropped = self.buffer[:upto]
        newlines = dropped.count("\n")
        if newlines:
            self.lines += newlines
            self.column = len(dropped) - dropped.rfind("\n") - 1
        else:
            self.column += len(dropped)
        self.buffer = self.buffer[upto:]

    def _where(self, error: json.JSONDecodeError) -> str:
        column = error.colno + (self.column if error.lineno == 1 else 0)
        return f"line {self.lines + error.lineno} column {column}: {error.msg}"

    def _header(self) -> int:
        """Read up to log.entries' "[" and return the position after it."""
        searched = 0
        while True:
            found = _ENTRIES.search(self.buffer, max(0, searched - 32))
            if found is not None:
                return found.end()
            searched = len(self.buffer)
            if searched > _HEADER_BOUND or not self._more():
                break
        if searched <= _HEADER_BOUND:
            try:
                json.loads(self.buffer)
            except json.JSONDecodeError as error:
                raise _Stop(f"invalid JSON at {self._where(error)}") from None
            except (RecursionError, MemoryError) as error:
                raise _Stop(f"not a HAR file: {_resource(error)}") from None
        raise _Stop("not a HAR file: no log.entries list")

    def __iter__(self) -> Iterator[tuple[int, Any, int]]:
        position = self._header()
        index = 0
        while True:
            position = self._skip_separators(position)
            if position is None:
                raise _Stop(self._truncated(None))
            if self.buffer[position] == "]":
                return
            self._drop(position)
            end, kept = self._value_end()
            if not kept:
                yield index, CaptureError(self.path, f"entry over {ENTRY_BOUND:,} characters: not read",
                                          f"entry {index}"), end
                position = self._after_skip
            else:
                text = self.buffer[:end]
                try:
                    entry = json.loads(text)
                except json.JSONDecodeError as error:
                    raise _Stop(self._truncated(error)) from None
                except (RecursionError, MemoryError) as error:
                    entry = CaptureError(self.path, f"unusable HAR entry: {_resource(error)}", f"entry {index}")
                yield index, entry, end
                self.read_entries += 1 if not isinstance(entry, CaptureError) else 0
                position = end
            index += 1

    def _skip_separators(self, position: int) -> int | None:
        while True:
            while position < len(self.buffer) and self.buffer[position] in " \t\r\n,":
                position += 1
            if position < len(self.buffer):
                return position
            self._drop(position)
            position = 0
            if not self._more():
                return None

    def _value_end(self) -> tuple[int, bool]:
        """Where the JSON value at the buffer's start ends, and whether it was kept whole.

        An entry longer than ENTRY_BOUND is scanned on without being kept; `_after_skip` is then the
        buffer position after it."""
        first = self.buffer[0]
        if first not in "{[":  # a scalar (not a HAR entry): short, or broken
            while True:
                try:
                    _, end = json.JSONDecoder().raw_decode(self.buffer)
                    if end < len(self.buffer) or self.eof:
                        return end, True
                except json.JSONDecodeError as error:
                    if self.eof or len(self.buffer) > _HEADER_BOUND:
                        raise _Stop(self._truncated(error)) from None
                self._more()
        depth = 0
        in_string = False
        position = 0
        skipped = 0
        while True:
            pattern = _IN_STRING if in_string else _OUTSIDE
            found = pattern.search(self.buffer, position)
            if found is None or (in_string and found.group() == "\\" and found.end() == len(self.buffer)):
                resume = len(self.buffer) if found is None else found.start()
                if len(self.buffer) > ENTRY_BOUND:  # too long to keep: scan on, dropping what was scanned
                    skipped += resume
                    self._drop(resume)
                    resume = 0
                position = resume
                if not self._more():
                    raise _Stop(self._truncated(None))
                continue
            mark = found.group()
            if in_string:
                if mark == "\\":
                    position = found.end() + 1
                    continue
                in_string = False
            elif mark == '"':
                in_string = True
            elif mark in "{[":
                depth += 1
            else:
                depth -= 1
            position = found.end()
            if depth == 0 and not in_string:
                if skipped:
                    self._after_skip = position
                    return skipped + position, False
                return position, True

    def _truncated(self, error: json.JSONDecodeError | None) -> str:
        if error is None:
            try:
                json.loads(self.buffer)
            except json.JSONDecodeError as broken:
                error = broken
            except (RecursionError, MemoryError):
                error = None
        where = self._where(error) if error is not None else f"line {self.lines + 1 + self.buffer.count(chr(10))}"
        return (f"invalid or truncated JSON at {where} "
                f"({self.read_entries} complete entries before it were read)")


def _exchange(path: str, index: int, entry: dict[str, Any]) -> Exchange | None:
    request = entry["request"]
    response = entry.get("response") or {}
    request_headers = _headers(request.get("headers", []))
    response_headers = _headers(response.get("headers", []))
    post = request.get("postData") or {}
    request_charset = charset_of(post.get("mimeType")) or charset_of(request_headers.get("content-type"))
    request_body = _body(post, request_charset)
    content = response.get("content") or {}
    response_charset = charset_of(content.get("mimeType")) or charset_of(response_headers.get("content-type"))
    response_body = _body(content, response_charset)
    if not is_xml_api(request.get("url", ""), request_body, response_body):
        return None
    started = _timestamp(entry.get("startedDateTime"))
    client = _client_address(entry, request_headers)
    agent = request_headers.get("user-agent")
    locator = f"entry {index}"
    messages = []
    if request_body or request.get("method", "POST").upper() == "POST":
        messages.append(Observed(request_body, "request", path, locator, started, client, agent, request_charset,
                                 url=request.get("url")))
    if response_body:
        answered = _answered(started, entry.get("time"))
        messages.append(Observed(response_body, "response", path, locator, answered, client, agent,
                                 response_charset, url=request.get("url")))
    return Exchange(tuple(messages)) if messages else None


def _headers(items: list[Any]) -> dict[str, str]:
    """HAR headers as a lower-cased dict; both {"name", "value"} objects and [name, value] pairs."""
    headers: dict[str, str] = {}
    for item in items:
        name, value = (item["name"], item["value"]) if isinstance(item, dict) else (item[0], item[1])
        headers.setdefault(str(name).lower(), str(value))
    return headers


def _body(holder: dict[str, Any], charset: str | None) -> bytes:
    text = holder.get("text")
    if not text:
        return b""
    if holder.get("encoding") == "base64":
        return base64.b64decode(text[:_BASE64_CHARS], validate=False)[:_BODY_BYTES]
    return text_to_bytes(text[:_BODY_BYTES], charset)[:_BODY_BYTES]


def _timestamp(value: Any) -> float | None:
    if not value:
        return None
    moment = datetime.fromisoformat(str(value))
    if moment.tzinfo is None:  # HAR requires an offset; a missing one is taken as UTC
        moment = moment.replace(tzinfo=UTC)
    return _representable(moment.timestamp(), f"startedDateTime {value!r}")


def _answered(started: float | None, elapsed: Any) -> float | None:
    """When the answer came: the start plus the entry's `time` (milliseconds; -1 or absent: unknown)."""
    if started is None or not isinstance(elapsed, int | float) or isinstance(elapsed, bool) or elapsed < 0:
        return started
    try:
        answered = started + float(elapsed) / 1000
    except OverflowError:  # an integer too big for a float
        answered = math.inf
    shown = repr(elapsed)
    return _representable(answered, f"time {shown if len(shown) <= 40 else shown[:40] + '…'}")


def _representable(seconds: float, what: str) -> float:
    """`seconds` if every writer can show it as a UTC date (a finite time in years 1 to 9999).

    JSON allows 1e300 and Python's reader Infinity; a date with a -14:00 offset on 9999-12-31 is
    in year 10000 in UTC. Any of them used to abort the whole audit where the date was written.
    """
    try:
        if math.isfinite(seconds):
            datetime.fromtimestamp(seconds, UTC)
            return seconds
    except (OverflowError, OSError, ValueError):
        pass
    raise ValueError(f"{what} is not a time that can be written as a UTC date")


def _client_address(entry: dict[str, Any], headers: dict[str, str]) -> str | None:
    for field in _CLIENT_FIELDS:
        if entry.get(field):
            return str(entry[field])
    for header in _FORWARDED_HEADERS:
        if headers.get(header):
            return headers[header].split(",")[0].strip()
    return None


def _describe(error: Exception) -> str:
    if isinstance(error, KeyError):
        return f"missing field {error.args[0]!r}"
    return str(error) or type(error).__name__
