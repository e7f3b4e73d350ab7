"""`webex-xml-lint audit INPUT... --db audit.sqlite --report report.html`: the migration audit.

Reads .xml files and folders, HAR exports and mitmproxy flow dumps, lints every message with the
same Linter as `check` (in worker processes), keeps the inventory in the store and writes the
report. Exit status: 0 all inputs read, 1 some inputs (or parts) could not be read and are listed,
2 the audit could not run, or none of the inputs named exists.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from proxy_addon.audit.store import StoreError, open_store
from proxy_addon.cli.options import add_rule_arguments, add_walk_arguments, settings_from_args
from proxy_addon.core.redaction import redact
from proxy_addon.core.text import encodable
from proxy_addon.outputs.atomic import write_atomically
from proxy_addon.inputs.walk import PerFileIgnores, Walk
from proxy_addon.lint.ruleset import RuleError
from proxy_addon.settings import SettingsError, make_linter


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="INPUT",
                        help=".xml files, folders (searched recursively), HAR exports, mitmproxy flow dumps")
    parser.add_argument("--db", default="audit.sqlite", metavar="URL",
                        help="the store: a SQLite file (default audit.sqlite) or postgresql://user:pw@host/db")
    parser.add_argument("--report", default=None, metavar="FILE", help="write the HTML report here")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, metavar="N",
                        help="lint in N processes (default: one per core)")
    add_rule_arguments(parser)
    add_walk_arguments(parser)
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="also say which files the folder walks skipped and why")


def run(args: argparse.Namespace) -> int:
    from rich.console import Console  # noqa: PLC0415

    from proxy_addon.audit.pipeline import run_audit  # noqa: PLC0415

    console = Console(stderr=True, highlight=False)
    if args.jobs < 1:
        print("webex-xml-lint: error: --jobs must be at least 1", file=sys.stderr)
        return 2
    if args.report:
        try:
            check_output_path(args.report, "--report")  # before auditing, not after storing everything
        except ValueError as error:
            print(f"webex-xml-lint: error: {_shown(error)}", file=sys.stderr)
            return 2
    try:
        settings = settings_from_args(args)
        linter = make_linter(settings)  # also checks that every rule selector names a rule
        store = open_store(args.db)
    except (SettingsError, RuleError, StoreError, ValueError) as error:
        print(f"webex-xml-lint: error: {_shown(error)}", file=sys.stderr)
        return 2
    context = settings.context()
    walk = Walk.from_settings(settings)
    try:
        with store:
            store.record_sites(context.ci_sites, "--ci-site")
            with _Progress(console) as progress:
                stats = run_audit(args.inputs, store, linter, context, jobs=args.jobs,
                                  on_error=lambda error: console.print(
                                      f"webex-xml-lint: error: {_shown(error)}", markup=False, soft_wrap=True),
                                  on_start=progress.start, on_progress=progress.advance, walk=walk,
                                  ignored_rules=PerFileIgnores(dict(settings.per_file_ignores), walk.root).rules_for)
            if args.report:
                _write_report(store, Path(args.report))
    except (StoreError, RuleError, OSError) as error:
        print(f"webex-xml-lint: error: {_shown(error)}", file=sys.stderr)
        return 2
    for fact in stats.learned:
        console.print(f"learned: {fact.provenance}", markup=False, soft_wrap=True)
    _print_skipped(console, walk, verbose=args.verbose)
    if stats.messages == 0:
        # Never "audited 0 messages" as if that were fine: a typo in a path, or a folder of other XML.
        console.print("webex-xml-lint: warning: No messages found under the given path(s)"
                      + ("; nothing audited: no input could be read" if stats.errors else ""), markup=False,
                      soft_wrap=True)
        return 2 if stats.errors and stats.files == 0 else (1 if stats.errors else 0)
    console.print(f"audited {stats.messages:,} messages from {stats.files:,} files: {stats.findings:,} findings"
                  + (f"; {len(stats.errors)} inputs or parts of inputs could not be read" if stats.errors else "")
                  + encodable(f"; inventory in {store.url}" + (f", report in {args.report}" if args.report else "")),
                  markup=False, soft_wrap=True)
    return 1 if stats.errors else 0


def _print_skipped(console, walk: Walk, *, verbose: bool) -> None:
    if verbose:
        for path in walk.not_messages:
            console.print(encodable(f"skipped {path}: not a Webex XML API message (no message envelope)"),
                          markup=False, soft_wrap=True)
    if walk.not_messages or (verbose and walk.excluded):
        console.print(f"skipped {len(walk.not_messages)} XML file(s) that are not messages"
                      + (f"; {walk.excluded} path(s) excluded (exclude, extend-exclude, .gitignore)" if verbose else
                         " (--verbose names them)"), markup=False, soft_wrap=True)


def _shown(error: object) -> str:
    """An error as printed: credentials masked, an undecodable byte of a file name as \\xff."""
    return encodable(redact(str(error)))


def check_output_path(target: str, flag: str) -> None:
    """Raise ValueError naming `flag` unless a file can be written at `target` (nothing is created)."""
    path = Path(target)
    folder = path.resolve().parent
    if path.is_dir():
        raise ValueError(f"{flag} {target}: is a folder; name the report file, e.g. {path / 'report.html'}")
    if not folder.is_dir():
        raise ValueError(f"{flag} {target}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise ValueError(f"{flag} {target}: not writable")


def _write_report(store, path: Path) -> None:
    from proxy_addon.audit.report import collect, render_html  # noqa: PLC0415

    try:
        write_atomically(path, encodable(render_html(collect(store))).encode("utf-8"))
    except OSError as error:
        raise OSError(f"{path}: cannot write the report: {error.strerror or error}") from None


class _Progress:
    """A rich progress bar over the input bytes, shown only on a terminal."""

    def __init__(self, console):
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn  # noqa: PLC0415

        self.messages = 0
        self.progress = Progress(TextColumn("auditing"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                                 TextColumn("{task.fields[messages]:,} messages"), TimeElapsedColumn(),
                                 TimeRemainingColumn(), console=console, disable=not console.is_terminal,
                                 transient=True)
        self.task = None

    def __enter__(self) -> _Progress:
        return self

    def start(self, total_bytes: int) -> None:
        self.task = self.progress.add_task("audit", total=max(total_bytes, 1), messages=0)
        self.progress.start()

    def advance(self, done_bytes: int, messages: int) -> None:
        self.messages += messages
        if self.task is not None:
            self.progress.update(self.task, advance=done_bytes, messages=self.messages)

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()


# For the other commands that write a report or print store and file errors (`report`).
shown_error, write_report = _shown, _write_report
