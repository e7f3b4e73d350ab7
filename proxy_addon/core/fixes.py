"""Apply fixes to a message's source text, leaving every byte the fixes do not touch as it was.

Edits work on the decoded text using the element spans from positions.py, then the text is encoded
back with the message's own encoding (and BOM), so the XML declaration, the encoding, comments,
whitespace and attribute quoting all survive.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from proxy_addon.core.charsets import byte_order_mark
from proxy_addon.core.findings import Edit, Finding
from proxy_addon.core.parsing import ParsedDocument
from proxy_addon.core.text import xml_escape


class LintedDocument(Protocol):
    """What fixing needs of a lint result (lint/engine.py's LintResult): the document and its findings."""

    document: ParsedDocument
    findings: list[Finding]


@dataclass
class FixOutcome:
    data: bytes
    applied: list[Finding] = field(default_factory=list)
    skipped: list[tuple[Finding, str]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.applied)


# An error of these rules means the text may not be what a server reads: no edit is safe.
_UNSAFE_TO_EDIT = frozenset({"WX001", "WX005", "WX006", "WX009"})


def fixes_blocked(findings) -> bool:
    """True when no fix of this message may be applied. Whoever shows fixes asks this too, so that
    "[*] N fixable" never promises what --fix then refuses (a BOM with encoding="utf-8-sig")."""
    return any(f.rule in _UNSAFE_TO_EDIT and f.severity == "error" for f in findings)


def apply_fixes(result: LintedDocument, *, unsafe: bool = False, rules: set[str] | None = None,
                learned: bool = True) -> FixOutcome:
    """Apply the safe fixes of `result` (and the unsafe ones too with `unsafe`). Without `learned`,
    a finding that only a fact learned from traffic made (Finding.learned) is skipped, not fixed."""
    document = result.document
    outcome = FixOutcome(document.raw)
    wanted = [f for f in result.findings
              if f.fix is not None and (unsafe or f.fix.safe) and (rules is None or f.rule in rules)]
    if not learned:
        outcome.skipped = [(f, "it depends on a fact learned from traffic (--rewrite-learned applies it)")
                           for f in wanted if f.learned]
        wanted = [f for f in wanted if not f.learned]
    if not wanted or document.text is None:
        return outcome
    if fixes_blocked(result.findings):
        outcome.skipped += [(f, "the message is not safely parseable") for f in wanted]
        return outcome
    text = document.text
    spans = document.source_map.spans
    planned: list[tuple[Edit, Finding]] = []
    for finding in wanted:
        fix = finding.fix
        if fix.element_index >= len(spans):
            outcome.skipped.append((finding, "element position not found in the source"))
            continue
        planned.append((_edit_for(text, spans[fix.element_index], fix.action, fix.replacement), finding))
    planned.sort(key=lambda item: (item[0].start, -item[0].end))
    edits: list[tuple[Edit, Finding]] = []
    for edit, finding in planned:
        if edits and edit.start < edits[-1][0].end:  # inside an element already removed or replaced
            outcome.skipped.append((finding, f"overlaps the fix for {edits[-1][1].rule}"))
            continue
        edits.append((edit, finding))
    for edit, _finding in reversed(edits):
        text = text[: edit.start] + edit.text + text[edit.end:]
    outcome.data = _encode(text, document.raw, document.encoding)
    outcome.applied = [finding for _edit, finding in edits]
    return outcome


def _edit_for(text: str, span, action: str, replacement: str | None) -> Edit:
    if action == "replace-text":
        return Edit(span.content_start, span.content_end, xml_escape(replacement or ""))
    if action == "replace-element":
        return Edit(span.start, span.end, replacement or "")
    return _removal(text, span.start, span.end)


def _removal(text: str, start: int, end: int) -> Edit:
    """Remove an element; when it stands alone on its line, remove the whole line with it."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end == -1 else line_end
    if not text[line_start:start].strip() and not text[end:line_end].strip():
        if line_end < len(text):
            return Edit(line_start, line_end + 1, "")
        return Edit(max(line_start - 1, 0), line_end, "") if line_start else Edit(start, end, "")
    # Sharing a line: take the indentation before it too, so "<a/>   <b/>" becomes "<a/>".
    before = start
    while before > line_start and text[before - 1] in " \t":
        before -= 1
    return Edit(before, end, "")


def _encode(text: str, original: bytes, encoding: str) -> bytes:
    """Encode as the original was: same BOM, same byte order (Python's utf-16/32 would write its own)."""
    marked = byte_order_mark(original)
    if marked is not None and marked[1].startswith(encoding):
        return marked[0] + text.encode(marked[1], errors="xmlcharrefreplace")
    if encoding in ("utf-16", "utf-32"):  # no BOM: it was read as little-endian
        encoding += "-le"
    return text.encode(encoding, errors="xmlcharrefreplace")
