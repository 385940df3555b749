"""Hostile and unusual text: legacy code pages, BOM-less UTF-16, mixed encodings, odd dates,
Unicode spaces and separators, combining marks, lone surrogates, and inputs built to be slow."""

import datetime as dt
import json
import re
import time

import numpy as np
import pyarrow as pa
import pytest

from builder.batch import RawBatch
from builder.config import BuildSection
from builder.dates import DateError, parse_date
from builder.outcomes import Reject, RejectReason
from builder.reading.chain import run_steps
from builder.records import RawRecord
from builder.rows.crawler_fields import CrawlerFields
from builder.rows.seed_text import split_header
from builder.stages import exact as dedup
from builder.steps import STEPS
from builder.storage import Storage
from builder.text.decode import decode
from builder.transform import StepContext
from schema import Article
from tests.reference import count_words, normalize_text
from tests.support import ENGLISH, items_of, jsonl, rejects, rows, run_build, write

# A few lines of news-like text per language, and the legacy code pages it was written in.
NEWS = {
    "cs": "Městská rada v Brně schválila ve čtvrtek nový rozpočet na příští rok. Podle starosty "
    "půjdou největší částky do oprav škol, silnic a městské hromadné dopravy. Opozice "
    "kritizuje, že se zapomnělo na kulturu a sport.",
    "pl": "Rada miasta zatwierdziła w czwartek nowy budżet na przyszły rok. Według prezydenta "
    "najwięcej pieniędzy trafi na remonty szkół, dróg i komunikację miejską. Opozycja "
    "krytykuje, że zabrakło środków na kulturę i sport.",
    "hu": "A városi közgyűlés csütörtökön elfogadta a jövő évi költségvetést. A polgármester "
    "szerint a legtöbb pénz az iskolák, utak és a tömegközlekedés felújítására jut.",
    "sk": "Mestské zastupiteľstvo vo štvrtok schválilo rozpočet na budúci rok. Podľa primátora "
    "pôjde najviac peňazí na opravy škôl a ciest.",
    "hr": "Gradsko vijeće u četvrtak je usvojilo proračun za sljedeću godinu. Prema riječima "
    "gradonačelnika, najviše novca ići će na obnovu škola i cesta.",
    "tr": "Belediye meclisi perşembe günü gelecek yılın bütçesini onayladı. Belediye başkanına "
    "göre en büyük pay okulların, yolların ve toplu taşımanın yenilenmesine ayrılacak. "
    "Muhalefet, kültür ve spora yeterli kaynak ayrılmadığını söyledi.",
    "lt": "Miesto taryba ketvirtadienį patvirtino kitų metų biudžetą. Pasak mero, daugiausia "
    "lėšų bus skirta mokyklų, kelių ir viešojo transporto remontui. Opozicija kritikuoja, "
    "kad pamiršta kultūra ir sportas.",
    "lv": "Pilsētas dome ceturtdien apstiprināja nākamā gada budžetu. Pēc mēra teiktā, "
    "visvairāk naudas tiks novirzīts skolu un ceļu remontam.",
    "ru": "Городской совет в четверг утвердил бюджет на следующий год. По словам мэра, больше "
    "всего денег пойдёт на ремонт школ, дорог и общественного транспорта. Оппозиция "
    "считает, что о культуре и спорте забыли.",
    "uk": "Міська рада в четвер затвердила бюджет на наступний рік. За словами мера, найбільше "
    "грошей піде на ремонт шкіл, доріг і громадського транспорту.",
    "bg": "Общинският съвет прие в четвъртък бюджета за следващата година. Според кмета "
    "най-много пари ще отидат за ремонт на училища и пътища.",
    "el": "Το δημοτικό συμβούλιο ενέκρινε την Πέμπτη τον προϋπολογισμό του επόμενου έτους. "
    "Σύμφωνα με τον δήμαρχο, τα περισσότερα χρήματα θα πάνε στην ανακαίνιση σχολείων, "
    "δρόμων και των συγκοινωνιών.",
    "he": "מועצת העיר אישרה ביום חמישי את התקציב לשנה הבאה. לדברי ראש העיר, רוב הכסף יופנה "
    "לשיפוץ בתי ספר, כבישים ותחבורה ציבורית. האופוזיציה טוענת כי תרבות וספורט נשכחו.",
    "ar": "وافق المجلس البلدي يوم الخميس على ميزانية العام المقبل. وبحسب رئيس البلدية، ستذهب "
    "معظم الأموال إلى ترميم المدارس والطرق ووسائل النقل العام. وتقول المعارضة إن الثقافة "
    "والرياضة قد أهملتا.",
    "th": "สภาเทศบาลอนุมัติงบประมาณปีหน้าเมื่อวันพฤหัสบดี นายกเทศมนตรีกล่าวว่าเงินส่วนใหญ่"
    "จะใช้ซ่อมแซมโรงเรียน ถนน และระบบขนส่งสาธารณะ",
    "ja": "市議会は木曜日、来年度の予算案を可決した。市長によると、最も多くの予算が学校や道路、"
    "公共交通機関の改修に充てられる。野党は文化やスポーツへの配慮が足りないと批判している。",
    "ko": "시의회는 목요일 내년도 예산안을 통과시켰다. 시장에 따르면 가장 많은 예산이 학교와 "
    "도로, 대중교통 개보수에 쓰인다. 야당은 문화와 체육에 대한 배려가 부족하다고 비판했다.",
    "zh-hans": "市议会星期四通过了明年的预算。据市长介绍，大部分资金将用于学校、道路和公共交通的"
    "维修。反对派批评说，文化和体育被忽视了。",
    "zh-hant": "市議會星期四通過了明年的預算。據市長介紹，大部分資金將用於學校、道路和公共交通的"
    "維修。反對派批評說，文化和體育被忽視了。",
    "fr": "Le conseil municipal a approuvé jeudi le budget de l’année prochaine. Selon le maire, "
    "les plus grosses dépenses iront à la rénovation des écoles, des routes et des "
    "transports en commun. L’opposition déplore qu’on ait oublié la culture.",
    "de": "Der Stadtrat hat am Donnerstag den Haushalt für das nächste Jahr beschlossen. Laut "
    "Bürgermeister fließt das meiste Geld in die Sanierung von Schulen, Straßen und den "
    "öffentlichen Nahverkehr. Die Opposition kritisiert, dass Kultur und Sport zu kurz kämen.",
    "es": "El ayuntamiento aprobó el jueves el presupuesto del año próximo. Según la alcaldesa, "
    "la mayor parte del dinero irá a la renovación de escuelas, calles y del transporte "
    "público. La oposición lamenta que se haya olvidado la cultura.",
    "it": "Il consiglio comunale ha approvato giovedì il bilancio dell’anno prossimo. Secondo il "
    "sindaco, la maggior parte dei fondi andrà al rinnovo di scuole, strade e trasporti "
    "pubblici. L’opposizione lamenta che cultura e sport siano stati dimenticati.",
    "pt": "A câmara municipal aprovou na quinta-feira o orçamento do próximo ano. Segundo o "
    "presidente, a maior parte do dinheiro irá para a renovação de escolas, estradas e "
    "transportes públicos. A oposição critica a falta de verbas para a cultura.",
    "sv": "Kommunfullmäktige godkände på torsdagen budgeten för nästa år. Enligt "
    "kommunstyrelsens ordförande går de största pengarna till renovering av skolor, vägar "
    "och kollektivtrafik. Oppositionen kritiserar att kulturen glömts bort.",
    "ca": "El consell municipal va aprovar dijous el pressupost de l’any vinent. Segons "
    "l’alcalde, la major part dels diners anirà a reformar escoles i carrers.",
}
LEGACY = [
    ("cs", "cp1250"),
    ("cs", "iso8859_2"),
    ("pl", "iso8859_2"),
    ("pl", "cp1250"),
    ("hu", "iso8859_2"),
    ("sk", "cp1250"),
    ("hr", "cp1250"),
    ("tr", "cp1254"),
    ("tr", "iso8859_9"),
    ("lt", "cp1257"),
    ("lv", "cp1257"),
    ("ru", "cp1251"),
    ("ru", "koi8_r"),
    ("uk", "cp1251"),
    ("bg", "cp1251"),
    ("el", "cp1253"),
    ("el", "iso8859_7"),
    ("he", "cp1255"),
    ("he", "iso8859_8"),
    ("ar", "cp1256"),
    ("th", "cp874"),
    ("ja", "shift_jis"),
    ("ja", "euc_jp"),
    ("ja", "iso2022_jp"),
    ("ko", "euc_kr"),
    ("zh-hans", "gb2312"),
    ("zh-hans", "gbk"),
    ("zh-hant", "big5"),
    ("fr", "mac_roman"),
    ("de", "mac_roman"),
    # Western European: must still come out as Windows-1252 / Latin-1 / Latin-9 text.
    ("fr", "cp1252"),
    ("de", "cp1252"),
    ("es", "latin_1"),
    ("it", "cp1252"),
    ("pt", "latin_1"),
    ("sv", "iso8859_15"),
    ("ca", "cp1252"),
]


