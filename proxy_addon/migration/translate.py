"""One Meetings XML request -> the REST request that replaces it, and what would not survive the move.

The translation follows rules/migration/rest-mapping.yaml field by field; the body is validated
against Cisco's OpenAPI schema and checked against the limits its descriptions state. What cannot
be carried over is said, never dropped silently: XML fields with no REST counterpart (the mapping's
gaps, and anything the mapping does not name), values over a REST limit, values with no conversion,
REST ids that must be looked up first, and properties REST requires that the request lacks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from proxy_addon.core.message import Message, local_name, text_of
from proxy_addon.core.redaction import redact
from proxy_addon.lint.lifecycle import Lifecycle
from proxy_addon.migration import convert
from proxy_addon.migration.mapping import Field, Mapping, OperationMap
from proxy_addon.migration.masking import Masker
from proxy_addon.migration.rest import RestSpec
from proxy_addon.migration.timezones import TimeZones

_REQUIRED = re.compile(r"'([^']+)' is a required property")
# A field path starting here reads the request's header, not its bodyContent.
HEADER_PREFIX = "securityContext/"
# How a translation ends: what a plan does with it.
TRANSLATED, NO_COUNTERPART, NOT_AFFECTED, UNKNOWN = "translated", "no-rest-counterpart", "not-affected", "unknown"
# A counterpart the lifecycle names but the mapping does not translate field by field (yet).
NOT_MAPPED = "not-mapped"


@dataclass(frozen=True)
class Loss:
    """Something the REST request cannot carry. `kind`: gap (the mapping says REST has no
    counterpart), not-mapped, over-limit, no-conversion, assumption (a default the XML server applied
    that REST does not: a time with no zone), lookup (a REST id to find first),
    missing-required (REST requires what the request lacks), schema (the body breaks the schema)."""

    kind: str
    field: str  # the XML path, or the REST property or parameter
    detail: str


@dataclass
class Translation:
    operation: str
    status: str
    where: str  # the input: file, HAR entry, flow
    client: str  # "address · user agent", or "repository files"
    credential: str  # the kind the request carried: password, sessionTicket, accessToken, none
    method: str | None = None
    path: str | None = None
    query: dict[str, Any] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    operation_id: str | None = None
    summary: str = ""
    basis: str = ""
    scopes: tuple[str, ...] = ()
    before: list[dict[str, Any]] = field(default_factory=list)
    losses: list[Loss] = field(default_factory=list)
    note: str = ""  # why there is no translation

    @property
    def survives(self) -> bool:
        """Nothing lost: the REST request carries everything the XML request said."""
        return self.status == TRANSLATED and not self.losses

    @property
    def schema_errors(self) -> list[Loss]:
        return [loss for loss in self.losses if loss.kind == "schema"]

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"operation": self.operation, "status": self.status, "input": self.where,
                                "client": self.client, "credential": self.credential}
        if self.status == TRANSLATED:
            data |= {"method": self.method, "path": self.path, "query": self.query, "body": self.body,
                     "operationId": self.operation_id, "summary": self.summary, "basis": self.basis,
                     "scopes": list(self.scopes), "before": self.before}
        else:
            data["note"] = self.note
        data["lost"] = [{"kind": loss.kind, "field": loss.field, "detail": loss.detail} for loss in self.losses]
        return data


@dataclass
class Translator:
    mapping: Mapping
    rest: RestSpec
    zones: TimeZones
    lifecycle: Lifecycle
    masker: Masker = field(default_factory=Masker)

    def translate(self, message: Message, where: str, client: str, credential: str) -> Translation:
        name = message.operation or "(no operation)"
        entry = self.mapping.get(message.operation)
        if entry is None:
            known = self.lifecycle.lookup(message.operation)
            if known.status == "not-affected":
                return Translation(name, NOT_AFFECTED, where, client, credential,
                                   note="not affected by the XML API's end of life: stays on XML")
            if known.status == "unknown":
                status = UNKNOWN
            else:
                status = NO_COUNTERPART if known.rest.status == "none-known" else NOT_MAPPED
            note = (f"{known.rest.label} per rules/lifecycle.yaml; no field mapping, so no REST request is generated"
                    if known.rest.status != "none-known"
                    else "no comparable REST operation is known (rules/lifecycle.yaml)")
            said = self.mapping.unmapped.get((message.operation or "").lower())
            if said is not None:  # the mapping says why it cannot translate it, and on what source
                note = f"{note}: {said['why']} (source: {', '.join(said['source'])})"
            return Translation(name, status, where, client, credential, note=note)
        return _Run(self, entry, message, Translation(name, TRANSLATED, where, client, credential)).translate()


class _Run:
    """One request's translation under construction."""

    def __init__(self, translator: Translator, entry: OperationMap, message: Message, result: Translation):
        self.t, self.entry, self.message, self.result = translator, entry, message, result
        self.body_content = message.body_content
        self.raw: dict[str, Any] = {}  # body property -> the value before masking, for limits

    def translate(self) -> Translation:
        entry, result = self.entry, self.result
        operation = self.t.rest.operation(entry.operation_id)
        result.method, result.operation_id, result.summary = operation.method, operation.operation_id, operation.summary
        result.basis, result.scopes = entry.basis, entry.scopes
        path = operation.path
        for item in entry.path:
            value = self._value(item, self.body_content)
            if value is not None:
                path = path.replace("{" + item.target + "}", str(value))
        for name in operation.path_parameters:
            if "{" + name + "}" in path and not any(step["gives"] == name for step in result.before):
                result.losses.append(Loss("lookup", name, f"REST needs {name} in the path; the XML request "
                                          "has no value it can be found from (see the gaps)"))
        result.path = path
        for item in entry.query:
            value = self._value(item, self.body_content)
            if value is not None:
                result.query[item.target] = value
        result.query.update(entry.query_constants)
        for parameter in operation.parameters:
            if parameter.get("in") == "query" and parameter.get("required") and parameter["name"] not in result.query:
                result.losses.append(Loss("missing-required", parameter["name"],
                                          f"REST requires the query parameter {parameter['name']}"))
        if operation.body_schema:
            result.body = self._body(entry, operation.body_schema)
        self._unmapped()
        result.body = redact(result.body, self.message.secrets) if result.body is not None else None
        return result

    def _body(self, entry: OperationMap, schema: str) -> dict[str, Any]:
        body: dict[str, Any] = {}
        for item in entry.body:
            if item.each:
                items = []
                for element in _find_all(self.body_content, item.each):
                    row = {sub.target: value for sub in item.fields
                           if (value := self._value(sub, element, f"{item.target}[].{sub.target}")) is not None}
                    if row:
                        items.append(row)
                if items:
                    _put(body, item.target, items)
                continue
            value = self._value(item, self.body_content, item.target)
            if value is not None:
                _put(body, item.target, value)
        for key, value in entry.constants.items():
            _put(body, key, value)
        self._limits(schema, body)
        for problem in self.t.rest.validate(schema, body):
            required = _REQUIRED.search(problem)
            if required:
                self.result.losses.append(Loss("missing-required", required.group(1),
                                               "REST requires it and the XML request has no value for it"))
            else:
                self.result.losses.append(Loss("schema", problem.split(":", 1)[0], f"REST refuses the body: {problem}"))
        return body

    def _value(self, item: Field, scope: etree._Element | None, target: str | None = None) -> Any:
        element = next((found for source in item.sources for found in self._find(scope, source)), None)
        if element is None:
            return None
        try:
            value = self._convert(item, element, scope)
        except convert.NoConversion as problem:
            self.result.losses.append(Loss("no-conversion", _path_of(element, self.body_content), str(problem)))
            return None
        if value is None:
            return None
        if target is not None and isinstance(value, str):
            self.raw[target] = value
        return self.t.masker.mask(item.mask, value) if isinstance(value, str) else value

    def _convert(self, item: Field, element: etree._Element, scope: etree._Element | None) -> Any:
        kind = item.convert
        if kind == "recurrence":
            return convert.recurrence(element)
        text = text_of(element) or ""
        if kind == "text":
            return text or None
        if kind == "integer":
            return convert.integer(text)
        if kind == "boolean":
            return convert.boolean(text)
        if kind == "site-url":
            return convert.site_url(text)
        if kind == "timezone":
            return convert.zone_of(text, self.t.zones)
        zone = convert.zone_of(self._first_text(scope, item.zone), self.t.zones)
        if kind == "datetime":
            if zone is None:
                self._assumed_zone(element)
            return convert.iso(convert.local_datetime(text), zone)
        if kind == "end":
            return convert.end(text, self._first_text(scope, (item.start,)), zone)
        if kind == "lookup":
            lookup = self.t.mapping.lookups[item.lookup]
            rest = self.t.rest.operation(lookup.operation_id)
            step = {"method": rest.method, "path": rest.path, "query": {lookup.parameter: text},
                    "gives": lookup.gives, "why": lookup.says}
            if step not in self.result.before:
                self.result.before.append(step)
            return "{" + lookup.gives + "}"
        raise convert.NoConversion(f"conversion {kind} unknown")  # the mapping's loader rules this out

    def _assumed_zone(self, element: etree._Element) -> None:
        loss = Loss("assumption", _path_of(element, self.body_content),
                    "no time zone in the request: the XML API used the user's or site's default zone; "
                    "REST reads a time without offset in the `timezone` given, else UTC")
        if loss not in self.result.losses:
            self.result.losses.append(loss)

    def _first_text(self, scope: etree._Element | None, paths: tuple[str | None, ...]) -> str | None:
        for path in paths:
            if path:
                for element in self._find(scope, path):
                    return text_of(element)
        return None

    def _find(self, scope: etree._Element | None, path: str) -> list[etree._Element]:
        if path.startswith(HEADER_PREFIX):
            return _find_all(self.message.security_context, path[len(HEADER_PREFIX):])
        return _find_all(scope, path)

    def _limits(self, schema: str, body: dict[str, Any]) -> None:
        for limit in self.t.rest.limits_for(schema):
            value = self.raw.get(limit.property, _get(body, limit.property))
            if limit.kind == "maxLength" and isinstance(value, str) and len(value) > limit.value:
                self.result.losses.append(Loss("over-limit", limit.property,
                                               f"{len(value):,} characters; REST takes at most {limit.value:,} "
                                               f"(OpenAPI: \"{limit.description}\")"))
            if limit.kind == "maxItems" and isinstance(value, list) and len(value) > limit.value:
                self.result.losses.append(Loss("over-limit", limit.property,
                                               f"{len(value):,} items; REST takes at most {limit.value:,} "
                                               f"(OpenAPI: \"{limit.description}\")"))

    def _unmapped(self) -> None:
        """Every leaf of the request that no field reads: a gap the mapping explains, or not mapped."""
        self.result.losses.extend(uncarried(self.entry, self.body_content))


