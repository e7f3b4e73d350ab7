"""The mitmproxy addon, driven through mitmproxy's own test helpers (taddons, tflow)."""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

import pytest
from mitmproxy import contentviews, exceptions
from mitmproxy.test import taddons, tflow, tutils

from proxy_addon.exchange.observed import format_time
from proxy_addon.mitm.flows import ERROR_MARK, METADATA_KEY, WARNING_MARK
from tests.builders import request_xml, response_xml
from tests.proxy_support import PATH

REPO = Path(__file__).resolve().parent.parent
PASSWORD = "Pa55-word-never-logged"
TICKET = "AAABTVl7rcMAAUijMSZHsecretticket"
ACME = f"<siteName>acme</siteName><webExID>admin@acme.com</webExID><password>{PASSWORD}</password>"


@pytest.fixture
def proxy(addon_harness):
    return addon_harness


def create_user(site_security: str = ACME) -> bytes:
    return request_xml("CreateUser", "<firstName>Jane</firstName><webExId>jane@acme.com</webExId>",
                       security=site_security)


FAILURE_030098 = response_xml(None, result="FAILURE", reason="User management is not allowed on unified site",
                              exception_id="030098", prefix="use", area="user")


# -- options ---------------------------------------------------------------------------------------

def test_options_are_declared_with_help(proxy):
    options = proxy.tctx.options
    for name in ("webexlint_rewrite", "webexlint_rewrite_unsafe", "webexlint_findings_log", "webexlint_ci_site",
                 "webexlint_api_version", "webexlint_site_id", "webexlint_validate", "webexlint_schema_dir",
                 "webexlint_db", "webexlint_offload"):
        assert name in options
        assert len(options._options[name].help) > 30
    assert options.webexlint_rewrite is False and options.webexlint_findings_log


@pytest.mark.parametrize("option,value,complaint", [
    ("webexlint_api_version", "banana", "not an XML API version"),
    ("webexlint_site_id", ["5941234567"], "expected ID=NAME"),
    ("webexlint_ci_site", [" "], "empty site name"),
    ("webexlint_findings_log", "/nonexistent-folder/findings.jsonl", "cannot open"),
    ("webexlint_schema_dir", "/nonexistent-schemas", "webexlint_schema_dir: .*nonexistent-schemas: schema directory not found"),
])
def test_bad_option_values_are_rejected_in_configure(proxy, option, value, complaint):
    with pytest.raises(exceptions.OptionsError, match=complaint):
        proxy.tctx.options.update(**{option: value})


def test_a_broken_schema_bundle_is_rejected_before_any_traffic(proxy, tmp_path):
    (tmp_path / "service.xsd").write_text("<xs:schema xmlns:xs='http://www.w3.org/2001/XMLSchema'>\n<xs:element",
                                          encoding="utf-8")
    with pytest.raises(exceptions.OptionsError, match=r"webexlint_schema_dir: .*service\.xsd: .*line"):
        proxy.set(webexlint_schema_dir=str(tmp_path))


def test_validation_findings_come_from_the_bundle(proxy):
    proxy.set(webexlint_validate=True)
    misspelled = "<siteName>acme</siteName><webExId>admin@acme.com</webExId><password>pw-1-never</password>"
    flow = proxy.request(request_xml("GetUser", "<webExId>jane@acme.com</webExId>", security=misspelled))
    assert [(f["rule"], f["line"]) for f in proxy.findings(flow)] == [("WX008", 4)]
    proxy.set(webexlint_validate=False)
    assert proxy.findings(proxy.request(request_xml("GetUser", security=misspelled))) == []


def test_db_option_without_the_store_module_is_a_clear_error(proxy, monkeypatch):
    monkeypatch.setitem(sys.modules, "proxy_addon.audit.store", None)  # an import of it now fails
    with pytest.raises(exceptions.OptionsError, match="audit store"):
        proxy.set(webexlint_db=str(proxy.log_path.parent / "audit.sqlite"))


# -- linting both directions -----------------------------------------------------------------------

