"""Everything the report and the `inventory` command show, read from the store once."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from proxy_addon.audit.report.locations import RuleFindings, application_label, by_application, finding_index
from proxy_addon.audit.report.migration import MigrationReadiness, readiness
from proxy_addon.audit.store import Breakdown, ChecklistItem, Store
from proxy_addon.audit.store.store import SEVERITY_RANK
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
    unnamed_site_ids: set[str] = field(default_factory=set)  # sites known only by the siteID sent
    inputs: list[dict[str, Any]] = field(default_factory=list)  # source, messages, requests, first/last seen
    findings_index: list[RuleFindings] = field(default_factory=list)  # per rule, per application, located

    def findings_of(self, rule: str) -> RuleFindings | None:
        return next((entry for entry in self.findings_index if entry.rule == rule), None)

    def findings_anchor(self, rule: str, client: Any = None) -> str | None:
        """Where the report lists a rule's findings (of one client's application, given a row or an
        object with client_address and user_agent); None when it lists none."""
        found = self.findings_of(rule)
        if found is None:
            return None
        if client is None:
            return found.anchor
        row = client if isinstance(client, dict) else vars(client)
        label = application_label(row.get("client_address"), row.get("user_agent"))
        return next((group.anchor for group in found.groups if group.application == label), None)

    def rule(self, rule_id: str) -> Rule | None:
        return self.rules.get(rule_id)

    def is_unnamed_site(self, site: str | None) -> bool:
        return site is not None and site in self.unnamed_site_ids

    def site_label(self, site: str | None) -> str | None:
        """A site as the report names it; a bare siteID says so, and how to name it (`code` marked)."""
        if self.is_unnamed_site(site):
            return f"siteID {site} — pass `--site-id` to name it"
        return site

    def site_row(self, row: Breakdown) -> Breakdown:
        """A chart row keyed by the site's short label ("siteID 5941234567" for a bare siteID)."""
        return Breakdown(f"siteID {row.key}", row.counts, row.messages) if self.is_unnamed_site(row.key) else row

    @property
    def undated_findings(self) -> int:
        """Findings in messages without a time (plain .xml files): the timeline's "no time" column."""
        return sum(day.total for day in self.by_day if day.key is None)


def collect(store: Store, ruleset: RuleSet | None = None) -> ReportData:
    ruleset = ruleset or RuleSet.load()
    clients = store.clients()
    unusable = store.unusable_rows()
    checklist = store.checklist()
    index = finding_index(store.finding_counts(), store.finding_locations(), clients,
                          [item.rule for item in checklist])
    data = ReportData(
        store_url=store.url, generated_at=time.time(), summary=store.summary(),
        by_rule=store.breakdown("rule"), by_site=store.breakdown("site"),
        by_operation=store.breakdown("operation"), by_day=_dated(store.breakdown("day")),
        site_id_clients=store.deprecated_site_id_clients(), ci_fields=store.ci_ignored_fields(),
        checklist=checklist, ci_sites=store.ci_sites(),
        input_errors=[*store.input_errors(), *({"source": store.url, "locator": f"message {row['key']}",
                                                "problem": f"{row['problem']}: left out of the timeline and first/last seen",
                                                "seen": None} for row in unusable)],
        learned_sites=store.learned_sites(),
        rules=dict(ruleset.by_id),
        migration=readiness(by_client(store.operation_usage(), clients, "operation"),
                            by_client(store.client_credentials(), clients, "auth"),
                            ruleset.lifecycle or default_lifecycle()),
        unnamed_site_ids=store.unnamed_site_ids(),
        inputs=store.inputs(), findings_index=index,
    )
    _link_plans(data, store.not_carried(), clients)
    return data


DEPRECATED_CALL_RULE = "WX601"  # one finding per request to a deprecated operation: the plan's calls, one by one


NOT_MAPPED_WHY = "no REST counterpart in the mapping (rules/migration/rest-mapping.yaml): its value is not carried over"
_WHY = {"not-mapped": NOT_MAPPED_WHY,
        "more": "the store lists at most 64 fields per request: run `webex-xml-lint migrate` on the captures for all"}


