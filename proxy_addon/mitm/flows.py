"""What the live proxy shows about one flow: what was found, learned and rewritten, as marks and comments.

Kept apart from the mitmproxy addon classes so that each addon hook stays a few lines long.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from proxy_addon.core.findings import Finding, Severity
from proxy_addon.core.message import Message
from proxy_addon.lint.engine import LintResult

METADATA_KEY = "webexlint"  # flow.metadata summary: JSON-able, shown by mitmweb and kept by `mitmdump -w`
# mitmweb shows a mark as the character mitmproxy's emoji table gives its shortcode, in the page's
# text font: ⛔ (:no_entry:, our mark before) has no glyph in DejaVu Sans and draws as an empty box
# on a machine without an emoji font; ✖ (U+2716) and ⚠ (U+26A0) are in the common text fonts.
ERROR_MARK, WARNING_MARK = ":heavy_multiplication_x:", ":warning:"
OUR_MARKS = {"", ERROR_MARK, WARNING_MARK, ":no_entry:"}  # ":no_entry:": flows marked by earlier versions


@dataclass
class FlowLint:
    """Everything the addons share about one flow. Lives in memory only (it holds secrets)."""

    site: str | None = None
    webex_id: str | None = None
    operation: str | None = None
    request: LintResult | None = None  # released once every addon has seen it
    response: LintResult | None = None
    request_findings: list[Finding] = field(default_factory=list)
    response_findings: list[Finding] = field(default_factory=list)
    rewritten: list[Finding] = field(default_factory=list)  # request findings fixed by the rewrite
    learned: list[str] = field(default_factory=list)
    failure: str | None = None  # the response's exceptionID when it was a FAILURE
    rewrite_plan: Any = None  # (Rewritten, the findings it fixes, original size) until the proxy applies it
    # The parsed messages, kept while the flow is in flight so that their secrets can be found when
    # (and only when) something is logged: most flows log nothing and never pay for the search.
    _messages: list[Message] = field(default_factory=list, repr=False)
    _secrets: frozenset[str] | None = field(default=None, repr=False)

    def remember(self, message: Message) -> None:
        self._messages.append(message)
        self._secrets = None

    def secrets(self) -> frozenset[str]:
        """The literal credential values of this flow's messages, for redaction."""
        if self._secrets is None:
            self._secrets = frozenset().union(*(message.secrets for message in self._messages))
        return self._secrets

    def release(self) -> None:
        """Drop the parsed trees (the secrets found so far are kept)."""
        self.request = self.response = None
        self._messages = []

    def findings(self, direction: str) -> list[Finding]:
        return self.request_findings if direction == "request" else self.response_findings

    def worst_severity(self) -> Severity | None:
        findings = self.request_findings + self.response_findings
        return max((f.severity for f in findings), key=lambda s: Severity(s).rank, default=None)

    def mark(self) -> str:
        worst = self.worst_severity()
        if worst == Severity.ERROR:
            return ERROR_MARK
        if worst == Severity.WARNING:
            return WARNING_MARK
        return ""

    def comment(self) -> str:
        """One line for mitmweb's flow list: what was found in each direction."""
        parts = []
        for direction in ("request", "response"):
            findings = self.findings(direction)
            if findings:
                parts.append(f"{direction} " + " ".join(_counted(f"{f.rule}({f.severity})" for f in findings)))
        if self.failure is not None:
            parts.append(f"FAILURE {self.failure}")
        if self.rewritten:
            parts.append("rewritten: " + ", ".join(_counted(f.rule for f in self.rewritten)))
        return f"webexlint {self.operation or '?'}: " + " | ".join(parts) if parts else ""

    def summary(self) -> dict[str, Any]:
        """The JSON-able record kept in flow.metadata (already free of secrets: findings are redacted)."""
        return {
            "site": self.site,
            "operation": self.operation,
            "request": [_finding_summary(f, f in self.rewritten) for f in self.request_findings],
            "response": [_finding_summary(f) for f in self.response_findings],
            "learned": list(self.learned),
        }


def _counted(labels: Iterable[str]) -> list[str]:
    """Each label once, in first-seen order, with ×N when it came N > 1 times (WX301(warning)×2)."""
    counts = Counter(labels)
    return [label if count == 1 else f"{label}×{count}" for label, count in counts.items()]


def _finding_summary(finding: Finding, rewritten: bool = False) -> dict[str, Any]:
    summary = {"rule": finding.rule, "severity": str(finding.severity), "message": finding.message,
               "line": finding.line}
    if finding.notes:
        summary["notes"] = list(finding.notes)
    if rewritten:
        summary["rewritten"] = True
    return summary
