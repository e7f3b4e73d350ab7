"""rules/lifecycle.yaml: it covers every operation the project knows, it is checked when it loads,
and WX601 reports requests to the deprecated ones with their replacement."""

from __future__ import annotations

import re
import shutil

import pytest

from proxy_addon.core.shipped import data_dir
from proxy_addon.lint.lifecycle import load_lifecycle
from proxy_addon.lint.ruleset import RuleError, RuleSet

from .builders import CORPUS, HAS_CORPUS, REPO, request_xml, response_xml, rules_of

SHIPPED = data_dir("rules") / "lifecycle.yaml"


def _known_operations() -> dict[str, set[str]]:
    """Operation names from every place the project names them, each with where it was found."""
    found: dict[str, set[str]] = {}
    for xsd in (REPO / "schemas").glob("*.xsd"):
        for name in re.findall(r'complexType name="([a-z]\w*?)Response"', xsd.read_text(encoding="utf-8")):
            found.setdefault(name[0].upper() + name[1:], set()).add(xsd.name)
    for pack in (REPO / "rules").glob("*.yaml"):
        for listed in re.findall(r"operations:\s*\[([^\]]*)\]", pack.read_text(encoding="utf-8")):
            for name in filter(None, (n.strip() for n in listed.split(","))):
                found.setdefault(name, set()).add(pack.name)
    simulator = (REPO / "proxy_addon" / "simulator" / "answers.py").read_text(encoding="utf-8")
    for name in re.findall(r'"((?:Create|Set|Get|Del|Lst|Upload|Authenticate|Activate)[A-Z]\w*)"', simulator):
        found.setdefault(name, set()).add("simulator")
    # The corpus's operations too, where it is (a clone without ../shared has the others only).
    rows = (CORPUS / "PROVENANCE.tsv").read_text(encoding="utf-8").splitlines()[1:] if HAS_CORPUS else []
    for row in rows:
        operation = row.split("\t")[6]
        if operation:
            found.setdefault(operation, set()).add("PROVENANCE.tsv")
    return found


def test_every_operation_the_project_knows_is_classified():
    lifecycle = load_lifecycle(SHIPPED)
    known = _known_operations()
    assert len(known) >= (40 if HAS_CORPUS else 35)  # the scan found the project's operations
    missing = {name: sorted(where) for name, where in known.items() if not lifecycle.lookup(name).known}
    assert missing == {}


def test_statuses_groups_and_replacements_follow_the_sources():
    lifecycle = load_lifecycle(SHIPPED)
    create_meeting = lifecycle.lookup("CreateMeeting")
    assert (create_meeting.group, create_meeting.status) == ("meeting", "deprecated")
    assert create_meeting.rest.status == "suggested" and "Create a Meeting" in create_meeting.rest.name
    assert lifecycle.deprecation["end_of_life"] == "2024-03-31"
    for name in ("CreateUser", "SetUser", "DelUser"):  # named by the announcement
        assert (lifecycle.lookup(name).status, lifecycle.lookup(name).basis) == ("not-affected", "stated")
    for name in ("GetSite", "GetAPIVersion", "LstMeetingType"):  # not named either way
        assert lifecycle.lookup(name).status == "unknown"
    assert lifecycle.lookup("getloginticket").name == "GetloginTicket"  # case-insensitive
    stated = lifecycle.lookup("AuthenticateUser").rest
    assert stated.status == "stated" and stated.source.url.startswith("https://developer.cisco.com/")
    unseen = lifecycle.lookup("FrobnicateMeeting")
    assert (unseen.status, unseen.known, unseen.rest.label) == ("unknown", False, "none known")


@pytest.mark.parametrize("change, problem", [
    (("group: meeting, rest: {status: suggested, name: \"Meetings: Create a Meeting\"",
      "group: meting, rest: {status: suggested, name: \"Meetings: Create a Meeting\""), "unknown group 'meting'"),
    (("CreateMeeting: {group: meeting, rest: {status: suggested",
      "CreateMeeting: {group: meeting, rest: {status: guessed"), "rest status 'guessed'"),
    (("CreateMeeting: {group: meeting,", "CreateMeeting: {group: meeting, colour: red,"), "unknown field(s) colour"),
    (("  user: {status: not-affected,", "  user: {status: retired,"), "status 'retired'"),
    (("GetSite: {group: site,", "GetSite: {group: site, source: blog,"), "unknown source 'blog'"),
    (("AuthenticateUser: {group: user, basis: inferred, source: user-service, rest: {status: stated, ",
      "AuthenticateUser: {group: user, basis: inferred, source: user-service, rest: {status: stated, bogus: 1, "),
     "unknown field(s) bogus"),
])
def test_a_bad_lifecycle_file_is_refused_with_file_and_line(tmp_path, change, problem):
    old, new = change
    text = SHIPPED.read_text(encoding="utf-8")
    assert old in text
    target = tmp_path / "lifecycle.yaml"
    target.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(RuleError) as error:
        load_lifecycle(target)
    assert problem in str(error.value)
    line = next(n for n, content in enumerate(target.read_text().splitlines(), 1) if new.split("\n")[0] in content)
    assert str(error.value).startswith(f"{target}:{line} ")


