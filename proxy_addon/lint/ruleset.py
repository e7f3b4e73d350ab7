"""Rule packs: YAML data in rules/, loaded and checked once, indexed by direction and operation.

A pack is a list of rules. Each rule is data: where it applies (direction, operations, site type,
API versions), what it looks at (`given`, a selector), the check it runs (`then.function` with
options), what it says and predicts, how to fix it, and its documentation.
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from proxy_addon.core.findings import Severity
from proxy_addon.core.frozen import Frozen, Plain
from proxy_addon.core.message import exception_key
from proxy_addon.core.shipped import data_dir
from proxy_addon.core.versions import Version, parse_version
from proxy_addon.lint.checks import CHECKS, OPTION_SCHEMAS, Check
from proxy_addon.lint.lifecycle import load_lifecycle
from proxy_addon.lint.options import (
    KEY_LINES,
    LINE,
    OptionError,
    line_of,
    plain,
    plain_items,
)
from proxy_addon.lint.packs import PACK_CACHE_KIND, RuleError, load_yaml
from proxy_addon.lint.selector import Selector, SelectorError, compile_selector

DIRECTIONS = {"request", "response", "any"}
SITES = {"any", "ci", "not-ci", "known", "control-hub"}  # not-ci: every site not known to be CI; known: its type is known
FIX_ACTIONS = {"remove", "truncate", "site-id", "rename"}
DOC_FIELDS = ("summary", "why", "example", "fix", "source")
RULE_KEYS = {"id", "name", "severity", "introduced", "direction", "operations", "site", "api", "given", "unless",
             "when", "then", "message", "cases", "predicts", "fix", "docs", "variants", "log",
             "opt_in"}
# A variant may also say what it predicts in its own words (a limit whose failure differs by version).
VARIANT_KEYS = {"operations", "given", "unless", "when", "then", "direction", "api", "site", "message", "predicts"}
ID_PATTERN = re.compile(r"^[A-Z]+[0-9]+$")
NAME_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
BUILTIN_PREFIX = "WX"
# How the proxy's findings log reports a rule: every finding, or the first per client and operation.
LOG_MODES = {"every", "once-per-client"}


class FixSpec(Frozen):
    """A rule's fix: its action and whether it is safe to apply without asking."""

    __slots__ = ("action", "safe")
    action: str
    safe: bool


class Case(Frozen):
    """One named message of a builtin rule (WX005 "invalid-bytes"): its template and severity."""

    __slots__ = ("message", "severity")
    message: str
    severity: Severity


