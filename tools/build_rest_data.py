"""Build rules/migration/rest-meetings.json from Cisco's OpenAPI description of the Meetings REST API.

    python tools/build_rest_data.py [OPENAPI_JSON] [--check]

The project ships only what a translation needs: the operations that rules/migration/rest-mapping.yaml
names (method, path, parameters, request body schema), the schemas those bodies reference, the
security schemes, and the limits that the descriptions state in words ("a maximum of 128
characters") as data with the sentence they come from. The file is never edited by hand: run this
script again when the OpenAPI file changes; tests/test_migrate_data.py checks that the committed
file is what the script makes. --check exits 1 when the committed file differs.

The OpenAPI file is CC BY 4.0 (Cisco Systems, webex/webex-openapi-specs); the output carries that
attribution.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SPEC = REPO.parent / "shared" / "spec" / "rest" / "webex-meeting.openapi.json"
MAPPING = REPO / "rules" / "migration" / "rest-mapping.yaml"
OUTPUT = REPO / "rules" / "migration" / "rest-meetings.json"
ATTRIBUTION = ('"Webex OpenAPI Specifications", Cisco Systems, https://github.com/webex/webex-openapi-specs, '
               "CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/). Derived: operations, schemas and "
               "limits selected and reshaped by tools/build_rest_data.py.")
# The README beside the spec names the upstream file and commit; carried into the output.
_UPSTREAM = re.compile(r"`(?P<file>public-spec/[^`]+)` from the public repository\s+(?P<repo>\S+) at commit (?P<commit>[0-9a-f]{40})")
# Limits the descriptions state in words. Each pattern: (kind, regex with a <n> group).
_LIMITS = (
    ("maxLength", re.compile(r"(?:can be |has )?a maximum of (?P<n>[0-9][0-9,]*) characters", re.I)),
    ("maxItems", re.compile(r"maximum (?:size|number) of \w+ is (?P<n>[0-9][0-9,]*)", re.I)),
)
_KEEP_PARAMETER = ("name", "in", "required", "schema")
_DROPPED_SCHEMA_KEYS = ("example", "examples", "description")  # prose and samples: not needed to validate


def mapped_operation_ids(mapping: Path = MAPPING) -> list[str]:
    data = yaml.safe_load(mapping.read_text("utf-8"))
    found = set()
    for entry in (data.get("operations") or {}).values():
        if isinstance(entry, dict):
            for step in ("rest", "lookup"):
                if isinstance(entry.get(step), dict) and entry[step].get("operationId"):
                    found.add(entry[step]["operationId"])
    for lookup in (data.get("lookups") or {}).values():
        if isinstance(lookup, dict) and lookup.get("operationId"):
            found.add(lookup["operationId"])
    return sorted(found)


def build(spec: dict[str, Any], operation_ids: list[str], upstream: dict[str, str]) -> dict[str, Any]:
    operations: dict[str, Any] = {}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and operation.get("operationId") in operation_ids:
                operations[operation["operationId"]] = _operation(method, path, operation)
    missing = sorted(set(operation_ids) - set(operations))
    if missing:
        raise SystemExit(f"operationId(s) not in the OpenAPI file: {', '.join(missing)}")
    schemas: dict[str, Any] = {}
    pending = [op["body"]["schema"] for op in operations.values() if op.get("body")]
    while pending:
        name = pending.pop()
        if name in schemas:
            continue
        raw = spec["components"]["schemas"][name]
        schemas[name] = _strip(raw)
        pending.extend(_refs(raw))
    limits = []
    for name in sorted(schemas):
        limits.extend(_limits(name, "", spec["components"]["schemas"][name], spec))
    return {
        "attribution": ATTRIBUTION,
        "source": {**upstream, "info": {k: spec["info"][k] for k in ("title", "version")}},
        "operations": dict(sorted(operations.items())),
        "schemas": dict(sorted(schemas.items())),
        "securitySchemes": spec["components"].get("securitySchemes", {}),
        "limits": limits,
    }


def _operation(method: str, path: str, operation: dict[str, Any]) -> dict[str, Any]:
    shipped: dict[str, Any] = {"method": method.upper(), "path": path, "summary": operation.get("summary", ""),
                               "parameters": [{k: p[k] for k in _KEEP_PARAMETER if k in p}
                                              for p in operation.get("parameters", [])]}
    if "security" in operation:
        shipped["security"] = operation["security"]
    content = (operation.get("requestBody") or {}).get("content") or {}
    for media_type, body in content.items():
        ref = (body.get("schema") or {}).get("$ref", "")
        if ref.startswith("#/components/schemas/"):
            shipped["body"] = {"mediaType": media_type, "schema": ref.rsplit("/", 1)[1]}
            break
    return shipped


def _refs(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [value["$ref"].rsplit("/", 1)[1]] if isinstance(value.get("$ref"), str) else []
        return found + [ref for item in value.values() for ref in _refs(item)]
    if isinstance(value, list):
        return [ref for item in value for ref in _refs(item)]
    return []


def _strip(value: Any) -> Any:
    """A schema without its prose and samples; property names (a property may be called
    "description") are kept."""
    if isinstance(value, dict):
        return {k: ({name: _strip(prop) for name, prop in v.items()} if k == "properties" and isinstance(v, dict)
                    else _strip(v))
                for k, v in value.items() if k not in _DROPPED_SCHEMA_KEYS}
    if isinstance(value, list):
        return [_strip(item) for item in value]
    return value


def _limits(schema: str, prefix: str, raw: dict[str, Any], spec: dict[str, Any], depth: int = 0) -> list[dict[str, Any]]:
    """Limits stated in the descriptions of a schema's properties (one level of nested objects too)."""
    found = []
    for name, prop in (raw.get("properties") or {}).items():
        where = f"{prefix}{name}"
        description = prop.get("description") or ""
        for kind, pattern in _LIMITS:
            match = pattern.search(description)
            if match:
                found.append({"schema": schema, "property": where, "kind": kind,
                              "value": int(match.group("n").replace(",", "")),
                              "description": _sentence_around(description, match.start())})
        if depth == 0 and prop.get("type") == "object" and prop.get("properties"):
            found.extend(_limits(schema, f"{where}.", prop, spec, depth + 1))
    return found


