"""The elements of a JSON array, found one after the other in a stream of text.

A `.json` file may hold a whole crawl as one array. The splitter follows only what decides where an
element ends (strings with their escapes, and brackets), so an array of any size is read in the
memory of one element, bounded by build.max_record_bytes. Each element's text is then parsed on
its own by the standard library's `json`, exactly as a JSON Lines line is (`builder.readers.json`):
every value reads as json.loads reads it (integers of any length, floats beyond a double, lone
surrogate escapes, NaN), with its limits (nesting too deep, numbers too long), and an element that
is not valid JSON rejects that element only.

A streaming parser was measured for this and left out: ijson 3.6.0's fastest backend (yajl2_c)
fails on integers beyond 64 bits and floats beyond a double (json.loads reads both), turns a lone
surrogate escape into "?", cannot go on after a bad element, gives no element's bytes to hash, and
its item paths grow with the nesting depth: `[` repeated 100,000 times took all the memory there
was. Its pure-Python backend reads as json does, at a tenth of the speed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator


class ArrayError(ValueError):
    """The array itself is broken, not one of its elements; `position` is where it applies."""

    def __init__(self, message: str, position: int, text: str = ""):
        super().__init__(message)
        self.position, self.text = position, text  # the text of the element cut short


_BLANK = re.compile(r"[ \t\n\r]*+")  # JSON's whitespace
_STRUCTURE = re.compile(r'["\[\]{},]')  # outside strings: what opens, closes or separates
_BYTE_ORDER_MARKS = ("\ufeff", "\xef\xbb\xbf")  # decoded, or UTF-8's as Latin-1 (raw bytes)


def _end_of(pattern: re.Pattern[str], text: str, i: int) -> int:
    """Where `pattern`, which matches the empty string too, stops matching `text` from `i`."""
    match = pattern.match(text, i)
    assert match is not None
    return match.end()


def _odd_run(text: str, start: int, end: int, carry: bool) -> bool:
    """Whether `text[start:end]` ends with an odd run of backslashes (which escapes what follows),
    with `carry` saying an odd run ended just before `start`, counted when the run reaches it."""
    k = end
    while k > start and text[k - 1] == "\\":
        k -= 1
    return (end - k + (carry and k == start)) % 2 == 1


def opens_array(text: str) -> bool:
    """Whether text that starts a JSON document (after any byte-order mark) starts an array."""
    for mark in _BYTE_ORDER_MARKS:
        text = text.removeprefix(mark)
    return text.lstrip(" \t\n\r").startswith("[")


class _Splitter:
    """The state of the split between chunks: where in the array, in an element, in a string."""

    def __init__(self, limit: int):
        self.limit = limit
        self.position = 0  # elements begun
        self.state = "start"  # start, between (elements), element, after (the closing bracket)
        self.depth = 0  # brackets open inside the element
        self.in_string = False
        self.escaped = False  # the string's text so far ends with an odd run of backslashes
        self.parts: list[str] = []  # the element's text so far, while within the limit
        self.size = 0  # its length

    def split(self, chunk: str) -> Iterator[tuple[int, str | int]]:
        i, start, n = 0, 0, len(chunk)  # start: where the element's unkept text begins
        while i < n:
            if self.state == "element":
                end = self._element(chunk, i)
                if end is None:
                    break
                i = end + 1
                self._keep(chunk[start:end])
                yield self.position, "".join(self.parts) if self.size <= self.limit else self.size
                self.parts, self.size = [], 0
                self.state = "between" if chunk[end] == "," else "after"
            elif self.state == "after":
                if (i := _end_of(_BLANK, chunk, i)) < n:
                    raise ArrayError("data after the array's closing ]", self.position + 1)
            else:
                i = _end_of(_BLANK, chunk, i)
                if i == n:
                    break
                if self.state == "start":
                    i = self._open(chunk, i)
                elif chunk[i] == "]" and self.position == 0:  # []
                    self.state, i = "after", i + 1
                else:
                    self.state, start, self.position = "element", i, self.position + 1
        if self.state == "element":
            self._keep(chunk[start:])

    def finish(self) -> None:
        if self.state != "after":
            where = f"in element {self.position}" if self.position else "before its first element"
            raise ArrayError(
                f"the file ends inside the array, {where} (truncated?)",
                max(self.position, 1),
                "".join(self.parts),
            )

    def _open(self, chunk: str, i: int) -> int:
        for mark in _BYTE_ORDER_MARKS:
            if chunk.startswith(mark, i):
                return i + len(mark)
        if chunk[i] != "[":
            raise ArrayError("not a JSON array", 1)
        self.state = "between"
        return i + 1

    def _element(self, chunk: str, i: int) -> int | None:
        """Where the element ends in `chunk` (at its comma or the array's ]), scanning from `i`;
        None when it goes on after the chunk."""
        while True:
            if self.in_string and (i := self._string(chunk, i)) == len(chunk):
                return None
            found = _STRUCTURE.search(chunk, i)
            if found is None:
                return None
            j = found.start()
            char, i = chunk[j], j + 1
            if char == '"':
                self.in_string = True
            elif char in "[{":
                self.depth += 1
            elif self.depth:
                self.depth -= char in "]}"  # a comma inside brackets goes on
            elif char in ",]":
                return j
            # an unmatched } goes on: the element's own JSON is bad, and json says so

    def _string(self, chunk: str, i: int) -> int:
        """Where the string ends (after its closing quote), or the chunk's end. A quote closes
        it after an even run of backslashes, a run that may begin in the last chunk (`escaped`)."""
        carry = self.escaped
        quote = chunk.find('"', i)
        while quote >= 0:
            plain = chunk[quote - 1] != "\\" if quote > i else not carry
            if plain or not _odd_run(chunk, i, quote, carry):
                self.in_string = self.escaped = False
                return quote + 1
            i, carry = quote + 1, False
            quote = chunk.find('"', i)
        self.escaped = _odd_run(chunk, i, len(chunk), carry)
        return len(chunk)

    def _keep(self, text: str) -> None:
        self.size += len(text)
        if self.size <= self.limit:
            self.parts.append(text)
        else:
            self.parts = []


def array_elements(chunks: Iterable[str], limit: int) -> Iterator[tuple[int, str | int]]:
    """(position from 1, text) of each element of the JSON array the chunks hold; an element
    longer than `limit` characters comes as its length. Raises ArrayError where the array
    itself is broken (cut short, or followed by more than whitespace)."""
    splitter = _Splitter(limit)
    for chunk in chunks:
        yield from splitter.split(chunk)
    splitter.finish()
