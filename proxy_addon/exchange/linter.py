"""The one exchange linter the proxy, `check` and `audit` all call, message by message in capture order.

For a request: lint it with what is known about its site, note the learned facts on the findings
whose rules depend on them, and remember it until its answer (the pairing). For a response: lint it
with its request's operation, tie a FAILURE to the request finding that predicted it, and learn from
the answer. Where findings go (log, store, report, annotations) is the caller's business.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field

from proxy_addon.core.findings import Finding
from proxy_addon.core.redaction import redact
from proxy_addon.exchange.knowledge import (
    Fact,
    KnowledgeContext,
    SiteKnowledge,
    facts_from_answer,
)
from proxy_addon.exchange.observed import Exchange, Observed
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
    learned: list[Fact] = field(default_factory=list)  # facts this answer taught that were news
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
        for fact in facts_from_answer(linted.site, linted.operation, message, seen):
            if self.knowledge.learn(fact):
                linted.learned.append(fact)
        return linted

    def _lint(self, seen: Observed, operation: str | None) -> LintResult:
        return self.linter.lint(seen.data, path=seen.source, http_charset=seen.http_charset, direction=seen.direction,
                                context=self.context, operation_hint=operation)

    def _note_learned_facts(self, findings: list[Finding], site: str | None) -> None:
        rules = self.linter.ruleset.by_id
        for finding in findings:
            rule = rules.get(finding.rule)
            if rule is not None:
                finding.notes.extend(self.knowledge.notes_for(rule, site))


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
    exception_id = answer.result.message.exception_id
    predictors = [f.rule for f in request_findings if f.predicts and f.predicts == exception_id]
    for finding in answer.findings:
        if finding.rule != "WX501":
            continue
        if predictors:
            finding.notes.append(f"{answer.failure} — predicted by {', '.join(predictors)} on this request")
        else:
            finding.notes.append(f"{answer.failure} — no finding on this request predicted it")
