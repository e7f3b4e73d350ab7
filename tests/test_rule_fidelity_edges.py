"""Issue 22: rule fidelity, third round (the spec's edges).

Each test cites the line it follows (A = xml-api-9.0-release-notes.txt, B =
xml-api-11.0-to-39.11-updates.txt as `cat -n` numbers them, F = xml-api-40-and-later-facts.md,
or the standard). Every test failed before its fix.
"""

from __future__ import annotations

import re

import pytest

from proxy_addon.core.parsing import parse_document

SERVICE = "http://www.webex.com/schemas/2002/06/service"
DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>'

# Each way a message is not well-formed (WX001 not-well-formed), as a template: {decl} is where
# the root declares serv:, or nothing (an undeclared prefix, WX002).
NOT_WELL_FORMED = {
    # XML 1.0 §2.8 (the declaration is the document's first bytes); F: stray whitespace, 000000.
    "newline-before-declaration": b"\n" + DECLARATION + b"<serv:message{decl}><serv:body/></serv:message>",
    "spaces-before-declaration": b"   " + DECLARATION + b"<serv:message{decl}><serv:body/></serv:message>",
    "mismatched-tag": DECLARATION + b"<serv:message{decl}><serv:body></serv:bdy></serv:message>",
    "missing-space": DECLARATION + b'<serv:message{decl}><serv:body a="1"b="2"/></serv:message>',
    "unclosed-attribute": DECLARATION + b'<serv:message{decl}><serv:body a="1/></serv:message>',
    "undefined-entity": DECLARATION + b"<serv:message{decl}><serv:body>&nbsp;</serv:body></serv:message>",
    "text-after-root": DECLARATION + b"<serv:message{decl}><serv:body/></serv:message>trailing",
    "unclosed-root": DECLARATION + b"<serv:message{decl}><serv:body/>",
    "two-declarations": DECLARATION + DECLARATION + b"<serv:message{decl}><serv:body/></serv:message>",
}


def _rules(doc) -> list[str]:
    return [finding.rule for finding in doc.findings]


@pytest.mark.parametrize("declared", [True, False], ids=["declared", "undeclared-prefix"])
@pytest.mark.parametrize("case", NOT_WELL_FORMED, ids=NOT_WELL_FORMED.keys())
def test_not_well_formed_survives_prefix_binding(case, declared):
    """XML 1.0 §2.1/§2.8: not well-formed stays WX001 whether or not serv: is declared (issue 22 item 2;
    F231-235: a Cisco forum blamed stray whitespace for "Fail to forward request:null", 000000)."""
    decl = f' xmlns:serv="{SERVICE}"'.encode() if declared else b""
    doc = parse_document(NOT_WELL_FORMED[case].replace(b"{decl}", decl))
    assert "WX001" in _rules(doc), [f.message for f in doc.findings]
    assert doc.root is None


@pytest.mark.parametrize("declared", [True, False], ids=["declared", "undeclared-prefix"])
def test_well_formed_twin_is_not_wx001(declared):
    """The same message without the defect parses (the crossing above is not vacuous)."""
    decl = f' xmlns:serv="{SERVICE}"'.encode() if declared else b""
    doc = parse_document(DECLARATION + b"<serv:message" + decl + b"><serv:body/></serv:message>")
    assert doc.root is not None and "WX001" not in _rules(doc)
    assert ("WX002" in _rules(doc)) is not declared


@pytest.mark.parametrize("declared", [True, False], ids=["declared", "undeclared-prefix"])
def test_empty_and_binary_stay_wx001(declared):
    """WX001's other cases: empty and binary inputs (no prefix can rescue them)."""
    assert _rules(parse_document(b" \n\t")) == ["WX001"]
    decl = f' xmlns:serv="{SERVICE}"'.encode() if declared else b""
    assert _rules(parse_document(b"\x89PNG\r\n\x1a\n\x00\x00<serv:message" + decl + b"/>")) == ["WX001"]


