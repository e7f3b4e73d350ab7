"""One exchange layer: the proxy, `check` and `audit` see a capture the same way, learning included.

The capture is the user's complaint: a GetAPIVersion answer, a GetSiteType answer saying CI and a
030098 failure come before SetUser/CreateUser requests, so WX201/WX202 and their learned notes only
appear when every entry point learns from the answers in capture order.
"""

from __future__ import annotations

import http.client
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from proxy_addon.audit.store import open_store
from proxy_addon.core.charsets import byte_order_mark, charset_of
from proxy_addon.exchange.observed import format_time
from proxy_addon.exchange.sniff import is_xml_api
from proxy_addon.simulator.answers import SimulatedService
from proxy_addon.simulator.server import SERVICE_PATH, WebexSimulator

from .audit_support import day, har_entry, write_har
from .builders import REPO, request_xml, response_xml
from .processes import stop_process

CLI = [sys.executable, "-m", "proxy_addon.cli"]
ACME = "<siteName>acme</siteName><webExID>admin@acme.com</webExID><password>pw-acme-7781</password>"
GLOBEX = "<siteName>globex</siteName><webExID>it@globex.com</webExID><password>pw-globex-5512</password>"
SET_USER_ACME = request_xml("SetUser", "<webExId>jane@acme.com</webExId><email>jane@new.example</email>", security=ACME)
CREATE_USER_ACME = request_xml("CreateUser", "<firstName>Jane</firstName><webExId>jane@acme.com</webExId>",
                               security=ACME)
# In capture order: acme is not known to be CI at first; then the answers teach it all.
CAPTURE = [
    SET_USER_ACME,  # no WX201 yet: nothing is known about acme
    request_xml("GetAPIVersion", package="ep", security=ACME),
    request_xml("GetSiteType", package="ep", security="<siteName>acme</siteName>"),
    request_xml("CreateUser", "<webExId>a@globex.com</webExId>", security=GLOBEX),  # 030098: globex is CI
    SET_USER_ACME,  # WX201, noted: learned from GetSiteType
    CREATE_USER_ACME,  # WX202, noted; its 030098 answer was predicted by it
    request_xml("SetUser", "<webExId>a@globex.com</webExId><email>a@new.example</email>", security=GLOBEX),
    # The sentinel: its request finding (WX101, the deprecated siteID) is logged after all the others.
    request_xml("GetUser", "<webExId>jdoe</webExId>", security="<siteID>5941234</siteID><webExID>x</webExID>"),
]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=REPO, timeout=120, check=False,
                          env={**os.environ, "COLUMNS": "200"})


def store_findings(db: Path) -> set[tuple[str, str, str, str | None]]:
    with sqlite3.connect(db) as connection:
        return set(connection.execute(
            "SELECT m.locator, m.direction, f.rule, m.operation FROM findings f JOIN messages m ON m.key = f.message_key"))


def checked_findings(*paths: Path) -> list[dict]:
    result = run_cli("check", "--format", "json", "--fail-on", "info", *map(str, paths))
    assert result.returncode == 1, result.stderr
    return json.loads(result.stdout)["findings"]


def simulated_har(path: Path, repeat: int = 1) -> Path:
    """The capture as a HAR export, answered as the service would (acme and globex are CI)."""
    service = SimulatedService(ci_sites={"acme", "globex"})
    bodies = [body for _ in range(repeat) for body in CAPTURE]
    entries = [har_entry(body, service.answer(body), when=day(1).replace(minute=index % 60, second=index // 60))
               for index, body in enumerate(bodies)]
    return write_har(path, entries)


# -- the pieces ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("url", "body", "expected"), [
    ("/WBXService/XMLService", b"", True),
    ("https://acme.webex.com/wbxservice/xmlservice?x=1", b"", True),
    ("/other", b'\xef\xbb\xbf<?xml version="1.0"?>\n<!-- c --><serv:message xmlns:serv="x">', True),
    ("/other", b'<a xmlns="http://www.webex.com/schemas/2002/06/service"/>', True),
    ("/WBXService/XMLServiceDocs", b"<html/>", False),
    ("https://acme.webex.com/xmlservice.html", b"{}", False),
    (None, b"<messages/>", False),
])
def test_one_sniffer_decides_what_is_xml_api_traffic(url, body, expected):
    assert is_xml_api(url, body) is expected


