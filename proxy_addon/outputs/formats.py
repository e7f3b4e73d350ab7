"""Reporters for `check`: text, json, sarif, github. Each takes findings and writes a string."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import PurePath
from urllib.parse import quote

from proxy_addon import __version__
from proxy_addon.core.findings import Finding, Severity
from proxy_addon.core.frozen import LazyPattern
from proxy_addon.core.text import encodable, path_bytes
from proxy_addon.lint.ruleset import Rule, RuleSet

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
DOCS_URL = "https://github.com/webex-xml-lint/webex-xml-lint/blob/main/docs/rules.md#{anchor}"


# Characters a terminal or a line-based reader acts on: C0 and C1 controls (newlines forge finding lines,
# ESC and CSI start terminal escapes), Unicode line separators, and bidirectional overrides.
_CONTROL = LazyPattern("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def visible(text: str, keep: str = "") -> str:
    """`text` with each control character written as its Python escape (\\n, \\x1b, \\u202e), so it
    shows instead of acting; characters in `keep` are left as they are."""
    return _CONTROL.sub(lambda m: m.group() if m.group() in keep else repr(m.group())[1:-1], text)


def rule_anchor(rule: Rule) -> str:
    return f"{rule.id.lower()}-{rule.name}"


# ANSI colours for a terminal (check decides: a terminal, no NO_COLOR); applied after visible(), so
# a finding's own text can never carry an escape of its own.
_PAINT = {"path": "1", "rule": "1;31", "error": "31", "warning": "33", "info": "36", "fix": "36", "ok": "32"}


def paint(text: str, role: str, color: bool) -> str:
    return f"\x1b[{_PAINT[role]}m{text}\x1b[0m" if color and text else text


def in_place_fixable(finding: Finding, unsafe: bool = False) -> bool:
    """A fix --fix can apply: a fix of this finding's own (WX101 needs --site-id), safe unless
    `unsafe`, in a file of its own (a message inside a HAR export or flow dump is read-only)."""
    return finding.fix is not None and (unsafe or finding.fix.safe) and not finding.locator


def format_text(findings: Sequence[Finding], ruleset: RuleSet, statistics: bool = False, *,
                color: bool = False, unsafe: bool = False, summary: str | None = None) -> str:
    """One line per finding and a summary; with `statistics`, only the table of counts (as ruff)."""
    if statistics:
        table = format_statistics(findings, ruleset, color=color, unsafe=unsafe)
        return table + "\n" if table else ""
    lines = []
    for f in findings:
        lines += finding_lines(f.location, f.line, f.column, f.rule, str(f.severity), f.message, f.notes,
                               fixable=in_place_fixable(f, unsafe), color=color)
    lines.append(format_summary(findings, color=color, unsafe=unsafe) if summary is None else summary)
    text = "\n".join(line for line in lines if line)
    return text + "\n" if text else ""


def finding_lines(location: str, line: int, column: int, rule: str, severity: str, message: str,
                  notes: Sequence[str] = (), *, fixable: bool = False, color: bool = False) -> list[str]:
    """A finding as `check` prints it, and the proxy's console too (its location is the client,
    site and operation there): `location:line:column: RULE [severity] message [*]`, then its notes
    (learned facts, the failure it predicted)."""
    first = (paint(visible(location), "path", color) + visible(f":{line}:{column}: ") + paint(rule, "rule", color)
             + " " + paint(f"[{severity}]", severity, color) + " " + visible(message)
             + (" " + paint("[*]", "fix", color) if fixable else ""))
    return [first, *(visible(f"  = note: {note}") for note in notes)]


def format_summary(findings: Sequence[Finding], *, fixed: int = 0, unsafe: bool = False, unreadable: int = 0,
                   messages: int | None = None, color: bool = False) -> str:
    """ruff's closing lines: "Found N findings (M fixed, K remaining).", what --fix and
    --unsafe-fixes would do; "All checks passed." only when every input was read and linted."""
    lines = []
    total = len(findings) + fixed
    if total:
        plural = "s" if total != 1 else ""
        lines.append(f"Found {total} finding{plural}" + (f" ({fixed} fixed, {len(findings)} remaining)" if fixed else "") + ".")
    fixable = sum(1 for f in findings if in_place_fixable(f, unsafe))
    hidden = 0 if unsafe else sum(1 for f in findings if f.fix is not None and not f.fix.safe and not f.locator)
    hint = f"{hidden} hidden fix{'es' if hidden != 1 else ''} can be enabled with --unsafe-fixes" if hidden else ""
    if fixable:
        lines.append(paint("[*]", "fix", color) + f" {fixable} fixable with --fix" + (f" ({hint})" if hint else "") + ".")
    elif hint:
        lines.append(f"No fixes available ({hint}).")
    if unreadable:
        lines.append(f"{unreadable} input{'s' if unreadable != 1 else ''} could not be read (errors above).")
    elif not total and messages != 0:
        lines.append(paint("All checks passed.", "ok", color))
    return "\n".join(lines)


def format_statistics(findings: Sequence[Finding], ruleset: RuleSet, *, color: bool = False,
                      unsafe: bool = False) -> str:
    """Count, rule, [*] when every one of its findings can be fixed with --fix, rule name; then the total."""
    counts = Counter(f.rule for f in findings)
    fixable = Counter(f.rule for f in findings if in_place_fixable(f, unsafe))
    rows = []
    for rule_id, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        rule = ruleset.by_id.get(rule_id)
        mark = paint("[*]", "fix", color) if fixable[rule_id] == count else "   "
        rows.append(f"{count:>6}  {paint(rule_id, 'rule', color)}  {mark} {rule.name if rule else ''}".rstrip())
    if rows:  # the total, in the words of the full output's summary
        rows.append(f"Found {len(findings)} finding{'s' if len(findings) != 1 else ''}.")
    return "\n".join(rows)


def format_json(findings: Sequence[Finding], ruleset: RuleSet, statistics: bool = False) -> str:
    """{"findings": [...]} with one finding per line, each written straight from the finding (the
    text json.dumps gives for its as_dict(), without building the dict)."""
    encode = json.JSONEncoder(ensure_ascii=False).encode
    lines = ",\n".join([_json_finding(f) for f in findings])
    document = '{\n  "findings": [' + ("\n" + lines + "\n  " if lines else "") + "]"
    if statistics:
        document += ',\n  "statistics": ' + encode(dict(Counter(f.rule for f in findings)))
    return document + "\n}\n"


_STRING = json.encoder.encode_basestring  # JSON text of a str, ensure_ascii=False: the C function


def _json_text(value: str | None) -> str:
    return "null" if value is None else _STRING(value)


def _json_finding(f: Finding) -> str:
    """`"    " + json.dumps(f.as_dict(), ensure_ascii=False)`, written directly (tests compare the two)."""
    if type(f.line) is not int or type(f.column) is not int:  # a position json would write otherwise
        return "    " + json.dumps(f.as_dict(), ensure_ascii=False)
    notes = "[" + ", ".join([_STRING(note) for note in f.notes]) + "]"
    return (f'    {{"rule": {_STRING(f.rule)}, "name": {_STRING(f.name)}, "severity": {_STRING(str(f.severity))}, '
            f'"path": {_STRING(f.path)}, "line": {int.__repr__(f.line)}, "column": {int.__repr__(f.column)}, '
            f'"operation": {_json_text(f.operation)}, "direction": {_json_text(f.direction)}, '
            f'"message": {_STRING(f.message)}, "fixable": {"true" if f.fixable else "false"}, '
            f'"predicts": {_json_text(f.predicts)}, "notes": {notes}'
            + (f', "locator": {_STRING(f.locator)}}}' if f.locator else "}"))


# A HAR entry's number in `entry 3 request`; a flow dump's `flow 7 ...` has no line to point at.
_HAR_ENTRY = LazyPattern(r"entry (\d+)\b")
# What the HAR scan stops at: outside strings, a string's start or a bracket; inside, its end or an escape.
_STRUCTURE = LazyPattern(r'["{}\[\]]')
_STRING_STOP = LazyPattern(r'["\\]')
_NOT_SPACE = LazyPattern(r"[^ \t\r\n]")
_HAR_CHUNK = 1 << 20  # characters read at a time: a HAR of any size costs a chunk, not the file


def capture_line(finding: Finding, lines: Callable[[str], list[int]] | None = None) -> int:
    """Where a finding inside a capture file points in that file: a HAR entry's first line (a flow
    dump is binary: line 1). A lone message's finding keeps its own line."""
    if not finding.locator:
        return finding.line
    entry = _HAR_ENTRY.match(finding.locator)
    if entry is None:
        return 1
    starts = (lines or har_entry_lines)(finding.path)
    index = int(entry.group(1))
    return starts[index] if index < len(starts) else 1