def _link_plans(data: ReportData, not_carried: list[dict[str, Any]], clients: dict) -> None:
    """Each application's plan gets the rules to fix first, where its calls are listed, and the
    fields its requests sent that REST would not carry."""
    if data.migration is None:
        return
    apps = by_application(data.findings_index)
    lost: dict[str, dict[tuple[str, str, str], int]] = {}
    for row in not_carried:
        identity = (row["client_address"], row["user_agent"], row["webex_id"])
        address, agent, _ = clients.get(identity) or identity
        fields = lost.setdefault(application_label(address, agent), {})
        key = (row["operation"], row["kind"], row["field"])
        fields[key] = fields.get(key, 0) + row["requests"]
    for plan in data.migration.plans:
        gaps = {call["operation"]: call.get("gaps", {}) for call in plan.calls}
        plan.not_carried = [
            {"operation": operation, "kind": kind, "field": name, "requests": count,
             "why": gaps.get(operation, {}).get(name, _WHY.get(kind, ""))}
            for (operation, kind, name), count in sorted(lost.get(plan.application, {}).items(),
                                                         key=lambda item: (item[0][0], -item[1], item[0][2]))]
        groups = apps.get(plan.application, {})
        calls = groups.get(DEPRECATED_CALL_RULE)
        plan.calls_anchor = calls.anchor if calls is not None else None
        ranked = sorted((g for rule, g in groups.items() if rule != DEPRECATED_CALL_RULE),
                        key=lambda g: (-SEVERITY_RANK.get(g.severity, 0), -g.findings, g.rule))
        plan.rules = [{"rule": g.rule, "severity": g.severity, "findings": g.findings, "messages": g.messages,
                       "anchor": g.anchor} for g in ranked]


def time_span(first: float | None, last: float | None) -> str:
    """"2024-05-01 09:30 UTC to 2024-05-03 17:00 UTC (2 days)"; "-" with no time."""
    if first is None or last is None:
        return "-"
    seconds = last - first
    days = int(seconds // 86400)
    if days:
        length = f"{days} day{'s' if days != 1 else ''}"
    elif seconds >= 3600:
        length = f"{seconds / 3600:.1f} hours"
    else:
        length = f"{seconds / 60:.0f} minutes" if seconds >= 60 else f"{seconds:.0f} seconds"
    return f"{when(first)} to {when(last)} ({length})"


def _dated(days: list[Breakdown]) -> list[Breakdown]:
    """The timeline's days without those that are not dates (a store written by something else:
    named by Store.unusable_rows); findings without a time stay under None."""
    kept = []
    for day in days:
        if day.key is not None:
            try:
                date.fromisoformat(day.key)
            except (TypeError, ValueError):
                continue
        kept.append(day)
    return kept


_IDENTITY = ("client_address", "user_agent", "webex_id")


def by_client(rows: list[dict[str, Any]], clients: dict, detail: str) -> list[dict[str, Any]]:
    """Per-identity rows (requests per `detail`) summed per client, as the store's clients resolve."""
    merged: dict[tuple, dict[str, Any]] = {}
    for row in rows:
        client = clients.get(tuple(row[name] for name in _IDENTITY)) or tuple(row[name] for name in _IDENTITY)
        into = merged.get((*client, row[detail]))
        if into is None:
            merged[(*client, row[detail])] = {**row, **dict(zip(_IDENTITY, client, strict=True))}
            continue
        into["requests"] += row["requests"]
        for name, pick in (("first_seen", min), ("last_seen", max)):
            if name in row:
                into[name] = pick((t for t in (into[name], row[name]) if t is not None), default=None)
    return list(merged.values())


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
    try:
        return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M UTC")
    except (OverflowError, OSError, ValueError):  # the store filters these; a time from elsewhere may not be one
        return "-"


def percent(share: float | None) -> str:
    return "-" if share is None else f"{share:.0%}"


def client_label(row: dict[str, Any]) -> str:
    parts = [row.get("client_address") or "unknown address", row.get("user_agent") or "unknown user agent"]
    return " · ".join(parts)
