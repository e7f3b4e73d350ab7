"""Learning has a scope: a capture teaches only itself; a lone message file is linted on its own.

Like ruff, `check` gives a file the same findings whatever else is in the run: every rule fixture,
checked inside a folder whose capture teaches that every site it names is CI and runs an old API
version, reports exactly what it reports alone (its .expected file, which test_rule_fixtures holds
against `check FILE`).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict

from proxy_addon.cli import main
from proxy_addon.exchange.linter import ExchangeLinter
from proxy_addon.exchange.observed import PROXY_SOURCE, Observed
from proxy_addon.exchange.sniff import is_xml_api
from proxy_addon.mitm.pipeline import LintPipeline, Rewritten
from proxy_addon.settings import Settings

from .audit_support import day, har_entry, write_har
from .builders import request_xml, response_xml
from .rule_fixtures import rule_fixtures, sort_findings

_SITE_NAME = re.compile(rb"<(?:\w+:)?siteName>([^<]+)</(?:\w+:)?siteName>")


def _teaching_capture(path, sites: set[str]):
    """A HAR whose answers teach that each site is CI and runs API 39.5."""
    entries, minute = [], 0
    for site in sorted(sites):
        security = f"<siteName>{site}</siteName><webExID>admin</webExID><password>pw</password>"
        for operation, answer in (("GetSiteType", "<ep:siteType>1</ep:siteType>"),
                                  ("GetAPIVersion", "<ep:apiVer>39.5.0</ep:apiVer>")):
            request = request_xml(operation, security=security, package="site")
            entries.append(har_entry(request, response_xml(operation, answer), when=day(1).replace(minute=minute)))
            minute = (minute + 1) % 60
    return write_har(path, entries)


def test_a_file_reports_the_same_findings_inside_a_folder_whose_capture_teaches(tmp_path, capsys, monkeypatch):
    groups = defaultdict(list)
    for fixture in rule_fixtures():
        # Captures learn inside themselves (their own test); a folder walk leaves out what is no message.
        if not fixture.message.name.endswith(".har") and is_xml_api(None, fixture.data()):
            groups[tuple(fixture.expected().args)].append(fixture)
    monkeypatch.chdir(tmp_path)
    compared = 0
    for number, (args, fixtures) in enumerate(sorted(groups.items())):
        folder = tmp_path / f"group-{number}"
        folder.mkdir()
        sites = {"acme"}
        for fixture in fixtures:
            data = fixture.data()
            sites |= {name.decode("utf-8", "replace").strip() for name in _SITE_NAME.findall(data)}
            (folder / f"{fixture.rule}-{fixture.name}.xml").write_bytes(data)
        # Named to be read first: what it teaches would reach every file after it if learning had no scope.
        _teaching_capture(folder / "0-teaches.har", {site for site in sites if site and "<" not in site})
        capsys.readouterr()
        code = main(["check", "--format", "json", *args, str(folder)])
        captured = capsys.readouterr()
        assert code in (0, 1), captured.err
        by_file = defaultdict(list)
        for finding in json.loads(captured.out)["findings"]:
            by_file[finding["path"].rsplit("/", 1)[-1]].append(finding)
        for fixture in fixtures:
            actual = sort_findings(by_file[f"{fixture.rule}-{fixture.name}.xml"])
            wanted = sorted(fixture.expected().findings, key=lambda f: (f.line, f.column, f.rule))
            assert len(actual) == len(wanted) and all(w.matches(a) for w, a in zip(wanted, actual, strict=False)), (
                fixture.id, [f"{f['rule']} {f['message']}" for f in actual], [str(w) for w in wanted])
            compared += 1
    assert compared > 100  # every message fixture, each inside a folder that teaches


def test_a_capture_learns_only_from_itself(tmp_path, capsys):
    """Two captures in one run: what the first teaches does not reach the second."""
    set_user = request_xml("SetUser", "<webExId>u</webExId><active>DEACTIVATED</active>",
                           security="<siteName>acme</siteName><webExID>admin</webExID><password>pw</password>")
    site_type = request_xml("GetSiteType", security="<siteName>acme</siteName><webExID>admin</webExID>",
                            package="site")
    _teaching = [har_entry(site_type, response_xml("GetSiteType", "<ep:siteType>1</ep:siteType>"), when=day(1)),
                 har_entry(set_user, response_xml("SetUser"), when=day(1, 10))]
    write_har(tmp_path / "a-teaches.har", _teaching)
    write_har(tmp_path / "b-alone.har", [har_entry(set_user, response_xml("SetUser"), when=day(2))])
    main(["check", "--format", "json", str(tmp_path)])
    findings = json.loads(capsys.readouterr().out)["findings"]
    wx201 = {f["path"].rsplit("/", 1)[-1] for f in findings if f["rule"] == "WX201"}
    assert wx201 == {"a-teaches.har"}, findings


# -- facts belong to the upstream that taught them (issue 21, item 2) ----------------------------

_ACME = "<siteName>acme</siteName><webExID>admin</webExID><password>pw</password>"
_SET_USER = request_xml("SetUser", "<webExId>u</webExId><active>DEACTIVATED</active>", security=_ACME)
_GET_SITE_TYPE = request_xml("GetSiteType", security=_ACME, package="site")
_CI_ANSWER = response_xml("GetSiteType", "<ep:siteType>1</ep:siteType>")


def _proxied(data: bytes, direction: str, flow: str, upstream: str) -> Observed:
    return Observed(data, direction, PROXY_SOURCE, flow, client_address="127.0.0.1:5000", upstream=upstream)


def test_a_fact_applies_only_to_the_upstream_whose_answer_taught_it(linter):
    exchanges = ExchangeLinter(linter)
    exchanges.lint(_proxied(_GET_SITE_TYPE, "request", "f1", "evil.example:443"))
    exchanges.lint(_proxied(_CI_ANSWER, "response", "f1", "evil.example:443"))
    real = exchanges.lint(_proxied(_SET_USER, "request", "f2", "acme.webex.com:443"))
    same = exchanges.lint(_proxied(_SET_USER, "request", "f3", "evil.example:443"))
    assert "WX201" not in {f.rule for f in real.findings}
    assert "WX201" in {f.rule for f in same.findings}


def _pipeline(linter, **settings) -> LintPipeline:
    pipeline = LintPipeline(linter)
    pipeline.configure(Settings(rewrite=True, **settings))
    return pipeline


def _rewritten_after_learning(pipeline: LintPipeline) -> Rewritten | None:
    pipeline.message(_proxied(_GET_SITE_TYPE, "request", "f1", "acme.webex.com:443"))
    pipeline.message(_proxied(_CI_ANSWER, "response", "f1", "acme.webex.com:443"))
    _annotation, rewritten = pipeline.message(_proxied(_SET_USER, "request", "f2", "acme.webex.com:443"))
    return rewritten


def test_a_learned_fact_drives_no_rewrite_unless_asked(linter):
    pipeline = _pipeline(linter)
    assert _rewritten_after_learning(pipeline) is None  # the finding is logged; the body goes as it was
    record = pipeline.exchanges.pending((PROXY_SOURCE, "f2"))
    [wx201] = [f for f in record.findings if f.rule == "WX201"]
    assert wx201.learned and any("learned as CI" in note for note in wx201.notes)


def test_rewrite_learned_opts_in(linter):
    rewritten = _rewritten_after_learning(_pipeline(linter, rewrite_learned=True))
    assert rewritten is not None and b"DEACTIVATED" not in rewritten.data


def test_a_configured_ci_site_still_drives_the_rewrite_after_the_same_answer(linter):
    rewritten = _rewritten_after_learning(_pipeline(linter, ci_sites=("acme",)))
    assert rewritten is not None and b"DEACTIVATED" not in rewritten.data
