"""Inline SVG charts, generated here (the report loads nothing from anywhere).

Every bar carries data-label, data-severity and data-value attributes and a <title> tooltip, so
the numbers can be read back from the page (the report's browser test does exactly that).
"""

from __future__ import annotations

from datetime import date, timedelta
from html import escape

from proxy_addon.audit.store import SEVERITIES, Breakdown

COLOURS = {"error": "#c62828", "warning": "#ef8f00", "info": "#1e6fd9"}
_FONT = 'font-family="system-ui, sans-serif" font-size="12"'


def _attr(value: object) -> str:
    return escape(str(value), quote=True)


def _bar(x: float, y: float, width: float, height: float, label: str, severity: str, value: int) -> str:
    return (f'<rect class="bar sev-{severity}" x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{height:.1f}" '
            f'fill="{COLOURS[severity]}" data-label="{_attr(label)}" data-severity="{severity}" '
            f'data-value="{value}"><title>{escape(label)}: {value} {severity}</title></rect>')


def legend(x: float, y: float) -> str:
    items = []
    for i, severity in enumerate(SEVERITIES):
        left = x + i * 90
        items.append(f'<rect x="{left}" y="{y - 10}" width="12" height="12" fill="{COLOURS[severity]}"/>'
                     f'<text x="{left + 16}" y="{y}" {_FONT}>{severity}</text>')
    return "".join(items)


def _open(chart_id: str, title: str, width: int, height: int) -> str:
    # Scales to the page width; the viewBox keeps the drawing's proportions.
    return (f'<svg class="chart" id="{chart_id}" role="img" aria-label="{_attr(title)}" width="100%" '
            f'viewBox="0 0 {width} {height}" style="max-width: {width}px">')


def bar_chart(rows: list[Breakdown], title: str, chart_id: str, width: int = 900) -> str:
    """Horizontal bars, one per row, stacked by severity, the total at the end."""
    if not rows:
        return f'<p class="empty" id="{chart_id}">No findings.</p>'
    label_width, row_height, top = 190, 24, 34
    plot = width - label_width - 60
    largest = max(row.total for row in rows) or 1
    height = top + row_height * len(rows) + 8
    parts = [_open(chart_id, title, width, height), legend(label_width, 16)]
    for index, row in enumerate(rows):
        y = top + index * row_height
        label = str(row.key)
        shown = label if len(label) <= 28 else label[:27] + "…"
        parts.append(f'<text x="{label_width - 8}" y="{y + 15}" text-anchor="end" {_FONT}>'
                     f'<title>{escape(label)}</title>{escape(shown)}</text>')
        x = float(label_width)
        for severity in SEVERITIES:
            value = row.counts.get(severity, 0)
            if value:
                span = plot * value / largest
                parts.append(_bar(x, y + 3, max(span, 1.0), row_height - 8, label, severity, value))
                x += max(span, 1.0)
        parts.append(f'<text class="total" x="{x + 6:.1f}" y="{y + 15}" {_FONT}>{row.total}</text>')
    parts.append("</svg>")
    return "".join(parts)


def timeline_chart(days: list[Breakdown], title: str, chart_id: str, width: int = 900) -> str:
    """Findings per day as stacked columns, with a y axis and a thinned-out date axis."""
    if not days:
        return f'<p class="empty" id="{chart_id}">No timestamped findings (plain .xml files carry no time).</p>'
    days = fill_days(days)
    left, top, bottom, plot_height = 48, 28, 40, 180
    plot_width = width - left - 12
    height = top + plot_height + bottom
    largest = max(day.total for day in days) or 1
    step = plot_width / len(days)
    column = max(min(step * 0.75, 40), 1.0)
    parts = [_open(chart_id, title, width, height), legend(left, 14)]
    for fraction in (0, 0.5, 1):
        y = top + plot_height * (1 - fraction)
        parts.append(f'<line x1="{left}" x2="{width - 12}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" {_FONT}>{round(largest * fraction)}</text>')
    label_every = max(1, len(days) // 8)
    for index, day in enumerate(days):
        x = left + index * step + (step - column) / 2
        y = float(top + plot_height)
        for severity in SEVERITIES:
            value = day.counts.get(severity, 0)
            if value:
                span = plot_height * value / largest
                y -= span
                parts.append(_bar(x, y, column, span, str(day.key), severity, value))
        if index % label_every == 0:
            parts.append(f'<text x="{x + column / 2:.1f}" y="{top + plot_height + 16}" text-anchor="middle" '
                         f'{_FONT}>{escape(str(day.key))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def fill_days(days: list[Breakdown], max_span: int = 120) -> list[Breakdown]:
    """Days without findings as empty columns, so gaps show, unless the span is too long to draw."""
    first, last = date.fromisoformat(str(days[0].key)), date.fromisoformat(str(days[-1].key))
    span = (last - first).days
    if span >= max_span or span < len(days):
        return days
    known = {day.key: day for day in days}
    every = (str(first + timedelta(days=n)) for n in range(span + 1))
    return [known.get(key) or Breakdown(key, dict.fromkeys(SEVERITIES, 0)) for key in every]
