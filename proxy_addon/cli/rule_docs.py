"""`webex-xml-lint rule WX101` and `webex-xml-lint rules`: the rules' documentation."""

from __future__ import annotations

import argparse
import json
import sys

from proxy_addon.core.versions import format_version
from proxy_addon.lint.ruleset import Rule, RuleError, RuleSet
from proxy_addon.outputs.formats import rule_anchor
from proxy_addon.settings import SettingsError, settings_from_args


def add_arguments(parser: argparse.ArgumentParser) -> None:
    if parser.prog.endswith(" rule"):
        parser.add_argument("rule_id", metavar="RULE", help="a rule id (WX101) or name (deprecated-site-id)")
    else:
        parser.add_argument("--format", choices=["text", "json", "markdown"], default="text")
    parser.add_argument("--rule-pack", action="append", default=[], metavar="FILE", dest="rule_packs",
                        help="also show the rules of this team rule pack (repeatable)")
    parser.add_argument("--config", default=None, metavar="FILE",
                        help="configuration file whose rule-packs to show (default: the nearest one)")


def _load(args: argparse.Namespace) -> RuleSet:
    """The built-in rules and the team packs of the configuration file and of --rule-pack."""
    return RuleSet.load(extra_packs=settings_from_args(args).rule_packs)


def applies_to(rule: Rule) -> str:
    operations = ", ".join(rule.operations) if rule.operations else "every operation"
    parts = [f"{rule.direction if rule.direction != 'any' else 'any'} messages", operations]
    if rule.site == "ci":
        parts.append("CI sites only")
    elif rule.site == "not-ci":
        parts.append("sites not known to be CI")
    elif rule.site == "known":
        parts.append("sites whose type is known (configured or learned)")
    elif rule.site == "control-hub":
        parts.append("Control Hub managed sites only (configured)")
    if rule.since:
        parts.append(f"API {format_version(rule.since)}+")
    return "; ".join(parts)


def _variants(ruleset: RuleSet, rule: Rule) -> list[Rule]:
    return [v for v in ruleset.variants if v.id == rule.id]


def operations_of(ruleset: RuleSet, rule: Rule) -> Rule:
    """A rule with variants documents the union of its variants' operations."""
    variants = [v for v in ruleset.variants if v.id == rule.id]
    site = rule.site if len({v.site for v in variants}) == 1 else "any"  # e.g. WX101: CI and not-CI words
    if any(v.operations is None for v in variants):
        return Rule(**{**rule.__dict__, "site": site})
    merged = tuple(dict.fromkeys(op for v in variants for op in v.operations))
    return Rule(**{**rule.__dict__, "operations": merged, "site": site})


def render_text(rule: Rule, variants: list[Rule] = ()) -> str:
    docs = rule.docs
    fix = "none"
    if rule.fix:
        fix = f"{rule.fix.action} ({'safe: --fix / --rewrite' if rule.fix.safe else 'unsafe: --unsafe-fixes / --rewrite-unsafe'})"
    pack = f"Rule pack:  {rule.source}\n" if rule.team else ""
    return (
        f"# {rule.id} {rule.name} ({rule.severity})\n\n"
        f"{pack}"
        f"Introduced: {rule.introduced}\n"
        f"Applies to: {applies_to(rule)}\n"
        f"Predicts:   {rule.predicts or '-'}\n"
        f"Fix:        {fix}\n"
        f"{f'Opt-in:     runs only when selected by its id (--select {rule.id})' + chr(10) if rule.opt_in else ''}\n"
        f"## What it does\n{docs['summary']}\n\n"
        f"## Why is this bad?\n{docs['why']}\n\n"
        f"## Example\n```xml\n{docs['example']}\n```\n\n"
        f"## How to fix\n{docs['fix']}\n\n"
        f"## Source\n{docs['source']}\n"
        f"{render_cases(rule)}"
        f"{render_variant_messages(rule, variants)}"
    )


