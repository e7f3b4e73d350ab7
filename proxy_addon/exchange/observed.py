"""What every entry point observes: one message with how it was seen, and a request<->response exchange.

The proxy builds an `Observed` per flow direction, the capture readers one per message they find in
a file, HAR entry or flow dump; all of them are linted by the same `ExchangeLinter`.
"""

from __future__ import annotations

from dataclasses import dataclass

from proxy_addon.core.text import format_time

PROXY_SOURCE = "proxy"


@dataclass(frozen=True, slots=True)
class Observed:
    """One XML API message as it was seen on the wire (or in a file)."""

    data: bytes
    direction: str | None = None  # "request" / "response"; None: let the linter decide (a lone .xml file)
    source: str = "-"  # the capture file, "-" for stdin, PROXY_SOURCE for live traffic
    locator: str = ""  # where in the source: "" for a whole .xml file, "entry 3", "flow 7", a proxy flow id
    time: float | None = None  # seconds since the epoch, UTC
    client_address: str | None = None
    user_agent: str | None = None
    http_charset: str | None = None  # the Content-Type charset
    # The server the message went to or came from ("acme.webex.com:443"): learned facts are scoped to it,
    # so one client's own server cannot teach what another client's requests to the real one get.
    upstream: str | None = None
    # Where a capture recorded the message, for a finding to name its input (the audit store):
    # a HAR entry's or a flow's request URL (the store keeps scheme, host and path only) and a
    # flow dump's flow id. The proxy's flow id is its locator.
    url: str | None = None
    flow_id: str | None = None

    @property
    def exchange_key(self) -> tuple[str, str]:
        """What a request and its response share: a flow, a HAR entry. "" locators never pair."""
        return self.source, self.locator

    def where(self) -> str:
        """"capture.har entry 3 at 2024-05-01 09:30:00 UTC", "proxy flow 1f2e… at …": for provenance."""
        place = f"flow {self.locator}" if self.source == PROXY_SOURCE else (
            f"{self.source} {self.locator}" if self.locator else self.source)
        return f"{place} at {format_time(self.time)}" if self.time is not None else place


@dataclass(slots=True)
class Exchange:
    """A request and, when it was captured, its response, in capture order; or one lone message.

    `weight` is how many bytes of input the exchange accounts for, so progress can be shown in bytes.
    """

    messages: tuple[Observed, ...]
    weight: int = 0


