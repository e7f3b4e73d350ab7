"""Site facts learned from traffic, with where they came from, and the lint context that uses them.

A GetSiteType answer tells the site's type (1 CI, 2 and 4 SSO, 3 and 5 non-SSO); a 030098 failure
says it is CI; a GetAPIVersion answer gives the site's API version. Later messages for that site are
linted with what was learned, and their findings carry a note saying where the knowledge came from.
What traffic shows wins over what was configured: the service knows best.

A fact belongs to the upstream server whose answer taught it, and to the site: a client that asks
its own server about "acme" (through a forward proxy) must not change how other clients' requests
to the real acme service are linted or rewritten. Messages with no known upstream (files) share
the empty upstream.

Answers also teach things the exchanges after them are checked against, in capture order: the
session tickets AuthenticateUser issued (remembered by digest, never by value, with when they
expire) and the recordings LstRecording listed as shared with the user (shareToMe).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from proxy_addon.core.message import Message, local_name, text_of
from proxy_addon.core.text import format_time
from proxy_addon.core.versions import Version, format_version, parse_version
from proxy_addon.exchange.observed import Observed
from proxy_addon.lint.context import LintContext
from proxy_addon.lint.memory import (
    SESSION_TICKET,
    SHARED_RECORDING,
    SITE_REFUSAL,
    shared_recording_key,
    ticket_digest,
)
from proxy_addon.lint.ruleset import Rule

USER_MANAGEMENT_ON_CI = "030098"
# Answers that retire a kind of request for the site (facts file, 41.12.0 and 42.5.0): remembered
# like a ticket, so that later requests of that kind are warned before their answer (WX306).
SITE_REFUSALS = {"010106": "the classic Event is disabled on the site", "010107": "the site is suspended"}
SITE_TYPE, API_VERSION = "site-type", "api-version"  # what a site is: reported when learned
CI, SSO, NON_SSO = "ci", "sso", "non-sso"
# GetSiteType's numbers (xml-api-9.0-release-notes.txt A174-178): 1 CI, 2 SSO, 3 Train non-SSO,
# 4 W11 SSO, 5 non-SSO. Another number is no documented type: nothing is learned from it.
SITE_TYPES = {"1": CI, "2": SSO, "3": NON_SSO, "4": SSO, "5": NON_SSO}
SITE_KIND_NAMES = {CI: "CI", SSO: "SSO", NON_SSO: "non-SSO"}
# The service pack as GetAPIVersion's `release` carried it before 39.1 ("SP22"); B396 re-assigned
# `release` on 2019-05-01, so anything else in it is not a service pack.
_SERVICE_PACK = re.compile(r"^\s*SP\s*(\d+)\s*$", re.IGNORECASE)
MAX_REMEMBERED = 10_000  # tickets and shared recordings kept (audit sends them with every chunk); oldest go first
# An answer that can teach something names one of these (any case), or is not 8-bit text at all.
_TEACHING_WORDS = re.compile(
    rb"sitetype|apiver|sessionticket|sharetome|" + b"|".join(
        code.encode() for code in (USER_MANAGEMENT_ON_CI, *SITE_REFUSALS)), re.IGNORECASE)


@dataclass(frozen=True)
class Fact:
    """One learned fact about a site: what, from which evidence, when and where it was seen."""

    site: str
    # SITE_TYPE (value: CI | SSO | NON_SSO) | API_VERSION (value: Version) |
    # SESSION_TICKET (value: when it expires, seconds since the epoch) | SHARED_RECORDING (value: True)
    kind: str
    value: str | Version | float | bool
    evidence: str  # "GetSiteType (siteType 1)", "a 030098 failure"
    time: float | None = None  # when the answer was seen
    where: str = ""  # "capture.har entry 3 at …", "flow <id> at …"
    key: str = ""  # SESSION_TICKET: the ticket's digest; SHARED_RECORDING: "webexid|recordingID"
    upstream: str = ""  # the server whose answer taught it ("" when the capture does not say)

    @property
    def is_site_fact(self) -> bool:
        """What the site is (type, version): reported when learned, stored, shown in the report."""
        return self.kind in (SITE_TYPE, API_VERSION)

    @property
    def note(self) -> str:
        """What a finding that depends on this fact says about it."""
        when = f" at {format_time(self.time)}" if self.time is not None else ""
        if self.kind == SESSION_TICKET:
            return f"site {self.site} issued session ticket {self.key[:12]}… by {self.evidence}{when}"
        if self.kind in (SHARED_RECORDING, SITE_REFUSAL):
            return f"{self.evidence}{when}"
        if self.kind == SITE_TYPE:
            what = SITE_KIND_NAMES.get(str(self.value), str(self.value))
        else:
            what = "API " + version_text(self.value)
        return f"site {self.site} learned as {what} from {self.evidence}{when}"

    @property
    def provenance(self) -> str:
        """The note and where the answer is: for the store and the report."""
        return f"{self.note} ({self.where})" if self.where else self.note


def _site_key(upstream: str | None, site: str) -> tuple[str, str]:
    return (upstream or "").lower(), site.lower()


class SiteKnowledge:
    """Learned facts, keyed by upstream and case-folded site name (the newest fact of each kind wins).

    Tickets and shared recordings are keyed by upstream, site and `Fact.key`, at most MAX_REMEMBERED of them.
    """

    def __init__(self, facts: list[Fact] | None = None) -> None:
        self._site_types: dict[tuple[str, str], Fact] = {}
        self._versions: dict[tuple[str, str], Fact] = {}
        self._remembered: OrderedDict[tuple[str, tuple[str, str], str], Fact] = OrderedDict()
        for fact in facts or ():
            self.learn(fact)

    def learn(self, fact: Fact) -> bool:
        """Record a fact; True when it is news (a changed value)."""
        site = _site_key(fact.upstream, fact.site)
        if not fact.is_site_fact:
            key3 = (fact.kind, site, fact.key)
            news = self._remembered.get(key3) != fact
            self._remembered[key3] = fact
            self._remembered.move_to_end(key3)
            while len(self._remembered) > MAX_REMEMBERED:
                self._remembered.popitem(last=False)
            return news
        table = self._site_types if fact.kind == SITE_TYPE else self._versions
        known = table.get(site)
        if known is not None and known.value == fact.value:
            return False
        table[site] = fact
        return True

    def facts(self) -> list[Fact]:
        return [*self._site_types.values(), *self._versions.values(), *self._remembered.values()]

    def remembered(self, kind: str, site: str | None, key: str, upstream: str | None = None) -> Fact | None:
        """A ticket (key: its digest) or shared recording (key: "webexid|recordingID") `upstream` issued for `site`."""
        return self._remembered.get((kind, _site_key(upstream, site or ""), key))

    def site_type(self, site: str | None, upstream: str | None = None) -> Fact | None:
        return self._site_types.get(_site_key(upstream, site)) if site else None

    def version(self, site: str | None, upstream: str | None = None) -> Fact | None:
        return self._versions.get(_site_key(upstream, site)) if site else None

    def site_kind(self, site: str | None, upstream: str | None = None) -> str | None:
        fact = self.site_type(site, upstream)
        return str(fact.value) if fact is not None else None

    def is_ci(self, site: str | None, upstream: str | None = None) -> bool | None:
        kind = self.site_kind(site, upstream)
        return kind == CI if kind is not None else None

    def api_version(self, site: str | None, upstream: str | None = None) -> Version | None:
        fact = self.version(site, upstream)
        return fact.value if fact is not None else None


class KnowledgeContext(LintContext):
    """A LintContext that also consults what was learned from traffic (learned facts win).

    The exchange linter adds `SiteKnowledge.notes_for` to the findings, so a finding names only the
    learned facts its rule depends on.
    """

    __slots__ = ("knowledge", "upstream")
    _FIELDS = (*LintContext._FIELDS, "upstream")  # knowledge is neither compared nor shown
    _KEPT = (*_FIELDS, "knowledge")
    knowledge: SiteKnowledge
    upstream: str | None  # the server the linted message went to: only its facts apply

    def __init__(self, *values: Any, knowledge: SiteKnowledge | None = None, upstream: str | None = None,
                 **named: Any):
        super().__init__(*values, **named)
        object.__setattr__(self, "knowledge", SiteKnowledge() if knowledge is None else knowledge)
        object.__setattr__(self, "upstream", upstream)

    @classmethod
    def around(cls, base: LintContext, knowledge: SiteKnowledge, upstream: str | None = None) -> KnowledgeContext:
        fields = {name: getattr(base, name) for name in LintContext._FIELDS}
        return cls(**fields, knowledge=knowledge, upstream=upstream)

    def is_ci(self, site: str | None) -> bool | None:
        learned = self.knowledge.is_ci(site, self.upstream)
        return super().is_ci(site) if learned is None else learned

    def site_kind(self, site: str | None) -> str | None:
        return self.knowledge.site_kind(site, self.upstream) or super().site_kind(site)

    def version_for(self, site: str | None) -> Version:
        return self.knowledge.api_version(site, self.upstream) or super().version_for(site)

    def remembered(self, kind: str, site: str | None, key: str) -> Fact | None:
        return self.knowledge.remembered(kind, site, key, self.upstream)

    def facts_for(self, rule: Rule, site: str | None) -> list[Fact]:
        """The learned facts a finding of `rule` for `site` depends on: its notes say where they came from."""
        facts = []
        if rule.site != "any" and (fact := self.knowledge.site_type(site, self.upstream)) is not None:
            facts.append(fact)
        if (rule.since is not None or rule.until is not None) and (
                fact := self.knowledge.version(site, self.upstream)) is not None:
            facts.append(fact)
        return facts

    def depends_on_learned(self, rule: Rule, site: str | None) -> bool:
        """Whether the learned facts, not the configuration, decide that `rule` applies for `site`:
        what the configuration alone says differs from what was learned."""
        if rule.site != "any" and self.site_kind(site) != self.configured_site_kind(site):
            return True
        return (rule.since is not None or rule.until is not None) and self.version_for(site) != self.api_version


def may_teach(answer: bytes) -> bool:
    """A cheap look at an answer's bytes: False when it surely teaches nothing (no need to parse it)."""
    head = answer[:4]
    if b"\x00" in head or head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True  # 16/32-bit text: the words cannot be searched as bytes
    return _TEACHING_WORDS.search(answer) is not None


