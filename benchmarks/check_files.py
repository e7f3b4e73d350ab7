"""`check` over many files against a bare read-and-parse of the same files, whole processes, CPU time.

    .venv/bin/python benchmarks/check_files.py [--copies 40] [--rounds 3] [--quick]

The corpus (shared/corpus, 94 real messages) is copied --copies times into a scratch folder; then,
--rounds times, in turn:
  bare     python -c "..."   walks the folder, reads each file and lxml-parses it with the linter's
                             hardened parser options (start-up included)
  check    webex-xml-lint check --format json FOLDER   (everything: start-up, rules, findings, output)
CPU time (user + system) of each child; medians; the ratio check / bare is issue 15's first target
(<= 2.0). The same measurement as ../shared/bench/lint_bench.py, kept here so `make bench` prints it
beside the other ratios. Bytecode is cached, as for an installed package. Figures only, no asserts.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from _common import CORPUS, machine_line, time_command

BIN = Path(sys.executable).parent
ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
BARE = r"""
import os, sys
from lxml import etree
parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
for root, _, names in os.walk(sys.argv[1]):
    for name in names:
        with open(os.path.join(root, name), "rb") as stream:
            data = stream.read()
        try:
            etree.fromstring(data, parser)
        except etree.XMLSyntaxError:
            pass
"""


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--copies", type=int, default=40, help="copies of the corpus (94 messages each)")
    options.add_argument("--rounds", type=int, default=5, help="interleaved rounds (median kept)")
    options.add_argument("--quick", action="store_true", help="10 copies, 3 rounds")
    args = options.parse_args()
    if args.quick:
        args.copies, args.rounds = 10, 3
    files = sorted(CORPUS.glob("**/*.xml"))
    with tempfile.TemporaryDirectory(prefix="webexlint-check-files-") as scratch:
        count = 0
        for copy in range(args.copies):
            folder = Path(scratch) / f"c{copy:03d}"
            folder.mkdir()
            for index, path in enumerate(files):
                shutil.copyfile(path, folder / f"{index:03d}.xml")
                count += 1
        commands = {
            "bare": [sys.executable, "-c", BARE, scratch],
            "check": [str(BIN / "webex-xml-lint"), "check", "--format", "json", "--exit-zero", scratch],
        }
        for command in commands.values():  # warm the file cache and the bytecode
            time_command(command, env=ENV)
        cpus: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.rounds):
            for name, command in commands.items():
                cpus[name].append(time_command(command, env=ENV)[1])
    bare, check = statistics.median(cpus["bare"]), statistics.median(cpus["check"])
    print(f"check over many files: {machine_line()}")
    print(f"{count} files ({args.copies} copies of the corpus), {args.rounds} interleaved rounds, median CPU "
          "(user + system) of each process\n")
    print(f"  bare   {bare * 1e3:7.0f} ms  ({bare / count * 1e6:5.1f} us a file, start-up included)")
    print(f"  check  {check * 1e3:7.0f} ms  ({check / count * 1e6:5.1f} us a file, start-up included)")
    print(f"\nRATIO check files/bare parse CPU: {check / bare:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
