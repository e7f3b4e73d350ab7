"""Which unknown element names count as misspellings of known ones (WX008)."""

from __future__ import annotations

import pytest

from proxy_addon.schema.spelling import suggest

KNOWN = ["siteID", "siteName", "webExID", "timeZoneID", "timeZone", "host", "email", "email2",
         "trackingCode1", "url", "meetingKey", "PMRAutoLockWaitTime"]


@pytest.mark.parametrize(("written", "meant"), [
    ("siteId", "siteID"),               # case only (cisco-ie)
    ("timezoneID", "timeZoneID"),       # case only (cisco-ie)
    ("SITENAME", "siteName"),
    ("hostt", "host"),                  # one insertion
    ("meetinKey", "meetingKey"),        # one deletion
    ("meetingKry", "meetingKey"),       # one replacement
    ("webExDI", "webExID"),             # two neighbours swapped
    ("PMRAutoLockaitTime", "PMRAutoLockWaitTime"),  # the 9.0 release note's own typo
    ("timeZoneId", "timeZoneID"),       # case beats the one-edit match to timeZone
])
def test_near_misses_are_suggested(written, meant):
    assert suggest(written, KNOWN) == meant


@pytest.mark.parametrize("written", [
    "siteID",           # known: not a misspelling
    "uri",              # too short for edits (url)
    "email3",           # differs from email2 only in a digit
    "trackingCode11",   # likewise
    "timeZoneWithDST",  # far from everything
    "sitID2",           # two edits
])
def test_other_names_are_not_misspellings(written):
    assert suggest(written, KNOWN) is None
