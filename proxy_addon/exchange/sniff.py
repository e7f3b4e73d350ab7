"""The one answer to "is this Webex XML API traffic?", for the proxy, the contentview and the capture readers.

By URL: the service path /WBXService/XMLService. By content: a document whose root element is
(prefix:)message, after an optional byte-order mark and prolog (declaration, processing
instructions, comments, a DOCTYPE), in UTF-8 or UTF-16, or that names the service namespace early on.
Either one is enough: clients post to odd paths, and captures lose URLs. The folder walk uses the
same test to leave out XML files that are not messages (a pom.xml).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from proxy_addon.core.charsets import byte_order_mark
from proxy_addon.core.namespaces import SERVICE_NS

SNIFF_BYTES = 4096
_SERVICE_PATH = re.compile(r"/WBXService/XMLService/?$", re.IGNORECASE)
_SERV_MESSAGE_START = re.compile(
    rb"^(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--.*?-->\s*)*<(?:[A-Za-z_][\w.-]*:)?message[\s/>]",
    re.DOTALL,
)
_SERVICE_NAMESPACE = SERVICE_NS.encode()
# The prolog a message may start with: declaration, processing instructions, comments, a DOCTYPE
# (with an internal subset), whitespace; then the root element, which must be (prefix:)message.
_PROLOG_ITEM = re.compile(r"\s+|<\?.*?\?>|<!--.*?-->|<!DOCTYPE(?:[^\[>]|\[.*?\])*>", re.DOTALL | re.IGNORECASE)
_MESSAGE_ROOT = re.compile(r"<(?:[A-Za-z_][\w.-]*:)?message[\s/>]")


def is_xml_api(url: str | None, *bodies: bytes | None) -> bool:
    """True for traffic to the XML service: a URL (or path) ending in its path, or a body that is a message."""
    if url and _SERVICE_PATH.search(urlsplit(url).path if "://" in url else url.split("?", 1)[0].split("#", 1)[0]):
        return True
    return any(body and is_message(body[:SNIFF_BYTES]) for body in bodies)


def is_message(head: bytes) -> bool:
    """True when the first bytes of a document start a `message` envelope, or name the service namespace."""
    if _SERV_MESSAGE_START.match(head) is not None or _SERVICE_NAMESPACE in head:
        return True  # the usual case, on bytes: nothing decoded
    marked = byte_order_mark(head)
    encoding = marked[1] if marked else _bomless_wide(head)
    text = head[len(marked[0]) if marked else 0:].decode(encoding, "ignore")
    if SERVICE_NS in text:
        return True
    position = 0
    while (item := _PROLOG_ITEM.match(text, position)) and item.end() > position:
        position = item.end()
    return _MESSAGE_ROOT.match(text, position) is not None


def _bomless_wide(head: bytes) -> str:
    """UTF-16 without a byte-order mark shows as a NUL beside every ASCII character."""
    if head[:2] == b"\x00<":
        return "utf-16-be"
    if head[:2] == b"<\x00":
        return "utf-16-le"
    return "utf-8"
