"""Issue 21, item 9: a DSN that urlsplit cannot read is shown with its password masked all the same."""

from __future__ import annotations

import subprocess
import sys

import pytest

from proxy_addon.core.redaction import MASK, dsn_password, mask_dsn
from tests.builders import REPO

SECRET = "Pw5ecretXyz"
SHAPES = [f"postgresql://u:{SECRET}@[::1", f"postgresql://u:{SECRET}@[notipv6]/x", f"postgresql://u:{SECRET}@host]/x",
          f"postgresql://u:{SECRET}@[::1/x?sslmode=disable", f"postgres://u:a/{SECRET}@db/x"]


@pytest.mark.parametrize("dsn", SHAPES)
def test_mask_dsn_masks_a_password_urlsplit_cannot_read(dsn):
    shown = mask_dsn(dsn)
    assert SECRET not in shown and f"u:{MASK}@" in shown


def test_dsn_password_is_found_without_urlsplit():
    assert dsn_password(f"postgresql://u:{SECRET}@[::1") == SECRET
    assert dsn_password("postgresql://u:p%40ss@db/x") == "p@ss"
    assert dsn_password("postgresql://u@db/x") is None and dsn_password("/var/audit.sqlite") is None


@pytest.mark.parametrize("dsn", SHAPES[:3])
def test_proxy_never_prints_the_password_of_an_unreadable_dsn(dsn):
    done = subprocess.run([sys.executable, "-m", "proxy_addon.cli", "proxy", "--db", dsn, "--listen-port", "18997"],
                          capture_output=True, text=True, cwd=REPO, timeout=60, check=False)
    assert done.returncode == 2, done.stderr
    assert SECRET not in done.stdout + done.stderr and "Traceback" not in done.stderr
    assert "--db" in done.stderr
