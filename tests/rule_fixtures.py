"""The per-rule fixture folders (tests/rules/<RULE>/): reading them, and the expected-findings format.

See tests/rules/README.md for the format a rule author writes.
"""

from __future__ import annotations

import gzip
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

RULES_DIR = Path(__file__).resolve().parent / "rules"
MESSAGE_SUFFIXES = (".xml", ".xml.gz", ".har")  # a .har: rules that need capture order (WX106, WX305)
_FINDING = re.compile(r"^(?P<line>\d+):(?P<column>\d+)\s+(?P<rule>[A-Z]+\d+)(?:\s+(?P<text>.*))?$")


@dataclass(frozen=True)
class ExpectedFinding:
    line: int
    column: int
    rule: str
    text: str  # a substring of the finding's message; may be empty

    def matches(self, finding: dict) -> bool:
        return ((finding["line"], finding["column"], finding["rule"]) == (self.line, self.column, self.rule)
                and self.text in finding["message"])

    def __str__(self) -> str:
        return f"{self.line}:{self.column} {self.rule} {self.text}".rstrip()


@dataclass
class Expected:
    args: list[str] = field(default_factory=list)
    findings: list[ExpectedFinding] = field(default_factory=list)


class FixtureError(ValueError):
    pass


@dataclass(frozen=True)
class RuleFixture:
    rule: str
    message: Path  # the .xml (or .xml.gz) file

    @property
    def name(self) -> str:
        return self.message.name.removesuffix(".gz").removesuffix(".xml").removesuffix(".har")

    @property
    def kind(self) -> str:
        return self.name.split("-", 1)[0]  # "bad" or "good"

    @property
    def expected_path(self) -> Path:
        return self.message.with_name(self.name + ".expected")

    @property
    def id(self) -> str:
        return f"{self.rule}/{self.name}"

    def data(self) -> bytes:
        raw = self.message.read_bytes()
        return gzip.decompress(raw) if self.message.name.endswith(".gz") else raw

    def expected(self) -> Expected:
        if not self.expected_path.is_file():
            raise FixtureError(f"{self.expected_path}: missing (every message has its expected findings)")
        return parse_expected(self.expected_path.read_text(encoding="utf-8"), self.expected_path)


def parse_expected(text: str, where: Path | str = "<expected>") -> Expected:
    expected = Expected()
    for number, raw_line in enumerate(text.splitlines(), 1):
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("args:"):
            expected.args += shlex.split(line.removeprefix("args:"))
            continue
        match = _FINDING.match(line)
        if match is None:
            raise FixtureError(f"{where}:{number}: expected 'LINE:COL RULE message-substring', 'args: FLAGS' "
                               f"or a # comment, got {raw_line!r}")
        expected.findings.append(ExpectedFinding(int(match["line"]), int(match["column"]), match["rule"],
                                                 (match["text"] or "").strip()))
    return expected


def render_expected(previous: str, findings: list[dict]) -> str:
    """The .expected text for `findings`, keeping the comments and args of `previous` (update mode)."""
    kept = [line for line in previous.splitlines() if line.strip().startswith(("#", "args:"))]
    rows = [f"{f['line']}:{f['column']} {f['rule']} {f['message']}" for f in sort_findings(findings)]
    return "".join(line + "\n" for line in kept + rows)


def sort_findings(findings: list[dict]) -> list[dict]:
    return sorted(findings, key=lambda f: (f["line"], f["column"], f["rule"], f["message"]))


def rule_fixtures() -> list[RuleFixture]:
    fixtures = []
    for folder in sorted(p for p in RULES_DIR.iterdir() if p.is_dir()):
        for message in sorted(folder.iterdir()):
            if message.name.endswith(MESSAGE_SUFFIXES):
                fixtures.append(RuleFixture(folder.name, message))
    return fixtures