def _sentence_around(text: str, position: int) -> str:
    start = text.rfind(". ", 0, position)
    start = 0 if start < 0 else start + 2
    end = text.find(". ", position)
    return text[start:len(text) if end < 0 else end + 1].strip()


def upstream_of(spec_path: Path) -> dict[str, str]:
    readme = spec_path.parent / "README.md"
    match = _UPSTREAM.search(readme.read_text("utf-8")) if readme.is_file() else None
    found = match.groupdict() if match else {}
    return {"file": found.get("file", spec_path.name), "repository": found.get("repo", "webex/webex-openapi-specs"),
            "commit": found.get("commit", "unknown")}


def render(spec_path: Path) -> str:
    spec = json.loads(spec_path.read_text("utf-8"))
    data = build(spec, mapped_operation_ids(), upstream_of(spec_path))
    return json.dumps(data, indent=1, sort_keys=False, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("spec", nargs="?", type=Path, default=DEFAULT_SPEC, help="the OpenAPI JSON file")
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed file differs")
    args = parser.parse_args(argv)
    text = render(args.spec)
    if args.check:
        same = OUTPUT.is_file() and OUTPUT.read_text("utf-8") == text
        print(f"{OUTPUT}: {'up to date' if same else 'differs: run tools/build_rest_data.py'}", file=sys.stderr)
        return 0 if same else 1
    OUTPUT.write_text(text, "utf-8")
    print(f"wrote {OUTPUT} ({len(text)} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
