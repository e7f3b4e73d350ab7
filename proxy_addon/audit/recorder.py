"""Feeding the audit store (proxy_addon.audit.store) from the live proxy, off the traffic path.

The proxy hands over each exchange record (exchange/record.py) as it is handed out: one background
thread builds the store's row for its latest message (content digest, element names) and writes
batches with `record_many`, one transaction per batch. A slow or failing database never delays or breaks traffic: when the
bounded queue is full, records are dropped and counted, and write errors are logged.
"""

from __future__ import annotations

import importlib
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from proxy_addon.core.redaction import mask_dsn, redact
from proxy_addon.exchange.record import ExchangeRecord, Outcome

logger = logging.getLogger(__name__)
QUEUE_LIMIT = 10_000
BATCH_LIMIT = 256
_STOP = object()


class StoreUnavailable(RuntimeError):
    """The store module is missing or refused the URL; the text says which."""


def _store_module() -> Any:
    try:
        return importlib.import_module("proxy_addon.audit.store")
    except ModuleNotFoundError as error:
        if error.name not in ("proxy_addon.audit.store", "proxy_addon"):
            raise
        raise StoreUnavailable("the audit store (proxy_addon.audit.store) is not part of this installation") from None


def open_audit_store(url: str) -> Any:
    module = _store_module()
    try:
        return module.open_store(url)
    except Exception as error:  # noqa: BLE001 (any failure to open is reported as a startup error)
        raise StoreUnavailable(f"cannot open the audit store {mask_dsn(url)}: {redact(str(error))}") from None


def check_audit_store(url: str) -> None:
    """Check the URL without creating or migrating the store: only the process that writes it opens it."""
    module = _store_module()
    try:
        module.check_store(url)
    except Exception as error:  # noqa: BLE001 (as open_audit_store: any failure is a startup error)
        raise StoreUnavailable(f"cannot open the audit store {mask_dsn(url)}: {redact(str(error))}") from None


class BackgroundRecorder:
    """Writes to the store on one worker thread; `close()` drains the queue, then closes the store."""

    def __init__(self, store: Any):
        self.store = store
        self.rows = _store_module().stored_rows
        self.dropped = 0
        self.failed = 0
        self._queue: queue.Queue = queue.Queue(maxsize=QUEUE_LIMIT)
        self._thread = threading.Thread(target=self._work, name="webexlint-audit-store", daemon=True)
        self._thread.start()

    def message(self, record: ExchangeRecord) -> None:
        if record.outcome is not Outcome.UNANSWERED:  # an unanswered request was recorded when it was linted
            self._submit(record)

    def ci_site(self, site: str, learned_from: str) -> None:
        self._submit(lambda store: store.record_sites([site], learned_from))

    def learned(self, fact: Any) -> None:
        """A site fact the proxy learned (its type or API version; exchange.knowledge.Fact)."""
        self._submit(lambda store: store.record_learned(fact))

    def _submit(self, job: ExchangeRecord | Callable[[Any], None]) -> None:
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            self.dropped += 1

    def _work(self) -> None:
        while True:
            jobs = [self._queue.get()]
            while len(jobs) < BATCH_LIMIT:
                try:
                    jobs.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stop = any(job is _STOP for job in jobs)
            self._write([job for job in jobs if job is not _STOP])
            if stop:
                return

    def _write(self, jobs: list) -> None:
        messages = [job for job in jobs if isinstance(job, ExchangeRecord)]
        if len(messages) > 1:
            try:
                self.store.record_many([self._item(linted) for linted in messages])
                messages = []
            except Exception:  # noqa: BLE001, S110 (one bad record must not cost the others: each alone below)
                pass
        for record in messages:
            self._attempt(lambda record=record: self.store.record_many([self._item(record)]),
                          f"flow {record.observed.locator}")
        for job in jobs:
            if not isinstance(job, ExchangeRecord):
                self._attempt(lambda job=job: job(self.store), "CI site")

    def _attempt(self, write: Callable[[], object], what: str) -> None:
        try:
            write()
        except Exception as error:  # noqa: BLE001 (the store must never take the proxy down)
            self.failed += 1
            logger.warning("webexlint: audit store write failed for %s (%d records lost so far): %s",
                           redact(what), self.failed, redact(str(error)))

    def _item(self, record: ExchangeRecord) -> tuple[Any, Any]:
        return self.rows(record)

    def close(self, timeout: float = 30.0) -> None:
        self._queue.put(_STOP)
        self._thread.join(timeout)
        self.store.close()
        if self.dropped:
            logger.warning("webexlint: %d audit records dropped (the store could not keep up)", self.dropped)
