"""The inventory in the terminal: the report's summary as rich tables."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from proxy_addon.audit.report.data import ReportData, client_label, percent, time_span, top, when
from proxy_addon.audit.report.migration import STATUS_LABELS
from proxy_addon.audit.store import SEVERITIES, Breakdown

_STYLE = {"error": "bold red", "warning": "yellow", "info": "blue"}
NO_TIME = "no time (plain .xml files)"


def _site(data: ReportData, site: str | None) -> str:
    label = data.site_label(site)
    return label.replace("`", "") if label else "-"


def _breakdown_table(title: str, heading: str, rows: list[Breakdown]) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column(heading)
    for severity in SEVERITIES:
        table.add_column(severity, justify="right", style=_STYLE[severity])
    table.add_column("total", justify="right")
    for row in rows:
        table.add_row(str(row.key), *(f"{row.counts.get(s, 0):,}" for s in SEVERITIES), f"{row.total:,}")
    return table


def print_inventory(data: ReportData, console: Console) -> None:
    s = data.summary
    console.print(f"[bold]Inventory[/bold] {data.store_url}: {s['messages']:,} messages "
                  f"({s['requests']:,} requests, {s['responses']:,} responses), {s['findings']:,} findings "
                  f"({', '.join(f'{s['by_severity'][k]:,} {k}' for k in SEVERITIES)}), {s['sites']:,} sites, "
                  f"{s['clients']:,} clients, {when(s['first_seen'])} to {when(s['last_seen'])}", soft_wrap=True)
    print_inputs(data, console)
    checklist = Table(title="Migration checklist (by impact)", title_justify="left")
    for name, justify in (("#", "right"), ("rule", "left"), ("severity", "left"), ("clients", "right"),
                          ("messages", "right"), ("sites", "right"), ("predicts", "left")):
        checklist.add_column(name, justify=justify)
    for number, item in enumerate(data.checklist, 1):
        rule = data.rule(item.rule)
        checklist.add_row(str(number), f"{item.rule} {rule.name if rule else ''}",
                          f"[{_STYLE.get(item.severity, '')}]{item.severity}[/]", f"{item.clients:,}",
                          f"{item.messages:,}", f"{item.sites:,}", item.predicts or "")
    console.print(checklist)
    print_migration(data, console)
    console.print(_breakdown_table("Findings by rule", "rule", data.by_rule))
    sites = [Breakdown(_site(data, row.key) if row.key else None, row.counts, row.messages) for row in data.by_site]
    console.print(_breakdown_table("Findings by site", "site", top(sites, unknown="(no site)")))
    console.print(_breakdown_table("Findings by operation", "operation",
                                   top(data.by_operation, unknown="(no operation)")))
    console.print(_breakdown_table("Findings per day (UTC)", "day", [
        row if row.key else Breakdown(NO_TIME, row.counts, row.messages) for row in data.by_day]))
    clients = Table(title="Clients still sending the deprecated siteID (WX101)", title_justify="left")
    for name in ("client", "webExID", "site", "siteID", "messages", "last seen"):
        clients.add_column(name, justify="right" if name == "messages" else "left")
    for row in data.site_id_clients:
        clients.add_row(client_label(row), row["webex_id"] or "-", _site(data, row["site"]), row["site_id"] or "-",
                        f"{row['messages']:,}", when(row["last_seen"]))
    console.print(clients)
    fields = Table(title="CI sites and the SetUser fields they still send (WX201)", title_justify="left")
    for name in ("site", "known as CI from", "ignored field", "messages", "clients"):
        fields.add_column(name, justify="right" if name in ("messages", "clients") else "left")
    for site, items in data.ci_fields.items():
        for item in items or [{"field": None, "messages": 0, "clients": 0}]:
            fields.add_row(_site(data, site), data.ci_sites.get(site) or "-", f"<{item['field']}>" if item["field"] else "(none seen)",
                           f"{item['messages']:,}", f"{item['clients']:,}")
    console.print(fields)
    if data.learned_sites:
        sites = Table(title="Sites: type and API version, as configured or learned", title_justify="left")
        for name in ("site", "type", "known from", "API version", "learned from"):
            sites.add_column(name)
        for row in data.learned_sites:
            sites.add_row(row["site"], row["site_type"] or "-", row["type_learned_from"] or "-",
                          row["api_version"] or "-", row["version_learned_from"] or "-")
        console.print(sites)
    if data.input_errors:
        errors = Table(title="Inputs that could not be read", title_justify="left")
        for name in ("input", "where", "problem"):
            errors.add_column(name)
        for row in data.input_errors:
            errors.add_row(row["source"], row["locator"] or "-", row["problem"])
        console.print(errors)


INPUTS_LISTED = 20


def print_inputs(data: ReportData, console: Console) -> None:
    """The inputs the store's messages came from, the time they span, and the end of life against today."""
    inputs = Table(title=f"Inputs: {len(data.inputs):,} ({time_span(data.summary['first_seen'], data.summary['last_seen'])})",
                   title_justify="left")
    for name in ("input", "messages", "requests", "first seen", "last seen"):
        inputs.add_column(name, justify="right" if name in ("messages", "requests") else "left")
    for row in data.inputs[:INPUTS_LISTED]:
        inputs.add_row(row["source"], f"{row['messages']:,}", f"{row['requests']:,}", when(row["first_seen"]),
                       when(row["last_seen"]))
    if len(data.inputs) > INPUTS_LISTED:
        inputs.add_row(f"and {len(data.inputs) - INPUTS_LISTED:,} more", "", "", "", "")
    console.print(inputs)
    m = data.migration
    if m is not None:
        days = m.end_of_life_passed(data.generated_at)
        if days is not None:
            console.print(f"[bold]The Meetings XML API's end of life ({m.end_of_life}) has passed[/bold]: {days:,} days "
                          f"before this inventory's date ({when(data.generated_at)}).", soft_wrap=True)


