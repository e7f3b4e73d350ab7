"""The data cache (core/data_cache.py) is plain JSON that only this user can have written (issue 21
Low 12), and rule packs refuse YAML aliases (Low 13)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from proxy_addon.core import data_cache
from proxy_addon.core.shipped import data_dir
from proxy_addon.lint.ruleset import PACK_CACHE_KIND, RuleError, RuleSet, load_yaml

from .builders import REPO

PACK = """\
rules:
  - id: ACME001
    name: trial-site
    severity: error
    introduced: "team"
    given: $security/siteName
    then: {function: present, options: {text_matches: "-trial$"}}
    message: "{value} is a trial site"
    docs: {summary: s, why: w, example: e, fix: f, source: team}
"""
# What an attacker would like start-up to read instead: a pack with no rules at all.
PLANTED = json.dumps({"rules": []})


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache home; the cache's own folder inside it, not created yet."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home-cache"))
    return Path(data_cache.cache_dir())


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    path = tmp_path / "team.yaml"
    path.write_text(PACK)
    return path


def entry_of(folder: Path, path: Path, kind: str = PACK_CACHE_KIND) -> Path:
    return folder / data_cache._name(kind, path.read_bytes())


def plant(folder: Path, path: Path, mode: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(mode)
    entry = entry_of(folder, path)
    entry.write_text(PLANTED)
    return entry


def rule_ids(value: dict) -> list[str]:
    return [rule["id"] for rule in value["rules"]]


def test_a_parse_is_stored_as_json_in_a_private_folder_and_read_back(cache, pack):
    assert rule_ids(load_yaml(pack)) == ["ACME001"]
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    entry = entry_of(cache, pack)
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    assert rule_ids(json.loads(entry.read_text())) == ["ACME001"]
    assert [name for name in os.listdir(cache) if name.endswith(".tmp")] == []
    entry.write_text(json.dumps({"rules": [{"id": "FROM-THE-CACHE"}]}))  # the entry is what start-up reads
    assert rule_ids(load_yaml(pack)) == ["FROM-THE-CACHE"]


def test_an_entry_planted_in_a_private_folder_is_read(cache, pack):
    """The control for the tests below: in the user's own private folder, an entry is trusted."""
    plant(cache, pack, 0o700)
    assert rule_ids(load_yaml(pack)) == []


@pytest.mark.parametrize("mode", [0o777, 0o770, 0o755, 0o707])
def test_an_entry_in_a_folder_others_can_enter_is_not_read(cache, pack, mode):
    plant(cache, pack, mode)
    assert rule_ids(load_yaml(pack)) == ["ACME001"]


def test_a_shared_folder_of_ours_is_made_private_and_emptied(cache, pack, tmp_path):
    other = tmp_path / "other.yaml"
    other.write_text(PACK.replace("ACME001", "ACME002"))
    plant(cache, pack, 0o777)
    entry_of(cache, other).write_text(PLANTED)
    assert rule_ids(load_yaml(pack)) == ["ACME001"]  # parsed, stored: the folder is closed and emptied first
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    assert rule_ids(json.loads(entry_of(cache, pack).read_text())) == ["ACME001"]
    assert rule_ids(load_yaml(other)) == ["ACME002"]  # what was left in the open folder is gone


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to give a file to another user")
def test_an_entry_of_another_user_is_not_read(cache, pack):
    entry = plant(cache, pack, 0o700)
    os.chown(entry, 65534, 65534)
    assert rule_ids(load_yaml(pack)) == ["ACME001"]


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to give a folder to another user")
def test_a_folder_of_another_user_is_not_used(cache, pack):
    plant(cache, pack, 0o700)
    os.chown(cache, 65534, 65534)
    assert rule_ids(load_yaml(pack)) == ["ACME001"]


def test_an_entry_that_is_a_link_is_not_followed(cache, pack, tmp_path):
    cache.mkdir(parents=True, mode=0o700)
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text(PLANTED)
    entry_of(cache, pack).symlink_to(elsewhere)
    assert rule_ids(load_yaml(pack)) == ["ACME001"]
    assert elsewhere.read_text() == PLANTED  # and storing replaced the link, not the file it named
    assert not entry_of(cache, pack).is_symlink()


def test_a_cache_folder_that_is_a_link_is_not_used(cache, pack, tmp_path):
    target = tmp_path / "target"
    plant(target, pack, 0o700)
    cache.parent.mkdir(parents=True)
    cache.symlink_to(target, target_is_directory=True)
    assert rule_ids(load_yaml(pack)) == ["ACME001"]
    assert json.loads(entry_of(target, pack).read_text()) == {"rules": []}  # nothing written there either


def test_temporary_files_are_created_exclusively_under_fresh_names(cache, pack, monkeypatch, tmp_path):
    """A link planted where the temporary file goes is never written through: the name is random and
    the file is opened with O_EXCL | O_NOFOLLOW."""
    cache.mkdir(parents=True, mode=0o700)
    victim = tmp_path / "victim"
    victim.write_text("untouched")
    fixed = b"\x01" * 8
    monkeypatch.setattr(data_cache.os, "urandom", lambda n: fixed[:n])
    (cache / f".{fixed.hex()}.tmp").symlink_to(victim)
    assert rule_ids(load_yaml(pack)) == ["ACME001"]  # parsed; not stored
    assert victim.read_text() == "untouched"
    assert not entry_of(cache, pack).exists()


