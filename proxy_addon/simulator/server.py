"""The bundled Webex XML API simulator: a real HTTP/1.1 server on loopback.

It serves POST /WBXService/XMLService with the answers of simulator_answers.SimulatedService, speaks
keep-alive and accepts chunked request bodies, and (for tests) can record the exact bytes of every
request it received. Deterministic, and nothing beyond loopback.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import ssl
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from proxy_addon.simulator.answers import DEFAULT_API_VERSION, SimulatedService

SERVICE_PATH = "/WBXService/XMLService"
MAX_BODY_BYTES = 64 * 1024 * 1024  # above the proxy's 16 MiB parse bound: oversized tests still get answers

# What a --verbose access line says about an exchange: never more than these (no credential is
# among them). Bounded patterns over the raw bytes: the line costs no second parse.
_OPERATION = re.compile(rb'<bodyContent\b[^>]{0,300}?type="[^"]{0,200}?\.(\w{1,80})"')
_SITE = re.compile(rb"<siteName>\s*([\w.-]{1,80})\s*</siteName>")
_RESULT = re.compile(rb"<serv:result>(\w{1,20})</serv:result>")
_EXCEPTION = re.compile(rb"<serv:exceptionID>(\w{1,20})</serv:exceptionID>")


def exchange_summary(request: bytes, answer: bytes) -> str:
    """`GetUser site=acme -> SUCCESS`, `CreateUser site=acme -> FAILURE 030098`: one exchange, read
    at a glance; what cannot be found is left out."""
    def first(pattern: re.Pattern[bytes], data: bytes) -> str:
        match = pattern.search(data)
        return match.group(1).decode("ascii", "replace") if match else ""

    operation, site = first(_OPERATION, request), first(_SITE, request)
    result = " ".join(part for part in (first(_RESULT, answer), first(_EXCEPTION, answer)) if part)
    return " ".join(part for part in (operation or "(no operation)", f"site={site}" if site else "",
                                      f"-> {result}" if result else "") if part)


class BadRequestBody(ValueError):
    """The request body cannot be read (bad chunking, no length, too large); the text says why."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: bytes  # exactly as received (de-chunked)
    connection: int  # the same number for requests on one kept-alive connection

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key.lower() == name.lower()), None)


def is_loopback(host: str) -> bool:
    try:
        infos = socket.getaddrinfo(host, None)
    except socket.gaierror:
        return False
    return bool(infos) and all(ipaddress.ip_address(info[4][0]).is_loopback for info in infos)