def facts_from_answer(site: str | None, operation: str | None, answer: Message, seen: Observed,
                      webex_id: str | None = None) -> list[Fact]:
    """What one answer to a request for `site` (by `webex_id`) teaches (no fact when it teaches nothing)."""
    if not site:
        return []

    def fact(kind: str, value: str | Version | float | bool, evidence: str, key: str = "") -> Fact:
        return Fact(site, kind, value, evidence, seen.time, seen.where(), key, seen.upstream or "")

    if answer.exception_id == USER_MANAGEMENT_ON_CI:
        return [fact(SITE_TYPE, CI, f"a {USER_MANAGEMENT_ON_CI} failure")]
    if answer.exception_id in SITE_REFUSALS:
        code = answer.exception_id
        return [fact(SITE_REFUSAL, True, f"site {site} answered {operation or 'a request'} with {code} "
                     f"({SITE_REFUSALS[code]})", code)]
    body = _body_content(answer)
    if answer.is_failure or body is None:
        return []
    if operation == "GetSiteType":
        site_type = _child_text(body, "siteType")  # A206 writes <ep:sitetype>
        if site_type in SITE_TYPES:
            return [fact(SITE_TYPE, SITE_TYPES[site_type], f"GetSiteType (siteType {site_type})")]
    elif operation == "GetAPIVersion":
        version, evidence = _api_version(body)
        if version is not None:
            return [fact(API_VERSION, version, f"GetAPIVersion ({evidence})")]
    elif operation == "AuthenticateUser":
        ticket, lifetime = _child_text(body, "sessionTicket"), _child_text(body, "timeToLive")
        start = seen.time if seen.time is not None else _epoch_millis(_child_text(body, "createTime"))
        if ticket and lifetime and lifetime.isdigit() and start is not None:
            return [fact(SESSION_TICKET, start + int(lifetime), f"AuthenticateUser (timeToLive {lifetime} s)",
                         ticket_digest(ticket))]
    elif operation == "LstRecording":
        return [fact(SHARED_RECORDING, True, f"LstRecording listed recording {recording_id} with shareToMe=true "
                     f"for {webex_id or 'the user'}", shared_recording_key(webex_id, recording_id))
                for recording_id in _shared_recordings(body)]
    return []


