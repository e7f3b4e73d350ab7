"""Issue 21, item 14: a .gitignore pattern of many stars is matched in linear time, with the same
answers pathspec gives."""

from __future__ import annotations

import random
import time
import warnings

import pathspec

from proxy_addon.inputs.walk import Walk, _spec


def test_many_stars_on_a_long_name_take_no_time(tmp_path):
    spec = _spec(["*a*a*a*a*a*a*b"])
    started = time.perf_counter()
    assert spec.match_file("a" * 90) is False
    assert time.perf_counter() - started < 0.1


def test_a_walk_with_a_hostile_gitignore_finishes(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / ".gitignore").write_text("*a*a*a*a*a*a*b.xml\n")
    (tmp_path / ("a" * 90 + ".xml")).write_text("<serv:message/>")
    (tmp_path / "xaxaxaxaxaxab.xml").write_text("<serv:message/>")
    started = time.perf_counter()
    found = list(Walk(messages_only=False).files([str(tmp_path)]))
    assert time.perf_counter() - started < 1
    assert [p.name for p in found] == ["a" * 90 + ".xml"], "the matching name is still ignored"


def test_rewritten_patterns_answer_as_pathspec_does():
    chance = random.Random(21)
    pieces = ["*", "*", "**/", "a", "b", "ab", "?", "[ab]", "[!a]", "/", ".x", "c"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        for _ in range(400):
            pattern = "".join(chance.choice(pieces) for _ in range(chance.randint(1, 7)))
            ours, theirs = _spec([pattern]), pathspec.GitIgnoreSpec.from_lines([pattern])
            for _ in range(30):
                name = "".join(chance.choice("ab/c.x") for _ in range(chance.randint(1, 14))).strip("/") or "a"
                assert ours.match_file(name) == theirs.match_file(name), (pattern, name)