def test_request_findings_are_logged_one_json_line_each(proxy):
    proxy.set(webexlint_ci_site=["acme"])
    body = request_xml("SetUser", "<webExId>jane@acme.com</webExId>\n<email>j@x.com</email>\n<timeZoneID>4</timeZoneID>",
                       security=ACME)
    flow = proxy.request(body)
    findings = proxy.findings(flow)
    assert [f["rule"] for f in findings] == ["WX201", "WX201"]
    first = findings[0]
    for key in ("time", "flow_id", "client", "site", "webex_id", "operation", "direction", "rule", "severity", "message"):
        assert first[key], key
    assert (first["site"], first["webex_id"], first["operation"], first["direction"]) == \
        ("acme", "admin@acme.com", "SetUser", "request")
    assert first["client"] == "127.0.0.1:22"
    assert flow.marked == WARNING_MARK
    assert flow.comment.startswith("SetUser: request WX201(warning)")
    assert [f["rule"] for f in flow.metadata[METADATA_KEY]["request"]] == ["WX201", "WX201"]


def test_flows_that_are_not_webex_xml_are_left_alone(proxy):
    flow = proxy.request(b'{"hello": "world"}', path="/api/v1/things", headers={"content_type": "application/json"})
    proxy.respond(flow, b"<html><body>ok</body></html>")
    assert proxy.events() == []
    assert METADATA_KEY not in flow.metadata and not flow.marked and not flow.comment


def test_a_clean_webex_flow_is_commented_with_its_operation_only(proxy):
    """mitmweb's flow list shows one path for every Webex call: the comment names the operation, for
    clean calls too (issue 23); a clean flow gets no mark and no findings summary."""
    flow = proxy.exchange(request_xml("GetUser", "<webExId>jane@acme.com</webExId>"),
                          response_xml("GetUser", prefix="use", area="user"))
    assert proxy.findings(flow) == []
    assert flow.comment == "GetUser" and not flow.marked and METADATA_KEY not in flow.metadata


def test_a_comment_the_user_wrote_is_never_replaced(proxy):
    flow = proxy.request(request_xml("GetUser", "<webExId>jane@acme.com</webExId>"))
    assert flow.comment == "GetUser"
    flow.comment = "ask Jane"  # in mitmweb, while the call is on its way
    proxy.respond(flow, response_xml(None, result="FAILURE", reason="Something else", exception_id="000001"))
    assert flow.marked == WARNING_MARK and METADATA_KEY in flow.metadata  # the answer's WX501 was annotated
    assert flow.comment == "ask Jane"


def test_serv_messages_are_recognised_by_content_on_any_path(proxy):
    flow = proxy.request(request_xml("GetUser", security="<siteID>5941234567</siteID><webExID>a</webExID>"),
                         path="/custom/gateway")
    assert [f["rule"] for f in proxy.findings(flow)] == ["WX101"]


def test_failure_response_is_tied_to_the_request_finding_that_predicted_it(proxy):
    proxy.set(webexlint_ci_site=["acme"])
    flow = proxy.exchange(create_user(), FAILURE_030098)
    response = [f for f in proxy.findings(flow) if f["direction"] == "response"]
    assert [f["rule"] for f in response] == ["WX501"]
    assert response[0]["operation"] == "CreateUser"  # the bodyContent has no xsi:type: taken from the request
    assert "030098 — predicted by WX202 on this request" in response[0]["notes"]
    assert flow.marked == ERROR_MARK
    assert "FAILURE 030098" in flow.comment


def test_failure_nothing_predicted_says_so(proxy):
    flow = proxy.exchange(request_xml("CreateEvent", "<metaData><confName>x</confName></metaData>", package="event"),
                          response_xml(None, result="FAILURE", reason="Something else", exception_id="000001"))
    [wx501] = [f for f in proxy.findings(flow) if f["rule"] == "WX501"]
    assert "000001 — no finding on this request predicted it" in wx501["notes"]


def test_responses_are_linted_by_content_even_without_a_webex_request(proxy):
    flow = proxy.request(b"ping", path="/health")
    # A failure answer is reported by its content alone (WX503, which this test used, is opt-in
    # since issue 22).
    proxy.respond(flow, response_xml("GetAPIVersion", result="FAILURE", reason="Something else",
                                     exception_id="000001"))
    assert [f["rule"] for f in proxy.findings(flow)] == ["WX501"]


# -- protocol state learned from traffic -----------------------------------------------------------

