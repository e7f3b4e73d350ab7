"""Fixes change only what they fix: encoding, declaration and untouched bytes stay as they were."""

from __future__ import annotations

from proxy_addon.core.fixes import apply_fixes
from proxy_addon.lint.context import LintContext

from .builders import CI, request_xml, rules_of

HQ_HD = "<enableOptions>\n  <chat>true</chat>\n  <HQvideo>true</HQvideo>\n  <HDvideo>true</HDvideo>\n</enableOptions>"


def test_removing_hq_hd_keeps_every_other_byte(linter):
    raw = request_xml("CreateMeeting", HQ_HD, package="meeting")
    outcome = apply_fixes(linter.lint(raw))
    assert [f.rule for f in outcome.applied] == ["WX301", "WX301"]
    expected = raw.replace(b"  <HQvideo>true</HQvideo>\n", b"").replace(b"  <HDvideo>true</HDvideo>\n", b"")
    assert outcome.data == expected
    assert rules_of(linter.lint(outcome.data)) == ["WX601"]  # not fixable: the operation itself is deprecated


def test_fix_keeps_latin1_encoding_and_declaration(linter):
    body = "<webExId>jörg@acme.com</webExId>\n<firstName>Jörg</firstName>\n<timeZoneID>4</timeZoneID>"
    raw = request_xml("SetUser", body, encoding="ISO-8859-1")
    outcome = apply_fixes(linter.lint(raw, context=CI))
    assert outcome.data.startswith(b'<?xml version="1.0" encoding="ISO-8859-1"?>')
    assert "Jörg".encode("latin-1") in outcome.data and b"timeZoneID" not in outcome.data
    assert outcome.data == raw.replace(b"<timeZoneID>4</timeZoneID>\n", b"")


def test_site_id_replaced_from_the_map_keeps_prefix_free_layout(linter):
    security = "<webExID>admin</webExID><password>pw12345</password><siteID>5941234567</siteID>"
    raw = request_xml("GetUser", security=security)
    outcome = apply_fixes(linter.lint(raw, context=LintContext(site_ids={"5941234567": "acme"})))
    assert outcome.data == raw.replace(b"<siteID>5941234567</siteID>", b"<siteName>acme</siteName>")


def test_unsafe_truncation_only_when_asked(linter):
    body = f"<metaData><sessionName>s</sessionName><description>{'a&amp;b' * 1000}</description></metaData>"
    raw = request_xml("CreateEvent", body, package="event")
    result = linter.lint(raw)
    assert not apply_fixes(result).changed
    outcome = apply_fixes(result, unsafe=True)
    assert outcome.changed
    fixed = linter.lint(outcome.data)
    assert rules_of(fixed) == ["WX601"]  # not fixable: the operation itself is deprecated
    description = fixed.message.body_content.find("metaData/description").text
    assert len(description) == 2500 and description.startswith("a&b")


def test_fixes_are_idempotent_and_nested_fixes_do_not_collide(linter):
    body = "<webExId>j@acme.com</webExId>\n<security><password>x</password></security>\n<email>e@x.y</email>"
    raw = request_xml("SetUser", body)
    once = apply_fixes(linter.lint(raw, context=CI))
    twice = apply_fixes(linter.lint(once.data, context=CI))
    assert once.changed and not twice.changed
    assert twice.data == once.data
    assert b"<security>" not in once.data and b"<email>" not in once.data


def test_one_line_messages_keep_their_shape(linter):
    raw = (b'<?xml version="1.0" encoding="UTF-8"?><serv:message xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
           b"  <header>  <securityContext>  <siteName>acme</siteName>  <siteID>1</siteID>  </securityContext>  </header>"
           b'  <body>  <bodyContent xsi:type="java:com.webex.service.binding.user.GetUser"/>  </body></serv:message>')
    outcome = apply_fixes(linter.lint(raw))
    assert outcome.data == raw.replace(b"  <siteID>1</siteID>", b"")


def test_broken_documents_are_never_fixed(linter):
    raw = request_xml("CreateMeeting", HQ_HD, package="meeting").replace(b"</body>", b"</bod>")
    result = linter.lint(raw)
    assert apply_fixes(result).data == raw
