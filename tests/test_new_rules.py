"""The rules from issue 11's "not covered yet" and "after 39.11" lists, table-driven.

Each case is a message that must give exactly the expected findings of the rule under test, at the
API version given, with the spec line the expectation comes from; every bad message has a good
near-miss beside it (one element, credential or version away) that must not fire.
A = xml-api-9.0-release-notes.txt, B = xml-api-11.0-to-39.11-updates.txt, F = xml-api-40-and-later-facts.md
(../shared/spec/, `cat -n`).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from proxy_addon.audit.store import MessageRecord, open_store
from proxy_addon.core.redaction import is_secret_name
from proxy_addon.core.versions import (
    ReleaseCatalogError,
    format_version,
    known_releases,
    latest_version,
    load_releases,
    parse_version,
)
from proxy_addon.exchange.linter import ExchangeLinter
from proxy_addon.exchange.observed import Observed
from proxy_addon.lint.context import LintContext
from proxy_addon.lint.ruleset import RuleError, RuleSet
from proxy_addon.outputs.event_log import SECRETS_KEY, event_logger

from .builders import REPO, request_xml, response_xml

SIGNED_IN = "<siteName>acme</siteName><webExID>host@acme.com</webExID><password>S3cret!pw</password>"
TICKETED = "<siteName>acme</siteName><webExID>host@acme.com</webExID><sessionTicket>AAABBB</sessionTicket>"
ANONYMOUS = "<siteName>acme</siteName>"
SESSION = "<sessionKey>123456789</sessionKey>"
FULL_ANSWER = ("<ep:status>NOT_INPROGRESS</ep:status><ep:confName>Weekly</ep:confName>"
               "<ep:startDate>12/31/2068 13:00:00</ep:startDate><ep:isCreator>true</ep:isCreator>"
               "<ep:hostKey>954462</ep:hostKey>")
TRIMMED_39_9 = ("<ep:status>NOT_INPROGRESS</ep:status><ep:confName>Weekly</ep:confName>"
                "<ep:startDate>03/29/2019 11:55:00</ep:startDate>"
                "<ep:timeZone>GMT-07:00, Pacific (San Francisco)</ep:timeZone>")
UNINVITED_40_8 = ("<ep:status>NOT_INPROGRESS</ep:status><ep:sessionkey>123456789</ep:sessionkey>"
                  "<ep:accessControl><ep:listStatus>PUBLIC</ep:listStatus></ep:accessControl>"
                  "<ep:isPersonalMeetingRoom>false</ep:isPersonalMeetingRoom>")
ATTENDEE = "<attendees><person><name>A</name><email>a@example.com</email></person><sessionKey>1</sessionKey></attendees>"


@dataclass(frozen=True)
class Case:
    name: str
    data: bytes
    expected: list[str]  # the findings of `rule` (rule ids, in order)
    rule: str
    spec: str  # where the expectation comes from
    version: str | None = None  # the site's API version (default: the newest known)
    says: str = ""  # words the first finding must contain


def req(operation: str, body: str = "", *, package: str = "ep", security: str = SIGNED_IN) -> bytes:
    return request_xml(operation, body, package=package, security=security)


CASES = [
    # -- WX110: anonymous GetSessionInfo (B304-358, B99-111) ---------------------------------------
    Case("anonymous GetSessionInfo, 39.9+", req("GetSessionInfo", SESSION, security=ANONYMOUS), ["WX110"], "WX110",
         "B99-101", says="since 39.9"),
    Case("anonymous GetSessionInfo at 39.3 names the Personal Room trimming",
         req("GetSessionInfo", SESSION, security=ANONYMOUS), ["WX110"], "WX110", "B304-324", "39.3", "Personal Room"),
    Case("anonymous GetSessionInfo before 39.3: nothing trimmed yet", req("GetSessionInfo", SESSION, security=ANONYMOUS),
         [], "WX110", "B248, B304", "39.2"),
    Case("GetSessionInfo with webExID and password", req("GetSessionInfo", SESSION), [], "WX110", "B101"),
    Case("GetSessionInfo with a session ticket", req("GetSessionInfo", SESSION, security=TICKETED), [], "WX110", "B101"),
    Case("webExID without any credential is anonymous",
         req("GetSessionInfo", SESSION, security="<siteName>acme</siteName><webExID>x@acme.com</webExID>"),
         ["WX110"], "WX110", "B101"),
    # -- WX504: the trimmed answer (B304-358, B99-107) ---------------------------------------------
    Case("answer without any of the trimmed elements", response_xml("GetSessionInfo", TRIMMED_39_9), ["WX504"], "WX504",
         "B103-107", says="sessionPassword, telephony, hostKey"),
    Case("39.3: Personal Room wording", response_xml("GetSessionInfo", TRIMMED_39_9), ["WX504"], "WX504", "B304-306",
         "39.5", "Personal Room"),
    Case("a full answer keeps hostKey and isCreator", response_xml("GetSessionInfo", FULL_ANSWER), [], "WX504",
         "B355-357"),
    Case("a FAILURE answer's empty body is not a trimmed one",
         response_xml("GetSessionInfo", "", result="FAILURE", reason="Corresponding Meeting not found",
                      exception_id="060001"), [], "WX504", "B52"),
    Case("before 39.3 answers were not trimmed", response_xml("GetSessionInfo", TRIMMED_39_9), [], "WX504", "B304",
         "39.2"),
    # -- WX111: elements newer than the site's API version (one table) -------------------------------
    Case("modifiedDateStart/End before 39.11",
         req("LstsummaryUser", "<modifiedDateStart>10/01/2019 09:24:54</modifiedDateStart>"
             "<modifiedDateEnd>11/30/2019 09:24:54</modifiedDateEnd>", package="user"),
         ["WX111", "WX111"], "WX111", "B5-9", "39.10", "introduced in XML API 39.11; this site runs 39.10"),
    Case("modifiedDateStart at 39.11", req("LstsummaryUser", "<modifiedDateStart>10/01/2019 09:24:54</modifiedDateStart>",
                                           package="user"), [], "WX111", "B5-9", "39.11"),
    Case("returnShareToMeRecording before SP20 (announced in SP17, applied in SP20)",
         req("LstRecording", "<returnShareToMeRecording>true</returnShareToMeRecording>"), ["WX111"], "WX111",
         "B597-601", "11.0 SP19", "11.0 SP20"),
    Case("returnShareToMeRecording at SP20", req("LstRecording", "<returnShareToMeRecording>true</returnShareToMeRecording>"),
         [], "WX111", "B597-601", "11.0 SP20"),
    Case("autoRecord in CreateMeeting before SP21", req("CreateMeeting", "<enableOptions><autoRecord>true</autoRecord>"
                                                        "</enableOptions>", package="meeting"),
         ["WX111"], "WX111", "B481-495", "11.0 SP20", "<autoRecord>"),
    Case("autoRecord in CreateMeeting at SP21", req("CreateMeeting", "<autoRecord>true</autoRecord>", package="meeting"),
         [], "WX111", "B481-495", "11.0 SP21"),
    Case("CAPTCHAID and CAPTCHAWord before 39.10",
         req("GetSessionInfo", SESSION + "<CAPTCHAID>c1</CAPTCHAID><CAPTCHAWord>w</CAPTCHAWord>", security=ANONYMOUS),
         ["WX111", "WX111"], "WX111", "B36-60", "39.9"),
    Case("a row names its operations: modifiedDateStart elsewhere is not this change",
         req("LstRecording", "<modifiedDateStart>10/01/2019 09:24:54</modifiedDateStart>"), [], "WX111", "B11-13",
         "39.10"),
    Case("an operation newer than the site", req("SetContact", "<contactEmail>a@example.com</contactEmail>"),
         ["WX111"], "WX111", "B985-1012", "11.0 SP11", "the SetContact operation"),
    Case("meetingUUID before 40.7, in any operation", req("GetSessionInfo", "<meetingUUID>" + "a" * 32 + "</meetingUUID>"),
         ["WX111"], "WX111", "F72-76", "40.6"),
    Case("privilege/umSiteAdmin before 40.6",
         req("SetUser", "<webExId>a@acme.com</webExId><privilege><umSiteAdmin>true</umSiteAdmin></privilege>",
             package="user"), ["WX111"], "WX111", "F65-67", "40.4.3"),
    Case("umSiteAdmin outside privilege is not the 40.6 element",
         req("SetUser", "<webExId>a@acme.com</webExId><umSiteAdmin>true</umSiteAdmin>", package="user"), [], "WX111",
         "F65-67", "40.4.3"),
    Case("displayName before 40.11", req("CreateUser", "<displayName>Jane D</displayName>", package="user"), ["WX111"],
         "WX111", "F93-95", "40.10"),
    Case("isHTMLEmail at 40.2.4", req("CreateUser", "<isHTMLEmail>true</isHTMLEmail>", package="user"), [], "WX111",
         "F46-50", "40.2.4"),
    Case("isHTMLEmail at 40.2.3", req("CreateUser", "<isHTMLEmail>true</isHTMLEmail>", package="user"), ["WX111"],
         "WX111", "F46-50", "40.2.3"),
    Case("the default version is the newest: nothing is newer", req("CreateUser", "<displayName>J</displayName>",
                                                                    package="user"), [], "WX111", "F200"),
    # -- WX112: GetSiteType without siteName (A170) --------------------------------------------------
    Case("GetSiteType with a siteID only", req("GetSiteType", security="<siteID>5941234567</siteID>"), ["WX112"],
         "WX112", "A170"),
    Case("GetSiteType without a securityContext site", req("GetSiteType", security=""), ["WX112"], "WX112", "A170"),
    Case("GetSiteType as the spec's example", req("GetSiteType", security=ANONYMOUS), [], "WX112", "A180-192"),
    # -- WX113: CAPTCHAID without CAPTCHAWord (B60) -----------------------------------------------------
    Case("CAPTCHAID alone", req("GetSessionInfo", SESSION + "<CAPTCHAID>c1</CAPTCHAID>", security=ANONYMOUS), ["WX113"],
         "WX113", "B60", says="CAPTCHAID without CAPTCHAWord"),
    Case("CAPTCHAWord alone", req("GetUserCard", "<CAPTCHAWord>w</CAPTCHAWord>", security=ANONYMOUS), ["WX113"],
         "WX113", "B60", says="CAPTCHAWord without CAPTCHAID"),
    Case("both halves", req("GetSessionInfo", SESSION + "<CAPTCHAID>c1</CAPTCHAID><CAPTCHAWord>w</CAPTCHAWord>",
                            security=ANONYMOUS), [], "WX113", "B60"),
    # -- WX114: anonymous LstsummarySession (F39-44) ------------------------------------------------
    Case("anonymous LstsummarySession", req("LstsummarySession", "<listControl/>", security=ANONYMOUS), ["WX114"],
         "WX114", "F39-44", says="000015"),
    Case("LstsummarySession with a ticket", req("LstsummarySession", "<listControl/>", security=TICKETED), [], "WX114",
         "F42-43"),
    Case("anonymous LstsummarySession before 40.2", req("LstsummarySession", "<listControl/>", security=ANONYMOUS), [],
         "WX114", "F39", "39.11"),
    # -- WX407: at most 50 attendees from 42.1 (F167-170) ------------------------------------------
    Case("51 attendees", req("RegisterMeetingAttendee", ATTENDEE * 51, package="attendee"), ["WX407"], "WX407",
         "F167-170", says="51 attendees in one call: since 42.1 the limit is 50 (1 over)"),
    Case("50 attendees", req("CreateMeetingAttendee", ATTENDEE * 50, package="attendee"), [], "WX407", "F167-170"),
    Case("51 attendees before 42.1", req("CreateMeetingAttendee", ATTENDEE * 51, package="attendee"), [], "WX407",
         "F160-170", "41.12"),
    # -- WX408: DelUser at most 50 users (F223-224) -------------------------------------------------
    Case("DelUser of 51 users", req("DelUser", "<webExId>u@acme.com</webExId>" * 51, package="user"), ["WX408"], "WX408",
         "F223-224"),
    Case("DelUser of 50 users", req("DelUser", "<webExId>u@acme.com</webExId>" * 50, package="user"), [], "WX408",
         "F223-224"),
    # -- WX409: meetingUUID form (F72-76) -------------------------------------------------------------
    Case("meetingUUID with dashes and upper case",
         req("GetSessionInfo", "<meetingUUID>8A3F2C1D-0B6E-4F7A-9C21-5D8E7F6A4B3C</meetingUUID>"), ["WX409"], "WX409",
         "F74-75"),
    Case("meetingUUID as the service writes it", req("GetSessionInfo", "<meetingUUID>8a3f2c1d0b6e4f7a9c215d8e7f6a4b3c"
                                                     "</meetingUUID>"), [], "WX409", "F74-75"),
    Case("a template placeholder is not a value", req("GetSessionInfo", "<meetingUUID>{{MEETING_UUID}}</meetingUUID>"),
         [], "WX409", "F74-75"),
    # -- WX505: answers to uninvited callers (F78-85) ----------------------------------------------
    Case("uninvited caller's answer", response_xml("GetSessionInfo", UNINVITED_40_8), ["WX505"], "WX505", "F79-85",
         says="confName, startDate"),
    Case("an invitee's answer keeps confName", response_xml("GetSessionInfo", TRIMMED_39_9), [], "WX505", "F79-81"),
    Case("before 40.8", response_xml("GetSessionInfo", UNINVITED_40_8), [], "WX505", "F78", "40.7"),
]


@pytest.mark.parametrize("case", CASES, ids=[f"{c.rule} {c.name}" for c in CASES])
def test_rule_cases(linter, case):
    context = LintContext(api_version=parse_version(case.version)) if case.version else LintContext()
    findings = [f for f in linter.lint(case.data, context=context).findings if f.rule == case.rule]
    assert [f.rule for f in findings] == case.expected, f"{case.spec}: {[f.message for f in findings]}"
    if case.says:
        assert case.says in findings[0].message, case.spec


def test_every_new_rule_has_a_firing_and_a_quiet_case(linter):
    rules = {"WX110", "WX111", "WX112", "WX113", "WX114", "WX407", "WX408", "WX409", "WX504", "WX505"}
    assert {c.rule for c in CASES if c.expected} == rules
    assert {c.rule for c in CASES if not c.expected} == rules
    for rule_id in rules:
        rule = linter.ruleset.by_id[rule_id]
        assert "API" in rule.docs["source"] and ".txt" not in rule.docs["source"], rule_id  # issue 22 item 10


def test_wx111_stops_where_its_newest_row_starts(linter):
    """api.until is the newest row's version: a newer row would otherwise never fire."""
    rule = linter.ruleset.by_id["WX111"]
    assert rule.until == max(row["since"] for row in rule.options["elements"])


