"""`make demo`: the bundled simulator and the live proxy on loopback, the example traffic through them.

Starts the Webex simulator (acme and globex are CI sites) and `webex-xml-lint proxy` in reverse mode
in front of it, sends every request in examples/ with the standard library's HTTP client, and prints
what the proxy found, learned and predicted. A second pass with --rewrite shows what rewriting
changes upstream. Everything runs on free 127.0.0.1 ports and is stopped at the end. The findings
logs, the audit store the first pass filled and its HTML report (`webex-xml-lint report`) are kept
in the output folder (artifacts/demo/ by default, which git ignores); the demo prints where.

    python examples/demo.py [--out-dir DIR]      (what `make demo` runs)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

# A development script of this checkout, run from it: it shares the tests' process helpers.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from proxy_addon.core.message import build_message  # noqa: E402
from proxy_addon.core.parsing import parse_document  # noqa: E402
from proxy_addon.lint.context import LintContext  # noqa: E402
from proxy_addon.lint.engine import Linter  # noqa: E402
from proxy_addon.simulator.server import SERVICE_PATH, WebexSimulator  # noqa: E402
from tests.processes import free_port, stop_process, wait_for_port  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT_DIR = REPO / "artifacts" / "demo"
EXAMPLES = REPO / "examples"
CI_SITES = ("acme", "globex")
SITE_IDS = {"5941234567": "acme"}
START_TIMEOUT = 60.0


class ProxyRun:
    """`webex-xml-lint proxy` in reverse mode in front of `upstream`, as a child process."""

    def __init__(self, upstream: str, log: Path, confdir: Path, *flags: str):
        self.port = free_port()
        self.log = log
        command = [sys.executable, "-m", "proxy_addon.cli", "proxy", "--listen-port", str(self.port),
                   "--mode", f"reverse:{upstream}", "--findings-log", str(log),
                   *[arg for site_id, name in SITE_IDS.items() for arg in ("--site-id", f"{site_id}={name}")],
                   *flags, "--", "--set", f"confdir={confdir}", "-q"]
        self.process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                        env={**os.environ, "PYTHONPATH": str(REPO)})

    def __enter__(self) -> ProxyRun:
        try:
            wait_for_port(self.port, self.process, START_TIMEOUT, what="the proxy")
        except (RuntimeError, TimeoutError):
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stop(self) -> None:
        stop_process(self.process)
        if self.process.stderr:
            errors = self.process.stderr.read().decode(errors="replace").strip()
            self.process.stderr.close()
            if self.process.returncode not in (0, -15) and errors:
                print(f"proxy errors:\n{errors}", file=sys.stderr)

    def events(self) -> list[dict]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text(encoding="utf-8").splitlines() if line]


def post(opener: urllib.request.OpenerDirector, url: str, body: bytes) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "text/xml"}, method="POST")
    try:
        with opener.open(request, timeout=30) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:  # an answer all the same (the simulator's 500s)
        return error.code, error.read()


def send_examples(port: int, examples: list[Path]) -> list[tuple[str, str, str]]:
    """POST each example through the proxy; (file, operation, outcome) per example."""
    outcomes = []
    # No proxy from the environment: straight to ours on loopback.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    for path in examples:
        status, content = post(opener, f"http://127.0.0.1:{port}{SERVICE_PATH}", path.read_bytes())
        document = parse_document(content, path="answer")
        message = build_message(document.root, "response") if document.root is not None else None
        request = build_message(parse_document(path.read_bytes(), path=str(path)).root, "request")
        if message is None:
            outcome = f"HTTP {status}, not a serv:message"
        else:
            outcome = message.result or "?"
            if message.is_failure:
                outcome += f" {message.exception_id}"
        outcomes.append((path.name, request.operation or "?", outcome))
    return outcomes


def print_lint_pass(outcomes: list[tuple[str, str, str]], events: list[dict]) -> None:
    findings = [e for e in events if e["event"] == "finding"]
    failures = [e for e in findings if e["rule"] == "WX501"]
    # Requests are sent one after the other, so the n-th FAILURE answer is the n-th WX501 event.
    failure_notes = iter([next((n for n in e.get("notes", []) if "predict" in n), "") for e in failures])
    print("\nTraffic (client -> proxy -> simulator):")
    for name, operation, outcome in outcomes:
        note = next(failure_notes, "") if outcome.startswith("FAILURE") else ""
        print(f"  {name:<44} {operation:<18} {outcome}{f'   [{note}]' if note else ''}")
    print("\nFindings by rule (request / response):")
    counts = Counter((e["rule"], e["name"], e["direction"]) for e in findings)
    for rule, name in sorted({(rule, name) for rule, name, _ in counts}):
        print(f"  {rule} {name:<36} {counts[(rule, name, 'request')]:>3} / {counts[(rule, name, 'response')]}")
    learned = [e["note"] for e in events if e["event"] == "learned"]
    if learned:
        print("\nLearned from the traffic:")
        for note in learned:
            print(f"  {note}")
    print("\nA few of the findings (one JSON line each in the log):")
    shown = set()
    for event in findings:
        if event["rule"] in shown:
            continue
        shown.add(event["rule"])
        notes = f"  [{'; '.join(event['notes'])}]" if event.get("notes") else ""
        print(f"  {event['severity']:<7} {event['operation']} {event['direction']} {event['rule']}: "
              f"{_shorten(event['message'])}{notes}")
        if len(shown) == 6:
            break
    predicted = sum(1 for e in failures if any("predicted by" in n for n in e.get("notes", [])))
    print(f"\nFAILURE answers predicted by a finding on their request: {predicted} of {len(failures)}")


def print_rewrite_pass(events: list[dict], received: list[bytes]) -> None:
    rewrites = [e for e in events if e["event"] == "rewrite"]
    print(f"\nSecond pass with --rewrite --rewrite-learned: {len(rewrites)} requests changed before they went upstream:")
    for event in rewrites:
        print(f"  {event['operation']:<14} {'; '.join(event['changes'])}")
    linter = Linter()
    context = LintContext(ci_sites=frozenset(CI_SITES), site_ids=dict(SITE_IDS))
    fixable_left = sum(1 for body in received for f in linter.lint(body, context=context).findings
                       if f.fix is not None and f.fix.safe)
    print(f"Safe-fixable findings left in what the simulator received: {fixable_left}")


def _shorten(text: str, limit: int = 110) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def write_report(store: Path, report: Path) -> None:
    """The HTML report of the store the first pass filled, as a user builds one: `webex-xml-lint report`."""
    command = [sys.executable, "-m", "proxy_addon.cli", "report", "--db", str(store), "--output", str(report)]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False,
                            env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"webex-xml-lint report failed: {result.stderr.strip()}")


def _shown_path(path: Path) -> str:
    """The path relative to the current folder when it is inside it (shorter to copy), else absolute."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path.resolve())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python examples/demo.py", description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", "--log-dir", dest="out_dir", default=str(DEFAULT_OUT_DIR),
                        help="keep the findings logs, the audit store and the HTML report here "
                             "(default: artifacts/demo in the checkout)")
    args = parser.parse_args(argv)
    examples = sorted(EXAMPLES.glob("*.xml"))
    if not examples:
        print(f"demo: no example messages in {EXAMPLES}", file=sys.stderr)
        return 2
    out_dir = Path(args.out_dir).resolve()  # the proxy runs from the checkout: a relative path must not move
    out_dir.mkdir(parents=True, exist_ok=True)
    store, report = out_dir / "demo.sqlite", out_dir / "report.html"
    for stale in (store, store.with_name(store.name + "-wal"), store.with_name(store.name + "-shm")):
        stale.unlink(missing_ok=True)  # this run's traffic only
    with tempfile.TemporaryDirectory(prefix="webexlint-demo-") as scratch:
        confdir = Path(scratch) / "mitmproxy"  # a throw-away mitmproxy CA: nothing of it is worth keeping
        with WebexSimulator(ci_sites=CI_SITES, record=True) as simulator:
            print(f"Webex XML API simulator at {simulator.url} (CI sites: {', '.join(CI_SITES)})")
            lint_log = out_dir / "findings.jsonl"
            lint_log.unlink(missing_ok=True)
            with ProxyRun(simulator.base_url, lint_log, confdir, "--db", str(store)) as proxy:
                print(f"webex-xml-lint proxy (mitmdump + addon) at http://127.0.0.1:{proxy.port}, reverse mode; "
                      f"told only --site-id 5941234567=acme (no CI sites: it learns them)")
                outcomes = send_examples(proxy.port, examples)
            print_lint_pass(outcomes, proxy.events())
            simulator.received.clear()
            rewrite_log = out_dir / "findings-rewrite.jsonl"
            rewrite_log.unlink(missing_ok=True)
            # --rewrite-learned: globex is CI only by what its answers taught, and this upstream is ours.
            with ProxyRun(simulator.base_url, rewrite_log, confdir, "--rewrite", "--rewrite-learned") as proxy:
                send_examples(proxy.port, examples)
            print_rewrite_pass(proxy.events(), [r.body for r in simulator.received])
    print("\nSimulator and proxy stopped.")
    try:
        write_report(store, report)
    except (RuntimeError, subprocess.TimeoutExpired) as error:
        print(f"demo: {error}", file=sys.stderr)
        return 1
    print(f"\nFindings logs (one JSON line per event): {_shown_path(lint_log)}, {_shown_path(rewrite_log)}")
    print(f"HTML report of the first pass: {_shown_path(report)}  "
          f"(webex-xml-lint report --db {_shown_path(store)} --output {_shown_path(report)})")
    print("Next: put the proxy in front of your own site, `webex-xml-lint proxy --mode reverse:https://YOURSITE.webex.com`, "
          "and point your integration at http://127.0.0.1:8080 (docs/proxy.md).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
