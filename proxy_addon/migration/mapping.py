"""rules/migration/rest-mapping.yaml: which REST request replaces each Meetings XML operation, field by field.

Loaded and checked like a rule pack: every problem stops the load with `file:line (operations
Name): problem`. Checked against the lifecycle (the operation is one the project knows) and the
shipped REST data (operationIds, path and query parameters, body properties exist in Cisco's
OpenAPI description), so a mapping cannot promise a field REST does not have.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from proxy_addon.core.shipped import data_dir
from proxy_addon.lint.lifecycle import Lifecycle, load_lifecycle
from proxy_addon.lint.options import line_of, plain, plain_items
from proxy_addon.lint.packs import RuleError, load_yaml
from proxy_addon.migration.convert import NAMES as CONVERSIONS
from proxy_addon.migration.rest import RestSpec, default_rest_spec

FILE_NAME = "rest-mapping.yaml"
BASES = ("stated", "inferred")
MASKS = ("credential", "email", "name")
_SECTIONS = {"sources": True, "scopes": True, "lookups": True, "operations": True, "unmapped": False}
_UNMAPPED_FIELDS = {"why": True, "source": True}
_OPERATION_FIELDS = {"rest": True, "basis": True, "source": True, "scopes": True, "path": False, "query": False,
                     "body": False, "set": False, "set-query": False, "gaps": False}
_FIELD_FIELDS = {"from": False, "convert": False, "zone": False, "start": False, "lookup": False, "mask": False,
                 "each": False, "fields": False}
_LOOKUP_FIELDS = {"operationId": True, "parameter": True, "gives": True, "says": True}


@dataclass(frozen=True)
class Field:
    target: str  # the REST name: a body property (dotted), a query or path parameter
    sources: tuple[str, ...] = ()  # XML paths under bodyContent; the first present is used
    convert: str = "text"
    zone: tuple[str, ...] = ()
    start: str | None = None
    lookup: str | None = None
    mask: str | None = None
    each: str | None = None  # an array: one item per element at this path
    fields: tuple[Field, ...] = ()
    line: int = 0


@dataclass(frozen=True)
class Lookup:
    id: str
    operation_id: str
    parameter: str
    gives: str
    says: str


@dataclass(frozen=True)
class OperationMap:
    name: str
    operation_id: str
    basis: str
    sources: tuple[str, ...]
    scopes: tuple[str, ...]
    path: tuple[Field, ...] = ()
    query: tuple[Field, ...] = ()
    body: tuple[Field, ...] = ()
    constants: dict[str, Any] = field(default_factory=dict)
    gaps: dict[str, str] = field(default_factory=dict)  # XML path -> why it has no REST counterpart
    line: int = 0
    query_constants: dict[str, Any] = field(default_factory=dict)  # set-query: a constant query parameter

    @functools.cached_property
    def known_paths(self) -> tuple[dict[str, tuple[str, str]], frozenset[str]]:
        """Lower-cased gap paths -> (path, why), and every lower-cased XML path the entry reads,
        array items included: what `translate.uncarried` looks each leaf's path prefixes up in."""
        consumed = [path.lower() for path in self.consumed()]
        for item in self.body:
            if item.each:
                consumed += [f"{item.each}/{source}".lower() for sub in item.fields for source in sub.sources]
        return {path.lower(): (path, why) for path, why in self.gaps.items()}, frozenset(consumed)

    def consumed(self) -> list[str]:
        """Every XML path this entry reads or explains (the rest of a request is "not in the mapping")."""
        paths = list(self.gaps)
        for item in (*self.path, *self.query, *self.body):
            paths += [*item.sources, *item.zone, *([item.start] if item.start else []),
                      *([item.each] if item.each else [])]
        return paths


@dataclass(frozen=True)
class Mapping:
    operations: dict[str, OperationMap]  # by lower-case XML operation name
    lookups: dict[str, Lookup]
    sources: dict[str, dict[str, str]]
    scopes_says: str
    path: Path
    # Operations the lifecycle pairs with a REST counterpart that the mapping cannot translate, and
    # why, with the source it rests on: by lower-case name, {name, why, source}.
    unmapped: dict[str, dict[str, Any]] = field(default_factory=dict)

    def get(self, operation: str | None) -> OperationMap | None:
        return self.operations.get((operation or "").lower())


