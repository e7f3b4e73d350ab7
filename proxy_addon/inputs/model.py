"""What the capture readers report besides exchanges: read errors; and how text bodies become bytes again."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from proxy_addon.core.charsets import is_character_set
from proxy_addon.core.frozen import LazyPattern

_DECLARED = LazyPattern(r"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


class CaptureError:
    """An input, or part of one, that could not be read. The rest of the input is still audited.
    (A plain class: a dataclass costs `check` start-up ~0.5 ms to create.)"""

    __slots__ = ("source", "problem", "locator")

    def __init__(self, source: str, problem: str, locator: str = ""):
        self.source = source
        self.problem = problem
        self.locator = locator

    def __eq__(self, other: object) -> bool:
        return type(other) is CaptureError and (other.source, other.problem, other.locator) == (  # type: ignore[attr-defined]
            self.source, self.problem, self.locator)

    __hash__ = None  # type: ignore[assignment]  # mutable, as the dataclass it replaces

    def __reduce__(self) -> tuple:
        return CaptureError, (self.source, self.problem, self.locator)

    def __repr__(self) -> str:
        return f"CaptureError(source={self.source!r}, problem={self.problem!r}, locator={self.locator!r})"

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


def representable_time(seconds: object) -> float | None:
    """`seconds` if every writer can show it as a UTC date (a finite time in years 1 to 9999), else None.

    A flow dump may hold any float (1e300, inf, -1e18): the message is kept, with no time, instead of
    aborting the whole audit where the date is written.
    """
    if not isinstance(seconds, int | float) or isinstance(seconds, bool):
        return None
    try:
        if math.isfinite(seconds):
            datetime.fromtimestamp(seconds, UTC)
            return float(seconds)
    except (OverflowError, OSError, ValueError):
        pass
    return None
