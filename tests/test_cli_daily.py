"""Issue 23 (daily use), as a user meets it: exit statuses in CI, hooks, annotations, messages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .builders import REPO, request_xml

MEETINGS = REPO / "examples" / "12-lst-summary-meeting-clean.xml"  # one WX601 (info) only


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "proxy_addon.cli", *args], capture_output=True, text=True,
                          cwd=cwd or REPO, timeout=60)


def test_info_findings_are_shown_but_do_not_fail_by_default(tmp_path):
    result = cli("check", str(MEETINGS), cwd=tmp_path)
    assert "WX601 [info]" in result.stdout
    assert result.returncode == 0


@pytest.mark.parametrize(("level", "status"), [("info", 1), ("warning", 0), ("error", 0)])
def test_fail_on_flag(tmp_path, level, status):
    assert cli("check", "--fail-on", level, str(MEETINGS), cwd=tmp_path).returncode == status


def test_fail_on_error_lets_warnings_pass_and_the_flag_beats_the_file(tmp_path):
    (tmp_path / "meeting.xml").write_bytes(request_xml(
        "CreateMeeting", "<enableOptions>\n  <HQvideo>true</HQvideo>\n</enableOptions>", package="meeting"))
    assert cli("check", str(tmp_path), cwd=tmp_path).returncode == 1  # WX301 is a warning
    (tmp_path / "webex-xml-lint.toml").write_text('fail-on = "error"\n')
    assert cli("check", str(tmp_path), cwd=tmp_path).returncode == 0
    assert cli("check", "--fail-on", "warning", str(tmp_path), cwd=tmp_path).returncode == 1


def test_bad_fail_on_names_the_key(tmp_path):
    (tmp_path / "webex-xml-lint.toml").write_text('fail-on = "never"\n')
    result = cli("check", str(MEETINGS), cwd=tmp_path)
    assert result.returncode == 2
    assert "fail-on = 'never' is not error, warning or info" in result.stderr


def test_force_exclude_applies_the_excludes_and_the_message_sniff_to_named_files(tmp_path):
    (tmp_path / "pom.xml").write_text("<project><modelVersion>4.0.0</modelVersion></project>\n")
    (tmp_path / "legacy").mkdir()
    (tmp_path / "legacy" / "meeting.xml").write_bytes(MEETINGS.read_bytes())
    (tmp_path / "webex-xml-lint.toml").write_text('extend-exclude = ["legacy/"]\nfail-on = "info"\n')
    named = ["pom.xml", "legacy/meeting.xml"]
    plain = cli("check", *named, cwd=tmp_path)
    assert plain.returncode == 1 and "WX003" in plain.stdout and "WX601" in plain.stdout
    forced = cli("check", "--force-exclude", *named, cwd=tmp_path)
    assert (forced.returncode, forced.stdout, forced.stderr) == (0, "", "")
    (tmp_path / "webex-xml-lint.toml").write_text('force-exclude = true\nfail-on = "info"\n')
    configured = cli("check", *named, cwd=tmp_path)
    assert configured.returncode == 1 and "WX601" in configured.stdout and "WX003" not in configured.stdout


def _browser_har(bodies: list[bytes]) -> str:
    """A HAR as a browser saves it (indented), one POST per body, each entry's start marked by its time."""
    entries = [{
        "startedDateTime": f"2024-05-01T10:00:0{i}Z", "time": 1,
        "request": {"method": "POST", "url": "https://acme.webex.com/WBXService/XMLService", "httpVersion": "HTTP/1.1",
                    "headers": [{"name": "Content-Type", "value": "text/xml"}], "queryString": [], "cookies": [],
                    "headersSize": -1, "bodySize": len(body),
                    # a body's own braces and an "entries" key must not move the count
                    "postData": {"mimeType": "text/xml", "text": body.decode(), "comment": '{"entries": [{}]'}},
        "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1", "headers": [], "cookies": [],
                     "content": {"size": 0, "mimeType": "text/xml"}, "redirectURL": "", "headersSize": -1,
                     "bodySize": 0},
        "cache": {}, "timings": {"send": 0, "wait": 1, "receive": 0},
    } for i, body in enumerate(bodies)]
    return json.dumps({"log": {"version": "1.2", "creator": {"name": "test", "version": "1"}, "pages": [],
                               "entries": entries}}, indent=2)


def _entry_line(har: str, index: int) -> int:
    """The line of entry `index`'s opening brace: the line before its startedDateTime."""
    marker = f'"startedDateTime": "2024-05-01T10:00:0{index}Z"'
    return har[:har.index(marker)].count("\n")  # 1-based line of the marker, minus one


def test_findings_inside_a_har_point_at_the_entry_in_sarif_and_github_annotations(tmp_path):
    clean = request_xml("GetUser", "<webExId>a@acme.com</webExId>")
    hq = request_xml("CreateMeeting", "<enableOptions>\n  <HQvideo>true</HQvideo>\n</enableOptions>", package="meeting")
    har = _browser_har([clean, hq])
    (tmp_path / "browser.har").write_text(har)
    wanted = _entry_line(har, 1)
    assert wanted > 20  # far below the embedded message's own line numbers
    sarif = json.loads(cli("check", "--format", "sarif", "browser.har", cwd=tmp_path).stdout)
    results = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "WX301"]
    (result,) = results
    (location,) = result["locations"]
    assert location["physicalLocation"]["region"]["startLine"] == wanted
    assert location["logicalLocations"] == [{"name": "entry 1 request", "kind": "element"}]
    own = (result["properties"]["messageLine"], result["properties"]["messageColumn"])
    assert own[0] < 20 and result["message"]["text"].startswith(f"entry 1 request, message line {own[0]}, column {own[1]}: ")
    github = cli("check", "--format", "github", "browser.har", cwd=tmp_path).stdout
    (line,) = [text for text in github.splitlines() if "WX301" in text]
    assert f"file=browser.har,line={wanted},col=1," in line and "::entry 1 request, message line" in line


def test_findings_inside_a_flow_dump_point_at_the_file_with_the_flow_named(tmp_path):
    from mitmproxy import io
    from mitmproxy.test import tflow

    flow = tflow.tflow(resp=True)
    flow.request.path = "/WBXService/XMLService"
    flow.request.content = request_xml("CreateMeeting", "<enableOptions>\n  <HQvideo>true</HQvideo>\n</enableOptions>",
                                       package="meeting")
    with open(tmp_path / "capture.flows", "wb") as stream:
        io.FlowWriter(stream).add(flow)
    github = cli("check", "--format", "github", "capture.flows", cwd=tmp_path).stdout
    (line,) = [text for text in github.splitlines() if "WX301" in text]
    assert "file=capture.flows,line=1,col=1," in line and "::flow 0 request, message line" in line


@pytest.mark.parametrize("where", ["flag", "file"])
def test_an_unknown_api_version_is_an_error_naming_the_known_releases(tmp_path, where):
    args = ["--api-version", "39.99"] if where == "flag" else []
    if where == "file":
        (tmp_path / "webex-xml-lint.toml").write_text('api-version = "39.99"\n')
    result = cli("check", *args, str(MEETINGS), cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    assert "39.99: not a known XML API release" in result.stderr
    from proxy_addon.core.versions import format_version, known_releases

    for release, _source in known_releases():
        assert format_version(release) in result.stderr


@pytest.mark.parametrize("version", ["39.11", "11.0 SP13", "11.0 SP19", "42.11.1"])
def test_known_releases_and_service_packs_between_them_are_accepted(tmp_path, version):
    assert cli("check", "--api-version", version, str(MEETINGS), cwd=tmp_path).returncode == 0
