"""The XML API's end of life per operation (rules/lifecycle.yaml): loaded once, checked at load.

Every operation the project knows has a service group, a lifecycle status (deprecated with the
announced dates, not affected, unknown) with its source, and a REST counterpart that a source
states, that we suggest, or that is not known. Rule WX601 and the audit report's "Migration
readiness" section read it; an operation not in the file has status unknown.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from proxy_addon.core import data_cache
from proxy_addon.core.frozen import Frozen
from proxy_addon.core.shipped import data_dir
from proxy_addon.lint.packs import RuleError, load_yaml

FILE_NAME = "lifecycle.yaml"
STATUSES = ("deprecated", "not-affected", "unknown")
BASES = ("stated", "inferred")
REST_STATUSES = ("stated", "suggested", "none-known")
_SECTIONS = {"sources", "statuses", "groups", "operations"}
_SOURCE_FIELDS = {"url": True, "says": True}
_STATUS_FIELDS = {"meaning": True, "source": True, "end_of_support": False, "end_of_life": False, "extension": False}
_GROUP_FIELDS = {"status": True, "basis": True, "source": True, "note": False}
_OPERATION_FIELDS = {"group": True, "rest": True, "status": False, "basis": False, "source": False, "note": False}
# The YAML loader's bookkeeping keys (line numbers: "__line__", and per key "__lines__"), not data.
def _is_meta(key: Any) -> bool:
    return isinstance(key, str) and key.startswith("__") and key.endswith("__")


_REST_FIELDS = {"stated": {"status", "name", "docs", "source"}, "suggested": {"status", "name", "docs"},
                "none-known": {"status"}}


# Frozen values, not dataclasses: every `check` loads this table, and four dataclasses cost its
# start-up ~4 ms to create.
class Source(Frozen):
    __slots__ = ("id", "url", "says")
    id: str
    url: str
    says: str


class Rest(Frozen):
    __slots__ = ("status", "name", "docs", "source")
    _defaults = {"name": None, "docs": None, "source": None}
    status: str  # "stated" | "suggested" | "none-known"
    name: str | None
    docs: str | None
    source: Source | None  # for "stated"

    @property
    def label(self) -> str:
        if self.status == "none-known":
            return "none known"
        return f"{self.name} ({self.status})"


class Operation(Frozen):
    __slots__ = ("name", "group", "status", "basis", "source", "rest", "note", "known")
    _defaults = {"note": "", "known": True}
    name: str
    group: str
    status: str
    basis: str  # is the status stated by the source for this operation, or inferred from its group
    source: Source
    rest: Rest
    note: str
    known: bool


class Lifecycle(Frozen):
    __slots__ = ("operations", "statuses", "groups", "sources")
    operations: dict[str, Operation]  # by lower-case name
    statuses: dict[str, dict[str, str]]
    groups: dict[str, dict[str, str]]
    sources: dict[str, Source]

    def lookup(self, operation: str | None) -> Operation:
        """The operation's entry; one not in the file is status unknown, group unknown."""
        found = self.operations.get((operation or "").lower())
        if found is not None:
            return found
        return Operation(operation or "(no operation)", "unknown", "unknown", "inferred",
                         self.sources[self.statuses["unknown"]["source"]], Rest("none-known"),
                         "not in rules/lifecycle.yaml", known=False)

    @property
    def deprecation(self) -> dict[str, str]:
        return self.statuses["deprecated"]


def load_lifecycle(path: Path | None = None) -> Lifecycle:
    """Read and check rules/lifecycle.yaml; a problem raises RuleError naming file:line."""
    path = path or data_dir("rules") / FILE_NAME
    try:
        raw = path.read_bytes()
    except OSError:
        raw = None  # load_yaml says why, naming the file
    if raw is not None:
        checked = data_cache.load(CHECKED_CACHE_KIND, raw)
        if checked is not None:
            try:
                return _from_checked(checked)
            except (KeyError, IndexError, TypeError, ValueError, AttributeError):
                pass  # an entry of another shape: check the file anew
    lifecycle = _checked(path)
    if raw is not None:
        data_cache.store(CHECKED_CACHE_KIND, raw, _to_checked(lifecycle))
    return lifecycle


# The data cache's entry for a file that passed every check below: rows of text only, so start-up
# rebuilds the table without checking it again (the entry is keyed by the file's exact bytes, so
# an edited file is checked anew). Bump the version when the rows change shape.
CHECKED_CACHE_KIND = "lifecycle-checked-v1"


def _to_checked(lifecycle: Lifecycle) -> dict[str, Any]:
    return {
        "sources": {key: [source.url, source.says] for key, source in lifecycle.sources.items()},
        "statuses": lifecycle.statuses,
        "groups": lifecycle.groups,
        "operations": [[op.name, op.group, op.status, op.basis, op.source.id, op.rest.status, op.rest.name,
                        op.rest.docs, op.rest.source.id if op.rest.source is not None else None, op.note]
                       for op in lifecycle.operations.values()],
    }


