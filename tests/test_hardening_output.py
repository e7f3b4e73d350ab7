"""Hardening of what `check` prints (issue 12): no forged lines, no terminal escapes, no tracebacks.

Control characters from a message (CDATA quoted by WX001) or from a file name are printed visibly
escaped in every field of the text and github formats, and a closed stdin is a usage error.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from proxy_addon.core.findings import Finding, Severity
from proxy_addon.lint.ruleset import RuleSet
from proxy_addon.outputs.formats import format_github, format_text
from tests.builders import REPO, request_xml

ESC = "\x1b"
HOSTILE = "x\nWX999 [error] forged finding\r\x1b[2J\x1b]0;title\x07\x9b31m\u2028\u202e"
TEXT_LINE = re.compile(r"^.+:\d+:\d+: WX\d{3} \[(error|warning|info)\] .*$")


def _check(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    command = " ".join([sys.executable, "-m", "proxy_addon.cli", "check", *args]) + stdin
    return subprocess.run(["bash", "-c", command], cwd=REPO, capture_output=True, timeout=120, check=False)


def _no_control_characters(text: str) -> None:
    lines = text.split("\n")
    for line in lines:
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]", line), line


def test_a_closed_stdin_is_a_usage_error_not_a_traceback():
    result = _check("-", stdin=" <&-")
    assert result.returncode == 2
    assert b"Traceback" not in result.stderr
    assert b"stdin" in result.stderr


def test_text_output_escapes_control_characters_in_every_field():
    finding = Finding("WX001", "not-well-formed", Severity.ERROR, f"not well-formed: {HOSTILE}",
                      path=f"evil{HOSTILE}.xml", locator=f"entry 1{HOSTILE}")
    out = format_text([finding], RuleSet.load())
    _no_control_characters(out)
    lines = out.splitlines()
    assert len(lines) == 2 and lines[1] == "Found 1 finding."
    assert "\\n" in lines[0] and "\\x1b" in lines[0] and "\\u202e" in lines[0]  # visible, not dropped


def test_github_output_escapes_esc_and_other_control_characters():
    finding = Finding("WX001", "not-well-formed", Severity.ERROR, f"not well-formed: {HOSTILE}",
                      path=f"evil{HOSTILE}.xml")
    out = format_github([finding], RuleSet.load())
    assert out.count("\n") == 1 and out.startswith("::error file=")
    _no_control_characters(out)
    assert "\\x1b" in out and "%0A" in out


@pytest.mark.parametrize("name", ["two\nlines.xml", "esc\x1b[31mred.xml", "bell\x07.xml"])
def test_check_of_a_hostile_file_name_prints_no_raw_control_character(tmp_path, name):
    target = tmp_path / name
    target.write_bytes(request_xml("CreateMeeting", "<enableOptions><HQvideo>true</HQvideo></enableOptions>",
                                   package="meeting"))
    result = subprocess.run([sys.executable, "-m", "proxy_addon.cli", "check", str(target)], cwd=REPO,
                            capture_output=True, timeout=120, check=False)
    out = result.stdout.decode()
    assert result.returncode == 1, result.stderr
    _no_control_characters(out)
    findings = [line for line in out.splitlines() if not line.startswith(("Found ", "[*] "))]
    assert findings and all(TEXT_LINE.match(line) and line.startswith(str(tmp_path)) for line in findings)


def test_check_of_cdata_quoted_in_wx001_prints_no_forged_line(tmp_path):
    target = tmp_path / "cdata.xml"
    target.write_bytes(b"<a><![CDATA[x\nWX999 [error] forged\x1b[2J")
    result = subprocess.run([sys.executable, "-m", "proxy_addon.cli", "check", str(target)], cwd=REPO,
                            capture_output=True, timeout=120, check=False)
    out = result.stdout.decode()
    _no_control_characters(out)
    lines = out.splitlines()
    assert len(lines) == 2 and TEXT_LINE.match(lines[0]) and lines[1] == "Found 1 finding."
