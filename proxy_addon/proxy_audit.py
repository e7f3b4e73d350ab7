"""Feeding the audit store (proxy_addon.store, issue 5) from the live proxy, off the traffic path.

Contract with the store: `proxy_addon.store.open_store(url)` returns an object with
`record(message: dict)` and `close()`; `message` is one seen message (see `message_record`), already
redacted. Writes happen on one background thread through a bounded queue: a slow or failing
database never delays or breaks traffic (records are dropped and counted instead).
"""

from __future__ import annotations

import importlib
import logging
import queue
import threading
import time
from typing import Any

from .findings import Finding
from .redaction import redact

logger = logging.getLogger(__name__)
QUEUE_LIMIT = 10_000
_STOP = object()


class StoreUnavailable(RuntimeError):
    """The store module is missing or refused the URL; the text says which."""


def open_audit_store(url: str) -> Any:
    try:
        store_module = importlib.import_module("proxy_addon.store")
    except ModuleNotFoundError as error:
        if error.name not in ("proxy_addon.store", "proxy_addon"):
            raise
        raise StoreUnavailable("the audit store (proxy_addon.store) is not part of this installation") from None
    try:
        return store_module.open_store(url)
    except Exception as error:  # noqa: BLE001 (any failure to open is reported as a startup error)
        raise StoreUnavailable(f"cannot open the audit store {redact(url)}: {redact(str(error))}") from None


def message_record(*, flow_id: str, client: str | None, user_agent: str | None, site: str | None,
                   webex_id: str | None, operation: str | None, direction: str, result: str | None,
                   exception_id: str | None, findings: list[Finding], secrets: frozenset[str],
                   timestamp: float | None = None) -> dict[str, Any]:
    record = {
        "source": "proxy",
        "time": timestamp if timestamp is not None else time.time(),
        "flow_id": flow_id,
        "client": client,
        "user_agent": user_agent,
        "site": site,
        "webex_id": webex_id,
        "operation": operation,
        "direction": direction,
        "result": result,
        "exception_id": exception_id,
        "findings": [finding.as_dict() for finding in findings],
    }
    return redact(record, secrets)


class BackgroundRecorder:
    """Hands records to `store.record` on one worker thread; `close()` drains the queue first."""

    def __init__(self, store: Any):
        self.store = store
        self.dropped = 0
        self.failed = 0
        self._queue: queue.Queue = queue.Queue(maxsize=QUEUE_LIMIT)
        self._thread = threading.Thread(target=self._work, name="webexlint-audit-store", daemon=True)
        self._thread.start()

    def submit(self, record: dict[str, Any]) -> None:
        try:
            self._queue.put_nowait(record)
        except queue.Full:
            self.dropped += 1

    def _work(self) -> None:
        while True:
            record = self._queue.get()
            if record is _STOP:
                return
            try:
                self.store.record(record)
            except Exception as error:  # noqa: BLE001 (the store must never take the proxy down)
                self.failed += 1
                if self.failed == 1 or self.failed % 1000 == 0:
                    logger.warning("webexlint: audit store write failed (%d so far): %s", self.failed,
                                   redact(str(error)))

    def close(self, timeout: float = 10.0) -> None:
        self._queue.put(_STOP)
        self._thread.join(timeout)
        close = getattr(self.store, "close", None)
        if close is not None:
            close()
        if self.dropped:
            logger.warning("webexlint: %d audit records dropped (the store could not keep up)", self.dropped)