def test_get_site_type_teaches_ci_and_later_findings_say_so(proxy):
    set_user = request_xml("SetUser", "<webExId>jane@acme.com</webExId><email>j@x.com</email>", security=ACME)
    assert proxy.findings(proxy.request(set_user)) == []  # acme not known to be CI yet
    answered = proxy.exchange(request_xml("GetSiteType", package="ep", security="<siteName>acme</siteName>"),
                              response_xml("GetSiteType", "<ep:siteType>1</ep:siteType>"))
    # The note says when the answer came; the log also says where (which flow).
    note = f"site acme learned as CI from GetSiteType (siteType 1) at {format_time(answered.response.timestamp_start)}"
    [learned] = proxy.events("learned")
    assert learned["note"] == note and learned["learned_from"] == f"{note} (flow {answered.id} at " \
        f"{format_time(answered.response.timestamp_start)})"
    [finding] = proxy.findings(proxy.request(set_user))
    assert finding["rule"] == "WX201"
    assert finding["notes"] == [note]


def test_get_site_type_of_a_standalone_site_overrides_the_configuration(proxy):
    proxy.set(webexlint_ci_site=["acme"])
    proxy.exchange(request_xml("GetSiteType", package="ep", security="<siteName>ACME</siteName>"),
                   response_xml("GetSiteType", "<ep:sitetype>5</ep:sitetype>"))
    assert proxy.findings(proxy.request(create_user())) == []


def test_a_030098_failure_teaches_ci(proxy):
    globex = "<siteName>globex</siteName><webExID>admin@globex.com</webExID><password>x1y2z3w4</password>"
    first = proxy.exchange(create_user(globex), FAILURE_030098)
    assert [f["rule"] for f in proxy.findings(first)] == ["WX501"]
    note = f"site globex learned as CI from a 030098 failure at {format_time(first.response.timestamp_start)}"
    assert proxy.events("learned")[0]["note"] == note
    second = proxy.request(request_xml("DelUser", "<webExId>jane@globex.com</webExId>", security=globex))
    [finding] = proxy.findings(second)
    assert (finding["rule"], finding["notes"]) == ("WX202", [note])


def test_get_api_version_sets_the_sites_version(proxy):
    description = "<metaData><confName>Town hall</confName><description>" + "d" * 1500 + "</description></metaData>"
    event = request_xml("CreateEvent", description, package="event", security=ACME)
    # 1500 characters are fine at 39.11; WX601 (deprecated CreateEvent) is logged once for this client
    assert [f["rule"] for f in proxy.findings(proxy.request(event))] == ["WX601"]
    answered = proxy.exchange(request_xml("GetAPIVersion", package="ep", security=ACME),
                              response_xml("GetAPIVersion", "<ep:apiVersion>WebEx XML API V11.0.0</ep:apiVersion>"
                                                            "<ep:apiVer>39.3.0</ep:apiVer>"))
    [finding] = proxy.findings(proxy.request(event))  # no second WX601: once per client and operation
    assert finding["rule"] == "WX401" and "1024" in finding["message"]
    assert finding["notes"] == ["site acme learned as API 39.3.0 from GetAPIVersion (apiVer) at "
                                f"{format_time(answered.response.timestamp_start)}"]


# -- rewriting -------------------------------------------------------------------------------------

MEETING = (
    '<?xml version="1.0" encoding="ISO-8859-1"?>\r\n'
    '<serv:message xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xmlns:serv="http://www.webex.com/schemas/2002/06/service">\r\n'
    "<header><securityContext><webExID>hôte</webExID><password>" + PASSWORD + "</password>"
    "<siteID>5941234567</siteID></securityContext></header>\r\n"
    '<body><bodyContent xsi:type="java:com.webex.service.binding.meeting.CreateMeeting">\r\n'
    "  <metaData><confName>Réunion</confName></metaData>\r\n"
    "  <enableOptions>\r\n    <HQvideo>true</HQvideo>\r\n    <HDvideo>true</HDvideo>\r\n    <chat>true</chat>\r\n"
    "  </enableOptions>\r\n</bodyContent></body>\r\n</serv:message>\r\n"
).encode("iso-8859-1")


LATIN1 = {"content_type": "text/xml; charset=ISO-8859-1"}


