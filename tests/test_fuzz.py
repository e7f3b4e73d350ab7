"""Fuzzing parse -> lint -> fix and redaction with hypothesis (issue 6).

Generated serv:message documents (tests/strategies.py) and mutations of the 94 corpus messages go
through the whole pipeline; the properties are in tests/fuzz_properties.py. Redaction is fuzzed
with secrets of any text in every position it must cover.

Deterministic and bounded for CI (derandomized, a few hundred examples per test). For a long run:

    HYPOTHESIS_PROFILE=fuzz-long .venv/bin/pytest tests/test_fuzz.py

(`fuzz-long`: 50x the examples, random seeds, failures saved in .hypothesis/ and replayed).
"""

from __future__ import annotations

import codecs
import http.client
import json
import os
import subprocess
import sys
import time
from io import StringIO
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, Phase, example, find, given, settings
from hypothesis import strategies as st

from proxy_addon.core.fixes import apply_fixes
from proxy_addon.core.redaction import MASK, redact
from proxy_addon.exchange.linter import ExchangeLinter
from proxy_addon.exchange.observed import Observed
from proxy_addon.lint.context import LintContext
from proxy_addon.outputs.event_log import SECRETS_KEY, event_logger
from proxy_addon.outputs.formats import format_json, format_sarif, format_text
from proxy_addon.simulator.server import SERVICE_PATH, WebexSimulator

from . import fuzz_atheris
from .builders import CORPUS, REPO, request_xml, requires_corpus, response_xml
from .fuzz_properties import fixes_are_sound, survives
from .strategies import (
    CI_CONTEXTS,
    CORPUS_FILES,
    SECRET_ELEMENTS,
    SECRETS,
    SITE_ID,
    XML_CHARS,
    contexts,
    corpus_mutations,
    corpus_with_secret,
    in_attribute,
    in_json,
    in_query_string,
    in_xml_element,
    messages,
)

_COMMON = {"deadline": None, "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                                      HealthCheck.data_too_large, HealthCheck.filter_too_much]}
settings.register_profile("fuzz-ci", derandomize=True, database=None, max_examples=100, **_COMMON)
settings.register_profile("fuzz-long", derandomize=False, max_examples=5000, **_COMMON)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "fuzz-ci")
if PROFILE not in ("fuzz-ci", "fuzz-long"):
    PROFILE = "fuzz-ci"


def fuzz(examples: int):
    """Settings for one test: `examples` in CI, scaled up 50x by the fuzz-long profile."""
    profile = settings.get_profile(PROFILE)
    scale = 50 if PROFILE == "fuzz-long" else 1
    return settings(profile, max_examples=examples * scale)


# -- no input crashes the pipeline ----------------------------------------------------------------


@fuzz(250)
@given(data=st.binary(max_size=3000), context=contexts())
def test_any_bytes_survive_parse_lint_fix(linter, data, context):
    survives(linter, data, context)


@fuzz(200)
@given(text=st.text(XML_CHARS | st.sampled_from("<>/=\"'&;:![]?-"), max_size=400), context=contexts())
def test_any_markup_like_text_survives(linter, text, context):
    for encoding in ("utf-8", "utf-16"):
        survives(linter, text.encode(encoding), context)


@requires_corpus
@fuzz(200)
@given(data=corpus_mutations(), context=contexts())
def test_mutated_corpus_survives_and_fixes_soundly(linter, data, context):
    survives(linter, data, context)
    fixes_are_sound(linter, data, context)


# -- fixes are sound on generated messages ----------------------------------------------------------


@fuzz(300)
@given(data=messages(), context=contexts(), unsafe=st.booleans())
def test_generated_messages_fix_soundly(linter, data, context, unsafe):
    survives(linter, data, context)
    fixes_are_sound(linter, data, context, unsafe=unsafe)


@fuzz(80)
@given(data=messages(kind="request"), ci=st.booleans())
def test_schema_rename_fixes_are_sound(linter, data, ci):
    """--validate adds WX008 and its unsafe rename fix (siteId -> siteID, HQVideo -> HQvideo...)."""
    context = LintContext(validate=True, ci_sites=frozenset({"acme"} if ci else ()))
    survives(linter, data, context)
    fixes_are_sound(linter, data, context, unsafe=True)