def print_plan(data: ReportData, console: Console) -> None:
    """The migration plan per client application, as the report's section (findings per rule counted)."""
    m = data.migration
    plans = [plan for plan in m.plans if plan.deprecated_requests] if m is not None else []
    table = Table(title="Migration plan, per client application", title_justify="left")
    for name in ("application", "webExIDs", "calls to move -> REST", "rules to fix first", "not carried by REST",
                 "auth change"):
        table.add_column(name)
    for plan in plans:
        calls = "\n".join(f"{c['operation']} ({c['requests']:,}) -> {c['rest'] or 'no REST request'}" for c in plan.calls)
        rules = "\n".join(f"{r['rule']} {r['severity']} ({r['findings']:,})" for r in plan.rules) or "-"
        lost = "\n".join(f"{g['operation']} {g['field']} ({g['requests']:,})" for g in plan.not_carried) or "-"
        auth = "\n".join(f"{c['from']} ({plan.credentials[c['from']]:,})" for c in plan.auth_changes) or "-"
        if plan.scopes:
            auth += "\nscopes: " + ", ".join(plan.scopes)
        table.add_row(plan.application, ", ".join(plan.webex_ids) or "-", calls, rules, lost, auth)
    console.print(table)


def print_migration(data: ReportData, console: Console) -> None:
    m = data.migration
    if m is None or not m.requests:
        console.print("Migration readiness: no requests seen.")
        return
    console.print(f"[bold]Migration readiness[/bold]: {percent(m.unaffected_share)} of {m.requests:,} requests "
                  f"already on operations the deprecation does not affect ({m.by_status['deprecated']:,} deprecated, "
                  f"{m.by_status['unknown']:,} status unknown); end of support {m.end_of_support}, end of life "
                  f"{m.end_of_life}", soft_wrap=True)
    groups = Table(title="Operations seen, by service group and status", title_justify="left")
    for name in ("group", "status", "operations", "requests"):
        groups.add_column(name, justify="right" if name in ("operations", "requests") else "left")
    for group in m.by_group:
        groups.add_row(group["group"], STATUS_LABELS[group["status"]], f"{group['operations']:,}",
                       f"{group['requests']:,}")
    console.print(groups)
    print_plan(data, console)
    clients = Table(title="Clients still calling deprecated operations", title_justify="left")
    for name in ("client", "webExID", "deprecated operations (requests)", "deprecated/all", "first seen", "last seen"):
        clients.add_column(name, justify="right" if name == "deprecated/all" else "left")
    for client in m.clients:
        clients.add_row(client_label(vars(client)), client.webex_id or "-",
                        ", ".join(f"{op['operation']} ({op['requests']:,})" for op in client.operations),
                        f"{client.deprecated_requests:,}/{client.requests:,}", when(client.first_seen),
                        when(client.last_seen))
    console.print(clients)
    replacements = Table(title="Suggested replacements", title_justify="left")
    for name in ("operation", "requests", "clients", "REST counterpart", "docs"):
        replacements.add_column(name, justify="right" if name in ("requests", "clients") else "left")
    for use in m.replacements:
        replacements.add_row(use.operation, f"{use.requests:,}", f"{use.clients:,}", use.replacement, use.docs or "-")
    console.print(replacements)
    credentials = Table(title="Clients still sending passwords (counts only)", title_justify="left")
    for name in ("client", "webExID", "password", "other requests"):
        credentials.add_column(name, justify="right" if name in ("password", "other requests") else "left")
    for client in m.password_clients:
        credentials.add_row(client_label(vars(client)), client.webex_id or "-", f"{client.password_requests:,}",
                            f"{sum(client.by_kind.values()) - client.password_requests:,}")
    console.print(credentials)
