"""Copy a message (or its body) into the form the schemas expect: elements matched by local name.

Real requests write bodyContent's children with no namespace, some clients prefix a few of them
(use:privilege), and responses qualify them all (use:, meet:, ns1:, with serv: and com: mixed in).
The service binds them by local name, so the validator does too: walking the copy down the schema,
a child whose local name its parent's type declares gets the declared name (namespace included);
any other child keeps its bare local name, in no namespace, where an open type's ##local wildcard
accepts it and a closed type reports it. Attributes are not carried over: the API carries no data
in attributes, and xsi:type (java:..., not a QName) and xsi:schemaLocation hints must not be read.

While walking, an undeclared child whose name is a declared one misspelled is recorded (WX008).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from lxml import etree

from proxy_addon.core.message import local_name
from proxy_addon.schema.bundle import Guide, SchemaBundle
from proxy_addon.schema.spelling import suggest


@dataclass(slots=True)
class Misspelling:
    element: etree._Element  # in the original document
    parent: etree._Element
    suggestion: str


@dataclass
class NormalizedCopy:
    root: etree._Element
    origin: dict[etree._Element, etree._Element] = field(default_factory=dict)  # copy -> original
    guides: dict[etree._Element, Guide] = field(default_factory=dict)  # copy -> its type's children
    misspellings: list[Misspelling] = field(default_factory=list)

    def original(self, copy: etree._Element | None) -> etree._Element | None:
        return self.origin.get(copy) if copy is not None else None


def normalized_copy(original: etree._Element, tag: str, xsd_type, bundle: SchemaBundle, *,
                    spelling: bool, leave_empty: Callable[[etree._Element], bool] | None = None,
                    nsmap: dict[str | None, str] | None = None) -> NormalizedCopy:
    """Copy `original` as an element named `tag` of type `xsd_type`, its descendants renamed by
    the schema. `leave_empty(el)` marks elements copied without content (the envelope's view of
    bodyContent). `spelling` records misspellings (requests only: responses are the service's
    own spelling, which a client cannot change)."""
    root = etree.Element(tag, nsmap=nsmap)
    root.text = original.text
    copy = NormalizedCopy(root, {root: original})
    _copy_children(original, root, bundle.guide(xsd_type), bundle, copy, spelling, leave_empty)
    return copy


def _copy_children(original: etree._Element, target: etree._Element, guide: Guide | None,
                   bundle: SchemaBundle, copy: NormalizedCopy, spelling: bool,
                   leave_empty: Callable[[etree._Element], bool] | None) -> None:
    if guide is not None:
        copy.guides[target] = guide
    previous: etree._Element | None = None
    for node in original:
        if not isinstance(node.tag, str):  # comment or processing instruction: keep its tail text
            if node.tail:
                if previous is None:
                    target.text = (target.text or "") + node.tail
                else:
                    previous.tail = (previous.tail or "") + node.tail
            continue
        name = local_name(node)
        declared = guide.children.get(name) if guide is not None else None
        if declared is None:
            tag, child_type = name, None
            if spelling and guide is not None and guide.children:
                suggestion = suggest(name, guide.children)
                if suggestion:
                    copy.misspellings.append(Misspelling(node, original, suggestion))
        else:
            tag, child_type = declared
        child = etree.SubElement(target, tag)
        child.tail = node.tail
        copy.origin[child] = node
        previous = child
        if leave_empty is not None and leave_empty(node):
            continue
        child.text = node.text
        child_guide = bundle.guide(child_type) if child_type is not None else None
        _copy_children(node, child, child_guide, bundle, copy, spelling, leave_empty)
