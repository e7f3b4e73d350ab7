"""Rule packs: YAML data in rules/, loaded and checked once, indexed by direction and operation.

A pack is a list of rules. Each rule is data: where it applies (direction, operations, site type,
API versions), what it looks at (`given`, a selector), the check it runs (`then.function` with
options), what it says and predicts, how to fix it, and its documentation.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from proxy_addon.core.findings import Severity
from proxy_addon.core.shipped import data_dir
from proxy_addon.core.versions import Version, parse_version
from proxy_addon.lint.checks import CHECKS, OPTION_SCHEMAS, Check
from proxy_addon.lint.selector import Selector, SelectorError, compile_selector

DIRECTIONS = {"request", "response", "any"}
FIX_ACTIONS = {"remove", "truncate", "site-id", "rename"}
DOC_FIELDS = ("summary", "why", "example", "fix", "source")
# How the proxy's findings log reports a rule: every finding, or the first per client and operation.
LOG_MODES = {"every", "once-per-client"}


class RuleError(ValueError):
    """A rule pack that cannot be used; the message names the file, the line and the problem."""


@dataclass(frozen=True)
class FixSpec:
    action: str
    safe: bool


@dataclass
class Rule:
    id: str
    name: str
    severity: Severity
    message: str
    introduced: str
    direction: str = "any"
    operations: tuple[str, ...] | None = None  # None = every operation
    site: str = "any"  # "any" | "ci"
    since: Version | None = None
    until: Version | None = None
    given: list[str] = field(default_factory=list)
    selectors: list[Selector] = field(default_factory=list)
    unless: list[Selector] = field(default_factory=list)
    function: str = "builtin"
    check: Check | None = None
    options: dict[str, Any] = field(default_factory=dict)
    predicts: str | None = None
    fix: FixSpec | None = None
    docs: dict[str, str] = field(default_factory=dict)
    pack: str = ""
    log: str = "every"  # see LOG_MODES

    @property
    def is_builtin(self) -> bool:
        return self.function == "builtin"

    def applies_to_version(self, version: Version) -> bool:
        return (self.since is None or version >= self.since) and (self.until is None or version < self.until)


# libyaml's parser when PyYAML was built with it: the same documents, ~15x faster than the pure
# Python one (loading the packs is most of a `check` run's start-up).
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LineLoader(_SAFE_LOADER):
    """Records the line of every mapping so errors can point at the rule."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        mapping = super().construct_mapping(node, deep=deep)
        mapping["__line__"] = node.start_mark.line + 1
        return mapping




def load_yaml(path: Path) -> Any:
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader)  # noqa: S506 (SafeLoader subclass)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise RuleError(f"{where}: invalid YAML: {error.problem}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise RuleError(f"{path}: cannot read rule pack: {error}") from None


def _without_lines(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_lines(v) for k, v in value.items() if k != "__line__"}
    if isinstance(value, list):
        return [_without_lines(v) for v in value]
    return value


def _require(raw: dict[str, Any], key: str, where: str) -> Any:
    if key not in raw or raw[key] in (None, ""):
        raise RuleError(f"{where}: missing required field {key!r}")
    return raw[key]


def _build_rule(raw: dict[str, Any], path: Path) -> Rule:
    where = f"{path}:{raw.get('__line__', '?')}"
    rule_id = _require(raw, "id", where)
    where = f"{where} (rule {rule_id})"
    severity_name = _require(raw, "severity", where)
    try:
        severity = Severity(severity_name)
    except ValueError:
        raise RuleError(f"{where}: severity {severity_name!r} is not one of error, warning, info") from None
    direction = raw.get("direction", "any")
    if direction not in DIRECTIONS:
        raise RuleError(f"{where}: direction {direction!r} is not one of {sorted(DIRECTIONS)}")
    operations = raw.get("operations", "*")
    if operations != "*" and not (isinstance(operations, list) and all(isinstance(o, str) for o in operations)):
        raise RuleError(f"{where}: operations must be '*' or a list of operation names")
    site = raw.get("site", "any")
    if site not in {"any", "ci"}:
        raise RuleError(f"{where}: site {site!r} is not 'any' or 'ci'")
    api = {k: v for k, v in (raw.get("api") or {}).items() if k != "__line__"}
    try:
        since = parse_version(str(api["since"])) if "since" in api else None
        until = parse_version(str(api["until"])) if "until" in api else None
    except ValueError as error:
        raise RuleError(f"{where}: api: {error}") from None
    then = raw.get("then") or {"function": "builtin"}
    function = then.get("function", "builtin")
    options = _without_lines(then.get("options") or {})
    if function != "builtin":
        if function not in CHECKS:
            raise RuleError(f"{where}: unknown check function {function!r} (known: {', '.join(sorted(CHECKS))})")
        _check_options(function, options, where)
    given = raw.get("given", [])
    given = [given] if isinstance(given, str) else list(given)
    if function != "builtin" and not given:
        raise RuleError(f"{where}: a rule with a check function needs a 'given' selector")
    unless = raw.get("unless", [])
    unless = [unless] if isinstance(unless, str) else list(unless)
    try:
        selectors = [compile_selector(expr) for expr in given]
        unless_selectors = [compile_selector(expr) for expr in unless]
    except SelectorError as error:
        raise RuleError(f"{where}: {error}") from None
    fix = raw.get("fix")
    fix_spec = None
    if fix:
        if fix.get("action") not in FIX_ACTIONS:
            raise RuleError(f"{where}: fix action {fix.get('action')!r} is not one of {sorted(FIX_ACTIONS)}")
        fix_spec = FixSpec(fix["action"], bool(fix.get("safe", False)))
    log = raw.get("log", "every")
    if log not in LOG_MODES:
        raise RuleError(f"{where}: log {log!r} is not one of {sorted(LOG_MODES)}")
    docs = {k: str(v).strip() for k, v in (raw.get("docs") or {}).items() if k != "__line__"}
    missing_docs = [f for f in DOC_FIELDS if f not in docs]
    if missing_docs:
        raise RuleError(f"{where}: docs lack {', '.join(missing_docs)}")
    return Rule(
        id=rule_id,
        name=_require(raw, "name", where),
        severity=severity,
        message=_require(raw, "message", where),
        introduced=str(_require(raw, "introduced", where)),
        direction=direction,
        operations=None if operations == "*" else tuple(operations),
        site=site,
        since=since,
        until=until,
        given=given,
        selectors=selectors,
        unless=unless_selectors,
        function=function,
        check=CHECKS.get(function),
        options=options,
        predicts=str(raw["predicts"]) if raw.get("predicts") else None,
        fix=fix_spec,
        docs=docs,
        pack=path.stem,
        log=log,
    )


