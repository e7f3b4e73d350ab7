"""Our XSDs (schemas/) and schema validation: WX007 schema-violation, WX008 misspelled-element.

Corpus judgment calls (also in docs/schemas.md). With --validate, every well-formed corpus message
produces no WX007/WX008 except these, each a true finding on a message that is wrong as sent:
- CiscoDevNet postman_GetMeeting.xml: WX007, <meetingKey>{{_MEETING_KEY}}</meetingKey> is a Postman
  placeholder, not a number. Valid once Postman substitutes it; as sent, the service rejects it.
- cisco-ie fixture_*.xml and mock_create-meeting_nestedbody.xml: WX008 <siteId> (siteID), and in
  fixture_create-meeting.xml WX008 <timezoneID> (timeZoneID), both named in PROVENANCE.tsv.
- cisco-ie mock_create-meeting_pdfpaste.xml: WX007, text pasted from the PDF reference guide
  inside <enableOptions>.
Known miss: mock_create-meeting_nestedbody.xml nests a <body> inside bodyContent. CreateMeeting's
body is open (we do not know all its children), so the stray <body> and what is inside it are not
checked; only the <siteId> in the envelope is reported.
"""

from __future__ import annotations

import pytest
import xmlschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from proxy_addon.core.fixes import apply_fixes
from proxy_addon.core.message import build_message
from proxy_addon.core.parsing import parse_document
from proxy_addon.lint.context import LintContext
from proxy_addon.schema.bundle import ENVELOPE_TAG, bundled_schema_dir
from proxy_addon.schema.normalize import normalized_copy
from proxy_addon.schema.validation import SchemaValidator, _body_type, _is_body_content

from .builders import CORPUS, REPO, SERVICE_NS, request_xml, requires_corpus, response_xml

VALIDATE = LintContext(validate=True)
SCHEMAS = sorted((REPO / "schemas").glob("*.xsd"))
EXAMPLES = sorted((REPO / "tests" / "fixtures" / "schemas_examples").glob("*.xml"))

# Operation -> java package (= the service area of its namespace).
COVERED = {
    "SetUser": "user", "CreateUser": "user", "DelUser": "user", "ActivateUser": "user",
    "AuthenticateUser": "user", "GetUser": "user", "LstsummaryUser": "user", "UploadPMRImage": "user",
    "CreateMeeting": "meeting", "SetMeeting": "meeting", "GetMeeting": "meeting",
    "CreateTrainingSession": "trainingsession", "SetTrainingSession": "trainingsession",
    "CreateEvent": "event", "SetEvent": "event",
    "LstRecording": "ep", "GetSessionInfo": "ep", "GetSiteType": "ep", "GetAPIVersion": "ep",
    "SetContact": "ep", "DelContacts": "ep", "GetSite": "site",
}

SITE_ID = ("WX008", 7, 7, "siteId")
CORPUS_SCHEMA_FINDINGS = {
    "CiscoDevNet__webex-meetings-python-samples/postman_GetMeeting.xml": [("WX007", 14, 13, "meetingKey")],
    "cisco-ie__webex-api-client/fixture_create-meeting.xml": [SITE_ID, ("WX008", 33, 9, "timezoneID")],
    "cisco-ie__webex-api-client/fixture_create-teleconference-session.xml": [("WX008", 7, 13, "siteId")],
    "cisco-ie__webex-api-client/fixture_delete-meeting.xml": [SITE_ID],
    "cisco-ie__webex-api-client/fixture_get-meeting.xml": [SITE_ID],
    "cisco-ie__webex-api-client/fixture_get-teleconference-session.xml": [SITE_ID],
    "cisco-ie__webex-api-client/fixture_gethosturl-meeting.xml": [SITE_ID],
    "cisco-ie__webex-api-client/fixture_getjoinurl-meeting.xml": [SITE_ID],
    "cisco-ie__webex-api-client/fixture_lst-summary-meeting.xml": [SITE_ID],
    "cisco-ie__webex-api-client/fixture_set-meeting.xml": [SITE_ID],
    "cisco-ie__webex-api-client/mock_create-meeting_nestedbody.xml": [SITE_ID],
    "cisco-ie__webex-api-client/mock_create-meeting_pdfpaste.xml": [("WX007", 34, 1, "enableOptions")],
}
WELL_FORMED = [p for p in sorted(CORPUS.glob("*/*.xml")) if parse_document(p.read_bytes()).root is not None]


