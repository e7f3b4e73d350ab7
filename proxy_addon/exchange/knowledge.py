"""Site facts learned from traffic, with where they came from, and the lint context that uses them.

A GetSiteType answer tells whether a site is CI (siteType 1) or not; a 030098 failure says it is
CI; a GetAPIVersion answer gives the site's API version. Later messages for that site are linted
with what was learned, and their findings carry a note saying where the knowledge came from.
What traffic shows wins over what was configured: the service knows best.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from proxy_addon.core.message import Message, local_name, text_of
from proxy_addon.core.versions import Version, parse_version
from proxy_addon.exchange.observed import Observed, format_time
from proxy_addon.lint.context import LintContext
from proxy_addon.lint.ruleset import Rule

USER_MANAGEMENT_ON_CI = "030098"
SITE_TYPE, API_VERSION = "site-type", "api-version"
# An answer that can teach something names one of these (any case), or is not 8-bit text at all.
_TEACHING_WORDS = re.compile(rb"sitetype|apiver|" + USER_MANAGEMENT_ON_CI.encode(), re.IGNORECASE)


@dataclass(frozen=True)
class Fact:
    """One learned fact about a site: what, from which evidence, when and where it was seen."""

    site: str
    kind: str  # SITE_TYPE (value: bool, True = CI) | API_VERSION (value: Version)
    value: bool | Version
    evidence: str  # "GetSiteType (siteType 1)", "a 030098 failure"
    time: float | None = None  # when the answer was seen
    where: str = ""  # "capture.har entry 3 at …", "flow <id> at …"

    @property
    def note(self) -> str:
        """What a finding that depends on this fact says about it."""
        if self.kind == SITE_TYPE:
            what = "CI" if self.value else "not CI"
        else:
            what = "API " + ".".join(map(str, self.value))
        when = f" at {format_time(self.time)}" if self.time is not None else ""
        return f"site {self.site} learned as {what} from {self.evidence}{when}"

    @property
    def provenance(self) -> str:
        """The note and where the answer is: for the store and the report."""
        return f"{self.note} ({self.where})" if self.where else self.note


class SiteKnowledge:
    """Learned facts, keyed by case-folded site name (the newest fact of each kind wins)."""

    def __init__(self, facts: list[Fact] | None = None) -> None:
        self._site_types: dict[str, Fact] = {}
        self._versions: dict[str, Fact] = {}
        for fact in facts or ():
            self.learn(fact)

    def learn(self, fact: Fact) -> bool:
        """Record a fact; True when it is news (a changed value)."""
        table = self._site_types if fact.kind == SITE_TYPE else self._versions
        key = fact.site.lower()
        known = table.get(key)
        if known is not None and known.value == fact.value:
            return False
        table[key] = fact
        return True

    def facts(self) -> list[Fact]:
        return [*self._site_types.values(), *self._versions.values()]

    def is_ci(self, site: str | None) -> bool | None:
        fact = self._site_types.get(site.lower()) if site else None
        return bool(fact.value) if fact is not None else None

    def api_version(self, site: str | None) -> Version | None:
        fact = self._versions.get(site.lower()) if site else None
        return fact.value if fact is not None else None

    def notes_for(self, rule: Rule, site: str | None) -> list[str]:
        """Why a finding of `rule` for `site` is reported as it is: the learned facts it depends on."""
        if not site:
            return []
        key = site.lower()
        notes = []
        if rule.site == "ci" and key in self._site_types:
            notes.append(self._site_types[key].note)
        if (rule.since is not None or rule.until is not None) and key in self._versions:
            notes.append(self._versions[key].note)
        return notes


@dataclass(frozen=True)
class KnowledgeContext(LintContext):
    """A LintContext that also consults what was learned from traffic (learned facts win).

    The exchange linter adds `SiteKnowledge.notes_for` to the findings, so a finding names only the
    learned facts its rule depends on.
    """

    knowledge: SiteKnowledge = field(default_factory=SiteKnowledge, compare=False, repr=False)

    @classmethod
    def around(cls, base: LintContext, knowledge: SiteKnowledge) -> KnowledgeContext:
        fields = {name: getattr(base, name) for name in LintContext.__dataclass_fields__}
        return cls(**fields, knowledge=knowledge)

    def is_ci(self, site: str | None) -> bool | None:
        learned = self.knowledge.is_ci(site)
        return super().is_ci(site) if learned is None else learned

    def version_for(self, site: str | None) -> Version:
        return self.knowledge.api_version(site) or super().version_for(site)


def may_teach(answer: bytes) -> bool:
    """A cheap look at an answer's bytes: False when it surely teaches nothing (no need to parse it)."""
    head = answer[:4]
    if b"\x00" in head or head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True  # 16/32-bit text: the words cannot be searched as bytes
    return _TEACHING_WORDS.search(answer) is not None


def facts_from_answer(site: str | None, operation: str | None, answer: Message, seen: Observed) -> list[Fact]:
    """What one answer to a request for `site` teaches (no fact when it teaches nothing)."""
    if not site:
        return []

    def fact(kind: str, value: bool | Version, evidence: str) -> Fact:
        return Fact(site, kind, value, evidence, seen.time, seen.where())

    if answer.exception_id == USER_MANAGEMENT_ON_CI:
        return [fact(SITE_TYPE, True, f"a {USER_MANAGEMENT_ON_CI} failure")]
    if answer.is_failure or answer.body_content is None:
        return []
    if operation == "GetSiteType":
        site_type = _child_text(answer, "siteType")  # one release-note example writes <ep:sitetype>
        if site_type and site_type.isdigit():
            return [fact(SITE_TYPE, site_type == "1", f"GetSiteType (siteType {site_type})")]
    elif operation == "GetAPIVersion":
        version, element = _api_version(answer)
        if version is not None:
            return [fact(API_VERSION, version, f"GetAPIVersion ({element})")]
    return []


def _child_text(message: Message, name: str) -> str | None:
    wanted = name.lower()
    for element in message.body_content.iterchildren():
        if isinstance(element.tag, str) and local_name(element).lower() == wanted:
            return text_of(element)
    return None


def _api_version(message: Message) -> tuple[Version | None, str]:
    """apiVer (39.1+) first; services older than 39.1 only send apiVersion."""
    for element in ("apiVer", "apiVersion"):
        text = _child_text(message, element)
        if text:
            try:
                return parse_version(text), element
            except ValueError:
                continue
    return None, ""
