"""The protocol view of a parsed serv:message: who sent what, to which site, and what came back."""

from __future__ import annotations

import functools
import re

from lxml import etree

from proxy_addon.core.frozen import LazyPattern, Plain
from proxy_addon.core.namespaces import SERVICE_NS, XSI_NS
from proxy_addon.core.redaction import is_secret_name

# Packages may be dotted: teleconference sessions live in "meeting.auo".
REQUEST_TYPE = LazyPattern(
    r"^java:com\.webex\.service\.binding\.(?P<package>[a-z]+(?:\.[a-z]+)*)\.(?P<operation>[A-Z][A-Za-z]*)$"
)
# What a broken-but-recognisable request type looks like (java.com..., doubled dots, line breaks):
#   java:com.webex.service.binding.PACKAGE.OPERATION, case-insensitive, spaces around any dot, dots
#   repeated, PACKAGE dotted, OPERATION a letter then letters and spaces, nothing after but spaces.
# Read in parts (_lenient_request_type) rather than by one pattern: the pattern's lazy package and
# operation, each followed by spaces, backtracked over every split (a type ending in 100,000 spaces
# and a digit took 42 s).
# "xmlapi." after "webex." is a form integrations copy from one another; no sample shows it.
_LENIENT_PREFIX = LazyPattern(
    r"java\s*+[:.]\s*+com\s*+\.\s*+webex\s*+\.\s*+(?:xmlapi\s*+\.\s*+)?service\s*+\.\s*+binding\s*+\.++\s*+",
    re.IGNORECASE)
# <package>.<Operation> without the java: prefix, in a package the guide's operations live in (so
# that a word with a dot is not taken for one; CreateSupportSession's sample writes supportsession):
# it names the operation, and is well formed only
# where a reference-guide request sample writes it. The LstTimeZone sample writes site.LstTimeZone;
# every other sample read writes the full form (docs/api-40.md, "Request samples read for WX004").
_SHORT_REQUEST_TYPE = LazyPattern(
    r"^(?P<package>attendee|ep|event|history|meeting|meeting\.auo|meetingtype|sales|site|support|supportsession|training|user)"
    r"\.(?P<operation>[A-Z][A-Za-z]*)$")
DOCUMENTED_SHORT_TYPES = frozenset({("site", "lsttimezone")})  # (package, operation in lower case)
_LENIENT_PACKAGE = LazyPattern(r"[a-z]++(?:\s*+\.++\s*+[a-z]++)*+", re.IGNORECASE)
_LENIENT_OPERATION = LazyPattern(r"\s*+(?P<operation>[A-Z][A-Za-z\s]*+)", re.IGNORECASE)
RESPONSE_TYPE = LazyPattern(r"^(?:[\w.-]+:)?(?P<operation>\w+?)Response$")


def local_name(element: etree._Element) -> str:
    return local_name_of(element.tag)


_LOCAL_NAMES: dict[object, str] = {}


def local_name_of(tag: object) -> str:
    """The local name in an lxml tag ("{ns}name" or "name"); "" for comments, processing instructions
    and entities. Remembered: the same few tags recur in every message."""
    name = _LOCAL_NAMES.get(tag)
    if name is None:
        if len(_LOCAL_NAMES) > 4096:  # names come from traffic: keep the memo bounded
            _LOCAL_NAMES.clear()
        name = _LOCAL_NAMES[tag] = tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""
    return name


def child(element: etree._Element | None, name: str) -> etree._Element | None:
    """The first child with this local name, in any namespace or none."""
    if element is None:
        return None
    return next(element.iterchildren("{*}" + name), None)


def text_of(element: etree._Element | None) -> str | None:
    if element is None:
        return None
    if not len(element):  # a leaf (most values): its text is all there is, without an iterator
        return (element.text or "").strip()
    return "".join(element.itertext()).strip()


class ChildIndex:
    """An element's child elements in document order, with their local names, and grouped by name."""

    __slots__ = ("by_name", "element", "ordered")

    def __init__(self, element: etree._Element, ordered: list[tuple[str, etree._Element]] | None = None):
        self.element = element  # held so that id(element) stays this node's while the index lives
        if ordered is None:
            local_names = _LOCAL_NAMES
            ordered = []
            for item in element:
                tag = item.tag
                name = local_names.get(tag) or local_name_of(tag)
                if name:  # comments and processing instructions have no name
                    ordered.append((name, item))
        self.ordered = ordered
        by_name: dict[str, list[etree._Element]] = {}
        for name, item in ordered:
            found = by_name.get(name)
            if found is None:
                by_name[name] = [item]
            else:
                found.append(item)
        self.by_name = by_name

    def first(self, name: str) -> etree._Element | None:
        found = self.by_name.get(name)
        return found[0] if found else None

    def named(self, names: frozenset[str] | None) -> list[etree._Element]:
        """Children whose local name is one of `names` (every child element when None), in order."""
        if names is None:
            return [item for _, item in self.ordered]
        if len(names) == 1:
            return list(self.by_name.get(next(iter(names)), ()))
        return [item for name, item in self.ordered if name in names]