def test_wx111_follows_the_version_learned_from_get_api_version(linter):
    """The proxy's path: the site says it runs 39.10, so its LstsummaryUser by modified date is flagged."""
    exchange = ExchangeLinter(linter)
    exchange.lint(Observed(req("GetAPIVersion"), "request", "cap.har", locator="entry 0"))
    exchange.lint(Observed(response_xml("GetAPIVersion", "<ep:apiVer>39.10.0</ep:apiVer>"), "response", "cap.har",
                           locator="entry 0"))
    later = exchange.lint(Observed(req("LstsummaryUser", "<modifiedDateStart>10/01/2019 09:24:54</modifiedDateStart>",
                                       package="user"), "request", "cap.har", locator="entry 1"))
    (finding,) = [f for f in later.findings if f.rule == "WX111"]
    assert "this site runs 39.10" in finding.message
    assert finding.notes and "39.10" in finding.notes[0]


def test_the_trimmed_answer_is_explained_when_its_request_was_anonymous(linter):
    """The proxy's path: the anonymous request and its answer, in one exchange."""
    exchange = ExchangeLinter(linter)
    request = exchange.lint(Observed(req("GetSessionInfo", SESSION, security=ANONYMOUS), "request", "cap.har",
                                     locator="entry 0"))
    answer = exchange.lint(Observed(response_xml("GetSessionInfo", TRIMMED_39_9), "response", "cap.har",
                                    locator="entry 0"))
    assert "WX110" in [f.rule for f in request.findings]
    assert [f.rule for f in answer.findings if f.rule.startswith("WX5")] == ["WX504"]


