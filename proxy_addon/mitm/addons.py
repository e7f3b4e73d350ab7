"""The webex-xml-lint mitmproxy addon: lint Webex XML API traffic live, learn, optionally rewrite.

    mitmdump -s proxy_addon/addon.py [--set webexlint_rewrite=true] ...   (addon.py loads these)
    webex-xml-lint proxy --listen-port 8080 [--mode reverse:https://acme.webex.com] ...

One small addon per concern. WebexLint hands each serv:message request and response (recognised by
path or by content) to the lint pipeline (mitm/pipeline.py), which lints it with the same engine as
`check`, learns site type and API version from the answers, ties failures to their predictions, and
writes the findings log and the audit store. The pipeline runs in a worker process by default
(webexlint_offload), so the proxy's event loop only hands bodies over. FindingsLog and AuditStore
own their options; Rewrite applies the safe fixes when asked (it waits for the pipeline's answer);
FlowAnnotations marks and comments flows for mitmweb.

Every hook fails open: an internal error is logged as an event and the flow passes untouched.
Without rewriting, no body is ever assigned, so upstream gets exactly the client's bytes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import os
import sys
import weakref
from collections.abc import Callable, Sequence

from mitmproxy import ctx, exceptions, http
from mitmproxy.hooks import UpdateHook

from proxy_addon.audit.recorder import StoreUnavailable, check_audit_store
from proxy_addon.core.charsets import charset_of
from proxy_addon.exchange.observed import PROXY_SOURCE, Observed
from proxy_addon.exchange.sniff import is_xml_api
from proxy_addon.mitm.backends import InProcessBackend, PendingRewrite, WorkerBackend
from proxy_addon.mitm.bodies import UndecodableBody, decoded_body
from proxy_addon.mitm.contentview import register as register_contentview
from proxy_addon.mitm.flows import COMMENT_KEY, METADATA_KEY, OUR_MARKS
from proxy_addon.mitm.pipeline import FAULT_ENV, Annotation
from proxy_addon.outputs.event_log import EventLogFile
from proxy_addon.settings import (
    LINT_OPTIONS,
    Settings,
    SettingsError,
    check_selectors,
    make_linter,
    options_layer,
    read_config,
)
from proxy_addon.settings.file import config_path

logger = logging.getLogger(__name__)
REWRITE_TIMEOUT = 5.0  # seconds a request waits for its rewrite before it goes upstream unchanged
DUMP_WAIT = 2.0  # seconds a response waits for its findings, when flows are saved (-w), before it goes on


class ProxySession:
    """What the addons share: the settings, the pipeline backend, and the flows in flight."""

    def __init__(self) -> None:
        # What the lint pipeline runs with: the configuration file, then the webexlint_* options.
        self.settings = Settings(console=True, fault=os.environ.get(FAULT_ENV, ""))
        self.offload = True
        self.backend: InProcessBackend | WorkerBackend | None = None
        self.annotation_sink: Callable[[Annotation, bool], None] = lambda annotation, later: None
        # By flow id, for annotations that arrive from the worker after the hook returned.
        self.live: weakref.WeakValueDictionary[str, http.HTTPFlow] = weakref.WeakValueDictionary()
        self.linted: weakref.WeakSet[http.HTTPFlow] = weakref.WeakSet()
        self.pending: weakref.WeakKeyDictionary[http.HTTPFlow, PendingRewrite] = weakref.WeakKeyDictionary()
        self.saving = False  # flows are written to a file (mitmdump -w): responses wait for their findings
        self.answers: weakref.WeakKeyDictionary[http.HTTPFlow, PendingRewrite] = weakref.WeakKeyDictionary()

    def update(self, **changes: object) -> None:
        """New settings from an addon's configure(); a bad value is an OptionsError naming the option."""
        settings = dataclasses.replace(self.settings, **changes)
        try:
            if self.backend is not None:
                self.backend.configure(settings)
        except SettingsError as error:
            raise exceptions.OptionsError(str(error)) from None
        self.settings = settings

    def ensure_backend(self) -> InProcessBackend | WorkerBackend:
        if self.backend is None:
            self.backend = self._start_backend()
        return self.backend

    def _start_backend(self) -> InProcessBackend | WorkerBackend:
        sink = self._deliver
        if self.offload and not getattr(sys, "frozen", False):
            try:
                return WorkerBackend(self.settings, sink, asyncio.get_running_loop())
            except (RuntimeError, OSError) as error:  # no running loop (tests), or no process to spawn
                logger.info("webexlint: linting inside mitmdump (%s)", error)
        return InProcessBackend(self.settings, sink)

    def stop_backend(self) -> None:
        if self.backend is not None:
            self.backend.close()
            self.backend = None

    def _deliver(self, annotation: Annotation, later: bool) -> None:
        self.annotation_sink(annotation, later)

    def internal_error(self, flow: http.HTTPFlow, where: str, error: Exception) -> None:
        text = f"{type(error).__name__}: {error}"
        try:
            self.ensure_backend().internal_error(flow.id, where, text, client_address(flow))
        except Exception:  # noqa: BLE001 (reporting must not break the flow either)
            logger.warning("webexlint: internal error in %s, and it could not be logged", where)

    def not_linted(self, flow: http.HTTPFlow, direction: str, reason: str) -> None:
        logger.info("webexlint: %s of flow %s not linted: %s", direction, flow.id, reason)
        self.ensure_backend().not_linted(flow.id, direction, reason, client_address(flow))

    def inject_fault(self, point: str) -> None:
        if self.settings.fault == point:
            raise RuntimeError(f"fault injected at {point}")


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


