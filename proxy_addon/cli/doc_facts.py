"""Facts the documentation states that the data decides: the rule table's severities, the default
API version. Written between markers, so README and the guides cannot drift from the rule packs
and rules/releases.yaml (as docs/rules.md is generated whole):

    <!-- generated:NAME -->...<!-- /generated:NAME -->

`python -m proxy_addon.cli.doc_facts` rewrites the marked spans in DOCUMENTS; `--check` only says
which are stale (exit 1). tests/test_doc_facts.py runs the check.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path

from proxy_addon.core.versions import format_version, latest_version
from proxy_addon.lint.ruleset import Rule, RuleSet

DOCUMENTS = ("README.md", "docs/proxy.md", "docs/api-40.md", "docs/ci.md")
_SPAN = re.compile(r"(<!-- generated:([\w-]+) -->)(.*?)(<!-- /generated:\2 -->)", re.DOTALL)


def severities(rule: Rule) -> str:
    """The rule's severity, then any other its named messages use (WX005: error, warning)."""
    levels = dict.fromkeys([str(rule.severity), *(str(case.severity) for case in rule.cases.values())])
    return ", ".join(levels)


def rule_table(ruleset: RuleSet) -> str:
    lines = ["| Code | Name | Severity | Since | Predicts | Fix |", "|---|---|---|---|---|---|"]
    for rule in ruleset.rules:
        if rule.team:
            continue
        fix = "" if not rule.fix else ("safe" if rule.fix.safe else "unsafe")
        lines.append(f"| {rule.id} | {rule.name} | {severities(rule)} | {rule.introduced} | {rule.predicts or ''} | {fix} |")
    return "\n".join(lines)


def facts() -> dict[str, Callable[[], str]]:
    """NAME -> its text, computed from the data when asked for."""
    return {
        "latest-release": lambda: format_version(latest_version()),
        "rule-table": lambda: "\n" + rule_table(RuleSet.load()) + "\n",
    }


def refreshed(text: str, known: dict[str, Callable[[], str]] | None = None) -> str:
    """`text` with every marked span holding its fact; an unknown NAME is an error naming it."""
    known = facts() if known is None else known
    cache: dict[str, str] = {}

    def fill(match: re.Match[str]) -> str:
        name = match.group(2)
        if name not in known:
            raise KeyError(f"unknown generated fact {name!r} (known: {', '.join(sorted(known))})")
        if name not in cache:
            cache[name] = known[name]()
        return match.group(1) + cache[name] + match.group(4)

    return _SPAN.sub(fill, text)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    check = "--check" in args
    root = Path(__file__).resolve().parents[2]
    stale = []
    for name in DOCUMENTS:
        path = root / name
        text = path.read_text(encoding="utf-8")
        new = refreshed(text)
        if new != text:
            stale.append(name)
            if not check:
                path.write_text(new, encoding="utf-8")
    if stale:
        print(("stale: " if check else "updated: ") + ", ".join(stale), file=sys.stderr)
    return 1 if stale and check else 0


if __name__ == "__main__":
    raise SystemExit(main())
