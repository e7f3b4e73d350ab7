"""What the exchange layer learns from answers, and the rules that need it (issue 11).

Spec lines: A = xml-api-9.0-release-notes.txt, B = xml-api-11.0-to-39.11-updates.txt (`cat -n`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from proxy_addon.audit.store import open_store
from proxy_addon.core.message import build_message
from proxy_addon.core.parsing import parse_document
from proxy_addon.exchange.knowledge import (
    API_VERSION,
    SITE_TYPE,
    facts_from_answer,
    ticket_digest,
)
from proxy_addon.exchange.linter import ExchangeLinter
from proxy_addon.exchange.observed import Observed, format_time
from proxy_addon.lint.context import LintContext
from proxy_addon.lint.engine import Linter

from .audit_support import day, har_entry, write_har
from .builders import SHARED, request_xml, response_xml
from .test_exchange import checked_findings, run_cli, store_findings

SPEC = SHARED / "spec"
ACME = "<siteName>acme</siteName><webExID>admin@acme.com</webExID>"
TICKET = "AAABTVl7rcMAAUijMSZH-DdXvmqww-dbXhzNvdA6pjHPtynb9b7dF35zsn"


def old_style_version(api_version: str = "WebEx XML API V11.0.0", release: str = "SP22", extra: str = "") -> bytes:
    """B400-402 with the release element the service sent next to apiVersion before 39.1 (B396)."""
    return response_xml("GetAPIVersion", f"<ep:apiVersion>{api_version}</ep:apiVersion>"
                        f"<ep:release>{release}</ep:release>{extra}")


def site_type_answer(number: str) -> bytes:
    return response_xml("GetSiteType", f"<ep:siteType>{number}</ep:siteType>")


def spec_lines(name: str, first: int, last: int) -> str:
    return "\n".join((SPEC / name).read_text(encoding="utf-8").splitlines()[first - 1:last])


def learn(operation: str, answer: bytes, site: str = "acme", webex_id: str | None = None):
    document = parse_document(answer, path="answer")
    message = build_message(document.root, "response")
    return facts_from_answer(site, operation, message, Observed(answer, "response", time=1_700_000_000.0), webex_id)


SHARED_LINTER = Linter()  # the rule packs are read and compiled once for the module


def exchanges(pairs: list[tuple[bytes, bytes | None]], start: float = 1_700_000_000.0,
              context: LintContext | None = None, gaps: list[float] | None = None):
    """Lint request/answer pairs in order; returns each request's findings."""
    linter = ExchangeLinter(SHARED_LINTER, context or LintContext())
    found, time = [], start
    for index, (request, answer) in enumerate(pairs):
        time += (gaps or [60.0] * len(pairs))[index]
        found.append(linter.lint(Observed(request, "request", "capture.har", f"entry {index}", time)).findings)
        if answer is not None:
            linter.lint(Observed(answer, "response", "capture.har", f"entry {index}", time + 0.2))
    return found


# -- 1. versions: the service pack is in `release` before 39.1 (B396) -------------------------------

def test_an_old_style_version_answer_is_learned_with_its_service_pack():
    """B396-402: apiVersion "WebEx XML API V11.0.0" with release "SP22" is 11.0 SP22, not 11.0.0."""
    [fact] = learn("GetAPIVersion", old_style_version())
    assert (fact.kind, fact.value) == (API_VERSION, (11, 0, 22))
    assert fact.note.startswith("site acme learned as API 11.0 SP22 from GetAPIVersion (apiVersion and release)")


@pytest.mark.parametrize(("answer", "expected", "evidence"), [
    (old_style_version(extra="<ep:apiVer>39.1.0</ep:apiVer>"), (39, 1, 0), "apiVer"),  # 39.1+: apiVer wins
    (old_style_version(release="39.2.0"), (39, 2, 0), "release"),  # release re-assigned on 2019-05-01 (B396)
    (old_style_version(release="EP1"), (11, 0, 0), "apiVersion"),  # not a service pack: not read
    (old_style_version("WebEx XML API V10.0.0", "SP25"), (10, 0, 25), "apiVersion and release"),  # the corpus' answer
])
def test_which_element_gives_the_version(answer, expected, evidence):
    [fact] = learn("GetAPIVersion", answer)
    assert fact.value == expected and fact.evidence == f"GetAPIVersion ({evidence})"


