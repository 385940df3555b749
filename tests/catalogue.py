"""The bad-input catalogue: hostile, odd and broken raw files, each with the outcome it must have.

Every case is made by the tests themselves (no binary fixtures in git). A case writes one or more
files into the input folder and says what each file must become, record by record:

- ``"row"``: a published article;
- ``"reject:<reason>"``: a reject with that reason (see ``RejectReason``);
- ``"duplicate:<reason>"``: left out as a duplicate;
- ``"skip:<kind>"``: not read at all, listed as skipped with that kind.

`tests/test_catalogue.py` builds all of them at once and checks each outcome, that nothing
crashed, and that the accounting identity holds over the whole catalogue.
"""

from __future__ import annotations

import bz2
import gzip
import itertools
import os
import random
import socket
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import zstandard

from tests.support import ENGLISH, ITALIAN, jsonl, seed_text

ROW = "row"
_stories = itertools.count(1)


def rows(n: int) -> list[str]:
    return [ROW] * n


def story() -> str:
    """An English article no other case repeats (all cases share one build, and so one dedup)."""
    return f"{ENGLISH} This is story number {next(_stories)} of the catalogue."


def article() -> bytes:
    return seed_text("2021-02", story()).encode()


def reject(reason: str) -> str:
    return f"reject:{reason}"


def skip(kind: str) -> str:
    return f"skip:{kind}"


def duplicate(reason: str) -> str:
    return f"duplicate:{reason}"


@dataclass(frozen=True)
class Case:
    """One catalogue entry: `make(raw)` writes files and returns {source_path: [outcome, ...]}."""

    name: str
    make: Callable[[Path], dict[str, list[str]]]


CASES: list[Case] = []


def case(name: str):
    def register(make: Callable[[Path], dict[str, list[str]]]):
        CASES.append(Case(name, make))
        return make

    return register


def _put(raw: Path, rel: str, data: bytes) -> Path:
    path = raw / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _file(rel: str, data: bytes, *outcomes: str) -> Callable[[Path], dict[str, list[str]]]:
    def make(raw: Path) -> dict[str, list[str]]:
        _put(raw, rel, data)
        return {rel: list(outcomes)}

    return make


def _simple(name: str, rel: str, data: bytes, *outcomes: str) -> None:
    CASES.append(Case(name, _file(rel, data, *outcomes)))


def _zst(data: bytes) -> bytes:
    return zstandard.ZstdCompressor().compress(data)


def _gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


