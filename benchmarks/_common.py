"""What the benchmark scripts share: paths, the machine line, the message sets, timing and processes.

Every benchmark prints ratios against a baseline measured in the same run, interleaved with the
thing measured, so a noisy shared machine moves both sides alike. Nothing here asserts a target.
"""

from __future__ import annotations

import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

CORPUS = REPO.parent / "shared" / "corpus"
EXAMPLES = REPO / "examples"
SERVICE_NS = "http://www.webex.com/schemas/2002/06/service"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"


# -- the machine ---------------------------------------------------------------------------------

def machine_line() -> str:
    """One line naming what the figures were measured on (CPU model, cores, RAM, Python, lxml)."""
    from lxml import etree  # noqa: PLC0415 (scripts that time imports must not pay for it early)

    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 1048576:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    libxml2 = ".".join(map(str, etree.LIBXML_VERSION))
    return (f"{model}, {os.cpu_count()} CPUs{memory}, Python {platform.python_version()}, "
            f"lxml {etree.__version__} (libxml2 {libxml2})")


# -- message sets --------------------------------------------------------------------------------

def corpus_messages() -> list[bytes]:
    """The real-world messages of shared/corpus (some malformed, some with undeclared prefixes)."""
    return [path.read_bytes() for path in sorted(CORPUS.glob("*/*.xml"))]


def example_messages() -> list[bytes]:
    return [path.read_bytes() for path in sorted(EXAMPLES.glob("*.xml"))]


def _request(operation: str, package: str, body: str, security: str | None = None) -> bytes:
    security = security or ("<siteName>acme</siteName><webExID>admin@acme.com</webExID>"
                            "<password>bench-Pw-1</password>")
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<serv:message xmlns:xsi="{XSI_NS}" '
            f'xmlns:serv="{SERVICE_NS}">\n<header>\n<securityContext>{security}</securityContext>\n</header>\n'
            f'<body>\n<bodyContent xsi:type="java:com.webex.service.binding.{package}.{operation}">\n'
            f"{body}\n</bodyContent>\n</body>\n</serv:message>\n").encode()


def _response(operation: str, area: str, body: str) -> bytes:
    short = operation[0].lower() + operation[1:]
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<serv:message xmlns:serv="{SERVICE_NS}" '
            f'xmlns:{area}="{SERVICE_NS}/{area}" xmlns:com="{SERVICE_NS}/common">\n<serv:header><serv:response>'
            f"<serv:result>SUCCESS</serv:result><serv:gsbStatus>PRIMARY</serv:gsbStatus></serv:response>"
            f'</serv:header>\n<serv:body><serv:bodyContent xmlns:xsi="{XSI_NS}" xsi:type="{area}:{short}Response">\n'
            f"{body}\n</serv:bodyContent></serv:body>\n</serv:message>\n").encode()


def _meeting_item(n: int) -> str:
    return (f"<meet:meeting><meet:meetingKey>{700000000 + n}</meet:meetingKey><meet:confName>Weekly sync "
            f"{n}</meet:confName><meet:meetingType>105</meet:meetingType><meet:hostWebExID>host{n % 9}@acme.com"
            f"</meet:hostWebExID><meet:otherHostWebExID>host{n % 9}@acme.com</meet:otherHostWebExID>"
            f"<meet:timeZoneID>4</meet:timeZoneID><meet:timeZone>GMT-08:00, Pacific (San Jose)</meet:timeZone>"
            f"<meet:status>NOT_INPROGRESS</meet:status><meet:startDate>03/{1 + n % 28:02}/2026 09:00:00"
            f"</meet:startDate><meet:duration>30</meet:duration><meet:listStatus>PUBLIC</meet:listStatus>"
            f"</meet:meeting>\n")


def _recording_item(n: int) -> str:
    return (f"<ep:recording><ep:recordingID>{5000000 + n}</ep:recordingID><ep:hostWebExID>host{n % 9}@acme.com"
            f"</ep:hostWebExID><ep:name>Recording {n}</ep:name><ep:createTime>03/{1 + n % 28:02}/2026 10:00:00"
            f"</ep:createTime><ep:timeZoneID>4</ep:timeZoneID><ep:size>{12.5 + n % 40}</ep:size>"
            f"<ep:streamURL>https://acme.webex.com/acme/ldr.php?RCID={n:032x}</ep:streamURL>"
            f"<ep:fileURL>https://acme.webex.com/acme/lsr.php?RCID={n:032x}</ep:fileURL>"
            f"<ep:recordingType>0</ep:recordingType><ep:duration>{600 + n}</ep:duration></ep:recording>\n")


def _attendee(n: int) -> str:
    return (f"<attendee><person><name>Guest {n}</name><email>guest{n}@example.com</email></person>"
            f"<role>ATTENDEE</role></attendee>")


