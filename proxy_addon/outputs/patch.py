"""`check --diff`: a unified diff that `git apply` and `patch -p1` apply, and that never prints a credential.

A hunk's context is what lets a patch tool find its place; a context line whose credential was masked
(`<password>***</password>`) matches nothing in the file, so the hunk is rejected. Such lines are kept
out of the context instead (a hunk may have less context on one side: unified diffs allow it). A
change to a line that itself holds a credential (a one-line message) cannot be shown without it: a
note names the file and line and says that `--fix` applies it, in place of a hunk.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from difflib import SequenceMatcher

CONTEXT = 3
NO_NEWLINE = "\\ No newline at end of file\n"


@dataclass
class Patch:
    text: str = ""  # the hunks, with their file header; "" when nothing could be shown
    withheld: list[int] = field(default_factory=list)  # 1-based lines of changes shown only as a note


def unified_patch(before: str, after: str, path: str, hidden: Callable[[str], Collection[int]]) -> Patch:
    """The diff of `before` → `after` as `a/PATH`, `b/PATH`; `hidden(text)` names the (0-based)
    lines of a text that must not be printed."""
    old, new = _lines(before), _lines(after)
    hidden_old, hidden_new = hidden(before), hidden(after)
    patch = Patch()
    # The whole file as one sequence of marked lines: " " unchanged, "-"/"+" changed, "?" a line
    # the patch leaves as it is but that cannot be printed (a hunk must not reach across it).
    body: list[tuple[str, str]] = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag == "equal":
            body += [("?" if i in hidden_old else " ", old[i]) for i in range(i1, i2)]
        elif any(i in hidden_old for i in range(i1, i2)) or any(j in hidden_new for j in range(j1, j2)):
            patch.withheld.append(i1 + 1)
            body += [("?", line) for line in old[i1:i2]]
        else:
            body += [("-", line) for line in old[i1:i2]] + [("+", line) for line in new[j1:j2]]
    hunks = "".join(_hunks(body))
    if hunks:
        patch.text = f"--- a/{path}\n+++ b/{path}\n" + hunks
    return patch


def _lines(text: str) -> list[str]:
    """Lines ending at "\\n" only (str.splitlines also breaks at \\x85, \\u2028... inside values)."""
    lines = [line + "\n" for line in text.split("\n")]
    lines[-1] = lines[-1][:-1]
    return lines if lines[-1] else lines[:-1]


def _hunks(body: list[tuple[str, str]]) -> Iterator[str]:
    """Hunks of at most CONTEXT unchanged lines around each run of changes; a "?" line is never shown
    and ends the context on its side."""
    old_line = new_line = 0  # lines of each side before body[index]
    index = 0
    while index < len(body):
        if body[index][0] not in "-+":
            old_line, new_line, index = old_line + 1, new_line + 1, index + 1
            continue
        # The context before this change: up to CONTEXT shown lines, back to the last "?" or change.
        start = index
        while start > 0 and index - start < CONTEXT and body[start - 1][0] == " ":
            start -= 1
        # Extend over changes, and over short runs of shown lines between them.
        end = index
        while end < len(body):
            if body[end][0] in "-+":
                end += 1
                continue
            run = end
            while run < len(body) and body[run][0] == " ":
                run += 1
            if run < len(body) and body[run][0] in "-+" and run - end <= 2 * CONTEXT:
                end = run
                continue
            end = min(run, end + CONTEXT)
            break
        piece = body[start:end]
        before = index - start
        old_start, new_start = old_line - before, new_line - before
        old_count = sum(1 for mark, _ in piece if mark in " -")
        new_count = sum(1 for mark, _ in piece if mark in " +")
        lines = [f"@@ -{_range(old_start, old_count)} +{_range(new_start, new_count)} @@\n"]
        lines += [mark + line if line.endswith("\n") else mark + line + "\n" + NO_NEWLINE for mark, line in piece]
        yield "".join(lines)
        for mark, _ in body[index:end]:
            old_line += mark in " -"
            new_line += mark in " +"
        index = end


def _range(start: int, count: int) -> str:
    """A unified diff range: 1-based first line and count; an empty range names the line before it."""
    if count == 0:
        return f"{start},0"
    return f"{start + 1}" if count == 1 else f"{start + 1},{count}"
