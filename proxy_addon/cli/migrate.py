"""`webex-xml-lint migrate INPUT...`: the REST request that replaces each Meetings XML request seen.

Reads .xml messages, folders, HAR exports and flow dumps as `check` does; for each request, prints
the REST call (method, URL, JSON body with the request's own values, credentials masked and
personal data pseudonymised), checked against Cisco's OpenAPI description, and what would not
survive the move; then the credential change each client needs. Responses are skipped.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

EXIT_CLEAN, EXIT_TODO, EXIT_ERROR = 0, 1, 2
# REST's base URL (the migration guide: https://webexapis.com/v1/).
BASE_URL = "https://webexapis.com/v1"
REPOSITORY_FILES = "repository files"

EPILOG = """exit status:
  0  every Meetings request has a REST translation and nothing in it would be lost
  1  something to do before the move: a request with no REST counterpart (or none mapped yet),
     a value over a REST limit, a field REST does not have, a value with no conversion, or an id
     to look up first
  2  an input could not be read, or the shipped mapping data is broken

Requests to operations the end of life does not affect (user management), or whose status is unknown
(site, API version), are listed, never counted as work."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG
    parser.add_argument("paths", nargs="*", metavar="INPUT",
                        help="XML messages, HAR exports (.har), mitmproxy flow dumps (mitmdump -w), or folders "
                        "(searched for all three); or none, with --db")
    parser.add_argument("--format", choices=["text", "json"], default="text",
                        help="text for people; json for tools: {requests: [{method, path, query, body, lost, ...}], "
                        "auth, summary}")
    parser.add_argument("--exit-zero", action="store_true", help="exit 0 even when something would not survive")
    parser.add_argument("--db", metavar="STORE",
                        help="plan from an audit store (SQLite file or postgresql://...) instead of captures: per "
                        "client application, the operations it calls, the REST request that replaces each, the "
                        "rules to fix first, the fields REST lacks and the auth change. Stores keep no message "
                        "bodies (by design): for request bodies and values over REST limits, give the captures")


def run(args: argparse.Namespace) -> int:
    from proxy_addon.core.text import encodable  # noqa: PLC0415
    from proxy_addon.lint.ruleset import RuleError  # noqa: PLC0415
    from proxy_addon.migration.rest import RestDataError  # noqa: PLC0415

    if args.db:
        if args.paths:
            _warn("error: give either INPUT... (captures, translated request by request) or --db STORE (a plan "
                  "from the store), not both")
            return EXIT_ERROR
        return _plan_from_store(args.db, args.format, args.exit_zero)
    if not args.paths:
        _warn("error: nothing to translate: give INPUT... (files, folders, HAR exports, flow dumps) or --db STORE")
        return EXIT_ERROR
    try:
        translator = _translator()
    except (RuleError, RestDataError) as error:
        _warn(f"error: {error}")
        return EXIT_ERROR
    errors: list[str] = []
    translations = list(_translations(args.paths, translator, errors))
    from proxy_addon.migration.auth import auth_plan, declared_schemes  # noqa: PLC0415

    plan = auth_plan([t for t in translations if t.status != "not-affected"])
    summary = _summary(translations)
    for error in errors:
        _warn(f"error: {error}")
    if args.format == "json":
        data = {"base_url": BASE_URL, "requests": [_json(t) for t in translations],
                "auth": {"openapi_declares": declared_schemes(translator.rest.security_schemes),
                         "scopes_source": translator.mapping.scopes_says,
                         "clients": [client.as_json() for client in plan]},
                "summary": summary, "attribution": translator.rest.attribution}
        # A file name with undecodable bytes holds lone surrogates: escaped, or the write would fail.
        sys.stdout.write(encodable(json.dumps(data, indent=2, ensure_ascii=False), json=True) + "\n")
    else:
        from proxy_addon.outputs.formats import visible  # noqa: PLC0415

        # Control characters (a user agent or file name with terminal escapes) show instead of acting.
        sys.stdout.write(encodable(visible(_text(translations, plan, summary, translator), keep="\n")))
    if errors:
        return EXIT_ERROR
    if not translations and not errors:
        _warn("warning: no XML API requests found under the given input(s)")
    to_do = summary["no_rest_counterpart"] + summary["not_mapped"] + summary["with_losses"]
    return EXIT_TODO if to_do and not args.exit_zero else EXIT_CLEAN


def _translator():
    from proxy_addon.lint.lifecycle import load_lifecycle  # noqa: PLC0415
    from proxy_addon.migration.mapping import load_mapping  # noqa: PLC0415
    from proxy_addon.migration.rest import load_rest_spec  # noqa: PLC0415
    from proxy_addon.migration.timezones import load_timezones  # noqa: PLC0415
    from proxy_addon.migration.translate import Translator  # noqa: PLC0415

    rest, lifecycle = load_rest_spec(), load_lifecycle()
    return Translator(load_mapping(rest=rest, lifecycle=lifecycle), rest, load_timezones(), lifecycle)


def _translations(paths: list[str], translator, errors: list[str]):
    from proxy_addon.audit.store.records import credential_kinds  # noqa: PLC0415
    from proxy_addon.core.message import build_message  # noqa: PLC0415
    from proxy_addon.core.parsing import parse_document  # noqa: PLC0415
    from proxy_addon.inputs import CaptureError, read_inputs  # noqa: PLC0415

    for item in read_inputs(paths):
        if isinstance(item, CaptureError):
            errors.append(str(item))
            continue
        for seen in item.messages:
            if seen.direction == "response":
                continue
            document = parse_document(seen.data, path=seen.source, http_charset=seen.http_charset)
            if document.root is None:
                continue  # not a message: `check` says why
            message = build_message(document.root, seen.direction)
            if message.direction != "request" or not message.operation:
                continue
            yield translator.translate(message, seen.where(), _client(seen), credential_kinds(message))


