"""The layers above the configuration file: command-line flags, then mitmproxy options.

Every command reads the file first (`--config`, else the nearest), then its flags; the proxy's
addons then apply the `webexlint_*` options (which `webex-xml-lint proxy` sets from its flags, so
a user's own `--set` after `--` comes last and wins).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from proxy_addon.settings import values
from proxy_addon.settings.file import config_path, read_config
from proxy_addon.settings.model import Layer, Settings

# mitmproxy option -> settings field, for the options that describe the linting (WebexLint owns them).
LINT_OPTIONS = {
    "webexlint_ci_site": "ci_sites", "webexlint_control_hub_site": "control_hub_sites",
    "webexlint_api_version": "api_version", "webexlint_site_id": "site_ids",
    "webexlint_select": "select", "webexlint_ignore": "ignore", "webexlint_severity": "severity",
    "webexlint_validate": "validate", "webexlint_schema_dir": "schema_dir", "webexlint_rule_pack": "rule_packs",
}


def flags_layer(args: argparse.Namespace) -> Layer:
    """What the command-line flags set (those a command does not have are skipped)."""
    layer: dict[str, Any] = {}
    flag = lambda name, default=None: getattr(args, name, default)  # noqa: E731
    if flag("ci_site"):
        layer["ci_sites"] = values.ci_sites(flag("ci_site"), "--ci-site")
    if flag("control_hub_site"):
        layer["control_hub_sites"] = values.ci_sites(flag("control_hub_site"), "--control-hub-site")
    if flag("api_version"):
        layer["api_version"] = values.api_version(flag("api_version"), "--api-version")
    if flag("site_id"):
        layer["site_ids"] = values.site_ids(flag("site_id"), "--site-id")
    if flag("select") is not None:
        layer["select"] = values.rule_list([flag("select")])
        layer.setdefault("selector_origins", {}).update(values.origins(layer["select"], "--select"))
    if flag("ignore"):
        layer["ignore"] = values.rule_list([flag("ignore")])
        layer.setdefault("selector_origins", {}).update(values.origins(layer["ignore"], "--ignore"))
    if flag("rule_packs"):
        layer["rule_packs"] = tuple(flag("rule_packs"))  # as given: the loader's errors name them so
    if flag("validate"):
        layer["validate"] = True
    if flag("schema_dir"):
        layer["schema_dir"] = values.folder(flag("schema_dir"))
    if flag("force_exclude"):
        layer["force_exclude"] = True
    if flag("fail_on"):
        layer["fail_on"] = values.fail_on(flag("fail_on"), "--fail-on")
    for name, field_name in (("exclude", "exclude"), ("extend_exclude", "extend_exclude")):
        if flag(name):
            items = [part.strip() for item in flag(name) for part in item.split(",") if part.strip()]
            layer[field_name] = values.patterns(items, f"--{name.replace('_', '-')}")
    return layer


def settings_from_args(args: argparse.Namespace) -> Settings:
    """The configuration file's settings, then the flags."""
    path = config_path(getattr(args, "config", None), "--config")
    return Settings().merged(read_config(path), flags_layer(args))


def options_layer(options: Any) -> Layer:
    """What the webexlint_* lint options set; an option left at its default sets nothing."""
    layer: dict[str, Any] = {}
    if options.webexlint_ci_site:
        layer["ci_sites"] = values.ci_sites(list(options.webexlint_ci_site), "webexlint_ci_site")
    if options.webexlint_control_hub_site:
        layer["control_hub_sites"] = values.ci_sites(list(options.webexlint_control_hub_site),
                                                     "webexlint_control_hub_site")
    if options.webexlint_api_version:
        layer["api_version"] = values.api_version(options.webexlint_api_version, "webexlint_api_version")
    if options.webexlint_site_id:
        layer["site_ids"] = values.site_ids(list(options.webexlint_site_id), "webexlint_site_id")
    if options.webexlint_select:
        layer["select"] = values.rule_list([options.webexlint_select])
        layer.setdefault("selector_origins", {}).update(values.origins(layer["select"], "webexlint_select"))
    if options.webexlint_ignore:
        layer["ignore"] = values.rule_list([options.webexlint_ignore])
        layer.setdefault("selector_origins", {}).update(values.origins(layer["ignore"], "webexlint_ignore"))
    if options.webexlint_severity:
        layer["severity"] = values.severities(list(options.webexlint_severity), "webexlint_severity")
    if options.webexlint_rule_pack:
        layer["rule_packs"] = tuple(options.webexlint_rule_pack)
    if options.webexlint_validate:
        layer["validate"] = True
    if options.webexlint_schema_dir:
        layer["schema_dir"] = values.folder(options.webexlint_schema_dir)
    return layer


def config_layer_for_options(options: Any, start: Path | None = None) -> Layer:
    """The configuration file the proxy reads: webexlint_config, else the nearest from the current folder."""
    return read_config(config_path(options.webexlint_config, "webexlint_config", start))
