"""Audit throughput in messages/s on a generated capture, and the store's size per message.

    .venv/bin/python benchmarks/audit_throughput.py [--messages 100000] [--jobs N] [--db URL]

Generates, in a temporary folder, HAR exports holding `--messages` messages (requests with their
responses: SetUser with siteID or CI-ignored fields, GetUser, CreateMeeting, untyped FAILURE
responses; 40 clients over 30 days). Then times, on the same messages:
  parse      parse_document + build_message, one process (the floor every lint pays)
  lint       Linter.lint, one process, nothing stored
  audit      the whole `audit` pipeline: read the HARs, lint in --jobs workers, write the store
  re-audit   the same audit again (upserts, nothing added)
and prints messages/s for each, the audit's speed as a share of the bare parse, and the store's
bytes per message. Figures only, no asserts. The default store is SQLite in the temporary folder;
`--db postgresql://...` measures a PostgreSQL store instead (it must be an empty database).
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import _common  # noqa: F401 (puts the repository on sys.path)

from proxy_addon.audit.pipeline import run_audit
from proxy_addon.audit.store import open_store
from proxy_addon.core.message import build_message
from proxy_addon.core.parsing import parse_document
from proxy_addon.inputs import Exchange, read_inputs
from proxy_addon.lint.context import LintContext
from proxy_addon.lint.engine import Linter
from tests.audit_support import har_entry, untyped_response, write_har
from tests.builders import request_xml, response_xml

ENTRIES_PER_FILE = 5000
START = datetime(2024, 4, 1, tzinfo=UTC)


def request_for(rng: random.Random, n: int) -> bytes:
    site = rng.choice(["acme", "globex", "initech", "umbrella"])
    identity = f"<siteID>{1000 + n % 7}</siteID>" if n % 5 == 0 else f"<siteName>{site}</siteName>"
    security = f"{identity}<webExID>user{n % 300}@{site}.com</webExID><password>pw-{n}</password>"
    kind = n % 4
    if kind == 0:
        fields = rng.choice(["<email>a@b.com</email>", "<timeZone>GMT</timeZone>", "<firstName>Ann</firstName>"])
        return request_xml("SetUser", f"<webExId>u{n}</webExId>{fields}", security=security)
    if kind == 1:
        return request_xml("GetUser", f"<webExId>u{n}</webExId>", security=security)
    if kind == 2:
        name = "Quarterly review " * rng.randint(1, 3)
        return request_xml("CreateMeeting", f"<metaData><confName>{name}</confName></metaData>"
                           "<schedule><startDate>05/01/2024 10:00:00</startDate></schedule>",
                           package="meeting", security=security)
    return request_xml("GetAPIVersion", "", package="ep", security=security)


def generate(folder: Path, messages: int) -> int:
    rng = random.Random(7)
    entries, files, written = [], 0, 0
    for n in range(messages // 2):
        when = START + timedelta(seconds=rng.randrange(30 * 86400))
        answer = untyped_response() if n % 3 == 0 else response_xml("GetUser", prefix="use", area="user")
        entries.append(har_entry(request_for(rng, n), answer, when=when, client=f"10.0.{n % 40}.1",
                                 agent=f"Integration/{n % 6}"))
        written += 2
        if len(entries) == ENTRIES_PER_FILE:
            write_har(folder / f"capture-{files:03}.har", entries)
            entries, files = [], files + 1
    if entries:
        write_har(folder / f"capture-{files:03}.har", entries)
    return written


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:>10,.0f} msg/s  ({seconds:6.2f} s)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--db", default=None, help="store URL (default: SQLite in the temporary folder)")
    parser.add_argument("--quick", action="store_true", help="2,000 messages")
    args = parser.parse_args()
    if args.quick:
        args.messages = 2000
    context = LintContext(ci_sites=frozenset({"acme", "globex"}))
    with tempfile.TemporaryDirectory(prefix="audit-bench-") as temp:
        folder = Path(temp)
        started = time.perf_counter()
        count = generate(folder / "capture", args.messages) if (folder / "capture").mkdir() is None else 0
        size = sum(p.stat().st_size for p in (folder / "capture").iterdir())
        print(f"generated {count:,} messages in {size / 1e6:,.1f} MB of HAR ({time.perf_counter() - started:.1f} s)")

        started = time.perf_counter()
        captured = [m for item in read_inputs([str(folder / "capture")]) if isinstance(item, Exchange)
                    for m in item.messages]
        read_seconds = time.perf_counter() - started
        print(f"read HAR    {rate(len(captured), read_seconds)}")

        started = time.perf_counter()
        for m in captured:
            document = parse_document(m.data, http_charset=m.http_charset)
            build_message(document.root, m.direction)
        parse_seconds = time.perf_counter() - started
        print(f"parse       {rate(len(captured), parse_seconds)}   baseline, 1 process")

        linter = Linter()
        started = time.perf_counter()
        for m in captured:
            linter.lint(m.data, http_charset=m.http_charset, direction=m.direction, context=context)
        lint_seconds = time.perf_counter() - started
        print(f"lint        {rate(len(captured), lint_seconds)}   1 process, nothing stored")
        del captured

        url = args.db or str(folder / "audit.sqlite")
        shares = {}
        with open_store(url) as store:
            for label in ("audit", "re-audit"):
                started = time.perf_counter()
                stats = run_audit([str(folder / "capture")], store, Linter(), context, jobs=args.jobs)
                seconds = time.perf_counter() - started
                share = shares[label] = (stats.messages / seconds) / (count / parse_seconds)
                print(f"{label:<11} {rate(stats.messages, seconds)}   {args.jobs} workers, {share:.0%} of bare parse "
                      f"speed, {stats.findings:,} findings")
            summary = store.summary()
            stored = store.size_bytes() or 0
        print(f"store       {summary['messages']:,} messages, {summary['findings']:,} findings, "
              f"{stored / 1e6:,.1f} MB: {stored / max(summary['messages'], 1):,.0f} bytes per message "
              f"({store.url})")
    print(f"\nRATIO audit lint/parse (1 process): {lint_seconds / parse_seconds:.2f}")
    print(f"RATIO audit speed/parse speed ({args.jobs} workers): {shares['audit']:.2f}")


if __name__ == "__main__":
    main()
