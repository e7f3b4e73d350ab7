"""Credentials and personal data never leave `migrate` as they were sent.

Credentials become the project's mask; e-mail addresses and names become stable pseudonyms
(person-3@example.invalid, "Person 3"): the same person keeps the same pseudonym across one run,
so a plan still shows who is invited twice, and the body keeps its shape for schema validation.
example.invalid is reserved (RFC 2606) and can never reach a real mailbox.
"""

from __future__ import annotations

from proxy_addon.core.redaction import MASK


class Masker:
    def __init__(self) -> None:
        self._seen: dict[str, dict[str, int]] = {"email": {}, "name": {}}

    def mask(self, kind: str | None, value: str) -> str:
        if kind is None:
            return value
        if kind == "credential":
            return MASK
        seen = self._seen[kind]  # one count per kind: the first name and the first address are both 1
        number = seen.setdefault(value.strip().lower(), len(seen) + 1)
        return f"person-{number}@example.invalid" if kind == "email" else f"Person {number}"