def uncarried(entry: OperationMap, body_content: etree._Element | None) -> list[Loss]:
    """The request's fields the REST request does not carry: a gap the mapping explains (once per
    gap), or an element no field reads (not mapped). Names only: no value is read. Each leaf's path
    prefixes are looked up in sets (the audit store runs this on every deprecated request)."""
    if body_content is None:
        return []
    losses: list[Loss] = []
    gaps, consumed = entry.known_paths
    reported: set[str] = set()
    for path, prefixes in _leaves(body_content):
        lowered = prefixes[-1]
        gap = next((prefix for prefix in prefixes if prefix in gaps), None)
        if gap is not None:
            if gap not in reported:
                reported.add(gap)
                losses.append(Loss("gap", *gaps[gap]))
            continue
        if any(prefix in consumed for prefix in prefixes):
            continue
        if lowered not in reported:
            reported.add(lowered)
            losses.append(Loss("not-mapped", path, "no REST counterpart in the mapping "
                               "(rules/migration/rest-mapping.yaml): its value is not carried over"))
    return losses


def _leaves(top: etree._Element):
    """(path, its lower-cased prefixes: a, a/b, a/b/c) of every element under `top` without child
    elements, in document order; one walk down, each path built from its parent's."""
    stack = [(child, "", ()) for child in reversed(top) if isinstance(child.tag, str)]
    while stack:
        element, parent, prefixes = stack.pop()
        name = local_name(element)
        path = f"{parent}/{name}" if parent else name
        own = (*prefixes, path.lower())
        children = [child for child in element if isinstance(child.tag, str)]
        if not children:
            yield path, own
            continue
        stack.extend((child, path, own) for child in reversed(children))


