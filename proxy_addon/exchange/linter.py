"""The one exchange linter the proxy, `check` and `audit` all call, message by message in capture order.

For a request: lint it with what is known about its site and what earlier answers in the capture
issued (its context's memory: the rules that compare, such as an expired session ticket, are data
like the others), note the learned facts on the findings whose rules depend on them, and hand out
its record (PENDING until the answer).
For a response: lint it with its request's operation, tie a FAILURE to the request findings whose
rules the exception catalog names as its predictors, learn from the answer, and hand out the
completed record. Where records go (log, store, report, annotations, output) is the consumer's business.

What is learned has a scope (docs/architecture.md): `Scope.RUN` learns across everything linted
(the live proxy's process, an `audit` run); `Scope.CAPTURE` learns inside each capture file only
(`check`), and a lone message file is always linted on its own, with the configured facts alone.
Within a scope, facts belong to the upstream server that taught them (see exchange/knowledge.py).
"""

from __future__ import annotations

import enum
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from proxy_addon.core.findings import Finding
from proxy_addon.core.message import Message, build_message, exception_key
from proxy_addon.core.parsing import parse_document
from proxy_addon.exchange.observed import Exchange, Observed
from proxy_addon.exchange.record import ExchangeRecord, LintedMessage, Outcome
from proxy_addon.lint.context import LintContext
from proxy_addon.lint.engine import Linter, LintResult

if TYPE_CHECKING:
    from proxy_addon.exchange.knowledge import Fact, KnowledgeContext, SiteKnowledge

MAX_IN_FLIGHT = 10_000  # requests waiting for their answer; the oldest are given up on beyond this
NO_EXCEPTION_ID = "(no exceptionID)"


class Scope(enum.StrEnum):
    RUN = "run"  # one body of knowledge for everything this linter sees
    CAPTURE = "capture"  # each capture file learns on its own


