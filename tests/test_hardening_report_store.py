"""Issue 21, items 15 and 16: `report` and `inventory` read a store with rows they cannot show
(skipped and named), and a SQLite store on a read-only file system."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys

import pytest

from tests.audit_support import day, har_entry, set_user, untyped_response, write_har
from tests.builders import REPO

CLI = [sys.executable, "-m", "proxy_addon.cli"]


def _run(*args, timeout=120):
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=REPO, timeout=timeout, check=False)


@pytest.fixture
def store(tmp_path):
    capture = write_har(tmp_path / "a.har", [har_entry(set_user(), untyped_response(), when=day(n)) for n in (1, 2, 3)])
    db = tmp_path / "store" / "audit.sqlite"
    db.parent.mkdir()
    done = _run("audit", str(capture), "--db", str(db))
    assert done.returncode in (0, 1), done.stderr
    return db


def test_report_and_inventory_skip_and_name_rows_that_are_not_dates_or_times(store, tmp_path):
    with sqlite3.connect(store) as connection:
        keys = [key for (key,) in connection.execute("SELECT key FROM messages ORDER BY time")]
        connection.execute("UPDATE messages SET day = 'not-a-date' WHERE key = ?", (keys[0],))
        connection.execute("UPDATE messages SET time = 1e308 WHERE key = ?", (keys[-1],))
    page = tmp_path / "report.html"
    done = _run("report", "--db", str(store), "-o", str(page))
    assert done.returncode == 0 and "Traceback" not in done.stderr and "internal error" not in done.stderr, done.stderr
    html = page.read_text()
    assert "stored day &#39;not-a-date&#39; is not a date" in html or "stored day 'not-a-date' is not a date" in html
    assert "stored time 1e+308 is not a time" in html
    assert f"message {keys[0].hex()[:16]}" in html and f"message {keys[-1].hex()[:16]}" in html
    listed = _run("inventory", "--db", str(store))
    assert listed.returncode == 0 and "internal error" not in listed.stderr, listed.stderr
    assert "1e+308" in listed.stdout and keys[-1].hex()[:16] in listed.stdout


def test_report_and_inventory_read_a_store_on_a_read_only_file_system(store, tmp_path):
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare(1) to mount a read-only file system")
    folder = store.parent
    page = tmp_path / "report.html"
    python = " ".join(CLI)
    script = (f"mount --bind {folder} {folder} && mount -o remount,bind,ro {folder} || exit 77; "
              f"touch {folder}/probe 2>/dev/null && exit 78; "
              f"{python} report --db {store} -o {page} || exit 1; {python} inventory --db {store} --format json")
    done = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, cwd=REPO,
                          timeout=120, check=False)
    if done.returncode in (77, 78):
        pytest.skip("cannot mount a read-only file system here")
    assert done.returncode == 0, done.stderr
    assert page.read_text().count("acme") and '"messages"' in done.stdout
