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
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from mitmproxy import hooks, http
from mitmproxy.certs import CertStore
from mitmproxy.proxy.layers.http import HttpRequestHook, HttpResponseHook
from mitmproxy.test import taddons, tflow, tutils

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

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def events(self, kind: str | None = None) -> list[dict]:
        if not self.log.exists():
            return []
        events = [json.loads(line) for line in self.log.read_text(encoding="utf-8").splitlines() if line]
        return [e for e in events if kind is None or e["event"] == kind]

    def wait_for(self, kind: str, count: int, timeout: float = 15.0) -> list[dict]:
        """The lint worker logs a few milliseconds after a flow passed: wait (bounded) for `count`
        events of `kind`, then a moment more, so that an unexpected extra event is seen too."""
        deadline = time.monotonic() + timeout
        while len(self.events(kind)) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        return self.events(kind)
