"""The live proxy's lint pipeline, free of mitmproxy: one message in; findings logged, facts learned.

For each message it lints (the same engine as `check`), adds what was learned about the site,
ties a FAILURE to the request finding that predicted it, learns from answers, writes the findings
log and the audit store, and computes the rewrite when asked. It returns what the flow should show
(an Annotation) and, for a request to rewrite, the new body (Rewritten); the mitmproxy addon applies
both. The pipeline runs in the lint worker process (proxy_worker.py) or inside mitmdump.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from proxy_addon.audit.recorder import BackgroundRecorder, SeenMessage, StoreUnavailable, open_audit_store
from proxy_addon.config import parse_site_id
from proxy_addon.core.findings import Finding
from proxy_addon.core.fixes import apply_fixes
from proxy_addon.core.redaction import redact
from proxy_addon.core.versions import LATEST, parse_version
from proxy_addon.exchange.flows import FlowLint, tie_failure_to_prediction
from proxy_addon.exchange.knowledge import LiveContext, SiteKnowledge, learn_from_response
from proxy_addon.lint.context import LintContext
from proxy_addon.lint.engine import Linter, LintResult
from proxy_addon.outputs.event_log import SECRETS_KEY, EventLogFile

# For the fail-open tests only: "lint-request", "lint-response" or "rewrite" raises there.
FAULT_ENV = "WEBEXLINT_TEST_FAULT"
MAX_FLOWS_IN_FLIGHT = 10_000  # requests waiting for their answer; the oldest are forgotten beyond this


class SettingsError(ValueError):
    """A setting that cannot be used; the text names the option and the problem."""


@dataclass(frozen=True)
class PipelineSettings:
    ci_sites: tuple[str, ...] = ()
    api_version: str = ""
    site_ids: tuple[str, ...] = ()  # "ID=NAME"
    validate: bool = False
    schema_dir: str = ""  # another XSD bundle; implies validate
    findings_log: str = ""  # a path, "-" for standard output, "" for none
    db: str = ""
    rewrite: bool = False
    rewrite_unsafe: bool = False
    fault: str = field(default_factory=lambda: os.environ.get(FAULT_ENV, ""))

    @property
    def rewriting(self) -> bool:
        return self.rewrite or self.rewrite_unsafe

    def context(self) -> LintContext:
        """The configured lint context; raises SettingsError naming the option on a bad value."""
        try:
            api_version = parse_version(self.api_version) if self.api_version else LATEST
        except ValueError as error:
            raise SettingsError(f"webexlint_api_version: {error}") from None
        site_ids = {}
        for item in self.site_ids:
            try:
                site_id, name = parse_site_id(item)
            except ValueError as error:
                raise SettingsError(f"webexlint_site_id: {error}") from None
            site_ids[site_id] = name
        if any(not site.strip() for site in self.ci_sites):
            raise SettingsError("webexlint_ci_site: empty site name")
        return LintContext(ci_sites=frozenset(site.strip() for site in self.ci_sites), api_version=api_version,
                           site_ids=site_ids, validate=self.validate or bool(self.schema_dir),
                           schema_dir=self.schema_dir or None)


@dataclass(frozen=True)
class Seen:
    """One message as the proxy saw it (the body decoded from its content-encoding)."""

    flow_id: str
    direction: str  # "request" | "response"
    data: bytes
    charset: str | None = None
    client: str | None = None
    user_agent: str | None = None
    time: float | None = None


@dataclass(frozen=True)
class Annotation:
    """What a flow should show: the flow.metadata summary, its mark and its one-line comment."""

    flow_id: str
    summary: dict[str, Any]
    mark: str
    comment: str


@dataclass(frozen=True)
class Rewritten:
    flow_id: str
    data: bytes
    changes: tuple[str, ...]
    skipped: tuple[str, ...]


class LintPipeline:
    def __init__(self, linter: Linter | None = None):
        self.linter = linter or Linter()  # the rule packs are read and compiled once
        self.knowledge = SiteKnowledge()
        self.settings = PipelineSettings(fault="")
        self.context = LiveContext.around(LintContext(), self.knowledge)
        self.flows: OrderedDict[str, FlowLint] = OrderedDict()
        self.clients: dict[str, str | None] = {}
        self.log: EventLogFile | None = None
        self.recorder: BackgroundRecorder | None = None

    # -- settings ---------------------------------------------------------------------------------

    def configure(self, settings: PipelineSettings) -> None:
        """Apply new settings; what was learned from traffic is kept. Raises SettingsError."""
        context = settings.context()
        if settings.findings_log != self.settings.findings_log or self.log is None:
            self._open_log(settings.findings_log)
        if settings.db != self.settings.db:
            self._open_store(settings.db)
        self.context = LiveContext.around(context, self.knowledge)
        if self.recorder is not None and (settings.db != self.settings.db or settings.ci_sites != self.settings.ci_sites):
            for site in settings.ci_sites:
                self.recorder.ci_site(site, "configured (webexlint_ci_site)")
        self.settings = settings

    def _open_log(self, target: str) -> None:
        if self.log is not None:
            self.log.close()
            self.log = None
        if target:
            try:
                self.log = EventLogFile(target, once_per_client=[  # rules with `log: once-per-client`
                    rule.id for rule in self.linter.ruleset.rules if rule.log == "once-per-client"])
            except OSError as error:
                raise SettingsError(f"webexlint_findings_log: cannot open {target}: {error.strerror}") from None

    def _open_store(self, url: str) -> None:
        if self.recorder is not None:
            self.recorder.close()
            self.recorder = None
        if url:
            try:
                self.recorder = BackgroundRecorder(open_audit_store(url))
            except StoreUnavailable as error:
                raise SettingsError(f"webexlint_db: {error}") from None

    # -- messages ---------------------------------------------------------------------------------

    def message(self, seen: Seen) -> tuple[Annotation | None, Rewritten | None]:
        if seen.direction == "request":
            return self._request(seen)
        return self._response(seen), None

    def _request(self, seen: Seen) -> tuple[Annotation | None, Rewritten | None]:
        self._inject_fault("lint-request")
        result = self._lint(seen, None)
        record = FlowLint(request=result, request_findings=result.findings)
        message = result.message
        if message is not None:
            record.site = self.context.site_key(message.site_name, message.site_id)
            record.webex_id = message.webex_id
            record.operation = message.operation
            record.remember(message)
            self._note_learned_facts(result.findings, record.site)
        self._track(seen, record)
        self._log_findings(seen.flow_id, record, "request")
        self._store(seen, record, result)
        rewritten = self._rewrite(seen.flow_id, record) if self.settings.rewriting else None
        record.request = None  # the tree stays reachable through record._messages until the answer
        return self._annotation(seen.flow_id, record), rewritten

    def _response(self, seen: Seen) -> Annotation | None:
        record = self.flows.pop(seen.flow_id, None) or FlowLint()
        client = self.clients.pop(seen.flow_id, seen.client)
        try:
            self._inject_fault("lint-response")
            result = self._lint(seen, record.operation)
            record.response, record.response_findings = result, result.findings
            message = result.message
            if message is not None:
                record.remember(message)
                record.operation = record.operation or message.operation
                if message.is_failure:
                    record.failure = message.exception_id or "(no exceptionID)"
            tie_failure_to_prediction(record)
            self._log_findings(seen.flow_id, record, "response", client)
            if message is not None:
                self._learn(seen.flow_id, record, client)
            self._store(seen, record, result)
            return self._annotation(seen.flow_id, record)
        finally:
            record.release()

    def _lint(self, seen: Seen, operation: str | None) -> LintResult:
        return self.linter.lint(seen.data, path=f"flow:{seen.flow_id}/{seen.direction}", http_charset=seen.charset,
                                direction=seen.direction, context=self.context, operation_hint=operation)

    def _track(self, seen: Seen, record: FlowLint) -> None:
        self.flows[seen.flow_id] = record
        self.clients[seen.flow_id] = seen.client
        while len(self.flows) > MAX_FLOWS_IN_FLIGHT:
            flow_id, _ = self.flows.popitem(last=False)
            self.clients.pop(flow_id, None)

    def forget(self, flow_id: str) -> None:
        """The flow ended without an answer (connection error, killed)."""
        record = self.flows.pop(flow_id, None)
        self.clients.pop(flow_id, None)
        if record is not None:
            record.release()

    def _note_learned_facts(self, findings: list[Finding], site: str | None) -> None:
        rules = self.linter.ruleset.by_id
        for finding in findings:
            rule = rules.get(finding.rule)
            if rule is not None:
                finding.notes.extend(self.knowledge.notes_for(rule, site))

    def _learn(self, flow_id: str, record: FlowLint, client: str | None) -> None:
        for note in learn_from_response(self.knowledge, record.site, record.operation, record.response.message):
            record.learned.append(note)
            self.emit("learned", flow_id, record, client, note=note)
            if self.recorder is not None and self.knowledge.is_ci(record.site):
                self.recorder.ci_site(record.site, note)

    # -- rewriting --------------------------------------------------------------------------------

    def _rewrite(self, flow_id: str, record: FlowLint) -> Rewritten | None:
        outcome = apply_fixes(record.request, unsafe=self.settings.rewrite_unsafe)
        if not outcome.changed:
            return None
        rewritten = Rewritten(
            flow_id, outcome.data,
            tuple(f"{finding.rule}: {finding.fix.description}" for finding in outcome.applied),
            tuple(f"{finding.rule}: {reason}" for finding, reason in outcome.skipped),
        )
        record.rewrite_plan = (rewritten, list(outcome.applied), len(record.request.document.raw))
        return rewritten

    def rewrite_applied(self, flow_id: str) -> Annotation | None:
        """The proxy sent the rewritten body upstream: log what changed."""
        record = self.flows.get(flow_id)
        if record is None or record.rewrite_plan is None:
            return None
        rewritten, fixed, size_before = record.rewrite_plan
        record.rewrite_plan = None
        record.rewritten = fixed
        self.emit("rewrite", flow_id, record, self.clients.get(flow_id), direction="request",
                  changes=list(rewritten.changes), skipped=list(rewritten.skipped),
                  bytes_before=size_before, bytes_after=len(rewritten.data))
        return self._annotation(flow_id, record)

    # -- output -----------------------------------------------------------------------------------

    def _log_findings(self, flow_id: str, record: FlowLint, direction: str, client: str | None = None) -> None:
        if self.log is None:
            return
        client = client if client is not None else self.clients.get(flow_id)
        for finding in record.findings(direction):
            self.emit("finding", flow_id, record, client, direction=direction, rule=finding.rule, name=finding.name,
                      severity=str(finding.severity), message=finding.message, line=finding.line,
                      predicts=finding.predicts, notes=list(finding.notes))

    def emit(self, event: str, flow_id: str, record: FlowLint | None, client: str | None, **fields: object) -> None:
        if self.log is None:
            return
        self.log.logger.info(
            event, flow_id=flow_id, client=client, site=record.site if record else None,
            webex_id=record.webex_id if record else None, operation=record.operation if record else None,
            **{SECRETS_KEY: record.secrets() if record else frozenset()}, **fields,
        )

    def internal_error(self, flow_id: str, where: str, error: str, client: str | None = None) -> None:
        record = self.flows.get(flow_id)
        text = redact(error, record.secrets() if record else frozenset())
        self.emit("internal_error", flow_id, None, client, where=where, error=text)

    def _store(self, seen: Seen, record: FlowLint, result: LintResult) -> None:
        if self.recorder is not None:
            self.recorder.message(SeenMessage(
                result=result, data=seen.data, flow_id=seen.flow_id, time=seen.time, client_address=seen.client,
                user_agent=seen.user_agent, site=record.site, webex_id=record.webex_id))

    @staticmethod
    def _annotation(flow_id: str, record: FlowLint) -> Annotation | None:
        if not (record.request_findings or record.response_findings or record.learned or record.rewritten):
            return None
        return Annotation(flow_id, record.summary(), record.mark(), record.comment())

    def _inject_fault(self, point: str) -> None:
        if self.settings.fault == point:
            raise RuntimeError(f"fault injected at {point} ({FAULT_ENV})")

    def close(self) -> None:
        if self.recorder is not None:
            self.recorder.close()
            self.recorder = None
        if self.log is not None:
            self.log.close()
            self.log = None
