"""The webex-xml-lint mitmproxy addon: lint Webex XML API traffic live, learn, optionally rewrite.

    mitmdump -s proxy_addon/addon.py [--set webexlint_rewrite=true] ...
    webex-xml-lint proxy --listen-port 8080 [--mode reverse:https://acme.webex.com] ...

One small addon per concern, in hook order: WebexLint lints each serv:message request and response
with the same engine as `check`; FindingsLog writes one JSON line per finding; SiteLearning learns
site type and API version from answers; Rewrite (only when asked) applies the safe fixes;
FlowAnnotations marks and comments the flow; AuditStore feeds the audit database; and
ReleaseParsedMessages frees the parsed trees. They share one LintSession.

Every hook fails open: an internal error is logged as an event and the flow passes untouched.
Without rewriting, the proxy never assigns a body, so upstream gets exactly the client's bytes.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import weakref
from collections.abc import Callable, Sequence

if __package__ != "proxy_addon":
    # Loaded by path (mitmdump -s .../proxy_addon/addon.py): mitmproxy puts this folder first on
    # sys.path while loading, where module names like selectors.py would shadow the standard library.
    # Import the package by name instead, from its installation or else from this checkout.
    _HERE = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or os.curdir) != _HERE]
    if os.path.dirname(_HERE) not in sys.path:
        sys.path.append(os.path.dirname(_HERE))

from mitmproxy import ctx, exceptions, http  # noqa: E402
from mitmproxy.net.http.headers import parse_content_type  # noqa: E402

from proxy_addon.config import parse_site_id  # noqa: E402
from proxy_addon.context import LintContext  # noqa: E402
from proxy_addon.engine import Linter, LintResult  # noqa: E402
from proxy_addon.fixes import apply_fixes  # noqa: E402
from proxy_addon.logging_setup import SECRETS_KEY, EventLogFile  # noqa: E402
from proxy_addon.proxy_audit import BackgroundRecorder, SeenMessage, StoreUnavailable, open_audit_store  # noqa: E402
from proxy_addon.proxy_contentview import register as register_contentview  # noqa: E402
from proxy_addon.proxy_flows import (  # noqa: E402
    METADATA_KEY, OUR_MARKS, FlowLint, is_service_path, looks_like_serv_message, tie_failure_to_prediction,
)
from proxy_addon.proxy_state import LiveContext, SiteKnowledge, learn_from_response  # noqa: E402
from proxy_addon.redaction import redact  # noqa: E402
from proxy_addon.versions import LATEST, parse_version  # noqa: E402

logger = logging.getLogger(__name__)
# For the fail-open tests only: "lint-request", "lint-response" or "rewrite" raises there.
FAULT_ENV = "WEBEXLINT_TEST_FAULT"


class LintSession:
    """What the addons share: the linter, the lint context with learned state, per-flow records, the log."""

    def __init__(self) -> None:
        self.linter: Linter | None = None
        self.knowledge = SiteKnowledge()
        self.context: LiveContext = LiveContext.around(LintContext(), self.knowledge)
        # Per-flow records hold secrets and parsed trees: memory only, never flow.metadata.
        self.flows: weakref.WeakKeyDictionary[http.HTTPFlow, FlowLint] = weakref.WeakKeyDictionary()
        self.events = None  # a structlog logger while a findings log is configured
        self.fault = os.environ.get(FAULT_ENV, "")

    def inject_fault(self, point: str) -> None:
        if self.fault == point:
            raise RuntimeError(f"fault injected at {point} ({FAULT_ENV})")

    def emit(self, event: str, flow: http.HTTPFlow, record: FlowLint | None, **fields: object) -> None:
        if self.events is None:
            return
        self.events.info(
            event, flow_id=flow.id, client=client_address(flow),
            site=record.site if record else None, webex_id=record.webex_id if record else None,
            operation=record.operation if record else None,
            **{SECRETS_KEY: record.secrets() if record else frozenset()}, **fields,
        )

    def internal_error(self, flow: http.HTTPFlow, where: str, error: Exception) -> None:
        text = redact(f"{type(error).__name__}: {error}", self._secrets_of(flow))
        logger.warning("webexlint: internal error in %s (flow passed through untouched): %s", where, text)
        try:
            self.emit("internal_error", flow, None, where=where, error=text)
        except Exception:  # noqa: BLE001 (the log itself failing must not break the flow either)
            logger.debug("webexlint: could not log the internal error", exc_info=True)

    def _secrets_of(self, flow: http.HTTPFlow) -> frozenset[str]:
        record = self.flows.get(flow)
        return record.secrets() if record else frozenset()


def fail_open(hook: Callable) -> Callable:
    """Run a flow hook; any exception is logged as an event and the flow goes on untouched."""

    @functools.wraps(hook)
    def guarded(self, flow: http.HTTPFlow) -> None:
        try:
            hook(self, flow)
        except Exception as error:  # noqa: BLE001 (fail open is the contract)
            self.session.internal_error(flow, f"{type(self).__name__}.{hook.__name__}", error)

    return guarded


def client_address(flow: http.HTTPFlow) -> str | None:
    peer = flow.client_conn.peername
    return f"{peer[0]}:{peer[1]}" if peer else None


def body_of(message: http.Message) -> bytes | None:
    """The decoded body, or None when there is none or its content-encoding cannot be decoded."""
    if not message.raw_content:
        return None
    try:
        return message.get_content(strict=True)
    except ValueError:
        return None


def charset_of(message: http.Message) -> str | None:
    return _charset(message.headers.get("content-type", ""))


@functools.lru_cache(maxsize=64)  # a client sends the same few Content-Type values over and over
def _charset(content_type: str) -> str | None:
    parsed = parse_content_type(content_type)
    return parsed[2].get("charset") if parsed else None


class WebexLint:
    """Lints serv:message requests and responses (by path or by content) with the `check` engine."""

    def __init__(self, session: LintSession):
        self.session = session

    def load(self, loader) -> None:
        loader.add_option("webexlint_ci_site", Sequence[str], [],
                          "A Webex site that is CI-enabled (unified); repeat for several. Sites are also "
                          "learned from traffic (GetSiteType, 030098 failures).")
        loader.add_option("webexlint_api_version", str, "",
                          "XML API version of the service, e.g. 39.11 or 11.0 SP13 (default: the newest "
                          "the rules know). A GetAPIVersion answer overrides it per site.")
        loader.add_option("webexlint_site_id", Sequence[str], [],
                          "Map a siteID to its siteName as ID=NAME, so a rewrite can replace the deprecated "
                          "siteID; repeat for several.")
        loader.add_option("webexlint_validate", bool, False,
                          "Also validate messages against the bundled XSDs (WX007, WX008).")
        if self.session.linter is None:
            self.session.linter = Linter()  # the rule packs are read and compiled once

    def configure(self, updated: set[str]) -> None:
        if not updated & {"webexlint_ci_site", "webexlint_api_version", "webexlint_site_id", "webexlint_validate"}:
            return
        options = ctx.options
        try:
            api_version = parse_version(options.webexlint_api_version) if options.webexlint_api_version else LATEST
        except ValueError as error:
            raise exceptions.OptionsError(f"webexlint_api_version: {error}") from None
        site_ids = {}
        for item in options.webexlint_site_id:
            try:
                site_id, name = parse_site_id(item)
            except ValueError as error:
                raise exceptions.OptionsError(f"webexlint_site_id: {error}") from None
            site_ids[site_id] = name
        ci_sites = [site.strip() for site in options.webexlint_ci_site]
        if any(not site for site in ci_sites):
            raise exceptions.OptionsError("webexlint_ci_site: empty site name")
        base = LintContext(ci_sites=frozenset(ci_sites), api_version=api_version, site_ids=site_ids,
                           validate=options.webexlint_validate)
        self.session.context = LiveContext.around(base, self.session.knowledge)

    @fail_open
    def request(self, flow: http.HTTPFlow) -> None:
        request = flow.request
        if not is_service_path(request.path) and not looks_like_serv_message(request.raw_content):
            return
        data = body_of(request)
        if data is None:
            return
        self.session.inject_fault("lint-request")
        result = self._lint(data, request, "request", None, flow)
        message = result.message
        record = FlowLint(request=result, request_findings=result.findings)
        if message is not None:
            record.site = self.session.context.site_key(message.site_name, message.site_id)
            record.webex_id = message.webex_id
            record.operation = message.operation
            record.remember(message)
            self._note_learned_facts(result, record.site)
        self.session.flows[flow] = record

    @fail_open
    def response(self, flow: http.HTTPFlow) -> None:
        response = flow.response
        record = self.session.flows.get(flow)
        if record is None and not looks_like_serv_message(response.raw_content):
            return
        data = body_of(response)
        if data is None:
            return
        self.session.inject_fault("lint-response")
        record = record or FlowLint()
        result = self._lint(data, response, "response", record.operation, flow)
        record.response, record.response_findings = result, result.findings
        message = result.message
        if message is not None:
            record.remember(message)
            record.operation = record.operation or message.operation
            if message.is_failure:
                record.failure = message.exception_id or "(no exceptionID)"
        tie_failure_to_prediction(record)
        self.session.flows[flow] = record

    def _note_learned_facts(self, result: LintResult, site: str | None) -> None:
        rules = self.session.linter.ruleset.by_id
        for finding in result.findings:
            rule = rules.get(finding.rule)
            if rule is not None:
                finding.notes.extend(self.session.knowledge.notes_for(rule, site))

    def _lint(self, data: bytes, message: http.Message, direction: str, operation: str | None,
              flow: http.HTTPFlow) -> LintResult:
        return self.session.linter.lint(data, path=f"flow:{flow.id}/{direction}", http_charset=charset_of(message),
                                        direction=direction, context=self.session.context,
                                        operation_hint=operation)


class FindingsLog:
    """One structlog JSON line per finding (and per rewrite, learned fact, internal error)."""

    def __init__(self, session: LintSession):
        self.session = session
        self.log: EventLogFile | None = None

    def load(self, loader) -> None:
        loader.add_option("webexlint_findings_log", str, "-",
                          "Where to write one JSON line per finding and event: a file (appended to), "
                          "- for standard output, or empty for no log.")

    def configure(self, updated: set[str]) -> None:
        if "webexlint_findings_log" not in updated:
            return
        self.done()
        target = ctx.options.webexlint_findings_log
        if not target:
            return
        try:
            self.log = EventLogFile(target)
        except OSError as error:
            raise exceptions.OptionsError(f"webexlint_findings_log: cannot open {target}: {error.strerror}") from None
        self.session.events = self.log.logger

    @fail_open
    def request(self, flow: http.HTTPFlow) -> None:
        self._log_findings(flow, "request")

    @fail_open
    def response(self, flow: http.HTTPFlow) -> None:
        self._log_findings(flow, "response")

    def _log_findings(self, flow: http.HTTPFlow, direction: str) -> None:
        record = self.session.flows.get(flow)
        if record is None:
            return
        for finding in record.findings(direction):
            self.session.emit("finding", flow, record, direction=direction, rule=finding.rule, name=finding.name,
                              severity=str(finding.severity), message=finding.message, line=finding.line,
                              predicts=finding.predicts, notes=list(finding.notes))

    def done(self) -> None:
        if self.log is not None:
            self.log.close()
            self.log = None
        self.session.events = None


class SiteLearning:
    """Learns each site's type and API version from the service's answers."""

    def __init__(self, session: LintSession):
        self.session = session

    @fail_open
    def response(self, flow: http.HTTPFlow) -> None:
        record = self.session.flows.get(flow)
        if record is None or record.response is None or record.response.message is None:
            return
        for note in learn_from_response(self.session.knowledge, record.site, record.operation,
                                        record.response.message):
            record.learned.append(note)
            self.session.emit("learned", flow, record, note=note)


class Rewrite:
    """With webexlint_rewrite, applies the safe fixes to requests (and the unsafe ones if asked)."""

    def __init__(self, session: LintSession):
        self.session = session
        self.enabled = False
        self.unsafe = False

    def load(self, loader) -> None:
        loader.add_option("webexlint_rewrite", bool, False,
                          "Rewrite requests with the safe fixes: drop or replace the deprecated siteID, drop "
                          "HQ/HD video options, drop the SetUser fields CI sites ignore.")
        loader.add_option("webexlint_rewrite_unsafe", bool, False,
                          "Also apply the unsafe fixes (truncate over-long descriptions); implies webexlint_rewrite.")

    def configure(self, updated: set[str]) -> None:
        self.unsafe = ctx.options.webexlint_rewrite_unsafe
        self.enabled = ctx.options.webexlint_rewrite or self.unsafe

    @fail_open
    def request(self, flow: http.HTTPFlow) -> None:
        record = self.session.flows.get(flow)
        if not self.enabled or record is None or record.request is None:
            return
        outcome = apply_fixes(record.request, unsafe=self.unsafe)
        if not outcome.changed:
            return
        self.session.inject_fault("rewrite")
        flow.request.content = outcome.data  # the one place the proxy changes traffic
        record.rewritten = list(outcome.applied)
        self.session.emit(
            "rewrite", flow, record, direction="request",
            changes=[f"{finding.rule}: {finding.fix.description}" for finding in outcome.applied],
            skipped=[f"{finding.rule}: {reason}" for finding, reason in outcome.skipped],
            bytes_before=len(record.request.document.raw), bytes_after=len(outcome.data),
        )


class FlowAnnotations:
    """Marks flows with findings (error vs warning) and writes a one-line comment, for mitmweb filters."""

    def __init__(self, session: LintSession):
        self.session = session

    @fail_open
    def request(self, flow: http.HTTPFlow) -> None:
        self._annotate(flow)

    @fail_open
    def response(self, flow: http.HTTPFlow) -> None:
        self._annotate(flow)

    def _annotate(self, flow: http.HTTPFlow) -> None:
        record = self.session.flows.get(flow)
        if record is None or not (record.request_findings or record.response_findings or record.learned):
            return  # nothing to show; the contentview lints such flows itself when they are opened
        flow.metadata[METADATA_KEY] = record.summary()
        if flow.marked in OUR_MARKS:  # never overwrite a mark the user set
            flow.marked = record.mark()
        comment = record.comment()
        if comment and (not flow.comment or flow.comment.startswith("webexlint ")):
            flow.comment = comment


class AuditStore:
    """With webexlint_db, records every message, its findings and the learned CI sites in the audit store."""

    def __init__(self, session: LintSession):
        self.session = session
        self.recorder: BackgroundRecorder | None = None

    def load(self, loader) -> None:
        loader.add_option("webexlint_db", str, "",
                          "Also record every message and finding in this audit store (a SQLite path or a "
                          "postgresql:// URL), the one `webex-xml-lint audit` and `inventory` read.")

    def configure(self, updated: set[str]) -> None:
        if "webexlint_db" in updated:
            self.done()
            url = ctx.options.webexlint_db
            if url:
                try:
                    self.recorder = BackgroundRecorder(open_audit_store(url))
                except StoreUnavailable as error:
                    raise exceptions.OptionsError(f"webexlint_db: {error}") from None
        if self.recorder is not None and updated & {"webexlint_db", "webexlint_ci_site"}:
            for site in ctx.options.webexlint_ci_site:
                self.recorder.ci_site(site, "configured (webexlint_ci_site)")

    @fail_open
    def request(self, flow: http.HTTPFlow) -> None:
        record = self.session.flows.get(flow)
        if self.recorder is not None and record is not None and record.request is not None:
            self._submit(flow, record, record.request, flow.request)

    @fail_open
    def response(self, flow: http.HTTPFlow) -> None:
        record = self.session.flows.get(flow)
        if self.recorder is None or record is None or record.response is None:
            return
        self._submit(flow, record, record.response, flow.response)
        if record.learned and self.session.knowledge.is_ci(record.site):
            self.recorder.ci_site(record.site, record.learned[-1])

    def _submit(self, flow: http.HTTPFlow, record: FlowLint, result: LintResult, message: http.Message) -> None:
        self.recorder.message(SeenMessage(
            result=result, data=result.document.raw, flow_id=flow.id, time=message.timestamp_start,
            client_address=client_address(flow), user_agent=flow.request.headers.get("user-agent"),
            site=record.site, webex_id=record.webex_id))

    def done(self) -> None:
        if self.recorder is not None:
            self.recorder.close()
            self.recorder = None


class ReleaseParsedMessages:
    """Frees each flow's parsed trees once every addon has seen them (mitmweb keeps flows for long)."""

    def __init__(self, session: LintSession):
        self.session = session

    def request(self, flow: http.HTTPFlow) -> None:
        record = self.session.flows.get(flow)
        if record is not None:
            record.request = None  # the request's secrets stay findable until the response

    def response(self, flow: http.HTTPFlow) -> None:
        record = self.session.flows.get(flow)
        if record is not None:
            record.release()

    error = response  # no answer is coming: release now


def make_addons() -> list:
    session = LintSession()
    return [WebexLint(session), FindingsLog(session), SiteLearning(session), Rewrite(session),
            FlowAnnotations(session), AuditStore(session), ReleaseParsedMessages(session)]


register_contentview()
addons = make_addons()
