"""Protocol state the live proxy learns from traffic, per site, and the lint context that uses it.

A GetSiteType answer tells whether a site is CI (siteType 1) or not; a 030098 failure says it is
CI; a GetAPIVersion answer gives the site's API version. Later messages for that site are linted
with what was learned, and their findings carry a note saying where the knowledge came from.
What traffic shows wins over what was configured: the service knows best.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from proxy_addon.core.message import Message, local_name, text_of
from proxy_addon.core.versions import Version, parse_version
from proxy_addon.lint.context import LintContext
from proxy_addon.lint.ruleset import Rule

USER_MANAGEMENT_ON_CI = "030098"


class SiteKnowledge:
    """Learned facts, keyed by case-folded site name, each with a note saying where it came from.

    The notes go on the findings whose rule depends on the learned fact (see `notes_for`).
    """

    def __init__(self) -> None:
        self._is_ci: dict[str, bool] = {}
        self._versions: dict[str, Version] = {}
        self._type_notes: dict[str, str] = {}
        self._version_notes: dict[str, str] = {}
        self.versions = _FoldedView(self._versions)

    def is_ci(self, site: str | None) -> bool | None:
        return self._is_ci.get(site.lower()) if site else None

    def api_version(self, site: str | None) -> Version | None:
        return self._versions.get(site.lower()) if site else None

    def learn_site_type(self, site: str, is_ci: bool, source: str) -> str | None:
        """Record the site's type; returns the note when this is news."""
        key = site.lower()
        if self._is_ci.get(key) == is_ci:
            return None
        self._is_ci[key] = is_ci
        note = f"site {site} learned as {'CI' if is_ci else 'not CI'} from {source}"
        self._type_notes[key] = note
        return note

    def learn_api_version(self, site: str, version: Version, source: str) -> str | None:
        key = site.lower()
        if self._versions.get(key) == version:
            return None
        self._versions[key] = version
        note = f"site {site} learned as API {'.'.join(map(str, version))} from {source}"
        self._version_notes[key] = note
        return note

    def notes_for(self, rule: Rule, site: str | None) -> list[str]:
        """Why a finding of `rule` for `site` is reported as it is: the learned facts it depends on."""
        if not site:
            return []
        key = site.lower()
        notes = []
        if rule.site == "ci" and key in self._type_notes:
            notes.append(self._type_notes[key])
        if (rule.since is not None or rule.until is not None) and key in self._version_notes:
            notes.append(self._version_notes[key])
        return notes


class _FoldedView(Mapping):
    """A read-only, case-insensitive view of a dict keyed by folded site names."""

    def __init__(self, data: dict):
        self._data = data

    def __getitem__(self, site: str):
        return self._data[site.lower()]

    def __contains__(self, site: object) -> bool:
        return isinstance(site, str) and site.lower() in self._data

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


@dataclass(frozen=True)
class LiveContext(LintContext):
    """A LintContext that also consults what was learned from traffic (learned facts win).

    The engine's own `learned` notes stay empty: the addon adds `SiteKnowledge.notes_for` itself,
    so a finding names only the learned facts its rule depends on.
    """

    knowledge: SiteKnowledge = field(default_factory=SiteKnowledge, compare=False, repr=False)

    @classmethod
    def around(cls, base: LintContext, knowledge: SiteKnowledge) -> LiveContext:
        fields = {name: getattr(base, name) for name in base.__dataclass_fields__}
        fields.update(site_api_versions=knowledge.versions, learned={})
        return cls(**fields, knowledge=knowledge)

    def is_ci(self, site: str | None) -> bool | None:
        learned = self.knowledge.is_ci(site)
        return super().is_ci(site) if learned is None else learned

    def version_for(self, site: str | None) -> Version:
        return self.knowledge.api_version(site) or super().version_for(site)


def learn_from_response(knowledge: SiteKnowledge, site: str | None, operation: str | None,
                        response: Message) -> list[str]:
    """Update `knowledge` from one response to a request for `site`; returns the new notes."""
    if not site:
        return []
    notes: list[str] = []
    if response.exception_id == USER_MANAGEMENT_ON_CI:
        notes.append(knowledge.learn_site_type(site, True, f"a {USER_MANAGEMENT_ON_CI} failure"))
    elif response.is_failure or response.body_content is None:
        return []
    elif operation == "GetSiteType":
        site_type = _child_text(response, "siteType")  # one release-note example writes <ep:sitetype>
        if site_type and site_type.isdigit():
            notes.append(knowledge.learn_site_type(site, site_type == "1", f"GetSiteType (siteType {site_type})"))
    elif operation == "GetAPIVersion":
        version, element = _api_version(response)
        if version is not None:
            notes.append(knowledge.learn_api_version(site, version, f"GetAPIVersion ({element})"))
    return [note for note in notes if note]


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
