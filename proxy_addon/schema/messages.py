"""The words of WX007 and WX008: the XSD's reason in the message's own terms.

Element names are written as the message writes them (prefix:local), values are quoted and
clipped, types are named for people ("a whole number", "true or false"), and what the schema
expects instead is listed.
"""

from __future__ import annotations

from lxml import etree
from xmlschema import XMLSchemaChildrenValidationError, XMLSchemaValidationError
from xmlschema.validators import XsdAnyElement, XsdElement, XsdSimpleType

from proxy_addon.core.message import local_name
from proxy_addon.schema.normalize import Misspelling, NormalizedCopy

MAX_EXPECTED_NAMES = 12
_VALUE_LABELS = {
    "boolean": "true or false", "int": "a whole number", "long": "a whole number",
    "integer": "a whole number", "key": "a number", "float": "a number", "double": "a number",
    "decimal": "a number",
}


def describe(error: XMLSchemaValidationError, copy: NormalizedCopy, schema: str) -> str:
    """The XSD's reason in the message's own terms: element names as written, values quoted."""
    element = copy.original(error.elem)
    name = written_name(element)
    if isinstance(error, XMLSchemaChildrenValidationError):
        guide = copy.guides.get(error.elem)
        expected = expected_names(error) or (list(guide.children) if guide is not None else [])
        if error.invalid_tag is not None:
            child_element = copy.original(error.elem[error.index])
            child = written_name(child_element)
            if guide is not None and local_name(child_element) in guide.children:
                order = ", ".join(f"<{n}>" for n in list(guide.children)[:MAX_EXPECTED_NAMES])
                return (f"<{child}> is out of place in <{name}> by {schema} (out of order, or "
                        f"repeated); the schema's order is {order}")
            text = f"<{child}> is not allowed in <{name}> by {schema}"
            return text + (f"; expected {_name_list(expected)}" if expected else "")
        return f"<{name}> is incomplete by {schema}: missing {_name_list(expected) or 'content'}"
    reason = str(error.reason or "invalid")
    if "character data" in reason and element is not None:
        stray = next((t.strip() for t in [element.text, *(c.tail for c in element)] if t and t.strip()), "")
        return f"<{name}> contains text {_clip(stray)!r} where {schema} allows only elements"
    if "can't have child elements" in reason:
        return f"<{name}> holds child elements but {schema} makes it a simple value"
    value = getattr(error, "obj", None)
    label = _value_label(error.validator)
    if isinstance(value, str) and label:
        return f"<{name}> value {_clip(value)!r} is not {label} ({schema})"
    return f"<{name}>: {reason} ({schema})"


def expected_names(error: XMLSchemaChildrenValidationError) -> list[str]:
    names: list[str] = []
    for particle in error.expected or ():
        if isinstance(particle, XsdElement) and particle.local_name not in names:
            names.append(particle.local_name)
        elif isinstance(particle, XsdAnyElement) and "any element" not in names:
            names.append("any element")
    return names


def _name_list(names: list[str]) -> str:
    shown = [f"<{n}>" if n != "any element" else n for n in names[:MAX_EXPECTED_NAMES]]
    more = ", ..." if len(names) > MAX_EXPECTED_NAMES else ""
    return (shown[0] if len(shown) == 1 else "one of " + ", ".join(shown)) + more if shown else ""


def _value_label(validator) -> str | None:
    simple = validator if isinstance(validator, XsdSimpleType) else getattr(validator, "parent", None)
    while isinstance(simple, XsdSimpleType):
        label = _VALUE_LABELS.get(simple.local_name or "")
        if label:
            return label
        simple = getattr(simple, "base_type", None)
    return None


def written_name(element: etree._Element | None) -> str:
    """The element's name as the message writes it (prefix:local or local)."""
    if element is None:
        return "?"
    local = local_name(element)
    return f"{element.prefix}:{local}" if element.prefix else local


def _clip(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def misspelling_text(item: Misspelling, schema: str) -> str:
    written = written_name(item.element)
    case_only = local_name(item.element).casefold() == item.suggestion.casefold()
    why = "XML names are case-sensitive" if case_only else "one letter away"
    return (f"<{written}> is not an element of <{written_name(item.parent)}> in {schema}: did you "
            f"mean <{item.suggestion}>? ({why}; the service does not read <{written}> as "
            f"<{item.suggestion}>)")