def schema_findings(linter, data: bytes, **kwargs):
    result = linter.lint(data, context=VALIDATE, **kwargs)
    return result, [f for f in result.findings if f.rule in {"WX007", "WX008"}]


def at(data: bytes, finding) -> str:
    """The source text at a finding's line and column."""
    line = data.decode("utf-8").splitlines()[finding.line - 1]
    return line[finding.column - 1:]


# -- the schemas themselves ---------------------------------------------------------------------

@pytest.mark.parametrize("path", SCHEMAS, ids=lambda p: p.name)
def test_schema_compiles_with_lxml_and_xmlschema(path):
    etree.XMLSchema(etree.parse(str(path)))
    schema = xmlschema.XMLSchema10(str(path))
    assert schema.target_namespace.startswith("http://www.webex.com/schemas/2002/06/")


def test_schemas_are_found_in_the_repository_and_in_the_wheel_layout(tmp_path):
    assert bundled_schema_dir() == REPO / "schemas"
    package = tmp_path / "proxy_addon"
    (package / "_data" / "schemas").mkdir(parents=True)
    assert bundled_schema_dir(package) == tmp_path / "schemas"  # no service.xsd shipped: repo layout
    (package / "_data" / "schemas" / "service.xsd").write_text("<x/>")
    assert bundled_schema_dir(package) == package / "_data" / "schemas"


@pytest.mark.parametrize("operation", sorted(COVERED))
def test_every_covered_operation_has_a_request_and_a_response_type(operation):
    bundle = SchemaValidator().bundle
    namespace = f"{SERVICE_NS}/{COVERED[operation]}"
    lower = operation[0].lower() + operation[1:]
    assert bundle.find_type(namespace, [lower]) is not None
    assert bundle.find_type(namespace, [lower + "Response"]) is not None


# -- the corpus and the release-note examples ----------------------------------------------------

