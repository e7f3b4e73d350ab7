"""The one place that decides what is a secret and hides it.

Everything that leaves the tool (findings, logs, stores, reports, errors) passes through `redact`.
"""

from __future__ import annotations

import functools
import io
import json
import re
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import Any
from urllib.parse import unquote

from proxy_addon.core.frozen import LazyPattern

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
# Settings about a credential are not credentials: forceChangePassword, resetPassword, excludePassword,
# isEnforceAudioPassword, strictUserPassword, allMeetingsPassword are booleans. Masking them hid real
# changes, and their values ("true", "FALSE") were then masked wherever they appeared.
_SETTING_OF_A_SECRET = LazyPattern(r"(?:is|has|enforce|force|exclude|reset|strict|require|enable|allow|allMeetings)"
                                  r"(?=[A-Z])")


def is_secret_name(name: str) -> bool:
    """True when a field or element of this (local) name carries a credential."""
    original = name.rsplit(":", 1)[-1].rsplit("}", 1)[-1]
    local = original.lower()
    if local in _EXACT_SECRET_NAMES:
        return True
    return local.endswith(_SECRET_SUFFIXES) and not _SETTING_OF_A_SECRET.match(original)


# The local names is_secret_name accepts, as a pattern: only secret elements may match below, or a
# matched parent (<securityContext>...</securityContext>) would hide the credentials inside it.
_SECRET_LOCAL_NAME = (r"(?i:(?:[A-Za-z_][\w.-]*)?(?:" + "|".join(_SECRET_SUFFIXES) + ")|"
                      + "|".join(re.escape(name) for name in sorted(_EXACT_SECRET_NAMES)) + ")")
# <prefix:name attrs> start tags of secret elements; the value (which may span lines and hold
# CDATA) runs to the first matching end tag, found by _mask_xml_elements.
_SECRET_START_TAG = LazyPattern(
    r"<(?P<qname>(?:[A-Za-z_][\w.-]*:)?(?P<local>" + _SECRET_LOCAL_NAME + r"))"
    r"(?P<attrs>(?:\s(?:[^<>\"']++|\"[^\"<]*+\"|'[^'<]*+')*+)?)>"
)
# How every secret element's local name ends: a suffix, or a whole exact name. A start tag can match
# _SECRET_START_TAG only where one of these ends its name, right before a space or ">".
_SECRET_NAME_ENDINGS = tuple(sorted({*_SECRET_SUFFIXES, *_EXACT_SECRET_NAMES}))
_SECRET_NAME_ENDING = LazyPattern("(?i:" + "|".join(map(re.escape, _SECRET_NAME_ENDINGS)) + r")(?=[\s>])")


def _secret_start_tags(text: str, qnames: Collection[str] | None = None) -> Iterator[re.Match[str]]:
    """What _SECRET_START_TAG.finditer(text) finds, trying the pattern only at tags whose name ends
    like a secret's: tried at every "<" it cost ~1 µs a tag (its optional prefix and name
    backtrack), most of linting a message with an undeclared prefix. A match holds no "<" but its
    first, so the matches at the candidates, in order, are finditer's.

    `qnames`, when the caller knows them, are the names as written of every element of `text`
    is_secret_name accepts, and every "<" of `text` starts a tag (a parsed document without
    comments, CDATA sections, DTD or processing instructions): then only those tags are tried.
    """
    if qnames is not None:
        ends = sorted(found + 1 for qname in qnames for found in _finds(text, "<" + qname))
    elif text.isascii():  # lower() keeps every offset; IGNORECASE and lower() agree on ASCII
        folded = text.lower()
        ends = sorted(found for ending in _SECRET_NAME_ENDINGS for found in _ends_of(folded, ending))
    else:
        ends = [found.end() for found in _SECRET_NAME_ENDING.finditer(text)]
    tried = -1
    for end in ends:
        start = text.rfind("<", 0, end)
        if start <= tried:
            continue
        tried = start
        found = _SECRET_START_TAG.match(text, start)
        if found is not None:
            yield found


