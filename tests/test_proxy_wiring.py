"""The addons' wiring (issue 18 item 4, issue 19 proxy side, issue 21 item 10): which flows are
examined (webexlint_filter), the upstream each message went to, one linter per process, bodies
handed to the worker without copies, and a bounded backlog even for essential frames."""

from __future__ import annotations

import os
import signal

import pytest
from mitmproxy import exceptions

from proxy_addon.exchange.observed import PROXY_SOURCE, Observed
from proxy_addon.mitm import addons as addon_module
from proxy_addon.mitm import backends as proxy_backends
from proxy_addon.mitm import worker as worker_module
from proxy_addon.mitm.worker import FrameReader, Worker, encode_frame, message_frame
from proxy_addon.settings import Settings
from tests.builders import request_xml, response_xml
from tests.test_addon_worker import ACME, MEETING, proxy, worker_process  # noqa: F401 (the fixture)

GET_USER = request_xml("GetUser", "<webExId>jane@acme.com</webExId>", security=ACME)
SUCCESS = response_xml(None)


class Spy:
    """Records what the addon hands the backend, then lets it through."""

    def __init__(self, backend):
        self.backend = backend
        self.seen: list[Observed] = []

    def __call__(self, seen: Observed, **kwargs):
        self.seen.append(seen)
        return self.backend.__class__.submit(self.backend, seen, **kwargs)


@pytest.fixture
def spied(addon_harness, monkeypatch):
    backend = addon_harness.session.ensure_backend()
    spy = Spy(backend)
    monkeypatch.setattr(backend, "submit", spy)
    return addon_harness, spy


# -- which flows: webexlint_filter -----------------------------------------------------------------

def test_a_bad_filter_is_an_options_error_naming_the_option(addon_harness):
    with pytest.raises(exceptions.OptionsError, match="webexlint_filter: Invalid filter expression"):
        addon_harness.set(webexlint_filter="~q ~~(")


def test_the_filter_selects_the_flows_that_are_examined(spied):
    harness, spy = spied
    harness.set(webexlint_filter="~h X-Lint-Me")
    skipped = harness.exchange(GET_USER, SUCCESS)
    examined = harness.respond(harness.request(GET_USER, headers={"content_type": "text/xml", "X-Lint-Me": "1"}),
                               SUCCESS)
    assert [(seen.locator, seen.direction) for seen in spy.seen] == [(examined.id, "request"), (examined.id, "response")]
    assert harness.findings(skipped) == [] and harness.events("not_linted") == []
    harness.set(webexlint_filter="")  # every flow again
    again = harness.exchange(GET_USER, SUCCESS)
    assert [seen.locator for seen in spy.seen[2:]] == [again.id, again.id]


def test_the_filter_never_widens_what_is_linted(spied):
    harness, spy = spied
    harness.set(webexlint_filter="~all")
    harness.request(b'{"not": "xml"}', path="/api/json")
    assert spy.seen == []


# -- where it went: Observed.upstream ------------------------------------------------------------

def test_every_proxied_message_says_which_upstream_it_went_to(spied):
    harness, spy = spied
    harness.exchange(GET_USER, SUCCESS)
    harness.exchange(GET_USER, SUCCESS)
    # mitmproxy's test requests go to address:22; the request hook saw that, the response hook what
    # the flow says then (the same in a real proxy: the request's host is final before its hook)
    assert [seen.upstream for seen in spy.seen] == ["address:22", "address:22", "address:22", "address:22"]
    # the response shares the request's client and user agent, read once at the request
    assert spy.seen[1].client_address == spy.seen[0].client_address and spy.seen[1].user_agent == spy.seen[0].user_agent


@pytest.mark.parametrize(("host", "port", "expected"), [
    ("acme.webex.com", 443, "acme.webex.com:443"), ("::1", 8443, "[::1]:8443"), ("10.0.0.1", 80, "10.0.0.1:80")])
def test_the_upstream_is_host_and_port(host, port, expected):
    from mitmproxy.test import tutils  # noqa: PLC0415

    assert addon_module.upstream_of(tutils.treq(host=host, port=port)) == expected