# Each family: (builder taking a repeat count, bytes one more repeat adds roughly). The mix is mostly
# clean traffic with a few findings (CI-ignored fields, siteID, HQ video), as a proxy would see.
_FAMILIES: list[Callable[[int], bytes]] = [
    lambda n: _request("CreateMeeting", "meeting",
                       "<metaData><confName>Weekly sync</confName><agenda>Status</agenda></metaData>"
                       "<participants><maxUserNumber>4</maxUserNumber><attendees>"
                       + "".join(_attendee(i) for i in range(n)) + "</attendees></participants>"
                       "<enableOptions><chat>true</chat><poll>true</poll></enableOptions>"
                       "<schedule><startDate>03/17/2026 09:00:00</startDate><duration>30</duration>"
                       "<timeZoneID>4</timeZoneID></schedule>"),
    lambda n: _request("SetUser", "user", "<webExId>jane@acme.com</webExId><firstName>Jane</firstName>"
                       "<lastName>Doe</lastName><email>jane@acme.com</email><timeZoneID>4</timeZoneID>"
                       "<privilege><host>true</host></privilege><tracking>"
                       + "".join(f"<trackingCode{i % 10 + 1}>code {i}</trackingCode{i % 10 + 1}>"
                                 for i in range(2 * n)) + "</tracking>"),
    lambda n: _response("LstsummaryMeeting", "meet",
                        "".join(_meeting_item(i) for i in range(n)) +
                        f"<meet:matchingRecords><serv:total>{n}</serv:total><serv:returned>{n}</serv:returned>"
                        "<serv:startFrom>1</serv:startFrom></meet:matchingRecords>"),
    lambda n: _response("LstRecording", "ep", "".join(_recording_item(i) for i in range(n)) +
                        f"<ep:matchingRecords><serv:total>{n}</serv:total><serv:returned>{n}</serv:returned>"
                        "<serv:startFrom>1</serv:startFrom></ep:matchingRecords>"),
    lambda n: _request("LstsummaryMeeting", "meeting",
                       "<listControl><startFrom>1</startFrom><maximumNum>10</maximumNum></listControl>"
                       "<order><orderBy>STARTTIME</orderBy></order><dateScope><startDateStart>03/01/2026 00:00:00"
                       "</startDateStart><startDateEnd>03/31/2026 23:59:59</startDateEnd></dateScope>"
                       + "<!-- filler -->" * n,
                       security="<siteID>5941234567</siteID><webExID>admin@acme.com</webExID>"
                                "<password>bench-Pw-1</password>"),
]


def synthetic_messages(size: int) -> list[bytes]:
    """One message of each family, each grown by repeating its list items to about `size` bytes."""
    messages = []
    for build in _FAMILIES:
        repeats = 0
        while len(data := build(repeats)) < size and repeats < 100_000:
            # Grow in proportion to the shortfall: reaches megabytes in a handful of builds.
            one_more = max(1, len(build(repeats + 1)) - len(data))
            repeats += max(1, (size - len(data)) // one_more)
        messages.append(data)
    return messages


def big_list_response(size: int) -> bytes:
    """A LstsummaryMeeting response with as many meetings as fit in about `size` bytes."""
    return _sized(lambda n: _response("LstsummaryMeeting", "meet", "".join(_meeting_item(i) for i in range(n))),
                  size)


def big_description_request(size: int) -> bytes:
    """A CreateEvent request whose description is about `size` bytes (WX limit finding, truncate fix)."""
    def build(n: int) -> bytes:
        text = ("Agenda item: quarterly figures &amp; outlook. " * n)
        return _request("CreateEvent", "event", f"<metaData><sessionName>All hands</sessionName>"
                        f"<description>{text}</description></metaData><schedule><startDate>03/17/2026 "
                        "09:00:00</startDate><duration>60</duration></schedule>")
    return _sized(build, size)


def _sized(build: Callable[[int], bytes], size: int) -> bytes:
    unit = max(1, len(build(2)) - len(build(1)))
    return build(max(1, (size - len(build(0))) // unit))


# -- timing --------------------------------------------------------------------------------------

def seconds_per_pass(function: Callable[[bytes], object], items: Sequence[bytes], passes: int) -> float:
    """CPU time of one pass of `function` over `items` (mean of `passes`).

    CPU time, not wall time: on a shared 2-core machine a process waits for a core a good part of
    the time, and that wait says nothing about the code measured.
    """
    started = time.process_time()
    for _ in range(passes):
        for item in items:
            function(item)
    return (time.process_time() - started) / passes


def interleaved(contenders: dict[str, Callable[[], float]], rounds: int) -> dict[str, float]:
    """Run each contender once per round, in turn, and keep each one's median over the rounds.

    Alternating within one run means a burst of load from the other users of the machine slows
    both sides of a ratio, not just one.
    """
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, run in contenders.items():
            samples[name].append(run())
    return {name: statistics.median(values) for name, values in samples.items()}


def time_command(command: Sequence[str], *, cwd: Path = REPO, env: dict[str, str] | None = None) -> tuple[float, float]:
    """(wall, CPU) seconds of one run of a command; its output is discarded and a failure raises.

    CPU is the child's user + system time: on a shared machine it moves far less than wall time.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