def test_without_rewrite_the_body_is_never_reassigned(proxy):
    flow = proxy.request(MEETING, headers=LATIN1)
    assert flow.request.raw_content is MEETING  # not even an equal copy: untouched
    assert {f["rule"] for f in proxy.findings(flow)} == {"WX101", "WX301", "WX601"}
    assert proxy.events("rewrite") == []


def test_rewrite_applies_safe_fixes_keeping_encoding_and_declaration(proxy):
    proxy.set(webexlint_rewrite=True, webexlint_site_id=["5941234567=acme"])
    flow = proxy.request(MEETING, headers=LATIN1)
    sent = flow.request.raw_content
    assert sent.startswith(b'<?xml version="1.0" encoding="ISO-8859-1"?>\r\n')
    text = sent.decode("iso-8859-1")
    assert "<siteName>acme</siteName>" in text and "siteID" not in text
    assert "HQvideo" not in text and "HDvideo" not in text and "<chat>true</chat>" in text
    assert "hôte" in text and "Réunion" in text
    assert flow.request.headers["content-length"] == str(len(sent))
    [rewrite] = proxy.events("rewrite")
    assert rewrite["changes"] == ["WX101: replace <siteID> with <siteName>acme</siteName>",
                                  "WX301: remove <HQvideo>", "WX301: remove <HDvideo>"]
    assert "rewritten: WX101, WX301×2" in flow.comment  # each rule once, with a count


def test_rewrite_drops_ci_ignored_set_user_fields(proxy):
    proxy.set(webexlint_rewrite=True, webexlint_ci_site=["acme"])
    body = request_xml("SetUser", "<webExId>jane@acme.com</webExId>\n<firstName>Jane</firstName>\n<email>j@x.com</email>",
                       security=ACME)
    flow = proxy.request(body)
    assert flow.request.raw_content == body.replace(b"<email>j@x.com</email>\n", b"")


def test_unsafe_truncation_needs_rewrite_unsafe(proxy):
    body = request_xml("CreateEvent", "<metaData><confName>x</confName><description>" + "d" * 2600 +
                       "</description></metaData>", package="event", security=ACME)
    proxy.set(webexlint_rewrite=True)
    assert proxy.request(body).request.raw_content == body
    proxy.set(webexlint_rewrite_unsafe=True)
    sent = proxy.request(body).request.raw_content
    assert b"d" * 2500 + b"</description>" in sent and b"d" * 2501 not in sent


def test_rewrite_of_a_gzip_body_stays_gzip(proxy):
    proxy.set(webexlint_rewrite=True)
    plain = request_xml("GetUser", security="<siteName>acme</siteName><siteID>1</siteID><webExID>a</webExID>")
    flow = proxy.request(gzip.compress(plain), headers={"content_type": "text/xml", "content_encoding": "gzip"})
    assert gzip.decompress(flow.request.raw_content) == plain.replace(b"<siteID>1</siteID>", b"")


# -- failing open ----------------------------------------------------------------------------------

def test_an_internal_error_is_logged_and_the_flow_passes_untouched(proxy, monkeypatch):
    proxy.set(webexlint_rewrite=True)

    def broken(*args, **kwargs):
        raise RuntimeError(f"boom near <password>{PASSWORD}</password>")

    monkeypatch.setattr(proxy.session.ensure_backend().pipeline.exchanges.linter, "lint", broken)
    flow = proxy.request(MEETING, headers=LATIN1)
    proxy.respond(flow, FAILURE_030098)
    assert flow.request.raw_content is MEETING
    errors = proxy.events("internal_error")
    assert [e["where"] for e in errors] == ["WebexLint.request", "WebexLint.response"]
    assert PASSWORD not in proxy.log_path.read_text()


def test_a_fault_during_rewrite_leaves_the_body_as_sent(proxy):
    proxy.session.update(fault="rewrite")
    proxy.set(webexlint_rewrite=True, webexlint_site_id=["5941234567=acme"])
    flow = proxy.request(MEETING, headers=LATIN1)
    assert flow.request.raw_content is MEETING
    assert [e["where"] for e in proxy.events("internal_error")] == ["Rewrite.request"]


# -- secrets ---------------------------------------------------------------------------------------

