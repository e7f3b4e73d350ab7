"""The "Webex XML" contentview for mitmproxy 12: operation and findings, then the pretty XML.

It outranks mitmproxy's generic XML/HTML view (priority 1 for XML content types) for bodies whose
root is a serv:message. The header lines are XML comments, so XML highlighting still fits. Findings
come from the live addon when it saw the flow (they then include what it learned), otherwise the
body is linted here with the default context.
"""

from __future__ import annotations

import copy

from lxml import etree
from mitmproxy import contentviews, http

from proxy_addon.core.parsing import parse_document
from proxy_addon.core.redaction import redact
from proxy_addon.exchange.sniff import is_xml_api
from proxy_addon.lint.engine import Linter
from proxy_addon.lint.ruleset import builtin_rules
from proxy_addon.mitm.flows import METADATA_KEY

PRIORITY = 2.0


class WebexXmlContentview(contentviews.Contentview):
    def __init__(self) -> None:
        self._linter: Linter | None = None  # for bodies the live addon did not see; built on first use

    @property
    def name(self) -> str:
        return "Webex XML"

    @property
    def syntax_highlight(self) -> contentviews.SyntaxHighlight:
        return "xml"

    def render_priority(self, data: bytes, metadata: contentviews.Metadata) -> float:
        return PRIORITY if is_xml_api(None, data) else -1

    def prettify(self, data: bytes, metadata: contentviews.Metadata) -> str:
        direction = "response" if isinstance(metadata.http_message, http.Response) else "request"
        header = _header_from_flow(metadata, direction)
        if header is None:
            header = self._header_from_lint(data, direction)
        document = parse_document(data, path="contentview", voice=builtin_rules())
        if document.root is None:
            raise ValueError(document.findings[0].message if document.findings else "not XML")
        pretty = copy.deepcopy(document.root)
        etree.indent(pretty, space="  ")
        return "\n".join(f"<!-- {_comment_safe(line)} -->" for line in header) + "\n" + \
            etree.tostring(pretty, encoding="unicode")

    def _header_from_lint(self, data: bytes, direction: str) -> list[str]:
        if self._linter is None:
            self._linter = Linter()
        result = self._linter.lint(data, path="contentview", direction=direction)
        message = result.message
        operation = message.operation if message else None
        lines = [f"Webex XML API: {operation or 'unknown operation'} {direction}"]
        secrets = message.secrets if message is not None else frozenset()
        lines += [_finding_line(f.rule, str(f.severity), f.line, redact(f.message, secrets), f.notes)
                  for f in result.findings]
        if not result.findings:
            lines.append("no findings")
        return lines


def _header_from_flow(metadata: contentviews.Metadata, direction: str) -> list[str] | None:
    summary = metadata.flow.metadata.get(METADATA_KEY) if metadata.flow is not None else None
    if not summary:
        return None
    site = f" (site {summary['site']})" if summary.get("site") else ""
    lines = [f"Webex XML API: {summary.get('operation') or 'unknown operation'} {direction}{site}"]
    findings = summary.get(direction, [])
    lines += [_finding_line(f["rule"], f["severity"], f["line"], f["message"], f.get("notes", ())) for f in findings]
    if not findings:
        lines.append("no findings")
    lines += [f"learned: {note}" for note in summary.get("learned", ())]
    return lines




def _finding_line(rule: str, severity: str, line: int, message: str, notes) -> str:
    text = f"{rule} {severity} (line {line}): {message}"
    return text + "".join(f" [{note}]" for note in notes)


def _comment_safe(text: str) -> str:
    # "--" may not appear inside an XML comment.
    return text.replace("--", "- -").replace("\n", " ")


def register() -> None:
    contentviews.add(WebexXmlContentview())
