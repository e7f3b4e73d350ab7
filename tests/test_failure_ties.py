"""Failure <-> prediction, from the catalog: every exceptionID that rules/exceptions.yaml says a rule
predicts is tied to that rule when it fired on the request, in the proxy, `check` of a capture and
`audit`. The cases are built from the catalog and the rules' own `bad-*` fixtures, not a hand list."""

from __future__ import annotations

import json
import shlex
import sqlite3
from pathlib import Path

import pytest

from proxy_addon.lint.ruleset import RuleSet

from .audit_support import day, har_entry, write_har
from .builders import response_xml
from .rule_fixtures import rule_fixtures
from .test_exchange import run_cli


def _catalog_cases() -> list[tuple[str, str, Path, list[str]]]:
    """(exceptionID, predicting rule, each bad-* message of that rule, its check args)."""
    cases = []
    for exception_id, entry in sorted(RuleSet.load().exceptions.items()):
        for rule_id in entry.get("predicted_by") or ():
            bad = [fixture for fixture in rule_fixtures() if fixture.rule == rule_id and fixture.kind == "bad"
                   and not fixture.message.name.endswith(".har")]
            assert bad, f"{rule_id} predicts {exception_id} but has no bad-* message to build the case from"
            cases += [(exception_id, rule_id, fixture, fixture.expected().args) for fixture in bad]
    return cases


CASES = _catalog_cases()
IDS = [f"{exception_id}-{fixture.id}" for exception_id, _, fixture, _ in CASES]


def test_the_catalog_has_predictions_to_tie():
    assert len({rule for _, rule, _, _ in CASES}) >= 5, CASES  # WX114, WX405, WX202, WX407, WX402, WX401, ...


def _failure(exception_id: str) -> bytes:
    return response_xml(None, result="FAILURE", reason="refused", exception_id=exception_id)


def _capture(folder: Path, request: bytes, exception_id: str) -> Path:
    return write_har(folder / "capture.har", [har_entry(request, _failure(exception_id), when=day(1))])


def _predicted_note(notes: list[str] | str | None, exception_id: str, rule_id: str) -> bool:
    text = "\n".join(notes) if isinstance(notes, list) else (notes or "")
    return f"{exception_id} — predicted by" in text and rule_id in text.split("predicted by", 1)[1]


@pytest.mark.parametrize(("exception_id", "rule_id", "fixture", "args"), CASES, ids=IDS)
def test_check_of_a_capture_ties_the_failure_to_its_predicting_rule(tmp_path, exception_id, rule_id, fixture, args):
    har = _capture(tmp_path, fixture.data(), exception_id)
    result = run_cli("check", "--format", "json", *args, str(har))
    findings = json.loads(result.stdout)["findings"]
    assert any(f["rule"] == rule_id and f["locator"] == "entry 0 request" for f in findings), findings
    [failure] = [f for f in findings if f["rule"] == "WX501"]
    assert _predicted_note(failure["notes"], exception_id, rule_id), failure["notes"]


@pytest.mark.parametrize(("exception_id", "rule_id", "fixture", "args"), CASES, ids=IDS)
def test_audit_ties_the_failure_to_its_predicting_rule(tmp_path, exception_id, rule_id, fixture, args):
    har = _capture(tmp_path, fixture.data(), exception_id)
    db = tmp_path / "audit.sqlite"
    result = run_cli("audit", "--db", str(db), *args, str(har))
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(db) as connection:
        [(notes,)] = connection.execute("SELECT notes FROM findings WHERE rule = 'WX501'").fetchall()
    assert _predicted_note(notes, exception_id, rule_id), notes


def _proxy_options(args: list[str]) -> dict:
    """The fixture's check flags as the proxy's options."""
    options, words = {}, iter(args)
    for word in words:
        if word == "--ci-site":
            options["webexlint_ci_site"] = [*options.get("webexlint_ci_site", []), next(words)]
        elif word == "--api-version":
            options["webexlint_api_version"] = next(words)
        elif word == "--site-id":
            options["webexlint_site_id"] = [*options.get("webexlint_site_id", []), next(words)]
        else:
            raise AssertionError(f"no proxy option for {word} in {shlex.join(args)}")
    return options


@pytest.mark.parametrize(("exception_id", "rule_id", "fixture", "args"), CASES, ids=IDS)
def test_the_proxy_ties_the_failure_to_its_predicting_rule(addon_harness, exception_id, rule_id, fixture, args):
    options = _proxy_options(args)
    if options:
        addon_harness.set(**options)
    flow = addon_harness.exchange(fixture.data(), _failure(exception_id))
    findings = addon_harness.findings(flow)
    assert any(f["rule"] == rule_id and f["direction"] == "request" for f in findings), findings
    [failure] = [f for f in findings if f["rule"] == "WX501"]
    assert _predicted_note(failure["notes"], exception_id, rule_id), failure["notes"]