def har_entry_lines(path: str) -> list[int]:
    """The line each entry of a HAR export's `log.entries` starts on (1-based); [] when the file
    cannot be read. Strings are skipped whole, so a brace or a key inside a body never counts. Read
    in chunks: a HAR with gigabytes of bodies costs one chunk of memory (the reader streams it too)."""
    try:
        stream = open(path, encoding="utf-8", errors="replace")  # noqa: SIM115 (closed below)
    except OSError:
        return []
    with stream:
        try:
            return _EntryLines().scan(stream)
        except OSError:
            return []


class _EntryLines:
    """A linear scan of a HAR's strings and brackets that remembers only where it is."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.line = 1
        self.depth = 0
        self.entries_depth = -1  # the depth of log.entries' elements, once its "[" is seen
        self.in_string = False
        self.escaped = False  # the chunk ended on a backslash inside a string
        self.head = ""  # the first characters of the string being read ("entries"?)
        self.colon_pending = False  # after the key "entries": is a ":" next?
        self.after_entries_key = False

    def scan(self, stream) -> list[int]:
        while chunk := stream.read(_HAR_CHUNK):
            if self._chunk(chunk):
                break
        return self.starts

    def _chunk(self, chunk: str) -> bool:
        """Scan one chunk; True at the end of log.entries."""
        position, counted, size = 0, 0, len(chunk)
        while position < size:
            if self.escaped:
                position, self.escaped = position + 1, False
            elif self.in_string:
                stop = _STRING_STOP.search(chunk, position)
                end = size if stop is None else stop.start()
                if len(self.head) < 9:
                    self.head += chunk[position:min(end, position + 9)]
                if stop is None:
                    position = size
                elif stop.group() == "\\":
                    self.head += "\\"  # an escaped key is not the key "entries"
                    position, self.escaped = stop.end(), True
                else:
                    position, self.in_string = stop.end(), False
                    self.colon_pending = self.head == "entries" and self.entries_depth < 0
                    self.after_entries_key = False
            elif self.colon_pending:
                found = _NOT_SPACE.search(chunk, position)
                if found is None:
                    position = size
                else:
                    position = found.start()
                    self.after_entries_key, self.colon_pending = found.group() == ":", False
            else:
                token = _STRUCTURE.search(chunk, position)
                if token is None:
                    break
                position, mark = token.end(), token.group()
                if mark == '"':
                    self.in_string, self.head = True, ""
                    continue
                if mark in "[{":
                    if mark == "[" and self.after_entries_key:
                        self.entries_depth = self.depth + 1
                    elif mark == "{" and self.depth == self.entries_depth:
                        self.line += chunk.count("\n", counted, token.start())
                        counted = token.start()
                        self.starts.append(self.line)
                    self.depth += 1
                else:
                    self.depth -= 1
                    if self.depth < self.entries_depth:
                        return True  # the end of log.entries
                self.after_entries_key = False
        self.line += chunk.count("\n", counted)
        return False


def _place(finding: Finding) -> str:
    """The message inside the capture and the finding's position in it, for the annotation text."""
    return f"{finding.locator}, message line {finding.line}, column {finding.column}: "


