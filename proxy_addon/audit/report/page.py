"""The audit report: one self-contained HTML file (inline CSS and SVG, no scripts, no network).

Each checklist line links to the rule's documentation, which is included at the end of the report
(same anchors as docs/rules.md: #wx101-deprecated-site-id), so the file reads offline as a whole.
"""

from __future__ import annotations

from html import escape

from proxy_addon.audit.report.data import ReportData, client_label, percent, top, when
from proxy_addon.audit.report.migration import STATUS_LABELS
from proxy_addon.audit.report.svg import bar_chart, timeline_chart
from proxy_addon.audit.store import SEVERITIES
from proxy_addon.outputs.formats import rule_anchor

_CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: #1d2330;
       margin: 0; background: #f5f6f8; }
main { max-width: 1080px; margin: 0 auto; padding: 24px 32px 64px; background: #fff; }
h1 { font-size: 26px; margin: 0 0 4px; } h2 { font-size: 20px; margin: 36px 0 8px; border-bottom: 2px solid #e3e6eb; }
h3 { font-size: 16px; margin: 20px 0 6px; }
.meta { color: #5b6475; margin: 0 0 16px; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 16px 0; }
.card { border: 1px solid #e3e6eb; border-radius: 8px; padding: 10px 14px; min-width: 120px; }
.card b { display: block; font-size: 22px; } .card span { color: #5b6475; font-size: 12px; }
table { border-collapse: collapse; width: 100%; margin: 8px 0; font-size: 13px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid #e8eaee; vertical-align: top; }
th { background: #f0f2f5; font-weight: 600; } td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.sev { display: inline-block; padding: 1px 7px; border-radius: 9px; color: #fff; font-size: 12px; }
.sev-error { background: #c62828; } .sev-warning { background: #ef8f00; } .sev-info { background: #1e6fd9; }
.charts { display: grid; grid-template-columns: 1fr; gap: 8px; }
.empty { color: #5b6475; font-style: italic; }
pre { background: #f5f6f8; padding: 8px 10px; border-radius: 6px; overflow-x: auto; font-size: 12px; }
.rule-doc { border-top: 1px solid #e3e6eb; padding-top: 4px; }
a { color: #0b57d0; }
.status { display: inline-block; padding: 1px 7px; border-radius: 9px; font-size: 12px; }
.status-deprecated { background: #fde7e7; color: #8e1c1c; } .status-not-affected { background: #e3f4e5; color: #1f6b2a; }
.status-unknown { background: #eceff3; color: #3c4454; }
.share { height: 14px; background: #eceff3; border-radius: 7px; overflow: hidden; display: flex; margin: 4px 0 12px; }
.share span { display: block; height: 100%; }
.share .status-deprecated { background: #d64545; } .share .status-not-affected { background: #3c9a4c; }
.share .status-unknown { background: #a5adba; }
"""


# The report needs no script and no network, and says so to the browser: should any text slip past
# escaping, it can neither run nor load anything. Styles are inline (<style>, SVG style attributes).
CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"


def _e(value: object) -> str:
    return escape("" if value is None else str(value))


def _severity(severity: str) -> str:
    return f'<span class="sev sev-{_e(severity)}">{_e(severity)}</span>'


def _table(headers: list[str], rows: list[list[str]], numeric: set[int] = frozenset(), table_id: str = "") -> str:
    head = "".join(f'<th class="num">{_e(h)}</th>' if i in numeric else f"<th>{_e(h)}</th>"
                   for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(f'<td class="num">{cell}</td>' if i in numeric else f"<td>{cell}</td>"
                                    for i, cell in enumerate(row)) + "</tr>" for row in rows)
    ident = f' id="{table_id}"' if table_id else ""
    return f"<table{ident}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _rule_link(data: ReportData, rule_id: str) -> str:
    rule = data.rule(rule_id)
    if rule is None:
        return _e(rule_id)
    return f'<a href="#{rule_anchor(rule)}">{_e(rule.id)}</a> {_e(rule.name)}'


def _cards(data: ReportData) -> str:
    s = data.summary
    items = [
        (f"{s['messages']:,}", f"messages ({s['requests']:,} requests, {s['responses']:,} responses)"),
        (f"{s['findings']:,}", "findings: " + ", ".join(f"{s['by_severity'][k]:,} {k}" for k in SEVERITIES)),
        (f"{s['sites']:,}", "sites"),
        (f"{s['clients']:,}", "clients (address, user agent, webExID)"),
        (f"{when(s['first_seen'])}", f"first seen; last {when(s['last_seen'])}"),
        (f"{s['input_errors']:,}", "inputs that could not be read"),
    ]
    return '<div class="cards">' + "".join(
        f'<div class="card"><b>{_e(value)}</b><span>{_e(label)}</span></div>' for value, label in items) + "</div>"


def _checklist(data: ReportData) -> str:
    if not data.checklist:
        return '<p class="empty">Nothing to fix: no findings.</p>'
    rows = []
    for number, item in enumerate(data.checklist, 1):
        rule = data.rule(item.rule)
        summary = rule.docs.get("summary", "") if rule else ""
        fix = rule.docs.get("fix", "") if rule else ""
        rows.append([str(number), _rule_link(data, item.rule), _severity(item.severity), _e(summary),
                     f"{item.clients:,}", f"{item.messages:,}", f"{item.sites:,}", _e(item.predicts or ""),
                     _e(fix)])
    return ("<p>Ordered by impact: severity, then the number of clients affected, then messages. Each rule "
            "links to its documentation below.</p>"
            + _table(["#", "Rule", "Severity", "What", "Clients", "Messages", "Sites", "Predicts", "How to fix"],
                     rows, {0, 4, 5, 6}, "checklist"))


def _site_id_clients(data: ReportData) -> str:
    if not data.site_id_clients:
        return '<p class="empty">No client sends the deprecated siteID.</p>'
    rows = [[_e(client_label(row)), _e(row["webex_id"] or "-"), _e(row["site"] or "-"), _e(row["site_id"]),
             f"{row['messages']:,}", _e(when(row["first_seen"])), _e(when(row["last_seen"]))]
            for row in data.site_id_clients]
    return _table(["Client", "webExID", "Site", "siteID sent", "Messages", "First seen", "Last seen"], rows, {4},
                  "site-id-clients")


def _ci_fields(data: ReportData) -> str:
    if not data.ci_fields:
        return ('<p class="empty">No CI sites known (pass --ci-site, or capture a GetSiteType answer) and no SetUser request to a CI site sent '
                'an ignored field.</p>')
    parts = []
    for site, fields in data.ci_fields.items():
        parts.append(f"<h3>{_e(site)}</h3>")
        if data.ci_sites.get(site):
            parts.append(f'<p class="learned">CI: {_e(data.ci_sites[site])}</p>')
        if not fields:
            parts.append("<p class=\"empty\">No ignored SetUser fields seen.</p>")
            continue
        rows = [[f"&lt;{_e(f['field'])}&gt;", f"{f['messages']:,}", f"{f['clients']:,}"] for f in fields]
        parts.append(_table(["Ignored field", "Messages", "Clients"], rows, {1, 2}))
    return '<div id="ci-fields">' + "".join(parts) + "</div>"


def _status(status: str) -> str:
    return f'<span class="status status-{_e(status)}">{_e(STATUS_LABELS.get(status, status))}</span>'


def _link(url: str | None, text: str) -> str:
    return f'<a href="{_e(url)}">{_e(text)}</a>' if url else _e(text)


def _migration(data: ReportData) -> str:
    m = data.migration
    if m is None or not m.requests:
        return '<p class="empty">No requests seen: nothing to say about the migration yet.</p>'
    intro = (f"<p>Cisco deprecated the Meetings-related XML APIs: end of support {_e(m.end_of_support)}, "
             f"end of life {_e(m.end_of_life)} (extensions {_e(m.extension)}); user management is not "
             "affected. Statuses and replacements come from rules/lifecycle.yaml; a replacement marked "
             "<i>suggested</i> is our inference, <i>stated</i> one a source gives (see docs/migration.md).</p>")
    bar = "".join(f'<span class="status-{status}" style="width: {100 * count / m.requests:.2f}%" '
                  f'data-status="{status}" data-value="{count}" title="{_e(STATUS_LABELS[status])}: {count}"></span>'
                  for status, count in m.by_status.items() if count)
    share = (f'<p id="migration-share"><b>{percent(m.unaffected_share)}</b> of {m.requests:,} requests are already '
             f"on operations the deprecation does not affect; {m.by_status['deprecated']:,} call deprecated "
             f"operations, {m.by_status['unknown']:,} operations of unknown status.</p>"
             f'<div class="share" id="migration-share-bar">{bar}</div>')
    groups = _table(["Service group", "Status", "Operations seen", "Requests"],
                    [[_e(g["group"]), _status(g["status"]), f"{g['operations']:,}", f"{g['requests']:,}"]
                     for g in m.by_group], {2, 3}, "migration-groups")
    if m.clients:
        clients = _table(
            ["Client", "webExID", "Deprecated operations (requests)", "Deprecated / all requests", "First seen",
             "Last seen"],
            [[_e(client_label(vars(c))), _e(c.webex_id or "-"),
              ", ".join(f"{_e(op['operation'])} ({op['requests']:,})" for op in c.operations),
              f"{c.deprecated_requests:,} / {c.requests:,}", _e(when(c.first_seen)), _e(when(c.last_seen))]
             for c in m.clients], {3}, "migration-clients")
    else:
        clients = '<p class="empty" id="migration-clients">No client calls a deprecated operation.</p>'
    if m.replacements:
        replacements = _table(
            ["Deprecated operation", "Group", "Requests", "Clients", "REST counterpart", "Basis"],
            [[_e(u.operation), _e(u.group), f"{u.requests:,}", f"{u.clients:,}",
              _link(u.docs, u.replacement.rsplit(" (", 1)[0] if u.rest_status != "none-known" else "none known"),
              _e(u.rest_status.replace("-", " "))] for u in m.replacements], {2, 3}, "migration-replacements")
    else:
        replacements = '<p class="empty" id="migration-replacements">No deprecated operation seen.</p>'
    kinds = ["password", "accessToken", "sessionTicket", "none"]
    credentials = _table(
        ["Client", "webExID", "Requests with a password", "with an accessToken", "with a sessionTicket",
         "with no credential"],
        [[_e(client_label(vars(c))), _e(c.webex_id or "-"), f"{c.password_requests:,}",
          *(f"{sum(n for k, n in c.by_kind.items() if kind in k.split('+')):,}" for kind in kinds[1:])]
         for c in m.credentials], {2, 3, 4, 5}, "migration-credentials")
    password = len(m.password_clients)
    return (intro + share + "<h3>Operations seen, by service group and status</h3>" + groups
            + "<h3>Clients still calling deprecated operations</h3>" + clients
            + "<h3>Suggested replacements</h3>" + replacements
            + f"<h3>How clients authenticate</h3><p>{password:,} of {len(m.credentials):,} clients still send "
            "passwords; REST needs access tokens (counts only: the store keeps no credential).</p>" + credentials)


SITE_TYPE_NAMES = {"ci": "CI", "sso": "SSO", "non-sso": "non-SSO"}


def _learned_sites(data: ReportData) -> str:
    if not data.learned_sites:
        return ('<p class="empty">No site type or API version known (pass --ci-site, or capture GetSiteType and '
                'GetAPIVersion answers).</p>')
    rows = [[_e(row["site"]), _e(SITE_TYPE_NAMES.get(row["site_type"] or "", row["site_type"] or "-")),
             _e(row["type_learned_from"] or "-"), _e(row["api_version"] or "-"), _e(row["version_learned_from"] or "-")]
            for row in data.learned_sites]
    return _table(["Site", "Type", "Known from", "API version", "Learned from"], rows, table_id="learned-sites")


def _input_errors(data: ReportData) -> str:
    if not data.input_errors:
        return '<p class="empty">Every input was read.</p>'
    rows = [[_e(row["source"]), _e(row["locator"] or "-"), _e(row["problem"])] for row in data.input_errors]
    return _table(["Input", "Where", "Problem"], rows, table_id="input-errors")


def _rule_docs(data: ReportData) -> str:
    wanted = [item.rule for item in data.checklist] or []
    parts = []
    for rule_id in wanted:
        rule = data.rule(rule_id)
        if rule is None:
            continue
        docs = rule.docs
        parts.append(
            f'<section class="rule-doc" id="{rule_anchor(rule)}"><h3>{_e(rule.id)} {_e(rule.name)} '
            f'{_severity(str(rule.severity))}</h3>'
            f"<p>{_e(docs.get('summary'))}</p><p><b>Why it matters.</b> {_e(docs.get('why'))}</p>"
            f"<pre>{_e(docs.get('example'))}</pre><p><b>How to fix.</b> {_e(docs.get('fix'))}</p>"
            f"<p class=\"meta\">Introduced: {_e(rule.introduced)}. Source: {_e(docs.get('source'))}</p></section>")
    return "".join(parts) or '<p class="empty">No rules to document: no findings.</p>'


def render_html(data: ReportData) -> str:
    s = data.summary
    charts = "".join([
        "<h3>By rule</h3>", bar_chart(top(data.by_rule), "Findings by rule and severity", "chart-rule"),
        "<h3>By site</h3>", bar_chart(top(data.by_site, unknown="(no site)"), "Findings by site", "chart-site"),
        "<h3>By operation</h3>",
        bar_chart(top(data.by_operation, unknown="(no operation)"), "Findings by operation", "chart-operation"),
        "<h3>Over time (per day, UTC)</h3>", timeline_chart(data.by_day, "Findings per day", "chart-time"),
    ])
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Webex XML API migration audit</title>
<style>{_CSS}</style></head>
<body><main>
<h1>Webex XML API migration audit</h1>
<p class="meta">Generated {_e(when(data.generated_at))} from {_e(data.store_url)} (schema v{_e(s['schema_version'])}).
{s['messages_with_findings']:,} of {s['messages']:,} messages have findings.</p>
{_cards(data)}
<h2 id="checklist-title">Migration checklist</h2>
{_checklist(data)}
<h2 id="migration-readiness">Migration readiness</h2>
{_migration(data)}
<h2>Findings</h2>
<div class="charts">{charts}</div>
<h2>Clients still sending the deprecated siteID (WX101)</h2>
{_site_id_clients(data)}
<h2>CI sites and the SetUser fields their integrations still send (WX201)</h2>
{_ci_fields(data)}
<h2>Sites: type and API version, as configured or learned from traffic</h2>
{_learned_sites(data)}
<h2>Inputs that could not be read</h2>
{_input_errors(data)}
<h2>Rule documentation</h2>
{_rule_docs(data)}
</main></body></html>
"""
