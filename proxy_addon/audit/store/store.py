"""The inventory: every message seen and every finding, in SQLite or PostgreSQL.

Writes are upserts on the message's natural key, and a message's findings are replaced as a
whole, so reading the same capture twice (or a proxy retrying) never counts anything twice; the
latest lint of a message wins. Every text field is masked with the shared redaction first.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import quote

from proxy_addon.audit.store.backends import (
    Backend,
    PostgresBackend,
    StoreError,
    open_backend,
    sqlite_path,
)
from proxy_addon.audit.store.clients import Identity, resolve_clients
from proxy_addon.audit.store.records import MessageRecord, StoredFinding, as_stored
from proxy_addon.audit.store.schema import LATEST, migrate
from proxy_addon.core.findings import Finding
from proxy_addon.core.redaction import redact
from proxy_addon.core.text import encodable
from proxy_addon.exchange.knowledge import API_VERSION, SITE_TYPE, Fact, version_text

logger = logging.getLogger(__name__)
SEVERITIES = ("error", "warning", "info")
SEVERITY_RANK = {"error": 3, "warning": 2, "info": 1}
# A client is who sent the message: the address, the program and the user it acts for (parts an
# input did not record match any value: see clients.py).
_CLIENT = "m.client_address, m.user_agent, m.webex_id"
# A stored time every writer can show as a UTC date (years 1 to 9999); any other (1e308, inf, a
# store written by something else) is left out of first and last seen, and named by unusable_rows().
_FIRST_SECOND, _LAST_SECOND = -62135596800, 253402300799
_TIME = f"CASE WHEN m.time BETWEEN {_FIRST_SECOND} AND {_LAST_SECOND} THEN m.time END"
_RANK = "CASE f.severity WHEN 'error' THEN 3 WHEN 'warning' THEN 2 ELSE 1 END"
_SEVERITY_OF_RANK = {rank: name for name, rank in SEVERITY_RANK.items()}
_MESSAGE_COLUMNS = ("key", "content_hash", "source", "locator", "direction", "operation", "site", "site_id",
                    "webex_id", "client_address", "user_agent", "time", "day", "size", "result", "exception_id",
                    "auth", "url", "flow_id", "not_carried")
_UPSERT_MESSAGE = (
    f"INSERT INTO messages ({', '.join(_MESSAGE_COLUMNS)}) VALUES ({', '.join('?' * len(_MESSAGE_COLUMNS))}) "
    "ON CONFLICT (key) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _MESSAGE_COLUMNS if c != "key")
)
_INSERT_FINDING = ("INSERT INTO findings (message_key, ordinal, rule, severity, element, message, line, col, predicts, "
                   "notes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


@dataclass
class Breakdown:
    """Finding counts for one value of a dimension (a rule, a site, an operation, a day)."""

    key: str | None
    counts: dict[str, int]
    messages: int = 0

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class ChecklistItem:
    rule: str
    severity: str
    findings: int
    messages: int
    sites: int
    clients: int
    predicts: str | None

    @property
    def impact(self) -> tuple[int, int, int]:
        """Order of the migration checklist: severity first, then how many clients, then messages."""
        return (SEVERITY_RANK.get(self.severity, 0), self.clients, self.messages)


class Store:
    """Open with `open_store(url)`; `record(...)` one message, query for the report and inventory."""

    def __init__(self, backend: Backend, read_only: bool = False):
        self.backend = backend
        self.url = backend.display
        self.schema_version = self._guard(_readable_version if read_only else migrate, backend)
        # One line per open: the live proxy opens its store in one process only, and a test counts it.
        logger.info("opened the audit store %s (schema version %d, process %d)", self.url, self.schema_version,
                    os.getpid())

    # -- writing ----------------------------------------------------------------------------------

    def record(self, message: MessageRecord, findings: Iterable[Finding | StoredFinding]) -> None:
        """Add or update one message and replace its findings (one transaction)."""
        self.record_many([(message, findings)])

    def record_many(self, items: Sequence[tuple[MessageRecord, Iterable[Finding | StoredFinding]]]) -> int:
        """Record a batch in one transaction; returns how many messages."""
        return self.write(prepare(items))

    def write(self, batch: PreparedBatch) -> int:
        """Write a batch made by `prepare` (which may run in another process)."""
        if not batch.messages:
            return 0

        def write() -> None:
            with self.backend.transaction():
                self.backend.executemany(_UPSERT_MESSAGE, batch.messages)
                self.backend.executemany("DELETE FROM findings WHERE message_key = ?", [(row[0],) for row in batch.messages])
                if batch.findings:
                    self.backend.executemany(_INSERT_FINDING, batch.findings)

        self._guard(write)
        return len(batch.messages)

    def record_input_error(self, source: str, problem: str, locator: str = "") -> None:
        """Remember an input that could not be read, for the report."""
        self._guard(self._write, "INSERT INTO input_errors (source, locator, problem, seen) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (source, locator, problem) DO UPDATE SET seen = excluded.seen",
                    (_text(source), _text(locator), _text(problem), time.time()))

    def record_sites(self, ci_sites: Iterable[str], learned_from: str) -> None:
        """Remember sites known to be CI (from --ci-site, or learned by the proxy)."""
        for site in ci_sites:
            self.record_site_type(site, "ci", learned_from)

    def record_site_type(self, site: str, site_type: str, learned_from: str) -> None:
        """A site's type (ci, sso, non-sso) and where it was learned; `ci` follows it."""
        self._guard(self._write, "INSERT INTO sites (site, ci, learned_from, site_type) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (site) DO UPDATE SET ci = excluded.ci, learned_from = excluded.learned_from, "
                    "site_type = excluded.site_type",
                    (_text(site), int(site_type == "ci"), _text(learned_from), site_type))

    def record_api_version(self, site: str, api_version: str, learned_from: str) -> None:
        """A site's API version as traffic taught it; what is known of its type is kept."""
        self._guard(self._write, "INSERT INTO sites (site, ci, api_version, version_learned_from) VALUES (?, 0, ?, ?) "
                    "ON CONFLICT (site) DO UPDATE SET api_version = excluded.api_version, "
                    "version_learned_from = excluded.version_learned_from",
                    (_text(site), _text(api_version), _text(learned_from)))

    def record_learned(self, fact: Fact) -> None:
        """A site fact the exchange linter learned (tickets and shared recordings are never stored)."""
        if fact.kind == SITE_TYPE:
            self.record_site_type(fact.site, str(fact.value), fact.provenance)
        elif fact.kind == API_VERSION:
            self.record_api_version(fact.site, version_text(fact.value), fact.provenance)

    def _write(self, sql: str, params: Sequence[Any]) -> None:
        with self.backend.transaction():
            self.backend.execute(sql, params)

    def _write_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self.backend.transaction():
            self.backend.executemany(sql, rows)

    # -- reading ----------------------------------------------------------------------------------

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._guard(self.backend.query, sql, params)

    def clients(self) -> dict[Identity, Identity]:
        """Every client identity stored -> the client it belongs to (see clients.py)."""
        return resolve_clients(self._query(f"SELECT DISTINCT {_CLIENT} FROM messages m"))

    def _count_clients(self, identities: Iterable[Sequence[Any]], clients: dict[Identity, Identity]) -> int:
        return len({clients[tuple(identity)] for identity in identities})

    def summary(self) -> dict[str, Any]:
        (messages, requests, responses, first, last, sites, size), = self._query(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN direction = 'request' THEN 1 ELSE 0 END), 0), "
            f"COALESCE(SUM(CASE WHEN direction = 'response' THEN 1 ELSE 0 END), 0), MIN({_TIME}), MAX({_TIME}), "
            "COUNT(DISTINCT site), COALESCE(SUM(size), 0) FROM messages m")
        clients = self._count_clients(
            self._query(f"SELECT DISTINCT {_CLIENT} FROM messages m WHERE direction = 'request'"), self.clients())
        (findings, flagged), = self._query("SELECT COUNT(*), COUNT(DISTINCT message_key) FROM findings")
        by_severity = dict(self._query("SELECT severity, COUNT(*) FROM findings GROUP BY severity"))
        (errors,), = self._query("SELECT COUNT(*) FROM input_errors")
        return {"messages": messages, "requests": requests, "responses": responses, "first_seen": first,
                "last_seen": last, "sites": sites, "clients": clients, "bytes": size, "findings": findings,
                "messages_with_findings": flagged, "by_severity": {s: by_severity.get(s, 0) for s in SEVERITIES},
                "input_errors": errors, "schema_version": self.schema_version}

    def breakdown(self, dimension: str) -> list[Breakdown]:
        """Findings by rule, site, operation or day, split by severity, largest first (days in order,
        then the findings of messages without a time under the key None)."""
        column = {"rule": "f.rule", "site": "m.site", "operation": "m.operation", "day": "m.day"}[dimension]
        rows = self._query(
            f"SELECT {column}, f.severity, COUNT(*), COUNT(DISTINCT f.message_key) FROM findings f "
            f"JOIN messages m ON m.key = f.message_key GROUP BY {column}, f.severity")
        grouped: dict[str | None, Breakdown] = {}
        for key, severity, count, messages in rows:
            item = grouped.setdefault(key, Breakdown(key, dict.fromkeys(SEVERITIES, 0)))
            item.counts[severity] = item.counts.get(severity, 0) + count
            item.messages += messages  # an upper bound across severities, exact per severity
        if dimension == "day":
            return sorted(grouped.values(), key=lambda b: (b.key is None, b.key or ""))
        return sorted(grouped.values(), key=lambda b: (-b.total, b.key or ""))

    def deprecated_site_id_clients(self) -> list[dict[str, Any]]:
        """Clients still identifying their site by siteID (WX101), busiest first."""
        rows = self._query(
            "SELECT m.client_address, m.user_agent, m.webex_id, m.site, m.site_id, COUNT(DISTINCT m.key), "
            f"MIN({_TIME}), MAX({_TIME}) FROM findings f JOIN messages m ON m.key = f.message_key "
            "WHERE f.rule = 'WX101' GROUP BY m.client_address, m.user_agent, m.webex_id, m.site, m.site_id")
        clients = self.clients()
        names = ("client_address", "user_agent", "webex_id", "site", "site_id", "messages", "first_seen", "last_seen")
        merged: dict[tuple, dict[str, Any]] = {}
        for address, agent, webex_id, site, site_id, messages, first, last in rows:
            client = clients[(address, agent, webex_id)]
            row = merged.setdefault((*client, site, site_id), dict(zip(names, (*client, site, site_id, 0, first, last),
                                                                        strict=True)))
            row["messages"] += messages
            row["first_seen"] = min((t for t in (row["first_seen"], first) if t is not None), default=None)
            row["last_seen"] = max((t for t in (row["last_seen"], last) if t is not None), default=None)
        return sorted(merged.values(), key=lambda row: (-row["messages"], row["site_id"] or ""))

    def unnamed_site_ids(self) -> set[str]:
        """Sites known only by the siteID their messages sent (no siteName, no --site-id mapping)."""
        return {site for (site,) in self._query(
            "SELECT DISTINCT site FROM messages WHERE site IS NOT NULL AND site = site_id")}

    def ci_sites(self) -> dict[str, str | None]:
        """Sites known to be CI -> how that is known ("--ci-site", or the answer it was learned from)."""
        return dict(self._query("SELECT site, learned_from FROM sites WHERE ci = 1 ORDER BY site"))

    def learned_sites(self) -> list[dict[str, Any]]:
        """Every site whose type or API version is known, with where each was learned."""
        rows = self._query("SELECT site, ci, site_type, learned_from, api_version, version_learned_from "
                           "FROM sites ORDER BY site")
        return [{"site": site, "site_type": site_type or ("ci" if ci else None), "type_learned_from": learned_from,
                 "api_version": api_version, "version_learned_from": version_from}
                for site, ci, site_type, learned_from, api_version, version_from in rows]

    def ci_ignored_fields(self) -> dict[str, list[dict[str, Any]]]:
        """CI sites -> the SetUser fields (WX201) their integrations still send. Known CI sites
        without any such finding are listed with an empty list."""
        sites: dict[str, list[dict[str, Any]]] = {
            site: [] for (site,) in self._query("SELECT site FROM sites WHERE ci = 1 ORDER BY site")}
        rows = self._query(
            "SELECT m.site, f.element, COUNT(DISTINCT m.key) FROM findings f "
            "JOIN messages m ON m.key = f.message_key WHERE f.rule = 'WX201' "
            "GROUP BY m.site, f.element ORDER BY m.site, COUNT(DISTINCT m.key) DESC, f.element")
        identities: dict[tuple, list] = {}
        for site, element, *identity in self._query(
                f"SELECT DISTINCT m.site, f.element, {_CLIENT} FROM findings f "
                "JOIN messages m ON m.key = f.message_key WHERE f.rule = 'WX201'"):
            identities.setdefault((site, element), []).append(identity)
        clients = self.clients()
        for site, element, messages in rows:
            sites.setdefault(site or "(unknown site)", []).append(
                {"field": element, "messages": messages,
                 "clients": self._count_clients(identities[(site, element)], clients)})
        return sites

    def operation_usage(self) -> list[dict[str, Any]]:
        """Requests per client (address, user agent, webExID) and operation, with first and last seen."""
        rows = self._query(
            f"SELECT m.client_address, m.user_agent, m.webex_id, m.operation, COUNT(*), MIN({_TIME}), MAX({_TIME}) "
            "FROM messages m WHERE m.direction = 'request' "
            "GROUP BY m.client_address, m.user_agent, m.webex_id, m.operation")
        names = ("client_address", "user_agent", "webex_id", "operation", "requests", "first_seen", "last_seen")
        return [dict(zip(names, row, strict=True)) for row in rows]

    def not_carried(self) -> list[dict[str, Any]]:
        """Requests per client, operation and field its REST replacement would not carry."""
        rows = self._query(
            f"SELECT {_CLIENT}, m.operation, m.not_carried, COUNT(*) FROM messages m "
            f"WHERE m.direction = 'request' AND m.not_carried IS NOT NULL GROUP BY {_CLIENT}, m.operation, m.not_carried")
        found = []
        for address, agent, webex_id, operation, fields, count in rows:
            for line in fields.splitlines():
                kind, _, name = line.partition(" ")
                found.append({"client_address": address, "user_agent": agent, "webex_id": webex_id,
                              "operation": operation, "kind": kind, "field": name, "requests": count})
        return found

    def client_credentials(self) -> list[dict[str, Any]]:
        """Requests per client and kind of credential (password, accessToken, ...): counts, never values."""
        rows = self._query(
            "SELECT m.client_address, m.user_agent, m.webex_id, COALESCE(m.auth, 'unknown'), COUNT(*) "
            "FROM messages m WHERE m.direction = 'request' "
            "GROUP BY m.client_address, m.user_agent, m.webex_id, COALESCE(m.auth, 'unknown')")
        names = ("client_address", "user_agent", "webex_id", "auth", "requests")
        return [dict(zip(names, row, strict=True)) for row in rows]

    def inputs(self) -> list[dict[str, Any]]:
        """Every input the store's messages came from (a capture file, a folder's .xml file, the
        proxy): its messages, requests and the time they span."""
        rows = self._query(
            "SELECT m.source, COUNT(*), COALESCE(SUM(CASE WHEN m.direction = 'request' THEN 1 ELSE 0 END), 0), "
            f"MIN({_TIME}), MAX({_TIME}) FROM messages m GROUP BY m.source ORDER BY m.source")
        names = ("source", "messages", "requests", "first_seen", "last_seen")
        return [dict(zip(names, row, strict=True)) for row in rows]

    def finding_counts(self) -> list[dict[str, Any]]:
        """Findings and messages per rule and client identity, with the most severe severity: what
        the plan's "rules to fix first" and the links from its numbers count."""
        rows = self._query(
            f"SELECT f.rule, {_CLIENT}, MAX({_RANK}), COUNT(*), COUNT(DISTINCT f.message_key) "
            f"FROM findings f JOIN messages m ON m.key = f.message_key GROUP BY f.rule, {_CLIENT}")
        return [{"rule": rule, "client_address": address, "user_agent": agent, "webex_id": webex_id,
                 "severity": _SEVERITY_OF_RANK[rank], "findings": findings, "messages": messages}
                for rule, address, agent, webex_id, rank, findings, messages in rows]

    def finding_locations(self, per_client: int = 50) -> list[dict[str, Any]]:
        """Finding occurrences with where each came from: the input, the place in it (a HAR entry
        and its URL, a flow and its id), the line and column in the message. At most `per_client`
        per rule and client address and user agent (the first seen), so a report stays readable
        whatever the store holds; finding_counts() has the totals."""
        rows = self._query(
            "SELECT rule, severity, client_address, user_agent, webex_id, operation, direction, source, locator, "
            "url, flow_id, line, col, time FROM ("
            "SELECT f.rule, f.severity, m.client_address, m.user_agent, m.webex_id, m.operation, m.direction, "
            f"m.source, m.locator, m.url, m.flow_id, f.line, f.col, {_TIME} AS time, ROW_NUMBER() OVER ("
            "PARTITION BY f.rule, m.client_address, m.user_agent "
            f"ORDER BY {_TIME}, m.source, m.locator, m.direction, f.ordinal) AS n "
            "FROM findings f JOIN messages m ON m.key = f.message_key) numbered "
            "WHERE n <= ? ORDER BY rule, client_address, user_agent, n", (per_client,))
        names = ("rule", "severity", "client_address", "user_agent", "webex_id", "operation", "direction", "source",
                 "locator", "url", "flow_id", "line", "column", "time")
        return [dict(zip(names, row, strict=True)) for row in rows]

    def checklist(self) -> list[ChecklistItem]:
        rows = self._query(
            f"SELECT f.rule, MAX({_RANK}), COUNT(*), COUNT(DISTINCT f.message_key), COUNT(DISTINCT m.site), "
            "MIN(f.predicts) FROM findings f JOIN messages m ON m.key = f.message_key GROUP BY f.rule")
        identities: dict[str, list] = {}
        for rule, *identity in self._query(
                f"SELECT DISTINCT f.rule, {_CLIENT} FROM findings f JOIN messages m ON m.key = f.message_key"):
            identities.setdefault(rule, []).append(identity)
        clients = self.clients()
        items = [ChecklistItem(rule, _SEVERITY_OF_RANK[rank], findings, messages, sites,
                               self._count_clients(identities[rule], clients), predicts)
                 for rule, rank, findings, messages, sites, predicts in rows]
        return sorted(items, key=lambda item: (tuple(-x for x in item.impact), item.rule))

    def unusable_rows(self) -> list[dict[str, Any]]:
        """Stored messages whose day is not a date or whose time is not one (years 1 to 9999): the
        report leaves them out of its timeline and first/last seen, and names them."""
        problems = []
        for (day,) in self._query("SELECT DISTINCT day FROM messages WHERE day IS NOT NULL"):
            if not _is_date(day):
                for (key,) in self._query("SELECT key FROM messages WHERE day = ? ORDER BY key LIMIT 10", (day,)):
                    problems.append({"key": _key_text(key), "problem": f"stored day {_cut(day)} is not a date"})
        for key, moment in self._query(
                f"SELECT key, time FROM messages m WHERE m.time IS NOT NULL AND NOT (m.time BETWEEN {_FIRST_SECOND} "
                f"AND {_LAST_SECOND}) ORDER BY key LIMIT 100"):
            problems.append({"key": _key_text(key), "problem": f"stored time {_cut(moment)} is not a time"})
        return problems

    def input_errors(self) -> list[dict[str, Any]]:
        rows = self._query("SELECT source, locator, problem, seen FROM input_errors ORDER BY source, locator")
        return [dict(zip(("source", "locator", "problem", "seen"), row, strict=True)) for row in rows]

    def size_bytes(self) -> int | None:
        return self._guard(self.backend.size_bytes)

    def close(self) -> None:
        self.backend.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _guard(self, function, *args):
        """Run a database call; database errors become StoreError naming the store."""
        try:
            return function(*args)
        except StoreError:
            raise
        except sqlite3.Error as error:
            raise StoreError(f"{self.url}: {error}") from None
        except Exception as error:
            if type(error).__module__.startswith("psycopg"):
                raise StoreError(f"{self.url}: {redact(str(error)).strip()}") from None
            raise


