"""Team rule packs as a user runs them: `--rule-pack`, `rule-packs` in the configuration, `rules`, `rule`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from .builders import REPO, request_xml
from .test_cli_check import cli

EXAMPLE_PACK = REPO / "examples" / "team-rules.yaml"
TRIAL_SITE = "<webExID>jdoe@acme.com</webExID><password>pw-not-shown</password><siteName>acme-trial</siteName>"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A repository with its configuration at the top, the team pack in a folder, messages below."""
    (tmp_path / "policy").mkdir()
    shutil.copy(EXAMPLE_PACK, tmp_path / "policy" / "team-rules.yaml")
    (tmp_path / "webex-xml-lint.toml").write_text(
        'rule-packs = ["policy/team-rules.yaml"]\n[severity]\nACME003 = "warning"\n')
    messages = tmp_path / "messages"
    messages.mkdir()
    (messages / "trial.xml").write_bytes(request_xml("GetUser", "<webExId>jdoe@acme.com</webExId>", security=TRIAL_SITE))
    agenda = "<metaData><confName>Sync</confName><agenda>" + "a" * 2100 + "</agenda></metaData>"
    (messages / "agenda.xml").write_bytes(request_xml("CreateMeeting", agenda, package="meeting",
                                                      security="<webExID>a</webExID><siteName>acme</siteName>"))
    return tmp_path


def test_rule_pack_flag_adds_team_rules_to_check(project):
    messages = project / "messages"
    run = cli("check", "--rule-pack", str(EXAMPLE_PACK), "--format", "json", str(messages), cwd=REPO)
    assert run.returncode == 1, run.stderr.decode()
    found = {(Path(f["path"]).name, f["rule"], f["severity"]) for f in json.loads(run.stdout)["findings"]}
    assert ("trial.xml", "ACME001", "error") in found
    assert ("trial.xml", "ACME003", "info") in found  # no configuration from REPO: the pack's severity
    assert ("agenda.xml", "ACME002", "warning") in found
    without = cli("check", "--format", "json", str(messages), cwd=REPO)
    assert not [f for f in json.loads(without.stdout)["findings"] if f["rule"].startswith("ACME")]


def test_configuration_rule_packs_are_relative_to_the_configuration_file(project):
    run = cli("check", "--format", "json", "trial.xml", cwd=project / "messages")
    assert run.returncode == 1, run.stderr.decode()
    findings = {f["rule"]: f for f in json.loads(run.stdout)["findings"]}
    assert findings["ACME001"]["message"] == ("siteName 'acme-trial' is not one of ACME's sites (acme, acme-eu): "
                                              "production integrations call only these")
    assert findings["ACME003"]["severity"] == "warning"  # the configuration's per-rule severity


def test_select_and_ignore_take_team_prefixes(project):
    selected = cli("check", "--format", "json", "--select", "ACME", ".", cwd=project / "messages")
    rules = {f["rule"] for f in json.loads(selected.stdout)["findings"]}
    assert rules == {"ACME001", "ACME002", "ACME003"}
    ignored = cli("check", "--format", "json", "--ignore", "ACME00", ".", cwd=project / "messages")
    assert not {f["rule"] for f in json.loads(ignored.stdout)["findings"]} & rules


def test_rules_and_rule_show_team_rules(project):
    listing = cli("rules", cwd=project).stdout.decode()
    assert "ACME002  acme-agenda-too-long" in listing and "WX301  removed-hq-hd-video" in listing
    doc = cli("rule", "acme002", cwd=project)
    assert doc.returncode == 0, doc.stderr.decode()
    text = doc.stdout.decode()
    assert text.startswith("# ACME002 acme-agenda-too-long (warning)")
    assert f"Rule pack:  {project / 'policy' / 'team-rules.yaml'}" in text
    assert "ACME's invitation template" in text
    flag = cli("rule", "ACME001", "--rule-pack", str(EXAMPLE_PACK), cwd=REPO)
    assert flag.returncode == 0 and "acme-unapproved-site" in flag.stdout.decode()
    assert cli("rule", "ACME001", cwd=REPO).returncode == 2  # not loaded: unknown
    sarif = json.loads(cli("check", "--format", "sarif", "trial.xml", cwd=project / "messages").stdout)
    rules = {r["id"]: r for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["ACME001"]["defaultConfiguration"] == {"level": "error"} and "helpUri" not in rules["ACME001"]


BAD_PACK = """rules:
  - id: ACME010
    name: acme-agenda
    severity: warning
    introduced: "2026"
    given: $body/metaData/agenda
    then:
      function: max_length
      options:
        limits: [{since: "thirty-nine", max: 2500}]
    message: "agenda is {length} characters"
    docs: {summary: s, why: w, example: e, fix: f, source: src}
"""


@pytest.mark.parametrize("command", [["check"], ["rules"], ["rule", "ACME010"]])
def test_a_broken_pack_is_exit_2_naming_file_line_and_problem(project, command):
    (project / "bad.yaml").write_text(BAD_PACK)
    args = [*command, "--rule-pack", "bad.yaml"] + (["messages/trial.xml"] if command == ["check"] else [])
    run = cli(*args, cwd=project)
    assert run.returncode == 2
    assert run.stdout == b""
    assert run.stderr.decode().strip() == (
        "webex-xml-lint: error: bad.yaml:10 (rule ACME010): check 'max_length': "
        "options.limits[0].since: not an XML API version: 'thirty-nine' (expected e.g. 39.11 or 11.0 SP13)")


def test_team_packs_cannot_take_wx_ids_or_redefine_a_rule(project):
    (project / "wx.yaml").write_text(BAD_PACK.replace("ACME010", "WX010"))
    run = cli("check", "--rule-pack", "wx.yaml", "messages", cwd=project)
    assert run.returncode == 2
    assert "wx.yaml:2 (rule WX010): id WX010: the WX prefix is reserved for built-in rules" in run.stderr.decode()
    shutil.copy(EXAMPLE_PACK, project / "copy.yaml")
    twice = cli("check", "--rule-pack", "copy.yaml", "messages", cwd=project)  # the configuration loads it too
    assert twice.returncode == 2
    assert (f"copy.yaml:6: rule id ACME001 already defined in {project / 'policy' / 'team-rules.yaml'}:6"
            in twice.stderr.decode())


def test_a_configuration_naming_a_missing_pack_is_exit_2(tmp_path):
    (tmp_path / "webex-xml-lint.toml").write_text('rule-packs = ["nowhere.yaml"]\n')
    (tmp_path / "m.xml").write_bytes(request_xml("GetUser", "<webExId>a@acme.com</webExId>"))
    run = cli("check", "m.xml", cwd=tmp_path)
    assert run.returncode == 2
    assert f"{tmp_path / 'nowhere.yaml'}: rule pack not found" in run.stderr.decode()
