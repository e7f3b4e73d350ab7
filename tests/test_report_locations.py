"""Every finding names its input, and every number of the report links to the findings (issue 20
item 4): a message file and its line, a HAR entry with its URL, a flow with its id (a flow dump's,
and the live proxy's), stored on SQLite and PostgreSQL alike, never with a query string's token;
the header names the inputs and their time span, and says that the end of life has passed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from lxml import html as lxml_html

from proxy_addon.audit.pipeline import run_audit
from proxy_addon.audit.report import collect, render_html
from proxy_addon.audit.store import MessageRecord, open_store, stored_rows
from proxy_addon.audit.store.records import input_url
from proxy_addon.audit.store.schema import MIGRATIONS, migrate
from proxy_addon.audit.store.backends import open_backend
from proxy_addon.exchange.linter import ExchangeLinter
from proxy_addon.exchange.observed import PROXY_SOURCE, Observed
from proxy_addon.lint.context import LintContext

from .audit_support import PASSWORD, day, har_entry, http_flow, postgres_url, write_flows, write_har  # noqa: F401
from .builders import request_xml

TOKEN = "tok-3b1f9c7e55d24a0b"  # in a URL's query string: must never be stored
HAR_URL = f"https://acme.webex.com/WBXService/XMLService?AT={TOKEN}"
FLOW_URL = "https://globex.webex.com/WBXService/XMLService"
AGENT = "LegacyScheduler/3.0"


def _site_id_request(webex_id: str = "alice") -> bytes:
    """A CreateMeeting sending the deprecated siteID (WX101) and a password (deprecated call: WX601)."""
    security = f"<siteID>5941234567</siteID><webExID>{webex_id}</webExID><password>{PASSWORD}</password>"
    return request_xml("CreateMeeting", "<metaData><confName>Weekly</confName></metaData>"
                       "<enableOptions><HDvideo>TRUE</HDvideo></enableOptions>", package="meeting", security=security)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request, tmp_path):
    if request.param == "sqlite":
        return str(tmp_path / "audit.sqlite")
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def capture(tmp_path):
    folder = tmp_path / "capture"
    folder.mkdir()
    (folder / "fixture.xml").write_bytes(_site_id_request("carol"))
    write_har(folder / "scheduler.har", [
        har_entry(_site_id_request("alice"), None, when=day(1), client="10.0.0.9", agent=AGENT, url=HAR_URL),
        har_entry(_site_id_request("bob"), None, when=day(3), client="10.0.0.9", agent=AGENT, url=HAR_URL),
    ])
    flow = http_flow(_site_id_request("dave"), None, when=day(2).timestamp(), url=FLOW_URL)
    write_flows(folder / "capture.flows", [flow])
    return folder, flow.id


def _audit(folder, url):
    from proxy_addon.lint.engine import Linter

    with open_store(url) as store:
        run_audit([str(folder)], store, Linter(), LintContext(), jobs=1)


def test_each_finding_names_its_input_file_har_entry_and_flow(store_url, capture):
    folder, flow_id = capture
    _audit(folder, store_url)
    with open_store(store_url) as store:
        located = [row for row in store.finding_locations() if row["rule"] == "WX101"]
        dump = repr(store.backend.query("SELECT * FROM messages")) + repr(store.backend.query("SELECT * FROM findings"))
    by_source = {}
    for row in located:
        by_source.setdefault(row["source"].rsplit("/", 1)[-1], []).append(row)
    [file_row] = by_source["fixture.xml"]
    assert file_row["locator"] == "" and file_row["line"] >= 1 and file_row["url"] is None
    har_rows = sorted(by_source["scheduler.har"], key=lambda row: row["locator"])
    assert [row["locator"] for row in har_rows] == ["entry 0", "entry 1"]
    assert {row["url"] for row in har_rows} == {"https://acme.webex.com/WBXService/XMLService"}
    [flow_row] = by_source["capture.flows"]
    assert flow_row["locator"] == "flow 0" and flow_row["flow_id"] == flow_id and flow_row["url"] == FLOW_URL
    # Neither the query string's token nor the password reaches any stored row.
    assert TOKEN not in dump and PASSWORD not in dump


def test_a_live_proxy_flow_is_named_by_its_flow_id():
    from proxy_addon.lint.engine import Linter

    exchanges = ExchangeLinter(Linter(), LintContext())
    record = exchanges.lint(Observed(_site_id_request(), "request", PROXY_SOURCE, "9d0c4b7e-flow", 1767261600.0,
                                     "10.0.0.9:50123", AGENT))
    stored, findings = stored_rows(record)
    assert stored.flow_id == "9d0c4b7e-flow" and stored.url is None and findings


@pytest.mark.parametrize(("url", "kept"), [
    (HAR_URL, "https://acme.webex.com/WBXService/XMLService"),
    ("https://user:secret@acme.webex.com/WBXService/XMLService#frag", "https://acme.webex.com/WBXService/XMLService"),
    ("acme.webex.com/WBXService/XMLService?PW=x", "acme.webex.com/WBXService/XMLService"),
    (None, None), ("", None), (12, None),
])
def test_a_stored_url_keeps_scheme_host_and_path_only(url, kept):
    assert input_url(url) == kept


def test_a_version_3_store_is_upgraded_with_its_rows_kept(store_url, linter):
    backend = open_backend(store_url)
    try:
        migrate(backend, MIGRATIONS[:3])
    finally:
        backend.close()
    data = _site_id_request()
    result = linter.lint(data, path="old.xml", context=LintContext())
    old = MessageRecord.from_result(result, data, source="old.xml")
    backend = open_backend(store_url)
    try:  # a row as version 3 wrote it: no url, flow_id or not_carried columns yet
        backend.execute("INSERT INTO messages (key, content_hash, source, locator, direction, size) "
                        "VALUES (?, ?, ?, ?, ?, ?)", (old.key, old.content_hash, "old.xml", "", "request", len(data)))
    finally:
        backend.close()
    with open_store(store_url) as store:
        assert store.schema_version == MIGRATIONS[-1].version == 4
        assert store.backend.query("SELECT source, url, flow_id, not_carried FROM messages") == [
            ("old.xml", None, None, None)]


@pytest.fixture
def report(tmp_path, capture):
    folder, flow_id = capture
    url = str(tmp_path / "audit.sqlite")
    _audit(folder, url)
    with open_store(url, read_only=True) as store:
        data = collect(store)
    return data, render_html(data), flow_id


def test_every_link_of_the_report_leads_to_an_element_of_it(report):
    _, page, _ = report
    tree = lxml_html.fromstring(page)
    ids = set(tree.xpath("//@id"))
    targets = [href[1:] for href in tree.xpath("//a/@href") if href.startswith("#")]
    assert targets and not [target for target in targets if target not in ids]


def test_the_other_sections_numbers_link_to_the_findings_they_count(report):
    _, page, _ = report
    tree = lxml_html.fromstring(page)
    assert tree.xpath('//div[@class="cards"]/div[2]/b/a/@href') == ["#findings-by-input"]
    # WX101's clients table: each client's messages link to that application's WX101 findings.
    links = tree.xpath('//table[@id="site-id-clients"]/tbody/tr/td[5]/a/@href')
    assert links and all(link.startswith("#findings-WX101-") for link in links)
    # Clients still calling deprecated operations: their counts link to their deprecated calls (WX601).
    links = tree.xpath('//table[@id="migration-clients"]/tbody/tr/td[3]/a/@href')
    assert links and all(link.startswith("#findings-WX601-") for link in links)
    assert set(tree.xpath('//table[@id="migration-replacements"]/tbody/tr/td[3]/a/@href')) == {"#findings-WX601"}


def test_the_checklist_numbers_link_to_the_rules_findings_which_name_their_inputs(report):
    data, page, flow_id = report
    tree = lxml_html.fromstring(page)
    [row] = [tr for tr in tree.xpath('//table[@id="checklist"]/tbody/tr') if "WX101" in tr.text_content()]
    links = row.xpath(".//td[@class='num']/a/@href")
    assert links == ["#findings-WX101", "#findings-WX101"]
    [section] = tree.xpath('//section[@id="findings-WX101"]')
    places = [tr.xpath("string(td[2])") for tr in section.xpath(".//tr[@class='occurrence']")]
    inputs = [tr.xpath("string(td[1])").rsplit("/", 1)[-1] for tr in section.xpath(".//tr[@class='occurrence']")]
    assert sorted(inputs) == ["capture.flows", "fixture.xml", "scheduler.har", "scheduler.har"]
    assert "HAR entry 0 · https://acme.webex.com/WBXService/XMLService" in places
    assert f"flow 0 · flow id {flow_id} · {FLOW_URL}" in places
    assert data.findings_of("WX101").findings == 4


def test_the_plan_links_its_calls_and_rules_to_that_applications_findings(report):
    data, page, _ = report
    [plan] = [p for p in data.migration.plans if p.application == f"10.0.0.9 · {AGENT}"]
    assert plan.webex_ids == ["alice", "bob"]
    assert [rule["rule"] for rule in plan.rules][:1] == ["WX101"] and "WX601" not in [r["rule"] for r in plan.rules]
    assert plan.not_carried_by("CreateMeeting") == [
        {"operation": "CreateMeeting", "kind": "gap", "field": "enableOptions/HDvideo", "requests": 2,
         "why": "REST has no per-meeting HD video switch; the site's video settings decide"}]
    tree = lxml_html.fromstring(page)
    [row] = tree.xpath(f'//table[@id="migration-plan"]/tbody/tr[@data-application="10.0.0.9 · {AGENT}"]')
    call_link = row.xpath('.//li[@data-operation="CreateMeeting"]/a/@href')[0]
    group = tree.xpath(f'//*[@id="{call_link[1:]}"]')[0]
    assert group.tag == "h4" and group.get("data-application") == f"10.0.0.9 · {AGENT}"
    # The group is WX601's (one finding per deprecated call) and lists this application's two requests.
    assert call_link.startswith("#findings-WX601-")
    table = group.getnext()
    assert [tr.xpath("string(td[2])") for tr in table.xpath(".//tr[@class='occurrence']")] == [
        "HAR entry 0 · https://acme.webex.com/WBXService/XMLService",
        "HAR entry 1 · https://acme.webex.com/WBXService/XMLService"]
    rule_link = row.xpath('.//li[@data-rule="WX101"]/a/@href')[-1]  # the first is the rule's documentation
    assert tree.xpath(f'//*[@id="{rule_link[1:]}"]/@data-application') == [f"10.0.0.9 · {AGENT}"]
    assert row.xpath('.//code[@class="gap"]/@data-field') == ["enableOptions/HDvideo"]
    assert PASSWORD not in page and TOKEN not in page


def test_the_header_names_the_inputs_their_time_span_and_that_the_end_of_life_has_passed(report):
    data, page, _ = report
    tree = lxml_html.fromstring(page)
    inputs = {span.get("data-source").rsplit("/", 1)[-1]: span.text_content()
              for span in tree.xpath('//p[@id="report-inputs"]/span[@class="input"]')}
    assert set(inputs) == {"fixture.xml", "scheduler.har", "capture.flows"}
    assert "2 messages, 2 requests, 2024-05-01 09:30 UTC to 2024-05-03 09:30 UTC" in inputs["scheduler.har"]
    header = tree.xpath('string(//p[@id="report-inputs"])')
    assert "3 (2024-05-01 09:30 UTC to 2024-05-03 09:30 UTC (2 days))" in header
    eol = tree.xpath('string(//p[@id="report-eol"])')
    days = (datetime.fromtimestamp(data.generated_at, UTC) - datetime(2024, 3, 31, tzinfo=UTC)).days
    assert f"end of life (2024-03-31) has passed: {days:,} days before this report's date" in eol


def test_the_terminal_inventory_names_the_inputs_the_end_of_life_and_the_plan(report):
    from rich.console import Console

    from proxy_addon.audit.report.terminal import print_inventory

    data, _, _ = report
    console = Console(record=True, width=400, color_system=None)
    print_inventory(data, console)
    text = console.export_text()
    assert "Inputs: 3 (2024-05-01 09:30 UTC to 2024-05-03 09:30 UTC (2 days))" in text
    assert "scheduler.har" in text and "capture.flows" in text
    assert "The Meetings XML API's end of life (2024-03-31) has passed" in text
    [row] = [line for line in text.splitlines() if f"10.0.0.9 · {AGENT}" in line and "alice, bob" in line]
    assert "CreateMeeting (2) -> POST /meetings" in row and "WX101 warning (2)" in row
    assert "CreateMeeting enableOptions/HDvideo (2)" in row and "password (2)" in row
    assert PASSWORD not in text and TOKEN not in text


@pytest.mark.parametrize(("seconds", "said"), [(0, "0 seconds"), (90, "2 minutes"), (5400, "1.5 hours"),
                                                (86400 * 3 + 5, "3 days"), (86400, "1 day")])
def test_a_time_span_says_how_long_in_a_unit_that_reads(seconds, said):
    from proxy_addon.audit.report.data import time_span

    assert time_span(1714555800.0, 1714555800.0 + seconds).endswith(f"({said})")


def test_what_a_hostile_request_would_lose_is_stored_bounded(linter):
    """100,000 distinct leaves in a CreateMeeting would have made a row of megabytes: at most 64
    field names are kept, each cut at 200 characters, and one line says how many more."""
    leaves = "".join(f"<f{n}>x</f{n}>" for n in range(2000)) + f"<{'a' * 5000}>x</{'a' * 5000}>"
    data = request_xml("CreateMeeting", f"<metaData><confName>W</confName></metaData>{leaves}", package="meeting")
    exchanges = ExchangeLinter(linter, LintContext())
    record = exchanges.lint(Observed(data, "request", "capture.flows", "flow 0", flow_id="f" * 10_000))
    stored, _ = stored_rows(record)
    assert len(stored.not_carried) == 65 and stored.not_carried[-1] == "more 1937 fields not listed"
    assert max(len(line) for line in stored.not_carried) <= 200
    assert stored.flow_id == "f" * 128
