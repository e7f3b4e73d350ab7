"""Issue 13, the report as a newcomer reads it: date labels that never overlap, rule documentation's
`code` as code, a bare siteID named as such, one client across an .xml file, a HAR and a flow dump,
and findings without a time kept in the chart and the inventory. Every test runs the CLI
(`audit ... --report`, `inventory`) and reads what a user would: the HTML, the terminal, the JSON."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import pytest
from lxml import html as lxml_html

from .audit_support import day, har_entry, http_flow, set_user, write_flows, write_har
from .test_cli_check import cli
from .test_report import run_chromium

# A 12 px sans-serif date label in Chromium measures 70 px ("2024-05-01", DejaVu Sans): 7 px a character.
CHAR_PX = 7.0
LEGACY = "LegacyCRM/1.0"
SITE_ID = "5941234567"


def audit(tmp_path: Path, *inputs: Path, extra: tuple[str, ...] = ()) -> tuple[str, Path]:
    """`webex-xml-lint audit INPUT... --db --report` as a user runs it; the report's HTML and the store."""
    db, report = tmp_path / "audit.sqlite", tmp_path / "report.html"
    result = cli("audit", *map(str, inputs), "--db", str(db), "--report", str(report), "--jobs", "1", *extra)
    assert result.returncode == 0, result.stderr.decode()
    return report.read_text(encoding="utf-8"), db


def inventory(db: Path, *args: str) -> str:
    """`inventory` on a wide terminal (rich wraps long cells at the 80 columns of a pipe)."""
    result = subprocess.run([sys.executable, "-m", "proxy_addon.cli", "inventory", "--db", str(db), *args],
                            capture_output=True, timeout=60, env={**os.environ, "COLUMNS": "240"}, check=False)
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout.decode()


