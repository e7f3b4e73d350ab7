"""The flags that describe the sites and choose the rules, shared by check, audit and proxy."""

from __future__ import annotations

import argparse
from pathlib import Path

from proxy_addon.config import ConfigError, Settings, find_config, load_settings, parse_site_id
from proxy_addon.core.versions import parse_version


def add_site_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ci-site", action="append", default=[], metavar="NAME",
                        help="a site that is CI-enabled (repeatable)")
    parser.add_argument("--api-version", default=None, metavar="X.Y.Z",
                        help="XML API version of the service, e.g. 42.11.1, 39.11 or 11.0 SP13 (default: the "
                             "newest release in rules/releases.yaml)")
    parser.add_argument("--site-id", action="append", default=[], metavar="ID=NAME",
                        help="map a siteID to its siteName, for the WX101 fix (repeatable)")


def add_rule_arguments(parser: argparse.ArgumentParser) -> None:
    """Site flags, rule selection, schema validation and the configuration file."""
    add_site_arguments(parser)
    parser.add_argument("--select", default=None, help="comma-separated rule ids or prefixes to report (e.g. WX1,WX401)")
    parser.add_argument("--ignore", default=None, help="comma-separated rule ids or prefixes to leave out")
    parser.add_argument("--validate", action="store_true", help="also validate against the XSDs (WX007, WX008)")
    parser.add_argument("--schema-dir", default=None, metavar="DIR", help="validate against this XSD bundle")
    parser.add_argument("--rule-pack", action="append", default=[], metavar="FILE", dest="rule_packs",
                        help="also load this team rule pack (YAML, ids like ACME001; repeatable)")
    parser.add_argument("--config", default=None, metavar="FILE", help="configuration file (default: nearest "
                        "webex-xml-lint.toml or pyproject.toml [tool.webex-xml-lint])")


def settings_from_args(args: argparse.Namespace) -> Settings:
    """The configuration file's settings, with the flags added on top."""
    config_path = Path(args.config) if args.config else find_config(Path.cwd())
    if args.config and not config_path.is_file():
        raise ConfigError(f"{args.config}: configuration file not found")
    settings = load_settings(config_path)
    settings.ci_sites += args.ci_site
    if args.api_version:
        settings.api_version = parse_version(args.api_version)
    for item in args.site_id:
        site_id, name = parse_site_id(item)
        settings.site_ids[site_id] = name
    if args.select is not None:
        settings.select = [s.strip() for s in args.select.split(",") if s.strip()]
    if args.ignore is not None:
        settings.ignore += [s.strip() for s in args.ignore.split(",") if s.strip()]
    settings.validate = settings.validate or args.validate or bool(args.schema_dir)
    settings.rule_packs += getattr(args, "rule_packs", [])  # as given: errors name the file as the user wrote it
    if args.schema_dir:
        if not Path(args.schema_dir).is_dir():
            raise ConfigError(f"--schema-dir {args.schema_dir}: not a folder")
        settings.schema_dir = str(Path(args.schema_dir).resolve())
    return settings
