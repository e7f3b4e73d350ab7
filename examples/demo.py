"""`make demo`: the bundled simulator and the live proxy on loopback, the example traffic through them.

Starts the Webex simulator (acme and globex are CI sites) and `webex-xml-lint proxy` in reverse mode
in front of it, sends every request in examples/ with an ordinary HTTP client, and prints what the
proxy found, learned and predicted. A second pass with --rewrite shows what rewriting changes
upstream. Everything runs on free 127.0.0.1 ports and is stopped at the end.

    python examples/demo.py [--log-dir DIR]      (what `make demo` runs)
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
    print(f"\nSecond pass with --rewrite: {len(rewrites)} requests changed before they went upstream:")
    for event in rewrites:
        print(f"  {event['operation']:<14} {'; '.join(event['changes'])}")
    linter = Linter()
    context = LintContext(ci_sites=frozenset(CI_SITES), site_ids=dict(SITE_IDS))
    fixable_left = sum(1 for body in received for f in linter.lint(body, context=context).findings
                       if f.fix is not None and f.fix.safe)
    print(f"Safe-fixable findings left in what the simulator received: {fixable_left}")


def _shorten(text: str, limit: int = 110) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python examples/demo.py", description=__doc__.splitlines()[0])
    parser.add_argument("--log-dir", default=None, help="keep the findings logs in this folder")
    args = parser.parse_args(argv)
    examples = sorted(EXAMPLES.glob("*.xml"))
    if not examples:
        print(f"demo: no example messages in {EXAMPLES}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="webexlint-demo-") as scratch:
        log_dir = Path(args.log_dir) if args.log_dir else Path(scratch)
        log_dir.mkdir(parents=True, exist_ok=True)
        confdir = Path(scratch) / "mitmproxy"
        with WebexSimulator(ci_sites=CI_SITES, record=True) as simulator:
            print(f"Webex XML API simulator at {simulator.url} (CI sites: {', '.join(CI_SITES)})")
            lint_log = log_dir / "findings.jsonl"
            lint_log.unlink(missing_ok=True)
            with ProxyRun(simulator.base_url, lint_log, confdir) as proxy:
                print(f"webex-xml-lint proxy (mitmdump + addon) at http://127.0.0.1:{proxy.port}, reverse mode; "
                      f"told only --site-id 5941234567=acme (no CI sites: it learns them)")
                outcomes = send_examples(proxy.port, examples)
            print_lint_pass(outcomes, proxy.events())
            simulator.received.clear()
            rewrite_log = log_dir / "findings-rewrite.jsonl"
            rewrite_log.unlink(missing_ok=True)
            with ProxyRun(simulator.base_url, rewrite_log, confdir, "--rewrite") as proxy:
                send_examples(proxy.port, examples)
            print_rewrite_pass(proxy.events(), [r.body for r in simulator.received])
        if args.log_dir:
            print(f"\nFindings logs: {lint_log} and {rewrite_log}")
    print("\nSimulator and proxy stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