def _check_options(function: str, options: dict[str, Any], where: str) -> None:
    schema = OPTION_SCHEMAS[function]
    for name, (kind, required) in schema.items():
        if required and name not in options:
            raise RuleError(f"{where}: check {function!r} needs option {name!r}")
        if name in options and not isinstance(options[name], kind):
            raise RuleError(f"{where}: option {name!r} of {function!r} must be {getattr(kind, '__name__', kind)}")
    unknown = set(options) - set(schema)
    if unknown:
        raise RuleError(f"{where}: check {function!r} has no option(s) {', '.join(sorted(unknown))}")


class RuleSet:
    def __init__(self, rules: list[Rule], exceptions: dict[str, dict[str, Any]] | None = None,
                 lifecycle: Any = None):
        self.lifecycle = lifecycle  # rules/lifecycle.yaml (proxy_addon.lint.lifecycle.Lifecycle), if present
        self.variants = sorted(rules, key=lambda r: r.id)
        self.by_id: dict[str, Rule] = {}
        for rule in self.variants:
            self.by_id.setdefault(rule.id, rule)
        self.rules = list(self.by_id.values())  # one per id, for listings and documentation
        self.exceptions = exceptions or {}
        # (direction, operation or "*") -> rules, so a message only pays for rules that can apply.
        self._index: dict[tuple[str, str], list[Rule]] = defaultdict(list)
        for rule in self.variants:
            if rule.is_builtin:
                continue
            directions = ("request", "response", "unknown") if rule.direction == "any" else (rule.direction,)
            for direction in directions:
                for operation in rule.operations or ("*",):
                    self._index[(direction, operation.lower())].append(rule)

    def candidates(self, direction: str, operation: str | None) -> list[Rule]:
        general = self._index.get((direction, "*"), [])
        specific = self._index.get((direction, operation.lower()), []) if operation else []
        return general + specific if specific else general

    @classmethod
    def load(cls, directory: Path | None = None) -> RuleSet:
        directory = directory or data_dir("rules")
        rules: list[Rule] = []
        exceptions: dict[str, dict[str, Any]] = {}
        seen: dict[str, str] = {}
        lifecycle = None
        for path in sorted(directory.glob("*.yaml")):
            if path.name == "lifecycle.yaml":  # operation data, not rules: checked by its own loader
                from proxy_addon.lint.lifecycle import load_lifecycle  # noqa: PLC0415 (it imports this module)

                lifecycle = load_lifecycle(path)
                continue
            data = load_yaml(path)
            if path.stem == "exceptions":
                exceptions = _load_exceptions(data, path)
                continue
            if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
                raise RuleError(f"{path}:1: a rule pack is a mapping with a 'rules' list")
            for raw in data["rules"]:
                variants = [_build_rule(variant, path) for variant in _expand_variants(raw, path)]
                rule_id = variants[0].id
                if rule_id in seen:
                    raise RuleError(f"{path}:{raw.get('__line__')}: rule id {rule_id} already defined in {seen[rule_id]}")
                seen[rule_id] = str(path)
                rules.extend(variants)
        if not rules:
            raise RuleError(f"{directory}: no rule packs (*.yaml) found")
        return cls(rules, exceptions, lifecycle)


def _expand_variants(raw: Any, path: Path) -> list[dict[str, Any]]:
    """A rule whose selector differs by operation lists `variants`; each is the rule with overrides."""
    if not isinstance(raw, dict):
        raise RuleError(f"{path}: each entry of 'rules' must be a mapping")
    variants = raw.get("variants")
    if variants is None:
        return [raw]
    if not isinstance(variants, list) or not variants:
        raise RuleError(f"{path}:{raw.get('__line__')}: 'variants' must be a non-empty list")
    base = {k: v for k, v in raw.items() if k != "variants"}
    return [{**base, **variant, "__line__": variant.get("__line__", base.get("__line__"))} for variant in variants]


def _load_exceptions(data: Any, path: Path) -> dict[str, dict[str, Any]]:
    if not isinstance(data, dict) or not isinstance(data.get("exceptions"), dict):
        raise RuleError(f"{path}:1: the exception catalog is a mapping with an 'exceptions' mapping")
    catalog = {}
    for exception_id, entry in data["exceptions"].items():
        if exception_id == "__line__":
            continue
        if not isinstance(entry, dict) or "meaning" not in entry:
            raise RuleError(f"{path}: exception {exception_id}: needs a 'meaning'")
        catalog[str(exception_id).zfill(6)] = {k: v for k, v in entry.items() if k != "__line__"}
    return catalog
