"""What a capture remembers from earlier answers, as the checks ask for it: the kinds and their keys.

AuthenticateUser answers issue session tickets (remembered by digest, never by value, with when they
expire); LstRecording answers list recordings shared with the user (shareToMe); a 010106 or 010107
failure says the site refuses a kind of request (classic Events, or scheduling on a suspended site). The exchange layer
learns them in capture order; a check asks for them through its context (`LintContext.remembered`),
which remembers nothing outside a capture.
"""

from __future__ import annotations


SESSION_TICKET, SHARED_RECORDING = "session-ticket", "shared-recording"
# A site's refusal of a whole kind of request (key: the exceptionID): 010106, the classic Event is
# disabled (41.12); 010107, the site is suspended (42.5). Later requests of that kind will be refused.
SITE_REFUSAL = "site-refusal"


def ticket_digest(ticket: str) -> str:
    """How a session ticket is remembered and named: never by its value."""
    import hashlib  # noqa: PLC0415 (its OpenSSL digests cost every check ~2 ms of start-up; few messages have a ticket)

    return hashlib.sha256(ticket.strip().encode()).hexdigest()


def shared_recording_key(webex_id: str | None, recording_id: str) -> str:
    """shareToMe is relative to the user who listed: the same recording may be another user's own."""
    return f"{(webex_id or '').lower()}|{recording_id}"


def duration(seconds: float) -> str:
    """"1 h 5 min", "3 min 20 s", "1 s": a delay to the nearest second (times carry fractions: a request
    0.9 s after the expiry shown, itself rounded down, was called "0 s" late)."""
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else (f"{minutes} min {secs} s" if minutes else f"{secs} s")
