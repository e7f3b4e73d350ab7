"""Settings from `webex-xml-lint.toml` or `[tool.webex-xml-lint]` in pyproject.toml, then flags.

Like ruff, the nearest configuration file above the current directory wins; `--config FILE` picks
one explicitly. Unknown keys and bad values are errors that name the file and the key.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from proxy_addon.core.findings import Severity
from proxy_addon.core.versions import LATEST, Version, parse_version
from proxy_addon.lint.context import LintContext

KNOWN_KEYS = {"ci-sites", "api-version", "site-ids", "select", "ignore", "severity", "validate", "schema-dir",
              "rule-packs"}


class ConfigError(ValueError):
    pass


@dataclass
class Settings:
    ci_sites: list[str] = field(default_factory=list)
    api_version: Version = LATEST
    site_ids: dict[str, str] = field(default_factory=dict)
    select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    severity: dict[str, Severity] = field(default_factory=dict)
    validate: bool = False
    schema_dir: str | None = None
    rule_packs: list[str] = field(default_factory=list)  # team rule packs (YAML files)
    source: str | None = None

    def context(self) -> LintContext:
        return LintContext(
            ci_sites=frozenset(self.ci_sites), api_version=self.api_version, site_ids=dict(self.site_ids),
            select=tuple(self.select), ignore=tuple(self.ignore), severity_overrides=dict(self.severity),
            validate=self.validate, schema_dir=self.schema_dir,
        )


def find_config(start: Path) -> Path | None:
    for folder in [start, *start.parents]:
        dedicated = folder / "webex-xml-lint.toml"
        if dedicated.is_file():
            return dedicated
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and "webex-xml-lint" in _read_toml(pyproject).get("tool", {}):
            return pyproject
    return None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror}") from None


def load_settings(path: Path | None) -> Settings:
    settings = Settings()
    if path is None:
        return settings
    data = _read_toml(path)
    table = data.get("tool", {}).get("webex-xml-lint", data if path.name != "pyproject.toml" else {})
    table = {k: v for k, v in table.items() if k != "tool"}
    unknown = sorted(set(table) - KNOWN_KEYS)
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s) {', '.join(unknown)} (known: {', '.join(sorted(KNOWN_KEYS))})")
    settings.source = str(path)
    settings.ci_sites = _string_list(table, "ci-sites", path)
    settings.select = _string_list(table, "select", path)
    settings.ignore = _string_list(table, "ignore", path)
    if "api-version" in table:
        try:
            settings.api_version = parse_version(str(table["api-version"]))
        except ValueError as error:
            raise ConfigError(f"{path}: api-version: {error}") from None
    site_ids = table.get("site-ids", {})
    if not isinstance(site_ids, dict):
        raise ConfigError(f"{path}: site-ids must be a table of siteID = \"siteName\"")
    settings.site_ids = {str(k): str(v) for k, v in site_ids.items()}
    severities = table.get("severity", {})
    if not isinstance(severities, dict):
        raise ConfigError(f"{path}: severity must be a table of RULE = \"error|warning|info\"")
    for rule, level in severities.items():
        try:
            settings.severity[rule] = Severity(level)
        except ValueError:
            raise ConfigError(f"{path}: severity.{rule} = {level!r} is not error, warning or info") from None
    settings.validate = bool(table.get("validate", False))
    if table.get("schema-dir"):
        settings.schema_dir = str((path.parent / table["schema-dir"]).resolve())
    # Relative to the configuration file, so a repository's packs are found from any folder in it.
    settings.rule_packs = [str((path.parent / pack).resolve()) for pack in _string_list(table, "rule-packs", path)]
    return settings


def _string_list(table: dict[str, Any], key: str, path: Path) -> list[str]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{path}: {key} must be a list of strings")
    return value


def parse_site_id(text: str) -> tuple[str, str]:
    site_id, sep, name = text.partition("=")
    if not sep or not site_id.strip() or not name.strip():
        raise ValueError(f"--site-id {text!r}: expected ID=NAME, e.g. 5941234567=acme")
    return site_id.strip(), name.strip()