@pytest.mark.parametrize("rule", ["WX101", "WX201", "WX301", "WX302", "WX401", "WX008"])
def test_the_generators_reach_every_fix(linter, rule):
    """The fix properties are only as good as the documents: each fixable rule gets fixed."""
    context = LintContext(validate=rule == "WX008", ci_sites=frozenset({"acme"}), site_ids={SITE_ID: "acme"})

    def fixed_by_rule(data: bytes) -> bool:
        return any(f.rule == rule for f in apply_fixes(linter.lint(data, context=context), unsafe=True).applied)

    found = find(messages(kind="request"), fixed_by_rule, settings=settings(
        max_examples=2000, derandomize=True, database=None, phases=[Phase.generate], deadline=None))
    assert fixed_by_rule(found)


@requires_corpus
def test_every_corpus_message_fixes_soundly(linter):
    fixed = 0
    for context in CI_CONTEXTS:
        for path in CORPUS_FILES:
            fixed += fixes_are_sound(linter, path.read_bytes(), context).changed
    assert fixed >= 3  # the corpus has siteID requests (WX101): the properties were exercised


def test_a_big_endian_utf16_message_stays_big_endian(linter):
    """Found by the fuzzer: fixes wrote UTF-16 with Python's own (little-endian) BOM."""
    text = request_xml("CreateMeeting", "<enableOptions>\n<HQvideo>true</HQvideo>\n</enableOptions>",
                       package="meeting", encoding="UTF-16").decode("utf-16")
    data = codecs.BOM_UTF16_BE + text.encode("utf-16-be")
    outcome = fixes_are_sound(linter, data, LintContext())
    assert outcome.changed and outcome.data.startswith(codecs.BOM_UTF16_BE + "<?xml".encode("utf-16-be"))


def test_the_fix_properties_catch_a_broken_fix(linter, monkeypatch):
    """The checker is not vacuous: a fix that touches a byte outside its element is caught."""
    from proxy_addon.core import fixes

    real = fixes._encode
    monkeypatch.setattr(fixes, "_encode", lambda text, original, encoding: real(text.replace("acme", "acmf"), original, encoding))
    data = request_xml("CreateMeeting", "<enableOptions>\n<HQvideo>true</HQvideo>\n</enableOptions>", package="meeting")
    with pytest.raises(AssertionError, match="outside the fixed elements"):
        fixes_are_sound(linter, data, LintContext())


# -- redaction: every secret, in every position ------------------------------------------------------


@fuzz(400)
@example(secret="0", name="password", prefix="", attrs=" x:y='a > b'", cdata=False, multiline=False, upper=False,
         truncated=False)
@example(secret="ab</password>cd", name="password", prefix="", attrs="", cdata=True, multiline=False, upper=False,
         truncated=False)
@given(secret=SECRETS, name=st.sampled_from(SECRET_ELEMENTS), prefix=st.sampled_from(["", "serv:", "use:"]),
       attrs=st.sampled_from(["", ' a="1"', " x:y='a > b'", '\n   z="q"']), cdata=st.booleans(),
       multiline=st.booleans(), upper=st.booleans(), truncated=st.booleans())
def test_secret_elements_are_masked(secret, name, prefix, attrs, cdata, multiline, upper, truncated):
    if cdata and "]]>" in secret:
        cdata = False
    name = name.upper() if upper else name
    element = in_xml_element(secret, name, prefix, attrs, cdata, multiline)
    # A credential element's attribute values are masked too (issue 12: <password value="..."/>).
    masked_attrs = {"": "", ' a="1"': f' a="{MASK}"', " x:y='a > b'": f" x:y='{MASK}'", '\n   z="q"': f'\n   z="{MASK}"'}
    start_tag = f"<{prefix}{name}{masked_attrs[attrs]}>"
    if truncated:  # a message cut inside the credential's element (captures, truncated bodies)
        text = "<webExID>admin</webExID>" + element[:element.rindex("</")]
        assert redact(text) == f"<webExID>admin</webExID>{start_tag}{MASK}"
        return
    text = f"<webExID>admin</webExID>{element}<siteName>acme</siteName>"
    assert redact(text) == f"<webExID>admin</webExID>{start_tag}{MASK}</{prefix}{name}><siteName>acme</siteName>"


@fuzz(400)
@example(secret='ab"cdef', name="password", position="json")  # found: the value ended at the escaped quote
@example(secret="\\", name="password", position="attribute")
@given(secret=SECRETS, name=st.sampled_from(SECRET_ELEMENTS + ("Authorization", "Cookie", "clientSecret")),
       position=st.sampled_from(["query", "json", "json-ascii", "attribute", "mapping"]))
