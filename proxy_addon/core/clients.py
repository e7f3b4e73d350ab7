"""Who a client is: the machine that sent a message, not one of its connections."""

from __future__ import annotations


def client_host(address: str | None) -> str | None:
    """The host from the proxy's "host:port" (mitmproxy's peername, IPv6 too): a client is a
    machine, not a connection, in the store and in once-per-client logging (captures name the host
    alone). Anything else is returned as it is."""
    if not address:
        return address
    host, separator, port = address.rpartition(":")
    return host.strip("[]") if separator and host and port.isdigit() else address