def render_variant_messages(rule: Rule, variants: list[Rule]) -> str:
    """A rule whose variants speak differently (WX101 on CI sites, WX401 from 39.8) shows each."""
    messages = list(dict.fromkeys(variant.message for variant in variants))
    if len(messages) < 2:
        return ""
    show_operations = len({v.operations for v in variants}) > 1
    lines = []
    for message in messages:
        scopes = dict.fromkeys(_scope(v, show_operations) for v in variants if v.message == message)
        lines.append(f"- {'; '.join(scopes)}: `{message}`")
    return "\n## Messages\n" + "\n".join(lines) + "\n"


_SITE_SCOPES = {"ci": "CI sites", "not-ci": "sites not known to be CI", "known": "sites of a known type",
                "control-hub": "Control Hub managed sites"}


def _scope(variant: Rule, show_operations: bool) -> str:
    parts = []
    if variant.site != "any":
        parts.append(_SITE_SCOPES.get(variant.site, variant.site))
    if variant.since or variant.until:
        since = f"API {format_version(variant.since)}" if variant.since else "any API"
        parts.append(f"{since} until {format_version(variant.until)}" if variant.until else f"{since}+")
    if show_operations:
        parts.append(", ".join(variant.operations) if variant.operations else "every operation")
    return ", ".join(parts) or "every message"


def render_cases(rule: Rule) -> str:
    """What a built-in rule says in each case our code reports (the templates in its pack)."""
    if not rule.cases:
        return ""
    lines = [f"- `{name}` ({case.severity}): `{case.message}`" for name, case in rule.cases.items()]
    return "\n## Messages\n" + "\n".join(lines) + "\n"


def render_markdown(ruleset: RuleSet) -> str:
    lines = ["# Rules", "", "Generated by `webex-xml-lint rules --format markdown`; do not edit by hand.", "",
             "| Code | Name | Severity | Introduced | Predicts | Fix |", "|---|---|---|---|---|---|"]
    for rule in ruleset.rules:
        fix = "" if not rule.fix else ("safe" if rule.fix.safe else "unsafe")
        lines.append(f"| [{rule.id}](#{rule_anchor(rule)}) | {rule.name} | {rule.severity} | {rule.introduced} "
                     f"| {rule.predicts or ''} | {fix} |")
    lines.append("")
    for rule in ruleset.rules:
        body = render_text(operations_of(ruleset, rule), _variants(ruleset, rule)).replace(f"# {rule.id} {rule.name}", f"## {rule.id} {rule.name}", 1)
        body = body.replace("\n## ", "\n### ")
        lines.append(f'<a id="{rule_anchor(rule)}"></a>\n\n{body}')
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    try:
        ruleset = _load(args)
    except (RuleError, SettingsError) as error:
        print(f"webex-xml-lint: error: {error}", file=sys.stderr)
        return 2
    if hasattr(args, "rule_id"):
        wanted = args.rule_id.strip()
        rule = ruleset.by_id.get(wanted.upper()) or next((r for r in ruleset.rules if r.name == wanted), None)
        if rule is None:
            print(f"webex-xml-lint: error: unknown rule {wanted!r} (see `webex-xml-lint rules`)", file=sys.stderr)
            return 2
        sys.stdout.write(render_text(operations_of(ruleset, rule), _variants(ruleset, rule)))
        return 0
    if args.format == "json":
        json.dump([{"code": r.id, "name": r.name, "severity": str(r.severity), "introduced": r.introduced,
                    "predicts": r.predicts, "fix": r.fix.action if r.fix else None,
                    "fix_safe": bool(r.fix and r.fix.safe), "applies_to": applies_to(operations_of(ruleset, r)),
                    "docs": r.docs} for r in ruleset.rules], sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif args.format == "markdown":
        sys.stdout.write(render_markdown(ruleset))
    else:
        for rule in ruleset.rules:
            print(f"{rule.id}  {rule.name:<38} {rule.severity!s:<8} {rule.introduced:<22} {rule.docs['summary']}")
    return 0