def body_of(message: http.Message, content_encoding: str | None = None) -> bytes | None:
    """The decoded body, at most the linter's bound and a byte; None when there is no body at all.

    Raises UndecodableBody: the hook logs a not_linted event and the flow passes as it is.
    """
    raw = message.raw_content
    if raw is None:
        return None
    if not raw:
        return b""
    if content_encoding is None:
        content_encoding = message.headers.get("content-encoding", "")
    return decoded_body(raw, content_encoding or "")


_WANTED_HEADERS = (b"content-encoding", b"content-type", b"user-agent")


def header_values(headers: http.Headers) -> dict[bytes, str]:
    """Content-Encoding, Content-Type and User-Agent in one pass over the fields, each as
    headers.get(name) gives it (repeated fields joined by ", "): every get() is its own pass."""
    found: dict[bytes, list[bytes]] = {}
    for name, value in headers.fields:
        key = name.lower()
        if key in _WANTED_HEADERS:
            found.setdefault(key, []).append(value)
    return {key: ", ".join(value.decode("utf-8", "surrogateescape") for value in values)
            for key, values in found.items()}


def seen(flow: http.HTTPFlow, direction: str, message: http.Message, data: bytes,
         headers: dict[bytes, str] | None = None) -> Observed:
    if headers is None:
        headers = header_values(message.headers)
    user_agent = headers.get(b"user-agent") if direction == "request" else header_values(
        flow.request.headers).get(b"user-agent")
    return Observed(data, direction, PROXY_SOURCE, flow.id, message.timestamp_start, client_address(flow),
                    user_agent, charset_of(headers.get(b"content-type")))


def load_schemas(settings: Settings) -> None:
    """With validation on, load the XSD bundle now: a broken or missing one is a start-up error."""
    if not settings.validating:
        return
    from proxy_addon.schema.validation import SchemaValidator  # noqa: PLC0415 (the schemas cost only when asked for)

    try:
        SchemaValidator(settings.schema_dir).load()
    except ValueError as error:  # SchemaLoadError names the file and the problem
        option = "webexlint_schema_dir" if settings.schema_dir else "webexlint_validate"
        raise exceptions.OptionsError(f"{option}: {error}") from None


def lint_settings(options) -> Settings:
    """The lint settings: the configuration file (webexlint_config, else the nearest from the current
    folder), then the webexlint_* options; raises OptionsError naming the option."""
    try:
        path = config_path(options.webexlint_config, "webexlint_config")
        config = read_config(path)
    except SettingsError as error:
        text = str(error)
        raise exceptions.OptionsError(text if text.startswith("webexlint_config") else f"webexlint_config: {text}") from None
    try:
        settings = Settings().merged(config, options_layer(options))
        if not settings.rule_packs:  # with team packs, load_rule_packs checks against their rules too
            from proxy_addon.lint.ruleset import builtin_rules  # noqa: PLC0415

            check_selectors(settings, builtin_rules().by_id)
        return settings
    except SettingsError as error:
        raise exceptions.OptionsError(str(error)) from None


