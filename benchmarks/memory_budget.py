"""Peak memory of linting one message, by shape and size, against the per-message budget (issue 12).

    .venv/bin/python benchmarks/memory_budget.py [--sizes 1,2,4,8,16] [--validate] [--quick]

Shapes (built here, written to a temporary folder, up to the 16 MiB byte bound):
  empty-elements   <e/> repeated: an element every 4 bytes, the densest tree
  text-elements    <e>x</e> repeated
  attributes       <e a="1" b="2" c="3"/> repeated
  findings         <HQvideo>TRUE</HQvideo> repeated in a CreateMeeting: one WX301 each (capped)
  one-big-text     a CreateEvent whose description is the whole size (one element)
  list-response    a LstsummaryMeeting response with as many meetings as fit (a real shape)
Each measurement runs in a fresh interpreter that reads the message from its file, lints a small
message first (rule packs loaded, caches warm), then lints the big one once: memory is the growth of
the resident set from just before that lint to its peak (the peak reset through /proc/self/clear_refs first,
then VmHWM - VmRSS; libxml2's tree included).
Printed against parsing.MEMORY_BUDGET, with what the linter said (WX009 when refused).
Figures only, no asserts (tests/test_hardening_memory.py asserts the budget).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import REPO, big_description_request, big_list_response, machine_line

from proxy_addon.core.parsing import (
    DEFAULT_MAX_BYTES,
    MEMORY_BUDGET,
    lint_memory_estimate,
)
from tests.builders import request_xml

MiB = 1024 * 1024


def _repeat(operation: str, unit: str, size: int, *, before: str = "", after: str = "", package: str = "user") -> bytes:
    room = max(size - 600 - len(before) - len(after), 0)
    return request_xml(operation, before + unit * (room // len(unit)) + after, package=package)


SHAPES = {
    "empty-elements": lambda size: _repeat("GetUser", "<e/>", size),
    "text-elements": lambda size: _repeat("GetUser", "<e>x</e>", size),
    "attributes": lambda size: _repeat("GetUser", '<e a="1" b="2" c="3"/>', size),
    "findings": lambda size: _repeat("CreateMeeting", "<HQvideo>TRUE</HQvideo>", size, package="meeting",
                                     before="<metaData><confName>m</confName></metaData><enableOptions>",
                                     after="</enableOptions>"),
    "one-big-text": lambda size: big_description_request(size - 1000),
    "list-response": lambda size: big_list_response(size),
}

def measure(path: Path, validate: bool) -> dict:
    """What one lint of the message at `path` cost, in a fresh process (tests/lint_memory_probe.py)."""
    done = subprocess.run([sys.executable, "-m", "tests.lint_memory_probe", str(path), "validate" if validate else "plain"],
                          capture_output=True, text=True, check=True, cwd=REPO)
    measured = json.loads(done.stdout)
    rules: dict[str, int] = {}
    for rule, _ in measured["findings"]:
        rules[rule] = rules.get(rule, 0) + 1
    return {"growth": measured["growth"], "cpu": measured["cpu"], "rules": rules}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1,2,4,8,16", help="message sizes in MiB (16 means the 16 MiB bound)")
    parser.add_argument("--validate", action="store_true", help="also lint with --validate (XSD)")
    parser.add_argument("--shapes", default=",".join(SHAPES), help="comma-separated shapes")
    parser.add_argument("--quick", action="store_true", help="sizes 2 and 16, no --validate")
    options = parser.parse_args()
    sizes = [2, 16] if options.quick else [int(size) for size in options.sizes.split(",")]
    modes = [False, True] if options.validate and not options.quick else [False]
    print(machine_line())
    print(f"budget: {MEMORY_BUDGET / MiB:.0f} MiB a message (proxy_addon/core/parsing.py MEMORY_BUDGET)")
    print(f"{'shape':<16} {'MiB':>4} {'mode':<9} {'estimate':>9} {'peak growth':>12} {'of budget':>9} {'CPU s':>6}  said")
    worst = 0.0
    with tempfile.TemporaryDirectory() as folder:
        for shape in options.shapes.split(","):
            for size in sizes:
                data = SHAPES[shape](min(size * MiB, DEFAULT_MAX_BYTES - 256 * 1024))
                path = Path(folder) / f"{shape}-{size}.xml"
                path.write_bytes(data)
                for validate in modes:
                    estimate = lint_memory_estimate(len(data), data.decode(), validate)[0]
                    started = time.monotonic()
                    figures = measure(path, validate)
                    share = figures["growth"] / MEMORY_BUDGET
                    worst = max(worst, share)
                    said = ", ".join(f"{rule}x{count}" for rule, count in sorted(figures["rules"].items())) or "-"
                    print(f"{shape:<16} {len(data) / MiB:>4.1f} {'validate' if validate else 'lint':<9} "
                          f"{estimate / MiB:>5.0f} MiB "
                          f"{figures['growth'] / MiB:>8.0f} MiB {share:>8.0%} {figures['cpu']:>6.2f}  {said}"
                          f"  ({time.monotonic() - started:.0f} s)", flush=True)
    print(f"RATIO memory budget used: {worst:.2f} (the worst message; target <= 1.00)")


if __name__ == "__main__":
    main()
