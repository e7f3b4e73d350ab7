"""One positive and one negative case per rule: each test fails if its rule is removed or broken."""

from __future__ import annotations

import pytest

from proxy_addon.core.versions import parse_version
from proxy_addon.lint.context import LintContext

from .builders import CI, request_xml, response_xml, rules_of

LONG_DESCRIPTION = "d" * 2600


def lint(linter, data, context=None, **kwargs):
    return linter.lint(data, context=context or LintContext(), **kwargs)


# -- envelope --------------------------------------------------------------------------------------

def test_wx003_foreign_service_namespace(linter):
    raw = (b'<message xmlns="http://www.webex.com/schemas/2009/05/service" '
           b'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><header><securityContext><siteName>a</siteName>'
           b'</securityContext></header><body><bodyContent xsi:type="java:com.webex.service.binding.user.'
           b'LstsummaryUser"/></body></message>')
    result = lint(linter, raw)
    assert rules_of(result) == ["WX003"]
    assert "2009/05" in result.findings[0].message


def test_wx003_not_for_the_real_namespace(linter):
    assert "WX003" not in rules_of(lint(linter, request_xml("GetUser")))


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


def test_wx004_missing_type(linter):
    raw = request_xml("GetUser").replace(b' xsi:type="java:com.webex.service.binding.user.GetUser"', b"")
    assert rules_of(lint(linter, raw)) == ["WX004"]


def test_wx004_accepts_dotted_packages(linter):
    raw = request_xml("CreateTeleconferenceSession", package="meeting.auo")
    assert rules_of(lint(linter, raw)) == []


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


def test_wx101_not_for_site_name(linter):
    assert rules_of(lint(linter, request_xml("GetUser"))) == []


def test_wx102_ci_webexid_must_be_an_email(linter):
    security = "<siteName>acme</siteName><webExID>jdoe</webExID><password>pw12345</password>"
    assert rules_of(lint(linter, request_xml("GetUser", security=security), CI)) == ["WX102"]
    assert rules_of(lint(linter, request_xml("GetUser", security=security))) == []  # not known as CI
    assert rules_of(lint(linter, request_xml("GetUser"), CI)) == []  # admin@acme.com


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


def test_wx103_single_credential_is_fine(linter):
    raw = request_xml("AuthenticateUser", "", security="<siteName>acme</siteName><webExID>a@acme.com</webExID>"
                      "<password>pw12345</password>")
    assert rules_of(lint(linter, raw, CI)) == []


# -- CI user management ----------------------------------------------------------------------------

IGNORED = ["email", "email2", "password", "passwordHint", "passwordHintAnswer", "timeZone", "timeZoneID",
           "timeZoneWithDST", "locale", "language", "languageID", "active", "security"]


def test_wx201_one_finding_per_ignored_field_on_ci_sites(linter):
    body = "<webExId>j@acme.com</webExId>" + "".join(f"<{name}>v</{name}>" for name in IGNORED)
    result = lint(linter, request_xml("SetUser", body), CI)
    assert rules_of(result) == ["WX201"] * len(IGNORED)
    assert {f.message.split("<")[1].split(">")[0] for f in result.findings} == set(IGNORED)
    assert all(f.fix and f.fix.safe for f in result.findings)


def test_wx201_only_direct_children_and_only_on_ci(linter):
    body = "<webExId>j@acme.com</webExId><personalMeetingRoom><email>x@y.z</email></personalMeetingRoom>"
    assert rules_of(lint(linter, request_xml("SetUser", body), CI)) == []
    body = "<webExId>j@acme.com</webExId><email>x@y.z</email>"
    assert rules_of(lint(linter, request_xml("SetUser", body))) == []


@pytest.mark.parametrize("operation", ["CreateUser", "DelUser", "ActivateUser"])
def test_wx202_user_management_on_ci(linter, operation):
    result = lint(linter, request_xml(operation, "<webExId>j@acme.com</webExId>"), CI)
    assert rules_of(result) == ["WX202"]
    assert result.findings[0].predicts == "030098"
    assert rules_of(lint(linter, request_xml(operation, "<webExId>j@acme.com</webExId>"))) == []


# -- meetings --------------------------------------------------------------------------------------

HQ_HD = "<enableOptions><chat>true</chat><HQvideo>true</HQvideo><HDvideo>true</HDvideo></enableOptions>"