# -- the new exceptionIDs --------------------------------------------------------------------------

@pytest.mark.parametrize("exception_id, words, predicted_by", [
    ("010106", "classic Event has been disabled", None),  # WX306 warns ahead, from a capture only (no tie)
    ("010107", "site is suspended", None),
    ("040015", "more than 50 attendees", "WX407"),
    ("000015", "anonymous LstsummarySession", "WX114"),
])
def test_new_exception_ids_are_explained(linter, exception_id, words, predicted_by):
    answer = response_xml("CreateEvent", result="FAILURE", reason="x", exception_id=exception_id)
    (finding,) = [f for f in linter.lint(answer).findings if f.rule == "WX501"]
    assert words in finding.message
    # WX501 names no predicting rule itself (a lone answer has no request); the catalog says which.
    assert linter.ruleset.exceptions[exception_id].get("predicted_by", []) == ([predicted_by] if predicted_by else [])


def test_a_failure_after_too_many_attendees_is_tied_to_wx407(linter):

    exchange = ExchangeLinter(linter)
    exchange.lint(Observed(req("RegisterMeetingAttendee", ATTENDEE * 60, package="attendee"), "request", "c.har",
                           locator="entry 3"))
    answer = exchange.lint(Observed(response_xml("RegisterMeetingAttendee", result="FAILURE", exception_id="040015",
                                                 reason="Register attendee number over limit in one API call"),
                                    "response", "c.har", locator="entry 3"))
    (wx501,) = [f for f in answer.findings if f.rule == "WX501"]
    assert "040015 — predicted by WX407 on this request" in wx501.notes


