"""The report's migration plan, per client application (issue 20 item 4): one row per application
(address + user agent) with its webExIDs as a column, message files grouped as "repository files",
each deprecated call with the REST request that replaces it, the auth change; the end of life said
to have passed. Checked in the rendered page and in a real headless Chromium."""

from __future__ import annotations

import json

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


def test_the_plan_columns_and_their_links_in_headless_chromium(report, tmp_path):
    _, _, path = report
    dumped = run_chromium("--dump-dom", path.as_uri(), profile=tmp_path / "profile").stdout.decode()
    tree = lxml_html.fromstring(dumped)
    [first] = tree.xpath(f'//table[@id="migration-plan"]/tbody/tr[@data-application="10.0.0.9 · {APP}"]')
    # Its deprecated calls link to the list of them, one by one, each naming its HAR entry.
    target = first.xpath('.//li[@data-operation="CreateMeeting"]/a/@href')[0][1:]
    [heading] = tree.xpath(f'//h4[@id="{target}"]')
    places = [tr.xpath("string(td[2])") for tr in heading.getnext().xpath(".//tr[@class='occurrence']")]
    assert places == [f"HAR entry {n} · https://acme.webex.com/WBXService/XMLService" for n in range(4)]
    assert first.xpath('.//p[@class="scopes"]/code/text()') == ["meeting:schedules_write"]
    ids = set(tree.xpath("//@id"))
    assert not [href for href in tree.xpath("//a/@href") if href.startswith("#") and href[1:] not in ids]


# -- end to end: the demo's capture and examples/ ------------------------------------------------

@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo as `make demo` runs it: the proxy in front of the simulator fills demo.sqlite."""
    import subprocess
    import sys

    from .builders import REPO

    out = tmp_path_factory.mktemp("demo")
    done = subprocess.run([sys.executable, str(REPO / "examples" / "demo.py"), "--out-dir", str(out)], cwd=REPO,
                          capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr
    return out


@pytest.mark.e2e
def test_migrate_db_on_the_demos_capture(demo, capsys):
    assert main(["migrate", "--db", str(demo / "demo.sqlite"), "--format", "json"]) == 1  # something to move
    plan = json.loads(capsys.readouterr().out)
    assert plan["source"] == "store" and plan["end_of_life_passed_days"] > 900
    [app] = plan["applications"]
    assert app["application"].startswith("127.0.0.1 · ") and not app["repository_files"]
    calls = {call["operation"]: call for call in app["calls"]}
    assert calls["CreateMeeting"]["rest"]["method"] == "POST"
    assert calls["CreateMeeting"]["rest"]["url"] == "https://webexapis.com/v1/meetings"
    assert calls["CreateEvent"]["rest"] is None
    assert {lost["field"] for lost in calls["CreateMeeting"]["not_carried"]} == {
        "enableOptions/HDvideo", "enableOptions/HQvideo", "metaData/meetingType"}
    assert "WX202" in [rule["rule"] for rule in app["rules"]]
    assert [change["from"] for change in app["auth_changes"]] == ["password", "accessToken"]
    assert "keeps no message bodies" in plan["bodies"]


@pytest.mark.e2e
def test_the_reports_plan_on_the_demos_capture_names_proxy_flows(demo):
    with open_store(str(demo / "demo.sqlite"), read_only=True) as store:
        data = collect(store)
    page = render_html(data)
    tree = lxml_html.fromstring(page)
    [row] = tree.xpath('//table[@id="migration-plan"]/tbody/tr')
    target = row.xpath('.//li[@data-operation="CreateMeeting"]/a/@href')[0][1:]
    places = [tr.xpath("string(td[2])") for tr in tree.xpath(f'//h4[@id="{target}"]')[0].getnext()
              .xpath(".//tr[@class='occurrence']")]
    assert places and all(place.startswith("proxy flow ") and len(place) > len("proxy flow ") for place in places)
    for secret in ("P@ssword1234", "Gl0bex-admin-pw"):
        assert secret not in page


def test_the_store_plan_of_examples_agrees_with_migrate_on_the_files(tmp_path, capsys):
    """What the store says would not survive (names kept at audit time) is what `migrate` finds
    in the bodies themselves, request by request."""
    from .builders import REPO

    examples = str(REPO / "examples")
    main(["audit", examples, "--db", str(tmp_path / "audit.sqlite"), "--jobs", "1"])
    capsys.readouterr()
    assert main(["migrate", "--format", "json", examples]) == 1
    translated = json.loads(capsys.readouterr().out)["requests"]
    assert main(["migrate", "--db", str(tmp_path / "audit.sqlite"), "--format", "json"]) == 1
    plan = json.loads(capsys.readouterr().out)
    [app] = plan["applications"]
    assert app["application"] == "repository files"
    from_store = {(call["operation"], lost["kind"], lost["field"]) for call in app["calls"]
                  for lost in call["not_carried"]}
    from_files = {(item["operation"], lost["kind"], lost["field"]) for item in translated
                  if item["status"] == "translated" for lost in item["lost"] if lost["kind"] in ("gap", "not-mapped")}
    assert from_store == from_files and from_store
    assert {call["operation"] for call in app["calls"]} == {item["operation"] for item in translated
                                                             if item["status"] not in ("not-affected", "unknown")}