def test_upstream_crosses_the_worker_frame():
    seen = Observed(b"<serv:message/>", "response", PROXY_SOURCE, "flow-1", 1.5, "127.0.0.1:5000", "agent",
                    "utf-8", "acme.webex.com:443")
    assert FrameReader().feed(encode_frame(("message", seen, True, False))) == [("message", seen, True, False)]
    no_upstream = Observed(b"x", "request", PROXY_SOURCE, "flow-2")
    assert FrameReader().feed(encode_frame(("message", no_upstream, False, True))) == [("message", no_upstream, False, True)]


# -- bodies: no copies ---------------------------------------------------------------------------

def test_the_body_is_handed_over_as_the_very_bytes_mitmproxy_holds(spied):
    harness, spy = spied
    flow = harness.request(GET_USER)
    assert spy.seen[0].data is flow.request.raw_content  # an unencoded body is not copied
    parts = message_frame(spy.seen[0], False)
    assert parts[-1] is flow.request.raw_content  # nor put into a frame: the parts are written with writev


def test_a_frame_written_in_parts_and_read_in_any_chunks_is_the_message():
    seen = Observed(os.urandom(70000), "request", PROXY_SOURCE, "flow-1", None, None, None, None, "h:1")
    stream = b"".join(message_frame(seen, True, False)) + encode_frame(("forget", "flow-1"))
    for size in (1, 7, 4096, 70000, 1 << 20):
        reader = FrameReader()
        frames = []
        for start in range(0, len(stream), size):
            frames += reader.feed(stream[start:start + size])
        assert frames == [("message", seen, True, False), ("forget", "flow-1")], size
        assert not reader.buffer


def test_a_partial_writev_keeps_exactly_the_rest(monkeypatch, proxy):  # noqa: F811
    proxy.request(GET_USER)  # the worker is up
    backend = proxy.session.backend
    assert isinstance(backend, proxy_backends.WorkerBackend)
    backend._flush_batch()  # that request's frame, queued for the next batch, goes now
    written: list[bytes] = []

    def short_writev(fd, parts):
        data = b"".join(bytes(part) for part in parts)
        written.append(data[:5])
        return 5

    monkeypatch.setattr(os, "writev", short_writev)
    seen = Observed(b"0123456789" * 3, "request", PROXY_SOURCE, "flow-x")
    backend.backlog.clear()
    assert backend._write(message_frame(seen, False))
    assert written[0] + bytes(backend.backlog) == b"".join(message_frame(seen, False))
    backend.loop.remove_writer(backend.jobs_fd)
    backend.backlog.clear()


# -- a stalled worker: every queue bounded -------------------------------------------------------

def test_essential_frames_are_bounded_too_but_settings_always_go(proxy, monkeypatch):  # noqa: F811
    monkeypatch.setattr(proxy_backends, "MAX_BACKLOG_BYTES", 64 * 1024)
    monkeypatch.setattr(proxy_backends, "ESSENTIAL_RESERVE", 64 * 1024)
    proxy.request(GET_USER)
    backend = proxy.session.backend
    backend.set_budget(0)  # stopped in a message, the worker would be restarted past its time budget
    process = worker_process(proxy)
    os.kill(process.pid, signal.SIGSTOP)
    try:
        reason = "not decodable " * 700  # ~10 KB
        for _ in range(500):  # ~5 MB of events: more than the pipe, the backlog and the reserve hold
            backend.not_linted("flow", "request", reason, None)
        assert backend.dropped > 0
        assert len(backend.backlog) <= 128 * 1024
        before = len(backend.backlog)
        backend.configure(proxy.session.settings)
        assert len(backend.backlog) > before  # the settings were queued all the same
    finally:
        os.kill(process.pid, signal.SIGCONT)
    assert proxy.wait_until(lambda: not backend.backlog)
    flow = proxy.request(MEETING)
    assert proxy.wait_until(lambda: len(proxy.findings(flow)) == 3)


# -- one linter per process ----------------------------------------------------------------------

def test_the_worker_builds_its_linter_from_the_first_settings_it_is_sent(monkeypatch, tmp_path):
    built: list[Settings] = []
    real = worker_module.make_linter
    monkeypatch.setattr(worker_module, "make_linter", lambda settings: built.append(settings) or real(settings))
    read_fd, write_fd = os.pipe()
    try:
        worker = Worker(write_fd)
        worker.handle(("message", Observed(GET_USER, "request", PROXY_SOURCE, "f"), False))  # before settings: ignored
        assert worker.pipeline is None
        settings = Settings(console=False, findings_log=str(tmp_path / "log.jsonl"), ci_sites=("acme",))
        worker.handle(("configure", settings))
        worker.handle(("configure", settings))
        assert built == [settings]  # once, from those settings
        worker.handle(("message", Observed(MEETING, "request", PROXY_SOURCE, "f"), False))
        worker.pipeline.close()
    finally:
        os.close(read_fd)
        os.close(write_fd)
    assert '"rule":"WX101"' in (tmp_path / "log.jsonl").read_text(encoding="utf-8").replace(" ", "")


