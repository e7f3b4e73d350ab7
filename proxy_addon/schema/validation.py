"""Schema validation of one message: WX007 schema-violation and WX008 misspelled-element.

    SchemaValidator(schema_dir=None).validate(message, document) -> list[Finding]

The envelope (serv:message, header, securityContext or response, body) and the operation's body are
validated separately, so a broken body never hides an envelope problem. The body's type comes from
bodyContent's xsi:type, which for requests is a Java class (java:com.webex.service.binding.user.
SetUser), not a QName XSD can resolve: the package names the namespace (.../service/user) and the
class the type (setUser). Responses name theirs (use:getUserResponse), or the engine passes the
operation. Each copy is checked by libxml2 first; only a message it rejects is validated again by
xmlschema, which lists every error with its element (see proxy_addon/schema/bundle.py).
"""

from __future__ import annotations

from collections.abc import Callable

from lxml import etree
from xmlschema import XMLSchemaChildrenValidationError, XMLSchemaValidationError

from proxy_addon.core.findings import Finding, Fix
from proxy_addon.core.message import Message, local_name
from proxy_addon.core.namespaces import SERVICE_NS, WELL_KNOWN_PREFIXES
from proxy_addon.core.parsing import PLAIN_VOICE, ParsedDocument, Voice
from proxy_addon.core.redaction import redact
from proxy_addon.schema.bundle import (
    ENVELOPE_TAG,
    SchemaBundle,
    SchemaLoadError,
    bundle_for,
)
from proxy_addon.schema.messages import (
    describe,
    expected_names,
    misspelling_text,
    written_name,
)
from proxy_addon.schema.normalize import Misspelling, NormalizedCopy, normalized_copy

__all__ = ["SchemaLoadError", "SchemaValidator"]

class SchemaValidator:
    """Validates messages against our XSDs, or against the bundle in `schema_dir`.

    Construction is free; the bundle is loaded (once per process and directory) on first use, or
    by `load()`, which raises SchemaLoadError naming the file and the problem.
    """

    def __init__(self, schema_dir: str | None = None, *, use_lxml: bool = True, voice: Voice | None = None):
        self.schema_dir = schema_dir
        self.voice = voice  # the rule set whose WX007/WX008 words and severities the findings carry
        self.use_lxml = use_lxml  # False: xmlschema validates every message (benchmarks, debugging)
        self._bundle: SchemaBundle | None = None

    def load(self) -> SchemaValidator:
        if self._bundle is None:
            self._bundle = bundle_for(self.schema_dir).load()
        return self

    @property
    def bundle(self) -> SchemaBundle:
        return self.load()._bundle  # type: ignore[return-value]

    def validate(self, message: Message, document: ParsedDocument) -> list[Finding]:
        bundle = self.bundle
        report = _Report(message, document, self.voice or document.voice or PLAIN_VOICE)
        gate = bundle.lxml if self.use_lxml else None
        spelling = message.direction == "request"
        if local_name(message.root) == "message":  # another root is WX003's business
            envelope = bundle.envelope
            copy = normalized_copy(message.root, ENVELOPE_TAG, envelope.type, bundle, spelling=spelling,
                                   leave_empty=_is_body_content, nsmap={"serv": SERVICE_NS})
            _check(gate, copy, envelope, report, "the envelope schema", ignore=_is_body_content)
        body = _body_type(bundle, message)
        if body is not None and message.body_content is not None:
            qname, xsd_type = body
            copy = normalized_copy(message.body_content, bundle.driver_tag(qname), xsd_type, bundle,
                                   spelling=spelling)
            label = f"{message.operation or qname.rsplit('}', 1)[-1]} {message.direction}"
            _check(gate, copy, xsd_type, report, f"the {label} schema")
        return report.findings


def _is_body_content(element: etree._Element) -> bool:
    parent = element.getparent()
    return local_name(element) == "bodyContent" and parent is not None and local_name(parent) == "body"


def _body_type(bundle: SchemaBundle, message: Message):
    """("{ns}name", type) of the body, or None when the operation has no schema in the bundle."""
    operation = message.operation
    if message.direction == "request" or (message.body_type or "").startswith("java"):
        if not operation or not message.package:
            return None
        namespace = f"{SERVICE_NS}/{message.package.replace('.', '/')}"
        return bundle.find_type(namespace, [_lower_first(operation), operation])
    if message.direction != "response":
        return None
    declared = (message.body_type or "").strip()
    if declared:
        prefix, _, name = declared.rpartition(":")
        nsmap = message.body_content.nsmap if message.body_content is not None else {}
        namespace = nsmap.get(prefix or None) or WELL_KNOWN_PREFIXES.get(prefix)
        return bundle.find_type(namespace if namespace and namespace.startswith(SERVICE_NS) else None, [name])
    if operation:
        return bundle.find_type(None, [f"{_lower_first(operation)}Response"])
    return None


