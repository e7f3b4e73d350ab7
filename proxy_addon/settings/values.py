"""Parsing one setting's value, from whichever source; errors name the source (`name`)."""

from __future__ import annotations

from pathlib import Path

from proxy_addon.core.findings import Severity
from proxy_addon.core.versions import Version, parse_version
from proxy_addon.settings.model import SettingsError


def api_version(text: str, name: str) -> Version:
    try:
        return parse_version(text)
    except ValueError as error:
        raise SettingsError(f"{name}: {error}") from None


def site_id(text: str, name: str) -> tuple[str, str]:
    """ID=NAME, e.g. 5941234567=acme."""
    key, sep, site = text.partition("=")
    if not sep or not key.strip() or not site.strip():
        raise SettingsError(f"{name} {text!r}: expected ID=NAME, e.g. 5941234567=acme")
    return key.strip(), site.strip()


def site_ids(items: list[str], name: str) -> dict[str, str]:
    return dict(site_id(item, name) for item in items)


def ci_sites(items: list[str], name: str) -> tuple[str, ...]:
    if any(not site.strip() for site in items):
        raise SettingsError(f"{name}: empty site name")
    return tuple(site.strip() for site in items)


def rule_list(items: list[str]) -> tuple[str, ...]:
    """Rule ids or prefixes, from a list whose items may be comma-separated ("WX1,WX401")."""
    return tuple(part.strip() for item in items for part in item.split(",") if part.strip())


def severity(rule: str, level: object, name: str) -> Severity:
    try:
        return Severity(level)
    except ValueError:
        raise SettingsError(f"{name} = {level!r} is not error, warning or info") from None


def severities(items: list[str], name: str) -> dict[str, Severity]:
    """RULE=LEVEL items, e.g. WX201=error."""
    table = {}
    for item in items:
        rule, sep, level = item.partition("=")
        if not sep or not rule.strip():
            raise SettingsError(f"{name} {item!r}: expected RULE=LEVEL, e.g. WX201=error")
        table[rule.strip()] = severity(rule.strip(), level.strip(), f"{name} {rule.strip()}")
    return table


def folder(text: str, relative_to: Path | None = None) -> str:
    """Absolute, so the lint worker (or a later chdir) sees the same folder; loading it checks it."""
    return str(((relative_to / text) if relative_to is not None else Path(text)).resolve())
