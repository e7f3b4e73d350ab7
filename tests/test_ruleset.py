"""Rule packs are data: mistakes in them are caught at load time with the file, the line and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from proxy_addon.lint.ruleset import RuleError, RuleSet, data_dir

GOOD_RULE = """rules:
  - id: WX900
    name: test-rule
    severity: warning
    introduced: "39.11"
    direction: request
    operations: [SetUser]
    given: $body/colour
    then:
      function: present
    message: "colour {value!r} is not an option"
    docs: {summary: s, why: w, example: e, fix: f, source: src}
"""


def write_pack(folder: Path, text: str, name: str = "pack.yaml") -> Path:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text)
    return folder


def test_shipped_packs_load_and_every_rule_is_documented():
    ruleset = RuleSet.load(data_dir("rules"))
    assert len(ruleset.rules) >= 27
    for rule in ruleset.rules:
        assert rule.name == rule.name.lower() and " " not in rule.name
        assert all(rule.docs[field] for field in ("summary", "why", "example", "fix", "source"))
        cites_spec = (".txt" in rule.docs["source"] or "xml-api-40-and-later-facts.md" in rule.docs["source"]
                      or "release notes" in rule.docs["source"])
        assert cites_spec or rule.id < "WX100", f"{rule.id} does not cite the spec"


def test_a_new_rule_needs_no_python(tmp_path, linter):
    from proxy_addon.lint.engine import Linter

    from .builders import request_xml

    custom = Linter(RuleSet.load(write_pack(tmp_path / "rules", GOOD_RULE)))
    result = custom.lint(request_xml("SetUser", "<webExId>a</webExId><colour>red</colour>"))
    assert [(f.rule, f.message) for f in result.findings] == [("WX900", "colour 'red' is not an option")]


@pytest.mark.parametrize("mutation, expected", [
    (("severity: warning", "severity: fatal"), "pack.yaml:4 (rule WX900): severity 'fatal' is not one of"),
    (("function: present", "function: exists"), "unknown check function 'exists'"),
    (("given: $body/colour", "given: body/colour"), "must start with one of"),
    (("    message:", "    mesage:"), "pack.yaml:11 (rule WX900): unknown key 'mesage' (did you mean 'message'?)"),
    (("docs: {summary: s, why: w, example: e, fix: f, source: src}", "docs: {summary: s}"), "docs lack why"),
    (("      function: present", "      function: max_length\n      options: {maximum: 3}"),
     "check 'max_length': options: unknown option 'maximum'"),
    (("direction: request", "direction: upstream"), "direction 'upstream'"),
])
def test_mistakes_name_file_line_and_problem(tmp_path, mutation, expected):
    folder = write_pack(tmp_path / "rules", GOOD_RULE.replace(*mutation))
    with pytest.raises(RuleError) as error:
        RuleSet.load(folder)
    assert expected in str(error.value)
    assert "pack.yaml" in str(error.value)


def test_invalid_yaml_points_at_line_and_column(tmp_path):
    folder = write_pack(tmp_path / "rules", GOOD_RULE.replace('message: "colour', 'message: colour: "'))
    with pytest.raises(RuleError, match=r"pack\.yaml:11:\d+: invalid YAML"):
        RuleSet.load(folder)


def test_duplicate_ids_across_packs(tmp_path):
    folder = write_pack(tmp_path / "rules", GOOD_RULE)
    write_pack(folder, GOOD_RULE, name="other.yaml")
    with pytest.raises(RuleError, match="WX900 already defined"):
        RuleSet.load(folder)
