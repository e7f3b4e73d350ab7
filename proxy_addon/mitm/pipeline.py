"""The live proxy's lint pipeline, free of mitmproxy: one message in; its exchange record out to the consumers.

Each message goes through the exchange linter (proxy_addon.exchange, the same one `check` and
`audit` replay captures through), which pairs, learns and ties failures to their predictions and
hands out one record. Here the record goes out: the findings log and the console, the audit store,
the rewrite when asked, and what the flow shows (an Annotation). The pipeline runs in the lint
worker process (mitm/worker.py) or inside mitmdump.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from proxy_addon.audit.recorder import BackgroundRecorder, StoreUnavailable, open_audit_store
from proxy_addon.core.fixes import apply_fixes
from proxy_addon.core.redaction import redact
from proxy_addon.exchange.linter import MAX_IN_FLIGHT, ExchangeLinter
from proxy_addon.exchange.observed import PROXY_SOURCE, Observed
from proxy_addon.exchange.record import ExchangeRecord, Outcome
from proxy_addon.lint.engine import Linter
from proxy_addon.mitm import flows
from proxy_addon.outputs.event_log import SECRETS_KEY, EventLogFile
from proxy_addon.settings import Settings, SettingsError, make_linter

# For the fail-open tests only: "lint-request", "lint-response" or "rewrite" raises there.
FAULT_ENV = "WEBEXLINT_TEST_FAULT"


@dataclass(frozen=True)
class Annotation:
    """What a flow should show: the flow.metadata summary, its mark and its one-line comment."""

    flow_id: str
    summary: dict[str, Any] | None  # None: a clean flow, only its comment to show
    mark: str
    comment: str


@dataclass(frozen=True)
class Rewritten:
    flow_id: str
    data: bytes
    changes: tuple[str, ...]
    skipped: tuple[str, ...]


@dataclass(frozen=True)
class _PlannedRewrite:
    rewritten: Rewritten
    rules: tuple[str, ...]  # the rules whose findings the rewrite fixes
    size_before: int


class LintPipeline:
    def __init__(self, linter: Linter | None = None, rule_packs: tuple[str, ...] = ()):
        """`rule_packs`: the team packs `linter` was built with (configure builds it anew only when they change)."""
        self.exchanges = ExchangeLinter(linter or Linter())  # the rule packs are read and compiled once
        self.settings = Settings(rule_packs=rule_packs)
        self.log: EventLogFile | None = None  # the JSON lines (webexlint_findings_log)
        self.console: EventLogFile | None = None  # the readable lines on standard output (webexlint_console)
        self.recorder: BackgroundRecorder | None = None
        # A request's rewrite, from its lint until the proxy sent it (planned), then until its answer
        # (applied: the rules it fixed, for the flow's summary). Not a pairing: the record pairs.
        self._rewrites: OrderedDict[str, _PlannedRewrite | tuple[str, ...]] = OrderedDict()

    # -- settings ---------------------------------------------------------------------------------

    def configure(self, settings: Settings) -> None:
        """Apply new settings; what was learned from traffic is kept. Raises SettingsError."""
        if settings.rule_packs != self.settings.rule_packs:
            self.exchanges.linter = make_linter(settings)  # team rule packs: read and compiled once per change
        if settings.findings_log != self.settings.findings_log or self.log is None:
            self._open_log(settings.findings_log)
        console = settings.console and settings.findings_log != "-"  # "-": the JSON lines have standard output
        if console != (self.console is not None) or settings.rule_packs != self.settings.rule_packs:
            self._open_console(console)
        if settings.db != self.settings.db:
            self._open_store(settings.db)
        self.exchanges.configure(settings.context())
        if self.recorder is not None and (settings.db != self.settings.db or settings.ci_sites != self.settings.ci_sites):
            for site in settings.ci_sites:
                self.recorder.ci_site(site, "configured (webexlint_ci_site)")
        self.settings = settings

    def _open_log(self, target: str) -> None:
        if self.log is not None:
            self.log.close()
            self.log = None
        self.console = None
        if target:
            try:
                self.log = EventLogFile(target, once_per_client=self._once_per_client())
            except OSError as error:
                raise SettingsError(f"webexlint_findings_log: cannot open {target}: {error.strerror}") from None

    def _open_console(self, on: bool) -> None:
        self.console = EventLogFile("-", once_per_client=self._once_per_client(), console=True) if on else None

    def _once_per_client(self) -> list[str]:
        """The rules with `log: once-per-client`."""
        return [rule.id for rule in self.exchanges.linter.ruleset.rules if rule.log == "once-per-client"]

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

    def message(self, seen: Observed, *, annotate: bool = True) -> tuple[Annotation | None, Rewritten | None]:
        """Lint one message and send its record out; `annotate`: someone shows the flow (mitmweb, a
        saved dump), so also work out its Annotation (else None: marks nobody reads cost nothing)."""
        self._inject_fault("lint-request" if seen.direction == "request" else "lint-response")
        record = self.exchanges.lint(seen)
        self._log_findings(record)
        for fact in record.learned:
            self.emit("learned", record, note=fact.note, learned_from=fact.provenance)
            if self.recorder is not None:
                self.recorder.learned(fact)
        if self.recorder is not None:
            self.recorder.message(record)
        rewritten = None
        if record.outcome is Outcome.PENDING and self.settings.rewriting:
            rewritten = self._rewrite(seen.locator, record)
        if not annotate:
            if record.response is not None:
                self._rewrites.pop(seen.locator, None)
            return None, rewritten
        return self._annotation(record), rewritten

    def forget(self, flow_id: str) -> None:
        """The flow ended without an answer (connection error, killed)."""
        self.exchanges.forget((PROXY_SOURCE, flow_id))
        self._rewrites.pop(flow_id, None)

    # -- rewriting --------------------------------------------------------------------------------

    def _rewrite(self, flow_id: str, record: ExchangeRecord) -> Rewritten | None:
        request = record.request.result
        outcome = apply_fixes(request, unsafe=self.settings.rewrite_unsafe, learned=self.settings.rewrite_learned)
        if not outcome.changed:
            return None
        rewritten = Rewritten(
            flow_id, outcome.data,
            tuple(f"{finding.rule}: {finding.fix.description}" for finding in outcome.applied),
            tuple(f"{finding.rule}: {reason}" for finding, reason in outcome.skipped),
        )
        self._rewrites[flow_id] = _PlannedRewrite(rewritten, tuple(f.rule for f in outcome.applied),
                                                  len(request.document.raw))
        while len(self._rewrites) > MAX_IN_FLIGHT:
            self._rewrites.popitem(last=False)
        return rewritten

    def rewrite_applied(self, flow_id: str) -> Annotation | None:
        """The proxy sent the rewritten body upstream: log what changed."""
        plan = self._rewrites.get(flow_id)
        record = self.exchanges.pending((PROXY_SOURCE, flow_id))
        if not isinstance(plan, _PlannedRewrite) or record is None:
            return None
        self._rewrites[flow_id] = plan.rules
        self.emit("rewrite", record, direction="request", changes=list(plan.rewritten.changes),
                  skipped=list(plan.rewritten.skipped), bytes_before=plan.size_before,
                  bytes_after=len(plan.rewritten.data))
        return self._annotation(record)

    # -- output -----------------------------------------------------------------------------------

    def _log_findings(self, record: ExchangeRecord) -> None:
        if self.log is None and self.console is None:
            return
        direction = "response" if record.response is not None else "request"
        for finding in record.findings_in(direction):
            fields = finding.as_dict()
            del fields["path"], fields["fixable"]  # the proxy's messages have no file, nothing --fix could do
            fields["direction"] = direction  # also for a body that did not parse
            self.emit("finding", record, **fields)

    def emit(self, event: str, record: ExchangeRecord | None, flow_id: str | None = None, client: str | None = None,
             **fields: object) -> None:
        """One event to the findings log and the console, redacted there once with the exchange's secrets."""
        if self.log is None and self.console is None:
            return
        about = {"flow_id": flow_id, "client": client}
        if record is not None:
            about = {"flow_id": record.observed.locator, "client": record.client, "site": record.site,
                     "webex_id": record.webex_id, "operation": record.operation}
        event_fields = {**about, **{key: value for key, value in fields.items() if value is not None or key not in about}}
        secrets = record.secrets if record is not None else frozenset()
        for log in (self.log, self.console):
            if log is not None:
                log.logger.info(event, **event_fields, **{SECRETS_KEY: secrets})

    def not_linted(self, flow_id: str, direction: str, reason: str, client: str | None = None) -> None:
        """A Webex message the proxy passed on without linting it (an undecodable body): an event."""
        if direction == "response":
            self.forget(flow_id)
        self.emit("not_linted", None, flow_id, client, direction=direction, reason=reason)

    def internal_error(self, flow_id: str, where: str, error: str, client: str | None = None) -> None:
        record = self.exchanges.pending((PROXY_SOURCE, flow_id))
        text = record.redact(error) if record is not None else redact(error)
        self.emit("internal_error", None, flow_id, client, where=where, error=text)

    def _annotation(self, record: ExchangeRecord) -> Annotation | None:
        flow_id = record.observed.locator
        applied = self._rewrites.get(flow_id)
        rewritten = applied if isinstance(applied, tuple) else ()
        if record.response is not None:
            self._rewrites.pop(flow_id, None)
        if not flows.shows_something(record, rewritten):
            # A clean call still gets its operation as the comment (mitmweb's flow list shows the
            # same path for every call): once, when its request is linted; nothing else to show.
            if record.operation and record.response is None:
                return Annotation(flow_id, None, "", flows.comment(record))
            return None
        return Annotation(flow_id, flows.summary(record, rewritten), flows.mark(record), flows.comment(record, rewritten))

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
        self.console = None