LINT_FIELDS = (*dict.fromkeys(LINT_OPTIONS.values()), "source")


def load_rule_packs(settings: Settings) -> None:
    """Team rule packs are read here first, so a broken one is a start-up error naming the file."""
    from proxy_addon.lint.ruleset import RuleError  # noqa: PLC0415

    try:
        make_linter(settings)
    except SettingsError as error:  # a selector that matches no rule: the error names the option
        raise exceptions.OptionsError(str(error)) from None
    except (RuleError, ValueError, OSError) as error:
        raise exceptions.OptionsError(f"webexlint_rule_pack: {error}") from None


class WebexLint:
    """Hands serv:message requests and responses (by path or by content) to the lint pipeline."""

    def __init__(self, session: ProxySession):
        self.session = session

    def load(self, loader) -> None:
        loader.add_option("webexlint_ci_site", Sequence[str], [],
                          "A Webex site that is CI-enabled (unified); repeat for several. Sites are also "
                          "learned from traffic (GetSiteType, 030098 failures).")
        loader.add_option("webexlint_api_version", str, "",
                          "XML API version of the service, e.g. 42.11.1, 39.11 or 11.0 SP13 (default: the "
                          "newest release in rules/releases.yaml). A GetAPIVersion answer overrides it per site.")
        loader.add_option("webexlint_site_id", Sequence[str], [],
                          "Map a siteID to its siteName as ID=NAME, so a rewrite can replace the deprecated "
                          "siteID; repeat for several.")
        loader.add_option("webexlint_validate", bool, False,
                          "Also validate messages against the bundled XSDs (WX007, WX008).")
        loader.add_option("webexlint_schema_dir", str, "",
                          "Validate against the XSD bundle in this folder instead of the bundled one "
                          "(implies webexlint_validate).")
        loader.add_option("webexlint_select", str, "",
                          "Report only these rules: comma-separated ids or prefixes, e.g. WX1,WX401. Replaces "
                          "the configuration file's select (default: the file's, else every rule).")
        loader.add_option("webexlint_ignore", str, "",
                          "Leave out these rules: comma-separated ids or prefixes, e.g. WX303. Added to the "
                          "configuration file's ignore.")
        loader.add_option("webexlint_severity", Sequence[str], [],
                          "Override a rule's severity as RULE=LEVEL (WX201=error; error, warning or info); "
                          "repeat for several. Added to the configuration file's severity table.")
        loader.add_option("webexlint_rule_pack", Sequence[str], [],
                          "Also load this team rule pack (a YAML file); repeat for several. Added to the "
                          "configuration file's rule-packs.")
        loader.add_option("webexlint_config", str, "",
                          "The configuration file (webex-xml-lint.toml, or pyproject.toml with "
                          "[tool.webex-xml-lint]); default: the nearest one at or above the current folder. "
                          "The webexlint_* options apply on top of it.")
        loader.add_option("webexlint_offload", bool, True,
                          "Lint in a worker process, off mitmproxy's event loop (findings are logged a few "
                          "milliseconds after the flow passed). Off: lint inside mitmdump, before the flow "
                          "moves on.")

    def configure(self, updated: set[str]) -> None:
        options = ctx.options
        if "webexlint_offload" in updated and options.webexlint_offload != self.session.offload:
            self.session.offload = options.webexlint_offload
            self.session.stop_backend()  # the next flow starts the other kind
        if updated & {*LINT_OPTIONS, "webexlint_config"}:
            settings = lint_settings(options)
            previous = self.session.settings
            if updated & {"webexlint_validate", "webexlint_schema_dir"} or (
                    settings.validating, settings.schema_dir) != (previous.validating, previous.schema_dir):
                load_schemas(settings)
            if settings.rule_packs and (settings.rule_packs, settings.select, settings.ignore) != (
                    previous.rule_packs, previous.select, previous.ignore):
                load_rule_packs(settings)
            self.session.update(**{name: getattr(settings, name) for name in LINT_FIELDS})

    def running(self) -> None:
        self.session.ensure_backend()  # start the worker now, not on the first flow

    @fail_open
    def request(self, flow: http.HTTPFlow) -> None:
        request = flow.request
        if not is_xml_api(request.path, request.raw_content):
            return
        headers = header_values(request.headers)
        try:
            data = body_of(request, headers.get(b"content-encoding", ""))
        except UndecodableBody as error:
            self.session.not_linted(flow, "request", str(error))
            return
        if data is None or (not data and request.method != "POST"):
            return  # an empty POST is linted: WX001 says there is no message
        backend = self.session.ensure_backend()
        self.session.live[flow.id] = flow
        self.session.linted.add(flow)
        message = seen(flow, "request", request, data, headers)
        if self.session.settings.rewriting:
            self.session.pending[flow] = backend.request_rewrite(message)
        else:
            backend.submit(message)

    @fail_open
    def response(self, flow: http.HTTPFlow) -> None:
        response = flow.response
        linted = flow in self.session.linted
        if not linted and not is_xml_api(None, response.raw_content):
            return
        backend = self.session.ensure_backend()
        headers = header_values(response.headers)
        try:
            data = body_of(response, headers.get(b"content-encoding", ""))
        except UndecodableBody as error:
            self.session.not_linted(flow, "response", str(error))
            return
        if not data:
            if linted:
                backend.forget(flow.id)
            return
        self.session.live[flow.id] = flow
        if self.session.saving:
            self.session.answers[flow] = backend.submit_and_wait(seen(flow, "response", response, data, headers))
        else:
            backend.submit(seen(flow, "response", response, data, headers))

    @fail_open
    def error(self, flow: http.HTTPFlow) -> None:
        if flow in self.session.linted and self.session.backend is not None:
            self.session.backend.forget(flow.id)

    def done(self) -> None:
        self.session.stop_backend()


