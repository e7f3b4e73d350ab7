"""What the linter knows about the sites it is looking at, as configured (flags, configuration file).

What traffic teaches is layered on top by proxy_addon.exchange.knowledge.KnowledgeContext."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace

from proxy_addon.core.findings import Severity
from proxy_addon.core.versions import Version, latest_version


@dataclass(frozen=True)
class LintContext:
    ci_sites: frozenset[str] = frozenset()
    api_version: Version = field(default_factory=latest_version)
    site_ids: dict[str, str] = field(default_factory=dict)  # siteID -> siteName, for WX101 fixes
    select: tuple[str, ...] = ()  # rule id prefixes; empty = all
    ignore: tuple[str, ...] = ()
    severity_overrides: dict[str, Severity] = field(default_factory=dict)
    validate: bool = False
    schema_dir: str | None = None
    # Sites converted to Control Hub management (41.11): no message says so, so it is configured.
    control_hub_sites: frozenset[str] = frozenset()

    def site_key(self, site_name: str | None, site_id: str | None) -> str | None:
        return (site_name or self.site_ids.get(site_id or "") or site_id or None)

    def is_ci(self, site: str | None) -> bool | None:
        return True if self.configured_site_kind(site) == "ci" else None

    def site_kind(self, site: str | None) -> str | None:
        return self.configured_site_kind(site)

    def version_for(self, site: str | None) -> Version:
        return self.api_version

    def remembered(self, kind: str, site: str | None, key: str):
        """What an earlier answer in the capture issued (lint/memory.py: a session ticket, a shared
        recording), with its `value`, `time` and `note`; outside a capture nothing is remembered."""
        return None

    def configured_site_kind(self, site: str | None) -> str | None:
        """"ci" for a configured CI site; other types are known only from traffic (KnowledgeContext)."""
        if site is None:
            return None
        return "ci" if site.lower() in _folded(self.ci_sites) else None

    def is_control_hub(self, site: str | None) -> bool:
        return site is not None and site.lower() in _folded(self.control_hub_sites)

    def is_selected(self, rule_id: str) -> bool:
        if self.select and not rule_id.startswith(self.select):
            return False
        return not (self.ignore and rule_id.startswith(self.ignore))

    def selects_by_id(self, rule_id: str) -> bool:
        """Whether --select names this rule itself, not a prefix of it: what turns an opt-in rule on."""
        return rule_id in self.select and self.is_selected(rule_id)

    def with_changes(self, **changes: object) -> LintContext:
        return replace(self, **changes)


def _folded(sites) -> frozenset[str]:
    """The site names in lower case, worked out once per set of them, not for every message."""
    if not sites:
        return frozenset()
    try:
        return _folded_once(sites)
    except TypeError:  # a caller's (unhashable) set
        return frozenset(site.lower() for site in sites)


@functools.lru_cache(maxsize=64)
def _folded_once(sites: frozenset[str]) -> frozenset[str]:
    return frozenset(site.lower() for site in sites)
