"""The flags that describe the sites and choose the rules, shared by check, audit and proxy.

What they mean, and how they combine with the configuration file, is proxy_addon.settings.
"""

from __future__ import annotations

import argparse

from proxy_addon.settings import settings_from_args

__all__ = ["add_config_argument", "add_rule_arguments", "add_site_arguments", "add_walk_arguments",
           "settings_from_args"]


def add_site_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ci-site", action="append", default=[], metavar="NAME",
                        help="a site that is CI-enabled (repeatable)")
    parser.add_argument("--control-hub-site", action="append", default=[], metavar="NAME",
                        help="a site managed in Control Hub (repeatable): user rules WX203-WX206")
    parser.add_argument("--api-version", default=None, metavar="X.Y.Z",
                        help="XML API version of the service, e.g. 42.11.1, 39.11 or 11.0 SP13 (default: the "
                             "newest release in rules/releases.yaml)")
    parser.add_argument("--site-id", action="append", default=[], metavar="ID=NAME",
                        help="map a siteID to its siteName, for the WX101 fix (repeatable)")


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default=None, metavar="FILE", help="configuration file (default: nearest "
                        "webex-xml-lint.toml or pyproject.toml [tool.webex-xml-lint]); flags add to it")


def add_rule_arguments(parser: argparse.ArgumentParser, *, schema_help: str = "validate against this XSD bundle") -> None:
    """Site flags, rule selection, rule packs, schema validation and the configuration file."""
    add_site_arguments(parser)
    parser.add_argument("--select", default=None, help="comma-separated rule ids or prefixes to report (e.g. WX1,WX401)")
    parser.add_argument("--ignore", default=None, help="comma-separated rule ids or prefixes to leave out")
    parser.add_argument("--rule-pack", action="append", default=[], metavar="FILE", dest="rule_packs",
                        help="also load this team rule pack (YAML, ids like ACME001; repeatable)")
    parser.add_argument("--validate", action="store_true", help="also validate against the XSDs (WX007, WX008)")
    parser.add_argument("--schema-dir", default=None, metavar="DIR", help=schema_help)
    add_config_argument(parser)


def add_walk_arguments(parser: argparse.ArgumentParser) -> None:
    """Which files a folder walk reads (check, audit); the configuration file's keys of the same names."""
    parser.add_argument("--exclude", action="append", default=None, metavar="PATTERN",
                        help="leave out paths matching these gitignore-style patterns in folder walks, instead of "
                        "the defaults (.git, .venv, node_modules, __pycache__, ...); repeatable, comma-separated")
    parser.add_argument("--extend-exclude", action="append", default=None, metavar="PATTERN",
                        help="leave out these paths too, besides the defaults (repeatable, comma-separated)")
    parser.add_argument("--force-exclude", action="store_true", default=None,
                        help="apply the excludes to files named on the command line too, and skip named XML that "
                        "is not a message (for pre-commit hooks, which name every changed file)")
