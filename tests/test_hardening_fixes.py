"""Hardening of what the tool writes back (issue 12): `--fix` files, `--diff` and `--rewrite` bodies.

`--fix` never loses data (atomic writes, symlinks out of the tree skipped, a file edited meanwhile
skipped), `--diff` never shows a credential, and values from the configuration are escaped where the
XML is built.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

from proxy_addon.cli import main as cli_main
from proxy_addon.core.redaction import redact
from proxy_addon.lint.engine import Linter
from proxy_addon.simulator.server import WebexSimulator
from tests.builders import REPO, request_xml
from tests.test_proxy_e2e import post_all

FIXABLE = request_xml("CreateMeeting", "<enableOptions>\n<HQvideo>true</HQvideo>\n</enableOptions>", package="meeting")
FIXED = FIXABLE.replace(b"<HQvideo>true</HQvideo>\n", b"")
SITE_ID_SECURITY = "<siteID>5941234567</siteID><webExID>admin</webExID><password>S3cret!pw</password>"
SITE_ID_REQUEST = request_xml("GetUser", "<webExId>jane</webExId>", security=SITE_ID_SECURITY)


def _site_name_of(data: bytes) -> str | None:
    root = etree.fromstring(data)  # raises on a non-well-formed file
    return root.findtext(".//securityContext/siteName")


# -- --site-id values are escaped where the XML is built --------------------------------------------

def test_fix_with_a_site_name_needing_escapes_writes_well_formed_xml(tmp_path, capsys):
    target = tmp_path / "get-user.xml"
    target.write_bytes(SITE_ID_REQUEST)
    cli_main(["check", "--fix", "--site-id", "5941234567=R&D <West>", str(target)])
    assert _site_name_of(target.read_bytes()) == "R&D <West>"


@pytest.mark.e2e
def test_rewrite_with_a_site_name_needing_escapes_sends_well_formed_xml(start_proxy):
    with WebexSimulator(record=True) as simulator:
        proxy = start_proxy("--rewrite", "--site-id", "5941234567=R&D", mode=f"reverse:{simulator.base_url}")
        post_all(proxy.port, [SITE_ID_REQUEST])
        (received,) = simulator.received
    assert received.body != SITE_ID_REQUEST  # rewritten
    assert _site_name_of(received.body) == "R&D"


# -- --fix never loses data ----------------------------------------------------------------------

def _check_fix(*paths: Path, limit_file_size: int | None = None) -> subprocess.CompletedProcess:
    """`check --fix` as a real process; with `limit_file_size`, no file it writes may grow past that
    many bytes (RLIMIT_FSIZE: a full disk that root cannot get around)."""

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failed write, not a killed process
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_file_size, limit_file_size))

    # --ignore WX601: the Meetings API end-of-life notice has no fix; these tests are about writing fixes.
    return subprocess.run([sys.executable, "-m", "proxy_addon.cli", "check", "--fix", "--ignore", "WX601",
                           *map(str, paths)],
                          cwd=REPO, capture_output=True, timeout=120, check=False,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
                          preexec_fn=limit if limit_file_size is not None else None)


def test_fix_writes_the_fixed_file_keeping_its_mode_and_leaving_no_temporary_file(tmp_path):
    target = tmp_path / "meeting.xml"
    target.write_bytes(FIXABLE)
    target.chmod(0o640)
    result = _check_fix(tmp_path)
    assert result.returncode == 0, result.stderr
    assert target.read_bytes() == FIXED
    assert target.stat().st_mode & 0o7777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["meeting.xml"]


def test_a_failed_write_leaves_the_original_whole(tmp_path):
    target = tmp_path / "meeting.xml"
    target.write_bytes(FIXABLE)
    result = _check_fix(target, limit_file_size=100)  # the fixed file is several hundred bytes
    assert result.returncode == 2
    stderr = result.stderr.decode()
    assert "cannot write the fixed file" in stderr and "Traceback" not in stderr
    assert target.read_bytes() == FIXABLE
    assert [p.name for p in tmp_path.iterdir()] == ["meeting.xml"]


def test_fix_on_a_folder_never_follows_a_symlink_out_of_it(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / "victim.xml"
    victim.write_bytes(FIXABLE)
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "link.xml").symlink_to(victim)
    (tree / "own.xml").write_bytes(FIXABLE)
    result = _check_fix(tree)
    assert victim.read_bytes() == FIXABLE
    assert (tree / "link.xml").is_symlink()
    assert (tree / "own.xml").read_bytes() == FIXED  # the rest of the folder is fixed
    stderr = result.stderr.decode()
    assert result.returncode == 2 and "link.xml: symlink to" in stderr and "not followed" in stderr


def test_a_symlink_inside_the_folder_is_fixed_through_and_stays_a_symlink(tmp_path):
    tree = tmp_path / "tree"
    (tree / "real").mkdir(parents=True)
    (tree / "real" / "meeting.xml").write_bytes(FIXABLE)
    (tree / "alias.xml").symlink_to(tree / "real" / "meeting.xml")
    result = _check_fix(tree)
    assert result.returncode == 0, result.stderr
    assert (tree / "alias.xml").is_symlink() and (tree / "real" / "meeting.xml").read_bytes() == FIXED


def test_an_edit_made_while_linting_is_kept(tmp_path, monkeypatch, capsys):
    target = tmp_path / "meeting.xml"
    target.write_bytes(FIXABLE)
    edited = FIXABLE.replace(b"<confName>", b"<confName>edited ") if b"<confName>" in FIXABLE else FIXABLE + b"\n"
    lint = Linter.lint

    def lint_while_an_editor_saves(self, data, **kwargs):
        result = lint(self, data, **kwargs)
        if kwargs.get("path") == str(target) and target.read_bytes() == FIXABLE:
            target.write_bytes(edited)  # the user saves the file while check is linting it
        return result

    monkeypatch.setattr(Linter, "lint", lint_while_an_editor_saves)
    assert cli_main(["check", "--fix", str(target)]) == 2
    assert target.read_bytes() == edited
    assert "changed since it was linted" in capsys.readouterr().err


# -- --diff shows no credential, and only credentials are masked ----------------------------------

ATTRIBUTE_SECRET = "Attr5ecret-in-value"
FLAGS = "<forceChangePassword>FALSE</forceChangePassword>\n<enforcePassword>true</enforcePassword>"


def _diff_of(tmp_path: Path, message: bytes) -> str:
    target = tmp_path / "message.xml"
    target.write_bytes(message)
    result = subprocess.run([sys.executable, "-m", "proxy_addon.cli", "check", "--diff", str(target)],
                            cwd=REPO, capture_output=True, timeout=120, check=False)
    assert target.read_bytes() == message
    return result.stdout.decode()


def test_diff_masks_a_secret_held_in_an_attribute_of_a_self_closing_credential(tmp_path):
    security = (f'<siteName>acme</siteName><webExID>admin</webExID>\n<siteID>42</siteID>\n'
                f'<password value="{ATTRIBUTE_SECRET}"/>\n<sessionTicket token=\'{ATTRIBUTE_SECRET}2\'/>')
    diff = _diff_of(tmp_path, request_xml("GetUser", "<webExId>jane</webExId>", security=security))
    assert "-<siteID>42</siteID>" in diff
    assert ATTRIBUTE_SECRET not in diff
    # The credential lines stay out of the context (masked, they would not match the file).
    assert "<password" not in diff and "<sessionTicket" not in diff


def test_diff_keeps_boolean_settings_about_passwords_and_masks_the_password(tmp_path):
    diff = _diff_of(tmp_path, request_xml("CreateMeeting", f"{FLAGS}\n<enableOptions>\n<HQvideo>true</HQvideo>\n"
                                          "</enableOptions>\n<accessControl><meetingPassword>Mtg-Pass-42"
                                          "</meetingPassword></accessControl>", package="meeting"))
    assert "-<HQvideo>true</HQvideo>" in diff
    assert " <forceChangePassword>FALSE</forceChangePassword>" in diff
    assert " <enforcePassword>true</enforcePassword>" in diff
    assert "Mtg-Pass-42" not in diff and "<meetingPassword>" not in diff  # a credential line is never context


def test_a_self_closing_credential_is_not_read_as_an_open_one():
    text = "<hostKey/>\n<confName>Standup</confName>\n<hostKey>123456</hostKey>"
    assert redact(text) == "<hostKey/>\n<confName>Standup</confName>\n<hostKey>***</hostKey>"
    assert redact('<password value="x1y2z3" xmlns:a="urn:a"/><b>kept</b>') == '<password value="***" xmlns:a="urn:a"/><b>kept</b>'
