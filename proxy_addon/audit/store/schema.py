"""The store's schema, as ordered migration steps, and the runner that applies the missing ones.

Each step is applied once, in order, inside one transaction that also records it in
schema_version. A store written by a newer version of the tool (a step this one does not know) is
refused rather than guessed at. SQL is written once for both databases; `{blob}`, `{real}` and
`{compact}` stand for the column types and table options that differ.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from proxy_addon.audit.store.backends import Backend, StoreError


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "messages, findings, sites and unreadable inputs", (
        # One row per message seen. `key` is the natural key: a digest of where the message was seen
        # (source file or proxy, locator inside it, direction) and of its redacted content, so
        # reading the same capture again updates rows instead of adding them.
        """CREATE TABLE messages (
            key {blob} PRIMARY KEY,
            content_hash {blob} NOT NULL,
            source TEXT NOT NULL,
            locator TEXT NOT NULL,
            direction TEXT NOT NULL,
            operation TEXT,
            site TEXT,
            site_id TEXT,
            webex_id TEXT,
            client_address TEXT,
            user_agent TEXT,
            time {real},
            day TEXT,
            size INTEGER NOT NULL,
            result TEXT,
            exception_id TEXT
        ){compact}""",
        "CREATE INDEX messages_site ON messages (site)",
        "CREATE INDEX messages_day ON messages (day)",
        """CREATE TABLE findings (
            message_key {blob} NOT NULL,
            ordinal INTEGER NOT NULL,
            rule TEXT NOT NULL,
            severity TEXT NOT NULL,
            element TEXT,
            message TEXT NOT NULL,
            line INTEGER NOT NULL,
            col INTEGER NOT NULL,
            predicts TEXT,
            PRIMARY KEY (message_key, ordinal)
        ){compact}""",
        "CREATE INDEX findings_rule ON findings (rule)",
        # Sites known to be CI (Common Identity) from --ci-site or learned by the proxy.
        "CREATE TABLE sites (site TEXT PRIMARY KEY, ci INTEGER NOT NULL, learned_from TEXT)",
        """CREATE TABLE input_errors (
            source TEXT NOT NULL,
            locator TEXT NOT NULL,
            problem TEXT NOT NULL,
            seen {real} NOT NULL,
            PRIMARY KEY (source, locator, problem)
        )""",
    )),
    # How each request authenticated: the kind of credential only (password, accessToken,
    # sessionTicket, none), never its value; for the migration section (who still sends passwords).
    Migration(2, "messages.auth: the kind of credential a request carried", (
        "ALTER TABLE messages ADD COLUMN auth TEXT",
    )),
    # Number 3: main's migration 2 (messages.auth, the migration branch) comes first.
    Migration(3, "learned notes per finding; learned site types and API versions", (
        # The learned facts a finding depends on ("site acme learned as CI from …"), one per line.
        "ALTER TABLE findings ADD COLUMN notes TEXT",
        # What traffic taught about a site beyond CI or not: its type (ci, sso, non-sso) and its API
        # version, each with the answer it was learned from. `ci` stays what it was.
        "ALTER TABLE sites ADD COLUMN site_type TEXT",
        "ALTER TABLE sites ADD COLUMN api_version TEXT",
        "ALTER TABLE sites ADD COLUMN version_learned_from TEXT",
    )),
    # Where a message was recorded, so that every finding names its input: the request URL of a HAR
    # entry or flow (scheme, host and path: never a query string, which may carry a token) and a
    # flow dump's flow id. Per message, not per finding: a message's findings share it, and the
    # findings table stays as narrow as it was (its writes are the audit's hot path).
    # And, for a Meetings request the REST mapping translates, the fields its REST request would not
    # carry ("gap enableOptions/HDvideo", one per line): element names, never values, so that the
    # report's migration plan says what of each application's data would not survive.
    Migration(4, "messages.url, flow_id: where a HAR entry or flow was recorded; messages.not_carried", (
        "ALTER TABLE messages ADD COLUMN url TEXT",
        "ALTER TABLE messages ADD COLUMN flow_id TEXT",
        "ALTER TABLE messages ADD COLUMN not_carried TEXT",
    )),
)

LATEST = MIGRATIONS[-1].version


def migrate(backend: Backend, steps: tuple[Migration, ...] = MIGRATIONS) -> int:
    """Bring the store up to the newest schema; returns the version it is at."""
    latest = steps[-1].version if steps else 0
    with backend.transaction(exclusive=True):
        backend.execute(backend.render(
            "CREATE TABLE IF NOT EXISTS schema_version "
            "(version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at {real} NOT NULL)"))
        current = backend.query("SELECT COALESCE(MAX(version), 0) FROM schema_version")[0][0]
        if current > latest:
            raise StoreError(f"{backend.display}: schema version {current} is newer than this "
                             f"webex-xml-lint knows ({latest}); upgrade webex-xml-lint")
        for step in steps:
            if step.version <= current:
                continue
            for statement in step.statements:
                backend.execute(backend.render(statement))
            backend.execute("INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)",
                            (step.version, step.description, time.time()))
    return max(current, latest)