def test_a_learned_service_pack_keeps_the_sp_gated_rules_on():
    """Learned as 11.0.0, WX302 (11.0 SP21) went silent for the site; as 11.0 SP22 it fires."""
    create_event = request_xml("CreateEvent", "<schedule><autoRecord>true</autoRecord></schedule>",
                               package="event", security=ACME)
    [before, _, after] = exchanges([(create_event, None),
                                    (request_xml("GetAPIVersion", package="ep", security=ACME), old_style_version()),
                                    (create_event, None)])
    assert [f.notes for f in before if f.rule == "WX302"] == [[]]
    [wx302] = [f for f in after if f.rule == "WX302"]
    assert wx302.notes[0].startswith("site acme learned as API 11.0 SP22 ")


# -- 2. site types: 1 CI, 2 and 4 SSO, 3 and 5 non-SSO (A174-178) ------------------------------------

@pytest.mark.parametrize(("number", "kind", "name"), [
    ("1", "ci", "CI"), ("2", "sso", "SSO"), ("3", "non-sso", "non-SSO"), ("4", "sso", "SSO"), ("5", "non-sso", "non-SSO"),
])
def test_every_documented_site_type_is_learned(number, kind, name):
    [fact] = learn("GetSiteType", site_type_answer(number))
    assert (fact.kind, fact.value) == (SITE_TYPE, kind)
    assert fact.note.startswith(f"site acme learned as {name} from GetSiteType (siteType {number})")


def test_an_undocumented_site_type_teaches_nothing():
    assert learn("GetSiteType", site_type_answer("9")) == []


@pytest.mark.skipif(not (SPEC / "xml-api-9.0-release-notes.txt").is_file(),
                    reason=f"no release notes at {SPEC} (a clone without ../shared)")
def test_the_spec_example_answer_is_learned():
    """A193-209: lower-case serv:bodycontent and ep:sitetype. The example lacks its `<serv:message`
    start (A193 'Example Response' is followed by the namespace declarations) and carries an HTML
    `<br>` after ep:sitetype; both are restored/removed, everything else is the spec's text."""
    text = spec_lines("xml-api-9.0-release-notes.txt", 194, 209).replace("<br>", "")
    [fact] = learn("GetSiteType", ("<serv:message\n" + text).encode())
    assert (fact.kind, fact.value) == (SITE_TYPE, "non-sso")


AUTH_SAML_AND_PASSWORD = request_xml("AuthenticateUser", "<samlResponse>PHNhbWw+</samlResponse>",
                                     security=ACME + "<password>pw-1234</password>")


def test_after_site_type_5_wx103_does_not_call_it_an_sso_site():
    """A178: 5 is non-SSO; WX103 said "this is an SSO site" after it."""
    get_type = request_xml("GetSiteType", package="ep", security="<siteName>acme</siteName>")
    [_, auth] = exchanges([(get_type, site_type_answer("5")), (AUTH_SAML_AND_PASSWORD, None)])
    [wx103] = [f for f in auth if f.rule == "WX103"]
    assert "this is an SSO site" not in wx103.message
    assert "this is a non-SSO site, for which the release notes give no order" in wx103.message
    [_, auth] = exchanges([(get_type, site_type_answer("4")), (AUTH_SAML_AND_PASSWORD, None)])
    assert "this is an SSO site, so samlResponse is used" in next(f for f in auth if f.rule == "WX103").message


# -- 3. WX105: a credential the site type never processes (A30, A430-436) ---------------------------

