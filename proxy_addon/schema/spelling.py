"""Is an unknown element name a known one misspelled? (siteId -> siteID, timezoneID -> timeZoneID)"""

from __future__ import annotations

from collections.abc import Iterable

# Below this length one edit turns too many real names into each other (url/uri, fax/tax).
MIN_LENGTH_FOR_EDITS = 4


def suggest(name: str, known: Iterable[str]) -> str | None:
    """The known name `name` was probably meant to be: same letters but for case, or one edit
    (insert, delete, replace, swap two neighbours) ignoring case. None when nothing is that close,
    and when the names differ only in digits (trackingCode11 is not a typo of trackingCode1)."""
    folded = name.casefold()
    close: list[tuple[int, str]] = []
    for candidate in known:
        if candidate == name:
            return None
        other = candidate.casefold()
        if other == folded:
            close.append((0, candidate))
        elif (min(len(name), len(candidate)) >= MIN_LENGTH_FOR_EDITS and _one_edit(folded, other)
              and _strip_digits(folded) != _strip_digits(other)):
            close.append((1, candidate))
    return min(close)[1] if close else None


def _one_edit(a: str, b: str) -> bool:
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        differ = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        if len(differ) == 1:
            return True
        return len(differ) == 2 and differ[1] == differ[0] + 1 and a[differ[0]] == b[differ[1]] \
            and a[differ[1]] == b[differ[0]]
    shorter, longer = (a, b) if len(a) < len(b) else (b, a)
    for index, (x, y) in enumerate(zip(shorter, longer, strict=False)):
        if x != y:
            return shorter[index:] == longer[index + 1:]
    return True


def _strip_digits(name: str) -> str:
    return "".join(ch for ch in name if not ch.isdigit())
