"""The webex-xml-lint mitmproxy addons: lint Webex XML API traffic live, learn, optionally rewrite.

    mitmdump -s proxy_addon/addon.py [--set webexlint_rewrite=true] ...   (addon.py loads these)
    webex-xml-lint proxy --listen-port 8080 [--mode reverse:https://acme.webex.com] ...

One small addon per concern, as mitmproxy's own are: each declares its options in load(), checks
them in configure() (a bad value is an OptionsError naming the option) and keeps the state its hooks
use. LintWorker runs the lint pipeline (mitm/pipeline.py) in a worker process, or inside mitmdump;
LintOptions resolves the lint settings (the configuration file, then the webexlint_* options) once
per change; FindingsLog and AuditStore own where findings go; WebexLint hands each serv:message
request and response (by path or by content, among the flows webexlint_filter selects) to the
pipeline; Rewrite applies the safe fixes when asked; FlowAnnotations marks and comments flows;
SavedFlowFindings holds a saved flow until its findings are in. The settings all of them feed are
sent to the pipeline as one Settings (ProxySession), which builds its linter from them once.

Every hook fails open: an internal error is logged as an event and the flow passes untouched.
Without rewriting, no body is ever assigned, so upstream gets exactly the client's bytes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import math
import os
import sys
import weakref
from collections.abc import Callable, Coroutine, Sequence

from mitmproxy import ctx, exceptions, flowfilter, http
from mitmproxy.hooks import UpdateHook

from proxy_addon.audit.recorder import StoreUnavailable, check_audit_store
from proxy_addon.core.charsets import charset_of
from proxy_addon.exchange.observed import PROXY_SOURCE, Observed
from proxy_addon.exchange.sniff import is_xml_api
from proxy_addon.mitm.backends import LINT_BUDGET, InProcessBackend, PendingRewrite, WorkerBackend
from proxy_addon.mitm.bodies import LINT_BYTES, UndecodableBody, decoded_body
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
    """What the addons share: the one Settings the lint pipeline runs with (each addon updates its own
    part), and the backend the pipeline runs in."""

    def __init__(self) -> None:
        self.settings = Settings(console=True, fault=os.environ.get(FAULT_ENV, ""))
        self.offload = True
        self.lint_budget = LINT_BUDGET
        # The Linter built while checking the team rule packs, for a pipeline inside mitmdump: built
        # once. A worker builds its own from the settings it is sent.
        self.linter = None
        self.backend: InProcessBackend | WorkerBackend | None = None
        self.annotation_sink: Callable[[Annotation, bool], None] = lambda annotation, later: None

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
                return WorkerBackend(self.settings, sink, asyncio.get_running_loop(), budget=self.lint_budget)
            except (RuntimeError, OSError) as error:  # no running loop (tests), or no process to spawn
                logger.info("webexlint: linting inside mitmdump (%s)", error)
        return InProcessBackend(self.settings, sink, self.linter)

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


def upstream_of(request: http.Request) -> str:
    """The server the flow goes to, "host:port" ("[::1]:8443" for an IPv6 address): in reverse mode,
    the upstream mitmproxy forwards to."""
    host = request.host
    return f"[{host}]:{request.port}" if ":" in host else f"{host}:{request.port}"


def header_values(headers: http.Headers) -> tuple[str, str | None, str | None]:
    """(Content-Encoding, Content-Type, User-Agent) in one pass over the fields, each as
    headers.get(name) gives it (repeated fields joined by ", "): every get() is a pass of its own."""
    encoding: list[bytes] = []
    content_type: list[bytes] = []
    agent: list[bytes] = []
    for name, value in headers.fields:
        if len(name) in (10, 12, 16):  # the lengths of the three names: most fields stop here
            key = name.lower()
            if key == b"content-encoding":
                encoding.append(value)
            elif key == b"content-type":
                content_type.append(value)
            elif key == b"user-agent":
                agent.append(value)
    return _joined(encoding) or "", _joined(content_type), _joined(agent)


def _joined(values: list[bytes]) -> str | None:
    if not values:
        return None
    return ", ".join(value.decode("utf-8", "surrogateescape") for value in values)


def body_of(raw: bytes | None, content_encoding: str) -> bytes | None:
    """The body without its Content-Encoding, at most the linter's bound and a byte; None when there
    is no body at all. An unencoded body is the very bytes mitmproxy holds (no copy under the bound).

    Raises UndecodableBody: the hook logs a not_linted event and the flow passes as it is.
    """
    if raw is None:
        return None
    if not content_encoding or not raw:
        return raw[:LINT_BYTES]
    return decoded_body(raw, content_encoding)


def stdout_discarded() -> bool:
    """Whether standard output (which the lint worker inherits) goes to /dev/null."""
    try:
        out, null = os.fstat(sys.stdout.fileno()), os.stat(os.devnull)
    except (OSError, ValueError, AttributeError):  # no real file behind sys.stdout (captured, closed)
        return False
    return (out.st_dev, out.st_ino, out.st_rdev) == (null.st_dev, null.st_ino, null.st_rdev)


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


def load_rule_packs(settings: Settings):
    """Team rule packs are read here first, so a broken one is a start-up error naming the file;
    returns the Linter they make."""
    from proxy_addon.lint.ruleset import RuleError  # noqa: PLC0415

    try:
        return make_linter(settings)
    except SettingsError as error:  # a selector that matches no rule: the error names the option
        raise exceptions.OptionsError(str(error)) from None
    except (RuleError, ValueError, OSError) as error:
        raise exceptions.OptionsError(f"webexlint_rule_pack: {error}") from None


# -- the addons ------------------------------------------------------------------------------------

class LintWorker:
    """Where the lint pipeline runs (webexlint_offload): a worker process, started when mitmproxy
    runs and stopped (after it drained) when it is done; or inside mitmdump."""

    def __init__(self, session: ProxySession):
        self.session = session

    def load(self, loader) -> None:
        loader.add_option("webexlint_offload", bool, True,
                          "Lint in a worker process, off mitmproxy's event loop (findings are logged a few "
                          "milliseconds after the flow passed). Off: lint inside mitmdump, before the flow "
                          "moves on.")
        # A text: mitmproxy's --set cannot parse a float option.
        loader.add_option("webexlint_lint_budget", str, f"{LINT_BUDGET:g}",
                          "Seconds one message may keep the lint worker busy; past it the worker is restarted "
                          "and the message logged as not linted (a rewrite waiting on it goes upstream "
                          "unchanged), so no message holds the others' findings. 0: no limit.")

    def configure(self, updated: set[str]) -> None:
        if "webexlint_lint_budget" in updated:
            text = ctx.options.webexlint_lint_budget
            try:
                budget = float(text)
            except ValueError:
                budget = math.nan
            if not math.isfinite(budget) or budget < 0:
                raise exceptions.OptionsError(f"webexlint_lint_budget: {text[:40]!r} is not a number of seconds "
                                              "(0 or more; 0: no limit)")
            self.session.lint_budget = budget
            if isinstance(self.session.backend, WorkerBackend):
                self.session.backend.set_budget(budget)
        if "webexlint_offload" in updated and ctx.options.webexlint_offload != self.session.offload:
            self.session.offload = ctx.options.webexlint_offload
            self.session.stop_backend()  # the next flow starts the other kind

    def running(self) -> None:
        self.session.ensure_backend()  # start the worker now, not on the first flow

    def done(self) -> None:
        self.session.stop_backend()


class LintOptions:
    """The lint settings: the configuration file, then the webexlint_* lint options; resolved and
    checked once per change (schemas and team rule packs are loaded here, so a broken one stops
    start-up)."""

    def __init__(self, session: ProxySession):
        self.session = session

    def load(self, loader) -> None:
        loader.add_option("webexlint_ci_site", Sequence[str], [],
                          "A Webex site that is CI-enabled (unified); repeat for several. Sites are also "
                          "learned from traffic (GetSiteType, 030098 failures).")
        loader.add_option("webexlint_control_hub_site", Sequence[str], [],
                          "A Webex site managed in Control Hub (users come from Control Hub: CreateUser and "
                          "SetUser ignore password and active, SetUser cannot change name, phones or e-mail: "
                          "WX203-WX206); repeat for several.")
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

    def configure(self, updated: set[str]) -> None:
        if not updated & {*LINT_OPTIONS, "webexlint_config"}:
            return
        settings = lint_settings(ctx.options)
        previous = self.session.settings
        if updated & {"webexlint_validate", "webexlint_schema_dir"} or (
                settings.validating, settings.schema_dir) != (previous.validating, previous.schema_dir):
            load_schemas(settings)
        if settings.rule_packs and (settings.rule_packs, settings.select, settings.ignore) != (
                previous.rule_packs, previous.select, previous.ignore):
            self.session.linter = load_rule_packs(settings)
        elif not settings.rule_packs:
            self.session.linter = None
        self.session.update(**{name: getattr(settings, name) for name in LINT_FIELDS})


class WebexLint:
    """Hands serv:message requests and responses (by path or by content) to the lint pipeline;
    webexlint_filter narrows the flows it looks at, as save_stream_filter does for saving.

    The hooks cost what mitmproxy's own addons cost: "not Webex" is decided from the path and the
    body's first bytes (nothing decoded), the headers are read in one pass, and the body goes to the
    worker as the very bytes mitmproxy holds."""

    def __init__(self, session: ProxySession, rewrite: Rewrite, saved: SavedFlowFindings,
                 annotations: FlowAnnotations):
        self.session = session
        self.rewrite = rewrite
        self.saved = saved
        self.annotations = annotations
        self.filter: flowfilter.TFilter | None = None
        # The flows whose request was handed over, with what their response shares with it (client,
        # user agent, upstream): read once, at the request.
        self.linted: weakref.WeakKeyDictionary[http.HTTPFlow, tuple] = weakref.WeakKeyDictionary()

    def load(self, loader) -> None:
        loader.add_option("webexlint_filter", str, "",
                          "Lint only the flows this mitmproxy filter expression matches (e.g. '~d webex.com', "
                          "'!~h X-Test'); among them, Webex XML API messages as always. Empty (the default): "
                          "every flow. Filters that read bodies (~b, ~bq, ~bs) make mitmproxy decode them.")

    def configure(self, updated: set[str]) -> None:
        if "webexlint_filter" in updated:
            spec = ctx.options.webexlint_filter
            try:
                self.filter = flowfilter.parse(spec) if spec else None
            except ValueError as error:
                raise exceptions.OptionsError(f"webexlint_filter: {error}") from None

    @fail_open
    def request(self, flow: http.HTTPFlow) -> None:
        request = flow.request
        raw = request.raw_content
        if not is_xml_api(request.path, raw) or (self.filter is not None and not self.filter(flow)):
            return
        content_encoding, content_type, user_agent = header_values(request.headers)
        try:
            data = body_of(raw, content_encoding)
        except UndecodableBody as error:
            self.session.not_linted(flow, "request", str(error))
            return
        if data is None or (not data and request.method != "POST"):
            return  # an empty POST is linted: WX001 says there is no message
        backend = self.session.ensure_backend()
        shared = (client_address(flow), user_agent, upstream_of(request))
        self.linted[flow] = shared
        annotate = self._annotated(flow, backend)
        message = Observed(data, "request", PROXY_SOURCE, flow.id, request.timestamp_start, shared[0], shared[1],
                           charset_of(content_type), shared[2])
        if self.rewrite.wanted:
            self.rewrite.expect(flow, backend.submit(message, reply=True, annotate=annotate))
        else:
            backend.submit(message, annotate=annotate)

    @fail_open
    def response(self, flow: http.HTTPFlow) -> None:
        response = flow.response
        raw = response.raw_content
        shared = self.linted.pop(flow, None)
        if shared is None and (not is_xml_api(None, raw) or (self.filter is not None and not self.filter(flow))):
            return
        backend = self.session.ensure_backend()
        content_encoding, content_type, _ = header_values(response.headers)
        try:
            data = body_of(raw, content_encoding)
        except UndecodableBody as error:
            self.session.not_linted(flow, "response", str(error))
            return
        if not data:
            if shared is not None:
                backend.forget(flow.id)
            return
        if shared is None:  # an answer recognised by its body alone
            request = flow.request
            shared = (client_address(flow), header_values(request.headers)[2], upstream_of(request))
        annotate = self._annotated(flow, backend)
        message = Observed(data, "response", PROXY_SOURCE, flow.id, response.timestamp_start, shared[0], shared[1],
                           charset_of(content_type), shared[2])
        if self.saved.wanted:
            self.saved.expect(flow, backend.submit(message, reply=True, annotate=annotate))
        else:
            backend.submit(message, annotate=annotate)

    def _annotated(self, flow: http.HTTPFlow, backend: InProcessBackend | WorkerBackend) -> bool:
        """Whether the flow gets its marks, comment and summary: always from a pipeline inside mitmdump
        (they are there before the hook returns, for every later addon); from the worker, which
        answers after the flow has moved on, only when someone will see them: a view (mitmweb, the
        mitmproxy console) or a saved dump. In plain mitmdump nobody does, and the answers would cost
        its event loop a read, an unpickling and a flow update per message."""
        wanted = not backend.offloaded or self.saved.wanted or self.annotations.shown()
        if wanted:
            self.annotations.watch(flow)
        return wanted

    @fail_open
    def error(self, flow: http.HTTPFlow) -> None:
        if self.linted.pop(flow, None) is not None and self.session.backend is not None:
            self.session.backend.forget(flow.id)


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
            # Lines written to /dev/null are read by nobody: the worker does not render them at all.
            self.session.update(console=ctx.options.webexlint_console and not stdout_discarded())
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
    """With webexlint_rewrite, sends requests upstream with the safe fixes applied (unsafe ones if asked).

    WebexLint asks the pipeline for each request's rewrite when `wanted`; this addon's request hook
    (after WebexLint's) waits for it, at most REWRITE_TIMEOUT."""

    def __init__(self, session: ProxySession):
        self.session = session
        self.wanted = False
        self.pending: weakref.WeakKeyDictionary[http.HTTPFlow, PendingRewrite] = weakref.WeakKeyDictionary()

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
            self.wanted = self.session.settings.rewriting

    def expect(self, flow: http.HTTPFlow, pending: PendingRewrite) -> None:
        self.pending[flow] = pending

    def request(self, flow: http.HTTPFlow) -> Coroutine | None:
        # Not a coroutine function: mitmproxy awaits what a hook returns, and most flows have nothing
        # to wait for, so they cost no coroutine.
        if not self.pending:
            return None
        pending = self.pending.pop(flow, None)
        return None if pending is None else self._apply(flow, pending)

    async def _apply(self, flow: http.HTTPFlow, pending: PendingRewrite) -> None:
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
        # By flow id: the flows whose findings may still arrive (from the worker, after the hook returned).
        self.live: weakref.WeakValueDictionary[str, http.HTTPFlow] = weakref.WeakValueDictionary()
        session.annotation_sink = self.apply

    def watch(self, flow: http.HTTPFlow) -> None:
        self.live[flow.id] = flow

    @staticmethod
    def shown() -> bool:
        """Whether a view shows flows as they change (mitmweb, the mitmproxy console; not mitmdump)."""
        return ctx.master.addons.get("view") is not None

    def apply(self, annotation: Annotation, later: bool) -> None:
        flow = self.live.get(annotation.flow_id)
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
        if later and self.shown():
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
        self.wanted = False  # flows are being saved
        self.answers: weakref.WeakKeyDictionary[http.HTTPFlow, PendingRewrite] = weakref.WeakKeyDictionary()

    def configure(self, updated: set[str]) -> None:
        if "save_stream_file" in updated:
            self.wanted = bool(getattr(ctx.options, "save_stream_file", None))

    def expect(self, flow: http.HTTPFlow, pending: PendingRewrite) -> None:
        self.answers[flow] = pending

    def response(self, flow: http.HTTPFlow) -> Coroutine | None:
        if not self.answers:  # as Rewrite.request: a coroutine only for a flow that waits
            return None
        pending = self.answers.pop(flow, None)
        return None if pending is None else self._wait(flow, pending)

    async def _wait(self, flow: http.HTTPFlow, pending: PendingRewrite) -> None:
        try:
            await pending.result(DUMP_WAIT)
        except TimeoutError:
            logger.warning("webexlint: the findings of flow %s took over %.0f s; it was saved without those of "
                           "its response", flow.id, DUMP_WAIT)
        except Exception as error:  # noqa: BLE001 (fail open: the flow is saved as it is)
            self.session.internal_error(flow, "SavedFlowFindings.response", error)


def make_addons() -> list:
    """The addons, sharing one session, in hook order (WebexLint's request and response hooks run
    before those of Rewrite and SavedFlowFindings, which wait for what it asked); registers the
    Webex XML contentview."""
    register_contentview()
    session = ProxySession()
    rewrite, saved, annotations = Rewrite(session), SavedFlowFindings(session), FlowAnnotations(session)
    return [LintWorker(session), LintOptions(session), FindingsLog(session), AuditStore(session),
            WebexLint(session, rewrite, saved, annotations), rewrite, annotations, saved]
