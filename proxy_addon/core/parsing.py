"""One hardened parser for all traffic: bytes in, a tree and the document-level findings out.

No entity is expanded, no DTD or network resource is loaded, and the input size is bounded.
Messages whose prefixes are never declared (real clients send them and the service accepts them)
are parsed as if the well-known declarations were present, and reported once (WX002).
"""

from __future__ import annotations

import codecs
import functools
import re
import threading
from collections.abc import Callable
from typing import Any, Protocol

from lxml import etree

from proxy_addon.core.charsets import byte_order_mark, is_character_set
from proxy_addon.core.findings import Finding, Severity
from proxy_addon.core.frozen import Plain
from proxy_addon.core.message import SECRET_TAGS, is_secret_tag, local_name_of
from proxy_addon.core.namespaces import UNBOUND_NS_PREFIX, WELL_KNOWN_PREFIXES
from proxy_addon.core.positions import SourceMap
from proxy_addon.core.redaction import mask_quoted_credentials, quoted_credential_masker

DEFAULT_MAX_BYTES = 16 * 1024 * 1024
# What linting one message may cost in memory above the process's own (docs/hardening.md; the peaks
# are printed by benchmarks/memory_budget.py). Under the byte bound, what costs is the number of
# nodes: 16 MB of <e/> is 4 million elements, 1.2 GB of tree and index. A message whose estimate
# is over the budget is WX009 and never parsed; the estimate counts characters, only for big messages.
MEMORY_BUDGET = 512 * 1024 * 1024
_COST_PER_BYTE = 12  # the bytes, the decoded text, lxml's input, the tree's text
# Measured (benchmarks/memory_budget.py): an element ~280 bytes with the rules' index of it, ~740
# with the maps findings need (positions, element indexes); an attribute ~240. XSD validation
# (--validate) about doubles both.
_COST_PER_ELEMENT = 640
_COST_PER_ATTRIBUTE = 260
_VALIDATION_FACTOR = 2
# Under this many bytes no message can be over the budget (the densest, <e/>, is an element every 4 bytes).
_COUNT_FROM = MEMORY_BUDGET // (_COST_PER_ELEMENT * _VALIDATION_FACTOR // 4 + _COST_PER_BYTE)

# Read from the document's first characters (bytes as Latin-1 for 8-bit documents, so one pattern serves all).
_DECLARATION = re.compile(r"^\s*<\?xml\s[^>]*?\?>")
_DECLARATION_AFTER_SPACE = re.compile(r"^(\s*)<\?xml\s[^>]*?\?>")
_DECLARED_ENCODING = re.compile(r"""encoding\s*=\s*["']([A-Za-z][A-Za-z0-9._-]*)["']""")
_DTD_OR_ENTITY = re.compile(r"<!(DOCTYPE|ENTITY)\b")
# Prefixes on element names (cheap to find: each match starts at "<"). Prefixed attributes other than
# the ubiquitous xsi: are rare; the parser's own "prefix not defined" error catches them.
_USED_PREFIX = re.compile(r"</?([A-Za-z_][\w.-]*+):[A-Za-z_]")
# The same on start tags only, half the work: in a well-formed document each end tag repeats its start tag.
_PREFIX_ON_START_TAG = re.compile(r"<([A-Za-z_][\w.-]*+):[A-Za-z_]")
_PREFIX_USE = re.compile(r"[<\s/]([A-Za-z_][\w.-]*):")  # a prefixed start or end tag (or attribute)
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # never in an XML document
_NON_ASCII_BYTE = re.compile(rb"[\x80-\xff]")
_PREFIXES_NAMED = 10  # in a WX002 message
_MAX_ERROR_TEXT = 300  # characters of the parser's error in a WX001 message
_DECLARED_PREFIX = re.compile(r"xmlns:([A-Za-z_][\w.-]*)\s*=")
# Names and attributes read possessively and never across a "<" (neither holds one): a run of "<"
# made every one a new start reading to the run's end (quadratic).
_ROOT_START_TAG = re.compile(
    r"<(?![!?/])[^\s/<>]++(?:\s++[^\s=/<>]++\s*+=\s*+(?:\"[^\"]*+\"|'[^']*+'))*+\s*+(?=/?>)", re.DOTALL
)
_UNDEFINED_PREFIX_ERROR = re.compile(r"Namespace prefix (\S+) (?:on|for) ")
# libxml2's namespace error (not a well-formedness one) for xmlns="not a URI" (WX010).
_INVALID_NS_URI = "WAR_NS_URI"
_INVALID_NS_URI_TEXT = re.compile(r"^(xmlns(?::[^:\s]+)?): '(.*)' is not a valid URI$", re.DOTALL)
# XML 1.0 Appendix F: without a byte-order mark, the first bytes still tell a 16- or 32-bit document
# (an 8-bit one never holds NUL bytes). Python's "utf-16" would guess the byte order; these do not.
_UNMARKED = ((b"\x00\x00\x00<", "utf-32-be"), (b"<\x00\x00\x00", "utf-32-le"),
             (b"\x00<", "utf-16-be"), (b"<\x00", "utf-16-le"))
