"""`given` selectors: short, namespace-agnostic paths into a message.

    $body/enableOptions/{HQvideo,HDvideo}    children of bodyContent, by local name
    $body/**/autoRecord                      at any depth below bodyContent
    $security/siteID                         header/securityContext
    $response/exceptionID                    header/response (responses)

Real clients qualify the same element differently (`use:privilege`, `privilege`), so names match
local names only.

A selector that starts with `**` from its anchor ("a search") is the one that costs: it walks the
subtree. The rules that can run on one kind of message share their searches (`Searches`): one
walk per anchor finds what all of them look for, and each takes its names from it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from operator import attrgetter

from lxml import etree

from proxy_addon.core.message import Message

Element = etree._Element


# attrgetter rather than lambdas: read per rule per message, a call into C costs half a Python call.
ANCHORS: dict[str, Callable[[Message], Element | None]] = {
    "$root": attrgetter("root"),
    "$header": attrgetter("header"),
    "$security": attrgetter("security_context"),
    "$response": attrgetter("response"),
    "$body": attrgetter("body_content"),
}

_SEGMENT = re.compile(r"^(\*\*|\*|[A-Za-z_][\w.-]*|\{[A-Za-z_][\w.-]*(?:,\s*[A-Za-z_][\w.-]*)*\})$")
# Where a message keeps the walks of the searches it was given (Searches.install).
_WALKS = "_selector_walks"


class SelectorError(ValueError):
    pass


def _tags(names: frozenset[str] | None) -> tuple:
    """lxml tag filters for these local names (any element when None)."""
    return (etree.Element,) if names is None else tuple("{*}" + n for n in sorted(names))


class Selector:
    """A compiled selector: called with a message, the matching elements in document order."""

    __slots__ = ("anchor", "anchor_name", "child_name", "expression", "steps")

    def __init__(self, expression: str):
        anchor_name, _, rest = expression.strip().partition("/")
        if anchor_name not in ANCHORS:
            raise SelectorError(f"selector {expression!r} must start with one of {', '.join(ANCHORS)}")
        self.expression = expression
        self.anchor_name = anchor_name
        self.anchor = ANCHORS[anchor_name]
        # Each step: (any depth, local names or None for any element, the same as lxml tag filters).
        steps: list[tuple[bool, frozenset[str] | None, tuple]] = []
        descend = False
        for segment in filter(None, rest.split("/")):
            if not _SEGMENT.match(segment):
                raise SelectorError(f"selector {expression!r}: bad step {segment!r}")
            if segment == "**":
                descend = True
                continue
            names = None if segment == "*" else frozenset(n.strip() for n in segment.strip("{}").split(","))
            steps.append((descend, names, _tags(names)))
            descend = False
        self.steps = tuple(steps)
        # $security/siteID, $body/metaData ...: one child by name, the shape of most selectors,
        # looked up in the message's index of the anchor's children without the general loop.
        only = steps[0][1] if len(steps) == 1 and not steps[0][0] else None
        self.child_name = next(iter(only)) if only is not None and len(only) == 1 else None

    @property
    def searches(self) -> bool:
        """Whether the first step is a search below the anchor (what Searches can share)."""
        return bool(self.steps) and self.steps[0][0]

    def __call__(self, message: Message) -> list[Element]:
        start = self.anchor(message)
        if start is None:
            return []
        if self.child_name is not None:
            found = message.children(start).by_name.get(self.child_name)
            return list(found) if found else []
        steps = self.steps
        if steps and steps[0][0]:
            current = _search(message, self.anchor_name, start, steps[0][1])
            steps = steps[1:]
        else:
            current = [start]
        for any_depth, names, tags in steps:
            if not current:
                break
            found: list[Element] = []
            for node in current:
                if any_depth:  # lxml walks the subtree in C, making objects only for matches
                    found.extend(node.iterdescendants(*tags))
                else:  # children come from the message's per-element index, shared by all rules
                    found.extend(message.children(node).named(names))
            current = found
        return current

    def matcher(self) -> Callable[[Message], list[Element]]:
        """What calling the selector does, as one function for its shape: the anchor itself, or one
        child of it by name (most selectors) are looked up without the general loop over steps."""
        anchor = self.anchor
        if not self.steps:
            def anchor_only(message: Message) -> list[Element]:
                start = anchor(message)
                return [start] if start is not None else []
            return anchor_only
        name = self.child_name
        if name is not None:
            def one_child(message: Message) -> list[Element]:
                start = anchor(message)
                if start is None:
                    return []
                found = message.children(start).by_name.get(name)
                return list(found) if found else []
            return one_child
        return self.__call__

    def __repr__(self) -> str:
        return f"Selector({self.expression!r})"


def compile_selector(expression: str) -> Selector:
    return Selector(expression)


def _search(message: Message, anchor_name: str, start: Element, names: frozenset[str] | None) -> list[Element]:
    """The elements below `start` with these local names, from the message's shared walk when the
    rules being run asked for one that covers them."""
    walks = message.__dict__.get(_WALKS)
    planned = walks.get(anchor_name) if walks else None
    if planned is None or not (planned[0] is None or (names is not None and names <= planned[0])):
        return list(start.iterdescendants(*_tags(names)))
    if planned[1] is None:  # walked on first use: rules whose `when` does not hold never pay for it
        planned[1] = _walk(start, planned[0])
    if names is None:
        return [element for _, element in planned[1]]
    return [element for name, element in planned[1] if name in names]


_LOCAL_NAMES: dict[object, str] = {}  # lxml tag -> local name ("" for comments and processing instructions)


def _walk(start: Element, names: frozenset[str] | None) -> list[tuple[str, Element]]:
    """(local name, element) below `start` for these names, in document order.

    One walk without lxml's tag filter, names compared here: lxml's filter costs ~0.3 µs a name
    each time it is set up, so for the ~20 names the rules of a request search for (the dates
    alone are 18) a plain walk costs half as much, and one walk serves every search of the plan.
    """
    found = []
    local_names = _LOCAL_NAMES
    for element in start.iterdescendants():
        tag = element.tag
        name = local_names.get(tag)
        if name is None:
            if len(local_names) > 4096:  # names come from traffic: keep the memo bounded
                local_names.clear()
            name = local_names[tag] = tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""
        if name and (names is None or name in names):
            found.append((name, element))
    return found


# Fewer names than this, searched once from an anchor: lxml's own filter costs less than a walk.
_FILTER_NAMES = 4


class Searches:
    """The searches of a set of rules, merged: per anchor, the union of the names they look for.

    Built once per plan (the rules of one kind of message); `install` gives a message the plan's
    walks, each made on first use and shared by every selector that searches from that anchor.
    """

    __slots__ = ("unions",)

    def __init__(self, selectors: Iterable[Selector]):
        unions: dict[str, frozenset[str] | None] = {}
        counts: dict[str, int] = {}
        for selector in selectors:
            if not selector.searches:
                continue
            names = selector.steps[0][1]
            anchor = selector.anchor_name
            if anchor in unions:
                unions[anchor] = None if names is None or unions[anchor] is None else unions[anchor] | names
            else:
                unions[anchor] = names
            counts[anchor] = counts.get(anchor, 0) + 1
        self.unions = {anchor: names for anchor, names in unions.items()
                       if counts[anchor] > 1 or names is None or len(names) >= _FILTER_NAMES}

    def install(self, message: Message) -> None:
        if self.unions:
            message.__dict__[_WALKS] = {anchor: [names, None] for anchor, names in self.unions.items()}