@dataclass
class PreparedBatch:
    """Rows ready to write: keyed, redacted, plain tuples (cheap to send between processes)."""

    messages: list[tuple[Any, ...]]
    findings: list[tuple[Any, ...]]


def prepare(items: Iterable[tuple[MessageRecord, Iterable[Finding | StoredFinding]]]) -> PreparedBatch:
    """Turn records into rows: the natural key, every text field redacted with the message's secrets.

    The same message twice in a batch is written once (the last wins)."""
    latest: dict[bytes, tuple[MessageRecord, Iterable[Finding | StoredFinding]]] = {}
    for message, findings in items:
        latest[message.key] = (message, findings)
    days: dict[int, str] = {}
    messages, finding_rows = [], []
    for key, (message, findings) in latest.items():
        messages.append(_message_row(key, message, days))
        finding_rows.extend(_finding_row(key, ordinal, as_stored(finding, message.elements), message.secrets)
                            for ordinal, finding in enumerate(findings))
    return PreparedBatch(messages, finding_rows)


def _message_row(key: bytes, message: MessageRecord, days: dict[int, str]) -> tuple[Any, ...]:
    secrets = message.secrets

    def clean(value: str | None) -> str | None:
        return _text(value, secrets) if value else value

    day = None
    if message.time is not None:  # formatting dates is slow; a capture spans few days
        number = int(message.time // 86400)
        day = days.get(number) or days.setdefault(number, message.day)
    return (key, message.content_hash, clean(message.source), clean(message.locator), message.direction,
            clean(message.operation), clean(message.site), clean(message.site_id), clean(message.webex_id),
            clean(message.client_address), clean(message.user_agent), message.time, day, message.size,
            clean(message.result), clean(message.exception_id), message.auth, clean(message.url),
            clean(message.flow_id), clean("\n".join(message.not_carried)) if message.not_carried else None)


def _finding_row(key: bytes, ordinal: int, finding: StoredFinding, secrets: frozenset[str]) -> tuple[Any, ...]:
    return (key, ordinal, finding.rule, str(finding.severity), finding.element,
            _text(finding.message, secrets), finding.line, finding.column, finding.predicts,
            _text("\n".join(finding.notes), secrets) if finding.notes else None)


def _text(value: str, secrets: frozenset[str] = frozenset()) -> str:
    """A text field as stored: credentials masked, and encodable as UTF-8 (a file name's undecodable
    byte or a HAR's lone surrogate is kept as an escape; raw, it failed the whole batch's write)."""
    return encodable(redact(value, secrets))


def open_store(url: str, read_only: bool = False) -> Store:
    """Open (creating and migrating as needed) the store at `url`: a SQLite file name, `sqlite:///path`,
    or `postgresql://user:password@host:port/database`. `read_only` (report, inventory): a SQLite
    file is opened without writing anything, so a store on a read-only file system can be read."""
    backend = open_backend(url, read_only)
    try:
        return Store(backend, read_only)
    except BaseException:
        backend.close()
        raise


def check_store(url: str) -> None:
    """Check that `url` names a store `open_store` can use, without creating or migrating it.

    For processes that pass the URL on to the one that writes the store (the live proxy's lint
    worker): a bad URL, an unreachable server or a store newer than this version is an error now.
    """
    if url.startswith(("postgresql://", "postgres://")):
        backend = PostgresBackend(url)
        try:
            exists = backend.query("SELECT to_regclass('schema_version') IS NOT NULL")[0][0]
            _check_version(backend, exists)
        finally:
            backend.close()
        return
    path = sqlite_path(url)
    if not os.path.exists(path):
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
            raise StoreError(f"{path}: cannot create the SQLite store: folder {folder} is missing or not writable")
        return
    try:
        connection = sqlite3.connect(f"file:{quote(os.path.abspath(path))}?mode=ro", uri=True, timeout=30)
        try:
            exists = connection.execute(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").fetchone()[0]
            current = connection.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()[0] if exists else 0
        finally:
            connection.close()
    except sqlite3.Error as error:
        raise StoreError(f"{path}: cannot open the SQLite store: {error}") from None
    _newer_than_known(path, current)


def _readable_version(backend: Backend) -> int:
    """The schema version of a store opened read-only: it cannot be migrated, so it must be current."""
    if backend.name == "sqlite":
        exists = bool(backend.query("SELECT COUNT(*) FROM sqlite_master WHERE name = 'schema_version'")[0][0])
        current = backend.query("SELECT COALESCE(MAX(version), 0) FROM schema_version")[0][0] if exists else 0
        _newer_than_known(backend.display, current)
        if current < LATEST:
            raise StoreError(f"{backend.display}: schema version {current} is older than this webex-xml-lint's "
                             f"({LATEST}) and the store is opened read-only; open it once with `audit --db` where "
                             "it can be written, to upgrade it")
        return current
    return migrate(backend)


def _check_version(backend: Backend, exists: bool) -> None:
    current = backend.query("SELECT COALESCE(MAX(version), 0) FROM schema_version")[0][0] if exists else 0
    _newer_than_known(backend.display, current)


def _newer_than_known(display: str, current: int) -> None:
    if current > LATEST:
        raise StoreError(f"{display}: schema version {current} is newer than this webex-xml-lint knows ({LATEST}); "
                         "upgrade webex-xml-lint")


def _is_date(day: Any) -> bool:
    try:
        date.fromisoformat(day)
    except (TypeError, ValueError):
        return False
    return len(day) == 10


def _key_text(key: Any) -> str:
    return bytes(key).hex()[:16] if isinstance(key, bytes | bytearray | memoryview) else _cut(key)


def _cut(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 40 else shown[:40] + "…"