def test_one_charset_parser_and_one_bom_table():
    assert charset_of('text/xml; Charset="ISO-8859-1"') == "iso-8859-1"
    assert charset_of("text/xml") is None and charset_of(None) is None
    assert byte_order_mark(b"\xff\xfe\x00\x00<") == (b"\xff\xfe\x00\x00", "utf-32-le")
    assert byte_order_mark(b"\xff\xfe<\x00") == (b"\xff\xfe", "utf-16-le")
    assert byte_order_mark(b"<") is None


def test_check_on_a_har_learns_in_capture_order_and_notes_what_it_learned(tmp_path):
    har = simulated_har(tmp_path / "capture.har")
    findings = checked_findings(har)
    by_entry = {}
    for finding in findings:
        by_entry.setdefault(finding["locator"], []).append((finding["rule"], finding["notes"]))
    assert "entry 0 request" not in by_entry  # acme was not known to be CI yet
    site_type_note = "site acme learned as CI from GetSiteType (siteType 1) at " + format_time(
        day(1).replace(minute=2).timestamp() + 0.1205)
    assert by_entry["entry 4 request"] == [("WX201", [site_type_note])]
    assert by_entry["entry 5 request"] == [("WX202", [site_type_note])]
    [(rule, notes)] = by_entry["entry 5 response"]
    assert rule == "WX501" and notes == ["030098 — predicted by WX202 on this request"]
    [(rule, notes)] = by_entry["entry 6 request"]
    assert rule == "WX201" and notes[0].startswith("site globex learned as CI from a 030098 failure at ")
    text = run_cli("check", str(har)).stdout
    assert f"  = note: {site_type_note}" in text


@pytest.mark.parametrize("jobs", [2, 3])
def test_audit_in_several_processes_finds_what_one_process_finds(tmp_path, monkeypatch, jobs):
    """Chunks of one exchange each: every chunk after the answers needs the facts learned in others."""
    from proxy_addon.audit import pipeline  # noqa: PLC0415

    monkeypatch.setattr(pipeline, "CHUNK_MESSAGES", 2)
    har = simulated_har(tmp_path / "capture.har", repeat=2)
    found = {}
    for run_jobs in (1, jobs):
        db = tmp_path / f"audit-{run_jobs}.sqlite"
        with open_store(str(db)) as store:
            stats = pipeline.run_audit([str(har)], store, pipeline.Linter(), pipeline.LintContext(), jobs=run_jobs)
            ci_sites = store.ci_sites()
        assert stats.errors == []
        found[run_jobs] = store_findings(db)
        assert set(ci_sites) == {"acme", "globex"}
        assert ci_sites["acme"].endswith(f"({har} entry 2 at {format_time(day(1).replace(minute=2).timestamp() + 0.1205)})")
    assert found[1] == found[jobs]
    rules = {(locator, rule) for locator, _, rule, _ in found[1]}
    assert {("entry 4", "WX201"), ("entry 5", "WX202"), ("entry 6", "WX201")} <= rules
    assert ("entry 0", "WX201") not in rules and ("entry 8", "WX201") in rules  # the second round knows


# -- the acceptance test: live proxy, check and audit on the capture it recorded -------------------