_FAMILIES = {"utf-16-le": "utf-16", "utf-16-be": "utf-16", "utf-32-le": "utf-32", "utf-32-be": "utf-32"}

_local = threading.local()


class Voice(Protocol):
    """What a rule id and case say: (name, severity, message). The words are in rules/*.yaml."""

    def describe(self, rule_id: str, case: str | None, values: dict[str, Any]) -> tuple[str, Severity, str]: ...


class PlainVoice:
    """The words when no rule pack speaks for the parser (a caller that only wants the tree): the
    rule id, the case and its values. The rule packs live above core/, which cannot reach them;
    whoever wants their words passes them in (the Linter passes its rule set)."""

    def describe(self, rule_id: str, case: str | None, values: dict[str, Any]) -> tuple[str, Severity, str]:
        details = ", ".join(f"{key}: {value}" for key, value in values.items())
        return rule_id, Severity.ERROR, f"{case or rule_id}" + (f" ({details})" if details else "")


PLAIN_VOICE = PlainVoice()


class _RefuseExternalResources(etree.Resolver):
    """Answer every external DTD or entity with nothing, so that no file is ever opened.

    load_dtd=False and resolve_entities=False are not enough: libxml2 still reads a local file named
    as the external subset (<!DOCTYPE m SYSTEM "/etc/passwd">) or as a parameter entity that is
    referenced (%p;), and no_network only stops http/ftp. A resolver is asked before any I/O.
    """

    def resolve(self, url, pubid, context):
        return self.resolve_string("", context)


def _parser(recover: bool = False) -> etree.XMLParser:
    # lxml parsers are not thread-safe; one per thread, built once. The recovering one is used only
    # for documents whose sole errors are invalid namespace URIs (WX010), which it keeps as written.
    name = "recovering_parser" if recover else "parser"
    parser = getattr(_local, name, None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
            attribute_defaults=False, huge_tree=False, collect_ids=False, remove_blank_text=False,
            recover=recover,
        )
        parser.resolvers.add(_RefuseExternalResources())
        setattr(_local, name, parser)
    return parser


def canonical_encoding(name: str | None) -> str | None:
    return _canonical(name) if name else None


@functools.lru_cache(maxsize=256)  # a few names recur in every message; hostile ones are evicted
def _canonical(name: str) -> str | None:
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _family(encoding: str | None) -> str | None:
    """UTF-16LE and UTF-16 are one family here: the byte order is the BOM's or the bytes' business."""
    canonical = canonical_encoding(encoding)
    return _FAMILIES.get(canonical, canonical) if canonical else None


@functools.lru_cache(maxsize=256)
def _ascii_compatible(encoding: str) -> bool:
    """Whether a declaration written in this encoding reads as ASCII (false for UTF-16/32, EBCDIC)."""
    try:
        return "<?xml".encode(encoding) == b"<?xml"
    except (UnicodeError, LookupError):
        return False


