"""The HTML report: self-contained, its sections and numbers match the store, and it renders in a
real headless Chromium (DOM dump + screenshot kept as artifacts/report.png)."""

from __future__ import annotations

import re
import struct
import subprocess
import zlib
from collections import Counter
from pathlib import Path

import pytest
from lxml import html as lxml_html

from proxy_addon.audit.pipeline import run_audit
from proxy_addon.audit.report import collect, render_html
from proxy_addon.audit.store import open_store
from proxy_addon.lint.context import LintContext
from proxy_addon.lint.engine import Linter

from .audit_support import PASSWORD, TICKET, day, har_entry, mixed_capture, write_har
from .builders import REPO, request_xml

CHROMIUM_FILE = REPO / ".pytest-services" / "chromium.path"
ARTIFACTS = REPO / "artifacts"
WARNING_RGB = (0xEF, 0x8F, 0x00)
DEPRECATED_RGB = (0xD6, 0x45, 0x45)  # the migration section's share bar
NOT_AFFECTED_RGB = (0x3C, 0x9A, 0x4C)
SCHEDULER = "SchedulerApp/2.1"


def scheduler_capture(folder: Path) -> None:
    """A scheduling integration still on the Meetings XML API: two CreateMeeting and a
    LstsummaryMeeting with a password, then a GetUser with a session ticket (days with findings
    already, so the timeline keeps its days)."""
    with_password = f"<siteName>acme</siteName><webExID>scheduler</webExID><password>{PASSWORD}</password>"
    with_ticket = f"<siteName>acme</siteName><webExID>scheduler</webExID><sessionTicket>{TICKET}</sessionTicket>"
    meeting = request_xml("CreateMeeting", "<metaData><confName>Weekly</confName></metaData>", package="meeting",
                          security=with_password)
    listing = request_xml("LstsummaryMeeting", "", package="meeting", security=with_password)
    user = request_xml("GetUser", "<webExId>jdoe</webExId>", security=with_ticket)
    write_har(folder / "scheduler.har", [
        har_entry(meeting, None, when=day(1, 10), client="10.0.0.7", agent=SCHEDULER),
        har_entry(meeting.replace(b"Weekly", b"Monthly"), None, when=day(4, 10), client="10.0.0.7", agent=SCHEDULER),
        har_entry(listing, None, when=day(5, 10), client="10.0.0.7", agent=SCHEDULER),
        har_entry(user, None, when=day(5, 11), client="10.0.0.7", agent=SCHEDULER),
    ])


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    capture = mixed_capture(folder / "capture")
    (capture / "cut.har").write_text('{"log": {"entries": [')
    scheduler_capture(capture)
    context = LintContext(ci_sites=frozenset({"acme"}), site_ids={"5941234567": "acme"})
    store = open_store(str(folder / "audit.sqlite"))
    store.record_sites(context.ci_sites, "--ci-site")
    run_audit([str(capture)], store, Linter(), context, jobs=1)
    data = collect(store)
    page = render_html(data)
    path = folder / "report.html"
    path.write_text(page, encoding="utf-8")
    yield store, data, page, path
    store.close()


def chart_values(tree, chart_id: str) -> dict[tuple[str, str], int]:
    bars = tree.xpath(f'//svg[@id="{chart_id}"]//rect[contains(@class, "bar")]')
    return {(bar.get("data-label"), bar.get("data-severity")): int(bar.get("data-value")) for bar in bars}


def test_the_report_loads_nothing_from_anywhere(audited):
    _, _, page, _ = audited
    assert "<script" not in page and "<link" not in page and "@import" not in page and "url(" not in page
    assert not re.search(r"""src\s*=""", page), "nothing embedded from elsewhere"
    tree = lxml_html.fromstring(page)
    ids = set(tree.xpath("//@id"))
    links = tree.xpath("//a/@href")
    inside = [link for link in links if link.startswith("#")]
    assert inside and all(link[1:] in ids for link in inside), "every checklist link has its rule documentation"
    # The only links out are the REST documentation the migration section points to (followed by a
    # reader, never loaded by the page).
    outside = {href for href in tree.xpath('//table[@id="migration-replacements"]//a/@href') if not href.startswith("#")}
    assert outside and set(links) - set(inside) == outside and all(u.startswith("https://") for u in outside)


