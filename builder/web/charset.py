"""A page's bytes to text, trying what the page says in the order the issue fixes: the HTTP
header's charset, a byte-order mark, the `<meta>` charset, then detection (`builder.text.decode`).

A declared charset that cannot decode the bytes is passed over, and a single-byte code page
declared for bytes that are valid multi-byte UTF-8 is taken for the lie it usually is: pages
that lie about their charset still decode.
"""

from __future__ import annotations

import codecs
import re

from builder.text.decode import BOMS, decode

PRESCAN_BYTES = 4096  # where a <meta> charset must be (browsers look at the first 1,024)
_META_CHARSET = re.compile(
    rb"""<meta[^>]{0,512}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]{1,40})""", re.I
)
# Labels browsers read as another codec (WHATWG Encoding): Latin-1 is Windows-1252 on the web.
_WEB_ALIASES = {
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "ascii": "cp1252",
    "us-ascii": "cp1252",
    "iso-8859-9": "cp1254",
    "tis-620": "cp874",
    "iso-8859-11": "cp874",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "euc-kr": "cp949",
    "ks_c_5601-1987": "cp949",
    "big5": "big5hkscs",
}


def codec_of(label: str | None) -> str | None:
    """The Python codec a charset label means on the web, or None for an unknown label."""
    if not label:
        return None
    name = label.strip().strip("\"'").lower()
    name = _WEB_ALIASES.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def meta_charset(html: bytes) -> str | None:
    """The charset a `<meta charset>` or `<meta http-equiv=Content-Type>` near the start names."""
    match = _META_CHARSET.search(html, 0, PRESCAN_BYTES)
    return match.group(1).decode("ascii") if match else None


def page_text(html: bytes, http_charset: str | None = None) -> str:
    """The page as text; raises builder.text.decode.UndecodableError when nothing can read it."""
    bom = next((codec for mark, codec in BOMS if html.startswith(mark)), None)
    for label in (http_charset, bom, meta_charset(html)):
        text = _declared(html, codec_of(label), bom)
        if text is not None:
            return text
    return decode(html, markup=True)


def _declared(html: bytes, codec: str | None, bom: str | None) -> str | None:
    """The bytes read with a declared codec, when it fits them; None to try the next way."""
    if codec is None or (codec.startswith(("utf-16", "utf-32")) and bom is None):
        return None  # a 16/32-bit label without a BOM: detection finds the byte order
    text = _read(html, codec)
    if text is None or codec == "utf-8" or text.isascii():
        return text
    if _single_byte(codec) and _read(html, "utf-8") is not None:
        return None  # valid multi-byte UTF-8 labelled as a code page: detection decides
    return text


def _read(html: bytes, codec: str) -> str | None:
    try:
        return codecs.decode(html, codec).removeprefix("\ufeff")
    except UnicodeDecodeError:
        return None


def _single_byte(codec: str) -> bool:
    return len("é".encode(codec, errors="replace")) == 1
