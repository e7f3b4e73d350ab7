"""`make bench` (benchmarks/run_all.py) reads the shared harness's figures and judges the issue-19 targets."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from .builders import REPO


@pytest.fixture(scope="module")
def run_all():
    spec = importlib.util.spec_from_file_location("run_all", REPO / "benchmarks" / "run_all.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["run_all"] = module
    spec.loader.exec_module(module)
    yield module
    del sys.modules["run_all"]


# As ../shared/bench/lint_bench.py and proxy_bench.py print them.
LINT = [
    "bare parse 0.15 s CPU, check 1.11 s CPU for 3760 files (265 us/msg after start-up); one file: check 117 ms "
    "vs import lxml 42 ms (2.75x)",
    "lint speed: check / bare parse = 7.24x over 3760 real messages; start-up 2.75x (goal <= 2.0x, <= 1.2x)",
]
PROXY = [
    "round 1 plain:     520 req/s, mitmdump  1300 us/req, with children  1300 us/req, p50 one-at-a-time 1.60 ms",
    "proxy vs plain mitmdump (75 corpus requests, c=8): throughput 0.96x, mitmdump CPU/req 1.08x, with worker "
    "1.36x, p50 +-0.01 ms (goal >=0.95x, <=1.05x)",
]


def test_every_figure_of_the_harness_is_read(run_all):
    assert run_all.parse_harness("lint_bench", LINT) == {
        "per_message": 265, "check_ms": 117, "lxml_ms": 42, "folder": 7.24, "messages": 3760, "one_file": 2.75}
    assert run_all.parse_harness("proxy_bench", PROXY) == {
        "throughput": 0.96, "own_cpu": 1.08, "with_worker": 1.36, "p50_ms": -0.01}
    assert run_all.parse_harness("proxy_bench", LINT) == {}  # another harness's output: no figures, a failure


def test_the_six_targets_of_issue_19_and_their_verdicts(run_all):
    assert [(t.harness, t.key) for t in run_all.TARGETS] == [
        ("lint_bench", "folder"), ("lint_bench", "one_file"), ("proxy_bench", "throughput"),
        ("proxy_bench", "own_cpu"), ("proxy_bench", "with_worker"), ("proxy_bench", "p50_ms")]
    figures = {**run_all.parse_harness("lint_bench", LINT), **run_all.parse_harness("proxy_bench", PROXY)}
    verdicts = {t.key: t.verdict(figures[t.key]) for t in run_all.TARGETS}
    assert verdicts == {"folder": "not met", "one_file": "not met", "throughput": "met", "own_cpu": "not met",
                        "with_worker": "not met", "p50_ms": "met"}
    edge = {"folder": 2.0, "one_file": 1.2, "throughput": 0.95, "own_cpu": 1.05, "with_worker": 1.25, "p50_ms": 0.5}
    assert all(t.verdict(edge[t.key]) == "met" for t in run_all.TARGETS)


def test_the_harness_runs_with_its_own_command_lines(run_all):
    lint = run_all.harness_command("lint_bench", quick=False)
    proxy = run_all.harness_command("proxy_bench", quick=False)
    assert lint[1:2] + [part.rsplit("/", 1)[-1] for part in lint[2:4]] + lint[4:] == [
        "../shared/bench/lint_bench.py", "webex-xml-lint", "python", "../shared/corpus", "40", "3"]
    assert proxy[1:2] + [part.rsplit("/", 1)[-1] for part in proxy[2:4]] + proxy[4:] == [
        "../shared/bench/proxy_bench.py", "webex-xml-lint", "mitmdump", "../shared/corpus", "3", "1500"]
