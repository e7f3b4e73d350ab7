"""`check --format sarif` output is valid SARIF 2.1.0: checked against the official JSON schema,
vendored in tests/fixtures/sarif (no network at test time), on the examples, the corpus and captures."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from jsonschema import Draft4Validator

from proxy_addon.cli import main

from .audit_support import day, har_entry, set_user, untyped_response, write_har
from .builders import CORPUS, REPO, requires_corpus

SCHEMA = json.loads((REPO / "tests" / "fixtures" / "sarif" / "sarif-2.1.0-rtm.5.json").read_text(encoding="utf-8"))
VALIDATOR = Draft4Validator(SCHEMA, format_checker=Draft4Validator.FORMAT_CHECKER)


def sarif_of(capsys, *paths: str | Path, flags: tuple[str, ...] = ()) -> dict:
    main(["check", "--format", "sarif", *flags, *map(str, paths)])
    return json.loads(capsys.readouterr().out)


def schema_errors(document: dict) -> list[str]:
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in VALIDATOR.iter_errors(document)]


def test_the_vendored_schema_is_the_sarif_2_1_0_schema():
    Draft4Validator.check_schema(SCHEMA)
    assert SCHEMA["properties"]["version"]["enum"] == ["2.1.0"]


def test_the_schema_rejects_what_is_not_sarif(capsys):
    """The validation can fail: a level SARIF does not know and a missing version are caught."""
    document = sarif_of(capsys, REPO / "examples")
    broken = copy.deepcopy(document)
    broken["runs"][0]["results"][0]["level"] = "fatal"
    del broken["version"]
    errors = schema_errors(broken)
    assert any("'fatal' is not one of" in error for error in errors), errors
    assert any("'version' is a required property" in error for error in errors), errors


def test_examples_sarif_is_valid(capsys):
    document = sarif_of(capsys, REPO / "examples", flags=("--ci-site", "acme", "--validate"))
    assert document["runs"][0]["results"], "the examples have findings: the results were exercised"
    assert schema_errors(document) == []


def test_no_findings_is_valid_sarif_too(capsys):
    document = sarif_of(capsys, REPO / "examples" / "11-get-user-clean.xml")
    assert document["runs"][0]["results"] == []
    assert schema_errors(document) == []


def test_captured_messages_with_logical_locations_are_valid(tmp_path, capsys):
    har = write_har(tmp_path / "capture.har", [har_entry(set_user(), untyped_response(), when=day(1))])
    document = sarif_of(capsys, har, flags=("--ci-site", "acme"))
    results = document["runs"][0]["results"]
    assert any("logicalLocations" in result["locations"][0] for result in results), results
    assert schema_errors(document) == []


@requires_corpus
def test_corpus_sarif_is_valid(capsys):
    document = sarif_of(capsys, CORPUS, flags=("--validate",))
    assert len(document["runs"][0]["results"]) > 10
    assert schema_errors(document) == []


@pytest.mark.parametrize("statistics", [False, True])
def test_statistics_do_not_break_sarif(capsys, statistics):
    flags = ("--statistics",) if statistics else ()
    assert schema_errors(sarif_of(capsys, REPO / "examples", flags=flags)) == []