def test_secret_values_in_key_value_positions_are_masked(secret, name, position):
    if position == "query":
        text = in_query_string(secret, name)
        assert redact(text) == f"https://acme.webex.com/x?user=admin&{name}={MASK}&n=1"
    elif position.startswith("json"):
        text = in_json(secret, name, ascii_only=position == "json-ascii")
        assert json.loads(redact(text)) == {"site": "acme", name: MASK, "n": 1}
    elif position == "attribute":
        assert redact(in_attribute(secret, name)) in (f'<credential site="acme" {name}="{MASK}"/>',
                                                      f"<credential site=\"acme\" {name}='{MASK}'/>")
    else:
        assert redact({"site": "acme", name: secret, "nested": [{name: secret}]}) == \
            {"site": "acme", name: MASK, "nested": [{name: MASK}]}


@fuzz(300)
@example(secret="a***", before="a", after="")  # found: masking "a***" in "aa***" left "a***"
@given(secret=SECRETS.filter(lambda s: len(s) >= 3 and s != MASK), before=st.text(max_size=20),
       after=st.text(max_size=20))
def test_known_secrets_are_masked_anywhere(secret, before, after):
    text = f"{before}{secret}{after} and again: {secret}"
    assert secret not in redact(text, frozenset({secret}))


@requires_corpus
@fuzz(200)
@given(case=corpus_with_secret(st.builds(lambda s: f"Kq7{s}7qK", SECRETS)))
def test_secret_elements_inserted_anywhere_in_real_messages_are_masked(case):
    """Wherever a credential element lands in a real message (inside tags, comments, other values)."""
    data, secret = case
    assert_hidden(secret, redact(data))


def test_prose_naming_secret_elements_is_left_alone(linter):
    """Finding messages and rule docs name <password>, <sessionTicket>...: only values are masked."""
    texts = [rule.message for rule in linter.ruleset.rules]
    texts += ["the schema's order is <webExID>, <password>, <sessionTicket>, <siteID>",
              "<password> is out of place in <securityContext>", "SetUser on a CI site ignores <password>"]
    assert any("<password>" in text for text in texts)
    for text in texts:
        assert redact(text) == text


def test_redacting_hostile_markup_stays_fast():
    """Found while fuzzing: each unclosed <password> scanned to the end of the text (quadratic: 160 KB
    of them took 90 s, and the audit store redacts whole unparseable messages). A generous bound."""
    started = time.monotonic()
    assert redact("<password>" * 16000 + "<password>x</password>").endswith(f"<password>{MASK}</password>")
    assert time.monotonic() - started < 5


# -- redaction through lint, the reporters, the findings log and the CLI ----------------------------

# A secret between markers: a leak of its start or its end shows as a marker in the output.
MARKED = st.builds(lambda s: f"Kq7{s}7qK", SECRETS)


def secret_forms(secret: str) -> set[str]:
    """The ways a secret can be written in output: raw, XML-escaped, JSON-escaped, repr-escaped."""
    return {secret, escape(secret), json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1],
            repr(secret)[1:-1], "Kq7", "7qK"}


def quoting_messages(secret: str) -> list[bytes]:
    """Messages whose credential also sits where findings quote values (webExID, dates, FAILURE reason)."""
    xml_secret = escape(secret)
    security = f"<siteName>acme</siteName><webExID>{xml_secret}</webExID><password>{xml_secret}</password>"
    return [
        request_xml("SetUser", f"<webExId>j@acme.com</webExId>\n<password>\n{xml_secret}\n</password>\n"
                    f"<email>j@acme.com</email>\n<expirationDate>{xml_secret}</expirationDate>", security=security),
        request_xml("AuthenticateUser", f"<accessToken>{xml_secret}</accessToken>", security=security),
        response_xml("GetUser", f"<use:sessionTicket>{xml_secret}</use:sessionTicket>", prefix="use",
                     area="user", result="FAILURE", reason=xml_secret, exception_id="030047"),
    ]


def assert_hidden(secret: str, output: str) -> None:
    leaked = [form for form in secret_forms(secret) if form and form in output]
    assert not leaked, f"secret leaked as {leaked!r}"


@fuzz(150)
@example(secret="Kq7\ud7fc7qK")  # found: findings quote values with repr(), which escaped the secret
@example(secret="Kq7it's \\ \"q\"7qK")
@given(secret=MARKED)
def test_secrets_never_reach_findings_or_reports(linter, secret):
    context = LintContext(ci_sites=frozenset({"acme"}))
    exchanges = ExchangeLinter(linter, context)
    for data in quoting_messages(secret):
        findings = exchanges.lint(Observed(data)).redacted_findings()  # what check hands its reporters
        assert findings, "the message was meant to produce findings that quote values"
        for reporter in (format_text, format_json, format_sarif):
            assert_hidden(secret, reporter(findings, linter.ruleset))


