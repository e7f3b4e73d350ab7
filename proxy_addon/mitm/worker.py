"""The lint worker: a child process of mitmdump that runs the lint pipeline off the traffic path.

mitmdump's event loop only hands each message over (one non-blocking pipe write) and forwards the
flow at once; parsing, rules, the findings log and the audit store run here, on another core and
at a lower priority, so linting never delays traffic it does not rewrite. Frames on the two private
pipes are length-prefixed pickles (both ends are this package):

  jobs    (proxy -> worker): ("configure", Settings), always first: the pipeline and its linter are
                             built from it | ("message", Observed, reply: bool, annotate: bool)
                             (its own binary frame, see message_frame; annotate: someone shows the
                             flow's marks, so send them back)
                             | ("rewrite_applied", flow_id) | ("error", flow_id, where, text, client)
                             | ("forget", flow_id) | ("event", name, fields): a line for the findings log
  results (worker -> proxy): ("annotate", Annotation) | ("rewritten", flow_id, Rewritten | None)
                             | ("settings_error", text)

The worker ends when the jobs pipe closes (mitmdump stopping, or dying: it never outlives it).

A third, shared page (PROGRESS_FD, mapped by both) says how many jobs the worker has done and since
when it has been in the next one: mitmdump keeps each message's time budget from it
(backends.WorkerBackend), without a frame or a wake-up per job. It has to be shared memory: a
worker stuck in a C call (a regex, a parse) holds the GIL and can send nothing.

    python -m proxy_addon.mitm.worker JOBS_FD RESULTS_FD [PROGRESS_FD]
"""

from __future__ import annotations

import dataclasses
import logging
import mmap
import os
import pickle
import signal
import struct
import sys
import time
from typing import Any

from proxy_addon.core.redaction import redact
from proxy_addon.exchange.observed import Observed
from proxy_addon.mitm.pipeline import LintPipeline
from proxy_addon.settings import Settings, SettingsError, make_linter

HEADER = struct.Struct(">I")
NICENESS = 10  # under overload, linting lags behind; traffic does not
READ_SIZE = 1 << 20
# The shared progress page: jobs done, and the time.monotonic() (CLOCK_MONOTONIC: the same clock in
# every process) at which the worker started the next one, 0.0 while it is in none.
PROGRESS = struct.Struct("=qd")


class Progress:
    """The worker's side of the progress page: two plain stores per job."""

    def __init__(self, fd: int | None):
        self.page = None if fd is None else mmap.mmap(fd, PROGRESS.size)
        self.done = 0

    def started(self) -> None:
        if self.page is not None:
            PROGRESS.pack_into(self.page, 0, self.done, time.monotonic())

    def finished(self) -> None:
        self.done += 1
        if self.page is not None:
            PROGRESS.pack_into(self.page, 0, self.done, 0.0)


def encode_frame(job: Any) -> bytes:
    if job[0] == "message" and type(job[1]) is Observed:
        return b"".join(message_frame(job[1], job[2], *job[3:]))
    data = pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(data)) + data


# The frame of every message (the one job per request and response): the body's bytes behind a
# fixed binary header, not a pickled Observed: pickling a dataclass costs mitmdump's event loop
# several times what one struct call does, and the body is never copied in mitmdump (the parts are
# written with one writev). A pickle starts with its PROTO opcode (0x80), so the tag byte tells
# the two apart.
_MESSAGE_TAG = 1
# frame length, then tag, flags (_REPLY, _ANNOTATE), direction, time, then the lengths of the texts (-1: None)
_MESSAGE = struct.Struct(">IBBBd6i")
_MESSAGE_FIELDS = struct.Struct(">BBBd6i")  # the same, after the length
_TEXTS = ("source", "locator", "client_address", "user_agent", "http_charset", "upstream")
_DIRECTIONS = (None, "request", "response")
_DIRECTION_CODES = {name: code for code, name in enumerate(_DIRECTIONS)}
_NO_TIME = float("-inf")
_REPLY, _ANNOTATE = 1, 2


def message_frame(seen: Observed, reply: bool, annotate: bool = True) -> list[bytes | memoryview]:
    """The frame of a message as parts to write one after the other: its header and texts, then the
    body itself (the very object, not a copy)."""
    direction = _DIRECTION_CODES.get(seen.direction)
    if direction is None:  # a direction this frame has no code for: pickle it whole
        data = pickle.dumps(("message", seen, reply, annotate), protocol=pickle.HIGHEST_PROTOCOL)
        return [HEADER.pack(len(data)), data]
    # List comprehensions, not generator expressions: inlined since 3.12 (PEP 709), no generator per call.
    texts = [None if text is None else text.encode("utf-8", "surrogatepass") for text in
             (seen.source, seen.locator, seen.client_address, seen.user_agent, seen.http_charset, seen.upstream)]
    known = b"".join([text for text in texts if text])
    data = seen.data
    flags = (_REPLY if reply else 0) | (_ANNOTATE if annotate else 0)
    head = _MESSAGE.pack(_MESSAGE_FIELDS.size + len(known) + len(data), _MESSAGE_TAG, flags, direction,
                         _NO_TIME if seen.time is None else seen.time,
                         *[-1 if text is None else len(text) for text in texts])
    return [head + known, data]


def _decode_message(frame: memoryview) -> tuple:
    _tag, flags, direction, time, *lengths = _MESSAGE_FIELDS.unpack_from(frame)
    offset = _MESSAGE_FIELDS.size
    texts = []
    for length in lengths:
        if length < 0:
            texts.append(None)
            continue
        texts.append(str(frame[offset:offset + length], "utf-8", "surrogatepass"))
        offset += length
    source, locator, client, user_agent, charset, upstream = texts
    seen = Observed(bytes(frame[offset:]), _DIRECTIONS[direction], source, locator,
                    None if time == _NO_TIME else time, client, user_agent, charset, upstream)
    return ("message", seen, bool(flags & _REPLY), bool(flags & _ANNOTATE))


