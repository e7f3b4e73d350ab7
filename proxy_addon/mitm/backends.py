"""Where the addon's lint pipeline runs: in a worker process (the default) or inside mitmdump.

Both backends take the same calls from the addon. The worker backend only queues a frame per
message and writes the queue with one writev a few milliseconds later (one system call and one
wake-up of the worker per batch, not per message; what waits for an answer goes at once). It never
blocks the event loop: a backlog is flushed when the pipe drains, and past its limit messages are
dropped and counted rather than slowing traffic. Annotations come back
asynchronously. A worker that dies is restarted, forever, after a back-off that grows with each death
in a row (what it learned about sites is then lost); each restart is an event in the findings log.

A message has a time budget in the worker (webexlint_lint_budget). Python cannot interrupt a regex
or a libxml2 parse running in C, so the budget is kept from here: the worker says on a shared page
how many jobs it has done and since when it is in the next one, and a message still running past
its budget gets the worker killed. That message is logged as not linted (its flow named, nothing of
its body), a rewrite waiting on it goes upstream unchanged at once, and a fresh worker is started at
once and sent every job that came after it: one message cannot hold the others.
"""

from __future__ import annotations

import asyncio
import dataclasses
import fcntl
import logging
import mmap
import os
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from proxy_addon.core.redaction import redact
from proxy_addon.core.shipped import PACKAGE_DIR
from proxy_addon.mitm.pipeline import Annotation, LintPipeline, Observed, Rewritten
from proxy_addon.mitm.worker import PROGRESS, FrameReader, encode_frame, message_frame, write_all
from proxy_addon.settings import Settings, make_linter

if TYPE_CHECKING:
    from proxy_addon.lint.engine import Linter

logger = logging.getLogger(__name__)
MAX_BACKLOG_BYTES = 64 * 1024 * 1024
ESSENTIAL_RESERVE = 8 * 1024 * 1024  # what events and errors may add to a full backlog
PIPE_SIZE = 1024 * 1024
F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)
# Seconds a message waits for the next ones before the batch goes to the worker: each write is a
# system call and, with the worker asleep, a wake-up of another process; batched, both are paid once
# per batch. Findings are logged this much later; what waits for an answer is written at once.
BATCH_DELAY = 0.01
BATCH_PARTS = 512  # a writev takes at most IOV_MAX (1024) parts; two per message
# Seconds to wait before restarting a worker that died, by how many died in a row: the first at once,
# then doubling up to 30 s, which holds for as long as it keeps dying (a crash on every message must
# not spin a core; a worker that comes back must not stay off). A worker up STABLE_AFTER seconds
# starts the count again.
RESTART_DELAYS: Sequence[float] = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0)
STABLE_AFTER = 60.0
STOP_TIMEOUT = 30.0
# Seconds a message may keep the worker busy (webexlint_lint_budget's default): the slowest legitimate
# messages (16 MiB list responses, the biggest trees the memory budget accepts) take about a second
# on a loaded machine; the hostile ones of issue 21 took 15-40 s. Under addons.REWRITE_TIMEOUT, so a
# rewrite queued behind a slow message is still answered.
LINT_BUDGET = 3.0
# Bodies kept to send again to a new worker, while the old one may not have linted them: at most
# this many bytes in all. The others are kept without their body (a decoded or cut body is a copy
# of its own: keeping 16 MiB ones grew mitmdump by that much each) and, should the worker be
# stopped before it linted them, are reported as not linted.
KEEP_FOR_RESEND = 8 * 1024 * 1024

AnnotationSink = Callable[[Annotation, bool], None]  # (annotation, arrived later than its hook)


