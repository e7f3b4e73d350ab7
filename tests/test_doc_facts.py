"""The facts the docs state that the data decides (rule severities, the default API version) are
generated from the data (proxy_addon/cli/doc_facts.py), so README, docs/proxy.md and the rule packs
cannot disagree again."""

from __future__ import annotations

import re

import pytest

from proxy_addon.cli import doc_facts
from proxy_addon.core.versions import format_version, latest_version
from proxy_addon.lint.ruleset import RuleSet

from .builders import REPO


@pytest.mark.parametrize("name", doc_facts.DOCUMENTS)
def test_the_generated_facts_in_the_docs_are_current(name):
    text = (REPO / name).read_text(encoding="utf-8")
    assert text == doc_facts.refreshed(text), f"{name} is stale: run `python -m proxy_addon.cli.doc_facts`"


def test_readme_rule_severities_are_the_rule_packs():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| (WX\d{3}) \| [\w-]+ \| ([a-z, ]+) \|", readme, re.MULTILINE))
    ruleset = RuleSet.load()
    builtin = [rule for rule in ruleset.rules if not rule.team]
    assert set(rows) == {rule.id for rule in builtin}
    for rule in builtin:
        assert rows[rule.id].split(", ")[0] == str(rule.severity), rule.id
    assert rows["WX005"].startswith("error")  # the disagreement issue 23 found (README said warning)


def test_the_api_version_default_is_the_catalogs_newest_everywhere():
    newest = format_version(latest_version())
    proxy = (REPO / "docs" / "proxy.md").read_text(encoding="utf-8")
    (row,) = [line for line in proxy.splitlines() if line.startswith("| `--api-version")]
    assert newest in row and "39.11" not in row
    assert f"today `<!-- generated:latest-release -->{newest}<!-- /generated:latest-release -->`" in \
        (REPO / "README.md").read_text(encoding="utf-8")


def test_a_hand_edited_span_is_rewritten_and_an_unknown_one_is_an_error():
    stale = "x <!-- generated:latest-release -->39.11<!-- /generated:latest-release --> y"
    assert doc_facts.refreshed(stale) == (f"x <!-- generated:latest-release -->{format_version(latest_version())}"
                                          "<!-- /generated:latest-release --> y")
    with pytest.raises(KeyError, match="unknown generated fact 'nope'"):
        doc_facts.refreshed("<!-- generated:nope -->a<!-- /generated:nope -->")
