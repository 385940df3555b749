"""Python `re` patterns and character predicates as RE2 patterns that match the same text.

Arrow's regex engine is RE2, whose idea of a class differs from Python's: its \\w and \\d are
ASCII-only and its Unicode tables follow another Unicode version than `unicodedata`. A class
spelled as explicit code point ranges, computed from Python's own definition, matches exactly
the characters Python matches, whatever either library's version.
"""

from __future__ import annotations

import re

# The standard library has no public regex parser: `re._parser` is the module that the public
# but deprecated `sre_parse` (which warns on import) re-exports. Its output is checked by the
# tests against Python's own matching on every translated pattern.
import re._constants as sre
import re._parser as sre_parse
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

CODE_POINTS = 0x110000
EVERY = (range(CODE_POINTS),)


def _chars(block: range) -> str:
    """Every code point of the block as one string (lone surrogates included), built in C."""
    points = np.arange(block.start, block.stop, dtype="<u4")
    return points.tobytes().decode("utf-32-le", "surrogatepass")


@dataclass(frozen=True, eq=False)
class CodeSet:
    """A set of code points, kept as one flag per code point so set algebra is vectorized."""

    members: np.ndarray  # bool, CODE_POINTS long

    @classmethod
    def where(cls, predicate: Callable[[str], object], blocks: Iterable[range] = EVERY) -> CodeSet:
        """The code points of these blocks whose character passes `predicate`.

        The predicate runs through `map`, so a builtin (str.isalnum, unicodedata.combining)
        scans all of Unicode in milliseconds.
        """
        members = np.zeros(CODE_POINTS, dtype=bool)
        for block in blocks:
            flags = map(bool, map(predicate, _chars(block)))
            members[block.start : block.stop] = np.fromiter(flags, dtype=bool, count=len(block))
        return cls(members)

    @classmethod
    def matching(cls, pattern: str) -> CodeSet:
        """The code points a one-character Python pattern matches: a class or a category."""
        members = np.zeros(CODE_POINTS, dtype=bool)
        for match in re.finditer(f"(?:{pattern})+", _chars(EVERY[0])):
            members[match.start() : match.end()] = True
        return cls(members)

    @classmethod
    def of(cls, codepoints: Iterable[int]) -> CodeSet:
        members = np.zeros(CODE_POINTS, dtype=bool)
        members[np.fromiter(codepoints, dtype=np.int64)] = True
        return cls(members)

    @classmethod
    def spanning(cls, ranges: Iterable[tuple[int, int]]) -> CodeSet:
        """The code points of these (first, last) ranges."""
        members = np.zeros(CODE_POINTS, dtype=bool)
        for first, last in ranges:
            members[first : last + 1] = True
        return cls(members)

    def __or__(self, other: CodeSet) -> CodeSet:
        return CodeSet(self.members | other.members)

    def __and__(self, other: CodeSet) -> CodeSet:
        return CodeSet(self.members & other.members)

    def codepoints(self) -> np.ndarray:
        return np.flatnonzero(self.members)

    def ranges(self) -> list[tuple[int, int]]:
        """The (first, last) runs of consecutive members, in increasing order."""
        padded = np.concatenate(([False], self.members, [False]))
        edges = np.flatnonzero(padded[1:] != padded[:-1])
        return [(int(a), int(b) - 1) for a, b in zip(edges[::2], edges[1::2], strict=True)]

    def re_class(self) -> str:
        """A Python `re` class of the members, written as ranges: a class of thousands of single
        characters makes every match slow."""
        ranges = self.ranges()
        return "[" + "".join(f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges) + "]"

    def re2_class(self) -> str:
        return re2_class(self.ranges())


def re2_class(ranges: Sequence[tuple[int, int]], negate: bool = False) -> str:
    body = "".join(_re2_char(a) if a == b else f"{_re2_char(a)}-{_re2_char(b)}" for a, b in ranges)
    return f"[{'^' if negate else ''}{body}]"


def _re2_char(c: int) -> str:
    return f"\\x{{{c:x}}}"


def to_re2(pattern: re.Pattern[str], widen: bool = False) -> str:
    """`pattern` in RE2 syntax, matching the same strings at the same places.

    Categories (\\w, \\s, \\d and their negations) become Python's own code point sets. With
    `widen`, the result may match more: assertions (^, \\b) are dropped and \\s, \\w, \\d take every
    non-ASCII character, so RE2 finds a match in any text where `pattern` finds one in a part of
    it. Syntax outside plain regular expressions raises ValueError.
    """
    if pattern.flags & ~(re.VERBOSE | re.UNICODE):
        raise ValueError(f"regex flags {pattern.flags} have no RE2 translation here")
    return _sequence(sre_parse.parse(pattern.pattern, pattern.flags), widen)


_CATEGORIES = {
    sre.CATEGORY_SPACE: r"\s",
    sre.CATEGORY_NOT_SPACE: r"\S",
    sre.CATEGORY_WORD: r"\w",
    sre.CATEGORY_NOT_WORD: r"\W",
    sre.CATEGORY_DIGIT: r"\d",
    sre.CATEGORY_NOT_DIGIT: r"\D",
}


def _sequence(items: Iterable[tuple[Any, Any]], widen: bool) -> str:
    out = []
    for op, arg in items:
        if op is sre.LITERAL:
            out.append(_re2_char(arg))
        elif op is sre.ANY:  # neither matches a newline
            out.append(".")
        elif op is sre.IN:
            out.append(_set(arg, widen))
        elif op is sre.BRANCH:
            out.append("(?:" + "|".join(_sequence(b, widen) for b in arg[1]) + ")")
        elif op is sre.SUBPATTERN and not arg[1] and not arg[2]:
            out.append(f"(?:{_sequence(arg[3], widen)})")
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT) and _bound(arg[0]) and _bound(arg[1]):
            low, high = arg[0], "" if arg[1] == sre.MAXREPEAT else arg[1]
            lazy = "?" if op is sre.MIN_REPEAT else ""
            out.append(f"(?:{_sequence(arg[2], widen)}){{{low},{high}}}{lazy}")
        elif op is sre.AT and widen:
            continue  # an assertion only removes matches
        else:
            raise ValueError(f"no RE2 translation for {op} {arg}")
    return "".join(out)


def _bound(count: int) -> bool:
    """RE2 counts repetitions up to 1000, or without bound."""
    return count <= 1000 or count == sre.MAXREPEAT


def _set(items: list[tuple[Any, Any]], widen: bool) -> str:
    negate = bool(items) and items[0][0] is sre.NEGATE
    ranges: list[tuple[int, int]] = []
    for op, arg in items[negate:]:
        if op is sre.LITERAL:
            ranges.append((arg, arg))
        elif op is sre.RANGE:
            ranges.append(arg)
        elif op is sre.CATEGORY and widen and not negate and arg in _CATEGORIES:
            ascii_members = re.compile(f"[{_CATEGORIES[arg]}]")
            ranges += [(c, c) for c in range(0x80) if ascii_members.match(chr(c))]
            ranges.append((0x80, CODE_POINTS - 1))
        elif op is sre.CATEGORY and not widen and arg in _CATEGORIES:
            ranges += _category_ranges(arg)
        else:
            raise ValueError(f"no RE2 translation for {op} {arg} in a character set")
    return re2_class(ranges, negate)


@cache
def _category_ranges(category: Any) -> list[tuple[int, int]]:
    return CodeSet.matching(_CATEGORIES[category]).ranges()