def _shared_page_fd() -> int:
    """A file descriptor of a page the worker maps too (never on disk where it can be helped)."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("webexlint-progress", 0)  # not inherited unless passed
    else:
        with tempfile.TemporaryFile() as page:
            fd = os.dup(page.fileno())
    os.ftruncate(fd, PROGRESS.size)
    return fd


class PendingRewrite:
    """A rewrite being computed; `await result(timeout)` gives the new body, or None for no change."""

    def __init__(self, value: Rewritten | None = None, future: asyncio.Future | None = None):
        self._value = value
        self._future = future

    async def result(self, timeout: float) -> Rewritten | None:
        if self._future is None:
            return self._value
        return await asyncio.wait_for(asyncio.shield(self._future), timeout)


class InProcessBackend:
    """The pipeline inside mitmdump: findings are logged before the flow moves on (tests, debugging)."""

    offloaded = False

    def __init__(self, settings: Settings, on_annotation: AnnotationSink, linter: Linter | None = None):
        """`linter`: the one already built for these settings (while checking their rule packs), if any."""
        self.pipeline = LintPipeline(linter if linter is not None else make_linter(settings), settings.rule_packs)
        self.pipeline.configure(settings)
        self.on_annotation = on_annotation

    def configure(self, settings: Settings) -> None:
        self.pipeline.configure(settings)

    def submit(self, seen: Observed, *, reply: bool = False, annotate: bool = True) -> PendingRewrite | None:
        """Lint it; with `reply`, the result resolves once its annotation has been applied (here: at
        once) and gives the rewritten request, if any. Flows are always annotated here: before the
        hook returns, so every later addon sees the marks (`annotate` is the worker's saving)."""
        rewritten = self._run(seen)
        return PendingRewrite(rewritten) if reply else None

    def _run(self, seen: Observed) -> Rewritten | None:
        try:
            annotation, rewritten = self.pipeline.message(seen)
        except Exception as error:  # noqa: BLE001 (fail open)
            self.internal_error(seen.locator, f"WebexLint.{seen.direction}", f"{type(error).__name__}: {error}",
                                seen.client_address)
            return None
        if annotation is not None:
            self.on_annotation(annotation, False)
        return rewritten

    def rewrite_applied(self, flow_id: str) -> None:
        annotation = self.pipeline.rewrite_applied(flow_id)
        if annotation is not None:
            self.on_annotation(annotation, False)

    def internal_error(self, flow_id: str, where: str, text: str, client: str | None) -> None:
        logger.warning("webexlint: internal error in %s (flow passed through untouched): %s", where, redact(text))
        self.pipeline.internal_error(flow_id, where, text, client)

    def not_linted(self, flow_id: str, direction: str, reason: str, client: str | None) -> None:
        self.pipeline.not_linted(flow_id, direction, reason, client)

    def forget(self, flow_id: str) -> None:
        self.pipeline.forget(flow_id)

    def close(self) -> None:
        self.pipeline.close()


class WorkerBackend:
    """The pipeline in a child process (mitm/worker.py), fed through a non-blocking pipe."""

    offloaded = True

    def __init__(self, settings: Settings, on_annotation: AnnotationSink, loop: asyncio.AbstractEventLoop,
                 restart_delays: Sequence[float] | None = None, budget: float = LINT_BUDGET):
        """`budget`: seconds a message may keep the worker busy (0: no limit)."""
        self.settings = settings
        self.budget = budget
        self.over_budget = 0  # messages the worker was killed for, since mitmdump started
        self.watchdog: asyncio.TimerHandle | None = None
        self.on_annotation = on_annotation
        self.loop = loop
        self.dropped = 0
        self.waiting: dict[str, asyncio.Future] = {}
        self.restart_delays = tuple(restart_delays if restart_delays is not None else RESTART_DELAYS)
        self.restarts = 0  # since mitmdump started
        self.deaths_in_a_row = 0
        self.pending_restart: asyncio.TimerHandle | None = None
        self.closing = False
        self.process: subprocess.Popen | None = None
        self._spawn()

    # -- the child --------------------------------------------------------------------------------

    def _spawn(self) -> None:
        jobs_read, self.jobs_fd = os.pipe()
        self.results_fd, results_write = os.pipe()
        try:
            fcntl.fcntl(self.jobs_fd, F_SETPIPE_SZ, PIPE_SIZE)  # fewer partial writes for large bodies
        except OSError:
            pass
        package_parent = str(PACKAGE_DIR.parent)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_parent, os.environ.get("PYTHONPATH")]))}
        progress_fd = _shared_page_fd()
        self.progress = mmap.mmap(progress_fd, PROGRESS.size)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "proxy_addon.mitm.worker", str(jobs_read), str(results_write), str(progress_fd)],
            pass_fds=(jobs_read, results_write, progress_fd), env=env, stdin=subprocess.DEVNULL)
        os.close(jobs_read)
        os.close(results_write)
        os.close(progress_fd)
        os.set_blocking(self.jobs_fd, False)
        os.set_blocking(self.results_fd, False)
        self.backlog = bytearray()
        self.batch: list[bytes | memoryview] = []  # frames' parts queued for the next writev
        self.batch_bytes = 0
        self.batch_timer: asyncio.TimerHandle | None = None
        self.reader = FrameReader()
        # The jobs written (or queued) to this worker that it may not have done, oldest first: (kind,
        # what to send it again with); `tracked` counts every job written to it, as the worker does.
        self.jobs: deque[tuple[str, object]] = deque()
        self.tracked = 0
        self.kept = 0  # bytes of the bodies in `jobs`
        self.loop.add_reader(self.results_fd, self._on_results)
        self.spawned_at = time.monotonic()
        self._send(("configure", self.settings), essential=True)

    def _worker_died(self) -> None:
        if self.process is None:
            return
        self._detach()
        status = self.process.poll()
        self.process = None
        for future in self.waiting.values():
            if not future.done():
                future.set_result(None)  # fail open: those requests go upstream as the client sent them
        self.waiting.clear()
        if self.closing:
            return
        if time.monotonic() - self.spawned_at >= STABLE_AFTER:
            self.deaths_in_a_row = 0
        delay = self.restart_delays[min(self.deaths_in_a_row, len(self.restart_delays) - 1)]
        self.deaths_in_a_row += 1
        logger.error("webexlint: the lint worker exited (status %s); restarting it in %s s (what it had learned "
                     "about sites is lost; until then traffic flows on unlinted)", status, delay)
        if delay > 0:
            self.pending_restart = self.loop.call_later(delay, self._restart, status, delay)
        else:
            self._restart(status, delay)

    def _restart(self, status: int | None, delay: float) -> None:
        self.pending_restart = None
        if self.closing:
            return
        self._spawn()
        self.restarts += 1
        self._send(("event", "worker_restarted", {"restart": self.restarts, "status": status, "delay": delay,
                                                  "deaths_in_a_row": self.deaths_in_a_row}), essential=True)

    def _detach(self) -> None:
        if self.batch_timer is not None:
            self.batch_timer.cancel()
            self.batch_timer = None
        self.batch.clear()
        self.batch_bytes = 0
        self.progress.close()
        self.loop.remove_reader(self.results_fd)
        self.loop.remove_writer(self.jobs_fd)
        for fd in (self.jobs_fd, self.results_fd):
            try:
                os.close(fd)
            except OSError:
                pass

    # -- sending ----------------------------------------------------------------------------------

    def _send(self, job: tuple, *, essential: bool = False) -> bool:
        frame = encode_frame(job)
        return self._write([frame], (job[0], frame), essential=essential, always=job[0] == "configure",
                           now=essential)

    def _write(self, parts: Sequence[bytes | memoryview], job: tuple[str, object] = ("frame", None), *,
               essential: bool = False, always: bool = False, now: bool = True) -> bool:
        """Write a frame's parts, after the batch, with one writev (`now`), or add them to the batch,
        written BATCH_DELAY later; queue what the pipe does not take.

        `job`: what the frame is, to send it again to a new worker (see _over_budget).
        Past MAX_BACKLOG_BYTES a message is dropped (counted, logged); essential frames (settings,
        events, errors) have ESSENTIAL_RESERVE more, then they are dropped too: a stalled worker must
        not grow mitmdump without bound. The settings are always kept: the worker needs the latest."""
        if self.process is None:
            return False
        size = sum(map(len, parts))
        limit = MAX_BACKLOG_BYTES + (ESSENTIAL_RESERVE if essential else 0)
        if len(self.backlog) + self.batch_bytes + size > limit and not always:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                logger.warning("webexlint: the lint worker is behind; %d messages not linted so far", self.dropped)
            return False
        if self.backlog:  # the pipe is full (and the batch empty): after what waits, in order
            for part in parts:
                self.backlog += part
            self._track(job)
            return True
        self.batch += parts
        self.batch_bytes += size
        self._track(job)
        if now or len(self.batch) >= BATCH_PARTS or self.batch_bytes >= PIPE_SIZE:
            return self._flush_batch()
        if self.batch_timer is None:
            self.batch_timer = self.loop.call_later(BATCH_DELAY, self._flush_batch)
        return True

    def _flush_batch(self) -> bool:
        """Write the batch with one writev; what the pipe does not take now waits in the backlog."""
        if self.batch_timer is not None:
            self.batch_timer.cancel()
            self.batch_timer = None
        parts, size = self.batch, self.batch_bytes
        if not parts:
            return True
        self.batch, self.batch_bytes = [], 0
        try:
            written = os.writev(self.jobs_fd, parts)
        except BlockingIOError:
            written = 0
        except OSError:  # EPIPE: the worker is gone
            self._worker_died()
            return False
        if written < size:
            self._keep(parts, written)
            self.loop.add_writer(self.jobs_fd, self._flush)
        return True

    def _keep(self, parts: Sequence[bytes | memoryview], written: int) -> None:
        """Queue what follows the first `written` bytes of the parts (the one copy, only when the pipe is full)."""
        for part in parts:
            if written >= len(part):
                written -= len(part)
                continue
            self.backlog += memoryview(part)[written:]
            written = 0

    def _flush(self) -> None:
        try:
            written = os.write(self.jobs_fd, self.backlog)
        except BlockingIOError:
            return
        except OSError:
            self._worker_died()
            return
        del self.backlog[:written]
        if not self.backlog:
            self.loop.remove_writer(self.jobs_fd)

    # -- receiving --------------------------------------------------------------------------------

    def _on_results(self) -> None:
        try:
            chunk = os.read(self.results_fd, 1 << 20)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._worker_died()
            return
        for result in self.reader.feed(chunk):
            kind = result[0]
            if kind == "annotate":
                self.on_annotation(result[1], True)
            elif kind == "rewritten":
                future = self.waiting.pop(result[1], None)
                if future is not None and not future.done():
                    future.set_result(result[2])
            elif kind == "settings_error":
                logger.error("webexlint: %s", result[1])

    # -- the time budget -------------------------------------------------------------------------

    def set_budget(self, seconds: float) -> None:
        self.budget = seconds
        if self.jobs:
            self._arm(seconds / 4)

    def _track(self, job: tuple[str, object]) -> None:
        self.jobs.append(job)
        self.tracked += 1
        if job[0] == "message":
            self.kept += len(job[1][0].data)
        if len(self.jobs) > 1:
            self._progress()  # let go of the bodies the worker is done with
        self._arm(self.budget / 4)

    def _progress(self) -> float:
        """Forget the jobs the worker has done; when it started the one it is in (0.0: none)."""
        first, second = PROGRESS.unpack_from(self.progress), PROGRESS.unpack_from(self.progress)
        if first != second:
            return 0.0  # read while the worker wrote: no news this time
        done, started = first
        for _ in range(len(self.jobs) - (self.tracked - done)):
            self._forget_job()
        return started

    def _forget_job(self) -> tuple[str, object]:
        kind, what = self.jobs.popleft()
        if kind == "message":
            self.kept -= len(what[0].data)
        return kind, what

    def _arm(self, delay: float) -> None:
        # One timer at a time, while the worker has jobs: not one per job, none while idle.
        if self.watchdog is None and self.budget > 0 and not self.closing:
            self.watchdog = self.loop.call_later(delay, self._check_budget)

    def _check_budget(self) -> None:
        self.watchdog = None
        if self.process is None or self.budget <= 0:
            return
        started = self._progress()
        if not self.jobs:
            return
        running = time.monotonic() - started if started else 0.0
        # Only a message is timed: settings (a new linter, rule packs compiled) and events are not.
        if started and self.jobs[0][0] == "message" and running >= self.budget:
            self._over_budget()
            return
        # Look again when the job in progress would reach its budget, or soon after one starts.
        self._arm(self.budget - running if started and self.jobs[0][0] == "message" else self.budget / 4)

    def _over_budget(self) -> None:
        """The message at the head has run past its budget: kill the worker, report the message, start
        a new worker and send it every job that came after (what the old one had learned is lost)."""
        _, (seen, _reply, _kept) = self._forget_job()
        after = list(self.jobs)
        process = self.process
        self._detach()
        self.process = None
        process.kill()
        status = process.wait()
        self.over_budget += 1
        future = self.waiting.pop(seen.locator, None)
        if future is not None and not future.done():
            future.set_result(None)  # fail open at once: the request goes upstream as the client sent it
        reason = (f"time budget: the lint took over {self.budget:g} s (webexlint_lint_budget); the worker "
                  f"was stopped and restarted")
        logger.warning("webexlint: the %s of flow %s was not linted: %s", seen.direction or "message", seen.locator,
                       reason)
        self._spawn()
        self.restarts += 1
        self._send(("event", "worker_restarted", {"restart": self.restarts, "status": status, "delay": 0.0,
                                                  "deaths_in_a_row": self.deaths_in_a_row, "cause": "time budget",
                                                  "flow_id": seen.locator}), essential=True)
        self._send(("not_linted", seen.locator, seen.direction or "message", reason, seen.client_address),
                   essential=True)
        self.kept = 0
        for kind, what in after:
            if kind == "configure" or what is None:
                continue  # the new worker was sent the latest settings
            if kind != "message":
                self._write([what], (kind, what), essential=True)
                continue
            again, reply, kept = what
            if kept and self._write(message_frame(again, reply), (kind, what)):
                continue
            if reply:
                pending = self.waiting.pop(again.locator, None)
                if pending is not None and not pending.done():
                    pending.set_result(None)
            if not kept:
                self._send(("not_linted", again.locator, again.direction or "message", "the lint worker was "
                            "restarted (another message's time budget) before it linted this one",
                            again.client_address), essential=True)
        self.on_annotation(Annotation(seen.locator, None, "", "webexlint: not linted (time budget)"), True)

    # -- the addon's calls ------------------------------------------------------------------------

    def configure(self, settings: Settings) -> None:
        self.settings = settings
        self._send(("configure", settings), essential=True)

    def submit(self, seen: Observed, *, reply: bool = False, annotate: bool = True) -> PendingRewrite | None:
        """Hand it to the worker (with the next batch; at once with `reply`); with `reply`, the result
        resolves once the worker answered (its annotation, sent first, applied) and gives the
        rewritten request, if any. `annotate`: the worker sends the flow's marks back."""
        kept = seen if self.kept + len(seen.data) <= KEEP_FOR_RESEND else dataclasses.replace(seen, data=b"")
        sent = self._write(message_frame(seen, reply, annotate), ("message", (kept, reply, kept is seen)), now=reply)
        if not reply:
            return None
        future = self.loop.create_future()
        if sent:
            self.waiting[seen.locator] = future
        else:
            future.set_result(None)
        return PendingRewrite(future=future)

    def rewrite_applied(self, flow_id: str) -> None:
        self._send(("rewrite_applied", flow_id), essential=True)

    def internal_error(self, flow_id: str, where: str, text: str, client: str | None) -> None:
        logger.warning("webexlint: internal error in %s (flow passed through untouched): %s", where, redact(text))
        self._send(("error", flow_id, where, text, client), essential=True)

    def not_linted(self, flow_id: str, direction: str, reason: str, client: str | None) -> None:
        self._send(("not_linted", flow_id, direction, reason, client), essential=True)

    def forget(self, flow_id: str) -> None:
        self.waiting.pop(flow_id, None)
        self._send(("forget", flow_id))

    def close(self) -> None:
        """Let the worker finish what it was sent (log, store), then stop it."""
        self.closing = True
        if self.watchdog is not None:
            self.watchdog.cancel()
            self.watchdog = None
        if self.pending_restart is not None:
            self.pending_restart.cancel()
            self.pending_restart = None
        process = self.process
        if process is None:
            return
        self._flush_batch()
        if self.process is not None:  # else the write found the worker gone, and detached
            if self.backlog:
                os.set_blocking(self.jobs_fd, True)
                try:
                    write_all(self.jobs_fd, bytes(self.backlog))
                except OSError:
                    pass
                self.backlog.clear()
            self._detach()  # EOF on the jobs pipe: the worker drains and exits
        self.process = None
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