def test_settings_are_resolved_once_per_change(addon_harness, monkeypatch):
    calls = []
    real = addon_module.lint_settings
    monkeypatch.setattr(addon_module, "lint_settings", lambda options: calls.append(1) or real(options))
    addon_harness.set(webexlint_ci_site=["acme"], webexlint_select="WX2")
    assert len(calls) == 1
    addon_harness.set(webexlint_rewrite=True, webexlint_findings_log=str(addon_harness.log_path))
    assert len(calls) == 1  # not a lint option: nothing resolved again


def test_an_unknown_coding_is_quoted_short_in_the_reason():
    from proxy_addon.core.content_encoding import UndecodableBody, decode_bounded  # noqa: PLC0415

    with pytest.raises(UndecodableBody) as raised:
        decode_bounded(b"x", "x" * 60_000, 100)
    assert len(str(raised.value)) < 300 and "60000 characters" in str(raised.value)


def test_console_lines_cost_nothing_when_standard_output_is_discarded(tmp_path):
    """Issue 19: the readable lines are not rendered when stdout goes to /dev/null."""
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    probe = ("from proxy_addon.mitm.addons import stdout_discarded; import sys; "
             "sys.stderr.write(str(stdout_discarded()))")
    for stdout, expected in ((subprocess.DEVNULL, "True"), (subprocess.PIPE, "False"),
                             (open(tmp_path / "out.txt", "wb"), "False")):
        result = subprocess.run([sys.executable, "-c", probe], stdout=stdout, stderr=subprocess.PIPE, text=True,
                                check=True)
        assert result.stderr == expected


def test_discarded_stdout_turns_the_console_off(addon_harness, monkeypatch):
    monkeypatch.setattr(addon_module, "stdout_discarded", lambda: True)
    addon_harness.set(webexlint_console=False)
    addon_harness.set(webexlint_console=True)
    assert addon_harness.session.settings.console is False
    monkeypatch.setattr(addon_module, "stdout_discarded", lambda: False)
    addon_harness.set(webexlint_console=False)
    addon_harness.set(webexlint_console=True)
    assert addon_harness.session.settings.console is True


# -- through a real mitmdump: facts stay with the upstream that taught them ------------------------

@pytest.mark.e2e
def test_a_fact_one_upstream_taught_is_not_applied_to_another(start_proxy):
    """Regular (forward) mode, two services: the proxy fills each message's upstream, so that acme
    learned as CI from one server's GetSiteType answer makes WX201 fire on SetUser requests to that
    server only (issue 21 item 2: one client's own server must not teach what requests to another get)."""
    import http.client  # noqa: PLC0415

    from proxy_addon.simulator.server import SERVICE_PATH, WebexSimulator  # noqa: PLC0415
    from tests.test_proxy_e2e import GET_SITE_TYPE, LATIN1_SET_USER  # noqa: PLC0415

    with WebexSimulator(ci_sites=["acme"]) as teaching, WebexSimulator(ci_sites=[]) as other:
        proxy = start_proxy()

        def post(server: WebexSimulator, body: bytes) -> None:
            connection = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=30)
            try:
                connection.request("POST", f"{server.base_url}{SERVICE_PATH}", body=body,
                                   headers={"Content-Type": "text/xml"})
                assert connection.getresponse().read()
            finally:
                connection.close()

        post(teaching, GET_SITE_TYPE)
        post(other, LATIN1_SET_USER)
        post(teaching, LATIN1_SET_USER)
        findings = [e for e in proxy.wait_for("finding") if e["operation"] == "SetUser"]
        [learned] = proxy.events("learned")
    assert "site acme learned as CI from GetSiteType" in learned["note"]
    flows = list(dict.fromkeys(e["flow_id"] for e in findings))
    assert len(flows) == 1  # only the SetUser sent to the server that taught
    assert {e["rule"] for e in findings} == {"WX201"}
