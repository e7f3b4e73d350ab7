"""The `webex-xml-lint` command line. Each subcommand lives in its own module.

Subcommand modules are imported only when chosen, so `check` on one file never imports mitmproxy.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

# name -> (module, one-line help). Each module defines add_arguments(parser) and run(args) -> int.
COMMANDS: dict[str, tuple[str, str]] = {
    "check": ("proxy_addon.cli.check", "lint files, folders or stdin (-)"),
    "rule": ("proxy_addon.cli.rule_docs", "print one rule's documentation"),
    "rules": ("proxy_addon.cli.rule_docs", "list every rule"),
    "audit": ("proxy_addon.cli.audit", "audit captures (.xml, HAR, flow dumps) into an inventory and a report"),
    "inventory": ("proxy_addon.cli.inventory", "print an audit inventory's summary"),
    "report": ("proxy_addon.cli.report", "write the HTML report of an audit store (filled by audit or proxy --db)"),
    "simulate": ("proxy_addon.cli.simulate", "run the bundled Webex XML API simulator on loopback"),
    "proxy": ("proxy_addon.cli.proxy", "run mitmdump (--web: mitmweb) with the live linting addon"),
    "addon-path": ("proxy_addon.cli.addon_path", "print the installed addon's path, for mitmdump -s / mitmweb -s"),
    "migrate": ("proxy_addon.cli.migrate", "translate each Meetings XML request into the REST request that replaces it"),
}

EXIT_CLEAN, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


class _Formatter(argparse.HelpFormatter):
    """argparse's help formatter, sized without `shutil`: argparse builds one for every argument
    added, and `shutil` imports bz2 and lzma (~4 ms of `check` start-up) to ask the terminal's width."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24, width: int | None = None):
        super().__init__(prog, indent_increment, max_help_position, width or _terminal_width() - 2)


def _terminal_width() -> int:
    """As shutil.get_terminal_size: $COLUMNS, else standard output's terminal, else 80."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="webex-xml-lint",
        description="Protocol-aware linter and proxy for the Cisco Webex XML API.",
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version="%(prog)s " + _version())
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    chosen = next((arg for arg in argv if not arg.startswith("-")), None)
    # A known command needs only its own parser (each costs start-up ~0.5 ms); the list of all
    # of them is for --help and for a command that is not one.
    for name, (module_name, help_text) in COMMANDS.items():
        if chosen in COMMANDS and name != chosen:
            continue
        sub = subparsers.add_parser(name, help=help_text, description=help_text, formatter_class=_Formatter)
        sub.set_defaults(_module=module_name)
        if name == chosen:
            importlib.import_module(module_name).add_arguments(sub)
    return parser


def _version() -> str:
    from proxy_addon import __version__

    return __version__


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if not getattr(args, "_module", None):
        parser.print_help()
        return EXIT_USAGE
    module = importlib.import_module(args._module)
    try:
        return module.run(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_CLEAN
    except Exception as error:  # noqa: BLE001 (a bug must not read as "findings", exit 1)
        _report_internal_error(error)
        return EXIT_USAGE


def _report_internal_error(error: Exception) -> None:
    """One redacted line: exit 2 tells CI "the tool failed", never "the messages have findings"."""
    from proxy_addon.core.redaction import redact

    print(f"webex-xml-lint: internal error: {type(error).__name__}: {redact(str(error))}", file=sys.stderr)