class Rule(Plain):
    """One rule (one variant of it): where it applies, what it selects, the check, its words and fix.
    (A plain class, not a dataclass: `check FILE` creates it at import, core/frozen.py.)"""

    _FIELDS = ("id", "name", "severity", "message", "introduced", "direction", "operations", "site", "since", "until",
               "given", "selectors", "unless", "when", "function", "check", "options", "predicts", "fix", "docs",
               "cases", "pack", "source", "log", "opt_in")

    def __init__(self, id: str, name: str, severity: Severity, message: str, introduced: str,  # noqa: A002
                 direction: str = "any",
                 operations: tuple[str, ...] | None = None,  # None = every operation
                 site: str = "any",  # "any" | "ci" | "not-ci" (not known to be CI) | "known" (the type is known)
                 since: Version | None = None, until: Version | None = None,
                 given: list[str] | None = None, selectors: list[Selector] | None = None,
                 unless: list[Selector] | None = None,
                 when: list[Selector] | None = None,  # each must match, or the rule does not run
                 function: str = "builtin", check: Check | None = None, options: dict[str, Any] | None = None,
                 predicts: str | None = None, fix: FixSpec | None = None, docs: dict[str, str] | None = None,
                 cases: dict[str, Case] | None = None,
                 pack: str = "",  # the pack's name (file stem)
                 source: str = "",  # the pack's path
                 log: str = "every",  # see LOG_MODES
                 # Off unless selected by its own id (--select WX503), as ruff's opt-in rules: for findings a
                 # correct message can carry, which only someone auditing their own code asked for.
                 opt_in: bool = False):
        self.id = id
        self.name = name
        self.severity = severity
        self.message = message
        self.introduced = introduced
        self.direction = direction
        self.operations = operations
        self.site = site
        self.since = since
        self.until = until
        self.given = [] if given is None else given
        self.selectors = [] if selectors is None else selectors
        self.unless = [] if unless is None else unless
        self.when = [] if when is None else when
        self.function = function
        self.check = check
        self.options = {} if options is None else options
        self.predicts = predicts
        self.fix = fix
        self.docs = {} if docs is None else docs
        self.cases = {} if cases is None else cases
        self.pack = pack
        self.source = source
        self.log = log
        self.opt_in = opt_in

    @property
    def team(self) -> bool:
        return self.id.rstrip("0123456789") != BUILTIN_PREFIX

    @property
    def is_builtin(self) -> bool:
        return self.function == "builtin"

    def applies_to_version(self, version: Version) -> bool:
        return (self.since is None or version >= self.since) and (self.until is None or version < self.until)

    def applies_to_site(self, site_kind: str | None, control_hub: bool = False) -> bool:
        """site: ci needs a CI site, not-ci any other (unknown included), known a site whose type is
        known (its rules read env.site_kind), control-hub a site configured as Control Hub managed."""
        if self.site == "control-hub":
            return control_hub
        return self.site == "any" or (self.site == "ci" and site_kind == "ci") or (
            self.site == "not-ci" and site_kind != "ci") or (self.site == "known" and site_kind is not None)


class _Where:
    """Builds "file:line (rule ID): problem" for one rule."""

    def __init__(self, path: Path, raw: dict[str, Any], rule_id: str | None = None):
        self.path, self.raw, self.rule_id = path, raw, rule_id

    def __call__(self, problem: str, key: str | None = None, line: int | None = None) -> RuleError:
        line = line or line_of(self.raw, key) or "?"
        rule = f" (rule {self.rule_id})" if self.rule_id else ""
        return RuleError(f"{self.path}:{line}{rule}: {problem}")


def _did_you_mean(key: Any, known: Iterable[str]) -> str:
    import difflib  # noqa: PLC0415 (only a broken pack needs it)

    close = difflib.get_close_matches(str(key), sorted(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(sorted(known))})"


def _require(raw: dict[str, Any], key: str, where: _Where) -> Any:
    if key not in raw or raw[key] in (None, ""):
        raise where(f"missing required field {key!r}")
    return raw[key]


def _mapping(raw: dict[str, Any], key: str, keys: set[str] | tuple[str, ...], where: _Where) -> dict[str, Any]:
    """A nested mapping (api, then, fix, docs) with only the keys it may have."""
    value = raw.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise where(f"{key} must be a mapping", key)
    for name, _ in plain_items(value):
        if name not in keys:
            raise where(f"{key}: unknown key {name!r}{_did_you_mean(name, keys)}",
                        line=line_of(value, name))
    return value


def _text_list(raw: dict[str, Any], key: str, where: _Where) -> list[str]:
    value = raw.get(key, [])
    value = [value] if isinstance(value, str) else value
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise where(f"{key} must be a selector or a list of selectors", key)
    return list(value)


