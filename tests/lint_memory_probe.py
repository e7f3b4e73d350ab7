"""Lint one message in a fresh process and print what the lint itself cost, as JSON: the growth of
the resident set over the lint (from /proc: VmHWM after resetting it, less VmRSS before), its CPU
time and its findings. Used by tests/test_hardening_memory.py and benchmarks/memory_budget.py.

    python -m tests.lint_memory_probe MESSAGE_FILE plain|validate
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from proxy_addon.lint.context import LintContext
from proxy_addon.lint.engine import Linter
from tests.builders import request_xml


def status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise SystemExit(f"no {field} in /proc/self/status")


def main(path: str, mode: str) -> None:
    data = Path(path).read_bytes()
    context = LintContext(validate=mode == "validate")
    linter = Linter()
    linter.lint(request_xml("GetUser", "<webExId>warm</webExId>"), context=context)
    Path("/proc/self/clear_refs").write_text("5")  # the peak so far (reading the file) is not the lint's
    before = status("VmRSS")
    started = time.process_time()
    result = linter.lint(data, context=context)
    cpu = time.process_time() - started
    print(json.dumps({"growth": status("VmHWM") - before, "cpu": cpu,
                      "findings": [[f.rule, f.message] for f in result.findings]}))


if __name__ == "__main__":
    main(*sys.argv[1:3])
