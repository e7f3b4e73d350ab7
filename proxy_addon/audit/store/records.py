"""What the store keeps about one message and its findings, built from a lint result.

Nothing here holds a secret once `MessageRecord.from_result` has run... except `secrets`, the
exchange's credential values, kept (never stored) so the store can mask them wherever they turn up
in a field.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from lxml import etree

from proxy_addon.core.findings import Finding
from proxy_addon.core.message import local_name, text_of
from proxy_addon.core.clients import client_host
from proxy_addon.core.redaction import MASK, is_secret_name, redact_text
from proxy_addon.exchange.observed import PROXY_SOURCE


@dataclass(slots=True)
class StoredFinding:
    rule: str
    severity: str
    message: str
    line: int
    column: int
    predicts: str | None = None
    element: str | None = None  # local name of the element the finding points at (WX201's field)
    notes: tuple[str, ...] = ()  # the learned facts the finding depends on


@dataclass(slots=True)
class MessageRecord:
    source: str  # a capture file, or the proxy's name
    locator: str  # where in the source: "entry 3", "flow 7", a flow id; "" for a whole file
    direction: str  # "request" | "response" | "unknown"
    content_hash: bytes  # digest of the message with its secrets masked
    size: int
    operation: str | None = None
    site: str | None = None
    site_id: str | None = None
    webex_id: str | None = None
    client_address: str | None = None
    user_agent: str | None = None
    time: float | None = None
    result: str | None = None
    exception_id: str | None = None
    auth: str | None = None  # requests: the kinds of credential sent (see credential_kinds), never values
    url: str | None = None  # a HAR entry's or flow's request URL: scheme, host and path (see input_url)
    flow_id: str | None = None  # the flow that carried it: the proxy's flow id, or a flow dump's
    not_carried: tuple[str, ...] = ()  # Meetings requests: fields REST would not carry (names, no values)
    secrets: frozenset[str] = field(default_factory=frozenset)
    # element index -> local name, for the elements the message's findings point at (never stored
    # as such: each finding keeps its element's name, e.g. the field WX201 reports).
    elements: dict[int, str] = field(default_factory=dict)

    @property
    def key(self) -> bytes:
        """The natural key: where the message was seen and what it said. Same capture, same key."""
        digest = hashlib.blake2b(digest_size=16)
        for part in (self.source, self.locator, self.direction):
            digest.update(part.encode("utf-8", "surrogatepass") + b"\0")
        digest.update(self.content_hash)
        return digest.digest()

    @property
    def day(self) -> str | None:
        return datetime.fromtimestamp(self.time, UTC).strftime("%Y-%m-%d") if self.time is not None else None

    @classmethod
    def from_record(cls, record) -> MessageRecord:
        """A record of the message an exchange record was last handed out for (exchange/record.py):
        a request as soon as it is linted, its answer once it is there."""
        latest = record.latest
        seen = latest.observed
        # A client is a host: the proxy names "host:port", a new port per connection; captures the host.
        client = client_host(seen.client_address) if seen.source == PROXY_SOURCE else seen.client_address
        stored = cls.from_result(latest.result, seen.data, source=seen.source, locator=seen.locator, time=seen.time,
                                 client_address=client, user_agent=seen.user_agent, site=record.site,
                                 webex_id=record.webex_id, operation=record.operation, secrets=record.secrets)
        stored.url = input_url(seen.url)
        flow_id = seen.locator if seen.source == PROXY_SOURCE else seen.flow_id
        stored.flow_id = flow_id[:MAX_FLOW_ID] if isinstance(flow_id, str) and flow_id else None
        return stored

    @classmethod
    def from_result(cls, result, data: bytes, *, source: str, locator: str = "", time: float | None = None,
                    client_address: str | None = None, user_agent: str | None = None,
                    site: str | None = None, webex_id: str | None = None, operation: str | None = None,
                    secrets: frozenset[str] | None = None) -> MessageRecord:
        """A record of one linted message (`result` is the engine's LintResult).

        `site`, `webex_id` and `operation` are for a response, which does not name them: pass its
        request's. `secrets` are the whole exchange's credentials (an answer may echo its request's);
        by default the message's own.
        """
        message = result.message
        if secrets is None:
            secrets = message.secrets if message is not None else frozenset()
        context = result.context
        own_site = context.site_key(message.site_name, message.site_id) if message is not None else None
        return cls(
            source=source, locator=locator,
            direction=(message.direction if message is not None else None) or "unknown",
            content_hash=tree_digest(message, secrets) if message is not None else content_digest(data, secrets),
            size=len(data),
            operation=result.operation or operation,
            site=own_site or site,
            site_id=message.site_id if message is not None else None,
            webex_id=(message.webex_id if message is not None else None) or webex_id,
            client_address=client_address, user_agent=user_agent, time=time,
            result=message.result if message is not None else None,
            exception_id=message.exception_id if message is not None else None,
            auth=credential_kinds(message) if message is not None and message.direction == "request" else None,
            not_carried=_not_carried(message),
            secrets=secrets,
            elements=_element_names(result),
        )


# A URL kept for provenance is cut here: a HAR may hold anything in `url`; a flow dump, any flow id.
MAX_URL = 512
MAX_FLOW_ID = 128
# What a request's REST replacement would not carry, as stored: a hostile request with 100,000
# distinct leaf elements must not make a row of megabytes. Past the bound, one line says how many more.
MAX_NOT_CARRIED = 64
MAX_FIELD_PATH = 200


def input_url(url: object) -> str | None:
    """A request URL as the store keeps it: scheme, host and path. The query string, the fragment
    and any user:password@ are dropped whole (a query may carry an access token or a ticket)."""
    if not isinstance(url, str) or not url:
        return None
    scheme, _, rest = url.partition("://")
    if not rest:
        scheme, rest = "", url
    rest = rest.split("#", 1)[0].split("?", 1)[0]
    host, slash, path = rest.partition("/")
    host = host.rpartition("@")[2]
    kept = f"{scheme}://{host}{slash}{path}" if scheme else f"{host}{slash}{path}"
    return kept[:MAX_URL] or None


def stored_rows(record) -> tuple[MessageRecord, list]:
    """What the store keeps of an exchange record: its latest message and that message's findings
    (redacted with the exchange's secrets when the rows are prepared)."""
    return MessageRecord.from_record(record), record.latest.findings


# Masking each known credential value wherever it appears costs values x body: a hostile message
# with 5,000 distinct <password> values (1.2 MB) took 2.1 s, and it grows with both. Past this many
# values the digest covers the message's element names only, where no credential value can be
# (CDATA sections, comments, processing instructions and the DOCTYPE are skipped whole: a "<"
# inside them is text).
MAX_MASKED_SECRETS = 64
_MARKUP = re.compile(r"<!\[CDATA\[.*?(?:\]\]>|\Z)|<!--.*?(?:-->|\Z)|<\?.*?(?:\?>|\Z)"
                     r"|<!DOCTYPE(?:[^\[>]|\[.*?(?:\]|\Z))*>?|(?P<name></?[A-Za-z_][\w.:-]*)", re.DOTALL)

# The credentials a request can carry, in the order a report names them.
CREDENTIAL_KINDS = ("password", "accessToken", "sessionTicket")


def credential_kinds(message) -> str:
    """Which kinds of credential a request carries ("password", "accessToken+sessionTicket", "none").

    The securityContext's, plus AuthenticateUser's accessToken in the body. Only names: the
    values never leave the message.
    """
    present = {name for name in CREDENTIAL_KINDS if message.security.get(name)}
    if message.operation == "AuthenticateUser" and message.body_content is not None:
        present |= {name for name in CREDENTIAL_KINDS
                    if (text_of(message.children(message.body_content).first(name)) or "").strip()}
    return "+".join(name for name in CREDENTIAL_KINDS if name in present) or "none"


def content_digest(data: bytes, secrets: frozenset[str]) -> bytes:
    """A digest of a message that did not parse, with its credentials masked first.

    An unsalted hash of a message whose only unknown is a password would let anyone holding the
    store test password guesses offline; masking first leaves nothing to guess. Only a text scan
    finds the credentials of a message that is not XML: the credential elements whole, however their
    values are written (escaped, character references, CRLF), and the known values wherever else.
    """
    text = data.decode("utf-8", "replace")
    if len(secrets) > MAX_MASKED_SECRETS:
        data = " ".join(match.group("name") for match in _MARKUP.finditer(text) if match.group("name")).encode("utf-8")
    else:
        data = redact_text(text, secrets).encode("utf-8")
    return hashlib.blake2b(data, digest_size=16).digest()


# Above this many attributes on one element, they are read by XPath: lxml's attrib.items() and
# values() look each value up by its name (libxml2 walks the list again), quadratic: 200,000
# attributes took minutes. `@*` walks the list once; per call it costs more, hence the threshold.
_MANY_ATTRIBUTES = 32


def _attributes(element) -> list[tuple[str, str]]:
    """(name, value) of every attribute of `element`, in linear time whatever their number."""
    if len(element.attrib) <= _MANY_ATTRIBUTES:
        return element.attrib.items()
    return [(found.attrname, str(found)) for found in element.xpath("@*")]


def tree_digest(message, secrets: frozenset[str]) -> bytes:
    """A digest of a parsed message, from its tree: element names, attributes and text, with the
    credential elements' values and every known secret masked.

    From the tree, not the bytes: a value written escaped (&#45;), split by CDATA sections or
    comments, or echoed from the request is masked all the same, and nothing is decoded again.
    Attributes are read once each (a text scan of 200,000 attributes was quadratic). Past
    MAX_MASKED_SECRETS known values, the digest covers the element names only.
    """
    names, values, texts = [], [], []
    for element in message.root.iter():
        tag = element.tag
        if isinstance(tag, str):
            names.append(tag)
            for name, value in _attributes(element):
                values.append(MASK if is_secret_name(name.rsplit("}", 1)[-1]) else value)
            text = element.text
            if text:
                texts.append(MASK if is_secret_name(tag.rsplit("}", 1)[-1]) else text)
        elif element.text:  # a comment or processing instruction
            texts.append(element.text)
        if element.tail and element is not message.root:
            texts.append(element.tail)
    if len(secrets) > MAX_MASKED_SECRETS:
        values, texts = [], []
    digest = hashlib.blake2b(" ".join(names).encode("utf-8", "surrogatepass"), digest_size=16)
    for part in ("\0".join(values), "".join(texts)):  # query-string tokens too (redact_text)
        digest.update(b"\0" + redact_text(part, secrets).encode("utf-8", "surrogatepass"))
    return digest.digest()


def _not_carried(message) -> tuple[str, ...]:
    """What a deprecated Meetings request's REST replacement would not carry (migration/translate.py);
    the migration code is loaded only once such a request is seen."""
    if message is None or message.direction != "request" or not message.operation:
        return ()
    from proxy_addon.lint.lifecycle import default_lifecycle  # noqa: PLC0415 (cached)

    if default_lifecycle().lookup(message.operation).status != "deprecated":
        return ()
    from proxy_addon.migration.translate import not_carried  # noqa: PLC0415

    found = [line[:MAX_FIELD_PATH] for line in not_carried(message)]
    if len(found) > MAX_NOT_CARRIED:
        found = [*found[:MAX_NOT_CARRIED], f"more {len(found) - MAX_NOT_CARRIED} fields not listed"]
    return tuple(found)


def _element_names(result) -> dict[int, str]:
    wanted = {f.element_index for f in result.findings if f.element_index is not None}
    if not wanted or result.message is None:
        return {}
    return {index: local_name(element) for index, element in enumerate(result.message.root.iter(etree.Element))
            if index in wanted}


def as_stored(finding: Finding | StoredFinding, elements: dict[int, str] | None = None) -> StoredFinding:
    if isinstance(finding, StoredFinding):
        return finding
    element = (elements or {}).get(finding.element_index) if finding.element_index is not None else None
    return StoredFinding(finding.rule, str(finding.severity), finding.message, finding.line, finding.column,
                         finding.predicts, element, tuple(finding.notes))
