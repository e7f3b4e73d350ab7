"""The protocol view of a parsed serv:message: who sent what, to which site, and what came back."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

from .namespaces import SERVICE_NS, XSI_NS
from .redaction import is_secret_name

# Packages may be dotted: teleconference sessions live in "meeting.auo".
REQUEST_TYPE = re.compile(
    r"^java:com\.webex\.service\.binding\.(?P<package>[a-z]+(?:\.[a-z]+)*)\.(?P<operation>[A-Z][A-Za-z]*)$"
)
# What a broken-but-recognisable request type looks like (java.com..., doubled dots, line breaks).
LENIENT_REQUEST_TYPE = re.compile(
    r"java\s*[:.]\s*com\s*\.\s*webex\s*\.\s*service\s*\.\s*binding\s*\.+\s*"
    r"(?P<package>[a-z]+(?:\s*\.+\s*[a-z]+)*?)\s*\.+\s*(?P<operation>[A-Z][A-Za-z\s]*?)\s*$",
    re.IGNORECASE,
)
RESPONSE_TYPE = re.compile(r"^(?:[\w.-]+:)?(?P<operation>\w+?)Response$")


def local_name(element: etree._Element) -> str:
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def child(element: etree._Element | None, name: str) -> etree._Element | None:
    """The first child with this local name, in any namespace or none."""
    if element is None:
        return None
    return next(element.iterchildren("{*}" + name), None)


def text_of(element: etree._Element | None) -> str | None:
    if element is None:
        return None
    return "".join(element.itertext()).strip()


def children_by_name(element: etree._Element | None) -> dict[str, etree._Element]:
    """The first child of each local name: one pass instead of one search per name."""
    found: dict[str, etree._Element] = {}
    if element is not None:
        for item in element.iterchildren(etree.Element):
            found.setdefault(local_name(item), item)
    return found


@dataclass
class Message:
    root: etree._Element
    direction: str  # "request" | "response" | "unknown"
    root_namespace: str | None
    body_content: etree._Element | None
    body_type: str | None  # the raw xsi:type
    operation: str | None
    package: str | None
    security: dict[str, str] = field(default_factory=dict)
    result: str | None = None
    reason: str | None = None
    exception_id: str | None = None
    header: etree._Element | None = None
    security_context: etree._Element | None = None
    response: etree._Element | None = None

    @property
    def secrets(self) -> frozenset[str]:
        """Literal credential values in this message, to mask wherever they are quoted.

        Computed on first use: most messages produce no finding and never need it.
        """
        cached = self.__dict__.get("_secrets")
        if cached is None:
            cached = frozenset(
                value for el in self.root.iter(etree.Element)
                if is_secret_name(local_name(el)) and (value := (el.text or "").strip())
            )
            self.__dict__["_secrets"] = cached
        return cached

    @property
    def site_name(self) -> str | None:
        return self.security.get("siteName") or None

    @property
    def site_id(self) -> str | None:
        return self.security.get("siteID") or self.security.get("siteId") or None

    @property
    def webex_id(self) -> str | None:
        return self.security.get("webExID") or None

    @property
    def is_failure(self) -> bool:
        return (self.result or "").upper() == "FAILURE"

    def element_index(self, element: etree._Element) -> int:
        """Position of `element` in document order, elements only (root = 0)."""
        index_map = self.__dict__.get("_index_map")
        if index_map is None:
            # lxml hands out the same proxy object for a node only while one is alive, so the
            # element list is kept with the map to keep the ids stable.
            elements = list(self.root.iter(etree.Element))
            index_map = {id(el): i for i, el in enumerate(elements)}
            self.__dict__["_elements"] = elements
            self.__dict__["_index_map"] = index_map
        return index_map[id(element)]


def operation_from_request_type(body_type: str) -> tuple[str | None, str | None, bool]:
    """(package, operation, well_formed) from a request's xsi:type."""
    strict = REQUEST_TYPE.match(body_type.strip())
    if strict:
        return strict.group("package"), strict.group("operation"), body_type == body_type.strip()
    lenient = LENIENT_REQUEST_TYPE.search(body_type)
    if lenient:
        package = re.sub(r"[\s.]+", ".", lenient.group("package").lower())
        return package, re.sub(r"\s+", "", lenient.group("operation")), False
    return None, None, False


def build_message(root: etree._Element, direction_hint: str | None = None) -> Message:
    top = children_by_name(root)
    header = top.get("header")
    header_parts = children_by_name(header)
    security_el = header_parts.get("securityContext")
    response_el = header_parts.get("response")
    # Some clients (and one release-note example) put bodyContent straight under the root.
    body_content = child(top.get("body"), "bodyContent") if "body" in top else top.get("bodyContent")
    body_type = body_content.get(f"{{{XSI_NS}}}type") if body_content is not None else None

    if response_el is not None:
        direction = "response"
    elif security_el is not None or (body_type and "java" in body_type):
        direction = "request"
    else:
        direction = direction_hint or "unknown"

    package = operation = None
    if body_type:
        if direction == "response":
            found = RESPONSE_TYPE.match(body_type.strip())
            if found:
                name = found.group("operation")
                operation = name[:1].upper() + name[1:]
        else:
            package, operation, _ = operation_from_request_type(body_type)

    security = {local_name(el): (el.text or "").strip() for el in (security_el if security_el is not None else ()) if isinstance(el.tag, str)}
    namespace = etree.QName(root).namespace if isinstance(root.tag, str) else None
    outcome = children_by_name(response_el)
    return Message(
        root=root,
        direction=direction,
        root_namespace=namespace,
        body_content=body_content,
        body_type=body_type,
        operation=operation,
        package=package,
        security=security,
        result=text_of(outcome.get("result")),
        reason=text_of(outcome.get("reason")),
        exception_id=text_of(outcome.get("exceptionID")),
        header=header,
        security_context=security_el,
        response=response_el,
    )


def is_service_namespace(namespace: str | None) -> bool:
    return namespace == SERVICE_NS
