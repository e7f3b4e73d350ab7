"""The one redaction function: every credential, in every position we report."""

from __future__ import annotations

import pytest

from proxy_addon.core.redaction import MASK, is_secret_name, redact


@pytest.mark.parametrize("name", ["password", "sessionTicket", "accessToken", "samlResponse", "meetingPassword",
                                  "audioPassword", "hostKey", "panelistNumericPassword", "webExAccessToken",
                                  "use:sessionTicket", "{urn:x}hostPin", "passwordHintAnswer"])
def test_credential_names(name):
    assert is_secret_name(name)


@pytest.mark.parametrize("name", ["sessionKey", "meetingKey", "webExID", "siteName", "confName"])
def test_identifiers_are_not_credentials(name):
    assert not is_secret_name(name)


def test_xml_elements_are_masked_with_prefix_attributes_and_lines():
    text = '<use:sessionTicket a="1">AAAB\nCC==</use:sessionTicket><sessionKey>123</sessionKey><password/>'
    # A credential element's attributes are masked too (issue 12: <password value="..."/>).
    assert redact(text) == f'<use:sessionTicket a="{MASK}">{MASK}</use:sessionTicket><sessionKey>123</sessionKey><password/>'


def test_query_strings_json_and_headers():
    assert redact("x?password=hunter2&y=1") == f"x?password={MASK}&y=1"
    assert redact('{"accessToken": "abc", "n": 1}') == f'{{"accessToken": "{MASK}", "n": 1}}'
    assert redact("Authorization: Bearer abc.def") == f"Authorization: {MASK}"


def test_mappings_and_sequences_recursively():
    event = {"password": "pw", "nested": [{"sessionTicket": "t"}, "<accessToken>z</accessToken>"], "site": "acme"}
    assert redact(event) == {"password": MASK, "nested": [{"sessionTicket": MASK}, f"<accessToken>{MASK}</accessToken>"],
                             "site": "acme"}


def test_known_secret_values_are_masked_anywhere():
    assert redact("user typed hunter2 into the reason", {"hunter2"}) == f"user typed {MASK} into the reason"


def test_prose_about_tickets_is_left_alone():
    text = "not a valid session ticket: it expired"
    assert redact(text) == text


def test_secret_start_tags_are_found_as_the_pattern_finds_them():
    # The search tries the pattern only at tags whose name ends like a credential's (with the tree's
    # names, only at those): it must find exactly what the pattern finds at every "<".
    import random

    from proxy_addon.core import redaction

    pieces = ["<", ">", "/", " ", "\n", '"', "'", "a", "p:", "password", "Password", "PASSWORD", "token", "pin",
              "=", "sessionTicket", "hostKey", "<![CDATA[", "]]>", "\u0130", "\u212a", "\u017fecret", "set-cookie",
              "passwordhintanswer", "passwordHint", "clientSecret", ":", "\t", "-", "."]
    rnd = random.Random(7)
    for _ in range(20000):
        text = "".join(rnd.choice(pieces) for _ in range(rnd.randint(1, 30)))
        expected = [m.span() for m in redaction._SECRET_START_TAG.finditer(text)]
        assert [m.span() for m in redaction._secret_start_tags(text)] == expected, text
    text = '<m><p:password a="1">x</p:password><tokenA>y</tokenA><Token>z</Token><pin/></m>'
    qnames = {"p:password", "Token", "pin"}  # what the tree names as credentials
    assert redaction.credential_spans(text, qnames) == redaction.credential_spans(text)
    assert [qname for _, _, qname in redaction.credential_spans(text)] == ["p:password", "Token"]
