"""What the webex-xml-lint addon costs mitmdump: plain mitmdump against mitmdump with the addon.

Same minimal upstream (a canned Webex answer, asyncio, its own process), same requests, same load,
measured in one run; rounds alternate between the two set-ups and the median round is reported.

  throughput: CONCURRENCY keep-alive clients, requests/s and p50/p99 latency
  latency:    one client, one request at a time, p50/p99 (the per-request cost of linting)
  CPU:        mitmdump's own CPU time per request under load (its one event loop is what limits
              throughput), and its lint worker's, from /proc: far steadier than wall-clock rates
              on a shared VM, where identical plain rounds differ by a third

Target (issue 3): the addon costs at most 5% of throughput and under 0.5 ms at p50.
Prints figures only; no assertion.

    .venv/bin/python benchmarks/proxy_overhead.py [--requests 3000] [--concurrency 8] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from _common import REPO

from proxy_addon.simulator.answers import success_envelope
from tests.processes import free_port, stop_process, wait_for_port
from tests.soak_support import children_of, cpu_seconds

MITMDUMP = Path(sys.executable).parent / "mitmdump"
PATH = "/WBXService/XMLService"
CANNED_ANSWER = success_envelope("user", "SetUser")
NS = ('xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
      'xmlns:serv="http://www.webex.com/schemas/2002/06/service"')


def request_body(operation: str, package: str, security: str, body: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<serv:message {NS}>\n<header><securityContext>{security}'
            f'</securityContext></header>\n<body><bodyContent xsi:type="java:com.webex.service.binding.'
            f'{package}.{operation}">\n{body}\n</bodyContent></body>\n</serv:message>\n').encode()


ACME = "<siteName>acme</siteName><webExID>admin@acme.com</webExID><password>bench-pw-1</password>"
# A realistic mix: mostly clean calls, some with findings (so the log is written too).
REQUESTS = [
    request_body("GetUser", "user", ACME, "<webExId>jane@acme.com</webExId>"),
    request_body("LstsummaryMeeting", "meeting", ACME, "<listControl><startFrom>1</startFrom><maximumNum>10</maximumNum>"
                 "</listControl><order><orderBy>STARTTIME</orderBy></order>"),
    request_body("SetUser", "user", ACME, "<webExId>jane@acme.com</webExId><firstName>Jane</firstName>"
                 "<email>jane@old.example</email><timeZoneID>4</timeZoneID>"),
    request_body("CreateMeeting", "meeting", "<siteID>5941234567</siteID><webExID>admin@acme.com</webExID>"
                 "<password>bench-pw-1</password>", "<metaData><confName>Weekly sync</confName></metaData>"
                 "<enableOptions><chat>true</chat><HQvideo>true</HQvideo></enableOptions>"
                 "<schedule><startDate>03/17/2026 09:00:00</startDate><duration>30</duration></schedule>"),
    request_body("GetSite", "site", ACME, ""),
]


# -- the upstream --------------------------------------------------------------------------------

async def _serve_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    head = (f"HTTP/1.1 200 OK\r\nContent-Type: text/xml;charset=UTF-8\r\n"
            f"Content-Length: {len(CANNED_ANSWER)}\r\n\r\n").encode()
    try:
        while True:
            headers = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in headers.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            writer.write(head + CANNED_ANSWER)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


def serve_upstream(port: int) -> None:
    async def main() -> None:
        server = await asyncio.start_server(_serve_connection, "127.0.0.1", port)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


# -- processes -----------------------------------------------------------------------------------

def start_mitmdump(upstream_port: int, confdir: Path, addon_options: list[str] | None) -> tuple[subprocess.Popen, int]:
    port = free_port()
    command = [str(MITMDUMP), "-q", "--listen-host", "127.0.0.1", "--listen-port", str(port),
               "--mode", f"reverse:http://127.0.0.1:{upstream_port}", "--set", f"confdir={confdir}"]
    if addon_options is not None:
        command += ["-s", str(REPO / "proxy_addon" / "addon.py"), *addon_options]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(port, process, 60.0)
    return process, port


# -- load ----------------------------------------------------------------------------------------

@dataclass
class Measurement:
    requests: int
    seconds: float
    latencies: list[float]
    cpu_proxy: float = 0.0  # CPU seconds of mitmdump's own process during the load
    cpu_worker: float = 0.0  # ... and of its children (the lint worker)

    def cpu_per_request(self, which: str) -> float:
        """Microseconds of CPU per request: 'proxy' (the event loop's process) or 'worker'."""
        return (self.cpu_proxy if which == "proxy" else self.cpu_worker) / self.requests * 1e6

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


def _client(port: int, count: int, offset: int, latencies: list[float], errors: list[str]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        for i in range(count):
            body = REQUESTS[(offset + i) % len(REQUESTS)]
            started = time.perf_counter()
            conn.request("POST", PATH, body=body, headers={"Content-Type": "text/xml"})
            response = conn.getresponse()
            response.read()
            latencies.append(time.perf_counter() - started)
            if response.status != 200:
                errors.append(f"HTTP {response.status}")
    except OSError as error:
        errors.append(str(error))
    finally:
        conn.close()


def load(port: int, total: int, concurrency: int) -> Measurement:
    latencies: list[float] = []
    errors: list[str] = []
    per_client = total // concurrency
    threads = [threading.Thread(target=_client, args=(port, per_client, i, latencies, errors))
               for i in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} failed requests, e.g. {errors[0]}")
    return Measurement(per_client * concurrency, elapsed, latencies)


def measure(process: subprocess.Popen, port: int, args: argparse.Namespace) -> tuple[Measurement, Measurement]:
    load(port, min(500, args.requests), args.concurrency)  # warm-up: connections, caches, rule packs
    workers = children_of(process.pid)
    proxy_before, workers_before = cpu_seconds(process.pid), sum(cpu_seconds(pid) for pid in workers)
    throughput = load(port, args.requests, args.concurrency)
    time.sleep(0.2)  # the worker finishes the last messages
    throughput.cpu_proxy = cpu_seconds(process.pid) - proxy_before
    throughput.cpu_worker = sum(cpu_seconds(pid) for pid in workers) - workers_before
    latency = load(port, args.latency_requests, 1)
    return throughput, latency


def median_by(measurements: list[Measurement], key) -> Measurement:
    return sorted(measurements, key=key)[len(measurements) // 2]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="requests per throughput round")
    parser.add_argument("--latency-requests", type=int, default=1000, help="sequential requests per latency round")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per set-up (median reported)")
    parser.add_argument("--upstream-server", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="1,000 + 300 requests, 2 rounds")
    args = parser.parse_args()
    if args.quick:
        args.requests, args.latency_requests, args.rounds = 1000, 300, 2
    if args.upstream_server is not None:
        serve_upstream(args.upstream_server)
        return 0

    upstream_port = free_port()
    upstream = subprocess.Popen([sys.executable, __file__, "--upstream-server", str(upstream_port)])
    results: dict[str, list[tuple[Measurement, Measurement]]] = {"plain": [], "addon": []}
    with tempfile.TemporaryDirectory(prefix="webexlint-bench-") as scratch:
        confdir = Path(scratch) / "mitmproxy"
        log = Path(scratch) / "findings.jsonl"
        setups = {
            "plain": None,
            "addon": ["--set", f"webexlint_findings_log={log}", "--set", "webexlint_ci_site=acme"],
        }
        try:
            wait_for_port(upstream_port, upstream, 60.0)
            for _round in range(args.rounds):
                for name, options in setups.items():
                    process, port = start_mitmdump(upstream_port, confdir, options)
                    try:
                        results[name].append(measure(process, port, args))
                    finally:
                        stop_process(process)
        finally:
            stop_process(upstream)
        findings_logged = sum(1 for _ in log.open()) if log.exists() else 0

    print(f"proxy overhead: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}, {args.rounds} alternating rounds, median round shown")
    print(f"load: {args.requests} requests over {args.concurrency} keep-alive clients, then "
          f"{args.latency_requests} sequential; {len(REQUESTS)} request kinds, 2 of them with findings")
    rows = {}
    for name in ("plain", "addon"):
        throughput = median_by([t for t, _ in results[name]], key=lambda m: m.rate)
        latency = median_by([lat for _, lat in results[name]], key=lambda m: m.percentile(50))
        rows[name] = (throughput, latency)
        print(f"  {name:<6} {throughput.rate:8.0f} req/s   under load p50 {throughput.percentile(50):6.2f} ms "
              f"p99 {throughput.percentile(99):6.2f} ms   one at a time p50 {latency.percentile(50):6.3f} ms "
              f"p99 {latency.percentile(99):6.3f} ms")
    plain, addon = rows["plain"], rows["addon"]
    ratio = addon[0].rate / plain[0].rate
    added_p50 = addon[1].percentile(50) - plain[1].percentile(50)
    cpu = {name: statistics.median(t.cpu_per_request("proxy") for t, _ in results[name]) for name in results}
    worker_cpu = statistics.median(t.cpu_per_request("worker") for t, _ in results["addon"])
    cpu_ratio = cpu["addon"] / cpu["plain"]
    print(f"  addon/plain throughput ratio {ratio:.3f} ({(1 - ratio) * 100:+.1f}% cost; target <= 5%)")
    print(f"  added p50 latency, one at a time: {added_p50:.3f} ms (target < 0.5 ms)")
    print(f"  mitmdump CPU per request (median of rounds): plain {cpu['plain']:.0f} us, addon {cpu['addon']:.0f} us "
          f"({(cpu_ratio - 1) * 100:+.1f}%: the event loop's share of the addon); lint worker {worker_cpu:.0f} us "
          f"per request, on the other core")
    print(f"  findings log lines written by the addon runs: {findings_logged}")
    print(f"\nRATIO proxy addon/plain throughput: {ratio:.3f}")
    print(f"RATIO proxy added p50 ms: {added_p50:.3f}")
    print(f"RATIO proxy event-loop CPU per request addon/plain: {cpu_ratio:.3f}")
    print(f"RATIO proxy mitmdump+worker CPU per request addon/plain: {(cpu['addon'] + worker_cpu) / cpu['plain']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
