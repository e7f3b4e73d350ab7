"""What `check --format json FOLDER` costs per file besides the lint itself, stage by stage.

    .venv/bin/python benchmarks/file_cost.py [--copies 10] [--rounds 7]

Copies every corpus message COPIES times into a temporary folder (as the shared harness does), then
times in this process, each stage on its own and the median of ROUNDS rounds, CPU time per file:
  walk+read   the folder walk, the message sniff and reading each file (check's iter_messages)
  lint        Linter.lint on the bytes already read (the other half of the issue-19 budget)
  exchange    ExchangeLinter.lint over Linter.lint: the lone file's record
  exit        check's handling of each record: the exchange's secrets, redacted findings, fix marks
  json        the JSON document of every finding
  whole       `check --format json FOLDER` in process (with the rule set loaded anew, as a run does)
and once, for one file: the imports `check` needs, argparse, the settings and the rule set. The
shared harness (../shared/bench/lint_bench.py) gives the figures that count; this says where they go.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import CORPUS, machine_line


def _copy_corpus(copies: int) -> tuple[Path, int]:
    folder = Path(tempfile.mkdtemp(prefix="file-cost-"))
    files = sorted(CORPUS.rglob("*.xml"))
    for copy in range(copies):
        target = folder / f"c{copy:03d}"
        target.mkdir()
        for index, path in enumerate(files):
            shutil.copyfile(path, target / f"{index:03d}.xml")
    return folder, copies * len(files)


def _median_cpu(run, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.process_time()
        run()
        times.append(time.process_time() - started)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=7)
    options = parser.parse_args()

    started = time.process_time()
    from proxy_addon.cli import build_parser, main as cli_main  # noqa: PLC0415 (timed: check's imports)
    from proxy_addon.cli import check  # noqa: PLC0415
    imported = time.process_time() - started

    folder, count = _copy_corpus(options.copies)
    try:
        argv = ["check", "--format", "json", str(folder)]
        started = time.process_time()
        args = build_parser(argv).parse_args(argv)
        parsed = time.process_time() - started
        started = time.process_time()
        settings = check.settings_from_args(args)
        configured = time.process_time() - started
        started = time.process_time()
        linter = check.make_linter(settings)
        loaded = time.process_time() - started

        from proxy_addon.exchange.linter import ExchangeLinter, Scope  # noqa: PLC0415
        from proxy_addon.inputs.walk import Walk  # noqa: PLC0415
        from proxy_addon.outputs.formats import FORMATTERS  # noqa: PLC0415

        messages = list(check.iter_messages([str(folder)], [], None, Walk()))
        context = settings.context()

        def walk_read() -> None:
            for _ in check.iter_messages([str(folder)], [], None, Walk()):
                pass

        def lint() -> None:
            for seen in messages:
                linter.lint(seen.data, path=seen.source, http_charset=None, direction=None, context=context,
                            operation_hint=None, time=None)

        def exchange() -> None:
            linting = ExchangeLinter(linter, context, scope=Scope.CAPTURE)
            for seen in messages:
                linting.lint(seen)

        def exit_seconds() -> float:
            """check's handling of fresh records (secrets not yet worked out), the records made untimed."""
            linting = ExchangeLinter(linter, context, scope=Scope.CAPTURE)
            records = [linting.lint(seen) for seen in messages]
            found = check._Run(args, linting)
            started = time.process_time()
            for record in records:
                found.add(record)
            seconds = time.process_time() - started
            exit_seconds.findings = found.findings
            return seconds

        exit_seconds()
        findings = exit_seconds.findings

        def json_output() -> None:
            FORMATTERS["json"](findings, linter.ruleset, False)

        def whole() -> None:
            with contextlib.redirect_stdout(io.StringIO()):
                cli_main(argv)

        rounds = options.rounds
        figures = {name: _median_cpu(run, rounds) for name, run in
                   (("walk+read", walk_read), ("lint", lint), ("exchange+lint", exchange),
                    ("json", json_output), ("whole", whole))}
        figures["exit"] = statistics.median(exit_seconds() for _ in range(rounds))
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    per_file = {name: seconds / count * 1e6 for name, seconds in figures.items()}
    print(machine_line())
    print(f"check --format json over {count} files ({len(findings)} findings), CPU per file, median of {rounds}:")
    rows = [("walk+read", per_file["walk+read"]),
            ("Linter.lint", per_file["lint"]),
            ("exchange record (over the lint)", per_file["exchange+lint"] - per_file["lint"]),
            ("exit: secrets, redaction, fix marks", per_file["exit"]),
            ("JSON output", per_file["json"]),
            ("whole check, in process", per_file["whole"])]
    for name, micros in rows:
        print(f"  {name:36} {micros:7.1f} us")
    besides = per_file["whole"] - per_file["lint"]
    print(f"  {'everything but Linter.lint':36} {besides:7.1f} us (rule set load included: "
          f"{loaded / count * 1e6:.1f} us a file here)")
    print(f"start-up, once: imports {imported * 1e3:.1f} ms, argparse {parsed * 1e3:.1f} ms, settings "
          f"{configured * 1e3:.1f} ms, rule set {loaded * 1e3:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
