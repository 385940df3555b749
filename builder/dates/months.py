"""Month names and their usual abbreviations, per language, in lower case (accents kept).

Data, not code: a language is one more entry. The first name of each month is its full name;
a later one that begins another of its names ("feb" of "february") is an abbreviation.
Polish, Russian and Czech list the genitive form that dates use ("17 lutego 2021") beside the
nominative. A name shared by two languages must mean
the same month in both (it does: "mar" is March everywhere it appears).
"""

from __future__ import annotations

MONTHS: dict[str, tuple[tuple[str, ...], ...]] = {
    "en": (
        ("january", "jan"),
        ("february", "feb"),
        ("march", "mar"),
        ("april", "apr"),
        ("may",),
        ("june", "jun"),
        ("july", "jul"),
        ("august", "aug"),
        ("september", "sep", "sept"),
        ("october", "oct"),
        ("november", "nov"),
        ("december", "dec"),
    ),
    "it": (
        ("gennaio", "gen"),
        ("febbraio", "feb"),
        ("marzo", "mar"),
        ("aprile", "apr"),
        ("maggio", "mag"),
        ("giugno", "giu"),
        ("luglio", "lug"),
        ("agosto", "ago"),
        ("settembre", "set"),
        ("ottobre", "ott"),
        ("novembre", "nov"),
        ("dicembre", "dic"),
    ),
    "de": (
        ("januar", "jänner", "jan"),
        ("februar", "feber", "feb"),
        ("märz", "maerz", "mär", "mrz"),
        ("april", "apr"),
        ("mai",),
        ("juni", "jun"),
        ("juli", "jul"),
        ("august", "aug"),
        ("september", "sep", "sept"),
        ("oktober", "okt"),
        ("november", "nov"),
        ("dezember", "dez"),
    ),
    "fr": (
        ("janvier", "janv"),
        ("février", "fevrier", "févr", "fevr"),
        ("mars",),
        ("avril", "avr"),
        ("mai",),
        ("juin",),
        ("juillet", "juil"),
        ("août", "aout"),
        ("septembre", "sept"),
        ("octobre", "oct"),
        ("novembre", "nov"),
        ("décembre", "decembre", "déc", "dec"),
    ),
    "es": (
        ("enero", "ene"),
        ("febrero", "feb"),
        ("marzo", "mar"),
        ("abril", "abr"),
        ("mayo", "may"),
        ("junio", "jun"),
        ("julio", "jul"),
        ("agosto", "ago"),
        ("septiembre", "setiembre", "sep", "sept", "set"),
        ("octubre", "oct"),
        ("noviembre", "nov"),
        ("diciembre", "dic"),
    ),
    "pt": (
        ("janeiro", "jan"),
        ("fevereiro", "fev"),
        ("março", "marco", "mar"),
        ("abril", "abr"),
        ("maio", "mai"),
        ("junho", "jun"),
        ("julho", "jul"),
        ("agosto", "ago"),
        ("setembro", "set"),
        ("outubro", "out"),
        ("novembro", "nov"),
        ("dezembro", "dez"),
    ),
    "nl": (
        ("januari", "jan"),
        ("februari", "feb"),
        ("maart", "mrt"),
        ("april", "apr"),
        ("mei",),
        ("juni", "jun"),
        ("juli", "jul"),
        ("augustus", "aug"),
        ("september", "sep", "sept"),
        ("oktober", "okt"),
        ("november", "nov"),
        ("december", "dec"),
    ),
    "pl": (
        ("styczeń", "stycznia", "sty"),
        ("luty", "lutego", "lut"),
        ("marzec", "marca", "mar"),
        ("kwiecień", "kwietnia", "kwi"),
        ("maj", "maja"),
        ("czerwiec", "czerwca", "cze"),
        ("lipiec", "lipca", "lip"),
        ("sierpień", "sierpnia", "sie"),
        ("wrzesień", "września", "wrz"),
        ("październik", "października", "paź"),
        ("listopad", "listopada", "lis"),
        ("grudzień", "grudnia", "gru"),
    ),
    "ru": (
        ("январь", "января", "янв"),
        ("февраль", "февраля", "фев"),
        ("март", "марта", "мар"),
        ("апрель", "апреля", "апр"),
        ("май", "мая"),
        ("июнь", "июня", "июн"),
        ("июль", "июля", "июл"),
        ("август", "августа", "авг"),
        ("сентябрь", "сентября", "сен", "сент"),
        ("октябрь", "октября", "окт"),
        ("ноябрь", "ноября", "ноя"),
        ("декабрь", "декабря", "дек"),
    ),
    "cs": (
        ("leden", "ledna"),
        ("únor", "února"),
        ("březen", "března"),
        ("duben", "dubna"),
        ("květen", "května"),
        ("červen", "června"),
        ("červenec", "července"),
        ("srpen", "srpna"),
        ("září",),
        ("říjen", "října"),
        ("listopad", "listopadu"),
        ("prosinec", "prosince"),
    ),
}


def month_numbers() -> dict[str, int]:
    """Every name or abbreviation → its month number (1-12)."""
    numbers: dict[str, int] = {}
    for months in MONTHS.values():
        for number, names in enumerate(months, start=1):
            for name in names:
                if numbers.setdefault(name, number) != number:
                    raise ValueError(f"month name {name!r} means two different months")
    return numbers
