"""Redaction at exit skips the pattern passes for text that names no credential: they must have had
nothing to change there. And each exchange's secrets are masked in every written form as before."""

from __future__ import annotations

import random

from proxy_addon.core import redaction
from proxy_addon.core.redaction import MASK, redact_text

PIECES = ["<", ">", "</", "=", '"', "'", ":", " ", "\n", "a", "value", "ns:", "Pass", "word", "pass_word", "TOKEN",
          "to\u212aen", "tick", "et", "secret", "PIN", "pinned", "cookie", "Authorization", "hostKey", "x-", "&", "ticket"]


def _all_passes(text: str) -> str:
    text = redaction._mask_xml_elements(text)
    text = redaction._mask_key_values(text)
    return redaction._HEADER_LINE.sub(redaction._mask_key_value, text)


def test_text_that_names_no_credential_is_left_alone_by_every_pass():
    chance = random.Random(19)
    skipped = 0
    for _ in range(20_000):
        text = "".join(chance.choice(PIECES) for _ in range(chance.randint(1, 12)))
        if not redaction._may_name_a_secret(text):
            skipped += 1
            assert _all_passes(text) == text, text
        assert redact_text(text) == _all_passes(text), text
    assert skipped > 1000  # the fast path was exercised


def test_a_kelvin_sign_still_names_a_token():
    text = 'to\u212aen="abc123"'
    assert redaction._may_name_a_secret(text)
    assert redact_text(text) == f'to\u212aen="{MASK}"'


def test_known_secrets_are_masked_longest_first_in_every_form():
    secrets = frozenset({"hunter22", "hunter22!x", 'q"uote'})
    text = "sent hunter22!x then hunter22 and 'q\\\"uote'"
    assert redact_text(text, secrets) == redact_text(text, set(secrets))
    masked = redact_text(text, secrets)
    assert "hunter22" not in masked and "uote" not in masked and masked.count(MASK) == 3 and masked.startswith("sent *** then ***")