class ExchangeLinter:
    """Lints observed messages in order, pairing answers with requests and learning site facts.

    `knowledge` may be shared or pre-filled (audit's worker processes start from the facts learned
    before their chunk); configuring anew keeps what was learned.
    """

    def __init__(self, linter: Linter, context: LintContext | None = None,
                 knowledge: SiteKnowledge | None = None, *, scope: Scope = Scope.RUN,
                 ignored_rules: Callable[[str], tuple[str, ...]] | None = None,
                 max_in_flight: int = MAX_IN_FLIGHT):
        self.linter = linter
        self.scope = scope
        self.ignored_rules = ignored_rules  # per-file-ignores: the rule selectors left out for a source
        self._knowledge = knowledge  # None: none yet (made on first use: a lone file never needs one)
        self.max_in_flight = max_in_flight
        self._capture: str | None = None  # Scope.CAPTURE: the capture file the knowledge is from
        self._pending: OrderedDict[tuple[str, str], ExchangeRecord] = OrderedDict()
        self.configure(context or LintContext())

    @property
    def knowledge(self) -> SiteKnowledge:
        """What was learned in the current scope. exchange.knowledge is imported on first use: `check`
        of lone message files learns nothing and never pays for it."""
        if self._knowledge is None:
            from proxy_addon.exchange.knowledge import SiteKnowledge  # noqa: PLC0415

            self._knowledge = SiteKnowledge()
        return self._knowledge

    @knowledge.setter
    def knowledge(self, knowledge: SiteKnowledge) -> None:
        self._knowledge = knowledge

    def configure(self, context: LintContext) -> None:
        self.base_context = context
        self._contexts: dict[str | None, KnowledgeContext] = {}

    # -- in ---------------------------------------------------------------------------------------

    def lint_exchange(self, exchange: Exchange) -> Iterator[ExchangeRecord]:
        """Each message's record, in order: a request's PENDING record, then the completed one. A
        captured request without its answer is not waited for: the capture has no answer to give."""
        record = None
        for seen in exchange.messages:
            record = self.lint(seen)
            yield record
        if record is not None and record.outcome is Outcome.PENDING:
            self._pending.pop(record.key, None)

    def lint(self, seen: Observed) -> ExchangeRecord:
        if not seen.locator:  # a lone file: nothing answers it, and its neighbours teach it nothing
            return self._alone(seen)
        self._enter_scope(seen)
        if seen.direction == "response":
            return self._response(seen)
        return self._request(seen)

    def learn(self, exchange: Exchange) -> tuple[Fact, ...]:
        """Learn what the exchange's answer teaches without linting it (the site facts that were news).

        For linting a capture in several processes: the reading process learns as it reads, so each
        chunk starts from the facts the exchanges before it taught. Only answers that can teach are
        parsed (`may_teach`), and the facts are the ones `lint` learns from the same answer.
        """
        from proxy_addon.exchange.knowledge import facts_from_answer, may_teach  # noqa: PLC0415

        request = next((seen for seen in exchange.messages if seen.direction == "request"), None)
        answer = next((seen for seen in exchange.messages if seen.direction == "response"), None)
        if answer is None or request is None or not answer.locator or not may_teach(answer.data):
            return ()
        self._enter_scope(answer)
        asked, answered = self._parse(request), self._parse(answer)
        if asked is None or answered is None:
            return ()
        site = self._context(request.upstream).site_key(asked.site_name, asked.site_id)
        facts = facts_from_answer(site, asked.operation or answered.operation, answered, answer, asked.webex_id)
        return tuple(fact for fact in facts if self.knowledge.learn(fact) and fact.is_site_fact)

    def _parse(self, seen: Observed) -> Message | None:
        document = parse_document(seen.data, path=seen.source, http_charset=seen.http_charset,
                                  max_bytes=self.linter.max_bytes)
        return build_message(document.root, seen.direction) if document.root is not None else None

    def forget(self, exchange_key: tuple[str, str]) -> ExchangeRecord | None:
        """The request will get no answer (its flow died): its record, UNANSWERED."""
        record = self._pending.pop(exchange_key, None)
        return _unanswered(record) if record is not None else None

    @property
    def in_flight(self) -> int:
        """How many requests wait for their answer."""
        return len(self._pending)

    def pending(self, exchange_key: tuple[str, str]) -> ExchangeRecord | None:
        """The record of a request still waiting for its answer."""
        return self._pending.get(exchange_key)

    # -- the steps --------------------------------------------------------------------------------

    def _enter_scope(self, seen: Observed) -> None:
        if self.scope is Scope.CAPTURE and seen.source != self._capture:
            self._capture = seen.source
            self._knowledge = None  # a new capture's, made when first needed
            self._pending.clear()

    def _context(self, upstream: str | None) -> KnowledgeContext:
        """The lint context for messages to `upstream`: configuration, then what that upstream taught."""
        context = self._contexts.get(upstream)
        if context is None or context.knowledge is not self.knowledge:  # a new capture's knowledge
            if len(self._contexts) > 1024:  # upstream names come from traffic: keep the memo bounded
                self._contexts.clear()
            from proxy_addon.exchange.knowledge import KnowledgeContext  # noqa: PLC0415

            context = self._contexts[upstream] = KnowledgeContext.around(self.base_context, self.knowledge, upstream)
        return context

    def _alone(self, seen: Observed) -> ExchangeRecord:
        result = self._lint(seen, self.base_context, None)
        part, message = LintedMessage(seen, result), result.message
        if message is None:
            return (ExchangeRecord(None, part, Outcome.ALONE) if part.direction == "response"
                    else ExchangeRecord(part, None, Outcome.ALONE))
        site = self.base_context.site_key(message.site_name, message.site_id)
        if message.direction == "response":
            failure = (message.exception_id or NO_EXCEPTION_ID) if message.is_failure else None
            return ExchangeRecord(None, part, Outcome.ALONE, site, message.webex_id, message.operation, failure)
        return ExchangeRecord(part, None, Outcome.ALONE, site, message.webex_id, message.operation)

    def _request(self, seen: Observed) -> ExchangeRecord:
        context = self._context(seen.upstream)
        result = self._lint(seen, context, None)
        message = result.message
        site = webex_id = operation = None
        if message is not None:
            site = context.site_key(message.site_name, message.site_id)
            webex_id, operation = message.webex_id, message.operation
            self._note_learned_facts(result.findings, context, site)
        record = ExchangeRecord(LintedMessage(seen, result), None, Outcome.PENDING, site, webex_id, operation)
        if seen.direction == "request":
            self._pending[seen.exchange_key] = record
            while len(self._pending) > self.max_in_flight:  # their answers will be linted alone
                self._pending.popitem(last=False)
        return record

    def _response(self, seen: Observed) -> ExchangeRecord:
        asked = self._pending.pop(seen.exchange_key, None)
        context = self._context(seen.upstream)
        result = self._lint(seen, context, asked.operation if asked is not None else None)
        answer = LintedMessage(seen, result)
        paired = asked is not None
        if asked is None:
            asked = ExchangeRecord(None, None, Outcome.ALONE)
        message = result.message
        outcome = Outcome.ANSWERED if paired else Outcome.ALONE
        if message is None:
            return asked.answered(answer, outcome=outcome)
        operation = asked.operation or message.operation
        failure, predicted_by = None, ()
        if message.is_failure:
            failure = message.exception_id or NO_EXCEPTION_ID
            outcome = Outcome.FAILED if paired else Outcome.ALONE
            predicted_by = self._predictors(message.exception_id, asked.findings_in("request"))
            _note_failure(result.findings, failure, predicted_by)
        from proxy_addon.exchange.knowledge import facts_from_answer  # noqa: PLC0415

        learned = tuple(fact for fact in facts_from_answer(asked.site, operation, message, seen, asked.webex_id)
                        if self.knowledge.learn(fact) and fact.is_site_fact)
        return asked.answered(answer, outcome=outcome, operation=operation, failure=failure,
                              predicted_by=predicted_by, learned=learned)

    def _lint(self, seen: Observed, context: LintContext, operation: str | None) -> LintResult:
        result = self.linter.lint(seen.data, path=seen.source, http_charset=seen.http_charset,
                                  direction=seen.direction, context=context, operation_hint=operation, time=seen.time)
        ignored = self.ignored_rules(seen.source) if self.ignored_rules is not None else ()
        if ignored:
            result.findings[:] = [finding for finding in result.findings if not finding.rule.startswith(ignored)]
        return result

    def _predictors(self, exception_id: str | None, request_findings: list[Finding]) -> tuple[str, ...]:
        """The request's rules that predicted this exceptionID: those the catalog names for it
        (rules/exceptions.yaml predicted_by), and any whose finding said it would be answered so."""
        if not exception_id:
            return ()
        wanted = exception_key(exception_id)
        catalog = next((entry for key, entry in self.linter.ruleset.exceptions.items()
                        if exception_key(key) == wanted), {})
        named = set(catalog.get("predicted_by") or ())
        return tuple(dict.fromkeys(
            finding.rule for finding in request_findings
            if finding.rule in named or (finding.predicts and exception_key(finding.predicts) == wanted)))

    def _note_learned_facts(self, findings: list[Finding], context: KnowledgeContext, site: str | None) -> None:
        rules = self.linter.ruleset.by_id
        for finding in findings:
            rule = rules.get(finding.rule)
            if rule is None:
                continue
            facts = context.facts_for(rule, site)
            if facts:
                finding.notes.extend(fact.note for fact in facts)
                finding.learned = context.depends_on_learned(rule, site)


def _unanswered(record: ExchangeRecord) -> ExchangeRecord:
    return ExchangeRecord(record.request, None, Outcome.UNANSWERED, record.site, record.webex_id, record.operation)


def _note_failure(answer_findings: list[Finding], failure: str, predicted_by: tuple[str, ...]) -> None:
    """Say, on each WX501, which finding on the request predicted this failure (or that none did)."""
    for finding in answer_findings:
        if finding.rule != "WX501":
            continue
        if predicted_by:
            finding.notes.append(f"{failure} — predicted by {', '.join(predicted_by)} on this request")
        else:
            finding.notes.append(f"{failure} — no finding on this request predicted it")
