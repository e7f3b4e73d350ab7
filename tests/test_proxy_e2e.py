"""End to end: the real mitmdump with the addon, real HTTP and HTTPS on 127.0.0.1, the simulator upstream.

Every test starts its own processes on free ports and always stops them. The simulator records the
exact bytes it receives, so passthrough and rewrites are checked on what really went upstream.
"""

from __future__ import annotations

import http.client
import re
import subprocess
import sys
from collections.abc import Iterator

import pytest
import requests

from proxy_addon.simulator.server import SERVICE_PATH, WebexSimulator
from tests.builders import request_xml
from tests.proxy_support import (
    MITMDUMP,
    REPO,
    free_port,
    make_server_context,
)
from tests.processes import stop_process

pytestmark = pytest.mark.e2e
PASSWORD = "Tr0ub4dor-e2e-secret"
ACCESS_TOKEN = "YWM3MTBlN2QtMDNlZi00NThiLWJhYTItE2E"
ACME = f"<siteName>acme</siteName><webExID>admin@acme.com</webExID><password>{PASSWORD}</password>"

# Messages as real clients send them: Latin-1 with CRLF, an undeclared prefix, a deprecated siteID.
LATIN1_SET_USER = (
    '<?xml version="1.0" encoding="ISO-8859-1"?>\r\n'
    '<serv:message xmlns:serv="http://www.webex.com/schemas/2002/06/service" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\r\n'
    f"<header><securityContext><siteName>acme</siteName><webExID>admin@acme.com</webExID>"
    f"<password>{PASSWORD}</password></securityContext></header>\r\n"
    '<body><bodyContent xsi:type="java:com.webex.service.binding.user.SetUser">\r\n'
    "\t<webExId>jérôme@acme.com</webExId>\r\n\t<firstName>Jérôme</firstName>\r\n\t<email>jerome@old.example</email>\r\n"
    "</bodyContent></body>\r\n</serv:message>   \r\n"
).encode("iso-8859-1")
UNDECLARED_PREFIX = (
    b'<serv:message xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
    b"<header><securityContext><siteID>5941234567</siteID><webExID>admin</webExID>"
    b"<password>" + PASSWORD.encode() + b"</password></securityContext></header>"
    b'<body><bodyContent xsi:type="java:com.webex.service.binding.meeting.CreateMeeting">'
    b"<metaData><confName>Standup</confName></metaData>"
    b"<enableOptions><HQvideo>true</HQvideo><HDvideo>true</HDvideo></enableOptions>"
    b"</bodyContent></body></serv:message>"
)
GET_SITE_TYPE = request_xml("GetSiteType", package="ep", security="<siteName>acme</siteName>")
CREATE_USER = request_xml("CreateUser", "<firstName>Jane</firstName><webExId>jane@acme.com</webExId>", security=ACME)
AUTHENTICATE = request_xml("AuthenticateUser", f"<accessToken>{ACCESS_TOKEN}</accessToken>", security=ACME)


def learned_at(fact: str, note: str) -> bool:
    """A learned note is the fact and when the answer that taught it came."""
    return re.fullmatch(re.escape(fact) + r" at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", note) is not None


@pytest.fixture
def simulator() -> Iterator[WebexSimulator]:
    with WebexSimulator(ci_sites=["acme"], record=True) as sim:
        yield sim


