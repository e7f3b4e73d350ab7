"""Hypothesis strategies: serv:message documents from the real vocabulary, and corpus mutations.

Generated messages use the operations, packages and elements the rule packs in `rules/` look at
(securityContext/siteID, enableOptions/HQvideo and HDvideo, the fields SetUser ignores on CI sites,
autoRecord, descriptions around the 1024/2500 limits, dates, credentials...), written the ways real
clients write them: any of the encodings the parser reads, with or without an XML declaration or a
BOM, CRLF or one-line layouts, comments, processing instructions and CDATA between and inside
elements, declared or undeclared `serv:` prefixes and noise attributes.

A document is drawn as a small tree (`Node`) and then serialised by `serialise` with the noise, so
the same message can be written many ways.
"""

from __future__ import annotations

import codecs
import json
import re
from dataclasses import dataclass, field
from urllib.parse import quote_plus
from xml.sax.saxutils import escape, quoteattr

from hypothesis import strategies as st

from proxy_addon.core.namespaces import SERVICE_NS, XSI_NS
from proxy_addon.lint.context import LintContext

from .builders import CORPUS

CORPUS_FILES = sorted(CORPUS.glob("*/*.xml"))

# -- vocabulary (from rules/*.yaml and the release notes) -----------------------------------------

# operation -> package, for the operations the rules look at and a few they do not.
OPERATIONS = {
    "CreateMeeting": "meeting", "SetMeeting": "meeting", "GetMeeting": "meeting",
    "CreateTrainingSession": "training", "SetTrainingSession": "training",
    "CreateEvent": "event", "SetEvent": "event",
    "SetUser": "user", "GetUser": "user", "CreateUser": "user", "DelUser": "user", "ActivateUser": "user",
    "AuthenticateUser": "user", "LstsummaryUser": "user", "UploadPMRImage": "user",
    "LstRecording": "ep", "GetAPIVersion": "ep", "GetSessionInfo": "ep", "GetUserCard": "ep",
    "DelSession": "ep", "LstMeetingAttendee": "attendee", "GetTeleconferenceSession": "meeting.auo",
}
RESPONSE_PREFIXES = {"meeting": "meet", "user": "use", "ep": "ep", "event": "event", "training": "train",
                     "attendee": "att", "meeting.auo": "meet"}
FIXABLE_OPERATIONS = ["CreateMeeting", "SetMeeting", "CreateTrainingSession", "SetTrainingSession", "CreateEvent",
                      "SetEvent", "SetUser"]
# The fields SetUser ignores on CI sites (WX201's selector).
CI_IGNORED_FIELDS = ("email", "email2", "password", "passwordHint", "passwordHintAnswer", "timeZone",
                     "timeZoneID", "timeZoneWithDST", "locale", "language", "languageID", "active", "security")
DATE_FIELDS = ("startDate", "endDate", "createTimeStart", "createTimeEnd", "modifiedDateStart",
               "modifiedDateEnd", "registrationDate", "expirationDate")
# Elements whose values are credentials (proxy_addon/redaction.py knows them by name).
SECRET_ELEMENTS = ("password", "sessionTicket", "accessToken", "webExAccessToken", "samlResponse",
                   "meetingPassword", "sessionPassword", "audioPassword", "attendeePassword", "hostKey",
                   "hostPIN", "guestToken", "passwordHintAnswer", "CAPTCHAWord", "panelistNumericPassword",
                   "partnerID", "PIN")
SITE_ID = "5941234567"
CI_CONTEXTS = (
    LintContext(),
    LintContext(ci_sites=frozenset({"acme"})),
    LintContext(ci_sites=frozenset({"acme"}), site_ids={SITE_ID: "acme"}),
    LintContext(api_version=(39, 5, 0), site_ids={SITE_ID: "acme", "690319": "acme"}),
    LintContext(api_version=(11, 0, 20), ci_sites=frozenset({"acme", "tester"})),
)


def contexts() -> st.SearchStrategy[LintContext]:
    return st.sampled_from(CI_CONTEXTS)


# -- text ---------------------------------------------------------------------------------------

# Characters XML 1.0 allows in content (no C0 controls but tab/LF/CR, no surrogates, no U+FFFE/F).
XML_CHARS = st.characters(codec="utf-8", exclude_categories=("Cs",),
                          exclude_characters="".join(chr(c) for c in range(32) if c not in (9, 10, 13)) + "\ufffe\uffff")
