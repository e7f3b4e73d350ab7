"""The linter: parse a message once, then run only the rules that can apply to it."""

from __future__ import annotations

from collections.abc import Callable

from lxml import etree

from proxy_addon.core.findings import Finding, Fix, Severity
from proxy_addon.core.frozen import Plain
from proxy_addon.core.message import (
    Message,
    build_message,
    local_name,
    operation_from_request_type,
    text_of,
)
from proxy_addon.core.namespaces import SERVICE_NS
from proxy_addon.core.parsing import DEFAULT_MAX_BYTES, ParsedDocument, parse_document
from proxy_addon.core.text import xml_escape
from proxy_addon.core.versions import Version
from proxy_addon.lint.checks import CheckEnv
from proxy_addon.lint.context import LintContext
from proxy_addon.lint.ruleset import Rule, RuleSet, builtin_rules, render
from proxy_addon.lint.selector import Searches


class LintResult(Plain):  # not a dataclass: creating one costs `check` start-up (core/frozen.py)
    _FIELDS = ("path", "document", "message", "findings", "context")  # compared and shown
    path: str
    document: ParsedDocument
    message: Message | None
    findings: list[Finding]
    context: LintContext

    def __init__(self, path: str, document: ParsedDocument, message: Message | None,
                 findings: list[Finding] | None = None, context: LintContext | None = None):
        self.path = path
        self.document = document
        self.message = message
        self.findings = [] if findings is None else findings
        self.context = LintContext() if context is None else context
        # Per tag: each element's count of same-named start tags before it on its line (see _position).
        self._line_occurrences: dict[str, dict[etree._Element, int]] = {}
        # Per rule: findings made, and for those over the cap, how many were only counted and where the first was.
        self._emitted: dict[str, int] = {}
        self._uncounted: dict[str, list] = {}

    @property
    def operation(self) -> str | None:
        return self.findings[0].operation if self.findings else (self.message.operation if self.message else None)


class Plan:
    """The rules one kind of message runs (direction, operation, API version, site type, selection),
    with their searches merged: each subtree they search is walked once per message."""

    __slots__ = ("rules", "searches", "steps")

    def __init__(self, rules: list[Rule]):
        self.rules = rules
        self.searches = Searches(selector for rule in rules for selector in (*rule.selectors, *rule.when, *rule.unless))
        # Per rule, one function from a message to the elements its check gets (its `unless`, `when`
        # and selectors folded in): the loop over the rules calls it and nothing else per rule.
        self.steps = tuple((rule, _matcher(rule)) for rule in rules)


def _matcher(rule: Rule) -> Callable[[Message], list[etree._Element]]:
    """The elements `rule` is to check in a message: its selectors' matches, none when an `unless`
    selector matches or a `when` one does not."""
    selectors = [selector.matcher() for selector in rule.selectors]
    if len(selectors) == 1:
        select = selectors[0]
    else:
        def select(message: Message) -> list[etree._Element]:
            return [element for select_any in selectors for element in select_any(message)]
    unless, when = tuple(rule.unless), tuple(rule.when)
    if not unless and not when:
        return select

    def guarded(message: Message) -> list[etree._Element]:
        if unless and any(select_unless(message) for select_unless in unless):
            return []
        if when and not all(select_when(message) for select_when in when):
            return []
        return select(message)
    return guarded


