"""The REST side as data: the slice of Cisco's OpenAPI description that translations need.

rules/migration/rest-meetings.json is made by tools/build_rest_data.py from the OpenAPI file (CC BY
4.0, attribution inside); never edited by hand. Bodies are validated with jsonschema against the
operation's request schema, OpenAPI 3.0 schemas being JSON Schema for the keywords they use.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Any

from proxy_addon.core.shipped import data_dir

FILE_NAME = "rest-meetings.json"


class RestDataError(ValueError):
    """The shipped REST data cannot be read."""


@dataclass(frozen=True)
class Limit:
    schema: str
    property: str  # dotted, from the schema's root
    kind: str  # "maxLength" | "maxItems"
    value: int
    description: str  # the sentence of the OpenAPI description that states it


@dataclass(frozen=True)
class RestOperation:
    operation_id: str
    method: str
    path: str
    summary: str
    parameters: tuple[dict[str, Any], ...]
    body_schema: str | None = None
    media_type: str | None = None

    def parameter(self, name: str, where: str) -> dict[str, Any] | None:
        return next((p for p in self.parameters if p.get("name") == name and p.get("in") == where), None)

    @property
    def path_parameters(self) -> list[str]:
        return [p["name"] for p in self.parameters if p.get("in") == "path"]


@dataclass
class RestSpec:
    operations: dict[str, RestOperation]
    schemas: dict[str, Any]
    limits: list[Limit]
    security_schemes: dict[str, Any]
    attribution: str
    source: dict[str, Any]
    _validators: dict[str, Any] = field(default_factory=dict, repr=False)

    def operation(self, operation_id: str) -> RestOperation | None:
        return self.operations.get(operation_id)

    def has_property(self, schema: str, dotted: str) -> bool:
        """Whether `a.b` names a property of the schema (through objects, array items and $refs)."""
        node: Any = self.schemas.get(schema)
        for part in dotted.split("."):
            node = self._resolve(node)
            if isinstance(node, dict) and node.get("type") == "array":
                node = self._resolve(node.get("items"))
            properties = node.get("properties") if isinstance(node, dict) else None
            if not properties or part not in properties:
                return False
            node = properties[part]
        return True

    def _resolve(self, node: Any) -> Any:
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            node = self.schemas.get(node["$ref"].rsplit("/", 1)[1])
        return node

    def limits_for(self, schema: str) -> list[Limit]:
        return [limit for limit in self.limits if limit.schema == schema]

    def validate(self, schema: str, body: dict[str, Any]) -> list[str]:
        """Every way the body breaks the schema, as "path: problem" (empty: valid)."""
        validator = self._validators.get(schema)
        if validator is None:
            from jsonschema import Draft4Validator  # noqa: PLC0415 (only when a body is checked)

            document = {"$ref": f"#/components/schemas/{schema}", "components": {"schemas": self._openapi_schemas}}
            validator = self._validators[schema] = Draft4Validator(document)
        return sorted(f"{'.'.join(map(str, error.absolute_path)) or '(body)'}: {error.message}"
                      for error in validator.iter_errors(body))

    @cached_property
    def _openapi_schemas(self) -> dict[str, Any]:
        """OpenAPI 3.0's `nullable: true` as JSON Schema: the type also allows null."""
        return {name: _nullable(schema) for name, schema in self.schemas.items()}


def _nullable(node: Any) -> Any:
    if isinstance(node, dict):
        node = {k: _nullable(v) for k, v in node.items()}
        if node.pop("nullable", False) and isinstance(node.get("type"), str):
            node["type"] = [node["type"], "null"]
        return node
    if isinstance(node, list):
        return [_nullable(item) for item in node]
    return node


def load_rest_spec(path: Path | None = None) -> RestSpec:
    path = path or data_dir("rules") / "migration" / FILE_NAME
    try:
        data = json.loads(path.read_text("utf-8"))
        operations = {
            key: RestOperation(key, raw["method"], raw["path"], raw.get("summary", ""),
                               tuple(raw.get("parameters", ())),
                               (raw.get("body") or {}).get("schema"), (raw.get("body") or {}).get("mediaType"))
            for key, raw in data["operations"].items()}
        limits = [Limit(**raw) for raw in data["limits"]]
        return RestSpec(operations, data["schemas"], limits, data.get("securitySchemes", {}),
                        data["attribution"], data.get("source", {}))
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise RestDataError(f"{path}: cannot read the REST data: {error}") from None


@cache
def default_rest_spec() -> RestSpec:
    """The shipped REST data, read once per process."""
    return load_rest_spec()