def record_live(start_proxy, dump: Path, capture: list[bytes], **simulator: object) -> tuple[set, list[dict]]:
    """Send `capture` through the live proxy (recording it to `dump`) to a simulator; its findings
    as (flow N, direction, rule, operation, notes) and its learned events. The last request is the
    sentinel: its finding is logged after all the others."""
    from mitmproxy.io import FlowReader  # noqa: PLC0415

    with WebexSimulator(**simulator) as service:
        proxy = start_proxy("--set", f"save_stream_file={dump}", direct=True, mode=f"reverse:{service.base_url}")
        connection = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=30)
        try:
            for body in capture:
                connection.request("POST", SERVICE_PATH, body=body, headers={"Content-Type": "text/xml"})
                assert connection.getresponse().read()
        finally:
            connection.close()
        deadline = time.monotonic() + 30
        while not any(e["operation"] == "GetUser" for e in proxy.events("finding")):  # the sentinel
            assert time.monotonic() < deadline, "the proxy never logged the sentinel's finding"
            time.sleep(0.05)
        live_events = proxy.events("finding")
        learned = proxy.events("learned")
        stop_process(proxy.process)  # closes the flow dump
    with dump.open("rb") as stream:
        flow_ids = [flow.id for flow in FlowReader(stream).stream()]
    assert len(flow_ids) == len(capture)
    index_of = {flow_id: index for index, flow_id in enumerate(flow_ids)}
    live = {(f"flow {index_of[e['flow_id']]}", e["direction"], e["rule"], e["operation"], tuple(e.get("notes", [])))
            for e in live_events}
    return live, learned


@pytest.mark.e2e
def test_the_live_proxy_check_and_audit_give_the_same_findings_on_one_capture(start_proxy, tmp_path):
    dump = tmp_path / "live.flows"
    live, learned = record_live(start_proxy, dump, CAPTURE, ci_sites=["acme", "globex"])
    checked = {(f["locator"].rsplit(" ", 1)[0], f["direction"], f["rule"], f["operation"], tuple(f["notes"]))
               for f in checked_findings(dump)}
    assert checked == live
    rules = {(where, direction, rule) for where, direction, rule, _, _ in live}
    assert {("flow 4", "request", "WX201"), ("flow 5", "request", "WX202"), ("flow 6", "request", "WX201")} <= rules
    assert ("flow 0", "request", "WX201") not in rules
    notes = {note for *_, event_notes in live for note in event_notes}
    assert {event["note"] for event in learned if "CI" in event["note"]} <= notes

    db, report = tmp_path / "audit.sqlite", tmp_path / "report.html"
    result = run_cli("audit", str(dump), "--db", str(db), "--report", str(report), "--jobs", "2")
    assert result.returncode == 0, result.stderr
    assert "learned: site acme learned as CI from GetSiteType (siteType 1) at " in result.stderr
    assert store_findings(db) == {(where, direction, rule, operation) for where, direction, rule, operation, _ in live}
    page = report.read_text(encoding="utf-8")
    site_type = next(event for event in learned if "GetSiteType" in event["note"])
    assert site_type["note"] in page and f"{dump} flow 2 at " in page  # the CI site, and where it was learned
    assert "site globex learned as CI from a 030098 failure" in page


def test_a_failure_is_tied_to_its_prediction_however_its_exception_id_is_padded():
    """B1006 writes 000015 as "00015": the catalog's ids and the answer's are compared padded."""
    from proxy_addon.core.versions import parse_version
    from proxy_addon.exchange.linter import ExchangeLinter
    from proxy_addon.exchange.observed import Observed
    from proxy_addon.lint.context import LintContext
    from proxy_addon.lint.engine import Linter

    exchanges = ExchangeLinter(Linter(), LintContext(api_version=parse_version("39.5")))
    event = request_xml("CreateEvent", f"<metaData><sessionName>e</sessionName><description>{'x' * 1100}"
                        "</description></metaData>", package="event",
                        security="<siteName>acme</siteName><webExID>a@acme.com</webExID><password>pw</password>")
    request = exchanges.lint(Observed(event, "request", "capture.har", "entry 1"))
    assert [f.predicts for f in request.findings if f.rule == "WX401"] == ["060067"]
    answer = exchanges.lint(Observed(response_xml(None, result="FAILURE", reason="too long", exception_id="60067"),
                                     "response", "capture.har", "entry 1"))
    [failure] = [f for f in answer.findings if f.rule == "WX501"]
    assert any("predicted by WX401 on this request" in note for note in failure.notes), failure.notes


# An 11.0 SP22 service (its GetAPIVersion answer is old-style: apiVersion V11.0.0 and release SP22,
# B396) and an SSO site (GetSiteType 2, A175): learned the same way live, by `check` and by `audit`.
INITECH = "<siteName>initech</siteName><webExID>it@initech.com</webExID>"