def test_no_secret_reaches_the_findings_log(proxy):
    auth = request_xml("AuthenticateUser", f"<accessToken>tok-{TICKET}</accessToken>", security=ACME)
    proxy.exchange(auth, response_xml("AuthenticateUser", f"<use:sessionTicket>{TICKET}</use:sessionTicket>",
                                      prefix="use", area="user"))
    proxy.set(webexlint_rewrite=True)
    proxy.request(MEETING, headers=LATIN1)
    log = proxy.log_path.read_text()
    assert proxy.findings() and proxy.events("rewrite")
    for secret in (PASSWORD, TICKET):
        assert secret not in log


# -- contentview and script loading ----------------------------------------------------------------

def test_contentview_wins_for_serv_messages_and_shows_findings(proxy):
    proxy.set(webexlint_ci_site=["acme"])
    flow = proxy.exchange(create_user(), FAILURE_030098)
    result = contentviews.prettify_message(flow.request, flow)
    assert result.view_name == "Webex XML"
    lines = result.text.splitlines()
    assert lines[0] == "<!-- Webex XML API: CreateUser request (site acme) -->"
    assert lines[1].startswith("<!-- WX202 error (line 7): CreateUser on a CI site")
    assert "  <header>" in result.text
    response_view = contentviews.prettify_message(flow.response, flow)
    assert "030098 — predicted by WX202 on this request" in response_view.text
    other = tflow.tflow(resp=True)
    other.response.content = b"<html><p>hi</p></html>"
    other.response.headers["content-type"] = "text/html"
    assert contentviews.prettify_message(other.response, other).view_name != "Webex XML"


def test_contentview_lints_flows_the_addon_did_not_see():
    flow = tflow.tflow(req=tutils.treq(method=b"POST", path=PATH.encode(),
                                       content=request_xml("GetUser", security="<siteID>1</siteID>")))
    text = contentviews.prettify_message(flow.request, flow).text
    assert text.splitlines()[0] == "<!-- Webex XML API: GetUser request -->"
    assert "WX101 warning" in text


def test_addon_file_loads_as_a_mitmproxy_script():
    with taddons.context() as tctx:
        script = tctx.script(str(REPO / "proxy_addon" / "addon.py"))
        assert script.__name__ == "__mitmproxy_script__.addon"  # loaded by path, not as a package module
        assert [type(a).__name__ for a in script.addons] == ["LintWorker", "LintOptions", "FindingsLog", "AuditStore",
                                                             "WebexLint", "Rewrite", "FlowAnnotations",
                                                             "SavedFlowFindings"]
        assert "webexlint_rewrite" in tctx.options


# -- audit store hook ------------------------------------------------------------------------------

def test_every_message_is_recorded_in_the_audit_store(proxy, tmp_path):
    from proxy_addon.audit.store import open_store  # noqa: PLC0415

    db = tmp_path / "audit.sqlite"
    proxy.set(webexlint_db=str(db), webexlint_ci_site=["acme"])
    proxy.exchange(create_user(), FAILURE_030098)
    globex = "<siteName>globex</siteName><webExID>admin@globex.com</webExID><password>x1y2z3w4</password>"
    proxy.exchange(create_user(globex), FAILURE_030098)
    proxy.set(webexlint_db="")  # closes the store after draining its queue
    with open_store(str(db)) as store:
        summary = store.summary()
        assert (summary["requests"], summary["responses"], summary["findings"]) == (2, 2, 3)
        assert {b.key: b.total for b in store.breakdown("rule")} == {"WX501": 2, "WX202": 1}
        assert set(store.ci_ignored_fields()) == {"acme", "globex"}  # configured, and learned from 030098
    assert PASSWORD.encode() not in db.read_bytes()


def test_a_control_hub_site_option_reaches_the_rules(proxy):
    """webexlint_control_hub_site is the proxy's side of control-hub-sites (WX203, issue 22 item 12)."""
    body = (REPO / "tests" / "rules" / "WX203" / "bad-create-user-password-active.xml").read_bytes()
    assert "WX203" not in [f["rule"] for f in proxy.findings(proxy.request(body))]
    proxy.set(webexlint_control_hub_site=["acme"])
    assert [f["rule"] for f in proxy.findings(proxy.request(body)) if f["rule"] == "WX203"] == ["WX203", "WX203"]
