"""Replay captured exchanges through the exchange linter, in capture order, and store the records.

The parent reads the inputs and writes the store (one writer, so SQLite never waits on itself);
workers only lint. Chunks of exchanges go out, records with their findings come back, and at most
a few chunks are in flight at once, so memory stays flat however large the capture is.

Learning: the parent scouts every answer as it reads (proxy_addon.exchange.timeline) and sends each
chunk the facts learned before it; the worker's exchange linter starts from them and learns the rest
in order, so --jobs N gives the findings one process gives. Learned site types and API versions go
to the store.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from proxy_addon.audit.store import MessageRecord, PreparedBatch, Store, StoredFinding, as_stored, prepare
from proxy_addon.exchange.knowledge import Fact, SiteKnowledge
from proxy_addon.exchange.linter import ExchangeLinter
from proxy_addon.exchange.timeline import AnswerScout
from proxy_addon.inputs import CaptureError, Exchange, Walk, input_files, read_file
from proxy_addon.inputs.walk import PerFileIgnores
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
    learned: list[Fact] = field(default_factory=list)  # what the capture's answers taught, in order


@dataclass
class Chunk:
    exchanges: list[Exchange]
    weight: int  # the input bytes the exchanges cover
    known: list[Fact]  # what the exchanges before the chunk taught


def lint_exchanges(exchanges: ExchangeLinter, chunk: list[Exchange],
                   ignores: PerFileIgnores | None = None) -> PreparedBatch:
    """Lint a chunk in order and prepare its rows (redaction included), so the writer only writes."""
    recorded: list[Recorded] = []
    for exchange in chunk:
        for linted in exchanges.lint_exchange(exchange):
            ignored = ignores.rules_for(linted.observed.source) if ignores else ()
            if ignored:  # per-file-ignores, as check applies them
                linted.findings[:] = [f for f in linted.findings if not f.rule.startswith(ignored)]
            record = MessageRecord.from_linted(linted)
            recorded.append((record, [as_stored(f, record.elements) for f in linted.findings]))
    return prepare(recorded)


_WORKER_CONTEXT: LintContext | None = None
_WORKER_IGNORES: PerFileIgnores | None = None


def _worker_init(context: LintContext, ignores: PerFileIgnores | None = None) -> None:
    global _WORKER_CONTEXT, _WORKER_IGNORES
    _WORKER_CONTEXT, _WORKER_IGNORES = context, ignores
    default_linter()  # load the rule packs once per worker, not per chunk


def _worker_lint(chunk: Chunk) -> PreparedBatch:
    knowledge = SiteKnowledge(chunk.known)
    return lint_exchanges(ExchangeLinter(default_linter(), _WORKER_CONTEXT, knowledge), chunk.exchanges,
                          _WORKER_IGNORES)


def _chunks(items: Iterable[Exchange | CaptureError], scout: AnswerScout, on_error: Callable[[CaptureError], None],
            on_fact: Callable[[Fact], None]) -> Iterator[Chunk]:
    """Exchanges in chunks of about CHUNK_MESSAGES messages, each with what was learned before it."""
    chunk = Chunk([], 0, scout.known())
    size = 0
    for item in items:
        if isinstance(item, CaptureError):
            on_error(item)
            continue
        chunk.exchanges.append(item)
        size += len(item.messages)
        chunk.weight += item.weight
        for fact in scout.read(item):
            on_fact(fact)
        if size >= CHUNK_MESSAGES:
            yield chunk
            chunk, size = Chunk([], 0, scout.known()), 0
    if chunk.exchanges:
        yield chunk


def run_audit(paths: list[str], store: Store, context: LintContext, *, jobs: int = 1,
              on_error: Callable[[CaptureError], None] = lambda error: None,
              on_progress: Callable[[int, int], None] = lambda done_bytes, messages: None,
              on_start: Callable[[int], None] = lambda total_bytes: None, walk: Walk | None = None,
              ignores: PerFileIgnores | None = None) -> AuditStats:
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
    for item in input_files(paths, walk):  # the walk check uses: no pom.xml, nothing .gitignore'd
        if isinstance(item, CaptureError):
            error(item)
        else:
            files.append(item)
    stats.files = len(files)
    def learned(fact: Fact) -> None:
        stats.learned.append(fact)
        store.record_learned(fact)

    chunks = _chunks((item for path in files for item in read_file(path)), AnswerScout(context), error, learned)
    if jobs <= 1:
        on_start(sum(_size(f) for f in files))
        exchanges = ExchangeLinter(default_linter(), context)  # one linter: it learns as it goes
        for chunk in chunks:
            write(lint_exchanges(exchanges, chunk.exchanges, ignores), chunk.weight)
        return stats
    default_linter()  # loaded before forking, so the workers inherit it
    with multiprocessing.get_context("fork").Pool(jobs, _worker_init, (context, ignores)) as pool:
        on_start(sum(_size(f) for f in files))
        pending: deque = deque()
        for chunk in chunks:
            pending.append((pool.apply_async(_worker_lint, (chunk,)), chunk.weight))
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