@pytest.mark.parametrize("operation, expected", [
    ("CreateMeeting", 2), ("SetMeeting", 2), ("CreateTrainingSession", 1), ("SetTrainingSession", 1),
    ("GetMeeting", 0),
])
def test_wx301_hq_hd_video(linter, operation, expected):
    result = lint(linter, request_xml(operation, HQ_HD, package="meeting"))
    assert rules_of(result) == ["WX301"] * expected


def test_wx301_not_setuser_privilege_nor_before_39_1(linter):
    privilege = "<webExId>a</webExId><privilege><HQvideo>true</HQvideo></privilege>"
    assert rules_of(lint(linter, request_xml("SetUser", privilege))) == []
    old = LintContext(api_version=parse_version("11.0 SP20"))
    assert rules_of(lint(linter, request_xml("CreateMeeting", HQ_HD, package="meeting"), old)) == []


def test_wx302_auto_record_in_events_only(linter):
    body = "<metaData><sessionName>x</sessionName></metaData><enableOptions><autoRecord>true</autoRecord></enableOptions>"
    assert rules_of(lint(linter, request_xml("CreateEvent", body, package="event"))) == ["WX302"]
    assert rules_of(lint(linter, request_xml("CreateMeeting", body, package="meeting"))) == []


@pytest.mark.parametrize("support, expected", [("NONE", ["WX303"]), ("other", ["WX303"]), ("CALLIN", [])])
def test_wx303_audio_none(linter, support, expected):
    body = f"<telephony><telephonySupport>{support}</telephonySupport></telephony>"
    assert rules_of(lint(linter, request_xml("CreateMeeting", body, package="meeting"))) == expected


def test_wx304_recording_id_without_service_type(linter):
    assert rules_of(lint(linter, request_xml("LstRecording", "<recordingID>1</recordingID>", package="ep"))) == ["WX304"]
    with_type = "<recordingID>1</recordingID><serviceType>MeetingCenter</serviceType>"
    assert rules_of(lint(linter, request_xml("LstRecording", with_type, package="ep"))) == []


# -- limits ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("version, length, expected", [
    ("39.11", 2501, ["WX401"]), ("39.11", 2500, []), ("39.5", 1025, ["WX401"]), ("39.5", 1024, []),
    ("39.2", 5000, []),
])
def test_wx401_description_limit_follows_the_api_version(linter, version, length, expected):
    body = f"<metaData><sessionName>s</sessionName><description>{'x' * length}</description></metaData>"
    context = LintContext(api_version=parse_version(version))
    result = lint(linter, request_xml("CreateEvent", body, package="event"), context)
    assert rules_of(result) == expected
    if expected:
        assert result.findings[0].predicts == "060067"
        assert result.findings[0].fix and not result.findings[0].fix.safe


def test_wx401_not_for_meetings(linter):
    body = f"<metaData><confName>c</confName><description>{LONG_DESCRIPTION}</description></metaData>"
    assert rules_of(lint(linter, request_xml("CreateMeeting", body, package="meeting"))) == []


@pytest.mark.parametrize("name, expected", [("", ["WX402"]), ("n" * 129, ["WX402"]), ("n" * 128, []),
                                            ("{{MEETING_NAME}}", [])])
def test_wx402_conf_name_length(linter, name, expected):
    body = f"<metaData><confName>{name}</confName></metaData>"
    assert rules_of(lint(linter, request_xml("CreateMeeting", body, package="meeting"))) == expected


@pytest.mark.parametrize("start, end, expected", [
    ("01/01/2019 00:00:00", "01/30/2019 00:00:00", ["WX403"]),
    ("01/01/2019 00:00:00", "01/29/2019 00:00:00", []),
    ("08/15/2018 8:0:0", "09/05/2018 7:59:59", []),
])
def test_wx403_recording_range(linter, start, end, expected):
    body = f"<createTimeScope><createTimeStart>{start}</createTimeStart><createTimeEnd>{end}</createTimeEnd></createTimeScope>"
    assert rules_of(lint(linter, request_xml("LstRecording", body, package="ep"))) == expected
    flat = f"<createTimeStart>{start}</createTimeStart><createTimeEnd>{end}</createTimeEnd>"
    assert rules_of(lint(linter, request_xml("LstRecording", flat, package="ep"))) == expected


