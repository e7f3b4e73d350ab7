"""Hardening of what the tool writes back (issue 12): `--fix` files, `--diff` and `--rewrite` bodies.

`--fix` never loses data (atomic writes, symlinks out of the tree skipped, a file edited meanwhile
skipped), `--diff` never shows a credential, and values from the configuration are escaped where the
XML is built.
"""

from __future__ import annotations

import pytest
from lxml import etree

from proxy_addon.cli import main as cli_main
from tests.builders import request_xml
from tests.test_proxy_e2e import post_all

SITE_ID_SECURITY = "<siteID>5941234567</siteID><webExID>admin</webExID><password>S3cret!pw</password>"
SITE_ID_REQUEST = request_xml("GetUser", "<webExId>jane</webExId>", security=SITE_ID_SECURITY)


def _site_name_of(data: bytes) -> str | None:
    root = etree.fromstring(data)  # raises on a non-well-formed file
    return root.findtext(".//securityContext/siteName")


# -- --site-id values are escaped where the XML is built --------------------------------------------

def test_fix_with_a_site_name_needing_escapes_writes_well_formed_xml(tmp_path, capsys):
    target = tmp_path / "get-user.xml"
    target.write_bytes(SITE_ID_REQUEST)
    cli_main(["check", "--fix", "--site-id", "5941234567=R&D <West>", str(target)])
    assert _site_name_of(target.read_bytes()) == "R&D <West>"


@pytest.mark.e2e
def test_rewrite_with_a_site_name_needing_escapes_sends_well_formed_xml(start_proxy):
    from proxy_addon.simulator.server import WebexSimulator  # noqa: PLC0415

    with WebexSimulator(record=True) as simulator:
        proxy = start_proxy("--rewrite", "--site-id", "5941234567=R&D", mode=f"reverse:{simulator.base_url}")
        post_all(proxy.port, [SITE_ID_REQUEST])
        (received,) = simulator.received
    assert received.body != SITE_ID_REQUEST  # rewritten
    assert _site_name_of(received.body) == "R&D"