def test_a_bad_lifecycle_file_stops_the_rule_packs_loading(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(data_dir("rules"), rules)
    (rules / "lifecycle.yaml").write_text("sources: {}\nstatuses: {}\ngroups: {}\n", encoding="utf-8")
    with pytest.raises(RuleError, match=r"lifecycle.yaml:1: missing required field\(s\) operations"):
        RuleSet.load(rules)


def test_a_rule_log_mode_is_checked(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(data_dir("rules"), rules)
    pack = rules / "migration.yaml"
    pack.write_text(pack.read_text().replace("log: once-per-client", "log: sometimes"))
    with pytest.raises(RuleError, match=r"migration.yaml:\d+ \(rule WX601\): log 'sometimes'"):
        RuleSet.load(rules)


@pytest.mark.parametrize("operation, package, fires", [
    ("CreateMeeting", "meeting", True), ("LstsummarySession", "ep", True), ("CreateEvent", "event", True),
    ("LstmeetingusageHistory", "history", True), ("CreateUser", "user", False), ("GetSite", "site", False),
    ("GetAPIVersion", "ep", False), ("FrobnicateMeeting", "meeting", False),
])
def test_wx601_on_requests_to_deprecated_operations(linter, operation, package, fires):
    result = linter.lint(request_xml(operation, package=package))
    assert ("WX601" in rules_of(result)) is fires
    if fires:
        (finding,) = (f for f in result.findings if f.rule == "WX601")
        assert finding.severity == "info" and finding.line == 7  # the bodyContent naming the operation
        assert f"{operation} is a Meetings XML API operation" in finding.message
        assert "end of life 2024-03-31" in finding.message


def test_wx601_names_the_replacement_or_says_there_is_none(linter):
    meeting = linter.lint(request_xml("CreateMeeting", package="meeting")).findings
    assert any("suggested: Meetings: Create a Meeting, https://developer.webex.com/docs/meetings" in f.message
               for f in meeting)
    event = linter.lint(request_xml("CreateEvent", package="event")).findings
    assert any("no REST counterpart is known" in f.message for f in event if f.rule == "WX601")


def test_wx601_not_on_responses(linter):
    assert "WX601" not in rules_of(linter.lint(response_xml("CreateMeeting", area="meeting", prefix="meet")))


def test_the_shipped_file_is_where_the_docs_say():
    assert "lifecycle.yaml" in (REPO / "docs" / "migration.md").read_text(encoding="utf-8")


def test_the_event_log_writes_once_per_client_rules_once_per_client_and_operation():
    import io
    import json

    from proxy_addon.outputs.event_log import event_logger

    stream = io.StringIO()
    log = event_logger(stream, once_per_client=["WX601"])
    for client, webex_id, operation, rule in [
        ("10.0.0.1:5000", "a", "CreateMeeting", "WX601"), ("10.0.0.1:5000", "a", "CreateMeeting", "WX601"),
        ("10.0.0.1:5000", "a", "CreateMeeting", "WX301"), ("10.0.0.1:5000", "a", "CreateMeeting", "WX301"),
        ("10.0.0.1:5000", "a", "GetMeeting", "WX601"), ("10.0.0.1:5000", "b", "CreateMeeting", "WX601"),
        ("10.0.0.2:5000", "a", "CreateMeeting", "WX601"), ("10.0.0.1:6000", "a", "CreateMeeting", "WX601"),
        ("[::1]:5000", "a", "CreateMeeting", "WX601"), ("[::1]:5001", "a", "CreateMeeting", "WX601"),
    ]:
        log.info("finding", client=client, webex_id=webex_id, operation=operation, rule=rule)
    log.info("learned", client="10.0.0.1:5000", note="x")
    events = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(e["event"], e.get("client"), e.get("webex_id"), e.get("operation"), e.get("rule"),
             e.get("once_per_client")) for e in events] == [
        ("finding", "10.0.0.1:5000", "a", "CreateMeeting", "WX601", True),
        ("finding", "10.0.0.1:5000", "a", "CreateMeeting", "WX301", None),
        ("finding", "10.0.0.1:5000", "a", "CreateMeeting", "WX301", None),  # other rules: every finding
        ("finding", "10.0.0.1:5000", "a", "GetMeeting", "WX601", True),
        ("finding", "10.0.0.1:5000", "b", "CreateMeeting", "WX601", True),
        ("finding", "10.0.0.2:5000", "a", "CreateMeeting", "WX601", True),
        # another connection of 10.0.0.1 is the same client; ::1 is another
        ("finding", "[::1]:5000", "a", "CreateMeeting", "WX601", True),
        ("learned", "10.0.0.1:5000", None, None, None, None),
    ]


def test_wx601_over_the_examples(linter):
    examples = sorted((REPO / "examples").glob("*.xml"))
    flagged = {path.name for path in examples if "WX601" in rules_of(linter.lint(path.read_bytes()))}
    assert flagged == {"04-create-meeting-siteid-hq-hd.xml", "05-create-event-long-description.xml",
                       "09-lst-recording-range.xml", "12-lst-summary-meeting-clean.xml"}


def test_wx601_in_sarif_and_json(tmp_path):
    import json

    from .test_cli_check import cli

    (tmp_path / "meeting.xml").write_bytes(request_xml("CreateMeeting", package="meeting"))
    sarif = json.loads(cli("check", "--format", "sarif", str(tmp_path)).stdout)
    run = sarif["runs"][0]
    (result,) = [r for r in run["results"] if r["ruleId"] == "WX601"]
    assert result["level"] == "note" and "Meetings: Create a Meeting" in result["message"]["text"]
    assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == "WX601"
    findings = json.loads(cli("check", "--format", "json", str(tmp_path)).stdout)["findings"]
    assert [(f["rule"], f["severity"], f["operation"]) for f in findings] == [("WX601", "info", "CreateMeeting")]


@pytest.mark.parametrize("security, body, operation, kinds", [
    ("<webExID>a</webExID><password>pw-1</password>", "", "GetUser", "password"),
    ("<webExID>a</webExID><sessionTicket>t-1</sessionTicket>", "", "GetUser", "sessionTicket"),
    ("<webExID>a</webExID>", "<accessToken>tok-1</accessToken>", "AuthenticateUser", "accessToken"),
    ("<webExID>a</webExID><password>pw-1</password>", "<accessToken>tok-1</accessToken>", "AuthenticateUser",
     "password+accessToken"),
    ("<webExID>a</webExID>", "", "GetUser", "none"),
])
def test_the_store_keeps_the_kind_of_credential_never_the_value(linter, tmp_path, security, body, operation, kinds):
    from proxy_addon.audit.store import MessageRecord, open_store

    data = request_xml(operation, body, security=f"<siteName>acme</siteName>{security}")
    result = linter.lint(data)
    with open_store(str(tmp_path / "a.sqlite")) as store:
        store.record(MessageRecord.from_result(result, data, source="t"), result.findings)
        assert store.client_credentials() == [
            {"client_address": None, "user_agent": None, "webex_id": "a", "auth": kinds, "requests": 1}]
    dump = (tmp_path / "a.sqlite").read_bytes() + b"".join(p.read_bytes() for p in tmp_path.glob("a.sqlite-*"))
    for secret in (b"pw-1", b"t-1", b"tok-1"):
        assert secret not in dump


def test_a_checked_file_is_rebuilt_from_the_cache_as_checking_it_would_build_it(tmp_path, monkeypatch):
    from proxy_addon.core import data_cache  # noqa: PLC0415
    from proxy_addon.lint import lifecycle as module  # noqa: PLC0415

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    target = tmp_path / "lifecycle.yaml"
    target.write_bytes(SHIPPED.read_bytes())
    checked = load_lifecycle(target)
    assert data_cache.load(module.CHECKED_CACHE_KIND, target.read_bytes()) is not None
    monkeypatch.setattr(module, "_checked", lambda path: pytest.fail("checked again although cached"))
    cached = load_lifecycle(target)
    assert cached == checked and cached.lookup("AuthenticateUser").rest.source is cached.sources[
        checked.lookup("AuthenticateUser").rest.source.id]
    # An edited file has other bytes, so no entry: it is checked (and refused) anew.
    monkeypatch.undo()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    target.write_text("sources: {}\nstatuses: {}\ngroups: {}\n", encoding="utf-8")
    with pytest.raises(RuleError, match="missing required field"):
        load_lifecycle(target)