class _SimulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], simulator: WebexSimulator):
        self.simulator = simulator
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, _Handler)

    def finish_request(self, request, client_address) -> None:
        # Runs in the connection's own thread, so a slow TLS handshake never blocks accepting.
        if self.simulator.ssl_context is not None:
            try:
                request = self.simulator.ssl_context.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return
        super().finish_request(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: every answer carries Content-Length
    # Headers and body go out in two writes: with Nagle's algorithm the body waited for the client's
    # delayed ACK of the headers, ~40 ms per answer on a kept-alive connection.
    disable_nagle_algorithm = True
    server_version = "WebexXMLSimulator/1.0"
    timeout = 60  # an idle kept-alive connection is closed after a minute
    server: _SimulatorHTTPServer

    def setup(self) -> None:
        super().setup()
        self.connection_number = self.server.simulator.next_connection_number()
        self.summary = ""  # what the access line says about the exchange (set by do_POST)

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        simulator = self.server.simulator
        try:
            body = self._read_body()
        except BadRequestBody as error:
            self._send(error.status, str(error).encode(), "text/plain; charset=utf-8", close=True)
            return
        path = urlsplit(self.path).path
        simulator.record(RecordedRequest(self.command, self.path, tuple(self.headers.items()), body,
                                         self.connection_number))
        if path != SERVICE_PATH:
            self._send(404, f"no service at {path}; POST to {SERVICE_PATH}\n".encode(), "text/plain; charset=utf-8")
            return
        answer = simulator.service.answer(body)
        if simulator.verbose:
            self.summary = exchange_summary(body, answer)
        self._send(200, answer, "text/xml;charset=UTF-8")

    def do_GET(self) -> None:  # noqa: N802
        self._send(405, f"the XML API takes POST {SERVICE_PATH}\n".encode(), "text/plain; charset=utf-8",
                   extra=[("Allow", "POST")])

    do_PUT = do_DELETE = do_HEAD = do_GET  # noqa: N815

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        length = self.headers.get("Content-Length")
        if length is None:
            raise BadRequestBody(411, "Content-Length or chunked Transfer-Encoding required")
        try:
            size = int(length)
        except ValueError:
            raise BadRequestBody(400, f"Content-Length {length!r} is not a number") from None
        if size < 0 or size > MAX_BODY_BYTES:
            raise BadRequestBody(413, f"body of {size} bytes refused (limit {MAX_BODY_BYTES})")
        return self.rfile.read(size)

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            size_line = self.rfile.readline(1024)
            try:
                size = int(size_line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise BadRequestBody(400, f"bad chunk size line {size_line[:40]!r}") from None
            if size == 0:
                break
            if size < 0:  # read(-1) would read to the end of the stream, past every limit
                raise BadRequestBody(400, f"bad chunk size {size_line[:40]!r}")
            total += size
            if total > MAX_BODY_BYTES:
                raise BadRequestBody(413, f"chunked body over {MAX_BODY_BYTES} bytes refused")
            parts.append(self.rfile.read(size))
            if self.rfile.readline(3) not in (b"\r\n", b"\n"):
                raise BadRequestBody(400, "chunk not followed by CRLF")
        while self.rfile.readline(8192) not in (b"\r\n", b"\n", b""):  # trailers
            pass
        return b"".join(parts)

    def _send(self, status: int, body: bytes, content_type: str, *, close: bool = False,
              extra: Iterable[tuple[str, str]] = ()) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra:
            self.send_header(name, value)
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # One line per request: client, method and path, status, then what the exchange was.
        client = f"{self.client_address[0]}:{self.client_address[1]}"
        line = f"{client} {self.command} {urlsplit(self.path).path} {code}"
        self.server.simulator.log_request_line(f"{line} {self.summary}".rstrip())
        self.summary = ""

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        self.server.simulator.log_request_line(format % args)


class WebexSimulator:
    """Run the simulated service over HTTP (or HTTPS with `ssl_context`) on a loopback address.

    Use as a context manager, or start()/stop(); `port=0` picks a free port (see `.port`).
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, ci_sites: Iterable[str] = (),
                 api_version: str = DEFAULT_API_VERSION, ssl_context: ssl.SSLContext | None = None,
                 record: bool = False, verbose: bool = False, sso_sites: Iterable[str] = ()):
        if not is_loopback(host):
            raise ValueError(f"--host {host}: the simulator serves loopback addresses only (127.0.0.1, ::1, localhost)")
        self.service = SimulatedService(frozenset(ci_sites), api_version, sso_sites=frozenset(sso_sites))
        self.ssl_context = ssl_context
        self.recording = record
        self.verbose = verbose
        self.received: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._connections = 0
        self._server = _SimulatorHTTPServer((host, port), self)
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        return self._server.server_address[0]

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.ssl_context else 'http'}://{host}:{self.port}"

    @property
    def url(self) -> str:
        return self.base_url + SERVICE_PATH

    def next_connection_number(self) -> int:
        with self._lock:
            self._connections += 1
            return self._connections

    def record(self, request: RecordedRequest) -> None:
        if self.recording:
            with self._lock:
                self.received.append(request)

    def log_request_line(self, line: str) -> None:
        if self.verbose:
            print(f"simulator: {line}", flush=True)

    def serve_forever(self) -> None:
        self._server.serve_forever(poll_interval=0.2)

    def start(self) -> WebexSimulator:
        self._thread = threading.Thread(target=self.serve_forever, name="webex-simulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> WebexSimulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