@fuzz(100)
@example(secret="Kq7\r7qK")
@given(secret=MARKED)
def test_secrets_never_reach_the_findings_log(linter, secret):
    """The proxy's event log pipeline (structlog processors, one redaction step) with real findings."""
    stream = StringIO()
    log = event_logger(stream)
    for data in quoting_messages(secret):
        result = linter.lint(data, context=LintContext(ci_sites=frozenset({"acme"})))
        for finding in result.findings:
            # notes: the credential as the parsed message holds it (XML turns CR into LF), anywhere in a field.
            log.info("finding", rule=finding.rule, message=finding.message, webex_id=result.message.webex_id,
                     notes=[f"seen {value} here" for value in result.message.secrets],
                     **{SECRETS_KEY: result.message.secrets})
    assert stream.getvalue().count("\n") >= 3
    assert_hidden(secret, stream.getvalue())


@fuzz(6)
# Found: \x85 split a diff line; a CR or an LF in a value split it across diff lines.
@example(secrets=["Kq7\x857qK", "Kq7a&lt;b7qK", "Kq7\r7qK", "Kq7\n7qK"])
@given(secrets=st.lists(MARKED, min_size=4, max_size=4))
def test_secrets_never_reach_check_output_or_diff(tmp_path_factory, secrets):
    """The real CLI: `check --format json` and `check --diff` on files holding the secrets (a few runs: processes)."""
    folder = tmp_path_factory.mktemp("secrets")
    for number, secret in enumerate(secrets):
        for kind, data in enumerate(quoting_messages(secret)):
            (folder / f"m{number}-{kind}.xml").write_bytes(data)
    outputs = []
    for mode in ("--format=json", "--diff"):  # --diff prints only the diff (as ruff): two runs
        done = subprocess.run([sys.executable, "-m", "proxy_addon.cli", "check", mode, "--ci-site", "acme", str(folder)],
                              check=False, cwd=REPO, capture_output=True, timeout=120)
        assert done.returncode == 1, done.stderr.decode("utf-8", "replace")
        outputs.append((done.stdout.decode("utf-8"), done.stderr.decode("utf-8", "replace")))
    # Findings, and the fixes: a diff, or a note where the changed line itself holds a credential.
    assert json.loads(outputs[0][0])["findings"]
    assert "+++ b/" in outputs[1][0] or "`check --fix` applies it" in outputs[1][1]
    for secret in secrets:
        for stdout, stderr in outputs:
            assert_hidden(secret, stdout)
            assert_hidden(secret, stderr)


@pytest.fixture
def live_proxy(start_proxy):
    """The real `webex-xml-lint proxy --rewrite` in front of the simulator, one for all the test's examples."""
    with WebexSimulator(ci_sites=["acme"]) as simulator:
        yield start_proxy("--rewrite", "--ci-site", "acme", mode=f"reverse:{simulator.base_url}")


@pytest.mark.e2e
@fuzz(2)
@given(secrets=st.lists(MARKED, min_size=3, max_size=3))
def test_secrets_never_reach_the_live_proxy_findings_log(live_proxy, secrets):
    before = len(live_proxy.events("finding"))
    connection = http.client.HTTPConnection("127.0.0.1", live_proxy.port, timeout=30)
    try:
        for secret in secrets:
            for data in quoting_messages(secret):
                connection.request("POST", SERVICE_PATH, body=data, headers={"Content-Type": "text/xml"})
                response = connection.getresponse()
                assert response.status == 200
                response.read()
    finally:
        connection.close()
    assert len(live_proxy.wait_for("finding")) >= before + 3 * len(secrets)
    log = live_proxy.log.read_text(encoding="utf-8")
    assert '"event":"rewrite"' in log  # the SetUser fixes were applied on the way upstream
    for secret in secrets:
        assert_hidden(secret, log)


# -- the atheris harness stays runnable --------------------------------------------------------------


@requires_corpus
def test_atheris_harness_runs_on_the_seeds():
    seeds = [path.read_bytes() for path in sorted(CORPUS.glob("*/*.xml"))]
    for data in seeds + [b"", b"<", b"\xff\xfe<\x00", bytes(range(256))]:
        fuzz_atheris.one_input(data)
