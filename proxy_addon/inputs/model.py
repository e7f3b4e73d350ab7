"""What the capture readers report besides exchanges: read errors; and how text bodies become bytes again."""

from __future__ import annotations

import re
from dataclasses import dataclass

from proxy_addon.core.charsets import is_character_set

_DECLARED = re.compile(r"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


@dataclass(slots=True)
class CaptureError:
    """An input, or part of one, that could not be read. The rest of the input is still audited."""

    source: str
    problem: str
    locator: str = ""

    def __str__(self) -> str:
        where = f"{self.source}: {self.locator}" if self.locator else self.source
        return f"{where}: {self.problem}"


def text_to_bytes(text: str, charset: str | None) -> bytes:
    """Re-encode a body that a capture tool stored as text, as the client most likely sent it.

    The HTTP charset wins, then the XML declaration, then UTF-8. Characters the charset cannot hold
    become character references, which an XML parser reads back as the same characters.
    """
    declared = _DECLARED.match(text[:200])
    for candidate in (charset, declared.group(1) if declared else None, "utf-8"):
        if not candidate or not is_character_set(candidate):  # charset=idna, encoding="base64"
            continue
        try:
            return text.encode(candidate, "xmlcharrefreplace")
        except (LookupError, UnicodeError):
            continue
    return text.encode("utf-8", "surrogatepass")
