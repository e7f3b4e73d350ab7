"""Webex XML API versions: "39.11", "11.0 SP13", "WebEx XML API V11.0.0" all become comparable tuples."""

from __future__ import annotations

import re

Version = tuple[int, int, int]
LATEST: Version = (39, 11, 0)

_VERSION = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?(?:\s*SP\s*(\d+))?", re.IGNORECASE)


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
