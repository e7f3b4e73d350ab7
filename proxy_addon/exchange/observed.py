"""What every entry point observes: one message with how it was seen, and a request<->response exchange.

The proxy builds an `Observed` per flow direction, the capture readers one per message they find in
a file, HAR entry or flow dump; all of them are linted by the same `ExchangeLinter`.

Plain classes, not dataclasses: `check FILE` creates these at import, and a dataclass costs its
start-up ~0.5-1.5 ms to generate (core/frozen.py).
"""

from __future__ import annotations

from proxy_addon.core.frozen import Frozen
from proxy_addon.core.text import format_time

PROXY_SOURCE = "proxy"
_set = object.__setattr__


class Observed(Frozen):
    """One XML API message as it was seen on the wire (or in a file). Immutable; compares by value."""

    __slots__ = (
        "data",
        "direction",  # "request" / "response"; None: let the linter decide (a lone .xml file)
        "source",  # the capture file, "-" for stdin, PROXY_SOURCE for live traffic
        "locator",  # where in the source: "" for a whole .xml file, "entry 3", "flow 7", a proxy flow id
        "time",  # seconds since the epoch, UTC
        "client_address",
        "user_agent",
        "http_charset",  # the Content-Type charset
        # The server the message went to or came from ("acme.webex.com:443"): learned facts are scoped
        # to it, so one client's own server cannot teach what another client's requests to the real one get.
        "upstream",
        # Where a capture recorded the message, for a finding to name its input (the audit store):
        # a HAR entry's or a flow's request URL (the store keeps scheme, host and path only) and a
        # flow dump's flow id. The proxy's flow id is its locator.
        "url",
        "flow_id",
    )

    def __init__(self, data: bytes, direction: str | None = None, source: str = "-", locator: str = "",
                 time: float | None = None, client_address: str | None = None, user_agent: str | None = None,
                 http_charset: str | None = None, upstream: str | None = None,
                 url: str | None = None, flow_id: str | None = None):
        # One message per file in a folder walk: a written-out __init__, not Frozen's generic one.
        _set(self, "data", data)
        _set(self, "direction", direction)
        _set(self, "source", source)
        _set(self, "locator", locator)
        _set(self, "time", time)
        _set(self, "client_address", client_address)
        _set(self, "user_agent", user_agent)
        _set(self, "http_charset", http_charset)
        _set(self, "upstream", upstream)
        _set(self, "url", url)
        _set(self, "flow_id", flow_id)

    @property
    def exchange_key(self) -> tuple[str, str]:
        """What a request and its response share: a flow, a HAR entry. "" locators never pair."""
        return self.source, self.locator

    def where(self) -> str:
        """"capture.har entry 3 at 2024-05-01 09:30:00 UTC", "proxy flow 1f2e… at …": for provenance."""
        place = f"flow {self.locator}" if self.source == PROXY_SOURCE else (
            f"{self.source} {self.locator}" if self.locator else self.source)
        return f"{place} at {format_time(self.time)}" if self.time is not None else place


class Exchange:
    """A request and, when it was captured, its response, in capture order; or one lone message.

    `weight` is how many bytes of input the exchange accounts for, so progress can be shown in bytes.
    """

    __slots__ = ("messages", "weight")

    def __init__(self, messages: tuple[Observed, ...], weight: int = 0):
        self.messages = messages
        self.weight = weight

    def __eq__(self, other: object) -> bool:
        return type(other) is Exchange and (other.messages, other.weight) == (self.messages, self.weight)  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]  # mutable, as the dataclass it replaces

    def __reduce__(self) -> tuple:
        return Exchange, (self.messages, self.weight)

    def __repr__(self) -> str:
        return f"Exchange(messages={self.messages!r}, weight={self.weight!r})"