def create_event(host: str) -> bytes:
    # Each from another webExID: a rule logged once per client, webExID and operation logs both.
    return request_xml("CreateEvent", "<schedule><autoRecord>true</autoRecord></schedule>", package="event",
                       security=f"<siteName>acme</siteName><webExID>{host}</webExID><password>pw-acme-7781</password>")


OLD_SERVICE_CAPTURE = [
    create_event("host1@acme.com"),  # WX302 (11.0 SP21) at the configured 39.11, with no note
    request_xml("GetAPIVersion", package="ep", security=ACME),  # 11.0 SP22, not 11.0.0
    create_event("host2@acme.com"),  # WX302 still, noted: the learned service pack keeps SP-gated rules on
    request_xml("GetSiteType", package="ep", security="<siteName>initech</siteName>"),  # 2: SSO
    request_xml("AuthenticateUser", "<accessToken>YWM3MTBlN2Qt</accessToken>", security=INITECH),  # WX105
    request_xml("GetUser", "<webExId>jdoe</webExId>", security="<siteID>5941234</siteID><webExID>x</webExID>"),
]


@pytest.mark.e2e
def test_live_check_and_audit_learn_old_style_versions_and_sso_sites_alike(start_proxy, tmp_path):
    dump = tmp_path / "old-service.flows"
    live, learned = record_live(start_proxy, dump, OLD_SERVICE_CAPTURE, api_version="11.0 SP22", sso_sites=["initech"])
    checked = {(f["locator"].rsplit(" ", 1)[0], f["direction"], f["rule"], f["operation"], tuple(f["notes"]))
               for f in checked_findings(dump)}
    assert checked == live
    by_flow = {(where, rule): notes for where, _, rule, _, notes in live}
    assert by_flow[("flow 0", "WX302")] == ()
    assert by_flow[("flow 2", "WX302")][0].startswith("site acme learned as API 11.0 SP22 from GetAPIVersion "
                                                      "(apiVersion and release) at ")
    assert by_flow[("flow 4", "WX105")][0].startswith("site initech learned as SSO from GetSiteType (siteType 2) at ")
    assert {event["note"].split(" from ")[0] for event in learned} == {"site acme learned as API 11.0 SP22",
                                                                       "site initech learned as SSO"}

    db, report = tmp_path / "audit.sqlite", tmp_path / "report.html"
    result = run_cli("audit", str(dump), "--db", str(db), "--report", str(report), "--jobs", "2")
    assert result.returncode == 0, result.stderr
    assert store_findings(db) == {(where, direction, rule, operation) for where, direction, rule, operation, _ in live}
    with sqlite3.connect(db) as connection:
        notes = dict(connection.execute("SELECT f.rule, f.notes FROM findings f WHERE f.notes IS NOT NULL"))
        sites = {row[0]: row[1:] for row in connection.execute(
            "SELECT site, site_type, api_version, version_learned_from FROM sites")}
    assert notes["WX105"] == by_flow[("flow 4", "WX105")][0]
    assert sites["initech"][0] == "sso" and sites["acme"][1] == "11.0 SP22"
    assert sites["acme"][2].startswith("site acme learned as API 11.0 SP22 from GetAPIVersion")
    page = report.read_text(encoding="utf-8")
    assert "11.0 SP22" in page and "<td>SSO</td>" in page


def test_one_sniffer_for_the_proxy_and_the_folder_walk():
    """The test the folder walk applies to .xml files is the proxy's: UTF-16 and a full prolog count."""
    import codecs

    from proxy_addon.exchange.sniff import is_message, is_xml_api

    message = '<?xml version="1.0"?><?pi x?><!-- c --><!DOCTYPE m [<!ENTITY e "x">]><serv:message xmlns:serv="x"/>'
    for body in (message.encode(), codecs.BOM_UTF16_LE + message.encode("utf-16-le"), message.encode("utf-16-be")):
        assert is_message(body) and is_xml_api("/other/path", body)
    for body in (b'<?xml version="1.0"?><project/>', "<Configuration/>".encode("utf-16-le"), b"not xml"):
        assert not is_message(body) and not is_xml_api("/other/path", body)
