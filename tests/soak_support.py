"""The soak test's upstream and load: a recording Webex upstream with planned failures, and the clients.

The upstream runs in its own process (asyncio, one thread) so that it never competes with the test's
clients for the GIL. For every request it reads, it appends one line to its record file: the soak id
(X-Soak-Id header), the SHA-256 and length of the body exactly as received, and the status and body
digest of what it answered. 20,000 bodies are thus compared by digest, never held in memory.

What it answers is planned by the client in the X-Soak-Fate header:
  ok       the bundled simulator's answer (SimulatedService), 200
  failure  a Webex FAILURE envelope, 200
  http500  HTTP 500 with a short text body
  reset    no answer: the connection is reset (SO_LINGER 0, so the kernel sends RST)
  close    no answer: the connection is closed (FIN)

    python -m tests.soak_support PORT RECORD_FILE     (started by tests/test_soak.py)

GET /__soak/flush flushes the record file and answers how many requests it holds.
"""

from __future__ import annotations

import asyncio
import hashlib
import http.client
import os
import random
import socket
import statistics
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from proxy_addon.simulator.answers import Failure, SimulatedService, failure_envelope
from tests.builders import request_xml

SERVICE_PATH = "/WBXService/XMLService"
CI_SITE = "acme"  # the upstream treats it as CI; the proxy learns that from the traffic
FORCED_FAILURE = Failure("000015", "Sorry, no record found")
FATES_WITHOUT_ANSWER = ("reset", "close")
MAX_HEAD_BYTES = 64 * 1024


def digest(data: bytes) -> str:
    return f"{hashlib.sha256(data).hexdigest()[:32]}:{len(data)}"


# -- the upstream (its own process) ----------------------------------------------------------------

class RecordingUpstream:
    def __init__(self, record_file: Path):
        self.service = SimulatedService(frozenset({CI_SITE}))
        self.record = record_file.open("a", encoding="ascii", buffering=1 << 16)
        self.records = 0
        self.connections = 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        connection = self.connections
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    return  # the peer closed between requests
                method, target, headers = parse_head(head)
                body = await read_body(reader, headers)
                if method == "GET" and target == "/__soak/flush":
                    self.record.flush()
                    writer.write(answer(200, str(self.records).encode(), "text/plain"))
                    await writer.drain()
                    continue
                soak_id = headers.get("x-soak-id", "-")
                fate = headers.get("x-soak-fate", "ok")
                if fate in FATES_WITHOUT_ANSWER:
                    self._write_record(soak_id, fate, body, connection, None, b"")
                    if fate == "reset":
                        sock = writer.get_extra_info("socket")
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                        writer.transport.abort()
                    else:
                        writer.close()
                    return
                status, payload, content_type = planned_answer(self.service, fate, body, soak_id)
                self._write_record(soak_id, fate, body, connection, status, payload)
                writer.write(answer(status, payload, content_type))
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            writer.close()

    def _write_record(self, soak_id: str, fate: str, body: bytes, connection: int, status: int | None,
                      payload: bytes) -> None:
        self.records += 1
        self.record.write(f"{soak_id}\t{fate}\t{digest(body)}\t{connection}\t{status or '-'}\t{digest(payload)}\n")


def planned_answer(service: SimulatedService, fate: str, body: bytes, soak_id: str) -> tuple[int, bytes, str]:
    """(status, body, content type) the upstream answers for a fate with an answer."""
    if fate == "http500":
        return 500, f"upstream error for soak request {soak_id}\n".encode(), "text/plain; charset=utf-8"
    if fate == "failure":
        return 200, failure_envelope(FORCED_FAILURE, package="user"), "text/xml;charset=UTF-8"
    return 200, service.answer(body), "text/xml;charset=UTF-8"


