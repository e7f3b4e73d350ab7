"""The live proxy's view of a body: decoded from its Content-Encoding, never more than the linter reads.

The linter refuses messages over its size bound (WX009) after looking only at their length, so the
proxy never hands it more than the bound and one byte: a 50 MB body costs the lint worker 16 MiB,
not 50 (and does not crowd other messages out of the worker's pipe). Bodies are decoded by
core.content_encoding, bounded, never by mitmproxy (which inflates a body whole). Free of mitmproxy.
"""

from __future__ import annotations

from proxy_addon.core.content_encoding import UndecodableBody, decode_bounded
from proxy_addon.core.parsing import DEFAULT_MAX_BYTES

LINT_BYTES = DEFAULT_MAX_BYTES + 1  # enough for the linter to see that a message is over its bound

__all__ = ["LINT_BYTES", "UndecodableBody", "decoded_body"]


def decoded_body(raw: bytes, content_encoding: str) -> bytes:
    """The first LINT_BYTES of the body without its Content-Encoding. Raises UndecodableBody."""
    return decode_bounded(raw, content_encoding, LINT_BYTES)
