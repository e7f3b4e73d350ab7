"""The addon with its lint worker process (the default): the same behaviour, off the event loop."""

from __future__ import annotations

import os
import pickle
import signal

import pytest
from mitmproxy.addons import view
from mitmproxy.test import taddons

from proxy_addon.exchange.observed import format_time
from proxy_addon.mitm.flows import ERROR_MARK, METADATA_KEY
from proxy_addon.mitm import addons as addon_module
from proxy_addon.mitm import backends as proxy_backends
from proxy_addon.mitm.worker import FrameReader, encode_frame
from tests.builders import request_xml, response_xml
from tests.proxy_support import Harness

PASSWORD = "w0rker-Secret-pw"
ACME = f"<siteName>acme</siteName><webExID>admin@acme.com</webExID><password>{PASSWORD}</password>"
CREATE_USER = request_xml("CreateUser", "<webExId>jane@acme.com</webExId>", security=ACME)
FAILURE_030098 = response_xml(None, result="FAILURE", reason="User management is not allowed on unified site",
                              exception_id="030098", prefix="use", area="user")
MEETING = request_xml("CreateMeeting", "<metaData><confName>Sync</confName></metaData>"
                      "<enableOptions><HQvideo>true</HQvideo></enableOptions>", package="meeting",
                      security=f"<siteID>5941234567</siteID><webExID>admin@acme.com</webExID><password>{PASSWORD}</password>")


@pytest.fixture
def proxy(tmp_path):
    chain = addon_module.make_addons()
    # A view shows the flows (mitmweb): the worker sends their marks and comments back.
    with taddons.context(*chain, view.View()) as tctx:
        log_path = tmp_path / "findings.jsonl"
        tctx.options.update(webexlint_findings_log=str(log_path), webexlint_ci_site=["acme"])
        harness = Harness(tctx, chain, log_path)
        yield harness
        chain[0].done()  # stops the worker (it drains first)
        assert harness.session.backend is None


def worker_process(proxy: Harness):
    backend = proxy.session.backend
    assert isinstance(backend, proxy_backends.WorkerBackend)
    return backend.process


def test_findings_are_logged_by_the_worker_and_annotations_come_back(proxy):
    flow = proxy.exchange(CREATE_USER, FAILURE_030098)
    assert worker_process(proxy).pid != os.getpid()
    assert proxy.wait_until(lambda: len(proxy.findings(flow)) == 2)
    assert [(f["direction"], f["rule"]) for f in proxy.findings(flow)] == [("request", "WX202"), ("response", "WX501")]
    assert proxy.wait_until(lambda: flow.marked == ERROR_MARK)
    assert proxy.wait_until(lambda: "FAILURE 030098" in flow.comment)
    assert [f["rule"] for f in flow.metadata[METADATA_KEY]["response"]] == ["WX501"]
    assert PASSWORD not in proxy.log_path.read_text()


def test_learned_state_lives_in_the_worker(proxy):
    globex = "<siteName>globex</siteName><webExID>it@globex.com</webExID><password>pw-globex-1</password>"
    first = proxy.exchange(request_xml("CreateUser", "<webExId>a@globex.com</webExId>", security=globex), FAILURE_030098)
    second = proxy.request(request_xml("DelUser", "<webExId>a@globex.com</webExId>", security=globex))
    assert proxy.wait_until(lambda: len(proxy.findings(second)) == 1)
    assert proxy.findings(second)[0]["notes"] == [
        f"site globex learned as CI from a 030098 failure at {format_time(first.response.timestamp_start)}"]


def test_rewrite_waits_for_the_worker_and_logs_after_applying(proxy):
    proxy.set(webexlint_rewrite=True, webexlint_site_id=["5941234567=acme"])
    flow = proxy.request(MEETING)
    assert b"<siteName>acme</siteName>" in flow.request.raw_content and b"HQvideo" not in flow.request.raw_content
    assert proxy.wait_until(lambda: len(proxy.events("rewrite")) == 1)
    assert proxy.events("rewrite")[0]["changes"] == ["WX101: replace <siteID> with <siteName>acme</siteName>",
                                                     "WX301: remove <HQvideo>"]
    assert proxy.wait_until(lambda: "rewritten: WX101, WX301" in flow.comment)


def test_a_dead_worker_is_restarted_and_traffic_never_waits_for_it(proxy):
    proxy.request(request_xml("GetUser", security=ACME))
    first = worker_process(proxy)
    first.kill()
    first.wait()
    assert proxy.wait_until(lambda: proxy.session.backend.process is not first)  # noticed and replaced
    flow = proxy.request(MEETING)
    assert proxy.wait_until(lambda: {f["rule"] for f in proxy.findings(flow)} == {"WX101", "WX301", "WX601"})


