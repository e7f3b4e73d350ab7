"""The hostile and bad inputs of the hardening suite, each with what the tool must make of it.

`hostile_inputs(canary, listener_port)` builds the table: XXE pointing at a canary file and at a
local listener, entity bombs, deep nesting, broken encodings, truncated XML, gzip bodies, empty and
non-XML bodies. Each input says what `check` must report for it (the rules of its findings, or a
clear error on stderr) and what the live proxy must log for the request (after undoing a gzip
Content-Encoding). The 50 MB body is built separately (`oversized_body`): it is too big to keep in
every test's table.
"""

from __future__ import annotations

import codecs
import gzip
import zlib
from dataclasses import dataclass, field

from tests.builders import request_xml, response_xml

XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
SERVICE_NS = "http://www.webex.com/schemas/2002/06/service"


@dataclass(frozen=True)
class Hostile:
    name: str
    body: bytes  # as the client sends it (compressed when content_encoding is set)
    rules: frozenset[str]  # rules of the request's findings, linted in-process and through the proxy
    check_rules: frozenset[str] | None = None  # `check` on the body as a file, when it differs from `rules`
    check_error: str | None = None  # `check` reports this on stderr (exit 2) instead of findings
    http_charset: str | None = None  # sent as Content-Type's charset
    content_encoding: str | None = None
    not_linted: str | None = None  # the proxy logs a not_linted event naming this instead of findings
    position: tuple[int, int] | None = None  # (line, column) the first finding must point at
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def decoded(self) -> bytes | None:
        """The message the proxy lints: the body without its Content-Encoding (None: undecodable)."""
        if self.content_encoding != "gzip":
            return self.body
        try:
            return gzip.decompress(self.body)
        except (OSError, EOFError, zlib.error):
            return None

    @property
    def expected_check_rules(self) -> frozenset[str]:
        return self.rules if self.check_rules is None else self.check_rules

    @property
    def content_type(self) -> str:
        return f"text/xml; charset={self.http_charset}" if self.http_charset else "text/xml"


def _get_user(body: str = "<webExId>jdoe@acme.com</webExId>", *, prolog: str = "", encoding: str = "UTF-8") -> bytes:
    """A GetUser request with `prolog` (a DOCTYPE) between the XML declaration and the envelope."""
    message = request_xml("GetUser", body, encoding=encoding)
    declaration, rest = message.split(b"\n", 1)
    return declaration + b"\n" + prolog.encode(encoding) + rest


def _billion_laughs() -> str:
    entities = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    return f'<!DOCTYPE serv:message [<!ENTITY lol0 "lol">{entities}]>\n'


def _deep(depth: int) -> str:
    return "<items>" + "<item>" * depth + "x" + "</item>" * depth + "</items>"


