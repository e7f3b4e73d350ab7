"""What the live proxy shows about one flow, read from its exchange record: marks, comments, a summary.

Kept apart from the mitmproxy addon classes so that each addon hook stays a few lines long.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from proxy_addon.core.findings import Finding, Severity
from proxy_addon.exchange.record import ExchangeRecord

METADATA_KEY = "webexlint"  # flow.metadata summary: JSON-able, shown by mitmweb and kept by `mitmdump -w`
COMMENT_KEY = "webexlint_comment"  # the comment we wrote, so a later one replaces ours and never the user's
# mitmweb shows a mark as the character mitmproxy's emoji table gives its shortcode, in the page's
# text font: ⛔ (:no_entry:, our mark before) has no glyph in DejaVu Sans and draws as an empty box
# on a machine without an emoji font; ✖ (U+2716) and ⚠ (U+26A0) are in the common text fonts.
ERROR_MARK, WARNING_MARK = ":heavy_multiplication_x:", ":warning:"
OUR_MARKS = {"", ERROR_MARK, WARNING_MARK, ":no_entry:"}  # ":no_entry:": flows marked by earlier versions


def shows_something(record: ExchangeRecord, rewritten: Sequence[str]) -> bool:
    return bool(record.findings or record.learned or rewritten)


def mark(record: ExchangeRecord) -> str:
    worst = max((Severity(f.severity) for f in record.findings), key=lambda s: s.rank, default=None)
    if worst == Severity.ERROR:
        return ERROR_MARK
    if worst == Severity.WARNING:
        return WARNING_MARK
    return ""


def comment(record: ExchangeRecord, rewritten: Sequence[str] = ()) -> str:
    """One line for mitmweb's flow list, where every Webex call has the same path: the operation
    first (a clean flow's comment is just that, `GetUser`), then what was found in each direction."""
    parts = []
    for direction in ("request", "response"):
        findings = record.findings_in(direction)
        if findings:
            parts.append(f"{direction} " + " ".join(_counted(f"{f.rule}({f.severity})" for f in findings)))
    if record.failure is not None:
        parts.append(f"FAILURE {record.failure}")
    if rewritten:
        parts.append("rewritten: " + ", ".join(_counted(rewritten)))
    operation = record.operation or "?"
    return f"{operation}: " + " | ".join(parts) if parts else operation


def summary(record: ExchangeRecord, rewritten: Sequence[str] = ()) -> dict[str, Any]:
    """The JSON-able record kept in flow.metadata: findings as every output shows them, redacted."""
    return {
        "site": record.site,
        "operation": record.operation,
        "request": [_shown(f, f.rule in rewritten) for f in record.redacted_findings("request")],
        "response": [_shown(f) for f in record.redacted_findings("response")],
        "learned": [record.redact(fact.note) for fact in record.learned],
    }


def _shown(finding: Finding, rewritten: bool = False) -> dict[str, Any]:
    shown = finding.as_dict()
    if rewritten:
        shown["rewritten"] = True
    return shown


def _counted(labels: Iterable[str]) -> list[str]:
    """Each label once, in first-seen order, with ×N when it came N > 1 times (WX301(warning)×2)."""
    counts = Counter(labels)
    return [label if count == 1 else f"{label}×{count}" for label, count in counts.items()]
