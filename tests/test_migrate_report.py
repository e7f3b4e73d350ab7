"""The report's migration plan, per client application (issue 20 item 4): one row per application
(address + user agent) with its webExIDs as a column, message files grouped as "repository files",
each deprecated call with the REST request that replaces it, the auth change; the end of life said
to have passed. Checked in the rendered page and in a real headless Chromium."""

from __future__ import annotations

import pytest
from lxml import html as lxml_html

from proxy_addon.audit.report import collect, render_html
from proxy_addon.audit.store import open_store
from proxy_addon.cli import main

from .audit_support import PASSWORD, day, har_entry, write_har
from .builders import request_xml
from .test_report import run_chromium

APP = "LegacyScheduler/3.0"


def _security(webex_id: str) -> str:
    return f"<siteName>acme</siteName><webExID>{webex_id}</webExID><password>{PASSWORD}</password>"


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("plan")
    capture = folder / "capture"
    capture.mkdir()
    create = request_xml("CreateMeeting", "<metaData><confName>Weekly</confName></metaData>", package="meeting",
                         security=_security("alice"))
    delete = request_xml("DelMeeting", "<meetingKey>123</meetingKey>", package="meeting", security=_security("bob"))
    event = request_xml("CreateEvent", "<metaData><sessionName>Launch</sessionName></metaData>", package="event",
                        security=_security("bob"))
    write_har(capture / "scheduler.har", [
        har_entry(create, None, when=day(1), client="10.0.0.9", agent=APP),
        har_entry(create, None, when=day(2), client="10.0.0.9", agent=APP),
        har_entry(delete, None, when=day(3), client="10.0.0.9", agent=APP),
        har_entry(event, None, when=day(3), client="10.0.0.9", agent=APP),
    ])
    (capture / "samples").mkdir()
    (capture / "samples" / "get-meeting.xml").write_bytes(
        request_xml("GetMeeting", "<meetingKey>1</meetingKey>", package="meeting", security=_security("carol")))
    # Through the command, as a migration lead runs it (its options are stabler than run_audit's signature).
    main(["audit", str(capture), "--db", str(folder / "audit.sqlite"), "--jobs", "1"])
    store = open_store(str(folder / "audit.sqlite"))
    data = collect(store)
    page = render_html(data)
    store.close()
    path = folder / "report.html"
    path.write_text(page, "utf-8")
    return data, page, path


def test_one_plan_per_application_with_its_webex_ids_and_repository_files_apart(report):
    data, _, _ = report
    plans = data.migration.plans
    assert [plan.application for plan in plans] == [f"10.0.0.9 · {APP}", "repository files"]
    app, files = plans
    assert app.webex_ids == ["alice", "bob"] and not app.repository_files and files.repository_files
    calls = {call["operation"]: (call["requests"], call["rest"]) for call in app.calls}
    assert calls == {"CreateMeeting": (2, "POST /meetings"), "DelMeeting": (1, "DELETE /meetings/{meetingId}"),
                     "CreateEvent": (1, None)}
    assert [change["from"] for change in app.auth_changes] == ["password"]
    assert app.credentials["password"] == 4


def test_the_end_of_life_is_said_to_have_passed(report):
    data, page, _ = report
    assert data.migration.end_of_life_passed(data.generated_at) > 900  # 2024-03-31 -> this machine's clock
    tree = lxml_html.fromstring(page)
    assert "The end of life (2024-03-31) has passed" in tree.xpath('string(//p[@id="migration-eol"])')


def test_the_plan_renders_in_headless_chromium(report, tmp_path):
    data, _, path = report
    dumped = run_chromium("--dump-dom", path.as_uri(), profile=tmp_path / "profile").stdout.decode()
    tree = lxml_html.fromstring(dumped)
    rows = tree.xpath('//table[@id="migration-plan"]/tbody/tr')
    assert [row.get("data-application") for row in rows] == [f"10.0.0.9 · {APP}", "repository files"]
    first = rows[0]
    assert first.xpath("string(td[2])") == "alice, bob"
    calls = {li.get("data-operation"): li.text_content() for li in first.xpath(".//li")}
    assert "POST /meetings" in calls["CreateMeeting"] and "no REST request" in calls["CreateEvent"]
    assert first.xpath('.//p[@class="auth-change"]/@data-from') == ["password"]
    assert PASSWORD not in dumped
