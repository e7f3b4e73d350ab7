"""Issue 12, odd but legal inputs: a HAR entry's impossible time costs that entry only, any codec a
document may name gives a finding (never a traceback), and WX001 quotes nothing of a credential."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

from tests.audit_support import day, har_entry, set_user, untyped_response, write_har
from tests.builders import REPO, request_xml

CLI = [sys.executable, "-m", "proxy_addon.cli"]

BAD_TIMES = {
    "time 1e300": {"time": 1e300},
    "time Infinity": {"time": float("inf")},
    "time NaN": {"time": float("nan")},
    "time 10**400": {"time": 10**400},
    "startedDateTime in year 10000 (UTC)": {"startedDateTime": "9999-12-31T23:59:59-14:00"},
    "startedDateTime in year 1 before UTC": {"startedDateTime": "0001-01-01T00:00:00+14:00"},
}


def _har_with_bad_times(folder):
    entries = [har_entry(set_user(), untyped_response(), when=day(1))]
    for fields in BAD_TIMES.values():
        entry = har_entry(set_user(), untyped_response(), when=day(2))
        entry.update(fields)
        entries.append(entry)
    entries.append(har_entry(set_user(), untyped_response(), when=day(3)))
    return write_har(folder / "times.har", entries)


def test_audit_reports_an_impossible_har_time_for_its_entry_and_goes_on(tmp_path):
    capture = _har_with_bad_times(tmp_path)
    db = tmp_path / "audit.sqlite"
    done = subprocess.run([*CLI, "audit", str(capture), "--db", str(db)], capture_output=True, text=True,
                          cwd=REPO, timeout=120, check=False)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode != 1 or "error" in done.stderr.lower(), done.stderr
    for number in range(1, len(BAD_TIMES) + 1):
        assert f"entry {number}" in done.stderr, done.stderr
    assert done.stderr.count("not a time that can be written as a UTC date") == len(BAD_TIMES), done.stderr
    with sqlite3.connect(db) as connection:
        locators = sorted(row[0] for row in connection.execute("SELECT DISTINCT locator FROM messages"))
    assert locators == ["entry 0", f"entry {len(BAD_TIMES) + 1}"]


def test_check_reports_an_impossible_har_time_for_its_entry_and_goes_on(tmp_path):
    capture = _har_with_bad_times(tmp_path)
    done = subprocess.run([*CLI, "check", str(capture)], capture_output=True, text=True, cwd=REPO, timeout=120, check=False)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stderr.count("not a time that can be written as a UTC date") == len(BAD_TIMES), done.stderr
    assert f"#entry {len(BAD_TIMES) + 1} response" in done.stdout, done.stdout


# Codecs Python knows that are no character set; each used to be a traceback somewhere (idna in
# check and audit; --fix and --diff on any idna document) or a silent misreading (unicode_escape).
NOT_CHARACTER_SETS = ("idna", "IDNA", "punycode", "unicode_escape", "raw_unicode_escape", "undefined", "charmap",
                      "rot13", "rot_13", "base64", "base64_codec", "hex", "zlib", "bz2", "uu", "quopri")


def _codec_names() -> list[str]:
    import encodings.aliases

    return sorted(set(encodings.aliases.aliases.values()) | set(NOT_CHARACTER_SETS) | {"utf_7", "palmos", "mbcs"})


def _document(name: str, non_ascii: bool) -> bytes:
    user = "j\xc3\xa9r\xc3\xb4me" if non_ascii else "jdoe"
    return (f'<?xml version="1.0" encoding="{name}"?>\n'
            '<serv:message xmlns:serv="http://www.webex.com/schemas/2002/06/service" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><header><securityContext>'
            "<siteID>5941234567</siteID><webExID>admin</webExID><password>Codec-S3cret-77</password>"
            '</securityContext></header><body><bodyContent xsi:type="java:com.webex.service.binding.user.GetUser">'
            "<webExId>USER</webExId></bodyContent></body></serv:message>\n").encode("ascii").replace(
        b"USER", user.encode("latin-1"))


def _codec_folder(folder):
    folder.mkdir()
    for name in _codec_names():
        for non_ascii in (False, True):
            (folder / f"{name}-{'8bit' if non_ascii else 'ascii'}.xml").write_bytes(_document(name, non_ascii))
    (folder / "UTF-8.xml").write_bytes(_document("UTF-8", True))  # the name libxml2 knows: it gets fixed
    return folder


def test_every_codec_python_knows_gives_findings_not_a_traceback(linter):
    for name in _codec_names():
        for non_ascii in (False, True):
            result = linter.lint(_document(name, non_ascii))  # raised UnicodeError for idna
            if name in NOT_CHARACTER_SETS:
                assert [f.rule for f in result.findings] == ["WX005"], (name, result.findings)
                assert "not a character set" in result.findings[0].message


def test_check_fix_diff_and_audit_survive_every_codec(tmp_path):
    folder = _codec_folder(tmp_path / "codecs")
    runs = {
        "check --diff": [*CLI, "check", "--diff", "--site-id", "5941234567=acme", str(folder)],
        "check --fix": [*CLI, "check", "--fix", "--site-id", "5941234567=acme", str(folder)],
        "check --format json": [*CLI, "check", "--format", "json", str(folder)],
        "audit": [*CLI, "audit", str(folder), "--db", str(tmp_path / "audit.sqlite")],
    }
    for what, command in runs.items():
        done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=300, check=False)
        assert "Traceback" not in done.stderr and "internal error" not in done.stderr, (what, done.stderr[-2000:])
        assert done.returncode in (0, 1), (what, done.returncode, done.stderr[-2000:])
        assert "Codec-S3cret-77" not in done.stdout + done.stderr, what
    for name in ("idna", "base64", "unicode_escape"):
        assert (folder / f"{name}-8bit.xml").read_bytes() == _document(name, True)  # nothing to fix: not read
    fixed = (folder / "UTF-8.xml").read_bytes()
    assert b"<siteName>acme</siteName>" in fixed and b"siteID" not in fixed


# Ways to make libxml2 quote a piece of a credential element in its error. Zq9Kx and Wv8Jy stand
# for pieces of a password or ticket.
QUOTING_CREDENTIALS = {
    "undefined entity": "<password>Ent&EntZq9Kx;x</password>",
    "unterminated CDATA": "<password><![CDATA[Zq9KxWv8Jy and more</password>",
    "tag mismatch": "<password>a</Zq9Kx></password>",
    "attribute without value": "<password Zq9Kx>v</password>",
    "bad character reference": "<password>x&#xZq9Kx;</password>",
    "entity without semicolon": "<sessionTicket>&Zq9Kx Wv8Jy</sessionTicket>",
    "bad start tag": "<password><Zq9Kx</password>",
    "junk in end tag": "<password>x</password Zq9Kx>",
    "undeclared prefix": "<password><Zq9Kx:a/>Wv8Jy</password>",
    "entity in an attribute": '<password value="&Zq9Kx;">v</password>',
    "duplicate attribute": '<password Zq9Kx="1" Zq9Kx="2">v</password>',
    "unclosed, message cut short": "<password>Zq9Kx&Wv8Jy;",
}
MARKER_PIECES = {marker[i:i + 3] for marker in ("Zq9Kx", "Wv8Jy") for i in range(3)}


def _quoting(security: str) -> bytes:
    return request_xml("GetUser", "<webExId>jdoe</webExId>", security="<siteName>acme</siteName>" + security)


def _pieces(text: str) -> set[str]:
    return {piece for piece in MARKER_PIECES if piece in text}


def test_parser_errors_quote_nothing_from_inside_a_credential(linter):
    for case, security in QUOTING_CREDENTIALS.items():
        findings = linter.lint(_quoting(security)).findings
        assert {f.rule for f in findings} & {"WX001", "WX002"}, (case, findings)
        for finding in findings:
            assert _pieces(finding.message) == set(), (case, finding.message)
    # Outside a credential element the parser's words are quoted as before.
    outside = linter.lint(_quoting("<password>x</password><Zq9Kx\x01/>")).findings
    assert any("Zq9Kx" in f.message for f in outside if f.rule == "WX001"), outside
    entity = linter.lint(_quoting("<password>Ent&EntZq9Kx;x</password>")).findings
    assert [f.message for f in entity] == ["not well-formed XML: Entity '***' not defined"]


def test_check_and_the_findings_log_quote_nothing_from_inside_a_credential(tmp_path, addon_harness):
    folder = tmp_path / "quoting"
    folder.mkdir()
    for number, security in enumerate(QUOTING_CREDENTIALS.values()):
        (folder / f"case-{number}.xml").write_bytes(_quoting(security))
        addon_harness.request(_quoting(security))
    done = subprocess.run([*CLI, "check", "--format", "json", str(folder)], capture_output=True, text=True,
                          cwd=REPO, timeout=120, check=False)
    assert done.returncode == 1, done.stderr
    assert _pieces(done.stdout + done.stderr) == set()
    logged = addon_harness.findings()
    assert len({event["flow_id"] for event in logged}) == len(QUOTING_CREDENTIALS), logged
    assert _pieces(addon_harness.log_path.read_text(encoding="utf-8")) == set()
