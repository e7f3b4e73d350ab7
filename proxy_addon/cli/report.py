"""`webex-xml-lint report --db audit.sqlite --output report.html`: the HTML report of a store.

Whoever filled the store: `audit` (which can also write the report itself with --report), or the
live proxy with --db. The output path is checked before the store is read; the report replaces the
file whole or not at all. Exit status: 0 written, 2 no store or not writable.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from proxy_addon.audit.store import StoreError, open_store
from proxy_addon.cli.audit import check_output_path, shown_error, write_report
from proxy_addon.core.text import encodable
from proxy_addon.lint.ruleset import RuleError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", default="audit.sqlite", metavar="URL",
                        help="the store: a SQLite file (default audit.sqlite) or postgresql://user:pw@host/db, "
                             "as `audit --db` or `proxy --db` filled it")
    parser.add_argument("-o", "--output", required=True, metavar="FILE", help="write the HTML report here")


def run(args: argparse.Namespace) -> int:
    try:
        check_output_path(args.output, "--output")
    except ValueError as error:
        print(f"webex-xml-lint: error: {shown_error(error)}", file=sys.stderr)
        return 2
    if "://" not in args.db and not Path(args.db).is_file():
        print(f"webex-xml-lint: error: {encodable(args.db)}: no such store (fill one with `webex-xml-lint audit ... "
              f"--db {encodable(args.db)}` or `webex-xml-lint proxy --db {encodable(args.db)}`)", file=sys.stderr)
        return 2
    try:
        with open_store(args.db, read_only=True) as store:
            write_report(store, Path(args.output))
            url = store.url
    except (StoreError, RuleError, OSError) as error:
        print(f"webex-xml-lint: error: {shown_error(error)}", file=sys.stderr)
        return 2
    print(encodable(f"report of {url} written to {args.output}"))
    return 0