class Linter:
    def __init__(self, ruleset: RuleSet | None = None, max_bytes: int = DEFAULT_MAX_BYTES):
        self.ruleset = ruleset or RuleSet.load()
        self.max_bytes = max_bytes
        self._validator = None
        self._plans: dict[tuple, Plan] = {}

    def lint(self, data: bytes, *, path: str = "-", http_charset: str | None = None,
             direction: str | None = None, context: LintContext | None = None,
             operation_hint: str | None = None, time: float | None = None) -> LintResult:
        """`time`: when the message was seen (a capture's clock), for rules that compare it with what
        earlier answers issued (`LintContext.remembered`)."""
        context = context or LintContext()
        document = parse_document(data, path=path, http_charset=http_charset, max_bytes=self.max_bytes,
                                  voice=self.ruleset, validating=bool(context.validate))
        result = LintResult(path, document, None, list(document.findings), context)
        if document.root is None:
            return self._finish(result)
        message = build_message(document.root, direction)
        if document.credential_elements is not None:
            message.__dict__["_credential_elements"] = document.credential_elements
        if message.operation is None and operation_hint:
            message.operation = operation_hint
        result.message = message
        self._check_envelope(result)
        self._run_rules(result, time)
        if context.validate:
            result.findings.extend(self._schema_validator(context).validate(message, document))
        return self._finish(result)

    # -- envelope rules the parser cannot see (WX003, WX004) --------------------------------------

    def _check_envelope(self, result: LintResult) -> None:
        message = result.message
        assert message is not None
        root = message.root
        if local_name(root) != "message" or message.root_namespace != SERVICE_NS:
            found = _describe_root(root, message.root_namespace, result.document.unbound_prefixes)
            self._emit_case(result, "WX003", "wrong-root", root, found=found, namespace=SERVICE_NS)
        if message.direction != "request":
            return
        body = message.body_content
        if body is None:
            self._emit_case(result, "WX004", "no-body", root)
            return
        body_type = message.body_type
        if not body_type:
            self._emit_case(result, "WX004", "no-type", body)
            return
        package, operation, well_formed = operation_from_request_type(body_type)
        if well_formed:
            return
        if operation:
            suggestion = f"java:com.webex.service.binding.{package}.{operation}"
            self._emit_case(result, "WX004", "misspelled-type", body, found=body_type, suggestion=suggestion)
        else:
            self._emit_case(result, "WX004", "unknown-type", body, found=body_type)

    # -- data-driven rules ------------------------------------------------------------------------

    def _run_rules(self, result: LintResult, time: float | None) -> None:
        message = result.message
        assert message is not None
        context = result.context
        site = context.site_key(message.site_name, message.site_id)
        is_ci = context.is_ci(site)
        site_kind = context.site_kind(site)
        version = context.version_for(site)
        env = None
        plan = self._runnable(message.direction, message.operation, version, site_kind, context,
                              context.is_control_hub(site))
        plan.searches.install(message)
        for rule, select in plan.steps:
            matches = select(message)
            if not matches:
                continue
            env = env or CheckEnv(message, version, is_ci, self.ruleset.exceptions, self.ruleset.lifecycle,
                                  site_kind=site_kind, site=site, time=time, remembered=context.remembered)
            for hit in rule.check(matches, rule.options, env):
                if _over_the_cap(result, rule.id, hit.element):
                    continue
                text = render(rule.message, {"operation": message.operation, **hit.values})
                finding = self._emit(result, rule, rule.severity, hit.element, text)
                if finding is None:
                    continue
                finding.fix = self._fix_for(rule, hit.element, hit.values, result)
                finding.notes.extend(hit.notes)

    def _runnable(self, direction: str, operation: str | None, version: Version, site_kind: str | None,
                  context: LintContext, control_hub: bool = False) -> Plan:
        """The rules that can fire on such a message in this context, worked out once per kind of message."""
        key = (direction, operation and operation.lower(), version, site_kind, control_hub, context.select,
               context.ignore)
        plan = self._plans.get(key)
        if plan is None:
            if len(self._plans) > 4096:  # operation names come from traffic: keep the memo bounded
                self._plans.clear()
            plan = self._plans[key] = Plan([
                rule for rule in self.ruleset.candidates(direction, operation)
                if (context.selects_by_id(rule.id) if rule.opt_in else context.is_selected(rule.id))
                and rule.applies_to_version(version)
                and rule.applies_to_site(site_kind, control_hub)
            ])
        return plan

    def _fix_for(self, rule: Rule, element: etree._Element, values: dict, result: LintResult) -> Fix | None:
        if rule.fix is None or result.document.text is None:
            return None
        message = result.message
        index = message.element_index(element)
        if rule.fix.action == "remove":
            return Fix(f"remove <{local_name(element)}>", rule.fix.safe, "remove", index)
        if rule.fix.action == "truncate":
            limit = values.get("max")
            if not limit:
                return None
            return Fix(f"truncate <{local_name(element)}> to {limit} characters", rule.fix.safe,
                       "replace-text", index, (text_of(element) or "")[:limit])
        if rule.fix.action == "site-id":
            if message.site_name:
                return Fix("remove <siteID> (siteName is present)", rule.fix.safe, "remove", index)
            name = result.context.site_ids.get(text_of(element) or "")
            if name:
                prefix = element.prefix + ":" if element.prefix and element.prefix in (element.nsmap or {}) else ""
                # Escaped here, where the XML is built: "R&D" from --site-id must not make it ill-formed.
                return Fix(f"replace <siteID> with <siteName>{name}</siteName>", rule.fix.safe,
                           "replace-element", index, f"<{prefix}siteName>{xml_escape(name)}</{prefix}siteName>")
        return None

    def _emit_case(self, result: LintResult, rule_id: str, case: str, element: etree._Element,
                   **values: object) -> Finding | None:
        """A finding our code emits by rule id and case; its name, severity and words are the pack's."""
        if not result.context.is_selected(rule_id):
            return None
        _name, severity, text = self.ruleset.describe(rule_id, case, values)
        rule = self.ruleset.by_id.get(rule_id) or builtin_rules().by_id[rule_id]
        return self._emit(result, rule, severity, element, text)

    def _emit(self, result: LintResult, rule: Rule, severity: Severity, element: etree._Element,
              text: str) -> Finding | None:
        context = result.context
        if not context.is_selected(rule.id):
            return None
        message = result.message
        index = message.element_index(element) if message is not None else None
        line, column = _position(result, element, index)
        finding = Finding(
            rule=rule.id, name=rule.name, severity=severity,
            message=text,  # as written: redacted where it leaves the process (exchange/record.py)
            line=line, column=column, path=result.path,
            operation=message.operation if message else None,
            direction=message.direction if message else None,
            predicts=rule.predicts, element_index=index,
        )
        result.findings.append(finding)
        return finding

    def _finish(self, result: LintResult) -> LintResult:
        if not result.findings and not result._uncounted:  # most messages: nothing to sort or cap
            return result
        context = result.context
        message = result.message
        kept = []
        for finding in result.findings:
            if not context.is_selected(finding.rule):
                continue
            rule = self.ruleset.by_id.get(finding.rule)
            if rule is not None and finding.name != rule.name:
                finding.name = rule.name
            finding.severity = context.severity_overrides.get(finding.rule, finding.severity)
            if message is not None:
                finding.operation = finding.operation or message.operation
                finding.direction = finding.direction or message.direction
            kept.append(finding)
        kept.sort(key=lambda f: (f.line, f.column, f.rule))
        result.findings = self._capped(result, kept)
        return result

    def _capped(self, result: LintResult, findings: list[Finding]) -> list[Finding]:
        """At most MAX_FINDINGS_PER_RULE findings of a rule, then one that says how many more there were.

        1.6 million WX301 findings in one 16 MB message took 2.6 GB and printed 232 MB; the first
        hundred say all there is to say. Findings the engine would make past the cap are never made
        (only counted, in _over_the_cap); those of the parser and the schema validator are cut here.
        """
        if not result._uncounted and len(findings) <= MAX_FINDINGS_PER_RULE:
            return findings  # no rule can be over the cap
        counts: dict[str, int] = {}
        kept, more = [], {rule: [count, None, element] for rule, (count, element) in result._uncounted.items()}
        for finding in findings:
            seen = counts[finding.rule] = counts.get(finding.rule, 0) + 1
            if seen <= MAX_FINDINGS_PER_RULE:
                kept.append(finding)
                continue
            entry = more.setdefault(finding.rule, [0, None, None])
            entry[0] += 1
            if entry[1] is None or (finding.line, finding.column) < (entry[1].line, entry[1].column):
                entry[1] = finding
        for rule_id, (count, first, element) in more.items():
            if first is not None:
                line, column, model = first.line, first.column, first
            else:
                message = result.message
                line, column = _position(result, element, message.element_index(element) if message else None)
                model = next((f for f in kept if f.rule == rule_id), None)
                if model is None:
                    continue
            kept.append(Finding(
                rule=rule_id, name=model.name, severity=model.severity, line=line, column=column, path=result.path,
                message=f"and {count:,} more {rule_id} findings in this message (the first "
                        f"{MAX_FINDINGS_PER_RULE} of each rule are listed)",
                operation=model.operation, direction=model.direction))
        if more:
            kept.sort(key=lambda f: (f.line, f.column, f.rule))
        return kept

    def _schema_validator(self, context: LintContext):
        if self._validator is None or getattr(self._validator, "schema_dir", None) != context.schema_dir:
            from proxy_addon.schema.validation import SchemaValidator  # noqa: PLC0415 (schemas load only when asked for)

            self._validator = SchemaValidator(schema_dir=context.schema_dir, voice=self.ruleset)
        return self._validator