def _client(seen) -> str:
    """One client application: address and user agent; message files are "repository files", not a client."""
    if not seen.client_address and not seen.user_agent:
        return REPOSITORY_FILES
    return f"{seen.client_address or 'unknown address'} · {seen.user_agent or 'unknown user agent'}"


def _summary(translations) -> dict[str, int]:
    counts = {"requests": len(translations), "translated": 0, "survive": 0, "with_losses": 0,
              "no_rest_counterpart": 0, "not_mapped": 0, "not_affected": 0, "status_unknown": 0, "schema_errors": 0}
    for item in translations:
        if item.status == "translated":
            counts["translated"] += 1
            counts["survive" if item.survives else "with_losses"] += 1
            counts["schema_errors"] += len(item.schema_errors)
        elif item.status == "not-affected":
            counts["not_affected"] += 1
        elif item.status == "unknown":
            counts["status_unknown"] += 1
        elif item.status == "not-mapped":
            counts["not_mapped"] += 1
        else:
            counts["no_rest_counterpart"] += 1
    return counts


def _json(translation) -> dict[str, Any]:
    data = translation.as_json()
    if translation.status == "translated":
        data["url"] = _url(translation)
    return data


def _url(translation) -> str:
    from urllib.parse import urlencode  # noqa: PLC0415

    query = urlencode({k: _query_value(v) for k, v in translation.query.items()})
    return f"{BASE_URL}{translation.path}" + (f"?{query}" if query else "")


def _query_value(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _text(translations, plan, summary, translator) -> str:
    from proxy_addon.core.redaction import redact  # noqa: PLC0415
    from proxy_addon.migration.auth import declared_schemes  # noqa: PLC0415

    lines: list[str] = []
    for item in translations:
        lines.append(f"{item.where} [{item.client}]: {item.operation}")
        if item.status != "translated":
            lines.append(f"  no REST request: {item.note}" if item.status != "not-affected" else f"  {item.note}")
            lines.append("")
            continue
        for step in item.before:
            query = ", ".join(f"{k}={v}" for k, v in step["query"].items())
            lines.append(f"  first: {step['method']} {BASE_URL}{step['path']}?{query}  -> {step['gives']}")
        lines.append(f"  {item.method} {_url(item)}   ({item.summary}; pairing {item.basis})")
        if item.body is not None:
            body = json.dumps(item.body, indent=2, ensure_ascii=False)
            lines += ["  " + line for line in body.splitlines()]
        for loss in item.losses:
            lines.append(f"  lost ({loss.kind}) {loss.field}: {loss.detail}")
        lines.append("")
    if plan:
        lines.append(f"Auth changes (the OpenAPI file declares {declared_schemes(translator.rest.security_schemes)}; "
                     "scopes per the REST guide):")
        from proxy_addon.migration.auth import ADVICE  # noqa: PLC0415

        for client in plan:
            kinds = ", ".join(f"{kind} ({count})" for kind, count in client.credentials.items())
            lines.append(f"  {client.client}: {kinds}; scopes: {', '.join(sorted(client.scopes)) or 'none'}")
            for kind in client.credentials:
                lines.append(f"    {kind}: {ADVICE[kind]}")
        lines.append("")
    lines.append(f"{summary['requests']} request(s): {summary['translated']} translated "
                 f"({summary['survive']} with nothing lost, {summary['with_losses']} with something lost), "
                 f"{summary['no_rest_counterpart']} with no REST counterpart, "
                 f"{summary['not_mapped']} with a counterpart but no field mapping, "
                 f"{summary['not_affected']} not affected, {summary['status_unknown']} of unknown status.")
    return redact("\n".join(lines) + "\n")


def _plan_from_store(url: str, output: str, exit_zero: bool) -> int:
    """The plan a store can give: no bodies, so per application and operation rather than per request."""
    from pathlib import Path  # noqa: PLC0415

    from proxy_addon.audit.store import StoreError, open_store  # noqa: PLC0415
    from proxy_addon.core.text import encodable  # noqa: PLC0415
    from proxy_addon.lint.ruleset import RuleError  # noqa: PLC0415
    from proxy_addon.migration.plan import store_plan  # noqa: PLC0415
    from proxy_addon.migration.rest import RestDataError  # noqa: PLC0415

    if "://" not in url and not Path(url).is_file():
        _warn(f"error: {url}: no such store (fill one with `webex-xml-lint audit ... --db {url}`)")
        return EXIT_ERROR
    try:
        with open_store(url, read_only=True) as store:
            plan = store_plan(store, BASE_URL)
    except (StoreError, RuleError, RestDataError, OSError) as error:
        _warn(f"error: {error}")
        return EXIT_ERROR
    if output == "json":
        sys.stdout.write(encodable(json.dumps(plan.as_json(), indent=2, ensure_ascii=False), json=True) + "\n")
    else:
        from proxy_addon.core.redaction import redact  # noqa: PLC0415
        from proxy_addon.outputs.formats import visible  # noqa: PLC0415

        sys.stdout.write(encodable(visible(redact(plan.as_text()), keep="\n")))
    if not plan.requests:
        _warn("warning: the store holds no XML API requests")
    return EXIT_TODO if plan.to_do and not exit_zero else EXIT_CLEAN


def _warn(text: str) -> None:
    from proxy_addon.core.redaction import redact  # noqa: PLC0415
    from proxy_addon.core.text import encodable  # noqa: PLC0415
    from proxy_addon.outputs.formats import visible  # noqa: PLC0415

    print(f"webex-xml-lint: {encodable(visible(redact(text)))}", file=sys.stderr)
