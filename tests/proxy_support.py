"""Helpers for the simulator, addon and proxy tests: TLS material, free ports, bounded waits, processes."""

from __future__ import annotations

import ipaddress
import socket
import ssl
import subprocess
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from mitmproxy.certs import CertStore


def make_server_context(confdir: Path) -> tuple[ssl.SSLContext, Path]:
    """A TLS context for an upstream on localhost/127.0.0.1, signed by the mitmproxy CA in `confdir`.

    The CA is created as mitmdump would create it, so a mitmdump with the same confdir, and a client
    trusting `mitmproxy-ca-cert.pem`, both trust the upstream. Returns (context, CA certificate file).
    """
    store = CertStore.from_store(confdir, "mitmproxy", 2048)
    sans = x509.GeneralNames([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    entry = store.get_cert("localhost", sans)
    cert_file, key_file = confdir / "upstream-cert.pem", confdir / "upstream-key.pem"
    cert_file.write_bytes(entry.cert.to_pem())
    key_file.write_bytes(entry.privatekey.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context, confdir / "mitmproxy-ca-cert.pem"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen | None = None, timeout: float = 30.0) -> None:
    """Wait until something accepts connections on 127.0.0.1:port (or the process dies)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout:.0f}s")


def stop_process(process: subprocess.Popen, timeout: float = 10.0) -> None:
    """Terminate, then kill after `timeout`; always reaps the process."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
    process.wait()