@pytest.mark.parametrize(("number", "credential", "fires"), [
    ("1", "<samlResponse>PHNhbWw+</samlResponse>", True),  # CI reads password, accessToken
    ("2", "<accessToken>YWM3MTBl</accessToken>", True),  # SSO reads samlResponse, password
    ("1", "<accessToken>YWM3MTBl</accessToken>", False),
    ("4", "<samlResponse>PHNhbWw+</samlResponse>", False),
    ("5", "<accessToken>YWM3MTBl</accessToken>", False),  # non-SSO: the notes give no order
])
def test_wx105_a_credential_the_site_type_never_processes(number, credential, fires):
    get_type = request_xml("GetSiteType", package="ep", security="<siteName>acme</siteName>")
    authenticate = request_xml("AuthenticateUser", credential, security=ACME)
    [_, auth] = exchanges([(get_type, site_type_answer(number)), (authenticate, None)])
    wx105 = [f for f in auth if f.rule == "WX105"]
    assert bool(wx105) is fires
    if fires:
        assert wx105[0].notes[0].startswith(f"site acme learned as {'CI' if number == '1' else 'SSO'} ")
        assert "PHNhbWw+" not in wx105[0].message and "YWM3MTBl" not in wx105[0].message


def test_wx105_needs_a_known_site_type():
    authenticate = request_xml("AuthenticateUser", "<samlResponse>PHNhbWw+</samlResponse>", security=ACME)
    assert "WX105" not in [f.rule for f in exchanges([(authenticate, None)])[0]]
    ci = LintContext(ci_sites=frozenset({"acme"}))
    assert "WX105" in [f.rule for f in exchanges([(authenticate, None)], context=ci)[0]]


# -- 4. WX106: a session ticket used after its timeToLive (A121, A157-159) --------------------------

def authenticate_answer(ticket: str = TICKET, lifetime: int = 5400) -> bytes:
    return response_xml("AuthenticateUser", f"<use:sessionTicket>{ticket}</use:sessionTicket>"
                        f"<use:createTime>1431725387202</use:createTime><use:timeToLive>{lifetime}</use:timeToLive>",
                        prefix="use", area="user")


def with_ticket(ticket: str = TICKET) -> bytes:
    return request_xml("GetUser", "<webExId>jdoe</webExId>", security=ACME + f"<sessionTicket>{ticket}</sessionTicket>")


AUTHENTICATE = request_xml("AuthenticateUser", "<accessToken>YWM3MTBl</accessToken>", security=ACME)


@pytest.mark.parametrize(("after", "expired"), [(5399.0, False), (5401.0, True)])
def test_wx106_a_ticket_used_after_its_lifetime(after, expired):
    [_, use] = exchanges([(AUTHENTICATE, authenticate_answer()), (with_ticket(), None)], gaps=[0.0, after])
    wx106 = [f for f in use if f.rule == "WX106"]
    assert bool(wx106) is expired
    if expired:
        assert TICKET not in wx106[0].message and TICKET not in " ".join(wx106[0].notes)
        assert ticket_digest(TICKET)[:12] in wx106[0].message and "(5400 s after" in wx106[0].message
        assert wx106[0].severity.value == "warning"


def test_wx106_only_for_the_ticket_that_expired():
    [_, _, use] = exchanges([(AUTHENTICATE, authenticate_answer()), (AUTHENTICATE, authenticate_answer("NEWER-1")),
                             (with_ticket("OTHER-TICKET"), None)], gaps=[0.0, 3000.0, 6000.0])
    assert "WX106" not in [f.rule for f in use]


def ticket_har(path: Path) -> Path:
    start = day(1)
    entries = [har_entry(AUTHENTICATE, authenticate_answer(), when=start),
               har_entry(with_ticket(), response_xml("GetUser"), when=start.replace(hour=10)),
               har_entry(with_ticket(), response_xml("GetUser"), when=start.replace(hour=11))]
    return write_har(path, entries)


