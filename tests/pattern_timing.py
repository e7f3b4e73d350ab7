"""Timing a regular expression on adversarial input, for tests/test_traffic_patterns.py.

An attack string for a backtracking regex has the classic shape prefix + pump * k + suffix (the
pump is what the pattern can match in more than one way, the suffix what makes the match fail at
the end). The pieces are taken from the pattern itself: its literal runs ("<!DOCTYPE", "-->"),
its characters and the ends of its ranges, and a character of each class it uses. A pattern is
linear on an input family when the time at 8k is about 8 times the time at k; quadratic gives 64,
exponential never finishes (each measurement runs under a SIGALRM deadline: the `re` module checks
for signals, so a regression fails instead of hanging).
"""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Callable
from contextlib import contextmanager
from re import _constants as sre_constants  # noqa: PLC2701 (the parsed pattern: its literals)
from re import _parser as sre_parser  # noqa: PLC2701

GENERIC = ("a", "0", " ", "\n", "é")
CATEGORY_SAMPLES = {
    sre_constants.CATEGORY_DIGIT: "7", sre_constants.CATEGORY_NOT_DIGIT: "x",
    sre_constants.CATEGORY_SPACE: " ", sre_constants.CATEGORY_NOT_SPACE: "s",
    sre_constants.CATEGORY_WORD: "w", sre_constants.CATEGORY_NOT_WORD: "!",
}
SMALL = 500  # characters of the pumped part at the small size; the big one is 8 times it
GROWTH = 8
RATIO_LIMIT = 24  # linear gives ~8; quadratic 64
FLOOR = 0.004  # seconds: under this at the big size, nothing to measure
DEADLINE = 2.0  # seconds a single measurement may take


class TooSlow(TimeoutError):
    """A block still running at its deadline (the re module checks for signals between steps)."""


@contextmanager
def deadline(seconds: float):
    """Raise TooSlow in the block after `seconds`."""
    def expire(signum, frame):
        raise TooSlow(f"over {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def pieces_of(pattern: re.Pattern) -> tuple[list[str], list[str]]:
    """The pattern's characters (its literals, range ends, class samples, and a few generic ones),
    and its literal runs ("<!DOCTYPE", "-->")."""
    found: set[str] = set(GENERIC)
    runs: set[str] = set()
    run: list[str] = []

    def end_run() -> None:
        if len(run) > 1:
            runs.add("".join(run))
        run.clear()

    def walk(items) -> None:
        for op, value in items:
            if op is sre_constants.LITERAL:
                run.append(chr(value))
                found.add(chr(value))
                continue
            end_run()
            if op is sre_constants.NOT_LITERAL:
                found.add(chr(value))
            elif op is sre_constants.IN:
                for inner_op, inner in value:
                    if inner_op is sre_constants.LITERAL:
                        found.add(chr(inner))
                    elif inner_op is sre_constants.RANGE:
                        found.update((chr(inner[0]), chr(inner[1])))
                    elif inner_op is sre_constants.CATEGORY and inner in CATEGORY_SAMPLES:
                        found.add(CATEGORY_SAMPLES[inner])
            elif op is sre_constants.BRANCH:
                for branch in value[1]:
                    walk(branch)
                    end_run()
            elif op is sre_constants.SUBPATTERN:
                walk(value[-1])
            elif op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT, sre_constants.POSSESSIVE_REPEAT):
                walk(value[2])
            elif op in (sre_constants.ASSERT, sre_constants.ASSERT_NOT):
                walk(value[1])
            elif op is sre_constants.ATOMIC_GROUP:
                walk(value)
            elif op is sre_constants.GROUPREF_EXISTS:
                walk(value[1])
                if value[2] is not None:
                    walk(value[2])
            end_run()
        end_run()

    source = pattern.pattern.decode("latin-1") if isinstance(pattern.pattern, bytes) else pattern.pattern
    walk(sre_parser.parse(source, pattern.flags & ~re.UNICODE if isinstance(pattern.pattern, bytes) else pattern.flags))
    text_only = isinstance(pattern.pattern, str)

    def usable(pieces):
        return sorted(piece for piece in pieces if text_only or all(ord(c) < 256 for c in piece))
    return usable(found), usable(runs)


def build(pattern: re.Pattern, prefix: str, pump: str, suffix: str, size: int):
    text = prefix + pump * max(1, size // max(1, len(pump))) + suffix
    return text.encode("latin-1") if isinstance(pattern.pattern, bytes) else text


def scan(pattern: re.Pattern) -> Callable[[str | bytes], object]:
    """Every way the tool applies a pattern, at once: a scan for every match (finditer, sub), a
    match at the start, a search."""
    def run(text):
        for _ in pattern.finditer(text):
            pass
        pattern.match(text)
        return pattern.search(text)
    return run


def only_match(pattern: re.Pattern) -> Callable[[str | bytes], object]:
    """For a pattern the tool only ever matches at one position (a tokenizer's step)."""
    return pattern.match


def cpu_time(apply: Callable, text, rounds: int = 3) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        with deadline(DEADLINE):
            apply(text)
        best = min(best, time.process_time() - started)
    return best


def superlinear(pattern: re.Pattern, apply: Callable, prefix: str, pump: str, suffix: str) -> str | None:
    """What is wrong, if the time grows faster than the input on this family; None if linear.

    A growth seen once is measured twice more (the machine is shared): only a steady one counts."""
    small, big = (build(pattern, prefix, pump, suffix, SMALL * factor) for factor in (1, GROWTH))
    for _attempt in range(3):
        try:
            big_time = cpu_time(apply, big, rounds=2)
            if big_time < FLOOR:
                return None
            small_time = cpu_time(apply, small)
        except TooSlow as error:
            return f"{len(big)} characters: {error}"
        if big_time < RATIO_LIMIT * small_time:
            return None
    return f"{len(small)} characters: {small_time * 1e3:.2f} ms, {len(big)}: {big_time * 1e3:.2f} ms"
