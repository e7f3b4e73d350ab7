"""What a capture teaches, in capture order, found cheaply: for linting a capture in several processes.

`audit --jobs N` lints chunks of a capture in parallel, yet each exchange must be linted with what
the exchanges before it taught, exactly as the proxy would have linted it live. The reading process
therefore scouts every answer as it reads (only answers that can teach are parsed: see `may_teach`)
and hands each chunk the facts learned before it. The worker starts its exchange linter from those
facts and learns the rest itself as it goes through the chunk in order, with the same
`facts_from_answer`: one process or many, every exchange sees the same knowledge.
"""

from __future__ import annotations

from proxy_addon.core.message import Message, build_message
from proxy_addon.core.parsing import DEFAULT_MAX_BYTES, parse_document
from proxy_addon.exchange.knowledge import Fact, SiteKnowledge, facts_from_answer, may_teach
from proxy_addon.exchange.observed import Exchange, Observed
from proxy_addon.lint.context import LintContext


class AnswerScout:
    """Reads exchanges in capture order and keeps the facts their answers taught."""

    def __init__(self, context: LintContext, max_bytes: int = DEFAULT_MAX_BYTES):
        self.context = context
        self.max_bytes = max_bytes
        self.knowledge = SiteKnowledge()

    def known(self) -> list[Fact]:
        """What was learned so far (the newest fact of each kind per site): a worker's starting point."""
        return self.knowledge.facts()

    def read(self, exchange: Exchange) -> list[Fact]:
        """The site facts this exchange's answer taught that were news (tickets and shared recordings
        are remembered for the workers, not reported)."""
        request = next((seen for seen in exchange.messages if seen.direction == "request"), None)
        answer = next((seen for seen in exchange.messages if seen.direction == "response"), None)
        if answer is None or not may_teach(answer.data):
            return []
        asked = self._message(request) if request is not None else None
        answered = self._message(answer)
        if answered is None:
            return []
        site = self.context.site_key(asked.site_name, asked.site_id) if asked is not None else None
        operation = (asked.operation if asked is not None else None) or answered.operation
        webex_id = asked.webex_id if asked is not None else None
        return [fact for fact in facts_from_answer(site, operation, answered, answer, webex_id)
                if self.knowledge.learn(fact) and fact.is_site_fact]

    def _message(self, seen: Observed) -> Message | None:
        document = parse_document(seen.data, path=seen.source, http_charset=seen.http_charset, max_bytes=self.max_bytes)
        return build_message(document.root, seen.direction) if document.root is not None else None
