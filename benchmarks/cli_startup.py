"""CLI start-up: `webex-xml-lint --version` and `check` of one small file against importing lxml.

    .venv/bin/python benchmarks/cli_startup.py [--runs 15] [--quick] [--importtime]

Commands, run in turn (interleaved) --runs times each, wall and CPU time of the whole process:
  python     python -c "import lxml.etree"          the floor: an interpreter that can parse XML
  version    webex-xml-lint --version
  check      webex-xml-lint check examples/11-get-user-clean.xml   (a clean 0.5 KB message: exit 0)
Prints the medians of each and the ratio of the CPU medians to the floor (CPU time, user +
system, moves far less than wall time on a shared machine).
Bytecode is cached as for an installed package (PYTHONDONTWRITEBYTECODE is dropped for the runs).
--importtime also prints the slowest imports of `check` (python -X importtime), to see what to
make lazy. Figures only, no asserts.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

from _common import REPO, machine_line, time_command

BIN = Path(sys.executable).parent
SMALL_FILE = "examples/11-get-user-clean.xml"
# An installed package runs from cached bytecode; with PYTHONDONTWRITEBYTECODE set (as in some
# shells and CI) every run would compile the project's modules again and measure the compiler.
ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
COMMANDS = {
    "python": [sys.executable, "-c", "import lxml.etree"],
    "version": [str(BIN / "webex-xml-lint"), "--version"],
    "check": [str(BIN / "webex-xml-lint"), "check", SMALL_FILE],
}


def slowest_imports(count: int) -> list[tuple[int, str]]:
    """(cumulative microseconds, module) of the slowest imports of a `check` run."""
    out = subprocess.run([sys.executable, "-X", "importtime", "-m", "proxy_addon.cli", "check", SMALL_FILE],
                         cwd=REPO, env=ENV, capture_output=True, text=True, check=True)
    rows = []
    for line in out.stderr.splitlines():
        if line.startswith("import time:") and "|" in line and "cumulative" not in line:
            _, cumulative, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
            rows.append((int(cumulative), name))
    return sorted(rows, reverse=True)[:count]


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--runs", type=int, default=15, help="runs of each command (median kept)")
    options.add_argument("--quick", action="store_true", help="5 runs")
    options.add_argument("--importtime", action="store_true", help="list the slowest imports of check")
    args = options.parse_args()
    if args.quick:
        args.runs = 5

    for command in COMMANDS.values():  # warm the file cache, write .pyc files: measure start-up, not disk
        time_command(command, env=ENV)
    walls: dict[str, list[float]] = {name: [] for name in COMMANDS}
    cpus: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(args.runs):
        for name, command in COMMANDS.items():
            wall, cpu = time_command(command, env=ENV)
            walls[name].append(wall)
            cpus[name].append(cpu)

    print(f"CLI start-up: {machine_line()}")
    print(f"{args.runs} interleaved runs of each command; median wall time and median CPU time (user + "
          "system) of the process; ratios of CPU medians\n")
    floor = statistics.median(cpus["python"])
    ratios = {}
    for name, command in COMMANDS.items():
        cpu = statistics.median(cpus[name])
        ratios[name] = cpu / floor
        shown = " ".join(Path(command[0]).name if i == 0 else part for i, part in enumerate(command))
        print(f"  {name:<8} wall {statistics.median(walls[name]) * 1e3:6.1f} ms  CPU {cpu * 1e3:6.1f} ms  "
              f"{ratios[name]:5.2f} x   {shown}")
    print()
    for name in ("version", "check"):
        print(f"RATIO start-up {name}/import lxml: {ratios[name]:.2f}")
    if args.importtime:
        print("\nslowest imports of check (cumulative, python -X importtime, one run):")
        for micros, module in slowest_imports(15):
            print(f"  {micros / 1e3:7.1f} ms  {module}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
