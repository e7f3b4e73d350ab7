"""Every real message in ../shared/corpus is linted without a crash, with findings a reviewer accepts.

Judgment calls (also in the README):
- WX002 on every message with an undeclared prefix: true (not namespace-well-formed), the service
  accepts them, hence a warning.
- WX303 on cisco-ie fixture_set-meeting.xml (telephonySupport NONE): true and informational.
- WX501 on the FAILURE responses: each is a real failure, explained from the catalog.
- No WX503 on the old GetAPIVersion responses: they carry apiVersion only (V10.0.0), so they come
  from services older than 39.1, where apiVersion was not deprecated (B386-402).
- No WX101 on cisco-ie's <siteId>: the element is misspelled (WX008 with --validate), not siteID.
- WX004 is NOT raised for meeting.auo.CreateTeleconferenceSession: that dotted package is real.
- WX601 (info) on the 40 requests to Meetings-related operations: true, Cisco deprecated them
  (rules/lifecycle.yaml); none on user management or on operations of unknown status.
"""

from __future__ import annotations

import pytest

from proxy_addon.lint.context import LintContext

from .builders import CORPUS, requires_corpus

pytestmark = requires_corpus
CORPUS_FILES = sorted(CORPUS.glob("*/*.xml"))

EXPECTED = {
    "amardaxini__webex_api/createmeeting.xml": {"WX101"},
    "amardaxini__webex_api/createmeetingattendee.xml": {"WX101"},
    "amardaxini__webex_api/delmeetingattendee.xml": {"WX101"},
    "cisco-ie__webex-api-client/fixture_set-meeting.xml": {"WX002", "WX303"},
    "cisco-ie__webex-api-client/mock_create-meeting_pdfpaste.xml": {"WX002", "WX005", "WX101"},
    "cisco-ie__webex-api-client/mock_tp-example.xml": {"WX001"},
    "erolms__webex_xml_api/meeting_create_meeting_response_bad.xml": {"WX501"},
    "erolms__webex_xml_api/meeting_get_meeting_response_bad.xml": {"WX501"},
    "erolms__webex_xml_api/user_get_user_response_bad.xml": {"WX501"},
    "taymoork2__collab-ui-react/resp_authenticateuser_malformed.xml": {"WX001"},
    "taymoork2__collab-ui-react/resp_failure_000001.xml": {"WX501"},
    "taymoork2__collab-ui-react/resp_failure_000035.xml": {"WX501"},
    "taymoork2__collab-ui-react/resp_getapiversion_usersettings.xml": {"WX001"},
    "waldronmatt__webexDashboard/videoSys.xml": {"WX001"},
}