class Message(Plain):  # not a dataclass: creating one costs `check` start-up (core/frozen.py)
    _FIELDS = ("root", "direction", "root_namespace", "body_content", "body_type", "operation", "package",
               "security", "result", "reason", "exception_id", "header", "security_context", "response")
    root: etree._Element
    direction: str  # "request" | "response" | "unknown"
    root_namespace: str | None
    body_content: etree._Element | None
    body_type: str | None  # the raw xsi:type
    operation: str | None
    package: str | None
    security: dict[str, str]
    result: str | None
    reason: str | None
    exception_id: str | None
    header: etree._Element | None
    security_context: etree._Element | None
    response: etree._Element | None

    def __init__(self, root: etree._Element, direction: str, root_namespace: str | None,
                 body_content: etree._Element | None, body_type: str | None, operation: str | None,
                 package: str | None, security: dict[str, str] | None = None, result: str | None = None,
                 reason: str | None = None, exception_id: str | None = None, header: etree._Element | None = None,
                 security_context: etree._Element | None = None, response: etree._Element | None = None):
        self.root = root
        self.direction = direction
        self.root_namespace = root_namespace
        self.body_content = body_content
        self.body_type = body_type
        self.operation = operation
        self.package = package
        self.security = {} if security is None else security
        self.result = result
        self.reason = reason
        self.exception_id = exception_id
        self.header = header
        self.security_context = security_context
        self.response = response

    @property
    def secrets(self) -> frozenset[str]:
        """Literal credential values in this message, to mask wherever they are quoted.

        Computed on first use: most messages produce no finding and never need it.
        """
        cached = self.__dict__.get("_secrets")
        if cached is None:
            cached = self.__dict__["_secrets"] = self._find_secrets()
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
        """Position of `element` in document order, elements only (root = 0).

        The first few are counted by libxml2 (most messages have a finding or two); past them every
        element is indexed in one walk, so that thousands of findings stay linear.
        """
        index_map = self.__dict__.get("_index_map")
        if index_map is not None:
            return index_map[id(element)]
        counted = self.__dict__.get("_indexes_counted", 0)
        if counted < _COUNTED_INDEXES:
            self.__dict__["_indexes_counted"] = counted + 1
            return int(_ELEMENTS_BEFORE(element))
        elements = list(self.root.iter(etree.Element))
        # lxml hands out the same proxy object for a node only while one is alive: the list is kept
        # with the map to keep the ids stable.
        self.__dict__["_elements"] = elements
        index_map = self.__dict__["_index_map"] = dict(zip(map(id, elements), range(len(elements))))
        return index_map[id(element)]

    def children(self, element: etree._Element) -> ChildIndex:
        """The children of `element` by local name, indexed on first use and kept for the message."""
        memo = self.__dict__.setdefault("_children", {})
        index = memo.get(id(element))
        if index is None:
            index = memo[id(element)] = ChildIndex(element)
        return index

    def _find_secrets(self) -> frozenset[str]:
        # The parser may have found the credential elements already (an undeclared prefix's report).
        elements = self.__dict__.get("_credential_elements")
        if elements is None:
            known = SECRET_TAGS.get  # read first: a call per element costs more than the walk
            elements = (element for element in self.root.iter(etree.Element)
                        if (secret := known(tag := element.tag)) or (secret is None and is_secret_tag(tag)))
        # The whole value: a comment or PI inside it (<password>sec<!---->ret</password>) splits
        # element.text, but the server reads it whole and may echo it whole.
        return frozenset(value for element in elements if (value := text_of(element)))


# An element's index in document order: the elements before it that are not its ancestors, and those.
_ELEMENTS_BEFORE = etree.XPath("count(preceding::*) + count(ancestor::*)")
_COUNTED_INDEXES = 4


SECRET_TAGS: dict[str, bool] = {}  # is_secret_tag's memo (full tag: whether secret); callers may read it


def is_secret_tag(tag: str) -> bool:
    """is_secret_name for a full lxml tag (Clark notation), remembered: the same few tags recur in every message."""
    known = SECRET_TAGS.get(tag)
    if known is None:
        if len(SECRET_TAGS) > 4096:  # hostile input may invent names without end
            SECRET_TAGS.clear()
        known = SECRET_TAGS[tag] = is_secret_name(tag.rsplit("}", 1)[-1])
    return known


