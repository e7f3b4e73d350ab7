"""The configuration file: `webex-xml-lint.toml`, or `[tool.webex-xml-lint]` in pyproject.toml.

Like ruff, the nearest one at or above the starting folder wins; `--config FILE` (the proxy's
`webexlint_config`) picks one explicitly. Unknown keys and bad values are errors naming the file
and the key. Paths in it (schema-dir, rule-packs) are relative to the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from proxy_addon.core import data_cache
from proxy_addon.settings import values
from proxy_addon.settings.model import Layer, SettingsError

KNOWN_KEYS = {"ci-sites", "control-hub-sites", "api-version", "site-ids", "select", "ignore", "severity", "validate", "schema-dir",
              "rule-packs", "exclude", "extend-exclude", "per-file-ignores", "fail-on",
              "force-exclude"}


def find_config(start: Path) -> Path | None:
    for folder in [start, *start.parents]:
        dedicated = folder / "webex-xml-lint.toml"
        if dedicated.is_file():
            return dedicated
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and "webex-xml-lint" in _read_toml(pyproject).get("tool", {}):
            return pyproject
    return None


def config_path(explicit: str | None, name: str, start: Path | None = None) -> Path | None:
    """The file chosen with `name` (--config, webexlint_config), else the nearest one from `start`."""
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise SettingsError(f"{name} {explicit}: configuration file not found")
        return path.resolve()
    found = find_config(start or Path.cwd())
    return found.resolve() if found else None


def _read_toml(path: Path) -> dict[str, Any]:
    """The file's TOML, from the data cache when these exact bytes were parsed before: tomllib's
    import and parse cost `check` start-up ~3 ms in a project with a pyproject.toml."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise SettingsError(f"{path}: cannot read: {error.strerror or error}") from None
    cached = data_cache.load(_CACHE_KIND, data)
    if isinstance(cached, dict):
        return cached
    import tomllib  # noqa: PLC0415

    try:
        value = tomllib.loads(data.decode("utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"{path}: invalid TOML: {error}") from None
    except UnicodeDecodeError as error:
        raise SettingsError(f"{path}: cannot read: {error}") from None
    data_cache.store(_CACHE_KIND, data, value)  # not when it holds dates, which JSON would not give back
    return value


_CACHE_KIND = "toml-v1"


def read_config(path: Path | None) -> Layer:
    """The file's settings as a layer (empty without a file)."""
    if path is None:
        return {}
    data = _read_toml(path)
    table = data.get("tool", {}).get("webex-xml-lint", data if path.name != "pyproject.toml" else {})
    table = {k: v for k, v in table.items() if k != "tool"}
    unknown = sorted(set(table) - KNOWN_KEYS)
    if unknown:
        raise SettingsError(f"{path}: unknown setting(s) {', '.join(unknown)} (known: {', '.join(sorted(KNOWN_KEYS))})")
    layer: dict[str, Any] = {"source": str(path)}
    for key, field_name in (("ci-sites", "ci_sites"), ("control-hub-sites", "control_hub_sites"),
                            ("select", "select"), ("ignore", "ignore")):
        if key in table:
            items = _string_list(table, key, path)
            if key in ("ci-sites", "control-hub-sites"):
                layer[field_name] = values.ci_sites(items, f"{path}: {key}")
            else:
                layer[field_name] = values.rule_list(items)
                layer.setdefault("selector_origins", {}).update(values.origins(layer[field_name], f"{path}: {key}"))
    for key, field_name in (("exclude", "exclude"), ("extend-exclude", "extend_exclude")):
        if key in table:
            layer[field_name] = values.patterns(table[key], f"{path}: {key}")
    if "per-file-ignores" in table:
        ignores = values.per_file_ignores(table["per-file-ignores"], f"{path}: per-file-ignores")
        layer["per_file_ignores"] = ignores
        for pattern, codes in ignores.items():
            layer.setdefault("selector_origins", {}).update(values.origins(codes, f'{path}: per-file-ignores."{pattern}"'))
    if "rule-packs" in table:
        # Relative to the configuration file, so a repository's packs are found from any folder in it.
        layer["rule_packs"] = tuple(str((path.parent / pack).resolve())
                                    for pack in _string_list(table, "rule-packs", path))
    if "api-version" in table:
        layer["api_version"] = values.api_version(str(table["api-version"]), f"{path}: api-version")
    if "site-ids" in table:
        if not isinstance(table["site-ids"], dict):
            raise SettingsError(f"{path}: site-ids must be a table of siteID = \"siteName\"")
        layer["site_ids"] = {str(k): str(v) for k, v in table["site-ids"].items()}
    if "severity" in table:
        if not isinstance(table["severity"], dict):
            raise SettingsError(f"{path}: severity must be a table of RULE = \"error|warning|info\"")
        layer["severity"] = {rule.upper(): values.severity(rule, level, f"{path}: severity.{rule}")
                             for rule, level in table["severity"].items()}
    if "fail-on" in table:
        layer["fail_on"] = values.fail_on(table["fail-on"], f"{path}: fail-on")
    for key, field_name in (("validate", "validate"), ("force-exclude", "force_exclude")):
        if key in table:
            if not isinstance(table[key], bool):
                raise SettingsError(f"{path}: {key} must be true or false")
            layer[field_name] = table[key]
    if table.get("schema-dir"):
        layer["schema_dir"] = values.folder(str(table["schema-dir"]), relative_to=path.parent)
    return layer


def _string_list(table: dict[str, Any], key: str, path: Path) -> list[str]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SettingsError(f"{path}: {key} must be a list of strings")
    return value
