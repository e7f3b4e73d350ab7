"""`make bench`: the issue-19 targets measured by the shared harness, then the repository's own benchmarks.

    .venv/bin/python benchmarks/run_all.py [--repeat N] [--harness-only | --own-only] [--quick] [NAME ...]

First the shared harness (`../shared/bench/`) runs with its own command lines, exactly as its README
gives them, from the repository's folder:

    .venv/bin/python ../shared/bench/lint_bench.py .venv/bin/webex-xml-lint .venv/bin/python ../shared/corpus 40 3
    .venv/bin/python ../shared/bench/proxy_bench.py .venv/bin/webex-xml-lint .venv/bin/mitmdump ../shared/corpus 3 1500

(`.venv/bin` is the folder of the Python running this script; PYTHONPATH names this checkout, so a
git worktree measures its own code). Every target of issue 19 is printed with its figure, its verdict
and the machine's load average before and after the run that measured it: a target counts only on a
quiet machine (load below 1.5). `--repeat N` runs each harness N times and keeps each figure's
median (issue 19: "the median of three runs").

Then the repository's own benchmarks (those the harness does not cover), each in its own process,
ending with their RATIO lines against their targets. Targets are reported, never asserted: the exit
status is non-zero only when a command fails. `--quick` runs smaller sizes: its harness figures are
not the harness's and are marked so. NAME picks benchmarks (`lint_bench`, `proxy_bench`, `big_body`...).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BIN = Path(sys.executable).parent
QUIET_LOAD = 1.5  # issue 19: targets hold "on a quiet machine (load below 1.5)"

# The harness's scripts and their arguments after CLI and PYTHON/MITMDUMP: (full run, --quick).
HARNESS: dict[str, tuple[str, list[str], list[str]]] = {
    "lint_bench": ("python", ["../shared/corpus", "40", "3"], ["../shared/corpus", "10", "3"]),
    "proxy_bench": ("mitmdump", ["../shared/corpus", "3", "1500"], ["../shared/corpus", "1", "500"]),
}


@dataclass
class Target:
    """One row of issue 19's table."""

    harness: str
    key: str  # the figure's name in what parse_harness returns
    what: str
    goal: str
    meets: object  # figure -> bool
    detail: str = ""  # a format of other figures shown beside it

    def verdict(self, value: float) -> str:
        return "met" if self.meets(value) else "not met"  # type: ignore[operator]


TARGETS = [
    Target("lint_bench", "folder", "check over the corpus x40 / bare read+parse (CPU)", "<= 2.0x",
           lambda v: v <= 2.0, "{folder:.2f}x ({per_message:.0f} us/msg)"),
    Target("lint_bench", "one_file", "check of one file / python -c 'import lxml.etree' (CPU)", "<= 1.2x",
           lambda v: v <= 1.2, "{one_file:.2f}x ({check_ms:.0f} vs {lxml_ms:.0f} ms)"),
    Target("proxy_bench", "throughput", "proxy / plain mitmdump, throughput at 8 clients", ">= 0.95x",
           lambda v: v >= 0.95, "{throughput:.2f}x"),
    Target("proxy_bench", "own_cpu", "mitmdump's own CPU per request", "<= 1.05x",
           lambda v: v <= 1.05, "{own_cpu:.2f}x"),
    Target("proxy_bench", "with_worker", "mitmdump + lint worker CPU per request", "<= 1.25x",
           lambda v: v <= 1.25, "{with_worker:.2f}x"),
    Target("proxy_bench", "p50_ms", "p50 latency added, one request at a time", "<= +0.5 ms",
           lambda v: v <= 0.5, "{p50_ms:+.2f} ms"),
]

# What the harness prints (../shared/bench/*.py); a change there shows up as "no figures".
HARNESS_LINES = {
    "lint_bench": [
        re.compile(r"\((?P<per_message>\d+) us/msg after start-up\); one file: check (?P<check_ms>\d+) ms "
                   r"vs import lxml (?P<lxml_ms>\d+) ms"),
        re.compile(r"check / bare parse = (?P<folder>[\d.]+)x over (?P<messages>\d+) real messages; "
                   r"start-up (?P<one_file>[\d.]+)x"),
    ],
    "proxy_bench": [
        re.compile(r"throughput (?P<throughput>[\d.]+)x, mitmdump CPU/req (?P<own_cpu>[\d.]+)x, "
                   r"with worker (?P<with_worker>[\d.]+)x, p50 \+?(?P<p50_ms>-?[\d.]+) ms"),
    ],
}