def _sniff(raw: bytes) -> tuple[str | None, str | None]:
    """(encoding, how it shows) from the first bytes: "bom", "unmarked" (16/32-bit), or (None, None)."""
    if raw[:1] == b"<" and raw[1:2] != b"\x00":  # most documents: no mark starts with "<", nor "<" and a NUL
        return None, None
    marked = byte_order_mark(raw)
    if marked is not None:
        return _FAMILIES.get(marked[1], marked[1]), "bom"
    for start, encoding in _UNMARKED:
        if raw.startswith(start):
            return encoding, "unmarked"
    return None, None


def _binary(raw: bytes) -> bool:
    """Binary data, not text (an image, an archive named .xml): no XML start, and control bytes.
    Said as "not XML" rather than as text in a wrong encoding."""
    if _sniff(raw)[0] is not None or raw.lstrip()[:1] == b"<":
        return False
    return _CONTROL_BYTES.search(raw[:1024]) is not None


def _declaration_text(raw: bytes, sniffed: str | None) -> str:
    """The first characters, enough for the XML declaration, as text."""
    if sniffed in (None, "utf-8"):
        return raw[:512].removeprefix(codecs.BOM_UTF8).decode("latin-1")
    return raw[:2048].decode(sniffed, "ignore").lstrip("\ufeff")


class ParsedDocument(Plain):  # not a dataclass: creating one costs `check` start-up (core/frozen.py)
    _FIELDS = ("raw", "path", "root", "text", "encoding", "declared_encoding", "has_declaration",
               "unbound_prefixes", "findings", "voice", "_source_map", "credential_elements")
    _NOT_SHOWN = frozenset({"voice", "credential_elements"})  # left out of repr, as the dataclass did
    raw: bytes
    path: str
    root: etree._Element | None
    text: str | None
    encoding: str
    declared_encoding: str | None
    has_declaration: bool
    unbound_prefixes: list[str]
    findings: list[Finding]
    voice: Voice | None
    _source_map: SourceMap | None
    # The tree's credential elements, when the parse had to find them (WX002): Message.secrets reuses them.
    credential_elements: list[etree._Element] | None

    def __init__(self, raw: bytes, path: str, root: etree._Element | None = None, text: str | None = None,
                 encoding: str = "utf-8", declared_encoding: str | None = None, has_declaration: bool = False,
                 unbound_prefixes: list[str] | None = None, findings: list[Finding] | None = None,
                 voice: Voice | None = None, _source_map: SourceMap | None = None,
                 credential_elements: list[etree._Element] | None = None):
        self.raw = raw
        self.path = path
        self.root = root
        self.text = text
        self.encoding = encoding
        self.declared_encoding = declared_encoding
        self.has_declaration = has_declaration
        self.unbound_prefixes = [] if unbound_prefixes is None else unbound_prefixes
        self.findings = [] if findings is None else findings
        self.voice = voice
        self._source_map = _source_map
        self.credential_elements = credential_elements

    def __repr__(self) -> str:
        shown = (name for name in self._FIELDS if name not in self._NOT_SHOWN)
        return f"{type(self).__name__}({', '.join(f'{n}={getattr(self, n)!r}' for n in shown)})"

    @property
    def source_map(self) -> SourceMap:
        if self._source_map is None:
            self._source_map = SourceMap(self.text or "")
        return self._source_map

    def add(self, rule: str, case: str, offset: int | None = None, line: int | None = None,
            column: int | None = None, **values: Any) -> None:
        """Emit rule `rule`'s `case` (its words and severity come from the rule pack) with `values`."""
        if offset is not None and self.text is not None:
            line, column = self.source_map.line_column(offset)
        name, severity, message = (self.voice or PLAIN_VOICE).describe(rule, case, values)
        self.findings.append(Finding(rule, name, severity, message, line or 1, column or 1, self.path))