def _finds(text: str, needle: str) -> Iterator[int]:
    found = text.find(needle)
    while found >= 0:
        yield found
        found = text.find(needle, found + 1)


def _ends_of(text: str, ending: str) -> Iterator[int]:
    """Offsets just past each `ending` in `text` that a space or ">" follows."""
    found = text.find(ending)
    while found >= 0:
        end = found + len(ending)
        if end < len(text) and (text[end] == ">" or text[end].isspace()):
            yield end
        found = text.find(ending, found + 1)


# key=value (query strings, log lines) and "key": "value" (JSON). A bare "word: text" in prose is
# not a key, or every sentence about tickets would be masked; header lines are matched apart.
# A bare key is at most 128 characters, the end of its word (the suffix test of is_secret_name sees
# the same ending; no exact secret name is that long). Keys are found from their "=" (or a quoted
# key's ':') backwards, never by a scan trying a key at every character: that scan cost ~1 µs a
# character (base64 is all words; a 4 MiB image took 4 s to digest), and unbounded it was quadratic.
# Every quote is a candidate (a charset first lets the scan skip text quickly); only one followed by
# ":" ends a key.
_KEY_ANCHOR = LazyPattern(r"""[="'](?:(?<=["'])\s*:)?""")
_BARE_KEY_BACKWARDS = LazyPattern(r"[\w.-]{1,128}")  # matched on the reversed text before an "="
_KEY_START = LazyPattern(r"[A-Za-z_]")
_QUOTED_KEY = LazyPattern(r"[A-Za-z_][\w.-]*")
_SPACES = LazyPattern(r"\s*")
# Quoted values: JSON-style with backslash escapes first, else plain (XML attributes, where a
# backslash is only a character).
# Each quoted form is runs of ordinary characters between escapes ([^"\\]*+ ...): the alternation
# (?:[^"\\]|\\.)* of before kept ~136 bytes of backtracking state per character (an 8 MiB
# attribute: 1.1 GB).
_VALUE = LazyPattern(r"""(?P<value>"[^"\\]*+(?:\\.[^"\\]*+)*+"|"[^"]*+"|'[^'\\]*+(?:\\.[^'\\]*+)*+'|'[^']*+'"""
                    r"""|[^\s&,;"'<>}]++)""")
_HEADER_LINE = LazyPattern(r"^(?P<key>(?P<hname>[A-Za-z][\w-]*):[ \t]*)(?P<value>[^\r\n]+)", re.MULTILINE)


def _mask_xml_elements(text: str) -> str:
    """Mask the value of every secret element, up to its end tag (CDATA sections skipped) or, when
    it has none and stands in markup (a truncated message), up to the next tag.

    One pass: each name's next end tag is searched for again only once a start tag lies past it,
    so thousands of unclosed <password> tags (hostile or truncated input) stay linear, not quadratic.
    """
    parts: list[str] = []
    done = 0
    next_end: dict[str, tuple[int, int] | None] = {}
    for start in _secret_start_tags(text):
        if start.start() < done:  # inside a value already masked
            continue
        if not is_secret_name(start.group("local")):
            continue
        tag = _mask_attributes(start.group())
        if start.group("attrs").rstrip().endswith("/"):  # <password value="..."/>: no content, no end tag
            parts += [text[done:start.start()], tag]
            done = start.end()
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
        if end[0] == start.end():
            parts += [text[done:start.start()], tag]
            done = start.end()
            continue
        parts += [text[done:start.start()], tag, MASK, closing]
        done = end[1]
    return "".join(parts) + text[done:] if parts else text


# name="value" in a start tag; a credential element's attributes hold the credential too, except its
# namespace declarations and xsi: attributes, which only say how to read it.
# Linear in time and memory: the name starts only after a delimiter and is possessive (an unclosed
# quote made every character a new start: quadratic), and each quote's value is one [^"]*+ run (the
# lazy `.*?(?P=quote)` of before kept backtracking state as it went).
_ATTRIBUTE = LazyPattern(r"""(?<![^\s=/<>"'])(?P<name>[^\s=/<>"']++)(?P<equals>\s*+=\s*+)"""
                        r"""(?:(?P<quote>")(?P<value>[^"]*+)"|(?P<squote>')(?P<svalue>[^']*+)')""")


