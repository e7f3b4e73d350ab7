"""`make demo` runs `python examples/demo.py`: real simulator, real mitmdump, the examples/ traffic."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parent.parent


def test_demo_sends_the_examples_and_summarises_findings(tmp_path):
    result = subprocess.run([sys.executable, str(REPO / "examples" / "demo.py"), "--log-dir", str(tmp_path)], cwd=REPO,
                            capture_output=True, text=True, timeout=180)
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
    assert out.rstrip().endswith("Simulator and proxy stopped.")
    log = (tmp_path / "findings.jsonl").read_text()
    for secret in ("P@ssword1234", "Gl0bex-admin-pw", "YWM3MTBlN2QtMDNlZi00NThiLWJhYTItYTEwNzZhNzhmOWZjN2I5YTABQRYRRRRRRRz"):
        assert secret not in log
    assert (tmp_path / "findings-rewrite.jsonl").read_text().count('"event":"rewrite"') == 2
