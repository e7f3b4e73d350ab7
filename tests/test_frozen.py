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