class FindingsLog:
    """Where the pipeline writes about each finding (and rewrite, learned fact, error): one readable line
    on the console, and one JSON line in the findings log when there is one."""

    def __init__(self, session: ProxySession):
        self.session = session

    def load(self, loader) -> None:
        loader.add_option("webexlint_findings_log", str, "",
                          "Also write one JSON line per finding and event: to a file (appended to), or - for "
                          "standard output instead of the readable lines. Empty (the default): no JSON log.")
        loader.add_option("webexlint_console", bool, True,
                          "Print one readable line per finding and event on standard output, as `webex-xml-lint "
                          "check` prints findings plus client and site (not when webexlint_findings_log is -).")

    def configure(self, updated: set[str]) -> None:
        if "webexlint_console" in updated:
            self.session.update(console=ctx.options.webexlint_console)
        if "webexlint_findings_log" not in updated:
            return
        target = ctx.options.webexlint_findings_log
        if target not in ("", "-"):
            try:
                EventLogFile(target).close()  # it must open here, not only later in the worker
            except OSError as error:
                raise exceptions.OptionsError(f"webexlint_findings_log: cannot open {target}: {error.strerror}") from None
        self.session.update(findings_log=target)


class AuditStore:
    """With webexlint_db, the pipeline records every message, its findings and the CI sites in the store."""

    def __init__(self, session: ProxySession):
        self.session = session

    def load(self, loader) -> None:
        loader.add_option("webexlint_db", str, "",
                          "Also record every message and finding in this audit store (a SQLite path or a "
                          "postgresql:// URL), the one `webex-xml-lint audit` and `inventory` read.")

    def configure(self, updated: set[str]) -> None:
        if "webexlint_db" not in updated:
            return
        url = ctx.options.webexlint_db
        if url:
            try:
                # Checked now (a bad URL is a start-up error), opened and migrated only by the process
                # that runs the lint pipeline and writes the store: the lint worker, by default.
                check_audit_store(url)
            except StoreUnavailable as error:
                raise exceptions.OptionsError(f"webexlint_db: {error}") from None
        self.session.update(db=url)