def test_a_stalled_worker_never_blocks_the_proxy(proxy, monkeypatch):
    """With the worker stopped, hooks still return at once; past the backlog limit messages are dropped."""
    monkeypatch.setattr(proxy_backends, "MAX_BACKLOG_BYTES", 64 * 1024)
    proxy.request(request_xml("GetUser", security=ACME))
    proxy.session.backend.set_budget(0)  # stopped inside a message, it would be restarted past its time budget
    process = worker_process(proxy)
    os.kill(process.pid, signal.SIGSTOP)
    try:
        big = request_xml("GetUser", "<webExId>x</webExId>" + "<!-- padding -->" * 20000, security=ACME)
        for _ in range(40):  # ~13 MB: more than the pipe and the backlog hold
            flow = proxy.request(big)
            assert flow.request.raw_content is big
        assert proxy.session.backend.dropped > 0
    finally:
        os.kill(process.pid, signal.SIGCONT)
    flow = proxy.request(MEETING)
    assert proxy.wait_until(lambda: len(proxy.findings(flow)) == 3)  # WX101, WX301, WX601


def test_an_error_in_the_worker_is_logged_and_the_flow_is_untouched(proxy):
    proxy.session.update(fault="lint-request")  # the settings travel to the worker
    proxy.set(webexlint_rewrite=True)
    flow = proxy.request(MEETING)
    assert flow.request.raw_content is MEETING
    assert proxy.wait_until(lambda: len(proxy.events("internal_error")) == 1)
    assert proxy.events("internal_error")[0]["where"] == "WebexLint.request"


def test_frames_survive_any_chunking():
    jobs = [("message", b"x" * 70000, True), ("forget", "flow-1"), ("configure", {"a": [1, 2]})]
    stream = b"".join(encode_frame(job) for job in jobs)
    reader = FrameReader()
    received = []
    for size in (1, 3, 4, 5, 4096, 65536):
        reader = FrameReader()
        received = []
        for start in range(0, len(stream), size):
            received += reader.feed(stream[start:start + size])
        assert received == jobs, size
    assert pickle.loads(encode_frame(jobs[1])[4:]) == jobs[1]



@pytest.mark.parametrize("with_view", [True, False])
def test_late_annotations_refresh_a_view_and_cost_nothing_without_one(tmp_path, with_view):
    """mitmweb's view hears of a late annotation through an `update` event; mitmdump has no view,
    and there nobody would see the marks: the worker sends none back (no read, no unpickling, no
    event on mitmdump's loop), and the findings are logged all the same."""
    chain = addon_module.make_addons()
    with taddons.context(*chain, *([view.View()] if with_view else [])) as tctx:
        log_path = tmp_path / "findings.jsonl"
        tctx.options.update(webexlint_findings_log=str(log_path), webexlint_ci_site=["acme"])
        harness = Harness(tctx, chain, log_path)
        sent: list = []
        trigger = tctx.master.addons.trigger
        tctx.master.addons.trigger = lambda event: (sent.append(event), trigger(event))  # our late events only
        flow = harness.exchange(CREATE_USER, FAILURE_030098)
        if with_view:
            assert harness.wait_until(lambda: "FAILURE 030098" in flow.comment)  # the annotation arrived late
            assert harness.wait_until(lambda: any(flow in event.flows for event in sent))
        else:
            assert harness.wait_until(lambda: len(harness.findings(flow)) == 2)
            chain[0].done()  # the worker drained: whatever it had to say has been said
            assert (flow.marked, flow.comment, sent) == ("", "", [])
            assert METADATA_KEY not in flow.metadata
            return
        chain[0].done()


def test_messages_go_to_the_worker_in_batches(proxy, monkeypatch):
    """Messages no one waits for are written together, a few milliseconds later: one system call and
    one wake-up of the worker for the lot; a request waiting for its rewrite goes at once."""
    by_id = f"<siteID>5941234567</siteID><webExID>admin@acme.com</webExID><password>{PASSWORD}</password>"
    first = proxy.request(request_xml("GetUser", security=by_id))  # starts the worker and sends it the settings
    assert proxy.wait_until(lambda: proxy.findings(first))
    writes: list[int] = []
    writev = proxy_backends.os.writev
    monkeypatch.setattr(proxy_backends.os, "writev", lambda fd, parts: (writes.append(len(parts)), writev(fd, parts))[1])
    flows = [proxy.request(request_xml("GetUser", f"<webExId>u{n}</webExId>", security=by_id)) for n in range(6)]
    assert writes == []  # queued: nothing written while the hooks ran
    assert proxy.wait_until(lambda: all(proxy.findings(flow) for flow in flows))
    assert writes == [12]  # six frames of two parts each, in one writev
    proxy.set(webexlint_rewrite=True, webexlint_site_id=["5941234567=acme"])
    writes.clear()
    flow = proxy.request(MEETING)
    assert b"<siteName>acme</siteName>" in flow.request.raw_content
    assert writes == [2, 1]  # the message at once, not after BATCH_DELAY; then rewrite_applied
