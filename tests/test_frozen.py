"""core/frozen.py: the dataclass stand-in for values created at start-up."""

from __future__ import annotations

import copy
import pickle

import pytest

from proxy_addon.core.frozen import Frozen
from proxy_addon.lint.lifecycle import Operation, Rest, Source
from proxy_addon.lint.ruleset import FixSpec


class Point(Frozen):
    __slots__ = ("x", "y", "label")
    _defaults = {"label": ""}


def test_built_by_position_or_keyword_with_defaults():
    assert Point(1, 2) == Point(x=1, y=2) == Point(1, y=2, label="")
    assert Point(1, 2, "a").label == "a" and Point(1, 2).label == ""
    assert Point(1, 2) != Point(2, 1) and Point(1, 2) != (1, 2, "")
    assert hash(Point(1, 2)) == hash(Point(x=1, y=2))
    assert repr(Point(1, 2)) == "Point(x=1, y=2, label='')"


@pytest.mark.parametrize("build, problem", [
    (lambda: Point(1), "needs 'y'"),
    (lambda: Point(1, 2, "a", "extra"), "at most 3"),
    (lambda: Point(1, 2, z=3), "unexpected or repeated field 'z'"),
    (lambda: Point(1, 2, x=3), "unexpected or repeated field 'x'"),
])
def test_a_wrong_call_is_a_type_error(build, problem):
    with pytest.raises(TypeError, match=problem):
        build()


def test_immutable_and_copied_or_pickled_whole():
    point = Point(1, 2)
    with pytest.raises(AttributeError):
        point.x = 3
    with pytest.raises(AttributeError):
        del point.y
    with pytest.raises(AttributeError):
        point.z = 3  # no __dict__: a typo cannot add a field
    assert pickle.loads(pickle.dumps(point)) == point == copy.deepcopy(point)


def test_the_values_check_creates_are_frozen_values():
    source = Source("s", "https://example.com", "says")
    operation = Operation("CreateMeeting", "meeting", "deprecated", "stated", source, Rest("none-known"))
    assert operation.note == "" and operation.known is True and operation.rest.label == "none known"
    assert FixSpec("remove", True) == FixSpec(action="remove", safe=True)


def test_a_lazy_pattern_compiles_on_first_use_and_reads_like_re():
    import re  # noqa: PLC0415

    from proxy_addon.core.frozen import LazyPattern  # noqa: PLC0415

    lazy = LazyPattern(r"(?P<word>ab+)", re.IGNORECASE)
    with pytest.raises(AttributeError):
        object.__getattribute__(lazy, "match")  # nothing compiled yet
    compiled = re.compile(r"(?P<word>ab+)", re.IGNORECASE)
    for text in ["xABbb", "", "ab ab", "b"]:
        assert [m.span() for m in lazy.finditer(text)] == [m.span() for m in compiled.finditer(text)]
        assert lazy.sub("-", text) == compiled.sub("-", text)
    assert lazy.groupindex == compiled.groupindex and lazy.flags == compiled.flags and lazy.pattern == compiled.pattern


def test_a_plain_record_compares_by_value_and_replaces_like_a_dataclass():
    from proxy_addon.core.findings import Fix  # noqa: PLC0415

    fix = Fix("drop it", True, "remove", 3)
    assert fix == Fix("drop it", True, "remove", 3) and fix != Fix("drop it", False, "remove", 3)
    assert fix.replace(safe=False) == Fix("drop it", False, "remove", 3) and fix.safe is True
    assert repr(fix) == "Fix(description='drop it', safe=True, action='remove', element_index=3, replacement=None)"
    with pytest.raises(TypeError):
        hash(fix)


def test_settings_replace_and_fresh_tables():
    from proxy_addon.settings import Settings  # noqa: PLC0415

    first, second = Settings(), Settings()
    assert first == second and first.site_ids is not second.site_ids
    changed = first.replace(ci_sites=("acme",), rewrite=True)
    assert changed.ci_sites == ("acme",) and changed.rewrite and changed.api_version == first.api_version
    assert first.ci_sites == () and pickle.loads(pickle.dumps(changed)) == changed
    with pytest.raises(AttributeError):
        first.rewrite = True


