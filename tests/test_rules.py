"""Rule behaviour that is more than message -> findings: fixes, suggestions, operation hints, redaction,
selection. The plain cases (a bad and a good message per rule) are data: tests/rules/<RULE>/."""

from __future__ import annotations

import pytest

from proxy_addon.core.fixes import apply_fixes
from proxy_addon.core.versions import parse_version
from proxy_addon.exchange.linter import ExchangeLinter
from proxy_addon.exchange.observed import Observed
from proxy_addon.lint.context import LintContext

from .builders import CI, request_xml, response_xml
from .builders import rules_of as all_rules_of


def rules_of(result) -> list[str]:
    """The findings' rules except WX601, which fires on every request to a Meetings operation (most
    builders here use one); WX601 has its own tests in test_lifecycle.py."""
    return [rule for rule in all_rules_of(result) if rule != "WX601"]


def lint(linter, data, context=None, **kwargs):
    return linter.lint(data, context=context or LintContext(), **kwargs)


# -- envelope --------------------------------------------------------------------------------------


@pytest.mark.parametrize("body_type, suggestion", [
    ("java.com.webex.service.binding..ep.LstRecording", "java:com.webex.service.binding.ep.LstRecording"),
    ("java:com.webex.service.binding.meeting.CreateTeleconf\nerenceSession",
     "java:com.webex.service.binding.meeting.CreateTeleconferenceSession"),
])
def test_wx004_malformed_type_suggests_the_correct_value(linter, body_type, suggestion):
    raw = request_xml("GetUser").replace(b"java:com.webex.service.binding.user.GetUser", body_type.encode())
    result = lint(linter, raw)
    assert rules_of(result) == ["WX004"]
    assert suggestion in result.findings[0].message
    assert result.message.operation == suggestion.rsplit(".", 1)[1]  # still linted as that operation


# -- security context ------------------------------------------------------------------------------

SITE_ID_ONLY = "<webExID>admin</webExID><password>pw12345</password><siteID>5941234567</siteID>"


def test_wx101_site_id_is_reported_with_its_position(linter):
    raw = request_xml("GetUser", security=SITE_ID_ONLY)
    result = lint(linter, raw)
    assert rules_of(result) == ["WX101"]
    finding = result.findings[0]
    line = raw.decode().splitlines()[3]
    assert (finding.line, finding.column) == (4, line.index("<siteID>") + 1)
    assert finding.fix is None  # no map and no siteName: nothing safe to do


def test_wx101_fix_uses_the_site_id_map(linter):
    context = LintContext(site_ids={"5941234567": "acme"})
    finding = lint(linter, request_xml("GetUser", security=SITE_ID_ONLY), context).findings[0]
    assert finding.fix.action == "replace-element"
    assert finding.fix.replacement == "<siteName>acme</siteName>"


def test_wx101_fix_drops_site_id_when_site_name_is_present(linter):
    security = "<siteName>acme</siteName><siteID>5941234567</siteID>"
    finding = lint(linter, request_xml("GetUser", security=security)).findings[0]
    assert finding.rule == "WX101" and finding.fix.action == "remove"


def test_wx103_credential_precedence_depends_on_the_site_type(linter):
    raw = request_xml("AuthenticateUser", "<accessToken>tok-ABCDEFG</accessToken>")
    ci = lint(linter, raw, CI).findings
    assert [f.rule for f in ci] == ["WX103"]
    assert "password is used" in ci[0].message and "tok-ABCDEFG" not in ci[0].message
    unknown = lint(linter, raw).findings[0].message
    # issue 13: not "on a sso site password is used; on a ci site password is used"
    assert "password is used on SSO and CI sites alike" in unknown and "sso site" not in unknown
    saml = request_xml("AuthenticateUser", "<samlResponse>PHNhbWw+</samlResponse>")
    assert "on an SSO site samlResponse is used; on a CI site password is used" in lint(linter, saml).findings[0].message


