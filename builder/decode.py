"""Bytes to text by detection: byte-order mark, then UTF-8, then a detector."""

from __future__ import annotations

import codecs
import re

import charset_normalizer

# utf-32 before utf-16: the UTF-32-LE mark starts with the UTF-16-LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# C0/C1 controls other than tab, newline, form feed and carriage return, and the replacement character.
_SUSPECT = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ufffd]")
BINARY_CONTROL_RATIO = 0.05
CHAOS_MARGIN = 0.1


class UndecodableError(ValueError):
    """The bytes are not text in any encoding we can establish."""


def decode(data: bytes) -> str:
    """Decode raw bytes to str; never guesses silently into mojibake, raises UndecodableError instead."""
    text = _decode(data)
    if _looks_binary(text):
        raise UndecodableError("content looks binary (too many control characters)")
    return text


def _decode(data: bytes) -> str:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as exc:
                raise UndecodableError(
                    f"byte-order mark says {encoding} but {exc.reason}"
                ) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    matches = list(charset_normalizer.from_bytes(data))
    if not matches:
        raise UndecodableError("no text encoding fits these bytes")
    return str(_prefer_common(matches))


def _prefer_common(matches: list) -> object:
    """The detector's best match, unless Windows-1252 fits about as well.

    On short Western European texts the detector often ranks a Baltic or Central European code
    page first by a hair; Windows-1252 (which browsers also use for 'latin-1') is far more common.
    """
    best = matches[0]
    for match in matches:
        if "cp1252" in match.could_be_from_charset and match.chaos <= best.chaos + CHAOS_MARGIN:
            return match
    return best


def _looks_binary(text: str) -> bool:
    sample = text[:65536]
    return bool(sample) and len(_SUSPECT.findall(sample)) / len(sample) > BINARY_CONTROL_RATIO
