"""Helpers for the simulator, addon and proxy tests: TLS material, free ports, bounded waits, processes."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import ssl
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.client import HTTPConnection
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from mitmproxy import hooks, http
from mitmproxy.certs import CertStore
from mitmproxy.proxy.layers.http import HttpRequestHook, HttpResponseHook
from mitmproxy.test import taddons, tflow, tutils

from tests.builders import request_xml
from tests.processes import free_port, stop_process, wait_for_port  # noqa: F401 (the tests' helpers)

PATH = "/WBXService/XMLService"
REPO = Path(__file__).resolve().parent.parent
MITMDUMP = Path(sys.executable).parent / "mitmdump"


def make_server_context(confdir: Path) -> tuple[ssl.SSLContext, Path]:
    """A TLS context for an upstream on localhost/127.0.0.1, signed by the mitmproxy CA in `confdir`.

    The CA is created as mitmdump would create it, so a mitmdump with the same confdir, and a client
    trusting `mitmproxy-ca-cert.pem`, both trust the upstream. Returns (context, CA certificate file).
    """
    store = CertStore.from_store(confdir, "mitmproxy", 2048)
    sans = x509.GeneralNames([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    entry = store.get_cert("localhost", sans)
    cert_file, key_file = confdir / "upstream-cert.pem", confdir / "upstream-key.pem"
    cert_file.write_bytes(entry.cert.to_pem())
    key_file.write_bytes(entry.privatekey.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context, confdir / "mitmproxy-ca-cert.pem"


class Harness:
    """The addon chain inside a mitmproxy test master, with its findings log in a temporary file."""

    def __init__(self, tctx: taddons.context, chain: list, log_path: Path):
        self.tctx, self.chain, self.log_path = tctx, chain, log_path
        self.session = chain[0].session

    def set(self, **options) -> None:
        self.tctx.options.update(**options)

    def _trigger(self, hook: hooks.Hook) -> None:
        loop = self.tctx.master.event_loop
        loop.run_until_complete(self.tctx.master.addons.handle_lifecycle(hook))

    def request(self, body: bytes, *, path: str = PATH, headers: dict[str, str] | None = None) -> http.HTTPFlow:
        request = tutils.treq(method=b"POST", path=path.encode(), content=b"",
                              headers=http.Headers(**(headers or {"content_type": "text/xml; charset=UTF-8"})))
        request.raw_content = body  # as received: never re-encoded by the test
        flow = tflow.tflow(req=request)
        self._trigger(HttpRequestHook(flow))
        return flow

    def respond(self, flow: http.HTTPFlow, body: bytes) -> http.HTTPFlow:
        flow.response = tutils.tresp(content=body, headers=http.Headers(content_type="text/xml;charset=UTF-8"))
        self._trigger(HttpResponseHook(flow))
        return flow

    def exchange(self, request: bytes, response: bytes) -> http.HTTPFlow:
        return self.respond(self.request(request), response)

    def events(self, kind: str | None = None) -> list[dict]:
        lines = self.log_path.read_text(encoding="utf-8").splitlines() if self.log_path.exists() else []
        events = [json.loads(line) for line in lines]
        return [e for e in events if kind is None or e["event"] == kind]

    def findings(self, flow: http.HTTPFlow | None = None) -> list[dict]:
        return [e for e in self.events("finding") if flow is None or e["flow_id"] == flow.id]

    def wait_until(self, condition: Callable[[], bool], timeout: float = 15.0) -> bool:
        """Run the event loop (the worker's answers arrive through it) until `condition` holds."""
        loop = self.tctx.master.event_loop
        deadline = time.monotonic() + timeout
        while not condition() and time.monotonic() < deadline:
            loop.run_until_complete(asyncio.sleep(0.02))
        return condition()


@dataclass
class RunningProxy:
    process: subprocess.Popen
    port: int
    log: Path
    mode: str | None = None
    sentinel_flows: set[str] = field(default_factory=set)
    _sentinels: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def events(self, kind: str | None = None) -> list[dict]:
        """The findings log's events, less those of the sentinel flows `settle` sent."""
        if not self.log.exists():
            return []
        events = [json.loads(line) for line in self.log.read_text(encoding="utf-8").splitlines() if line]
        return [e for e in events if (kind is None or e["event"] == kind) and e.get("flow_id") not in self.sentinel_flows]

    def send_sentinel(self) -> str:
        """POST a sentinel request the proxy cannot decode (an unknown Content-Encoding), so it logs a
        not_linted event for it whatever rules are selected, and neither lints nor stores it. Returns
        the sentinel's client address, which names its event.

        In reverse mode it goes to the upstream; in regular mode to a closed port (mitmproxy answers
        502 after the request hook has seen it)."""
        reverse = bool(self.mode and self.mode.startswith("reverse:"))
        target = PATH if reverse else f"http://127.0.0.1:{free_port()}{PATH}"
        connection = HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.connect()
            host, port = connection.sock.getsockname()[:2]
            connection.request("POST", target, body=SENTINEL_BODY,
                               headers={"Content-Type": "text/xml", "Content-Encoding": SENTINEL_CODING})
            connection.getresponse().read()
        finally:
            connection.close()
        return f"{host}:{port}"

    def settle(self, timeout: float = 30.0) -> None:
        """Send a sentinel flow and wait until its event is in the log. The lint worker is one FIFO
        pipe, so every flow sent before the sentinel has been logged by then: a missing or an extra
        event shows as a failed count, never as a race."""
        client = self.send_sentinel()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.log.exists():
                for line in self.log.read_text(encoding="utf-8").splitlines():
                    event = json.loads(line) if SENTINEL_CODING in line else None
                    if event and event.get("event") == "not_linted" and event.get("client") == client:
                        self.sentinel_flows.add(event["flow_id"])
                        return
            time.sleep(0.02)
        raise AssertionError(f"the sentinel from {client} never reached the findings log within {timeout:.0f} s")

    def wait_for(self, kind: str, timeout: float = 30.0) -> list[dict]:
        """Every event of `kind` once the proxy has logged all flows sent so far (see `settle`)."""
        self.settle(timeout)
        return self.events(kind)


SENTINEL_CODING = "x-webexlint-test-sentinel"  # no such content coding: never decoded, never linted
SENTINEL_BODY = request_xml("GetUser", "<webExId>sentinel</webExId>",
                            security="<siteName>sentinel</siteName><webExID>sentinel@sentinel.invalid</webExID>")


def wait_until(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    """Poll `condition` (bounded); True once it holds."""
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()
