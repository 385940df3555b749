"""Bytes to text by detection: byte-order mark, 7-bit and 16-bit Unicode, UTF-8, then legacy.

Legacy code pages are told apart by the detector's candidates checked against the language
of their reading: Czech in Windows-1250 also decodes as Windows-1252, but only one reading is
Czech in a code page written for Czech, without symbols in the middle of its words. A file
mixing UTF-8 and a legacy code page is decoded line by line: UTF-8 where the line is valid
UTF-8, the legacy code page that fits the other lines where it is not.
"""

from __future__ import annotations

import codecs
import re
import unicodedata

import charset_normalizer
from ftfy.badness import badness

# Byte-order marks and the codec each names; UTF-32-LE's mark starts with UTF-16-LE's, so first.
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# C0/C1 controls other than tab, newline, form feed and carriage return, and the replacement character.
_SUSPECT = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ufffd]")
BINARY_CONTROL_RATIO = 0.05
CHAOS_MARGIN = 0.1  # detector candidates this close to its best are weighed by language
MAX_CANDIDATES = 12
SAMPLE_BYTES = 1 << 16  # what the byte-pattern and language checks look at

# Escape sequences that switch a 7-bit ISO-2022 text into a double-byte character set.
_ISO2022 = re.compile(rb"\x1b(?:\$[@B]|\$\([DOPQ]|\$\)C)")
_ISO2022_CODECS = ("iso2022_jp_2", "iso2022_jp_2004", "iso2022_jp_ext", "iso2022_kr")
# Share of zero bytes in the high half of 16-bit units above which a BOM-less text is UTF-16
# (spaces, digits and Latin letters all have a zero high byte), with almost none in the low half.
UTF16_HIGH_ZEROS = 0.05
UTF16_LOW_ZEROS = 0.005
UTF16_MIN_ZEROS = 8  # a stray NUL or two in a short UTF-8 text is not a pattern

# The legacy code pages each language was commonly written in (Python codec names).
_WESTERN = (
    "cp1252",
    "latin_1",
    "iso8859_15",
    "mac_roman",
    "mac_iceland",
    "cp850",
    "cp858",
    "cp437",
)
_CENTRAL = ("cp1250", "iso8859_2", "mac_latin2", "cp852")
_CYRILLIC = ("cp1251", "koi8_r", "koi8_u", "mac_cyrillic", "iso8859_5", "cp866", "cp855")
_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "en fr de es it pt nl sv da no nb nn fi is ca eu gl ga af la lb fo oc br id ms sw",
        _WESTERN,
    ),
    ("cs sk pl hu sl hr bs sr sq", _CENTRAL),
    ("ro", (*_CENTRAL, "iso8859_16")),
    ("tr az ku", ("cp1254", "iso8859_9", "mac_turkish", "cp857")),
    ("lt lv", ("cp1257", "iso8859_13", "iso8859_4", "cp775")),
    ("et", ("cp1257", "iso8859_13", "iso8859_4", *_WESTERN)),
    ("mt eo", ("iso8859_3",)),
    ("cy ga gd", ("iso8859_14", *_WESTERN)),
    ("ru uk be bg mk sr kk ky tg mn", (*_CYRILLIC, "kz1048", "ptcp154")),
    ("el", ("cp1253", "iso8859_7", "mac_greek", "cp737", "cp869")),
    ("he yi", ("cp1255", "iso8859_8", "cp862")),
    ("ar fa ur ps", ("cp1256", "iso8859_6", "mac_arabic", "cp720", "cp864")),
    ("th", ("cp874", "tis_620", "iso8859_11")),
    ("vi", ("cp1258",)),
    ("ja", ("cp932", "shift_jis", "shift_jis_2004", "euc_jp", "euc_jis_2004", "iso2022_jp")),
    ("ko", ("cp949", "euc_kr", "johab", "iso2022_kr")),
    ("zh", ("gb18030", "gbk", "gb2312", "hz", "big5", "big5hkscs", "cp950")),
)
# Code pages tried even when the detector leaves them out (it skips single-byte code pages
# once a multi-byte one decodes, which short Western texts often do).
_ALWAYS_TRIED = (
    "cp1252",
    "cp1250",
    "iso8859_2",
    "cp1251",
    "cp1253",
    "cp1254",
    "cp1257",
    "mac_roman",
)
# The non-ASCII letters of languages whose code pages differ only in a few of them.
_ALPHABETS = {
    "cs": "áčďéěíňóřšťúůýž",
    "sk": "áäčďéíĺľňóôŕšťúýž",
    "pl": "ąćęłńóśźż",
    "hu": "áéíóöőúüű",
    "sl": "čšžćđ",
    "hr": "čćđšž",
    "bs": "čćđšž",
    "ro": "ăâîșțşţ",
    "lt": "ąčęėįšųūž",
    "lv": "āčēģīķļņšūž",
    "et": "äöõüšž",
    "tr": "çğıöşüâîû",
}
# Symbols, fractions and superscripts that single-byte code pages hold (below U+2600, so not
# emoji): next to a letter they are what a wrong code page makes of one ('zatwierdzi³a').
_CODE_PAGE_SYMBOLS = frozenset(("Sm", "Sc", "Sk", "So", "No", "Nl"))
_ODD_PUNCTUATION = frozenset("†‡•¶§‰")  # punctuation of the same kind
_BY_WORDS = frozenset("°®©™")  # '5 °C', 'Acme®'
_ODD_ALWAYS = frozenset("¤\x7f")  # the generic currency sign: a Latin-9 '€' read as Latin-1
_OPENING_PUNCTUATION = frozenset("¡¿")  # start a Spanish sentence, never follow a letter


