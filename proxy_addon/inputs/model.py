"""What the capture readers produce: captured messages grouped into exchanges, and read errors."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from proxy_addon.core.namespaces import SERVICE_NS

_CHARSET = re.compile(r"""charset\s*=\s*["']?([^"';\s]+)""", re.IGNORECASE)
_DECLARED = re.compile(r"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_SERVICE_MARKERS = (SERVICE_NS.encode(), b"serv:message")


@dataclass(slots=True)
class CapturedMessage:
    """One XML API message as it was seen on the wire (or in a file)."""

    data: bytes
    source: str  # the capture file
    locator: str = ""  # where in the file: "" for a whole .xml file, "entry 3", "flow 7"
    direction: str | None = None  # "request" / "response"; None: let the linter decide
    time: float | None = None  # seconds since the epoch, UTC
    client_address: str | None = None
    user_agent: str | None = None
    http_charset: str | None = None


@dataclass(slots=True)
class Exchange:
    """A request and, when it was captured, its response (the response learns the operation from it).

    `weight` is how many bytes of input the exchange accounts for, so progress can be shown in bytes.
    """

    messages: list[CapturedMessage] = field(default_factory=list)
    weight: int = 0


@dataclass(slots=True)
class CaptureError:
    """An input, or part of one, that could not be read. The rest of the input is still audited."""

    source: str
    problem: str
    locator: str = ""

    def __str__(self) -> str:
        where = f"{self.source}: {self.locator}" if self.locator else self.source
        return f"{where}: {self.problem}"


def charset_of(content_type: str | None) -> str | None:
    """The charset parameter of a Content-Type value, if any."""
    found = _CHARSET.search(content_type or "")
    return found.group(1).strip().lower() if found else None


def text_to_bytes(text: str, charset: str | None) -> bytes:
    """Re-encode a body that a capture tool stored as text, as the client most likely sent it.

    The HTTP charset wins, then the XML declaration, then UTF-8. Characters the charset cannot hold
    become character references, which an XML parser reads back as the same characters.
    """
    declared = _DECLARED.match(text[:200])
    for candidate in (charset, declared.group(1) if declared else None, "utf-8"):
        if not candidate:
            continue
        try:
            return text.encode(candidate, "xmlcharrefreplace")
        except LookupError:
            continue
    return text.encode("utf-8", "surrogatepass")


def looks_like_xml_api(url: str, *bodies: bytes) -> bool:
    """True for traffic to the XML service: its URL, or a body in the service namespace."""
    if "xmlservice" in url.lower():
        return True
    return any(marker in body[:4096] for body in bodies for marker in _SERVICE_MARKERS)
