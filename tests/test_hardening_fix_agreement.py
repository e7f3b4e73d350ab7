"""Issue 21, item 17: what `check` shows as fixable is what `--fix` fixes, also for a message whose
encoding makes every fix unsafe (a UTF-8 byte-order mark with encoding="utf-8-sig")."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from tests.builders import REPO, request_xml

CLI = [sys.executable, "-m", "proxy_addon.cli"]
HQ_HD = "<enableOptions>\n  <chat>true</chat>\n  <HQvideo>true</HQvideo>\n  <HDvideo>true</HDvideo>\n</enableOptions>"


def _check(*args):
    return subprocess.run([*CLI, "check", *args], capture_output=True, text=True, cwd=REPO, timeout=120, check=False)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "UTF-8"])
def test_fixable_count_agrees_with_what_fix_does(tmp_path, encoding):
    message = tmp_path / "m.xml"
    raw = request_xml("CreateMeeting", HQ_HD, package="meeting", encoding=encoding)
    message.write_bytes(raw)
    shown = _check(str(message))
    promised = re.search(r"\[\*\] (\d+) fixable", shown.stdout)
    promised = int(promised.group(1)) if promised else 0
    marked = shown.stdout.count(" [*]\n")
    reported = json.loads(_check(str(message), "--output-format", "json").stdout)["findings"]
    flagged = sum(1 for finding in reported if finding["fixable"])
    diff = _check(str(message), "--diff")
    would = re.search(r"Would fix (\d+) finding", diff.stdout + diff.stderr)
    would = int(would.group(1)) if would else 0
    fixed = _check(str(message), "--fix")
    changed = message.read_bytes() != raw
    assert promised == marked == flagged == would, (shown.stdout, diff.stdout)
    assert changed == (would > 0), fixed.stdout
    if encoding == "utf-8-sig":  # WX005 error: no fix is safe, and none is promised
        assert promised == 0 and "WX005" in shown.stdout
    else:  # the control: the same message declared as what it is gets both fixes
        assert promised == 2