def _mask_attributes(tag: str) -> str:
    # Written as it goes into one buffer (about a byte a character): re.sub with a function kept a
    # string per attribute until the end (a start tag of 770,000 attributes: ~15 bytes a character).
    if "=" not in tag:
        return tag
    masked = io.StringIO()
    done = 0
    for attribute in _ATTRIBUTE.finditer(tag):
        name = attribute.group("name")
        if name == "xmlns" or name.startswith(("xmlns:", "xsi:")) or not (attribute.group("value")
                                                                          or attribute.group("svalue")):
            continue
        value = "value" if attribute.group("quote") else "svalue"
        masked.write(tag[done:attribute.start(value)])
        masked.write(MASK)
        done = attribute.end(value)
    if not done:
        return tag
    masked.write(tag[done:])
    return masked.getvalue()


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
    pattern = _end_tag_pattern(qname)
    while (found := pattern.search(text, position)) is not None:
        if not found.group().startswith("<!"):
            return found.start(), found.end()
        cdata_end = text.find("]]>", found.end())
        if cdata_end == -1:
            return None
        position = cdata_end + 3
    return None


@functools.lru_cache(maxsize=256)  # the same few credential names in every message
def _end_tag_pattern(qname: str) -> re.Pattern[str]:
    return re.compile(rf"</{re.escape(qname)}\s*>|<!\[CDATA\[")


def credential_spans(text: str, qnames: Collection[str] | None = None) -> list[tuple[int, int, str]]:
    """(start, end, qname) of what each credential element holds in `text`: its attributes and its
    content, up to and with its end tag; when it has none, up to the next tag; an unterminated CDATA
    section inside it runs to the end. For text quoted from a document that may not parse.

    Linear like _mask_xml_elements: each name's end tag is searched for again only past the last one.
    `qnames`: see _secret_start_tags.
    """
    spans: list[tuple[int, int, str]] = []
    done = 0
    next_end: dict[str, tuple[int, int] | None] = {}
    for start in _secret_start_tags(text, qnames):
        if start.start() < done or not is_secret_name(start.group("local")):
            continue
        qname = start.group("qname")
        end = next_end.get(qname, False)
        if end is False or (end is not None and end[0] < start.end()):
            end = next_end[qname] = _end_tag(text, qname, start.end())
        stop = end[1] if end is not None else _next_tag(text, start.end())
        spans.append((start.start() + 1 + len(qname), stop, qname))
        done = stop
    return spans


# What a parser's message may quote: names, entity names, a run of the document (split at spaces,
# quotes, the cut mark, and the markup around names).
_QUOTED_TOKEN = LazyPattern(r"[^\s'\"…&;<>/=]+")
_MASKED_RUN = LazyPattern(r"\*\*\*(?:[\s&;<>/=]*\*\*\*)+")


def mask_quoted_credentials(message: str, text: str) -> str:
    """`message` (a parser's error about `text`) with every word that occurs inside a credential
    element of `text` masked: libxml2 quotes entity and tag names and 50 bytes after an unterminated
    CDATA section, which may all be pieces of a password. Names of credential elements, and the
    line numbers libxml2 adds ("line 3"), stay.
    """
    return quoted_credential_masker(text)(message)


