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

from .message import Message

Element = etree._Element
Selector = Callable[[Message], list[Element]]


ANCHORS: dict[str, Callable[[Message], Element | None]] = {
    "$root": lambda message: message.root,
    "$header": lambda message: message.header,
    "$security": lambda message: message.security_context,
    "$response": lambda message: message.response,
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
    steps: list[tuple[bool, tuple]] = []  # (any depth, lxml tag filters matching any namespace)
    descend = False
    for segment in filter(None, rest.split("/")):
        if not _SEGMENT.match(segment):
            raise SelectorError(f"selector {expression!r}: bad step {segment!r}")
        if segment == "**":
            descend = True
            continue
        if segment == "*":
            tags: tuple = (etree.Element,)
        else:
            tags = tuple("{*}" + n.strip() for n in segment.strip("{}").split(","))
        steps.append((descend, tags))
        descend = False

    def select(message: Message) -> list[Element]:
        start = anchor(message)
        if start is None:
            return []
        current = [start]
        for any_depth, tags in steps:
            found: list[Element] = []
            for node in current:
                found.extend(node.iterdescendants(*tags) if any_depth else node.iterchildren(*tags))
            current = found
            if not current:
                break
        return current

    return select
