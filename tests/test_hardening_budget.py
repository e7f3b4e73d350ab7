"""The lint worker's time budget (issue 21, Medium 3, second half): no message can hold the others.

Python cannot interrupt a regex or a libxml2 parse running in C, so the budget is kept by mitmdump:
a message at the head of the worker's queue past `webexlint_lint_budget` seconds gets the worker
killed; the message is logged as not linted, a rewrite waiting on it goes upstream unchanged at
once, a fresh worker is started and sent every message that came after it.

The slow message is planted with a test-only team rule pack whose pattern backtracks exponentially
on one element's value (a team's own regex is the one thing a pack can still make slow: the
shipped patterns are linear, tests/test_linear_patterns.py). The value is far beyond any budget
(2^60 steps): without the budget the worker never comes back.
"""

from __future__ import annotations

import http.client
import threading
import time
from pathlib import Path

import pytest
from mitmproxy import exceptions

from proxy_addon.mitm import addons as addon_module
from proxy_addon.mitm import backends as proxy_backends
from proxy_addon.simulator.server import SERVICE_PATH, WebexSimulator
from tests.builders import request_xml
from tests.proxy_support import Harness

PASSWORD = "budget-Secret-pw"
SLOW_VALUE = "a" * 60 + "!"  # '^(a|aa)+$' tries every way of splitting the run: never finishes
SLOW_PACK = """\
rules:
  - id: SLOW001
    name: slow-conf-name
    severity: info
    introduced: "test"
    direction: request
    given: $body/metaData/confName
    then:
      function: pattern
      options:
        match: '^(a|aa)+$'
    message: "confName {value!r} is not made of a"
    docs:
      summary: A test rule whose pattern backtracks exponentially.
      why: To plant a message that costs the lint worker far more than its budget.
      example: "<confName>aaa!</confName>"
      fix: None.
      source: "tests/test_hardening_budget.py"
"""
SECURITY = f"<siteID>5941234567</siteID><webExID>admin@acme.com</webExID><password>{PASSWORD}</password>"


def meeting(name: str) -> bytes:
    """A CreateMeeting that WX101 (siteID) and WX301 (HQvideo) report, and --rewrite fixes."""
    return request_xml("CreateMeeting", f"<metaData><confName>{name}</confName></metaData>"
                       "<enableOptions><HQvideo>true</HQvideo></enableOptions>", package="meeting",
                       security=SECURITY)


SLOW = meeting(SLOW_VALUE)


@pytest.fixture
def slow_pack(tmp_path) -> Path:
    path = tmp_path / "slow-pack.yaml"
    path.write_text(SLOW_PACK, encoding="utf-8")
    return path


@pytest.fixture
def proxy(tmp_path, slow_pack):
    chain = addon_module.make_addons()
    from mitmproxy.test import taddons  # noqa: PLC0415

    from mitmproxy.addons import view  # noqa: PLC0415

    # A view shows the flows (mitmweb): the worker's marks and the budget's comment reach them.
    with taddons.context(*chain, view.View()) as tctx:
        log_path = tmp_path / "findings.jsonl"
        tctx.options.update(webexlint_findings_log=str(log_path), webexlint_rule_pack=[str(slow_pack)],
                            webexlint_lint_budget="0.5")
        harness = Harness(tctx, chain, log_path)
        yield harness
        chain[0].done()


def test_the_budget_is_an_option_checked_in_configure(proxy):
    for bad in ("-1", "nan", "inf", "3s", ""):
        with pytest.raises(exceptions.OptionsError, match="webexlint_lint_budget"):
            proxy.set(webexlint_lint_budget=bad)
    proxy.set(webexlint_lint_budget="2.5")
    proxy.request(meeting("warm"))
    assert proxy.session.backend.budget == 2.5
    proxy.set(webexlint_lint_budget="0")  # off: a timer already armed must not kill the worker
    assert proxy.session.backend.budget == 0


def test_a_budget_of_0_is_no_limit(proxy):
    proxy.set(webexlint_lint_budget="0")
    warm = proxy.request(meeting("warm"))
    assert proxy.wait_until(lambda: proxy.findings(warm))
    backend = proxy.session.backend
    proxy.request(SLOW)
    proxy.wait_until(lambda: False, timeout=1.5)
    assert backend.over_budget == 0 and not proxy.events("not_linted")
    backend.process.kill()  # without a budget this worker never comes back


def test_a_message_over_budget_is_not_linted_and_the_ones_after_it_are(proxy):
    # Sent while the worker starts (its import and its linter take longer than the budget here):
    # a worker's start is not a message's time, the settings frame at the head is not timed.
    first = proxy.request(meeting("first"))
    assert proxy.wait_until(lambda: {f["rule"] for f in proxy.findings(first)} >= {"WX101", "WX301"})
    backend = proxy.session.backend
    old_worker = backend.process
    started = time.monotonic()
    slow = proxy.request(SLOW)
    after = [proxy.request(meeting(f"after-{i}")) for i in range(3)]  # queued behind the slow one
    assert proxy.wait_until(lambda: all({f["rule"] for f in proxy.findings(flow)} >= {"WX101", "WX301"}
                                        for flow in after), timeout=20)
    waited = time.monotonic() - started
    assert backend.process is not old_worker and old_worker.poll() is not None
    assert backend.over_budget == 1
    (skipped,) = proxy.events("not_linted")
    assert skipped["flow_id"] == slow.id and skipped["direction"] == "request"
    assert skipped["reason"].startswith("time budget: the lint took over 0.5 s")
    (restart,) = proxy.events("worker_restarted")
    assert (restart["cause"], restart["flow_id"], restart["delay"]) == ("time budget", slow.id, 0.0)
    assert not proxy.findings(slow)
    assert waited < 10, waited  # the budget, a worker's start and three lints; never (2^60 steps) without it
    assert proxy.wait_until(lambda: slow.comment == "webexlint: not linted (time budget)")
    text = proxy.log_path.read_text()
    assert SLOW_VALUE not in text and PASSWORD not in text
    # and linting goes on
    later = proxy.request(meeting("later"))
    assert proxy.wait_until(lambda: {f["rule"] for f in proxy.findings(later)} >= {"WX101", "WX301"})


