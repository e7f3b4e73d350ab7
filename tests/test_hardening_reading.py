"""Issue 21, items 6-8: inputs are read up to a bound, HAR entries one at a time, and a capture that
breaks the reader (absurd lengths, deep nesting, impossible times) costs only itself."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import tracemalloc

import pytest

from proxy_addon.core.parsing import DEFAULT_MAX_BYTES
from proxy_addon.inputs import CaptureError, read_inputs
from tests.audit_support import day, har_entry, http_flow, set_user, untyped_response, write_flows, write_har
from tests.builders import REPO

CLI = [sys.executable, "-m", "proxy_addon.cli"]
BOUND = DEFAULT_MAX_BYTES + 1


def split(items):
    return ([i for i in items if not isinstance(i, CaptureError)], [i for i in items if isinstance(i, CaptureError)])


# Item 6: a size bound before reading.

def test_a_huge_sparse_xml_file_is_read_only_to_the_bound(tmp_path):
    huge = tmp_path / "huge.xml"
    with huge.open("wb") as stream:
        stream.write(b"<message>")
        stream.truncate(3 * DEFAULT_MAX_BYTES)  # sparse: costs the disk nothing
    exchanges, errors = split(list(read_inputs([str(huge)])))
    assert errors == [] and len(exchanges[0].messages[0].data) == BOUND


def test_stdin_is_read_only_to_the_bound():
    body = b"<message>" + b" " * (2 * DEFAULT_MAX_BYTES)
    done = subprocess.run([*CLI, "check", "-", "--output-format", "json"], input=body, capture_output=True,
                          cwd=REPO, timeout=120, check=False)
    findings = json.loads(done.stdout)["findings"]
    assert [f["rule"] for f in findings] == ["WX009"], done.stderr
    assert f"({BOUND:,} bytes read)" in findings[0]["message"]


def test_a_har_body_is_decoded_only_to_the_bound(tmp_path):
    entry = har_entry(set_user(), None, when=day(1))
    body = b"<message>" + b" " * (2 * DEFAULT_MAX_BYTES)
    entry["request"]["postData"] = {"mimeType": "text/xml", "text": base64.b64encode(body).decode(), "encoding": "base64"}
    text_entry = har_entry(set_user(), None, when=day(2))
    text_entry["request"]["postData"] = {"mimeType": "text/xml", "text": body.decode()}
    har = write_har(tmp_path / "big.har", [entry, text_entry])
    exchanges, errors = split(list(read_inputs([str(har)])))
    assert errors == []
    assert [len(e.messages[0].data) for e in exchanges] == [BOUND, BOUND]


def test_har_entries_are_streamed_not_decoded_as_one_document(tmp_path):
    other = {"startedDateTime": day(1).isoformat(), "time": 1,
             "request": {"method": "GET", "url": "https://cdn.example.com/x.png", "headers": [{"name": "a", "value": "b" * 300}]},
             "response": {"status": 200, "content": {"mimeType": "image/png", "text": ""}}}
    har = write_har(tmp_path / "many.har", [other] * 20_000 + [har_entry(set_user(), None, when=day(2))])
    size = har.stat().st_size
    tracemalloc.start()
    try:
        exchanges, errors = split(list(read_inputs([str(har)])))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert errors == [] and len(exchanges) == 1
    assert exchanges[0].weight >= size * 0.9, "skipped entries count towards the next exchange"
    assert peak < size / 2, f"peak {peak:,} bytes for a {size:,}-byte HAR"


def test_an_oversized_har_entry_is_named_and_the_next_is_read(tmp_path, monkeypatch):
    from proxy_addon.inputs import har as har_module  # noqa: PLC0415

    monkeypatch.setattr(har_module, "ENTRY_BOUND", 200_000)
    big = har_entry(set_user(), None, when=day(1))
    big["comment"] = "x\\\"" * 400_000
    har = write_har(tmp_path / "one-big.har", [har_entry(set_user(), None, when=day(1)), big,
                                               har_entry(set_user(), None, when=day(3))])
    exchanges, errors = split(list(read_inputs([str(har)])))
    assert [e.messages[0].locator for e in exchanges] == ["entry 0", "entry 2"]
    assert [(e.locator, e.problem) for e in errors] == [("entry 1", "entry over 200,000 characters: not read")]


def test_a_har_cut_inside_a_string_names_the_last_line(tmp_path):
    entries = [har_entry(set_user(webex_id=f"u{i}@acme.com"), None, when=day(1)) for i in range(3)]
    whole = write_har(tmp_path / "w.har", entries).read_text()
    cut = tmp_path / "cut.har"
    cut.write_text(whole[:whole.index("u2@acme.com")])
    exchanges, errors = split(list(read_inputs([str(cut)])))
    assert len(exchanges) == 2 and len(errors) == 1
    assert "invalid or truncated JSON at line" in errors[0].problem
    assert "(2 complete entries before it were read)" in errors[0].problem


# Item 7: RecursionError and MemoryError from a capture are one error naming it.

def _absurd_length_dump(folder):
    dump = folder / "absurd.flow"
    dump.write_bytes(b"999999999999:" + b"4:type;4:http;" * 7 + b"}")
    return dump


def _deep_tnetstring_dump(folder):
    nested = b"0:]"
    for _ in range(100_000):
        nested = str(len(nested)).encode() + b":" + nested + b"]"
    dump = folder / "deep.flow"
    dump.write_bytes(nested)
    return dump


def _deep_har(folder):
    har = folder / "deep.har"
    har.write_text('{"log": {"entries": [' + "[" * 200_000 + "]" * 200_000 + "]}}")
    return har


@pytest.mark.parametrize("make", [_absurd_length_dump, _deep_tnetstring_dump, _deep_har])
def test_a_capture_that_breaks_the_reader_is_one_error_and_the_others_are_read(tmp_path, make):
    bad = make(tmp_path)
    good = write_flows(tmp_path / "good.flow", [http_flow(set_user(), None, when=day(1).timestamp())])
    exchanges, errors = split(list(read_inputs([str(bad), str(good)])))
    assert len(exchanges) == 1 and exchanges[0].messages[0].source == str(good)
    assert len(errors) == 1 and errors[0].source == str(bad)


def test_check_and_audit_survive_the_breaking_captures(tmp_path):
    bad = [_absurd_length_dump(tmp_path), _deep_tnetstring_dump(tmp_path), _deep_har(tmp_path)]
    good = tmp_path / "good.xml"
    good.write_bytes(set_user())
    for command in (["check"], ["audit", "--db", str(tmp_path / "a.sqlite")]):
        done = subprocess.run([*CLI, *command, *map(str, bad), str(good)], capture_output=True, text=True,
                              cwd=REPO, timeout=300, check=False)
        assert "Traceback" not in done.stderr and "internal error" not in done.stderr, done.stderr
        for path in bad:
            assert str(path) in done.stderr, (command, done.stderr)


# Item 8: an impossible flow timestamp keeps the message, without a time.

@pytest.mark.parametrize("when", [1e300, float("inf"), -1e18, 253402300800.0])
def test_a_flow_with_an_impossible_time_is_kept_without_one(tmp_path, when):
    dump = write_flows(tmp_path / "times.flow", [http_flow(set_user(), untyped_response(), when=when),
                                                 http_flow(set_user("beta"), None, when=day(2).timestamp())])
    exchanges, errors = split(list(read_inputs([str(dump)])))
    assert errors == [] and len(exchanges) == 2
    assert [m.time for m in exchanges[0].messages] == [None, None]
    assert exchanges[1].messages[0].time == day(2).timestamp()


def test_audit_stores_flows_with_impossible_times(tmp_path):
    dump = write_flows(tmp_path / "times.flow", [http_flow(set_user(), None, when=w)
                                                 for w in (1e300, float("inf"), -1e18, 253402300800.0)]
                       + [http_flow(set_user(), None, when=day(2).timestamp())])
    done = subprocess.run([*CLI, "audit", str(dump), "--db", str(tmp_path / "a.sqlite")], capture_output=True,
                          text=True, cwd=REPO, timeout=120, check=False)
    assert done.returncode in (0, 1) and "Traceback" not in done.stderr, done.stderr
    assert "5 messages" in done.stdout + done.stderr or "5 message" in done.stdout + done.stderr, done.stdout
