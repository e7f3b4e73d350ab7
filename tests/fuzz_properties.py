"""The properties fuzzing checks, shared by the hypothesis tests and the atheris harness.

Each check raises AssertionError (with what broke) when a property does not hold:

- `survives`: parse -> lint -> fix -> relint -> every reporter, for any bytes, without an exception;
  no finding quotes a credential of the message.
- `fixes_are_sound`: for a document with fixes, the fixed bytes decode with the original encoding
  (BOM and XML declaration kept byte for byte), every byte outside the fixed elements (and the
  line they stood alone on) is unchanged, the result parses without WX001, fixing it again changes
  nothing, and relinting it no longer reports any fixed finding at that element.
"""

from __future__ import annotations

import codecs
import re
from collections import Counter
from dataclasses import dataclass
from xml.sax.saxutils import escape

from proxy_addon.context import LintContext
from proxy_addon.engine import Linter, LintResult
from proxy_addon.fixes import FixOutcome, apply_fixes
from proxy_addon.output import format_github, format_json, format_sarif, format_text
from proxy_addon.redaction import redact

UNPARSEABLE = {"WX001", "WX005", "WX006", "WX009"}
_BYTE_ORDER = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
               (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"), (codecs.BOM_UTF8, "utf-8"))


def survives(linter: Linter, data: bytes, context: LintContext) -> LintResult:
    """Everything a message goes through, for any bytes; returns the lint result."""
    result = linter.lint(data, context=context)
    for finding in result.findings:
        assert finding.line >= 1 and finding.column >= 1, finding
    for unsafe in (False, True):
        outcome = apply_fixes(result, unsafe=unsafe)
        assert isinstance(outcome.data, bytes)
        if outcome.changed:
            linter.lint(outcome.data, context=context)
        else:
            assert outcome.data == data, "a fix that applied nothing changed the bytes"
    for reporter in (format_text, format_json, format_sarif, format_github):
        assert isinstance(reporter(result.findings, linter.ruleset), str)
    secrets = result.message.secrets if result.message else frozenset()
    redact([finding.as_dict() for finding in result.findings], secrets)
    for finding in result.findings:  # findings quote values: never a credential of the message
        leaked = [secret for secret in secrets if len(secret) >= 3 and secret in finding.message]
        assert not leaked, f"{finding.rule} quotes a credential of the message"
    return result


@dataclass
class Region:
    """The part of the source text one or more fixes may rewrite, and what must replace it."""

    start: int
    end: int
    expected: str | None  # the exact replacement, when one fix owns the region and knows it
    removal: bool


def _codec_and_bom(raw: bytes, encoding: str) -> tuple[str, bytes]:
    """The stateless codec that reads the bytes after the BOM, and the BOM itself."""
    family = codecs.lookup(encoding).name
    for bom, codec in _BYTE_ORDER:
        if raw.startswith(bom) and codec.startswith(family):
            return codec, bom
    if family in ("utf-16", "utf-32"):
        return family + "-le", b""  # no BOM: Python (and so the parser) reads it as little-endian
    return family, b""


def _regions(text: str, result: LintResult, outcome: FixOutcome) -> list[Region]:
    spans = result.document.source_map.spans
    regions: list[Region] = []
    for finding in outcome.applied:
        fix = finding.fix
        span = spans[fix.element_index]
        if fix.action == "remove":
            # A removal may take the line the element stood alone on, with its newline (or the one before).
            start = max(text.rfind("\n", 0, span.start), 0)
            newline = text.find("\n", span.end)
            end = len(text) if newline == -1 else newline + 1
            regions.append(Region(start, end, None, True))
        elif fix.action == "replace-text":
            regions.append(Region(span.content_start, span.content_end, escape(fix.replacement or ""), False))
        else:
            regions.append(Region(span.start, span.end, fix.replacement or "", False))
    regions.sort(key=lambda region: region.start)
    merged: list[Region] = []
    for region in regions:
        if merged and region.start <= merged[-1].end:
            last = merged[-1]
            merged[-1] = Region(last.start, max(last.end, region.end), None, last.removal and region.removal)
        else:
            merged.append(region)
    return merged


def _old_offset(new_offset: int, match: re.Match[str], regions: list[Region]) -> int:
    """Map an offset in the fixed text back to the original (inside a rewritten region: its start)."""
    shift = 0
    for number, region in enumerate(regions, start=1):
        group_start, group_end = match.span(number)
        if new_offset < group_start:
            break
        if new_offset < group_end:
            return region.start
        shift = group_end - region.end
    return new_offset - shift


def fixes_are_sound(linter: Linter, data: bytes, context: LintContext, *, unsafe: bool = True) -> FixOutcome:
    """Check every property of `apply_fixes` on one document; returns the outcome."""
    result = linter.lint(data, context=context)
    outcome = apply_fixes(result, unsafe=unsafe)
    if not outcome.changed:
        assert outcome.data == data
        return outcome
    document = result.document
    assert not any(f.rule in UNPARSEABLE and f.severity == "error" for f in result.findings), \
        "fixes were applied to a message that is not safely parseable"
    fixed = outcome.data

    # The encoding, the BOM and (through the byte comparison below) the XML declaration are kept.
    codec, bom = _codec_and_bom(data, document.encoding)
    old_text = data[len(bom):].decode(codec)
    assert old_text == document.text, "the fixes worked on another text than the source's"
    assert fixed.startswith(bom), f"BOM {bom!r} lost: fixed output starts {fixed[:4]!r}"
    try:
        new_text = fixed[len(bom):].decode(codec)
    except UnicodeDecodeError as error:
        raise AssertionError(f"fixed output no longer decodes as {codec}: {error}") from None
    assert fixed == bom + new_text.encode(codec), "fixed output is not one clean encoding of its text"

    # Outside the fixed elements (and the line a removed element stood alone on) nothing changed.
    regions = _regions(old_text, result, outcome)
    gaps = [old_text[(regions[i - 1].end if i else 0):(regions[i].start if i < len(regions) else len(old_text))]
            for i in range(len(regions) + 1)]
    pattern = "(.*?)".join(re.escape(gap) for gap in gaps)
    match = re.fullmatch(pattern, new_text, re.DOTALL)
    assert match, "bytes outside the fixed elements changed"
    for number, region in enumerate(regions, start=1):
        written = match.group(number)
        if region.expected is not None:
            assert written == region.expected, f"fix wrote {written!r}, expected {region.expected!r}"
        if region.removal:
            assert len(written) < region.end - region.start, "a removal removed nothing"
    if document.has_declaration:
        declaration = re.match(r"\s*<\?xml\s[^>]*?\?>", old_text)
        assert declaration and new_text.startswith(declaration.group(0)), "XML declaration changed"

    # The fixed document parses, the fixed findings are gone, and fixing again changes nothing.
    relint = linter.lint(fixed, context=context)
    assert not [f for f in relint.findings if f.rule in UNPARSEABLE and f.severity == "error"], \
        f"fixed output does not parse: {[f.message for f in relint.findings if f.rule in UNPARSEABLE]}"
    old_spans = document.source_map.spans
    new_spans = relint.document.source_map.spans
    fixed_at = {(f.rule, old_spans[f.fix.element_index].start) for f in outcome.applied}
    for finding in relint.findings:
        if finding.element_index is None or finding.element_index >= len(new_spans):
            continue
        where = _old_offset(new_spans[finding.element_index].start, match, regions)
        assert (finding.rule, where) not in fixed_at, f"{finding.rule} still reported at the fixed element"
    before, after = Counter(f.rule for f in result.findings), Counter(f.rule for f in relint.findings)
    applied = Counter(f.rule for f in outcome.applied)
    for rule, count in after.items():
        assert count <= before[rule] - applied[rule], \
            f"{rule}: {before[rule]} findings, {applied[rule]} fixed, still {count} after fixing"
    again = apply_fixes(relint, unsafe=unsafe)
    assert again.data == fixed, f"fixing twice changed more: {[f.rule for f in again.applied]}"
    return outcome
