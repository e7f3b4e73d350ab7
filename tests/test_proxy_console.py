"""What `webex-xml-lint proxy` prints: one readable line per finding by default, JSON lines when asked.

Each test runs the real CLI (which becomes mitmdump) in reverse mode in front of the simulator, with
its standard output in a file, and reads what a user would see.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from http.client import HTTPConnection
from pathlib import Path

import pytest

from proxy_addon.simulator.server import WebexSimulator
from tests.builders import request_xml
from tests.proxy_support import (
    REPO,
    RunningProxy,
    free_port,
    stop_process,
    wait_for_port,
)

pytestmark = pytest.mark.e2e
PASSWORD = "C0nsole-secret-pw"
ACME = f"<siteName>acme</siteName><webExID>admin@acme.com</webExID><password>{PASSWORD}</password>"
# A deprecated siteID and HQ video (WX101, WX301 twice) and a CreateUser on a CI site (its 030098
# answer is WX501; the proxy has not learned yet that acme is CI, so no WX202 predicted it).
CREATE_MEETING = request_xml(
    "CreateMeeting", "<metaData><confName>Standup</confName></metaData>"
    "<enableOptions><HQvideo>true</HQvideo><HDvideo>true</HDvideo></enableOptions>", package="meeting",
    security=f"<siteID>5941234567</siteID><siteName>acme</siteName><webExID>admin@acme.com</webExID>"
             f"<password>{PASSWORD}</password>")
CREATE_USER = request_xml("CreateUser", "<firstName>Jane</firstName><webExId>jane@acme.com</webExId>", security=ACME)


@pytest.fixture
def simulator() -> Iterator[WebexSimulator]:
    with WebexSimulator(ci_sites=["acme"], record=True) as sim:
        yield sim


class ConsoleProxy:
    """`webex-xml-lint proxy ARGS` with its standard output in a file."""

    def __init__(self, tmp_path: Path, confdir: Path, upstream: str, *flags: str, after: tuple[str, ...] = ()):
        self.port = free_port()
        self.stdout = tmp_path / f"stdout-{self.port}.txt"
        command = [sys.executable, "-m", "proxy_addon.cli", "proxy", "--listen-port", str(self.port),
                   "--mode", f"reverse:{upstream}", *flags, "--", "--set", f"confdir={confdir}", *after]
        with self.stdout.open("wb") as out:
            self.process = subprocess.Popen(command, cwd=REPO, stdout=out, stderr=subprocess.PIPE)
        self.running = RunningProxy(self.process, self.port, tmp_path / "unused.jsonl", f"reverse:{upstream}")

    def start(self) -> ConsoleProxy:
        wait_for_port(self.port, self.process, timeout=60)
        return self

    def post(self, *bodies: bytes) -> None:
        for body in bodies:
            connection = HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                connection.request("POST", "/WBXService/XMLService", body=body, headers={"Content-Type": "text/xml"})
                connection.getresponse().read()
            finally:
                connection.close()

    def settled_output(self, timeout: float = 30.0) -> str:
        """Standard output once the proxy has written about every flow sent so far: a sentinel flow the
        proxy cannot decode is logged (not linted) after them, by the same FIFO worker."""
        client = self.running.send_sentinel()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.stdout.read_text(encoding="utf-8")
            if any(line.startswith(f"{client}: not linted") or (f'"client":"{client}"' in line and '"not_linted"' in line)
                   for line in text.splitlines()):
                return text
            time.sleep(0.05)
        raise AssertionError(f"the sentinel from {client} never reached standard output:\n{self.stdout.read_text()}")

    def stop(self) -> None:
        stop_process(self.process)
        if self.process.stderr:
            self.process.stderr.close()


@pytest.fixture
def console_proxy(tmp_path, confdir, simulator):
    started: list[ConsoleProxy] = []

    def start(*flags: str, after: tuple[str, ...] = ()) -> ConsoleProxy:
        proxy = ConsoleProxy(tmp_path, confdir, simulator.base_url, *flags, after=after)
        started.append(proxy)
        return proxy.start()

    yield start
    for proxy in started:
        proxy.stop()


def test_by_default_one_readable_line_per_finding_like_check_plus_client_and_site(console_proxy):
    proxy = console_proxy()
    proxy.post(CREATE_MEETING, CREATE_USER)
    text = proxy.settled_output()
    lines = [line for line in text.splitlines() if "x-webexlint-test-sentinel" not in line]
    assert not any(line.lstrip().startswith("{") for line in lines), text  # no JSON
    location = r"127\.0\.0\.1:\d+ acme admin@acme\.com"
    assert re.search(rf"^{location} CreateMeeting request:\d+:\d+: WX101 \[warning\] securityContext/siteID is "
                     r"deprecated", text, re.MULTILINE), text
    assert len(re.findall(rf"^{location} CreateMeeting request:\d+:\d+: WX301 \[warning\] enableOptions/H[QD]video",
                          text, re.MULTILINE)) == 2, text
    wx501 = re.search(rf"^{location} CreateUser response:\d+:\d+: WX501 \[warning\] FAILURE 030098 .*\n"
                      r"  = note: 030098 — no finding on this request predicted it$", text, re.MULTILINE)
    assert wx501, text
    learned = re.findall(rf"^{location} CreateUser: learned: (.*)$", text, re.MULTILINE)
    assert len(learned) == 1 and learned[0].startswith("site acme learned as CI from a 030098 failure"), text
    assert learned[0].count("learned as CI") == 1 and "note=" not in learned[0], text  # the note said once
    assert PASSWORD not in text


def test_findings_log_dash_writes_the_json_lines_to_standard_output_instead(console_proxy):
    proxy = console_proxy("--findings-log", "-")
    proxy.post(CREATE_MEETING)
    text = proxy.settled_output()
    events = [json.loads(line) for line in text.splitlines() if line.strip()]  # every line is JSON
    assert {(e["rule"], e["direction"]) for e in events if e["event"] == "finding"} >= {
        ("WX101", "request"), ("WX301", "request")}
    assert PASSWORD not in text


def test_the_benchmark_command_line_json_to_the_file_readable_lines_on_the_console(console_proxy, tmp_path):
    log = tmp_path / "findings.jsonl"
    proxy = console_proxy("--findings-log", str(log), after=("--set", "flow_detail=0"))
    proxy.post(CREATE_MEETING)
    text = proxy.settled_output()
    assert re.search(r"CreateMeeting request:\d+:\d+: WX101 \[warning\]", text), text
    events = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    wx101 = next(e for e in events if e["event"] == "finding" and e["rule"] == "WX101")
    assert wx101["client"].startswith("127.0.0.1:") and wx101["site"] == "acme" and wx101["line"] > 0


def test_console_lines_are_redacted_and_show_control_characters_instead_of_acting_on_them():
    import io  # noqa: PLC0415

    from proxy_addon.outputs.event_log import SECRETS_KEY, event_logger  # noqa: PLC0415

    stream = io.StringIO()
    logger = event_logger(stream, console=True)
    logger.info("finding", client="10.0.0.1:5000", site="acme", webex_id="admin@acme.com", operation="SetUser",
                direction="request", line=3, column=7, rule="WX201", severity="warning",
                message=f"ignored <email> \x1b[31mred\x1b[0m {PASSWORD}\nforged: WX999 [error] x",
                notes=["site acme learned as CI"], **{SECRETS_KEY: frozenset({PASSWORD})})
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2, lines  # the finding and its note: the newline in the message forged nothing
    assert lines[0].startswith("10.0.0.1:5000 acme admin@acme.com SetUser request:3:7: WX201 [warning] ignored <email> ")
    assert "\\x1b[31m" in lines[0] and "\x1b" not in lines[0] and "\\n" in lines[0]
    assert PASSWORD not in stream.getvalue()
    assert lines[1] == "  = note: site acme learned as CI"


MITMDUMP_OWN = re.compile(r"client connect|server connect|client disconnect|<< 200 OK|: POST http")


def test_with_a_findings_log_file_the_console_still_shows_only_our_lines(console_proxy, tmp_path):
    """Issue 23: with --findings-log FILE, mitmdump's connect/POST/disconnect lines (~5 per request)
    were mixed into the console; by default only ours are there."""
    proxy = console_proxy("--findings-log", str(tmp_path / "findings.jsonl"))
    proxy.post(CREATE_MEETING, CREATE_USER)
    text = proxy.settled_output()
    assert re.search(r"CreateMeeting request:\d+:\d+: WX101 \[warning\]", text), text
    assert not MITMDUMP_OWN.search(text), text
    assert all(re.match(r"127\.0\.0\.1:\d+[ :]|  = note: ", line) for line in text.splitlines() if line.strip()), text


def test_verbose_brings_mitmdumps_own_lines_back(console_proxy):
    proxy = console_proxy("--verbose")
    proxy.post(CREATE_MEETING)
    text = proxy.settled_output()
    assert re.search(r"CreateMeeting request:\d+:\d+: WX101 \[warning\]", text), text
    assert MITMDUMP_OWN.search(text), text