def _build_rule(raw: dict[str, Any], path: Path, team: bool) -> Rule:
    where = _Where(path, raw)
    rule_id = _require(raw, "id", where)
    where.rule_id = rule_id
    _check_id(rule_id, team, where)
    for key, _ in plain_items(raw):
        if key not in RULE_KEYS:
            raise where(f"unknown key {key!r}{_did_you_mean(key, RULE_KEYS)}", key)
    severity = _severity(_require(raw, "severity", where), where, "severity")
    name = _require(raw, "name", where)
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise where(f"name {name!r} must be kebab-case (lower-case words joined by '-')", "name")
    message = _require(raw, "message", where)
    if not isinstance(message, str):
        raise where("message must be text (a template with {named} fields)", "message")
    direction = raw.get("direction", "any")
    if direction not in DIRECTIONS:
        raise where(f"direction {direction!r} is not one of {sorted(DIRECTIONS)}", "direction")
    operations = raw.get("operations", "*")
    if operations != "*" and not (isinstance(operations, list) and all(isinstance(o, str) for o in operations)):
        raise where("operations must be '*' or a list of operation names", "operations")
    site = raw.get("site", "any")
    if site not in SITES:
        raise where(f"site {site!r} is not one of {', '.join(sorted(SITES))}", "site")
    api = _mapping(raw, "api", {"since", "until"}, where)
    try:
        since = parse_version(str(api["since"])) if "since" in api else None
        until = parse_version(str(api["until"])) if "until" in api else None
    except ValueError as error:
        raise where(f"api: {error}", "api") from None
    then = _mapping(raw, "then", {"function", "options"}, where) or {"function": "builtin"}
    function = then.get("function", "builtin")
    if function == "builtin" and team:
        raise where("a team rule needs a check function (then.function); 'builtin' rules are emitted by our code",
                    "then" if "then" in raw else None)
    if function != "builtin" and function not in CHECKS:
        raise where(f"unknown check function {function!r} (known: {', '.join(sorted(CHECKS))})",
                    line=line_of(then, "function"))
    options: dict[str, Any] = {}
    if function != "builtin":
        try:
            options = OPTION_SCHEMAS[function].load(then.get("options"), "options", line_of(then, "options"))
        except OptionError as error:
            raise where(f"check {function!r}: {error.problem}", line=error.line or line_of(then, "options")) from None
    elif then.get("options"):
        raise where("a builtin rule takes no options", line=line_of(then, "options"))
    given = _text_list(raw, "given", where)
    if function != "builtin" and not given:
        raise where("a rule with a check function needs a 'given' selector")
    unless = _text_list(raw, "unless", where)
    when = _text_list(raw, "when", where)
    compiled: dict[str, list[Selector]] = {}
    for key, expressions in (("given", given), ("unless", unless), ("when", when)):
        try:
            compiled[key] = [compile_selector(expr) for expr in expressions]
        except SelectorError as error:
            raise where(str(error), key) from None
    selectors, unless_selectors, when_selectors = compiled["given"], compiled["unless"], compiled["when"]
    fix = _mapping(raw, "fix", {"action", "safe"}, where)
    fix_spec = None
    if fix:
        if fix.get("action") not in FIX_ACTIONS:
            raise where(f"fix action {fix.get('action')!r} is not one of {sorted(FIX_ACTIONS)}", "fix")
        fix_spec = FixSpec(fix["action"], bool(fix.get("safe", False)))
    log = raw.get("log", "every")
    if log not in LOG_MODES:
        raise where(f"log {log!r} is not one of {sorted(LOG_MODES)}", "log")
    opt_in = raw.get("opt_in", False)
    if not isinstance(opt_in, bool):
        raise where("opt_in must be true or false", "opt_in")
    docs_raw = _mapping(raw, "docs", DOC_FIELDS, where)
    docs = {k: str(v).strip() for k, v in plain_items(docs_raw)}
    missing_docs = [f for f in DOC_FIELDS if not docs.get(f)]
    if missing_docs:
        raise where(f"docs lack {', '.join(missing_docs)}", "docs")
    return Rule(
        id=rule_id,
        name=name,
        severity=severity,
        message=message,
        introduced=str(_require(raw, "introduced", where)),
        direction=direction,
        operations=None if operations == "*" else tuple(operations),
        site=site,
        since=since,
        until=until,
        given=given,
        selectors=selectors,
        unless=unless_selectors,
        when=when_selectors,
        function=function,
        check=CHECKS.get(function),
        options=options,
        predicts=str(raw["predicts"]) if raw.get("predicts") else None,
        fix=fix_spec,
        docs=docs,
        cases=_cases(raw, severity, where),
        pack=path.stem,
        source=str(path),
        log=log,
        opt_in=opt_in,
    )