def load_mapping(path: Path | None = None, rest: RestSpec | None = None,
                 lifecycle: Lifecycle | None = None) -> Mapping:
    path = path or data_dir("rules") / "migration" / FILE_NAME
    rest = rest or default_rest_spec()
    lifecycle = lifecycle or load_lifecycle()
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise RuleError(f"{path}:1: the mapping file is a mapping with {', '.join(_SECTIONS)}")
    _fields(data, _SECTIONS, f"{path}:1")
    sources = {}
    for key, entry in _entries(data, "sources", path):
        if not isinstance(entry, dict) or not str(entry.get("url", "")).startswith("https://") or not entry.get("says"):
            raise RuleError(f"{path}:{line_of(entry, default=line_of(data['sources'], key))} (sources {key}): "
                            "a source is {url: https://..., says: ...}")
        sources[key] = {"url": entry["url"], "says": str(entry["says"]).strip()}
    scopes = data["scopes"]
    if not isinstance(scopes, dict) or scopes.get("source") not in sources or not scopes.get("says"):
        raise RuleError(f"{path}:{line_of(scopes, default=line_of(data, 'scopes'))} (scopes): "
                        "{source: a source id, says: ...}")
    lookups = {}
    for key, entry in _entries(data, "lookups", path):
        where = f"{path}:{line_of(entry, default=1)} (lookups {key})"
        _fields(entry, _LOOKUP_FIELDS, where)
        operation = rest.operation(entry["operationId"])
        if operation is None:
            raise RuleError(f"{where}: operationId {entry['operationId']!r} is not in the REST data")
        if operation.parameter(entry["parameter"], "query") is None:
            raise RuleError(f"{where}: {entry['operationId']} has no query parameter {entry['parameter']!r}")
        lookups[key] = Lookup(key, entry["operationId"], entry["parameter"], entry["gives"], str(entry["says"]).strip())
    operations: dict[str, OperationMap] = {}
    for name, entry in _entries(data, "operations", path):
        where = _Where(path, name, line_of(data["operations"], name, 1))
        operations[name.lower()] = _operation(name, entry, where, rest, lifecycle, sources, lookups, operations)
    unmapped = {}
    for name, entry in (_entries(data, "unmapped", path) if data.get("unmapped") else []):
        where = f"{path}:{line_of(data['unmapped'], name, 1)} (unmapped {name})"
        _fields(entry, _UNMAPPED_FIELDS, where)
        if name.lower() in operations:
            raise RuleError(f"{where}: {name} is mapped under operations")
        if not lifecycle.lookup(name).known:
            raise RuleError(f"{where}: {name} is not an operation of rules/lifecycle.yaml")
        named = entry["source"] if isinstance(entry["source"], list) else [entry["source"]]
        unknown = [source for source in named if source not in sources]
        if unknown:
            raise RuleError(f"{where}: unknown source {unknown[0]!r} (known: {', '.join(sorted(sources))})")
        unmapped[name.lower()] = {"name": name, "why": str(entry["why"]).strip(), "source": named}
    return Mapping(operations, lookups, sources, str(scopes["says"]).strip(), path, unmapped)


@dataclass(frozen=True)
class _Where:
    """"file:line (operations Name ...)" for one operation of the mapping, at any of its lines."""

    path: Path
    name: str
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line} (operations {self.name})"

    def at(self, entry: dict[str, Any], key: str) -> str:
        """Pointed at the line of `key` inside the operation's entry."""
        return f"{self.path}:{line_of(entry, key, self.line)} (operations {self.name})"

    def field(self, line: int, section: str, key: str) -> str:
        return f"{self.path}:{line} (operations {self.name} {section}.{key})"


def _operation(name: str, entry: dict[str, Any], where: _Where, rest: RestSpec, lifecycle: Lifecycle,
               sources: dict[str, Any], lookups: dict[str, Lookup], seen: dict[str, OperationMap]) -> OperationMap:
    _fields(entry, _OPERATION_FIELDS, where)
    if name.lower() in seen:
        raise RuleError(f"{where}: operation listed twice (names are matched case-insensitively)")
    if not lifecycle.lookup(name).known:
        raise RuleError(f"{where}: {name} is not an operation of rules/lifecycle.yaml")
    target = entry["rest"]
    if not isinstance(target, dict) or set(plain(target)) != {"operationId"}:
        raise RuleError(f"{where}: rest is {{operationId: ...}}")
    operation = rest.operation(str(target["operationId"]))
    if operation is None:
        raise RuleError(f"{where.at(entry, 'rest')}: operationId {target['operationId']!r} is not in "
                        "the REST data (tools/build_rest_data.py ships the operations the mapping names)")
    if entry["basis"] not in BASES:
        raise RuleError(f"{where.at(entry, 'basis')}: basis {entry['basis']!r} is not one of {', '.join(BASES)}")
    named = entry["source"] if isinstance(entry["source"], list) else [entry["source"]]
    for source in named:
        if source not in sources:
            raise RuleError(f"{where.at(entry, 'source')}: unknown source {source!r} "
                            f"(known: {', '.join(sorted(sources))})")
    scopes = entry["scopes"]
    if not isinstance(scopes, list) or not all(isinstance(s, str) and ":" in s for s in scopes):
        raise RuleError(f"{where.at(entry, 'scopes')}: scopes is a list of OAuth scopes (meeting:schedules_read)")

    def fields_of(section: str, check) -> tuple[Field, ...]:
        raw = entry.get(section) or {}
        if not isinstance(raw, dict):
            raise RuleError(f"{where.at(entry, section)}: {section} is a mapping of REST names to fields")
        built = []
        for key, spec in plain_items(raw):
            line = line_of(raw, key, 0)
            field_where = where.field(line, section, str(key))
            problem = check(str(key))
            if problem:
                raise RuleError(f"{field_where}: {problem}")
            built.append(_field(str(key), spec, field_where, lookups, line, check if section == "body" else None))
        return tuple(built)

    path_params = fields_of("path", lambda key: None if key in operation.path_parameters else
                            f"{operation.method} {operation.path} has no path parameter {key!r}")
    query = fields_of("query", lambda key: None if operation.parameter(key, "query") else
                      f"{operation.operation_id} has no query parameter {key!r}")
    body_check = (lambda key: None if rest.has_property(operation.body_schema, key) else
                  f"{operation.body_schema} has no property {key!r} (Cisco's OpenAPI description)") \
        if operation.body_schema else (lambda key: f"{operation.operation_id} takes no request body")
    body = fields_of("body", body_check)
    constants = plain(entry.get("set") or {})
    for key in constants:
        problem = body_check(str(key))
        if problem:
            raise RuleError(f"{where.at(entry, 'set')}: {problem}")
    query_constants = plain(entry.get("set-query") or {})
    for key, value in query_constants.items():
        parameter = operation.parameter(str(key), "query")
        if parameter is None:
            raise RuleError(f"{where.at(entry, 'set-query')}: {operation.operation_id} has no query parameter {key!r}")
        allowed = (parameter.get("schema") or {}).get("enum")
        if allowed and value not in allowed:
            raise RuleError(f"{where.at(entry, 'set-query')}: {key}={value!r} is not one of {', '.join(map(str, allowed))} "
                            "(Cisco's OpenAPI description)")
    gaps = entry.get("gaps") or {}
    if not isinstance(gaps, dict) or not all(isinstance(v, str) and v.strip() for _, v in plain_items(gaps)):
        raise RuleError(f"{where.at(entry, 'gaps')}: gaps is a mapping of XML paths to why they have no REST counterpart")
    return OperationMap(name, operation.operation_id, entry["basis"], tuple(named), tuple(scopes), path_params,
                        query, body, constants, dict(plain_items(gaps)), line_of(entry, default=0),
                        dict(query_constants))


