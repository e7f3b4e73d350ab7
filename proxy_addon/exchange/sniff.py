"""The one answer to "is this Webex XML API traffic?", for the proxy, the contentview and the capture readers.

By URL: the service path /WBXService/XMLService. By content: a document whose root element is
(prefix:)message, after an optional BOM, declaration and comments, or that names the service namespace
early on. Either one is enough: clients post to odd paths, and captures lose URLs.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from proxy_addon.core.namespaces import SERVICE_NS

SNIFF_BYTES = 4096
_SERVICE_PATH = re.compile(r"/WBXService/XMLService/?$", re.IGNORECASE)
_SERV_MESSAGE_START = re.compile(
    rb"^(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--.*?-->\s*)*<(?:[A-Za-z_][\w.-]*:)?message[\s/>]",
    re.DOTALL,
)
_SERVICE_NAMESPACE = SERVICE_NS.encode()


def is_xml_api(url: str | None, *bodies: bytes | None) -> bool:
    """True for traffic to the XML service: a URL (or path) ending in its path, or a body that is a message."""
    if url and _SERVICE_PATH.search(urlsplit(url).path if "://" in url else url.split("?", 1)[0].split("#", 1)[0]):
        return True
    return any(body and _is_message(body[:SNIFF_BYTES]) for body in bodies)


def _is_message(head: bytes) -> bool:
    return _SERV_MESSAGE_START.match(head) is not None or _SERVICE_NAMESPACE in head
