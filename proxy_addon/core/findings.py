"""The finding: what a rule reports about one place in one message."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 3, "warning": 2, "info": 1}[self.value]


@dataclass(slots=True)
class Edit:
    """A change to the message text: replace characters [start, end) with `text`."""

    start: int
    end: int
    text: str


@dataclass(slots=True)
class Fix:
    """A proposed change. `safe` fixes are applied by --fix and --rewrite; unsafe ones need opting in."""

    description: str
    safe: bool
    # Resolved lazily against the source text by proxy_addon.core.fixes; see Fix.action.
    action: str  # "remove" | "replace-text" | "replace-element"
    element_index: int  # position of the element in document order (root = 0)
    replacement: str | None = None


@dataclass(slots=True)
class Finding:
    rule: str
    name: str
    severity: Severity
    message: str
    line: int = 1
    column: int = 1
    path: str = "-"
    operation: str | None = None
    direction: str | None = None
    predicts: str | None = None  # the server exceptionID this finding predicts
    fix: Fix | None = None
    element_index: int | None = None
    notes: list[str] = field(default_factory=list)
    locator: str = ""  # where inside a capture file: "entry 3 request", "flow 7 response"
    # Its rule applied because of what traffic taught (a learned site type or API version), not what
    # was configured: the proxy rewrites such a finding only when asked to (--rewrite-learned).
    learned: bool = False

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