XML_TEXT = st.text(XML_CHARS, max_size=40)
# Text that looks like what clients send, with the characters that need escaping.
PLAIN_TEXT = st.one_of(
    st.sampled_from(["acme", "Zürich", "Jörg", "a&b", "<x>", "x > y", "'q'", '"q"', "  padded  ", "東京", "😀", ""]),
    XML_TEXT,
)


@st.composite
def long_texts(draw) -> str:
    """Descriptions near the limits (1024 from 39.3, 2500 from 39.8), cheap to generate."""
    unit = draw(st.text(XML_CHARS, min_size=1, max_size=8).filter(lambda s: s.strip()))
    length = draw(st.sampled_from([0, 5, 1023, 1024, 1025, 2499, 2500, 2501, 3000]) | st.integers(0, 3000))
    return (unit * (length // len(unit) + 1))[:length]


# -- the message tree ---------------------------------------------------------------------------


@dataclass
class Node:
    name: str  # qualified name as written ("serv:header", "HQvideo")
    children: list[Node] = field(default_factory=list)
    text: str | None = None
    attrs: list[tuple[str, str]] = field(default_factory=list)


def leaf(name: str, text: str) -> Node:
    return Node(name, text=text)


@st.composite
def security_context(draw, secrets: st.SearchStrategy[str] = PLAIN_TEXT) -> Node:
    parts: list[Node] = []
    if draw(st.booleans()):
        parts.append(leaf("siteName", draw(st.sampled_from(["acme", "acme", "tester", "other"]))))
    if draw(st.booleans()):
        parts.append(leaf("siteID", draw(st.sampled_from([SITE_ID, "690319", ""]))))
    if draw(st.booleans()):
        parts.append(leaf("siteId", SITE_ID))  # the misspelling real clients send
    parts.append(leaf("webExID", draw(st.sampled_from(["admin@acme.com", "admin", "jörg"]) | PLAIN_TEXT)))
    credential = draw(st.sampled_from(["password", "sessionTicket", "none", "both"]))
    if credential in ("password", "both"):
        parts.append(leaf("password", draw(secrets)))
    if credential in ("sessionTicket", "both"):
        parts.append(leaf("sessionTicket", draw(secrets)))
    return Node("securityContext", draw(st.permutations(parts)))


@st.composite
def request_body(draw, operation: str, secrets: st.SearchStrategy[str] = PLAIN_TEXT) -> list[Node]:
    """The children of bodyContent: elements the rules for this operation look at, and others."""
    pool: list[Node] = []
    meeting_like = operation in ("CreateMeeting", "SetMeeting", "CreateTrainingSession", "SetTrainingSession",
                                 "CreateEvent", "SetEvent", "GetMeeting")
    if meeting_like or draw(st.booleans()):
        # HQVideo, confname, timezoneID: misspellings (WX008 and its rename fix under --validate).
        options = [leaf(name, draw(st.sampled_from(["true", "false", " TRUE "])))
                   for name in draw(st.lists(st.sampled_from(["HQvideo", "HDvideo", "chat", "poll", "HQvideo", "HQVideo"]),
                                             max_size=4))]
        pool.append(Node("enableOptions", options))
        meta = [leaf(draw(st.sampled_from(["confName", "confName", "confname"])), draw(PLAIN_TEXT | st.just("x" * 129)))]
        if operation in ("CreateEvent", "SetEvent", "CreateTrainingSession", "SetTrainingSession") or draw(st.booleans()):
            meta.append(leaf("description", draw(long_texts())))
        pool.append(Node("metaData", meta))
        if draw(st.booleans()):
            pool.append(Node("schedule", [leaf("startDate", "11/30/2026 10:00:00"),
                                          leaf(draw(st.sampled_from(["timeZoneID", "timezoneID"])), "4")]))
        if draw(st.booleans()):
            pool.append(leaf("autoRecord", "true"))
        if draw(st.booleans()):
            pool.append(Node("telephony", [leaf("telephonySupport", draw(st.sampled_from(["NONE", "CALLIN", " other "])))]))
        if draw(st.booleans()):
            pool.append(Node("attendeeOptions", [leaf("meetingPassword", draw(secrets))]))
    if operation in ("SetUser", "CreateUser") or draw(st.booleans()):
        pool.append(leaf("webExId", draw(st.sampled_from(["jdoe@acme.com", "jdoe"]))))
        for name in draw(st.lists(st.sampled_from(CI_IGNORED_FIELDS), max_size=5)):
            if name == "security":
                pool.append(Node("security", [leaf("forceChangePassword", "false")]))
            else:
                pool.append(leaf(name, draw(secrets) if name.lower().startswith("password") else draw(PLAIN_TEXT)))
        if draw(st.booleans()):
            pool.append(Node("personalMeetingRoom", [leaf("hostPIN", draw(secrets))]))
    if operation == "AuthenticateUser" or draw(st.integers(0, 4)) == 0:
        for name in draw(st.lists(st.sampled_from(["accessToken", "webExAccessToken", "samlResponse"]), max_size=3)):
            pool.append(leaf(name, draw(secrets)))
    if operation in ("LstRecording", "LstsummaryUser") or draw(st.integers(0, 4)) == 0:
        dates = st.sampled_from(["01/01/2019 00:00:00", "03/01/2019 00:00:00", "12/31/2019 23:59:59",
                                 "2019-10-01T09:00:00Z", "13/45/2019", "4/23/2018 8:0:0"]) | PLAIN_TEXT
        scope = [leaf(name, draw(dates)) for name in draw(st.lists(st.sampled_from(DATE_FIELDS), max_size=4))]
        pool.append(Node("createTimeScope", scope) if draw(st.booleans()) else Node("listControl", scope))
        pool.extend(leaf(name, draw(dates)) for name in draw(st.lists(st.sampled_from(DATE_FIELDS), max_size=3)))
        if draw(st.booleans()):
            pool.append(leaf("recordingID", "123456"))
    if operation == "UploadPMRImage":
        pool.append(leaf("imageData", draw(st.sampled_from(["iVBORw0KGgo=", "A" * 64]))))
    return draw(st.permutations(pool))


@st.composite
def request_tree(draw, secrets: st.SearchStrategy[str] = PLAIN_TEXT) -> Node:
    # Half the draws are operations with fixable rules, so fixes get exercised often.
    operation = draw(st.sampled_from(FIXABLE_OPERATIONS) | st.sampled_from(sorted(OPERATIONS)))
    package = OPERATIONS[operation]
    body_type = draw(st.sampled_from([
        f"java:com.webex.service.binding.{package}.{operation}",
        f"java:com.webex.service.binding.{package}.{operation}",
        f"java.com.webex.service.binding..{package}.{operation}",  # the SP20 release-note typo
        f" java:com.webex.service.binding.{package}.{operation}\n",
    ]))
    serv = draw(st.sampled_from(["", "serv:"]))  # header/body qualified or not (both seen in real clients)
    body_content = Node(f"{serv}bodyContent", draw(request_body(operation, secrets)), attrs=[("xsi:type", body_type)])
    header = Node(f"{serv}header", [draw(security_context(secrets))])
    children = [header, Node(f"{serv}body", [body_content])]
    if draw(st.integers(0, 9)) == 0:
        children = [header, body_content]  # bodyContent straight under the root (one release-note example)
    return Node("serv:message", children)


@st.composite
def response_tree(draw, secrets: st.SearchStrategy[str] = PLAIN_TEXT) -> Node:
    operation = draw(st.sampled_from(sorted(OPERATIONS)))
    prefix = RESPONSE_PREFIXES[OPERATIONS[operation]]
    result = draw(st.sampled_from(["SUCCESS", "FAILURE", "failure"]))
    response = [leaf("serv:result", result)]
    if result != "SUCCESS":
        response.append(leaf("serv:reason", draw(st.sampled_from(["CAPTCHA ID and word are invalid or missing",
                                                                  "User management is not allowed on unified site"])
                                                 | PLAIN_TEXT)))
        response.append(leaf("serv:exceptionID", draw(st.sampled_from(["030098", "060067", "999999", "123"]))))
    response.append(leaf("serv:gsbStatus", "PRIMARY"))
    body = [leaf(f"{prefix}:{name}", draw(PLAIN_TEXT)) for name in draw(st.lists(
        st.sampled_from(["apiVersion", "apiVer", "release", "captchaID", "meetingkey", "confName"]), max_size=4))]
    if draw(st.booleans()):
        body.append(leaf(f"{prefix}:{draw(st.sampled_from(['sessionTicket', 'password', 'guestToken']))}", draw(secrets)))
    type_name = operation[0].lower() + operation[1:] + "Response"
    body_content = Node("serv:bodyContent", body, attrs=[("xsi:type", f"{prefix}:{type_name}")])
    return Node("serv:message", [Node("serv:header", [Node("serv:response", response)]),
                                 Node("serv:body", [body_content])],
                attrs=[(f"xmlns:{prefix}", f"{SERVICE_NS}/{prefix}")])


# -- serialisation with noise -------------------------------------------------------------------

GAPS = st.sampled_from(["", "", "\n", "\r\n", "  ", "\t", "\n    ", "<!-- c -->", "<!--<password>x</password>-->",
                        "<?pi data?>", "\r\n<!-- a > b -->\r\n"])
NOISE_ATTRS = st.lists(st.tuples(st.sampled_from(["a", "id", "x-y", "type", "n.s"]),
                                 st.sampled_from(["1", "a > b", "it's", 'say "hi"', "&amp;", "line\nbreak", ""])),
                       max_size=2, unique_by=lambda item: item[0])


@dataclass(frozen=True)
class Layout:
    """How a tree is written: declarations, gaps between elements, text as CDATA or escaped."""

    declare_serv: bool
    declare_xsi: bool
    gaps: tuple[str, ...]  # cycled through for the gaps between elements
    cdata: bool
    noise: tuple[tuple[str, str], ...]  # attributes added to elements without attributes, cycled


@st.composite
def layouts(draw) -> Layout:
    return Layout(draw(st.booleans()), draw(st.booleans()), tuple(draw(st.lists(GAPS, min_size=1, max_size=5))),
                  draw(st.booleans()), tuple(draw(NOISE_ATTRS)))


def _attr(name: str, value: str) -> str:
    return f" {name}={quoteattr(value)}"


def serialise(root: Node, layout: Layout) -> str:
    counter = [0]

    def gap() -> str:
        counter[0] += 1
        return layout.gaps[counter[0] % len(layout.gaps)]

    def write(node: Node, is_root: bool) -> str:
        attrs = list(node.attrs)
        if is_root:
            if layout.declare_serv:
                attrs.insert(0, ("xmlns:serv", SERVICE_NS))
            if layout.declare_xsi:
                attrs.insert(0, ("xmlns:xsi", XSI_NS))
        elif not attrs and layout.noise and counter[0] % 3 == 0:
            attrs = [layout.noise[counter[0] % len(layout.noise)]]
        start = f"<{node.name}{''.join(_attr(n, v) for n, v in attrs)}"
        if node.children:
            inner = "".join(gap() + write(child, False) for child in node.children) + gap()
        elif node.text:
            use_cdata = layout.cdata and "]]>" not in node.text and counter[0] % 2 == 0
            inner = f"<![CDATA[{node.text}]]>" if use_cdata else escape(node.text)
        else:
            gap()
            return start + "/>" if counter[0] % 2 else f"{start}></{node.name}>"
        return f"{start}>{inner}</{node.name}>"

    return write(root, True)


@dataclass(frozen=True)
class Encoding:
    """How text becomes bytes: the codec, the declaration's label (None: no declaration), a BOM."""

    codec: str
    label: str | None
    bom: bytes = b""
    quote: str = '"'

    def declaration(self) -> str:
        if self.label is None:
            return ""
        return f"<?xml version={self.quote}1.0{self.quote} encoding={self.quote}{self.label}{self.quote}?>"

    def encode(self, text: str) -> bytes:
        return self.bom + text.encode(self.codec, errors="xmlcharrefreplace")


ENCODINGS = st.sampled_from([
    Encoding("utf-8", "UTF-8"), Encoding("utf-8", "utf-8", quote="'"), Encoding("utf-8", None),
    Encoding("utf-8", "UTF-8", codecs.BOM_UTF8), Encoding("utf-8", None, codecs.BOM_UTF8),
    Encoding("latin-1", "ISO-8859-1"), Encoding("latin-1", "iso-8859-1", quote="'"),
    Encoding("utf-16-le", "UTF-16", codecs.BOM_UTF16_LE), Encoding("utf-16-be", "UTF-16", codecs.BOM_UTF16_BE),
    Encoding("utf-16-le", None, codecs.BOM_UTF16_LE),
])


@st.composite
def messages(draw, secrets: st.SearchStrategy[str] = PLAIN_TEXT, kind: str | None = None) -> bytes:
    """A serv:message request or response as bytes."""
    kind = kind or draw(st.sampled_from(["request", "request", "request", "response"]))
    tree = draw(request_tree(secrets) if kind == "request" else response_tree(secrets))
    encoding = draw(ENCODINGS)
    body = serialise(tree, draw(layouts()))
    head = encoding.declaration()
    return encoding.encode(head + draw(st.sampled_from(["\n", "\r\n", ""])) + body + draw(st.sampled_from(["\n", ""])))


# -- mutations of the corpus --------------------------------------------------------------------


@st.composite
def corpus_files(draw) -> bytes:
    return draw(st.sampled_from(CORPUS_FILES)).read_bytes()


def _element_at(text: bytes, position: int) -> tuple[int, int] | None:
    """The byte range of a simple <name ...>...</name> element starting at or after `position`."""
    start = re.compile(rb"<([A-Za-z_][\w.:-]*)[^<>]*>").search(text, position)
    if not start:
        return None
    end = text.find(b"</" + start.group(1) + b">", start.end())
    return (start.start(), end + len(start.group(1)) + 3) if end != -1 else None


@st.composite
def corpus_mutations(draw, secrets: st.SearchStrategy[str] = PLAIN_TEXT) -> bytes:
    """A corpus message mutated the ways transport and clients break messages."""
    data = bytearray(draw(corpus_files()))
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["flip", "truncate", "splice", "duplicate", "delete", "insert", "secret"]))
        position = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[position] ^= 1 << draw(st.integers(0, 7))
        elif kind == "truncate":
            del data[position:]
        elif kind == "splice":
            other = draw(corpus_files())
            cut = draw(st.integers(0, len(other)))
            data[position:] = other[cut:]
        elif kind in ("duplicate", "delete"):
            found = _element_at(bytes(data), position)
            if found:
                start, end = found
                if kind == "duplicate":
                    data[end:end] = data[start:end]
                else:
                    del data[start:end]
        elif kind == "insert":
            data[position:position] = draw(st.sampled_from([
                b"<!-- x -->", b"<![CDATA[<a>]]>", b"&amp;", b"&undefined;", b"<?pi?>", b"\x00", b"\xff\xfe",
                b"<siteID>1</siteID>", b"<HQvideo>true</HQvideo>", b'<!DOCTYPE m [<!ENTITY x "y">]>', b"\r\n"]))
        else:
            name = draw(st.sampled_from(SECRET_ELEMENTS))
            secret = escape(draw(secrets)).encode("utf-8")
            data[position:position] = b"<%s>%s</%s>" % (name.encode(), secret, name.encode())
    return bytes(data)


