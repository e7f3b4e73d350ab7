"""Lint captured exchanges and turn them into store records, in worker processes.

The parent reads the inputs and writes the store (one writer, so SQLite never waits on itself);
workers only lint. Chunks of exchanges go out, records with their findings come back, and at most
a few chunks are in flight at once, so memory stays flat however large the capture is.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from proxy_addon.audit.store import MessageRecord, PreparedBatch, Store, StoredFinding, as_stored, prepare
from proxy_addon.inputs import CaptureError, Exchange, input_files, read_file
from proxy_addon.lint.context import LintContext
from proxy_addon.lint.engine import default_linter

CHUNK_MESSAGES = 256
Recorded = tuple[MessageRecord, list[StoredFinding]]


@dataclass
class AuditStats:
    files: int = 0
    messages: int = 0
    findings: int = 0
    errors: list[CaptureError] = field(default_factory=list)


def lint_exchange(exchange: Exchange, context: LintContext) -> list[Recorded]:
    """Lint a request and then its response; the response takes the request's operation, site and
    user when it does not name them itself."""
    linter = default_linter()
    recorded: list[Recorded] = []
    request: MessageRecord | None = None
    for captured in exchange.messages:
        is_response = captured.direction == "response"
        result = linter.lint(
            captured.data, path=f"{captured.source}:{captured.locator}" if captured.locator else captured.source,
            http_charset=captured.http_charset, direction=captured.direction, context=context,
            operation_hint=request.operation if is_response and request else None)
        record = MessageRecord.from_result(
            result, captured.data, source=captured.source, locator=captured.locator, time=captured.time,
            client_address=captured.client_address, user_agent=captured.user_agent,
            site=request.site if request else None, webex_id=request.webex_id if request else None)
        if record.direction == "request":
            request = record
        recorded.append((record, [as_stored(f, record.elements) for f in result.findings]))
    return recorded


def _lint_chunk(chunk: list[Exchange], context: LintContext) -> PreparedBatch:
    """Lint a chunk and prepare its rows (redaction included), so the writer only writes."""
    return prepare(item for exchange in chunk for item in lint_exchange(exchange, context))


_WORKER_CONTEXT: LintContext | None = None


def _worker_init(context: LintContext) -> None:
    global _WORKER_CONTEXT
    _WORKER_CONTEXT = context
    default_linter()  # load the rule packs once per worker, not per chunk


def _worker_lint(chunk: list[Exchange]) -> PreparedBatch:
    return _lint_chunk(chunk, _WORKER_CONTEXT)


def _chunks(items: Iterable[Exchange | CaptureError], on_error: Callable[[CaptureError], None]
            ) -> Iterator[tuple[list[Exchange], int]]:
    """Exchanges in chunks of about CHUNK_MESSAGES messages, with the input bytes they cover."""
    chunk: list[Exchange] = []
    size = weight = 0
    for item in items:
        if isinstance(item, CaptureError):
            on_error(item)
            continue
        chunk.append(item)
        size += len(item.messages)
        weight += item.weight
        if size >= CHUNK_MESSAGES:
            yield chunk, weight
            chunk, size, weight = [], 0, 0
    if chunk:
        yield chunk, weight


def run_audit(paths: list[str], store: Store, context: LintContext, *, jobs: int = 1,
              on_error: Callable[[CaptureError], None] = lambda error: None,
              on_progress: Callable[[int, int], None] = lambda done_bytes, messages: None,
              on_start: Callable[[int], None] = lambda total_bytes: None) -> AuditStats:
    """Read, lint and record everything under `paths`. Errors are recorded and reported, never fatal.

    `on_start(total_bytes)` is called once the worker processes exist, so a progress display that
    starts a thread there is never forked.
    """
    stats = AuditStats()

    def error(item: CaptureError) -> None:
        stats.errors.append(item)
        store.record_input_error(item.source, item.problem, item.locator)
        on_error(item)

    def write(batch: PreparedBatch, weight: int) -> None:
        stats.messages += store.write(batch)
        stats.findings += len(batch.findings)
        on_progress(weight, len(batch.messages))

    files: list[Path] = []
    for item in input_files(paths):
        if isinstance(item, CaptureError):
            error(item)
        else:
            files.append(item)
    stats.files = len(files)
    chunks = _chunks((item for path in files for item in read_file(path)), error)
    if jobs <= 1:
        on_start(sum(_size(f) for f in files))
        for chunk, weight in chunks:
            write(_lint_chunk(chunk, context), weight)
        return stats
    default_linter()  # loaded before forking, so the workers inherit it
    with multiprocessing.get_context("fork").Pool(jobs, _worker_init, (context,)) as pool:
        on_start(sum(_size(f) for f in files))
        pending: deque = deque()
        for chunk, weight in chunks:
            pending.append((pool.apply_async(_worker_lint, (chunk,)), weight))
            if len(pending) >= 2 * jobs:
                done, done_weight = pending.popleft()
                write(done.get(), done_weight)
        while pending:
            done, done_weight = pending.popleft()
            write(done.get(), done_weight)
    return stats


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
