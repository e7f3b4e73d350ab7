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
import json
import math
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from proxy_addon.core.charsets import charset_of
from proxy_addon.exchange.observed import Exchange, Observed
from proxy_addon.exchange.sniff import is_xml_api
from proxy_addon.inputs.model import CaptureError, text_to_bytes

_ENTRIES = re.compile(r'"entries"\s*:\s*\[')
# Where a client address may be found: tools' own fields first, then what a forwarding proxy adds.
_CLIENT_FIELDS = ("_clientAddress", "clientIPAddress", "_clientIPAddress")
_FORWARDED_HEADERS = ("x-forwarded-for", "x-real-ip")


def read_har(path: str, data: bytes) -> Iterator[Exchange | CaptureError]:
    try:
        text = data.decode("utf-8-sig")  # Fiddler writes a BOM
    except UnicodeDecodeError as error:
        yield CaptureError(path, f"not UTF-8 at byte {error.start}: a HAR file is UTF-8 JSON")
        return
    entries, problem = _entries(text)
    share = len(data) // max(len(entries), 1)
    weight = 0  # entries that are not XML API traffic count towards the next one that is
    for index, entry in enumerate(entries):
        weight += share
        try:
            exchange = _exchange(path, index, entry)
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError, binascii.Error) as error:
            yield CaptureError(path, f"unusable HAR entry: {_describe(error)}", f"entry {index}")
            continue
        if exchange is not None:
            exchange.weight, weight = weight, 0
            yield exchange
    if problem:
        yield CaptureError(path, problem)


def _entries(text: str) -> tuple[list[Any], str | None]:
    """The entries, and a problem if the file is not a whole HAR document."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        return _salvage(text, error)
    entries = document.get("log", {}).get("entries") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        return [], "not a HAR file: no log.entries list"
    return entries, None


def _salvage(text: str, error: json.JSONDecodeError) -> tuple[list[Any], str]:
    """Decode entries one by one up to the point where the JSON breaks."""
    start = _ENTRIES.search(text)
    if start is None:
        return [], f"invalid JSON at line {error.lineno} column {error.colno}: {error.msg}"
    decoder = json.JSONDecoder()
    entries: list[Any] = []
    position = start.end()
    while True:
        while position < len(text) and text[position] in " \t\r\n,":
            position += 1
        if position < len(text) and text[position] == "]":
            break
        try:
            entry, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError as broken:
            error = broken
            break
        entries.append(entry)
    return entries, (f"invalid or truncated JSON at line {error.lineno} column {error.colno}: {error.msg} "
                     f"({len(entries)} complete entries before it were read)")


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
        messages.append(Observed(request_body, "request", path, locator, started, client, agent, request_charset))
    if response_body:
        answered = _answered(started, entry.get("time"))
        messages.append(Observed(response_body, "response", path, locator, answered, client, agent,
                                 response_charset))
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
        return base64.b64decode(text, validate=False)
    return text_to_bytes(text, charset)


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
