"""Replay captured exchanges through the exchange linter, in capture order, and store the records.

The parent reads the inputs and writes the store (one writer, so SQLite never waits on itself);
workers only lint. Chunks of exchanges go out, rows with their findings come back, and at most
a few chunks are in flight at once, so memory stays flat however large the capture is.

Learning spans the whole run (Scope.RUN: one site's captures teach each other). With one job the
exchange linter learns as it lints. With several, the parent's exchange linter learns as it reads
(`ExchangeLinter.learn`, the same learning, parsing only answers that can teach) and sends each chunk
the facts learned before it; the worker's exchange linter starts from them and learns the rest in
order, so --jobs N gives the findings one process gives. Learned site types and API versions go
to the store.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from proxy_addon.audit.store import PreparedBatch, Store, prepare, stored_rows
from proxy_addon.exchange.knowledge import Fact, SiteKnowledge
from proxy_addon.exchange.linter import ExchangeLinter
from proxy_addon.inputs import CaptureError, Exchange, Walk, input_files, read_file
from proxy_addon.lint.context import LintContext
from proxy_addon.lint.engine import Linter

CHUNK_MESSAGES = 256


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
                   on_learned: Callable[[Fact], None] | None = None) -> PreparedBatch:
    """Lint a chunk in order and prepare its rows (redaction included), so the writer only writes."""
    rows = []
    for exchange in chunk:
        for record in exchanges.lint_exchange(exchange):
            rows.append(stored_rows(record))  # each message once: the request, then its answer
            if on_learned is not None:
                for fact in record.learned:
                    on_learned(fact)
    return prepare(rows)


# One lint worker process's state, set once by the pool's initializer (fork: inherited, not pickled).
_WORKER: tuple[Linter, LintContext, Callable | None] | None = None


def _worker_init(linter: Linter, context: LintContext, ignored_rules: Callable | None) -> None:
    global _WORKER
    _WORKER = (linter, context, ignored_rules)


def _worker_lint(chunk: Chunk) -> PreparedBatch:
    linter, context, ignored_rules = _WORKER
    exchanges = ExchangeLinter(linter, context, SiteKnowledge(chunk.known), ignored_rules=ignored_rules)
    return lint_exchanges(exchanges, chunk.exchanges)


def _chunks(items: Iterable[Exchange | CaptureError], learner: ExchangeLinter | None,
            on_error: Callable[[CaptureError], None], on_fact: Callable[[Fact], None]) -> Iterator[Chunk]:
    """Exchanges in chunks of about CHUNK_MESSAGES messages, each with what was learned before it."""

    def known() -> list[Fact]:
        return learner.knowledge.facts() if learner is not None else []

    chunk, size = Chunk([], 0, known()), 0
    for item in items:
        if isinstance(item, CaptureError):
            on_error(item)
            continue
        chunk.exchanges.append(item)
        size += len(item.messages)
        chunk.weight += item.weight
        if learner is not None:
            for fact in learner.learn(item):
                on_fact(fact)
        if size >= CHUNK_MESSAGES:
            yield chunk
            chunk, size = Chunk([], 0, known()), 0
    if chunk.exchanges:
        yield chunk


def run_audit(paths: list[str], store: Store, linter: Linter, context: LintContext, *, jobs: int = 1,
              on_error: Callable[[CaptureError], None] = lambda error: None,
              on_progress: Callable[[int, int], None] = lambda done_bytes, messages: None,
              on_start: Callable[[int], None] = lambda total_bytes: None, walk: Walk | None = None,
              ignored_rules: Callable[[str], tuple[str, ...]] | None = None) -> AuditStats:
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

    def learned(fact: Fact) -> None:
        stats.learned.append(fact)
        store.record_learned(fact)

    files: list[Path] = []
    for item in input_files(paths, walk):  # the walk check uses: no pom.xml, nothing .gitignore'd
        if isinstance(item, CaptureError):
            error(item)
        else:
            files.append(item)
    stats.files = len(files)
    exchanges = (item for path in files for item in read_file(path))
    if jobs <= 1:
        on_start(sum(_size(f) for f in files))
        linting = ExchangeLinter(linter, context, ignored_rules=ignored_rules)  # it learns as it goes
        for chunk in _chunks(exchanges, None, error, learned):
            write(lint_exchanges(linting, chunk.exchanges, learned), chunk.weight)
        return stats
    learner = ExchangeLinter(linter, context)
    chunks = _chunks(exchanges, learner, error, learned)
    with multiprocessing.get_context("fork").Pool(jobs, _worker_init, (linter, context, ignored_rules)) as pool:
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