@pytest.mark.parametrize(("language", "encoding"), LEGACY)
def test_legacy_code_pages_decode_to_the_original(language, encoding):
    text = NEWS[language]
    assert decode(text.encode(encoding)) == text
    two_paragraphs = f"{text}\r\n\r\n{text}\r\n"
    assert decode(two_paragraphs.encode(encoding)) == two_paragraphs
    for sentence in re.split(r"(?<=[.。])\s*", text):  # a sentence alone gives fewer clues
        if not sentence.isascii():
            assert decode(sentence.encode(encoding)) == sentence


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("We met at the café on Monday.", "cp1252"),
        ("The price rose to €5 per litre, the minister said.", "cp1252"),
        ("Le prix est de 5 € ; ça coûte cher.", "iso8859_15"),
        ("“Quoted” text — with dashes… and ‘apostrophes’.", "cp1252"),
        ("¿Qué pasó ayer en el pleno?", "cp1252"),
        ("Příliš žluťoučký kůň úpěl ďábelské ódy.", "cp1250"),
        ("Zażółć gęślą jaźń.", "iso8859_2"),
        ("Pijamalı hasta yağız şoföre çabucak güvendi.", "cp1254"),
        ("Įlinkdama fechtuotojo špaga sublykčiojusi pragręžė apvalų arbūzą.", "cp1257"),
        ("Съешь же ещё этих мягких французских булок, да выпей чаю.", "koi8_r"),
        ("דג סקרן שט בים מאוכזב ולפתע מצא חברה.", "cp1255"),
        ("いろはにほへと ちりぬるを。", "shift_jis"),
    ],
)
def test_short_lines_decode_to_the_original(text, encoding):
    assert decode(text.encode(encoding)) == text


