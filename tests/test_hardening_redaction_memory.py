"""Issue 21, item 4: redaction is linear in memory. A long attribute (or start-tag text) kept ~136-160
bytes of regex backtracking state per character: an 8 MiB attribute cost ~1.1 GB."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.builders import REPO

PROBE = """
import resource, sys
from proxy_addon.core.redaction import redact_text
n = 4_000_000
text = {shape}
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
masked = redact_text(text)
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024 / len(text))
print("pw" in masked)
"""
SHAPES = {
    "a long attribute of any element": "'<m><e x=\"' + 'v' * n + '\">t</e></m>'",
    "long bare text in a credential's start tag": "'<password ' + 'v' * n + '>pw</password>'",
    "a long attribute of a credential element": "'<password x=\"' + 'v' * n + '\">pw</password>'",
}


@pytest.mark.parametrize("shape", SHAPES)
def test_redaction_costs_a_few_bytes_a_character(shape):
    done = subprocess.run([sys.executable, "-c", PROBE.format(shape=SHAPES[shape])], capture_output=True, text=True,
                          cwd=REPO, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    per_character, leaked = done.stdout.split()
    assert float(per_character) < 12, f"{shape}: {per_character} bytes a character"
    assert leaked == "False", "the credential is masked all the same"
