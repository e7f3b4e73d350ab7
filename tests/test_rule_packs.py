"""Rule packs are validated at load, to the last nested option; built-in rules speak from the YAML.

A pack that loads never fails at lint time: every mistake is reported when the pack is read, with
the file, the line of the offending YAML node and the problem.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from proxy_addon.core.findings import Severity
from proxy_addon.lint.checks import CHECKS, OPTION_SCHEMAS
from proxy_addon.lint.context import LintContext
from proxy_addon.lint.engine import Linter
from proxy_addon.lint.ruleset import RuleError, RuleSet, data_dir

from .builders import REPO, request_xml

TEAM_RULE = """rules:
  - id: ACME001
    name: acme-rule
    severity: warning
    introduced: "2026"
    direction: request
    given: $body/metaData/agenda
    then:
      function: {function}
      options:
{options}
    message: "agenda: {{length}}"
    docs: {{summary: s, why: w, example: e, fix: f, source: src}}
"""


def team_pack(tmp_path: Path, function: str, options: str, name: str = "team.yaml") -> Path:
    path = tmp_path / name
    path.write_text(TEAM_RULE.format(function=function, options=options))
    return path


# (check function, its options as YAML lines under `options:` (line 11 onwards), the line the
# error must name, what the error must say)
BROKEN_OPTIONS = [
    ("max_length", '        limits: [{since: "thirty-nine", maxx: 2500}]', 11,
     "options.limits[0]: unknown option 'maxx' (did you mean 'max'?)"),
    ("max_length", '        limits:\n          - {since: "thirty-nine", max: 2500}', 12,
     "options.limits[0].since: not an XML API version: 'thirty-nine'"),
    ("max_length", "        limits:\n          - {max: 2500}", 12, "options.limits[0] needs 'since'"),
    ("max_length", "        limits: []", 11, "options.limits needs at least 1 item(s)"),
    ("max_length", "        limits: {since: '39.8', max: 10}", 11, "options.limits must be a list of a mapping, not a mapping"),
    ("max_length", '        max: "ten"', 11, "options.max must be a whole number, not 'ten'"),
    ("max_length", "        max: -1", 11, "options.max must be at least 0"),
    ("max_length", "        min: true", 11, "options.min must be a whole number, not True"),
    ("max_length", "        maximum: 3", 11, "options: unknown option 'maximum' (did you mean 'max'?)"),
    ("present", "        text_matches: '(unclosed'", 11, "options.text_matches: '(unclosed' is not a regular expression"),
    ("pattern", "        skip_empty: true", 11, "options needs 'match'"),
    ("pattern", "        match: '^a'\n        skip_empty: 'yes'", 12, "options.skip_empty must be true or false, not 'yes'"),
    ("enumeration", "        allowed: red", 11, "options.allowed must be a list of text, not 'red'"),
    ("enumeration", "        allowed: [red, [green]]", 11, "options.allowed[1] must be text, not a list"),
    ("date_range", "        start: a\n        end: b\n        max_days: 0", 13, "options.max_days must be at least 1"),
    ("max_decoded_size", "        max_bytes: 5MB", 11, "options.max_bytes must be a whole number, not '5MB'"),
    ("credential_precedence",
     "        credentials: {password: $security/password}\n        order: {saml: [password]}", 12,
     "options.order: unknown key 'saml' (allowed: ci, sso)"),
    ("credential_precedence",
     "        credentials:\n          password: security/password\n        order: {ci: [password]}", 12,
     "options.credentials.password: selector 'security/password' must start with one of"),
    ("webex_date", "        strict: true", 11, "options: unknown option 'strict' (it takes none)"),
]


@pytest.mark.parametrize("function, options, line, problem", BROKEN_OPTIONS,
                         ids=[f"{case[0]}-{i}" for i, case in enumerate(BROKEN_OPTIONS)])
def test_broken_options_fail_at_load_with_file_line_and_problem(tmp_path, function, options, line, problem):
    path = team_pack(tmp_path, function, options)
    with pytest.raises(RuleError) as error:
        RuleSet.load(extra_packs=[path])
    assert str(error.value).startswith(f"{path}:{line} (rule ACME001): check {function!r}: "), str(error.value)
    assert problem in str(error.value)


GOOD = TEAM_RULE.format(function="present", options="        text_matches: 'x'")

# (a change to GOOD, the line the error must name, what it must say)
BROKEN_RULES = [
    (("    severity: warning", "    severty: warning"), 4, "unknown key 'severty' (did you mean 'severity'?)"),
    (("      function: present", "      function: present\n      option: {}"), 10, "then: unknown key 'option'"),
    (("    direction: request", "    direction: request\n    api: {sinse: '39.8'}"), 7, "api: unknown key 'sinse'"),
    (("    direction: request", "    direction: request\n    api: {since: soon}"), 7, "api: not an XML API version: 'soon'"),
    (("source: src}", "source: src, see: x}"), 13, "docs: unknown key 'see'"),
    (("    direction: request", "    direction: request\n    fix: {action: remove, safe: true, when: never}"), 7,
     "fix: unknown key 'when'"),
    (("id: ACME001", "id: WX950"), 2, "the WX prefix is reserved for built-in rules"),
    (("id: ACME001", "id: acme1"), 2, "must be an upper-case prefix and digits"),
    (("id: ACME001", "id: ACME"), 2, "must be an upper-case prefix and digits"),
    (("name: acme-rule", "name: Acme Rule"), 3, "must be kebab-case"),
    (("    then:\n      function: present\n      options:\n        text_matches: 'x'\n", ""), 2,
     "a team rule needs a check function"),
    (("severity: warning", "severity: fatal"), 4, "severity 'fatal' is not one of error, warning, info"),
    (("given: $body/metaData/agenda", "given: body/agenda"), 7, "must start with one of"),
    (("rules:", "rule:"), 1, "a rule pack is a mapping with a 'rules' list"),
    (("rules:", "version: 2\nrules:"), 1, "unknown key 'version' (a rule pack has only 'rules')"),
]


@pytest.mark.parametrize("change, line, problem", BROKEN_RULES, ids=[c[2][:40] for c in BROKEN_RULES])
def test_broken_rules_fail_at_load_with_file_line_and_problem(tmp_path, change, line, problem):
    assert change[0] in GOOD
    path = tmp_path / "team.yaml"
    path.write_text(GOOD.replace(*change))
    with pytest.raises(RuleError) as error:
        RuleSet.load(extra_packs=[path])
    assert str(error.value).startswith(f"{path}:{line}"), str(error.value)
    assert problem in str(error.value)


def test_a_missing_team_pack_and_a_duplicate_id_name_the_files(tmp_path):
    with pytest.raises(RuleError, match=r"nowhere\.yaml: rule pack not found"):
        RuleSet.load(extra_packs=[tmp_path / "nowhere.yaml"])
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first.write_text(GOOD)
    second.write_text(GOOD)
    with pytest.raises(RuleError) as error:
        RuleSet.load(extra_packs=[first, second])
    assert f"{second}:2: rule id ACME001 already defined in {first}:2" in str(error.value)


def _shipped_rules_with_options() -> list[tuple[str, dict, dict]]:
    found = []
    for path in sorted(data_dir("rules").glob("*.yaml")):
        for raw in (yaml.safe_load(path.read_text()) or {}).get("rules", []):
            for variant in raw.get("variants") or [{}]:
                then = {**raw, **variant}.get("then") or {}
                if then.get("function"):
                    found.append((raw["id"], then, {"path": path}))
    return found


SHIPPED = _shipped_rules_with_options()


def test_every_check_function_declares_its_options():
    assert set(OPTION_SCHEMAS) == set(CHECKS)
    assert {function for _, then, _ in SHIPPED for function in [then["function"]]} <= set(CHECKS)


@pytest.mark.parametrize("rule_id, then, where", SHIPPED, ids=[s[0] for s in SHIPPED])
def test_every_shipped_rules_options_pass_and_are_converted(rule_id, then, where):
    loaded = OPTION_SCHEMAS[then["function"]].load(then.get("options"), "options", 1)
    assert set(loaded) == set(then.get("options") or {})
    if "text_matches" in loaded or "match" in loaded:
        assert isinstance(loaded.get("text_matches") or loaded["match"], re.Pattern)
    for step in loaded.get("limits", []):
        assert isinstance(step["since"], tuple)  # parsed once, at load


def _leaves(value, trail=()):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*trail, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, (*trail, index))
    else:
        yield trail


def _replaced(value, trail, new):
    if not trail:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[trail[0]] = _replaced(value[trail[0]], trail[1:], new)
    return copy


MUTANTS = [(rule_id, then, trail) for rule_id, then, _ in SHIPPED for trail in _leaves(then.get("options") or {})]


@pytest.mark.parametrize("rule_id, then, trail", MUTANTS,
                         ids=[f"{m[0]}-{'.'.join(map(str, m[2]))}" for m in MUTANTS])
def test_any_shipped_option_value_of_the_wrong_shape_fails_at_load(tmp_path, rule_id, then, trail):
    """Property: replace any one option value of a shipped rule by a mapping, or add an unknown
    key beside it, and the pack no longer loads; it never gets as far as linting."""
    schema = OPTION_SCHEMAS[then["function"]]
    for broken in (_replaced(then["options"], trail, {"unexpected": 1}),
                   _replaced(then["options"], trail[:-1], {**_at(then["options"], trail[:-1]), "zz_unknown": 1})
                   if isinstance(_at(then["options"], trail[:-1]), dict) else None):
        if broken is None:
            continue
        pack = tmp_path / "mutant.yaml"
        pack.write_text(yaml.safe_dump({"rules": [{
            "id": "ACME900", "name": "mutant", "severity": "warning", "introduced": "1", "given": "$body",
            "then": {"function": then["function"], "options": broken}, "message": "m",
            "docs": {"summary": "s", "why": "w", "example": "e", "fix": "f", "source": "src"}}]}))
        with pytest.raises(RuleError, match=rf"mutant\.yaml:\d+ \(rule ACME900\): check '{then['function']}'"):
            RuleSet.load(extra_packs=[pack])
    assert schema.load(then["options"], "options", 1)  # the unmutated options still pass


def _at(value, trail):
    for step in trail:
        value = value[step]
    return value


# -- built-in rules emit by id: their words and severities are the YAML's ---------------------------

EMITTERS = {
    "proxy_addon/core/parsing.py": re.compile(r'doc\.add\("(WX\d+)", "([\w-]+)"'),
    "proxy_addon/lint/engine.py": re.compile(r'_emit_case\(result, "(WX\d+)", "([\w-]+)"'),
    "proxy_addon/schema/validation.py": re.compile(r'"(WX\d+)": "([\w-]+)"'),
}


def test_every_case_our_code_emits_is_in_the_yaml_and_every_builtin_rule_has_cases():
    ruleset = RuleSet.load()
    emitted = {pair for file, pattern in EMITTERS.items() for pair in pattern.findall((REPO / file).read_text())}
    assert len(emitted) >= 15
    for rule_id, case in emitted:
        assert case in ruleset.by_id[rule_id].cases, f"{rule_id} case {case!r} is not in rules/protocol.yaml"
    builtin = {rule.id for rule in ruleset.rules if rule.is_builtin}
    assert builtin == {rule_id for rule_id, _ in emitted}
    declared = {(rule.id, case) for rule in ruleset.rules for case in rule.cases}
    assert declared == emitted, "a case in the YAML that no code emits"


def test_wx005_default_severity_matches_most_of_its_cases():
    rule = RuleSet.load().by_id["WX005"]
    severities = [case.severity for case in rule.cases.values()]
    assert rule.severity == Severity.ERROR == max(set(severities), key=severities.count)


def test_parser_engine_and_validator_findings_take_name_severity_and_words_from_the_pack(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(data_dir("rules"), rules)
    protocol = rules / "protocol.yaml"
    text = protocol.read_text()
    for old, new in [('empty: "empty message: no XML document"',
                      'empty: {message: "nothing at all", severity: info}'),
                     ("name: malformed-body-type", "name: body-type-trouble"),
                     ('no-type: "bodyContent has no xsi:type: the service cannot tell which operation is called"',
                      'no-type: "no xsi:type here"'),
                     ('misspelled: "{reason}"', 'misspelled: {message: "spelling: {reason}", severity: error}')]:
        assert old in text
        text = text.replace(old, new)
    protocol.write_text(text)
    linter = Linter(RuleSet.load(rules))

    empty = linter.lint(b"").findings
    assert [(f.rule, f.name, f.severity, f.message) for f in empty] == [
        ("WX001", "malformed-xml", "info", "nothing at all")]
    untyped = request_xml("GetUser", "<webExId>a</webExId>").replace(
        b' xsi:type="java:com.webex.service.binding.user.GetUser"', b"")
    assert [(f.rule, f.name, f.message) for f in linter.lint(untyped).findings] == [
        ("WX004", "body-type-trouble", "no xsi:type here")]
    misspelled = linter.lint(request_xml("GetUser", "<webExID>a</webExID>"),
                             context=LintContext(validate=True)).findings
    assert [(f.rule, f.severity) for f in misspelled] == [("WX008", "error")]
    assert misspelled[0].message.startswith("spelling: ")


def test_a_severity_override_applies_to_parser_findings_too():
    raw = request_xml("SetUser", "<firstName>Z\xfcrich</firstName>", encoding="ISO-8859-1").replace(
        b'encoding="ISO-8859-1"', b'encoding="UTF-8"')
    linter = Linter()
    assert [f.severity for f in linter.lint(raw).findings] == ["error"]
    overridden = linter.lint(raw, context=LintContext(severity_overrides={"WX005": Severity.INFO}))
    assert [f.severity for f in overridden.findings] == ["info"]


PARSER_CASES = {
    "invalid-bytes": (b'<?xml version="1.0" encoding="UTF-8"?><a>Z\xfcrich</a>', None),
    "unknown-encoding": (b'<?xml version="1.0" encoding="bogus"?><a/>', None),
    "ascii-declaration": (b'<?xml version="1.0" encoding="UTF-16"?><a/>', None),
    "declaration-contradicts-bytes": (b'\xef\xbb\xbf<?xml version="1.0" encoding="UTF-16"?><a/>', None),
    "utf8-declared-8bit": ('<?xml version="1.0" encoding="ISO-8859-1"?><a>Zürich</a>'.encode(), None),
    "http-charset": (b"<a>x</a>", "utf-16"),
    "declaration": (b"<!DOCTYPE a><a/>", None),
    "not-well-formed": (b"<a><b></a>", None),
    "unparseable": (b"<a>\x00</a>", None),
    "undeclared": (b"<serv:a/>", None),
    "empty": (b"", None),
}


@pytest.mark.parametrize("case", sorted(PARSER_CASES))
def test_every_parser_case_fills_its_template(case):
    """A field the template names but the emitter does not pass would leave "{field}" in the text."""
    raw, charset = PARSER_CASES[case]
    findings = Linter().lint(raw, http_charset=charset).findings
    rule = next(rule for rule in RuleSet.load().rules if case in rule.cases)
    template = rule.cases[case].message
    matching = [f for f in findings if f.rule == rule.id]
    assert matching and not re.search(r"\{\w+(![rs])?(:[^}]*)?\}", matching[0].message), matching[0].message
    assert matching[0].message != template or "{" not in template
    assert matching[0].severity == rule.cases[case].severity


@pytest.mark.parametrize("old, new, problem", [
    ('"000001": {meaning:', '"000001": {meening:', "exceptions.yaml:4: exception 000001: needs a 'meaning'"),
    ('predicted_by: [WX405]}', 'predicted_by: [WX405], seen: yes}', "exceptions.yaml:7: exception 010100: unknown key 'seen'"),
    ("predicted_by: [WX405]", "predicted_by: [WX495]", "exception 010100: predicted_by names unknown rule WX495"),
])
def test_the_exception_catalog_is_checked_too(tmp_path, old, new, problem):
    rules = tmp_path / "rules"
    shutil.copytree(data_dir("rules"), rules)
    catalog = rules / "exceptions.yaml"
    assert old in catalog.read_text()
    catalog.write_text(catalog.read_text().replace(old, new))
    with pytest.raises(RuleError, match=re.escape(problem)):
        RuleSet.load(rules)