# -- versions: the release catalog ----------------------------------------------------------------

def test_versions_up_to_42_parse_order_and_print():
    assert parse_version("42.11.1") == (42, 11, 1) and format_version((42, 11, 1)) == "42.11.1"
    assert parse_version("40.7") < parse_version("40.10.0") < parse_version("41.11.0") < parse_version("42.1")
    assert parse_version("11.0 SP22") < parse_version("39.1.0") < parse_version("40.2.4")


def test_the_default_version_is_the_newest_release_in_the_catalog():
    releases = [version for version, _ in known_releases()]
    assert latest_version() == releases[-1] == (42, 11, 1)
    assert LintContext().api_version == latest_version()
    assert releases == sorted(releases)
    assert all(source for _, source in known_releases())


def test_the_cli_default_version_is_the_catalogs(tmp_path):
    """A 40.2 rule fires with no --api-version (the default is 42.11.1) and not at --api-version 39.11."""
    (tmp_path / "list.xml").write_bytes(req("LstsummarySession", "<listControl/>", security=ANONYMOUS))

    def check(*flags):
        out = subprocess.run([sys.executable, "-m", "proxy_addon.cli", "check", "--format", "json", *flags,
                              str(tmp_path)], capture_output=True, cwd=REPO, timeout=60, check=False).stdout
        return [f["rule"] for f in json.loads(out)["findings"]]

    assert "WX114" in check()
    assert "WX114" not in check("--api-version", "39.11")
    assert "WX114" in check("--api-version", "42.1.0")


