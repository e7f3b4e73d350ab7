"""Issue 21, item 4: redaction is linear in memory, within ~5 bytes a character (the docs' promise for
the store digest: ~5x the body). A long attribute (or start-tag text) kept ~136-160 bytes of regex
backtracking state per character: an 8 MiB attribute cost ~1.1 GB; a credential start tag of many
attributes still cost 21 bytes a character last round."""

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
    # 21 bytes a character until re.sub's pieces (one per attribute) and one piece per key=value gave
    # way to writing into one buffer
    "a credential start tag of many attributes": "'<password ' + 'a=\"b\" ' * (n // 6) + '>pw</password>'",
    "many short key=values": "'password=x ' * (n // 11)",
}


@pytest.mark.parametrize("shape", SHAPES)
def test_redaction_costs_a_few_bytes_a_character(shape):
    done = subprocess.run([sys.executable, "-c", PROBE.format(shape=SHAPES[shape])], capture_output=True, text=True,
                          cwd=REPO, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    per_character, leaked = done.stdout.split()
    assert float(per_character) < 7, f"{shape}: {per_character} bytes a character"
    assert leaked == "False", "the credential is masked all the same"


WORKER_PROBE = """
import sys
from pathlib import Path
from proxy_addon.exchange.observed import PROXY_SOURCE, Observed
from proxy_addon.mitm.pipeline import LintPipeline
from proxy_addon.settings import Settings
from tests.builders import request_xml

def status(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024

pipeline = LintPipeline()
pipeline.configure(Settings(db="sqlite:///" + sys.argv[1]))
count = int(sys.argv[2])
pipeline.message(Observed(b"<x/>", "request", PROXY_SOURCE, "warm"))
data = request_xml("GetUser", "<webExId>u</webExId>", security="<siteName>acme</siteName><webExID>a</webExID>"
                   "<password " + 'a="b" ' * count + ">pw</password>")  # does not parse: digested as text
Path("/proc/self/clear_refs").write_text("5")
before = status("VmRSS")
pipeline.message(Observed(data, "request", PROXY_SOURCE, "flow-1", client_address="127.0.0.1:1"))
pipeline.close()  # the store's thread has digested and written it
print(status("VmHWM") - before, len(data))
"""


def test_the_proxy_workers_store_digest_costs_a_few_bytes_a_byte(tmp_path):
    """The issue's second scenario: the lint worker with --db (2.18 GB for 15 MiB). Its pipeline, as
    the worker runs it, on a message the store digests as text (it does not parse)."""
    figures = []
    for count in (350_000, 1_400_000):  # 2 MB and 8 MB: what each further byte costs, less the fixed part
        done = subprocess.run([sys.executable, "-c", WORKER_PROBE, str(tmp_path / f"store-{count}.sqlite"), str(count)],
                              capture_output=True, text=True, cwd=REPO, timeout=300, check=False)
        assert done.returncode == 0, done.stderr[-3000:]
        figures.append([int(figure) for figure in done.stdout.split()[-2:]])
    (small_growth, small_size), (big_growth, big_size) = figures
    per_byte = (big_growth - small_growth) / (big_size - small_size)
    # 37 bytes a byte before (the digest's redaction ~21 a character); now ~16: the parse of that start
    # tag ~14 (libxml2 collects 1.4 million attributes before finding the duplicate; bounded by the
    # parser's memory budget), the digest ~5.6, not at the same time
    assert per_byte < 24, f"{per_byte:.1f} bytes a byte"
