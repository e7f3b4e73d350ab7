"""The package's layout: mitmdump loads proxy_addon/addon.py by path, which puts proxy_addon/ first on
sys.path; nothing there may shadow a standard-library module, and the script changes no sys.path."""

from __future__ import annotations

import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "proxy_addon"


def test_no_module_of_the_package_shadows_the_standard_library():
    names = {path.stem for path in PACKAGE.rglob("*.py")} | {
        path.name for path in PACKAGE.rglob("*") if path.is_dir() and path.name != "__pycache__"}
    assert names & set(sys.stdlib_module_names) == set()


def test_the_addon_script_leaves_sys_path_alone():
    source = (PACKAGE / "addon.py").read_text(encoding="utf-8")
    assert "sys.path" not in source
    assert "make_addons" in source


def test_development_code_is_not_in_the_package():
    modules = {path.stem for path in PACKAGE.rglob("*.py")}
    assert {"demo", "processes"} & modules == set()
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "import requests" not in text, path
        assert "from tests" not in text, path