@pytest.mark.parametrize("text, problem", [
    ('releases:\n  - {version: "39.1", source: "B"}\n  - {version: "39.1.0", source: "B"}\n', ":3: 39.1.0 is not newer"),
    ('releases:\n  - {version: "latest", source: "B"}\n', ":2: not an XML API version"),
    ('releases:\n  - {version: "39.1", sources: "B"}\n', ":2: each release is {version, source}"),
    ('versions: []\n', ":1: unknown key 'versions'"),
    ('releases: [\n', "invalid YAML"),
])
def test_a_broken_release_catalog_names_file_line_and_problem(tmp_path, text, problem):
    path = tmp_path / "releases.yaml"
    path.write_text(text)
    with pytest.raises(ReleaseCatalogError) as error:
        load_releases(path)
    assert str(error.value).startswith(str(path)) and problem in str(error.value)


def test_the_release_catalog_is_not_a_rule_pack(tmp_path):
    """rules/releases.yaml is skipped by the pack loader; a pack named otherwise must still be a pack."""
    (tmp_path / "releases.yaml").write_text("releases: []\n")
    (tmp_path / "other.yaml").write_text("releases: []\n")
    with pytest.raises(RuleError, match="other.yaml:1: a rule pack is a mapping with a 'rules' list"):
        RuleSet.load(tmp_path)


# -- WX111's table is validated at load --------------------------------------------------------------

