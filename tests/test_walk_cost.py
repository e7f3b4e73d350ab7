"""The folder walk's cheap paths answer as the slow ones did: plain-name excludes looked up in a set
give pathspec's answers, and a walked file is opened once (sniffed on the bytes read)."""

from __future__ import annotations

import builtins
import os
import random

import pytest

from proxy_addon.inputs import read_inputs
from proxy_addon.inputs.walk import DEFAULT_EXCLUDE, Walk, _Excludes, _spec

from .audit_support import set_user

PATTERN_SETS = [
    list(DEFAULT_EXCLUDE),
    [*DEFAULT_EXCLUDE, "legacy/", "*.generated.xml", "b.xml", "/top.xml", "docs/**/x.xml"],
    ["a", "!a/b.xml"],  # a negation: everything goes to pathspec, in order
    ["x", "# a comment", "", "c/", "   "],
    ["..", ".", "a b", "naïve", "Dist"],
]
NAMES = [*DEFAULT_EXCLUDE, "a", "b.xml", "Dist", "dist.xml", "x", ".gitx", "c", "naïve", "legacy", "docs", "top.xml"]


@pytest.mark.parametrize("patterns", PATTERN_SETS)
def test_plain_name_excludes_answer_as_pathspec(patterns):
    ours, theirs = _Excludes(patterns), _spec(patterns)
    chance = random.Random(len(patterns))
    for _ in range(3000):
        path = "/".join(chance.choice(NAMES) for _ in range(chance.randint(1, 4))) + chance.choice(["", "/"])
        assert ours.match(path) == theirs.match_file(path), (patterns, path)


def test_the_defaults_need_no_pathspec():
    assert _Excludes(list(DEFAULT_EXCLUDE)).others is None


def test_a_walked_message_file_is_opened_once(tmp_path, monkeypatch):
    for index in range(5):
        (tmp_path / f"m{index}.xml").write_bytes(set_user())
    (tmp_path / "pom.xml").write_bytes(b"<project/>")
    opened: list[str] = []
    real_open, real_os_open = builtins.open, os.open

    def counting_open(file, *args, **kwargs):
        opened.append(str(file))
        return real_open(file, *args, **kwargs)

    def counting_os_open(path, *args, **kwargs):
        opened.append(str(path))
        return real_os_open(path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", counting_open)
    monkeypatch.setattr(os, "open", counting_os_open)
    walk = Walk()
    items = list(read_inputs([str(tmp_path)], walk))
    monkeypatch.undo()
    assert len(items) == 5 and [path.name for path in walk.not_messages] == ["pom.xml"]
    files = [path for path in opened if path.endswith(".xml")]
    assert sorted(files) == sorted(str(tmp_path / name) for name in [*(f"m{i}.xml" for i in range(5)), "pom.xml"])
