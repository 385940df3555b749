"""Content split into lines without holding more than one line: 8-bit content travels as Latin-1
(one character per byte, so any bytes pass and come back unchanged), UTF-16/32 content as
itself. Blank runs are skipped in bulk; a line over the limit comes as its length only.
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Iterator

from builder.inputs.compression import read_chunks
from builder.text.decode import BOMS

# Lines. Content is split after decoding to text: 8-bit content travels as Latin-1 (one character
# per byte, so any bytes pass and come back unchanged), UTF-16/32 content as itself.
# Byte-order marks and the codec each names; UTF-32-LE's mark starts with UTF-16-LE's, so first.
BYTES_CODEC = "latin-1"
HEAD_BYTES = 4096


def _mark_undecodable(exc: UnicodeError) -> tuple[str, int]:
    """Undecodable bytes become lone surrogates: the line holding them is rejected, the rest read."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return "\udcff" * (exc.end - exc.start), exc.end


MARK_UNDECODABLE = "broadsheet-mark-undecodable"
codecs.register_error(MARK_UNDECODABLE, _mark_undecodable)


def stream_codec(head: bytes) -> str:
    """The codec to split JSON content by: UTF-16/32 by byte-order mark, or by the zero bytes of
    its first two characters, which JSON text keeps ASCII (RFC 4627, section 3); else BYTES_CODEC."""
    for bom, codec in BOMS:
        if head.startswith(bom) and codec != "utf-8":  # UTF-8 is 8-bit: split as bytes
            return codec
    zeros = tuple(byte == 0 for byte in head[:4])
    return _ZERO_PATTERNS.get(zeros, BYTES_CODEC)


_ZERO_PATTERNS: dict[tuple[bool, ...], str] = {
    (True, True, True, False): "utf-32-be",
    (True, False, True, False): "utf-16-be",
    (False, True, True, True): "utf-32-le",
    (False, True, False, True): "utf-16-le",
}


def text_chunks(head: bytes, stream: io.BufferedIOBase, codec: str) -> Iterator[str]:
    """`head` and the rest of the stream decoded by `codec`, in bounded chunks."""
    decoder = codecs.getincrementaldecoder(codec)(MARK_UNDECODABLE)
    yield decoder.decode(head)
    for chunk in read_chunks(stream):
        yield decoder.decode(chunk)
    yield decoder.decode(b"", final=True)


_CONTENT = re.compile(r"[^ \t\n\r\x0b\x0c]")


def _count_eols(text: str, start: int, end: int) -> int:
    return (
        text.count("\n", start, end) + text.count("\r", start, end) - text.count("\r\n", start, end)
    )


def iter_lines(
    chunks: Iterator[str], limit: int, first_line: int = 1
) -> Iterator[tuple[int, str | int]]:
    """(line number, line) of every line that is not blank; lines end at \\n, \\r\\n or \\r.

    Blank runs are skipped by searches over whole chunks, never line by line. A line longer than
    `limit` characters is not kept: it comes as its length (an int). Numbers start at `first_line`.
    """
    line_no = first_line
    part: list[str] = []  # the unfinished line, kept while it is within the limit
    part_len, in_line, blank = 0, False, True
    after_cr = False  # the previous chunk ended with \r: a \n starting this one belongs to it
    for chunk in chunks:
        if not chunk:
            continue
        i, n = (1 if after_cr and chunk[0] == "\n" else 0), len(chunk)
        lf = cr = -2  # the next \n and \r at or after i, found by str.find (-1: none left)
        while i < n:
            if not in_line:
                found = _CONTENT.search(chunk, i)
                stop = found.start() if found else n
                last = max(chunk.rfind("\n", i, stop), chunk.rfind("\r", i, stop))
                if last >= 0:
                    line_no += _count_eols(chunk, i, last + 1)
                    i = last + 1
                in_line, blank = i < n, found is None
            if not in_line:
                break
            # Each search starts past the last one found: the chunk is scanned once per kind.
            if lf != -1 and lf < i:
                lf = chunk.find("\n", i)
            if cr != -1 and cr < i:
                cr = chunk.find("\r", i)
            stop = min((at for at in (lf, cr) if at >= 0), default=n)
            part_len += stop - i
            if part_len <= limit:
                part.append(chunk[i:stop])
            blank = blank and _CONTENT.search(chunk, i, stop) is None
            if stop == n:
                break
            if not blank:
                yield line_no, ("".join(part) if part_len <= limit else part_len)
            line_no += 1
            crlf = stop == cr and chunk.startswith("\r\n", stop)
            part, part_len, in_line, i = [], 0, False, stop + (2 if crlf else 1)
        after_cr = chunk[-1] == "\r"
    if in_line and not blank:
        yield line_no, ("".join(part) if part_len <= limit else part_len)
