"""Learned facts cannot be planted (issue 21, item 2), through the real mitmdump in regular mode.

One client asks its own server (here: a simulator that calls acme a CI site) GetSiteType for acme;
another client's SetUser to the real acme service must then go upstream as it was sent, its
<active>DEACTIVATED</active> and <password> kept, even with --rewrite.
"""

from __future__ import annotations

import pytest
import requests

from proxy_addon.simulator.server import SERVICE_PATH, WebexSimulator
from tests.builders import request_xml

pytestmark = pytest.mark.e2e
ACME = "<siteName>acme</siteName><webExID>admin@acme.com</webExID><password>Tr0ub4dor-e2e</password>"
GET_SITE_TYPE = request_xml("GetSiteType", package="ep", security=ACME)
SET_USER = request_xml("SetUser", "<webExId>jane@acme.com</webExId><active>DEACTIVATED</active>"
                                  "<password>N3w-pw-e2e</password>", security=ACME)


def _through(proxy, simulator: WebexSimulator, body: bytes) -> requests.Response:
    url = f"http://127.0.0.1:{simulator.port}{SERVICE_PATH}"
    return requests.post(url, data=body, headers={"Content-Type": "text/xml"}, timeout=30,
                         proxies={"http": f"http://127.0.0.1:{proxy.port}"})


def test_an_answer_from_another_server_does_not_rewrite_requests_to_the_real_one(start_proxy):
    with WebexSimulator(ci_sites=["acme"]) as planted, WebexSimulator(record=True) as real:
        proxy = start_proxy("--rewrite")
        assert _through(proxy, planted, GET_SITE_TYPE).status_code == 200
        assert _through(proxy, real, SET_USER).status_code == 200
        learned = proxy.wait_for("learned")
    assert [e["site"] for e in learned] == ["acme"]  # learned, for the planted server only
    [received] = [r.body for r in real.received]
    assert received == SET_USER  # byte for byte: nothing dropped
    assert not [e for e in proxy.events("finding") if e["rule"] == "WX201"]


def test_the_same_server_teaches_itself_but_rewrites_only_with_rewrite_learned(start_proxy):
    for flags, rewritten in ((("--rewrite",), False), (("--rewrite", "--rewrite-learned"), True)):
        with WebexSimulator(ci_sites=["acme"], record=True) as server:
            proxy = start_proxy(*flags)
            _through(proxy, server, GET_SITE_TYPE)
            _through(proxy, server, SET_USER)
            assert [e["rule"] for e in proxy.wait_for("finding") if e["rule"] == "WX201"] == ["WX201", "WX201"]
        received = [r.body for r in server.received if b"SetUser" in r.body]
        assert len(received) == 1 and (b"DEACTIVATED" not in received[0]) is rewritten, flags