@requires_corpus
@pytest.mark.parametrize("path", WELL_FORMED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_corpus_message_validates_as_a_reviewer_expects(linter, path):
    relative = f"{path.parent.name}/{path.name}"
    data = path.read_bytes()
    _result, findings = schema_findings(linter, data, path=relative)
    got = [(f.rule, f.line, f.column) for f in findings]
    expected = CORPUS_SCHEMA_FINDINGS.get(relative, [])
    assert got == [(rule, line, column) for rule, line, column, _name in expected]
    for finding, (_rule, _line, _column, name) in zip(findings, expected, strict=True):
        assert at(data, finding).startswith(f"<{name}")  # the position is the element's start tag
        assert f"<{name}>" in finding.message


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_release_note_example_is_valid(linter, path):
    hint = "CreateUser" if path.name.startswith("createuser") else None  # its bodyContent is empty
    result, findings = schema_findings(linter, path.read_bytes(), operation_hint=hint)
    assert _body_type(SchemaValidator().bundle, result.message) is not None  # the body was checked
    assert findings == []


@pytest.mark.parametrize("path", WELL_FORMED + EXAMPLES, ids=lambda p: p.name)
def test_libxml2_and_xmlschema_agree(path):
    """lxml is only the fast gate: it must call valid exactly what xmlschema calls valid."""
    bundle = SchemaValidator().bundle
    message = build_message(parse_document(path.read_bytes()).root)
    envelope = normalized_copy(message.root, ENVELOPE_TAG, bundle.envelope.type, bundle, spelling=False,
                               leave_empty=_is_body_content)
    checks = [(envelope.root, bundle.envelope)]
    body = _body_type(bundle, message)
    if body is not None:
        copy = normalized_copy(message.body_content, bundle.driver_tag(body[0]), body[1], bundle, spelling=False)
        checks.append((copy.root, body[1]))
    for root, component in checks:
        assert bundle.lxml.validate(root) == (next(component.iter_errors(root), None) is None)


# -- crafted invalid messages: exact findings -----------------------------------------------------

def test_unknown_credential_element_is_reported_where_it_is(linter):
    data = request_xml("GetUser", "<webExId>jdoe</webExId>",
                       security="<siteName>acme</siteName><webExID>a</webExID><colour>red</colour>")
    _result, findings = schema_findings(linter, data)
    assert [(f.rule, f.line, f.column) for f in findings] == [("WX007", 4, 63)]
    assert at(data, findings[0]).startswith("<colour>")
    message = findings[0].message
    assert message.startswith("<colour> is not allowed in <securityContext> by the envelope schema")
    assert "<siteName>" in message and "<sessionTicket>" in message  # what is expected instead
    assert findings[0].severity == "error" and findings[0].name == "schema-violation"


def test_envelope_problems_are_reported_even_when_the_body_is_broken_too(linter):
    data = (b'<serv:message xmlns:serv="http://www.webex.com/schemas/2002/06/service" '
            b'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
            b"<header><securityContext><siteName>a</siteName></securityContext><trailer/></header>\n"
            b'<body><bodyContent xsi:type="java:com.webex.service.binding.meeting.GetMeeting">\n'
            b"<meetingKey>soon</meetingKey></bodyContent></body>\n</serv:message>\n")
    _result, findings = schema_findings(linter, data)
    assert [(f.rule, f.line, f.column) for f in findings] == [("WX007", 2, 66), ("WX007", 4, 1)]
    assert findings[0].message.startswith("<trailer> is not allowed in <header> by the envelope schema")
    assert at(data, findings[0]).startswith("<trailer/>") and at(data, findings[1]).startswith("<meetingKey>")
    assert findings[1].message == "<meetingKey> value 'soon' is not a whole number (the GetMeeting request schema)"


def test_a_missing_body_is_a_schema_violation(linter):
    data = (b'<serv:message xmlns:serv="http://www.webex.com/schemas/2002/06/service">\n'
            b"<header><securityContext><siteName>a</siteName></securityContext></header>\n</serv:message>")
    _result, findings = schema_findings(linter, data)
    assert [(f.rule, f.line, f.column) for f in findings] == [("WX007", 1, 1)]
    assert findings[0].message == "<serv:message> is incomplete by the envelope schema: missing <body>"


def test_every_error_in_a_body_is_reported_not_only_the_first(linter):
    body = ("<webExId>jdoe</webExId>\n"
            "<privilege><host>maybe</host><siteAdmin>yes</siteAdmin></privilege>\n"
            "<timeZoneID>GMT</timeZoneID>\n"
            "<meetingTypes><meetingType>214</meetingType><meetingTypeName>PRO</meetingTypeName></meetingTypes>")
    data = request_xml("SetUser", body)
    _result, findings = schema_findings(linter, data)
    assert [(f.rule, f.line, f.column) for f in findings] == [
        ("WX007", 9, 12), ("WX007", 9, 30), ("WX007", 10, 1), ("WX007", 11, 45)]
    assert [f.message for f in findings] == [
        "<host> value 'maybe' is not true or false (the SetUser request schema)",
        "<siteAdmin> value 'yes' is not true or false (the SetUser request schema)",
        "<timeZoneID> value 'GMT' is not a whole number (the SetUser request schema)",
        "<meetingTypeName> is not allowed in <meetingTypes> by the SetUser request schema; expected <meetingType>",
    ]


def test_text_where_only_elements_belong(linter):
    data = request_xml("CreateMeeting", "<enableOptions>\nsee Figure G-43\n<chat>true</chat></enableOptions>",
                       package="meeting")
    _result, findings = schema_findings(linter, data)
    assert [(f.rule, f.line, f.column, f.message) for f in findings] == [
        ("WX007", 8, 1, "<enableOptions> contains text 'see Figure G-43' where the CreateMeeting "
                        "request schema allows only elements")]


def test_elements_inside_a_simple_value(linter):
    data = request_xml("CreateMeeting", "<metaData><confName><b>Kickoff</b></confName></metaData>",
                       package="meeting")
    _result, findings = schema_findings(linter, data)
    assert [(f.line, f.column, f.message) for f in findings] == [
        (8, 11, "<confName> holds child elements but the CreateMeeting request schema makes it a simple value")]


def test_true_and_false_are_accepted_in_any_case_and_empty(linter):
    body = ("<webExId>a</webExId><personalMeetingRoom><PMRAutoLock>TRUE</PMRAutoLock>"
            "<PMRAutoLockWaitTime>17</PMRAutoLockWaitTime><PRNotifications><mode>EMAIL</mode>"
            "</PRNotifications></personalMeetingRoom><security><forceChangePassword/></security>")
    _result, findings = schema_findings(linter, request_xml("SetUser", body))
    assert findings == []


def test_unknown_elements_in_an_open_container_are_accepted(linter):
    body = "<webExId>a</webExId><thirdPartyTeleconf><accountIndex>1</accountIndex></thirdPartyTeleconf>"
    _result, findings = schema_findings(linter, request_xml("SetUser", body))
    assert findings == []


def test_prefixed_and_undeclared_children_are_validated_by_local_name(linter):
    """use: is never declared (WX002): the message is validated as if it were."""
    data = request_xml("SetUser", "<webExId>a</webExId><use:meetingTypes><use:meetingType>x</use:meetingType>"
                                  "</use:meetingTypes>")
    result, findings = schema_findings(linter, data)
    assert "WX002" in {f.rule for f in result.findings}
    assert [(f.rule, f.line, f.column, f.message) for f in findings] == [
        ("WX007", 8, 39, "<use:meetingType> value 'x' is not a whole number (the SetUser request schema)")]


def test_operations_without_a_schema_get_the_envelope_checked_only(linter):
    data = request_xml("DelMeeting", "<anything><goes/></anything>", package="meeting",
                       security="<siteName>a</siteName><sitename>b</sitename>")
    _result, findings = schema_findings(linter, data)
    assert [(f.rule, f.line, f.column) for f in findings] == [("WX008", 4, 40)]


def test_response_values_are_checked_against_the_response_type(linter):
    data = response_xml("GetAPIVersion", "<ep:apiVer>39.11.0</ep:apiVer><ep:trainReleaseOrder>four hundred"
                                         "</ep:trainReleaseOrder>")
    _result, findings = schema_findings(linter, data)
    assert [(f.rule, f.line, f.message) for f in findings] == [
        ("WX007", 4, "<ep:trainReleaseOrder> value 'four hundred' is not a whole number "
                     "(the GetAPIVersion response schema)")]
    assert at(data, findings[0]).startswith("<ep:trainReleaseOrder>")


def test_a_response_without_xsi_type_uses_the_operation_hint(linter):
    data = response_xml(None, "<use:sessionTicket>t</use:sessionTicket><use:timeToLive>soon</use:timeToLive>",
                        prefix="use", area="user")
    _result, findings = schema_findings(linter, data)
    assert findings == []  # no operation known: only the envelope is checked
    _result, findings = schema_findings(linter, data, operation_hint="AuthenticateUser")
    assert [f.message for f in findings] == [
        "<use:timeToLive> value 'soon' is not a whole number (the AuthenticateUser response schema)"]


def test_no_misspelling_warnings_on_responses(linter):
    """The service's own spelling (meetingkey, parterID) is what a client must read."""
    data = response_xml("GetMeeting", "<meet:meetingKey>1</meet:meetingKey><meet:meetingkey>1</meet:meetingkey>",
                        prefix="meet", area="meeting")
    _result, findings = schema_findings(linter, data)
    assert findings == []


def test_credentials_never_appear_in_schema_findings(linter):
    data = request_xml("SetUser", "<webExId>a</webExId><timeZoneID>S3cret!pw</timeZoneID>")
    _result, findings = schema_findings(linter, data)
    assert len(findings) == 1 and "S3cret!pw" not in findings[0].message and "***" in findings[0].message


def test_one_line_messages_get_each_element_its_own_column(linter):
    data = (b'<serv:message xmlns:serv="http://www.webex.com/schemas/2002/06/service" '
            b'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><header><securityContext>'
            b"<siteId>a</siteId><siteName>a</siteName><siteNam>b</siteNam></securityContext></header><body>"
            b'<bodyContent xsi:type="java:com.webex.service.binding.user.GetUser"><webExId>a</webExId>'
            b"</bodyContent></body></serv:message>")
    _result, findings = schema_findings(linter, data)
    assert [(f.rule, f.line) for f in findings] == [("WX008", 1), ("WX008", 1)]
    assert [at(data, f)[:9] for f in findings] == ["<siteId>a", "<siteNam>"]


# -- WX008 misspelled-element --------------------------------------------------------------------

def test_misspelled_site_id_and_time_zone_id_are_wx008_not_wx007(linter):
    data = request_xml("CreateMeeting", "<schedule><startDate>05/31/2004 10:10:10</startDate>\n"
                                        "<timezoneID>4</timezoneID></schedule>", package="meeting",
                       security="<webExID>a</webExID><password>S3cret!pw</password><siteId>tester</siteId>")
    _result, findings = schema_findings(linter, data)
    assert [(f.rule, f.line, f.column) for f in findings] == [("WX008", 4, 68), ("WX008", 9, 1)]
    assert [f.severity for f in findings] == ["warning", "warning"]
    assert findings[0].name == "misspelled-element"
    assert findings[0].message.startswith(
        "<siteId> is not an element of <securityContext> in the envelope schema: did you mean <siteID>?")
    assert "did you mean <timeZoneID>?" in findings[1].message
    assert "case-sensitive" in findings[1].message


def test_one_edit_misspellings_are_found_inside_open_containers(linter):
    data = request_xml("SetUser", "<webExId>a</webExId><privilege><hostt>true</hostt></privilege>")
    _result, findings = schema_findings(linter, data)
    assert [(f.rule, f.column) for f in findings] == [("WX008", 32)]
    assert "did you mean <host>? (one letter away" in findings[0].message


def test_the_misspelling_fix_renames_the_element_and_keeps_everything_else(linter):
    data = request_xml("GetUser", "<webExId>jdoe</webExId>",
                       security="<webExID>a</webExID><siteId >tester</siteId>")
    result, findings = schema_findings(linter, data)
    assert findings[0].fix is not None and not findings[0].fix.safe
    assert apply_fixes(result).data == data  # unsafe: not applied by default
    fixed = apply_fixes(result, unsafe=True).data
    assert fixed == data.replace(b"<siteId >tester</siteId>", b"<siteID >tester</siteID>")
    _result, findings = schema_findings(linter, fixed)
    assert findings == []


def test_the_validator_loads_its_schemas_once_per_process():
    first, second = SchemaValidator(), SchemaValidator()
    assert first.bundle is second.bundle
    assert first.bundle.lxml is not None and first.bundle.lxml_problem is None


def test_xmlschema_alone_gives_the_same_findings(linter):
    data = request_xml("SetUser", "<webExId>a</webExId><timeZoneID>x</timeZoneID><privilege><hostt/></privilege>")
    document = parse_document(data)
    message = build_message(document.root)
    fast = SchemaValidator().validate(message, document)
    slow = SchemaValidator(use_lxml=False).validate(message, document)
    assert [(f.rule, f.line, f.column, f.message) for f in fast] == \
        [(f.rule, f.line, f.column, f.message) for f in slow]
    assert {f.rule for f in fast} == {"WX007", "WX008"}


def test_nothing_is_validated_without_the_flag(linter):
    data = request_xml("GetUser", "<webExId>a</webExId>", security="<siteId>x</siteId>")
    assert not {"WX007", "WX008"} & {f.rule for f in linter.lint(data).findings}


def test_the_same_directory_named_differently_is_the_same_bundle():
    validator = SchemaValidator(schema_dir=str(REPO / "tests" / ".." / "schemas"))
    assert validator.bundle is SchemaValidator().bundle


def test_comments_and_cdata_do_not_shift_positions_or_count_as_text(linter):
    data = request_xml("GetUser", "<!-- who -->\n<webExId><![CDATA[jdoe]]></webExId><!-- x --><webExID>j</webExID>",
                       security="<!-- creds --><siteName>a</siteName>\n<?pi here?><siteid>1</siteid>")
    _result, findings = schema_findings(linter, data)
    assert [(f.rule, f.line, f.column) for f in findings] == [("WX008", 5, 12), ("WX008", 10, 46)]
    assert at(data, findings[0]).startswith("<siteid>") and at(data, findings[1]).startswith("<webExID>")


CRAFT = st.sampled_from(["<x>1</x>", "<siteId>a</siteId>", "text", "<timezoneID>x</timezoneID>",
                         "<meetingKey>k</meetingKey>", "<use:privilege><use:host>maybe</use:host></use:privilege>"])


@requires_corpus
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(index=st.integers(min_value=0, max_value=max(len(WELL_FORMED) - 1, 0)), where=st.integers(min_value=0),
       fragment=CRAFT)
def test_inserted_fragments_never_break_the_validator(linter, index, where, fragment):
    """Whatever lands wherever between tags: no crash, every finding inside the file, on its element."""
    data = WELL_FORMED[index].read_bytes()
    gaps = [i + 1 for i, byte in enumerate(data) if byte == ord(">")][:-1]
    cut = gaps[where % len(gaps)]
    mutated = data[:cut] + fragment.encode() + data[cut:]
    result = linter.lint(mutated, context=VALIDATE)
    lines = mutated.count(b"\n") + 1
    for finding in result.findings:
        assert 1 <= finding.line <= lines and finding.column >= 1
        if finding.rule == "WX008":
            assert result.document.text.splitlines()[finding.line - 1][finding.column - 1] == "<"
