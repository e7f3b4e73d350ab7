"""`webex-xml-lint check PATH...|-`: lint files, folders or stdin; optionally fix them.

Output follows ruff: findings and a summary on stdout ("Found N findings (M fixed, K remaining).");
`--diff` prints only the unified diff there; `--fix -` prints the fixed message there (the findings
then go to stderr); errors and warnings always go to stderr. Exit status: 0 nothing to report, 1
findings at or above fail-on (default warning; or, with --diff, something to fix), 2 an input could not be read or the command is wrong.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from collections.abc import Iterator
from typing import TextIO

from proxy_addon.cli.options import (
    add_rule_arguments,
    add_walk_arguments,
    settings_from_args,
)
from proxy_addon.core.redaction import redact
from proxy_addon.core.text import encodable
from proxy_addon.core.findings import Finding
from proxy_addon.exchange.linter import ExchangeLinter, Scope
from proxy_addon.exchange.observed import Observed
from proxy_addon.exchange.record import ExchangeRecord
from proxy_addon.inputs.walk import PerFileIgnores, Walk
from proxy_addon.lint.engine import Linter
from proxy_addon.lint.ruleset import RuleError
from proxy_addon.outputs.formats import FORMATTERS, format_summary, format_text, visible
from proxy_addon.settings import SettingsError, make_linter

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", default=["."], metavar="PATH",
                        help="XML messages, HAR exports (.har), mitmproxy flow dumps (mitmdump -w), folders "
                        "(searched for all three), or - for stdin")
    parser.add_argument("--format", "--output-format", dest="format", choices=sorted(FORMATTERS), default="text",
                        help="output format")
    parser.add_argument("--statistics", action="store_true", help="print only the number of findings per rule")
    add_rule_arguments(parser)
    add_walk_arguments(parser)
    parser.add_argument("--direction", choices=["request", "response"], default=None,
                        help="direction for messages that do not show it")
    parser.add_argument("--fix", action="store_true",
                        help="apply safe fixes to the files (with -, print the fixed message on stdout)")
    parser.add_argument("--unsafe-fixes", action="store_true", help="with --fix/--diff, also apply unsafe fixes")
    parser.add_argument("--diff", action="store_true",
                        help="print the fixes as a unified diff on stdout, write nothing; exit 1 if there is any")
    parser.add_argument("--fail-on", choices=["error", "warning", "info"], default=None,
                        help="the least severe finding that makes the exit status 1 (default: the configuration's "
                        "fail-on, else warning: info findings are shown and do not fail)")
    parser.add_argument("--exit-zero", action="store_true", help="exit 0 even when there are findings")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="also say which files a folder walk skipped and why")


def _load_schemas(schema_dir: str | None) -> None:
    """Load the XSDs up front, so a bad bundle is a clear error before any file is linted."""
    from proxy_addon.schema.validation import SchemaLoadError, SchemaValidator  # noqa: PLC0415 (only with --validate)

    try:
        SchemaValidator(schema_dir=schema_dir).load()
    except SchemaLoadError as error:
        raise SettingsError(f"--schema-dir: {error}") from None


def iter_messages(paths: list[str], errors: list[str], direction: str | None,
                  walk: Walk | None = None) -> Iterator[Observed]:
    """Every message in the inputs in capture order: .xml files, HAR exports and flow dumps, folders
    searched for them. `direction` is for messages whose capture does not show it."""
    from proxy_addon.inputs import CaptureError, read_inputs  # noqa: PLC0415

    for raw_path in paths:
        if raw_path == "-":
            from proxy_addon.inputs import read_at_most  # noqa: PLC0415
            from proxy_addon.core.parsing import DEFAULT_MAX_BYTES  # noqa: PLC0415

            try:  # a closed stdin (<&-) is None, or a descriptor that fails to read
                data = read_at_most(sys.stdin.buffer, DEFAULT_MAX_BYTES + 1)  # WX009 needs no more
            except (AttributeError, OSError):
                errors.append("-: cannot read stdin (is it closed?)")
                continue
            yield Observed(data, direction, "-")
            continue
        for item in read_inputs([raw_path], walk):
            if isinstance(item, CaptureError):
                errors.append(str(item))
                continue
            for seen in item.messages:
                # A lone file's message (no locator) is Observed(data, None, source) already.
                keep = seen.direction or (direction is None and not seen.locator)
                yield seen if keep else Observed(seen.data, direction, seen.source)


def use_color(stream: TextIO) -> bool:
    """Colour on a terminal only, and never with NO_COLOR set (https://no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class _Run:
    """What one `check` run found, fixed and could not read."""

    def __init__(self, args: argparse.Namespace, exchanges: ExchangeLinter):
        self.args = args
        self.exchanges = exchanges
        self.findings: list = []
        self.errors: list[str] = []
        self.messages = 0
        self.fixed = 0
        self.diffs = 0  # messages with a diff shown
        self.read_only: Counter[str] = Counter()  # capture file -> fixes that cannot be applied to it
        self.stdin_output: bytes | None = None  # `--fix -`: the message to print

    @property
    def fixing(self) -> bool:
        return self.args.fix or self.args.diff

    def add(self, record: ExchangeRecord) -> None:
        """The message the record was handed out for: its findings, redacted, and its fixes."""
        self.messages += 1
        latest = record.latest
        seen = latest.observed
        findings = record.redacted_findings("response" if record.response is not None else "request")
        if any(finding.fix is not None for finding in findings) and _fixes_blocked(findings):
            for finding in findings:  # --fix would refuse them: neither marked [*] nor counted
                finding.fix = None
        if seen.locator:
            for finding in findings:
                finding.locator = f"{seen.locator} {seen.direction or ''}".strip()
            if self.fixing:
                self.read_only[seen.source] += sum(
                    1 for f in findings if f.fix is not None and (f.fix.safe or self.args.unsafe_fixes))
        elif self.fixing:
            left = self._fix(record)
            findings = findings if left is None else left
        self.findings.extend(findings)

    def _fix(self, record: ExchangeRecord) -> list[Finding] | None:
        """Fix a lone file; what is left after fixing (re-checked as the file itself is), or None
        when nothing changed."""
        from proxy_addon.core.fixes import apply_fixes  # noqa: PLC0415 (a message with fixes only)
        from proxy_addon.outputs.fixed_files import FixNotWritten, write_fixed  # noqa: PLC0415

        args = self.args
        result = record.latest.result
        outcome = apply_fixes(result, unsafe=args.unsafe_fixes)
        if result.path == "-" and args.fix and not args.diff:
            self.stdin_output = outcome.data  # as ruff: the message, fixed or as it was
        if not outcome.changed:
            return None
        if args.diff:
            self._print_diff(record, outcome.data)
            self.fixed += len(outcome.applied)  # would fix
            return None
        if result.path != "-":
            try:
                write_fixed(result.path, outcome.data, original=result.document.raw, given=args.paths)
            except FixNotWritten as error:
                self.errors.append(f"{result.path}: {error}")
                return None
        self.fixed += len(outcome.applied)
        # Report what is left after fixing, as ruff does: the fixed message through the same path.
        seen = record.latest.observed
        again = self.exchanges.lint(Observed(outcome.data, seen.direction, seen.source, http_charset=seen.http_charset))
        return again.redacted_findings()

    def _print_diff(self, record: ExchangeRecord, fixed: bytes) -> None:
        from proxy_addon.core.redaction import lines_with_credentials  # noqa: PLC0415 (only --diff needs them)
        from proxy_addon.outputs.patch import unified_patch  # noqa: PLC0415

        result = record.latest.result
        encoding = result.document.encoding
        before, after = result.document.raw.decode(encoding, "replace"), fixed.decode(encoding, "replace")
        # A line redaction would change prints a credential, or (masked) matches nothing: never shown.
        patch = unified_patch(before, after, result.path, lambda text: lines_with_credentials(text, record.secrets))
        if patch.text:
            self.diffs += 1
            sys.stdout.write(encodable(visible(patch.text, keep="\n\t\r")))
        for line in patch.withheld:
            self.diffs += 1
            print(f"webex-xml-lint: {encodable(visible(result.path))}:{line}: a fix changes a line that holds a "
                  "credential: not shown in the diff; `check --fix` applies it", file=sys.stderr)


def _fixes_blocked(findings: list[Finding]) -> bool:
    """core.fixes.fixes_blocked; the module is imported by the first message that has a fix (a clean
    file's `check` never needs it)."""
    from proxy_addon.core.fixes import fixes_blocked  # noqa: PLC0415

    return fixes_blocked(findings)


def run(args: argparse.Namespace) -> int:
    try:
        settings = settings_from_args(args)
        linter = make_linter(settings)
        if settings.validating:
            _load_schemas(settings.schema_dir)
    except (SettingsError, RuleError, ValueError) as error:
        print(f"webex-xml-lint: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    walk = Walk.from_settings(settings)
    ignores = PerFileIgnores(dict(settings.per_file_ignores), walk.root)
    # Learning stays inside each capture; a lone file is linted on its own (its neighbours teach it nothing).
    exchanges = ExchangeLinter(linter, settings.context(), scope=Scope.CAPTURE, ignored_rules=ignores.rules_for)
    found = _Run(args, exchanges)
    for seen in iter_messages(args.paths, found.errors, args.direction, walk):
        found.add(exchanges.lint(seen))
    _report(found, walk, linter, args)
    if found.errors:
        return EXIT_ERROR
    if args.exit_zero:
        return EXIT_CLEAN
    if args.diff:
        return EXIT_FINDINGS if found.diffs else EXIT_CLEAN
    return EXIT_FINDINGS if settings.fails(found.findings) else EXIT_CLEAN


def _warn(text: str) -> None:
    print(f"webex-xml-lint: {encodable(visible(redact(text)))}", file=sys.stderr)


def _report(found: _Run, walk: Walk, linter: Linter, args: argparse.Namespace) -> None:
    if args.verbose:
        for path in walk.not_messages:
            _warn(f"skipped {path}: not a Webex XML API message (no message envelope)")
        if walk.not_messages or walk.excluded:
            _warn(f"skipped {len(walk.not_messages)} XML file(s) that are not messages; "
                  f"{walk.excluded} path(s) excluded (exclude, extend-exclude, .gitignore)")
    for error in found.errors:
        _warn(f"error: {error}")
    for source, count in found.read_only.items():
        if count:
            _warn(f"warning: {source}: HAR exports and flow dumps are read-only: {count} fix(es) not "
                  f"{'shown' if args.diff else 'applied'} (lint the message as an .xml file to fix it)")
    # With --force-exclude, a hook that named only a pom.xml has nothing to say (ruff says nothing either).
    skipped_named = walk.force_exclude and (walk.not_messages or walk.excluded)
    if found.messages == 0 and not found.errors and not skipped_named:
        _warn("warning: No messages found under the given path(s)"
              + (f" ({len(walk.not_messages)} XML file(s) that are not messages skipped; --verbose names them)"
                 if walk.not_messages and not args.verbose else ""))
    if args.diff:
        would = f"Would fix {found.fixed} finding{'s' if found.fixed != 1 else ''}." if found.fixed else "No fixes available."
        print(would, file=sys.stderr)
        return
    stdin_fixed = found.stdin_output is not None
    if stdin_fixed:
        sys.stdout.buffer.write(found.stdin_output)
        sys.stdout.flush()
    stream = sys.stderr if stdin_fixed else sys.stdout
    if args.format == "text":
        color = use_color(stream)
        summary = format_summary(found.findings, fixed=found.fixed, unsafe=args.unsafe_fixes,
                                 unreadable=len(found.errors), messages=found.messages, color=color)
        text = format_text(found.findings, linter.ruleset, args.statistics, color=color, unsafe=args.unsafe_fixes,
                           summary=summary)
        stream.write(encodable(text))
    else:
        stream.write(FORMATTERS[args.format](found.findings, linter.ruleset, args.statistics))