def quoted_credential_masker(text: str, qnames: Collection[str] | None = None) -> Callable[[str], str]:
    """mask_quoted_credentials for several messages about one `text`: its credential elements are
    found once (`qnames`: see _secret_start_tags)."""
    spans = credential_spans(text, qnames) if "<" in text else []
    if not spans:
        return lambda message: message
    names = {qname for _, _, qname in spans}
    # What the elements hold, not their end tags: a word of the parser's message found only in
    # "</password>" ("or", "a") is no piece of a credential.
    values = [_without_end_tag(text[start:stop], qname) for start, stop, qname in spans]

    def masked(message: str) -> str:
        if MASK not in message and not any(word not in names and any(word in value for value in values)
                                           for word in _QUOTED_TOKEN.findall(message)):
            return message  # nothing to mask: the substitutions below would give it back as it is

        def mask(token: re.Match[str]) -> str:
            word = token.group()
            if word in names or not any(word in value for value in values):
                return word
            if word.isdigit() and message.endswith("line ", 0, token.start()):  # libxml2's own line number
                return word
            return MASK

        return _MASKED_RUN.sub(MASK, _QUOTED_TOKEN.sub(mask, message))  # one mask for a quoted run

    return masked


def _without_end_tag(value: str, qname: str) -> str:
    found = re.search(rf"</{re.escape(qname)}\s*>\Z", value)
    return value[:found.start()] if found is not None else value


def _mask_key_value(match: re.Match[str]) -> str:
    if not is_secret_name(match.group("hname")):
        return match.group(0)
    return f"{match.group('key')}{_masked(match.group('value'))}"


def _masked(value: str) -> str:
    quote = value[0] if value[:1] in "\"'" else ""
    return f"{quote}{MASK}{quote}"


def _key_before(text: str, anchor: re.Match[str]) -> int | None:
    """Where the key ending at this "=" or quoted key's ":" starts, and whether it names a credential
    (None when no key ends there)."""
    if anchor.group() == "=":
        end = anchor.start()
        while end > 0 and text[end - 1].isspace():
            end -= 1
    elif anchor.group().endswith(":"):
        end = anchor.start() + 1  # after the key's closing quote
    else:
        return None  # a quote that ends no key
    if end > 0 and text[end - 1] in "\"'":
        opening = text.rfind(text[end - 1], 0, end - 1)
        if opening == -1 or _QUOTED_KEY.fullmatch(text, opening + 1, end - 1) is None:
            return None
        return opening if is_secret_name(text[opening + 1:end - 1]) else -opening - 1
    if anchor.group() != "=":
        return None
    word = _BARE_KEY_BACKWARDS.match(text[max(0, end - 128):end][::-1])
    if word is None:
        return None
    name_start = _KEY_START.search(text, end - word.end(), end)
    if name_start is None:
        return None
    return name_start.start() if is_secret_name(text[name_start.start():end]) else -name_start.start() - 1


def _mask_key_values(text: str) -> str:
    """Mask the value of every key=value and "key": value whose key names a credential. Like a
    left-to-right scan: text inside a value already taken (masked or not) holds no key."""
    # Only what changes is written (into one buffer): a piece kept per value, masked or not, cost
    # ~15 bytes a character for a text of many short key=values.
    masked: io.StringIO | None = None
    done = written = 0
    for anchor in _KEY_ANCHOR.finditer(text):
        if anchor.start() < done or (key := _key_before(text, anchor)) is None:
            continue
        value_start = _SPACES.match(text, anchor.end()).end()
        value = _VALUE.match(text, value_start)
        if value is None or (key if key >= 0 else -key - 1) < done:
            continue
        done = value.end()
        if key >= 0:
            masked = masked or io.StringIO()
            masked.write(text[written:value_start])
            masked.write(_masked(value.group()))
            written = done
    if masked is None:
        return text
    masked.write(text[written:])
    return masked.getvalue()


def redact_text(text: str, known_secrets: frozenset[str] | set[str] = frozenset()) -> str:
    # Each pattern below masks only under a name is_secret_name accepts (an element, a key, a
    # header), and every such name holds one of the endings, in any case: text without one (most
    # finding messages) has nothing for them to change. str.lower() maps character by character,
    # so the lowered name is inside the lowered text.
    if _may_name_a_secret(text):
        if "<" in text:
            text = _mask_xml_elements(text)
        # A key=value needs an "=" or a quoted key; skipping it otherwise saves a slow scan of prose.
        if "=" in text or '"' in text or "'" in text:
            text = _mask_key_values(text)
        if ":" in text:
            text = _HEADER_LINE.sub(_mask_key_value, text)
    if known_secrets:
        for forms in _forms_longest_first(known_secrets if type(known_secrets) is frozenset else frozenset(known_secrets)):
            for form in forms:
                while form in text:  # again: masking "a***" in "aa***" leaves "a***"
                    text = text.replace(form, MASK)
    return text


