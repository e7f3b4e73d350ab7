"""Captures for the audit tests: HAR exports and mitmproxy flow dumps written the way the tools write
them, messages carrying known secrets, and a fresh PostgreSQL database per test."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from .builders import REPO, request_xml, response_xml

URL = "https://acme.webex.com/WBXService/XMLService"
PASSWORD = "Pw-Qz7!horse-battery"
TICKET = "TKT-5f0c2b9e81d74a6c"
ACCESS_TOKEN = "eyJhbGciOiJSUzI1NiJ9.audit-token-7781"
SECRETS = (PASSWORD, TICKET, ACCESS_TOKEN)
DSN_FILE = REPO / ".pytest-services" / "postgres.dsn"


def set_user(site: str = "acme", *, site_id: str | None = None, webex_id: str = "admin@acme.com",
             fields: str = "<email>new@acme.com</email>", encoding: str = "UTF-8") -> bytes:
    """A SetUser request carrying a password (and, with site_id, the deprecated siteID)."""
    identity = f"<siteID>{site_id}</siteID>" if site_id else f"<siteName>{site}</siteName>"
    security = f"{identity}<webExID>{webex_id}</webExID><password>{PASSWORD}</password>"
    return request_xml("SetUser", f"<webExId>jdoe@acme.com</webExId>{fields}", security=security, encoding=encoding)


def get_user_with_ticket() -> bytes:
    security = f"<siteName>acme</siteName><webExID>admin@acme.com</webExID><sessionTicket>{TICKET}</sessionTicket>"
    return request_xml("GetUser", "<webExId>jdoe@acme.com</webExId>", security=security)


def authenticate_with_token() -> bytes:
    security = "<siteName>acme</siteName><webExID>admin@acme.com</webExID>"
    return request_xml("AuthenticateUser", f"<accessToken>{ACCESS_TOKEN}</accessToken>", security=security)


def untyped_response(result: str = "FAILURE") -> bytes:
    """A response whose bodyContent has no xsi:type: only its request tells the operation."""
    return response_xml(None, result=result, reason="Corresponding user not found", exception_id="030001")


def ticket_response() -> bytes:
    return response_xml("AuthenticateUser", f"<use:sessionTicket>{TICKET}</use:sessionTicket>",
                        prefix="use", area="user")


def har_entry(request: bytes, response: bytes | None, *, when: datetime, client: str | None = "10.1.2.3",
              agent: str = "IntegrationX/2.1", charset: str | None = "UTF-8", base64_response: bool = False,
              url: str = URL) -> dict:
    """One entry as browser devtools and Fiddler write it (headers as name/value objects)."""
    content_type = f"text/xml; charset={charset}" if charset else "text/xml"
    headers = [{"name": "User-Agent", "value": agent}, {"name": "Content-Type", "value": content_type}]
    if client:
        headers.append({"name": "X-Forwarded-For", "value": f"{client}, 172.16.0.1"})
    text = request.decode(charset or "utf-8")
    entry = {
        "startedDateTime": when.isoformat().replace("+00:00", "Z"),
        "time": 120.5,
        "request": {"method": "POST", "url": url, "httpVersion": "HTTP/1.1", "headers": headers, "cookies": [],
                    "queryString": [], "headersSize": -1, "bodySize": len(request),
                    "postData": {"mimeType": content_type, "text": text}},
        "response": {"status": 0, "statusText": "", "httpVersion": "", "headers": [], "cookies": [],
                     "content": {"size": 0, "mimeType": ""}, "redirectURL": "", "headersSize": -1, "bodySize": -1},
        "cache": {}, "timings": {"send": 0, "wait": 120.5, "receive": 0},
    }
    if response is not None:
        content = ({"text": base64.b64encode(response).decode(), "encoding": "base64"} if base64_response
                   else {"text": response.decode()})
        entry["response"] = {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1",
                             "headers": [{"name": "Content-Type", "value": "text/xml;charset=UTF-8"}],
                             "cookies": [], "content": {"size": len(response), "mimeType": "text/xml", **content},
                             "redirectURL": "", "headersSize": -1, "bodySize": len(response)}
    return entry


def write_har(path: Path, entries: list[dict], *, bom: bool = False) -> Path:
    document = {"log": {"version": "1.2", "creator": {"name": "WebInspector", "version": "537.36"},
                        "pages": [], "entries": entries}}
    text = json.dumps(document, indent=2)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def http_flow(request: bytes, response: bytes | None, *, when: float, client: tuple[str, int] = ("10.9.8.7", 50123),
              agent: str = "mitm-client/1.0", url: str = URL):
    """A real mitmproxy HTTPFlow, as `mitmdump -w` records it."""
    from mitmproxy import connection, http  # noqa: PLC0415

    client_conn = connection.Client(peername=client, sockname=("127.0.0.1", 8080), timestamp_start=when)
    server_conn = connection.Server(address=("acme.webex.com", 443))
    flow = http.HTTPFlow(client_conn, server_conn)
    flow.request = http.Request.make("POST", url, request, {"Content-Type": "text/xml; charset=UTF-8",
                                                            "User-Agent": agent})
    flow.request.timestamp_start, flow.request.timestamp_end = when, when + 0.01
    if response is not None:
        flow.response = http.Response.make(200, response, {"Content-Type": "text/xml"})
        flow.response.timestamp_start, flow.response.timestamp_end = when + 0.2, when + 0.21
    return flow


def write_flows(path: Path, flows: list) -> Path:
    from mitmproxy import io  # noqa: PLC0415

    with path.open("wb") as stream:
        writer = io.FlowWriter(stream)
        for flow in flows:
            writer.add(flow)
    return path


def day(n: int, hour: int = 9) -> datetime:
    return datetime(2024, 5, n, hour, 30, tzinfo=UTC)


def mixed_capture(folder: Path) -> Path:
    """A capture folder like a migration team would collect: .xml files, a HAR, a flow dump."""
    (folder / "xml" / "nested").mkdir(parents=True)
    (folder / "xml" / "setuser.xml").write_bytes(set_user("acme"))
    (folder / "xml" / "nested" / "old-client.xml").write_bytes(set_user(site_id="5941234567", webex_id="legacy"))
    (folder / "xml" / "notes.txt").write_text("not a capture")
    write_har(folder / "devtools.har", [
        har_entry(set_user(site_id="5941234567", webex_id="legacy"), untyped_response(), when=day(1), client="10.0.0.5",
                  agent="LegacyCRM/1.0"),
        har_entry(get_user_with_ticket(), response_xml("GetUser", prefix="use", area="user"), when=day(2)),
        har_entry(authenticate_with_token(), ticket_response(), when=day(3), base64_response=True),
        {"startedDateTime": day(3).isoformat(), "time": 5, "request": {"method": "GET", "url": "https://acme.webex.com/logo.png",
         "headers": []}, "response": {"status": 200, "headers": [], "content": {"text": "iVBORw0KGgo=", "encoding": "base64"}}},
    ])
    write_flows(folder / "proxy.flow", [
        http_flow(set_user("acme", fields="<email>x@acme.com</email><timeZone>GMT</timeZone>"), untyped_response("SUCCESS"),
                  when=day(4).timestamp()),
        http_flow(set_user(site_id="5941234567", webex_id="legacy"), None, when=day(5).timestamp(), client=("10.0.0.5", 4000),
                  agent="LegacyCRM/1.0"),
    ])
    return folder


def postgres_dsn() -> str | None:
    return DSN_FILE.read_text().strip() if DSN_FILE.is_file() else None


@pytest.fixture
def postgres_url():
    """A fresh, empty PostgreSQL database on the test server (tests/services.sh), dropped afterwards."""
    dsn = postgres_dsn()
    if dsn is None:
        pytest.skip(f"no PostgreSQL test server: {DSN_FILE} is absent (tests/services.sh writes it; "
                    "run `make test` or `bash tests/services.sh` as root)")
    import psycopg  # noqa: PLC0415
    from psycopg import sql  # noqa: PLC0415

    name = f"wxlint_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    base, _, _ = dsn.rpartition("/")
    yield f"{base}/{name}"
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def pg_text_dump(url: str) -> str:
    """Every row of every table of the store, as text, for secret scans."""
    import psycopg  # noqa: PLC0415

    with psycopg.connect(url) as connection:
        chunks = []
        for table in ("messages", "findings", "sites", "input_errors", "schema_version"):
            for row in connection.execute(f"SELECT * FROM {table}"):  # noqa: S608 (fixed names)
                chunks.append(" ".join(bytes(v).hex() + " " + bytes(v).decode("latin-1") if isinstance(v, bytes | memoryview)
                                       else str(v) for v in row))
        return "\n".join(chunks)