@pytest.mark.parametrize("language", ["fr", "de", "cs", "ru", "el", "ar", "ja", "ko"])
@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom(language, encoding):
    text = f"{NEWS[language]}\n{NEWS[language]}\n"
    assert decode(text.encode(encoding)) == text


@pytest.mark.parametrize(
    "text",
    [
        '{"text": "a\x00b", "title": "A title long enough"}',
        "Short\x00 text, a stray NUL in it.",
        "Ab\x00" + "cd" * 20,
        "A\x00B\x00C\x00D\x00" + "efgh" * 30,
    ],
)
def test_a_few_nul_bytes_in_utf8_are_not_utf16(text):
    assert decode(text.encode()) == text


@pytest.mark.parametrize(
    ("language", "encoding"),
    [("fr", "cp1252"), ("de", "cp1252"), ("cs", "cp1250"), ("ru", "cp1251"), ("el", "cp1253")],
)
def test_utf8_mixed_with_a_legacy_code_page_is_repaired_line_by_line(language, encoding):
    text, other = NEWS[language], NEWS["it"] if encoding == "cp1252" else NEWS[language]
    data = b"".join([text.encode(), b"\n\n", other.encode(encoding), b"\n\n", text.encode(), b"\n"])
    assert decode(data) == f"{text}\n\n{other}\n\n{text}\n"


# Dates


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2021-02-03T10:00:00+01:00", ("2021-02-03", "day")),
        ("2021-02-03T10:00+01", ("2021-02-03", "day")),  # an hour-only offset
        ("2021-02-03 10:00:00.123Z", ("2021-02-03", "day")),
        ("٢٠٢١-٠٢-٠٣", ("2021-02-03", "day")),  # Arabic-Indic digits
        ("２０２１-０２", ("2021-02", "month")),  # full-width digits; a month stays a month
        ("۲۰۲۱", ("2021", "year")),  # Persian digits
    ],
)
def test_dates_in_any_digits_and_offsets(raw, expected):
    assert parse_date(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "2021-02-03T25:00",
        "2021-02-03T10:60",
        "2021-02-03T23:59:61",
        "2021-02-03T10:00+25:00",
        "2021-02-03T10:00+01:75",
        "２０２１－０２",  # full-width hyphen: not a date separator
        "2021-02-03T",
        "²⁰²¹",  # superscript digits are not decimal digits
        "9" * 10_000,
    ],
)
def test_impossible_times_and_odd_digits_are_bad_dates(raw):
    with pytest.raises(DateError):
        parse_date(raw)


