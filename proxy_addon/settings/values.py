"""Parsing one setting's value, from whichever source; errors name the source (`name`)."""

from __future__ import annotations

from pathlib import Path

from proxy_addon.core.findings import Severity
from proxy_addon.core.versions import Version, format_version, known_releases, parse_version
from proxy_addon.settings.model import SettingsError


def api_version(text: str, name: str) -> Version:
    """A release the catalog (rules/releases.yaml) knows, or a service pack or patch of one of its
    releases that is not newer than the newest: `39.99` is a typo, not a release to lint against."""
    try:
        version = parse_version(text)
    except ValueError as error:
        raise SettingsError(f"{name}: {error}") from None
    known = [release for release, _source in known_releases()]
    if version in known or (version[:2] in {release[:2] for release in known} and version <= known[-1]):
        return version
    raise SettingsError(f"{name} {text}: not a known XML API release (rules/releases.yaml knows "
                        f"{', '.join(format_version(release) for release in known)})")


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
    """Rule ids or prefixes, from a list whose items may be comma-separated ("WX1,WX401"). Rule
    codes are case-insensitive everywhere: `wx3` is WX3."""
    return tuple(dict.fromkeys(part.strip().upper() for item in items for part in item.split(",") if part.strip()))


def origins(codes: tuple[str, ...], name: str) -> dict[str, str]:
    """Where each selector was named, for the error when one matches no rule."""
    return {code: name for code in codes}


def patterns(items: object, name: str) -> tuple[str, ...]:
    """gitignore-style path patterns (exclude, extend-exclude)."""
    if not isinstance(items, list) or not all(isinstance(item, str) and item.strip() for item in items):
        raise SettingsError(f"{name} must be a list of non-empty path patterns, e.g. [\"legacy/\", \"*.generated.xml\"]")
    return tuple(item.strip() for item in items)


def per_file_ignores(table: object, name: str) -> dict[str, tuple[str, ...]]:
    """PATTERN = ["RULE", ...]: rules left out for the files a gitignore-style pattern matches."""
    if not isinstance(table, dict):
        raise SettingsError(f'{name} must be a table of "PATTERN" = ["RULE", ...], e.g. "fixtures/legacy/*" = ["WX3"]')
    ignores = {}
    for pattern, rules in table.items():
        if not str(pattern).strip():
            raise SettingsError(f"{name}: empty pattern")
        if isinstance(rules, str):
            rules = [rules]
        if not isinstance(rules, list) or not all(isinstance(rule, str) for rule in rules) or not rule_list(rules):
            raise SettingsError(f'{name}."{pattern}" must be a list of rule ids or prefixes, e.g. ["WX3", "WX401"]')
        ignores[str(pattern).strip()] = rule_list(rules)
    return ignores


def severity(rule: str, level: object, name: str) -> Severity:
    try:
        return Severity(level)
    except ValueError:
        raise SettingsError(f"{name} = {level!r} is not error, warning or info") from None


def fail_on(level: object, name: str) -> Severity:
    """The least severe finding that fails a run."""
    try:
        return Severity(str(level).strip().lower()) if isinstance(level, str) else Severity(level)
    except ValueError:
        raise SettingsError(f"{name} = {level!r} is not error, warning or info") from None


def severities(items: list[str], name: str) -> dict[str, Severity]:
    """RULE=LEVEL items, e.g. WX201=error."""
    table = {}
    for item in items:
        rule, sep, level = item.partition("=")
        if not sep or not rule.strip():
            raise SettingsError(f"{name} {item!r}: expected RULE=LEVEL, e.g. WX201=error")
        table[rule.strip().upper()] = severity(rule.strip(), level.strip(), f"{name} {rule.strip()}")
    return table


def folder(text: str, relative_to: Path | None = None) -> str:
    """Absolute, so the lint worker (or a later chdir) sees the same folder; loading it checks it."""
    return str(((relative_to / text) if relative_to is not None else Path(text)).resolve())
