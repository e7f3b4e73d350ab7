"""The check functions rules name in `then.function`, each with its options.

A check receives the elements its rule's selector found and yields a Hit for each problem.
Options are validated when the rule pack loads (`OPTION_SCHEMAS`), never at lint time.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from lxml import etree

from proxy_addon.core.frozen import LazyPattern, Plain
from proxy_addon.core.message import Message, child, exception_key, local_name, text_of
from proxy_addon.core.text import format_time
from proxy_addon.core.versions import Version, format_version
from proxy_addon.lint.lifecycle import default_lifecycle
from proxy_addon.lint.memory import (
    SESSION_TICKET,
    SHARED_RECORDING,
    SITE_REFUSAL,
    duration,
    shared_recording_key,
    ticket_digest,
)
from proxy_addon.lint.options import (
    Boolean,
    Integer,
    ListOf,
    MapOf,
    Option,
    Record,
    Regex,
    SelectorText,
    Text,
    VersionText,
)

Element = etree._Element

# Values that are template placeholders, not data (Postman {{X}}, ${x}, %(x)s, {x}): on one line, "{{"
# and later "}}", or "${" and later "}"; or %(name)s anywhere; or the whole value {name}. Said without
# a regex alternation like \{\{.*?\}\}: tried from every "{{" it scanned the rest of the line each
# time, quadratic (a 100 KB confName of "{{" took 26 s).
_PRINTF_NAME = LazyPattern(r"%\(\w+\)s")
_BRACED_NAME = LazyPattern(r"\{\w+\}$")
WEBEX_DATE = LazyPattern(r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})(?:\s+(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?)?\s*$")


class Hit(Plain):
    """What a check found: the element, the values its message names, and notes. (Hit and CheckEnv
    are plain classes, not dataclasses: `check FILE` creates them at import, core/frozen.py.)"""

    __slots__ = ("element", "values", "notes")
    _FIELDS = __slots__

    def __init__(self, element: Element, values: dict[str, Any] | None = None, notes: tuple[str, ...] = ()):
        self.element = element
        self.values = {} if values is None else values
        self.notes = notes  # where what the check relied on came from (an earlier answer)


def _nothing_remembered(kind: str, site: str | None, key: str) -> Any:
    return None


class CheckEnv(Plain):
    __slots__ = ("message", "api_version", "is_ci", "exceptions", "lifecycle", "site_kind", "site", "time", "remembered")
    _FIELDS = __slots__

    def __init__(self, message: Message, api_version: Version,
                 is_ci: bool | None,  # None: the site type is unknown
                 exceptions: dict[str, dict[str, Any]] | None = None,  # rules/exceptions.yaml
                 lifecycle: Any = None,  # rules/lifecycle.yaml (proxy_addon.lint.lifecycle.Lifecycle)
                 site_kind: str | None = None,  # "ci" | "sso" | "non-sso" (GetSiteType, A174-178); None: unknown
                 site: str | None = None,  # the site the message is for (siteName, or the siteID's mapped name)
                 time: float | None = None,  # when the message was seen (a capture's or the proxy's clock)
                 remembered: Callable[[str, str | None, str], Any] = _nothing_remembered):  # LintContext.remembered
        self.message = message
        self.api_version = api_version
        self.is_ci = is_ci
        self.exceptions = {} if exceptions is None else exceptions
        self.lifecycle = lifecycle
        self.site_kind = site_kind
        self.site = site
        self.time = time
        self.remembered = remembered


Check = Callable[[list[Element], dict[str, Any], CheckEnv], Iterator[Hit]]
CHECKS: dict[str, Check] = {}
# check name -> the schema of its `options` mapping; applied when a rule pack is loaded.
OPTION_SCHEMAS: dict[str, Record] = {}


def check(name: str, **options: Option):
    """Register a check function under `name`, with the options it takes (see proxy_addon.lint.options)."""
    def register(function: Check) -> Check:
        CHECKS[name] = function
        OPTION_SCHEMAS[name] = Record(fields=options)
        return function
    return register


def is_placeholder(value: str) -> bool:
    # Every placeholder form has a "{" or a "%": single-character tests (memchr) spare long text
    # the scans.
    if "{" in value:
        if _opened_and_closed(value, "{{", "}}") or _opened_and_closed(value, "${", "}") \
                or _BRACED_NAME.match(value):
            return True
    return "%" in value and _PRINTF_NAME.search(value) is not None


def _opened_and_closed(value: str, opening: str, closing: str) -> bool:
    """Whether some line of `value` has `opening` and, after it, `closing`. Linear: a line's first
    opening is the only one to try (any later one sees less of the line)."""
    start = value.find(opening)
    while start >= 0:
        line_end = value.find("\n", start)
        if line_end < 0:
            line_end = len(value)
        if value.find(closing, start + len(opening), line_end) >= 0:
            return True
        start = value.find(opening, line_end)
    return False


def parse_webex_date(value: str) -> datetime | None:
    """MM/DD/YYYY HH:MM:SS as the API writes it (one-digit fields are accepted by the service)."""
    match = WEBEX_DATE.match(value)
    if not match:
        return None
    month, day, year, hour, minute, second = (int(g) if g else 0 for g in match.groups())
    try:
        return datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None


@check("present", text_matches=Regex())
def present(matches: list[Element], options: dict[str, Any], env: CheckEnv) -> Iterator[Hit]:
    """Each matched element is a problem (optionally only when its text matches a pattern)."""
    pattern = options.get("text_matches")
    for element in matches:
        value = text_of(element) or ""
        if pattern and not pattern.search(value):
            continue
        yield Hit(element, {"value": value, "element": local_name(element)})


@check("max_length", max=Integer(minimum=0), min=Integer(minimum=0),
       limits=ListOf(item=Record(fields={"since": VersionText(required=True), "max": Integer(required=True, minimum=0)})))
def max_length(matches: list[Element], options: dict[str, Any], env: CheckEnv) -> Iterator[Hit]:
    """Text longer than `max` (or the limit in force for the API version), or shorter than `min`."""
    limit = options.get("max")
    for step in options.get("limits", ()):
        if env.api_version >= step["since"]:
            limit = step["max"]
            break
    minimum = options.get("min")
    for element in matches:
        value = text_of(element) or ""
        if is_placeholder(value):
            continue
        length = len(value)
        if (limit is not None and length > limit) or (minimum is not None and length < minimum):
            yield Hit(element, {"length": length, "max": limit, "min": minimum,
                                "element": local_name(element), "empty": length == 0})


@check("date_range", start=Text(required=True), end=Text(required=True), max_days=Integer(required=True, minimum=1))
def date_range(matches: list[Element], options: dict[str, Any], env: CheckEnv) -> Iterator[Hit]:
    """The span between two child dates of each matched element exceeds `max_days`."""
    for element in matches:
        start_el, end_el = child(element, options["start"]), child(element, options["end"])
        if start_el is None or end_el is None:
            continue
        start, end = parse_webex_date(text_of(start_el) or ""), parse_webex_date(text_of(end_el) or "")
        if start is None or end is None:
            continue
        span, limit = end - start, timedelta(days=options["max_days"])
        if span > limit:
            # Exact, never rounded: "28 days 1 second" must not read as "28.0 days".
            yield Hit(end_el, {"days": span / timedelta(days=1), "span": describe_duration(span),
                               "excess": describe_duration(span - limit), "max_days": options["max_days"],
                               "start": options["start"], "end": options["end"]})


def describe_duration(span: timedelta) -> str:
    """A duration in whole units, exactly: "28 days 1 second", "2 hours 30 minutes"."""
    seconds = int(span.total_seconds())
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    parts = [f"{n} {unit}{'' if n == 1 else 's'}"
             for n, unit in ((days, "day"), (hours, "hour"), (minutes, "minute"), (seconds, "second")) if n]
    return " ".join(parts) or "0 seconds"


@check("pattern", match=Regex(required=True), skip_empty=Boolean())
def pattern(matches: list[Element], options: dict[str, Any], env: CheckEnv) -> Iterator[Hit]:
    """Text that does not match the regular expression `match` (placeholders are skipped)."""
    regex = options["match"]
    for element in matches:
        value = text_of(element) or ""
        if is_placeholder(value) or (not value and options.get("skip_empty", True)):
            continue
        if not regex.search(value):
            yield Hit(element, {"value": value, "element": local_name(element)})


@check("webex_date")
def webex_date(matches: list[Element], options: dict[str, Any], env: CheckEnv) -> Iterator[Hit]:
    """A date the API reads as MM/DD/YYYY HH:MM:SS that is not in that form or not a real date."""
    for element in matches:
        value = text_of(element) or ""
        if not value or is_placeholder(value):
            continue
        if parse_webex_date(value) is None:
            yield Hit(element, {"value": value, "element": local_name(element)})


@check("enumeration", allowed=ListOf(required=True, item=Text()))
def enumeration(matches: list[Element], options: dict[str, Any], env: CheckEnv) -> Iterator[Hit]:
    """Text outside the `allowed` values (compared case-insensitively)."""
    allowed = {str(v).upper() for v in options["allowed"]}
    for element in matches:
        value = text_of(element) or ""
        if value and not is_placeholder(value) and value.upper() not in allowed:
            yield Hit(element, {"value": value, "element": local_name(element),
                                "allowed": ", ".join(map(str, options["allowed"]))})


@check("max_decoded_size", max_bytes=Integer(required=True, minimum=0))
def max_decoded_size(matches: list[Element], options: dict[str, Any], env: CheckEnv) -> Iterator[Hit]:
    """Base64 content whose decoded size exceeds `max_bytes`."""
    for element in matches:
        value = element.text or ""
        if len(value) * 3 // 4 <= options["max_bytes"]:
            continue
        compact = re.sub(r"\s+", "", value)
        size = len(compact) * 3 // 4 - compact[-2:].count("=")
        if size > options["max_bytes"]:
            yield Hit(element, {"size": size, "max_bytes": options["max_bytes"], "excess": size - options["max_bytes"]})


@check("max_count", max=Integer(required=True, minimum=0))
def max_count(matches: list[Element], options: dict[str, Any], env: CheckEnv) -> Iterator[Hit]:
    """More than `max` matched elements in one message: one hit, on the first element over the limit."""
    limit = options["max"]
    if len(matches) > limit:
        yield Hit(matches[limit], {"count": len(matches), "max": limit, "element": local_name(matches[limit]),
                                   "excess": len(matches) - limit})


@check("lacks_all", names=ListOf(required=True, item=Text()), within=ListOf(item=Text()))
def lacks_all(matches: list[Element], options: dict[str, Any], env: CheckEnv) -> Iterator[Hit]:
    """A matched element that has content but none of the named children (an answer trimmed for the
    caller), looked for also one level down in the children named `within` (GetSessionInfo nests
    confName in metaData and startDate in schedule)."""
    names = options["names"]
    within = options.get("within") or ()
    for element in matches:
        children = env.message.children(element)
        if not children.ordered:
            continue  # an empty body (a FAILURE answer) is not a trimmed one
        if any(name in children.by_name for name in names):
            continue
        nested = (env.message.children(child).by_name for group in within for child in children.by_name.get(group, ()))
        if not any(name in found for found in nested for name in names):
            yield Hit(element, {"missing": ", ".join(names), "element": local_name(element)})


@check("newer_than_api_version",
       elements=ListOf(required=True, item=Record(fields={
           "select": SelectorText(required=True), "since": VersionText(required=True),
           "operations": ListOf(item=Text()), "source": Text(required=True),
           # A release branch that got the element later than `since` (40.4.0-40.4.2 lack what 40.2.4
           # has: 40.4.3 brought it to that branch): versions from `from` up to `until` lack it too.
           "branches": ListOf(item=Record(fields={"from": VersionText(required=True),
                                                  "until": VersionText(required=True)}))})))
def newer_than_api_version(matches: list[Element], options: dict[str, Any], env: CheckEnv) -> Iterator[Hit]:
    """Elements a table says were introduced after the site's API version (`elements`: select, since,
    source, and the branches that got them later)."""
    operation = (env.message.operation or "").lower()
    for entry in options["elements"]:
        branches = entry.get("branches") or ()
        late = next((b for b in branches if b["from"] <= env.api_version < b["until"]), None)
        if env.api_version >= entry["since"] and late is None:
            continue
        since = format_version(entry["since"])
        if late is not None:
            since = f"{since} and on the {format_version(late['from'])} branch in {format_version(late['until'])}"
        operations = entry.get("operations")
        if operations and operation not in {name.lower() for name in operations}:
            continue
        for element in entry["select"](env.message):
            name = local_name(element)
            what = f"the {env.message.operation} operation" if name == "bodyContent" else f"<{name}>"
            yield Hit(element, {"element": name, "what": what, "since": since,
                                "version": format_version(env.api_version), "source": entry["source"]})

@check("credential_precedence", credentials=MapOf(required=True, value=SelectorText()),
       order=MapOf(required=True, keys=frozenset({"sso", "ci"}), value=ListOf(item=Text())))
def credential_precedence(matches: list[Element], options: dict[str, Any], env: CheckEnv) -> Iterator[Hit]:
    """Several credentials in one request: say which one the server will use for this site type."""
    present_names = [name for name, select in options["credentials"].items()
                     if any(text_of(el) for el in select(env.message))]
    if len(present_names) < 2 or not matches:
        return
    orders = options["order"]
    kind = env.site_kind or ("ci" if env.is_ci else None)
    if kind in orders:
        first = _first(orders[kind], present_names)
        used = f"this is {_SITE_KINDS[kind]} site, so {first or 'none of them'} is used"
    else:
        # The notes give the order for SSO and CI sites only (A430-436): say what each would use.
        by_kind = {k: _first(order, present_names) for k, order in orders.items()}
        known = {k: used_name for k, used_name in by_kind.items() if used_name}
        if len(set(known.values())) == 1 and len(known) == len(orders):
            used = f"{next(iter(known.values()))} is used on {' and '.join(map(_SITE_KINDS_SHORT.get, orders))} sites alike"
        else:
            used = "; ".join(f"on {_SITE_KINDS[k]} site {name} is used" for k, name in known.items())
        if kind is not None:
            used = f"this is {_SITE_KINDS[kind]} site, for which the release notes give no order: {used}"
    yield Hit(matches[0], {"credentials": ", ".join(present_names), "used": used})


_SITE_KINDS = {"ci": "a CI", "sso": "an SSO", "non-sso": "a non-SSO"}
_SITE_KINDS_SHORT = {"ci": "CI", "sso": "SSO", "non-sso": "non-SSO"}


@check("credential_not_processed", credentials=MapOf(required=True, value=SelectorText()),
       order=MapOf(required=True, keys=frozenset({"sso", "ci"}), value=ListOf(item=Text())))
def credential_not_processed(matches: list[Element], options: dict[str, Any], env: CheckEnv) -> Iterator[Hit]:
    """Credentials sent, none of which this site type processes (the site's order names none of them)."""
    order = options["order"].get(env.site_kind or "")
    if order is None or not matches:
        return
    present_names = [name for name, select in options["credentials"].items()
                     if any(text_of(el) for el in select(env.message))]
    if present_names and _first(order, present_names) is None:
        yield Hit(matches[0], {"credentials": ", ".join(present_names), "site_kind": _SITE_KINDS[env.site_kind],
                               "processed": ", ".join(order)})


def _first(order: list[str], present_names: list[str]) -> str | None:
    return next((name for name in order if name in present_names), None)


@check("expired_ticket")
def expired_ticket(matches: list[Element], options: dict[str, Any], env: CheckEnv) -> Iterator[Hit]:
    """A session ticket an earlier AuthenticateUser answer in the capture issued, used after its
    timeToLive (the capture's times; lint/memory.py)."""
    if env.time is None:
        return
    for element in matches:
        ticket = text_of(element)
        issued = env.remembered(SESSION_TICKET, env.site, ticket_digest(ticket)) if ticket else None
        if issued is None or env.time <= issued.value:
            continue
        yield Hit(element, {
            "digest": issued.key[:12], "expired": format_time(issued.value),
            "lifetime": round(issued.value - issued.time) if issued.time is not None else "?",
            "issued": format_time(issued.time) if issued.time is not None else "(unknown)",
            "late": duration(env.time - issued.value)}, (issued.note,))


@check("differs_from", other=SelectorText(required=True))
def differs_from(matches: list[Element], options: dict[str, Any], env: CheckEnv) -> Iterator[Hit]:
    """A matched element whose text differs (ignoring case and surrounding spaces) from the first
    element `other` selects; nothing when `other` is absent or empty, or either is a placeholder."""
    others = options["other"](env.message)
    other = (text_of(others[0]) or "").strip() if others else ""
    if not other or is_placeholder(other):
        return
    for element in matches:
        value = (text_of(element) or "").strip()
        if value and not is_placeholder(value) and value.lower() != other.lower():
            yield Hit(element, {"value": value, "other": other, "element": local_name(element),
                                "other_element": local_name(others[0])})


@check("refused_before", exception=Text(required=True))
def refused_before(matches: list[Element], options: dict[str, Any], env: CheckEnv) -> Iterator[Hit]:
    """A request of a kind the site refused earlier in the capture with exceptionID `exception`
    (a retirement answer: 010106, 010107); the finding's note says which answer taught it."""
    code = options["exception"]
    refused = env.remembered(SITE_REFUSAL, env.site, code) if matches else None
    if refused is None:
        return
    meaning = str(env.exceptions.get(code, {}).get("meaning", ""))
    yield Hit(matches[0], {"exception": code, "site": env.site, "meaning": meaning.split(":")[0],
                           "operation": env.message.operation}, (refused.note,))


@check("shared_recording")
def shared_recording(matches: list[Element], options: dict[str, Any], env: CheckEnv) -> Iterator[Hit]:
    """A recording an earlier LstRecording answer in the capture listed with shareToMe=true for this
    user, named by the request."""
    webex_id = env.message.webex_id
    for element in matches:
        recording_id = text_of(element)
        listed = env.remembered(SHARED_RECORDING, env.site, shared_recording_key(webex_id, recording_id)) \
            if recording_id else None
        if listed is None:
            continue
        yield Hit(element, {"recording_id": recording_id, "webex_id": webex_id or "the user",
                            "listed": format_time(listed.time) if listed.time is not None else "(no time)"},
                  (listed.note,))


@check("failure_response")
def failure_response(matches: list[Element], options: dict[str, Any], env: CheckEnv) -> Iterator[Hit]:
    """A FAILURE result, explained from the catalog of documented exceptionIDs."""
    message = env.message
    for element in matches:
        if (text_of(element) or "").upper() != "FAILURE":
            continue
        entry = env.exceptions.get(exception_key(message.exception_id or ""), {})
        predicted_by = entry.get("predicted_by") or []
        explanation = f" — {entry['meaning']}" if entry.get("meaning") else " — not in the catalog of documented exceptions"
        # Which rule could have predicted it is not said here: only the exchange knows whether one did
        # on this request, and it says so in a note ("predicted by WX202 on this request", or "no
        # finding on this request predicted it"), the same words in the proxy, `check` and `audit`.
        yield Hit(element, {"exception_id": message.exception_id or "(no exceptionID)",
                            "reason": message.reason or "(no reason)", "explanation": explanation,
                            "predicted_by": predicted_by})


@check("deprecated_operation")
def deprecated_operation(matches: list[Element], options: dict[str, Any], env: CheckEnv) -> Iterator[Hit]:
    """The message's operation is deprecated in rules/lifecycle.yaml; says what replaces it."""
    lifecycle = env.lifecycle
    if lifecycle is None:
        lifecycle = default_lifecycle()
    operation = lifecycle.lookup(env.message.operation)
    if operation.status != "deprecated" or not matches:
        return
    dates = lifecycle.statuses.get(operation.status, {})
    rest = operation.rest
    replacement = ("no REST counterpart is known" if rest.status == "none-known"
                   else f"{'suggested' if rest.status == 'suggested' else 'REST'}: {rest.name}, {rest.docs}")
    yield Hit(matches[0], {"group": operation.group, "end_of_support": dates.get("end_of_support", "?"),
                           "end_of_life": dates.get("end_of_life", "?"), "replacement": replacement,
                           "rest_status": rest.status})
