"""Webex XML API versions: "39.11", "11.0 SP13", "42.11.1", "WebEx XML API V11.0.0" all become comparable tuples.

The releases the notes describe are data (rules/releases.yaml); the newest of them is the default
API version everywhere (`latest_version()`), so a new release is one line there, not a constant here.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

from proxy_addon.core import data_cache
from proxy_addon.core.frozen import LazyPattern
from proxy_addon.core.shipped import data_dir

Version = tuple[int, int, int]

# A match starts only at the start of a run of digits, and each run is read once (possessive): a
# GetAPIVersion answer's apiVer of 20,000 digits took 2 s (each digit a new start scanning to the
# end of the run), quadratic. The same matches: a match inside a run has one at the run's start.
_VERSION = LazyPattern(r"(?<!\d)(\d++)\.(\d++)(?:\.(\d++))?(?:\s*+SP\s*+(\d++))?", re.IGNORECASE)


class ReleaseCatalogError(ValueError):
    """rules/releases.yaml cannot be used; the message names the file, the line and the problem."""


def parse_version(text: str) -> Version:
    """Parse a release name. Service packs of 11.0 order as patch levels: 11.0 SP13 -> (11, 0, 13)."""
    match = _VERSION.search(text or "")
    if not match:
        raise ValueError(f"not an XML API version: {text!r} (expected e.g. 39.11 or 11.0 SP13)")
    major, minor, patch, service_pack = match.groups()
    return int(major), int(minor), int(service_pack or patch or 0)


def format_version(version: Version) -> str:
    major, minor, patch = version
    if major < 39 and patch:  # service packs numbered the releases before 39.1 (11.0 SP22, 10.0 SP25)
        return f"{major}.{minor} SP{patch}"
    return f"{major}.{minor}" + (f".{patch}" if patch else "")


def load_releases(path: Path) -> list[tuple[Version, str]]:
    """(version, source) of every release in a release catalog, oldest first; checked line by line."""
    import yaml  # noqa: PLC0415 (start-up reads the shipped catalog from the data cache)

    try:
        root = yaml.compose(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, UnicodeDecodeError) as error:
        raise ReleaseCatalogError(f"{path}: cannot read the release catalog: {error}") from None
    except yaml.MarkedYAMLError as error:
        line = error.problem_mark.line + 1 if error.problem_mark else 1
        raise ReleaseCatalogError(f"{path}:{line}: invalid YAML: {error.problem}") from None
    entries = None
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if key.value != "releases":
                raise ReleaseCatalogError(f"{path}:{key.start_mark.line + 1}: unknown key {key.value!r} "
                                          "(the catalog has only 'releases')")
            entries = value
    if not isinstance(entries, yaml.SequenceNode) or not entries.value:
        raise ReleaseCatalogError(f"{path}:1: the release catalog is a mapping with a non-empty 'releases' list")
    releases: list[tuple[Version, str]] = []
    for entry in entries.value:
        line = entry.start_mark.line + 1
        fields = {key.value: value for key, value in entry.value} if isinstance(entry, yaml.MappingNode) else {}
        unknown = set(fields) - {"version", "source"}
        if unknown or not all(isinstance(fields.get(k), yaml.ScalarNode) and fields[k].value for k in ("version", "source")):
            raise ReleaseCatalogError(f"{path}:{line}: each release is {{version, source}} (text), "
                                      + (f"not {sorted(unknown)}" if unknown else "both required"))
        try:
            version = parse_version(fields["version"].value)
        except ValueError as error:
            raise ReleaseCatalogError(f"{path}:{line}: {error}") from None
        if releases and version <= releases[-1][0]:
            raise ReleaseCatalogError(f"{path}:{line}: {fields['version'].value} is not newer than "
                                      f"{format_version(releases[-1][0])}: list releases oldest first, once each")
        releases.append((version, fields["source"].value))
    return releases


@functools.cache
def known_releases() -> tuple[tuple[Version, str], ...]:
    """The shipped release catalog (rules/releases.yaml), read once per process."""
    path = data_dir("rules") / "releases.yaml"
    try:
        data = path.read_bytes()
    except OSError:
        return tuple(load_releases(path))  # which names the file and the problem
    cached = _releases_from(data_cache.load(_CACHE_KIND, data))
    if cached:
        return cached
    releases = tuple(load_releases(path))
    data_cache.store(_CACHE_KIND, data, [[list(version), source] for version, source in releases])
    return releases


_CACHE_KIND = "releases-v1"  # [[[major, minor, patch], source], ...], oldest first, as load_releases checked it


def _releases_from(cached: Any) -> tuple[tuple[Version, str], ...]:
    """The cached catalog, or () when the entry is not one."""
    try:
        releases = tuple(((int(major), int(minor), int(patch)), str(source))
                         for (major, minor, patch), source in cached)
    except (TypeError, ValueError):
        return ()
    return releases


def latest_version() -> Version:
    """The newest release the catalog knows: the API version assumed when none is configured or learned."""
    return known_releases()[-1][0]


def __getattr__(name: str) -> Version:
    # `LATEST` is the catalog's newest release, read when first asked for (PEP 562), so modules that
    # import the name get the data's value and no second copy of it exists.
    if name == "LATEST":
        return latest_version()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