def test_a_rewrite_waiting_on_a_message_over_budget_goes_upstream_unchanged_at_once(proxy):
    proxy.set(webexlint_rewrite=True, webexlint_site_id=["5941234567=acme"])
    proxy.request(meeting("warm"))
    started = time.monotonic()
    slow = proxy.request(SLOW)  # the request hook returns once the rewrite is settled
    waited = time.monotonic() - started
    assert slow.request.raw_content == SLOW  # failed open: the client's bytes
    assert waited < addon_module.REWRITE_TIMEOUT - 1, waited  # not the rewrite timeout: the budget
    fixed = proxy.request(meeting("fixed"))
    assert b"<siteName>acme</siteName>" in fixed.request.raw_content and b"HQvideo" not in fixed.request.raw_content


# -- through the real mitmdump, with real HTTP clients ---------------------------------------------

def _post(port: int, body: bytes) -> tuple[int, float]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    started = time.monotonic()
    try:
        connection.request("POST", SERVICE_PATH, body=body, headers={"Content-Type": "text/xml"})
        response = connection.getresponse()
        response.read()
    finally:
        connection.close()
    return response.status, time.monotonic() - started


@pytest.mark.e2e
def test_through_mitmdump_a_slow_message_holds_no_other_client(start_proxy, slow_pack):
    with WebexSimulator(ci_sites=["acme"], record=True) as simulator:
        proxy = start_proxy("--rewrite", "--", "--set", f"webexlint_rule_pack={slow_pack}",
                            "--set", "webexlint_site_id=5941234567=acme", "--set", "webexlint_lint_budget=1",
                            mode=f"reverse:{simulator.base_url}")
        assert _post(proxy.port, meeting("warm"))[0] == 200
        hostile: list[tuple[int, float]] = []
        thread = threading.Thread(target=lambda: hostile.extend(_post(proxy.port, SLOW) for _ in range(2)))
        thread.start()
        others = []
        for i in range(12):  # another client, during and after the slow messages
            others.append(_post(proxy.port, meeting(f"other-{i}")))
            time.sleep(0.1)
        thread.join(timeout=120)
        events = proxy.wait_for("not_linted")
        assert [status for status, _ in hostile] == [200, 200]
        assert all(status == 200 for status, _ in others)
        # The slow requests failed open at the budget, not at the 5 s rewrite timeout; the other
        # client's requests queued behind them were still rewritten (so linted) within it.
        assert max(seconds for _, seconds in hostile) < addon_module.REWRITE_TIMEOUT - 1, hostile
        assert max(seconds for _, seconds in others) < addon_module.REWRITE_TIMEOUT - 1, others
        received = [r.body for r in simulator.received]
        assert received.count(SLOW) == 2  # upstream got the client's bytes
        rewritten = [body for body in received if b"other-" in body]
        assert len(rewritten) == 12
        assert all(b"<siteName>acme</siteName>" in body and b"HQvideo" not in body for body in rewritten)
        assert len(events) == 2 and all(e["reason"].startswith("time budget") for e in events)
        assert {e["cause"] for e in proxy.events("worker_restarted")} == {"time budget"}
        other_findings = [e for e in proxy.events("finding") if e["rule"] in ("WX101", "WX301")]
        assert len(other_findings) >= 2 * 13  # the warm-up and every other request, both rules
        text = proxy.log.read_text()
        assert SLOW_VALUE not in text and PASSWORD not in text
        assert proxy.process.poll() is None


def test_messages_kept_without_their_body_are_reported_when_the_worker_is_stopped(proxy, monkeypatch):
    """Bodies are kept for sending again only up to KEEP_FOR_RESEND bytes in all (big decoded bodies
    are copies of their own); the others, lost with the stopped worker, are named as not linted."""
    monkeypatch.setattr(proxy_backends, "KEEP_FOR_RESEND", 0)
    warm = proxy.request(meeting("warm"))
    assert proxy.wait_until(lambda: proxy.findings(warm))
    slow = proxy.request(SLOW)
    after = [proxy.request(meeting(f"after-{i}")) for i in range(2)]
    assert proxy.wait_until(lambda: len(proxy.events("not_linted")) == 3, timeout=20)
    reasons = {event["flow_id"]: event["reason"] for event in proxy.events("not_linted")}
    assert reasons[slow.id].startswith("time budget")
    assert all("restarted (another message's time budget)" in reasons[flow.id] for flow in after)
