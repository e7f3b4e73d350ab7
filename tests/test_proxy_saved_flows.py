"""mitmweb's marks and comments, and flows saved with `mitmdump -w`: the real CLI, the dump read back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from mitmproxy import io
from mitmproxy.tools.web.app import flow_to_json

from proxy_addon.mitm.flows import ERROR_MARK, METADATA_KEY, WARNING_MARK
from proxy_addon.simulator.server import WebexSimulator
from tests.processes import stop_process
from tests.test_proxy_console import CREATE_MEETING, CREATE_USER
from tests.test_proxy_e2e import post_all

pytestmark = pytest.mark.e2e


@pytest.fixture
def simulator() -> Iterator[WebexSimulator]:
    with WebexSimulator(ci_sites=["acme"], record=True) as sim:
        yield sim


def test_a_saved_dump_carries_both_directions_findings_marks_and_counted_comments(simulator, start_proxy, tmp_path):
    dump = tmp_path / "traffic.flow"
    # The lint worker (the default) answers after the hook: the saved flows must carry its answers all the same.
    proxy = start_proxy("--", "-w", str(dump), mode=f"reverse:{simulator.base_url}")
    # The first CreateUser's 030098 teaches the proxy that acme is CI: the second one is a WX202 error.
    post_all(proxy.port, [CREATE_MEETING, CREATE_USER, CREATE_USER])
    proxy.settle()
    stop_process(proxy.process)
    with dump.open("rb") as file:
        flows = [flow for flow in io.FlowReader(file).stream() if "content-encoding" not in flow.request.headers]
    assert len(flows) == 3

    meeting, first_user, second_user = flows
    assert meeting.comment == ("CreateMeeting: request WX101(warning) WX601(info) WX301(warning)×2")
    assert meeting.marked == WARNING_MARK
    # The answers' findings are in the dump: WX501 with its note, the failure in the comment.
    assert [f["rule"] for f in first_user.metadata[METADATA_KEY]["response"]] == ["WX501"]
    assert first_user.metadata[METADATA_KEY]["response"][0]["notes"] == ["030098 — no finding on this request predicted it"]
    assert first_user.comment == "CreateUser: response WX501(warning) | FAILURE 030098"
    assert second_user.marked == ERROR_MARK
    assert second_user.comment.startswith("CreateUser: request WX202(error) | response WX501(warning)")
    assert "030098 — predicted by WX202 on this request" in second_user.metadata[METADATA_KEY]["response"][0]["notes"]


def test_mitmweb_draws_the_error_mark_as_a_text_symbol_not_an_emoji_only_glyph(simulator, start_proxy, tmp_path):
    """mitmweb sends a mark as the character of mitmproxy's emoji table (unknown ones as 🔴) and shows it in
    the page's text font: the error mark must be a symbol the common text fonts have (✖, U+2716), not ⛔."""
    dump = tmp_path / "traffic.flow"
    proxy = start_proxy("--", "-w", str(dump), mode=f"reverse:{simulator.base_url}")
    post_all(proxy.port, [CREATE_USER, CREATE_USER])
    proxy.settle()
    stop_process(proxy.process)
    with dump.open("rb") as file:
        marks = [flow_to_json(flow)["marked"] for flow in io.FlowReader(file).stream()
                 if "content-encoding" not in flow.request.headers]
    assert marks == ["⚠", "✖"]
    assert all(ord(mark) < 0x2800 for mark in marks)  # Dingbats and Miscellaneous Symbols, no pictograph plane
