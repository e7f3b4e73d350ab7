"""Shared by the migrate tests: the translator on the shipped data, and translating one message."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import yaml

from proxy_addon.core.message import build_message
from proxy_addon.core.parsing import parse_document
from proxy_addon.lint.lifecycle import load_lifecycle
from proxy_addon.migration.mapping import load_mapping
from proxy_addon.migration.rest import load_rest_spec
from proxy_addon.migration.timezones import load_timezones
from proxy_addon.migration.translate import Translator

from .builders import request_xml

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "migrate"
GOLDEN = FIXTURES / "golden.json"


@functools.cache
def shipped():
    rest, lifecycle = load_rest_spec(), load_lifecycle()
    return rest, lifecycle, load_mapping(rest=rest, lifecycle=lifecycle), load_timezones()


def translator() -> Translator:
    rest, lifecycle, mapping, zones = shipped()
    return Translator(mapping, rest, zones, lifecycle)


def translate(data: bytes, credential: str = "password", tool: Translator | None = None):
    document = parse_document(data)
    message = build_message(document.root, "request")
    return (tool or translator()).translate(message, "test.xml", "repository files", credential)


def golden_requests() -> dict[str, dict[str, str]]:
    return yaml.safe_load((FIXTURES / "requests.yaml").read_text("utf-8"))


def golden_translation(operation: str, case: dict[str, str]) -> dict:
    return translate(request_xml(operation, case["body"], package=case["package"])).as_json()


def regenerate() -> None:
    cases = golden_requests()
    GOLDEN.write_text(json.dumps({op: golden_translation(op, case) for op, case in cases.items()},
                                 indent=1, ensure_ascii=False) + "\n", "utf-8")