def test_the_shipped_packs_ignore_a_planted_entry_in_a_shared_folder(cache):
    """Issue 21's attack: an entry that drops WX301 from the shipped packs."""
    meetings = data_dir("rules") / "meetings.yaml"
    assert "WX301" in RuleSet.load().by_id  # fills the cache (a private folder)
    entry = entry_of(cache, meetings)
    assert entry.is_file()
    cache.chmod(0o777)
    entry.write_text(PLANTED)
    assert "WX301" in RuleSet.load().by_id
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    entry.write_text(PLANTED)
    assert "WX301" not in RuleSet.load().by_id  # the same entry in the user's private folder is read


def test_values_json_cannot_give_back_exactly_are_not_cached(cache, tmp_path):
    path = tmp_path / "dated.yaml"
    path.write_text("rules: []\nwhen: 2024-03-31\n1: one\n")
    value = load_yaml(path)
    assert value["when"].year == 2024 and value[1] == "one"
    assert not cache.exists() or os.listdir(cache) == []
    assert load_yaml(path) == value


def test_a_damaged_entry_is_parsed_again(cache, pack):
    cache.mkdir(parents=True, mode=0o700)
    entry_of(cache, pack).write_bytes(b"{not json")
    assert rule_ids(load_yaml(pack)) == ["ACME001"]


def test_the_release_catalog_is_cached_too_and_a_damaged_entry_is_ignored(cache):
    from proxy_addon.core import versions  # noqa: PLC0415

    releases = data_dir("rules") / "releases.yaml"
    versions.known_releases.cache_clear()
    try:
        first = versions.known_releases()
        entry = entry_of(cache, releases, versions._CACHE_KIND)
        assert json.loads(entry.read_text())[-1] == [list(first[-1][0]), first[-1][1]]
        entry.write_text(json.dumps([["not", "a", "release"]]))
        versions.known_releases.cache_clear()
        assert versions.known_releases() == first
    finally:
        versions.known_releases.cache_clear()


def test_check_on_one_file_imports_no_yaml_once_cached(tmp_path):
    message = tmp_path / "m.xml"
    message.write_bytes((REPO / "examples" / "11-get-user-clean.xml").read_bytes())
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "PYTHONPATH": str(REPO)}

    def check(**more: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "proxy_addon.cli", "check", str(message)], capture_output=True,
                              cwd=tmp_path, env={**env, **more}, timeout=60, check=False)

    check()  # fills the cache
    run = check(PYTHONPROFILEIMPORTTIME="1")
    imported = {line.rsplit("|", 1)[-1].strip() for line in run.stderr.decode().splitlines() if "import time" in line}
    assert run.returncode == 0, run.stderr.decode()[-2000:]
    assert "lxml.etree" in imported
    assert not {"yaml", "pathspec", "tomllib", "mitmproxy", "rich", "jinja2", "structlog"} & imported


# -- aliases (issue 21 Low 13) ---------------------------------------------------------------------

LAUGHS = """\
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
rules: [*d, *d, *d, *d, *d, *d, *d, *d, *d]
"""


def test_a_pack_of_aliases_is_refused_with_file_and_line(cache, tmp_path):
    path = tmp_path / "laughs.yaml"
    path.write_text(LAUGHS)
    started = time.process_time()
    with pytest.raises(RuleError) as error:
        RuleSet.load(extra_packs=[path])
    assert time.process_time() - started < 5
    assert str(error.value).startswith(f"{path}:1:") and "aliases" in str(error.value)


def test_a_single_alias_is_refused_too(tmp_path, cache):
    path = tmp_path / "team.yaml"
    path.write_text(PACK + "  - &copy {id: ACME002}\n  - *copy\n")
    anchored = PACK.count("\n") + 1
    with pytest.raises(RuleError, match=rf"^{path}:{anchored}:\d+: invalid YAML: aliases"):
        load_yaml(path)


def test_a_cached_pyproject_is_read_without_tomllib_and_still_applies(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.webex-xml-lint]\nselect = ["WX999"]\n')
    message = tmp_path / "m.xml"
    message.write_bytes((REPO / "examples" / "11-get-user-clean.xml").read_bytes())
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "PYTHONPATH": str(REPO), "PYTHONPROFILEIMPORTTIME": "1"}
    runs = [subprocess.run([sys.executable, "-m", "proxy_addon.cli", "check", "m.xml"], capture_output=True,
                           cwd=tmp_path, env=env, timeout=60, check=False) for _ in range(2)]
    for run in runs:  # the file's select applies both times: parsed, then from the cache
        assert run.returncode == 2 and "unknown rule selector WX999" in run.stderr.decode(), run.stderr.decode()[-500:]
    imported = [{line.rsplit("|", 1)[-1].strip() for line in run.stderr.decode().splitlines() if "import time" in line}
                for run in runs]
    assert "tomllib" in imported[0] and "tomllib" not in imported[1]


def test_without_an_absolute_home_there_is_no_cache_and_nothing_is_written_here(pack, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", "relative-cache")
    monkeypatch.setenv("HOME", "not-absolute")
    assert data_cache.cache_dir() is None
    before = sorted(os.listdir(tmp_path))
    assert rule_ids(load_yaml(pack)) == ["ACME001"]
    assert sorted(os.listdir(tmp_path)) == before