def not_carried(message: Message) -> tuple[str, ...]:
    """For the audit store: "gap enableOptions/HDvideo", "not-mapped foo/bar" for each field of a
    Meetings request that its REST request would not carry; () for any other message. Element names
    only, never a value, so the store can keep it. The shipped mapping is loaded on first use."""
    from proxy_addon.migration.mapping import default_mapping  # noqa: PLC0415

    entry = default_mapping().get(message.operation)
    if entry is None:
        return ()
    return tuple(f"{loss.kind} {loss.field}" for loss in uncarried(entry, message.body_content))


def _find_all(scope: etree._Element | None, path: str) -> list[etree._Element]:
    """Elements at a/b/c under scope, local names compared case-insensitively (clients write timezoneID)."""
    found = [scope] if scope is not None else []
    for part in path.lower().split("/"):
        found = [child for element in found for child in element
                 if isinstance(child.tag, str) and local_name(child).lower() == part]
    return found


def _path_of(element: etree._Element, top: etree._Element | None) -> str:
    parts = []
    while element is not None and element is not top:
        parts.append(local_name(element))
        element = element.getparent()
    return "/".join(reversed(parts))


def _put(body: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        body = body.setdefault(part, {})
    body[last] = value


def _get(body: dict[str, Any], dotted: str) -> Any:
    node: Any = body
    for part in dotted.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node
