"""The one exchange linter the proxy, `check` and `audit` all call, message by message in capture order.

For a request: lint it with what is known about its site, check it against what earlier answers
taught (an expired session ticket, WX106; a recording shared with the user, WX305), note the learned
facts on the findings whose rules depend on them, and remember it until its answer (the pairing).
For a response: lint it with its request's operation, tie a FAILURE to the request finding that
predicted it, and learn from the answer. Where findings go (log, store, report, annotations) is the caller's business.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field

from proxy_addon.core.findings import Finding
from proxy_addon.core.message import Message, child, exception_key, local_name, text_of
from proxy_addon.core.redaction import redact
from proxy_addon.exchange.knowledge import (
    SESSION_TICKET,
    SHARED_RECORDING,
    Fact,
    KnowledgeContext,
    SiteKnowledge,
    facts_from_answer,
    shared_recording_key,
    ticket_digest,
)
from proxy_addon.exchange.observed import Exchange, Observed, format_time
from proxy_addon.lint.context import LintContext
from proxy_addon.lint.engine import Linter, LintResult

MAX_IN_FLIGHT = 10_000  # requests waiting for their answer; the oldest are forgotten beyond this


@dataclass
class PendingRequest:
    """What an answer needs from its request (the request's parse tree is not kept)."""

    site: str | None = None
    webex_id: str | None = None
    operation: str | None = None
    findings: list[Finding] = field(default_factory=list)
    secrets: frozenset[str] = frozenset()  # its credential values: its answer may echo them


@dataclass
class Linted:
    """One linted message with what its exchange knows: site, user, operation, and what it taught."""

    observed: Observed
    result: LintResult
    site: str | None = None
    webex_id: str | None = None
    operation: str | None = None
    failure: str | None = None  # the exceptionID of a FAILURE answer ("(no exceptionID)" without one)
    learned: list[Fact] = field(default_factory=list)  # site facts this answer taught that were news
    # The credential values of the whole exchange so far (a response's and its request's): whatever
    # keeps something of this message (store, flow.metadata, log) masks them.
    secrets: frozenset[str] = frozenset()

    @property
    def findings(self) -> list[Finding]:
        return self.result.findings


class ExchangeLinter:
    """Lints observed messages in order, pairing answers with requests and learning site facts.

    `knowledge` may be shared or pre-filled (audit's worker processes start from the facts learned
    before their chunk); configuring anew keeps what was learned.
    """

    def __init__(self, linter: Linter, context: LintContext | None = None,
                 knowledge: SiteKnowledge | None = None, *, max_in_flight: int = MAX_IN_FLIGHT):
        self.linter = linter
        self.knowledge = knowledge if knowledge is not None else SiteKnowledge()
        self.max_in_flight = max_in_flight
        self._pending: OrderedDict[tuple[str, str], PendingRequest] = OrderedDict()
        self.configure(context or LintContext())

    def configure(self, context: LintContext) -> None:
        self.context = KnowledgeContext.around(context, self.knowledge)

    def lint_exchange(self, exchange: Exchange) -> Iterator[Linted]:
        for seen in exchange.messages:
            yield self.lint(seen)

    def lint(self, seen: Observed) -> Linted:
        if seen.direction == "response":
            return self._response(seen)
        return self._request(seen)

    def forget(self, exchange_key: tuple[str, str]) -> None:
        """The request will get no answer (the flow died): stop waiting for it."""
        self._pending.pop(exchange_key, None)

    def _request(self, seen: Observed) -> Linted:
        result = self._lint(seen, None)
        linted = Linted(seen, result)
        message = result.message
        if message is not None:
            linted.secrets = message.secrets
            linted.site = self.context.site_key(message.site_name, message.site_id)
            linted.webex_id = message.webex_id
            linted.operation = message.operation
            self._check_against_answers(seen, result, linted.site)
            self._note_learned_facts(result.findings, linted.site)
        if seen.direction == "request" and seen.locator:  # a lone file is no exchange: nothing answers it
            self._pending[seen.exchange_key] = PendingRequest(linted.site, linted.webex_id, linted.operation,
                                                              result.findings, linted.secrets)
            while len(self._pending) > self.max_in_flight:
                self._pending.popitem(last=False)
        return linted

    def _response(self, seen: Observed) -> Linted:
        request = self._pending.pop(seen.exchange_key, None) or PendingRequest()
        result = self._lint(seen, request.operation)
        linted = Linted(seen, result, request.site, request.webex_id, request.operation, secrets=request.secrets)
        message = result.message
        if message is None:
            _mask_echoes(linted)
            return linted
        linted.secrets |= message.secrets
        linted.operation = request.operation or message.operation
        if message.is_failure:
            linted.failure = message.exception_id or "(no exceptionID)"
            _tie_failure_to_prediction(linted, request.findings)
        _mask_echoes(linted)
        for fact in facts_from_answer(linted.site, linted.operation, message, seen, linted.webex_id):
            if self.knowledge.learn(fact) and fact.is_site_fact:
                linted.learned.append(fact)
        return linted

    def _lint(self, seen: Observed, operation: str | None) -> LintResult:
        return self.linter.lint(seen.data, path=seen.source, http_charset=seen.http_charset, direction=seen.direction,
                                context=self.context, operation_hint=operation)

    def _check_against_answers(self, seen: Observed, result: LintResult, site: str | None) -> None:
        """WX106 and WX305: what this request does with what earlier answers in the capture issued."""
        message = result.message
        ticket = child(message.security_context, "sessionTicket")
        if ticket is not None and text_of(ticket) and seen.time is not None:
            issued = self.knowledge.remembered(SESSION_TICKET, site, ticket_digest(text_of(ticket)))
            if issued is not None and seen.time > issued.value:
                lifetime = round(issued.value - issued.time) if issued.time is not None else None
                finding = self.linter.add_case(
                    result, "WX106", "expired", ticket, digest=issued.key[:12],
                    expired=format_time(issued.value), lifetime=lifetime if lifetime is not None else "?",
                    issued=format_time(issued.time) if issued.time is not None else "(unknown)",
                    late=_duration(seen.time - issued.value))
                if finding is not None:
                    finding.notes.append(issued.note)
        changes = self.linter.ruleset.by_id.get("WX305")  # its operations change a recording (rules/meetings.yaml)
        if changes is not None and message.operation in (changes.operations or ()) and message.body_content is not None:
            for element in _recording_ids(message):
                recording_id = text_of(element)
                shared = self.knowledge.remembered(SHARED_RECORDING, site,
                                                   shared_recording_key(message.webex_id, recording_id))
                if shared is None:
                    continue
                finding = self.linter.add_case(
                    result, "WX305", "shared", element, operation=message.operation, recording_id=recording_id,
                    webex_id=message.webex_id or "the user",
                    listed=format_time(shared.time) if shared.time is not None else "(no time)")
                if finding is not None:
                    finding.notes.append(shared.note)

    def _note_learned_facts(self, findings: list[Finding], site: str | None) -> None:
        rules = self.linter.ruleset.by_id
        for finding in findings:
            rule = rules.get(finding.rule)
            if rule is not None:
                finding.notes.extend(self.knowledge.notes_for(rule, site))


def _recording_ids(message: Message) -> list:
    return [el for el in message.body_content.iter() if isinstance(el.tag, str)
            and local_name(el).lower() == "recordingid" and text_of(el)]


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else (f"{minutes} min {secs} s" if minutes else f"{secs} s")


def _mask_echoes(answer: Linted) -> None:
    """Mask the request's credentials in the answer's findings: a FAILURE <reason> may repeat the
    password or ticket it was sent (the linter masked only the answer's own)."""
    if not answer.secrets:
        return
    for finding in answer.findings:
        finding.message = redact(finding.message, answer.secrets)
        finding.notes[:] = [redact(note, answer.secrets) for note in finding.notes]


def _tie_failure_to_prediction(answer: Linted, request_findings: list[Finding]) -> None:
    """Say, on each WX501, which finding on the request predicted this failure (or that none did)."""
    exception_id = exception_key(answer.result.message.exception_id or "")
    predictors = [f.rule for f in request_findings if f.predicts and exception_key(f.predicts) == exception_id]
    for finding in answer.findings:
        if finding.rule != "WX501":
            continue
        if predictors:
            finding.notes.append(f"{answer.failure} — predicted by {', '.join(predictors)} on this request")
        else:
            finding.notes.append(f"{answer.failure} — no finding on this request predicted it")
