"""Issue 12, memory amplification: a message under the 16 MiB bound can no longer make the linter
use gigabytes. A tree whose estimate is over parsing.MEMORY_BUDGET is WX009 without being built;
every message that is built stays within the budget; a rule lists at most 100 findings a message.

Peak memory is measured in a child process: its resident set before the lint (the peak reset through
/proc/self/clear_refs) against the high-water mark after it, VmHWM (libxml2's tree included).
Not getrusage's ru_maxrss: after exec it keeps the peak of the forked parent (pytest's ~100 MB)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from proxy_addon.core.parsing import MEMORY_BUDGET, lint_memory_estimate
from proxy_addon.lint.engine import MAX_FINDINGS_PER_RULE
from tests.builders import REPO, request_xml

MiB = 1024 * 1024
CLI = [sys.executable, "-m", "proxy_addon.cli"]

def _lint_in_child(tmp_path: Path, data: bytes, validate: bool = False) -> dict:
    path = tmp_path / "message.xml"
    path.write_bytes(data)
    done = subprocess.run([sys.executable, "-m", "tests.lint_memory_probe", str(path), "validate" if validate else "plain"],
                          capture_output=True, text=True, cwd=REPO, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def _repeated(unit: str, count: int, *, operation: str = "GetUser", package: str = "user",
              before: str = "", after: str = "") -> bytes:
    return request_xml(operation, before + unit * count + after, package=package)


def _hq_video(count: int) -> bytes:
    return _repeated("<HQvideo>TRUE</HQvideo>", count, operation="CreateMeeting", package="meeting",
                     before="<metaData><confName>m</confName></metaData><enableOptions>", after="</enableOptions>")


def _largest_accepted(build, validate: bool = False) -> bytes:
    """The biggest message of this shape whose estimate is within the budget (the estimate grows
    linearly with the count: found from two small ones, then checked)."""
    def estimate(count: int) -> int:
        data = build(count)
        return lint_memory_estimate(len(data), data.decode(), validate)[0]

    base, step = estimate(1000), estimate(2000) - estimate(1000)
    count = 1000 + (MEMORY_BUDGET - base) * 1000 // step
    while estimate(count) > MEMORY_BUDGET:
        count -= 100
    data = build(count)
    assert len(data) < 16 * MiB and estimate(count + 200) > MEMORY_BUDGET, count
    return data


@pytest.mark.parametrize("validate", [False, True], ids=["lint", "validate"])
def test_16_mb_of_empty_elements_is_refused_without_building_the_tree(tmp_path, validate):
    data = _repeated("<e/>", (16 * MiB - 1024) // 4)  # under the 16 MiB bound; 1.2 GB (2.6 GB validating) before
    figures = _lint_in_child(tmp_path, data, validate)
    assert [rule for rule, _ in figures["findings"]] == ["WX009"], figures["findings"]
    assert "MiB a message may use; not parsed" in figures["findings"][0][1]
    assert figures["growth"] < 64 * MiB, figures["growth"] / MiB


@pytest.mark.parametrize(("shape", "build", "validate"), [
    ("empty elements", lambda n: _repeated("<e/>", n), False),
    pytest.param("one finding each", _hq_video, False, marks=pytest.mark.slow),
    pytest.param("attributes, validated", lambda n: _repeated('<e a="1" b="2" c="3"/>', n), True,
                 marks=pytest.mark.slow),
], ids=["empty-elements", "findings", "attributes-validated"])
def test_the_biggest_message_that_is_built_stays_within_the_budget(tmp_path, shape, build, validate):
    data = _largest_accepted(build, validate)
    figures = _lint_in_child(tmp_path, data, validate)
    assert "WX009" not in [rule for rule, _ in figures["findings"]], (shape, figures["findings"][:3])
    assert figures["growth"] <= MEMORY_BUDGET, (shape, len(data), figures["growth"] / MiB)


def test_findings_are_capped_per_rule_with_one_that_counts_the_rest(linter):
    data = _hq_video(250).replace(b"<HQvideo>TRUE</HQvideo>", b"<HQvideo>TRUE</HQvideo>\n")
    findings = [f for f in linter.lint(data).findings if f.rule == "WX301"]
    assert len(findings) == MAX_FINDINGS_PER_RULE + 1
    listed, more = findings[:-1], findings[-1]
    first_line = data.decode().splitlines().index(next(line for line in data.decode().splitlines()
                                                       if "<HQvideo>" in line)) + 1
    assert [f.line for f in listed] == list(range(first_line, first_line + MAX_FINDINGS_PER_RULE))
    assert all(f.fix is not None for f in listed)
    assert more.message == f"and 150 more WX301 findings in this message (the first {MAX_FINDINGS_PER_RULE} of each rule are listed)"
    assert (more.line, more.severity) == (first_line + MAX_FINDINGS_PER_RULE, listed[0].severity)


def test_check_prints_a_bounded_report_for_a_message_of_many_findings(tmp_path):
    path = tmp_path / "hq.xml"
    path.write_bytes(_hq_video(150_000))  # 3.4 MB, 150,000 WX301: 150,000 lines before (1.6 million at 16 MB)
    done = subprocess.run([*CLI, "check", str(path)], capture_output=True, text=True, cwd=REPO, timeout=600, check=False)
    assert done.returncode == 1, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert sum(" WX301 " in line for line in lines) == MAX_FINDINGS_PER_RULE + 1, lines[-5:]
    assert len(done.stdout) < 64 * 1024
