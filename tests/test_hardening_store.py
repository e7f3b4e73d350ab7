"""Issue 12, the store and report: the content digest stays linear and cheap, non-UTF-8 text never
costs a record, a DSN never shows its password, a report is written whole or not at all."""

from __future__ import annotations

import base64
import http.client
import json
import logging
import os
import random
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest

from proxy_addon.audit.recorder import BackgroundRecorder
from proxy_addon.audit.report.page import CONTENT_SECURITY_POLICY
from proxy_addon.audit.store import open_store
from proxy_addon.audit.store.records import MessageRecord, content_digest
from proxy_addon.core.redaction import MASK, mask_dsn, redact_text
from proxy_addon.exchange.record import ExchangeRecord, LintedMessage, Outcome
from proxy_addon.exchange.observed import PROXY_SOURCE, Observed
from proxy_addon.simulator.server import SERVICE_PATH, WebexSimulator
from tests.audit_support import har_entry, set_user, untyped_response
from tests.builders import REPO, request_xml
from tests.processes import free_port
from tests.proxy_support import MITMDUMP
from tests.test_report import png_pixels, run_chromium

SECURITY = ("<siteName>acme</siteName><webExID>admin@acme.com</webExID><password>S3cret&amp;pw</password>"
            "<sessionTicket>AAABBBcccDDD111222</sessionTicket>")


