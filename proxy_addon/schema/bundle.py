"""A set of XSDs to validate messages against: ours (schemas/) or Cisco's bundle (--schema-dir).

A bundle is a directory with one file per namespace, as Cisco ships it: service.xsd (the envelope,
with the global `message` element), common.xsd, user.xsd, meeting.xsd, ep.xsd... Each bundle is
loaded once per process, on first use, into two validators over the same files:

- lxml (libxml2) through a generated "driver" schema that imports every namespace and declares one
  global element per named complex type, because libxml2 can only validate against global
  elements and the operations are types. It is the fast yes/no on every message.
- xmlschema, for the schema model (which children each type declares, used to match elements by
  local name and to spot misspellings) and for the full list of errors when lxml says no: libxml2
  stops at the first error in a content model, xmlschema reports them all, with the element.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import xmlschema
from lxml import etree
from xmlschema.validators import XsdAnyElement, XsdComplexType, XsdElement

from proxy_addon.core.namespaces import SERVICE_NS
from proxy_addon.core.shipped import PACKAGE_DIR, data_dir

XSD_NS = "http://www.w3.org/2001/XMLSchema"
XML_NS = "http://www.w3.org/XML/1998/namespace"  # xml:lang; both validators know it without a file
DRIVER_NS = "urn:webex-xml-lint:schema-driver"
ENVELOPE_TAG = f"{{{SERVICE_NS}}}message"


class SchemaLoadError(ValueError):
    """A schema directory or file that cannot be used; the message names the file and the problem."""


def bundled_schema_dir(package: Path | None = None) -> Path:
    """Our XSDs: inside the installed wheel if present, else the repository's schemas/ folder."""
    return data_dir("schemas", package or PACKAGE_DIR, marker="service.xsd")


@dataclass(slots=True)
class Guide:
    """What one complex type allows as children, by local name (namespaces are not compared)."""

    children: dict[str, tuple[str, Any]] = field(default_factory=dict)  # local -> (tag, xsd type)
    open: bool = False  # has an element wildcard: undeclared children are accepted


_NO_CHILDREN = Guide()


# The attributes of the XML namespace (xml:lang, xml:space...), for bundles that import W3C's
# xml.xsd by its http address: served from here instead of the network (xmlschema has its own copy).
_XML_NAMESPACE_SCHEMA = f"""<xs:schema xmlns:xs="{XSD_NS}" targetNamespace="{XML_NS}">
<xs:attribute name="lang" type="xs:language"/><xs:attribute name="base" type="xs:anyURI"/>
<xs:attribute name="id" type="xs:ID"/><xs:attribute name="space" type="xs:NCName"/>
<xs:attributeGroup name="specialAttrs"><xs:attribute ref="xml:base"/><xs:attribute ref="xml:lang"/>
<xs:attribute ref="xml:space"/><xs:attribute ref="xml:id"/></xs:attributeGroup></xs:schema>"""


class _NoNetwork(etree.Resolver):
    """Schemas import each other by file; a bundle that reaches for the network is refused."""

    def resolve(self, url, pubid, context):  # noqa: ANN001 (lxml's signature)
        if url and "://" in url and not url.startswith("file:"):
            if url.rstrip("/").endswith("/xml.xsd"):
                return self.resolve_string(_XML_NAMESPACE_SCHEMA, context)
            raise SchemaLoadError(f"schema import {url!r} is not a local file (no network access)")
        return None


def _schema_parser() -> etree.XMLParser:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    parser.resolvers.add(_NoNetwork())
    return parser


class SchemaBundle:
    def __init__(self, directory: Path):
        self.directory = directory
        self._lock = threading.Lock()
        self._loaded = False
        self.files: dict[str, Path] = {}  # namespace -> file
        self.xsd: xmlschema.XMLSchema10 | None = None
        self.lxml: etree.XMLSchema | None = None
        self.lxml_problem: str | None = None  # why libxml2 could not compile it, if it could not
        self._driver_tags: dict[str, str] = {}  # "{ns}typeName" -> driver element tag
        self._guides: dict[int, Guide] = {}

    # -- loading ---------------------------------------------------------------------------------

    def load(self) -> SchemaBundle:
        if self._loaded:
            return self
        with self._lock:
            if not self._loaded:
                self._load()
                self._loaded = True
        return self

    def _load(self) -> None:
        self.files = _files_by_namespace(self.directory)
        if SERVICE_NS not in self.files:
            raise SchemaLoadError(
                f"{self.directory}: no schema for {SERVICE_NS} (expected service.xsd next to common.xsd, "
                "user.xsd, meeting.xsd..., as in the Webex XML API schema bundle)")
        imports = _driver_imports(self.files)
        try:
            self.xsd = xmlschema.XMLSchema10(_driver_text(imports, {}), base_url=str(self.directory),
                                             allow="local")
        except (xmlschema.XMLSchemaException, OSError, SyntaxError) as error:
            raise SchemaLoadError(_describe_xmlschema_error(error, self.directory)) from error
        if ENVELOPE_TAG not in self.xsd.maps.elements:
            raise SchemaLoadError(f"{self.files[SERVICE_NS]}: declares no global element 'message'")
        wanted = set(self.files)
        names = sorted(name for name, component in self.xsd.maps.types.items()
                       if isinstance(component, XsdComplexType) and _namespace(name) in wanted)
        self._driver_tags = {name: f"{{{DRIVER_NS}}}t{index}" for index, name in enumerate(names)}
        driver = _driver_text(imports, self._driver_tags)
        try:
            document = etree.fromstring(driver.encode(), _schema_parser(),
                                        base_url=(self.directory / "driver.xsd").as_uri())
            self.lxml = etree.XMLSchema(document)
        except (etree.XMLSchemaParseError, etree.XMLSyntaxError, SchemaLoadError) as error:
            # xmlschema alone still validates (slower); say why in --verbose output and the docs.
            self.lxml_problem = _first_line(error)

    # -- lookups ---------------------------------------------------------------------------------

    @property
    def envelope(self) -> XsdElement:
        return self.load().xsd.maps.elements[ENVELOPE_TAG]

    def find_type(self, namespace: str | None, names: list[str]) -> tuple[str, XsdComplexType] | None:
        """The named complex type ("{ns}name", type); any namespace of the bundle when None."""
        types = self.load().xsd.maps.types
        spaces = [namespace] if namespace else list(self.files)
        for name in names:
            for space in spaces:
                qname = f"{{{space}}}{name}"
                found = types.get(qname)
                if isinstance(found, XsdComplexType) and qname in self._driver_tags:
                    return qname, found
        return None

    def driver_tag(self, qname: str) -> str:
        return self._driver_tags[qname]

    def guide(self, xsd_type: Any) -> Guide:
        """The children `xsd_type` declares; computed once per type."""
        if not isinstance(xsd_type, XsdComplexType) or not xsd_type.has_complex_content():
            return _NO_CHILDREN
        key = id(xsd_type)
        found = self._guides.get(key)
        if found is None:
            found = Guide()
            for particle in xsd_type.content.iter_elements():
                if isinstance(particle, XsdAnyElement):
                    found.open = True
                elif isinstance(particle, XsdElement) and particle.name:
                    found.children.setdefault(particle.local_name, (particle.name, particle.type))
            self._guides[key] = found
        return found


