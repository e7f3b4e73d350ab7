"""The audit report (one HTML file) and the terminal inventory, both drawn from the store."""

from .data import ReportData, collect
from .html import render_html

__all__ = ["ReportData", "collect", "render_html"]