def test_charts_hold_the_stores_numbers(audited):
    store, data, page, _ = audited
    tree = lxml_html.fromstring(page)
    by_rule = chart_values(tree, "chart-rule")
    expected = {(row.key, sev): n for row in store.breakdown("rule") for sev, n in row.counts.items() if n}
    assert by_rule == expected and by_rule
    assert sum(chart_values(tree, "chart-site").values()) == data.summary["findings"]
    assert sum(chart_values(tree, "chart-operation").values()) == data.summary["findings"]
    days = chart_values(tree, "chart-time")
    # The .xml files' findings carry no time: a column of their own, so the chart holds every finding.
    assert {label for label, _ in days} == {"2024-05-01", "2024-05-04", "2024-05-05", "no time"}
    assert sum(days.values()) == data.summary["findings"]
    # Days without findings in between are drawn as gaps, with their labels on the axis.
    assert "2024-05-02" in tree.xpath('string(//svg[@id="chart-time"])')


def test_sections_name_the_legacy_clients_the_ci_fields_and_the_bad_inputs(audited):
    _, data, page, _ = audited
    tree = lxml_html.fromstring(page)
    clients = [row.text_content() for row in tree.xpath('//table[@id="site-id-clients"]/tbody/tr')]
    assert any("10.0.0.5 · LegacyCRM/1.0" in row and "5941234567" in row for row in clients)
    ci = tree.xpath('string(//div[@id="ci-fields"])')
    assert "acme" in ci and "<email>" in ci and "<timeZone>" in ci
    assert "cut.har" in tree.xpath('string(//table[@id="input-errors"])')
    checklist = [row.xpath("string(td[2])").split()[0] for row in tree.xpath('//table[@id="checklist"]/tbody/tr')]
    assert checklist == [item.rule for item in data.checklist]
    assert set(checklist) >= {"WX101", "WX201"}


def test_migration_section_names_the_deprecated_calls_their_clients_and_replacements(audited):
    store, data, page, _ = audited
    tree = lxml_html.fromstring(page)
    migration = data.migration
    requests = store.summary()["requests"]
    assert migration.requests == requests == 11
    assert migration.by_status == {"deprecated": 3, "not-affected": 8, "unknown": 0}
    assert "73%" in tree.xpath('string(//p[@id="migration-share"])')  # 8 of 11 on user management
    bar = {span.get("data-status"): int(span.get("data-value"))
           for span in tree.xpath('//div[@id="migration-share-bar"]/span')}
    assert bar == {"deprecated": 3, "not-affected": 8}
    groups = [[cell.text_content() for cell in row.xpath("td")]
              for row in tree.xpath('//table[@id="migration-groups"]/tbody/tr')]
    assert groups == [["meeting", "deprecated", "2", "3"], ["user", "not affected", "3", "8"]]
    (client,) = tree.xpath('//table[@id="migration-clients"]/tbody/tr')
    cells = [cell.text_content() for cell in client.xpath("td")]
    assert cells[:4] == [f"10.0.0.7 · {SCHEDULER}", "scheduler", "CreateMeeting (2), LstsummaryMeeting (1)", "3 / 4"]
    assert cells[4].startswith("2024-05-01 10:") and cells[5].startswith("2024-05-05 10:")  # the deprecated calls only
    replacements = {row.xpath("string(td[1])"): (row.xpath("string(td[5])"), row.xpath("string(td[5]//a/@href)"))
                    for row in tree.xpath('//table[@id="migration-replacements"]/tbody/tr')}
    assert replacements == {"CreateMeeting": ("Meetings: Create a Meeting", "https://developer.webex.com/docs/meetings"),
                            "LstsummaryMeeting": ("Meetings: List Meetings", "https://developer.webex.com/docs/meetings")}
    credentials = {row.xpath("string(td[1])") + "|" + row.xpath("string(td[2])"): row.xpath("string(td[3])")
                   for row in tree.xpath('//table[@id="migration-credentials"]/tbody/tr')}
    assert credentials[f"10.0.0.7 · {SCHEDULER}|scheduler"] == "3"  # the GetUser used a ticket
    assert PASSWORD not in page and TICKET not in page


