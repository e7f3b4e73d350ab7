"""The one settings model: what every command (check, audit, the proxy and its lint worker) runs with.

Settings are built from layers, applied in one order: the configuration file, then command-line
flags, then mitmproxy `--set webexlint_*` options. Each layer holds only what its source set; a
later layer replaces a single value (api-version, select, schema-dir, ...), adds to a list
(ci-sites, ignore, rule-packs) and updates a table (site-ids, severity). Values are parsed and
checked when their layer is read, so an error names the file key, flag or option it came from.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar

from proxy_addon.core.findings import Severity
from proxy_addon.core.frozen import Frozen
from proxy_addon.core.versions import LATEST
from proxy_addon.lint.context import LintContext


class SettingsError(ValueError):
    """A setting that cannot be used; the text names where it came from (file and key, flag, option)."""


Layer = Mapping[str, Any]  # field name -> value, only for what one source set

ADDED = frozenset({"ci_sites", "control_hub_sites", "ignore", "rule_packs", "extend_exclude"})  # lists: every layer adds to them
# tables: a later layer's entries win per key
UPDATED = frozenset({"site_ids", "severity", "per_file_ignores", "selector_origins"})


class Settings(Frozen):
    """What a command runs with, every source applied (see `merged`). Immutable, built by keyword
    (a plain class, not a dataclass: `check` creates it at start-up, core/frozen.py)."""

    __slots__ = (
        # What to lint with (check, audit, proxy).
        "ci_sites",
        "control_hub_sites",  # sites managed in Control Hub (41.11): WX203-WX206
        "api_version",
        "site_ids",  # siteID -> siteName
        "select",  # rule ids or prefixes; empty: all
        "ignore",
        "severity",
        "validate",
        "schema_dir",  # another XSD bundle (absolute); implies validate
        "rule_packs",  # team rule packs (YAML files), added to the shipped ones
        # The least severe finding that fails a run (exit 1): info findings are shown but, by default,
        # fail nothing (as Spectral's --fail-severity).
        "fail_on",
        # Which files a folder walk reads (check, audit); patterns are gitignore-style, relative to the
        # configuration file's folder. exclude=None: the defaults (inputs/walk.py DEFAULT_EXCLUDE).
        "exclude",
        "extend_exclude",
        "force_exclude",  # the excludes (and the message sniff) apply to named files too
        "per_file_ignores",  # pattern -> rule selectors
        "selector_origins",  # selector -> the key, flag or option
        # What the proxy does with it.
        "findings_log",  # JSON lines: a path, "-" for standard output, "" for none
        "console",  # readable lines on standard output (unless the JSON lines are there)
        "db",  # the audit store's URL, written by the process that runs the lint pipeline
        "rewrite",
        "rewrite_unsafe",
        "rewrite_learned",  # also rewrite what only a fact learned from traffic calls for
        "fault",  # tests only: where to raise (see mitm/pipeline.py FAULT_ENV)
        "source",  # the configuration file read, if any
    )
    _defaults: ClassVar[dict[str, Any]] = {
        "ci_sites": (), "control_hub_sites": (), "api_version": LATEST, "select": (), "ignore": (), "validate": False,
        "schema_dir": None, "rule_packs": (), "fail_on": Severity.WARNING, "exclude": None, "extend_exclude": (),
        "force_exclude": False, "findings_log": "", "console": False, "db": "", "rewrite": False,
        "rewrite_unsafe": False, "rewrite_learned": False, "fault": "", "source": None,
    }
    _TABLES = ("site_ids", "severity", "per_file_ignores", "selector_origins")  # each instance its own {}

    def __init__(self, *values: Any, **named: Any):
        given = set(Settings.__slots__[:len(values)]) | named.keys()
        for table in Settings._TABLES:
            if table not in given:
                named[table] = {}
        super().__init__(*values, **named)

    def replace(self, **changes: Any) -> Settings:
        """A copy with these fields changed (what dataclasses.replace gave)."""
        values = {name: getattr(self, name) for name in Settings.__slots__}
        values.update(changes)
        return Settings(**values)

    @property
    def rewriting(self) -> bool:
        return self.rewrite or self.rewrite_unsafe

    @property
    def validating(self) -> bool:
        return self.validate or bool(self.schema_dir)

    def fails(self, findings: Iterable[Any]) -> bool:
        """Whether any of these findings is severe enough to fail the run (fail-on)."""
        return any(Severity(f.severity).rank >= self.fail_on.rank for f in findings)

    def merged(self, *layers: Layer) -> Settings:
        """These settings with the layers applied in order (file, flags, options)."""
        values = {name: getattr(self, name) for name in Settings.__slots__}
        for layer in layers:
            for name, value in layer.items():
                if name in ADDED:
                    values[name] = tuple(dict.fromkeys((*values[name], *value)))
                elif name in UPDATED:
                    values[name] = {**values[name], **value}
                else:
                    values[name] = value
        return Settings(**values)

    @property
    def root(self) -> str | None:
        """The folder path patterns are relative to: the configuration file's (None: the current one)."""
        return str(Path(self.source).parent) if self.source else None

    def context(self) -> LintContext:
        return LintContext(
            ci_sites=frozenset(self.ci_sites), control_hub_sites=frozenset(self.control_hub_sites),
            api_version=self.api_version, site_ids=dict(self.site_ids),
            select=self.select, ignore=self.ignore, severity_overrides=dict(self.severity),
            validate=self.validating, schema_dir=self.schema_dir,
        )


def make_linter(settings: Settings):
    """The Linter for these settings: the shipped rule packs, plus the team's when configured."""
    from proxy_addon.lint.engine import Linter  # noqa: PLC0415 (the model itself stays light)
    from proxy_addon.lint.ruleset import RuleSet  # noqa: PLC0415

    linter = Linter(RuleSet.load(extra_packs=settings.rule_packs))
    check_selectors(settings, linter.ruleset.by_id)
    return linter


def check_selectors(settings: Settings, rule_ids: Iterable[str]) -> None:
    """Every rule selector (select, ignore, per-file-ignores) must match a rule: a typo (`WX999`,
    `WX3O1`) would otherwise select nothing, and "All checks passed" would turn CI green."""
    known = tuple(rule_ids)
    named = [*settings.select, *settings.ignore, *(code for codes in settings.per_file_ignores.values() for code in codes)]
    unknown = [code for code in dict.fromkeys(named) if not any(rule.startswith(code) for rule in known)]
    if unknown:
        where = ", ".join(f"{code} ({settings.selector_origins.get(code, 'selector')})" for code in unknown)
        raise SettingsError(f"unknown rule selector{'s' if len(unknown) > 1 else ''} {where}: no rule id starts "
                            "with it (`webex-xml-lint rules` lists them)")
