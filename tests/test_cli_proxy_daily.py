"""`webex-xml-lint proxy` as a user starts it (issue 23): a busy port, the console, mitmweb."""

from __future__ import annotations

import socket
import subprocess
import sys

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
