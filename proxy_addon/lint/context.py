"""What the linter knows about the sites it is looking at, as configured (flags, configuration file).

What traffic teaches is layered on top by proxy_addon.exchange.knowledge.KnowledgeContext."""

from __future__ import annotations

import functools
from typing import Any

from proxy_addon.core.findings import Severity
from proxy_addon.core.frozen import Frozen
from proxy_addon.core.versions import Version, latest_version


class LintContext(Frozen):  # not a dataclass: creating one costs `check` start-up (core/frozen.py)
    __slots__ = ("ci_sites", "api_version", "site_ids", "select", "ignore", "severity_overrides", "validate",
                 "schema_dir", "control_hub_sites")
    _FIELDS = __slots__  # a subclass adds its own: compared, shown and kept by with_changes
    ci_sites: frozenset[str]
    api_version: Version
    site_ids: dict[str, str]  # siteID -> siteName, for WX101 fixes
    select: tuple[str, ...]  # rule id prefixes; empty = all
    ignore: tuple[str, ...]
    severity_overrides: dict[str, Severity]
    validate: bool
    schema_dir: str | None
    # Sites converted to Control Hub management (41.11): no message says so, so it is configured.
    control_hub_sites: frozenset[str]

    def __init__(self, ci_sites: frozenset[str] = frozenset(), api_version: Version | None = None,
                 site_ids: dict[str, str] | None = None, select: tuple[str, ...] = (), ignore: tuple[str, ...] = (),
                 severity_overrides: dict[str, Severity] | None = None, validate: bool = False,
                 schema_dir: str | None = None, control_hub_sites: frozenset[str] = frozenset()):
        define = object.__setattr__
        define(self, "ci_sites", ci_sites)
        define(self, "api_version", latest_version() if api_version is None else api_version)
        define(self, "site_ids", {} if site_ids is None else site_ids)
        define(self, "select", select)
        define(self, "ignore", ignore)
        define(self, "severity_overrides", {} if severity_overrides is None else severity_overrides)
        define(self, "validate", validate)
        define(self, "schema_dir", schema_dir)
        define(self, "control_hub_sites", control_hub_sites)

    def _fields(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._FIELDS)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{n}={getattr(self, n)!r}' for n in self._FIELDS)})"

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
        """A copy with these fields changed (what dataclasses.replace gave), of the same class."""
        return type(self)(**{**{name: getattr(self, name) for name in self._KEPT}, **changes})

    _KEPT = _FIELDS  # what with_changes carries over: the fields, and a subclass's uncompared ones

    def __reduce__(self) -> tuple[Any, ...]:  # by keyword: a subclass's fields follow its own __init__
        return _rebuilt, (type(self), {name: getattr(self, name) for name in self._KEPT})


def _rebuilt(cls: type[LintContext], values: dict[str, Any]) -> LintContext:
    return cls(**values)


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
