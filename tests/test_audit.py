"""`webex-xml-lint audit` and `inventory` as real processes, on a mixed capture."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest

from proxy_addon.audit.store import open_store

from .audit_support import SECRETS, mixed_capture, pg_text_dump, postgres_url  # noqa: F401 (fixture)
from .builders import REPO

CLI = [sys.executable, "-m", "proxy_addon.cli"]
# 2 .xml files; 3 HAR entries with responses; flow 0 with its response, flow 1 without.
MESSAGES, REQUESTS = 11, 7


def audit(*args: str, cwd=None) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([*CLI, "audit", *args], capture_output=True, text=True, cwd=cwd or REPO, env=env,
                          timeout=120)


@pytest.fixture
def capture(tmp_path):
    folder = mixed_capture(tmp_path / "capture")
    (folder / "cut.har").write_text('{"log": {"entries": [{"startedDateTime": "2024-05-0')
    return folder


def rows(db, sql):
    with sqlite3.connect(db) as connection:
        return connection.execute(sql).fetchall()


def test_audit_fills_the_store_reports_bad_inputs_and_goes_on(capture, tmp_path):
    db, report = tmp_path / "audit.sqlite", tmp_path / "report.html"
    done = audit(str(capture), "--db", str(db), "--report", str(report), "--ci-site", "acme",
                 "--site-id", "5941234567=acme", "--jobs", "2")
    assert done.returncode == 1, done.stderr
    assert f"webex-xml-lint: error: {capture / 'cut.har'}: invalid or truncated JSON at line 1 column" in done.stderr
    assert f"audited {MESSAGES} messages from 5 files" in done.stderr
    assert rows(db, "SELECT COUNT(*), SUM(direction = 'request') FROM messages") == [(MESSAGES, REQUESTS)]
    assert report.read_text().startswith("<!DOCTYPE html>")
    # The untyped response in the HAR took its request's operation, site and client.
    answered = rows(db, "SELECT operation, site, client_address, user_agent, result FROM messages "
                        "WHERE source LIKE '%devtools.har' AND locator = 'entry 0' AND direction = 'response'")
    assert answered == [("SetUser", "acme", "10.0.0.5", "LegacyCRM/1.0", "FAILURE")]
    legacy = rows(db, "SELECT DISTINCT m.client_address, m.user_agent FROM findings f JOIN messages m "
                      "ON m.key = f.message_key WHERE f.rule = 'WX101'")
    assert sorted(legacy, key=str) == sorted([(None, None), ("10.0.0.5", "LegacyCRM/1.0")], key=str)
    ignored = rows(db, "SELECT DISTINCT f.element FROM findings f WHERE f.rule = 'WX201' ORDER BY 1")
    assert ignored == [("email",), ("timeZone",)]


def test_rerunning_the_audit_does_not_double_count(capture, tmp_path):
    db = tmp_path / "audit.sqlite"
    first = audit(str(capture), "--db", str(db), "--ci-site", "acme", "--jobs", "2")
    counts = rows(db, "SELECT (SELECT COUNT(*) FROM messages), (SELECT COUNT(*) FROM findings), "
                      "(SELECT COUNT(*) FROM input_errors)")
    second = audit(str(capture), "--db", str(db), "--ci-site", "acme", "--jobs", "1")
    assert first.returncode == second.returncode == 1
    assert rows(db, "SELECT (SELECT COUNT(*) FROM messages), (SELECT COUNT(*) FROM findings), "
                    "(SELECT COUNT(*) FROM input_errors)") == counts
    assert counts[0][0] == MESSAGES and counts[0][1] > 0 and counts[0][2] == 1


def test_one_process_and_two_give_the_same_inventory(capture, tmp_path):
    query = "SELECT source, locator, direction, operation, site, rule, line FROM messages LEFT JOIN findings " \
            "ON key = message_key ORDER BY 1, 2, 3, 6, 7"
    audit(str(capture), "--db", str(tmp_path / "one.sqlite"), "--jobs", "1")
    audit(str(capture), "--db", str(tmp_path / "two.sqlite"), "--jobs", "2")
    assert rows(tmp_path / "one.sqlite", query) == rows(tmp_path / "two.sqlite", query)


def test_clean_inputs_exit_zero(tmp_path):
    folder = mixed_capture(tmp_path / "capture")
    done = audit(str(folder), "--db", str(tmp_path / "a.sqlite"))
    assert done.returncode == 0, done.stderr
    assert "error" not in done.stderr


def test_usage_errors_exit_two(tmp_path):
    bad_db = audit(str(tmp_path), "--db", str(tmp_path))
    assert bad_db.returncode == 2 and "is a folder" in bad_db.stderr
    bad_version = audit(str(tmp_path), "--db", str(tmp_path / "a.sqlite"), "--api-version", "banana")
    assert bad_version.returncode == 2 and "banana" in bad_version.stderr


def test_inventory_prints_the_summary(capture, tmp_path):
    db = tmp_path / "audit.sqlite"
    audit(str(capture), "--db", str(db), "--ci-site", "acme")
    shown = subprocess.run([*CLI, "inventory", "--db", str(db)], capture_output=True, text=True, cwd=REPO,
                           env={**os.environ, "COLUMNS": "200"}, timeout=60)
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    assert f"{MESSAGES} messages ({REQUESTS} requests, {MESSAGES - REQUESTS} responses)" in out
    for expected in ("Migration checklist", "WX101 deprecated-site-id", "10.0.0.5 · LegacyCRM/1.0", "<timeZone>",
                     "Inputs that could not be read", "cut.har"):
        assert expected in out
    missing = subprocess.run([*CLI, "inventory", "--db", str(tmp_path / "none.sqlite")], capture_output=True,
                             text=True, cwd=REPO, timeout=60)
    assert missing.returncode == 2 and "no such store" in missing.stderr


def scan(blob: bytes) -> list[str]:
    return [secret for secret in SECRETS if secret.encode() in blob]


def test_no_secret_in_the_sqlite_store_or_the_report(capture, tmp_path):
    db, report = tmp_path / "audit.sqlite", tmp_path / "report.html"
    inputs = b"".join(p.read_bytes() for p in capture.rglob("*") if p.is_file())
    assert len(scan(inputs)) == len(SECRETS), "the inputs really carry every secret"
    audit(str(capture), "--db", str(db), "--report", str(report), "--ci-site", "acme")
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("audit.sqlite*"))
    assert stored and scan(stored) == []
    assert scan(report.read_bytes()) == []


@pytest.mark.postgres
def test_no_secret_in_the_postgresql_store(capture, tmp_path, postgres_url):  # noqa: F811
    done = audit(str(capture), "--db", postgres_url, "--ci-site", "acme", "--report", str(tmp_path / "r.html"))
    assert done.returncode == 1, done.stderr
    password = postgres_url.split(":")[2].split("@")[0]
    assert password not in done.stderr + done.stdout, "the DSN password is never printed"
    with open_store(postgres_url) as store:
        assert store.summary()["messages"] == MESSAGES
    dump = pg_text_dump(postgres_url)
    assert "SetUser" in dump and scan(dump.encode()) == []
    assert scan((tmp_path / "r.html").read_bytes()) == []


def test_inventory_piped_at_80_columns_cuts_no_name(capture, tmp_path):
    """`webex-xml-lint inventory | less` in an 80-column terminal: the output is not a terminal, so
    every operation, rule and client name is whole (issue 23: "CreateEve…")."""
    db = tmp_path / "audit.sqlite"
    audit(str(capture), "--db", str(db), "--ci-site", "acme")
    shown = subprocess.run([*CLI, "inventory", "--db", str(db)], capture_output=True, text=True, cwd=REPO,
                           env={**os.environ, "COLUMNS": "80"}, timeout=60)
    assert shown.returncode == 0, shown.stderr
    assert "…" not in shown.stdout
    operations = {row[0] for row in rows(db, "SELECT DISTINCT m.operation FROM findings f JOIN messages m "
                                             "ON m.key = f.message_key WHERE m.operation IS NOT NULL")}
    assert operations and all(operation in shown.stdout for operation in operations)
    assert max(len(line) for line in shown.stdout.splitlines()) > 80  # it needed more than 80 columns