def parse_head(head: bytes) -> tuple[str, str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    method, target, _version = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return method, target, headers


async def read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    if "chunked" in headers.get("transfer-encoding", "").lower():
        parts = []
        while True:
            size = int((await reader.readline()).split(b";", 1)[0].strip(), 16)
            if size == 0:
                while (await reader.readline()) not in (b"\r\n", b"\n", b""):  # trailers
                    pass
                return b"".join(parts)
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
    return await reader.readexactly(int(headers.get("content-length", "0")))


def answer(status: int, payload: bytes, content_type: str) -> bytes:
    reason = http.client.responses.get(status, "")
    return (f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n").encode() + payload


def serve_upstream(port: int, record_file: Path) -> None:
    upstream = RecordingUpstream(record_file)

    async def main() -> None:
        server = await asyncio.start_server(upstream.serve, "127.0.0.1", port, limit=MAX_HEAD_BYTES, backlog=256)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def flush_upstream(port: int) -> int:
    """Have the upstream flush its record file; returns how many requests it recorded."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", "/__soak/flush")
        return int(conn.getresponse().read())
    finally:
        conn.close()


# -- the load (the test's process) ----------------------------------------------------------------

PASSWORD_MARK = "Soak-pw-"  # every password starts so: one search of the log finds any of them
TOKEN_MARK = "SoakTok"
FATES = (("ok", 85), ("failure", 4), ("http500", 4), ("reset", 4), ("close", 3))
CHUNKED_SHARE = 0.1
REQUEST_CONTENT_TYPE = "text/xml; charset=UTF-8"
XSI_DECLARATION = ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'


def password(n: int) -> str:
    return f"{PASSWORD_MARK}{n:06d}-q7"


def webex_id(n: int, site: str) -> str:
    return f"soak{n}@{site}.example"


def security(n: int, site: str, *, site_id: str | None = None) -> str:
    where = f"<siteID>{site_id}</siteID>" if site_id else f"<siteName>{site}</siteName>"
    return f"{where}<webExID>{webex_id(n, site)}</webExID><password>{password(n)}</password>"


def _build(operation: str, package: str, body: str, n: int, site: str, **security_options: str) -> bytes:
    return request_xml(operation, body, package=package, security=security(n, site, **security_options))


def _undeclared_xsi(n: int) -> bytes:
    # The xsi: prefix used without its declaration (WX002), as some hand-built clients send it.
    return _build("GetUser", "user", f"<webExId>{webex_id(n, 'globex')}</webExId>", n, "globex") \
        .replace(XSI_DECLARATION.encode(), b"", 1)


PMR_IMAGE = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk" * 800  # ~48 KB of base64


@dataclass(frozen=True)
class Kind:
    """One kind of request in the mix. On globex (never CI) the findings do not depend on what the
    proxy learned; on acme (CI, learned from the answers) they may, until acme is known as CI."""

    name: str
    operation: str
    site: str
    weight: int
    build: Callable[[int], bytes]  # the request body of flow n

    @property
    def learned_dependent(self) -> bool:
        return self.site == CI_SITE


KINDS = (
    Kind("get-user", "GetUser", "globex", 22, lambda n: _build(
        "GetUser", "user", f"<webExId>{webex_id(n, 'globex')}</webExId>", n, "globex")),
    Kind("list-meetings", "LstsummaryMeeting", "globex", 8, lambda n: _build(
        "LstsummaryMeeting", "meeting", f"<listControl><startFrom>{n % 50 + 1}</startFrom><maximumNum>10"
        "</maximumNum></listControl><order><orderBy>STARTTIME</orderBy></order>", n, "globex")),
    Kind("create-meeting-site-id", "CreateMeeting", "globex", 14, lambda n: _build(
        "CreateMeeting", "meeting", f"<metaData><confName>Soak sync {n}</confName></metaData><enableOptions>"
        "<chat>true</chat><HQvideo>true</HQvideo></enableOptions><schedule><startDate>03/17/2026 09:00:00"
        "</startDate><duration>30</duration></schedule>", n, "globex", site_id="5941234567")),
    Kind("set-user-globex", "SetUser", "globex", 8, lambda n: _build(
        "SetUser", "user", f"<webExId>{webex_id(n, 'globex')}</webExId><firstName>Jo {n}</firstName>"
        f"<email>jo{n}@old.example</email>", n, "globex")),
    Kind("authenticate", "AuthenticateUser", "globex", 8, lambda n: _build(
        "AuthenticateUser", "user", f"<accessToken>{TOKEN_MARK}{n:06d}x9Lm</accessToken>", n, "globex")),
    Kind("long-event-description", "CreateEvent", "globex", 4, lambda n: _build(
        "CreateEvent", "event", f"<metaData><sessionName>Soak {n}</sessionName><description>"
        f"{'Agenda and notes. ' * 150}{n}</description></metaData>", n, "globex")),
    Kind("pmr-image", "UploadPMRImage", "globex", 2, lambda n: _build(
        "UploadPMRImage", "user", f"<imageType>PNG</imageType><imageData>{PMR_IMAGE}{n:06d}</imageData>", n,
        "globex")),
    Kind("undeclared-prefix", "GetUser", "globex", 3, _undeclared_xsi),
    Kind("create-user-ci", "CreateUser", CI_SITE, 8, lambda n: _build(
        "CreateUser", "user", f"<firstName>New {n}</firstName><webExId>{webex_id(n, 'new')}</webExId>", n, CI_SITE)),
    Kind("set-user-ci", "SetUser", CI_SITE, 12, lambda n: _build(
        "SetUser", "user", f"<webExId>{webex_id(n, CI_SITE)}</webExId><firstName>Al {n}</firstName>"
        f"<email>al{n}@old.example</email>", n, CI_SITE)),
    Kind("site-type-ci", "GetSiteType", CI_SITE, 4, lambda n: _build("GetSiteType", "ep", "", n, CI_SITE)),
)


@dataclass(frozen=True)
class PlannedFlow:
    n: int
    kind: Kind
    fate: str
    chunked: bool

    def body(self) -> bytes:
        return self.kind.build(self.n)


def plan(count: int, seed: int = 20261123) -> list[PlannedFlow]:
    """The same flows for the same count and seed: kinds and fates drawn by weight."""
    rng = random.Random(seed)
    kinds = rng.choices(KINDS, weights=[k.weight for k in KINDS], k=count)
    fates = rng.choices([f for f, _ in FATES], weights=[w for _, w in FATES], k=count)
    return [PlannedFlow(n, kinds[n], fates[n], rng.random() < CHUNKED_SHARE) for n in range(count)]


@dataclass
class Outcome:
    """What the client saw of one flow (digests only)."""

    request: str  # digest of the body sent
    status: int | None = None
    response: str | None = None  # digest of the body received
    error: str | None = None


@dataclass
class LoadResult:
    outcomes: dict[int, Outcome] = field(default_factory=dict)
    session_tickets: set[str] = field(default_factory=set)
    connections_opened: int = 0


class Progress:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.done = 0

    def step(self) -> None:
        with self._lock:
            self.done += 1


class Client:
    """Sends flows in order: on one kept-alive connection (reopened only after the proxy closed it,
    as it does after a 502), or on a new connection per request. Keeps digests only."""

    def __init__(self, port: int, keep_alive: bool, progress: Progress | None = None):
        self.port, self.keep_alive, self.progress = port, keep_alive, progress
        self.result = LoadResult()
        self.conn: http.client.HTTPConnection | None = None

    def send(self, flows: list[PlannedFlow]) -> None:
        for flow in flows:
            self.result.outcomes[flow.n] = self._exchange(flow)
            if self.progress is not None:
                self.progress.step()

    def _exchange(self, flow: PlannedFlow) -> Outcome:
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            self.result.connections_opened += 1
        body = flow.body()
        outcome = Outcome(digest(body))
        headers = {"Content-Type": REQUEST_CONTENT_TYPE, "X-Soak-Id": str(flow.n), "X-Soak-Fate": flow.fate}
        try:
            if flow.chunked:
                third = len(body) // 3
                self.conn.request("POST", SERVICE_PATH, encode_chunked=True,
                                  body=iter([body[:third], body[third:2 * third], body[2 * third:]]),
                                  headers={**headers, "Transfer-Encoding": "chunked"})
            else:
                self.conn.request("POST", SERVICE_PATH, body=body, headers=headers)
            response = self.conn.getresponse()
            data = response.read()
            outcome.status, outcome.response = response.status, digest(data)
            if flow.kind.operation == "AuthenticateUser" and b"sessionTicket>" in data:
                self.result.session_tickets.add(data.split(b"sessionTicket>", 2)[1].split(b"<", 1)[0].decode())
            if response.will_close or not self.keep_alive:
                self.close()
        except (OSError, http.client.HTTPException) as error:
            outcome.error = f"{type(error).__name__}: {error}"
            self.close()
        return outcome

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class LogWatcher:
    """Reads the findings log as it grows, to see when a given flow's response has been linted."""

    def __init__(self, path: Path):
        self.path, self.offset, self.pending = path, 0, b""

    def wait_for_response_of(self, webex_id: str, timeout: float) -> bool:
        needle = f'"webex_id":"{webex_id}"'.encode()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.path.exists():
                with self.path.open("rb") as log:
                    log.seek(self.offset)
                    data = self.pending + log.read()
                self.offset += len(data) - len(self.pending)
                lines = data.split(b"\n")
                self.pending = lines.pop()
                if any(needle in line and b'"direction":"response"' in line for line in lines):
                    return True
            time.sleep(0.02)
        return False


def read_upstream_records(path: Path) -> Iterator[tuple[int, str, str, str, str]]:
    """(soak id, fate, request digest, status, response digest) per request the upstream read."""
    with path.open(encoding="ascii") as records:
        for line in records:
            soak_id, fate, request, _connection, status, response = line.rstrip("\n").split("\t")
            yield int(soak_id), fate, request, status, response


# -- memory of the proxy's processes ---------------------------------------------------------------

def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_of(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


@dataclass
class RssSample:
    flows: int
    seconds: float
    proxy_kib: int
    worker_kib: int


def vm_field_kib(pid: int, field_name: str) -> int:
    """A /proc/<pid>/status size in KiB (VmRSS: resident now, VmHWM: the peak); 0 once gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass(frozen=True)
class Growth:
    """RSS growth from the first to the last quarter of the flows after the warm-up (medians)."""

    first_kib: float
    last_kib: float
    flows_between: float

    @property
    def kib(self) -> float:
        return self.last_kib - self.first_kib

    @property
    def bytes_per_flow(self) -> float:
        return self.kib * 1024 / self.flows_between if self.flows_between else 0.0


def growth(samples: list[RssSample], total: int, key: str, warm_up: float = 0.1) -> Growth:
    start = total * warm_up
    quarter = (total - start) / 4
    first = [s for s in samples if start <= s.flows < start + quarter]
    last = [s for s in samples if s.flows >= total - quarter]
    if not first or not last:
        raise ValueError(f"too few RSS samples ({len(samples)}) for quarters of {quarter:.0f} flows")
    return Growth(statistics.median(getattr(s, key) for s in first), statistics.median(getattr(s, key) for s in last),
                  statistics.median(s.flows for s in last) - statistics.median(s.flows for s in first))


if __name__ == "__main__":
    serve_upstream(int(sys.argv[1]), Path(sys.argv[2]))
