"""outputs/formats.py writes each JSON finding straight from the Finding: the text must be what
json.dumps gives for Finding.as_dict(), whatever the finding holds."""

from __future__ import annotations

import json
import random

import pytest

from proxy_addon.core.findings import Finding, Fix, Severity
from proxy_addon.lint.ruleset import builtin_rules
from proxy_addon.outputs.formats import FORMATTERS, _json_finding, format_json

TEXTS = ["", "plain", 'quote " and \\ backslash', "line\nbreak\ttab\x00nul\x1b[31m", "ünïcødé ✓ 日本",
         "\u2028sep\u2029", "lone \ud800 surrogate", "emoji 😀", "</script>&amp;"]


def _finding(chance: random.Random) -> Finding:
    pick = chance.choice
    return Finding(pick(["WX101", "ACME001"]), pick(TEXTS), pick(list(Severity)), pick(TEXTS),
                   line=chance.randint(0, 10**6), column=chance.randint(0, 999), path=pick(TEXTS + ["-"]),
                   operation=pick([None, *TEXTS]), direction=pick([None, "request", "response"]),
                   predicts=pick([None, "060067", *TEXTS]),
                   fix=pick([None, Fix("d", True, "remove", 3)]),
                   notes=[pick(TEXTS) for _ in range(chance.randint(0, 3))], locator=pick(["", "entry 3 request", *TEXTS]))


@pytest.mark.parametrize("seed", range(5))
def test_each_finding_is_what_json_dumps_writes_for_its_dict(seed):
    chance = random.Random(seed)
    for _ in range(200):
        finding = _finding(chance)
        assert _json_finding(finding) == "    " + json.dumps(finding.as_dict(), ensure_ascii=False)


def test_the_document_is_json_with_every_finding_in_order():
    chance = random.Random(9)
    findings = [_finding(chance) for _ in range(50)]
    document = FORMATTERS["json"](findings, builtin_rules(), True)
    parsed = json.loads(document)  # encodable() wrote the lone surrogate as an escape JSON reads
    assert [entry["rule"] for entry in parsed["findings"]] == [f.rule for f in findings]
    assert parsed["statistics"] == {rule: sum(f.rule == rule for f in findings) for rule in {f.rule for f in findings}}
    assert format_json([], builtin_rules()) == '{\n  "findings": []\n}\n'