def version_text(version: Version) -> str:
    """As the service names it: 11.0 SP22 before 39.1, all three numbers after (39.3.0, as apiVer)."""
    return format_version(version) if version < (39, 0, 0) else ".".join(map(str, version))


def _body_content(message: Message):
    """bodyContent, also spelled bodycontent as in the GetSiteType example answer (A205)."""
    if message.body_content is not None:
        return message.body_content
    for parent in (message.root, *message.root.iterchildren()):
        for element in parent.iterchildren():
            if isinstance(element.tag, str) and local_name(element).lower() == "bodycontent":
                return element
    return None


def _child_text(parent, name: str) -> str | None:
    wanted = name.lower()
    for element in parent.iterchildren():
        if isinstance(element.tag, str) and local_name(element).lower() == wanted:
            return text_of(element)
    return None


def _shared_recordings(body) -> list[str]:
    """recordingIDs of the recordings an LstRecording answer flags shareToMe=true (B619-635)."""
    shared = []
    for element in body.iter():
        if isinstance(element.tag, str) and local_name(element).lower() == "recording":
            flag, recording_id = _child_text(element, "shareToMe"), _child_text(element, "recordingID")
            if recording_id and (flag or "").lower() == "true":
                shared.append(recording_id)
    return shared


def _epoch_millis(text: str | None) -> float | None:
    return int(text) / 1000 if text and text.isdigit() else None


def _api_version(body) -> tuple[Version | None, str]:
    """The site's API version from a GetAPIVersion answer, and which elements said so.

    From 39.1 apiVer holds it. Before, apiVersion ("WebEx XML API V11.0.0") gave the release and
    `release` the service pack ("SP22"): 11.0 SP22, which SP-gated rules need. On 2019-05-01 `release`
    was assigned a new XML API value (B396): a release that is a version of its own (39.x) is that
    version; anything else that is not "SPn" is not a service pack and is not read.
    """
    api_ver = _child_text(body, "apiVer")
    if api_ver:
        try:
            return parse_version(api_ver), "apiVer"
        except ValueError:
            pass
    release = _child_text(body, "release") or ""
    if re.match(r"^\s*\d+\.\d+", release):
        try:
            return parse_version(release), "release"
        except ValueError:
            pass
    api_version = _child_text(body, "apiVersion")
    if not api_version:
        return None, ""
    try:
        version = parse_version(api_version)
    except ValueError:
        return None, ""
    service_pack = _SERVICE_PACK.match(release)
    if service_pack and version < (39, 0, 0):
        return (version[0], version[1], int(service_pack.group(1))), "apiVersion and release"
    return version, "apiVersion"
