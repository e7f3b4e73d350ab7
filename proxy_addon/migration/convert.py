"""Value conversions from XML element text to REST JSON values.

Each conversion returns the value, or raises NoConversion saying why the value cannot be carried
over (the translator reports it as data that would not survive). Dates: XML writes MM/DD/YYYY
HH:MM:SS in the zone of timeZoneID; REST takes ISO 8601 with an offset and an IANA `timezone`.
Repeats: XML's repeat element -> an RFC 2445 RRULE (REST `recurrence`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from lxml import etree

from proxy_addon.core.message import local_name
from proxy_addon.migration.timezones import TimeZones

XML_DATE = "%m/%d/%Y %H:%M:%S"
_TRUE, _FALSE = {"true", "1"}, {"false", "0"}
_DAYS = {"SUNDAY": "SU", "MONDAY": "MO", "TUESDAY": "TU", "WEDNESDAY": "WE", "THURSDAY": "TH", "FRIDAY": "FR",
         "SATURDAY": "SA"}
_FREQUENCIES = {"DAILY": "DAILY", "WEEKLY": "WEEKLY", "MONTHLY": "MONTHLY", "YEARLY": "YEARLY"}
NAMES = ("text", "integer", "boolean", "datetime", "end", "timezone", "recurrence", "lookup", "site-url")


class NoConversion(ValueError):
    """The XML value has no REST form; the message says why (never quoting a personal value)."""


def boolean(text: str) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise NoConversion("not an XML boolean (TRUE/FALSE)")


def integer(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise NoConversion("not a whole number") from None


def local_datetime(text: str) -> datetime:
    try:
        return datetime.strptime(text.strip(), XML_DATE)
    except ValueError:
        raise NoConversion("not an XML date (MM/DD/YYYY HH:MM:SS)") from None


def iso(moment: datetime, zone: str | None) -> str:
    """ISO 8601 with the zone's offset on that date (DST included); without a zone, no offset."""
    if zone is None:
        return moment.strftime("%Y-%m-%dT%H:%M:%S")
    return moment.replace(tzinfo=ZoneInfo(zone)).isoformat()


def zone_of(value: str | None, zones: TimeZones) -> str | None:
    if value is None:
        return None
    found = zones.iana(value)
    if found is None:
        raise NoConversion("an XML time zone that is not in the reference guide's table")
    return found


def end(duration: str, start: str | None, zone: str | None) -> str:
    if start is None:
        raise NoConversion("a duration without a startDate: REST needs an end time")
    minutes = integer(duration)
    return iso(local_datetime(start) + timedelta(minutes=minutes), zone)


def recurrence(element: etree._Element) -> str | None:
    """XML <repeat> -> RRULE; None for NO_REPEAT."""
    fields: dict[str, list[str]] = {}
    for item in element.iter(etree.Element):
        if item is not element and not len(item):
            fields.setdefault(local_name(item).lower(), []).append((item.text or "").strip())
    kind = (fields.get("repeattype") or [""])[0].upper()
    if kind in ("", "NO_REPEAT"):
        return None
    if kind not in _FREQUENCIES:
        raise NoConversion(f"repeat type {kind[:20]} has no RRULE counterpart")
    rule = [f"FREQ={_FREQUENCIES[kind]}"]
    if interval := (fields.get("interval") or [None])[0]:
        rule.append(f"INTERVAL={integer(interval)}")
    days = [_DAYS[day.upper()] for day in fields.get("day", []) if day.upper() in _DAYS]
    if days:
        rule.append("BYDAY=" + ",".join(days))
    if month_day := (fields.get("dayinmonth") or [None])[0]:
        rule.append(f"BYMONTHDAY={integer(month_day)}")
    if month := (fields.get("monthinyear") or [None])[0]:
        rule.append(f"BYMONTH={integer(month)}")
    if count := (fields.get("aftermeetingnumber") or [None])[0]:
        rule.append(f"COUNT={integer(count)}")
    elif until := (fields.get("expirationdate") or [None])[0]:
        rule.append("UNTIL=" + local_datetime(until).strftime("%Y%m%dT%H%M%S"))
    return ";".join(rule)


def site_url(site_name: str) -> str:
    """A site name (acme) -> the REST siteUrl (acme.webex.com)."""
    name = site_name.strip()
    return name if "." in name else f"{name}.webex.com"
