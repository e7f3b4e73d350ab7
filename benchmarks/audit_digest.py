"""`audit` against `check` of one big credential-bearing message: the store's content digest masks the
message's credentials over its whole body, and must stay linear and cheap (issue 12: audit of a
4 MiB credential-bearing message within 3x the CPU of `check` on it).

    .venv/bin/python benchmarks/audit_digest.py [--size-mib 4] [--rounds 3]

Writes an UploadPMRImage request (a base64 image: long words and "=", the worst case of the
key=value scan) with a password, a ticket and a query string holding a token, then runs
`webex-xml-lint check` and `webex-xml-lint audit --db` (a fresh SQLite store each run) on it in
turn, as separate processes, and prints each one's CPU (median over the rounds) and their ratio.
"""

from __future__ import annotations

import argparse
import base64
import random
import sys
import tempfile
from pathlib import Path

from _common import REPO, interleaved, machine_line, time_command

from tests.builders import request_xml


def credential_bearing_message(size: int) -> bytes:
    image = base64.b64encode(random.Random(12).randbytes(size * 3 // 4)).decode()
    security = ("<siteName>acme</siteName><webExID>admin@acme.com</webExID><password>S3cret&amp;pw</password>"
                "<sessionTicket>AAABBBcccDDD111222</sessionTicket>")
    return request_xml("UploadPMRImage", "<imageType>PNG</imageType><imageURL>https://acme/x?token=tok3n"
                       f"</imageURL><imageData>{image}</imageData>", security=security)


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    options.add_argument("--size-mib", type=float, default=4.0)
    options.add_argument("--rounds", type=int, default=3)
    options.add_argument("--quick", action="store_true", help="1 MiB, 2 rounds")
    args = options.parse_args()
    size, rounds = (1 << 20, 2) if args.quick else (int(args.size_mib * (1 << 20)), args.rounds)
    print(machine_line())
    with tempfile.TemporaryDirectory() as folder:
        message = Path(folder) / "upload.xml"
        message.write_bytes(credential_bearing_message(size))
        cli = [sys.executable, "-m", "proxy_addon.cli"]
        stores = iter(range(1_000_000))

        def audit() -> float:
            return time_command([*cli, "audit", str(message), "--db", f"{folder}/audit-{next(stores)}.sqlite"],
                                cwd=REPO)[1]

        cpu = interleaved({"check": lambda: time_command([*cli, "check", str(message)], cwd=REPO)[1],
                           "audit": audit}, rounds)
    print(f"{message.name}: {size / (1 << 20):.1f} MiB; CPU check {cpu['check']:.2f} s, audit {cpu['audit']:.2f} s")
    print(f"RATIO audit/check CPU, {size / (1 << 20):.0f} MiB credential-bearing message: "
          f"{cpu['audit'] / cpu['check']:.2f} (target <= 3)")


if __name__ == "__main__":
    main()
