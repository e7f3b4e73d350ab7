"""Who a client is, across inputs that record different parts of it.

A client is the address, the user agent and the webExID it acts for. A flow dump records all
three, a browser's HAR often no address, a plain .xml file only the webExID: the same integration
seen in all three would be three clients if the parts were compared as they are. Here a part an
input did not record matches any value, and an identity joins the one client whose known parts
agree with it; when several clients would match (two addresses with that webExID), it stays a
client of its own rather than being guessed into one.
"""

from __future__ import annotations

from collections.abc import Iterable

Identity = tuple[str | None, str | None, str | None]  # client_address, user_agent, webex_id


def _known(identity: Identity) -> int:
    return sum(part is not None for part in identity)


def _agrees(identity: Identity, client: list[str | None]) -> bool:
    return all(mine is None or theirs is None or mine == theirs for mine, theirs in zip(identity, client, strict=True))


def resolve_clients(identities: Iterable[Identity]) -> dict[Identity, Identity]:
    """Each identity (as stored, "" or None for a part not recorded) -> the client it belongs to,
    with every part any of its identities recorded. Most specific identities first, so a partial
    one joins a complete one rather than the other way round."""
    normal = {identity: tuple(part or None for part in identity) for identity in identities}
    clients: list[list[str | None]] = []
    member: dict[Identity, int] = {}
    for identity in sorted(set(normal.values()), key=lambda i: (-_known(i), tuple(p or "" for p in i))):
        matches = [index for index, client in enumerate(clients) if _agrees(identity, client)]
        if len(matches) == 1:
            client = clients[matches[0]]
            for position, part in enumerate(identity):
                client[position] = client[position] or part
            member[identity] = matches[0]
        else:
            member[identity] = len(clients)
            clients.append(list(identity))
    return {stored: tuple(clients[member[identity]]) for stored, identity in normal.items()}
