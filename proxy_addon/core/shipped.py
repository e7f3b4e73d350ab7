"""Where the data shipped with the package lives: the rule packs and our XSDs."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]


def data_dir(name: str, package: Path = PACKAGE_DIR, marker: str = "") -> Path:
    """A shipped data folder (`rules`, `schemas`): inside the wheel, else the source checkout.

    A plain path beside the package (the wheel is installed unzipped): importlib.resources would
    cost every start-up its import. `marker` names a file the packaged folder must hold to count.
    """
    packaged = package / "_data" / name
    if packaged.is_dir() and (not marker or (packaged / marker).is_file()):
        return packaged
    return package.parent / name
