"""The credential change each client needs: XML passwords, session tickets or XML access tokens ->
an OAuth access token from an integration or a service app, with the scopes its REST calls need.

The scopes come from the mapping (rules/migration/rest-mapping.yaml, `scopes:` per operation);
the OpenAPI file's security section is quoted for what it declares (schemes, no per-operation scopes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from proxy_addon.migration.translate import TRANSLATED, Translation

ADVICE = {
    "password": "REST has no password sign-in: move to an OAuth integration (users sign in and grant "
                "the scopes) or a service app (a machine account an admin authorizes)",
    "sessionTicket": "session tickets (AuthenticateUser, GetloginTicket) have no REST counterpart: send the "
                     "OAuth access token itself (Authorization: Bearer) from an integration or service app",
    "accessToken": "already an OAuth access token: send it as Authorization: Bearer and make sure the "
                   "integration or service app grants the scopes below (XML only needed spark:all)",
    "none": "no credential seen in the captured requests",
}


@dataclass
class ClientAuth:
    client: str
    credentials: dict[str, int] = field(default_factory=dict)  # kind -> requests
    scopes: set[str] = field(default_factory=set)
    webex_ids: set[str] = field(default_factory=set)

    def as_json(self) -> dict[str, Any]:
        return {"client": self.client, "credentials": self.credentials, "scopes": sorted(self.scopes),
                "changes": [{"from": kind, "advice": ADVICE[kind]} for kind in self.credentials]}


def auth_plan(translations: list[Translation]) -> list[ClientAuth]:
    clients: dict[str, ClientAuth] = {}
    for item in translations:
        plan = clients.setdefault(item.client, ClientAuth(item.client))
        for kind in item.credential.split("+"):
            plan.credentials[kind] = plan.credentials.get(kind, 0) + 1
        if item.status == TRANSLATED:
            plan.scopes.update(item.scopes)
    return sorted(clients.values(), key=lambda plan: plan.client)


def declared_schemes(security_schemes: dict[str, Any]) -> str:
    """What the OpenAPI file declares, in words: "oauth2 (authorizationCode), bearer-key (http bearer)"."""
    parts = []
    for name, scheme in sorted(security_schemes.items()):
        if scheme.get("type") == "oauth2":
            parts.append(f"{name} ({', '.join(sorted(scheme.get('flows', {})))})")
        else:
            parts.append(f"{name} ({scheme.get('type')} {scheme.get('scheme', '')})".replace(" )", ")"))
    return ", ".join(parts) or "none"
