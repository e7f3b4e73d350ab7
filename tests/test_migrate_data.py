"""The migration's data: the REST slice is what tools/build_rest_data.py makes from Cisco's OpenAPI
file, and a broken mapping or time-zone file stops the load with file:line."""

from __future__ import annotations

import importlib.util
import json
import textwrap

import pytest

from proxy_addon.lint.ruleset import RuleError
from proxy_addon.migration.mapping import load_mapping
from proxy_addon.migration.rest import load_rest_spec
from proxy_addon.migration.timezones import load_timezones

from .builders import REPO, SHARED

OPENAPI = SHARED / "spec" / "rest" / "webex-meeting.openapi.json"
SHIPPED = REPO / "rules" / "migration"


def _build_tool():
    spec = importlib.util.spec_from_file_location("build_rest_data", REPO / "tools" / "build_rest_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not OPENAPI.is_file(), reason=f"no OpenAPI file at {OPENAPI} (a clone without ../shared)")
def test_committed_rest_data_is_what_the_script_builds_from_the_openapi_file():
    assert (SHIPPED / "rest-meetings.json").read_text("utf-8") == _build_tool().render(OPENAPI)


def test_rest_data_carries_the_attribution_and_the_stated_limits():
    rest = load_rest_spec()
    assert "CC BY 4.0" in rest.attribution and "webex-openapi-specs" in rest.attribution
    limits = {(limit.schema, limit.property): limit for limit in rest.limits}
    assert limits[("CreateMeetingObject", "title")].value == 128
    assert limits[("CreateMeetingObject", "agenda")].value == 1300
    assert limits[("CreateMeetingObject", "invitees")].kind == "maxItems"
    assert "1300 characters" in limits[("CreateMeetingObject", "agenda")].description


def test_the_build_script_fails_on_an_operation_the_openapi_file_lacks():
    tool = _build_tool()
    spec = {"paths": {"/x": {"get": {"operationId": "x"}}}, "components": {"schemas": {}}, "info": {}}
    with pytest.raises(SystemExit, match="not in the OpenAPI file: createMeeting"):
        tool.build(spec, ["createMeeting"], {})


def test_every_time_zone_id_of_the_guide_maps_to_an_iana_zone():
    zones = load_timezones()
    assert set(zones.by_id) == set(range(63))
    assert zones.iana("4") == "America/Los_Angeles"
    assert zones.iana("GMT-06:00, Mexico (Mexico City,Tegucigalpa)") == "America/Mexico_City"  # written without a space


def _mapping(tmp_path, operations: str):
    shipped = (SHIPPED / "rest-mapping.yaml").read_text("utf-8")
    head = shipped[:shipped.index("\noperations:")]
    path = tmp_path / "rest-mapping.yaml"
    path.write_text(head + "\noperations:\n" + textwrap.indent(textwrap.dedent(operations), "  "), "utf-8")
    return path, head.count("\n") + 3  # the first operation's line ("operations:" is the one before)


GOOD = """\
CreateMeeting:
  rest: {operationId: createMeeting}
  basis: inferred
  source: [openapi]
  scopes: [meeting:schedules_write]
  body:
    title: {from: metaData/confName}
"""


def test_a_good_mapping_loads(tmp_path):
    path, _ = _mapping(tmp_path, GOOD)
    assert load_mapping(path).get("createmeeting").body[0].target == "title"


@pytest.mark.parametrize(("change", "line_offset", "problem"), [
    (("title: {from: metaData/confName}", "headline: {from: metaData/confName}"), 6,
     "CreateMeetingObject has no property 'headline'"),
    (("operationId: createMeeting", "operationId: createMeetingz"), 1, "operationId 'createMeetingz' is not in the REST data"),
    (("{from: metaData/confName}", "{from: metaData/confName, convert: rot13}"), 6, "convert 'rot13' is not one of"),
    (("CreateMeeting:", "CreateMeetingz:"), 0, "CreateMeetingz is not an operation of rules/lifecycle.yaml"),
    (("basis: inferred", "basis: guessed"), 2, "basis 'guessed' is not one of stated, inferred"),
    (("source: [openapi]", "source: [hearsay]"), 3, "unknown source 'hearsay'"),
    (("{from: metaData/confName}", "{from: metaData/confName, mask: blur}"), 6, "mask 'blur' is not one of"),
    (("scopes: [meeting:schedules_write]", "scopes: [meeting:schedules_write]\n  colour: blue"), 0, "unknown field(s) colour"),
])
def test_bad_mapping_data_names_file_and_line(tmp_path, change, line_offset, problem):
    path, first = _mapping(tmp_path, GOOD.replace(*change))
    with pytest.raises(RuleError) as raised:
        load_mapping(path)
    message = str(raised.value)
    assert message.startswith(f"{path}:{first + line_offset} "), message
    assert problem in message


OPEN = """\
LstOpenSession:
  rest: {operationId: listMeetings}
  basis: inferred
  source: [openapi]
  scopes: [meeting:schedules_read]
  set-query:
    state: inProgress
"""


def test_a_constant_query_parameter_is_checked_against_the_openapi_enum(tmp_path):
    path, _ = _mapping(tmp_path, OPEN)
    assert load_mapping(path).get("lstopensession").query_constants == {"state": "inProgress"}
    path, first = _mapping(tmp_path, OPEN.replace("state: inProgress", "state: open"))
    with pytest.raises(RuleError, match=rf"{path}:{first + 5} \(operations LstOpenSession\): state='open' is not one of "
                       "active, scheduled, ready, lobby, inProgress"):
        load_mapping(path)
    path, first = _mapping(tmp_path, OPEN.replace("state: inProgress", "status: inProgress"))
    with pytest.raises(RuleError, match="listMeetings has no query parameter 'status'"):
        load_mapping(path)


def test_an_unmapped_entry_needs_a_known_source_and_cannot_shadow_a_mapped_operation(tmp_path):
    def with_unmapped(entry: str):
        path, _ = _mapping(tmp_path, OPEN)
        path.write_text(path.read_text("utf-8") + f"\nunmapped:\n  {entry}\n", "utf-8")
        return path

    path = with_unmapped("SetRecordingInfo: {why: no update call, source: [openapi]}")
    assert load_mapping(path).unmapped["setrecordinginfo"]["why"] == "no update call"
    for entry, problem in (("SetRecordingInfo: {why: x, source: [hearsay]}", "unknown source 'hearsay'"),
                           ("LstOpenSession: {why: x, source: [openapi]}", "LstOpenSession is mapped under operations")):
        with pytest.raises(RuleError, match=problem):
            load_mapping(with_unmapped(entry))


def test_a_bad_time_zone_names_file_and_line(tmp_path):
    path = tmp_path / "timezones.yaml"
    path.write_text("zones:\n  0: {name: Dateline, iana: Etc/GMT+12}\n  1: {name: Samoa, iana: Pacific/Nowhere}\n")
    with pytest.raises(RuleError, match=rf"{path}:3 \(zone 1\): 'Pacific/Nowhere' is not an IANA time zone"):
        load_timezones(path)


def test_the_rest_data_file_is_json_with_only_mapped_operations():
    data = json.loads((SHIPPED / "rest-meetings.json").read_text("utf-8"))
    assert set(data["operations"]) == set(_build_tool().mapped_operation_ids())
