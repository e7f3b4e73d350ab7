"""The audit report: one self-contained HTML file (inline CSS and SVG, no scripts, no network).

Rendered from Jinja2 templates (templates/, shipped in the wheel) with autoescaping: every value
from the store is escaped by the template engine, never by hand. Each checklist line links to the
rule's documentation, which is included at the end of the report (same anchors as docs/rules.md:
#wx101-deprecated-site-id), so the file reads offline as a whole.
"""

from __future__ import annotations

import re
from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from proxy_addon.audit.report.data import ReportData, client_label, percent, time_span, top, when
from proxy_addon.audit.report.locations import SHOWN_PER_GROUP, anchor
from proxy_addon.audit.report.migration import STATUS_LABELS
from proxy_addon.audit.report.svg import bar_chart, timeline_chart
from proxy_addon.audit.store import SEVERITIES
from proxy_addon.outputs.formats import rule_anchor

# The report needs no script and no network, and says so to the browser: should any text slip past
# escaping, it can neither run nor load anything. Styles are inline (<style>, SVG style attributes).
CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
CREDENTIAL_COLUMNS = ("accessToken", "sessionTicket", "none")
_CODE = re.compile(r"`([^`]+)`")


def inline_code(text: object) -> Markup:
    """Rule documentation's `code` spans as <code>, everything else escaped."""
    parts = _CODE.split("" if text is None else str(text))
    return Markup("").join(Markup("<code>{}</code>").format(part) if odd else escape(part)
                           for odd, part in zip([i % 2 == 1 for i in range(len(parts))], parts, strict=True))


def requests_with(client, kind: str) -> int:
    """A client's requests that carried this kind of credential (alone or with others)."""
    return sum(n for kinds, n in client.by_kind.items() if kind in kinds.split("+"))


@cache
def environment() -> Environment:
    env = Environment(loader=PackageLoader("proxy_addon.audit.report", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(code=inline_code, number=lambda n: f"{n:,}", when=when, percent=percent,
                       client=lambda row: client_label(row if isinstance(row, dict) else vars(row)),
                       status_label=lambda status: STATUS_LABELS.get(status, status), anchor=rule_anchor)
    # The policy is our constant (no double quote), written as is so it reads as it is declared.
    env.globals.update(severities=SEVERITIES, csp=Markup(CONTENT_SECURITY_POLICY), requests_with=requests_with,
                       finding_anchor=anchor, shown_per_group=SHOWN_PER_GROUP, input_limit=INPUTS_LISTED)
    return env


def _undated(findings: int) -> str:
    what = "1 finding is in a message that carries" if findings == 1 else f"{findings:,} findings are in messages that carry"
    return f"{what} no time (plain .xml files): the last column, “no time”."


INPUTS_LISTED = 20  # inputs named in the header; the rest are counted


SITE_TYPE_NAMES = {"ci": "CI", "sso": "SSO", "non-sso": "non-SSO"}


def render_html(data: ReportData) -> str:
    """The report as one HTML document (the signature `audit --report` and `report` call)."""
    charts = [
        ("By rule", bar_chart(top(data.by_rule), "Findings by rule and severity", "chart-rule"), []),
        ("By site", bar_chart(top([data.site_row(row) for row in data.by_site], unknown="(no site)"),
                              "Findings by site", "chart-site"),
         [data.site_label(row.key) for row in data.by_site if data.is_unnamed_site(row.key)]),
        ("By operation", bar_chart(top(data.by_operation, unknown="(no operation)"), "Findings by operation",
                                   "chart-operation"), []),
        ("Over time (per day, UTC)", timeline_chart(data.by_day, "Findings per day", "chart-time"),
         [_undated(data.undated_findings)] if data.undated_findings else []),
    ]
    page = environment().get_template("report.html").render(
        data=data, s=data.summary, charts=charts, migration=data.migration,
        inputs_span=time_span(data.summary["first_seen"], data.summary["last_seen"]),
        credential_columns=CREDENTIAL_COLUMNS, site_type_names=SITE_TYPE_NAMES,
        docs=[data.rule(item.rule) for item in data.checklist if data.rule(item.rule) is not None])
    return page