def test_foreign_digits_are_never_future_dates_by_accident():
    for raw in ["٢٠٢١-٠٢-٠٣", "２０２１", "٢٠٢٧"]:
        item = through(draft("Body text.", date=raw), "dates")
        expected = RejectReason.FUTURE_DATE if raw == "٢٠٢٧" else None
        assert getattr(item, "reason", None) == expected, raw


@pytest.mark.parametrize(
    ("text", "date", "body"),
    [
        (
            "date 2021-02-03T10:00:00+01:00 Il consiglio",
            "2021-02-03T10:00:00+01:00",
            "Il consiglio",
        ),
        ("date 2021-02-03 10:00\nIl consiglio", "2021-02-03 10:00", "Il consiglio"),
        ("date 2021-02-03 10:00:30 Il consiglio", "2021-02-03 10:00:30", "Il consiglio"),
        ("date 2021-02\u00a0Il consiglio", "2021-02", "Il consiglio"),  # NBSP after the header
        ("date 2021-02 \u2003\u3000\nIl consiglio", "2021-02", "Il consiglio"),
        ("date 2021-02\u200b\ufeffIl consiglio", "2021-02", "Il consiglio"),  # zero-width
        ("date 2021 12 apostoli", "2021", "12 apostoli"),  # a number, not a time
        (
            "date 2021-02-03T25:00 Il consiglio",
            "2021-02-03T25:00",
            "Il consiglio",
        ),  # bad_date later
    ],
)
def test_text_header_with_a_time_keeps_the_header_out_of_the_body(text, date, body):
    assert split_header(text) == (date, body)


# Text


def draft(text: str, **fields) -> RawRecord:
    """A crawler record (its keys are the fields' own names) as a reader hands it on."""
    return RawRecord("a.jsonl", 1, "0" * 64, {"text": text, **fields})


def through(record: RawRecord, *steps: str) -> dict | Reject:
    """The record through the crawler-fields row maker and the named steps."""
    context = StepContext(BuildSection(min_words=5), dt.date(2026, 11, 26))
    chain = [CrawlerFields(context), *(STEPS[name](context) for name in steps)]
    (item,) = items_of(run_steps([RawBatch([record])], chain))
    return item


def test_a_line_mixing_utf8_and_windows_1252_is_repaired_by_normalization():
    line = "Le café coûte 5".encode() + "€, le thé 3€.".encode("cp1252")
    text = decode(line + "\nDeuxième ligne très française.".encode())
    assert normalize_text(text) == "Le café coûte 5€, le thé 3€.\nDeuxième ligne très française."


def test_unicode_line_and_paragraph_separators():
    assert normalize_text("One.\u2029Two.\u2028Three.") == "One.\n\nTwo.\nThree."


@pytest.mark.parametrize(
    "text",
    ["\u00a0\u00a0", "\u2003 \u2002\u3000", "\u200b\u200b\u2060\ufeff", "\u00a0\n\u200b\n\u3000"],
)
def test_text_of_invisible_spaces_is_no_text(text):
    assert normalize_text(text) == ""
    assert through(draft(text), "normalize").reason == RejectReason.NO_TEXT


def test_unicode_spaces_at_line_edges_go_and_inside_lines_stay():
    assert (
        normalize_text("\u00a0\u3000Titolo\u00a0: sì\u2003\n\u200bdue") == "Titolo\u00a0: sì\ndue"
    )


HINDI = "नगर परिषद ने गुरुवार को अगले साल का बजट मंज़ूर किया"
ARABIC = "وَافَقَ المَجْلِسُ البَلَدِيُّ يَوْمَ الخَمِيسِ عَلَى المِيزَانِيَّةِ"


@pytest.mark.parametrize(("text", "words"), [(HINDI, 11), (ARABIC, 7), ("naïve cafe\u0301", 2)])
def test_words_keep_their_vowel_signs_and_diacritics(text, words):
    assert count_words(text) == words
    assert count_words(normalize_text(text)) == words