# The repository's own benchmarks: script -> arguments for a full run. The harness covers what
# check_files.py, cli_startup.py and proxy_overhead.py measured; proxy_overhead.py stays for its
# options and p99 latency (run it by name).
OWN: dict[str, list[str]] = {
    "lint_throughput": [],
    "big_body": [],
    "validation": [],
    "audit_throughput": ["--messages", "20000"],
    "audit_digest": [],
    "memory_budget": ["--quick"],
}
BY_NAME_ONLY: dict[str, list[str]] = {
    "proxy_overhead": ["--requests", "2000", "--latency-requests", "500", "--rounds", "3"],
}

# RATIO label prefix -> (target text, test of the value). Ratios without an entry have no target.
OWN_TARGETS: dict[str, tuple[str, object]] = {
    "lint/parse": ("<= 2", lambda value: value <= 2.0),
    "audit/check CPU": ("<= 3 (issue 12)", lambda value: value <= 3.0),
    "memory budget used": ("<= 1 (issue 12)", lambda value: value <= 1.0),
    "big ": ("<= 3 (issue 15: keep)", lambda value: value <= 3.0),
    "proxy addon/plain throughput": (">= 0.95", lambda value: value >= 0.95),
    "proxy added p50 ms": ("<= 0.5", lambda value: value <= 0.5),
    "proxy event-loop CPU per request addon/plain": ("<= 1.05", lambda value: value <= 1.05),
    "proxy mitmdump+worker CPU per request addon/plain": ("<= 1.25", lambda value: value <= 1.25),
}
RATIO_LINE = re.compile(r"^RATIO (?P<label>.+?): (?P<value>-?[0-9.]+)(?P<rest>.*)$")


def child_env() -> dict[str, str]:
    """This checkout first on the path: the installed command then runs the code measured."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}


def stream(command: list[str]) -> tuple[int, list[str]]:
    """Run a command from the repository's folder, its output shown as it comes; (status, lines)."""
    lines = []
    with subprocess.Popen(command, cwd=REPO, env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, bufsize=1) as process:
        assert process.stdout is not None
        for line in process.stdout:
            print(line, end="", flush=True)
            lines.append(line.rstrip("\n"))
    return process.returncode, lines


def shown(path: Path) -> str:
    try:
        return os.path.relpath(path, REPO)
    except ValueError:
        return str(path)


def harness_command(name: str, quick: bool) -> list[str]:
    baseline, full, smaller = HARNESS[name]
    return [sys.executable, f"../shared/bench/{name}.py", str(BIN / "webex-xml-lint"), str(BIN / baseline),
            *(smaller if quick else full)]


def parse_harness(name: str, lines: list[str]) -> dict[str, float]:
    figures: dict[str, float] = {}
    for pattern in HARNESS_LINES[name]:
        for line in lines:
            found = pattern.search(line)
            if found:
                figures.update({key: float(value) for key, value in found.groupdict().items()})
    return figures


def load() -> float:
    return os.getloadavg()[0]


