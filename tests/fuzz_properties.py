"""The properties fuzzing checks, shared by the hypothesis tests and the atheris harness.

Each check raises AssertionError (with what broke) when a property does not hold:

- `survives`: parse -> lint -> fix -> relint -> every reporter, for any bytes, without an exception;
  no finding quotes a credential of the message.
- `fixes_are_sound`: for a document with fixes, the fixed bytes decode with the original encoding
  (BOM and XML declaration kept byte for byte), every byte outside the fixed elements (and the
  line they stood alone on) is unchanged, the result parses without WX001, fixing it again changes
  nothing, and relinting it no longer reports any fixed finding at that element. One exception: a
  WX008 rename can give an element a name other rules report (HQVideo -> HQvideo, WX301); then a
  second pass fixes just those and a third changes nothing.
"""

from __future__ import annotations

import codecs
import itertools
import os
import re
from collections import Counter
from dataclasses import dataclass
from xml.sax.saxutils import escape

from proxy_addon.core.fixes import FixOutcome, apply_fixes
from proxy_addon.core.redaction import redact
from proxy_addon.exchange.observed import Observed
from proxy_addon.exchange.record import ExchangeRecord, LintedMessage, Outcome
from proxy_addon.lint.context import LintContext
from proxy_addon.lint.engine import Linter, LintResult
from proxy_addon.outputs.formats import format_github, format_json, format_sarif, format_text

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
    # Rules quote values: what leaves the exchange layer, never a credential of the message. (The
    # parser's own findings quote no value; their prose may contain a short credential by chance,
    # "par" in "parser".)
    shown = ExchangeRecord(LintedMessage(Observed(data), result), None, Outcome.ALONE).redacted_findings()
    for finding in (shown for shown, made in zip(shown, result.findings, strict=True)
                    if made not in result.document.findings):
        leaked = [secret for secret in secrets if len(secret) >= 3 and secret in finding.message]
        assert not leaked, f"{finding.rule} quotes a credential of the message"
    return result


@dataclass
class Region:
    """The part of the source text one fix rewrites, and what must replace it."""

    start: int
    end: int
    replacement: str


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
    """What each applied fix must have rewritten, from fixes.py's contract: a removed element takes
    the line it stood alone on (with its newline; on the last line, the newline before it), or else
    the spaces and tabs before it; replace-text rewrites the content, escaped; replace-element the
    whole element."""
    spans = result.document.source_map.spans
    regions: list[Region] = []
    for finding in outcome.applied:
        fix = finding.fix
        span = spans[fix.element_index]
        if fix.action == "remove":
            line_start = text.rfind("\n", 0, span.start) + 1
            newline = text.find("\n", span.end)
            line_end = len(text) if newline == -1 else newline
            if not text[line_start:span.start].strip(" \t\r") and not text[span.end:line_end].strip(" \t\r"):
                if newline != -1:
                    regions.append(Region(line_start, newline + 1, ""))
                elif line_start:
                    regions.append(Region(line_start - 1, line_end, ""))
                else:  # the only line: just the element
                    regions.append(Region(span.start, span.end, ""))
            else:
                start = len(text[line_start:span.start].rstrip(" \t")) + line_start
                regions.append(Region(start, span.end, ""))
        elif fix.action == "replace-text":
            regions.append(Region(span.content_start, span.content_end, escape(fix.replacement or "")))
        else:
            regions.append(Region(span.start, span.end, fix.replacement or ""))
    regions.sort(key=lambda region: region.start)
    for before, after in itertools.pairwise(regions):
        assert before.end <= after.start, "two applied fixes rewrite the same text"
    return regions


def _old_offset(new_offset: int, regions: list[Region]) -> int:
    """Map an offset in the fixed text back to the original (inside a replacement: the region's start)."""
    shift = 0
    for region in regions:
        new_start = region.start + shift
        if new_offset < new_start:
            break
        if new_offset < new_start + len(region.replacement):
            return region.start
        shift += len(region.replacement) - (region.end - region.start)
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

    # Each fix rewrote exactly its element (and the line it stood alone on): nothing else changed.
    regions = _regions(old_text, result, outcome)
    expected, done = [], 0
    for region in regions:
        # Characters the encoding cannot hold are written as character references (&#256;).
        region.replacement = region.replacement.encode(codec, "xmlcharrefreplace").decode(codec)
        expected += [old_text[done:region.start], region.replacement]
        done = region.end
    expected.append(old_text[done:])
    if new_text != "".join(expected):
        prefix = len(os.path.commonprefix([new_text, "".join(expected)]))
        raise AssertionError(f"text outside the fixed elements changed, at {prefix}: {new_text[prefix - 20:prefix + 40]!r}")
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
    # A rename (WX008, unsafe) gives an element its real name, which other rules may then report
    # (HQVideo -> HQvideo, removed since 39.1): findings on renamed elements are new, not left over.
    renamed_at = {old_spans[f.fix.element_index].start for f in outcome.applied if f.rule == "WX008"}
    on_renamed = []
    for finding in relint.findings:
        if finding.element_index is None or finding.element_index >= len(new_spans):
            continue
        where = _old_offset(new_spans[finding.element_index].start, regions)
        assert (finding.rule, where) not in fixed_at, f"{finding.rule} still reported at the fixed element"
        if where in renamed_at:
            on_renamed.append(finding)
    before = Counter(f.rule for f in result.findings)
    after = Counter(f.rule for f in relint.findings) - Counter(f.rule for f in on_renamed)
    applied = Counter(f.rule for f in outcome.applied)
    for rule, count in after.items():
        assert count <= before[rule] - applied[rule], \
            f"{rule}: {before[rule]} findings, {applied[rule]} fixed, still {count} after fixing"
    again = apply_fixes(relint, unsafe=unsafe)
    if any(f.fix is not None for f in on_renamed):
        # Renaming uncovered fixable findings: a second pass fixes those alone, a third changes nothing.
        assert all(f in on_renamed for f in again.applied), \
            f"second pass fixed more than the renamed elements: {[f.rule for f in again.applied]}"
        third = apply_fixes(linter.lint(again.data, context=context), unsafe=unsafe)
        assert not third.changed, f"fixes do not converge: {[f.rule for f in third.applied]}"
    else:
        assert again.data == fixed, f"fixing twice changed more: {[f.rule for f in again.applied]}"
    return outcome