def _upload(size: int, token: str = "tok3n-value") -> bytes:
    image = base64.b64encode(random.Random(size).randbytes(size * 3 // 4)).decode()
    return request_xml("UploadPMRImage", f"<imageURL>https://acme/x?token={token}</imageURL>"
                       f"<imageData>{image}</imageData>", security=SECURITY)


def _cpu(run, rounds: int = 3) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        run()
        best = min(best, time.process_time() - started)
    return best


def _digest(data: bytes, linter) -> bytes:
    return MessageRecord.from_result(linter.lint(data), data, source="t").content_hash


def test_the_digest_of_a_big_message_costs_a_few_lints_not_hundreds(linter):
    # Was ~2.2 µs a character (the key=value scan tried a key at every character of the base64):
    # 4 MiB took ~3.3 s of CPU, about 200 lints of the same message. Now about 4.
    data = _upload(4 << 20)
    lint_cpu = _cpu(lambda: linter.lint(data))
    digest_cpu = _cpu(lambda: _digest(data, linter))
    assert digest_cpu < 15 * max(lint_cpu, 0.01), (digest_cpu, lint_cpu)


def test_the_digest_scales_linearly():
    secrets = frozenset({"S3cret&pw", "AAABBBcccDDD111222"})
    # Base64 (long words, few "="), and its hostile cousin: 128-character keys before every "=".
    shapes = {"base64": _upload, "keys": lambda size: ("k" * 127 + "=v&") .encode() * (size // 130)}
    for name, build in shapes.items():
        small, big = build(1 << 20), build(4 << 20)
        ratio = _cpu(lambda data=big: content_digest(data, secrets)) / max(
            _cpu(lambda data=small: content_digest(data, secrets)), 1e-3)
        assert ratio < 10, (name, ratio)  # 4 when linear; generous for a noisy machine


def test_the_digest_still_ignores_credentials_in_query_strings_and_elements(linter):
    one, other = _upload(1 << 16), _upload(1 << 16, token="another-token")
    assert _digest(one, linter) == _digest(other, linter)
    assert _digest(one, linter) != _digest(one.replace(b"acme/x", b"acme/y"), linter)


def _many_passwords(count: int, tag: str) -> bytes:
    values = "".join(f"<password><![CDATA[<pw-{n:06d}-{tag}]]></password><!-- <{tag} -->" for n in range(count))
    return request_xml("GetUser", f"{values}<webExId>u</webExId>", security=SECURITY)


def test_the_digest_of_a_message_with_thousands_of_credentials_is_cheap_and_ignores_them(linter):
    # Each known value was masked by its own pass over the body: values x body (5,000 took 2.1 s).
    data = _many_passwords(5000, "one")
    lint_cpu = _cpu(lambda: linter.lint(data))
    digest_cpu = _cpu(lambda: _digest(data, linter))
    assert digest_cpu < 15 * max(lint_cpu, 0.01), (digest_cpu, lint_cpu)
    assert _digest(data, linter) == _digest(_many_passwords(5000, "two"), linter)
    assert _digest(data, linter) != _digest(data.replace(b"<webExId>u</webExId>", b"<webExID>u</webExID>"), linter)


def test_key_values_are_masked_as_before():
    cases = {
        "a=1 password=hunter2 b=2": f"a=1 password={MASK} b=2",
        "123=password=x": f"123=password={MASK}",  # "123" is no key: its value is scanned
        "9abc_password=x": f"9abc_password={MASK}",
        '{"token": "abc", "name": "n"}': f'{{"token": "{MASK}", "name": "n"}}',
        "'ticket' = 'abc'": f"'ticket' = '{MASK}'",
        "x" * 300 + "_password = v": "x" * 300 + f"_password = {MASK}",
        "url=https://h/?password=x": "url=https://h/?password=x",
        '<e sessionPassword="p w" a="b"/>': f'<e sessionPassword="{MASK}" a="b"/>',
    }
    for text, expected in cases.items():
        assert redact_text(text) == expected, text


# -- a DSN never shows its password ----------------------------------------------------------------

@pytest.mark.parametrize("url", ["postgresql://auditor:Sup3rS3cretPW@127.0.0.1:{port}/inventory",
                                 "postgres://auditor:Sup3rS3cretPW@127.0.0.1:{port}/inventory?sslmode=disable",
                                 "postgresql://127.0.0.1:{port}/inventory?user=a&password=Sup3rS3cretPW"])
@pytest.mark.parametrize("how", ["webex-xml-lint proxy", "mitmdump -s addon.py", "audit", "inventory"])
def test_a_store_that_cannot_connect_never_shows_its_password(how, url, tmp_path):
    url = url.format(port=free_port())  # nothing listens there
    message = tmp_path / "m.xml"
    message.write_bytes(request_xml("GetUser", "<webExId>jdoe</webExId>"))
    command = {
        "webex-xml-lint proxy": [sys.executable, "-m", "proxy_addon.cli", "proxy", "--listen-port",
                                 str(free_port()), "--db", url],
        "mitmdump -s addon.py": [str(MITMDUMP), "-q", "--listen-host", "127.0.0.1", "--listen-port",
                                 str(free_port()), "-s", str(REPO / "proxy_addon" / "addon.py"),
                                 "--set", f"webexlint_db={url}"],
        "audit": [sys.executable, "-m", "proxy_addon.cli", "audit", str(message), "--db", url],
        "inventory": [sys.executable, "-m", "proxy_addon.cli", "inventory", "--db", url],
    }[how]
    done = subprocess.run(command, cwd=REPO, capture_output=True, timeout=120, check=False)
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert b"cannot connect to PostgreSQL" in output, output
    assert b"Sup3rS3cretPW" not in output, output


def test_mask_dsn_masks_every_way_a_password_is_written():
    assert mask_dsn("postgresql://u:p%40ss@db:5432/x") == f"postgresql://u:{MASK}@db:5432/x"
    assert mask_dsn("postgresql://u@db/x?password=pw") == f"postgresql://u@db/x?password={MASK}"
    assert mask_dsn("host=db user=u password=pw dbname=x") == f"host=db user=u password={MASK} dbname=x"
    assert mask_dsn("postgresql://u:a:b@c@db/x") == f"postgresql://u:{MASK}@db/x"
    assert mask_dsn("/var/lib/audit.sqlite") == "/var/lib/audit.sqlite"
    assert mask_dsn("postgresql://db:notaport/x") == "postgresql://db:notaport/x"


# -- the report: written whole or not at all, under a Content Security Policy ----------------------

_WRITE_REPORT_UNDER_A_FILE_SIZE_LIMIT = """
import resource, sys
from pathlib import Path
from proxy_addon.audit.store import open_store
from proxy_addon.cli.audit import _write_report
store = open_store(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[3]), int(sys.argv[3])))  # a disk that fills up
try:
    _write_report(store, Path(sys.argv[2]))
except OSError as error:
    print(error)
    sys.exit(2)
"""


@pytest.fixture
def audited_store(tmp_path) -> Path:
    store = tmp_path / "audit.sqlite"
    done = subprocess.run([sys.executable, "-m", "proxy_addon.cli", "audit", str(REPO / "examples"), "--db",
                           str(store), "--report", str(tmp_path / "first.html")], cwd=REPO, capture_output=True,
                          timeout=120, check=False)
    assert done.returncode in (0, 1), done.stderr
    return store


def test_a_report_that_cannot_be_written_whole_leaves_the_previous_one(audited_store, tmp_path):
    report = tmp_path / "report.html"
    report.write_text("<p>last week's report</p>")
    report.chmod(0o640)
    size = (tmp_path / "first.html").stat().st_size
    done = subprocess.run([sys.executable, "-c", _WRITE_REPORT_UNDER_A_FILE_SIZE_LIMIT, str(audited_store),
                           str(report), str(size // 2)], cwd=REPO, capture_output=True, timeout=120, check=False)
    assert done.returncode == 2, done.stderr
    assert done.stdout.decode().startswith(f"{report}: cannot write the report: File too large")
    assert report.read_text() == "<p>last week's report</p>", "the previous report, whole"
    assert sorted(p.name for p in tmp_path.iterdir() if "report" in p.name) == ["report.html"], "no leftovers"
    # With room, the report replaces the previous one whole, keeping its permissions.
    done = subprocess.run([sys.executable, "-c", _WRITE_REPORT_UNDER_A_FILE_SIZE_LIMIT, str(audited_store),
                           str(report), str(size * 4)], cwd=REPO, capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert report.read_text().rstrip().endswith("</html>") and report.stat().st_mode & 0o777 == 0o640


def test_the_report_declares_a_policy_chromium_enforces(audited_store, tmp_path):
    page = (tmp_path / "first.html").read_text()
    assert f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">' in page
    assert page.index("Content-Security-Policy") < page.index("<style>") < page.index("<body>")
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(0.2)
        port = listener.getsockname()[1]
        # What escaping must never let through, and the policy stops should it ever: a script, a fetch.
        hostile = page.replace("<main>", f'<main><script>document.title = "script ran"</script>'
                               f'<img src="http://127.0.0.1:{port}/leak"><p id="probe" style="color: rgb(1, 2, 3)">p</p>')
        (tmp_path / "hostile.html").write_text(hostile)
        dumped = run_chromium("--dump-dom", (tmp_path / "hostile.html").as_uri(), profile=tmp_path / "p1").stdout
        with pytest.raises(TimeoutError):
            listener.accept()
    assert b"script ran" not in dumped.split(b"</script>", 1)[1] and b"<title>Webex XML API migration audit" in dumped
    # The report's own styles still apply (its page background is CSS), with the policy in place.
    shot = tmp_path / "shot.png"
    run_chromium(f"--screenshot={shot}", "--window-size=1280,800", "--force-device-scale-factor=0.25",
                 (tmp_path / "first.html").as_uri(), profile=tmp_path / "p2")
    _, _, pixels = png_pixels(shot.read_bytes())
    assert Counter(pixels)[(0xF5, 0xF6, 0xF8)] > 1000, "the stylesheet applied"


# -- text that is not UTF-8 never costs a record ----------------------------------------------------

def _post(port: int, body: bytes, agent: bytes) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.putrequest("POST", SERVICE_PATH)
        connection.putheader("Content-Type", "text/xml")
        connection.putheader("User-Agent", agent)
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


@pytest.mark.e2e
def test_proxy_stores_every_client_when_one_sends_a_byte_that_is_not_utf8(start_proxy, tmp_path):
    db = tmp_path / "audit.sqlite"
    with WebexSimulator(ci_sites=["acme"]) as simulator:
        proxy = start_proxy("--db", str(db), mode=f"reverse:{simulator.base_url}")
        agents = [f"Client/{n}".encode() for n in range(12)]
        agents[5] = b"Bad\xffClient/5"
        bodies = [request_xml("GetUser", f"<webExId>user{n}</webExId>", security=SECURITY) for n in range(12)]
        with ThreadPoolExecutor(12) as pool:  # at once, so they share the store's write batches
            statuses = list(pool.map(lambda n: _post(proxy.port, bodies[n], agents[n]), range(12)))
        assert statuses == [200] * 12
        deadline = time.monotonic() + 30
        rows: list[tuple[str]] = []
        while time.monotonic() < deadline and len(rows) < 12:
            time.sleep(0.2)
            try:  # read-only: the lint worker creates and migrates the store when it starts
                with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
                    rows = connection.execute("SELECT user_agent FROM messages WHERE direction = 'request'").fetchall()
            except sqlite3.OperationalError:
                continue
    assert sorted(agent for (agent,) in rows) == sorted(
        [f"Client/{n}" for n in range(12) if n != 5] + ["Bad\\xffClient/5"])


def test_the_recorder_loses_only_the_record_that_cannot_be_written(tmp_path, linter, caplog):
    store = open_store(str(tmp_path / "audit.sqlite"))
    recorder = BackgroundRecorder(store)
    held = threading.Event()
    recorder._submit(lambda _store: held.wait(10))  # hold the writer, so the next ones form one batch
    result = linter.lint(request_xml("GetUser", "<webExId>jdoe</webExId>", security=SECURITY))
    for n in range(6):
        agent = object() if n == 3 else f"Client/{n}"  # a record the store cannot take
        seen = Observed(b"<x/>", "request", PROXY_SOURCE, f"flow-{n}", 1714550400.0, "10.0.0.1", agent)
        recorder.message(ExchangeRecord(LintedMessage(seen, result), None, Outcome.PENDING))
    held.set()
    with caplog.at_level(logging.WARNING):
        recorder.close()
    with sqlite3.connect(tmp_path / "audit.sqlite") as connection:
        stored = sorted(locator for (locator,) in connection.execute("SELECT locator FROM messages"))
    assert stored == [f"flow-{n}" for n in range(6) if n != 3]
    assert recorder.failed == 1 and "failed for flow flow-3" in caplog.text


def test_every_output_format_writes_a_file_name_that_is_not_utf8(tmp_path):
    name = os.fsdecode(b"bad\xffname.xml")
    (tmp_path / name).write_bytes(request_xml("SetUser", "<webExId>u</webExId>",
                                              security="<siteID>5941234567</siteID><webExID>a</webExID>"))
    env = {**os.environ, "PYTHONIOENCODING": "utf-8:strict", "LC_ALL": "C.UTF-8"}
    for output in ("text", "json", "sarif", "github"):
        done = subprocess.run([sys.executable, "-m", "proxy_addon.cli", "check", "--format", output, str(tmp_path)],
                              cwd=REPO, capture_output=True, timeout=60, check=False, env=env)
        assert done.returncode == 1, (output, done.stderr)
        text = done.stdout.decode("utf-8")  # strictly UTF-8
        assert "WX101" in text, output
        if output in ("json", "sarif"):
            document = json.loads(text)
            if output == "sarif":
                uri = document["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                assert uri.endswith("bad%FFname.xml")
            else:
                assert document["findings"][0]["path"].endswith("bad\\xffname.xml")
        else:
            assert "bad\\xffname.xml" in text, output


def test_audit_stores_and_reports_a_file_name_and_a_user_agent_that_are_not_utf8(tmp_path):
    capture = tmp_path / "capture"
    capture.mkdir()
    (capture / os.fsdecode(b"bad\xffname.xml")).write_bytes(request_xml("GetUser", "<webExId>u</webExId>"))
    entry = har_entry(set_user(site_id="5941234567"), untyped_response(), agent="Tool/1",
                      when=datetime(2024, 5, 1, tzinfo=UTC))
    har = json.dumps({"log": {"version": "1.2", "entries": [entry]}})
    (capture / "lone.har").write_text(har.replace('"Tool/1"', '"Tool/\\ud800x"'))
    (capture / os.fsdecode(b"cut\xff.har")).write_text('{"log": {"entries": [')
    done = subprocess.run([sys.executable, "-m", "proxy_addon.cli", "audit", str(capture), "--db",
                           str(tmp_path / "a.sqlite"), "--report", str(tmp_path / "r.html")], cwd=REPO,
                          capture_output=True, timeout=120, check=False,
                          env={**os.environ, "PYTHONIOENCODING": "utf-8:strict"})
    assert done.returncode == 1, done.stderr.decode("utf-8", "replace")  # 1: the cut HAR
    assert "cut\\xff.har" in done.stderr.decode("utf-8")
    with sqlite3.connect(tmp_path / "a.sqlite") as connection:
        sources = {source for (source,) in connection.execute("SELECT source FROM messages")}
        agents = {agent for (agent,) in connection.execute("SELECT user_agent FROM messages")}
    assert any(source.endswith("bad\\xffname.xml") for source in sources), sources
    assert "Tool/\\ud800x" in agents, agents
    report = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "Tool/\\ud800x" in report and "cut\\xff.har" in report
