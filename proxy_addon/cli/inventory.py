"""`webex-xml-lint inventory --db audit.sqlite`: the audit's summary in the terminal."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from rich.console import Console

from proxy_addon.audit.store import StoreError, open_store
from proxy_addon.lint.ruleset import RuleError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", default="audit.sqlite", metavar="URL",
                        help="the store: a SQLite file (default audit.sqlite) or postgresql://user:pw@host/db")
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help="text: tables in the terminal; json: one object for dashboards")


def run(args: argparse.Namespace) -> int:
    from proxy_addon.audit.report.data import collect  # noqa: PLC0415
    from proxy_addon.audit.report.terminal import print_inventory  # noqa: PLC0415

    if "://" not in args.db and not Path(args.db).is_file():
        print(f"webex-xml-lint: error: {args.db}: no such store (run `webex-xml-lint audit ... --db {args.db}`)",
              file=sys.stderr)
        return 2
    try:
        with open_store(args.db, read_only=True) as store:
            data = collect(store)
    except (StoreError, RuleError) as error:
        print(f"webex-xml-lint: error: {error}", file=sys.stderr)
        return 2
    if args.format == "json":
        json.dump(inventory_json(data), sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        print_inventory(data, inventory_console())
    return 0


# Wide enough for any row: piped or redirected, every name is printed whole (a reader greps it).
UNBOUNDED_WIDTH = 100_000


def inventory_console() -> Console:
    """A terminal's width on a terminal (rich shortens cells that do not fit, with …); when the
    output is piped, no width at all, so no name is cut whatever COLUMNS says."""
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=UNBOUNDED_WIDTH)
    return console


def inventory_json(data) -> dict:
    """What `inventory` prints, as data: the inputs, the summary, the checklist, the breakdowns,
    migration readiness with its plan, and every finding with the input it came from."""
    migration = data.migration
    return {
        "store": data.store_url, "generated_at": data.generated_at, "inputs": data.inputs,
        "end_of_life_passed_days": migration.end_of_life_passed(data.generated_at) if migration else None,
        "summary": data.summary,
        "checklist": [asdict(item) for item in data.checklist],
        "by_rule": [asdict(row) for row in data.by_rule], "by_site": [asdict(row) for row in data.by_site],
        "by_operation": [asdict(row) for row in data.by_operation], "by_day": [asdict(row) for row in data.by_day],
        "migration": migration.as_dict() if migration is not None else None,
        "findings": [asdict(entry) for entry in data.findings_index],
    }