def _with_password(password: bytes, after: bytes = b"", declaration: bytes = DECLARATION) -> bytes:
    return (declaration + f'<serv:message xmlns:serv="{SERVICE}"><header><securityContext>'.encode()
            + b"<webExID>admin</webExID><password>" + password + b"</password>" + after
            + b"</securityContext></header></serv:message>")


@pytest.mark.parametrize(("data", "says"), [
    # libxml2's own words ("or", "a") occur in "</password>": they are not the password.
    (_with_password(b"Sekr3t!", declaration=b'<?xml version="1.0 encoding="UTF-8"?>'),
     "String not closed expecting \" or '"),
    (_with_password(b"Sekr3t!", b"<x a=1/>"), "AttValue: \" or ' expected"),
    (_with_password(b"Sekr3t!", b'<x a="1" a="2"/>'), "Attribute a redefined"),
], ids=["string-not-closed", "attvalue", "attribute-redefined"])
def test_wx001_quotes_the_parser_without_masking_its_words(data, says):
    """Issue 22 item 3: credential values are masked, not the words of the end tag around them.

    The words are libxml2's (XML_ERR_STRING_NOT_CLOSED, XML_ERR_ATTRIBUTE_WITHOUT_VALUE,
    XML_ERR_ATTRIBUTE_REDEFINED); what is masked is the password (A: securityContext/password)."""
    doc = parse_document(data)
    assert _rules(doc) == ["WX001"]
    assert says in doc.findings[0].message, doc.findings[0].message
    assert "***" not in doc.findings[0].message


def test_wx001_still_masks_what_the_password_holds():
    """The masking itself stays: an entity name inside <password> is a piece of the password."""
    doc = parse_document(_with_password(b"&Sekr3tPart;"))
    message = doc.findings[0].message
    assert _rules(doc) == ["WX001"] and "Sekr3tPart" not in message and "***" in message


def _typed(body_type: str, operation: str = "LstTimeZone", package: str = "site") -> bytes:
    from .builders import request_xml
    return request_xml(operation, package=package).replace(
        f'xsi:type="java:com.webex.service.binding.{package}.{operation}"'.encode(), f'xsi:type="{body_type}"'.encode())


def test_wx004_accepts_the_reference_guides_short_form(linter):
    """Issue 22 item 1: the XML API Reference Guide's LstTimeZone request sample writes
    bodyContent xsi:type="site.LstTimeZone"; the message names its operation."""
    result = linter.lint(_typed("site.LstTimeZone"))
    assert "WX004" not in [f.rule for f in result.findings], [f.message for f in result.findings]
    assert result.message.operation == "LstTimeZone"


@pytest.mark.parametrize(("body_type", "operation", "package", "suggestion"), [
    ("java:com.webex.xmlapi.service.binding.user.SetUser", "SetUser", "user",
     "java:com.webex.service.binding.user.SetUser"),
    ("java:com.webex.service.binding..site.LstTimeZone", "LstTimeZone", "site",
     "java:com.webex.service.binding.site.LstTimeZone"),
])
def test_wx004_suggests_the_documented_form(linter, body_type, operation, package, suggestion):
    """Forms no source shows stay WX004, and the message names the documented form."""
    result = linter.lint(_typed(body_type, operation, package))
    found = [f for f in result.findings if f.rule == "WX004"]
    assert found and suggestion in found[0].message, [f.message for f in result.findings]


def test_wx004_keeps_unknown_short_forms(linter):
    """A short form whose package no sample uses is not an operation the guide shows."""
    result = linter.lint(_typed("sitex.LstTimeZone"))
    assert "WX004" in [f.rule for f in result.findings]


