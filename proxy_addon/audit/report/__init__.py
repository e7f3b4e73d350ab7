"""The audit report (one HTML file) and the terminal inventory, both drawn from the store."""

from proxy_addon.audit.report.data import ReportData, collect
from proxy_addon.audit.report.page import render_html

__all__ = ["ReportData", "collect", "render_html"]
