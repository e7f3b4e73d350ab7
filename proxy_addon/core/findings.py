"""The finding: what a rule reports about one place in one message."""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any

from proxy_addon.core.frozen import Plain


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 3, "warning": 2, "info": 1}[self.value]


class Edit(Plain):
    """A change to the message text: replace characters [start, end) with `text`."""

    __slots__ = ("start", "end", "text")
    _FIELDS = __slots__

    def __init__(self, start: int, end: int, text: str):
        self.start = start
        self.end = end
        self.text = text


class Fix(Plain):
    """A proposed change. `safe` fixes are applied by --fix and --rewrite; unsafe ones need opting in."""

    # `action` is resolved lazily against the source text by proxy_addon.core.fixes:
    # "remove" | "replace-text" | "replace-element"; `element_index` is the element's position in
    # document order (root = 0).
    __slots__ = ("description", "safe", "action", "element_index", "replacement")
    _FIELDS = __slots__

    def __init__(self, description: str, safe: bool, action: str, element_index: int, replacement: str | None = None):
        self.description = description
        self.safe = safe
        self.action = action
        self.element_index = element_index
        self.replacement = replacement


class Finding(Plain):
    """What a rule reports about one place. (Edit, Fix and Finding are plain classes, not dataclasses:
    `check FILE` creates them at import, and a dataclass costs start-up ~0.5 ms to generate.)"""

    __slots__ = ("rule", "name", "severity", "message", "line", "column", "path", "operation", "direction",
                 "predicts", "fix", "element_index", "notes", "locator", "learned")
    _FIELDS = __slots__

    def __init__(self, rule: str, name: str, severity: Severity, message: str, line: int = 1, column: int = 1,
                 path: str = "-", operation: str | None = None, direction: str | None = None,
                 predicts: str | None = None,  # the server exceptionID this finding predicts
                 fix: Fix | None = None, element_index: int | None = None, notes: list[str] | None = None,
                 locator: str = "",  # where inside a capture file: "entry 3 request", "flow 7 response"
                 # Its rule applied because of what traffic taught (a learned site type or API version), not
                 # what was configured: the proxy rewrites such a finding only when asked to (--rewrite-learned).
                 learned: bool = False):
        self.rule = rule
        self.name = name
        self.severity = severity
        self.message = message
        self.line = line
        self.column = column
        self.path = path
        self.operation = operation
        self.direction = direction
        self.predicts = predicts
        self.fix = fix
        self.element_index = element_index
        self.notes = [] if notes is None else notes  # each finding its own list
        self.locator = locator
        self.learned = learned

    def masked(self, mask: Callable[[str], str]) -> Finding:
        """A copy whose texts (message, notes) went through `mask` (redaction where it leaves the process)."""
        return Finding(self.rule, self.name, self.severity, mask(self.message), self.line, self.column, self.path,
                       self.operation, self.direction, self.predicts, self.fix, self.element_index,
                       [mask(note) for note in self.notes], self.locator, self.learned)

    @property
    def location(self) -> str:
        """path, or path#locator for a message inside a HAR export or a flow dump."""
        return f"{self.path}#{self.locator}" if self.locator else self.path

    @property
    def fixable(self) -> bool:
        return self.fix is not None

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "name": self.name,
            "severity": str(self.severity),
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "operation": self.operation,
            "direction": self.direction,
            "message": self.message,
            "fixable": self.fixable,
            "predicts": self.predicts,
            "notes": list(self.notes),
            **({"locator": self.locator} if self.locator else {}),
        }