def format_github(findings: Sequence[Finding], ruleset: RuleSet, statistics: bool = False) -> str:
    level = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}
    lines = _entry_lines_cache()
    return "".join(
        f"::{level[f.severity]} file={_escape_property(f.path)},line={capture_line(f, lines)},"
        f"col={1 if f.locator else f.column},"
        f"title={f.rule} {f.name}::{_escape_data((_place(f) if f.locator else '') + f.message)}\n"
        for f in findings
    )


def _entry_lines_cache() -> Callable[[str], list[int]]:
    """har_entry_lines, each file read once per report."""
    seen: dict[str, list[int]] = {}
    return lambda path: seen[path] if path in seen else seen.setdefault(path, har_entry_lines(path))


def _escape_data(text: str) -> str:
    # Newlines are the workflow-command encoding's own (%0A); every other control character shows.
    return visible(text, keep="\r\n").replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def format_sarif(findings: Sequence[Finding], ruleset: RuleSet, statistics: bool = False) -> str:
    rules = ruleset.rules
    index = {rule.id: i for i, rule in enumerate(rules)}
    lines = _entry_lines_cache()
    sarif = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "webex-xml-lint",
                "version": __version__,
                "informationUri": "https://github.com/webex-xml-lint/webex-xml-lint",
                "rules": [_sarif_rule(rule) for rule in rules],
            }},
            "results": [_sarif_result(f, index, lines) for f in findings],
            "columnKind": "unicodeCodePoints",
        }],
    }
    return json.dumps(sarif, indent=2, ensure_ascii=False) + "\n"