GUIDE = "https://developer.cisco.com/docs/webex-xml-api-reference-guide/"
# The reference guide's request samples read for item 1 (docs/api-40.md, "Request samples read for
# WX004"): (page, the xsi:type its sample writes). Only LstTimeZone's is a short form.
GUIDE_SAMPLES = [
    ("xml-request-and-response-documents", "java:com.webex.service.binding.ep.GetAPIVersion"),
    ("lsttimezone", "site.LstTimeZone"),
    ("getloginurluser", "java:com.webex.service.binding.user.GetloginurlUser"),
    ("lstsummaryuser", "java:com.webex.service.binding.user.LstsummaryUser"),
    ("getrecordinginfo", "java:com.webex.service.binding.ep.GetRecordingInfo"),
    ("lstmeetingattendee", "java:com.webex.service.binding.attendee.LstMeetingAttendee"),
    ("getmeetingtype", "java:com.webex.service.binding.meetingtype.GetMeetingType"),
    ("lstmeetingtype", "java:com.webex.service.binding.meetingtype.LstMeetingType"),
    ("gettrainingsession", "java:com.webex.service.binding.training.GetTrainingSession"),
    ("lstmeetingusagehistory", "java:com.webex.service.binding.history.LstmeetingusageHistory"),
    ("lsteventsessionhistory", "java:com.webex.service.binding.history.LsteventsessionHistory"),
    ("lstsupportsessionhistory", "java:com.webex.service.binding.history.LstsupportsessionHistory"),
    ("lstmeetingattendeehistory", "java:com.webex.service.binding.history.LstmeetingattendeeHistory"),
    ("lsttrainingsessionhistory", "java:com.webex.service.binding.history.LsttrainingsessionHistory"),
    ("lsttrainingattendeehistory", "java:com.webex.service.binding.history.LsttrainingattendeeHistory"),
    ("createsupportsession", "java:com.webex.service.binding.supportsession.CreateSupportSession"),
    ("getteleconferencesession", "java:com.webex.service.binding.meeting.auo.GetTeleconferenceSession"),
    ("setteleconferencesession", "java:com.webex.service.binding.meeting.auo.SetTeleconferenceSession"),
    ("delsession", "java:com.webex.service.binding.ep.DelSession"),
]


@pytest.mark.parametrize(("page", "body_type"), GUIDE_SAMPLES, ids=[page for page, _ in GUIDE_SAMPLES])
def test_wx004_accepts_every_form_the_guides_samples_use(linter, page, body_type):
    """Issue 22 item 1: each request sample read (GUIDE + page) names its operation without WX004."""
    package, operation = body_type.removeprefix("java:com.webex.service.binding.").rsplit(".", 1)
    result = linter.lint(_typed(body_type, operation, package))
    assert "WX004" not in [f.rule for f in result.findings], [f.message for f in result.findings]
    assert result.message.operation == operation


def test_wx004_accepts_the_samples_value_on_the_next_line(linter):
    """The History service's samples write xsi:type= and the value on the next line (XML 1.0 §2.3 Eq)."""
    from .builders import request_xml
    data = request_xml("LstmeetingusageHistory", package="history").replace(
        b'xsi:type="', b'xsi:type=\n            "')
    assert b'xsi:type=\n' in data
    result = linter.lint(data)
    assert "WX004" not in [f.rule for f in result.findings], [f.message for f in result.findings]
    assert result.message.operation == "LstmeetingusageHistory"


def test_wx004_the_teleconference_samples_broken_value(linter):
    """GUIDE + createteleconferencesession writes the operation broken across two lines
    ("...meeting.auo.CreateTeleconf" / "erenceSession"), as typeset: attribute-value normalisation
    (XML 1.0 §3.3.3) leaves spaces inside the name, which names no operation. It stays WX004, the
    finding naming the joined value, and the request is checked as CreateTeleconferenceSession."""
    body_type = "java:com.webex.service.binding.meeting.auo.CreateTeleconf\n            erenceSession"
    result = linter.lint(_typed(body_type, "CreateTeleconferenceSession", "meeting.auo"))
    [wx004] = [f for f in result.findings if f.rule == "WX004"]
    assert "'java:com.webex.service.binding.meeting.auo.CreateTeleconferenceSession'" in wx004.message
    assert result.message.operation == "CreateTeleconferenceSession"


