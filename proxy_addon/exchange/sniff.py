"""The one answer to "is this Webex XML API traffic?", for the proxy, the contentview and the capture readers.

By URL: the service path /WBXService/XMLService. By content: a document whose root element is
(prefix:)message, after an optional byte-order mark and prolog (declaration, processing
instructions, comments, a DOCTYPE), in UTF-8 or UTF-16, or that names the service namespace early on.
Either one is enough: clients post to odd paths, and captures lose URLs. The folder walk uses the
same test to leave out XML files that are not messages (a pom.xml).

Every body the proxy sees passes here, on its event loop, so the test must cost little and never
more than linear time in the bytes it is given, whatever they are: it is a scanner that moves
forward only (each prolog item ends at the first terminator a `find` returns), never a regular
expression that can backtrack (a 67-byte `<!DOCTYPE[][]…` froze the proxy 13 s with one). UTF-8 and
other ASCII-compatible bodies are scanned as bytes, nothing decoded; UTF-16 and UTF-32 ones (a
byte-order mark, or NULs beside ASCII) are decoded first and scanned the same way.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from proxy_addon.core.charsets import byte_order_mark
from proxy_addon.core.frozen import LazyPattern
from proxy_addon.core.namespaces import SERVICE_NS

SNIFF_BYTES = 4096
_SERVICE_PATHS = ("/wbxservice/xmlservice", "/wbxservice/xmlservice/")
_SERVICE_NAMESPACE = SERVICE_NS.encode()
_UTF8_MARK = b"\xef\xbb\xbf"
_MARK_STARTS = (b"\xef", b"\xff", b"\xfe", b"\x00")  # the first bytes of every byte-order mark


class _Syntax:
    """The prolog's tokens in one representation (bytes or str): its markers, and possessive (never
    backtracking) patterns for the runs between them."""

    def __init__(self, kind: type, gap: str, space: str, name_char: str) -> None:
        word = (lambda text: text.encode("latin-1")) if kind is bytes else (lambda text: text)
        self.pi, self.pi_end = word("<?"), word("?>")
        self.comment, self.comment_end = word("<!--"), word("-->")
        self.doctype = word("<!DOCTYPE")
        self.subset_open, self.subset_close, self.tag_close = word("["), word("]"), word(">")
        self.gap = LazyPattern(word(f"{gap}*+"))
        self.doctype_text = LazyPattern(word(r"[^\[>]*+"))
        # An optional prefix (its name read once, possessively: at most two tries), `message`, then a
        # space, `/` or `>`.
        self.root = LazyPattern(word(rf"<(?:[A-Za-z_]{name_char}*+:)?message(?:{space}|[/>])"))


# What re's `\s` and `\w` matched when the head was decoded first, so that the answer does not depend
# on the representation: in bytes, the ASCII whitespace str.isspace() knows and the UTF-8 forms of
# the other Unicode spaces; between prolog items also, as decode(errors="ignore") dropped them, bytes
# that cannot start a UTF-8 character (a PNG's leading \x89).
_BYTES_SPACE = (r"(?:[ \t\n\r\x0b\x0c\x1c-\x1f]|\xc2[\x85\xa0]|\xe1\x9a\x80|\xe2\x80[\x80-\x8a\xa8\xa9\xaf]"
                r"|\xe2\x81\x9f|\xe3\x80\x80)")
_BYTES = _Syntax(bytes, rf"(?:{_BYTES_SPACE}|[\x80-\xbf\xc0\xc1\xf5-\xff])", _BYTES_SPACE,
                 rf"(?:[\w.\-]|(?!{_BYTES_SPACE})[\xc2-\xf4][\x80-\xbf]{{1,3}})")
_TEXT = _Syntax(str, r"\s", r"\s", r"[\w.\-]")


def is_xml_api(url: str | None, *bodies: bytes | None) -> bool:
    """True for traffic to the XML service: a URL (or path) ending in its path, or a body that is a message."""
    if url and _is_service_path(url):
        return True
    return any(body and is_message(body[:SNIFF_BYTES]) for body in bodies)


def _is_service_path(url: str) -> bool:
    path = urlsplit(url).path if "://" in url else url.split("?", 1)[0].split("#", 1)[0]
    return path[-24:].lower().endswith(_SERVICE_PATHS)


def is_message(head: bytes | memoryview) -> bool:
    """True when the first bytes of a document start a `message` envelope, or name the service namespace."""
    head = bytes(head[:SNIFF_BYTES]) if type(head) is not bytes else head[:SNIFF_BYTES]
    if _SERVICE_NAMESPACE in head:
        return True
    marked = byte_order_mark(head) if head[:1] in _MARK_STARTS else None
    if marked is None:
        wide = _bomless_wide(head)
        if wide is None:
            return _root_is_message(head, 0, _BYTES)  # the usual case, on bytes: nothing decoded
        text = head.decode(wide, "ignore")
    elif marked[0] == _UTF8_MARK:
        return _root_is_message(head, len(_UTF8_MARK), _BYTES)
    else:
        text = head[len(marked[0]):].decode(marked[1], "ignore")
    return SERVICE_NS in text or _root_is_message(text, 0, _TEXT)


def _root_is_message(text, position: int, syntax: _Syntax) -> bool:
    """Skip the prolog from `position`, then say whether the root element is (prefix:)message.

    Each step moves forward to the end of an item, and a `find` that fails ends the scan: linear.
    """
    end = len(text)
    while position < end:
        position = syntax.gap.match(text, position).end()
        if text.startswith(syntax.comment, position):
            close = text.find(syntax.comment_end, position + 4)
            if close < 0:
                return False
            position = close + 3
        elif text.startswith(syntax.pi, position):
            close = text.find(syntax.pi_end, position + 2)
            if close < 0:
                return False
            position = close + 2
        elif text[position:position + 9].upper() == syntax.doctype:
            position = _after_doctype(text, position + 9, syntax)
            if position < 0:
                return False
        else:
            break
    return syntax.root.match(text, position) is not None


def _after_doctype(text, position: int, syntax: _Syntax) -> int:
    """Where a DOCTYPE ends: its first `>` outside an internal subset `[…]`, which ends at its first
    `]` (as the old pattern's lazy match did); -1 when it does not end."""
    while True:
        position = syntax.doctype_text.match(text, position).end()
        if text.startswith(syntax.tag_close, position):
            return position + 1
        if not text.startswith(syntax.subset_open, position):
            return -1  # the end of the head
        close = text.find(syntax.subset_close, position + 1)
        if close < 0:
            return -1
        position = close + 1


def _bomless_wide(head: bytes) -> str | None:
    """UTF-16 without a byte-order mark shows as a NUL beside every ASCII character."""
    if head[:2] == b"\x00<":
        return "utf-16-be"
    if head[:2] == b"<\x00":
        return "utf-16-le"
    return None
