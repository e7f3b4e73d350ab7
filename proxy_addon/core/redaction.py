"""The one place that decides what is a secret and hides it.

Everything that leaves the tool (findings, logs, stores, reports, errors) passes through `redact`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

MASK = "***"

# Element and field names whose values are credentials. Matching is on the local name,
# case-insensitively; anything ending in password/token/ticket is a credential too
# (sessionPassword, audioPassword, panelistNumericPassword, webExAccessToken, guestToken...).
_EXACT_SECRET_NAMES = {
    "password", "samlresponse", "hostkey", "hostpin", "passwordhintanswer", "captchaword",
    "sessionticket", "accesstoken", "secret", "clientsecret", "authorization", "cookie",
    "set-cookie", "proxy-authorization",
    # The partner's shared credential in securityContext, and a user's telephony PIN (SetUser phones/PIN).
    "partnerid", "pin",
    # LstRecording's hostStreamURL opens the recording as the host, without signing in, for 30 minutes.
    "hoststreamurl",
}
_SECRET_SUFFIXES = ("password", "token", "ticket", "passwd", "secret")


def is_secret_name(name: str) -> bool:
    """True when a field or element of this (local) name carries a credential."""
    local = name.rsplit(":", 1)[-1].rsplit("}", 1)[-1].lower()
    return local in _EXACT_SECRET_NAMES or local.endswith(_SECRET_SUFFIXES)


# The local names is_secret_name accepts, as a pattern: only secret elements may match below, or a
# matched parent (<securityContext>...</securityContext>) would hide the credentials inside it.
_SECRET_LOCAL_NAME = (r"(?i:(?:[A-Za-z_][\w.-]*)?(?:" + "|".join(_SECRET_SUFFIXES) + ")|"
                      + "|".join(re.escape(name) for name in sorted(_EXACT_SECRET_NAMES)) + ")")
# <prefix:name attrs> start tags of secret elements; the value (which may span lines and hold
# CDATA) runs to the first matching end tag, found by _mask_xml_elements.
_SECRET_START_TAG = re.compile(
    r"<(?P<qname>(?:[A-Za-z_][\w.-]*:)?(?P<local>" + _SECRET_LOCAL_NAME + r"))"
    r"(?P<attrs>(?:\s(?:[^<>\"']|\"[^\"<]*\"|'[^'<]*')*?)?)>"
)
# key=value (query strings, log lines) and "key": "value" (JSON). A bare "word: text" in prose is
# not a key, or every sentence about tickets would be masked; header lines are matched apart.
# A bare key is at most 128 characters: unbounded, the scan of a long word was tried again from each
# of its characters, quadratic (a 20 KB entity name in a WX001 message held the proxy's worker 11 s).
# A longer key still matches by its last 128 characters, which end as its name does (the suffix
# test of is_secret_name sees the same ending; no exact secret name is that long).
_KEY_VALUE = re.compile(
    r"""(?P<key>(?:(?P<quote>["'])(?P<qname>[A-Za-z_][\w.-]*)(?P=quote)\s*[:=]|(?P<name>[A-Za-z_][\w.-]{0,127})\s*=)\s*)"""
    # Quoted values: JSON-style with backslash escapes first, else plain (XML attributes, where a
    # backslash is only a character).
    r"""(?P<value>"(?:[^"\\]|\\.)*"|"[^"]*"|'(?:[^'\\]|\\.)*'|'[^']*'|[^\s&,;"'<>}]+)"""
)
_HEADER_LINE = re.compile(r"^(?P<key>(?P<hname>[A-Za-z][\w-]*):[ \t]*)(?P<value>[^\r\n]+)", re.MULTILINE)


def _mask_xml_elements(text: str) -> str:
    """Mask the value of every secret element, up to its end tag (CDATA sections skipped) or, when
    it has none and stands in markup (a truncated message), up to the next tag.

    One pass: each name's next end tag is searched for again only once a start tag lies past it,
    so thousands of unclosed <password> tags (hostile or truncated input) stay linear, not quadratic.
    """
    parts: list[str] = []
    done = 0
    next_end: dict[str, tuple[int, int] | None] = {}
    for start in _SECRET_START_TAG.finditer(text):
        if start.start() < done:  # inside a value already masked
            continue
        qname = start.group("qname")
        end = next_end.get(qname, False)
        if end is False or (end is not None and end[0] < start.end()):
            end = next_end[qname] = _end_tag(text, qname, start.end())
        if end is None:
            # No end tag. In markup (right after another tag) this is a message cut short: the value
            # runs to the next tag. In prose ("SetUser ignores <password>: ...") it names an element.
            if not _follows_a_tag(text, start.start()):
                continue
            stop = _next_tag(text, start.end())
            end, closing = (stop, stop), ""
        else:
            closing = f"</{qname}>"
        if end[0] == start.end() or not is_secret_name(start.group("local")):
            continue
        parts += [text[done:start.end()], MASK, closing]
        done = end[1]
    return "".join(parts) + text[done:] if parts else text


def _follows_a_tag(text: str, position: int) -> bool:
    """Whether only whitespace separates `position` from the end of a tag before it (no slice of the
    text before it: that copy, once per unclosed start tag, made hostile input quadratic)."""
    index = position - 1
    while index >= 0 and text[index].isspace():
        index -= 1
    return index >= 0 and text[index] == ">"


def _next_tag(text: str, position: int) -> int:
    """Offset of the next tag after `position`, CDATA sections being part of the text."""
    while (following := text.find("<", position)) != -1 and text.startswith("<![CDATA[", following):
        cdata_end = text.find("]]>", following + 9)
        if cdata_end == -1:
            return len(text)
        position = cdata_end + 3
    return len(text) if following == -1 else following


def _end_tag(text: str, qname: str, position: int) -> tuple[int, int] | None:
    """(start, end) of the first </qname> after `position` outside CDATA sections, or None."""
    pattern = re.compile(rf"</{re.escape(qname)}\s*>|<!\[CDATA\[")
    while (found := pattern.search(text, position)) is not None:
        if not found.group().startswith("<!"):
            return found.start(), found.end()
        cdata_end = text.find("]]>", found.end())
        if cdata_end == -1:
            return None
        position = cdata_end + 3
    return None


def _mask_key_value(match: re.Match[str]) -> str:
    groups = match.groupdict()
    name = groups.get("qname") or groups.get("name") or groups.get("hname")
    if not is_secret_name(name):
        return match.group(0)
    value = match.group("value")
    quote = value[0] if value[:1] in "\"'" else ""
    return f"{match.group('key')}{quote}{MASK}{quote}"


def redact_text(text: str, known_secrets: frozenset[str] | set[str] = frozenset()) -> str:
    if "<" in text:
        text = _mask_xml_elements(text)
    # _KEY_VALUE needs an "=" or a quoted key; skipping it otherwise saves a slow scan of prose.
    if "=" in text or '"' in text or "'" in text:
        text = _KEY_VALUE.sub(_mask_key_value, text)
    if ":" in text:
        text = _HEADER_LINE.sub(_mask_key_value, text)
    # Longest first, so a secret that contains another is masked whole.
    for secret in sorted(known_secrets, key=len, reverse=True):
        if secret and len(secret) >= 3 and secret != MASK:
            for form in _written_forms(secret):
                while form in text:  # again: masking "a***" in "aa***" leaves "a***"
                    text = text.replace(form, MASK)
    return text


def _written_forms(secret: str) -> set[str]:
    """The secret as it appears in text: as is, quoted by repr() (findings quote values with !r) or
    JSON, which escape quotes, backslashes, control and non-printable characters, and as the raw
    message writes it (XML-escaped, with the CR or CRLF line ends XML parsing turned into LF)."""
    forms = {secret}
    if not secret.isprintable() or "\\" in secret or "'" in secret or '"' in secret:
        forms |= {repr(secret)[1:-1], repr(secret + '"')[1:-2], json.dumps(secret)[1:-1],
                  json.dumps(secret, ensure_ascii=False)[1:-1]}
    raw = {secret, secret.replace("\n", "\r\n"), secret.replace("\n", "\r")} if "\n" in secret else {secret}
    if "&" in secret or "<" in secret or ">" in secret:
        raw |= {form.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") for form in raw}
    return forms | raw


def redact(value: Any, known_secrets: frozenset[str] | set[str] = frozenset()) -> Any:
    """Return `value` with every credential masked: strings, bytes, mappings and sequences.

    `known_secrets` are literal values taken from the message being reported (its passwords,
    tickets, tokens), masked wherever they appear, in any position.
    """
    if isinstance(value, str):
        return redact_text(value, known_secrets)
    if isinstance(value, bytes | bytearray):
        return redact_text(bytes(value).decode("utf-8", "replace"), known_secrets)
    if isinstance(value, Mapping):
        return {
            key: (MASK if isinstance(key, str) and is_secret_name(key) and item not in (None, "")
                  else redact(item, known_secrets))
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return type(value)(redact(item, known_secrets) for item in value)
    return value
