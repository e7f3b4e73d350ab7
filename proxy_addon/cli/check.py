"""`webex-xml-lint check PATH...|-`: lint files, folders or stdin; optionally fix them."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator

from proxy_addon.cli.options import add_rule_arguments, settings_from_args
from proxy_addon.core.redaction import redact
from proxy_addon.exchange.linter import ExchangeLinter
from proxy_addon.exchange.observed import Observed
from proxy_addon.lint.engine import Linter, LintResult
from proxy_addon.lint.ruleset import RuleError
from proxy_addon.outputs.formats import FORMATTERS, visible
from proxy_addon.settings import SettingsError, make_linter

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", default=["."], metavar="PATH",
                        help="XML messages, HAR exports (.har), mitmproxy flow dumps (mitmdump -w), folders "
                        "(searched for all three), or - for stdin")
    parser.add_argument("--format", choices=sorted(FORMATTERS), default="text", help="output format")
    parser.add_argument("--statistics", action="store_true", help="count findings per rule")
    add_rule_arguments(parser)
    parser.add_argument("--direction", choices=["request", "response"], default=None,
                        help="direction for messages that do not show it")
    parser.add_argument("--fix", action="store_true", help="apply safe fixes to the files")
    parser.add_argument("--unsafe-fixes", action="store_true", help="with --fix/--diff, also apply unsafe fixes")
    parser.add_argument("--diff", action="store_true", help="show the fixes as a unified diff")
    parser.add_argument("--exit-zero", action="store_true", help="exit 0 even when there are findings")


def _load_schemas(schema_dir: str | None) -> None:
    """Load the XSDs up front, so a bad bundle is a clear error before any file is linted."""
    from proxy_addon.schema.validation import SchemaLoadError, SchemaValidator  # noqa: PLC0415 (only with --validate)

    try:
        SchemaValidator(schema_dir=schema_dir).load()
    except SchemaLoadError as error:
        raise SettingsError(f"--schema-dir: {error}") from None


def iter_messages(paths: list[str], errors: list[str], direction: str | None) -> Iterator[Observed]:
    """Every message in the inputs in capture order: .xml files, HAR exports and flow dumps, folders
    searched for them. `direction` is for messages whose capture does not show it."""
    from proxy_addon.inputs import CaptureError, read_inputs  # noqa: PLC0415

    for raw_path in paths:
        if raw_path == "-":
            try:  # a closed stdin (<&-) is None, or a descriptor that fails to read
                data = sys.stdin.buffer.read()
            except (AttributeError, OSError):
                errors.append("-: cannot read stdin (is it closed?)")
                continue
            yield Observed(data, direction, "-")
            continue
        for item in read_inputs([raw_path]):
            if isinstance(item, CaptureError):
                errors.append(str(item))
                continue
            for seen in item.messages:
                yield seen if seen.direction else Observed(seen.data, direction, seen.source)


def run(args: argparse.Namespace) -> int:
    try:
        settings = settings_from_args(args)
        linter = make_linter(settings)
        if settings.validating:
            _load_schemas(settings.schema_dir)
    except (SettingsError, RuleError, ValueError) as error:
        print(f"webex-xml-lint: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    context = settings.context()
    errors: list[str] = []
    findings = []
    exchanges = ExchangeLinter(linter, context)  # as the proxy: answers pair with requests, facts are learned
    for seen in iter_messages(args.paths, errors, args.direction):
        result = exchanges.lint(seen).result
        if seen.locator:
            for finding in result.findings:
                finding.locator = f"{seen.locator} {seen.direction or ''}".strip()
        elif args.fix or args.diff:
            result = _fix(linter, result, args, errors)
        findings.extend(result.findings)
    sys.stdout.write(FORMATTERS[args.format](findings, linter.ruleset, args.statistics))
    for error in errors:
        print(f"webex-xml-lint: error: {visible(redact(error))}", file=sys.stderr)
    if errors:
        return EXIT_ERROR
    return EXIT_FINDINGS if findings and not args.exit_zero else EXIT_CLEAN


def _fix(linter: Linter, result: LintResult, args: argparse.Namespace, errors: list[str]) -> LintResult:
    from proxy_addon.core.fixes import apply_fixes  # noqa: PLC0415
    from proxy_addon.outputs.fixed_files import FixNotWritten, write_fixed  # noqa: PLC0415

    outcome = apply_fixes(result, unsafe=args.unsafe_fixes)
    if not outcome.changed:
        return result
    secrets = result.message.secrets if result.message else frozenset()
    if args.diff:
        import difflib  # noqa: PLC0415 (only --diff needs it)

        # Redacted before diffing: a diff prefixes every line, which would split a multi-line value.
        before = _lines(redact(result.document.raw.decode(result.document.encoding, "replace"), secrets))
        after = _lines(redact(outcome.data.decode(result.document.encoding, "replace"), secrets))
        diff = "".join(difflib.unified_diff(before, after, f"a/{result.path}", f"b/{result.path}"))
        sys.stderr.write(redact(diff, secrets) + ("\n" if diff and not diff.endswith("\n") else ""))
    if not args.fix:
        return result
    if result.path == "-":
        sys.stderr.write("webex-xml-lint: --fix on stdin: fixed message not written (use --diff)\n")
        return result
    try:
        write_fixed(result.path, outcome.data, original=result.document.raw, given=args.paths)
    except FixNotWritten as error:
        errors.append(f"{result.path}: {error}")
        return result
    # Report what is left after fixing, as ruff does.
    return linter.lint(outcome.data, path=result.path, direction=args.direction, context=result.context)


def _lines(text: str) -> list[str]:
    """Lines ending at "\n" only: str.splitlines also breaks at \x85, \u2028... inside values,
    which mangles the diff and splits a credential where redaction can no longer see it whole."""
    lines = [line + "\n" for line in text.split("\n")]
    lines[-1] = lines[-1][:-1]
    return lines if lines[-1] else lines[:-1]
