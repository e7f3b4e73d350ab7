"""mitmproxy flow dumps (`mitmdump -w FILE`), read with mitmproxy's own FlowReader.

mitmproxy is imported here only, when a flow dump is actually read: auditing .xml files and HAR
exports does not pay for it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import BinaryIO

from proxy_addon.core.charsets import charset_of
from proxy_addon.core.content_encoding import UndecodableBody, decode_bounded
from proxy_addon.core.parsing import DEFAULT_MAX_BYTES
from proxy_addon.exchange.observed import Exchange, Observed
from proxy_addon.exchange.sniff import is_xml_api
from proxy_addon.inputs.model import CaptureError, representable_time

# One flow holds a request and a response, each linted up to 16 MiB + 1 byte: a flow (tnetstring) longer
# than this is not read, and neither is the rest of its dump (its end cannot be trusted).
FLOW_BOUND = 4 * DEFAULT_MAX_BYTES


def read_flow_dump(path: str, stream: BinaryIO) -> Iterator[Exchange | CaptureError]:
    from mitmproxy import exceptions, http  # noqa: PLC0415
    from mitmproxy.io import FlowReader  # noqa: PLC0415

    index = 0
    position = 0
    try:
        for flow in FlowReader(_Bounded(stream)).stream():
            try:
                exchange = _exchange(path, index, flow) if isinstance(flow, http.HTTPFlow) else None
            except UndecodableBody as error:
                yield CaptureError(path, str(error), f"flow {index}")
                exchange = None
            if exchange is not None:
                now = stream.tell()
                exchange.weight, position = now - position, now
                yield exchange
            index += 1
    except (exceptions.FlowReadException, ValueError, KeyError, TypeError) as error:
        yield CaptureError(path, f"corrupt or truncated flow dump: {error} (the {index} flow(s) before it "
                           "were read)", f"flow {index}")
    except (RecursionError, MemoryError) as error:  # a tnetstring nested thousands deep, or an absurd length
        what = "nested too deeply" if isinstance(error, RecursionError) else "too large to hold in memory"
        yield CaptureError(path, f"corrupt flow dump: {what} (the {index} flow(s) before it were read)",
                           f"flow {index}")


class _Bounded:
    """The dump as mitmproxy's reader sees it: a read never asks for more than the file still holds,
    nor more than FLOW_BOUND. tnetstring.load reads the length it is told in one call, and a 113-byte
    dump saying 999999999999 made Python allocate that much (MemoryError, the whole audit aborted)."""

    def __init__(self, stream: BinaryIO):
        self.stream = stream
        try:
            self.size: int | None = os.fstat(stream.fileno()).st_size
        except (OSError, AttributeError, ValueError):
            self.size = None

    def read(self, count: int = -1) -> bytes:
        if count is None or count < 0:
            count = FLOW_BOUND + 1  # "the rest": never more than a flow may hold
        if count > FLOW_BOUND:
            raise ValueError(f"a tnetstring of {count:,} bytes (more than {FLOW_BOUND:,} are not read)")
        if self.size is not None:
            count = min(count, max(self.size - self.stream.tell(), 0))
        return self.stream.read(count)

    def peek(self, count: int) -> bytes:
        return self.stream.peek(count)

    def tell(self) -> int:
        return self.stream.tell()

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.stream.seek(offset, whence)


def _exchange(path: str, index: int, flow) -> Exchange | None:
    request, response = flow.request, flow.response
    request_body = _body(request)
    response_body = _body(response) if response is not None else b""
    if not is_xml_api(request.pretty_url, request_body, response_body):
        return None
    peer = flow.client_conn.peername
    client = str(peer[0]) if peer else None
    agent = request.headers.get("user-agent")
    locator = f"flow {index}"
    messages = [Observed(request_body, "request", path, locator, representable_time(request.timestamp_start), client, agent,
                         charset_of(request.headers.get("content-type")), url=request.pretty_url, flow_id=flow.id)]
    if response_body:
        messages.append(Observed(response_body, "response", path, locator, representable_time(response.timestamp_start), client, agent,
                                 charset_of(response.headers.get("content-type")), url=request.pretty_url, flow_id=flow.id))
    return Exchange(tuple(messages))


def _body(message) -> bytes:
    """The body without its Content-Encoding, bounded: mitmproxy would inflate a compression bomb whole."""
    raw = message.raw_content
    if not raw:
        return b""
    return decode_bounded(raw, message.headers.get("content-encoding", ""), DEFAULT_MAX_BYTES + 1)