def _from_checked(entry: dict[str, Any]) -> Lifecycle:
    sources = {key: Source(key, url, says) for key, (url, says) in entry["sources"].items()}
    operations = {}
    for name, group, status, basis, source, rest_status, rest_name, rest_docs, rest_source, note in entry["operations"]:
        rest = Rest(rest_status, rest_name, rest_docs, sources[rest_source] if rest_source is not None else None)
        operations[name.lower()] = Operation(name, group, status, basis, sources[source], rest, note, True)
    return Lifecycle(operations, entry["statuses"], entry["groups"], sources)


def _checked(path: Path) -> Lifecycle:
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise RuleError(f"{path}:1: the lifecycle file is a mapping with {', '.join(sorted(_SECTIONS))}")
    _fields(data, {name: True for name in _SECTIONS}, f"{path}:1")
    sources = {key: Source(key, entry["url"], str(entry["says"]).strip())
               for key, entry in _entries(data, "sources", path, _SOURCE_FIELDS)}
    statuses = {}
    for key, entry in _entries(data, "statuses", path, _STATUS_FIELDS):
        where = f"{path}:{entry['__line__']} (status {key})"
        _one_of(key, STATUSES, "status", where)
        _source(entry["source"], sources, where)
        statuses[key] = {k: str(v) for k, v in entry.items() if not _is_meta(k)}
    missing = [s for s in STATUSES if s not in statuses]
    if missing:
        raise RuleError(f"{path}:{data['statuses'].get('__line__', 1)}: statuses lack {', '.join(missing)}")
    if not {"end_of_support", "end_of_life"} <= set(statuses["deprecated"]):
        raise RuleError(f"{path}: status deprecated needs end_of_support and end_of_life")
    groups = {}
    for key, entry in _entries(data, "groups", path, _GROUP_FIELDS):
        where = f"{path}:{entry['__line__']} (group {key})"
        _one_of(entry["status"], STATUSES, "status", where)
        _one_of(entry["basis"], BASES, "basis", where)
        _source(entry["source"], sources, where)
        groups[key] = {k: str(v) for k, v in entry.items() if not _is_meta(k)}
    operations: dict[str, Operation] = {}
    for name, entry in _entries(data, "operations", path, _OPERATION_FIELDS):
        where = f"{path}:{entry['__line__']} (operation {name})"
        if name.lower() in operations:
            raise RuleError(f"{where}: operation listed twice (names are matched case-insensitively)")
        group = groups.get(entry["group"])
        if group is None:
            raise RuleError(f"{where}: unknown group {entry['group']!r} (known: {', '.join(sorted(groups))})")
        status = _one_of(entry.get("status", group["status"]), STATUSES, "status", where)
        basis = _one_of(entry.get("basis", group["basis"]), BASES, "basis", where)
        source = _source(entry.get("source", group["source"]), sources, where)
        operations[name.lower()] = Operation(name, entry["group"], status, basis, source,
                                             _rest(entry["rest"], sources, where), str(entry.get("note", "")))
    return Lifecycle(operations, statuses, groups, sources)


def _entries(data: dict[str, Any], section: str, path: Path, fields: dict[str, bool]):
    entries = data[section]
    if not isinstance(entries, dict):
        raise RuleError(f"{path}:1: {section!r} must be a mapping")
    for key, entry in entries.items():
        if _is_meta(key):
            continue
        where = f"{path}:{entries['__line__']} ({section} {key})"
        if not isinstance(entry, dict):
            raise RuleError(f"{where}: must be a mapping")
        _fields(entry, fields, f"{path}:{entry['__line__']} ({section} {key})")
        yield str(key), entry


def _fields(entry: dict[str, Any], fields: dict[str, bool], where: str) -> None:
    missing = [name for name, required in fields.items() if required and entry.get(name) in (None, "")]
    if missing:
        raise RuleError(f"{where}: missing required field(s) {', '.join(missing)}")
    unknown = sorted(str(key) for key in set(entry) - set(fields) if not _is_meta(key))
    if unknown:
        raise RuleError(f"{where}: unknown field(s) {', '.join(map(str, unknown))} (known: {', '.join(fields)})")


def _one_of(value: Any, allowed: tuple[str, ...], what: str, where: str) -> str:
    if value not in allowed:
        raise RuleError(f"{where}: {what} {value!r} is not one of {', '.join(allowed)}")
    return value


def _source(key: Any, sources: dict[str, Source], where: str) -> Source:
    if key not in sources:
        raise RuleError(f"{where}: unknown source {key!r} (known: {', '.join(sorted(sources))})")
    return sources[key]


def _rest(raw: Any, sources: dict[str, Source], where: str) -> Rest:
    if not isinstance(raw, dict):
        raise RuleError(f"{where}: rest must be a mapping with a status")
    status = _one_of(raw.get("status"), REST_STATUSES, "rest status", where)
    _fields(raw, dict.fromkeys(_REST_FIELDS[status], True), f"{where} rest")
    docs = raw.get("docs")
    if docs is not None and not str(docs).startswith("https://"):
        raise RuleError(f"{where}: rest docs must be an https:// link, not {docs!r}")
    return Rest(status, raw.get("name"), docs, _source(raw["source"], sources, where) if status == "stated" else None)


@functools.cache
def default_lifecycle() -> Lifecycle:
    """The shipped file, read once per process."""
    return load_lifecycle()