def _sarif_rule(rule: Rule) -> dict:
    docs = rule.docs
    return {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": docs["summary"]},
        "fullDescription": {"text": docs["why"]},
        "help": {
            "text": f"{docs['why']}\n\nFix: {docs['fix']}\n\nSource: {docs['source']}",
            "markdown": f"{docs['why']}\n\n```xml\n{docs['example']}\n```\n\n**Fix:** {docs['fix']}\n\n_Source: {docs['source']}_",
        },
        **({} if rule.team else {"helpUri": DOCS_URL.format(anchor=rule_anchor(rule))}),  # team rules: not our docs
        "defaultConfiguration": {"level": SARIF_LEVEL[rule.severity]},
        "properties": {"tags": ["webex", "xml-api", rule.pack], "introduced": rule.introduced},
    }


def _sarif_result(finding: Finding, index: dict[str, int], lines: Callable[[str], list[int]]) -> dict:
    # A message inside a HAR export or flow dump: the region is the HAR entry's line (a flow dump's
    # line 1), the message and the position in it are a logical location and part of the text.
    inside = bool(finding.locator)
    region = ({"startLine": max(capture_line(finding, lines), 1)} if inside
              else {"startLine": max(finding.line, 1), "startColumn": max(finding.column, 1)})
    result = {
        "ruleId": finding.rule,
        "level": SARIF_LEVEL[finding.severity],
        "message": {"text": (_place(finding) if inside else "") + finding.message},
        "locations": [{"physicalLocation": {
            "artifactLocation": {"uri": quote(path_bytes(PurePath(finding.path).as_posix())) if finding.path != "-" else "stdin"},
            "region": region,
        }}],
        "properties": {"operation": finding.operation, "direction": finding.direction},
    }
    if inside:
        result["locations"][0]["logicalLocations"] = [{"name": finding.locator, "kind": "element"}]
        result["properties"].update(messageLine=finding.line, messageColumn=finding.column)
    if finding.rule in index:
        result["ruleIndex"] = index[finding.rule]
    return result


def _encodable(formatter: Callable[[Sequence[Finding], RuleSet, bool], str], *, json: bool = False
               ) -> Callable[[Sequence[Finding], RuleSet, bool], str]:
    """The formatter, its output made encodable (a file name with a byte that is not UTF-8 is
    printed with that byte as \\xff, never a crash)."""
    def format_encodable(findings: Sequence[Finding], ruleset: RuleSet, statistics: bool = False) -> str:
        return encodable(formatter(findings, ruleset, statistics), json=json)

    return format_encodable


FORMATTERS: dict[str, Callable[[Sequence[Finding], RuleSet, bool], str]] = {
    "text": _encodable(format_text),
    "json": _encodable(format_json, json=True),
    "sarif": _encodable(format_sarif, json=True),
    "github": _encodable(format_github),
}