@pytest.mark.parametrize(("body_type", "operation", "package"), [
    ("user.GetUser", "GetUser", "user"),
    ("meeting.CreateMeeting", "CreateMeeting", "meeting"),
    ("ep.LstsummarySession", "LstsummarySession", "ep"),
    ("supportsession.CreateSupportSession", "CreateSupportSession", "supportsession"),
])
def test_wx004_short_forms_no_sample_writes(linter, body_type, operation, package):
    """Issue 22 item 1: the short form is documented for site.LstTimeZone only (GUIDE + lsttimezone);
    elsewhere it is WX004, naming the full form, and the request is still checked as its operation."""
    result = linter.lint(_typed(body_type, operation, package))
    [wx004] = [f for f in result.findings if f.rule == "WX004"]
    assert f"java:com.webex.service.binding.{package}.{operation}" in wx004.message
    assert result.message.operation == operation


def test_wx004_documented_forms_are_in_its_rule_page():
    """What `rule WX004` prints names the documented forms and where they come from."""
    from proxy_addon.lint.ruleset import RuleSet
    docs = RuleSet.load().by_id["WX004"].docs
    assert "site.LstTimeZone" in docs["why"] and "java:com.webex.service.binding.<package>.<Operation>" in docs["why"]
    assert GUIDE + "lsttimezone" in docs["source"] and "../shared" not in docs["source"]


def _api_version_answer(api_ver: str) -> bytes:
    from .builders import response_xml
    return response_xml("GetAPIVersion", "<ep:apiVersion>WebEx XML API V11.0.0</ep:apiVersion>"
                        f"<ep:apiVer>{api_ver}</ep:apiVer>")


def test_wx503_is_off_on_a_correct_answer_by_default(linter):
    """Issue 22 item 4 (B386-396): a correct 39.x answer holds nothing the client can change."""
    from proxy_addon.lint.context import LintContext
    for context in (LintContext(), LintContext(select=("WX",)), LintContext(select=("WX5",))):
        result = linter.lint(_api_version_answer("39.11.0"), context=context)
        assert "WX503" not in [f.rule for f in result.findings], context.select


@pytest.mark.parametrize(("api_ver", "fires"), [
    ("39.1.0", False), ("39.4.0", False),  # B388: 39.1.0 = January 2019; deprecated May 1, 2019 (B396)
    ("39.5.0", True), ("39.11.0", True), ("40.2.4", True), ("42.11.1", True),
])
def test_wx503_selected_by_id_never_before_the_notes_date(linter, api_ver, fires):
    from proxy_addon.lint.context import LintContext
    result = linter.lint(_api_version_answer(api_ver), context=LintContext(select=("WX503",)))
    found = [f for f in result.findings if f.rule == "WX503"]
    assert bool(found) is fires, [f.message for f in result.findings]
    assert all("2019-05-01" in f.message and api_ver in f.message for f in found)


def test_wx503_opt_in_is_data_in_its_rule_and_documented():
    from proxy_addon.cli.rule_docs import render_text
    from proxy_addon.lint.ruleset import builtin_rules
    rule = builtin_rules().by_id["WX503"]
    assert rule.opt_in and "--select WX503" in render_text(rule)


@pytest.mark.parametrize(("site_name", "fires"), [
    ("<siteName></siteName>", True), ("<siteName/>", True), ("<siteName>  </siteName>", True),
    ("<siteName>acme</siteName>", False),
])
def test_wx112_empty_site_name_is_no_site_name(linter, site_name, fires):
    """Issue 22 item 5, A170: 'A request for getSiteType requires that the siteName be included in
    the header'; an empty one names no site."""
    from .builders import request_xml
    result = linter.lint(request_xml("GetSiteType", package="ep", security=site_name))
    assert ("WX112" in [f.rule for f in result.findings]) is fires, [f.message for f in result.findings]


def test_wx505_finds_conf_name_and_schedule_where_the_answer_nests_them(linter):
    """Issue 22 item 6, A284-345: the notes' GetSessionInfo answer nests confName in ep:metaData and
    startDate/duration/timeZone in ep:schedule; without sipURL (a non-CMR meeting, A258) it is
    still a complete answer, not an uninvited caller's."""
    from pathlib import Path
    data = (Path(__file__).parent / "rules" / "WX505" / "good-non-cmr-nested-answer.xml").read_bytes()
    assert b"sipURL" not in data and b"<ep:metaData>" in data
    assert "WX505" not in [f.rule for f in linter.lint(data).findings]
    trimmed = data.replace(b"<ep:confName>", b"<ep:title>").replace(b"</ep:confName>", b"</ep:title>")
    trimmed = trimmed.replace(b"<ep:schedule>", b"<ep:plan>").replace(b"</ep:schedule>", b"</ep:plan>")
    assert "WX505" in [f.rule for f in linter.lint(trimmed).findings]