def _lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


_CASES = {"WX007": "violation", "WX008": "misspelled"}


class _Report:
    """The findings of one message, one per element and text, positioned in the source."""

    def __init__(self, message: Message, document: ParsedDocument, voice: Voice):
        self.message = message
        self.voice = voice
        self.document = document
        self.findings: list[Finding] = []
        self._seen: set[tuple[str, int, str]] = set()

    def add(self, rule: str, element: etree._Element, text: str, fix: Fix | None = None) -> None:
        message = self.message
        index = message.element_index(element)
        key = (rule, index, text)
        if key in self._seen:
            return
        self._seen.add(key)
        position = self.document.source_map.element_position(index) if self.document.text else None
        line, column = position or (element.sourceline or 1, 1)
        name, severity, text = self.voice.describe(rule, _CASES[rule], {"reason": text})
        self.findings.append(Finding(
            rule, name, severity, redact(text, message.secrets), line, column, self.document.path,
            operation=message.operation, direction=message.direction, fix=fix, element_index=index,
        ))


def _check(gate: etree.XMLSchema | None, copy: NormalizedCopy, component, report: _Report,
           schema: str, ignore: Callable[[etree._Element], bool] | None = None) -> None:
    """Report the copy's misspellings (WX008) and its schema errors (WX007), one finding each.

    `gate` (libxml2) answers valid/invalid fast; xmlschema then lists every error of an invalid
    copy. `ignore(original)` drops errors about an element's own content (the envelope's view of
    bodyContent: an official bundle may declare it abstract, and its content is the body's check).
    """
    misspelled = {m.element: m for m in copy.misspellings}
    for item in copy.misspellings:
        report.add("WX008", item.element, misspelling_text(item, schema), _rename_fix(item, report))
    if gate is not None and gate.validate(copy.root):
        return
    whole = copy.origin[copy.root]
    errors = list(component.iter_errors(copy.root))
    for error in errors:
        owner = copy.original(error.elem)
        if ignore is not None and owner is not None and ignore(owner):
            continue
        subject = copy.original(_subject(error))
        subject = whole if subject is None else subject
        if not _explained_by_misspelling(error, subject, misspelled):
            report.add("WX007", subject, describe(error, copy, schema))
    if not errors and gate is not None:  # libxml2 objects where xmlschema does not: say what it says
        problem = gate.error_log.last_error
        report.add("WX007", whole, f"{schema}: {problem.message if problem else 'not valid'}")


def _subject(error: XMLSchemaValidationError) -> etree._Element | None:
    if isinstance(error, XMLSchemaChildrenValidationError) and error.invalid_tag is not None:
        return error.elem[error.index]
    return error.elem


def _explained_by_misspelling(error, subject: etree._Element, misspelled: dict) -> bool:
    """The misspelled element, anything inside it, or the element it should have been (missing)."""
    element = subject
    while element is not None:
        if element in misspelled:
            return True
        element = element.getparent()
    if isinstance(error, XMLSchemaChildrenValidationError) and error.invalid_tag is None:
        wanted = set(expected_names(error))
        return any(m.parent is subject and m.suggestion in wanted for m in misspelled.values())
    return False


def _rename_fix(item: Misspelling, report: _Report) -> Fix | None:
    """Rename the start and end tags, keeping the prefix, attributes and content as written."""
    document = report.document
    if document.text is None:
        return None
    index = report.message.element_index(item.element)
    spans = document.source_map.spans
    if index >= len(spans):
        return None
    span = spans[index]
    source = document.text[span.start:span.end]
    written = written_name(item.element)
    renamed = item.element.prefix + ":" + item.suggestion if item.element.prefix else item.suggestion
    if not source.startswith("<" + written):
        return None
    replacement = "<" + renamed + source[len(written) + 1:]
    closing = f"</{written}"
    if span.content_end < span.end:  # has an end tag
        cut = replacement.rfind(closing)
        if cut < 0:
            return None
        replacement = replacement[:cut] + f"</{renamed}" + replacement[cut + len(closing):]
    return Fix(f"rename <{written}> to <{renamed}>", False, "replace-element", index, replacement)

