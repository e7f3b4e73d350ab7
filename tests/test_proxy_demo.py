"""`make demo` runs `python examples/demo.py`: real simulator, real mitmdump, the examples/ traffic."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parent.parent


# The demo as `make demo` runs it, in a Python where `requests` cannot be imported: it must not need it.
WITHOUT_REQUESTS = ("import runpy, sys; sys.modules['requests'] = None; sys.argv = sys.argv[1:]; "
                    "runpy.run_path(sys.argv[0], run_name='__main__')")


def test_demo_sends_the_examples_and_summarises_findings(tmp_path):
    result = subprocess.run([sys.executable, "-c", WITHOUT_REQUESTS, str(REPO / "examples" / "demo.py"),
                             "--out-dir", str(tmp_path)], cwd=REPO, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    examples = sorted(p.name for p in (REPO / "examples").glob("*.xml"))
    assert len(examples) >= 10
    for name in examples:
        assert name in out
    assert "06-create-user-ci-site.xml                   CreateUser         FAILURE 030098   " \
           "[030098 — predicted by WX202 on this request]" in out
    for rule in ("WX101", "WX201", "WX202", "WX301", "WX401", "WX403", "WX501", "WX601"):
        assert f"  {rule} " in out, rule
    assert "site acme learned as CI from GetSiteType (siteType 1)" in out
    assert "site globex learned as CI from a 030098 failure" in out
    assert "Safe-fixable findings left in what the simulator received: 0" in out
    assert "Simulator and proxy stopped." in out
    # What it leaves behind, and says where: the logs, the report (built with `report`), then what to try next.
    assert f"Findings logs (one JSON line per event): {tmp_path / 'findings.jsonl'}, " in out
    assert f"HTML report of the first pass: {tmp_path / 'report.html'}  (webex-xml-lint report --db " in out
    last = out.rstrip().splitlines()[-1]
    assert last.startswith("Next: put the proxy in front of your own site, `webex-xml-lint proxy --mode reverse:")
    report = (tmp_path / "report.html").read_text(encoding="utf-8")
    for seen in ("CreateMeeting", "WX101", "WX202", "globex"):
        assert seen in report, seen
    log = (tmp_path / "findings.jsonl").read_text()
    for secret in ("P@ssword1234", "Gl0bex-admin-pw", "YWM3MTBlN2QtMDNlZi00NThiLWJhYTItYTEwNzZhNzhmOWZjN2I5YTABQRYRRRRRRRz"):
        assert secret not in log
        assert secret not in report
    assert (tmp_path / "findings-rewrite.jsonl").read_text().count('"event":"rewrite"') == 2


def test_the_demo_keeps_its_output_in_a_folder_git_ignores():
    result = subprocess.run([sys.executable, str(REPO / "examples" / "demo.py"), "--help"], cwd=REPO,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "artifacts/demo" in result.stdout
    ignored = subprocess.run(["git", "check-ignore", "-q", "artifacts/demo/report.html"], cwd=REPO)
    assert ignored.returncode == 0  # kept out of git