def post_all(port: int, bodies: list[bytes], *, chunked_last: bool = False) -> list[bytes]:
    """POST each body on ONE kept-alive connection (the last one chunked, if asked); checks reuse."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    answers, sockets = [], []
    try:
        for index, body in enumerate(bodies):
            if chunked_last and index == len(bodies) - 1:
                conn.request("POST", SERVICE_PATH, body=iter([body[:5], body[5:64], body[64:]]), encode_chunked=True,
                             headers={"Content-Type": "text/xml", "Transfer-Encoding": "chunked"})
            else:
                conn.request("POST", SERVICE_PATH, body=body, headers={"Content-Type": "text/xml"})
            response = conn.getresponse()
            assert response.status == 200
            answers.append(response.read())
            sockets.append(conn.sock)
    finally:
        conn.close()
    assert len(set(map(id, sockets))) == 1 and sockets[0] is not None  # keep-alive held
    return answers


def test_reverse_mode_passthrough_is_byte_identical_and_both_directions_are_linted(simulator, start_proxy):
    proxy = start_proxy(mode=f"reverse:{simulator.base_url}")
    bodies = [LATIN1_SET_USER, UNDECLARED_PREFIX, GET_SITE_TYPE, LATIN1_SET_USER, CREATE_USER, AUTHENTICATE]
    answers = post_all(proxy.port, bodies, chunked_last=True)
    assert [r.body for r in simulator.received] == bodies  # exactly the client's bytes, chunked one too
    assert simulator.received[-1].header("Transfer-Encoding") == "chunked"
    assert len({r.connection for r in simulator.received}) == 1  # upstream connection kept alive too
    assert b"<ep:siteType>1</ep:siteType>" in answers[2] and b"030098" in answers[4]

    findings = proxy.wait_for("finding")
    assert len(findings) == 9  # WX601 once: the CreateMeeting
    by_flow: dict[str, list[tuple[str, str]]] = {}
    for event in findings:
        by_flow.setdefault(event["flow_id"], []).append((event["direction"], event["rule"]))
    per_request = list(by_flow.values())
    assert ("request", "WX101") in per_request[0] and ("request", "WX301") in per_request[0]
    # Before GetSiteType, acme is not known to be CI: the first SetUser has no finding at all.
    [learned] = proxy.events("learned")
    assert learned_at("site acme learned as CI from GetSiteType (siteType 1)", learned["note"])
    set_user_after = [e for e in findings if e["operation"] == "SetUser"]
    assert [(e["rule"], e["notes"]) for e in set_user_after] == [("WX201", [learned["note"]])]
    create_user = [e for e in findings if e["operation"] == "CreateUser"]
    assert [(e["direction"], e["rule"]) for e in create_user] == [("request", "WX202"), ("response", "WX501")]
    assert "030098 — predicted by WX202 on this request" in create_user[1]["notes"]
    assert all(e["client"].startswith("127.0.0.1:") for e in findings)
    log_text = proxy.log.read_text(encoding="utf-8")
    for secret in (PASSWORD, ACCESS_TOKEN):
        assert secret not in log_text
    ticket = answers[5].split(b"<use:sessionTicket>")[1].split(b"<")[0].decode()
    assert ticket and ticket not in log_text


def test_wx601_in_the_console_once_per_client_and_operation_in_the_store_per_message(simulator, start_proxy,
                                                                                     tmp_path):
    from proxy_addon.audit.store import open_store

    store = tmp_path / "audit.sqlite"
    proxy = start_proxy("--db", str(store), mode=f"reverse:{simulator.base_url}")
    meeting = request_xml("CreateMeeting", "<metaData><confName>Standup</confName></metaData>", package="meeting",
                          security=ACME)
    listing = request_xml("LstsummaryMeeting", package="meeting", security=ACME)
    other_user = request_xml("CreateMeeting", "<metaData><confName>1:1</confName></metaData>", package="meeting",
                             security=ACME.replace("admin@acme.com", "host@acme.com"))
    post_all(proxy.port, [meeting, meeting, listing, meeting, listing, other_user, CREATE_USER])
    assert len(simulator.received) == 7

    findings = [e for e in proxy.wait_for("finding") if e["rule"] == "WX601"]
    assert [(e["operation"], e["webex_id"], e.get("once_per_client")) for e in findings] == [
        ("CreateMeeting", "admin@acme.com", True), ("LstsummaryMeeting", "admin@acme.com", True),
        ("CreateMeeting", "host@acme.com", True)]
    assert "suggested: Meetings: Create a Meeting" in findings[0]["message"]
    stop_process(proxy.process)  # the store is written on shutdown at the latest
    with open_store(str(store)) as opened:
        rows = opened.backend.query(
            "SELECT m.operation, COUNT(*) FROM findings f JOIN messages m ON m.key = f.message_key "
            "WHERE f.rule = 'WX601' GROUP BY m.operation ORDER BY m.operation")
        auth = opened.backend.query("SELECT DISTINCT auth FROM messages WHERE direction = 'request'")
    assert rows == [("CreateMeeting", 4), ("LstsummaryMeeting", 2)]  # every message in the store
    assert auth == [("password",)]


def test_regular_mode_https_with_the_client_trusting_the_mitmproxy_ca(confdir, start_proxy):
    server_context, ca_file = make_server_context(confdir)
    with WebexSimulator(ci_sites=["acme"], ssl_context=server_context, record=True) as upstream:
        proxy = start_proxy()
        session = requests.Session()
        session.trust_env = False  # no NO_PROXY surprises: always through the proxy
        session.proxies = {"https": proxy.url, "http": proxy.url}
        session.verify = str(ca_file)
        url = f"https://127.0.0.1:{upstream.port}{SERVICE_PATH}"
        first = session.post(url, data=UNDECLARED_PREFIX, headers={"Content-Type": "text/xml"}, timeout=30)
        second = session.post(url, data=iter([CREATE_USER[:40], CREATE_USER[40:]]),
                              headers={"Content-Type": "text/xml"}, timeout=30)  # chunked
        assert first.status_code == second.status_code == 200
        assert [r.body for r in upstream.received] == [UNDECLARED_PREFIX, CREATE_USER]
        assert len({r.connection for r in upstream.received}) == 1
        rules = sorted((e["operation"], e["direction"], e["rule"]) for e in proxy.wait_for("finding"))
        assert rules == [("CreateMeeting", "request", rule)
                         for rule in ("WX002", "WX101", "WX301", "WX301", "WX601")] + \
            [("CreateUser", "response", "WX501")]
        [learned] = proxy.events("learned")
        assert learned_at("site acme learned as CI from a 030098 failure", learned["note"])


def test_rewrite_sends_the_fixed_message_upstream(simulator, start_proxy):
    proxy = start_proxy("--rewrite", "--site-id", "5941234567=acme", "--ci-site", "acme",
                        mode=f"reverse:{simulator.base_url}")
    post_all(proxy.port, [UNDECLARED_PREFIX, LATIN1_SET_USER], chunked_last=True)
    meeting, set_user = (r.body for r in simulator.received)
    assert meeting == (UNDECLARED_PREFIX.replace(b"<siteID>5941234567</siteID>", b"<siteName>acme</siteName>")
                       .replace(b"<HQvideo>true</HQvideo>", b"").replace(b"<HDvideo>true</HDvideo>", b""))
    assert set_user == LATIN1_SET_USER.replace(b"\t<email>jerome@old.example</email>\r\n", b"")
    assert set_user.startswith(b'<?xml version="1.0" encoding="ISO-8859-1"?>') and "jérôme".encode("latin-1") in set_user
    rewrites = proxy.wait_for("rewrite")
    assert [e["changes"] for e in rewrites] == [
        ["WX101: replace <siteID> with <siteName>acme</siteName>", "WX301: remove <HQvideo>", "WX301: remove <HDvideo>"],
        ["WX201: remove <email>"],
    ]


def test_fail_open_an_addon_error_leaves_traffic_untouched(simulator, start_proxy):
    """Loaded directly with mitmdump -s; a fault injected in every request lint, rewriting on."""
    proxy = start_proxy("--set", "webexlint_rewrite=true", env={"WEBEXLINT_TEST_FAULT": "lint-request"},
                        direct=True, mode=f"reverse:{simulator.base_url}")
    answers = post_all(proxy.port, [UNDECLARED_PREFIX, CREATE_USER], chunked_last=True)
    assert [r.body for r in simulator.received] == [UNDECLARED_PREFIX, CREATE_USER]
    assert b"030098" in answers[1]
    errors = proxy.wait_for("internal_error")  # the sentinel is never linted: no fault of its own
    assert [e["where"] for e in errors] == ["WebexLint.request"] * 2
    assert "fault injected" in errors[0]["error"]
    # Responses are still linted (by content) and the proxy keeps serving.
    assert [e["rule"] for e in proxy.events("finding")] == ["WX501"]


def test_a_bad_option_is_a_clear_startup_error(tmp_path):
    result = subprocess.run([sys.executable, "-m", "proxy_addon.cli", "proxy", "--listen-port", str(free_port()),
                             "--site-id", "not-a-pair"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "--site-id 'not-a-pair': expected ID=NAME" in result.stderr
    direct = subprocess.run([str(MITMDUMP), "-q", "--listen-port", str(free_port()), "-s",
                             str(REPO / "proxy_addon" / "addon.py"), "--set", "webexlint_api_version=banana",
                             "--set", f"confdir={tmp_path}"], capture_output=True, text=True, timeout=60)
    assert direct.returncode != 0
    assert "webexlint_api_version: not an XML API version: 'banana'" in direct.stdout + direct.stderr
    missing = subprocess.run([sys.executable, "-m", "proxy_addon.cli", "proxy", "--listen-port", str(free_port()),
                              "--schema-dir", str(tmp_path / "no-such-bundle")],
                             cwd=REPO, capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2
    assert f"--schema-dir: {tmp_path / 'no-such-bundle'}: schema directory not found" in missing.stderr
