"""`migrate --db`: the migration plan an audit store can give, per client application.

A store keeps no message bodies (by design: they hold credentials and personal data), so it cannot
give the REST body of each request, nor say which values are over a REST limit. What it does know
is enough for the plan a migration lead asks for first: which applications call which deprecated
operations and how often, the REST request that replaces each (method, URL, operationId, the
lookups it needs first), the fields its requests sent that REST does not carry (the store keeps
their names, never their values), the rules to fix
first, and the credential change with the scopes the REST calls need. The same plan as the
report's section (audit/report/migration.py), read the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

BODIES_NEED_CAPTURES = (
    "The store keeps no message bodies: for the REST body of each request (with its own values) and the "
    "values over a REST limit, run `webex-xml-lint migrate` on the captures the store was filled from "
    "(HAR exports, flow dumps, .xml files).")


@dataclass
class StorePlan:
    store: str
    base_url: str
    end_of_life: str
    end_of_life_passed_days: int | None
    requests: int  # every request in the store
    deprecated_requests: int
    applications: list[dict[str, Any]] = field(default_factory=list)

    @property
    def to_do(self) -> bool:
        return self.deprecated_requests > 0

    def as_json(self) -> dict[str, Any]:
        return {"source": "store", "store": self.store, "base_url": self.base_url, "end_of_life": self.end_of_life,
                "end_of_life_passed_days": self.end_of_life_passed_days, "requests": self.requests,
                "deprecated_requests": self.deprecated_requests, "applications": self.applications,
                "bodies": BODIES_NEED_CAPTURES}

    def as_text(self) -> str:
        lines = [f"Migration plan from the store {self.store}: {self.deprecated_requests:,} of {self.requests:,} "
                 "requests call deprecated Meetings XML operations."]
        if self.end_of_life_passed_days is not None:
            lines.append(f"The end of life ({self.end_of_life}) has passed: {self.end_of_life_passed_days:,} days ago.")
        lines.append("")
        for app in self.applications:
            ids = ", ".join(app["webex_ids"]) or "-"
            lines.append(f"{app['application']} (webExIDs: {ids}): {app['deprecated_requests']:,} of "
                         f"{app['requests']:,} requests to move")
            for call in app["calls"]:
                if call["rest"] is None:
                    lines.append(f"  {call['operation']} ({call['requests']:,}): no REST request: {call['replacement']}")
                    continue
                rest = call["rest"]
                lines.append(f"  {call['operation']} ({call['requests']:,}) -> {rest['method']} {rest['url']}   "
                             f"({rest['operationId']}; pairing {call['basis']})")
                for step in rest["before"]:
                    lines.append(f"    first: {step['method']} {step['url']}?{step['parameter']}=...  -> {step['gives']}")
                for lost in call["not_carried"]:
                    lines.append(f"    not carried ({lost['kind']}, {lost['requests']:,} requests) {lost['field']}: "
                                 f"{lost['why']}")
            if app["rules"]:
                lines.append("  rules to fix first: " + ", ".join(
                    f"{rule['rule']} {rule['severity']} ({rule['findings']:,} in {rule['messages']:,} messages)"
                    for rule in app["rules"]))
            for change in app["auth_changes"]:
                lines.append(f"  auth: {change['from']} ({change['requests']:,}): {change['advice']}")
            if app["scopes"]:
                lines.append(f"  scopes: {', '.join(app['scopes'])}")
            lines.append("")
        lines.append(BODIES_NEED_CAPTURES)
        return "\n".join(lines) + "\n"


def store_plan(store, base_url: str) -> StorePlan:
    """The plan from a store opened read-only (report and inventory read it the same way)."""
    import time  # noqa: PLC0415

    from proxy_addon.audit.report.data import collect  # noqa: PLC0415
    from proxy_addon.migration.mapping import default_mapping  # noqa: PLC0415
    from proxy_addon.migration.rest import default_rest_spec  # noqa: PLC0415

    data = collect(store)
    readiness = data.migration
    spec, mapping = default_rest_spec(), default_mapping()
    plan = StorePlan(store.url, base_url, readiness.end_of_life, readiness.end_of_life_passed(time.time()),
                     readiness.requests, readiness.by_status.get("deprecated", 0))
    for app in readiness.plans:
        if not app.deprecated_requests:
            continue
        calls = []
        for call in app.calls:
            entry = mapping.operations.get(call["operation"].lower())
            rest = None
            if entry is not None:
                operation = spec.operation(entry.operation_id)
                before = []
                for lookup_id in _lookups(entry):
                    lookup = mapping.lookups[lookup_id]
                    found = spec.operation(lookup.operation_id)
                    before.append({"method": found.method, "url": base_url + found.path,
                                   "parameter": lookup.parameter, "gives": lookup.gives})
                rest = {"method": operation.method, "url": base_url + operation.path, "path": operation.path,
                        "operationId": operation.operation_id, "before": before}
            calls.append({"operation": call["operation"], "requests": call["requests"], "rest": rest,
                          "basis": call["basis"], "replacement": call["replacement"], "scopes": call["scopes"],
                          "not_carried": [{key: item[key] for key in ("kind", "field", "requests", "why")}
                                          for item in app.not_carried_by(call["operation"])]})
        plan.applications.append({
            "application": app.application, "repository_files": app.repository_files, "webex_ids": app.webex_ids,
            "requests": app.requests, "deprecated_requests": app.deprecated_requests, "calls": calls,
            "rules": [{key: rule[key] for key in ("rule", "severity", "findings", "messages")} for rule in app.rules],
            "auth_changes": [{**change, "requests": app.credentials.get(change["from"], 0)}
                             for change in app.auth_changes],
            "scopes": app.scopes, "first_seen": app.first_seen, "last_seen": app.last_seen})
    return plan


def _lookups(entry) -> list[str]:
    """The lookups an operation's path and query fields name, in order, once each."""
    found: list[str] = []
    for item in (*entry.path, *entry.query):
        if item.lookup and item.lookup not in found:
            found.append(item.lookup)
    return found