def _field(target: str, spec: Any, where: str, lookups: dict[str, Lookup], line: int, check) -> Field:
    if not isinstance(spec, dict):
        raise RuleError(f"{where}: a field is {{from: xml/path, convert: ...}}")
    _fields(spec, _FIELD_FIELDS, where)
    if spec.get("each"):
        if not isinstance(spec.get("fields"), dict) or spec.get("from"):
            raise RuleError(f"{where}: an array field is {{each: xml/path, fields: {{property: field}}}}")
        items = []
        for key, item in plain_items(spec["fields"]):
            if check:
                problem = check(f"{target}.{key}")
                if problem:
                    raise RuleError(f"{where}: {problem}")
            items.append(_field(str(key), item, where, lookups, line_of(spec["fields"], key, line), None))
        return Field(target, each=str(spec["each"]), fields=tuple(items), line=line)
    sources = _paths(spec.get("from"), "from", where)
    if not sources:
        raise RuleError(f"{where}: missing required field(s) from")
    convert = spec.get("convert", "text")
    if convert not in CONVERSIONS:
        raise RuleError(f"{where}: convert {convert!r} is not one of {', '.join(CONVERSIONS)}")
    if convert == "lookup" and spec.get("lookup") not in lookups:
        raise RuleError(f"{where}: convert lookup needs lookup: one of {', '.join(sorted(lookups))}")
    if convert == "end" and not spec.get("start"):
        raise RuleError(f"{where}: convert end needs start: the XML path of the start date")
    mask = spec.get("mask")
    if mask is not None and mask not in MASKS:
        raise RuleError(f"{where}: mask {mask!r} is not one of {', '.join(MASKS)}")
    return Field(target, sources, convert, _paths(spec.get("zone"), "zone", where), spec.get("start"),
                 spec.get("lookup"), mask, line=line)


def _paths(value: Any, what: str, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    values = value if isinstance(value, list) else [value]
    if not all(isinstance(v, str) and v and not v.startswith("/") for v in values):
        raise RuleError(f"{where}: {what} is an XML path under bodyContent (a/b/c) or a list of them")
    return tuple(values)


def _entries(data: dict[str, Any], section: str, path: Path):
    entries = data[section]
    if not isinstance(entries, dict):
        raise RuleError(f"{path}:{line_of(data, section, 1)}: {section!r} must be a mapping")
    for key, entry in plain_items(entries):
        if not isinstance(entry, dict):
            raise RuleError(f"{path}:{line_of(entries, key, 1)} ({section} {key}): must be a mapping")
        yield str(key), entry


def _fields(entry: dict[str, Any], fields: dict[str, bool], where: str) -> None:
    missing = [name for name, required in fields.items() if required and entry.get(name) in (None, "")]
    if missing:
        raise RuleError(f"{where}: missing required field(s) {', '.join(missing)}")
    unknown = sorted(str(key) for key, _ in plain_items(entry) if key not in fields)
    if unknown:
        raise RuleError(f"{where}: unknown field(s) {', '.join(unknown)} (known: {', '.join(fields)})")


@functools.cache
def default_mapping() -> Mapping:
    """The shipped data, read once per process."""
    return load_mapping()
