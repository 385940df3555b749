"""JSON and JSON Lines readers: parsed JSON values, one per record, for the crawler_fields row maker.

A .json file holds one record object or an array of them (streamed: `builder.readers.json_array`);
a .jsonl/.ndjson file one per line. Every record's text is decoded and parsed the same way.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Iterator
from typing import Any

from builder.inputs.compression import (
    BLANK_BOUND,
    ContentError,
    is_plain,
    open_content,
    read_at_most,
    trailing_bytes,
)
from builder.inputs.discover import Source
from builder.inputs.files import InputFile
from builder.inputs.lines import BYTES_CODEC, HEAD_BYTES, iter_lines, stream_codec, text_chunks
from builder.outcomes import RejectError, RejectReason, excerpt
from builder.readers.base import Reader, WholeFileReader, after_records
from builder.readers.cuts import Boundaries, LineEnds
from builder.readers.json_array import ArrayError, array_elements, opens_array
from builder.records import RawRecord
from builder.text.decode import BINARY_CONTROL_RATIO, UndecodableError, decode


def parse_json(text: str) -> Any:
    """json.loads, with every way it can fail on bad input turned into a ValueError."""
    try:
        return json.loads(text)
    except RecursionError as exc:
        raise ValueError("invalid JSON: nested too deeply") from exc
    except ValueError as exc:  # JSONDecodeError, and numbers too long to convert
        raise ValueError(f"invalid JSON: {exc}") from exc


class JsonReader(WholeFileReader):
    """A .json file: an array of records, streamed element by element, or one record.

    An array is split with `builder.readers.json_array`, in the memory of one element; each is
    a record of its own, bounded by build.max_record_bytes and decoded and parsed as a JSON Lines
    line is, so a bad element rejects that element only, and damage keeps the elements before it.
    Any other value is the file's one record, read whole up to build.max_file_bytes.
    """

    rows = "crawler_fields"
    limit_setting = "max_file_bytes"
    codec = BYTES_CODEC

    def pieces(self, source: Source, raw: InputFile) -> Iterator[RawRecord]:
        try:
            stream = open_content(raw.stream(), source.name)
            head = _first_significant(stream)
        except ContentError as exc:
            raise RejectError(exc.reason, str(exc)) from exc
        self.codec = stream_codec(head)
        if not opens_array(head.decode(self.codec, errors="replace")):
            self.codec = BYTES_CODEC  # decoded whole, by detection, as any file read whole
            whole = self.read_content(stream, head)
            yield RawRecord(source.rel, 1, "", whole.data, len(whole.data))
            after_records(whole)
            return
        width, position = _UNIT_BYTES.get(self.codec, 1), 0
        try:
            chunks = text_chunks(head, stream, self.codec)
            for position, element in array_elements(
                chunks, self.settings.max_record_bytes // width
            ):
                size = element if isinstance(element, int) else len(element)
                yield RawRecord(source.rel, position, "", element, size * width)
        except ArrayError as exc:
            raise RejectError(
                RejectReason.PARSE_ERROR,
                f"invalid JSON: {exc}",
                excerpt(exc.text.encode(self.codec, errors="replace")),
                record=exc.position,
            ) from exc
        except ContentError as exc:
            lost = f"{exc}; elements from {position + 1} on are lost" if position else str(exc)
            raise RejectError(exc.reason, lost, record=position + 1) from exc
        if (trailing := trailing_bytes(stream)) is not None:
            raise RejectError(RejectReason.CORRUPT_FILE, str(trailing), record=position + 1)

    def decode(self, piece: RawRecord) -> RawRecord:
        return parsed(piece, self.codec, "array element", self.settings.max_record_bytes)


def _first_significant(stream: io.BufferedIOBase) -> bytes:
    """The content's first bytes, up to its first that is not whitespace (or BLANK_BOUND)."""
    head = read_at_most(stream, HEAD_BYTES)
    while head and not head.strip(b" \t\n\r\x00") and len(head) <= BLANK_BOUND:
        more = read_at_most(stream, HEAD_BYTES)
        if not more:
            break
        head += more
    return head


