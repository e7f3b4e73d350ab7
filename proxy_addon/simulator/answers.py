"""What the simulated Webex XML service answers to one request, as the release notes document it.

Pure and deterministic: bytes in, bytes out. The HTTP side lives in proxy_addon/simulator.py.
Requests are read with the hardened parser (proxy_addon.core.parsing) like all other traffic.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from xml.sax.saxutils import escape

from lxml import etree

from proxy_addon.core.message import Message, build_message, child, text_of
from proxy_addon.core.namespaces import COMMON_NS, SERVICE_NS, WELL_KNOWN_PREFIXES
from proxy_addon.core.parsing import parse_document
from proxy_addon.core.versions import Version, parse_version
from proxy_addon.lint.checks import parse_webex_date

XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
DEFAULT_API_VERSION = "39.11.0"
PMR_IMAGE_MAX_BYTES = 5_000_000  # "5 MB" as written, the reading WX405 documents (rules/limits.yaml)
# package -> the prefix the service uses for it in responses (seen in the release-note examples).
RESPONSE_PREFIXES = {
    "user": "use", "meeting": "meet", "ep": "ep", "event": "event", "trainingsession": "train",
    "site": "ns1", "history": "history", "attendee": "att", "meetingtype": "mtgtype",
    "session": "sess", "supportcenter": "sc", "telephony": "tel",
}
USER_MANAGEMENT = {"CreateUser", "DelUser", "ActivateUser"}
DESCRIBED_SESSIONS = {"CreateEvent", "SetEvent", "CreateTrainingSession", "SetTrainingSession"}


@dataclass(frozen=True)
class Failure:
    exception_id: str
    reason: str


# The exception texts, word for word from the release notes.
USER_MANAGEMENT_ON_CI = Failure("030098", "User management is not allowed on unified site")
RECORDING_RANGE = Failure("999999", "Exceeded maximum querying time scope of 28 days")
MODIFIED_RANGE = Failure("999999", "Maximum date range is 90 days for modified date query")
PMR_IMAGE_TOO_BIG = Failure("010100", "Size of the image being uploaded is too big. Try an image smaller "
                                      "than 5MB in size.")
CONF_NAME = Failure("060065", "Illegal input conference name. The conference name can't be empty or exceed "
                              "the maximum display character length 128.")
NOT_A_MESSAGE = Failure("999999", "The request is not a well-formed serv:message")
NO_OPERATION = Failure("999999", "The request's bodyContent has no xsi:type naming an operation")


def description_failure(limit: int) -> Failure:
    return Failure("060067", "Illegal input description. The description can't exceed the maximum display "
                             f"characters's length {limit}.")


class SimulatedService:
    """The service's answers for a set of CI (and SSO) sites at one API version."""

    def __init__(self, ci_sites: frozenset[str] | set[str] = frozenset(), api_version: str = DEFAULT_API_VERSION,
                 sso_sites: frozenset[str] | set[str] = frozenset()):
        self.ci_sites = frozenset(site.lower() for site in ci_sites)
        self.sso_sites = frozenset(site.lower() for site in sso_sites)
        self.api_version: Version = parse_version(api_version)
        self.checks: list[Callable[[Message], Failure | None]] = [
            self._user_management, self._description, self._conf_name, self._recording_range,
            self._modified_range, self._pmr_image,
        ]

    def answer(self, raw: bytes) -> bytes:
        document = parse_document(raw, path="simulator")
        if document.root is None:
            return failure_envelope(NOT_A_MESSAGE)
        message = build_message(document.root, "request")
        if message.operation is None or message.body_content is None:
            return failure_envelope(NO_OPERATION)
        for check in self.checks:
            failure = check(message)
            if failure is not None:
                return failure_envelope(failure, package=message.package)
        return success_envelope(message.package or "ep", message.operation, self._success_body(message))

    def is_ci(self, message: Message) -> bool:
        site = message.site_name or message.site_id or ""
        return site.lower() in self.ci_sites

    # -- documented failures ----------------------------------------------------------------------

    def _user_management(self, message: Message) -> Failure | None:
        if message.operation in USER_MANAGEMENT and self.is_ci(message):
            return USER_MANAGEMENT_ON_CI
        return None

    def _description_limit(self) -> int | None:
        # 1024 characters from 39.3, relaxed to 2500 in 39.8.
        if self.api_version >= (39, 8, 0):
            return 2500
        if self.api_version >= (39, 3, 0):
            return 1024
        return None

    def _description(self, message: Message) -> Failure | None:
        limit = self._description_limit()
        if message.operation not in DESCRIBED_SESSIONS or limit is None:
            return None
        description = text_of(child(child(message.body_content, "metaData"), "description"))
        if description is not None and len(description) > limit:
            return description_failure(limit)
        return None

    def _conf_name(self, message: Message) -> Failure | None:
        name_el = child(child(message.body_content, "metaData"), "confName")
        if name_el is None or self.api_version < (11, 0, 11):
            return None
        length = len(text_of(name_el) or "")
        return CONF_NAME if length == 0 or length > 128 else None

    def _recording_range(self, message: Message) -> Failure | None:
        if message.operation != "LstRecording":
            return None
        scope = child(message.body_content, "createTimeScope")
        for holder in (scope, message.body_content):
            if _days_between(holder, "createTimeStart", "createTimeEnd") > 28:
                return RECORDING_RANGE
        return None

    def _modified_range(self, message: Message) -> Failure | None:
        if message.operation != "LstsummaryUser":
            return None
        holders = [message.body_content, *message.body_content.iterchildren(etree.Element)]
        if any(_days_between(holder, "modifiedDateStart", "modifiedDateEnd") > 90 for holder in holders):
            return MODIFIED_RANGE
        return None

    def _pmr_image(self, message: Message) -> Failure | None:
        if message.operation != "UploadPMRImage":
            return None
        for element in message.body_content.iter(etree.Element):
            if _base64_size(element.text or "") > PMR_IMAGE_MAX_BYTES:
                return PMR_IMAGE_TOO_BIG
        return None

    # -- successful answers -----------------------------------------------------------------------

    def _success_body(self, message: Message) -> str:
        prefix = response_prefix(message.package or "ep")
        operation = message.operation
        if operation == "GetSiteType":
            site = (message.site_name or message.site_id or "").lower()
            return f"<{prefix}:siteType>{1 if self.is_ci(message) else 2 if site in self.sso_sites else 5}</{prefix}:siteType>"
        if operation == "GetAPIVersion":
            # apiVersion is deprecated since 39.1 but still sent; apiVer carries the real version.
            # Before 39.1 the service pack was in release (B396): V11.0.0 plus SP22 is 11.0 SP22.
            major, minor, patch = self.api_version
            if self.api_version >= (39, 1, 0):
                return (f"<{prefix}:apiVersion>WebEx XML API V11.0.0</{prefix}:apiVersion>"
                        f"<{prefix}:apiVer>{major}.{minor}.{patch}</{prefix}:apiVer>")
            body = f"<{prefix}:apiVersion>WebEx XML API V{major}.{minor}.0</{prefix}:apiVersion>"
            return body + (f"<{prefix}:release>SP{patch}</{prefix}:release>" if patch else "")
        if operation == "AuthenticateUser":
            ticket = _token("ticket", message.webex_id or "", message.site_name or "", length=48)
            return (f"<{prefix}:sessionTicket>{ticket}</{prefix}:sessionTicket>"
                    f"<{prefix}:createTime>1431725387202</{prefix}:createTime>"
                    f"<{prefix}:timeToLive>5400</{prefix}:timeToLive>")
        created = _CREATED_KEYS.get(operation)
        if created:
            key = int(_token("key", etree.tostring(message.body_content).decode(), length=12), 16) % 10**9
            return f"<{prefix}:{created}>{key}</{prefix}:{created}>"
        return ""


