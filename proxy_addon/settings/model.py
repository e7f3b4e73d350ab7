"""The one settings model: what every command (check, audit, the proxy and its lint worker) runs with.

Settings are built from layers, applied in one order: the configuration file, then command-line
flags, then mitmproxy `--set webexlint_*` options. Each layer holds only what its source set; a
later layer replaces a single value (api-version, select, schema-dir, ...), adds to a list
(ci-sites, ignore, rule-packs) and updates a table (site-ids, severity). Values are parsed and
checked when their layer is read, so an error names the file key, flag or option it came from.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from proxy_addon.core.findings import Severity
from proxy_addon.core.versions import LATEST, Version
from proxy_addon.lint.context import LintContext


class SettingsError(ValueError):
    """A setting that cannot be used; the text names where it came from (file and key, flag, option)."""


Layer = Mapping[str, Any]  # field name -> value, only for what one source set

ADDED = frozenset({"ci_sites", "ignore", "rule_packs"})  # lists: every layer adds to them
UPDATED = frozenset({"site_ids", "severity"})  # tables: a later layer's entries win per key


@dataclass(frozen=True)
class Settings:
    # What to lint with (check, audit, proxy).
    ci_sites: tuple[str, ...] = ()
    api_version: Version = LATEST
    site_ids: Mapping[str, str] = field(default_factory=dict)  # siteID -> siteName
    select: tuple[str, ...] = ()  # rule ids or prefixes; empty: all
    ignore: tuple[str, ...] = ()
    severity: Mapping[str, Severity] = field(default_factory=dict)
    validate: bool = False
    schema_dir: str | None = None  # another XSD bundle (absolute); implies validate
    rule_packs: tuple[str, ...] = ()  # team rule packs (YAML files), added to the shipped ones
    # What the proxy does with it.
    findings_log: str = ""  # JSON lines: a path, "-" for standard output, "" for none
    console: bool = False  # readable lines on standard output (unless the JSON lines are there)
    db: str = ""  # the audit store's URL, written by the process that runs the lint pipeline
    rewrite: bool = False
    rewrite_unsafe: bool = False
    fault: str = ""  # tests only: where to raise (see mitm/pipeline.py FAULT_ENV)
    source: str | None = None  # the configuration file read, if any

    @property
    def rewriting(self) -> bool:
        return self.rewrite or self.rewrite_unsafe

    @property
    def validating(self) -> bool:
        return self.validate or bool(self.schema_dir)

    def merged(self, *layers: Layer) -> Settings:
        """These settings with the layers applied in order (file, flags, options)."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        for layer in layers:
            for name, value in layer.items():
                if name in ADDED:
                    values[name] = tuple(dict.fromkeys((*values[name], *value)))
                elif name in UPDATED:
                    values[name] = {**values[name], **value}
                else:
                    values[name] = value
        return Settings(**values)

    def context(self) -> LintContext:
        return LintContext(
            ci_sites=frozenset(self.ci_sites), api_version=self.api_version, site_ids=dict(self.site_ids),
            select=self.select, ignore=self.ignore, severity_overrides=dict(self.severity),
            validate=self.validating, schema_dir=self.schema_dir,
        )


def make_linter(settings: Settings):
    """The Linter for these settings: the shipped rule packs, plus the team's when configured."""
    from proxy_addon.lint.engine import Linter  # noqa: PLC0415 (the model itself stays light)

    if not settings.rule_packs:
        return Linter()
    import inspect  # noqa: PLC0415

    from proxy_addon.lint.ruleset import RuleSet  # noqa: PLC0415

    # RuleSet.load(extra_packs=...) comes with team rule packs (issue 10, item 3); until then a
    # configured pack is a clear error rather than a pack silently left out.
    if "extra_packs" not in inspect.signature(RuleSet.load).parameters:
        raise SettingsError(f"rule packs ({', '.join(settings.rule_packs)}): team rule packs are not supported "
                            "by this version of webex-xml-lint")
    return Linter(RuleSet.load(extra_packs=list(settings.rule_packs)))