def _describe_root(root: etree._Element, namespace: str | None, unbound_prefixes: list[str]) -> str:
    """The root as the client wrote it: never a namespace the parser bound for it (WX002)."""
    name = local_name(root)
    if root.prefix and root.prefix in unbound_prefixes:
        return f"{root.prefix}:{name} (its prefix {root.prefix}: is never declared)"
    if namespace is None:
        return f"{name} in no namespace"
    return f"{name} in {namespace}"


MAX_FINDINGS_PER_RULE = 100  # per message; past it, one finding says how many more there were


def _over_the_cap(result: LintResult, rule_id: str, element: etree._Element) -> bool:
    """Count a finding the engine is about to make; True when its rule already has the most a
    message lists (then it is only counted, its message and position never worked out)."""
    made = result._emitted[rule_id] = result._emitted.get(rule_id, 0) + 1
    if made <= MAX_FINDINGS_PER_RULE:
        return False
    entry = result._uncounted.setdefault(rule_id, [0, element])
    entry[0] += 1
    return True


def _position(result: LintResult, element: etree._Element, index: int | None) -> tuple[int, int]:
    """Line from lxml; the column by finding the start tag on that line (cheaper than a full scan)."""
    source_map = result.document.source_map
    line = element.sourceline
    if line:
        tag, prefix = element.tag, element.prefix
        name = tag.rsplit("}", 1)[-1]
        qname = f"{prefix}:{name}" if prefix else name
        column = source_map.start_tag_column(line, qname, _occurrence_on_line(result, element))
        if column is not None:
            return line, column
    if index is not None:
        position = source_map.element_position(index)
        if position:
            return position
    return line or 1, 1


