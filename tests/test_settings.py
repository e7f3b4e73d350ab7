"""One settings model: the configuration file, then flags, then `--set webexlint_*`, for every command.

The same file gives the same findings in `check` and in the live proxy (the real mitmdump, run as
`webex-xml-lint proxy` and as a plain `mitmdump -s addon.py` that finds the file itself), and the
audit store is opened by one process only: the one that writes it.
"""

from __future__ import annotations

import argparse
import http.client
import inspect
import json
import logging
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from mitmproxy import exceptions

from proxy_addon.audit.store import open_store
from proxy_addon.cli.options import add_rule_arguments
from proxy_addon.core.findings import Severity
from proxy_addon.core.versions import parse_version
from proxy_addon.settings import (
    Settings,
    SettingsError,
    flags_layer,
    read_config,
    settings_from_args,
)
from proxy_addon.simulator.server import SERVICE_PATH, WebexSimulator
from tests.builders import request_xml
from tests.processes import stop_process, wait_for_port
from tests.proxy_support import REPO, RunningProxy, free_port

ACME = "<siteName>acme</siteName><webExID>admin@acme.com</webExID><password>Settings-pw-1</password>"
SITE_ID = "<siteID>5941234567</siteID><webExID>admin@acme.com</webExID><password>Settings-pw-1</password>"
MESSAGES = {
    "meeting.xml": request_xml("CreateMeeting", "<metaData><confName>Standup</confName></metaData>"
                               "<enableOptions><HQvideo>true</HQvideo></enableOptions>", package="meeting",
                               security=SITE_ID),
    "setuser.xml": request_xml("SetUser", "<webExId>jane@acme.com</webExId><timeZoneID>4</timeZoneID>", security=ACME),
    "createuser.xml": request_xml("CreateUser", "<firstName>Jane</firstName><webExId>jane@acme.com</webExId>",
                                  security=ACME),
}
CONFIG = """\
ci-sites = ["acme"]
select = ["WX1", "WX2", "WX3"]
ignore = ["WX303"]
severity = { WX101 = "error", WX201 = "info" }
"""


def parse_flags(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_rule_arguments(parser)
    return parser.parse_args(argv)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    (folder / "messages").mkdir(parents=True)
    (folder / "webex-xml-lint.toml").write_text(CONFIG, encoding="utf-8")
    for name, body in MESSAGES.items():
        (folder / "messages" / name).write_bytes(body)
    return folder


# -- the model: one precedence -----------------------------------------------------------------------

def test_flags_apply_on_top_of_the_file(project, monkeypatch):
    monkeypatch.chdir(project / "messages")  # the nearest file is found from the current folder up
    settings = settings_from_args(parse_flags("--select", "WX2,WX4", "--ignore", "WX401", "--ci-site", "globex",
                                              "--api-version", "39.1"))
    assert settings.source == str(project / "webex-xml-lint.toml")
    assert settings.select == ("WX2", "WX4")  # replaced
    assert settings.ignore == ("WX303", "WX401")  # added
    assert settings.ci_sites == ("acme", "globex")  # added
    assert settings.severity == {"WX101": Severity.ERROR, "WX201": Severity.INFO}  # from the file
    assert settings.api_version == parse_version("39.1")
    context = settings.context()
    assert context.is_selected("WX201") and not context.is_selected("WX101") and not context.is_selected("WX401")


def test_later_layers_replace_values_add_to_lists_and_update_tables():
    first = {"select": ("WX1",), "ignore": ("WX101",), "severity": {"WX101": Severity.ERROR, "WX102": Severity.INFO},
             "site_ids": {"1": "acme"}, "validate": True}
    second = {"select": ("WX3",), "ignore": ("WX102", "WX101"), "severity": {"WX102": Severity.WARNING},
              "site_ids": {"2": "globex"}}
    merged = Settings().merged(first, second)
    assert merged.select == ("WX3",)
    assert merged.ignore == ("WX101", "WX102")
    assert merged.severity == {"WX101": Severity.ERROR, "WX102": Severity.WARNING}
    assert merged.site_ids == {"1": "acme", "2": "globex"}
    assert merged.validate is True


def test_rule_packs_are_resolved_relative_to_the_configuration_file(tmp_path, monkeypatch):
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "webex-xml-lint.toml").write_text('rule-packs = ["team.yaml"]\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    settings = Settings().merged(read_config(conf / "webex-xml-lint.toml"), flags_layer(parse_flags(
        "--rule-pack", "extra.yaml")))
    # The file's are found from any folder; flags stay as given, so the loader's errors name them so.
    assert settings.rule_packs == (str(conf / "team.yaml"), "extra.yaml")


