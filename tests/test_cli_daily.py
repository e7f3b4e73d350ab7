"""Issue 23 (daily use), as a user meets it: exit statuses in CI, hooks, annotations, messages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .builders import REPO, request_xml

MEETINGS = REPO / "examples" / "12-lst-summary-meeting-clean.xml"  # one WX601 (info) only


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "proxy_addon.cli", *args], capture_output=True, text=True,
                          cwd=cwd or REPO, timeout=60)


def test_info_findings_are_shown_but_do_not_fail_by_default(tmp_path):
    result = cli("check", str(MEETINGS), cwd=tmp_path)
    assert "WX601 [info]" in result.stdout
    assert result.returncode == 0


@pytest.mark.parametrize(("level", "status"), [("info", 1), ("warning", 0), ("error", 0)])
def test_fail_on_flag(tmp_path, level, status):
    assert cli("check", "--fail-on", level, str(MEETINGS), cwd=tmp_path).returncode == status


def test_fail_on_error_lets_warnings_pass_and_the_flag_beats_the_file(tmp_path):
    (tmp_path / "meeting.xml").write_bytes(request_xml(
        "CreateMeeting", "<enableOptions>\n  <HQvideo>true</HQvideo>\n</enableOptions>", package="meeting"))
    assert cli("check", str(tmp_path), cwd=tmp_path).returncode == 1  # WX301 is a warning
    (tmp_path / "webex-xml-lint.toml").write_text('fail-on = "error"\n')
    assert cli("check", str(tmp_path), cwd=tmp_path).returncode == 0
    assert cli("check", "--fail-on", "warning", str(tmp_path), cwd=tmp_path).returncode == 1


def test_bad_fail_on_names_the_key(tmp_path):
    (tmp_path / "webex-xml-lint.toml").write_text('fail-on = "never"\n')
    result = cli("check", str(MEETINGS), cwd=tmp_path)
    assert result.returncode == 2
    assert "fail-on = 'never' is not error, warning or info" in result.stderr


def test_force_exclude_applies_the_excludes_and_the_message_sniff_to_named_files(tmp_path):
    (tmp_path / "pom.xml").write_text("<project><modelVersion>4.0.0</modelVersion></project>\n")
    (tmp_path / "legacy").mkdir()
    (tmp_path / "legacy" / "meeting.xml").write_bytes(MEETINGS.read_bytes())
    (tmp_path / "webex-xml-lint.toml").write_text('extend-exclude = ["legacy/"]\nfail-on = "info"\n')
    named = ["pom.xml", "legacy/meeting.xml"]
    plain = cli("check", *named, cwd=tmp_path)
    assert plain.returncode == 1 and "WX003" in plain.stdout and "WX601" in plain.stdout
    forced = cli("check", "--force-exclude", *named, cwd=tmp_path)
    assert (forced.returncode, forced.stdout, forced.stderr) == (0, "", "")
    (tmp_path / "webex-xml-lint.toml").write_text('force-exclude = true\nfail-on = "info"\n')
    configured = cli("check", *named, cwd=tmp_path)
    assert configured.returncode == 1 and "WX601" in configured.stdout and "WX003" not in configured.stdout
