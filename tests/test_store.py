"""The audit store on SQLite and on a real PostgreSQL server: migrations, idempotence, queries,
redaction, and clear errors."""

from __future__ import annotations

import sqlite3

import pytest

from proxy_addon.audit.store import MessageRecord, StoredFinding, StoreError, open_store
from proxy_addon.audit.store.backends import open_backend
from proxy_addon.audit.store.schema import MIGRATIONS, Migration, migrate
from proxy_addon.lint.context import LintContext

from .audit_support import PASSWORD, TICKET, postgres_url, set_user  # noqa: F401 (fixture)
from .builders import request_xml

CI = LintContext(ci_sites=frozenset({"acme"}))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request, tmp_path):
    if request.param == "sqlite":
        return str(tmp_path / "audit.sqlite")
    return request.getfixturevalue("postgres_url")


def record_of(linter, data, *, source="capture.har", locator="entry 0", context=CI, **extra):
    result = linter.lint(data, path=source, context=context)
    return MessageRecord.from_result(result, data, source=source, locator=locator, **extra), result.findings


def test_a_new_store_is_migrated_to_the_latest_schema(store_url):
    with open_store(store_url) as store:
        assert store.schema_version == MIGRATIONS[-1].version
        rows = store.backend.query("SELECT version, description FROM schema_version")
    assert rows == [(m.version, m.description) for m in MIGRATIONS]
    with open_store(store_url) as again:  # reopening applies nothing twice
        assert again.backend.query("SELECT COUNT(*) FROM schema_version") == [(len(MIGRATIONS),)]


def test_only_missing_migration_steps_run_in_order(store_url):
    backend = open_backend(store_url)
    try:
        latest = MIGRATIONS[-1].version
        assert migrate(backend) == latest
        extra = Migration(latest + 1, "a later column", ("ALTER TABLE messages ADD COLUMN note TEXT",))
        assert migrate(backend, (*MIGRATIONS, extra)) == latest + 1
        assert migrate(backend, (*MIGRATIONS, extra)) == latest + 1
        versions = backend.query("SELECT version FROM schema_version ORDER BY version")
        assert versions == [(step.version,) for step in (*MIGRATIONS, extra)]
        backend.execute("UPDATE messages SET note = 'x' WHERE 1 = 0")  # the column exists
    finally:
        backend.close()


def test_a_store_from_a_newer_version_is_refused(store_url):
    backend = open_backend(store_url)
    try:
        migrate(backend, (*MIGRATIONS, Migration(99, "from the future", ())))
    finally:
        backend.close()
    with pytest.raises(StoreError, match=rf"schema version 99 is newer than this webex-xml-lint knows \({MIGRATIONS[-1].version}\)"):
        open_store(store_url)


def test_recording_the_same_message_twice_counts_it_once(linter, store_url):
    record, findings = record_of(linter, set_user("acme", site_id="123"), client_address="10.0.0.1")
    with open_store(store_url) as store:
        store.record(record, findings)
        first = store.summary()
        store.record(record, findings)
        assert store.record_many([(record, findings)] * 3) == 1
        again = store.summary()
    assert first["messages"] == again["messages"] == 1
    assert first["findings"] == again["findings"] == len(findings) >= 1


def test_the_same_message_seen_at_another_place_counts_again(linter, store_url):
    with open_store(store_url) as store:
        store.record(*record_of(linter, set_user(), locator="entry 0"))
        store.record(*record_of(linter, set_user(), locator="entry 1"))
        store.record(*record_of(linter, set_user(), source="other.har", locator="entry 0"))
        assert store.summary()["messages"] == 3


def test_relinting_replaces_a_messages_findings(linter, store_url):
    data = set_user("acme")
    with open_store(store_url) as store:
        store.record(*record_of(linter, data, context=CI))
        assert {row.key for row in store.breakdown("rule")} == {"WX201"}
        store.record(*record_of(linter, data, context=LintContext()))  # not a CI site after all
        assert store.breakdown("rule") == [] and store.summary()["messages"] == 1