def parse_document(raw: bytes, *, path: str = "-", http_charset: str | None = None,
                   max_bytes: int = DEFAULT_MAX_BYTES, voice: Voice | None = None,
                   validating: bool = False) -> ParsedDocument:
    doc = ParsedDocument(raw=raw, path=path, voice=voice)
    if len(raw) > max_bytes:
        doc.add("WX009", "oversized", max_bytes=max_bytes, size=len(raw))
        return doc
    if not raw or raw.isspace():
        doc.add("WX001", "empty")
        return doc
    if _binary(raw):
        doc.add("WX001", "not-xml", first_bytes=raw[:8].hex(" "))
        return doc
    if not _decode(doc, http_charset):
        return doc
    text = doc.text or ""
    if _over_memory_budget(doc, text, validating):
        return doc
    dtd = _DTD_OR_ENTITY.search(text) if _holds(text, "<!") else None
    if dtd:
        doc.add("WX006", "declaration", offset=dtd.start(), kind=dtd.group(1))
    _parse(doc)
    return doc


def _over_memory_budget(doc: ParsedDocument, text: str, validating: bool) -> bool:
    """Whether linting this (big) message would need more than MEMORY_BUDGET; then it is WX009.

    Counted on the text, a few fast passes (~20 ms for 16 MiB), and only past _COUNT_FROM bytes.
    """
    if len(doc.raw) < _COUNT_FROM:
        return False
    needed, elements, attributes = lint_memory_estimate(len(doc.raw), text, validating)
    if needed <= MEMORY_BUDGET:
        return False
    doc.add("WX009", "over-memory-budget", needed=needed >> 20, budget=MEMORY_BUDGET >> 20, elements=elements,
            attributes=attributes)
    return True


def lint_memory_estimate(size: int, text: str, validating: bool = False) -> tuple[int, int, int]:
    """(bytes, elements, attributes): what linting a message of `size` bytes and this text may need.
    "<" and "=" overestimate elements and attributes (comments, end tags of empty elements, "=" in
    text): a refusal errs on the safe side."""
    elements = text.count("<") - text.count("</")
    attributes = text.count("=")
    nodes = elements * _COST_PER_ELEMENT + attributes * _COST_PER_ATTRIBUTE
    return size * _COST_PER_BYTE + nodes * (_VALIDATION_FACTOR if validating else 1), elements, attributes


def _read_declaration(raw: bytes, sniffed: str | None) -> tuple[bool, str | None]:
    """(whether there is an XML declaration, the encoding it names)."""
    end = raw.find(b"?>", 0, 512) if sniffed is None and raw.startswith(b"<?xml") else -1
    if end >= 0:  # the usual prolog: the pattern ends at the first "?>", so these bytes decide
        return _declaration_in(raw[:end + 2])
    return _declaration_facts(_declaration_text(raw, sniffed))


@functools.lru_cache(maxsize=256)  # clients repeat their prolog in every message
def _declaration_in(head: bytes) -> tuple[bool, str | None]:
    return _declaration_facts(head.decode("latin-1"))


def _declaration_facts(head: str) -> tuple[bool, str | None]:
    declaration = _DECLARATION.match(head)
    if declaration is None:
        return False, None
    found = _DECLARED_ENCODING.search(declaration.group(0))
    return True, found.group(1) if found else None