class Rewrite:
    """With webexlint_rewrite, sends requests upstream with the safe fixes applied (unsafe ones if asked)."""

    def __init__(self, session: ProxySession):
        self.session = session

    def load(self, loader) -> None:
        loader.add_option("webexlint_rewrite", bool, False,
                          "Rewrite requests with the safe fixes: drop or replace the deprecated siteID, drop "
                          "HQ/HD video options, drop the SetUser fields CI sites ignore.")
        loader.add_option("webexlint_rewrite_unsafe", bool, False,
                          "Also apply the unsafe fixes (truncate over-long descriptions); implies webexlint_rewrite.")
        loader.add_option("webexlint_rewrite_learned", bool, False,
                          "Also apply fixes that only a fact learned from traffic calls for (a site learned as CI "
                          "from an answer); by default only configured facts (webexlint_ci_site) drive a rewrite.")

    def configure(self, updated: set[str]) -> None:
        if updated & {"webexlint_rewrite", "webexlint_rewrite_unsafe", "webexlint_rewrite_learned"}:
            self.session.update(rewrite=ctx.options.webexlint_rewrite,
                                rewrite_unsafe=ctx.options.webexlint_rewrite_unsafe,
                                rewrite_learned=ctx.options.webexlint_rewrite_learned)

    async def request(self, flow: http.HTTPFlow) -> None:
        pending = self.session.pending.pop(flow, None)
        if pending is None:
            return
        try:
            rewritten = await pending.result(REWRITE_TIMEOUT)
            if rewritten is None:
                return
            self.session.inject_fault("rewrite")
            flow.request.content = rewritten.data  # the one place the proxy changes traffic
            self.session.backend.rewrite_applied(flow.id)
        except Exception as error:  # noqa: BLE001 (fail open: the original goes upstream)
            if isinstance(error, TimeoutError):
                error = TimeoutError(f"no rewrite within {REWRITE_TIMEOUT:.0f}s; the original was sent")
            self.session.internal_error(flow, "Rewrite.request", error)


class FlowAnnotations:
    """Marks flows with findings (error vs warning) and writes a one-line comment, for mitmweb filters."""

    def __init__(self, session: ProxySession):
        self.session = session
        session.annotation_sink = self.apply

    def apply(self, annotation: Annotation, later: bool) -> None:
        flow = self.session.live.get(annotation.flow_id)
        if flow is None:
            return
        if annotation.summary is not None:
            flow.metadata[METADATA_KEY] = annotation.summary
        if flow.marked in OUR_MARKS:  # never overwrite a mark the user set
            flow.marked = annotation.mark
        # Ours to replace: a comment we wrote (remembered with the flow), or one of earlier versions.
        ours = not flow.comment or flow.comment == flow.metadata.get(COMMENT_KEY) or flow.comment.startswith("webexlint ")
        if annotation.comment and ours:
            flow.comment = annotation.comment
            flow.metadata[COMMENT_KEY] = annotation.comment
        if later and ctx.master.addons.get("view") is not None:
            # The hook has returned: tell mitmweb's (or mitmproxy's console) view the flow changed.
            # Only a view listens to `update`; in mitmdump the event would cost a pass over every
            # addon for nothing (about a tenth of the addon's cost on the event loop).
            ctx.master.addons.trigger(UpdateHook([flow]))


class SavedFlowFindings:
    """When mitmproxy saves flows (`mitmdump -w`, save_stream_file), a response waits, at most DUMP_WAIT
    seconds, for its findings, so the saved flow carries its marks, comment and metadata.

    The lint worker answers a few milliseconds after the hook, and mitmproxy's Save addon writes the
    flow as soon as every response hook has run; the script's addons run before Save, and an async
    hook is awaited, so waiting here is what puts the answer's findings into the file. Without
    saving, nothing waits: the findings arrive in mitmweb when they are ready."""

    def __init__(self, session: ProxySession):
        self.session = session

    def configure(self, updated: set[str]) -> None:
        if "save_stream_file" in updated:
            self.session.saving = bool(getattr(ctx.options, "save_stream_file", None))

    async def response(self, flow: http.HTTPFlow) -> None:
        pending = self.session.answers.pop(flow, None)
        if pending is None:
            return
        try:
            await pending.result(DUMP_WAIT)
        except TimeoutError:
            logger.warning("webexlint: the findings of flow %s took over %.0f s; it was saved without those of "
                           "its response", flow.id, DUMP_WAIT)
        except Exception as error:  # noqa: BLE001 (fail open: the flow is saved as it is)
            self.session.internal_error(flow, "SavedFlowFindings.response", error)


def make_addons() -> list:
    """The addons, sharing one session; registers the Webex XML contentview."""
    register_contentview()
    session = ProxySession()
    return [WebexLint(session), FindingsLog(session), AuditStore(session), Rewrite(session), FlowAnnotations(session),
            SavedFlowFindings(session)]

