"""Shared fixtures: one linter per session (the rule packs load once)."""

from __future__ import annotations

import pytest

from proxy_addon.engine import Linter


@pytest.fixture(scope="session")
def linter() -> Linter:
    return Linter()
