"""`given` selectors: short, namespace-agnostic paths into a message.

    $body/enableOptions/{HQvideo,HDvideo}    children of bodyContent, by local name
    $body/**/autoRecord                      at any depth below bodyContent
    $security/siteID                         header/securityContext
    $response/exceptionID                    header/response (responses)

Real clients qualify the same element differently (`use:privilege`, `privilege`), so names match
local names only.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from lxml import etree

from .message import Message, child, local_name

Element = etree._Element
Selector = Callable[[Message], list[Element]]


def _header_child(name: str) -> Callable[[Message], Element | None]:
    return lambda message: child(child(message.root, "header"), name)


ANCHORS: dict[str, Callable[[Message], Element | None]] = {
    "$root": lambda message: message.root,
    "$header": lambda message: child(message.root, "header"),
    "$security": _header_child("securityContext"),
    "$response": _header_child("response"),
    "$body": lambda message: message.body_content,
}

_SEGMENT = re.compile(r"^(\*\*|\*|[A-Za-z_][\w.-]*|\{[A-Za-z_][\w.-]*(?:,\s*[A-Za-z_][\w.-]*)*\})$")


class SelectorError(ValueError):
    pass


def compile_selector(expression: str) -> Selector:
    anchor_name, _, rest = expression.strip().partition("/")
    if anchor_name not in ANCHORS:
        raise SelectorError(f"selector {expression!r} must start with one of {', '.join(ANCHORS)}")
    anchor = ANCHORS[anchor_name]
    steps: list[tuple[bool, frozenset[str] | None]] = []  # (any depth, names or None for *)
    descend = False
    for segment in filter(None, rest.split("/")):
        if not _SEGMENT.match(segment):
            raise SelectorError(f"selector {expression!r}: bad step {segment!r}")
        if segment == "**":
            descend = True
            continue
        names = None if segment == "*" else frozenset(n.strip() for n in segment.strip("{}").split(","))
        steps.append((descend, names))
        descend = False

    def select(message: Message) -> list[Element]:
        start = anchor(message)
        if start is None:
            return []
        current = [start]
        for any_depth, names in steps:
            found: list[Element] = []
            for node in current:
                candidates = node.iterdescendants() if any_depth else iter(node)
                found.extend(
                    el for el in candidates
                    if isinstance(el.tag, str) and (names is None or local_name(el) in names)
                )
            current = found
            if not current:
                break
        return current

    return select
