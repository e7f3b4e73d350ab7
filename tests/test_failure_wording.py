"""WX501 says whether a finding on the request predicted the failure the same way everywhere: the
proxy's words ("predicted by WX202 on this request" / "no finding on this request predicted it"), never
a claim from the catalog about a finding that was not raised. `check` on a HAR export, as a user runs it."""

from __future__ import annotations

import subprocess
import sys

from tests.audit_support import day, har_entry, write_har
from tests.builders import request_xml, response_xml
from tests.proxy_support import REPO

CREATE_USER = request_xml("CreateUser", "<firstName>Jane</firstName><webExId>jane@acme.com</webExId>")
FAILURE_030098 = response_xml(None, result="FAILURE", reason="User management is not allowed on unified site",
                              exception_id="030098")


def check(*arguments: str) -> str:
    result = subprocess.run([sys.executable, "-m", "proxy_addon.cli", "check", *arguments], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr
    return result.stdout


def test_offline_wx501_without_a_predicting_finding_says_none_predicted_it(tmp_path):
    har = write_har(tmp_path / "capture.har", [har_entry(CREATE_USER, FAILURE_030098, when=day(1))])
    out = check(str(har))  # acme not known as CI: no WX202 on the request
    assert "WX202" not in out
    [wx501] = [line for line in out.splitlines() if " WX501 " in line]
    assert "FAILURE 030098" in wx501 and "predicted" not in wx501
    assert "  = note: 030098 — no finding on this request predicted it" in out


def test_offline_wx501_with_the_predicting_finding_names_it(tmp_path):
    har = write_har(tmp_path / "capture.har", [har_entry(CREATE_USER, FAILURE_030098, when=day(1))])
    out = check(str(har), "--ci-site", "acme")
    assert " WX202 [error]" in out
    assert "  = note: 030098 — predicted by WX202 on this request" in out
    assert "(predicted by" not in out


def test_a_lone_failure_answer_claims_no_prediction(tmp_path):
    answer = tmp_path / "answer.xml"
    answer.write_bytes(FAILURE_030098)
    out = check(str(answer))
    assert " WX501 [warning] FAILURE 030098" in out and "predicted by" not in out
