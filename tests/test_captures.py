"""Capture readers: .xml files and folders, HAR exports, mitmproxy flow dumps, and bad inputs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from proxy_addon.inputs import CaptureError, Exchange, read_inputs

from .audit_support import (
    ACCESS_TOKEN,
    PASSWORD,
    URL,
    day,
    har_entry,
    http_flow,
    set_user,
    untyped_response,
    write_flows,
    write_har,
)
from .builders import REPO, response_xml


def split(items):
    exchanges = [item for item in items if isinstance(item, Exchange)]
    errors = [item for item in items if isinstance(item, CaptureError)]
    return exchanges, errors


def test_folders_are_searched_recursively_for_captures_only(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "deep.xml").write_bytes(set_user())
    (tmp_path / "top.XML").write_bytes(set_user("beta"))
    (tmp_path / "readme.txt").write_text("<not a capture/>")
    exchanges, errors = split(list(read_inputs([str(tmp_path)])))
    assert errors == []
    sources = sorted(Path(e.messages[0].source).name for e in exchanges)
    assert sources == ["deep.xml", "top.XML"]
    message = exchanges[0].messages[0]
    assert message.direction is None and message.locator == "" and message.data.startswith(b"<?xml")


def test_a_missing_input_is_reported_and_the_rest_is_read(tmp_path):
    (tmp_path / "ok.xml").write_bytes(set_user())
    exchanges, errors = split(list(read_inputs([str(tmp_path / "missing.har"), str(tmp_path)])))
    assert len(exchanges) == 1
    assert [str(e) for e in errors] == [f"{tmp_path / 'missing.har'}: no such file or folder"]


def test_an_unreadable_file_is_reported_by_name():
    # Root reads any file whatever its mode; /proc/self/mem at offset 0 fails with EIO for everyone.
    exchanges, errors = split(list(read_inputs(["/proc/self/mem"])))
    if not errors:
        pytest.skip("/proc/self/mem is readable on this kernel")
    assert exchanges == []
    assert str(errors[0]).startswith("/proc/self/mem: cannot read:")


def test_devtools_har_gives_paired_exchanges_with_time_client_agent_and_charset(tmp_path):
    request = set_user(fields="<firstName>Zoë</firstName>", encoding="ISO-8859-1")
    har = write_har(tmp_path / "devtools.har", [
        har_entry(request, untyped_response(), when=day(1), client="10.0.0.5", agent="CRM/1.0", charset="ISO-8859-1"),
        {"startedDateTime": day(1).isoformat(), "time": 3, "request": {"method": "GET", "url": "https://cdn/x.png",
         "headers": []}, "response": {"status": 200, "headers": [], "content": {"text": "AAAA", "encoding": "base64"}}},
    ])
    exchanges, errors = split(list(read_inputs([str(har)])))
    assert errors == []
    assert len(exchanges) == 1, "the image entry is not XML API traffic"
    sent, answer = exchanges[0].messages
    assert (sent.direction, answer.direction) == ("request", "response")
    assert sent.locator == answer.locator == "entry 0"
    assert sent.data == request, "ISO-8859-1 text is re-encoded as the client sent it"
    assert sent.http_charset == "iso-8859-1"
    assert sent.client_address == "10.0.0.5" and sent.user_agent == "CRM/1.0"
    assert sent.time == day(1).timestamp()
    assert answer.time == pytest.approx(day(1).timestamp() + 0.1205)
    assert answer.data == untyped_response()


def test_base64_bodies_and_fiddler_bom_are_read(tmp_path):
    har = write_har(tmp_path / "fiddler.har", [
        har_entry(set_user(), response_xml("SetUser", prefix="use", area="user"), when=day(2), base64_response=True),
    ], bom=True)
    exchanges, errors = split(list(read_inputs([str(har)])))
    assert errors == []
    assert exchanges[0].messages[1].data == response_xml("SetUser", prefix="use", area="user")


def test_mitmproxy_save_har_output_is_read(tmp_path):
    from mitmproxy.addons.savehar import SaveHar

    flow = http_flow(set_user(), untyped_response(), when=day(3).timestamp())
    har = tmp_path / "save.har"
    har.write_text(json.dumps(SaveHar().make_har([flow])))
    exchanges, errors = split(list(read_inputs([str(har)])))
    assert errors == []
    sent, answer = exchanges[0].messages
    assert sent.data == set_user() and answer.data == untyped_response()
    assert sent.user_agent == "mitm-client/1.0"
    assert sent.time == pytest.approx(day(3).timestamp())


def test_a_bad_har_entry_is_reported_with_its_index_and_the_others_are_kept(tmp_path):
    good = har_entry(set_user(), None, when=day(1))
    har = write_har(tmp_path / "partly.har", [good, {"startedDateTime": "yesterday", "request": {"url": URL, "method": "POST"}}, good])
    exchanges, errors = split(list(read_inputs([str(har)])))
    assert [e.messages[0].locator for e in exchanges] == ["entry 0", "entry 2"]
    assert len(errors) == 1 and errors[0].locator == "entry 1"
    assert str(errors[0]) == f"{har}: entry 1: unusable HAR entry: Invalid isoformat string: 'yesterday'"


def test_a_truncated_har_keeps_every_complete_entry_and_names_the_line(tmp_path):
    entries = [har_entry(set_user(webex_id=f"user{i}@acme.com"), untyped_response(), when=day(1)) for i in range(5)]
    whole = write_har(tmp_path / "whole.har", entries).read_text()
    cut = whole.index('"startedDateTime"', whole.index("user3@acme.com") - 3000)
    truncated = tmp_path / "cut.har"
    truncated.write_text(whole[:cut + 40])
    exchanges, errors = split(list(read_inputs([str(truncated)])))
    expected = whole[:cut + 40].count('"startedDateTime"') - 1
    assert len(exchanges) == expected >= 2
    assert len(errors) == 1
    line = whole[:cut + 40].count("\n") + 1
    assert f"{truncated}: invalid or truncated JSON at line {line} column" in str(errors[0])
    assert f"({expected} complete entries before it were read)" in str(errors[0])


def test_json_that_is_not_a_har_is_an_error(tmp_path):
    other = tmp_path / "config.har"
    other.write_text('{"name": "not a har"}')
    exchanges, errors = split(list(read_inputs([str(other)])))
    assert exchanges == [] and str(errors[0]) == f"{other}: not a HAR file: no log.entries list"


def test_flow_dump_gives_client_address_times_and_pairs(tmp_path):
    dump = write_flows(tmp_path / "capture.flow", [
        http_flow(set_user(), untyped_response(), when=day(4).timestamp(), client=("10.9.8.7", 5000)),
        http_flow(set_user("beta"), None, when=day(5).timestamp()),
        http_flow(b"{}", b"{}", when=day(5).timestamp(), url="https://api.example.com/other"),
    ])
    exchanges, errors = split(list(read_inputs([str(dump)])))
    assert errors == []
    assert [len(e.messages) for e in exchanges] == [2, 1], "the non-XML API flow is skipped"
    sent, answer = exchanges[0].messages
    assert sent.client_address == "10.9.8.7" and sent.user_agent == "mitm-client/1.0"
    assert sent.time == day(4).timestamp() and answer.time == pytest.approx(day(4).timestamp() + 0.2)
    assert sent.http_charset == "utf-8" and sent.locator == "flow 0" and answer.direction == "response"
    assert sum(e.weight for e in exchanges) <= dump.stat().st_size


def test_a_truncated_flow_dump_keeps_the_flows_before_the_damage(tmp_path):
    dump = write_flows(tmp_path / "cut.flow", [http_flow(set_user(), None, when=day(1).timestamp() + i) for i in range(3)])
    data = dump.read_bytes()
    dump.write_bytes(data[:-25])
    exchanges, errors = split(list(read_inputs([str(dump)])))
    assert len(exchanges) == 2
    assert len(errors) == 1 and errors[0].locator == "flow 2"
    assert str(errors[0]).startswith(f"{dump}: flow 2: corrupt or truncated flow dump")


def test_a_file_that_is_no_capture_at_all_is_reported(tmp_path):
    junk = tmp_path / "random.flow"
    junk.write_bytes(b"\x00\x01garbage that is not a tnetstring")
    exchanges, errors = split(list(read_inputs([str(junk)])))
    assert exchanges == [] and str(errors[0]).startswith(f"{junk}: flow 0: corrupt or truncated flow dump")


def test_xml_and_har_inputs_do_not_import_mitmproxy(tmp_path):
    (tmp_path / "m.xml").write_bytes(set_user())
    write_har(tmp_path / "t.har", [har_entry(set_user(), None, when=day(1))])
    code = (f"import sys; from proxy_addon.inputs import read_inputs; items = list(read_inputs([{str(tmp_path)!r}]));"
            "assert len(items) == 2, items; print(sorted(m for m in sys.modules if m.startswith('mitmproxy')))")
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert output.stdout.strip() == "[]"


def test_errors_never_quote_secrets(tmp_path):
    broken = tmp_path / "secret.har"
    broken.write_text('{"log": {"entries": [{"request": {"postData": {"text": "<password>%s</password>' % PASSWORD
                      + f'<accessToken>{ACCESS_TOKEN}</accessToken>')
    items = list(read_inputs([str(broken)]))
    text = " ".join(str(item) for item in items if isinstance(item, CaptureError))
    assert text and PASSWORD not in text and ACCESS_TOKEN not in text