@pytest.mark.parametrize("row, problem", [
    ('{select: "$body/x", since: "40.7"}', "needs 'source'"),
    ('{select: "body/x", since: "40.7", source: "F"}', "must start with one of"),
    ('{select: "$body/x", since: "soon", source: "F"}', "not an XML API version"),
    ('{select: "$body/x", since: "40.7", source: "F", operation: [A]}', "did you mean 'operations'"),
])
def test_a_broken_version_table_row_is_a_load_error(tmp_path, row, problem):
    pack = tmp_path / "team.yaml"
    pack.write_text(
        "rules:\n  - id: ACME001\n    name: newer\n    severity: info\n    introduced: x\n    given: $body\n"
        "    then:\n      function: newer_than_api_version\n      options:\n        elements:\n"
        f"          - {row}\n    message: m\n"
        "    docs: {summary: s, why: w, example: e, fix: f, source: s}\n")
    with pytest.raises(RuleError) as error:
        RuleSet.load(extra_packs=[pack])
    assert f"{pack}:11" in str(error.value) and problem in str(error.value)


# -- hostStreamURL is a secret everywhere (B800) ------------------------------------------------------

STREAM_URL = "https://acme.webex.com/acme/lsr.php?RCID=5f1e2d3c4b5a69788796a5b4c3d2e1f0"
RECORDING_ANSWER = response_xml(
    "LstRecording", f"<ep:recording><ep:recordingID>42</ep:recordingID><ep:hostStreamURL>{STREAM_URL}"
                    f"</ep:hostStreamURL></ep:recording>", result="FAILURE", reason=f"cannot open {STREAM_URL}")


def test_host_stream_url_is_masked_in_findings(linter):
    record = ExchangeLinter(linter).lint(Observed(RECORDING_ANSWER))
    assert STREAM_URL in record.secrets
    shown = record.redacted_findings()
    assert shown and all(STREAM_URL not in f.message for f in shown)


def test_host_stream_url_is_masked_in_the_event_log(linter):
    result = linter.lint(RECORDING_ANSWER)
    stream = io.StringIO()
    log = event_logger(stream)
    log.info("finding", message=f"reason: {STREAM_URL}", body=RECORDING_ANSWER.decode(), hostStreamURL=STREAM_URL,
             **{SECRETS_KEY: result.message.secrets})
    line = stream.getvalue()
    assert "hostStreamURL" in line and "RCID" not in line and STREAM_URL not in line


def test_host_stream_url_never_reaches_the_store(linter, tmp_path):
    url = str(tmp_path / "audit.sqlite")
    result = linter.lint(RECORDING_ANSWER, path="capture.har")
    record = MessageRecord.from_result(result, RECORDING_ANSWER, source="capture.har", locator="entry 1")
    with open_store(url) as store:
        store.record(record, result.findings)
        rows = "\n".join(repr(row) for table in ("messages", "findings")
                         for row in store.backend.query(f"SELECT * FROM {table}"))
    assert "lsr.php" not in rows
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("audit.sqlite*"))
    assert b"5f1e2d3c4b5a69788796a5b4c3d2e1f0" not in raw


def test_host_stream_url_is_masked_in_a_diff(tmp_path):
    """A request carrying a pasted hostStreamURL, with a fix to show: the diff leaves the URL's line out."""
    body = f"<enableOptions>\n  <HQvideo>true</HQvideo>\n</enableOptions>\n<hostStreamURL>{STREAM_URL}</hostStreamURL>"
    path = tmp_path / "meeting.xml"
    path.write_bytes(request_xml("CreateMeeting", body, package="meeting"))
    result = subprocess.run([sys.executable, "-m", "proxy_addon.cli", "check", "--diff", str(path)],
                            capture_output=True, cwd=REPO, timeout=60, check=False)
    diff = result.stdout.decode()  # as ruff: the diff alone on standard output
    assert "-  <HQvideo>true</HQvideo>" in diff and "hostStreamURL" not in diff  # never context, even masked
    assert "RCID" not in diff and STREAM_URL not in result.stderr.decode()


def test_host_stream_url_is_a_secret_name():
    assert is_secret_name("ep:hostStreamURL") and is_secret_name("hoststreamurl")
    assert not is_secret_name("streamURL") and not is_secret_name("fileURL")


def test_releases_file_sits_with_the_rule_packs():
    assert (Path(REPO) / "rules" / "releases.yaml").is_file()
