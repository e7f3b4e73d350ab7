"""`webex-xml-lint proxy`: run the real mitmdump (with --web, mitmweb) with the webex-xml-lint addon.

Every flag becomes the matching `--set webexlint_...` option; arguments after `--` go to mitmdump
as they are (e.g. `-- --set confdir=/path`), so a `--set` there wins over a flag. The settings
(configuration file, then flags) are built and checked here first with the model every command
uses, so a bad one is a clear error before anything listens; then this process becomes mitmdump
(signals reach it directly), whose addons read the same file and options. The audit store is only
checked here; the lint worker is the one process that opens (and migrates) it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import sys
from pathlib import Path

from proxy_addon.cli.options import add_rule_arguments
from proxy_addon.settings import (
    Settings,
    SettingsError,
    make_linter,
    settings_from_args,
)

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
    parser.add_argument("--rewrite-learned", action="store_true",
                        help="with --rewrite, also apply fixes that only a fact learned from traffic calls for "
                             "(a site learned as CI from an answer); by default only --ci-site drives a rewrite")
    parser.add_argument("--findings-log", default="", metavar="FILE",
                        help="also append one JSON line per finding and event to FILE; - writes the JSON lines to "
                             "standard output instead of the readable ones (default: readable lines only)")
    add_rule_arguments(parser, schema_help="validate against this XSD bundle instead of the bundled one "
                                           "(implies --validate)")
    parser.add_argument("--db", default=None, metavar="URL",
                        help="also record messages and findings in the audit store (SQLite path or postgresql:// URL)")
    parser.add_argument("--web", action="store_true",
                        help="run mitmweb instead of mitmdump: the flows in a browser, the comment column on "
                             "(each Webex flow's operation, then its findings)")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="also show mitmdump's own lines (connections, one line per flow); by default only "
                             "webex-xml-lint's lines and mitmdump's warnings and errors")
    parser.add_argument("mitmdump_args", nargs=argparse.REMAINDER, metavar="-- MITMDUMP_ARGS",
                        help="further mitmdump arguments, after --")


class UsageError(ValueError):
    pass


def mitmdump_path(tool: str = "mitmdump") -> str:
    """The mitmdump (or mitmweb) next to this Python (the project's venv), else the one on PATH."""
    beside = Path(sys.executable).parent / tool
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which(tool)
    if found is None:
        raise UsageError(f"{tool} not found: install the project (make .venv) or mitmproxy 12")
    return found


def addon_path() -> str:
    """The installed addon script, for `mitmdump -s` / `mitmweb -s` (`webex-xml-lint addon-path`)."""
    from proxy_addon.cli.addon_path import addon_path as installed  # noqa: PLC0415

    return installed()


# mitmweb's flow list: its default columns, and the comment (the operation and the findings) after
# the path, which is the same for every Webex call.
WEB_COLUMNS = ("tls", "icon", "path", "comment", "method", "status", "size", "time")


def build_command(args: argparse.Namespace) -> list[str]:
    """The mitmdump command line for these arguments; raises UsageError on a bad value."""
    settings = _checked_settings(args)
    extra = list(args.mitmdump_args)
    if extra[:1] == ["--"]:
        extra = extra[1:]
    overridden = _options_set_in(extra)
    web = getattr(args, "web", False)
    command = [mitmdump_path("mitmweb" if web else "mitmdump"), "--listen-host", args.listen_host,
               "--listen-port", str(args.listen_port)]
    for mode in args.mode:
        command += ["--mode", mode]
    command += ["-s", addon_path()]
    options = {
        "webexlint_config": settings.source,  # the file found here, so mitmdump reads the same one
        "webexlint_rewrite": "true" if args.rewrite or args.rewrite_unsafe else None,
        "webexlint_rewrite_unsafe": "true" if args.rewrite_unsafe else None,
        "webexlint_rewrite_learned": "true" if args.rewrite_learned else None,
        "webexlint_findings_log": args.findings_log or None,
        "webexlint_api_version": args.api_version,
        "webexlint_validate": "true" if args.validate or args.schema_dir else None,
        "webexlint_schema_dir": str(Path(args.schema_dir).resolve()) if args.schema_dir else None,
        "webexlint_select": args.select,
        "webexlint_ignore": args.ignore,
        "webexlint_db": args.db,
    }
    for name, value in options.items():
        # A --set after `--` wins over the flag; mitmproxy refuses two values for one option (and
        # would then drop every option of the addon), so the flag's value is left out.
        if value is not None and name not in overridden:
            command += ["--set", f"{name}={value}"]
    repeated = {"webexlint_ci_site": args.ci_site, "webexlint_control_hub_site": args.control_hub_site,
                "webexlint_site_id": args.site_id,
                "webexlint_rule_pack": [str(Path(pack).resolve()) for pack in args.rule_packs]}
    for name, items in repeated.items():
        for item in items:
            command += ["--set", f"{name}={item}"]
    if web and "web_columns" not in overridden:
        command += [part for column in WEB_COLUMNS for part in ("--set", f"web_columns={column}")]
    if not args.verbose and not web:  # mitmweb keeps its lines: the first one is the browser's address
        # Standard output is the findings' (readable or JSON lines), whether or not a findings log
        # also gets them: mitmdump's flow lines and per-connection messages (~5 per request) would
        # bury them. --verbose (or `-- --set flow_detail=1`) brings them back.
        for name, value in (("flow_detail", "0"), ("termlog_verbosity", "warn")):
            if name not in overridden:
                command += ["--set", f"{name}={value}"]
    return command + extra


def _options_set_in(arguments: list[str]) -> set[str]:
    """The option names that mitmdump arguments `--set NAME=VALUE` (or `--set=NAME=VALUE`) set."""
    names = set()
    for index, argument in enumerate(arguments):
        spec = arguments[index + 1] if argument == "--set" and index + 1 < len(arguments) else (
            argument.removeprefix("--set=") if argument.startswith("--set=") else None)
        if spec:
            names.add(spec.split("=", 1)[0])
    return names


def _checked_settings(args: argparse.Namespace) -> Settings:
    """The configuration file and the flags, as every command reads them; the proxy's own values too."""
    if not 0 < args.listen_port < 65536:
        raise UsageError(f"--listen-port {args.listen_port}: not a TCP port (1-65535)")
    settings = settings_from_args(args)
    from mitmproxy.proxy.mode_specs import ProxyMode  # noqa: PLC0415 (mitmproxy only for this command)

    own_port = not args.mode
    for mode in args.mode:
        try:
            own_port |= ProxyMode.parse(mode).custom_listen_port is None
        except ValueError as error:
            raise UsageError(f"--mode {mode}: {error}") from None
    if own_port:
        check_port_free(args.listen_host, args.listen_port)
    if args.findings_log not in ("-", ""):
        folder = Path(args.findings_log).resolve().parent
        if not folder.is_dir():
            raise UsageError(f"--findings-log {args.findings_log}: folder {folder} does not exist")
        if not os.access(folder, os.W_OK) or (Path(args.findings_log).exists()
                                              and not os.access(args.findings_log, os.W_OK)):
            raise UsageError(f"--findings-log {args.findings_log}: not writable")
    if args.db:
        from proxy_addon.audit.recorder import StoreUnavailable, check_audit_store  # noqa: PLC0415

        try:
            check_audit_store(args.db)  # neither created nor migrated here: the lint worker opens it
        except StoreUnavailable as error:
            raise UsageError(f"--db: {error}") from None
    make_linter(settings)  # a broken rule pack is a start-up error, with file and line
    if settings.validating:
        from proxy_addon.schema.validation import SchemaValidator  # noqa: PLC0415 (a broken XSD is a start-up error too)

        try:
            SchemaValidator(settings.schema_dir).load()
        except ValueError as error:  # SchemaLoadError: names the file and the problem
            raise UsageError(f"--schema-dir: {error}" if settings.schema_dir else f"bundled schemas: {error}") from None
    return settings


def check_port_free(host: str, port: int) -> None:
    """Raise UsageError naming --listen-port when nothing can listen there: before mitmdump starts,
    so the banner never announces a proxy that is not running and mitmproxy's own advice (`--mode
    ...@8082`) never shows up instead of ours."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise UsageError(f"--listen-host {host}: {error.strerror or error}") from None
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as mitmproxy binds: TIME_WAIT is no conflict
        try:
            probe.bind(address)
        except OSError as error:
            hint = f"; choose another with --listen-port, e.g. --listen-port {port + 1}" if port < 65535 else ""
            raise UsageError(f"--listen-port {port}: cannot listen on {host}:{port}: "
                             f"{error.strerror or error} (is another proxy running there?){hint}") from None


def _banner(args: argparse.Namespace) -> str:
    modes = ", ".join(args.mode) or "regular (forward) proxy"
    if getattr(args, "web", False):
        return (f"webex-xml-lint proxy (mitmweb) on {args.listen_host}:{args.listen_port}, {modes}: the flows in "
                "the browser, each Webex flow's operation and findings in the comment column (Ctrl-C stops)")
    output = {"": "one line per finding below", "-": "one JSON line per finding on standard output"}.get(
        args.findings_log, f"one line per finding below, JSON lines in {args.findings_log}")
    return f"webex-xml-lint proxy on {args.listen_host}:{args.listen_port}, {modes}: {output} (Ctrl-C stops)"


def run(args: argparse.Namespace) -> int:
    from proxy_addon.lint.ruleset import RuleError  # noqa: PLC0415

    try:
        command = build_command(args)
    except (UsageError, SettingsError, ValueError, RuleError) as error:
        print(f"webex-xml-lint proxy: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    print(_banner(args), file=sys.stderr)  # standard error: with --findings-log -, standard output is JSON only
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(command[0], command)
    return EXIT_ERROR  # not reached: exec replaces this process
