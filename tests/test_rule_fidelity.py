"""Issue 11: each release note right at its edges, and no false alarms on real integrations' traffic.

One row per defect, each citing the spec line it follows (A = xml-api-9.0-release-notes.txt,
B = xml-api-11.0-to-39.11-updates.txt, as `cat -n` numbers them). Every row failed before its fix.
A row is: the message, the context it is linted in, the exact rules expected (in order), and
words each finding's message must (and must not) contain.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

import pytest

from proxy_addon.cli.rule_docs import _variants, operations_of, render_text
from proxy_addon.core.message import build_message
from proxy_addon.core.parsing import parse_document
from proxy_addon.core.versions import parse_version
from proxy_addon.lint.context import LintContext
from proxy_addon.lint.ruleset import RuleSet
from proxy_addon.simulator.answers import SimulatedService

from .builders import SERVICE_NS, request_xml, response_xml, rules_of

# WX601 (the Meetings XML API lifecycle rule on main) fires on most operations these rows use and is
# not what they are about: ignoring it keeps each row's expected list to the rule it pins.
NOT_LIFECYCLE = ("WX601",)
CI = LintContext(ci_sites=frozenset({"acme"}))
VALIDATE = LintContext(validate=True)


def at(version: str, **changes) -> LintContext:
    return LintContext(api_version=parse_version(version), **changes)


@dataclass(frozen=True)
class Row:
    spec: str  # the spec lines the expectation follows
    data: bytes
    expected: list[str]  # rule ids, in report order
    context: LintContext = field(default_factory=LintContext)
    says: tuple[str, ...] = ()  # words the findings' messages (joined) must contain
    never: tuple[str, ...] = ()  # words no finding's message may contain
    direction: str | None = None


def _range(operation: str, package: str, start: str, end: str, names=("createTimeStart", "createTimeEnd")) -> bytes:
    return request_xml(operation, f"<{names[0]}>{start}</{names[0]}><{names[1]}>{end}</{names[1]}>", package=package)


def _image(size: int) -> bytes:
    data = base64.b64encode(b"\x89" * size).decode()
    return request_xml("UploadPMRImage", f"<imageData>{data}</imageData>")


def _get_api_version(*elements: str) -> bytes:
    return response_xml("GetAPIVersion", "".join(elements))


APIVERSION = "<ep:apiVersion>WebEx XML API V11.0.0</ep:apiVersion>"
SITE_ID = "<siteID>5941234567</siteID><webExID>admin</webExID><password>pw</password>"
INVALID_URI_DECLARATION = (
    f'<?xml version="1.0" encoding="UTF-8"?>\n<serv:message xmlns:serv="{SERVICE_NS}" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xmlns:schemaLocation="http://www.webex.com/schemas/2002/06/service '
    'http://www.webex.com/schemas/2002/06/service/service.xsd">\n'
    f"<header><securityContext>{SITE_ID}</securityContext></header>\n"
    '<body><bodyContent xsi:type="java:com.webex.service.binding.meeting.CreateMeeting">'
    "<enableOptions><HDvideo>true</HDvideo></enableOptions></bodyContent></body>\n</serv:message>\n"
).encode()
SET_MEETING_LOWER_KEY = request_xml(
    "SetMeeting", "<metaData><confName>Review</confName></metaData><meetingkey>48591508</meetingkey>",
    package="meeting")
# A196-210 as the notes print it, minus the missing "<serv:message" and the stray <br>.
SITE_TYPE_ANSWER = (
    f'<serv:message xmlns:serv="{SERVICE_NS}" xmlns:ep="{SERVICE_NS}/ep">\n'
    "<serv:header><serv:response><serv:result>SUCCESS</serv:result><serv:gsbstatus>PRIMARY</serv:gsbstatus>"
    "</serv:response></serv:header>\n<serv:body><serv:bodycontent "
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="ep:getSiteTypeResponse">'
    "<ep:sitetype>3</ep:sitetype></serv:bodycontent></serv:body>\n</serv:message>\n"
).encode()

ROWS = {
    # -- WX301 -------------------------------------------------------------------------------------
    "wx301-hdvideo-create-training": Row(
        "B406-414", request_xml("CreateTrainingSession", "<enableOptions><HDvideo>true</HDvideo></enableOptions>",
                                package="training"), ["WX301"], says=("enableOptions/HDvideo",)),
    "wx301-hdvideo-set-training": Row(
        "B406-414", request_xml("SetTrainingSession", "<enableOptions><HDvideo>true</HDvideo></enableOptions>",
                                package="training"), ["WX301"]),
    # -- WX502 -------------------------------------------------------------------------------------
    "wx502-captcha-failure-alone": Row(
        "B60-69", response_xml(None, result="FAILURE", reason="CAPTCHA ID and word are invalid or missing"),
        ["WX501", "WX502"], says=("CAPTCHA ID and word are invalid or missing", "CAPTCHAID and CAPTCHAWord")),
    # -- WX503 -------------------------------------------------------------------------------------
    "wx503-not-on-a-pre-39.1-answer": Row(
        "B396-402", _get_api_version(APIVERSION, "<ep:release>SP22</ep:release>"), []),
    "wx503-on-a-39.1-answer-with-apiver": Row(
        "B386-402", _get_api_version(APIVERSION, "<ep:apiVer>39.11.0</ep:apiVer>"), ["WX503"],
        context=LintContext(select=("WX503",)), says=("apiVer",)),  # opt-in since issue 22
    # -- WX101 -------------------------------------------------------------------------------------
    "wx101-not-before-11.0-sp13": Row("B956-966", request_xml("GetUser", security=SITE_ID), [], context=at("9.0")),
    "wx101-from-11.0-sp13-notes-wording": Row(
        "B962-964", request_xml("GetUser", security=SITE_ID), ["WX101"], context=at("11.0 SP13"),
        says=("impact was to occur on 2020-05-01", "new customers must use siteName from 2018-05-01"),
        never=("cut off",)),
    "wx101-ci-site-since-2018": Row(
        "B966", request_xml("GetUser", security="<siteID>1</siteID><siteName>acme</siteName><webExID>a@acme.com"
                                               "</webExID>"),
        ["WX101"], context=CI, says=("CI site", "since 2018-05-01")),
    # -- WX403 / WX404: limits at every version, excess stated exactly ----------------------------
    "wx403-before-11.0-sp11": Row(
        "B1168-1172", _range("LstRecording", "ep", "01/01/2019 00:00:00", "01/29/2019 00:00:01"), ["WX403"],
        context=at("11.0 SP10"), says=("28 days 1 second of recordings", "1 second over the 28-day maximum"),
        never=("28.0",)),
    "wx403-exactly-28-days": Row(
        "B1170", _range("LstRecording", "ep", "01/01/2019 00:00:00", "01/29/2019 00:00:00"), []),
    "wx404-exact-excess": Row(
        "B7-9", _range("LstsummaryUser", "user", "01/01/2019 00:00:00", "04/01/2019 01:00:00",
                       names=("modifiedDateStart", "modifiedDateEnd")),
        ["WX404"], says=("over 90 days 1 hour", "1 hour over the 90-day maximum"), never=("90.0",)),
    # -- WX405: 5 MB read as written ---------------------------------------------------------------
    "wx405-over-5000000-bytes": Row(
        "B475", _image(5_000_001), ["WX405"], context=at("11.0 SP22"),
        says=("5,000,001 bytes", "5,000,000 bytes"), never=("5.0 MB", "4.8 MB")),
    "wx405-at-5000000-bytes": Row("B475", _image(5_000_000), [], context=at("11.0 SP22")),
    # -- WX102: every webExID that names a user on a CI site ---------------------------------------
    "wx102-setuser-body-webexid": Row(
        "A25, A97", request_xml("SetUser", "<webExId>jdoe</webExId>"), ["WX102"], context=CI,
        says=("webExId 'jdoe'",)),
    "wx102-host-webexid": Row(
        "A25", request_xml("LstsummaryMeeting", "<hostWebExID>jdoe</hostWebExID>", package="meeting"), ["WX102"],
        context=CI, says=("hostWebExID 'jdoe'",)),
    "wx102-attendee-webexid": Row(
        "A25", request_xml("CreateMeeting", "<participants><attendees><attendee><person><webExId>guest</webExId>"
                                            "</person></attendee></attendees></participants>", package="meeting"),
        ["WX102"], context=CI),
    "wx102-presenter-webexid": Row(
        "A25", request_xml("CreateTrainingSession", "<presenters><participants><participant><person>"
                                                    "<webExId>teacher</webExId></person></participant></participants>"
                                                    "</presenters>", package="training"),
        ["WX102"], context=CI),
    "wx102-email-body-webexid": Row(
        "A52", request_xml("SetUser", "<webExId>JohnDoe@acme.com</webExId>"), [], context=CI),
    # -- failure catalog ---------------------------------------------------------------------------
    "catalog-200006-predicted-by-nothing": Row(
        "A123", response_xml(None, result="FAILURE", reason="AS Server response error", exception_id="200006"),
        ["WX501"], says=("AS Server response error",), never=("predicted by",)),
    "catalog-00015-normalised": Row(
        "B1006", response_xml(None, result="FAILURE", reason="Sorry, no record found", exception_id="00015"),
        ["WX501"], says=("no record found (e.g. DelContacts",), never=("not in the catalog",)),
    "wx401-2500-no-060067": Row(
        "B214", request_xml("CreateEvent", f"<metaData><sessionName>s</sessionName><description>{'x' * 2501}"
                                           "</description></metaData>", package="event"),
        ["WX401"], says=("2500-character limit", "names no exceptionID"), never=("060067",)),
    "wx401-1024-060067": Row(
        "B297", request_xml("CreateEvent", f"<metaData><sessionName>s</sessionName><description>{'x' * 1025}"
                                           "</description></metaData>", package="event"),
        ["WX401"], context=at("39.5"), says=("060067",)),
    "wx304-notes-wording": Row(
        "B861-863", request_xml("LstRecording", "<recordingID>123</recordingID>", package="ep"), ["WX304"],
        says=("without a serviceType element", "NBR recording only")),
    # -- false alarms on real traffic --------------------------------------------------------------
    "namespace-uri-is-not-wellformedness": Row(
        "Namespaces in XML 1.0 §2.2", INVALID_URI_DECLARATION, ["WX010", "WX101", "WX301"],
        says=("xmlns:schemaLocation=", "not a valid namespace URI"), never=("not well-formed",)),
    "namespace-uri-does-not-hide-a-real-error": Row(
        "XML 1.0 §2.1", INVALID_URI_DECLARATION.replace(b"</bodyContent>", b"<x></y></bodyContent>"), ["WX001"],
        says=("Opening and ending tag mismatch",), never=("valid URI",)),
    "many-namespace-uris-then-a-real-error": Row(
        "XML 1.0 §2.1", f'<m xmlns="{SERVICE_NS}"><body>'.encode()
        + b"".join(b'<a xmlns:p%d="x y"/>' % i for i in range(300)) + b"<x></y></body></m>", ["WX001"],
        says=("Opening and ending tag mismatch",)),
    "setmeeting-meetingkey-lower-case": Row(
        "official reference (issue 11)", SET_MEETING_LOWER_KEY, [], context=VALIDATE),
    "spec-getsitetype-answer-validates": Row("A196-210", SITE_TYPE_ANSWER, [], context=VALIDATE),
    "wx003-in-no-namespace": Row(
        "all", b"<message><header/><body/></message>", ["WX003"], says=("root element is message in no namespace",),
        never=("not message in message",)),
    "wx003-undeclared-root-prefix": Row(
        "all", b"<foo:message><body/></foo:message>", ["WX003", "WX002"],
        says=("foo:message",), never=("urn:webex-xml-lint",)),
}


@pytest.mark.parametrize("row", ROWS.values(), ids=ROWS.keys())
def test_rule_fidelity(linter, row: Row):
    context = row.context.with_changes(ignore=row.context.ignore + NOT_LIFECYCLE)
    result = linter.lint(row.data, context=context, direction=row.direction)
    assert rules_of(result) == row.expected, [f.message for f in result.findings]
    said = "\n".join(f.message for f in result.findings)
    for words in row.says:
        assert words in said, (row.spec, said)
    for words in row.never:
        assert words not in said, (row.spec, said)


def test_wx301_docs_say_hq_hd_moved_to_the_site_level():
    """B406: decided at the site level instead of the user level; not 'SetUser HQvideo not affected'."""
    why = RuleSet.load().by_id["WX301"].docs["why"]
    assert "site level instead of the user level" in " ".join(why.split())
    assert "not affected" not in why


def test_wx405_and_wx503_document_their_decisions():
    rules = RuleSet.load().by_id
    assert "5,000,000 bytes" in rules["WX405"].docs["why"] and "5 MiB" in rules["WX405"].docs["why"]
    assert "older than 39.1" in " ".join(rules["WX503"].docs["why"].split())


def test_wx010_is_a_warning_of_its_own():
    result = RuleSet.load().describe("WX010", "invalid-uri", {"attribute": "xmlns:a", "value": "a b"})
    assert result[0] == "invalid-namespace-uri" and result[1].value == "warning"


def test_rule_docs_show_what_each_variant_says():
    """WX101 speaks differently on CI sites (B966) and WX401 from 39.8 (B214): `rule` shows both."""
    rules = RuleSet.load()
    wx101 = render_text(operations_of(rules, rules.by_id["WX101"]), _variants(rules, rules.by_id["WX101"]))
    assert "- CI sites, API 11.0 SP13+: `securityContext/siteID on a CI site" in wx101
    wx401 = render_text(operations_of(rules, rules.by_id["WX401"]), _variants(rules, rules.by_id["WX401"]))
    assert "- API 39.3 until 39.8: `" in wx401 and "- API 39.8+: `" in wx401


@pytest.mark.parametrize("size, fails", [(5_000_000, False), (5_000_001, True)])
def test_the_simulator_reads_5_mb_as_wx405_does(linter, size, fails):
    """B475: the simulator answers 010100 exactly where WX405 predicts it, so rehearsals agree."""
    request = _image(size)
    answer = parse_document(SimulatedService(api_version="39.11.0").answer(request))
    assert (build_message(answer.root, "response").exception_id == "010100") is fails
    assert (rules_of(linter.lint(request, context=LintContext(ignore=NOT_LIFECYCLE))) == ["WX405"]) is fails