def test_check_and_audit_warn_on_an_expired_ticket_in_a_har(tmp_path, monkeypatch):
    """Capture times: issued 09:30, used 10:30 (valid) and 11:30 (expired at 11:00)."""
    from proxy_addon.audit import pipeline  # noqa: PLC0415

    har = ticket_har(tmp_path / "tickets.har")
    [finding] = [f for f in checked_findings(har) if f["rule"] == "WX106"]
    assert finding["locator"] == "entry 2 request"
    assert f"expired at {format_time(day(1).timestamp() + 0.1205 + 5400)}" in finding["message"]
    monkeypatch.setattr(pipeline, "CHUNK_MESSAGES", 1)  # the ticket is issued in another worker's chunk
    for jobs in (1, 2):
        db = tmp_path / f"audit-{jobs}.sqlite"
        with open_store(str(db)) as store:
            pipeline.run_audit([str(har)], store, pipeline.Linter(), pipeline.LintContext(), jobs=jobs)
        assert ("entry 2", "request", "WX106", "GetUser") in store_findings(db)
        assert TICKET.encode() not in db.read_bytes()


# -- 5. WX305: a recording listed with shareToMe=true, then changed (B619-635) ----------------------

def listed(shared: str) -> bytes:
    return response_xml("LstRecording", f"<ep:recording><ep:recordingID>4711</ep:recordingID>"
                        f"<ep:shareToMe>{shared}</ep:shareToMe></ep:recording>")


@pytest.mark.parametrize(("operation", "shared", "user", "fires"), [
    ("DelRecording", "true", "admin@acme.com", True),
    ("SetRecordingInfo", "true", "admin@acme.com", True),
    ("DelRecording", "false", "admin@acme.com", False),  # the user's own recording
    ("DelRecording", "true", "owner@acme.com", False),  # shareToMe is relative to the user who listed
])
def test_wx305_a_shared_recording_deleted_or_modified(operation, shared, user, fires):
    list_request = request_xml("LstRecording", package="ep", security=ACME)
    change = request_xml(operation, "<recordingID>4711</recordingID>", package="ep",
                         security=f"<siteName>acme</siteName><webExID>{user}</webExID>")
    [_, changed] = exchanges([(list_request, listed(shared)), (change, None)])
    wx305 = [f for f in changed if f.rule == "WX305"]
    assert bool(wx305) is fires
    if fires:
        assert wx305[0].severity.value == "info" and "recording 4711" in wx305[0].message
        assert wx305[0].notes[0].startswith("LstRecording listed recording 4711 with shareToMe=true for admin@acme.com")


def test_wx305_via_check_on_a_har(tmp_path):
    har = write_har(tmp_path / "recordings.har", [
        har_entry(request_xml("LstRecording", package="ep", security=ACME), listed("true"), when=day(1)),
        har_entry(request_xml("DelRecording", "<recordingID>4711</recordingID>", package="ep", security=ACME),
                  response_xml("DelRecording"), when=day(1, 10))])
    assert [f["locator"] for f in checked_findings(har) if f["rule"] == "WX305"] == ["entry 1 request"]
    assert "WX305" in run_cli("rule", "WX305").stdout


# -- 6. the store keeps learned notes per finding, site types and API versions (migration 3) --------

def test_a_version_1_store_is_upgraded_and_keeps_its_rows(tmp_path):
    from proxy_addon.audit.store.backends import open_backend  # noqa: PLC0415
    from proxy_addon.audit.store.schema import MIGRATIONS, migrate  # noqa: PLC0415

    db = tmp_path / "v1.sqlite"
    backend = open_backend(str(db))
    try:
        assert migrate(backend, MIGRATIONS[:1]) == 1
        backend.execute("INSERT INTO sites (site, ci, learned_from) VALUES ('acme', 1, '--ci-site')")
    finally:
        backend.close()
    with open_store(str(db)) as store:
        assert store.schema_version == MIGRATIONS[-1].version >= 3
        assert store.learned_sites() == [{"site": "acme", "site_type": "ci", "type_learned_from": "--ci-site",
                                          "api_version": None, "version_learned_from": None}]
        store.record_api_version("acme", "11.0 SP22", "site acme learned as API 11.0 SP22 from GetAPIVersion")
        store.record_site_type("initech", "sso", "site initech learned as SSO from GetSiteType (siteType 2)")
        assert store.ci_sites() == {"acme": "--ci-site"}  # a version learned later keeps the site CI
        learned = {row["site"]: row for row in store.learned_sites()}
    assert learned["acme"]["api_version"] == "11.0 SP22" and learned["initech"]["site_type"] == "sso"