def _occurrence_on_line(result: LintResult, element: etree._Element) -> int:
    """How many start tags of the same name come before `element` on its line (one-line messages).

    Counted up to `element` for the first one asked (most findings are of an element that comes
    early, or alone of its name); past a few, for every element of that name in one walk, then
    looked up: walking up to each element in turn made a message with thousands of findings of one
    rule quadratic (a 200 KB message of repeated <HQvideo> took 19 s).
    """
    occurrences = result._line_occurrences.get(element.tag)
    if occurrences is not None:
        return occurrences.get(element, 0)
    root = result.message.root if result.message is not None else element.getroottree().getroot()
    place, before = (element.sourceline, element.prefix), 0
    for walked, other in enumerate(root.iter(element.tag)):
        if other is element:
            return before
        if walked == _OCCURRENCES_COUNTED:
            break
        if (other.sourceline, other.prefix) == place:
            before += 1
    occurrences, seen_on_line = {}, {}
    for other in root.iter(element.tag):
        key = (other.sourceline, other.prefix)
        occurrences[other] = seen_on_line.get(key, 0)
        seen_on_line[key] = occurrences[other] + 1
    result._line_occurrences[element.tag] = occurrences
    return occurrences.get(element, 0)


_OCCURRENCES_COUNTED = 16  # elements of one name walked for a finding before all of them are indexed


__all__ = ["LintContext", "LintResult", "Linter", "Severity"]
