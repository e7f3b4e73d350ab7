"""`webex-xml-lint addon-path`: where the installed addon is, for mitmproxy's own tools.

`mitmdump -s "$(webex-xml-lint addon-path)"` works from a `pip install` as from a checkout.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No options: the path is all it prints."""


def addon_path() -> str:
    return str(Path(__file__).resolve().parent.parent / "addon.py")


def run(args: argparse.Namespace) -> int:
    print(addon_path())
    return 0
