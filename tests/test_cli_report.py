"""`webex-xml-lint report --db DB --output FILE`, from a store the live proxy filled; `audit --report` checked first."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from proxy_addon.simulator.server import WebexSimulator
from tests.processes import stop_process
from tests.proxy_support import REPO
from tests.test_proxy_console import CREATE_MEETING, CREATE_USER, PASSWORD
from tests.test_proxy_e2e import post_all


def cli(*arguments: str, cwd=REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "proxy_addon.cli", *arguments], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


@pytest.fixture
def simulator() -> Iterator[WebexSimulator]:
    with WebexSimulator(ci_sites=["acme"], record=True) as sim:
        yield sim


@pytest.mark.e2e
def test_report_from_the_store_the_proxy_filled(simulator, start_proxy, tmp_path):
    store = tmp_path / "proxy.sqlite"
    proxy = start_proxy("--db", str(store), mode=f"reverse:{simulator.base_url}")
    post_all(proxy.port, [CREATE_MEETING, CREATE_USER])
    proxy.settle()
    stop_process(proxy.process)  # the worker writes the store by shutdown at the latest

    report = tmp_path / "out" / "proxy-report.html"
    report.parent.mkdir()
    result = cli("report", "--db", str(store), "--output", str(report))
    assert result.returncode == 0, result.stderr
    assert f"written to {report}" in result.stdout
    html = report.read_text(encoding="utf-8")
    for seen in ("CreateMeeting", "CreateUser", "WX101", "WX301", "WX501", "acme"):
        assert seen in html, seen
    assert PASSWORD not in html


def test_report_names_a_missing_store_and_an_unwritable_output(tmp_path):
    missing = cli("report", "--db", str(tmp_path / "none.sqlite"), "--output", str(tmp_path / "r.html"))
    assert missing.returncode == 2
    assert "none.sqlite: no such store" in missing.stderr and "--db" in missing.stderr
    assert not (tmp_path / "none.sqlite").exists() and not (tmp_path / "r.html").exists()
    bad_folder = cli("report", "--db", str(tmp_path / "none.sqlite"), "--output", str(tmp_path / "no" / "r.html"))
    assert bad_folder.returncode == 2 and "--output" in bad_folder.stderr and "does not exist" in bad_folder.stderr


def test_audit_checks_its_report_path_before_auditing(tmp_path):
    store = tmp_path / "audit.sqlite"
    result = cli("audit", str(REPO / "examples"), "--db", str(store), "--report", str(tmp_path / "missing" / "r.html"))
    assert result.returncode == 2
    assert "--report" in result.stderr and "does not exist" in result.stderr
    assert "audited" not in result.stdout + result.stderr
    assert not store.exists()  # nothing stored: the bad path was found first
    folder = cli("audit", str(REPO / "examples"), "--db", str(store), "--report", str(tmp_path))
    assert folder.returncode == 2 and "is a folder" in folder.stderr and not store.exists()