# Real sentences in legacy code pages: each must come out as written, not as mojibake.
LEGACY = {
    "cp1250-cs": (
        "cp1250",
        "Městská rada včera schválila nový plán udržitelné dopravy. Počítá s cyklostezkami, "
        "elektrickými autobusy a zónou s omezeným provozem v historickém centru. Podle radního "
        "začnou práce do léta a potrvají zhruba dva roky. Žádné další změny nejsou plánovány.",
    ),
    "iso8859_2-pl": (
        "iso8859_2",
        "Rada miejska zatwierdziła wczoraj wieczorem nowy plan zrównoważonego transportu. "
        "Przewiduje on ścieżki rowerowe, więcej autobusów elektrycznych i strefę ograniczonego "
        "ruchu w historycznym centrum. Według radnego prace rozpoczną się przed latem.",
    ),
    "cp1254-tr": (
        "cp1254",
        "Belediye meclisi dün akşam sürdürülebilir ulaşım için yeni bir planı onayladı. Plan, "
        "bisiklet yolları, daha fazla elektrikli otobüs ve tarihi merkezde sınırlı trafik bölgesi "
        "öngörüyor. Meclis üyesine göre çalışmalar yaz başında başlayacak ve iki yıl sürecek.",
    ),
    "mac_roman-fr": (
        "mac_roman",
        "Le conseil municipal a approuvé hier soir un nouveau plan pour la mobilité durable, "
        "avec des pistes cyclables, davantage de bus électriques et une zone à trafic limité "
        "dans le centre historique. Selon l’élu, les travaux débuteront avant l’été prochain.",
    ),
    "cp1251-ru": (
        "cp1251",
        "Городской совет вчера вечером утвердил новый план устойчивого транспорта. Он "
        "предусматривает велосипедные дорожки, больше электробусов и зону ограниченного "
        "движения в историческом центре. По словам депутата, работы начнутся до лета.",
    ),
    "koi8_r-ru": (
        "koi8_r",
        "Городской совет вчера вечером утвердил новый план устойчивого транспорта. Он "
        "предусматривает велосипедные дорожки, больше электробусов и зону ограниченного "
        "движения в историческом центре. По словам депутата, работы начнутся до лета.",
    ),
    "cp1253-el": (
        "cp1253",
        "Το δημοτικό συμβούλιο ενέκρινε χθες το βράδυ ένα νέο σχέδιο για τη βιώσιμη κινητικότητα, "
        "με ποδηλατοδρόμους, περισσότερα ηλεκτρικά λεωφορεία και ζώνη περιορισμένης κυκλοφορίας "
        "στο ιστορικό κέντρο. Σύμφωνα με τον σύμβουλο, οι εργασίες θα ξεκινήσουν το καλοκαίρι.",
    ),
    "iso2022_jp-ja": (
        "iso2022_jp",
        "市議会は昨夜、持続可能な交通のための新しい計画を承認した。計画には自転車道の整備、"
        "電気バスの増便、歴史地区での交通規制区域の設定が含まれる。担当議員によると、工事は"
        "夏までに始まり、約二年間続く見込みだという。市民からは期待の声が上がっている。",
    ),
    "shift_jis-ja": (
        "shift_jis",
        "市議会は昨夜、持続可能な交通のための新しい計画を承認した。計画には自転車道の整備、"
        "電気バスの増便、歴史地区での交通規制区域の設定が含まれる。担当議員によると、工事は"
        "夏までに始まり、約二年間続く見込みだという。市民からは期待の声が上がっている。",
    ),
    "cp1252-de": (
        "cp1252",
        "Der Stadtrat hat gestern Abend einen neuen Plan für nachhaltige Mobilität beschlossen: "
        "mehr Radwege, zusätzliche Elektrobusse und eine verkehrsberuhigte Zone in der "
        "Altstadt. Laut dem Stadtrat beginnen die Arbeiten vor dem Sommer und dauern zwei Jahre.",
    ),
}
# The second reading of a text in another code page must decode to the same text: a duplicate.
_SAME_TEXT_AS_AN_EARLIER_CASE = {"koi8_r-ru", "shift_jis-ja"}
for _key, (_codec, _text) in LEGACY.items():
    _simple(
        f"legacy encoding {_key}",
        f"encodings/{_key}.txt",
        seed_text("2021-03", _text).encode(_codec),
        duplicate("same_text") if _key in _SAME_TEXT_AS_AN_EARLIER_CASE else ROW,
    )

_simple("utf-16 with BOM", "encodings/utf16-bom.txt", article().decode().encode("utf-16"), ROW)
_simple(
    "utf-16-le without BOM", "encodings/utf16le.txt", article().decode().encode("utf-16-le"), ROW
)
_simple(
    "utf-16-be without BOM", "encodings/utf16be.txt", article().decode().encode("utf-16-be"), ROW
)
_simple("utf-32 with BOM", "encodings/utf32.txt", article().decode().encode("utf-32"), ROW)
_simple(
    "utf-16 JSON Lines with BOM",
    "encodings/utf16.jsonl",
    jsonl([{"text": story(), "url": f"https://e.com/u16/{i}"} for i in range(3)]).encode("utf-16"),
    *rows(3),
)
_simple(
    "UTF-8 and Windows-1252 paragraphs in one file",
    "encodings/mixed.txt",
    seed_text("2021-03", story()).encode()
    + b"\n\n"
    + "Le café d’été à Besançon: élèves et théâtre.".encode("cp1252"),
    ROW,
)
_simple("binary noise", "encodings/noise.txt", bytes(range(256)) * 64, reject("undecodable"))
_simple("only NUL bytes", "encodings/nul.txt", b"\x00" * 4096, reject("undecodable"))

# Compression: damage reads the same in every format, and content decides, not the name.
_TRUNC = seed_text("2021-02", os.urandom(3000).hex()).encode()
_simple("truncated .gz", "compressed/cut.txt.gz", _gz(_TRUNC)[:200], reject("corrupt_file"))
_simple("truncated .zst", "compressed/cut.txt.zst", _zst(_TRUNC)[:200], reject("corrupt_file"))


