"""`webex-xml-lint proxy` as a user starts it (issue 23): a busy port, the console, mitmweb."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from http.client import HTTPConnection
from pathlib import Path

from .builders import REPO


def proxy(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "proxy_addon.cli", "proxy", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout)


def test_a_second_proxy_on_a_busy_port_exits_2_naming_our_listen_port():
    with socket.socket() as first:  # the first proxy: something listening on the port
        first.bind(("127.0.0.1", 0))
        first.listen()
        port = first.getsockname()[1]
        result = proxy("--listen-port", str(port))
    assert result.returncode == 2, result.stderr
    assert f"--listen-port {port}: cannot listen on 127.0.0.1:{port}" in result.stderr
    assert f"--listen-port {port + 1}" in result.stderr
    assert "webex-xml-lint proxy on" not in result.stderr  # no banner for a proxy that is not running
    assert "@8082" not in result.stderr and "--mode" not in result.stderr  # not mitmproxy's advice


def test_addon_path_is_the_installed_addon_mitmdump_loads(tmp_path):
    from tests.proxy_support import MITMDUMP, free_port

    printed = subprocess.run([sys.executable, "-m", "proxy_addon.cli", "addon-path"], capture_output=True, text=True,
                             timeout=60)
    assert printed.returncode == 0
    path = Path(printed.stdout.strip())
    import proxy_addon

    assert path == Path(proxy_addon.__file__).resolve().parent / "addon.py" and path.is_file()
    # `mitmdump -s "$(webex-xml-lint addon-path)"` loads our addon: its option check answers.
    loaded = subprocess.run([str(MITMDUMP), "-q", "--listen-port", str(free_port()), "-s", str(path), "--set",
                             "webexlint_api_version=banana", "--set", f"confdir={tmp_path}"], capture_output=True,
                            text=True, timeout=60)
    assert loaded.returncode != 0 and "webexlint_api_version: not an XML API version" in loaded.stdout + loaded.stderr


def test_proxy_web_runs_mitmweb_with_the_comment_column_seen_in_headless_chromium(tmp_path, confdir):
    """`webex-xml-lint proxy --web`, a Webex call with findings and a clean one through it, and the
    flow list as a browser draws it: the comment column is on, and each row names its operation."""
    import time

    from proxy_addon.simulator.server import WebexSimulator
    from tests.builders import request_xml
    from tests.processes import free_port, stop_process, wait_for_port
    from tests.test_report import chromium

    browser = chromium()  # skips without Chromium (tests/services.sh writes its path)
    hq = request_xml("CreateMeeting", "<enableOptions><HQvideo>true</HQvideo></enableOptions>", package="meeting")
    clean = request_xml("GetUser", "<webExId>jane@acme.com</webExId>")
    port, token = free_port(), "daily-web-token"
    web_port = free_port()
    while web_port == port:  # a port just released may be handed out again
        web_port = free_port()
    with WebexSimulator() as simulator:
        process = subprocess.Popen(
            [sys.executable, "-m", "proxy_addon.cli", "proxy", "--web", "--listen-port", str(port), "--mode",
             f"reverse:{simulator.base_url}", "--", "--set", f"web_port={web_port}", "--set", "web_open_browser=false",
             "--set", f"web_password={token}", "--set", f"confdir={confdir}"],
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            wait_for_port(port, process, timeout=60)
            wait_for_port(web_port, process, timeout=60)
            for body in (hq, clean):
                connection = HTTPConnection("127.0.0.1", port, timeout=30)
                connection.request("POST", "/WBXService/XMLService", body=body, headers={"Content-Type": "text/xml"})
                connection.getresponse().read()
                connection.close()
            comments: list[str] = []
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and len(comments) < 2:
                dom = subprocess.run(
                    [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000",
                     "--dump-dom", f"http://127.0.0.1:{web_port}/?token={token}"],
                    capture_output=True, timeout=120, check=True).stdout.decode()
                comments = re.findall(r'<td class="col-comment">([^<]*)</td>', dom)
        finally:
            stop_process(process)
            process.stderr.close()
    assert comments == ["CreateMeeting: request WX601(info) WX301(warning)", "GetUser"], comments
