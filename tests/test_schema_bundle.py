"""--schema-dir: validating against a bundle in Cisco's layout, and clear errors for bad bundles.

tests/fixtures/schemas_bundle is a small bundle we wrote in that layout (service.xsd, common.xsd,
user.xsd, meeting.xsd) and deliberately unlike schemas/: unqualified local elements, ordered
sequences, operation types extending an abstract serv:bodyContentType.
"""

from __future__ import annotations

import pytest

from proxy_addon.lint.context import LintContext
from proxy_addon.schema.bundle import SchemaLoadError, bundle_for
from proxy_addon.schema.validation import SchemaValidator

from .builders import REPO, request_xml, response_xml

BUNDLE = REPO / "tests" / "fixtures" / "schemas_bundle"
OFFICIAL = LintContext(validate=True, schema_dir=str(BUNDLE))


def schema_findings(linter, data: bytes, **kwargs):
    return [f for f in linter.lint(data, context=OFFICIAL, **kwargs).findings if f.rule in {"WX007", "WX008"}]


def ordered_security(*names: str) -> str:
    return "".join(f"<{name}>x</{name}>" for name in names)


def test_a_message_in_the_bundles_order_is_valid(linter):
    data = request_xml("SetUser", "<webExId>a</webExId><firstName>A</firstName><address><city>B</city></address>",
                       security=ordered_security("webExID", "password", "siteName"))
    assert schema_findings(linter, data) == []


def test_the_abstract_body_content_type_is_not_reported_against_the_envelope(linter):
    """bodyContent's content is checked against the operation, never as the abstract base type."""
    data = request_xml("GetUser", "<webExId>a</webExId>", security=ordered_security("webExID", "siteName"))
    assert schema_findings(linter, data) == []
    bundle = SchemaValidator(schema_dir=str(BUNDLE)).bundle
    assert bundle.find_type(None, ["bodyContentType"])[1].abstract


def test_order_and_types_come_from_the_bundle(linter):
    data = request_xml("SetUser", "<firstName>A</firstName><webExId>a</webExId><timeZoneID>x</timeZoneID>",
                       security=ordered_security("siteName", "webExID"))
    findings = schema_findings(linter, data)
    assert [(f.rule, f.line, f.column) for f in findings] == [("WX007", 4, 40), ("WX007", 8, 1), ("WX007", 8, 45)]
    assert findings[0].message == (
        "<webExID> is out of place in <securityContext> by the envelope schema (out of order, or repeated); "
        "the schema's order is <webExID>, <password>, <sessionTicket>, <siteID>, <siteName>, <partnerID>")
    assert findings[1].message.startswith("<firstName> is out of place in <bodyContent> by the SetUser request")
    assert findings[2].message == "<timeZoneID> value 'x' is not a whole number (the SetUser request schema)"


def test_the_bundles_own_vocabulary_drives_misspellings(linter):
    data = request_xml("SetUser", "<webExId>a</webExId><adress><city>B</city></adress>",
                       security=ordered_security("webExID", "siteID"))
    findings = schema_findings(linter, data)
    # siteID is a number in this bundle (xsd:long): its value "x" is wrong; <adress> is a typo.
    assert [(f.rule, f.message.split(" ")[0]) for f in findings] == [("WX007", "<siteID>"), ("WX008", "<adress>")]
    assert "did you mean <address>?" in findings[1].message


def test_responses_are_matched_by_local_name_against_an_unqualified_bundle(linter):
    data = response_xml("GetUser", "<use:firstName>A</use:firstName><use:webExId>a</use:webExId>",
                        prefix="use", area="user")
    findings = schema_findings(linter, data)
    # The bundle orders result, reason, gsbStatus, exceptionID; the envelope and body are fine.
    assert findings == []


def test_operations_the_bundle_lacks_get_the_envelope_checked_only(linter):
    data = request_xml("CreateMeeting", "<anything/>", package="meeting", security=ordered_security("webExID"))
    assert schema_findings(linter, data) == []


# -- bad bundles: the error names the file and the problem ------------------------------------------

def test_a_missing_directory_is_named():
    with pytest.raises(SchemaLoadError, match="nowhere: schema directory not found"):
        SchemaValidator(schema_dir="/nowhere").load()


def test_a_directory_without_the_envelope_schema_says_what_is_expected(tmp_path):
    (tmp_path / "user.xsd").write_text((BUNDLE / "common.xsd").read_text())
    with pytest.raises(SchemaLoadError, match=r"expected service\.xsd next to common\.xsd"):
        SchemaValidator(schema_dir=str(tmp_path)).load()


def test_a_directory_without_schemas_is_named(tmp_path):
    with pytest.raises(SchemaLoadError, match=f"{tmp_path}: no .xsd files"):
        bundle_for(tmp_path).load()


def test_a_malformed_schema_file_is_named_with_its_line(tmp_path):
    (tmp_path / "service.xsd").write_text('<?xml version="1.0"?>\n<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">\n<oops>\n')
    with pytest.raises(SchemaLoadError, match=r"service\.xsd: .*line 4"):
        SchemaValidator(schema_dir=str(tmp_path)).load()


def test_an_unresolvable_type_is_named_with_its_file(tmp_path):
    for name in ("service.xsd", "common.xsd"):
        (tmp_path / name).write_text((BUNDLE / name).read_text())
    (tmp_path / "user.xsd").write_text(
        '<xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:use="http://www.webex.com/schemas/2002/06/service/user" '
        'targetNamespace="http://www.webex.com/schemas/2002/06/service/user">'
        '<xsd:element name="x" type="use:missingType"/></xsd:schema>')
    with pytest.raises(SchemaLoadError, match=r"user\.xsd: unknown type 'use:missingType'"):
        SchemaValidator(schema_dir=str(tmp_path)).load()


def test_a_bundle_that_imports_from_the_network_is_refused(tmp_path):
    (tmp_path / "service.xsd").write_text((BUNDLE / "service.xsd").read_text().replace(
        'targetNamespace="http://www.webex.com/schemas/2002/06/service">',
        'targetNamespace="http://www.webex.com/schemas/2002/06/service">'
        '<xsd:import namespace="urn:x" schemaLocation="http://schemas.invalid/x.xsd"/>'))
    with pytest.raises(SchemaLoadError, match="schemas.invalid"):
        SchemaValidator(schema_dir=str(tmp_path)).load()


def test_the_linter_reloads_nothing_when_the_directory_is_the_same(linter):
    data = request_xml("GetUser", "<webExId>a</webExId>", security=ordered_security("webExID"))
    schema_findings(linter, data)
    first = linter._schema_validator(OFFICIAL).bundle
    schema_findings(linter, data)
    assert linter._schema_validator(OFFICIAL).bundle is first is bundle_for(BUNDLE)


def test_the_w3c_xml_namespace_schema_is_served_locally(tmp_path):
    """Bundles often import xml.xsd (xml:lang) by its http address: no network, libxml2 still works."""
    for path in BUNDLE.glob("*.xsd"):
        (tmp_path / path.name).write_text(path.read_text())
    service = tmp_path / "service.xsd"
    service.write_text(service.read_text().replace(
        'targetNamespace="http://www.webex.com/schemas/2002/06/service">',
        'targetNamespace="http://www.webex.com/schemas/2002/06/service">'
        '<xsd:import namespace="http://www.w3.org/XML/1998/namespace" '
        'schemaLocation="http://www.w3.org/2001/xml.xsd"/>'))
    bundle = SchemaValidator(schema_dir=str(tmp_path)).bundle
    assert bundle.lxml is not None and bundle.lxml_problem is None