_BUNDLES: dict[Path, SchemaBundle] = {}
_BUNDLES_LOCK = threading.Lock()


def bundle_for(schema_dir: str | Path | None) -> SchemaBundle:
    """The process-wide bundle for this directory (ours when None); loaded on first use."""
    directory = Path(schema_dir).expanduser().resolve() if schema_dir else bundled_schema_dir().resolve()
    if not directory.is_dir():
        raise SchemaLoadError(f"{directory}: schema directory not found")
    with _BUNDLES_LOCK:
        bundle = _BUNDLES.get(directory)
        if bundle is None:
            bundle = _BUNDLES[directory] = SchemaBundle(directory)
    return bundle


def _files_by_namespace(directory: Path) -> dict[str, Path]:
    """Each namespace's file; service.xsd, user.xsd... win over other files of the same namespace."""
    found: dict[str, Path] = {}
    candidates = sorted(directory.glob("*.xsd"))
    if not candidates:
        raise SchemaLoadError(f"{directory}: no .xsd files")
    for path in candidates:
        try:
            root = etree.parse(str(path), _schema_parser()).getroot()
        except (etree.XMLSyntaxError, OSError) as error:
            raise SchemaLoadError(f"{path}: {_first_line(error)}") from error
        if root.tag != f"{{{XSD_NS}}}schema":
            raise SchemaLoadError(f"{path}:{root.sourceline}: root element is {root.tag}, not xs:schema")
        _refuse_remote_locations(path, root)
        namespace = root.get("targetNamespace") or ""
        area = namespace.rstrip("/").rsplit("/", 1)[-1]
        if namespace not in found or path.stem == area:
            found[namespace] = path
    found.pop("", None)  # chameleon/no-namespace files are included by the others
    return found


def _refuse_remote_locations(path: Path, root: etree._Element) -> None:
    """Validation never touches the network: a bundle must hold every schema it imports."""
    for reference in root.iterchildren(f"{{{XSD_NS}}}import", f"{{{XSD_NS}}}include", f"{{{XSD_NS}}}redefine"):
        location = reference.get("schemaLocation") or ""
        if "://" in location and not location.startswith("file:") and reference.get("namespace") != XML_NS:
            raise SchemaLoadError(
                f"{path}:{reference.sourceline}: imports {location!r} from the network; save that file "
                "in the schema directory and point schemaLocation at it")


def _driver_imports(files: dict[str, Path]) -> str:
    return "".join(f'<xs:import namespace="{namespace}" schemaLocation="{path.resolve().as_uri()}"/>'
                   for namespace, path in sorted(files.items()))


def _driver_text(imports: str, elements: dict[str, str]) -> str:
    """A schema that imports the bundle and declares `t<N>` elements for the types in `elements`."""
    prefixes: dict[str, str] = {}
    declarations = []
    for qname, tag in elements.items():
        namespace, local = qname[1:].split("}", 1)
        prefix = prefixes.setdefault(namespace, f"n{len(prefixes)}")
        declarations.append(f'<xs:element name="{tag.split("}", 1)[1]}" type="{prefix}:{local}"/>')
    namespaces = "".join(f' xmlns:{prefix}="{namespace}"' for namespace, prefix in prefixes.items())
    return (f'<xs:schema xmlns:xs="{XSD_NS}" targetNamespace="{DRIVER_NS}"{namespaces}>'
            f'{imports}{"".join(declarations)}</xs:schema>')


def _namespace(qname: str) -> str:
    return qname[1:].split("}", 1)[0] if qname.startswith("{") else ""


def _describe_xmlschema_error(error: BaseException, directory: Path) -> str:
    """file: problem (at /xs:schema/xs:element...), from xmlschema's multi-line report."""
    url = getattr(error, "schema_url", None) or getattr(error, "origin_url", None)
    where = url[len("file://"):] if url and url.startswith("file://") else (url or str(directory))
    problem = getattr(error, "message", None) or _first_line(error)
    path = getattr(error, "path", None)
    return f"{where}: {problem.rstrip(':')}" + (f" (at {path})" if path else "")


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
