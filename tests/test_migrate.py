"""`webex-xml-lint migrate`: each Meetings XML request -> the REST request that replaces it.

Golden translations for every mapped operation (fixtures/migrate/golden.json); every body the
project emits, from the corpus and examples/, validates against Cisco's OpenAPI file itself (not
only the shipped slice); conversions, limits, masking; the command end to end.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from proxy_addon.cli import main
from proxy_addon.core.redaction import MASK

from .builders import CORPUS, HAS_CORPUS, REPO, SHARED, request_xml
from .migrate_support import GOLDEN, golden_requests, golden_translation, shipped, translate, translator

OPENAPI = SHARED / "spec" / "rest" / "webex-meeting.openapi.json"
EXAMPLES = REPO / "examples"


def test_every_mapped_operation_has_a_golden_case():
    _, _, mapping, _ = shipped()
    assert {entry.name for entry in mapping.operations.values()} == set(golden_requests())


@pytest.mark.parametrize("operation", sorted(golden_requests()))
def test_golden_translation(operation):
    expected = json.loads(GOLDEN.read_text("utf-8"))[operation]
    assert golden_translation(operation, golden_requests()[operation]) == expected


# -- every body validates against Cisco's OpenAPI file ------------------------------------------

@pytest.fixture(scope="module")
def openapi():
    if not OPENAPI.is_file():
        pytest.skip(f"no OpenAPI file at {OPENAPI} (a clone without ../shared)")
    return json.loads(OPENAPI.read_text("utf-8"))


def _validate_against_openapi(openapi, item) -> list[str]:
    """The request as the OpenAPI file (not our slice of it) describes the operation."""
    from jsonschema import Draft4Validator

    operation = openapi["paths"][_template(openapi, item.path)][item.method.lower()]
    assert operation["operationId"] == item.operation_id
    names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
    problems = [f"query {name} is not a parameter" for name in item.query if name not in names]
    if item.body is not None:
        content = operation["requestBody"]["content"]
        schema = next(iter(content.values()))["schema"]
        document = {**schema, "components": _nullable(openapi["components"])}
        problems += [error.message for error in Draft4Validator(document).iter_errors(item.body)
                     if error.validator != "required"]  # missing required: reported as a loss, checked below
    return problems


def _template(openapi, path: str) -> str:
    """The OpenAPI path a translated path came from (ids still as {placeholders} or filled in)."""
    if path in openapi["paths"]:
        return path
    parts = path.split("/")
    for candidate in openapi["paths"]:
        pieces = candidate.split("/")
        if len(pieces) == len(parts) and all(a == b or a.startswith("{") for a, b in zip(pieces, parts)):
            return candidate
    raise AssertionError(f"{path} is not a path of the OpenAPI file")


def _nullable(node):
    if isinstance(node, dict):
        node = {k: _nullable(v) for k, v in node.items()}
        if node.pop("nullable", False) and isinstance(node.get("type"), str):
            node["type"] = [node["type"], "null"]
        return node
    return [_nullable(v) for v in node] if isinstance(node, list) else node


def _translations_of(paths):
    from proxy_addon.cli.migrate import _translations

    errors = []
    found = list(_translations([str(p) for p in paths], translator(), errors))
    return found, errors


def test_golden_bodies_validate_against_the_openapi_file(openapi):
    for operation, case in golden_requests().items():
        item = translate(request_xml(operation, case["body"], package=case["package"]))
        assert _validate_against_openapi(openapi, item) == [], operation
        assert item.schema_errors == []


@pytest.mark.skipif(not HAS_CORPUS, reason="no corpus at ../shared/corpus")
def test_every_corpus_and_example_translation_validates_against_the_openapi_file(openapi):
    found, errors = _translations_of([CORPUS, EXAMPLES])
    translated = [item for item in found if item.status == "translated"]
    assert len(translated) >= 25  # the corpus holds ~30 mapped requests: a broken reader must not pass empty
    assert {item.operation for item in translated} >= {"CreateMeeting", "SetMeeting", "DelMeeting", "GetMeeting",
                                                        "LstsummaryMeeting", "GetjoinurlMeeting", "LstRecording"}
    for item in translated:
        assert _validate_against_openapi(openapi, item) == [], item.where
        assert item.schema_errors == [], item.where
        missing = {loss.field for loss in item.losses if loss.kind == "missing-required"}
        assert all(name not in (item.body or {}) for name in missing), item.where


# -- conversions, limits, what does not survive ---------------------------------------------------

def test_dates_take_the_offset_of_their_zone_on_that_day():
    winter = translate(request_xml("CreateMeeting", "<metaData><confName>x</confName></metaData><schedule>"
                                   "<startDate>01/15/2026 10:00:00</startDate><duration>90</duration>"
                                   "<timeZoneID>4</timeZoneID></schedule>", package="meeting"))
    assert winter.body["start"] == "2026-01-15T10:00:00-08:00"
    assert winter.body["end"] == "2026-01-15T11:30:00-08:00"
    assert winter.body["timezone"] == "America/Los_Angeles"
    summer = translate(request_xml("CreateMeeting", "<metaData><confName>x</confName></metaData><schedule>"
                                   "<startDate>07/15/2026 10:00:00</startDate><duration>30</duration>"
                                   "<timeZone>GMT+01:00, Europe (Paris)</timeZone></schedule>", package="meeting"))
    assert summer.body["start"] == "2026-07-15T10:00:00+02:00"
    assert summer.body["timezone"] == "Europe/Paris"


def test_an_agenda_over_the_rest_limit_is_reported_with_the_sentence_that_states_it():
    item = translate(request_xml("CreateMeeting", "<metaData><confName>x</confName><agenda>" + "a" * 2000 +
                                 "</agenda></metaData><schedule><startDate>01/15/2026 10:00:00</startDate>"
                                 "<duration>30</duration><timeZoneID>4</timeZoneID></schedule>", package="meeting"))
    over = [loss for loss in item.losses if loss.kind == "over-limit"]
    assert [loss.field for loss in over] == ["agenda"]
    assert "2,000 characters" in over[0].detail and "1,300" in over[0].detail and "1300 characters" in over[0].detail


def test_values_with_no_conversion_and_unmapped_fields_are_said_not_dropped():
    item = translate(request_xml("CreateMeeting", "<metaData><confName>x</confName></metaData><accessControl>"
                                 "<listToPublic>maybe</listToPublic></accessControl><schedule><startDate>01/15/2026 "
                                 "10:00:00</startDate><duration>30</duration><timeZoneID>99</timeZoneID></schedule>"
                                 "<fancyNewThing>1</fancyNewThing><repeat><repeatType>CONSTANT</repeatType></repeat>",
                                 package="meeting"))
    kinds = {(loss.kind, loss.field) for loss in item.losses}
    assert ("no-conversion", "accessControl/listToPublic") in kinds
    assert ("no-conversion", "schedule/timeZoneID") in kinds
    assert ("no-conversion", "repeat") in kinds
    assert ("not-mapped", "fancyNewThing") in kinds
    assert "publicMeeting" not in item.body and "recurrence" not in item.body


def test_a_missing_required_property_is_a_loss_not_a_silent_bad_body():
    item = translate(request_xml("CreateMeeting", "<metaData><confName>x</confName></metaData>", package="meeting"))
    assert {loss.field for loss in item.losses if loss.kind == "missing-required"} == {"start", "end"}


def test_credentials_are_masked_and_people_pseudonymised():
    item = translate(request_xml("GetjoinurlMeeting", "<sessionKey>1</sessionKey><attendeeName>Ada Lovelace"
                                 "</attendeeName><attendeeEmail>ada@example.com</attendeeEmail>"
                                 "<meetingPW>Mtg!pass42</meetingPW>", package="meeting"))
    text = json.dumps(item.as_json())
    assert item.body["password"] == MASK
    assert "Mtg!pass42" not in text and "ada@example.com" not in text and "Lovelace" not in text
    assert item.body["email"].endswith("@example.invalid")


def test_operations_outside_the_mapping_are_classified_by_the_lifecycle():
    assert translate(request_xml("GetUser", "<webExId>a</webExId>")).status == "not-affected"
    assert translate(request_xml("CreateEvent", "", package="event")).status == "no-rest-counterpart"
    assert translate(request_xml("GetAPIVersion", "", package="ep")).status == "unknown"
    unmapped = translate(request_xml("SetRecordingInfo", "", package="ep"))
    assert unmapped.status == "not-mapped" and "Share a Recording" in unmapped.note
    # Why it stays unmapped, and on what source (rest-mapping.yaml `unmapped:`).
    assert "REST has no operation that changes a recording's name" in unmapped.note
    assert unmapped.note.endswith("(source: openapi, rest-meetings)")


def test_an_open_sessions_list_asks_rest_for_meetings_in_progress():
    listed = translate(request_xml("LstOpenSession", "", package="ep"))
    assert (listed.method, listed.path, listed.query) == ("GET", "/meetings", {"state": "inProgress"})


# -- the command ----------------------------------------------------------------------------------

def test_cli_on_the_examples_json(capsys):
    status = main(["migrate", "--format", "json", str(EXAMPLES)])
    out = capsys.readouterr().out
    data = json.loads(out)
    assert status == 1  # CreateEvent has no REST counterpart; the CreateMeeting loses its HD/HQ switches
    create = next(r for r in data["requests"] if r["operation"] == "CreateMeeting")
    assert (create["method"], create["path"]) == ("POST", "/meetings")
    assert create["body"]["title"] == "Weekly engineering sync"
    assert create["url"] == "https://webexapis.com/v1/meetings"
    assert data["summary"]["requests"] == len(data["requests"]) == 12
    assert "P@ssword1234" not in out and "siteadmin@acme.com" not in out
    assert "CC BY 4.0" in data["attribution"]
    clients = data["auth"]["clients"]
    assert [c["client"] for c in clients] == ["repository files"]
    assert "meeting:schedules_write" in clients[0]["scopes"] and "password" in clients[0]["credentials"]


def test_cli_text_says_what_is_lost_and_the_auth_change(capsys):
    main(["migrate", str(EXAMPLES / "04-create-meeting-siteid-hq-hd.xml")])
    out = capsys.readouterr().out
    assert "POST https://webexapis.com/v1/meetings" in out
    assert "lost (gap) enableOptions/HQvideo" in out
    assert "REST has no password sign-in" in out
    assert "P@ssword1234" not in out


def test_cli_exits_0_when_everything_survives(tmp_path, capsys):
    message = tmp_path / "get.xml"
    message.write_bytes(request_xml("GetMeeting", "<meetingKey>123</meetingKey>", package="meeting"))
    assert main(["migrate", str(message)]) == 0
    out = capsys.readouterr().out
    assert "first: GET https://webexapis.com/v1/meetings?meetingNumber=123  -> meetingId" in out
    assert "1 translated (1 with nothing lost, 0 with something lost)" in out


def test_cli_on_a_har_names_the_entry_and_the_client(tmp_path, capsys):
    body = request_xml("DelMeeting", "<meetingKey>987654321</meetingKey>", package="meeting").decode()
    har = {"log": {"version": "1.2", "creator": {"name": "test", "version": "1"}, "entries": [{
        "startedDateTime": "2026-03-02T10:00:00.000Z", "time": 120, "_clientAddress": "10.1.2.3",
        "request": {"method": "POST", "url": "https://acme.webex.com/WBXService/XMLService", "httpVersion": "HTTP/1.1",
                    "headers": [{"name": "User-Agent", "value": "legacy-scheduler/1.2"},
                                {"name": "Content-Type", "value": "text/xml"}],
                    "postData": {"mimeType": "text/xml", "text": body}},
        "response": {"status": 200, "headers": [], "content": {"mimeType": "text/xml", "text": ""}}}]}}
    path = tmp_path / "capture.har"
    path.write_text(json.dumps(har), "utf-8")
    main(["migrate", "--format", "json", str(path)])
    data = json.loads(capsys.readouterr().out)
    [request] = data["requests"]
    assert request["input"].startswith(f"{path} entry 0")
    assert "legacy-scheduler/1.2" in request["client"]
    assert (request["method"], request["path"]) == ("DELETE", "/meetings/{meetingId}")
    assert request["before"][0]["query"] == {"meetingNumber": "987654321"}


def test_cli_db_and_inputs_together_are_refused(capsys):
    assert main(["migrate", "--db", "audit.sqlite", str(EXAMPLES)]) == 2
    assert "either INPUT... " in capsys.readouterr().err


def test_cli_db_that_does_not_exist_exits_2(tmp_path, capsys):
    assert main(["migrate", "--db", str(tmp_path / "none.sqlite")]) == 2
    assert "no such store" in capsys.readouterr().err
    assert not (tmp_path / "none.sqlite").exists()  # read, never created


def test_cli_without_inputs_or_db_exits_2(capsys):
    assert main(["migrate"]) == 2
    assert "nothing to translate" in capsys.readouterr().err


def test_cli_unreadable_input_exits_2(tmp_path, capsys):
    assert main(["migrate", str(tmp_path / "missing.har")]) == 2


def test_check_does_not_import_the_migration_code():
    code = ("import sys; from proxy_addon.cli import main; main(['check', '--exit-zero', sys.argv[1]]); "
            "print(any(name.startswith('proxy_addon.migration') or name == 'proxy_addon.cli.migrate' "
            "for name in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code, str(EXAMPLES / "11-get-user-clean.xml")],
                          capture_output=True, text=True, cwd=REPO, check=False)
    assert done.stdout.strip().splitlines()[-1] == "False", done.stderr


def test_help_states_the_exit_status():
    done = subprocess.run([sys.executable, "-m", "proxy_addon.cli", "migrate", "--help"], capture_output=True,
                          text=True, cwd=REPO, check=False)
    assert "exit status" in done.stdout and "0  every Meetings request" in done.stdout



def test_cli_on_a_flow_dump(tmp_path, capsys):
    from .audit_support import http_flow, write_flows

    request = request_xml("LstsummaryMeeting", "<listControl><maximumNum>5</maximumNum></listControl>", package="meeting")
    path = write_flows(tmp_path / "capture.flows", [http_flow(request, None, when=1767261600.0)])
    assert main(["migrate", "--format", "json", str(path)]) == 0
    [item] = json.loads(capsys.readouterr().out)["requests"]
    assert (item["method"], item["path"], item["query"]) == ("GET", "/meetings", {"max": 5})
    assert item["client"].startswith("10.9.8.7 · mitm-client/1.0")


def test_cli_text_shows_control_characters_instead_of_acting_on_them(tmp_path, capsys):
    body = request_xml("GetMeeting", "<meetingKey>1</meetingKey>", package="meeting").decode()
    har = {"log": {"entries": [{
        "startedDateTime": "2026-03-02T10:00:00.000Z", "time": 1,
        "request": {"method": "POST", "url": "https://acme.webex.com/WBXService/XMLService",
                    "headers": [{"name": "User-Agent", "value": "evil\x1b[2J/1.0"}],
                    "postData": {"mimeType": "text/xml", "text": body}},
        "response": {"status": 200, "headers": [], "content": {"mimeType": "text/xml", "text": ""}}}]}}
    path = tmp_path / "evil.har"
    path.write_text(json.dumps(har), "utf-8")
    main(["migrate", str(path)])
    out = capsys.readouterr().out
    assert "\x1b" not in out and "evil\\x1b[2J/1.0" in out


if __name__ == "__main__" and "--regenerate" in sys.argv:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.migrate_support import regenerate

    regenerate()
