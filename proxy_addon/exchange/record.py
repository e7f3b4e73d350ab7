"""The one record the exchange linter hands every consumer: an exchange as it was linted.

A request is handed out as soon as it is linted (the proxy logs it and may rewrite it before the
answer exists), then once more, completed, when its answer arrives or never will. A message with no
partner (a lone file, an answer whose request was not seen) is a record of its own. Consumers read
the record; none of them pairs, learns or works out secrets again.

Findings are kept as the rules wrote them. What leaves the process (a log line, a stored row, an
output file) goes through `redacted_findings()` or `redact()` first: the secrets of the whole
exchange are worked out then, once, and only for exchanges that have something to say.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from typing import TYPE_CHECKING

from proxy_addon.core.findings import Finding
from proxy_addon.core.frozen import Frozen
from proxy_addon.core.redaction import redact
from proxy_addon.exchange.observed import Observed

if TYPE_CHECKING:
    from proxy_addon.exchange.knowledge import Fact
    from proxy_addon.lint.engine import LintResult

_set = object.__setattr__


class Outcome(enum.StrEnum):
    ALONE = "alone"  # no partner: a lone message file, or an answer whose request was not seen
    PENDING = "pending"  # a request waiting for its answer
    ANSWERED = "answered"  # a SUCCESS (or any answer that is not a FAILURE)
    FAILED = "failed"  # a FAILURE answer: `failure` is its exceptionID
    UNANSWERED = "unanswered"  # the request's flow ended without an answer, or it waited too long


class LintedMessage(Frozen):
    """One direction of an exchange as the linter saw it. (Plain classes here, not dataclasses:
    `check FILE` creates them at import, core/frozen.py.)"""

    __slots__ = ("observed", "result")

    def __init__(self, observed: Observed, result: LintResult):
        _set(self, "observed", observed)
        _set(self, "result", result)

    @property
    def findings(self) -> list[Finding]:
        return self.result.findings

    @property
    def direction(self) -> str | None:
        message = self.result.message
        return (message.direction if message is not None else None) or self.observed.direction


class ExchangeRecord(Frozen):
    """A request and its answer as linted, with what the exchange is about and what it taught.
    Immutable; two records are equal only when they are the same record."""

    __slots__ = (
        "request",
        "response",
        "outcome",
        "site",
        "webex_id",
        "operation",
        "failure",  # the exceptionID of a FAILURE ("(no exceptionID)" without one)
        "predicted_by",  # the request's rules that predicted the failure
        "learned",  # site facts this exchange's answer taught that were news
        "_secrets",  # worked out on first use (see secrets)
    )
    _FIELDS = __slots__[:-1]

    def __init__(self, request: LintedMessage | None, response: LintedMessage | None, outcome: Outcome,
                 site: str | None = None, webex_id: str | None = None, operation: str | None = None,
                 failure: str | None = None, predicted_by: tuple[str, ...] = (), learned: tuple[Fact, ...] = ()):
        _set(self, "request", request)
        _set(self, "response", response)
        _set(self, "outcome", outcome)
        _set(self, "site", site)
        _set(self, "webex_id", webex_id)
        _set(self, "operation", operation)
        _set(self, "failure", failure)
        _set(self, "predicted_by", predicted_by)
        _set(self, "learned", learned)
        _set(self, "_secrets", None)

    __eq__ = object.__eq__
    __hash__ = object.__hash__

    def _fields(self) -> tuple:
        return tuple(getattr(self, name) for name in ExchangeRecord._FIELDS)

    def __repr__(self) -> str:
        return (f"ExchangeRecord(outcome={self.outcome!r}, site={self.site!r}, operation={self.operation!r}, "
                f"failure={self.failure!r}, predicted_by={self.predicted_by!r})")

    @property
    def observed(self) -> Observed:
        """The message this record was last handed out for (the answer once there is one)."""
        latest = self.latest
        return latest.observed

    @property
    def latest(self) -> LintedMessage:
        latest = self.response or self.request
        assert latest is not None
        return latest

    @property
    def key(self) -> tuple[str, str]:
        return self.observed.exchange_key

    @property
    def client(self) -> str | None:
        return self.observed.client_address

    @property
    def upstream(self) -> str | None:
        return self.observed.upstream

    @property
    def messages(self) -> Iterator[LintedMessage]:
        yield from (part for part in (self.request, self.response) if part is not None)

    @property
    def findings(self) -> list[Finding]:
        """Both messages' findings as the rules wrote them (never let these leave the process: see
        redacted_findings)."""
        return [finding for part in self.messages for finding in part.findings]

    def findings_in(self, direction: str | None) -> list[Finding]:
        """One direction's findings ("request", "response"; None: both), as the rules wrote them."""
        if direction == "request":
            return self.request.findings if self.request is not None else []
        if direction == "response":
            return self.response.findings if self.response is not None else []
        return self.findings

    @property
    def secrets(self) -> frozenset[str]:
        """The credential values of both messages: an answer may echo what its request sent.
        Worked out once, the first time something about the exchange is about to leave the process."""
        found = self._secrets
        if found is None:
            found = frozenset()
            for part in self.messages:
                message = part.result.message
                if message is not None:
                    found |= message.secrets
            _set(self, "_secrets", found)
        return found

    def redact(self, value):
        """A text (or structure) about this exchange, fit to leave the process."""
        return redact(value, self.secrets)

    def redacted_findings(self, direction: str | None = None) -> list[Finding]:
        """The findings with every credential of the exchange masked: what outputs, logs and stores get."""
        findings = self.findings_in(direction)
        if not findings:
            return []
        return [finding.masked(self.redact) for finding in findings]

    def answered(self, response: LintedMessage, **changes) -> ExchangeRecord:
        """This request's record completed with its answer."""
        values = dict(zip(ExchangeRecord._FIELDS, self._fields()))
        values.update(response=response, **changes)
        return ExchangeRecord(**values)