class FrameReader:
    """Splits a byte stream into the objects of its frames, whatever the read sizes.

    A frame that arrived whole in one read is decoded from that read in place (a body is copied
    once, into its own bytes); only a frame split across reads is gathered in a buffer first."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def feed(self, chunk: bytes) -> list[Any]:
        if self.buffer:
            self.buffer += chunk
            data = self.buffer
        else:
            data = chunk
        frames = []
        offset = 0
        with memoryview(data) as view:
            while len(data) - offset >= HEADER.size:
                (size,) = HEADER.unpack_from(data, offset)
                start = offset + HEADER.size
                end = start + size
                if len(data) < end:
                    break
                frame = view[start:end]
                frames.append(_decode_message(frame) if data[start] == _MESSAGE_TAG else pickle.loads(frame))
                frame.release()
                offset = end
        if data is self.buffer:
            del self.buffer[:offset]
        elif offset < len(data):
            self.buffer = bytearray(data[offset:])
        return frames


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class Worker:
    def __init__(self, results_fd: int):
        self.results_fd = results_fd
        self.results_open = True
        # Built from the first settings mitmdump sends (its first frame), so the rule packs are read
        # and compiled once, for those settings.
        self.pipeline: LintPipeline | None = None
        # Annotations of one read's jobs, written together (see flush): one wake-up of mitmdump's
        # event loop and one read there for a batch, not one per message.
        self.outbox = bytearray()

    def handle(self, job: tuple) -> None:
        kind = job[0]
        if kind == "configure":
            self._configure(job[1])
        elif self.pipeline is None:
            return  # nothing comes before the settings; a stray frame is not worth a crash
        elif kind == "message":
            self._message(job[1], job[2], *job[3:])
        elif kind == "rewrite_applied":
            self._annotate(self.pipeline.rewrite_applied(job[1]))
        elif kind == "error":
            self.pipeline.internal_error(*job[1:])
        elif kind == "not_linted":
            self.pipeline.not_linted(*job[1:])
        elif kind == "forget":
            self.pipeline.forget(job[1])
        elif kind == "event":  # about the proxy itself (a worker restarted), maybe naming a flow
            fields = dict(job[2])
            self.pipeline.emit(job[1], None, fields.pop("flow_id", None), fields.pop("client", None), **fields)

    def _configure(self, settings: Settings) -> None:
        try:
            if self.pipeline is None:
                self.pipeline = LintPipeline(make_linter(settings), settings.rule_packs)
            self.pipeline.configure(settings)
        except (SettingsError, ValueError, OSError) as error:  # a RuleError is a ValueError
            # mitmdump checked these settings; a rule pack changed on disk since. Lint with the rest.
            self._reply(("settings_error", str(error)))
            fallback = dataclasses.replace(settings, rule_packs=())
            if self.pipeline is None:
                self.pipeline = LintPipeline(make_linter(fallback), fallback.rule_packs)
            self.pipeline.configure(fallback)

    def _message(self, seen, reply: bool, annotate: bool = True) -> None:
        annotation = rewritten = None
        try:
            annotation, rewritten = self.pipeline.message(seen, annotate=annotate)
        except Exception as error:  # noqa: BLE001 (fail open: log it, the flow is not ours to stop)
            self.pipeline.internal_error(seen.locator, f"WebexLint.{seen.direction}",
                                         f"{type(error).__name__}: {error}", seen.client_address)
        self._annotate(annotation)
        if reply:
            self._reply(("rewritten", seen.locator, rewritten))

    def _annotate(self, annotation) -> None:
        if annotation is not None and self.results_open:
            self.outbox += encode_frame(("annotate", annotation))

    def _reply(self, result: tuple) -> None:
        """Send `result` now, after the annotations before it (a request waits on a rewrite)."""
        if self.results_open:
            self.outbox += encode_frame(result)
            self.flush()

    def flush(self) -> None:
        if not self.outbox:
            return
        try:
            if self.results_open:
                write_all(self.results_fd, self.outbox)
        except BrokenPipeError:
            # mitmdump is stopping and no longer reads answers; keep logging what is still queued.
            self.results_open = False
        self.outbox.clear()


def serve(jobs_fd: int, results_fd: int, progress_fd: int | None = None) -> int:
    # Ctrl-C reaches the whole process group: mitmdump decides when the worker stops (EOF on jobs).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        os.nice(NICENESS)
    except OSError:
        pass
    # The worker's log lines (the store it opened, write errors) go to mitmdump's standard error.
    logging.basicConfig(level=logging.INFO, format="webexlint worker: %(message)s", stream=sys.stderr)
    worker = Worker(results_fd)
    progress = Progress(progress_fd)
    reader = FrameReader()
    try:
        while chunk := os.read(jobs_fd, READ_SIZE):
            for job in reader.feed(chunk):
                progress.started()
                try:
                    worker.handle(job)
                except Exception as error:  # noqa: BLE001 (one bad job must not end the worker)
                    print(f"webexlint worker: {redact(f'{type(error).__name__}: {error}')}", file=sys.stderr)
                progress.finished()
            worker.flush()
    finally:
        worker.flush()
        if worker.pipeline is not None:
            worker.pipeline.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) not in (2, 3) or not all(arg.isdigit() for arg in args):
        print("usage: python -m proxy_addon.mitm.worker JOBS_FD RESULTS_FD [PROGRESS_FD] (started by the addon)",
              file=sys.stderr)
        return 2
    return serve(*map(int, args))


if __name__ == "__main__":
    sys.exit(main())