def test_audit_stores_the_notes_of_each_finding_and_the_report_shows_learned_sites(tmp_path):
    har = write_har(tmp_path / "learning.har", [
        har_entry(request_xml("GetAPIVersion", package="ep", security=ACME), old_style_version(), when=day(1)),
        har_entry(request_xml("GetSiteType", package="ep", security="<siteName>acme</siteName>"), site_type_answer("4"),
                  when=day(1, 10)),
        har_entry(request_xml("AuthenticateUser", "<accessToken>YWM3MTBl</accessToken>", security=ACME), None,
                  when=day(1, 11))])
    db, report = tmp_path / "audit.sqlite", tmp_path / "report.html"
    result = run_cli("audit", str(har), "--db", str(db), "--report", str(report))
    assert result.returncode == 0, result.stderr
    with open_store(str(db)) as store:
        [notes] = store.backend.query("SELECT notes FROM findings WHERE rule = 'WX105'")[0]
        [site] = store.learned_sites()
    assert notes.startswith("site acme learned as SSO from GetSiteType (siteType 4) at ")
    assert (site["site_type"], site["api_version"]) == ("sso", "11.0 SP22")
    page = report.read_text(encoding="utf-8")
    assert '<table id="learned-sites">' in page or 'id="learned-sites"' in page
    assert "11.0 SP22" in page and "site acme learned as SSO from GetSiteType (siteType 4)" in page


# -- issue 22 item 13: WX306, warned ahead after a retirement answer (facts F143-148, F181-190) -----

@pytest.mark.parametrize(("first", "answer", "then", "fires"), [
    ("CreateEvent", "010106", "SetEvent", True),  # 41.12.0: classic Event disabled
    ("CreateEvent", "010106", "LstsummaryEvent", True),
    ("CreateTrainingSession", "010107", "SetTrainingSession", True),  # 42.5.0: site suspended
    ("CreateEvent", "010107", "CreateSupportSession", True),
    ("CreateEvent", "010106", "CreateTrainingSession", False),  # 010106 is about classic Events only
    ("CreateEvent", "000001", "SetEvent", False),  # another failure teaches nothing
    ("CreateEvent", None, "SetEvent", False),  # a success teaches nothing
])
def test_wx306_warns_ahead_after_a_retirement_answer(first, answer, then, fires):
    security = ACME + "<password>S3cret!pw</password>"
    package = {"Create": "event"}.get(first[:6], "event")
    reply = (response_xml(None, result="FAILURE", reason="refused", exception_id=answer) if answer
             else response_xml(first))
    [_, later] = exchanges([(request_xml(first, package=package, security=security), reply),
                            (request_xml(then, package="event", security=security), None)])
    found = [f for f in later if f.rule == "WX306"]
    assert bool(found) is fires, [f.message for f in later]
    if fires:
        assert answer in found[0].message and found[0].notes[0].startswith(f"site acme answered {first} with {answer}")


def test_wx306_is_per_site():
    security = ACME + "<password>S3cret!pw</password>"
    other = "<siteName>beta</siteName><webExID>admin@beta.com</webExID><password>S3cret!pw</password>"
    refused = response_xml(None, result="FAILURE", reason="The classic Event has been disabled.", exception_id="010106")
    [_, later] = exchanges([(request_xml("CreateEvent", package="event", security=security), refused),
                            (request_xml("SetEvent", package="event", security=other), None)])
    assert "WX306" not in [f.rule for f in later]