def test_team_rule_packs_from_the_configuration_reach_the_live_linter(addon_harness, tmp_path):
    from proxy_addon.lint.ruleset import RuleSet  # noqa: PLC0415

    pack = REPO / "examples" / "team-rules.yaml"
    if not pack.is_file() or "extra_packs" not in inspect.signature(RuleSet.load).parameters:
        pytest.skip("team rule packs (RuleSet.load(extra_packs=...), examples/team-rules.yaml) are not in this tree")
    shutil.copy(pack, tmp_path / "team.yaml")
    (tmp_path / "webex-xml-lint.toml").write_text('rule-packs = ["team.yaml"]\nselect = ["ACME001"]\n',
                                                  encoding="utf-8")
    addon_harness.set(webexlint_config=str(tmp_path / "webex-xml-lint.toml"))
    trial = request_xml("GetUser", "<webExId>a@acme.com</webExId>",
                        security="<siteName>acme-trial</siteName><webExID>a@acme.com</webExID><password>x1-pw</password>")
    assert [(f["rule"], f["severity"]) for f in addon_harness.findings(addon_harness.request(trial))] == \
        [("ACME001", "error")]


@pytest.mark.parametrize("config,complaint", [
    ('severity = { WX201 = "fatal" }\n', r"webex-xml-lint\.toml: severity\.WX201 = 'fatal' is not error, warning or info"),
    ('ci-sites = [" "]\n', r"webex-xml-lint\.toml: ci-sites: empty site name"),
    ('api-version = "latest"\n', r"webex-xml-lint\.toml: api-version: not an XML API version"),
    ('validate = "yes"\n', r"webex-xml-lint\.toml: validate must be true or false"),
])
def test_bad_file_values_name_the_file_and_key(tmp_path, config, complaint):
    (tmp_path / "webex-xml-lint.toml").write_text(config, encoding="utf-8")
    with pytest.raises(SettingsError, match=complaint):
        read_config(tmp_path / "webex-xml-lint.toml")


def test_bad_flag_values_name_the_flag():
    with pytest.raises(SettingsError, match="--api-version: not an XML API version"):
        flags_layer(parse_flags("--api-version", "banana"))
    with pytest.raises(SettingsError, match="--site-id '42': expected ID=NAME"):
        flags_layer(parse_flags("--site-id", "42"))
    with pytest.raises(SettingsError, match="--config nowhere.toml: configuration file not found"):
        settings_from_args(parse_flags("--config", "nowhere.toml"))


# -- the addon: file, then options --------------------------------------------------------------------

def test_the_addon_reads_the_configuration_file_and_options_apply_on_top(addon_harness, project):
    proxy = addon_harness
    proxy.set(webexlint_config=str(project / "webex-xml-lint.toml"))
    found = {(f["rule"], f["severity"]) for body in MESSAGES.values() for f in proxy.findings(proxy.request(body))}
    assert ("WX101", "error") in found and ("WX201", "info") in found and ("WX202", "error") in found
    assert all(rule[:3] in ("WX1", "WX2", "WX3") and rule != "WX303" for rule, _ in found)
    proxy.set(webexlint_select="WX3", webexlint_severity=["WX301=info"])  # options win over the file
    found = {(f["rule"], f["severity"]) for f in proxy.findings(proxy.request(MESSAGES["meeting.xml"]))}
    assert found == {("WX301", "info")}


@pytest.mark.parametrize("option,value,complaint", [
    ("webexlint_config", "/nonexistent/webex-xml-lint.toml", "webexlint_config /nonexistent/webex-xml-lint.toml: "
                                                             "configuration file not found"),
    ("webexlint_severity", ["WX201=fatal"], "webexlint_severity WX201 = 'fatal' is not error, warning or info"),
    ("webexlint_severity", ["WX201"], "webexlint_severity 'WX201': expected RULE=LEVEL"),
    ("webexlint_rule_pack", ["/nonexistent/team.yaml"], "webexlint_rule_pack: "),
])
def test_bad_settings_options_are_rejected_naming_the_option(addon_harness, option, value, complaint):
    with pytest.raises(exceptions.OptionsError, match=re.escape(complaint) + (".*/nonexistent/team.yaml" if option ==
                                                                                "webexlint_rule_pack" else "")):
        addon_harness.set(**{option: value})


def test_a_broken_configuration_file_is_an_options_error_naming_file_and_key(addon_harness, tmp_path):
    (tmp_path / "webex-xml-lint.toml").write_text('selekt = ["WX1"]\n', encoding="utf-8")
    with pytest.raises(exceptions.OptionsError, match=r"webexlint_config: .*webex-xml-lint\.toml: unknown setting\(s\) selekt"):
        addon_harness.set(webexlint_config=str(tmp_path / "webex-xml-lint.toml"))


def test_linting_in_mitmdump_opens_the_store_once(addon_harness, tmp_path, caplog):
    db = tmp_path / "audit.sqlite"
    with caplog.at_level(logging.INFO, logger="proxy_addon.audit.store.store"):
        addon_harness.set(webexlint_db=str(db))
        addon_harness.request(MESSAGES["createuser.xml"])
        addon_harness.set(webexlint_db="")  # drains and closes
    opened = [r.getMessage() for r in caplog.records if r.getMessage().startswith("opened the audit store")]
    assert len(opened) == 1, opened
    with open_store(str(db)) as store:
        assert store.summary()["requests"] == 1


