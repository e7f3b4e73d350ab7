"""The Makefile's set-up on machines as a new user has them (issue 23): any Python >= 3.12 is found,
through PATH or pyenv; with none, the error says what to install."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .builders import REPO

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def make_python(path: list[Path], home: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "-s", "-C", str(REPO), "python"], capture_output=True, text=True, timeout=60,
                          env={"PATH": os.pathsep.join(map(str, path)), "HOME": str(home), **env})


def _bin_with(tmp_path: Path, name: str, target: str) -> Path:
    folder = tmp_path / f"bin-{name}"
    folder.mkdir()
    (folder / name).symlink_to(target)
    return folder


def _system() -> list[Path]:
    """make and the shell's tools, without any Python of their folders."""
    return [Path(shutil.which("make")).parent, Path("/bin")]


def _shadow_old_pythons(tmp_path: Path) -> Path:
    """python3 that is too old, first on PATH (the system folders may hold a new one too)."""
    folder = tmp_path / "old"
    folder.mkdir()
    for name in ("python3", "python3.12", "python3.13", "python3.14"):
        script = folder / name
        script.write_text("#!/bin/sh\nexit 1\n")  # what a Python < 3.12 answers to the version test
        script.chmod(0o755)
    return folder


def test_a_python3_13_on_path_is_found(tmp_path):
    folder = _bin_with(tmp_path, "python3.13", sys.executable)
    done = make_python([folder, _shadow_old_pythons(tmp_path), *_system()], tmp_path)
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()).resolve() == Path(sys.executable).resolve()


def test_a_pyenv_version_is_found_without_being_selected(tmp_path):
    root = tmp_path / "pyenv"
    (root / "versions" / "3.12.7" / "bin").mkdir(parents=True)
    (root / "versions" / "3.12.7" / "bin" / "python3").symlink_to(sys.executable)
    done = make_python([_shadow_old_pythons(tmp_path), *_system()], tmp_path, PYENV_ROOT=str(root))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(root / "versions" / "3.12.7" / "bin" / "python3")


def test_without_any_python_3_12_make_says_what_to_install(tmp_path):
    done = make_python([_shadow_old_pythons(tmp_path), *_system()], tmp_path, PYENV_ROOT=str(tmp_path / "none"))
    assert done.returncode == 2
    assert "no Python >= 3.12 found" in done.stderr
    assert "apt-get install python3.12 python3.12-venv" in done.stderr and "pyenv install 3.12" in done.stderr
    assert "make PYTHON=" in done.stderr