def _decode(doc: ParsedDocument, http_charset: str | None) -> bool:
    raw = doc.raw
    sniffed, shown_by = _sniff(raw)
    doc.has_declaration, doc.declared_encoding = _read_declaration(raw, sniffed)
    declared = canonical_encoding(doc.declared_encoding)
    if doc.declared_encoding and declared is None:
        doc.add("WX005", "unknown-encoding", declared=doc.declared_encoding)
        return False
    if declared and not is_character_set(declared):
        doc.add("WX005", "not-a-character-set", declared=doc.declared_encoding, codec=declared)
        return False
    if sniffed is None and declared and not _ascii_compatible(declared):
        # The declaration was readable as ASCII, so the bytes cannot be in UTF-16/32 or EBCDIC.
        doc.add("WX005", "ascii-declaration", declared=doc.declared_encoding)
        return False
    if sniffed and declared and _family(declared) != _family(sniffed):
        evidence = "a byte-order mark" if shown_by == "bom" else "its first bytes"
        doc.add("WX005", "declaration-contradicts-bytes", sniffed=sniffed.upper(), evidence=evidence,
                declared=doc.declared_encoding)
    doc.encoding = sniffed or declared or "utf-8"
    try:
        text = raw.decode(doc.encoding)
    except UnicodeDecodeError as error:
        doc.text = raw.decode(doc.encoding, "replace")
        if doc.declared_encoding:
            label = f"declares {doc.declared_encoding}"
        elif sniffed:
            label = f"is {sniffed.upper()} by {'its byte-order mark' if shown_by == 'bom' else 'its first bytes'}"
        else:
            label = "declares UTF-8 (the default)"
        doc.add("WX005", "invalid-bytes", offset=len(raw[:error.start].decode(doc.encoding, "replace")),
                label=label, position=error.start, byte=raw[error.start:error.start + 1], encoding=doc.encoding)
        return False
    except (UnicodeError, LookupError):  # a codec that fails otherwise is no character set for XML either
        doc.text = None
        doc.add("WX005", "not-a-character-set", declared=doc.declared_encoding or doc.encoding, codec=doc.encoding)
        return False
    text = text.removeprefix("\ufeff")  # a UTF-8 BOM (Python's utf-16/32 codecs drop theirs)
    doc.text = text
    if doc.encoding in {"latin-1", "iso8859-1", "cp1252", "iso8859-15"} and not raw.isascii():
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            first = _NON_ASCII_BYTE.search(raw).start()  # a scan in C: raw is not ASCII
            doc.add("WX005", "utf8-declared-8bit", offset=len(raw[:first].decode(doc.encoding)),
                    declared=doc.declared_encoding)
    charset = _family(http_charset)
    if http_charset and charset != _family(doc.encoding) and not (
        charset in {"ascii", "utf-8"} and raw.isascii()
    ):
        doc.add("WX005", "http-charset", charset=http_charset, encoding=doc.encoding,
                as_declared=" as declared" if doc.declared_encoding else "")
    return True


_RAW_READABLE = {"utf-8", "ascii", "latin-1", "iso8859-1"}  # encodings lxml reads from the bytes as they are


def _parse_input(doc: ParsedDocument, text: str) -> bytes:
    """Bytes for lxml: the original when lxml can read them as they are, else UTF-8."""
    if not doc.unbound_prefixes and _reads_raw(doc):
        return doc.raw
    # Only the declaration is rewritten: whitespace before it stays, so that lxml rejects the
    # document as it would the original (XML 1.0 §2.8; templates that start with a newline).
    if text.lstrip().startswith("<?xml"):
        text = _DECLARATION_AFTER_SPACE.sub(r'\1<?xml version="1.0" encoding="UTF-8"?>', text, count=1)
    return text.encode("utf-8")


def _reads_raw(doc: ParsedDocument) -> bool:
    return doc.encoding in _RAW_READABLE and not doc.raw.startswith(codecs.BOM_UTF8)


def _declarations(prefixes: list[str]) -> str:
    return "".join(f' xmlns:{p}="{WELL_KNOWN_PREFIXES.get(p, UNBOUND_NS_PREFIX + p)}"' for p in prefixes)


def _inject_declarations(text: str, prefixes: list[str]) -> str:
    root_tag = _ROOT_START_TAG.search(text)
    if not root_tag:
        return text
    return text[: root_tag.end()] + _declarations(prefixes) + text[root_tag.end():]


def _used_and_unbound(text: str) -> tuple[set[str], list[str]]:
    """(prefixes on start tags, those and xsi: when used but declared nowhere), from the text alone.
    _find_unbound's answer whenever the document is well-formed."""
    declared = _DECLARED_PREFIX.findall(text) if "xmlns:" in text else []
    if len(declared) <= _DECLARED_SEARCHED and sum(map(len, declared)) <= _DECLARED_SEARCHED_LENGTH \
            and ("xsi:" not in text or "xsi" in declared) \
            and _undeclared_on_start_tag(tuple(declared)).search(text) is None:
        # Every prefix on a start tag is declared (most messages): one search, no list of every use.
        # The prefixes on start tags are then wanted by no caller (there is nothing to bind).
        return set(), []
    on_elements = set(_PREFIX_ON_START_TAG.findall(text))
    used = on_elements | {"xsi"} if "xsi:" in text else on_elements
    return on_elements, sorted(used - set(declared) - {"xml", "xmlns"})