# -- the live proxy (real mitmdump, real HTTP) --------------------------------------------------------

@pytest.fixture
def simulator() -> Iterator[WebexSimulator]:
    with WebexSimulator(ci_sites=["acme"], record=True) as sim:
        yield sim


def post(port: int, bodies: list[bytes]) -> None:
    for body in bodies:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request("POST", SERVICE_PATH, body=body, headers={"Content-Type": "text/xml"})
            assert conn.getresponse().status == 200
        finally:
            conn.close()


def checked(project: Path, *flags: str) -> list[tuple[str, str, str]]:
    result = subprocess.run([sys.executable, "-m", "proxy_addon.cli", "check", "--format", "json", *flags, "messages"],
                            cwd=project, capture_output=True, timeout=60)
    assert result.returncode == 1, result.stderr.decode()
    return sorted((f["operation"], f["rule"], f["severity"]) for f in json.loads(result.stdout)["findings"])


def proxied(proxy, count: int) -> list[tuple[str, str, str]]:
    findings = proxy.wait_for("finding")  # every flow sent so far is logged (a sentinel flow)
    assert len(findings) == count, findings
    assert {f["direction"] for f in findings} == {"request"}  # WX501 on the 030098 answer is not selected
    return sorted((f["operation"], f["rule"], f["severity"]) for f in findings)


@pytest.mark.e2e
def test_check_and_the_live_proxy_select_the_same_findings_from_one_file(project, simulator, start_proxy):
    expected = checked(project)
    rules = {rule for _, rule, _ in expected}
    assert {"WX101", "WX201", "WX202", "WX301"} <= rules and not rules - {"WX101", "WX102", "WX201", "WX202", "WX301"}
    assert ("SetUser", "WX201", "info") in expected and ("CreateMeeting", "WX101", "error") in expected
    # Plain mitmdump finds the nearest file from its current folder, as `check` does.
    direct = start_proxy(direct=True, mode=f"reverse:{simulator.base_url}", cwd=project / "messages")
    post(direct.port, list(MESSAGES.values()))
    assert proxied(direct, len(expected)) == expected
    # `webex-xml-lint proxy --config FILE`, started elsewhere.
    command = start_proxy("--config", str(project / "webex-xml-lint.toml"), mode=f"reverse:{simulator.base_url}")
    post(command.port, list(MESSAGES.values()))
    assert proxied(command, len(expected)) == expected


@pytest.mark.e2e
def test_in_the_live_proxy_flags_override_the_file_and_set_overrides_flags(project, simulator, start_proxy):
    config = str(project / "webex-xml-lint.toml")
    assert checked(project, "--select", "WX2,WX3") == [("CreateMeeting", "WX301", "warning"),
                                                       ("CreateUser", "WX202", "error"), ("SetUser", "WX201", "info")]
    proxy = start_proxy("--config", config, "--select", "WX2,WX3", "--", "--set", "webexlint_select=WX3",
                        mode=f"reverse:{simulator.base_url}")
    post(proxy.port, list(MESSAGES.values()))
    assert proxied(proxy, 1) == [("CreateMeeting", "WX301", "warning")]


@pytest.mark.e2e
def test_the_lint_worker_is_the_one_process_that_opens_the_store(project, simulator, confdir, tmp_path):
    db = tmp_path / "audit.sqlite"
    refused = subprocess.run([sys.executable, "-m", "proxy_addon.cli", "proxy", "--listen-port", str(free_port()),
                              "--db", str(db), "--schema-dir", str(tmp_path / "no-such-bundle")],
                             cwd=REPO, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "--schema-dir" in refused.stderr
    assert not db.exists()  # checking the URL neither creates nor migrates the store
    port, output, log = free_port(), tmp_path / "output.txt", tmp_path / "findings.jsonl"
    with output.open("wb") as sink:  # mitmdump's own log (standard output) and the worker's (standard error)
        process = subprocess.Popen(
            [sys.executable, "-m", "proxy_addon.cli", "proxy", "--listen-port", str(port), "--findings-log", str(log),
             "--mode", f"reverse:{simulator.base_url}", "--config", str(project / "webex-xml-lint.toml"),
             "--db", str(db), "--", "--set", f"confdir={confdir}"],
            cwd=REPO, stdout=sink, stderr=subprocess.STDOUT)
        try:
            wait_for_port(port, process, timeout=60)
            post(port, list(MESSAGES.values()))
            RunningProxy(process, port, log, mode=f"reverse:{simulator.base_url}").settle()
        finally:
            stop_process(process)  # the worker drains its queue into the store, then exits
    text = output.read_text(encoding="utf-8", errors="replace")
    opened = re.findall(r"opened the audit store .* \(schema version \d+, process (\d+)\)", text)
    assert len(opened) == 1, text
    assert int(opened[0]) != process.pid  # the worker, not mitmdump (which `proxy` became)
    with open_store(str(db)) as store:
        summary = store.summary()
        # The sentinel's request is never linted; its answer, a serv:message, is (by content).
        assert (summary["requests"], summary["responses"]) == (3, 4)
