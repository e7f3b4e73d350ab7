"""Where each element of a message sits in its source text.

lxml knows an element's line but not its column or its byte span; fixes need spans and findings
need columns. This scans the decoded text once (only when a finding or fix asks) and lists the
elements in document order, the same order as `root.iter(etree.Element)`.
"""

from __future__ import annotations

import bisect
import re

from proxy_addon.core.frozen import Plain

# The DOCTYPE's internal subset ends at its first "]", runs possessive: (?:[^\[>]|\[.*?\])* tried every
# way of grouping "[]" pairs (exponential, as the sniffer's was: issue 21 High 1).
_TOKEN = re.compile(
    r"""<!--.*?-->
      | <!\[CDATA\[.*?\]\]>
      | <\?.*?\?>
      | <!DOCTYPE[^\[>]*+(?:\[[^\]]*+\][^\[>]*+)*+>
      | </(?P<end>[^\s>]+)\s*>
      | <(?P<start>[^\s/>!?]+)(?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*\s*(?P<empty>/?)>
    """,
    re.DOTALL | re.VERBOSE,
)


# Up to this offset a position is counted directly; past it (or once line_text asks) every line is indexed.
_COUNT_UP_TO = 4096
# In a small text the first few lines asked for are found by splitting it up to them (a finding or
# two in most messages); past that every line is indexed once, so that many findings stay linear.
_SPLIT_LOOKUPS = 4
_SPLIT_UP_TO_LINE = 256
_SPLIT_TEXT_UP_TO = 64 * 1024  # characters: the split copies the rest of the text


class Span(Plain):  # not a dataclass: creating one costs `check` start-up (core/frozen.py)
    __slots__ = _FIELDS = ("start", "content_start", "content_end", "end")
    start: int  # offset of "<" of the start tag
    content_start: int  # just after the start tag's ">"
    content_end: int  # offset of "<" of the end tag (== content_start for <empty/>)
    end: int  # just after the end tag's ">"

    def __init__(self, start: int, content_start: int, content_end: int, end: int):
        self.start, self.content_start, self.content_end, self.end = start, content_start, content_end, end


class SourceMap:
    def __init__(self, text: str):
        self.text = text
        self._newlines: list[int] | None = None
        self._spans: list[Span] | None = None
        self._starts: list[int] = []  # start tag offsets, scanned only as far as a position asked for
        self._tokens = None
        self._tag_columns: dict[tuple[int, str], tuple[list[int], int]] = {}  # (columns found, where to resume)
        self._split_lookups = 0

    def line_column(self, offset: int) -> tuple[int, int]:
        if self._newlines is None:
            if offset <= _COUNT_UP_TO:  # one early position (most findings of a parser): no index of every line
                line_start = self.text.rfind("\n", 0, offset) + 1
                return self.text.count("\n", 0, line_start) + 1, offset - line_start + 1
            self._newlines = _newline_offsets(self.text)
        line_index = bisect.bisect_left(self._newlines, offset)
        line_start = self._newlines[line_index - 1] + 1 if line_index else 0
        return line_index + 1, offset - line_start + 1

    @property
    def spans(self) -> list[Span]:
        if self._spans is None:
            self._spans = _scan(self.text)
        return self._spans

    def line_text(self, line: int) -> str:
        bounds = self._line_bounds(line)
        return self.text[bounds[0]:bounds[1]] if bounds else ""

    def _line_bounds(self, line: int) -> tuple[int, int] | None:
        if self._newlines is None:
            if 0 < line <= _SPLIT_UP_TO_LINE and self._split_lookups < _SPLIT_LOOKUPS \
                    and len(self.text) <= _SPLIT_TEXT_UP_TO:
                self._split_lookups += 1
                return _split_line_bounds(self.text, line)
            self._newlines = _newline_offsets(self.text)
        if line < 1 or line > len(self._newlines) + 1:
            return None
        start = self._newlines[line - 2] + 1 if line > 1 else 0
        end = self._newlines[line - 1] if line - 1 < len(self._newlines) else len(self.text)
        return start, end

    def start_tag_column(self, line: int, qname: str, occurrence: int) -> int | None:
        """Column of the `occurrence`-th (0-based) start tag <qname ...> on `line`, without a full scan.

        The scan stops at the tag asked for, and what it found is kept: the next finding on that line
        resumes there. (Scanning afresh for each finding made a long line with thousands of findings
        quadratic: a 200 KB one-line message of repeated <HQvideo> took 19 s.)
        """
        bounds = self._line_bounds(line)
        if bounds is None:
            return None
        line_start, line_end = bounds
        text, needle = self.text, "<" + qname
        columns, start = self._tag_columns.get((line, qname)) or ([], text.find(needle, line_start, line_end))
        while len(columns) <= occurrence and start >= 0:
            # str.find, not a regex: compiled per name, a regex cost more than the scan
            after = text[start + len(needle):start + len(needle) + 1] if start + len(needle) < line_end else ""
            if after in ("/", ">") or after.isspace():  # "" (end of line) is neither
                columns.append(start - line_start + 1)
            start = text.find(needle, start + 1, line_end)
        self._tag_columns[(line, qname)] = (columns, start)
        return columns[occurrence] if occurrence < len(columns) else None

    def element_position(self, index: int) -> tuple[int, int] | None:
        if index < 0:
            return None
        if self._spans is not None:
            return self.line_column(self._spans[index].start) if index < len(self._spans) else None
        # Only the start tags up to this one: a finding needs where its element starts, not every span.
        starts = self._starts
        if len(starts) <= index:
            if self._tokens is None:
                self._tokens = _TOKEN.finditer(self.text)
            for match in self._tokens:
                if match.group("start") is not None:
                    starts.append(match.start())
                    if len(starts) > index:
                        break
        return self.line_column(starts[index]) if index < len(starts) else None


def _split_line_bounds(text: str, line: int) -> tuple[int, int] | None:
    """_line_bounds without an index: split (in C) up to the line, no further."""
    rest = text.split("\n", line - 1)
    if len(rest) < line:
        return None
    start = len(text) - len(rest[-1])
    end = text.find("\n", start)
    return start, end if end >= 0 else len(text)


def _newline_offsets(text: str) -> list[int]:
    """Offsets of every "\n" (str.find runs at memchr speed; a regex scan of 5 MB took ~15 ms)."""
    offsets = []
    found = text.find("\n")
    while found >= 0:
        offsets.append(found)
        found = text.find("\n", found + 1)
    return offsets


def _scan(text: str) -> list[Span]:
    spans: list[Span] = []
    open_stack: list[int] = []
    for match in _TOKEN.finditer(text):
        if match.group("start") is not None:
            span = Span(match.start(), match.end(), match.end(), match.end())
            spans.append(span)
            if not match.group("empty"):
                open_stack.append(len(spans) - 1)
        elif match.group("end") is not None and open_stack:
            span = spans[open_stack.pop()]
            span.content_end = match.start()
            span.end = match.end()
    return spans
