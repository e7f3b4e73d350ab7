"""The report's charts as geometry: bars, labels, lines, laid out here and drawn as inline SVG by the
template (templates/charts.html), so the report loads nothing from anywhere.

Every bar carries its label, severity and value, which the template writes as data-label,
data-severity and data-value attributes and a <title> tooltip: the numbers can be read back from
the page (the report's browser test does exactly that).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta

from proxy_addon.audit.store import SEVERITIES, Breakdown

COLOURS = {"error": "#c62828", "warning": "#ef8f00", "info": "#1e6fd9"}
FONT_SIZE = 12
# The widest a character of the chart font is likely to be, in em: DejaVu Sans digits are 0.64 em,
# Arial's and system-ui's narrower. Labels are spaced for this width, so they never overlap.
CHAR_EM = 0.64
LABEL_GAP = 10  # pixels between two axis labels
NO_TIME = "no time"  # the timeline's column for findings whose message carries no time


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    severity: str
    value: int

    @property
    def colour(self) -> str:
        return COLOURS[self.severity]


@dataclass
class Text:
    x: float
    y: float
    text: str
    anchor: str = "start"
    css_class: str = ""
    title: str | None = None


@dataclass
class Line:
    x1: float
    x2: float
    y1: float
    y2: float
    dashed: bool = False


@dataclass
class Swatch:
    x: float
    y: float
    colour: str


@dataclass
class Chart:
    """One SVG drawing (or, when `empty` is set, a sentence saying why there is none)."""

    chart_id: str
    title: str
    width: int = 0
    height: int = 0
    bars: list[Bar] = field(default_factory=list)
    texts: list[Text] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    swatches: list[Swatch] = field(default_factory=list)
    empty: str | None = None


def text_width(text: str, size: int = FONT_SIZE) -> float:
    """An upper bound of the text's drawn width in pixels."""
    return len(text) * size * CHAR_EM


def _legend(chart: Chart, x: float, y: float) -> None:
    for i, severity in enumerate(SEVERITIES):
        left = x + i * 90
        chart.swatches.append(Swatch(left, y - 10, COLOURS[severity]))
        chart.texts.append(Text(left + 16, y, severity))


def bar_chart(rows: list[Breakdown], title: str, chart_id: str, width: int = 900) -> Chart:
    """Horizontal bars, one per row, stacked by severity, the total at the end."""
    if not rows:
        return Chart(chart_id, title, empty="No findings.")
    label_width, row_height, top = 190, 24, 34
    plot = width - label_width - 60
    largest = max(row.total for row in rows) or 1
    chart = Chart(chart_id, title, width, top + row_height * len(rows) + 8)
    _legend(chart, label_width, 16)
    for index, row in enumerate(rows):
        y = top + index * row_height
        label = str(row.key)
        shown = label if len(label) <= 28 else label[:27] + "…"
        chart.texts.append(Text(label_width - 8, y + 15, shown, anchor="end", title=label))
        x = float(label_width)
        for severity in SEVERITIES:
            value = row.counts.get(severity, 0)
            if value:
                span = max(plot * value / largest, 1.0)
                chart.bars.append(Bar(x, y + 3, span, row_height - 8, label, severity, value))
                x += span
        chart.texts.append(Text(x + 6, y + 15, str(row.total), css_class="total"))
    return chart


def timeline_chart(days: list[Breakdown], title: str, chart_id: str, width: int = 900) -> Chart:
    """Findings per day as stacked columns, with a y axis and a date axis whose labels never
    overlap; findings without a time (plain .xml files carry none) in a last column of their own."""
    dated = [day for day in days if day.key]
    undated = [day for day in days if not day.key and day.total]
    if not dated and not undated:
        return Chart(chart_id, title, empty="No findings.")
    columns = [*fill_days(dated), *(Breakdown(NO_TIME, day.counts, day.messages) for day in undated)]
    left, top, bottom, plot_height = 48, 28, 40, 180
    plot_width = width - left - 12
    largest = max(day.total for day in columns) or 1
    step = plot_width / len(columns)
    column = max(min(step * 0.75, 40), 1.0)
    chart = Chart(chart_id, title, width, top + plot_height + bottom)
    _legend(chart, left, 14)
    for fraction in (0, 0.5, 1):
        y = top + plot_height * (1 - fraction)
        chart.lines.append(Line(left, width - 12, y, y))
        if fraction != 0.5 or largest > 1:  # a middle line of 1 finding would read "0" or "1" twice
            chart.texts.append(Text(left - 6, y + 4, str(round(largest * fraction)), anchor="end"))
    label_y = top + plot_height + 16
    # Every n-th date is labelled, n chosen so that neighbouring labels keep LABEL_GAP between them.
    every = max(1, math.ceil((text_width("2024-05-01") + LABEL_GAP) / step))
    shown: list[Text] = []
    for index, day in enumerate(columns):
        x = left + index * step + (step - column) / 2
        y = float(top + plot_height)
        for severity in SEVERITIES:
            value = day.counts.get(severity, 0)
            if value:
                span = plot_height * value / largest
                y -= span
                chart.bars.append(Bar(x, y, column, span, str(day.key), severity, value))
        centre = x + column / 2
        if day.key == NO_TIME:
            chart.lines.append(Line(left + index * step, left + index * step, top, top + plot_height, dashed=True))
            label = Text(centre, label_y, NO_TIME, anchor="middle",
                         title="findings in messages that carry no time (plain .xml files)")
            # The undated column's label always shows: a date label too close to it gives way.
            while shown and _overlap(shown[-1], label):
                shown.pop()
            shown.append(label)
        elif index % every == 0:
            shown.append(Text(centre, label_y, str(day.key), anchor="middle"))
    chart.texts.extend(shown)
    return chart


def _overlap(a: Text, b: Text) -> bool:
    return abs(a.x - b.x) < (text_width(a.text) + text_width(b.text)) / 2 + LABEL_GAP


def fill_days(days: list[Breakdown], max_span: int = 120) -> list[Breakdown]:
    """Days without findings as empty columns, so gaps show, unless the span is too long to draw."""
    if not days:
        return days
    first, last = date.fromisoformat(str(days[0].key)), date.fromisoformat(str(days[-1].key))
    span = (last - first).days
    if span >= max_span or span < len(days):
        return days
    known = {day.key: day for day in days}
    every = (str(first + timedelta(days=n)) for n in range(span + 1))
    return [known.get(key) or Breakdown(key, dict.fromkeys(SEVERITIES, 0)) for key in every]