def _severity(value: Any, where: _Where, key: str, line: int | None = None) -> Severity:
    try:
        return Severity(value)
    except ValueError:
        raise where(f"severity {value!r} is not one of error, warning, info", key, line) from None


def _cases(raw: dict[str, Any], severity: Severity, where: _Where) -> dict[str, Case]:
    """Named messages of a builtin rule: what our code emits, each with its own words (and severity)."""
    value = raw.get("cases")
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise where("cases must be a mapping of case name to {message, severity}", "cases")
    cases = {}
    for case, entry in plain_items(value):
        line = line_of(value, case)
        if isinstance(entry, str):
            entry = {"message": entry}
        if not isinstance(entry, dict) or not isinstance(entry.get("message"), str):
            raise where(f"case {case!r} needs a message", line=line)
        for key, _ in plain_items(entry):
            if key not in {"message", "severity"}:
                raise where(f"case {case!r}: unknown key {key!r} (known: message, severity)", line=line_of(entry, key))
        case_severity = _severity(entry["severity"], where, "cases", line) if "severity" in entry else severity
        cases[case] = Case(entry["message"], case_severity)
    return cases


def _check_id(rule_id: Any, team: bool, where: _Where) -> None:
    if not isinstance(rule_id, str) or not ID_PATTERN.match(rule_id):
        raise where(f"id {rule_id!r} must be an upper-case prefix and digits (e.g. ACME001)", "id")
    prefix = rule_id.rstrip("0123456789")
    if team and prefix == BUILTIN_PREFIX:
        raise where(f"id {rule_id}: the {BUILTIN_PREFIX} prefix is reserved for built-in rules; "
                    "choose your team's own (e.g. ACME001)", "id")
    if not team and prefix != BUILTIN_PREFIX:
        raise where(f"id {rule_id}: built-in rules use the {BUILTIN_PREFIX} prefix", "id")


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

    def describe(self, rule_id: str, case: str | None, values: dict[str, Any]) -> tuple[str, Severity, str]:
        """(name, severity, message) of a finding our code emits by rule id and case."""
        rule = self.by_id.get(rule_id)
        if rule is None:  # a rule set without the built-in packs (a test's) still speaks for the parser
            return builtin_rules().describe(rule_id, case, values)
        entry = rule.cases.get(case) if case else None
        if case and entry is None:
            raise KeyError(f"{rule_id} has no case {case!r} in {rule.source}")
        template, severity = (entry.message, entry.severity) if entry else (rule.message, rule.severity)
        return rule.name, severity, render(template, values)

    @classmethod
    def load(cls, directory: Path | None = None, extra_packs: Iterable[Path | str] = ()) -> RuleSet:
        """The built-in packs (or those in `directory`), then each team pack in `extra_packs`.

        Team packs use the same format and check functions; their ids must not use the WX prefix,
        and an id defined twice is an error naming both files.
        """
        directory = directory or data_dir("rules")
        rules: list[Rule] = []
        exceptions: dict[str, dict[str, Any]] = {}
        seen: dict[str, str] = {}
        lifecycle = None
        packs = [(path, False) for path in sorted(directory.glob("*.yaml"))]
        if not any(path.stem not in ("exceptions", "lifecycle") for path, _ in packs):
            raise RuleError(f"{directory}: no rule packs (*.yaml) found")
        packs += [(Path(path), True) for path in extra_packs]
        for path, team in packs:
            if team and not path.is_file():
                raise RuleError(f"{path}: rule pack not found")
            if not team and path.name == "lifecycle.yaml":  # operation data, not rules: its own loader checks it
                lifecycle = load_lifecycle(path)
                continue
            data = load_yaml(path)
            if not team and path.stem == "exceptions":
                exceptions = _load_exceptions(data, path)
                continue
            if not team and path.stem == "releases":  # the release catalog, read by core.versions
                continue
            for raw in _pack_rules(data, path):
                variants = [_build_rule(variant, path, team) for variant in _expand_variants(raw, path)]
                rule_id = variants[0].id
                if rule_id in seen:
                    raise RuleError(f"{path}:{line_of(raw, 'id')}: rule id {rule_id} already defined in {seen[rule_id]}")
                seen[rule_id] = f"{path}:{line_of(raw, 'id')}"
                rules.extend(variants)
        _check_predictions(exceptions, rules, directory)
        return cls(rules, exceptions, lifecycle)