def test_wx404_modified_range(linter):
    body = "<modifiedDateStart>10/01/2019 09:24:54</modifiedDateStart><modifiedDateEnd>{}</modifiedDateEnd>"
    assert rules_of(lint(linter, request_xml("LstsummaryUser", body.format("01/30/2020 09:24:54")))) == ["WX404"]
    assert rules_of(lint(linter, request_xml("LstsummaryUser", body.format("11/30/2019 09:24:54")))) == []


def test_wx405_pmr_image_size(linter):
    import base64

    big = base64.b64encode(b"\x00" * (5 * 1024 * 1024 + 10)).decode()
    small = base64.b64encode(b"\x00" * 1000).decode()
    result = lint(linter, request_xml("UploadPMRImage", f"<imageData>{big}</imageData>"))
    assert rules_of(result) == ["WX405"] and result.findings[0].predicts == "010100"
    assert rules_of(lint(linter, request_xml("UploadPMRImage", f"<imageData>{small}</imageData>"))) == []


@pytest.mark.parametrize("value, expected", [
    ("2019-10-01T09:00:00Z", ["WX406"]), ("13/01/2019 10:00:00", ["WX406"]), ("02/30/2019 10:00:00", ["WX406"]),
    ("05/31/2004 10:10:10", []), ("4/23/2018 00:00:00", []), ("{{_MEETING_START_DATE}}", []),
])
def test_wx406_date_format(linter, value, expected):
    body = f"<schedule><startDate>{value}</startDate></schedule>"
    assert rules_of(lint(linter, request_xml("CreateMeeting", body, package="meeting"))) == expected


# -- responses -------------------------------------------------------------------------------------

def test_wx501_failure_is_explained_with_the_predicting_rule(linter):
    raw = response_xml(None, result="FAILURE", reason="User management is not allowed on unified site",
                       exception_id="030098")
    result = lint(linter, raw, operation_hint="CreateUser")
    assert rules_of(result) == ["WX501"]
    assert "WX202" in result.findings[0].message and "030098" in result.findings[0].message
    assert result.findings[0].operation == "CreateUser"


def test_wx501_not_for_success(linter):
    assert rules_of(lint(linter, response_xml("GetUser", "<use:webExId>a</use:webExId>", prefix="use", area="user"))) == []


def test_wx502_captcha(linter):
    raw = response_xml("GetSessionInfo", result="FAILURE", reason="CAPTCHA ID and word are invalid or missing",
                       exception_id="000000")
    assert rules_of(lint(linter, raw)) == ["WX501", "WX502"]
    raw = response_xml("GetSessionInfo", result="FAILURE", reason="Corresponding Meeting not found",
                       exception_id="060001")
    assert rules_of(lint(linter, raw)) == ["WX501"]


def test_wx503_api_version_element(linter):
    raw = response_xml("GetAPIVersion", "<ep:apiVersion>WebEx XML API V11.0.0</ep:apiVersion><ep:apiVer>39.11.0</ep:apiVer>")
    assert rules_of(lint(linter, raw)) == ["WX503"]
    assert rules_of(lint(linter, response_xml("GetAPIVersion", "<ep:apiVer>39.11.0</ep:apiVer>"))) == []


# -- engine behaviour ------------------------------------------------------------------------------

def test_select_ignore_and_severity_overrides(linter):
    raw = request_xml("CreateMeeting", HQ_HD, package="meeting", security=SITE_ID_ONLY)
    assert sorted(set(rules_of(lint(linter, raw)))) == ["WX101", "WX301"]
    assert set(rules_of(lint(linter, raw, LintContext(select=("WX3",))))) == {"WX301"}
    assert set(rules_of(lint(linter, raw, LintContext(ignore=("WX301",))))) == {"WX101"}
    from proxy_addon.core.findings import Severity
    overridden = lint(linter, raw, LintContext(severity_overrides={"WX101": Severity.ERROR}))
    assert {f.severity for f in overridden.findings if f.rule == "WX101"} == {"error"}


def test_findings_never_quote_a_secret(linter):
    security = "<siteName>acme</siteName><webExID>hunter2-secret</webExID><password>hunter2-secret</password>"
    result = lint(linter, request_xml("GetUser", security=security), CI)
    assert result.findings and all("hunter2-secret" not in f.message for f in result.findings)


def test_rules_are_indexed_by_operation(linter):
    candidates = {rule.id for rule in linter.ruleset.candidates("request", "SetUser")}
    assert "WX201" in candidates and "WX401" not in candidates and "WX101" in candidates
