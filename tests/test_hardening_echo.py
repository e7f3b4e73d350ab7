"""Issue 12: a FAILURE answer that repeats the request's password or ticket (plainly, XML-escaped,
split by CDATA or a comment) leaves no byte of it in `audit`'s store, `proxy --db`'s store, the
findings log or flow.metadata."""

from __future__ import annotations

import http.client
import json
import sqlite3
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from tests.audit_support import day, har_entry, write_har
from tests.builders import REPO, request_xml, response_xml

PASSWORD = "Pw<7&horse-battery"  # needs escaping in XML, so the echo has several written forms
TICKET = "TKT-echo-5f0c2b9e81d74a6c"
DISTINCTIVE = ("horse-battery", "5f0c2b9e81d74a6c")  # pieces found nowhere but in the secrets


def _request(password_xml: str = escape(PASSWORD)) -> bytes:
    security = (f"<siteName>acme</siteName><webExID>admin@acme.com</webExID><password>{password_xml}</password>"
                f"<sessionTicket>{TICKET}</sessionTicket>")
    return request_xml("GetUser", "<webExId>jdoe</webExId>", security=security)


def _failure(reason_xml: str) -> bytes:
    return response_xml(None, result="FAILURE", reason=reason_xml, exception_id="030002")


ECHOES = {
    "plain": f"Incorrect password {escape(PASSWORD)} or ticket {TICKET}",
    "character references": "Incorrect password " + "".join(f"&#{ord(c)};" for c in PASSWORD),
    "cdata split": "Incorrect password Pw<![CDATA[<7&horse]]>-battery, ticket TKT-echo-<![CDATA[5f0c2b9e81d74a6c]]>",
    "comment split": "Incorrect password Pw&lt;7<!-- -->&amp;horse-battery ticket TKT-echo-5f0c<!---->2b9e81d74a6c",
    "child split": "Incorrect password Pw&lt;7&amp;horse<b>-battery</b>",
    "escaped twice": f"Incorrect password {escape(escape(PASSWORD))}",
}


def _forms(secret: str) -> set[bytes]:
    """The secret's bytes as any writer might put them in a file."""
    texts = {secret, escape(secret), json.dumps(secret)[1:-1], repr(secret)[1:-1], *DISTINCTIVE}
    return {text.encode(encoding) for text in texts for encoding in ("utf-8", "utf-16-le", "utf-16-be")}


def _leaks(data: bytes) -> list[bytes]:
    return sorted(form for secret in (PASSWORD, TICKET) for form in _forms(secret) if form in data)


def _database_bytes(db: Path) -> bytes:
    return b"".join(path.read_bytes() for path in db.parent.glob(db.name + "*"))


def test_audit_stores_no_echoed_credential(tmp_path):
    entries = [har_entry(_request(), _failure(reason), when=day(1 + n)) for n, reason in enumerate(ECHOES.values())]
    # A password split by a comment in the request: the server reads (and echoes) it whole.
    entries.append(har_entry(_request("Pw&lt;7&amp;horse<!-- -->-battery"), _failure(ECHOES["plain"]), when=day(20)))
    capture = write_har(tmp_path / "echo.har", entries)
    db = tmp_path / "audit.sqlite"
    done = subprocess.run([sys.executable, "-m", "proxy_addon.cli", "audit", str(capture), "--db", str(db)],
                          capture_output=True, cwd=REPO, timeout=120, check=False)
    assert done.returncode in (0, 1), done.stderr
    with sqlite3.connect(db) as connection:
        reasons = [row[0] for row in connection.execute("SELECT message FROM findings WHERE rule = 'WX501'")]
    assert len(reasons) == len(entries), reasons
    assert all("Incorrect password ***" in reason for reason in reasons), reasons
    assert _leaks(_database_bytes(db)) == []


def test_findings_log_and_flow_metadata_keep_no_echoed_credential(addon_harness):
    for reason in ECHOES.values():
        flow = addon_harness.exchange(_request(), _failure(reason))
        summary = flow.metadata["webexlint"]
        assert [f["rule"] for f in summary["response"]] == ["WX501"], summary
        assert _leaks(json.dumps(summary, ensure_ascii=False).encode()) == [], (reason, summary)
        assert _leaks(json.dumps(summary).encode()) == [], (reason, summary)
    assert _leaks(addon_harness.log_path.read_bytes()) == []


class _EchoingService(BaseHTTPRequestHandler):
    """An upstream that answers a request with a FAILURE repeating the credentials it was sent."""

    def do_POST(self):
        sent = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = _failure(ECHOES["plain"]) if escape(PASSWORD).encode() in sent else response_xml("GetUser")
        self.send_response(200)
        self.send_header("Content-Type", "text/xml;charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.mark.e2e
def test_proxy_db_stores_no_echoed_credential(start_proxy, tmp_path):


    upstream = ThreadingHTTPServer(("127.0.0.1", 0), _EchoingService)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    db = tmp_path / "proxy.sqlite"
    try:
        proxy = start_proxy("--db", str(db), mode=f"reverse:http://127.0.0.1:{upstream.server_port}")
        connection = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=30)
        connection.request("POST", "/WBXService/XMLService", body=_request(), headers={"Content-Type": "text/xml"})
        answer = connection.getresponse().read()
        connection.close()
        assert TICKET.encode() in answer  # the client gets the answer as sent: only what we keep is masked
        findings = proxy.wait_for("finding")
        rows: list[tuple[str]] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not rows:
            time.sleep(0.2)
            try:
                with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
                    rows = connection.execute("SELECT message FROM findings WHERE rule = 'WX501'").fetchall()
            except sqlite3.OperationalError:
                continue
    finally:
        upstream.shutdown()
        upstream.server_close()
    assert rows and "Incorrect password ***" in rows[0][0], rows
    assert any(f["rule"] == "WX501" for f in findings)
    assert _leaks(_database_bytes(db)) == []
    assert _leaks(proxy.log.read_bytes()) == []