def test_wx305_docs_agree_with_the_notes():
    """Issue 22 item 8, B593-621: shareToMe sits under "XML API 11.0.0 SP20 Updates" ("previously
    announced in XML API 11.0 SP17, but is being applied to this update"), not 39.1."""
    from proxy_addon.lint.ruleset import builtin_rules
    rule = builtin_rules().by_id["WX305"]
    assert rule.introduced == "11.0 SP20"
    assert "Since 11.0 SP20 (announced in 11.0 SP17)" in " ".join(rule.docs["why"].split())
    assert "XML API 11.0.0 SP20 Updates" in rule.docs["source"] and "39.1" not in rule.docs["source"]


@pytest.mark.parametrize(("version", "security", "captcha", "fires"), [
    ("39.10", "<siteName>acme</siteName>", "", True),  # B36-44: GetUserCard answers with a CAPTCHA
    ("39.11", "<siteName>acme</siteName><webExID>jane</webExID>", "", True),  # a webExID alone is anonymous
    ("39.9", "<siteName>acme</siteName>", "", False),  # before 39.10 no CAPTCHA
    ("39.10", "<siteName>acme</siteName><webExID>jane</webExID><password>S3cret!pw</password>", "", False),
    ("39.10", "<siteName>acme</siteName>", "<CAPTCHAID>4KJ2</CAPTCHAID><CAPTCHAWord>pq7x</CAPTCHAWord>", False),
])
def test_anonymous_get_user_card_is_reported(linter, version, security, captcha, fires):
    """Issue 22 item 11, B36-44: 'GetSessionInfo and GetUserCard returns a CAPTCHA code when using
    anonymous access ... enhance your application to support CAPTCHA code input.'"""
    from proxy_addon.core.versions import parse_version
    from proxy_addon.lint.context import LintContext

    from .builders import request_xml
    data = request_xml("GetUserCard", f"<webExId>jane</webExId>{captcha}", security=security)
    result = linter.lint(data, context=LintContext(api_version=parse_version(version)))
    found = [f for f in result.findings if f.rule == "WX110"]
    assert bool(found) is fires, [f.message for f in result.findings]
    assert all("GetUserCard" in f.message and "CAPTCHA" in f.message for f in found)


@pytest.mark.parametrize(("version", "fires"), [
    ("11.0 SP14", True), ("11.0 SP15", False),  # B853-855: querying LstRecording by recordingID is new in SP15
])
def test_wx111_lstrecording_by_recording_id(linter, version, fires):
    """Issue 22 item 7 (B853-863, "New condition for querying by RecordingID on LstRecording API")."""
    from proxy_addon.core.versions import parse_version
    from proxy_addon.lint.context import LintContext

    from .builders import request_xml
    data = request_xml("LstRecording", "<recordingID>4711</recordingID>", package="ep")
    result = linter.lint(data, context=LintContext(api_version=parse_version(version)))
    found = [f for f in result.findings if f.rule == "WX111"]
    assert bool(found) is fires, [f.message for f in result.findings]
    assert all("11.0 SP15" in f.message for f in found)


@pytest.mark.parametrize(("version", "fires"), [
    ("40.2.3", True), ("40.2.4", False), ("40.3", False),  # one branch: from 40.2.4
    ("40.4", True), ("40.4.2", True), ("40.4.3", False), ("40.6", False),  # the other: from 40.4.3
])
def test_wx111_is_html_email_on_two_branches(linter, version, fires):
    """Issue 22 item 7, F46-50 ("40.2.4 and 40.4.3", one heading, a patch on two branches)."""
    from proxy_addon.core.versions import parse_version
    from proxy_addon.lint.context import LintContext

    from .builders import request_xml
    data = request_xml("CreateUser", "<webExId>jane</webExId><isHTMLEmail>true</isHTMLEmail>")
    result = linter.lint(data, context=LintContext(api_version=parse_version(version)))
    found = [f for f in result.findings if f.rule == "WX111"]
    assert bool(found) is fires, [f.message for f in result.findings]
    if fires and version.startswith("40.4"):
        assert "40.4.3" in found[0].message


