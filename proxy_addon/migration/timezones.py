"""XML time zones (a <timeZoneID> number or a <timeZone> name) -> IANA zones, from rules/migration/timezones.yaml."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from proxy_addon.core.shipped import data_dir
from proxy_addon.lint.options import line_of, plain_items
from proxy_addon.lint.packs import RuleError, load_yaml

FILE_NAME = "timezones.yaml"
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class TimeZones:
    by_id: dict[int, tuple[str, str]]  # id -> (the guide's name, IANA zone)
    by_name: dict[str, str]  # squeezed lower-case name -> IANA zone

    def iana(self, value: str) -> str | None:
        """The IANA zone of an XML time-zone id ("4") or name ("GMT-08:00, Pacific (San Jose)")."""
        text = value.strip()
        if text.isdigit():
            found = self.by_id.get(int(text))
            return found[1] if found else None
        return self.by_name.get(_squeeze(text))


def _squeeze(name: str) -> str:
    return _SPACES.sub("", name).lower()


def load_timezones(path: Path | None = None) -> TimeZones:
    path = path or data_dir("rules") / "migration" / FILE_NAME
    data = load_yaml(path)
    zones = data.get("zones") if isinstance(data, dict) else None
    if not isinstance(zones, dict):
        raise RuleError(f"{path}:1: the time-zone file is a mapping with zones: {{id: {{name, iana}}}}")
    by_id: dict[int, tuple[str, str]] = {}
    by_name: dict[str, str] = {}
    for key, entry in plain_items(zones):
        # The loader keys lines by the key's text; a numeric key is an int here, so the entry's own line.
        where = f"{path}:{line_of(entry, default=line_of(zones, str(key), 1))} (zone {key})"
        if not isinstance(key, int) or not isinstance(entry, dict) or not entry.get("name") or not entry.get("iana"):
            raise RuleError(f"{where}: a zone is `ID: {{name: ..., iana: ...}}` with a numeric id")
        try:
            ZoneInfo(str(entry["iana"]))
        except (ZoneInfoNotFoundError, ValueError):
            raise RuleError(f"{where}: {entry['iana']!r} is not an IANA time zone") from None
        by_id[key] = (str(entry["name"]), str(entry["iana"]))
        by_name.setdefault(_squeeze(str(entry["name"])), str(entry["iana"]))
    return TimeZones(by_id, by_name)
