"""The live proxy's lint pipeline, free of mitmproxy: one message in; findings logged, facts learned.

Each message goes through the exchange linter (proxy_addon.exchange, the same one `check` and `audit`
replay captures through): it lints, notes learned facts, ties a FAILURE to its prediction and learns
from answers. Here the results go out: the findings log, the audit store, the rewrite when asked. It returns what the flow should show
(an Annotation) and, for a request to rewrite, the new body (Rewritten); the mitmproxy addon applies
both. The pipeline runs in the lint worker process (proxy_worker.py) or inside mitmdump.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from proxy_addon.audit.recorder import BackgroundRecorder, StoreUnavailable, open_audit_store
from proxy_addon.config import parse_site_id
from proxy_addon.core.fixes import apply_fixes
from proxy_addon.core.redaction import redact
from proxy_addon.core.versions import LATEST, parse_version
from proxy_addon.exchange.linter import MAX_IN_FLIGHT, ExchangeLinter, Linted
from proxy_addon.exchange.observed import PROXY_SOURCE, Observed
from proxy_addon.lint.context import LintContext
from proxy_addon.lint.engine import Linter
from proxy_addon.mitm.flows import FlowLint
from proxy_addon.outputs.event_log import SECRETS_KEY, EventLogFile

# For the fail-open tests only: "lint-request", "lint-response" or "rewrite" raises there.
FAULT_ENV = "WEBEXLINT_TEST_FAULT"


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
        self.exchanges = ExchangeLinter(linter or Linter())  # the rule packs are read and compiled once
        self.settings = PipelineSettings(fault="")
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
        self.exchanges.configure(context)
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
                self.log = EventLogFile(target)
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

    def message(self, seen: Observed) -> tuple[Annotation | None, Rewritten | None]:
        if seen.direction == "request":
            return self._request(seen)
        return self._response(seen), None

    def _request(self, seen: Observed) -> tuple[Annotation | None, Rewritten | None]:
        self._inject_fault("lint-request")
        linted = self.exchanges.lint(seen)
        record = FlowLint(request=linted.result, request_findings=linted.findings, site=linted.site,
                          webex_id=linted.webex_id, operation=linted.operation)
        if linted.result.message is not None:
            record.remember(linted.result.message)
        self._track(seen, record)
        self._log_findings(seen.locator, record, "request")
        self._store(linted)
        rewritten = self._rewrite(seen.locator, record) if self.settings.rewriting else None
        record.request = None  # the tree stays reachable through record._messages until the answer
        return self._annotation(seen.locator, record), rewritten

    def _response(self, seen: Observed) -> Annotation | None:
        record = self.flows.pop(seen.locator, None) or FlowLint()
        client = self.clients.pop(seen.locator, seen.client_address)
        try:
            self._inject_fault("lint-response")
            linted = self.exchanges.lint(seen)
            record.response, record.response_findings = linted.result, linted.findings
            record.operation, record.failure = linted.operation, linted.failure
            if linted.result.message is not None:
                record.remember(linted.result.message)
            self._log_findings(seen.locator, record, "response", client)
            self._learned(seen.locator, record, linted, client)
            self._store(linted)
            return self._annotation(seen.locator, record)
        finally:
            record.release()

    def _track(self, seen: Observed, record: FlowLint) -> None:
        self.flows[seen.locator] = record
        self.clients[seen.locator] = seen.client_address
        while len(self.flows) > MAX_IN_FLIGHT:
            flow_id, _ = self.flows.popitem(last=False)
            self.clients.pop(flow_id, None)

    def forget(self, flow_id: str) -> None:
        """The flow ended without an answer (connection error, killed)."""
        record = self.flows.pop(flow_id, None)
        self.clients.pop(flow_id, None)
        self.exchanges.forget((PROXY_SOURCE, flow_id))
        if record is not None:
            record.release()

    def _learned(self, flow_id: str, record: FlowLint, linted: Linted, client: str | None) -> None:
        for fact in linted.learned:
            record.learned.append(fact.note)
            self.emit("learned", flow_id, record, client, note=fact.note, learned_from=fact.provenance)
            if self.recorder is not None and self.exchanges.knowledge.is_ci(fact.site):
                self.recorder.ci_site(fact.site, fact.provenance)

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

    def not_linted(self, flow_id: str, direction: str, reason: str, client: str | None = None) -> None:
        """A Webex message the proxy passed on without linting it (an undecodable body): an event."""
        if direction == "response":
            self.forget(flow_id)
        self.emit("not_linted", flow_id, None, client, direction=direction, reason=reason)

    def internal_error(self, flow_id: str, where: str, error: str, client: str | None = None) -> None:
        record = self.flows.get(flow_id)
        text = redact(error, record.secrets() if record else frozenset())
        self.emit("internal_error", flow_id, None, client, where=where, error=text)

    def _store(self, linted: Linted) -> None:
        if self.recorder is not None:
            self.recorder.message(linted)

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
