"""A ~5 MB serv:message: time and peak memory of bare parsing, linting, and linting with fixes.

    .venv/bin/python benchmarks/big_body.py [--size 5000000] [--rounds 3] [--quick]

Messages (built here, written to a temporary folder):
  list         a LstsummaryMeeting response with as many meetings as fit in --size bytes
  description  a CreateEvent request whose description is --size bytes long (WX401, with an
               unsafe truncate fix)
Modes, each in a fresh interpreter per measurement (so one mode's garbage never counts for another):
  bare         lxml.etree.fromstring with the linter's hardened parser
  lint         Linter().lint (the rule packs are loaded before the clock starts)
  lint+fix     lint, then apply_fixes(unsafe=True) (the bytes of the fixed message)
Time: CPU seconds of the operation, best of 3 in the process, median over --rounds processes
interleaved by mode. Memory, in another process each: the growth of the resident set from just
before the operation to its peak (ru_maxrss, which counts libxml2's tree too), and the peak of
Python's own allocations (tracemalloc; libxml2 allocates outside it). Ratios are against bare.
Figures only, no asserts.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import big_description_request, big_list_response, machine_line

MODES = ("bare", "lint", "lint+fix")
KINDS = {"list": big_list_response, "description": big_description_request}


def _operation(mode: str):
    """The measured operation for `mode`, with everything it needs loaded before the clock starts."""
    from lxml import etree  # noqa: PLC0415 (the parent process never parses)

    from proxy_addon.core.fixes import apply_fixes  # noqa: PLC0415
    from proxy_addon.core.parsing import _parser  # noqa: PLC0415
    from proxy_addon.lint.context import LintContext  # noqa: PLC0415
    from proxy_addon.lint.engine import Linter  # noqa: PLC0415

    if mode == "bare":
        parser = _parser()
        return lambda data: etree.fromstring(data, parser)
    linter = Linter()
    context = LintContext(ci_sites=frozenset({"acme"}))
    if mode == "lint":
        return lambda data: linter.lint(data, context=context)
    return lambda data: (result := linter.lint(data, context=context), apply_fixes(result, unsafe=True))


def _resident_kib() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * resource.getpagesize() // 1024


def measure_in_process(mode: str, path: str, memory: bool) -> dict:
    """Runs in the child: one mode on one message, time or memory."""
    data = Path(path).read_bytes()
    operate = _operation(mode)
    if not memory:
        best = float("inf")
        for _ in range(3):
            started = time.process_time()
            outcome = operate(data)
            best = min(best, time.process_time() - started)
            del outcome
        return {"seconds": best}
    import tracemalloc  # noqa: PLC0415

    before = _resident_kib()
    tracemalloc.start()
    outcome = operate(data)
    _, python_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    del outcome
    return {"rss_growth_kib": max(0, peak - before), "python_peak_bytes": python_peak}


def run_child(mode: str, path: Path, memory: bool) -> dict:
    command = [sys.executable, __file__, "--child", mode, str(path)] + (["--memory"] if memory else [])
    out = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--size", type=int, default=5_000_000, help="bytes per message (default 5 MB)")
    options.add_argument("--rounds", type=int, default=3, help="processes per mode and message (median kept)")
    options.add_argument("--quick", action="store_true", help="1 round")
    options.add_argument("--child", nargs=2, metavar=("MODE", "FILE"), help=argparse.SUPPRESS)
    options.add_argument("--memory", action="store_true", help=argparse.SUPPRESS)
    args = options.parse_args()
    if args.child:
        print(json.dumps(measure_in_process(*args.child, memory=args.memory)))
        return 0
    if args.quick:
        args.rounds = 1

    print(f"big body: {machine_line()}")
    print(f"CPU ms best of 3 in a process, median of {args.rounds} processes interleaved by mode; memory from "
          "one process per mode\n")
    print(f"{'message':<12} {'MB':>5} {'mode':<9} | {'ms':>7} {'x bare':>6} | {'RSS +MiB':>8} {'x bare':>6} | "
          f"{'Python peak MiB':>15}")
    summary = []
    with tempfile.TemporaryDirectory(prefix="big-body-") as scratch:
        for kind, build in KINDS.items():
            path = Path(scratch) / f"{kind}.xml"
            path.write_bytes(build(args.size))
            megabytes = path.stat().st_size / 1e6
            seconds: dict[str, list[float]] = {mode: [] for mode in MODES}
            for _ in range(args.rounds):
                for mode in MODES:
                    seconds[mode].append(run_child(mode, path, memory=False)["seconds"])
            memory = {mode: run_child(mode, path, memory=True) for mode in MODES}
            timed = {mode: statistics.median(values) for mode, values in seconds.items()}
            base_time, base_rss = timed["bare"], max(memory["bare"]["rss_growth_kib"], 1)
            for mode in MODES:
                rss = memory[mode]["rss_growth_kib"]
                print(f"{kind:<12} {megabytes:>5.1f} {mode:<9} | {timed[mode] * 1e3:>7.1f} "
                      f"{timed[mode] / base_time:>6.2f} | {rss / 1024:>8.1f} {rss / base_rss:>6.2f} | "
                      f"{memory[mode]['python_peak_bytes'] / 1048576:>15.1f}")
            for mode in MODES[1:]:
                summary.append(f"RATIO big {kind} {mode}/bare time: {timed[mode] / base_time:.2f}")
                summary.append(f"RATIO big {kind} {mode}/bare RSS growth: "
                               f"{memory[mode]['rss_growth_kib'] / base_rss:.2f}")
    print()
    print("\n".join(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
