"""Shared fixtures: one linter per session (the rule packs load once); real proxies for the e2e tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from mitmproxy.test import taddons

from proxy_addon.lint.engine import Linter
from proxy_addon.mitm import addons as addon_module
from tests.proxy_support import (
    MITMDUMP,
    REPO,
    Harness,
    RunningProxy,
    free_port,
    stop_process,
    wait_for_port,
)


@pytest.fixture(scope="session")
def linter() -> Linter:
    return Linter()


@pytest.fixture(scope="module")
def confdir(tmp_path_factory) -> Path:
    """One mitmproxy configuration folder (its CA) for the module: clients and upstreams trust it."""
    return tmp_path_factory.mktemp("mitmproxy-conf")


@pytest.fixture
def start_proxy(tmp_path, confdir):
    """Start `webex-xml-lint proxy` (or, with direct=True, `mitmdump -s addon.py`); always stopped."""
    started: list[subprocess.Popen] = []

    def start(*flags: str, env: dict[str, str] | None = None, direct: bool = False, mode: str | None = None,
              cwd: Path = REPO) -> RunningProxy:
        port = free_port()
        log = tmp_path / f"findings-{port}.jsonl"
        mitm_options = ["--set", f"confdir={confdir}",
                        "--set", f"ssl_verify_upstream_trusted_ca={confdir / 'mitmproxy-ca-cert.pem'}"]
        if direct:
            command = [str(MITMDUMP), "-q", "--listen-host", "127.0.0.1", "--listen-port", str(port),
                       "-s", str(REPO / "proxy_addon" / "addon.py"), "--set", f"webexlint_findings_log={log}",
                       *(["--mode", mode] if mode else []), *flags, *mitm_options]
        else:
            command = [sys.executable, "-m", "proxy_addon.cli", "proxy", "--listen-port", str(port),
                       "--findings-log", str(log), *(["--mode", mode] if mode else []), *flags,
                       *([] if "--" in flags else ["--"]), *mitm_options]
        process = subprocess.Popen(command, cwd=cwd, env={**os.environ, **(env or {})},
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        started.append(process)
        wait_for_port(port, process, timeout=60)
        return RunningProxy(process, port, log, mode)

    yield start
    for process in started:
        stop_process(process)
        if process.stderr:
            process.stderr.close()


@pytest.fixture
def addon_harness(tmp_path):
    """The addons in a mitmproxy test master, linting in-process: each hook has logged its findings
    when it returns (the lint worker has tests of its own)."""
    chain = addon_module.make_addons()
    with taddons.context(*chain) as tctx:
        log_path = tmp_path / "findings.jsonl"
        tctx.options.update(webexlint_offload=False, webexlint_findings_log=str(log_path))
        yield Harness(tctx, chain, log_path)
        chain[0].done()