def test_inventory_json_carries_the_migration_section(audited, tmp_path):
    import json

    from .test_cli_check import cli

    store, data, _, _ = audited
    result = cli("inventory", "--db", store.url, "--format", "json")
    assert result.returncode == 0, result.stderr
    inventory = json.loads(result.stdout)
    output = result.stdout.decode()
    migration = inventory["migration"]
    assert migration["by_status"] == data.migration.by_status and migration["end_of_life"] == "2024-03-31"
    (client,) = migration["clients"]
    assert (client["user_agent"], client["deprecated_requests"]) == (SCHEDULER, 3)
    assert [op["operation"] for op in client["operations"]] == ["CreateMeeting", "LstsummaryMeeting"]
    assert {c["webex_id"]: c["password_requests"] for c in migration["credentials"]}["scheduler"] == 3
    assert PASSWORD not in output and TICKET not in output
    assert {entry["source"] for entry in inventory["inputs"]} == {entry["source"] for entry in data.inputs}
    assert inventory["end_of_life_passed_days"] == data.migration.end_of_life_passed(inventory["generated_at"]) > 0
    located = {entry["rule"]: entry for entry in inventory["findings"]}
    assert {entry.rule for entry in data.findings_index} == set(located)
    shown = [occurrence for entry in located.values() for group in entry["groups"] for occurrence in group["shown"]]
    assert shown and all(occurrence["source"] for occurrence in shown)
    text = cli("inventory", "--db", store.url).stdout.decode()
    assert "Migration readiness" in text and "Clients still sending passwords" in text


def test_checklist_is_ordered_by_impact(audited):
    _, data, _, _ = audited
    impacts = [item.impact for item in data.checklist]
    assert impacts == sorted(impacts, reverse=True)


def test_an_empty_store_gives_a_report_that_says_so(tmp_path):
    with open_store(str(tmp_path / "empty.sqlite")) as store:
        page = render_html(collect(store))
    assert "Nothing to fix: no findings." in page and "<svg" not in page


def chromium() -> str:
    if not CHROMIUM_FILE.is_file():
        pytest.skip(f"no Chromium: {CHROMIUM_FILE} is absent (tests/services.sh writes it; run `make test`)")
    return CHROMIUM_FILE.read_text().strip()


def run_chromium(*args: str, profile: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
         "--hide-scrollbars", *args], capture_output=True, timeout=120, check=True)


def png_pixels(data: bytes) -> tuple[int, int, list[tuple[int, int, int]]]:
    """Width, height and RGB pixels of an 8-bit RGB/RGBA PNG (what Chromium writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, chunks, header = 8, [], None
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        body = data[position + 8:position + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            chunks.append(body)
        position += 12 + length
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0
    channels = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(b"".join(chunks)), width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up, corner = previous[i], previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + up) & 255
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 255
        rows.append(line)
        previous = line
    pixels = [tuple(row[x:x + 3]) for row in rows for x in range(0, stride, channels)]
    return width, height, pixels


def test_the_report_renders_in_headless_chromium(audited, tmp_path):
    _, data, _, path = audited
    dumped = run_chromium("--dump-dom", path.as_uri(), profile=tmp_path / "profile-dom").stdout.decode()
    tree = lxml_html.fromstring(dumped)
    assert tree.xpath("string(//h1)") == "Webex XML API migration audit"
    charts = tree.xpath("//svg[contains(@class, 'chart')]")
    assert [chart.get("id") for chart in charts] == ["chart-rule", "chart-site", "chart-operation", "chart-time"]
    for chart in charts:
        values = [int(v) for v in chart.xpath(".//rect[contains(@class, 'bar')]/@data-value")]
        assert values and all(v > 0 for v in values), chart.get("id")
    assert sum(chart_values(tree, "chart-rule").values()) == data.summary["findings"]
    assert tree.xpath('string(//h2[@id="migration-readiness"])') == "Migration readiness"
    assert len(tree.xpath('//table[@id="migration-clients"]/tbody/tr')) == len(data.migration.clients) == 1

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report.png"  # the whole report, for people to look at
    shot.unlink(missing_ok=True)
    run_chromium(f"--screenshot={shot}", "--window-size=1280,4800", path.as_uri(), profile=tmp_path / "profile-png")
    assert struct.unpack(">II", shot.read_bytes()[16:24]) == (1280, 4800)
    # The same page at half scale, decoded (a small image decodes quickly): the bars are really drawn.
    small = tmp_path / "small.png"
    # The page is as tall as the migration plan makes it: 4,800 pixels reach the charts below it.
    run_chromium(f"--screenshot={small}", "--window-size=1280,4800", "--force-device-scale-factor=0.5",
                 path.as_uri(), profile=tmp_path / "profile-small")
    width, height, pixels = png_pixels(small.read_bytes())
    assert (width, height) == (640, 2400)
    colours = Counter(pixels)
    assert colours[WARNING_RGB] > 1000, colours.most_common(5)
    # The migration section's share bar is drawn: deprecated and not-affected traffic side by side.
    assert colours[DEPRECATED_RGB] > 100 and colours[NOT_AFFECTED_RGB] > 100, colours.most_common(8)
    assert len(colours) > 50, "not a blank page"