def _code_pages() -> dict[str, tuple[str, ...]]:
    """Language -> its code pages, the most common first (a language may be in two groups)."""
    table: dict[str, dict[str, None]] = {}
    for languages, pages in _GROUPS:
        for language in languages.split():
            table.setdefault(language, {}).update(dict.fromkeys(pages))
    return {language: tuple(pages) for language, pages in table.items()}


CODE_PAGES = _code_pages()


class UndecodableError(ValueError):
    """The bytes are not text in any encoding we can establish."""


def decode(data: bytes, markup: bool = False) -> str:
    """Decode raw bytes to str; never guesses silently into mojibake, raises UndecodableError
    instead. With `markup` (an HTML page), a legacy code page is chosen on the page's text
    without its tags, scripts and styles: the detector and the language model then read words,
    not markup, and take a fraction of the time."""
    text = _decode(data, markup)
    if _looks_binary(text):
        raise UndecodableError("content looks binary (too many control characters)")
    return text


def _decode(data: bytes, markup: bool) -> str:
    for bom, encoding in BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(encoding)
            except UnicodeDecodeError as exc:
                raise UndecodableError(f"byte-order mark says {encoding} but {exc.reason}") from exc
    for encoding in (*_iso2022_candidates(data), *_utf16_candidates(data), "utf-8"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            pass
    return _decode_legacy(data, markup)


def _iso2022_candidates(data: bytes) -> tuple[str, ...]:
    """7-bit ISO-2022 (Japanese, Korean mail and news): ASCII bytes with designation escapes."""
    if b"\x1b" in data and _ISO2022.search(data[:SAMPLE_BYTES]) and data.isascii():
        return _ISO2022_CODECS
    return ()


def _utf16_candidates(data: bytes) -> tuple[str, ...]:
    """UTF-16 without a byte-order mark, told by where the zero bytes fall in 16-bit units."""
    if len(data) % 2 or len(data) < 4 or b"\x00" not in data[:SAMPLE_BYTES]:
        return ()
    sample = data[: SAMPLE_BYTES & ~1]
    units = len(sample) // 2
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    for high, low, encoding in ((odd, even, "utf-16-le"), (even, odd, "utf-16-be")):
        if (
            high >= max(UTF16_MIN_ZEROS, UTF16_HIGH_ZEROS * units)
            and low <= UTF16_LOW_ZEROS * units
        ):
            return (encoding,)
    return ()


def _decode_legacy(data: bytes, markup: bool) -> str:
    """A legacy code page, or UTF-8 mixed with one: whichever reading has less mojibake."""
    readings = []
    encoding = _legacy_encoding(data, _words_of_markup(data) if markup else None)
    if encoding is not None:
        readings.append(data.decode(encoding))
    mixed = _decode_mixed(data, markup)
    if mixed is not None:
        readings.append(mixed)
    if not readings:
        raise UndecodableError("no text encoding fits these bytes")
    return min(readings, key=_mojibake)  # the whole-file reading wins a tie


MARKUP_BYTES = 4 * SAMPLE_BYTES  # of a page's head, whose words judge its code page
_ENDS = {b"<script": b"</script", b"<style": b"</style", b"<!--": b"-->"}  # skipped whole


def _words_of_markup(html: bytes) -> bytes:
    """The text between an HTML page's tags (scripts, styles and comments left out whole), from
    its first MARKUP_BYTES: what its code page is judged on. One pass: every search starts
    where the last one ended, so an unclosed <script> costs no more than the rest of the head."""
    head, words, at = html[:MARKUP_BYTES], [], 0
    lower = head.lower()
    while (tag := head.find(b"<", at)) >= 0:
        words.append(head[at:tag])
        opener = next((o for o in _ENDS if lower.startswith(o, tag)), None)
        closer = _ENDS[opener] if opener is not None else b">"
        end = lower.find(closer, tag + 1)
        if end < 0:
            return b" ".join(words)
        at = lower.find(b">", end) + 1 if opener not in (None, b"<!--") else end + len(closer)
        if at <= 0:  # an unfinished closing tag: nothing after it is text
            return b" ".join(words)
    words.append(head[at:])
    return b" ".join(words)


def _mojibake(text: str) -> tuple[int, int]:
    """How much a reading looks like text decoded in the wrong code page (ftfy's measure, then ours)."""
    return badness(text), sum(_oddities(word, None) for word in _non_ascii_words(text))


def _decode_mixed(data: bytes, markup: bool) -> str | None:
    """Lines that are UTF-8 as UTF-8, the others in the code page that fits them; None if no mix."""
    lines = data.split(b"\n")
    utf8 = [_decodes(line, "utf-8") for line in lines]
    if not any(u and not line.isascii() for u, line in zip(utf8, lines, strict=True)):
        return None  # no line that only UTF-8 explains: the whole-file reading stands alone
    others = b"\n".join(line for u, line in zip(utf8, lines, strict=True) if not u)
    encoding = _legacy_encoding(others, _words_of_markup(others) if markup else None)
    if encoding is None:
        return None
    try:
        return "\n".join(
            line.decode("utf-8" if u else encoding) for u, line in zip(utf8, lines, strict=True)
        )
    except UnicodeDecodeError:
        return None


def _legacy_encoding(data: bytes, words: bytes | None = None) -> str | None:
    """Of the detector's close candidates, the code page whose reading looks most like language.
    With `words` (the text of a page, without its markup), the detector and the judge read those,
    and a candidate must still decode all of `data`; when none does, all of `data` is read.

    The detector alone ranks Windows-1252 or a Nordic code page first for Czech or Polish by a
    hair. A reading wins when its code page serves the language the reading is in, then by
    fewer oddities (a symbol inside a word, a capital after a small letter, two scripts in one
    word, a letter foreign to the language), then by how common the code page is for that
    language (Windows-1252 before Mac Roman for French), then by how sure the language model
    is of the reading's language, then by the detector's coherence and order.
    """
    probe = data if words is None else words
    matches = list(charset_normalizer.from_bytes(probe))
    close = [
        (m.encoding, m.could_be_from_charset, m.coherence)
        for m in matches
        if m.chaos <= matches[0].chaos + CHAOS_MARGIN
    ][:MAX_CANDIDATES]
    if words is not None:
        close = [c for c in close if _decodes(data, c[0])]
        if not close:
            return _legacy_encoding(data)
    for encoding in _ALWAYS_TRIED:
        if all(encoding not in aliases for _, aliases, _ in close) and _decodes(data, encoding):
            close.append((encoding, [encoding], 0.0))
    sample = probe[:SAMPLE_BYTES]
    judged: dict[str, tuple[str | None, float, int]] = {}  # code pages often agree on a sample

    def rank(numbered: tuple[int, tuple[str, list[str], float]]) -> tuple:
        number, (encoding, aliases, coherence) = numbered
        reading = sample.decode(encoding, errors="ignore")
        if reading not in judged:
            judged[reading] = _judge(reading)
        language, confidence, oddities = judged[reading]
        if language is None or any(alias.startswith("utf") for alias in aliases):
            return (False, oddities, 0, -confidence, -coherence, number)
        pages = CODE_PAGES.get(language, ())
        commonness = min((pages.index(a) for a in aliases if a in pages), default=len(pages))
        return (commonness == len(pages), oddities, commonness, -confidence, -coherence, number)

    return min(enumerate(close), key=rank)[1][0] if close else None


def _judge(reading: str) -> tuple[str | None, float, int]:
    """(language of the reading, or None when it has no letters; how sure the language model is
    of it; oddities of the reading's non-ASCII words)."""
    # imported here: the steps package imports this module (the web_page step decodes pages)
    from builder.text.language import language_and_confidence

    if not any(ch.isalpha() for ch in reading):
        return None, 0.0, 0
    language, confidence = language_and_confidence(reading)
    alphabet = _ALPHABETS.get(language)
    return language, confidence, sum(_oddities(w, alphabet) for w in _non_ascii_words(reading))


def _non_ascii_words(text: str) -> list[str]:
    """The space-separated words holding a character outside ASCII: where code pages differ."""
    return [word for word in text.split() if not word.isascii()]


def _decodes(data: bytes, encoding: str) -> bool:
    """Whether `data` is valid in `encoding`, checked in chunks (no copy of a large file)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        for start in range(0, len(data), SAMPLE_BYTES):
            decoder.decode(data[start : start + SAMPLE_BYTES])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _oddities(word: str, alphabet: str | None) -> int:
    """Marks of a wrong code page in one word: symbols against letters, camel case, mixed scripts,
    and letters outside the language's alphabet (when we know it)."""
    odd = 0
    padded = f" {word} "
    for before, char, after in zip(padded, padded[1:-1], padded[2:], strict=False):
        if char.isascii():
            continue
        category = unicodedata.category(char)
        if category[0] == "L":
            odd += category == "Lu" and unicodedata.category(before) == "Ll"
            odd += _script(before) not in ("", _script(char))
            odd += _script(after) not in ("", _script(char))
            odd += alphabet is not None and char.lower() not in alphabet
        elif category in ("Cc", "Cn", "Co") or char in _ODD_ALWAYS:
            odd += 1
        elif (
            (category in _CODE_PAGE_SYMBOLS or char in _ODD_PUNCTUATION)
            and ord(char) < 0x2600
            and char not in _BY_WORDS
        ):
            odd += before.isalpha() or after.isalpha()
        elif char in _OPENING_PUNCTUATION:
            odd += before.isalpha()
    return odd


def _script(char: str) -> str:
    """A letter's script, from its Unicode name ('LATIN', 'CYRILLIC'; Chinese and kana are one)."""
    if not char.isalpha():
        return ""
    script = unicodedata.name(char, "").split(" ", 1)[0]
    return "CJK" if script in ("HIRAGANA", "KATAKANA", "CJK") else script


def _looks_binary(text: str) -> bool:
    sample = text[:65536]
    return bool(sample) and len(_SUSPECT.findall(sample)) / len(sample) > BINARY_CONTROL_RATIO
