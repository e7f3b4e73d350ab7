"""`webex-xml-lint simulate`: run the bundled Webex XML API simulator on loopback until stopped."""

from __future__ import annotations

import argparse
import signal
import sys

from proxy_addon.core.versions import parse_version

EXIT_OK, EXIT_ERROR = 0, 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=8085, help="TCP port (0 picks a free one; default 8085)")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to listen on (default 127.0.0.1)")
    parser.add_argument("--ci-site", action="append", default=[], metavar="NAME",
                        help="a site the simulator treats as CI (unified): GetSiteType answers 1, user "
                             "management fails with 030098 (repeatable)")
    parser.add_argument("--api-version", default="39.11.0", metavar="X.Y.Z",
                        help="the XML API version the simulator is (GetAPIVersion, description limits; default 39.11.0)")
    parser.add_argument("--verbose", action="store_true", help="print one line per request")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    from proxy_addon.simulator.server import WebexSimulator  # noqa: PLC0415 (http.server only when simulating)

    try:
        parse_version(args.api_version)
        if not 0 <= args.port <= 65535:
            raise ValueError(f"--port {args.port}: not a TCP port (0-65535)")
        simulator = WebexSimulator(host=args.host, port=args.port, ci_sites=args.ci_site,
                                   api_version=args.api_version, verbose=args.verbose)
    except (ValueError, OSError) as error:
        print(f"webex-xml-lint simulate: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    # SIGTERM stops as cleanly as Ctrl-C (the demo and tests stop the simulator that way).
    signal.signal(signal.SIGTERM, _interrupt)
    ci = ", ".join(args.ci_site) or "none"
    print(f"Webex XML API simulator (API {args.api_version}, CI sites: {ci}) at {simulator.url}", flush=True)
    try:
        simulator.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        simulator.stop()
    return EXIT_OK
