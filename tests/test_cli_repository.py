"""`check` and `audit` in a real repository, and fixes as ruff users expect (issue 13), run as a user
runs them: `webex-xml-lint ...` in-process through `proxy_addon.cli.main` with the output captured,
or as a process where standard input or a terminal matter."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

from proxy_addon.cli import main

from .builders import REPO, request_xml
from .test_cli_check import _har

SECRET = "Hunter2-Secret-Pw"
HQ_HD = "<enableOptions>\n  <HQvideo>true</HQvideo>\n</enableOptions>"
SITE_ID = f"<webExID>admin</webExID><password>{SECRET}</password><siteName>acme</siteName><siteID>42</siteID>"
SITE_ID_ONLY = f"<webExID>admin</webExID><password>{SECRET}</password><siteID>42</siteID>"
POM = b'<?xml version="1.0"?>\n<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion></project>\n'
LOG4J = b'<?xml version="1.0" encoding="UTF-8"?>\n<Configuration status="WARN"><Appenders/></Configuration>\n'
MEETING = request_xml("CreateMeeting", HQ_HD, package="meeting", security=SITE_ID)
CLEAN = request_xml("GetUser", "<webExId>a@acme.com</webExId>")


def run(capsys, *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def process(*args: str, stdin: bytes | None = None, cwd: Path | None = None,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "proxy_addon.cli", *args], input=stdin, capture_output=True,
                          cwd=cwd or REPO, timeout=60, check=False, env=env)


@pytest.fixture
def java_project(tmp_path: Path, monkeypatch) -> Path:
    """A Java repository with Webex message fixtures in it, and the folders tools leave behind."""
    files = {
        "pom.xml": POM,
        "src/main/resources/log4j2.xml": LOG4J,
        "src/test/resources/webex/meeting.xml": MEETING,
        "src/test/resources/webex/clean.xml": CLEAN,
        ".venv/lib/site-packages/pkg/sample.xml": MEETING,
        "node_modules/pkg/sample.xml": MEETING,
        "tools/__pycache__/sample.xml": MEETING,
        ".git/sample.xml": MEETING,
        "target/generated/meeting.xml": MEETING,  # ignored by .gitignore
        "docs/.gitignore": b"*.draft.xml\n",
        "docs/meeting.draft.xml": MEETING,  # ignored by a nested .gitignore
        ".gitignore": b"target/\n",
    }
    for name, data in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    monkeypatch.chdir(tmp_path)
    return tmp_path


# -- check in a real repository ------------------------------------------------------------------

def test_a_folder_walk_lints_only_messages_outside_tool_folders_and_gitignored_paths(capsys, java_project):
    status, out, err = run(capsys, "check", ".")
    linted = {line.split(":")[0] for line in out.splitlines() if " WX" in line}
    assert linted == {"src/test/resources/webex/meeting.xml"}, out
    assert status == 1 and "Found 3 findings." in out and "pom.xml" not in out + err


def test_the_walk_is_the_same_from_outside_the_repository(capsys, java_project, monkeypatch):
    monkeypatch.chdir("/")
    _status, out, _err = run(capsys, "check", str(java_project))
    linted = {line.split(":")[0] for line in out.splitlines() if " WX" in line}
    assert linted == {str(java_project / "src/test/resources/webex/meeting.xml")}, out


def test_verbose_says_which_xml_files_were_skipped(capsys, java_project):
    status, _out, err = run(capsys, "check", "--verbose", ".")
    assert status == 1
    assert "skipped pom.xml: not a Webex XML API message" in err
    assert "skipped src/main/resources/log4j2.xml: not a Webex XML API message" in err
    assert "skipped 2 XML file(s) that are not messages" in err


def test_a_file_named_explicitly_is_always_linted(capsys, java_project):
    status, out, _err = run(capsys, "check", "pom.xml", "node_modules/pkg/sample.xml", "target/generated/meeting.xml")
    assert status == 1
    assert "pom.xml:2:1: WX003 [error]" in out
    assert "node_modules/pkg/sample.xml:" in out and "target/generated/meeting.xml:" in out


def test_exclude_and_extend_exclude_in_the_configuration(capsys, java_project):
    (java_project / "webex-xml-lint.toml").write_text('extend-exclude = ["src/test/resources/webex/meeting.xml"]\n')
    status, out, _err = run(capsys, "check", ".")
    assert status == 0 and "All checks passed." in out
    # exclude replaces the defaults: .venv and node_modules are searched again (.gitignore still applies)
    (java_project / "webex-xml-lint.toml").write_text('exclude = [".git", "__pycache__"]\n')
    _status, out, _err = run(capsys, "check", ".")
    linted = {line.split(":")[0] for line in out.splitlines() if " WX" in line}
    assert linted == {"src/test/resources/webex/meeting.xml", ".venv/lib/site-packages/pkg/sample.xml",
                      "node_modules/pkg/sample.xml"}
    # patterns are relative to the configuration file, wherever check runs from
    (java_project / "webex-xml-lint.toml").write_text('extend-exclude = ["/src/test/"]\n')
    os.chdir(java_project / "src")
    status, out, err = run(capsys, "check", ".")
    assert status == 0 and "No messages found under the given path(s)" in err


def test_exclude_flags(capsys, java_project):
    status, out, _err = run(capsys, "check", "--extend-exclude", "webex/", ".")
    assert status == 0 and "WX" not in out


def test_per_file_ignores_in_the_configuration(capsys, java_project):
    (java_project / "webex-xml-lint.toml").write_text('[per-file-ignores]\n"src/test/**/meeting.xml" = ["wx3", "WX101"]\n')
    status, out, _err = run(capsys, "check", ".")
    rules = {line.split()[1] for line in out.splitlines() if " WX" in line}
    assert rules == {"WX601"} and status == 0  # only an info finding is left: fail-on is warning
    status, out, _err = run(capsys, "check", "--fix", ".")  # an ignored finding is not fixed either
    assert b"<HQvideo>" in (java_project / "src/test/resources/webex/meeting.xml").read_bytes()


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_audit_applies_per_file_ignores_too(capsys, java_project, jobs):
    (java_project / "webex-xml-lint.toml").write_text('[per-file-ignores]\n"**/webex/meeting.xml" = ["WX3"]\n')
    status, _out, err = run(capsys, "audit", "--jobs", jobs, "--db", str(java_project / "a.sqlite"), ".")
    assert status == 0 and "audited 2 messages from 2 files: 2 findings" in err


@pytest.mark.parametrize("config,complaint", [
    ('exclude = "target"\n', "exclude must be a list of non-empty path patterns"),
    ('extend-exclude = [""]\n', "extend-exclude must be a list of non-empty path patterns"),
    ('per-file-ignores = ["WX3"]\n', "per-file-ignores must be a table"),
    ('[per-file-ignores]\n"a/*" = [3]\n', 'per-file-ignores."a/*" must be a list of rule ids'),
    ('[per-file-ignores]\n"a/*" = ["WX999"]\n', 'unknown rule selector WX999 (' ),
    ('ignore = ["WX999"]\n', "unknown rule selector WX999 ("),
    ('select = ["WX3", "ZZ1"]\n', "unknown rule selector ZZ1 ("),
])
def test_bad_walk_and_selector_settings_are_exit_2_naming_file_and_key(capsys, java_project, config, complaint):
    (java_project / "webex-xml-lint.toml").write_text(config)
    status, out, err = run(capsys, "check", ".")
    assert status == 2 and complaint in err and "webex-xml-lint.toml" in err and out == ""


def test_unknown_selectors_are_exit_2_naming_them(capsys, java_project):
    status, out, err = run(capsys, "check", "--select", "WX999,WX3", ".")
    assert status == 2 and out == ""
    assert "unknown rule selector WX999 (--select)" in err and "WX3 " not in err
    status, _out, err = run(capsys, "check", "--ignore", "wx99", ".")
    assert status == 2 and "WX99 (--ignore)" in err
    status, _out, err = run(capsys, "audit", "--db", str(java_project / "a.sqlite"), "--select", "WX999", ".")
    assert status == 2 and "unknown rule selector WX999 (--select)" in err
    status, _out, err = run(capsys, "proxy", "--select", "WX999")
    assert status == 2 and "unknown rule selector WX999 (--select)" in err


def test_rule_codes_are_case_insensitive(capsys, java_project):
    _status, out, _err = run(capsys, "check", "--select", "wx3", ".")
    assert {line.split()[1] for line in out.splitlines() if " WX" in line} == {"WX301"}
    _status, out, _err = run(capsys, "check", "--ignore", "wx3,Wx6", ".")
    assert {line.split()[1] for line in out.splitlines() if " WX" in line} == {"WX101"}


def test_the_proxy_rejects_an_unknown_selector_option(addon_harness):
    from mitmproxy import exceptions

    with pytest.raises(exceptions.OptionsError, match=r"unknown rule selector WX999 \(webexlint_ignore\)"):
        addon_harness.set(webexlint_ignore="WX3,WX999")
    addon_harness.set(webexlint_select="wx3")  # case-insensitive: accepted


def test_a_missing_input_never_says_passed(capsys, java_project):
    status, out, err = run(capsys, "check", "nope.xml")
    assert status == 2 and "nope.xml: no such file or folder" in err
    assert "passed" not in out + err and "could not be read" in out


def test_a_path_with_no_messages_warns_instead_of_passing(capsys, java_project):
    (java_project / "empty").mkdir()
    status, out, err = run(capsys, "check", "empty")
    assert status == 0 and "warning: No messages found under the given path(s)" in err and "passed" not in out
    status, out, err = run(capsys, "check", "src/main")
    assert "No messages found" in err and "1 XML file(s) that are not messages skipped" in err
    assert "passed" not in out


def test_audit_counts_messages_only_and_says_when_there_were_none(capsys, java_project):
    status, _out, err = run(capsys, "audit", "--db", str(java_project / "a.sqlite"), ".")
    assert status == 0 and "audited 2 messages from 2 files" in err
    assert "skipped 2 XML file(s) that are not messages" in err
    status, _out, err = run(capsys, "audit", "--db", str(java_project / "b.sqlite"), "captures-typo/")
    assert status == 2 and "captures-typo/: no such file or folder" in err
    assert "audited 0" not in err and "No messages found under the given path(s)" in err


# -- fixes like ruff's -----------------------------------------------------------------------------

@pytest.fixture
def fixable(tmp_path: Path) -> Path:
    long_description = "d" * 2501
    (tmp_path / "meeting.xml").write_bytes(request_xml("CreateMeeting", HQ_HD, package="meeting", security=SITE_ID))
    (tmp_path / "event.xml").write_bytes(request_xml(
        "CreateEvent", f"<metaData><sessionName>x</sessionName><description>{long_description}</description></metaData>",
        package="event"))
    return tmp_path


def test_fix_reports_fixed_and_remaining_and_the_hidden_fixes(capsys, fixable):
    status, out, _err = run(capsys, "check", str(fixable))
    assert "Found 5 findings.\n[*] 2 fixable with --fix (1 hidden fix can be enabled with --unsafe-fixes).\n" in out
    status, out, _err = run(capsys, "check", "--fix", str(fixable))
    assert status == 1 and "All checks passed" not in out
    assert "Found 5 findings (2 fixed, 3 remaining).\nNo fixes available (1 hidden fix can be enabled with " \
           "--unsafe-fixes).\n" in out
    status, out, _err = run(capsys, "check", "--fix", "--unsafe-fixes", str(fixable))
    assert "Found 3 findings (1 fixed, 2 remaining).\n" in out and "hidden" not in out


def test_fix_on_a_har_export_says_it_is_read_only(capsys, tmp_path):
    capture = tmp_path / "capture.har"
    capture.write_text(_har([(request_xml("CreateMeeting", HQ_HD, package="meeting", security=SITE_ID), b"")]))
    before = capture.read_bytes()
    status, out, err = run(capsys, "check", "--fix", str(capture))
    assert capture.read_bytes() == before and status == 1
    assert "capture.har: HAR exports and flow dumps are read-only: 2 fix(es) not applied" in err
    assert "fixable with --fix" not in out and "[*]" not in out


def test_diff_prints_only_the_masked_diff_and_exits_1(capsys, fixable):
    meeting = fixable / "meeting.xml"
    before = meeting.read_bytes()
    status, out, err = run(capsys, "check", "--diff", str(meeting))
    assert status == 1 and meeting.read_bytes() == before
    assert out.startswith(f"--- a/{meeting}\n+++ b/{meeting}\n@@ ")
    assert "-  <HQvideo>true</HQvideo>\n" in out and SECRET not in out and "Found" not in out
    assert "Would fix 2 findings." in err
    (fixable / "clean.xml").write_bytes(CLEAN)
    status, out, err = run(capsys, "check", "--diff", str(fixable / "clean.xml"))
    assert status == 0 and out == "" and "No fixes available." in err


def test_fix_on_stdin_writes_the_fixed_message_to_stdout():
    message = request_xml("CreateMeeting", HQ_HD, package="meeting", security=SITE_ID)
    result = process("check", "--fix", "-", stdin=message)
    assert result.stdout == message.replace(b"  <HQvideo>true</HQvideo>\n", b"").replace(b"<siteID>42</siteID>", b"")
    err = result.stderr.decode()
    # WX601 (info) is what is left, which fails nothing by default (fail-on = warning)
    assert result.returncode == 0 and "-:7:1: WX601" in err and "Found 3 findings (2 fixed, 1 remaining)." in err


def test_statistics_prints_only_the_table_and_marks_only_fixable_rules(capsys, tmp_path):
    (tmp_path / "m.xml").write_bytes(request_xml("CreateMeeting", HQ_HD, package="meeting", security=SITE_ID_ONLY))
    status, out, _err = run(capsys, "check", "--statistics", str(tmp_path))
    assert status == 1
    assert out.splitlines() == ["     1  WX101      deprecated-site-id", "     1  WX301  [*] removed-hq-hd-video",
                                "     1  WX601      deprecated-meetings-xml-api", "Found 3 findings."]
    _status, out, _err = run(capsys, "check", "--statistics", "--site-id", "42=acme", str(tmp_path))
    assert "     1  WX101  [*] deprecated-site-id" in out.splitlines()


def test_output_format_is_an_alias_of_format(capsys, fixable):
    status, out, _err = run(capsys, "check", "--output-format", "json", str(fixable / "meeting.xml"))
    assert status == 1 and {f["rule"] for f in json.loads(out)["findings"]} == {"WX101", "WX301", "WX601"}


def _on_a_terminal(args: list[str], env: dict[str, str]) -> bytes:
    """What `webex-xml-lint ARGS` prints on a pseudo-terminal."""
    controller, terminal = pty.openpty()
    try:
        child = subprocess.Popen([sys.executable, "-m", "proxy_addon.cli", *args], stdout=terminal,
                                 stderr=subprocess.DEVNULL, cwd=REPO, env=env)
        os.close(terminal)
        output = b""
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
        child.wait(timeout=60)
    finally:
        os.close(controller)
    return output


def test_colour_on_a_terminal_none_with_no_color_or_when_piped(fixable):
    target = str(fixable / "meeting.xml")
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    coloured = _on_a_terminal(["check", target], env)
    assert b"\x1b[1;31mWX301\x1b[0m" in coloured and b"\x1b[36m[*]\x1b[0m" in coloured
    assert b"\x1b[" not in _on_a_terminal(["check", target], {**env, "NO_COLOR": "1"})
    piped = process("check", target, env=env)
    assert piped.returncode == 1 and b"WX301" in piped.stdout and b"\x1b[" not in piped.stdout


# -- input kinds ---------------------------------------------------------------------------------

def test_a_binary_file_is_not_xml_and_a_text_file_is_not_a_flow_dump(capsys, tmp_path):
    image = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00\xff\xfe"
    (tmp_path / "image.xml").write_bytes(image)
    (tmp_path / "image.bin").write_bytes(image)
    (tmp_path / "notes.txt").write_text("just some notes\n")
    status, out, err = run(capsys, "check", *(str(tmp_path / name) for name in ("image.xml", "image.bin", "notes.txt")))
    assert status == 1 and err == ""
    assert re.search(r"image\.xml:1:1: WX001 \[error\] not XML: binary data \(it starts with the bytes 89 50 4e 47", out)
    assert "image.bin:1:1: WX001 [error] not XML: binary data" in out
    assert "notes.txt:1:1: WX001 [error] not well-formed XML" in out
    assert "WX005" not in out and "flow dump" not in out + err
    # a folder walk: a binary named .xml is not a message
    status, out, err = run(capsys, "check", "--verbose", str(tmp_path))
    assert status == 0 and "image.xml: not a Webex XML API message" in err


def test_a_flow_dump_is_known_by_its_content_whatever_its_name(capsys, tmp_path):
    from mitmproxy import io
    from mitmproxy.test import tflow

    flow = tflow.tflow(resp=True)
    flow.request.path = "/WBXService/XMLService"
    flow.request.content = request_xml("CreateMeeting", HQ_HD, package="meeting")
    with open(tmp_path / "saved-by-mitmdump", "wb") as stream:
        io.FlowWriter(stream).add(flow)
    (tmp_path / "notes.txt").write_text("12:30 call with the Webex team\n")
    status, out, err = run(capsys, "check", str(tmp_path / "saved-by-mitmdump"), str(tmp_path / "notes.txt"))
    assert status == 1 and err == ""
    assert "saved-by-mitmdump#flow 0 request:" in out and "WX301" in out
    assert "notes.txt:1:1: WX001 [error] not well-formed XML" in out