@pytest.mark.parametrize(("version", "says", "never"), [
    ("39.11", "authenticate to get them", "invitee"),
    ("40.8", "invitee or an approved registrant", "authenticate to get them"),  # F78-85
])
def test_wx504_wording_from_40_8(linter, version, says, never):
    """Issue 22 item 9 (F78-85, 40.8.0: GetSessionInfo returns those elements only to the host,
    invitees and approved registrants): from 40.8 a trimmed answer may go to an authenticated caller
    who is not invited; 'authenticate' alone is no advice then."""
    from proxy_addon.core.versions import parse_version
    from proxy_addon.lint.context import LintContext

    from .builders import response_xml
    answer = response_xml("GetSessionInfo", "<ep:status>NOT_INPROGRESS</ep:status><ep:sessionkey>1</ep:sessionkey>")
    result = linter.lint(answer, context=LintContext(api_version=parse_version(version)))
    [wx504] = [f for f in result.findings if f.rule == "WX504"]
    assert says in wx504.message and never not in wx504.message


CH_CREATE = ("<firstName>Jane</firstName><webExId>jdoe</webExId><email>jane.doe@acme.com</email>"
             "<password>Init1al!pw</password><active>ACTIVATED</active>")


@pytest.mark.parametrize(("control_hub_sites", "expected"), [
    (frozenset({"ACME"}), ["WX203", "WX203", "WX204"]),  # F127-134: 41.11.0, Control Hub managed sites
    (frozenset(), []),  # not configured: nothing (no message says a site is Control Hub managed)
    (frozenset({"beta"}), []),
])
def test_control_hub_site_rules(linter, control_hub_sites, expected):
    """Issue 22 item 12: CreateUser ignores password and active, and webExId must equal email."""
    from proxy_addon.lint.context import LintContext

    from .builders import request_xml
    result = linter.lint(request_xml("CreateUser", CH_CREATE),
                         context=LintContext(control_hub_sites=control_hub_sites))
    found = [f for f in result.findings if f.rule in ("WX203", "WX204")]
    assert sorted(f.rule for f in found) == expected, [f.message for f in result.findings]
    assert all("Init1al!pw" not in f.message for f in result.findings)


def test_control_hub_sites_setting(tmp_path):
    """The setting sits beside ci-sites in the one settings model: file key, flag, lint context."""
    import argparse

    from proxy_addon.settings.file import read_config
    from proxy_addon.settings.model import Settings
    from proxy_addon.settings.sources import flags_layer
    config = tmp_path / "webex-xml-lint.toml"
    config.write_text('control-hub-sites = ["acme"]\n')
    settings = Settings().merged(read_config(config), flags_layer(argparse.Namespace(control_hub_site=["beta"])))
    assert settings.control_hub_sites == ("acme", "beta")
    context = settings.context()
    assert context.is_control_hub("ACME") and context.is_control_hub("beta") and not context.is_control_hub("gamma")


CH_SET = ("<webExId>jane@acme.com</webExId><firstName>Jane</firstName><lastName>Doe-Smith</lastName>"
          "<email>jane.doe@acme.com</email><password>N3w!pw</password>"
          "<phones><phone>1,408,5551234</phone><mobilePhone>1,408,5559876</mobilePhone><PIN>4821</PIN></phones>"
          "<title>Director</title>")


