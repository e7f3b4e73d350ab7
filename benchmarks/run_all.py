"""Run every benchmark (what `make bench` does) and sum up the key ratios against their targets.

    .venv/bin/python benchmarks/run_all.py [--quick] [NAME ...]

Each script runs in its own process, its output streamed as it comes, with modest sizes (a few
minutes in all on a 2-core machine; --quick passes --quick to each for a smoke run of about a
minute). Every script prints its ratios, each measured against a baseline in the same run, on lines
starting with "RATIO"; the summary at the end lists them with the targets of issues 6 and 15. Targets are
reported, not asserted: the exit status is non-zero only when a script fails. NAME picks scripts
(e.g. `lint_throughput big_body`).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# script -> arguments for a full run (a few minutes in all)
SCRIPTS: dict[str, list[str]] = {
    "check_files": [],
    "lint_throughput": [],
    "big_body": [],
    "cli_startup": [],
    "validation": [],
    "audit_throughput": ["--messages", "20000"],
    "audit_digest": [],
    "memory_budget": ["--quick"],
    "proxy_overhead": ["--requests", "2000", "--latency-requests", "500", "--rounds", "3"],
}

# RATIO label prefix -> (target text, test of the value). Ratios without an entry have no target.
TARGETS: dict[str, tuple[str, object]] = {
    "lint/parse": ("<= 2", lambda value: value <= 2.0),
    "proxy addon/plain throughput": (">= 0.95 (cost <= 5%)", lambda value: value >= 0.95),
    "audit/check CPU": ("<= 3 (issue 12)", lambda value: value <= 3.0),
    "memory budget used": ("<= 1 (issue 12)", lambda value: value <= 1.0),
    "proxy added p50 ms": ("<= 0.5", lambda value: value <= 0.5),
    "proxy event-loop CPU per request addon/plain": ("<= 1.05 (issue 15)", lambda value: value <= 1.05),
    "proxy mitmdump+worker CPU per request addon/plain": ("<= 1.25 (issue 15)", lambda value: value <= 1.25),
    "check files/bare parse CPU": ("<= 2.0 (issue 15)", lambda value: value <= 2.0),
    "start-up check/import lxml": ("<= 1.2 (issue 15)", lambda value: value <= 1.2),
    "big ": ("<= 3 (issue 15: keep)", lambda value: value <= 3.0),
}
RATIO_LINE = re.compile(r"^RATIO (?P<label>.+?): (?P<value>-?[0-9.]+)(?P<rest>.*)$")


def run(name: str, arguments: list[str]) -> tuple[int, list[tuple[str, float, str]], float]:
    """Run one script, streaming its output; (exit status, its RATIO lines, seconds)."""
    print(f"\n=== {name} {' '.join(arguments)}".rstrip(), flush=True)
    started = time.monotonic()
    ratios = []
    with subprocess.Popen([sys.executable, str(HERE / f"{name}.py"), *arguments], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, bufsize=1) as process:
        assert process.stdout is not None
        for line in process.stdout:
            print(line, end="", flush=True)
            found = RATIO_LINE.match(line.strip())
            if found:
                ratios.append((found["label"], float(found["value"]), found["rest"].strip()))
    return process.returncode, ratios, time.monotonic() - started


def verdict(label: str, value: float) -> tuple[str, str]:
    for prefix, (target, meets) in TARGETS.items():
        if label.startswith(prefix):
            return target, "met" if meets(value) else "NOT met"
    return "", ""


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--quick", action="store_true", help="pass --quick to every script (smoke run)")
    options.add_argument("names", nargs="*", metavar="NAME", help=f"scripts to run ({", ".join(SCRIPTS)})")
    args = options.parse_args()
    names = args.names or list(SCRIPTS)
    unknown = [name for name in names if name not in SCRIPTS]
    if unknown:
        options.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(SCRIPTS)}")

    failed, rows, durations = [], [], {}
    for name in names:
        arguments = ["--quick"] if args.quick else SCRIPTS[name]
        status, ratios, seconds = run(name, arguments)
        durations[name] = seconds
        if status != 0:
            failed.append(f"{name} (exit {status})")
        rows.extend((name, *ratio) for ratio in ratios)

    print("\n=== summary: ratios measured in one run each (targets are reported, not asserted)")
    width = max((len(label) for _, label, _, _ in rows), default=10)
    print(f"{'benchmark':<17} {'ratio':<{width}} {'value':>8}  {'target':<21} verdict")
    for name, label, value, rest in rows:
        target, outcome = verdict(label, value)
        note = f"  {rest}" if rest and not outcome else ""
        print(f"{name:<17} {label:<{width}} {value:>8.2f}  {target:<21} {outcome}{note}".rstrip())
    print("\ntime per benchmark: " + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in durations.items()))
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