def run_harness(names: list[str], repeat: int, quick: bool) -> tuple[list[str], list[str]]:
    """Run each harness `repeat` times; print the targets table. (failures, summary lines)."""
    failed: list[str] = []
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    loads: dict[str, list[float]] = {name: [] for name in names}
    for name in names:
        for attempt in range(repeat):
            command = harness_command(name, quick)
            print(f"\n=== {name} ({attempt + 1}/{repeat}), load {load():.2f}: "
                  f"{' '.join(shown(Path(part)) if part.startswith('/') else part for part in command)}", flush=True)
            loads[name].append(load())
            status, lines = stream(command)
            loads[name].append(load())
            figures = parse_harness(name, lines)
            if status not in (0, 1) or not figures:  # the harness exits 1 for a target not met
                failed.append(f"{name} (exit {status}{', no figures' if not figures else ''})")
                continue
            runs[name].append(figures)

    title = (f"issue 19 targets, shared harness (../shared/bench), "
             f"{'median of ' + str(repeat) + ' runs' if repeat > 1 else 'one run'} each"
             + (" -- QUICK: smaller sizes, not the harness's figures" if quick else ""))
    rows = [("target", "figure", "goal", "verdict", "load (1 min)")]
    for target in TARGETS:
        if target.harness not in runs:
            continue
        measured = runs[target.harness]
        if not measured:
            rows.append((target.what, "(no figures)", target.goal, "", ""))
            continue
        figures = {key: statistics.median(run[key] for run in measured) for key in measured[0]}
        value = figures[target.key]
        spread = (" [" + ", ".join(f"{run[target.key]:.2f}" for run in measured) + "]") if len(measured) > 1 else ""
        low, high = min(loads[target.harness]), max(loads[target.harness])
        verdict = target.verdict(value) + ("" if high < QUIET_LOAD else " (not quiet)")
        rows.append((target.what, target.detail.format(**figures) + spread, target.goal, verdict,
                     f"{low:.2f}-{high:.2f}"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    summary = [f"\n=== {title}"] + ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
                                      for row in rows]
    summary.append(f"(measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; a verdict marked "
                   f"'not quiet' was taken at a load average of {QUIET_LOAD} or more)")
    return failed, summary


def run_own(names: list[str], quick: bool) -> tuple[list[str], list[str]]:
    failed, rows, durations = [], [], {}
    for name in names:
        arguments = ["--quick"] if quick else {**OWN, **BY_NAME_ONLY}[name]
        print(f"\n=== {name} {' '.join(arguments)}".rstrip() + f", load {load():.2f}", flush=True)
        started = time.monotonic()
        status, lines = stream([sys.executable, str(HERE / f"{name}.py"), *arguments])
        durations[name] = time.monotonic() - started
        if status != 0:
            failed.append(f"{name} (exit {status})")
        for line in lines:
            found = RATIO_LINE.match(line.strip())
            if found:
                rows.append((name, found["label"], float(found["value"]), found["rest"].strip()))
    summary = ["\n=== the repository's own benchmarks: ratios measured in one run each"]
    width = max((len(label) for _, label, _, _ in rows), default=10)
    summary.append(f"{'benchmark':<17} {'ratio':<{width}} {'value':>8}  {'target':<21} verdict")
    for name, label, value, rest in rows:
        target, outcome = next(((goal, "met" if meets(value) else "not met")  # type: ignore[operator]
                                for prefix, (goal, meets) in OWN_TARGETS.items() if label.startswith(prefix)), ("", ""))
        note = f"  {rest}" if rest and not outcome else ""
        summary.append(f"{name:<17} {label:<{width}} {value:>8.2f}  {target:<21} {outcome}{note}".rstrip())
    summary.append("time per benchmark: " + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in durations.items()))
    return failed, summary


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--repeat", type=int, default=1, metavar="N",
                         help="run each harness N times and report each figure's median (default 1)")
    options.add_argument("--quick", action="store_true", help="smaller sizes everywhere (a smoke run)")
    only = options.add_mutually_exclusive_group()
    only.add_argument("--harness-only", action="store_true", help="only the shared harness (the issue-19 targets)")
    only.add_argument("--own-only", action="store_true", help="only the repository's own benchmarks")
    known = [*HARNESS, *OWN, *BY_NAME_ONLY]
    options.add_argument("names", nargs="*", metavar="NAME", help=f"benchmarks to run ({', '.join(known)})")
    args = options.parse_args()
    unknown = [name for name in args.names if name not in known]
    if unknown:
        options.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(known)}")
    if args.repeat < 1:
        options.error("--repeat must be at least 1")
    if not (REPO.parent / "shared" / "bench").is_dir() and not args.own_only:
        options.error(f"the shared harness is not at {REPO.parent / 'shared' / 'bench'} (use --own-only)")
    harness = [n for n in HARNESS if n in args.names or (not args.names and not args.own_only)]
    own = [n for n in known if n not in HARNESS and (n in args.names or (not args.names and not args.harness_only
                                                                           and n in OWN))]
    failed, summary = [], []
    if harness:
        problems, lines = run_harness(harness, args.repeat, args.quick)
        failed += problems
        summary += lines
    if own:
        problems, lines = run_own(own, args.quick)
        failed += problems
        summary = lines + summary  # the targets table last, where the eye lands
    print("\n".join(summary))
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
