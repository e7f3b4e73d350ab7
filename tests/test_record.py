"""The exchange record: what every consumer reads of an exchange, and what leaves the process."""

from __future__ import annotations

import dataclasses

from proxy_addon.core.findings import Finding, Fix, Severity
from proxy_addon.exchange.linter import ExchangeLinter
from proxy_addon.exchange.observed import Observed
from proxy_addon.exchange.record import Outcome

from .builders import request_xml, response_xml

PASSWORD = "Tr0ub4dor-3x!"
SECURITY = f"<siteName>acme</siteName><webExID>admin</webExID><password>{PASSWORD}</password>"


def test_a_masked_finding_keeps_every_other_field():
    values = {"rule": "WX101", "name": "site-id", "severity": Severity.ERROR, "message": "m", "line": 3, "column": 4,
              "path": "p.har", "operation": "GetUser", "direction": "request", "predicts": "060067",
              "fix": Fix("remove", True, "remove", 2), "element_index": 2, "notes": ["n"], "locator": "entry 1",
              "learned": True}
    assert set(values) == {field.name for field in dataclasses.fields(Finding)}  # a new field must be listed here
    finding = Finding(**values)
    assert finding.masked(str) == finding
    assert finding.masked(str.upper) == dataclasses.replace(finding, message="M", notes=["N"])


def test_the_record_goes_pending_then_failed_and_masks_an_echoed_password(linter):
    exchanges = ExchangeLinter(linter)
    request = exchanges.lint(Observed(request_xml("GetUser", "<webExId>jdoe</webExId>", security=SECURITY),
                                      "request", "capture.har", "entry 1"))
    assert request.outcome is Outcome.PENDING and request.response is None and request.site == "acme"
    echo = response_xml("GetUser", result="FAILURE", reason=f"bad password {PASSWORD}", exception_id="030047")
    answered = exchanges.lint(Observed(echo, "response", "capture.har", "entry 1"))
    assert answered.outcome is Outcome.FAILED and answered.failure == "030047"
    assert answered.request is request.request and answered.operation == "GetUser"
    assert PASSWORD in answered.secrets
    raw = " ".join(f.message for f in answered.findings_in("response"))
    assert PASSWORD in raw  # the rule quotes the reason: the record must not let it out as it is
    shown = answered.redacted_findings("response")
    assert shown and all(PASSWORD not in f.message and all(PASSWORD not in n for n in f.notes) for f in shown)


def test_a_request_whose_flow_dies_is_unanswered(linter):
    exchanges = ExchangeLinter(linter)
    exchanges.lint(Observed(request_xml("GetUser", security=SECURITY), "request", "proxy", "f1"))
    assert exchanges.in_flight == 1
    record = exchanges.forget(("proxy", "f1"))
    assert record.outcome is Outcome.UNANSWERED and exchanges.in_flight == 0


def test_a_lone_file_is_alone_and_never_waits(linter):
    exchanges = ExchangeLinter(linter)
    record = exchanges.lint(Observed(request_xml("GetUser", security=SECURITY)))
    assert record.outcome is Outcome.ALONE and exchanges.in_flight == 0


def test_the_pipeline_builds_its_linter_once_for_team_packs(tmp_path, monkeypatch, linter):
    """The worker builds the linter for its settings; configuring with the same packs builds no other."""
    from proxy_addon.mitm import pipeline as pipeline_module  # noqa: PLC0415
    from proxy_addon.settings import Settings  # noqa: PLC0415

    pack = tmp_path / "team.yaml"
    pack.write_text("rules: []\n", encoding="utf-8")
    built = []
    monkeypatch.setattr(pipeline_module, "make_linter", lambda settings: built.append(settings) or linter)
    settings = Settings(rule_packs=(str(pack),))
    pipeline = pipeline_module.LintPipeline(linter, settings.rule_packs)
    pipeline.configure(settings)
    assert built == []
    pipeline.configure(Settings(rule_packs=()))
    assert len(built) == 1  # a change of packs does build anew


def test_a_delay_is_rounded_to_the_nearest_second():
    """A request 1 s after the expiry WX106 shows (itself cut to the second) was called "0 s" late."""
    from proxy_addon.lint.memory import duration  # noqa: PLC0415

    assert [duration(s) for s in (0.88, 1.2, 59.6, 1799.88, 3725)] == ["1 s", "1 s", "1 min 0 s", "30 min 0 s",
                                                                      "1 h 2 min"]