def test_queries_group_by_rule_site_operation_day_and_client(linter, store_url):
    with open_store(store_url) as store:
        store.record_sites(["acme", "quiet"], "--ci-site")
        for i, (site_id, client) in enumerate([("123", "10.0.0.1"), ("123", "10.0.0.1"), ("456", "10.0.0.2")]):
            store.record(*record_of(linter, set_user(site_id=site_id, webex_id="legacy"), locator=f"entry {i}",
                                    client_address=client, user_agent="CRM/1", time=1714550400.0 + 86400 * i))
        store.record(*record_of(linter, set_user("acme", fields="<email>a@acme.com</email><timeZone>x</timeZone>"),
                                locator="entry 9", client_address="10.0.0.3", time=1714550400.0))
        by_rule = {row.key: row for row in store.breakdown("rule")}
        assert by_rule["WX101"].counts["warning"] == 3 and by_rule["WX201"].counts["warning"] == 2
        assert {row.key for row in store.breakdown("operation")} == {"SetUser"}
        assert [row.key for row in store.breakdown("day")] == ["2024-05-01", "2024-05-02", "2024-05-03"]
        clients = store.deprecated_site_id_clients()
        assert [(c["client_address"], c["site_id"], c["messages"]) for c in clients] == [
            ("10.0.0.1", "123", 2), ("10.0.0.2", "456", 1)]
        assert clients[0]["first_seen"] == 1714550400.0 and clients[0]["last_seen"] == 1714550400.0 + 86400
        fields = store.ci_ignored_fields()
        assert fields == {"acme": [{"field": "email", "messages": 1, "clients": 1},
                                   {"field": "timeZone", "messages": 1, "clients": 1}], "quiet": []}
        checklist = store.checklist()
        assert [item.rule for item in checklist][:2] == ["WX101", "WX201"], "more clients first at equal severity"
        assert checklist[0].clients == 2 and checklist[0].messages == 3


def test_input_errors_are_kept_once(store_url):
    with open_store(store_url) as store:
        for _ in range(2):
            store.record_input_error("cut.har", "invalid JSON at line 3 column 1", "")
        assert [e["problem"] for e in store.input_errors()] == ["invalid JSON at line 3 column 1"]


def test_no_secret_reaches_the_store(linter, store_url, tmp_path):
    security = f"<siteName>acme</siteName><webExID>a@acme.com</webExID><password>{PASSWORD}</password>" \
               f"<sessionTicket>{TICKET}</sessionTicket>"
    data = request_xml("GetUser", "<webExId>jdoe</webExId>", security=security)
    record, findings = record_of(linter, data, user_agent=f"Tool/1 token={TICKET}")
    leaky = StoredFinding("WX999", "warning", f"quoted {PASSWORD} and {TICKET}", 1, 1)
    with open_store(store_url) as store:
        store.record(record, [*findings, leaky])
        store.record_input_error(f"dump password={PASSWORD}", f"bad <sessionTicket>{TICKET}</sessionTicket>")
        rows = [repr(row) for table in ("messages", "findings", "input_errors")
                for row in store.backend.query(f"SELECT * FROM {table}")]  # noqa: S608
    text = "\n".join(rows)
    assert "quoted *** and ***" in text
    assert PASSWORD not in text and TICKET not in text
    if not store_url.startswith("postgresql"):
        raw = b"".join(p.read_bytes() for p in tmp_path.glob("audit.sqlite*"))
        assert PASSWORD.encode() not in raw and TICKET.encode() not in raw


def test_the_content_hash_does_not_depend_on_the_password(linter):
    one, _ = record_of(linter, set_user())
    other, _ = record_of(linter, set_user().replace(PASSWORD.encode(), b"another-password"))
    assert one.content_hash == other.content_hash and one.key == other.key


@pytest.mark.parametrize("written", [b"p&amp;ss&lt;word", b"s3cr&#101;t-pw", b"pass\r\nword"])
def test_the_content_hash_does_not_depend_on_a_password_however_it_is_written(linter, written):
    one, _ = record_of(linter, set_user().replace(PASSWORD.encode(), written))
    other, _ = record_of(linter, set_user().replace(PASSWORD.encode(), b"another-password"))
    assert one.content_hash == other.content_hash


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path):
    bogus = tmp_path / "notes.sqlite"
    bogus.write_text("these are my notes, not a database " * 200)
    with pytest.raises(StoreError, match=rf"^{bogus}: .*not a database"):
        open_store(str(bogus))


def test_a_postgresql_url_that_cannot_connect_names_the_server_without_the_password():
    url = "postgresql://auditor:Sup3rS3cret@127.0.0.1:1/inventory"
    with pytest.raises(StoreError) as raised:
        open_store(url)
    message = str(raised.value)
    assert message.startswith("postgresql://auditor:***@127.0.0.1:1/inventory: cannot connect to PostgreSQL")
    assert "Sup3rS3cret" not in message


def test_sqlite_store_is_a_plain_sqlite_file(linter, tmp_path):
    path = tmp_path / "inventory.sqlite"
    with open_store(f"sqlite:///{path}") as store:
        store.record(*record_of(linter, set_user()))
    connection = sqlite3.connect(path)
    assert connection.execute("SELECT operation, site, webex_id FROM messages").fetchall() == [
        ("SetUser", "acme", "admin@acme.com")]
