"""Patterns that read message values run in time linear in the value (issue 21, Medium 3).

Each had a value that made it backtrack quadratically under the default rules: a 100 KB confName
of "{{" (placeholder test, 26 s), an xsi:type ending in 100,000 spaces and a digit (the lenient
request type, 42 s), a 64 KB webExId (WX102's e-mail pattern, 15-20 s). Each is checked on such a
value, and against the pattern it replaces on many short random values: the same answers.
"""

from __future__ import annotations

import random
import re
import time

import pytest

from proxy_addon.core.message import _lenient_request_type, operation_from_request_type
from proxy_addon.lint.checks import is_placeholder
from proxy_addon.lint.ruleset import builtin_rules

# The patterns as they were: the reference for what the linear code must answer.
OLD_PLACEHOLDER = re.compile(r"\{\{.*?\}\}|\$\{.*?\}|%\(\w+\)s|^\{\w+\}$")
OLD_LENIENT_REQUEST_TYPE = re.compile(
    r"java\s*[:.]\s*com\s*\.\s*webex\s*\.\s*service\s*\.\s*binding\s*\.+\s*"
    r"(?P<package>[a-z]+(?:\s*\.+\s*[a-z]+)*?)\s*\.+\s*(?P<operation>[A-Z][A-Za-z\s]*?)\s*$",
    re.IGNORECASE,
)
OLD_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PREFIX = "java:com.webex.service.binding."
BUDGET = 1.0  # seconds for ~100 KB; each took 15 s or more before


def _email():
    return builtin_rules().by_id["WX102"].options["match"]


def _timed(function, value) -> float:
    started = time.process_time()
    function(value)
    return time.process_time() - started


@pytest.mark.parametrize("value", [
    "{{" * 50_000,                      # the confName of the report
    "${" * 50_000,
    "{{\n" * 30_000,
    "%(" + "a" * 100_000,
])
def test_placeholder_test_is_linear(value):
    assert _timed(is_placeholder, value) < BUDGET


@pytest.mark.parametrize("value", [
    PREFIX + "user.GetUser" + " " * 100_000 + "1",   # the xsi:type of the report
    PREFIX * 5_000 + "a1.Op",
    PREFIX + "a." * 50_000 + "1",
    PREFIX + "a" + " " * 100_000 + ".Op1",
    PREFIX + "a.O" + " a" * 50_000 + "1",
])
def test_lenient_request_type_is_linear(value):
    assert _timed(operation_from_request_type, value) < BUDGET


@pytest.mark.parametrize("value", [
    "x@" + "a." * 32_000 + " ",                      # a 64 KB webExId
    "a@" * 50_000,
    "a@" + "." * 100_000 + " ",
])
def test_webex_id_email_pattern_is_linear(value):
    assert _timed(_email().search, value) < BUDGET


def _old_lenient(text):
    found = OLD_LENIENT_REQUEST_TYPE.search(text)
    return (found.group("package"), re.sub(r"\s+", "", found.group("operation"))) if found else None


def _new_lenient(text):
    found = _lenient_request_type(text)
    return (found[0], re.sub(r"\s+", "", found[1])) if found else None


def test_the_linear_code_answers_as_the_old_patterns():
    rnd = random.Random(21)
    lenient_pieces = ["java", "JAVA", ":", ".", "..", " ", "\n", "\t", "\u00a0", "\x1c", "com", "webex",
                      "service", "binding", "user", "GetUser", "a", "Z", "1", "_", "\u212a", "\u017f", PREFIX,
                      "java.com . webex.service.binding.."]
    tails = ["a", "b", "Z", ".", "..", " ", "\n", "1", "Op", PREFIX, " . ", "\u00a0", ":"]
    placeholder_pieces = ["{", "}", "{{", "}}", "$", "${", "%", "(", ")", "s", "a", "\n", " ", "_", "%(a)s", "\r"]
    email_pieces = ["a", "@", ".", " ", "\n", "b", "\t", "-", "..", "@.", "\u00a0", "\u00e9"]
    matched = 0
    for _ in range(30_000):
        text = "".join(rnd.choice(lenient_pieces) for _ in range(rnd.randint(0, 14)))
        assert _new_lenient(text) == _old_lenient(text), text
        text = rnd.choice(["", " ", "java"]) + rnd.choice([PREFIX, "JAVA . com.webex . service.binding.."]) + \
            "".join(rnd.choice(tails) for _ in range(rnd.randint(0, 10)))
        expected = _old_lenient(text)
        matched += expected is not None
        assert _new_lenient(text) == expected, text
        text = "".join(rnd.choice(placeholder_pieces) for _ in range(rnd.randint(0, 10)))
        assert is_placeholder(text) == bool(OLD_PLACEHOLDER.search(text)), text
        text = "".join(rnd.choice(email_pieces) for _ in range(rnd.randint(0, 10)))
        assert bool(_email().search(text)) == bool(OLD_EMAIL.search(text)), text
    assert matched > 500  # the comparison covered types the lenient reading accepts, not only refusals
