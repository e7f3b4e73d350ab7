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

from proxy_addon.core.message import Message

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
    # Each step: (any depth, local names or None for any element, the same as lxml tag filters).
    steps: list[tuple[bool, frozenset[str] | None, tuple]] = []
    descend = False
    for segment in filter(None, rest.split("/")):
        if not _SEGMENT.match(segment):
            raise SelectorError(f"selector {expression!r}: bad step {segment!r}")
        if segment == "**":
            descend = True
            continue
        if segment == "*":
            names, tags = None, (etree.Element,)
        else:
            names = frozenset(n.strip() for n in segment.strip("{}").split(","))
            tags = tuple("{*}" + n for n in sorted(names))
        steps.append((descend, names, tags))
        descend = False

    def select(message: Message) -> list[Element]:
        start = anchor(message)
        if start is None:
            return []
        current = [start]
        for any_depth, names, tags in steps:
            found: list[Element] = []
            for node in current:
                if any_depth:  # lxml walks the subtree in C, making objects only for matches
                    found.extend(node.iterdescendants(*tags))
                else:  # children come from the message's per-element index, shared by all rules
                    found.extend(message.children(node).named(names))
            current = found
            if not current:
                break
        return current

    return select
