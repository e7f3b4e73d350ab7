"""Everything the report and the `inventory` command show, read from the store once."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from proxy_addon.audit.report.migration import MigrationReadiness, readiness
from proxy_addon.audit.store import Breakdown, ChecklistItem, Store
from proxy_addon.lint.lifecycle import default_lifecycle
from proxy_addon.lint.ruleset import Rule, RuleSet

TOP = 15  # rows per chart before the rest are folded into "other"


@dataclass
class ReportData:
    store_url: str
    generated_at: float
    summary: dict[str, Any]
    by_rule: list[Breakdown]
    by_site: list[Breakdown]
    by_operation: list[Breakdown]
    by_day: list[Breakdown]
    site_id_clients: list[dict[str, Any]]
    ci_fields: dict[str, list[dict[str, Any]]]
    checklist: list[ChecklistItem]
    input_errors: list[dict[str, Any]]
    ci_sites: dict[str, str | None] = field(default_factory=dict)  # site -> where it was learned
    learned_sites: list[dict[str, Any]] = field(default_factory=list)  # site types and API versions known
    rules: dict[str, Rule] = field(default_factory=dict)
    migration: MigrationReadiness | None = None

    def rule(self, rule_id: str) -> Rule | None:
        return self.rules.get(rule_id)


def collect(store: Store, ruleset: RuleSet | None = None) -> ReportData:
    ruleset = ruleset or RuleSet.load()
    return ReportData(
        store_url=store.url, generated_at=time.time(), summary=store.summary(),
        by_rule=store.breakdown("rule"), by_site=store.breakdown("site"),
        by_operation=store.breakdown("operation"), by_day=store.breakdown("day"),
        site_id_clients=store.deprecated_site_id_clients(), ci_fields=store.ci_ignored_fields(),
        checklist=store.checklist(), input_errors=store.input_errors(), ci_sites=store.ci_sites(),
        learned_sites=store.learned_sites(),
        rules=dict(ruleset.by_id),
        migration=readiness(store.operation_usage(), store.client_credentials(),
                            ruleset.lifecycle or default_lifecycle()),
    )


def top(rows: list[Breakdown], limit: int = TOP, unknown: str = "(unknown)") -> list[Breakdown]:
    """The largest `limit` rows, the rest summed into one "N others" row; missing keys named."""
    named = [Breakdown(row.key or unknown, row.counts, row.messages) for row in rows]
    if len(named) <= limit:
        return named
    rest = named[limit - 1:]
    counts = {severity: sum(row.counts.get(severity, 0) for row in rest) for severity in rest[0].counts}
    return [*named[:limit - 1], Breakdown(f"{len(rest)} others", counts, sum(r.messages for r in rest))]


def when(timestamp: float | None) -> str:
    if timestamp is None:
        return "-"
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M UTC")


def percent(share: float | None) -> str:
    return "-" if share is None else f"{share:.0%}"


def client_label(row: dict[str, Any]) -> str:
    parts = [row.get("client_address") or "unknown address", row.get("user_agent") or "unknown user agent"]
    return " · ".join(parts)
