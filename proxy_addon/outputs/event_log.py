"""The structured event log: one JSON object per line (or one readable line), by a structlog pipeline.

The live proxy writes its findings, rewrites and learned facts here, and the audit command can
reuse the same pipeline. The JSON log is for machines (`--findings-log`); the console log renders
the same events as readable lines, a finding the way `check` prints it plus client and site. Each processor does one small thing; redaction (the project's one
`redact` function) is one of them and runs once, just before rendering, over the whole event.
Nothing is configured globally: each log is its own wrapped logger, so loading the addon into
mitmproxy never changes anyone else's structlog or logging setup.
"""

from __future__ import annotations

import json
import sys
from collections import OrderedDict
from collections.abc import Callable, Iterable, MutableMapping
from typing import Any, TextIO

import structlog

from proxy_addon.core.clients import client_host
from proxy_addon.core.redaction import redact
from proxy_addon.outputs.formats import finding_lines, visible

# An event may carry the literal secrets of the message it is about under this key; the redaction
# processor masks them wherever they appear and drops the key.
SECRETS_KEY = "_secrets"
LEADING_KEYS = ("time", "event")
# Fields whose values this tool makes up itself (identifiers, rule ids, counts): nothing from the
# traffic can reach them, so redaction leaves them out. Everything else is redacted.
OWN_FIELDS = frozenset({"time", "event", "flow_id", "rule", "name", "severity", "direction", "line", "column",
                        "predicts", "where", "bytes_before", "bytes_after", "once_per_client"})

EventDict = MutableMapping[str, Any]
Processor = Callable[[Any, str, EventDict], EventDict]


def drop_empty_fields(logger: Any, method_name: str, event_dict: EventDict) -> EventDict:
    """Leave out fields with no value, so lines stay short and grep-able."""
    return {key: value for key, value in event_dict.items() if value is not None and value != []}


def redact_secrets(logger: Any, method_name: str, event_dict: EventDict) -> EventDict:
    """The single redaction step: credentials by field name, and the message's own secret values."""
    secrets = event_dict.pop(SECRETS_KEY, None) or frozenset()
    from_traffic = {key: value for key, value in event_dict.items() if key not in OWN_FIELDS}
    event_dict.update(redact(from_traffic, secrets))
    return event_dict


def time_and_event_first(logger: Any, method_name: str, event_dict: EventDict) -> EventDict:
    ordered = {key: event_dict[key] for key in LEADING_KEYS if key in event_dict}
    ordered.update((key, value) for key, value in event_dict.items() if key not in ordered)
    return ordered


class OncePerClient:
    """Logs a finding of the given rules once per client, operation and rule; drops the repeats.

    For rules whose news is the client, not the message (WX601: this client still calls a
    deprecated operation): a console that repeats it for every request buries everything else. A
    client is its host (the port of each connection left out) and webExID. The first event says so
    (`once_per_client`); the keys are kept in memory only, at most `limit` of them (oldest forgotten).
    """

    def __init__(self, rule_ids: Iterable[str], limit: int = 100_000):
        self.rule_ids = frozenset(rule_ids)
        self.limit = limit
        self._seen: OrderedDict[tuple, None] = OrderedDict()

    def __call__(self, logger: Any, method_name: str, event_dict: EventDict) -> EventDict:
        if event_dict.get("event") != "finding" or event_dict.get("rule") not in self.rule_ids:
            return event_dict
        key = (client_host(event_dict.get("client")), event_dict.get("webex_id"), event_dict.get("operation"),
               event_dict["rule"])
        if key in self._seen:
            raise structlog.DropEvent
        self._seen[key] = None
        if len(self._seen) > self.limit:
            self._seen.popitem(last=False)
        event_dict["once_per_client"] = True
        return event_dict


def render_console_line(logger: Any, method_name: str, event_dict: EventDict) -> str:
    """One readable line per event: a finding as `check` prints it, its location being the client,
    site, webExID, operation and direction (`127.0.0.1:51234 acme admin@acme.com CreateMeeting
    request:7:7: WX101 [warning] ...`), then its notes as `check` prints them."""
    event = event_dict.get("event")
    where = " ".join(str(event_dict[key]) for key in ("client", "site", "webex_id", "operation") if event_dict.get(key))
    if event == "finding":
        notes = list(event_dict.get("notes", []))
        if event_dict.get("once_per_client"):
            notes.append("shown once per client and operation (the findings log and the store keep every one)")
        return "\n".join(finding_lines(f"{where} {event_dict.get('direction', '?')}".strip(),
                                       event_dict.get("line", 0), event_dict.get("column", 0), str(event_dict.get("rule")),
                                       str(event_dict.get("severity")), str(event_dict.get("message", "")), notes))
    details = {key: value for key, value in event_dict.items() if key not in CONSOLE_CONTEXT}
    text = CONSOLE_EVENTS.get(str(event), str(event))
    if event == "learned":
        # learned_from is the note plus where the answer is: the note once, in those words.
        said = details.pop("learned_from", None) or details.get("note")
        details.pop("note", None)
        text = f"{text}: {_console_value(said)}" if said else text
    return visible(f"{where + ': ' if where else ''}{text}"
                   + (": " + ", ".join(f"{key}={_console_value(value)}" for key, value in details.items()) if details else ""))


CONSOLE_CONTEXT = frozenset({"time", "event", "flow_id", "client", "site", "webex_id", "operation"})
CONSOLE_EVENTS = {"learned": "learned", "rewrite": "rewritten", "internal_error": "internal error (the flow passed untouched)",
                  "not_linted": "not linted", "worker_restarted": "lint worker restarted"}


def _console_value(value: Any) -> str:
    if isinstance(value, list):
        return "; ".join(str(item) for item in value)
    return str(value)


def processors(once_per_client: Iterable[str] = (), *, console: bool = False) -> list[Processor]:
    once = frozenset(once_per_client)
    return [
        *([OncePerClient(once)] if once else []),
        drop_empty_fields,
        redact_secrets,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="time"),
        time_and_event_first,
        render_console_line if console else structlog.processors.JSONRenderer(serializer=_compact_json),
    ]


def _compact_json(value: Any, **kwargs: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def event_logger(stream: TextIO, once_per_client: Iterable[str] = (), *, console: bool = False) -> Any:
    """A logger writing one JSON line (with `console`, one readable line) per event to `stream`
    (flushed per line, for tail -f).

    Findings of the rules in `once_per_client` are written once per client and operation."""
    return structlog.wrap_logger(structlog.WriteLogger(stream), processors=processors(once_per_client, console=console),
                                 wrapper_class=structlog.BoundLogger, cache_logger_on_first_use=True)


class EventLogFile:
    """An event log at a path ("-" is standard output): opened for appending, closed on close().

    With `console`, readable lines instead of JSON (the proxy's console on standard output)."""

    def __init__(self, target: str, once_per_client: Iterable[str] = (), *, console: bool = False):
        self.target = target
        if target == "-":
            self._stream: TextIO = sys.stdout
            self._owned = False
        else:
            # Line-buffered: every event reaches the file when it is logged.
            self._stream = open(target, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 (closed in close())
            self._owned = True
        self.logger = event_logger(self._stream, once_per_client, console=console)

    def close(self) -> None:
        if self._owned and not self._stream.closed:
            self._stream.close()