# A search for the undeclared is compiled for at most this many declared prefixes, this long in all
# (they come from traffic, and the patterns are kept); past that the uses are listed.
_DECLARED_SEARCHED, _DECLARED_SEARCHED_LENGTH = 32, 512


@functools.lru_cache(maxsize=128)  # clients repeat their declarations in every message
def _undeclared_on_start_tag(declared: tuple[str, ...]) -> re.Pattern[str]:
    """_PREFIX_ON_START_TAG for prefixes other than these (and xml, xmlns)."""
    names = "|".join(re.escape(name) for name in (*declared, "xml", "xmlns"))
    return re.compile(rf"<(?!(?:{names}):)[A-Za-z_][\w.-]*+:[A-Za-z_]")


def _find_unbound(text: str) -> list[str]:
    used = set(_USED_PREFIX.findall(text))
    if "xsi:" in text:
        used.add("xsi")
    declared = set(_DECLARED_PREFIX.findall(text)) | {"xml", "xmlns"}
    return sorted(used - declared)


def _parse(doc: ParsedDocument) -> None:
    """One parse for what real traffic sends: undeclared prefixes are found on the text first and
    bound on the root, so lxml never fails on them; anything less plain goes step by step."""
    text = doc.text or ""
    on_elements, unbound = _used_and_unbound(text)
    if unbound:
        plain = _plain_markup(text)
        if (root := _parse_bound(doc, text, on_elements, unbound, plain)) is not None:
            doc.root = root
            doc.unbound_prefixes = unbound
            _report_unbound(doc, text, plain)
            return
    _parse_step_by_step(doc)


def _parse_bound(doc: ParsedDocument, text: str, on_elements: set[str], unbound: list[str],
                 plain: bool) -> etree._Element | None:
    """The tree of the document with `unbound` declared on its root, when it is the one step by step
    ends with: the document is well-formed and one of them is really used (its first parse would
    have failed on it). Otherwise None, and step by step decides, as it always did.

    The input is what the first parse reads (the original bytes when lxml reads them, declaration
    kept) plus the declarations: the same well-formedness errors at the same places.
    """
    root_tag = _ROOT_START_TAG.search(text)
    if not root_tag:
        return None
    declarations = _declarations(unbound)
    if _reads_raw(doc):
        if not declarations.isascii():  # a prefix in letters beyond ASCII, in bytes of another encoding
            return None
        at = root_tag.end() if doc.raw.isascii() else len(text[:root_tag.end()].encode(doc.encoding))
        data = doc.raw[:at] + declarations.encode("ascii") + doc.raw[at:]
    else:
        data = _parse_input(doc, text[:root_tag.end()] + declarations + text[root_tag.end():])
    try:
        root = etree.fromstring(data, _parser())
    except (etree.XMLSyntaxError, ValueError):
        return None
    return root if _uses_any(root, on_elements, unbound, plain) else None


_USES_PREFIX = etree.XPath("boolean(//*[substring-before(name(), ':') = $p] | //@*[substring-before(name(), ':') = $p])")


def _uses_any(root: etree._Element, on_elements: set[str], prefixes: list[str], plain: bool) -> bool:
    """Whether an element or attribute of this well-formed document uses one of `prefixes`.

    Without comments, CDATA sections, DTDs and processing instructions, every "<" of a well-formed
    document starts a tag (`plain`), so an element prefix found on the text is used; otherwise (and
    for xsi:, which counts when found anywhere in the text) the tree says.
    """
    if plain and not on_elements.isdisjoint(prefixes):
        return True
    return any(_USES_PREFIX(root, p=prefix) for prefix in prefixes)