@pytest.mark.parametrize("text", ["1 2 3 4 5 6 7 8", "2021 — 3,14 % ... 42 !!! 7", "★ ☆ ✓ 1 2 3"])
def test_text_without_letters_is_no_text_not_a_language(text):
    reject = through(draft(text, language="en"), "normalize")
    assert reject.reason == RejectReason.NO_TEXT and "no letters" in reject.detail


# Lone surrogates: a reject naming the field, never a crash at write time


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("url", "https://example.com/\ud800", RejectReason.INVALID_RECORD),
        ("domain", "ex\udc00ample.com", RejectReason.INVALID_RECORD),
        ("language", "e\ud800", None),  # not a code: detected from the text instead
        ("date", "2021-02\ud800", RejectReason.BAD_DATE),
        ("title", "Titolo \ud800", None),  # repaired to U+FFFD by ftfy, like any bad byte
        ("authors", ["Anna \udfff"], None),
        ("text", ENGLISH + " \ud800", None),
    ],
)
def test_lone_surrogates_in_any_field(field, value, reason):
    fields = {"text": ENGLISH, "url": "https://example.com/a", field: value}
    item = through(draft(**fields), "normalize", "dates", "language", "validate")
    if reason is None:
        article = Article.model_validate({k: item[k] for k in Article.model_fields})
        assert json.dumps(article.model_dump(), ensure_ascii=False).encode("utf-8")
    else:
        assert item.reason == reason and field in item.detail


def test_lone_surrogates_from_json_escapes_build_without_a_crash(tmp_path):
    raw = tmp_path / "raw"
    lines = [
        {"text": ENGLISH, "url": "https://example.com/\ud800"},
        {"text": ENGLISH + " Two.", "hostname": "ex\ud800.com", "url": "https://a.example/2"},
        {"text": ENGLISH + " Three.", "title": "T\ud800", "author": "A\udc00"},
        {"text": ENGLISH + " Four \ud800.", "date": "2021-02\ud800"},
    ]
    write(raw / "s.jsonl", "".join(json.dumps(r) + "\n" for r in lines))  # ASCII '\\ud800' escapes
    report = run_build(raw, tmp_path / "dist")
    got = {r["source_record"]: (r["reason"], r["detail"]) for r in rejects(report.out)}
    assert got[1][0] == "invalid_record" and got[1][1].startswith("url:")
    assert got[2][0] == "invalid_record" and got[2][1].startswith("domain:")
    assert got[4][0] == "bad_date"
    (kept,) = rows(report.out)
    assert kept["title"] == "T\ufffd" and kept["authors"] == ["A\ufffd"]
    assert report.accounting.balanced


# Time bombs: work bounded per record


def test_a_long_run_of_combining_marks_is_too_complex_at_once():
    bomb = "a" + "\u0301\u0316" * 80_000  # NFC reorders this in quadratic time
    started = time.monotonic()
    reject = through(draft(bomb), "normalize")
    assert reject.reason == RejectReason.TOO_COMPLEX and "combining marks" in reject.detail
    assert time.monotonic() - started < 5  # rejected before any quadratic work (15 s before)
    assert through(draft("Zalgo " + "e" + "\u0301" * 30 + " ok"), "normalize")["text"]


@pytest.mark.parametrize(
    "unit",
    [
        "a" + "\u0301\u0316" * 15,  # mark runs at the limit
        "x\u00a0" + "\u00a0" * 50,  # long runs of spaces that are not collapsed
        "\u200b" * 20 + "y",
        "Ã©Ã¨",  # mojibake for ftfy to repair
        "\x85\x93 ",  # C1 controls for ftfy
        "नमस्ते ",
    ],
    ids=["marks", "nbsp", "zero-width", "mojibake", "c1", "hindi"],
)
def test_normalizing_is_linear(unit):
    """Four times the input costs about four times the time, not sixteen. Measured in this
    process's CPU time, the best of five, so that a loaded machine does not count."""

    def cost(n: int) -> float:
        text = unit * n
        best = float("inf")
        for _ in range(5):
            started = time.process_time()
            normalize_text(text)
            best = min(best, time.process_time() - started)
        return best

    small, large = cost(1_000), cost(4_000)
    assert large < 10 * max(small, 1e-3)


