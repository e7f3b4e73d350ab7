"""Issue 12, odd but legal inputs: a HAR entry's impossible time costs that entry only, any codec a
document may name gives a finding (never a traceback), and WX001 quotes nothing of a credential."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

from tests.audit_support import day, har_entry, set_user, untyped_response, write_har
from tests.builders import REPO

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
