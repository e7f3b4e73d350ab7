"""Migration readiness: the XML API's end of life (rules/lifecycle.yaml) applied to the traffic in a store.

Which operations were seen, by service group and lifecycle status; which clients still call
deprecated ones, how often, since when; how much traffic is already on operations the deprecation
does not touch; what replaces each call; and which clients still send passwords rather than
access tokens (counted by kind, the store never holds a credential).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from proxy_addon.lint.lifecycle import STATUSES, Lifecycle

STATUS_LABELS = {"deprecated": "deprecated", "not-affected": "not affected", "unknown": "status unknown"}


@dataclass
class OperationUse:
    operation: str
    group: str
    status: str
    requests: int
    clients: int
    replacement: str  # the REST counterpart's label: "Meetings: Create a Meeting (suggested)", "none known"
    rest_status: str
    docs: str | None
    known: bool  # listed in rules/lifecycle.yaml


@dataclass
class ClientUse:
    client_address: str | None
    user_agent: str | None
    webex_id: str | None
    requests: int
    deprecated_requests: int
    first_seen: float | None  # of its deprecated calls
    last_seen: float | None
    operations: list[dict[str, Any]] = field(default_factory=list)  # deprecated ones, busiest first


@dataclass
class ClientCredentials:
    client_address: str | None
    user_agent: str | None
    webex_id: str | None
    by_kind: dict[str, int]  # "password", "accessToken", "sessionTicket", "none", combinations: requests

    @property
    def password_requests(self) -> int:
        return sum(count for kind, count in self.by_kind.items() if "password" in kind.split("+"))


@dataclass
class ClientPlan:
    """One client application's migration to-do: what it calls and what replaces each call, and its
    credential change. An application is an address and a user agent (its webExIDs are a column,
    not separate clients); message files, which have neither, are "repository files"."""

    application: str
    repository_files: bool
    webex_ids: list[str]
    requests: int
    deprecated_requests: int
    calls: list[dict[str, Any]]  # deprecated operations: operation, requests, rest ("POST /meetings"), basis
    credentials: dict[str, int]  # kind -> requests
    auth_changes: list[dict[str, str]]  # {from: kind, advice}
    first_seen: float | None
    last_seen: float | None
    scopes: list[str] = field(default_factory=list)  # what its REST calls need (the mapping's scopes)
    # Rules to fix first: its findings per rule, most severe and most frequent first, WX601 (the
    # deprecated calls themselves, which `calls` lists) apart: {rule, severity, findings, messages, anchor}.
    rules: list[dict[str, Any]] = field(default_factory=list)
    calls_anchor: str | None = None  # where its deprecated calls are listed, one by one (WX601's findings)

    # What would not survive the move: the fields its stored requests sent that their REST requests do
    # not carry, per operation ({operation, kind: gap | not-mapped, field, why, requests}). Values over
    # a REST limit need the request bodies: `webex-xml-lint migrate` on the captures.
    not_carried: list[dict[str, Any]] = field(default_factory=list)

    def not_carried_by(self, operation: str) -> list[dict[str, Any]]:
        return [item for item in self.not_carried if item["operation"] == operation]


@dataclass
class MigrationReadiness:
    end_of_support: str
    end_of_life: str
    extension: str
    requests: int
    by_status: dict[str, int]  # requests per lifecycle status
    by_group: list[dict[str, Any]]  # group, status, operations seen, requests
    operations: list[OperationUse]
    clients: list[ClientUse]  # those calling deprecated operations, most deprecated requests first
    credentials: list[ClientCredentials]  # every client, password senders first
    plans: list[ClientPlan] = field(default_factory=list)  # per application, most deprecated requests first

    def end_of_life_passed(self, at: float) -> int | None:
        """Days between the end of life and `at` (the report's date) when it has passed, else None."""
        try:
            end = datetime.strptime(self.end_of_life, "%Y-%m-%d").replace(tzinfo=UTC)
        except ValueError:
            return None
        days = (datetime.fromtimestamp(at, UTC) - end).days
        return days if days >= 0 else None

    @property
    def unaffected_share(self) -> float | None:
        """The share of requests already on operations the deprecation does not touch."""
        return self.by_status.get("not-affected", 0) / self.requests if self.requests else None

    @property
    def replacements(self) -> list[OperationUse]:
        return [use for use in self.operations if use.status == "deprecated"]

    @property
    def password_clients(self) -> list[ClientCredentials]:
        return [client for client in self.credentials if client.password_requests]

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["unaffected_share"] = self.unaffected_share
        for entry, client in zip(data["credentials"], self.credentials, strict=True):
            entry["password_requests"] = client.password_requests
        return data


def readiness(usage: list[dict[str, Any]], credentials: list[dict[str, Any]], lifecycle: Lifecycle) -> MigrationReadiness:
    """Build the section from the store's per-client operation counts and credential kinds."""
    by_status = dict.fromkeys(STATUSES, 0)
    operations: dict[str, OperationUse] = {}
    op_clients: dict[str, set] = {}
    clients: dict[tuple, ClientUse] = {}
    for row in usage:
        entry = lifecycle.lookup(row["operation"])
        requests = row["requests"]
        by_status[entry.status] += requests
        use = operations.get(entry.name)
        if use is None:
            use = operations[entry.name] = OperationUse(
                entry.name, entry.group, entry.status, 0, 0, entry.rest.label, entry.rest.status, entry.rest.docs,
                entry.known)
        use.requests += requests
        key = (row["client_address"], row["user_agent"], row["webex_id"])
        op_clients.setdefault(entry.name, set()).add(key)
        client = clients.get(key)
        if client is None:
            client = clients[key] = ClientUse(*key, 0, 0, None, None)
        client.requests += requests
        if entry.status == "deprecated":
            client.deprecated_requests += requests
            client.first_seen = _min(client.first_seen, row["first_seen"])
            client.last_seen = _max(client.last_seen, row["last_seen"])
            client.operations.append({"operation": entry.name, "group": entry.group, "requests": requests,
                                      "first_seen": row["first_seen"], "last_seen": row["last_seen"],
                                      "replacement": entry.rest.label, "docs": entry.rest.docs})
    for name, use in operations.items():
        use.clients = len(op_clients[name])
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for use in operations.values():
        group = groups.setdefault((use.group, use.status), {"group": use.group, "status": use.status,
                                                           "operations": 0, "requests": 0})
        group["operations"] += 1
        group["requests"] += use.requests
    order = {status: index for index, status in enumerate(STATUSES)}
    calling = [client for client in clients.values() if client.deprecated_requests]
    for client in calling:
        client.operations.sort(key=lambda op: (-op["requests"], op["operation"]))
    kinds: dict[tuple, ClientCredentials] = {}
    for row in credentials:
        key = (row["client_address"], row["user_agent"], row["webex_id"])
        entry = kinds.setdefault(key, ClientCredentials(*key, {}))
        entry.by_kind[row["auth"]] = entry.by_kind.get(row["auth"], 0) + row["requests"]
    deprecation = lifecycle.deprecation
    plans = _plans(list(clients.values()), list(kinds.values()), lifecycle)
    return MigrationReadiness(
        end_of_support=deprecation["end_of_support"], end_of_life=deprecation["end_of_life"],
        extension=deprecation.get("extension", ""),
        requests=sum(by_status.values()), by_status=by_status,
        by_group=sorted(groups.values(), key=lambda g: (order[g["status"]], -g["requests"], g["group"])),
        operations=sorted(operations.values(), key=lambda u: (order[u.status], -u.requests, u.operation)),
        clients=sorted(calling, key=lambda c: (-c.deprecated_requests, _label(c))),
        credentials=sorted(kinds.values(), key=lambda c: (-c.password_requests, _label(c))),
        plans=plans,
    )


def _plans(clients: list[ClientUse], credentials: list[ClientCredentials], lifecycle: Lifecycle) -> list[ClientPlan]:
    """The store's per-(address, user agent, webExID) rows folded into one plan per application."""
    from proxy_addon.audit.report.locations import application_label  # noqa: PLC0415
    from proxy_addon.migration.auth import ADVICE  # noqa: PLC0415 (the report's path only)

    rest_calls = _rest_calls()
    plans: dict[tuple, ClientPlan] = {}

    def plan_of(address: str | None, agent: str | None) -> ClientPlan:
        key = (address, agent)
        if key not in plans:
            files = not address and not agent
            plans[key] = ClientPlan(application_label(address, agent), files, [], 0, 0, [], {}, [], None, None)
        return plans[key]

    for client in clients:
        plan = plan_of(client.client_address, client.user_agent)
        if client.webex_id and client.webex_id not in plan.webex_ids:
            plan.webex_ids.append(client.webex_id)
        plan.requests += client.requests
        plan.deprecated_requests += client.deprecated_requests
        plan.first_seen, plan.last_seen = _min(plan.first_seen, client.first_seen), _max(plan.last_seen, client.last_seen)
        for op in client.operations:
            call = next((c for c in plan.calls if c["operation"] == op["operation"]), None)
            if call is None:
                rest = rest_calls.get(op["operation"].lower())
                call = {"operation": op["operation"], "requests": 0, "rest": rest["rest"] if rest else None,
                        "basis": rest["basis"] if rest else None, "replacement": op["replacement"],
                        "docs": op["docs"], "scopes": rest["scopes"] if rest else [],
                        "gaps": rest["gaps"] if rest else {}}
                plan.calls.append(call)
            call["requests"] += op["requests"]
    for entry in credentials:
        plan = plan_of(entry.client_address, entry.user_agent)
        if entry.webex_id and entry.webex_id not in plan.webex_ids:
            plan.webex_ids.append(entry.webex_id)
        for kinds, count in entry.by_kind.items():
            for kind in kinds.split("+"):
                plan.credentials[kind] = plan.credentials.get(kind, 0) + count
    for plan in plans.values():
        plan.webex_ids.sort()
        plan.calls.sort(key=lambda c: (-c["requests"], c["operation"]))
        plan.scopes = sorted({scope for call in plan.calls for scope in call["scopes"]})
        plan.auth_changes = [{"from": kind, "advice": ADVICE[kind]} for kind in ("password", "sessionTicket", "accessToken")
                             if plan.credentials.get(kind)] if plan.deprecated_requests else []
    # Applications first, busiest migration first; the repository's files last.
    return sorted(plans.values(), key=lambda p: (p.repository_files, -p.deprecated_requests, p.application))


def _rest_calls() -> dict[str, dict[str, Any]]:
    """XML operation (lower case) -> {rest: "POST /meetings", basis, scopes, gaps}, from
    rules/migration/rest-mapping.yaml."""
    from proxy_addon.migration.mapping import default_mapping  # noqa: PLC0415
    from proxy_addon.migration.rest import default_rest_spec  # noqa: PLC0415

    spec, calls = default_rest_spec(), {}
    for key, entry in default_mapping().operations.items():
        operation = spec.operation(entry.operation_id)
        calls[key] = {"rest": f"{operation.method} {operation.path}", "basis": entry.basis,
                      "scopes": list(entry.scopes), "gaps": dict(entry.gaps)}
    return calls


def _label(client: ClientUse | ClientCredentials) -> str:
    return "|".join(part or "" for part in (client.client_address, client.user_agent, client.webex_id))


def _min(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else min(a, b)


def _max(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else max(a, b)
