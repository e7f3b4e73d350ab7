"""What schema validation costs per message: bare parse vs libxml2-gated vs xmlschema-only.

    .venv/bin/python benchmarks/validation.py [--rounds N]

Messages: every well-formed message in ../shared/corpus plus a few crafted invalid ones (which
always take the xmlschema path, as they would in real use). For each message the benchmark times
  parse       parse_document + build_message (what every lint pays anyway)
  lxml        SchemaValidator().validate: libxml2 decides, xmlschema only lists errors of invalid copies
  xmlschema   SchemaValidator(use_lxml=False).validate: xmlschema validates every copy
and prints mean microseconds per message and the ratios, for valid and invalid messages apart. The
one-time cost of loading the schemas is measured in a fresh interpreter. Figures only, no asserts.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from _common import CORPUS, REPO

from proxy_addon.core.message import build_message
from proxy_addon.core.parsing import parse_document
from proxy_addon.schema.validation import SchemaValidator

SERVICE = "http://www.webex.com/schemas/2002/06/service"
CRAFTED_INVALID = [
    (f'<serv:message xmlns:serv="{SERVICE}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
     "<header><securityContext><siteName>acme</siteName><siteId>1</siteId><colour>red</colour>"
     '</securityContext></header><body><bodyContent xsi:type="java:com.webex.service.binding.user.SetUser">'
     "<webExId>a</webExId><timeZoneID>GMT</timeZoneID><privilege><host>maybe</host></privilege>"
     "</bodyContent></body></serv:message>").encode(),
    (f'<serv:message xmlns:serv="{SERVICE}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
     "<header><securityContext><siteName>acme</siteName></securityContext></header><body>"
     '<bodyContent xsi:type="java:com.webex.service.binding.meeting.CreateMeeting"><metaData>'
     "<confName>x</confName><meetingType>pro</meetingType></metaData><schedule><timezoneID>4</timezoneID>"
     "<duration>an hour</duration></schedule></bodyContent></body></serv:message>").encode(),
]

COLD_LOAD = """
import time
start = time.perf_counter()
from proxy_addon.schema.validation import SchemaValidator
imported = time.perf_counter()
SchemaValidator().load()
print(imported - start, time.perf_counter() - imported)
"""


def parsed(data: bytes):
    document = parse_document(data)
    return build_message(document.root), document


def per_message_us(function, items, rounds: int) -> float:
    start = time.perf_counter()
    for _ in range(rounds):
        for item in items:
            function(item)
    return (time.perf_counter() - start) / (rounds * len(items)) * 1e6


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--rounds", type=int, default=20, help="passes over the messages (default 20)")
    options.add_argument("--quick", action="store_true", help="5 rounds")
    args = options.parse_args()
    rounds = 5 if args.quick else args.rounds

    out = subprocess.run([sys.executable, "-c", COLD_LOAD], cwd=REPO, capture_output=True, text=True, check=True)
    imported, loaded = (float(x) for x in out.stdout.split())
    print(f"one-time, fresh interpreter: import {imported * 1e3:.0f} ms, load schemas {loaded * 1e3:.0f} ms "
          "(lxml + xmlschema, all areas)")

    corpus = [p.read_bytes() for p in sorted(CORPUS.glob("*/*.xml"))]
    well_formed = [data for data in corpus if parse_document(data).root is not None]
    fast, slow = SchemaValidator().load(), SchemaValidator(use_lxml=False).load()
    valid, invalid = [], []
    for data in well_formed + CRAFTED_INVALID:
        item = (data, *parsed(data))
        (invalid if fast.validate(item[1], item[2]) else valid).append(item)
    print(f"messages: {len(valid)} valid, {len(invalid)} with findings ({len(well_formed)} well-formed corpus "
          f"+ {len(CRAFTED_INVALID)} crafted); {rounds} rounds; mean microseconds per message\n")

    print(f"{'':10} {'parse':>9} {'lxml':>9} {'xmlschema':>10} {'lxml/parse':>11} {'xmlschema/lxml':>15}")
    ratios = []
    for label, items in (("valid", valid), ("findings", invalid)):
        if not items:
            continue
        bare = per_message_us(lambda item: parsed(item[0]), items, rounds)
        gated = per_message_us(lambda item: fast.validate(item[1], item[2]), items, rounds)
        full = per_message_us(lambda item: slow.validate(item[1], item[2]), items, rounds)
        print(f"{label:10} {bare:9.0f} {gated:9.0f} {full:10.0f} {gated / bare:11.2f} {full / gated:15.2f}")
        ratios.append(f"RATIO validation/parse {label}: {gated / bare:.2f}")
    print("\n" + "\n".join(ratios))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