_CREATED_KEYS = {"CreateMeeting": "meetingkey", "CreateEvent": "sessionKey",
                 "CreateTrainingSession": "sessionkey", "CreateUser": "userId"}


def response_prefix(package: str) -> str:
    last = package.rsplit(".", 1)[-1]
    return RESPONSE_PREFIXES.get(last, last)


def _namespace_for(package: str) -> str:
    return WELL_KNOWN_PREFIXES.get(response_prefix(package)) or f"{SERVICE_NS}/{package.replace('.', '/')}"


def _envelope(package: str | None, response: str, body_content: str) -> bytes:
    declarations = f'xmlns:serv="{SERVICE_NS}" xmlns:com="{COMMON_NS}"'
    if package:
        declarations += f' xmlns:{response_prefix(package)}="{_namespace_for(package)}"'
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<serv:message {declarations}><serv:header><serv:response>{response}"
        f"</serv:response></serv:header><serv:body>{body_content}</serv:body></serv:message>"
    ).encode("utf-8")


def success_envelope(package: str, operation: str, body: str = "") -> bytes:
    response_type = f"{response_prefix(package)}:{operation[:1].lower()}{operation[1:]}Response"
    open_tag = f'<serv:bodyContent xsi:type="{response_type}" xmlns:xsi="{XSI_NS}"'
    body_content = f"{open_tag}>{body}</serv:bodyContent>" if body else f"{open_tag}/>"
    return _envelope(package, "<serv:result>SUCCESS</serv:result><serv:gsbStatus>PRIMARY</serv:gsbStatus>",
                     body_content)


def failure_envelope(failure: Failure, package: str | None = None) -> bytes:
    response = (f"<serv:result>FAILURE</serv:result><serv:reason>{escape(failure.reason)}</serv:reason>"
                f"<serv:gsbStatus>PRIMARY</serv:gsbStatus><serv:exceptionID>{failure.exception_id}</serv:exceptionID>")
    return _envelope(package, response, "<serv:bodyContent/>")


def _days_between(holder: etree._Element | None, start_name: str, end_name: str) -> float:
    start = parse_webex_date(text_of(child(holder, start_name)) or "")
    end = parse_webex_date(text_of(child(holder, end_name)) or "")
    if start is None or end is None:
        return 0.0
    return (end - start).total_seconds() / 86400


_WHITESPACE = re.compile(r"\s+")


def _base64_size(text: str) -> int:
    if len(text) * 3 // 4 <= PMR_IMAGE_MAX_BYTES:  # cheap bound before compacting a large value
        return 0
    compact = _WHITESPACE.sub("", text)
    return len(compact) * 3 // 4 - compact[-2:].count("=")


def _token(*parts: str, length: int) -> str:
    """A stable value derived from the request: the same request always gets the same answer."""
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:length]