def daily_har(path: Path, days: int) -> Path:
    """One SetUser with the deprecated siteID (a WX101 finding) per day, for `days` days."""
    entries = [har_entry(set_user(site_id=SITE_ID, webex_id="legacy"), None, when=day(1, 9).replace(day=1 + n % 28,
               month=5 + n // 28), client="10.0.0.5", agent=LEGACY) for n in range(days)]
    return write_har(path, entries)


def axis_labels(page: str) -> list[tuple[float, str]]:
    tree = lxml_html.fromstring(page)
    texts = tree.xpath('//svg[@id="chart-time"]/text[@text-anchor="middle"]')
    return [(float(text.get("x")), "".join(text.xpath("text()"))) for text in texts]


# -- the date axis ---------------------------------------------------------------------------------


@pytest.mark.parametrize("days", [14, 45, 130])
def test_date_labels_keep_their_distance_at_any_span(tmp_path, days):
    page, _ = audit(tmp_path, daily_har(tmp_path / "daily.har", days))
    labels = axis_labels(page)
    assert len(labels) >= 4, labels  # still a readable axis
    # Labels as wide as the chart font draws them must not touch.
    widths = [len(text) * CHAR_PX for _, text in labels]
    for ((left, _), (right, _)), (a, b) in zip(pairwise(labels), pairwise(widths), strict=True):
        assert right - left >= (a + b) / 2, labels


def test_date_labels_do_not_overlap_in_chromium(tmp_path):
    """14 days: the labels as Chromium lays them out (getBoundingClientRect) are apart, and so is
    the 'no time' column's label."""
    capture = tmp_path / "capture"
    capture.mkdir()
    daily_har(capture / "daily.har", 14)
    (capture / "old.xml").write_bytes(set_user(site_id=SITE_ID, webex_id="legacy"))
    page, _ = audit(tmp_path, capture)
    # The report itself runs no script (its CSP forbids it): the measuring copy drops the policy.
    measured = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page).replace(
        "</body>", """<script>
const boxes = [...document.querySelectorAll('#chart-time text[text-anchor="middle"]')].map(t => {
  const r = t.getBoundingClientRect(); return {text: t.lastChild.textContent, left: r.left, right: r.right, width: r.width}; });
const out = document.createElement('pre'); out.id = 'measured'; out.textContent = JSON.stringify(boxes);
document.body.appendChild(out);
</script></body>""")
    path = tmp_path / "measure.html"
    path.write_text(measured, encoding="utf-8")
    dumped = run_chromium("--dump-dom", "--window-size=1280,2000", path.as_uri(), profile=tmp_path / "profile").stdout
    boxes = json.loads(lxml_html.fromstring(dumped).xpath('string(//pre[@id="measured"])'))
    assert [box["text"] for box in boxes][-1] == "no time" and len(boxes) >= 5, boxes
    assert all(box["width"] > 20 for box in boxes), "the labels are drawn"
    for left, right in pairwise(boxes):
        assert left["right"] < right["left"], (left, right)


# -- rule documentation, site names, clients, undated findings ----------------------------------------


def test_how_to_fix_shows_code_not_backticks(tmp_path):
    page, _ = audit(tmp_path, daily_har(tmp_path / "one.har", 1))
    tree = lxml_html.fromstring(page)
    fix = tree.xpath('//table[@id="checklist"]/tbody/tr[td[2]//a[text()="WX101"]]/td[9]')[0]
    assert "`" not in fix.text_content()
    assert "--fix" in fix.xpath("code/text()") and "--site-id ID=NAME" in fix.xpath("code/text()")
    doc = tree.xpath('//section[@id="wx101-deprecated-site-id"]')[0]
    assert "`" not in "".join(doc.xpath("p//text()")) and doc.xpath("p/code")


def test_a_bare_site_id_says_what_it_is_and_how_to_name_it(tmp_path):
    page, db = audit(tmp_path, daily_har(tmp_path / "one.har", 1))
    tree = lxml_html.fromstring(page)
    (site,) = tree.xpath('//table[@id="site-id-clients"]/tbody/tr/td[3]')
    assert site.text_content() == f"siteID {SITE_ID} — pass --site-id to name it"
    assert site.xpath("code/text()") == ["--site-id"]
    labels = {bar.get("data-label") for bar in tree.xpath('//svg[@id="chart-site"]//rect[contains(@class, "bar")]')}
    assert labels == {f"siteID {SITE_ID}"}
    assert f"siteID {SITE_ID} — pass --site-id to name it" in tree.xpath('string(//div[@class="charts"])')
    text = inventory(db)
    assert f"siteID {SITE_ID} — pass --site-id to name it" in text
    # Named, it is just the site.
    (tmp_path / "named").mkdir()
    named, named_db = audit(tmp_path / "named", daily_har(tmp_path / "one.har", 1), extra=("--site-id", f"{SITE_ID}=acme"))
    tree = lxml_html.fromstring(named)
    assert [td.text_content() for td in tree.xpath('//table[@id="site-id-clients"]/tbody/tr/td[3]')] == ["acme"]
    assert "to name it" not in named and "to name it" not in inventory(named_db)


@pytest.fixture
def one_client_three_inputs(tmp_path) -> Path:
    """The legacy CRM in a message saved as .xml (no address, no user agent), in a browser HAR (no
    address) and in a flow dump (all three)."""
    capture = tmp_path / "capture"
    capture.mkdir()
    message = set_user(site_id=SITE_ID, webex_id="legacy")
    (capture / "saved.xml").write_bytes(message)
    write_har(capture / "devtools.har", [har_entry(message, None, when=day(2), client=None, agent=LEGACY)])
    write_flows(capture / "proxy.flow", [http_flow(message, None, when=day(3).timestamp(), client=("10.0.0.5", 4000),
                                                   agent=LEGACY)])
    return capture


def test_one_client_in_an_xml_file_a_har_and_a_flow_dump_counts_once(tmp_path, one_client_three_inputs):
    page, db = audit(tmp_path, one_client_three_inputs)
    tree = lxml_html.fromstring(page)
    cards = {card.xpath("string(span)"): card.xpath("string(b)") for card in tree.xpath('//div[@class="card"]')}
    assert cards["clients (address, user agent, webExID)"] == "1"
    (row,) = tree.xpath('//table[@id="checklist"]/tbody/tr[td[2]//a[text()="WX101"]]')
    assert row.xpath("string(td[5])") == "1" and row.xpath("string(td[6])") == "3"
    (client,) = tree.xpath('//table[@id="site-id-clients"]/tbody/tr')
    assert [td.text_content() for td in client.xpath("td")][:2] == [f"10.0.0.5 · {LEGACY}", "legacy"]
    assert client.xpath("string(td[5])") == "3"
    assert len(tree.xpath('//table[@id="migration-credentials"]/tbody/tr')) == 1
    data = json.loads(inventory(db, "--format", "json"))
    assert data["summary"]["clients"] == 1
    assert {item["rule"]: item["clients"] for item in data["checklist"]}["WX101"] == 1


def test_a_partial_client_that_could_be_either_of_two_stays_apart(tmp_path, one_client_three_inputs):
    """A second address sends as the same webExID: the .xml file's message could be either, so it is
    counted as a client of its own rather than guessed into one."""
    message = set_user(site_id=SITE_ID, webex_id="legacy")
    write_har(one_client_three_inputs / "other.har",
              [har_entry(message, None, when=day(4), client="10.0.0.9", agent=LEGACY)])
    _, db = audit(tmp_path, one_client_three_inputs)
    data = json.loads(inventory(db, "--format", "json"))
    # 10.0.0.5 (the flow dump), 10.0.0.9, and the two partial senders that could be either: the .xml
    # file's and the address-less HAR's.
    assert data["summary"]["clients"] == 4


def test_findings_without_a_time_stay_in_the_chart_and_the_inventory(tmp_path, one_client_three_inputs):
    page, db = audit(tmp_path, one_client_three_inputs)
    tree = lxml_html.fromstring(page)
    bars = tree.xpath('//svg[@id="chart-time"]//rect[contains(@class, "bar")]')
    by_label = {bar.get("data-label"): int(bar.get("data-value")) for bar in bars}
    findings = int(tree.xpath('string(//div[@class="card"][2]/b)'))
    assert by_label["no time"] >= 1 and sum(by_label.values()) == findings
    assert "carry no time" in tree.xpath('string(//div[@class="charts"])')
    text = inventory(db)
    (line,) = [line for line in text.splitlines() if "no time (plain .xml files)" in line]
    assert re.search(rf"\b{by_label['no time']}\b", line)
    data = json.loads(inventory(db, "--format", "json"))
    assert [row["key"] for row in data["by_day"]][-1] is None
    assert sum(sum(row["counts"].values()) for row in data["by_day"]) == findings


def test_only_undated_findings_still_draw_the_timeline(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "saved.xml").write_bytes(set_user(site_id=SITE_ID, webex_id="legacy"))
    page, _ = audit(tmp_path, tmp_path / "in")
    tree = lxml_html.fromstring(page)
    assert {bar.get("data-label") for bar in tree.xpath('//svg[@id="chart-time"]//rect[contains(@class, "bar")]')} \
        == {"no time"}