@st.composite
def corpus_with_secret(draw, secrets: st.SearchStrategy[str]) -> tuple[bytes, str]:
    """A corpus message (maybe mutated) with a credential element inserted at any byte: (bytes, secret)."""
    data = draw(corpus_mutations() | corpus_files())
    secret = draw(secrets)
    name = draw(st.sampled_from(SECRET_ELEMENTS)).encode()
    element = b"<%s>%s</%s>" % (name, escape(secret).encode("utf-8"), name)
    position = draw(st.integers(0, len(data)))
    return data[:position] + element + data[position:], secret


# -- secrets in every position redaction must cover ---------------------------------------------

# Secrets as users choose them: any text, with the characters that need escaping, quoting or
# encoding in the position they end up in.
SECRETS = st.one_of(
    st.text(XML_CHARS, min_size=1, max_size=30),
    st.text(st.sampled_from("aZ9 <>&'\"=;,:%+/\\é東😀*\t"), min_size=1, max_size=20),
    st.sampled_from(["hunter2", "P@ss w0rd", "a=b", 'qu"ote', "it's", "</password>", "x&amp;y", "]]>"]),
)


def in_xml_element(secret: str, name: str, prefix: str, attrs: str, cdata: bool, multiline: bool) -> str:
    body = f"<![CDATA[{secret}]]>" if cdata else escape(secret)
    if multiline:
        body = f"\n  {body}\n"
    return f"<{prefix}{name}{attrs}>{body}</{prefix}{name}>"


def in_query_string(secret: str, name: str) -> str:
    return f"https://acme.webex.com/x?user=admin&{name}={quote_plus(secret)}&n=1"


def in_json(secret: str, name: str, ascii_only: bool) -> str:
    return json.dumps({"site": "acme", name: secret, "n": 1}, ensure_ascii=ascii_only)


def in_attribute(secret: str, name: str) -> str:
    return f"<credential site=\"acme\" {name}={quoteattr(secret)}/>"
