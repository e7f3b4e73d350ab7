"""Offline lint throughput against bare lxml parsing of the same messages (target: lint <= 2x parse).

    .venv/bin/python benchmarks/lint_throughput.py [--rounds 7] [--seconds 0.3] [--quick]

Message sets, each timed on its own:
  corpus    the real-world messages of ../shared/corpus plus examples/*.xml (some malformed, many
            with undeclared prefixes: for those bare lxml stops at the first error, the linter
            recovers and parses them whole)
  1 KB      synthetic requests and responses (CreateMeeting, SetUser, LstsummaryMeeting, LstRecording)
  5 KB      the same families with longer item lists
For each set, rounds alternate between
  bare      lxml.etree.fromstring with the linter's own hardened parser (no entities, no DTD, no network)
  document  parse_document + build_message: the linter's parse step (decoding, prefix recovery, the
            protocol view); shown so the figures say where the time goes
  lint      Linter().lint with a CI site configured (every rule that can apply runs)
and the median round of each is kept. Prints messages/s and MB/s, and lint/bare. Figures only.
"""

from __future__ import annotations

import argparse

from _common import (
    corpus_messages,
    example_messages,
    interleaved,
    machine_line,
    seconds_per_pass,
    synthetic_messages,
)
from lxml import etree

from proxy_addon.core.message import build_message
from proxy_addon.core.parsing import _parser, parse_document
from proxy_addon.lint.context import LintContext
from proxy_addon.lint.engine import Linter

TARGET = 2.0
CONTEXT = LintContext(ci_sites=frozenset({"acme"}))


def bare_parse(data: bytes) -> None:
    try:
        etree.fromstring(data, _parser())
    except etree.XMLSyntaxError:
        pass


def document(data: bytes) -> None:
    parsed = parse_document(data)
    if parsed.root is not None:
        build_message(parsed.root)


def passes_for(function, items: list[bytes], seconds: float) -> int:
    """How many passes over `items` take about `seconds` (so every set gets comparable timings)."""
    one = seconds_per_pass(function, items, 1)
    return max(1, int(seconds / max(one, 1e-9)))


def measure(name: str, items: list[bytes], linter: Linter, rounds: int, seconds: float) -> dict:
    def lint(data: bytes) -> None:
        linter.lint(data, context=CONTEXT)

    passes = passes_for(lint, items, seconds)
    timed = interleaved({
        "bare": lambda: seconds_per_pass(bare_parse, items, passes),
        "document": lambda: seconds_per_pass(document, items, passes),
        "lint": lambda: seconds_per_pass(lint, items, passes),
    }, rounds)
    megabytes = sum(map(len, items)) / 1e6
    row = {"set": name, "messages": len(items), "mean_kb": megabytes * 1e3 / len(items)}
    for key, per_pass in timed.items():
        row[key] = (len(items) / per_pass, megabytes / per_pass, per_pass / len(items) * 1e6)
    row["ratio"] = timed["lint"] / timed["bare"]
    row["document_ratio"] = timed["document"] / timed["bare"]
    return row


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--rounds", type=int, default=7, help="alternating rounds per set (median kept)")
    options.add_argument("--seconds", type=float, default=0.3, help="about how long one lint pass set takes")
    options.add_argument("--quick", action="store_true", help="3 rounds of about 0.1 s")
    args = options.parse_args()
    if args.quick:
        args.rounds, args.seconds = 3, 0.1

    linter = Linter()
    sets = {
        "corpus": corpus_messages() + example_messages(),
        "1 KB": synthetic_messages(1000),
        "5 KB": synthetic_messages(5000),
    }
    print(f"lint throughput: {machine_line()}")
    print(f"{args.rounds} alternating rounds per set, median round; us = microseconds per message\n")
    print(f"{'set':<7} {'msgs':>4} {'KB':>5} | {'bare msg/s':>10} {'MB/s':>6} {'us':>6} | "
          f"{'doc us':>6} {'doc/bare':>8} | {'lint msg/s':>10} {'MB/s':>6} {'us':>6} | {'lint/bare':>9}")
    rows = [measure(name, items, linter, args.rounds, args.seconds) for name, items in sets.items()]
    for row in rows:
        bare, doc, lint = row["bare"], row["document"], row["lint"]
        print(f"{row['set']:<7} {row['messages']:>4} {row['mean_kb']:>5.1f} | {bare[0]:>10,.0f} {bare[1]:>6.1f} "
              f"{bare[2]:>6.1f} | {doc[2]:>6.1f} {row['document_ratio']:>8.2f} | {lint[0]:>10,.0f} "
              f"{lint[1]:>6.1f} {lint[2]:>6.1f} | {row['ratio']:>9.2f}")
    print()
    for row in rows:
        verdict = "met" if row["ratio"] <= TARGET else "NOT met"
        print(f"RATIO lint/parse {row['set']}: {row['ratio']:.2f} (target <= {TARGET:g}: {verdict})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
