"""Message builders for tests: envelopes as the release notes write them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from proxy_addon.lint.context import LintContext

REPO = Path(__file__).resolve().parent.parent
# The team's shared folder sits beside the clone (CI has it); a user's clone has none.
# WEBEXLINT_SHARED points elsewhere (or at a missing folder, to try the suite as a user would).
SHARED = Path(os.environ.get("WEBEXLINT_SHARED") or REPO.parent / "shared")
CORPUS = SHARED / "corpus"
HAS_CORPUS = (CORPUS / "PROVENANCE.tsv").is_file()
# CI (CI=true) always has the corpus: there a missing one fails the corpus tests instead of skipping them.
requires_corpus = pytest.mark.skipif(
    not HAS_CORPUS and os.environ.get("CI") != "true",
    reason=f"no real-message corpus at {CORPUS} (a clone without ../shared; CI has it)")
SERVICE_NS = "http://www.webex.com/schemas/2002/06/service"


def request_xml(operation: str, body: str = "", *, package: str = "user", security: str | None = None,
                encoding: str = "UTF-8") -> bytes:
    """A request envelope as the release notes write it."""
    if security is None:
        security = "<siteName>acme</siteName><webExID>admin@acme.com</webExID><password>S3cret!pw</password>"
    text = (
        f'<?xml version="1.0" encoding="{encoding}"?>\n'
        f'<serv:message xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:serv="{SERVICE_NS}">\n'
        f"<header>\n<securityContext>{security}</securityContext>\n</header>\n"
        f'<body>\n<bodyContent xsi:type="java:com.webex.service.binding.{package}.{operation}">\n'
        f"{body}\n</bodyContent>\n</body>\n</serv:message>\n"
    )
    return text.encode(encoding)


def response_xml(operation: str | None, body: str = "", *, result: str = "SUCCESS", reason: str = "",
                 exception_id: str = "", prefix: str = "ep", area: str = "ep") -> bytes:
    failure = f"<serv:reason>{reason}</serv:reason>" if reason else ""
    failure += f"<serv:exceptionID>{exception_id}</serv:exceptionID>" if exception_id else ""
    type_attr = (f' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
                 f'xsi:type="{prefix}:{operation[0].lower() + operation[1:]}Response"') if operation else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<serv:message xmlns:serv="{SERVICE_NS}" '
        f'xmlns:{prefix}="{SERVICE_NS}/{area}">\n<serv:header><serv:response><serv:result>{result}</serv:result>'
        f"{failure}<serv:gsbStatus>PRIMARY</serv:gsbStatus></serv:response></serv:header>\n"
        f"<serv:body><serv:bodyContent{type_attr}>{body}</serv:bodyContent></serv:body>\n</serv:message>\n"
    ).encode()


CI = LintContext(ci_sites=frozenset({"acme"}))


def rules_of(result) -> list[str]:
    return [finding.rule for finding in result.findings]
