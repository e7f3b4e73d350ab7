"""Every rule's fixtures (tests/rules/<RULE>/) through the real `check`: a new rule is data plus fixtures.

bad-*.xml must make the folder's rule fire, good-*.xml (near misses) must not; each message's
.expected file lists every finding `check` reports for it (format: tests/rules/README.md).
WEBEXLINT_UPDATE_FIXTURES=1 rewrites the .expected files from what `check` reports (review the diff).
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import subprocess
import sys

import pytest

from proxy_addon.cli import main
from proxy_addon.lint.ruleset import RuleSet

from .builders import REPO
from .rule_fixtures import (
    RULES_DIR,
    RuleFixture,
    parse_expected,
    render_expected,
    rule_fixtures,
    sort_findings,
)

FIXTURES = rule_fixtures()
UPDATE = os.environ.get("WEBEXLINT_UPDATE_FIXTURES") == "1"


def check_json(capsys, fixture: RuleFixture, tmp_path, monkeypatch) -> tuple[int, list[dict]]:
    """`check --format json ARGS message`, in-process, from an empty folder (no configuration file)."""
    message = tmp_path / (fixture.name + (".har" if fixture.message.name.endswith(".har") else ".xml"))
    message.write_bytes(fixture.data())
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    code = main(["check", "--format", "json", *fixture.expected().args, str(message)])
    captured = capsys.readouterr()
    assert code in (0, 1), f"check exited {code}: {captured.err}"
    return code, json.loads(captured.out)["findings"]


def shipped_rule_ids() -> list[str]:
    return [rule["code"] for rule in _rules_listing()]


@functools.cache
def _rules_listing() -> tuple[dict, ...]:
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert main(["rules", "--format", "json"]) == 0
    return tuple(json.loads(buffer.getvalue()))


def shipped_predicts() -> dict[str, set[str | None]]:
    """What each rule may predict: a rule's variants can differ (WX401 names no exceptionID from 39.8)."""
    predicts: dict[str, set[str | None]] = {rule["code"]: {rule["predicts"]} for rule in _rules_listing()}
    for variant in RuleSet.load().variants:
        predicts.setdefault(variant.id, set()).add(variant.predicts)
    return predicts


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda f: f.id)
def test_rule_fixture(fixture, capsys, tmp_path, monkeypatch):
    assert fixture.kind in ("bad", "good"), f"{fixture.message}: name it bad-*.xml or good-*.xml"
    expected = fixture.expected()
    code, findings = check_json(capsys, fixture, tmp_path, monkeypatch)
    if UPDATE:
        fixture.expected_path.write_text(render_expected(fixture.expected_path.read_text(encoding="utf-8"), findings),
                                         encoding="utf-8")
        expected = fixture.expected()
    # The fixture says what it is meant to show.
    fired = [f for f in expected.findings if f.rule == fixture.rule]
    if fixture.kind == "bad":
        assert fired, f"{fixture.expected_path}: a bad message must expect at least one {fixture.rule} finding"
    else:
        assert not fired, f"{fixture.expected_path}: a good message (near miss) must expect no {fixture.rule}"
    # And check reports exactly that: every finding, at its position, with its message.
    actual = sort_findings(findings)
    wanted = sorted(expected.findings, key=lambda f: (f.line, f.column, f.rule))
    report = "\n".join(f"{f['line']}:{f['column']} {f['rule']} {f['message']}" for f in actual) or "(no findings)"
    assert len(actual) == len(wanted) and all(w.matches(a) for w, a in zip(wanted, actual, strict=False)), (
        f"{fixture.id}: check reported\n{report}\nbut {fixture.expected_path.name} expects\n"
        + ("\n".join(map(str, wanted)) or "(no findings)"))
    # fail-on defaults to warning: info findings are reported but do not fail the run
    assert code == (1 if any(f["severity"] in ("error", "warning") for f in actual) else 0)
    # A rule that predicts a failure says which, on every finding (the proxy ties the answer to it).
    predicts = shipped_predicts()
    assert all(f["predicts"] in predicts.get(f["rule"], {None}) for f in actual), [
        (f["rule"], f["predicts"]) for f in actual]


def test_every_shipped_rule_has_bad_and_good_fixtures():
    rule_ids = shipped_rule_ids()
    assert len(rule_ids) >= 27 and "WX401" in rule_ids
    kinds: dict[str, set[str]] = {}
    for fixture in FIXTURES:
        kinds.setdefault(fixture.rule, set()).add(fixture.kind)
    missing = [rule for rule in rule_ids if not {"bad", "good"} <= kinds.get(rule, set())]
    assert missing == [], f"rules without a bad and a good fixture in {RULES_DIR}: {missing}"
    strays = sorted(set(kinds) - set(rule_ids))
    assert strays == [], f"fixture folders for rules that do not exist: {strays}"


def test_every_fixture_folder_file_is_a_message_or_its_expectation():
    stray = []
    for folder in RULES_DIR.iterdir():
        if not folder.is_dir():
            continue
        messages = {f.name for f in FIXTURES if f.rule == folder.name}
        for path in folder.iterdir():
            name = path.name.removesuffix(".gz").removesuffix(".xml").removesuffix(".har").removesuffix(".expected")
            if path.name not in {f.message.name for f in FIXTURES if f.rule == folder.name} and name not in messages:
                stray.append(str(path.relative_to(RULES_DIR)))
    assert stray == [], f"files that are neither a message nor a message's .expected: {stray}"


def test_the_expected_format_rejects_what_it_does_not_know(tmp_path):
    """A typo in an .expected file is an error naming the file and line, never a silently empty list."""
    with pytest.raises(ValueError, match=r"x\.expected:2: expected 'LINE:COL RULE"):
        parse_expected("# fine\n4 WX101 no column\n", tmp_path / "x.expected")
    parsed = parse_expected("args: --ci-site acme --api-version '11.0 SP20'\n4:7 WX101 siteID\n5:1 WX301\n")
    assert parsed.args == ["--ci-site", "acme", "--api-version", "11.0 SP20"]
    assert [str(f) for f in parsed.findings] == ["4:7 WX101 siteID", "5:1 WX301"]


def test_a_fixture_through_the_installed_command():
    """One fixture through a real `webex-xml-lint check` process: the same findings as in-process."""
    fixture = next(f for f in FIXTURES if f.rule == "WX101" and f.kind == "bad")
    expected = fixture.expected()
    done = subprocess.run([sys.executable, "-m", "proxy_addon.cli", "check", "--format", "json", *expected.args,
                           str(fixture.message)], check=False, cwd=REPO, capture_output=True, timeout=120)
    assert done.returncode == 1, done.stderr.decode("utf-8", "replace")
    findings = sort_findings(json.loads(done.stdout)["findings"])
    wanted = sorted(expected.findings, key=lambda f: (f.line, f.column, f.rule))
    assert len(findings) == len(wanted) and all(w.matches(a) for w, a in zip(wanted, findings, strict=True))