def _plain_markup(text: str) -> bool:
    """No comment, CDATA section, DTD or processing instruction past the XML declaration: in a
    well-formed document every "<" then starts a tag."""
    if _holds(text, "<!"):
        return False
    declaration = _DECLARATION.match(text)
    return not _holds(text, "<?", declaration.end() if declaration else 0)


def _holds(text: str, markup: str, start: int = 0) -> bool:
    """Whether `markup` ("<" and a character rare in XML) occurs in the text from `start`. The rare
    character is looked for first: one character is a memchr, two a loop over every "<" (~4x slower)."""
    return text.find(markup[1], start) >= 0 and text.find(markup, start) >= 0


def _secret_elements(root: etree._Element) -> list[etree._Element]:
    """The credential elements of a document."""
    # The memo is read here first: a function call per element cost more than the walk itself.
    known = SECRET_TAGS.get
    return [element for element in root.iter(etree.Element)
            if (secret := known(tag := element.tag)) or (secret is None and is_secret_tag(tag))]


def _qnames(elements: list[etree._Element]) -> set[str]:
    """The names, as written, of these elements."""
    return {f"{element.prefix}:{local_name_of(element.tag)}" if element.prefix else local_name_of(element.tag)
            for element in elements}


def _parse_step_by_step(doc: ParsedDocument) -> None:
    """Parse, and on each "prefix not defined" error bind what is missing and parse again: for
    documents the single parse cannot take (not well-formed, prefixes declared out of scope)."""
    text = doc.text or ""
    # All the prefixes found missing are bound at once, not one retry per prefix.
    for _attempt in range(6):
        source = _inject_declarations(text, doc.unbound_prefixes) if doc.unbound_prefixes else text
        parser = _parser()
        try:
            doc.root = etree.fromstring(_parse_input(doc, source), parser)
            break
        except etree.XMLSyntaxError as error:
            errors = list(parser.error_log)
            others = [e for e in errors if e.type_name != _INVALID_NS_URI]
            if errors and not others:
                # Namespace-invalid but well-formed XML 1.0: report each URI, lint the rest (WX010).
                if _parse_despite_invalid_uris(doc, source, errors):
                    break
                return
            first = next((m for e in others if (m := _UNDEFINED_PREFIX_ERROR.match(e.message))), None)
            missing = first or _UNDEFINED_PREFIX_ERROR.match(str(error.msg or ""))
            if missing:
                known = set(doc.unbound_prefixes)
                if not known:
                    doc.unbound_prefixes = _find_unbound(text)
                if missing.group(1) not in doc.unbound_prefixes:
                    doc.unbound_prefixes.append(missing.group(1))
                if set(doc.unbound_prefixes) != known:
                    continue
            if others and errors[0].type_name == _INVALID_NS_URI:  # say what is not well-formed
                doc.add("WX001", "not-well-formed", line=others[0].line or 1, column=max(others[0].column, 1),
                        error=_shorten(others[0].message))
                return
            line, column = error.position if error.position else (1, 1)
            doc.add("WX001", "not-well-formed", line=line, column=max(column, 1), error=_describe(error, text))
            return
        except ValueError as error:  # lxml refuses some inputs outright (e.g. NUL bytes)
            doc.add("WX001", "unparseable", error=str(error))
            return
    if doc.unbound_prefixes:
        _report_unbound(doc, text, doc.root is not None and _plain_markup(text))


def _report_unbound(doc: ParsedDocument, text: str, plain: bool) -> None:
    # One scan for the first use of any of them (a search per prefix was quadratic: 4,000
    # undeclared prefixes took 2 s), and a list that stays readable however many there are.
    first = _first_use(text, doc.unbound_prefixes)
    names = ", ".join(f"{p}:" for p in doc.unbound_prefixes[:_PREFIXES_NAMED])
    if len(doc.unbound_prefixes) > _PREFIXES_NAMED:
        names += f" and {len(doc.unbound_prefixes) - _PREFIXES_NAMED:,} more"
    # A prefix used inside a credential element (<password><Zq9:a/>) is a piece of it: masked.
    if plain:
        doc.credential_elements = _secret_elements(doc.root)
    mask = _prefix_masker(doc.credential_elements, text, doc.unbound_prefixes)
    doc.add("WX002", "undeclared", offset=first + 1, prefixes=mask(names), first=mask(doc.unbound_prefixes[0]))


