"""The bundled Webex simulator, over real HTTP on 127.0.0.1: the answers the release notes document."""

from __future__ import annotations

import base64
import http.client
import socket
import time
import ssl
import subprocess
import sys

import pytest
from lxml import etree

from proxy_addon.core.message import build_message, child, text_of
from proxy_addon.core.parsing import parse_document
from proxy_addon.simulator.server import SERVICE_PATH, WebexSimulator
from tests.builders import request_xml
from tests.proxy_support import make_server_context, stop_process

EP = "ep"


@pytest.fixture(scope="module")
def simulator():
    with WebexSimulator(ci_sites=["acme"], record=True) as sim:
        yield sim


def post(sim: WebexSimulator, body: bytes, path: str = SERVICE_PATH) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(sim.host, sim.port, timeout=10)
    try:
        conn.request("POST", path, body=body, headers={"Content-Type": "text/xml"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def answer(sim: WebexSimulator, operation: str, body: str = "", *, package: str = "user", site: str = "acme"):
    security = f"<siteName>{site}</siteName><webExID>admin@{site}.com</webExID><password>pw-123456</password>"
    status, raw = post(sim, request_xml(operation, body, package=package, security=security))
    assert status == 200
    document = parse_document(raw, path="answer")
    assert document.root is not None, raw
    assert not document.findings, document.findings  # well-formed, every prefix declared
    return build_message(document.root, "response"), raw


def test_get_site_type_answers_1_for_ci_sites_and_5_otherwise(simulator):
    message, raw = answer(simulator, "GetSiteType", package=EP)
    assert message.result == "SUCCESS"
    assert message.body_type == "ep:getSiteTypeResponse"
    assert b'xmlns:ep="http://www.webex.com/schemas/2002/06/service/ep"' in raw
    assert text_of(child(message.body_content, "siteType")) == "1"
    other, _ = answer(simulator, "GetSiteType", package=EP, site="initech")
    assert text_of(child(other.body_content, "siteType")) == "5"


def test_get_api_version_answers_api_ver_and_the_deprecated_api_version(simulator):
    message, _ = answer(simulator, "GetAPIVersion", package=EP)
    assert message.operation == "GetAPIVersion"
    assert text_of(child(message.body_content, "apiVer")) == "39.11.0"
    assert text_of(child(message.body_content, "apiVersion")) == "WebEx XML API V11.0.0"


@pytest.mark.parametrize("operation", ["CreateUser", "DelUser", "ActivateUser"])
def test_user_management_on_a_ci_site_fails_with_030098(simulator, operation):
    message, _ = answer(simulator, operation, "<webExId>jane@acme.com</webExId>")
    assert (message.result, message.exception_id) == ("FAILURE", "030098")
    assert message.reason == "User management is not allowed on unified site"
    elsewhere, _ = answer(simulator, operation, "<webExId>jane</webExId>", site="initech")
    assert elsewhere.result == "SUCCESS"
    assert elsewhere.body_type == f"use:{operation[0].lower()}{operation[1:]}Response"


@pytest.mark.parametrize("operation,package", [("CreateEvent", "event"), ("SetEvent", "event"),
                                               ("CreateTrainingSession", "trainingsession"),
                                               ("SetTrainingSession", "trainingsession")])
def test_description_over_2500_characters_fails_with_060067(simulator, operation, package):
    def body(length: int) -> str:
        return f"<metaData><confName>Town hall</confName><description>{'d' * length}</description></metaData>"

    message, _ = answer(simulator, operation, body(2501), package=package)
    assert (message.result, message.exception_id) == ("FAILURE", "060067")
    assert "2500" in message.reason
    ok, _ = answer(simulator, operation, body(2500), package=package)
    assert ok.result == "SUCCESS"


def test_an_older_service_enforces_the_1024_character_description_limit():
    with WebexSimulator(api_version="39.3") as old:
        message, _ = answer(old, "CreateEvent", "<metaData><description>" + "d" * 1025 + "</description></metaData>",
                            package="event")
        assert (message.exception_id, "1024" in message.reason) == ("060067", True)
        version, _ = answer(old, "GetAPIVersion", package=EP)
        assert text_of(child(version.body_content, "apiVer")) == "39.3.0"


@pytest.mark.parametrize("name,fails", [("", True), ("x" * 129, True), ("x" * 128, False), ("Weekly", False)])
def test_conf_name_empty_or_over_128_fails_with_060065(simulator, name, fails):
    message, _ = answer(simulator, "CreateMeeting", f"<metaData><confName>{name}</confName></metaData>",
                        package="meeting")
    assert message.exception_id == ("060065" if fails else None)
    if not fails:
        assert message.body_type == "meet:createMeetingResponse"
        assert text_of(child(message.body_content, "meetingkey")).isdigit()


@pytest.mark.parametrize("end,fails", [("02/01/2020 00:00:00", True), ("01/29/2020 00:00:00", False)])
def test_lst_recording_over_28_days_fails_with_999999(simulator, end, fails):
    scope = f"<createTimeScope><createTimeStart>01/01/2020 00:00:00</createTimeStart><createTimeEnd>{end}</createTimeEnd></createTimeScope>"
    message, _ = answer(simulator, "LstRecording", scope, package="ep")
    assert message.exception_id == ("999999" if fails else None)
    if fails:
        assert message.reason == "Exceeded maximum querying time scope of 28 days"


@pytest.mark.parametrize("end,fails", [("04/02/2020 00:00:00", True), ("03/31/2020 00:00:00", False)])
def test_lst_summary_user_modified_range_over_90_days_fails_with_999999(simulator, end, fails):
    body = f"<modifiedDateStart>01/01/2020 00:00:00</modifiedDateStart><modifiedDateEnd>{end}</modifiedDateEnd>"
    message, _ = answer(simulator, "LstsummaryUser", body)
    assert message.exception_id == ("999999" if fails else None)
    if fails:
        assert message.reason == "Maximum date range is 90 days for modified date query"


def test_pmr_image_over_5_mb_fails_with_010100(simulator):
    big = base64.b64encode(b"\x89PNG" + b"\x00" * (5 * 1024 * 1024 + 10)).decode()
    message, _ = answer(simulator, "UploadPMRImage", f"<imageType>PNG</imageType><imageData>{big}</imageData>")
    assert (message.exception_id, message.reason.startswith("Size of the image")) == ("010100", True)
    small = base64.b64encode(b"\x89PNG" + b"\x00" * 1000).decode()
    ok, _ = answer(simulator, "UploadPMRImage", f"<imageType>PNG</imageType><imageData>{small}</imageData>")
    assert ok.result == "SUCCESS"


def test_authenticate_user_returns_a_deterministic_session_ticket(simulator):
    first, raw_first = answer(simulator, "AuthenticateUser")
    second, raw_second = answer(simulator, "AuthenticateUser")
    assert raw_first == raw_second
    assert len(text_of(child(first.body_content, "sessionTicket"))) == 48
    assert second.body_type == "use:authenticateUserResponse"


def test_responses_lint_as_the_service_would_write_them(simulator, linter):
    """Our own linter reads the simulator's answers: no envelope finding, FAILURE explained."""
    _, ok = answer(simulator, "SetUser", "<webExId>jane@acme.com</webExId>")
    assert linter.lint(ok, direction="response").findings == []
    _, failed = answer(simulator, "CreateUser", "<webExId>jane@acme.com</webExId>")
    findings = linter.lint(failed, direction="response", operation_hint="CreateUser").findings
    assert [f.rule for f in findings] == ["WX501"]
    assert "030098" in findings[0].message


def test_malformed_and_unknown_requests_get_a_failure_envelope(simulator):
    status, raw = post(simulator, b"<serv:message><oops></serv:message>")
    message = build_message(etree.fromstring(raw), "response")
    assert (status, message.result) == (200, "FAILURE")
    status, raw = post(simulator, request_xml("GetUser").replace(b'xsi:type="java:com.webex.service.binding.user.GetUser"', b""))
    assert build_message(etree.fromstring(raw)).reason.startswith("The request's bodyContent has no xsi:type")


def test_http_errors_other_paths_methods_and_missing_length(simulator):
    assert post(simulator, request_xml("GetUser"), path="/other")[0] == 404
    conn = http.client.HTTPConnection(simulator.host, simulator.port, timeout=10)
    conn.request("GET", SERVICE_PATH)
    response = conn.getresponse()
    assert (response.status, response.getheader("Allow")) == (405, "POST")
    response.read()
    conn.close()
    with socket.create_connection((simulator.host, simulator.port), timeout=10) as sock:
        sock.sendall(f"POST {SERVICE_PATH} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        assert sock.recv(100).startswith(b"HTTP/1.1 411")


def test_keep_alive_and_chunked_bodies_are_recorded_exactly():
    body = request_xml("GetUser", "<webExId>jane</webExId>", encoding="ISO-8859-1").replace(b"jane", b"j\xe9r\xf4me")
    with WebexSimulator(record=True) as sim:
        conn = http.client.HTTPConnection(sim.host, sim.port, timeout=10)
        conn.request("POST", SERVICE_PATH, body=body)
        conn.getresponse().read()
        pieces = [body[:7], body[7:100], body[100:]]
        conn.request("POST", SERVICE_PATH, body=iter(pieces), encode_chunked=True,
                     headers={"Transfer-Encoding": "chunked"})
        response = conn.getresponse()
        assert b"SUCCESS" in response.read()
        conn.close()
        first, second = sim.received
        assert first.body == body and second.body == body
        assert second.header("Transfer-Encoding") == "chunked"
        assert first.connection == second.connection  # one kept-alive connection


def test_bad_chunking_is_a_400_not_a_hang(simulator):
    with socket.create_connection((simulator.host, simulator.port), timeout=10) as sock:
        sock.sendall(f"POST {SERVICE_PATH} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n".encode())
        assert sock.recv(100).startswith(b"HTTP/1.1 400")


def test_a_negative_chunk_size_is_a_400_not_a_read_past_the_limit(simulator):
    """int("-1", 16) is -1, and read(-1) reads the whole stream: the 64 MiB cap did not hold (issue 21, item 11)."""
    with socket.create_connection((simulator.host, simulator.port), timeout=10) as sock:
        sock.sendall(f"POST {SERVICE_PATH} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n".encode()
                     + b"x" * 1024)
        assert sock.recv(100).startswith(b"HTTP/1.1 400")


def test_answers_on_a_kept_alive_connection_do_not_wait_for_a_delayed_ack(simulator):
    """Headers and body in two writes waited ~40 ms each for the client's delayed ACK (issue 23, item 8).
    The bound is generous (a tenth of a second for ten answers): what it catches is the stall."""
    conn = http.client.HTTPConnection(simulator.host, simulator.port, timeout=10)
    try:
        conn.request("POST", SERVICE_PATH, body=request_xml("GetUser"))
        conn.getresponse().read()  # the connection is up and warm
        started = time.perf_counter()
        for _ in range(10):
            conn.request("POST", SERVICE_PATH, body=request_xml("GetUser"))
            conn.getresponse().read()
        elapsed = time.perf_counter() - started
    finally:
        conn.close()
    assert elapsed < 0.1, f"10 answers took {elapsed * 1000:.0f} ms"


def test_https_with_a_certificate_for_localhost(tmp_path):
    server_context, ca_file = make_server_context(tmp_path)
    with WebexSimulator(ssl_context=server_context) as sim:
        client_context = ssl.create_default_context(cafile=str(ca_file))
        conn = http.client.HTTPSConnection("localhost", sim.port, context=client_context, timeout=10)
        conn.request("POST", SERVICE_PATH, body=request_xml("GetSiteType", package="ep"))
        assert b"getSiteTypeResponse" in conn.getresponse().read()
        conn.close()


def test_non_loopback_hosts_are_refused():
    with pytest.raises(ValueError, match="loopback"):
        WebexSimulator(host="192.0.2.1")


def test_simulate_command_serves_until_terminated():
    process = subprocess.Popen([sys.executable, "-m", "proxy_addon.cli", "simulate", "--port", "0", "--ci-site", "acme"],
                               stdout=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        assert "CI sites: acme" in line
        url = line.rsplit(" at ", 1)[1].strip()
        port = int(url.split(":")[2].split("/")[0])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("POST", SERVICE_PATH, body=request_xml("CreateUser"))
        assert b"030098" in conn.getresponse().read()
        conn.close()
    finally:
        stop_process(process)
    assert process.returncode == 0


def test_simulate_command_rejects_bad_values():
    result = subprocess.run([sys.executable, "-m", "proxy_addon.cli", "simulate", "--api-version", "banana"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "not an XML API version" in result.stderr


def test_simulate_verbose_says_what_each_exchange_was():
    """`simulate --verbose`, as a user runs it: one line per request naming the operation, the site
    and the answer (never a credential, never the query string), not http.server's bare access line."""
    process = subprocess.Popen([sys.executable, "-m", "proxy_addon.cli", "simulate", "--port", "0", "--ci-site", "acme",
                                "--verbose"], stdout=subprocess.PIPE, text=True)
    try:
        url = process.stdout.readline().rsplit(" at ", 1)[1].strip()
        port = int(url.split(":")[2].split("/")[0])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for operation in ("GetUser", "CreateUser"):
            conn.request("POST", SERVICE_PATH + "?ticket=SessionTicket-Secret", body=request_xml(operation))
            conn.getresponse().read()
        lines = [process.stdout.readline().strip() for _ in range(2)]
        conn.close()
    finally:
        stop_process(process)
    assert lines[0].startswith("simulator: 127.0.0.1:") and lines[0].endswith(
        f"POST {SERVICE_PATH} 200 GetUser site=acme -> SUCCESS"), lines
    assert lines[1].endswith(f"POST {SERVICE_PATH} 200 CreateUser site=acme -> FAILURE 030098"), lines
    assert not any("Secret" in line or "password" in line.lower() or " - - [" in line for line in lines), lines
