"""`webex-xml-lint proxy`: run the real mitmdump with the webex-xml-lint addon.

Every flag becomes the matching `--set webexlint_...` option; arguments after `--` go to mitmdump
as they are (e.g. `-- --set confdir=/path`). Values are checked here first, so a bad one is a clear
error before anything listens; then this process becomes mitmdump (signals reach it directly).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from proxy_addon.cli.options import add_site_arguments
from proxy_addon.config import parse_site_id
from proxy_addon.core.versions import parse_version

EXIT_ERROR = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--listen-port", type=int, default=8080, metavar="P", help="port to listen on (default 8080)")
    parser.add_argument("--listen-host", default="127.0.0.1", metavar="HOST",
                        help="address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)")
    parser.add_argument("--mode", action="append", default=[], metavar="MODE",
                        help="mitmproxy mode: regular (default), or reverse:URL so an integration only "
                             "changes its base URL, e.g. reverse:https://acme.webex.com (repeatable)")
    parser.add_argument("--rewrite", action="store_true",
                        help="apply the safe fixes to requests (siteID, HQ/HD video, CI-ignored SetUser fields)")
    parser.add_argument("--rewrite-unsafe", action="store_true",
                        help="also apply unsafe fixes (truncate over-long descriptions); implies --rewrite")
    parser.add_argument("--findings-log", default="-", metavar="FILE",
                        help="append one JSON line per finding and event to FILE (- for standard output, the default)")
    add_site_arguments(parser)
    parser.add_argument("--validate", action="store_true", help="also validate against the XSDs (WX007, WX008)")
    parser.add_argument("--schema-dir", default=None, metavar="DIR",
                        help="validate against this XSD bundle instead of the bundled one (implies --validate)")
    parser.add_argument("--db", default=None, metavar="URL",
                        help="also record messages and findings in the audit store (SQLite path or postgresql:// URL)")
    parser.add_argument("mitmdump_args", nargs=argparse.REMAINDER, metavar="-- MITMDUMP_ARGS",
                        help="further mitmdump arguments, after --")


class UsageError(ValueError):
    pass


def mitmdump_path() -> str:
    """The mitmdump next to this Python (the project's venv), else the one on PATH."""
    beside = Path(sys.executable).parent / "mitmdump"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("mitmdump")
    if found is None:
        raise UsageError("mitmdump not found: install the project (make .venv) or mitmproxy 12")
    return found


def addon_path() -> str:
    return str(Path(__file__).resolve().parent.parent / "addon.py")


def build_command(args: argparse.Namespace) -> list[str]:
    """The mitmdump command line for these arguments; raises UsageError on a bad value."""
    _check_values(args)
    command = [mitmdump_path(), "--listen-host", args.listen_host, "--listen-port", str(args.listen_port)]
    for mode in args.mode:
        command += ["--mode", mode]
    command += ["-s", addon_path()]
    settings = {
        "webexlint_rewrite": "true" if args.rewrite or args.rewrite_unsafe else None,
        "webexlint_rewrite_unsafe": "true" if args.rewrite_unsafe else None,
        "webexlint_findings_log": args.findings_log,
        "webexlint_api_version": args.api_version,
        "webexlint_validate": "true" if args.validate or args.schema_dir else None,
        "webexlint_schema_dir": str(Path(args.schema_dir).resolve()) if args.schema_dir else None,
        "webexlint_db": args.db,
    }
    for name, value in settings.items():
        if value is not None:
            command += ["--set", f"{name}={value}"]
    for site in args.ci_site:
        command += ["--set", f"webexlint_ci_site={site}"]
    for item in args.site_id:
        command += ["--set", f"webexlint_site_id={item}"]
    if args.findings_log == "-":
        command += ["--set", "flow_detail=0"]  # keep standard output to the JSON lines
    extra = list(args.mitmdump_args)
    if extra[:1] == ["--"]:
        extra = extra[1:]
    return command + extra


def _check_values(args: argparse.Namespace) -> None:
    if not 0 < args.listen_port < 65536:
        raise UsageError(f"--listen-port {args.listen_port}: not a TCP port (1-65535)")
    if args.api_version is not None:
        try:
            parse_version(args.api_version)
        except ValueError as error:
            raise UsageError(f"--api-version: {error}") from None
    for item in args.site_id:
        parse_site_id(item)
    if any(not site.strip() for site in args.ci_site):
        raise UsageError("--ci-site: empty site name")
    from mitmproxy.proxy.mode_specs import ProxyMode  # noqa: PLC0415 (mitmproxy only for this command)

    for mode in args.mode:
        try:
            ProxyMode.parse(mode)
        except ValueError as error:
            raise UsageError(f"--mode {mode}: {error}") from None
    if args.findings_log not in ("-", ""):
        folder = Path(args.findings_log).resolve().parent
        if not folder.is_dir():
            raise UsageError(f"--findings-log {args.findings_log}: folder {folder} does not exist")
        if not os.access(folder, os.W_OK) or (Path(args.findings_log).exists()
                                              and not os.access(args.findings_log, os.W_OK)):
            raise UsageError(f"--findings-log {args.findings_log}: not writable")
    if args.db:
        from proxy_addon.audit.recorder import StoreUnavailable, open_audit_store  # noqa: PLC0415

        try:
            store = open_audit_store(args.db)
        except StoreUnavailable as error:
            raise UsageError(f"--db: {error}") from None
        close = getattr(store, "close", None)
        if close is not None:
            close()
    from proxy_addon.lint.engine import Linter  # noqa: PLC0415 (a broken rule pack is a start-up error, with file and line)

    Linter()
    if args.validate or args.schema_dir:
        from proxy_addon.schema.validation import SchemaValidator  # noqa: PLC0415 (a broken XSD is a start-up error too)

        try:
            SchemaValidator(args.schema_dir).load()
        except ValueError as error:  # SchemaLoadError: names the file and the problem
            raise UsageError(f"--schema-dir: {error}" if args.schema_dir else f"bundled schemas: {error}") from None


def run(args: argparse.Namespace) -> int:
    from proxy_addon.lint.ruleset import RuleError  # noqa: PLC0415

    try:
        command = build_command(args)
    except (UsageError, ValueError, RuleError) as error:
        print(f"webex-xml-lint proxy: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(command[0], command)
    return EXIT_ERROR  # not reached: exec replaces this process