# -- CI user management ----------------------------------------------------------------------------

IGNORED = ["email", "email2", "password", "passwordHint", "passwordHintAnswer", "timeZone", "timeZoneID",
           "timeZoneWithDST", "locale", "language", "languageID", "active", "security"]


def test_wx201_one_finding_per_ignored_field_on_ci_sites(linter):
    body = "<webExId>j@acme.com</webExId>" + "".join(f"<{name}>v</{name}>" for name in IGNORED)
    result = lint(linter, request_xml("SetUser", body), CI)
    assert rules_of(result) == ["WX201"] * len(IGNORED)
    assert {f.message.split("<")[1].split(">")[0] for f in result.findings} == set(IGNORED)
    assert all(f.fix and f.fix.safe for f in result.findings)


HQ_HD = "<enableOptions><chat>true</chat><HQvideo>true</HQvideo><HDvideo>true</HDvideo></enableOptions>"


# -- limits ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("version, length, limit", [("39.11", 2501, 2500), ("39.5", 1025, 1024)])
def test_wx401_fix_truncates_to_the_limit_and_is_unsafe(linter, version, length, limit):
    context = LintContext(api_version=parse_version(version))
    body = f"<metaData><sessionName>s</sessionName><description>{'x' * length}</description></metaData>"
    result = lint(linter, request_xml("CreateEvent", body, package="event"), context)
    assert rules_of(result) == ["WX401"]
    assert not apply_fixes(result, unsafe=False).changed  # text is lost: never a safe fix
    fixed = apply_fixes(result, unsafe=True).data
    assert f"<description>{'x' * limit}</description>".encode() in fixed
    assert rules_of(lint(linter, fixed, context)) == []


# -- responses -------------------------------------------------------------------------------------

def test_wx501_failure_is_explained_without_claiming_a_prediction(linter):
    raw = response_xml(None, result="FAILURE", reason="User management is not allowed on unified site",
                       exception_id="030098")
    result = lint(linter, raw, operation_hint="CreateUser")
    assert rules_of(result) == ["WX501"]
    # Whether WX202 predicted it is the exchange's note (it knows the request), never the message's claim.
    assert "030098" in result.findings[0].message and "unified (CI) site" in result.findings[0].message
    assert "WX202" not in result.findings[0].message and "predicted" not in result.findings[0].message
    assert result.findings[0].operation == "CreateUser"


# -- engine behaviour ------------------------------------------------------------------------------

def test_select_ignore_and_severity_overrides(linter):
    raw = request_xml("CreateMeeting", HQ_HD, package="meeting", security=SITE_ID_ONLY)
    assert sorted(set(all_rules_of(lint(linter, raw)))) == ["WX101", "WX301", "WX601"]
    assert set(all_rules_of(lint(linter, raw, LintContext(select=("WX3",))))) == {"WX301"}
    assert set(all_rules_of(lint(linter, raw, LintContext(ignore=("WX301", "WX601"))))) == {"WX101"}
    from proxy_addon.core.findings import Severity
    overridden = lint(linter, raw, LintContext(severity_overrides={"WX101": Severity.ERROR}))
    assert {f.severity for f in overridden.findings if f.rule == "WX101"} == {"error"}


def test_findings_never_quote_a_secret(linter):
    """The engine's findings say what the rule says; the exchange record masks them where they leave."""
    security = "<siteName>acme</siteName><webExID>hunter2-secret</webExID><password>hunter2-secret</password>"
    record = ExchangeLinter(linter, CI).lint(Observed(request_xml("GetUser", security=security)))
    assert any("hunter2-secret" in f.message for f in record.findings)  # what the record must not let out
    shown = record.redacted_findings()
    assert shown and all("hunter2-secret" not in f.message for f in shown)


def test_rules_are_indexed_by_operation(linter):
    candidates = {rule.id for rule in linter.ruleset.candidates("request", "SetUser")}
    assert "WX201" in candidates and "WX401" not in candidates and "WX101" in candidates