def _first_use(text: str, prefixes: list[str]) -> int:
    """Where the first of these prefixes is used (0: nowhere): a search for them, compiled once per
    set; for many (or long) ones, every use in turn."""
    if len(prefixes) <= _PREFIXES_NAMED and sum(map(len, prefixes)) <= _DECLARED_SEARCHED_LENGTH:
        found = _use_of(tuple(prefixes)).search(text)
        return found.start() if found is not None else 0
    unbound = set(prefixes)
    return next((m.start() for m in _PREFIX_USE.finditer(text) if m.group(1) in unbound), 0)


@functools.lru_cache(maxsize=128)  # clients repeat their undeclared prefixes in every message
def _use_of(prefixes: tuple[str, ...]) -> re.Pattern[str]:
    """_PREFIX_USE for these prefixes only (a name runs up to its ":", so a match is the whole name)."""
    return re.compile(r"[<\s/](?:" + "|".join(re.escape(prefix) for prefix in prefixes) + "):")


def _prefix_masker(secrets: list[etree._Element] | None, text: str, prefixes: list[str]) -> Callable[[str], str]:
    """quoted_credential_masker(text) for WX002's words, which are the prefixes named (and their ":").

    `secrets`, the tree's credential elements, are given where every "<" of the text starts a tag:
    then no scan of every tag looks for them. When none of them holds a named prefix, nothing is masked, and
    the text need not be scanned for what they hold: without "&" in the text, what a credential
    element without attributes or children holds as written is its text (up to spaces, which no
    masked word contains). An empty one may be written <password />, whose masked run goes on to the
    next </password>: then, and for any other shape, the text is scanned as always.
    """
    if secrets is None:
        return quoted_credential_masker(text, None)
    if len(prefixes) <= _PREFIXES_NAMED and "&" not in text and all(
            element.text and not len(element) and not element.attrib for element in secrets):
        values = [element.text for element in secrets]
        if not any(prefix in value for value in values for prefix in prefixes):
            return _unmasked
    return quoted_credential_masker(text, _qnames(secrets))


def _unmasked(message: str) -> str:
    return message


def _parse_despite_invalid_uris(doc: ParsedDocument, source: str, errors: list) -> bool:
    """Parse a document whose only errors are namespace URIs libxml2 calls invalid; report each (WX010)."""
    parser = _parser(recover=True)
    try:
        root = etree.fromstring(_parse_input(doc, source), parser)
    except (etree.XMLSyntaxError, ValueError) as error:
        doc.add("WX001", "not-well-formed", line=1, column=1, error=mask_quoted_credentials(_shorten(str(error)), source))
        return False
    if root is None or any(e.type_name != _INVALID_NS_URI for e in parser.error_log):
        doc.add("WX001", "not-well-formed", line=errors[0].line or 1, column=max(errors[0].column, 1),
                error=mask_quoted_credentials(_shorten(errors[0].message), source))
        return False
    doc.root = root
    for error in errors:
        found = _INVALID_NS_URI_TEXT.match(error.message.strip())
        attribute, value = found.groups() if found else ("xmlns", error.message)
        doc.add("WX010", "invalid-uri", line=error.line or 1, column=max(error.column, 1),
                attribute=attribute, value=mask_quoted_credentials(_shorten(value), source))
    return True


def _describe(error: etree.XMLSyntaxError, text: str) -> str:
    # Never a piece of a password: the name of an undefined entity, or the text after an
    # unterminated CDATA section, may come from inside a credential element.
    return mask_quoted_credentials(_shorten(re.sub(r", line \d+, column \d+$", "", str(error.msg or error))), text)


def _shorten(message: str) -> str:
    # libxml2 quotes names and entity names, up to 50,000 characters: a finding says what, not all of it.
    message = message.strip()
    return message if len(message) <= _MAX_ERROR_TEXT else message[:_MAX_ERROR_TEXT] + "…"