def hostile_inputs(canary: str, listener_port: int) -> list[Hostile]:
    listener = f"http://127.0.0.1:{listener_port}"
    latin1_text = "<firstName>Jérôme</firstName><lastName>Müller</lastName>"
    utf8_said_latin1 = request_xml("SetUser", latin1_text, encoding="UTF-8").replace(
        b'encoding="UTF-8"', b'encoding="ISO-8859-1"')
    meeting = request_xml("CreateMeeting", "<enableOptions><HQvideo>true</HQvideo></enableOptions>",
                          package="meeting")
    truncated = request_xml("GetUser", "<webExId>jdoe@acme.com</webExId>")
    return [
        Hostile("xxe-file-entity", _get_user(
            "<webExId>&canary;</webExId>",
            prolog=f'<!DOCTYPE serv:message [<!ENTITY canary SYSTEM "file://{canary}">]>\n'),
            frozenset({"WX006"}), position=(2, 1)),
        Hostile("xxe-http-entity", _get_user(
            "<webExId>&remote;</webExId>",
            prolog=f'<!DOCTYPE serv:message [<!ENTITY remote SYSTEM "{listener}/entity">]>\n'),
            frozenset({"WX006"})),
        Hostile("xxe-file-parameter-entity", _get_user(
            prolog=f'<!DOCTYPE serv:message [<!ENTITY % local SYSTEM "file://{canary}"> %local;]>\n'),
            frozenset({"WX006"})),
        Hostile("xxe-http-parameter-entity", _get_user(
            prolog=f'<!DOCTYPE serv:message [<!ENTITY % remote SYSTEM "{listener}/p.dtd"> %remote;]>\n'),
            frozenset({"WX006"})),
        Hostile("external-dtd-file", _get_user(prolog=f'<!DOCTYPE serv:message SYSTEM "{canary}">\n'),
                frozenset({"WX006"})),
        Hostile("external-dtd-http", _get_user(
            prolog=f'<!DOCTYPE serv:message PUBLIC "-//Evil//DTD//EN" "{listener}/external.dtd">\n'),
            frozenset({"WX006"})),
        Hostile("xinclude-file", _get_user(
            f'<webExId><xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file://{canary}" '
            f'parse="text"/></webExId>'), frozenset()),  # never processed: no finding, nothing read
        Hostile("billion-laughs", _get_user("<webExId>&lol9;</webExId>", prolog=_billion_laughs()),
                frozenset({"WX006", "WX001"})),
        Hostile("quadratic-blowup", _get_user(
            "<webExId>" + "&big;" * 40_000 + "</webExId>",
            prolog=f'<!DOCTYPE serv:message [<!ENTITY big "{"B" * 40_000}">]>\n'),
            frozenset({"WX006", "WX001"})),
        Hostile("deep-nesting-10000", request_xml("SetUser", _deep(10_000)), frozenset({"WX001"}), position=(8, 0)),
        Hostile("invalid-utf8", request_xml("GetUser", "<webExId>jdoe</webExId>").replace(b"jdoe", b"j\xff\xfe\xc3("),
                frozenset({"WX005"}), position=(8, 11)),
        Hostile("declared-latin1-sent-utf8", utf8_said_latin1, frozenset({"WX005"}), position=(8, 13)),
        Hostile("declared-utf16-sent-8bit", request_xml("GetUser").replace(b'encoding="UTF-8"', b'encoding="UTF-16"'),
                frozenset({"WX005"}), position=(1, 1)),
        Hostile("utf16-bom-declared-latin1",
                request_xml("SetUser", latin1_text, encoding="ISO-8859-1").decode("iso-8859-1").encode("utf-16"),
                frozenset({"WX005"})),
        Hostile("http-charset-disagrees", request_xml("SetUser", latin1_text), frozenset({"WX005"}),
                check_rules=frozenset(), http_charset="ISO-8859-1"),  # a file has no HTTP header
        Hostile("nul-and-control-bytes", request_xml("GetUser", "<webExId>a\x00b\x01c</webExId>"),
                frozenset({"WX001"}), position=(8, 11)),
        Hostile("truncated-xml", truncated[: len(truncated) * 2 // 3], frozenset({"WX001"}), position=(5, 6)),
        Hostile("gzip-encoded", gzip.compress(meeting), frozenset({"WX301", "WX601"}), content_encoding="gzip",
                check_rules=frozenset({"WX001"})),  # a gzip file given to check is binary data, not XML
        Hostile("gzip-corrupt", gzip.compress(meeting)[:60] + b"\x00garbage" * 4, frozenset(),
                content_encoding="gzip", check_rules=frozenset({"WX001"}),
                not_linted="cannot be decoded"),
        Hostile("empty-body", b"", frozenset({"WX001"}), position=(1, 1)),
        Hostile("json-body", b'{"siteName": "acme", "webExID": "admin", "operation": "GetUser"}',
                frozenset({"WX001"}), check_error="not a HAR file"),  # check reads {...} as a HAR export
        Hostile("html-body", b"<!DOCTYPE html>\n<html><head><title>Login</title></head><body><p>Sign in<br></body></html>",
                frozenset({"WX006", "WX001"})),
        Hostile("undeclared-prefixes-20000", request_xml("SetUser", "".join(f"<p{i}:x/>" for i in range(20_000))),
                frozenset({"WX002"})),
        Hostile("entity-name-40000", _get_user("<webExId>&" + "a" * 40_000 + ";</webExId>"), frozenset({"WX001"}),
                position=(8, 0)),
        Hostile("binary-body", bytes(range(1, 256)) * 64, frozenset({"WX001"})),  # "not XML: binary data"
        Hostile("utf8-bom-then-garbage", codecs.BOM_UTF8 + b"\x00\x00\x00\x00" + b"\xff" * 64, frozenset({"WX005"})),
    ]


def oversized_body(size: int = 50 * 1024 * 1024) -> bytes:
    """A well-formed GetUser request of about `size` bytes (one huge text node)."""
    message = request_xml("GetUser", "<webExId>FILL</webExId>")
    return message.replace(b"FILL", b"x" * (size - len(message)))


def gzip_bomb(size: int) -> bytes:
    """A valid message that inflates to about `size` bytes from a gzip body a hundred times smaller.

    Compressed as a stream, a megabyte at a time: the test never holds the inflated message itself.
    """
    head, tail = request_xml("GetUser", "<webExId>FILL</webExId>").split(b"FILL")
    chunk = b"x" * (1 << 20)
    packer = zlib.compressobj(1, zlib.DEFLATED, 16 + zlib.MAX_WBITS)  # 16+: a gzip header and trailer
    parts = [packer.compress(head)]
    parts += [packer.compress(chunk) for _ in range(size // len(chunk))]
    parts += [packer.compress(tail), packer.flush()]
    return b"".join(parts)


def codec_bomb(coding: str, size: int) -> bytes:
    """A body of `size` zero bytes behind a message's start, compressed with `coding` (bz2, zlib, br,
    zstd): a few hundred bytes that a decoder without a bound inflates whole. Compressed as a stream."""
    import bz2  # noqa: PLC0415

    import brotli  # noqa: PLC0415

    head = request_xml("GetUser", "<webExId>FILL</webExId>").split(b"FILL")[0]
    chunk = b"\0" * (1 << 20)
    if coding == "br":
        packer = brotli.Compressor(quality=5)
        parts = [packer.process(head), *(packer.process(chunk) for _ in range(size // len(chunk))), packer.finish()]
        return b"".join(parts)
    if coding == "zstd":
        packer = _zstd().ZstdCompressor(level=3)
    elif coding == "bz2":
        packer = bz2.BZ2Compressor(9)
    elif coding == "zlib":
        packer = zlib.compressobj(9)
    else:
        raise ValueError(coding)
    parts = [packer.compress(head), *(packer.compress(chunk) for _ in range(size // len(chunk))), packer.flush()]
    return b"".join(parts)


def zstd_compress(data: bytes) -> bytes:
    return _zstd().compress(data)


def _zstd():
    try:
        from compression import zstd  # noqa: PLC0415 (Python 3.14)
    except ImportError:
        from backports import zstd  # noqa: PLC0415 (mitmproxy's dependency before 3.14)
    return zstd


# -- issue 21: inputs that made a front end slow or big (each once took seconds to minutes, or GBs) -------

@dataclass(frozen=True)
class Costly:
    """One of issue 21's inputs: a message body that cost a front end super-linear time or memory.
    Each is a request (its body as the client sends it, or a file's bytes); `service` says whether it
    goes to the service path (else it is classified by its content alone, like a file in a folder)."""

    name: str
    body: bytes
    service: bool = True


_SECURITY = "<siteName>acme</siteName><webExID>admin@acme.com</webExID><password>costly-pw-1</password>"


def costly_inputs() -> list[Costly]:
    """Issue 21's hostile set, one of each (sizes as reported, or the size that showed it)."""
    attributes = " ".join(f'a{i}="v{i}"' for i in range(200_000))
    return [
        Costly("doctype-29-pairs", b"<!DOCTYPE" + b"[]" * 29, service=False),          # High 1: 13 s, every client
        Costly("empty-comments", b"<!---->" * 27 + b"<x", service=False),             # High 1: 11 s
        Costly("doctype-service-path", b"<!DOCTYPE" + b"[]" * 29),                    # the linter's source map too
        Costly("placeholder-confname", request_xml(                                   # Medium 3: 26 s
            "CreateMeeting", "<metaData><confName>" + "{{" * 50_000 + "</confName></metaData>", package="meeting",
            security=_SECURITY)),
        Costly("lenient-request-type", request_xml("GetUser", "<webExId>u</webExId>", security=_SECURITY).replace(
            b"binding.user.GetUser", b"binding.user.GetUser" + b" " * 100_000 + b"1")),  # Medium 3: 42 s
        Costly("webexid-64k", request_xml("GetUser", "<webExId>x@" + "a." * 32_000 + " </webExId>",  # Medium 3: 15-20 s
                                          security=_SECURITY)),
        Costly("credential-start-tag-attributes", request_xml(                         # Medium 4: GBs
            "GetUser", "<webExId>u</webExId>",
            security="<siteName>acme</siteName><webExID>a</webExID><password " + 'a="b" ' * 300_000 + ">pw</password>")),
        Costly("long-attribute", request_xml("GetUser", '<webExId x="' + "v" * 4_000_000 + '">u</webExId>',
                                             security=_SECURITY)),                      # Medium 4
        Costly("attributes-200000", request_xml("GetUser", f"<webExId {attributes}>u</webExId>",  # Medium 5: 158 s
                                                security=_SECURITY)),
        Costly("api-version-digits", response_xml(                                    # this round: 20,000 digits 2 s
            "GetAPIVersion", "<ep:apiVersion>" + "1" * 200_000 + "</ep:apiVersion><ep:release>" + "2" * 200_000
            + "</ep:release><ep:apiVer>" + "3" * 200_000 + "</ep:apiVer>")),
    ]


GOOD_REQUESTS = {
    # body -> the rules its request findings must be exactly (with ci-site acme, the newest API version)
    "meeting": (request_xml("CreateMeeting", "<metaData><confName>Sync</confName></metaData>"
                            "<enableOptions><HQvideo>true</HQvideo></enableOptions>", package="meeting",
                            security="<siteID>5941234567</siteID><webExID>admin@acme.com</webExID>"
                                     "<password>good-pw-1</password>"),
                frozenset({"WX101", "WX301", "WX601"})),
    "get-user": (request_xml("GetUser", "<webExId>jdoe@acme.com</webExId>", security=_SECURITY), frozenset()),
}