@functools.cache
def builtin_rules() -> RuleSet:
    """The shipped packs, loaded once per process (the parser's words when no Linter is involved)."""
    return RuleSet.load()


def _pack_rules(data: Any, path: Path) -> list[Any]:
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise RuleError(f"{path}:1: a rule pack is a mapping with a 'rules' list")
    for key, _ in plain_items(data):
        if key != "rules":
            raise RuleError(f"{path}:{line_of(data, key)}: unknown key {key!r} (a rule pack has only 'rules')")
    return data["rules"]


def render(template: str, values: dict[str, Any]) -> str:
    """A message template with {named} fields; a field the emitter did not supply is left as written."""
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError):
        return template


def _expand_variants(raw: Any, path: Path) -> list[dict[str, Any]]:
    """A rule whose selector differs by operation lists `variants`; each is the rule with overrides."""
    if not isinstance(raw, dict):
        raise RuleError(f"{path}: each entry of 'rules' must be a mapping, not {raw!r}")
    variants = raw.get("variants")
    if variants is None:
        return [raw]
    if not isinstance(variants, list) or not variants:
        raise RuleError(f"{path}:{line_of(raw, 'variants')}: 'variants' must be a non-empty list")
    base = {k: v for k, v in raw.items() if k != "variants"}
    expanded = []
    for variant in variants:
        if not isinstance(variant, dict):
            raise RuleError(f"{path}:{line_of(raw, 'variants')}: each variant must be a mapping")
        for key, _ in plain_items(variant):
            if key not in VARIANT_KEYS:
                raise RuleError(f"{path}:{line_of(variant, key)}: a variant may set only {', '.join(sorted(VARIANT_KEYS))}, "
                                f"not {key!r}")
        lines = {**base.get(KEY_LINES, {}), **variant.get(KEY_LINES, {})}
        expanded.append({**base, **variant, LINE: variant.get(LINE, base.get(LINE)), KEY_LINES: lines})
    return expanded


def _load_exceptions(data: Any, path: Path) -> dict[str, dict[str, Any]]:
    if not isinstance(data, dict) or not isinstance(data.get("exceptions"), dict):
        raise RuleError(f"{path}:1: the exception catalog is a mapping with an 'exceptions' mapping")
    catalog = {}
    exceptions = data["exceptions"]
    for exception_id, entry in plain_items(exceptions):
        where = f"{path}:{line_of(exceptions, exception_id)}: exception {exception_id}"
        if not isinstance(entry, dict) or not isinstance(entry.get("meaning"), str):
            raise RuleError(f"{where}: needs a 'meaning'")
        for key, value in plain_items(entry):
            if key not in {"meaning", "predicted_by"}:
                raise RuleError(f"{where}: unknown key {key!r}{_did_you_mean(key, ('meaning', 'predicted_by'))}")
            if key == "predicted_by" and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                raise RuleError(f"{where}: predicted_by must be a list of rule ids")
        catalog[exception_key(str(exception_id))] = plain(entry)
    return catalog


def _check_predictions(exceptions: dict[str, dict[str, Any]], rules: list[Rule], directory: Path) -> None:
    """Every rule the catalog names in predicted_by exists."""
    known = {rule.id for rule in rules}
    for exception_id, entry in exceptions.items():
        for rule_id in entry.get("predicted_by", []):
            if rule_id not in known:
                raise RuleError(f"{directory / 'exceptions.yaml'}: exception {exception_id}: predicted_by names "
                                f"unknown rule {rule_id}")