@case("truncated .jsonl.zst")
def _cut_jsonl(raw: Path) -> dict[str, list[str]]:
    words = random.Random(6).choices(ENGLISH.split(), k=6000)
    records = [{"text": " ".join(words[i * 300 : (i + 1) * 300])} for i in range(20)]
    data = _zst(jsonl(records).encode())
    cut = data[: len(data) // 2]
    complete = zstandard.ZstdDecompressor().decompressobj().decompress(cut).count(b"\n")
    _put(raw, "compressed/cut.jsonl.zst", cut)
    return {"compressed/cut.jsonl.zst": rows(complete) + [reject("corrupt_file")]}


_simple(
    "gzip bytes named .jsonl",
    "compressed/gzip-inside.jsonl",
    _gz(jsonl([{"text": story(), "url": "https://e.com/gz-in/1"}]).encode()),
    ROW,
)
_simple("zstd bytes named .txt", "compressed/zstd-inside.txt", _zst(article()), ROW)
_simple(
    "garbage named .gz",
    "compressed/garbage.txt.gz",
    b"not gzip at all" * 10,
    reject("corrupt_file"),
)
_simple("empty .gz file", "compressed/empty.txt.gz", b"", reject("no_text"))
_simple("gzip of nothing", "compressed/nothing.jsonl.gz", _gz(b""), reject("no_text"))
_simple(
    "two gzip members",
    "compressed/members.txt.gz",
    _gz((_two := article())[:40]) + _gz(_two[40:]),
    ROW,
)


def _records(tag: str, n: int) -> bytes:
    return jsonl([{"text": story(), "url": f"https://e.com/{tag}/{i}"} for i in range(n)]).encode()


# Bytes after the last member (frame): every record before them kept, and one reject for them.
_simple(
    "garbage after a .jsonl.gz",
    "compressed/trailing.jsonl.gz",
    _gz(_records("trailing-gz", 3)) + b"appended garbage\n",
    *rows(3),
    reject("corrupt_file"),
)
_simple(
    "garbage after a .jsonl.zst",
    "compressed/trailing.jsonl.zst",
    _zst(_records("trailing-zst", 3)) + b"\x00" * 512,
    *rows(3),
    reject("corrupt_file"),
)
_simple(
    "two gzip members, then garbage",
    "compressed/members-trailing.jsonl.gz",
    _gz(_records("members-a", 2)) + _gz(_records("members-b", 2)) + b"\x1f",
    *rows(4),
    reject("corrupt_file"),
)
_simple(
    "two zstd frames around a skippable frame",
    "compressed/frames.jsonl.zst",
    _zst(_records("frames-a", 2))
    + b"\x50\x2a\x4d\x18\x04\x00\x00\x00skip"
    + _zst(_records("frames-b", 2)),
    *rows(4),
)
_simple(
    "zeros after a .txt.gz",
    "compressed/trailing.txt.gz",
    _gz(article()) + b"\x00" * 1024,
    ROW,
    reject("corrupt_file"),
)
_simple("bzip2 bytes named .txt", "compressed/bz2-inside.txt", bz2.compress(article()), ROW)
_simple(
    "raw zlib named .gz", "compressed/zlib.txt.gz", zlib.compress(article()), reject("corrupt_file")
)

# JSON shapes.
_simple("deeply nested array", "json/deep.json", b"[" * 100_000, reject("parse_error"))
_simple(
    "nesting near the recursion limit",
    "json/near-limit.json",
    b'{"text": ' + b"[" * 990 + b"]" * 990 + b"}",
    reject("parse_error"),
)
_simple("a bare number", "json/number.json", b"42", reject("parse_error"))
_simple("an empty object", "json/empty-object.json", b"{}", reject("no_text"))
_simple("an empty array", "json/empty-array.json", b"[]", reject("no_text"))
_simple(
    "a bad element in a JSON array",
    "json/bad-element.json",
    f'[{{"text": "{story()}"}}, {{"text": }}, {{"text": "{story()}"}}]'.encode(),
    ROW,
    reject("parse_error"),
    ROW,
)
_simple(
    "a JSON array cut short",
    "json/cut-array.json",
    f'[{{"text": "{story()}"}},\n{{"text": "{story()}"}},\n{{"text": "unfinish'.encode(),
    ROW,
    ROW,
    reject("parse_error"),
)
_simple(
    "a JSON array, then more",
    "json/array-then-more.json",
    f'[{{"text": "{story()}"}}] [{{"text": "{story()}"}}]'.encode(),
    ROW,
    reject("parse_error"),
)
_simple(
    "a 5000-digit number",
    "json/bignum.jsonl",
    b'{"text": "x", "n": ' + b"9" * 5000 + b"}\n",
    reject("parse_error"),
)
_simple(
    "lone surrogate in the URL",
    "json/surrogate-url.jsonl",
    jsonl([{"text": story(), "url": "https://e.com/\\ud800"}])
    .replace("\\\\ud800", "\\ud800")
    .encode(),
    reject("invalid_record"),
)
_simple(
    "lone surrogate in the hostname",
    "json/surrogate-host.jsonl",
    b'{"text": "' + story().encode() + b'", "hostname": "ex\\udc00ample.com"}\n',
    reject("invalid_record"),
)
_simple(
    "lone surrogate in the text",
    "json/surrogate-text.jsonl",
    b'{"text": "' + story().encode() + b' \\ud83d end."}\n',
    ROW,
)
_simple(
    "CR-only line endings",
    "json/cr.jsonl",
    jsonl([{"text": story(), "url": f"https://e.com/cr/{i}"} for i in range(3)])
    .replace("\n", "\r")
    .encode(),
    *rows(3),
)
_simple(
    "a title that is an object",
    "json/typed.jsonl",
    jsonl([{"text": story(), "title": {"x": 1}}]).encode(),
    reject("invalid_record"),
)
_simple(
    "blank-line bomb",
    "json/blank.jsonl.gz",
    _gz(
        b"\n" * (8 << 20) + jsonl([{"text": story(), "url": "https://e.com/after-blanks"}]).encode()
    ),
    ROW,
)
_simple("spaces bomb", "json/spaces.json.gz", _gz(b" " * (64 << 20)), reject("no_text"))

# Dates.
for _name, _date, _outcome in [
    ("hour 25", "2021-02-03T25:00:00", reject("bad_date")),
    ("minute 61", "2021-02-03T10:61", reject("bad_date")),
    ("hour-only offset", "2021-02-03T10:00:00+01", ROW),
    ("Arabic-Indic digits", "٢٠٢١-٠٢-٠٣", ROW),
    ("full-width digits", "２０２１-０２", ROW),
    ("month 13", "2021-13", reject("bad_date")),
    ("month 00", "2021-00", reject("bad_date")),
    ("day 00", "2021-02-00", reject("bad_date")),
    ("next year", "2027-01", reject("future_date")),
    ("year 999", "0999", reject("bad_date")),
]:
    _simple(
        f"date: {_name}",
        f"dates/{_name.replace(' ', '-')}.jsonl",
        jsonl([{"text": story(), "date": _date}]).encode(),
        _outcome,
    )
_simple(
    "a blank date: undated",
    "dates/blank.jsonl",
    jsonl([{"text": story(), "date": "   "}]).encode(),
    ROW,
)
_simple(
    "a txt header date of only spaces: undated",
    "dates/blank-header.txt",
    ("date   \n" + story()).encode(),
    ROW,
)
_simple(
    "txt header with a time",
    "dates/header-time.txt",
    ("date 2021-02-03T10:00:00+01:00 " + story()).encode(),
    ROW,
)
_simple(
    "txt header then NBSP", "dates/header-nbsp.txt", ("date 2021-02\u00a0" + story()).encode(), ROW
)

# Text.
_simple(
    "paragraph and line separators",
    "text/separators.txt",
    seed_text("2021-02", story().replace(". ", ".\u2029", 1).replace(", ", ",\u2028", 1)).encode(),
    ROW,
)
for _name, _blank in [
    ("NBSP", "\u00a0"),
    ("em spaces", "\u2003"),
    ("zero-width spaces", "\u200b"),
    ("ideographic spaces", "\u3000"),
]:
    _simple(
        f"only {_name}",
        f"text/only-{_name.replace(' ', '-')}.txt",
        (_blank * 500).encode(),
        reject("no_text"),
    )
_simple(
    "numbers only",
    "text/numbers.txt",
    seed_text("2021-02", " ".join(str(n) for n in range(200))).encode(),
    reject("no_text"),
)
_simple(
    "alternating combining marks",
    "text/combining.txt",
    ("a" + "\u0301\u0300" * 80_000).encode(),
    reject("too_complex"),
)
_simple(
    "terminal escapes in the text",
    "text/escapes.txt",
    seed_text("2021-02", story() + " \x1b[31mred\x1b[0m \x1b]0;title\x07").encode(),
    ROW,
)


@case("same text twice")
def _same_text(raw: Path) -> dict[str, list[str]]:
    _put(raw, "dups/a.txt", seed_text("2021-02", ITALIAN + " Copia.").encode())
    _put(raw, "dups/b.txt", seed_text("2021-02", ITALIAN + "   Copia.").encode())
    return {"dups/a.txt": [ROW], "dups/b.txt": [duplicate("same_text")]}


@case("one URL, two texts")
def _same_url(raw: Path) -> dict[str, list[str]]:
    records = [
        {"text": story(), "url": "https://e.com/same"},
        {"text": ITALIAN, "url": "https://e.com/same"},
    ]
    _put(raw, "dups/url.jsonl", jsonl(records).encode())
    return {"dups/url.jsonl": [ROW, reject("id_conflict")]}


# File names and the file system.
@case("a Latin-1 byte and a literal backslash sequence in names")
def _names(raw: Path) -> dict[str, list[str]]:
    latin = os.fsdecode(b"names/caf\xe9.txt")
    literal = "names/caf\\xe9.txt"
    _put(raw, latin, seed_text("2021-02", story()).encode())
    _put(raw, literal, seed_text("2021-02", story()).encode())
    return {"names/caf\\xe9.txt": [ROW], "names/caf\\\\xe9.txt": [ROW]}


@case("terminal escape sequence in a name")
def _escape_name(raw: Path) -> dict[str, list[str]]:
    _put(raw, "names/\x1b[31mred.txt", seed_text("2021-02", story()).encode())
    return {"names/\x1b[31mred.txt": [ROW]}


@case("a link to a file outside the input")
def _link_out(raw: Path) -> dict[str, list[str]]:
    secret = raw.parent / "secret.txt"
    secret.write_text(seed_text("2021-02", story()), encoding="utf-8")
    (raw / "links").mkdir(exist_ok=True)
    (raw / "links/passwd.txt").symlink_to("/etc/passwd")
    (raw / "links/secret.txt").symlink_to(secret)
    return {
        "links/passwd.txt": [skip("link outside the input")],
        "links/secret.txt": [skip("link outside the input")],
    }


@case("a link inside the input")
def _link_in(raw: Path) -> dict[str, list[str]]:
    _put(raw, "links/target.txt", seed_text("2021-02", ITALIAN + " Bersaglio.").encode())
    (raw / "links/alias.txt").symlink_to("target.txt")
    return {"links/alias.txt": [ROW], "links/target.txt": [duplicate("same_text")]}


@case("a dangling link and a link loop")
def _bad_links(raw: Path) -> dict[str, list[str]]:
    (raw / "links").mkdir(exist_ok=True)
    (raw / "links/dangling.txt").symlink_to("nowhere.txt")
    (raw / "links/loop-a.txt").symlink_to("loop-b.txt")
    (raw / "links/loop-b.txt").symlink_to("loop-a.txt")
    return {
        "links/dangling.txt": [reject("unreadable")],
        "links/loop-a.txt": [reject("unreadable")],
        "links/loop-b.txt": [reject("unreadable")],
    }


@case("special files: a FIFO, a socket, links to devices")
def _special(raw: Path) -> dict[str, list[str]]:
    (raw / "special").mkdir(exist_ok=True)
    os.mkfifo(raw / "special/fifo.txt")
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(raw / "special/socket.jsonl"))
    finally:
        sock.close()
    (raw / "special/zero.txt").symlink_to("/dev/zero")
    (raw / "special/urandom.jsonl").symlink_to("/dev/urandom")
    return {
        "special/fifo.txt": [skip("fifo")],
        "special/socket.jsonl": [skip("socket")],
        "special/zero.txt": [skip("link outside the input")],
        "special/urandom.jsonl": [skip("link outside the input")],
    }


@case("not an input format")
def _other_format(raw: Path) -> dict[str, list[str]]:
    _put(raw, "other/notes.tsv", b"not\tan\tarticle\n")
    return {"other/notes.tsv": [skip("not an input format")]}


@case("a million empty objects in 3 KB of gzip")
def _million(raw: Path) -> dict[str, list[str]]:
    _put(raw, "bombs/million.jsonl.gz", _gz(b"{}\n" * 200_000))
    return {"bombs/million.jsonl.gz": [reject("no_text")] * 200_000}