def test_code_written_for_the_dataclasses_still_works_on_the_plain_classes():
    import dataclasses  # noqa: PLC0415

    from proxy_addon.core.findings import Finding, Severity  # noqa: PLC0415
    from proxy_addon.exchange.observed import Observed  # noqa: PLC0415
    from proxy_addon.exchange.record import ExchangeRecord, Outcome  # noqa: PLC0415
    from proxy_addon.settings import Settings  # noqa: PLC0415

    seen = Observed(b"<m/>", "request", "capture.har", "entry 1", upstream="acme.webex.com:443")
    assert dataclasses.replace(seen, data=b"") == Observed(b"", "request", "capture.har", "entry 1",
                                                            upstream="acme.webex.com:443")
    assert dataclasses.replace(Settings(), rule_packs=()) == Settings()
    finding = Finding("WX101", "site-id", Severity.WARNING, "m", notes=["n"])
    assert [f.name for f in dataclasses.fields(Finding)] == list(Finding._FIELDS)
    assert dataclasses.asdict(finding)["notes"] == ["n"]
    record = ExchangeRecord(None, None, Outcome.ALONE, site="acme")
    assert [f.name for f in dataclasses.fields(record)][-1] == "learned"  # its cache is no field
    assert dataclasses.replace(record, operation="GetUser").site == "acme"


def test_the_last_five_dataclasses_behave_as_they_did():
    import dataclasses  # noqa: PLC0415

    from proxy_addon.core.parsing import parse_document  # noqa: PLC0415
    from proxy_addon.core.positions import Span  # noqa: PLC0415
    from proxy_addon.core.versions import latest_version, parse_version  # noqa: PLC0415
    from proxy_addon.exchange.knowledge import KnowledgeContext, SiteKnowledge  # noqa: PLC0415
    from proxy_addon.lint.context import LintContext  # noqa: PLC0415
    from proxy_addon.lint.engine import Linter, LintResult  # noqa: PLC0415

    assert Span(1, 2, 3, 4) == Span(1, 2, 3, 4) != Span(1, 2, 3, 5)
    assert repr(Span(1, 2, 3, 4)) == "Span(start=1, content_start=2, content_end=3, end=4)"
    context = LintContext(ci_sites=frozenset({"acme"}))
    assert context.api_version == latest_version() and context.site_ids == {} == context.severity_overrides
    assert context == LintContext(frozenset({"acme"})) != LintContext()
    assert context.site_ids is not LintContext().site_ids  # a fresh table each, as default_factory gave
    with pytest.raises(AttributeError):
        context.validate = True  # type: ignore[misc]
    older = context.with_changes(api_version=parse_version("39.5"))
    assert (type(older), older.api_version, older.ci_sites) == (LintContext, parse_version("39.5"), frozenset({"acme"}))
    assert repr(LintContext(select=("WX1",))).startswith("LintContext(ci_sites=frozenset(), api_version=")
    knowledge = SiteKnowledge()
    learned = KnowledgeContext.around(context, knowledge, upstream="acme.webex.com")
    assert (learned.ci_sites, learned.knowledge, learned.upstream) == (frozenset({"acme"}), knowledge, "acme.webex.com")
    changed = learned.with_changes(validate=True)
    assert type(changed) is KnowledgeContext and changed.knowledge is knowledge and changed.validate
    assert changed.upstream == "acme.webex.com" and learned != changed
    assert pickle.loads(pickle.dumps(context)) == context and copy.copy(context) == context
    assert pickle.loads(pickle.dumps(learned)).upstream == "acme.webex.com"
    result = Linter().lint(b"<a/>", path="x.xml")
    assert isinstance(result, LintResult) and result == dataclasses.replace(result)
    assert "document=ParsedDocument(raw=b'<a/>', path='x.xml'" in repr(result)
    document = parse_document(b"<a/>", path="x.xml")
    assert document.unbound_prefixes == [] and document.findings == [] and "voice" not in repr(document)
    assert document == dataclasses.replace(document) and document != dataclasses.replace(document, path="y.xml")
