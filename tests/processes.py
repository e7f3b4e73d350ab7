"""Child processes that serve on loopback: a free port, waiting until one listens, stopping one.

The demo starts the simulator's and the proxy's processes with these; the tests and benchmarks
that run real proxies use them too.
"""

from __future__ import annotations

import socket
import subprocess
import time


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen | None = None, timeout: float = 30.0, *,
                  what: str = "the process") -> None:
    """Wait until something accepts connections on 127.0.0.1:port; raise if `process` dies first
    (RuntimeError) or nothing listens within `timeout` seconds (TimeoutError)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited with status {process.returncode} before listening on 127.0.0.1:{port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"{what} did not listen on 127.0.0.1:{port} within {timeout:.0f}s")


def stop_process(process: subprocess.Popen, timeout: float = 10.0) -> None:
    """Terminate, then kill after `timeout`; always reaps the process."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
    process.wait()
