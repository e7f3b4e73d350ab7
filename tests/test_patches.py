"""`check --diff > fixes.patch` applies: every diff the rule fixtures produce goes through a real
`git apply` and a real `patch -p1`, and gives the file `check --fix` writes; no diff shows a credential."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from proxy_addon.cli import main

from .builders import request_xml
from .rule_fixtures import rule_fixtures

FIXTURES = [fixture for fixture in rule_fixtures() if not fixture.message.name.endswith(".har")]
pytestmark = pytest.mark.skipif(shutil.which("git") is None or shutil.which("patch") is None,
                                reason="needs git and patch")


def _run(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _repository(tmp_path, data: bytes):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "message.xml").write_bytes(data)
    return tmp_path / "message.xml"


def _applies(tmp_path, patch: str, tool: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(tool, input=patch.encode("utf-8"), cwd=tmp_path, capture_output=True, timeout=60, check=False)


@pytest.mark.parametrize("fixture", FIXTURES, ids=[fixture.id for fixture in FIXTURES])
def test_every_fixture_diff_applies_with_git_and_patch(fixture, tmp_path, capsys, monkeypatch):
    args = [*fixture.expected().args, "--unsafe-fixes"]
    message = _repository(tmp_path, fixture.data())
    monkeypatch.chdir(tmp_path)
    _code, diff, notes = _run(capsys, "check", "--diff", *args, "message.xml")
    if not diff:
        return  # nothing to fix (or only fixes on credential lines: named in `notes`)
    assert diff.startswith("--- a/message.xml\n+++ b/message.xml\n@@ "), diff
    expected = tmp_path / "expected"
    expected.mkdir()
    (expected / "message.xml").write_bytes(fixture.data())
    _run(capsys, "check", "--fix", *args, str(expected / "message.xml"))
    original = message.read_bytes()
    checked = _applies(tmp_path, diff, ["git", "apply", "--check", "-"])
    assert checked.returncode == 0, (checked.stderr.decode(), diff)
    assert _applies(tmp_path, diff, ["git", "apply", "-"]).returncode == 0
    if "applies it" not in notes:  # every fix was in the diff: the patch gives what --fix writes
        assert message.read_bytes() == (expected / "message.xml").read_bytes()
    message.write_bytes(original)
    patched = _applies(tmp_path, diff, ["patch", "-p1", "--forward", "--no-backup-if-mismatch"])
    assert patched.returncode == 0, (patched.stdout.decode(), diff)


SECRET = "Hunter2-Patch-Pw"


def test_a_one_line_message_without_a_final_newline_gets_a_note_not_a_broken_hunk(tmp_path, capsys, monkeypatch):
    """Its only line holds the password: the fix is named, never shown (a masked hunk cannot apply)."""
    data = request_xml("CreateMeeting", "<enableOptions><HQvideo>true</HQvideo></enableOptions>", package="meeting",
                       security=f"<siteName>acme</siteName><webExID>a</webExID><password>{SECRET}</password>")
    _repository(tmp_path, b" ".join(data.split(b"\n")).rstrip())
    monkeypatch.chdir(tmp_path)
    code, diff, notes = _run(capsys, "check", "--diff", "message.xml")
    assert code == 1 and diff == ""
    assert "message.xml:1: a fix changes a line that holds a credential" in notes and SECRET not in notes


def test_a_last_line_without_a_newline_is_marked_so_the_patch_applies(tmp_path, capsys, monkeypatch):
    one_line = b" ".join(request_xml("CreateMeeting", "<enableOptions></enableOptions>", package="meeting").split(b"\n"))
    head, tail = one_line.rstrip().split(b"</enableOptions>")
    data = head + b"\n<HQvideo>true</HQvideo>\n</enableOptions>" + tail  # the change is by the last line
    message = _repository(tmp_path, data)
    monkeypatch.chdir(tmp_path)
    _code, diff, _notes = _run(capsys, "check", "--diff", "message.xml")
    assert "-<HQvideo>true</HQvideo>\n" in diff and diff.endswith("\n\\ No newline at end of file\n")
    assert _applies(tmp_path, diff, ["git", "apply", "-"]).returncode == 0
    assert message.read_bytes() == data.replace(b"<HQvideo>true</HQvideo>\n", b"")


def test_context_stops_before_a_credential_line_and_the_patch_still_applies(tmp_path, capsys, monkeypatch):
    security = f"<siteName>acme</siteName>\n<webExID>a</webExID>\n<password>{SECRET}</password>"
    data = request_xml("CreateMeeting", "<enableOptions>\n<HQvideo>true</HQvideo>\n</enableOptions>",
                       package="meeting", security=security)
    message = _repository(tmp_path, data)
    monkeypatch.chdir(tmp_path)
    _code, diff, _notes = _run(capsys, "check", "--diff", "message.xml")
    assert SECRET not in diff and "***" not in diff and "-<HQvideo>true</HQvideo>" in diff
    assert _applies(tmp_path, diff, ["patch", "-p1"]).returncode == 0
    assert message.read_bytes() == data.replace(b"<HQvideo>true</HQvideo>\n", b"")
