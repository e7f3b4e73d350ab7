"""Where each finding came from, grouped as the report links to it: per rule, per client application.

Every number the report shows for a rule or an application (the checklist's messages and clients,
the migration plan's calls and rules) links to one of these groups, and every row of a group names
its input: the file and line, the HAR entry and its URL, the flow and its id. Nothing here holds a
body or a credential: the store keeps neither (URLs without their query string).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from proxy_addon.audit.store.store import SEVERITY_RANK

REPOSITORY_FILES = "repository files"
SHOWN_PER_GROUP = 50  # occurrences listed per rule and application; the totals are always exact


def application_label(address: str | None, agent: str | None) -> str:
    """One client application: its address and user agent. Message files have neither: they are the
    repository's files, not a client."""
    if not address and not agent:
        return REPOSITORY_FILES
    return f"{address or 'unknown address'} · {agent or 'unknown user agent'}"


def anchor(rule: str, application: str | None = None) -> str:
    """The HTML id of a rule's findings, or of one application's findings of a rule: stable across
    reports of the same store (a digest of the label, which may hold any character)."""
    if application is None:
        return f"findings-{rule}"
    digest = hashlib.blake2b(application.encode("utf-8", "surrogatepass"), digest_size=4).hexdigest()
    return f"findings-{rule}-{digest}"


@dataclass
class Occurrence:
    """One finding, where it came from."""

    severity: str
    operation: str | None
    direction: str
    source: str  # the input: a file, "proxy"
    locator: str  # "entry 3", "flow 7", a proxy flow id, "" for a whole file
    url: str | None
    flow_id: str | None
    line: int
    column: int
    time: float | None
    webex_id: str | None

    @property
    def place(self) -> str:
        """Where in the input: "HAR entry 3 · https://acme.webex.com/WBXService/XMLService",
        "flow 7 · id 1f2e…", "proxy flow 1f2e…"; "" for a whole file (its line says where)."""
        if self.source == "proxy":
            return f"proxy flow {self.flow_id or self.locator}"
        parts = []
        if self.locator.startswith("entry "):
            parts.append(f"HAR {self.locator}")
        elif self.locator:
            parts.append(self.locator)
        if self.flow_id:
            parts.append(f"flow id {self.flow_id}")
        if self.url:
            parts.append(self.url)
        return " · ".join(parts)


@dataclass
class FindingGroup:
    """One rule's findings in one application's messages."""

    rule: str
    application: str
    severity: str
    findings: int
    messages: int
    shown: list[Occurrence] = field(default_factory=list)

    @property
    def anchor(self) -> str:
        return anchor(self.rule, self.application)

    @property
    def hidden(self) -> int:
        return self.findings - len(self.shown)


@dataclass
class RuleFindings:
    rule: str
    severity: str
    findings: int
    messages: int
    groups: list[FindingGroup] = field(default_factory=list)

    @property
    def anchor(self) -> str:
        return anchor(self.rule)


def _resolved(row: dict[str, Any], clients: dict) -> str:
    identity = (row["client_address"], row["user_agent"], row["webex_id"])
    address, agent, _ = clients.get(identity) or identity
    return application_label(address, agent)


def finding_index(counts: list[dict[str, Any]], locations: list[dict[str, Any]], clients: dict,
                  order: list[str] | None = None) -> list[RuleFindings]:
    """The store's finding counts and located occurrences, per rule (in `order`, the checklist's,
    then by id) and per application (most findings first, the repository's files last)."""
    groups: dict[tuple[str, str], FindingGroup] = {}
    for row in counts:
        key = (row["rule"], _resolved(row, clients))
        group = groups.get(key)
        if group is None:
            group = groups[key] = FindingGroup(*key, row["severity"], 0, 0)
        group.findings += row["findings"]
        group.messages += row["messages"]  # messages are one client's each: the sum is exact
        if SEVERITY_RANK.get(row["severity"], 0) > SEVERITY_RANK.get(group.severity, 0):
            group.severity = row["severity"]
    for row in locations:
        group = groups.get((row["rule"], _resolved(row, clients)))
        if group is None or len(group.shown) >= SHOWN_PER_GROUP:
            continue
        group.shown.append(Occurrence(row["severity"], row["operation"], row["direction"], row["source"],
                                      row["locator"] or "", row["url"], row["flow_id"], row["line"], row["column"],
                                      row["time"], row["webex_id"]))
    rules: dict[str, RuleFindings] = {}
    for group in groups.values():
        group.shown.sort(key=lambda o: (o.time is None, o.time or 0, o.source, o.locator, o.line, o.column))
        entry = rules.setdefault(group.rule, RuleFindings(group.rule, group.severity, 0, 0))
        entry.findings += group.findings
        entry.messages += group.messages
        entry.groups.append(group)
        if SEVERITY_RANK.get(group.severity, 0) > SEVERITY_RANK.get(entry.severity, 0):
            entry.severity = group.severity
    for entry in rules.values():
        entry.groups.sort(key=lambda g: (g.application == REPOSITORY_FILES, -g.findings, g.application))
    rank = {rule: index for index, rule in enumerate(order or [])}
    return sorted(rules.values(), key=lambda r: (rank.get(r.rule, len(rank)), r.rule))


def by_application(index: list[RuleFindings]) -> dict[str, dict[str, FindingGroup]]:
    """Application label -> rule -> its findings there."""
    apps: dict[str, dict[str, FindingGroup]] = {}
    for rule in index:
        for group in rule.groups:
            apps.setdefault(group.application, {})[rule.rule] = group
    return apps
