"""What `check FILE` imports before it reads a byte: each module's own import time, grouped.

    .venv/bin/python benchmarks/startup_imports.py [--runs 5] [--top 25] [FILE]

Runs `python -X importtime -m proxy_addon.cli check --format json FILE` (default: a corpus file) a
few times with a warm data cache, and prints the median self time of every module by group: what
`python -c "import lxml.etree"` imports as well (the harness's baseline), the rest of the standard
library, third-party packages, and each of our packages. Import time under -X importtime runs ~20%
above a plain run: use it for where the time goes, the shared harness (lint_bench.py, its "one
file" figure) for how much there is. Also says which of the modules `check` should never need
(YAML, pathspec, TOML, mitmproxy, rich, jinja2, structlog) it imported.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus"
NEVER = ("yaml", "pathspec", "tomllib", "mitmproxy", "rich", "jinja2", "structlog")
LINE = re.compile(r"import time:\s+(?P<self>\d+) \|\s+(?P<cumulative>\d+) \|(?P<indent>\s*)(?P<name>\S+)")
INTERPRETER = {"encodings", "codecs", "site", "io", "abc", "os", "stat", "posixpath", "genericpath", "_collections_abc",
               "_sitebuiltins", "_distutils_hack", "zipimport", "_frozen_importlib_external", "runpy"}


def group(name: str, baseline: set[str]) -> str:
    if name in baseline:
        return "(the baseline: what python -c 'import lxml.etree' imports too)"
    top = name.split(".")[0]
    if top == "proxy_addon":
        return ".".join(name.split(".")[:2])
    if top in INTERPRETER or top.startswith("_virtualenv") or top.startswith("__editable__"):
        return "(interpreter start-up)"
    if top == "lxml":
        return "lxml"
    if top in sys.stdlib_module_names:
        return "(standard library)"
    return f"third party: {top}"


def one_run(file: str | None) -> dict[str, int]:
    """Module -> self time (us) of one `check` of `file`, or of `import lxml.etree` (None)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as an installed package runs: cached bytecode
    command = ["-m", "proxy_addon.cli", "check", "--format", "json", file] if file else ["-c", "import lxml.etree"]
    run = subprocess.run([sys.executable, "-X", "importtime", *command], capture_output=True, text=True, env=env,
                         cwd=REPO, check=False)
    if run.returncode not in (0, 1):
        raise SystemExit(f"check failed: {run.stderr[-500:]}")
    return {found["name"]: int(found["self"]) for found in map(LINE.match, run.stderr.splitlines()) if found}


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--runs", type=int, default=5)
    options.add_argument("--top", type=int, default=25, help="modules to list one by one")
    options.add_argument("file", nargs="?", default=None)
    args = options.parse_args()
    file = args.file or str(sorted(CORPUS.glob("*/*.xml"))[0])
    one_run(file)  # fills the data cache and the bytecode
    runs = [one_run(file) for _ in range(args.runs)]
    modules = {name: statistics.median(run.get(name, 0) for run in runs) for name in runs[0]}
    baseline = set(one_run(None))
    groups: dict[str, float] = defaultdict(float)
    for name, micros in modules.items():
        groups[group(name, baseline)] += micros
    total = sum(groups.values())
    print(f"check --format json {os.path.relpath(file, REPO)}: {len(modules)} modules, "
          f"{total / 1000:.1f} ms of imports (self times, median of {args.runs} runs under -X importtime)\n")
    for name, micros in sorted(groups.items(), key=lambda item: -item[1]):
        print(f"{micros / 1000:7.1f} ms  {name}")
    print(f"\nthe {args.top} costliest modules:")
    for name, micros in sorted(modules.items(), key=lambda item: -item[1])[:args.top]:
        print(f"{micros / 1000:7.1f} ms  {name}{'  (baseline)' if name in baseline else ''}")
    unwanted = sorted({name.split(".")[0] for name in modules} & set(NEVER))
    print("\nimported though check should not need them: " + (", ".join(unwanted) if unwanted else "none"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