@pytest.mark.parametrize(("control_hub_sites", "expected"), [
    # F139-140 and F225-226 (reference guide, User Service: SetUser on Control Hub managed sites
    # "cannot change Webex ID, password, e-mail, name or telephone number"); F129-131: password.
    (frozenset({"acme"}), [("WX203", "password"), ("WX205", "firstName"), ("WX205", "lastName"),
                           ("WX205", "mobilePhone"), ("WX205", "phone"), ("WX206", "email")]),
    (frozenset(), []),
])
def test_control_hub_setuser_cannot_change_profile(linter, control_hub_sites, expected):
    """Issue 22 item 12: SetUser on a Control Hub managed site names the user by webExId (not a
    change), cannot change the name or telephone numbers (WX205) and, the sources disagreeing on
    it (F136-140), is told about e-mail as information (WX206). The telephone PIN is no number."""
    from proxy_addon.lint.context import LintContext

    from .builders import request_xml
    result = linter.lint(request_xml("SetUser", CH_SET), context=LintContext(control_hub_sites=control_hub_sites))
    found = sorted((f.rule, re.search(r"<(\w+)>", f.message).group(1))
                   for f in result.findings if f.rule.startswith("WX20"))
    assert found == expected, [f.message for f in result.findings]
    assert {f.severity.value for f in result.findings if f.rule == "WX206"} <= {"info"}
    text = " ".join(f.message for f in result.findings)
    assert "N3w!pw" not in text and "4821" not in text and "5551234" not in text


def test_control_hub_profile_fix_is_unsafe(linter):
    """Removing a name or number is right only if the change may wait for Control Hub: --unsafe-fixes."""
    from proxy_addon.core.fixes import apply_fixes
    from proxy_addon.lint.context import LintContext

    from .builders import request_xml
    context = LintContext(control_hub_sites=frozenset({"acme"}))
    raw = request_xml("SetUser", "<webExId>jane@acme.com</webExId><lastName>Doe-Smith</lastName>"
                      "<phones><phone>1,408,5551234</phone><PIN>4821</PIN></phones>")
    result = linter.lint(raw, context=context)
    assert not apply_fixes(result).changed
    fixed = apply_fixes(result, unsafe=True)
    assert fixed.changed and b"<lastName>" not in fixed.data and b"<phone>" not in fixed.data
    assert b"<PIN>4821</PIN>" in fixed.data and b"<webExId>jane@acme.com</webExId>" in fixed.data
    assert "WX205" not in [f.rule for f in linter.lint(fixed.data, context=context).findings]


@pytest.mark.parametrize(("late", "says"), [(5400.8, "1 s before"), (5401.4, "1 s before"), (5461.6, "1 min 1 s before")])
def test_wx106_says_how_late_to_the_nearest_second(late, says):
    """Issue 22 item 9 (A121, A157-159: timeToLive, in seconds, after createTime): a request 0.6 s or
    1.2 s after the ticket expired was called "0 s" late (the delay was rounded down)."""
    from .test_learning import AUTHENTICATE, authenticate_answer, exchanges, with_ticket

    # The answer is seen 0.2 s after its request: the ticket expires 5400.2 s after the first request.
    [_, use] = exchanges([(AUTHENTICATE, authenticate_answer()), (with_ticket(), None)], gaps=[0.0, late])
    [wx106] = [f for f in use if f.rule == "WX106"]
    assert f"{says} this request" in wx106.message, wx106.message


_UNFINDABLE = re.compile(r"\.\./shared|xml-api-[0-9.a-z-]+\.(?:txt|md)|\.txt\b|\b[ABF]\d{2,}(?:-\d+)?\b|:\d+\b(?!/)")


def test_every_rule_source_is_something_a_user_can_find():
    """Issue 22 item 10: a rule's `source` cites the release and section title (and a public URL),
    never ../shared files, their names or line numbers, which a user's clone does not have."""
    from proxy_addon.lint.ruleset import RuleSet
    sources = {rule.id: rule.docs.get("source", "") for rule in RuleSet.load().rules}
    assert all(sources.values()), [rule_id for rule_id, source in sources.items() if not source]
    unfindable = {rule_id: _UNFINDABLE.findall(source.replace("https://", "").replace("http://", ""))
                  for rule_id, source in sources.items()}
    assert not {rule_id: found for rule_id, found in unfindable.items() if found}