def test_id_conflicts_read_each_part_once(tmp_path, monkeypatch):
    raw = tmp_path / "raw"
    records = [{"text": f"Version {i}. {ENGLISH}", "url": "https://x.org/same"} for i in range(300)]
    write(raw / "a.jsonl", jsonl(records[:150]))
    write(raw / "b.jsonl", jsonl(records[150:]))
    reads = []
    real = dedup.texts_at

    def counting(work, part, positions):
        reads.append(part)
        return real(work, part, positions)

    monkeypatch.setattr(dedup, "texts_at", counting)
    report = run_build(raw, tmp_path / "dist")
    assert report.manifest.accounting.rejects_by_reason == {"id_conflict": 299}
    # The two small files are one work unit, so one part file: read once, not once per conflict.
    assert len(reads) == 1
    for reject in rejects(report.out):  # each excerpt is its own record's text
        version = reject["source_record"] - 1 + (150 if reject["source_path"] == "b.jsonl" else 0)
        assert reject["excerpt"].startswith(f"Version {version}. The city council")
    assert report.accounting.balanced


def test_excerpt_rows_are_read_from_a_part_up_to_the_last_wanted(tmp_path, monkeypatch):
    work = Storage.of(tmp_path)
    writer = work.part_writer("part.arrow", pa.schema([("text", pa.string())]))
    for start in range(0, 1000, 100):
        writer.write_table(pa.table({"text": [f"row {i}" for i in range(start, start + 100)]}))
    writer.close()
    batches = []
    real = Storage.part_batches

    def counting(self, key):
        for batch in real(self, key):
            batches.append(batch)
            yield batch

    monkeypatch.setattr(Storage, "part_batches", counting)
    wanted = np.array([640, 5, 250, 251, 5, 99])
    assert dedup.texts_at(work, "part.arrow", wanted) == [f"row {i}" for i in wanted]
    assert len(batches) == 7  # none after the one holding row 640


# The catalogue, end to end: every file has its required outcome, and nothing is lost


def test_hostile_text_catalogue_end_to_end(tmp_path):
    raw = tmp_path / "raw"
    cs, hindi = NEWS["cs"], f"{HINDI}। {HINDI}।"
    files = {
        "cp1250.txt": (f"date 2021-02 {cs}".encode("cp1250"), ("row", cs)),
        "utf16.txt": (f"date 2021-02 {NEWS['de']}".encode("utf-16-le"), ("row", NEWS["de"])),
        "iso2022.txt": (NEWS["ja"].encode("iso2022_jp"), ("row", NEWS["ja"])),
        "mixed.txt": (
            NEWS["fr"].encode() + b"\n" + NEWS["it"].encode("cp1252"),
            ("row", f"{NEWS['fr']}\n{NEWS['it']}"),
        ),
        "time.txt": (f"date 2021-02-03T10:00+01\u00a0{ENGLISH}".encode(), ("row", ENGLISH)),
        "digits.txt": (f"date ٢٠٢١-٠٢ {ARABIC}".encode(), ("row", ARABIC)),
        "hindi.txt": (hindi.encode(), ("row", hindi)),
        "hour25.txt": (f"date 2021-02-03T25:00 {ENGLISH}".encode(), ("reject", "bad_date")),
        "numbers.txt": (b"1 2 3 4 5 6 7 8 9 10", ("reject", "no_text")),
        "spaces.txt": ("\u00a0\u2003\u200b\u3000\n\u00a0".encode(), ("reject", "no_text")),
        "bomb.txt": (("a" + "\u0301\u0316" * 80_000).encode(), ("reject", "too_complex")),
    }
    for name, (data, _) in files.items():
        write(raw / name, data)
    report = run_build(raw, tmp_path / "dist")
    published = {r["source_path"]: r for r in rows(report.out)}
    rejected = {r["source_path"]: r["reason"] for r in rejects(report.out)}
    for name, (_, (outcome, expected)) in files.items():
        if outcome == "row":
            assert published[name]["text"] == expected, name
        else:
            assert rejected[name] == expected, name
    assert published["digits.txt"]["date"] == "2021-02"
    assert published["time.txt"]["date"] == "2021-02-03"
    assert published["hindi.txt"]["num_words"] == 22
    assert report.accounting.balanced
    assert report.manifest.accounting.records_read == len(files)