def parsed(piece: RawRecord, codec: str, what: str, limit: int) -> RawRecord:
    """A JSON text record (a line, an array element, a file's one value) parsed; its payload is
    the text (Latin-1 for 8-bit content, its bytes as they are), its length when over `limit`
    (in characters of `codec`), or the content's bytes. RejectError when it cannot be."""
    text = piece.payload
    if isinstance(text, int):
        width = _UNIT_BYTES.get(codec, 1)
        raise RejectError(
            RejectReason.TOO_LARGE,
            f"{what} of {text * width} bytes is over build.max_record_bytes={limit}",
        )
    if codec == BYTES_CODEC:
        data = text if isinstance(text, bytes) else text.encode(BYTES_CODEC)
        try:
            text = decode(data)
        except UndecodableError as exc:
            raise RejectError(RejectReason.UNDECODABLE, str(exc), excerpt(data)) from exc
    elif _LONE_SURROGATE.search(text):
        detail = f"bytes that are not valid {codec.upper()} text"
        raise RejectError(RejectReason.UNDECODABLE, detail, excerpt(text))
    else:
        data, text = text.encode(codec), text.removeprefix("\ufeff")
    try:
        record = parse_json(text)
    except ValueError as exc:
        raise RejectError(RejectReason.PARSE_ERROR, str(exc), excerpt(text)) from exc
    sha256 = hashlib.sha256(data).hexdigest()
    return RawRecord(piece.source_path, piece.source_record, sha256, record, piece.size)


class JsonLinesReader(Reader):
    """A .jsonl/.ndjson file: one record per line; a bad line rejects that record only.

    Lines are split after decoding when the content is UTF-16/32, and end at \\n, \\r\\n or \\r.
    A line over build.max_record_bytes reaches `decode` as its length, and is rejected there.
    """

    rows = "crawler_fields"
    codec = BYTES_CODEC

    @classmethod
    def cuts(cls, source: Source, head: bytes) -> Boundaries | None:
        """Just after a newline, in a plain (uncompressed, 8-bit) file; compressed and UTF-16/32
        files are read from their start."""
        plain_text = is_plain(head, source.name) and stream_codec(head) == BYTES_CODEC
        return LineEnds() if plain_text and not head_looks_binary(head) else None

    def pieces(self, source: Source, raw: InputFile) -> Iterator[RawRecord]:
        limit = self.settings.max_record_bytes
        line_no = 0
        try:
            stream: io.BufferedIOBase
            if raw.start:  # a later range of a plain 8-bit file, as planned (builder.reading.plan)
                stream, head = raw.stream(), b""
            else:
                stream = open_content(raw.stream(), source.name)
                head = read_at_most(stream, HEAD_BYTES)
                self.codec = stream_codec(head)
                if self.codec == BYTES_CODEC and head_looks_binary(head):
                    raise RejectError(
                        RejectReason.UNDECODABLE,
                        "content looks binary, not JSON Lines text (check the file's format)",
                        excerpt(head),
                    )
            width, chunks = _UNIT_BYTES.get(self.codec, 1), text_chunks(head, stream, self.codec)
            for line_no, line in iter_lines(chunks, limit // width, raw.first_line):
                size = line if isinstance(line, int) else len(line)  # a line too long: its length
                yield RawRecord(source.rel, line_no, "", line, size * width)
            if (trailing := trailing_bytes(stream)) is not None:
                raise RejectError(RejectReason.CORRUPT_FILE, str(trailing), record=line_no + 1)
        except ContentError as exc:
            until = "to the end of this range of the file" if raw.is_range else "on"
            lost = f"{exc}; lines from {line_no + 1} {until} are lost" if line_no else str(exc)
            raise RejectError(exc.reason, lost, record=(line_no or raw.first_line - 1) + 1) from exc

    def decode(self, piece: RawRecord) -> RawRecord:
        return parsed(piece, self.codec, "line", self.settings.max_record_bytes)


_UNIT_BYTES = {"utf-16-le": 2, "utf-16-be": 2, "utf-32-le": 4, "utf-32-be": 4}
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# C0 controls other than whitespace: JSON text never holds them raw. (decode's own check reads
# text, where C1 controls count too; on raw bytes those would be UTF-8 continuation bytes.)
_CONTROL = re.compile(rb"[\x00-\x08\x0e-\x1f]")


def head_looks_binary(head: bytes) -> bool:
    return bool(head) and len(_CONTROL.findall(head)) > BINARY_CONTROL_RATIO * len(head)
