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
"""

from __future__ import annotations

import pytest

from proxy_addon.lint.context import LintContext

from .builders import CORPUS

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
