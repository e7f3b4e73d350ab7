"""Where each HAR entry starts, for SARIF and GitHub annotations (outputs/formats.har_entry_lines):
read in chunks, so a HAR the reader streams (any size) is not held whole a second time for output
(issue 21 item 6), with the same answers at every chunk boundary."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest

from proxy_addon.outputs import formats
from proxy_addon.outputs.formats import har_entry_lines

HARS = sorted((Path(__file__).parent / "rules").rglob("*.har"))


def reference_lines(text: str) -> list[int]:
    """One character at a time, the obvious way: the oracle."""
    starts, depth, entries_depth, line = [], 0, -1, 1
    in_string = escaped = after_key = False
    string_start = 0
    position = 0
    while position < len(text):
        char = text[position]
        if char == "\n":
            line += 1
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
                rest = text[position + 1:].lstrip(" \t\r\n")
                after_key = text[string_start:position + 1] == '"entries"' and entries_depth < 0 \
                    and rest[:1] == ":"
        elif char == '"':
            in_string, string_start = True, position
        elif char in "[{":
            if char == "[" and after_key:
                entries_depth = depth + 1
            elif char == "{" and depth == entries_depth:
                starts.append(line)
            depth += 1
            after_key = False
        elif char in "]}":
            depth -= 1
            after_key = False
            if depth < entries_depth:
                break
        position += 1
    return starts


def har_text(bodies: list[str], *, indent: int | None = 2) -> str:
    entries = [{"request": {"method": "POST", "url": "https://acme.webex.com/WBXService/XMLService",
                            "postData": {"mimeType": "text/xml", "text": body}},
                "response": {"status": 200, "content": {"text": "<ok/>"}}} for body in bodies]
    return json.dumps({"log": {"version": "1.2", "comment": 'a "entries": [{ in a string',
                               "entries": entries, "pages": [{"id": "after"}]}}, indent=indent)


TRICKY_BODIES = ['<a>{ "entries": [ } ]</a>', 'quote \\" and backslash \\\\ and "entries": [{', "\n\n{[",
                 "é\u2028 ünïcode { }", ""]


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64, 1 << 20])
@pytest.mark.parametrize("indent", [None, 2])
def test_entry_lines_agree_with_a_character_by_character_scan_at_any_chunk_size(tmp_path, monkeypatch,
                                                                                 chunk, indent):
    monkeypatch.setattr(formats, "_HAR_CHUNK", chunk)
    text = har_text(TRICKY_BODIES, indent=indent)
    path = tmp_path / "capture.har"
    path.write_text(text, encoding="utf-8")
    expected = reference_lines(text)
    assert len(expected) == len(TRICKY_BODIES)
    assert har_entry_lines(str(path)) == expected


@pytest.mark.parametrize("chunk", [1, 5, 1 << 20])
def test_every_har_fixture_gets_the_reference_lines(monkeypatch, chunk):
    monkeypatch.setattr(formats, "_HAR_CHUNK", chunk)
    assert len(HARS) >= 6
    for path in HARS:
        text = path.read_text(encoding="utf-8", errors="replace")
        assert har_entry_lines(str(path)) == reference_lines(text), path


def test_an_escaped_key_and_a_key_not_followed_by_a_colon_are_not_log_entries(tmp_path):
    path = tmp_path / "odd.har"
    path.write_text('{"log": {"x": ["entries", [{}]], "entr\\u0069es": [{}],\n "entries" :\n [\n{}, {}]}}')
    assert har_entry_lines(str(path)) == [4, 4]


def test_a_har_is_read_in_chunks_not_whole(tmp_path):
    body = "x" * (24 << 20)  # one 24 MiB body: the whole-file read held it (and more) at once
    path = tmp_path / "big.har"
    path.write_text(har_text(["<a/>", body, "<b/>"]), encoding="utf-8")
    tracemalloc.start()
    try:
        lines = har_entry_lines(str(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(lines) == 3
    assert peak < 8 << 20, f"peak {peak:,} bytes for a {path.stat().st_size:,}-byte HAR"


def test_an_unreadable_har_gives_no_lines(tmp_path):
    assert har_entry_lines(str(tmp_path / "missing.har")) == []