# WX601 (info): every request to a Meetings-related operation (meeting, attendee, session, event,
# teleconference, history). Not on responses, user management (GetUser, SetUser, AuthenticateUser,
# GetLoginTicket, GetloginurlUser) or operations of unknown status (GetSite, GetAPIVersion,
# LstMeetingType, FlushWebCache, GetSiteAdminNavUrl).
DEPRECATED_MEETINGS_REQUESTS = {
    "CiscoDevNet__webex-meetings-python-samples/postman_CreateMeeting.xml",
    "CiscoDevNet__webex-meetings-python-samples/postman_DelMeeting.xml",
    "CiscoDevNet__webex-meetings-python-samples/postman_GetMeeting.xml",
    "CiscoDevNet__webex-meetings-python-samples/postman_GetjoinurlMeeting.xml",
    "CiscoDevNet__webex-meetings-python-samples/postman_LstMeetingAttendee.xml",
    "CiscoDevNet__webex-meetings-python-samples/postman_LstsummaryMeeting.xml",
    "CiscoDevNet__webex-meetings-python-samples/postman_LstsummarySession.xml",
    "amardaxini__webex_api/createmeeting.xml",
    "amardaxini__webex_api/createmeetingattendee.xml",
    "amardaxini__webex_api/delmeetingattendee.xml",
    "cisco-ie__webex-api-client/fixture_create-meeting.xml",
    "cisco-ie__webex-api-client/fixture_create-teleconference-session.xml",
    "cisco-ie__webex-api-client/fixture_delete-meeting.xml",
    "cisco-ie__webex-api-client/fixture_get-meeting.xml",
    "cisco-ie__webex-api-client/fixture_get-teleconference-session.xml",
    "cisco-ie__webex-api-client/fixture_gethosturl-meeting.xml",
    "cisco-ie__webex-api-client/fixture_getjoinurl-meeting.xml",
    "cisco-ie__webex-api-client/fixture_lst-summary-meeting.xml",
    "cisco-ie__webex-api-client/fixture_set-meeting.xml",
    "cisco-ie__webex-api-client/mock_create-meeting_nestedbody.xml",
    "cisco-ie__webex-api-client/mock_create-meeting_pdfpaste.xml",
    "erolms__webex_xml_api/meeting_create_meeting_request.xml",
    "erolms__webex_xml_api/meeting_del_meeting_request.xml",
    "erolms__webex_xml_api/meeting_get_meeting_request.xml",
    "erolms__webex_xml_api/meeting_getjoinurl_meeting_request.xml",
    "prior__webexpy/attendee_delmeetingattendee_byemail.xml",
    "prior__webexpy/attendee_delmeetingattendee_byid.xml",
    "prior__webexpy/attendee_lstmeetingattendee.xml",
    "prior__webexpy/attendee_registermeetingattendee.xml",
    "prior__webexpy/event_createevent.xml",
    "prior__webexpy/event_delevent.xml",
    "prior__webexpy/event_lstsummaryevent.xml",
    "prior__webexpy/event_setevent.xml",
    "prior__webexpy/history_lsteventattendeehistory.xml",
    "prior__webexpy/history_lsteventsessionhistory.xml",
    "splunk__ta-cisco-webex-meetings-add-on-for-splunk/ep_lstsummarysession_password.xml",
    "splunk__ta-cisco-webex-meetings-add-on-for-splunk/history_lstmeetingattendeehistory.xml",
    "splunk__ta-cisco-webex-meetings-add-on-for-splunk/history_lstmeetingusagehistory_accesstoken.xml",
    "splunk__ta-cisco-webex-meetings-add-on-for-splunk/history_lstrecordaccesshistory_accesstoken.xml",
    "splunk__ta-cisco-webex-meetings-add-on-for-splunk/history_lstsupportsessionhistory.xml",
}


def _unbound(path) -> bool:
    return "unbound prefix" in _provenance().get(path, "")


def _provenance() -> dict[str, str]:
    rows = (CORPUS / "PROVENANCE.tsv").read_text(encoding="utf-8").splitlines()[1:]
    return {row.split("\t")[0]: row.split("\t")[8] for row in rows}


def test_corpus_is_present():
    assert len(CORPUS_FILES) == 94


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_corpus_message_lints_as_a_reviewer_expects(linter, path):
    relative = f"{path.parent.name}/{path.name}"
    result = linter.lint(path.read_bytes(), path=relative)
    expected = set(EXPECTED.get(relative, set()))
    if relative in DEPRECATED_MEETINGS_REQUESTS:
        expected.add("WX601")
    if _unbound(relative) and "WX001" not in expected:
        expected.add("WX002")
    assert {f.rule for f in result.findings} == expected
    for finding in result.findings:
        assert finding.line >= 1 and finding.column >= 1
    for secret in (result.message.secrets if result.message else ()):
        assert all(secret not in f.message for f in result.findings)


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_corpus_survives_every_context(linter, path):
    """CI sites, old API versions and every rule switched on: no crash, positions stay in the file."""
    context = LintContext(ci_sites=frozenset({"apidemoeu", "examplesite", "acme", "tester"}),
                          api_version=(39, 5, 0), site_ids={"690319": "acme"})
    data = path.read_bytes()
    result = linter.lint(data, path=str(path), context=context)
    lines = data.count(b"\n") + 1
    assert all(1 <= f.line <= lines for f in result.findings)