def _may_name_a_secret(text: str) -> bool:
    return _ANY_NAME_ENDING.search(text.lower()) is not None


# Any of the endings, in lowered text: one search instead of one scan per ending.
_ANY_NAME_ENDING = LazyPattern("|".join(map(re.escape, _SECRET_NAME_ENDINGS)))


@functools.lru_cache(maxsize=64)  # one exchange's secrets mask each of its findings' texts
def _forms_longest_first(known_secrets: frozenset[str]) -> tuple[tuple[str, ...], ...]:
    """The written forms of each secret worth masking, longest secret first, so a secret that
    contains another is masked whole."""
    return tuple(tuple(_written_forms(secret)) for secret in sorted(known_secrets, key=len, reverse=True)
                 if secret and len(secret) >= 3 and secret != MASK)


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


def lines_with_credentials(text: str, known_secrets: frozenset[str] | set[str] = frozenset()) -> set[int]:
    """The 0-based numbers of the lines ("\\n"-separated) of `text` that redaction would change: a
    credential element's content, a credential key=value, or a known secret in any written form,
    including those that run over several lines."""
    import bisect  # noqa: PLC0415 (only --diff asks which lines hold credentials)

    starts = [0, *(index + 1 for index, char in enumerate(text) if char == "\n")]

    def lines_of(start: int, end: int) -> range:
        return range(bisect.bisect_right(starts, start) - 1, bisect.bisect_right(starts, max(start, end - 1)))

    hidden = {number for number, (start, end) in enumerate(zip(starts, [*starts[1:], len(text) + 1], strict=True))
              if redact_text(text[start:end - 1], known_secrets) != text[start:end - 1]}
    for start, end, _ in credential_spans(text) if "<" in text else ():
        hidden.update(lines_of(start, end))
    for secret in known_secrets:
        if secret and len(secret) >= 3 and secret != MASK:
            for form in _written_forms(secret):
                position = text.find(form)
                while position != -1:
                    hidden.update(lines_of(position, position + len(form)))
                    position = text.find(form, position + 1)
    return hidden


def dsn_password(url: str) -> str | None:
    """The password in a URL-shaped DSN's userinfo (percent-decoded), found by the same shape as
    mask_dsn masks: None without one. Never raises (urlsplit(url).password does on `[::1`)."""
    scheme, separator, rest = url.partition("://")
    before_query = min((index for index in map(rest.find, "?#") if index != -1), default=len(rest))
    userinfo = rest[:before_query].rpartition("@")[0] if separator else ""
    if ":" not in userinfo:
        return None
    return unquote(userinfo.partition(":")[2])


def mask_dsn(url: str) -> str:
    """A store's address (a SQLite path, a postgresql:// URL, a libpq "key=value" string) with its
    password masked: every message, log line and report naming a store shows it through this.

    The userinfo is found by its shape, not by urlsplit: urlsplit refuses `[::1` or `host]` with a
    ValueError, and the DSN was then shown as written, password and all.
    """
    scheme, separator, rest = url.partition("://")
    before_query = min((index for index in map(rest.find, "?#") if index != -1), default=len(rest))
    if separator and "@" in rest[:before_query]:
        # Up to the last "@" before the query: a password may hold an unescaped "/", "@" or "[".
        userinfo, _, after = rest[:before_query].rpartition("@")
        if ":" in userinfo:
            userinfo = f"{userinfo.partition(':')[0]}:{MASK}"
        url = f"{scheme}://{userinfo}@{after}{rest[before_query:]}"
    return redact_text(url)


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