@functools.lru_cache(maxsize=512)  # every client sends the same few types; hostile ones are evicted
def operation_from_request_type(body_type: str) -> tuple[str | None, str | None, bool]:
    """(package, operation, well_formed) from a request's xsi:type."""
    stripped = body_type.strip()
    strict = REQUEST_TYPE.match(stripped)
    if strict:
        return strict.group("package"), strict.group("operation"), body_type == stripped
    short = _SHORT_REQUEST_TYPE.match(stripped)
    if short:
        package, operation = short.group("package"), short.group("operation")
        documented = (package, operation.lower()) in DOCUMENTED_SHORT_TYPES
        return package, operation, documented and body_type == stripped
    lenient = _lenient_request_type(body_type)
    if lenient:
        package = re.sub(r"[\s.]+", ".", lenient[0].lower())
        return package, re.sub(r"\s+", "", lenient[1]), False
    return None, None, False


def _lenient_request_type(text: str) -> tuple[str, str] | None:
    """(package, operation) as written, from the first "java...binding." whose rest is a package,
    dots and an operation; linear in the text.

    The operation holds no dot, so it follows the text's last run of dots and the package is all
    between the prefix and that run: one place to split, found once. A package that does not read
    from one prefix fails at the same place from any later prefix before that place, so those are
    skipped, and no character is read twice.
    """
    last_dot = text.rfind(".")
    if last_dot < 0:
        return None
    operation = _LENIENT_OPERATION.fullmatch(text, last_dot + 1)
    if operation is None:
        return None
    package_end = last_dot
    while package_end > 0 and text[package_end - 1] == ".":
        package_end -= 1
    while package_end > 0 and text[package_end - 1].isspace():
        package_end -= 1
    failed_at = -1
    for prefix in _LENIENT_PREFIX.finditer(text):
        start = prefix.end()
        if start <= failed_at:
            continue
        if start >= package_end:
            break
        package = _LENIENT_PACKAGE.match(text, start, package_end)
        if package is None:
            continue
        if package.end() == package_end:
            return text[start:package_end], operation.group("operation")
        failed_at = package.end()
    return None


def _first_children(element: etree._Element, first: str, second: str) -> tuple[etree._Element | None, etree._Element | None]:
    """The first child named `first` and the first named `second`, in one pass over the children."""
    found_first = found_second = None
    for item in element:
        name = _LOCAL_NAMES.get(item.tag) or local_name_of(item.tag)
        if name == first:
            if found_first is None:
                found_first = item
        elif name == second and found_second is None:
            found_second = item
    return found_first, found_second


_XSI_TYPE = f"{{{XSI_NS}}}type"


def build_message(root: etree._Element, direction_hint: str | None = None) -> Message:
    # Only what every message needs is looked up here, each parent's children in one pass; the rest
    # (other child indexes, element indexes, secrets) is built when a rule or a finding asks.
    header, body = _first_children(root, "header", "body")
    security_el = response_el = None
    if header is not None:
        security_el, response_el = _first_children(header, "securityContext", "response")
    # Some clients (and one release-note example) put bodyContent straight under the root.
    body_content = _first_children(body if body is not None else root, "bodyContent", "")[0]
    body_type = body_content.get(_XSI_TYPE) if body_content is not None else None

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

    security: dict[str, str] = {}
    indexes = {}
    if security_el is not None:
        # The securityContext's children are read here anyway: their index is kept for the rules.
        ordered = []
        for item in security_el:
            name = _LOCAL_NAMES.get(item.tag) or local_name_of(item.tag)
            if name:
                ordered.append((name, item))
                security[name] = (item.text or "").strip()
        indexes[id(security_el)] = ChildIndex(security_el, ordered)
    tag = root.tag
    namespace = (tag[1:tag.index("}")] if tag[:1] == "{" else None) if isinstance(tag, str) else None
    result = reason = exception_id = None
    if response_el is not None:
        outcome = indexes[id(response_el)] = ChildIndex(response_el)
        result, reason, exception_id = (text_of(outcome.first(name)) for name in ("result", "reason", "exceptionID"))
    message = Message(
        root=root,
        direction=direction,
        root_namespace=namespace,
        body_content=body_content,
        body_type=body_type,
        operation=operation,
        package=package,
        security=security,
        result=result,
        reason=reason,
        exception_id=exception_id,
        header=header,
        security_context=security_el,
        response=response_el,
    )
    if indexes:
        message.__dict__["_children"] = indexes
    return message


def is_service_namespace(namespace: str | None) -> bool:
    return namespace == SERVICE_NS


def exception_key(exception_id: str) -> str:
    """An exceptionID as the catalog keys it: B1006 writes 000015 as "00015", so digits are padded to six."""
    value = exception_id.strip()
    return value.lstrip("0").zfill(6) if value.isascii() and value.isdigit() else value
