"""Words counted over a column are the words the Python reference counts, text by text."""

import itertools
import re
import unicodedata

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st
from icu4py.breakers import WordBreaker

from builder.text.chars import Kind, chars_of, kind_table
from builder.text.re2 import CODE_POINTS, CodeSet, to_re2
from builder.text.word_batch import word_counts, words_of
from builder.text.words import CJK, MARK_SET, WORD
from tests.reference import count_words, words
from tests.support import jsonl, rejects, rows, run_build, write


def assert_same(texts: list[str]) -> None:
    assert word_counts(pa.array(texts, pa.string())).tolist() == [count_words(t) for t in texts]


# Characters at the edges of what a word is made of: combining marks (also the two kana voicing
# marks inside the CJK ranges), Han, kana, digits of other scripts, numerics, underscore, emoji
# with skin tone and zero-width joiner, spaces, punctuation.
_SPECIAL = (
    "\u0301\u093f\u0951\u20dd\u3099\u309a\ufe0f\U000e0100日本語\u30a2\u3041\u30fb\uf900\U00020000"
    "\U00030000٣5½²_😀👍🏽\u200d\u200b \u00a0\t\n.,'-’ßǅ"
)
texts = st.text(st.characters(codec="utf-8") | st.sampled_from(_SPECIAL), max_size=40)


@settings(max_examples=300, deadline=None)
@given(st.lists(texts, max_size=20))
def test_batch_counts_equal_the_reference(batch):
    assert_same(batch)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(st.characters(categories=["Mn", "Mc", "Me", "Lo", "Nd", "No", "Pc"]))))
def test_marks_letters_and_numbers_of_every_script(batch):
    assert_same(batch)


def test_every_class_boundary():
    """Each code point at the edge of a set the word rule uses, alone and beside each kind."""
    sets = [
        CodeSet.matching(r"\w"),
        CodeSet.matching(f"[{CJK}]"),
        CodeSet.matching(f"[^\\W{CJK}]"),
        MARK_SET,
    ]
    edges = {
        c for s in sets for first, last in s.ranges() for c in (first - 1, first, last, last + 1)
    }
    chars = [chr(c) for c in sorted(edges) if 0 <= c < CODE_POINTS and not 0xD800 <= c <= 0xDFFF]
    neighbours = ["", "a", "日", "\u0301", "\u3099", " ", "_", "1", "😀"]
    cases = [f"{n}{ch}" for ch in chars for n in neighbours] + [
        f"{ch}{n}" for ch in chars for n in neighbours
    ]
    cases += [ch * 3 for ch in chars]
    assert len(chars) > 1000
    assert_same(cases)


def test_samples_of_many_scripts():
    samples = [
        "नगर परिषद ने गुरुवार को अगले साल का बजट मंज़ूर किया",
        "وَافَقَ المَجْلِسُ البَلَدِيُّ يَوْمَ الخَمِيسِ",
        "東京都は木曜日に予算を承認した。カタカナ　ひらがな",
        "서울시 의회는 목요일 예산을 승인했다",
        "naïve cafe\u0301 snake_case 3,14 % 42 — ½ x² ٣",
        unicodedata.normalize("NFD", "Größe été señor Ωμέγα"),
        "\u30ab\u3099\u3099 \u3099a \u3099\u3099",
        "",
    ]
    assert_same(samples)


def test_the_punctuation_of_the_kana_blocks_is_no_word():
    """The katakana middle dot and double hyphen are punctuation, as '·' and '-' are."""
    texts = ["東京・大阪", "ジョン・スミス", "カ゠ナ", "ー"]
    assert word_counts(pa.array(texts)).tolist() == [4, 6, 2, 1]
    assert_same(texts)


def test_nulls_chunks_and_empty_columns():
    chunked = pa.chunked_array([["one two", None], [], ["日本 x"]])
    assert word_counts(chunked).tolist() == [2, 0, 3]
    assert word_counts(pa.array([], pa.string())).tolist() == []
    assert word_counts(pa.array(["a b"], pa.large_string())).tolist() == [2]


def test_texts_larger_than_a_chunk_are_counted_in_pieces(monkeypatch):
    monkeypatch.setattr("builder.text.word_batch.CHUNK_BYTES", 16)
    texts = ["naïve café\u0301s  x_y", "東京 ราคา฿100 ก\u3099a 日本\u3099", "", "short", "a" * 40]
    assert_same(texts)
    assert_same([text for _, text, _ in SEGMENTED_SAMPLES])


def test_categories_translate_to_exactly_pythons_code_points():
    """\\w, \\W, \\s, \\d and the word rule's class match in RE2 the code points they match in `re`."""
    chars = [chr(c) for c in range(CODE_POINTS) if not 0xD800 <= c <= 0xDFFF]
    column = pa.array(chars, pa.string())
    for category in (r"\w", r"\W", r"\s", r"\d", f"[^\\W{CJK}]"):
        python = re.compile(f"[{category}]" if len(category) == 2 else category)
        found = pc.match_substring_regex(column, to_re2(python)).to_numpy(zero_copy_only=False)
        expected = np.fromiter(map(bool, map(python.fullmatch, chars)), bool, len(chars))
        assert (found == expected).all(), category


# Scripts written without spaces between words: Thai, Lao, Khmer, Myanmar (news leads written for
# these tests), with the number of words ICU's word break iterator finds in each; Tibetan keeps
# one word per syllable. The counts are literal, so an ICU update that changes them fails here.
SEGMENTED_SAMPLES = [
    ("th", "นายกรัฐมนตรีเดินทางไปเยือนจังหวัดเชียงใหม่เมื่อวันจันทร์ที่ผ่านมา เพื่อติดตามสถานการณ์น้ำท่วมที่ส่งผลกระทบต่อประชาชนหลายพันครัวเรือน", 30),
    ("th", "กรมอุตุนิยมวิทยาคาดการณ์ว่าฝนจะตกหนักต่อเนื่องไปจนถึงสิ้นเดือนนี้ และขอให้ประชาชนในพื้นที่เสี่ยงเตรียมพร้อมรับมือ", 25),
    ("th", "คณะกรรมการนโยบายการเงินมีมติเป็นเอกฉันท์ให้คงอัตราดอกเบี้ยนโยบายไว้ตามเดิม ซึ่งสอดคล้องกับที่นักวิเคราะห์ส่วนใหญ่คาดการณ์ไว้", 28),
    ("lo", "ນາຍົກລັດຖະມົນຕີ ໄດ້ເດີນທາງໄປຢ້ຽມຢາມແຂວງຫຼວງພະບາງ ໃນວັນຈັນທີ່ຜ່ານມາ ເພື່ອຕິດຕາມສະພາບນ້ຳຖ້ວມ ທີ່ສົ່ງຜົນກະທົບຕໍ່ປະຊາຊົນຫຼາຍພັນຄອບຄົວ.", 26),
    ("lo", "ກະຊວງສາທາລະນະສຸກ ໄດ້ແນະນຳໃຫ້ປະຊາຊົນລ້າງມືເລື້ອຍໆ ແລະ ໄປກວດສຸຂະພາບຢູ່ໂຮງໝໍທີ່ໃກ້ທີ່ສຸດ.", 16),
    ("lo", "ທະນາຄານແຫ່ງ ສປປ ລາວ ລາຍງານວ່າ ອັດຕາເງິນເຟີ້ໄດ້ຫຼຸດລົງຢ່າງຕໍ່ເນື່ອງ ໃນໄລຍະສາມເດືອນຜ່ານມາ.", 17),
    ("km", "នាយករដ្ឋមន្ត្រីបានអញ្ជើញទៅពិនិត្យស្ថានភាពទឹកជំនន់នៅខេត្តបាត់ដំបងកាលពីថ្ងៃច័ន្ទ។", 12),
    ("km", "ក្រសួងសុខាភិបាលបានស្នើឱ្យប្រជាពលរដ្ឋលាងដៃឱ្យបានញឹកញាប់ ហើយទៅពិនិត្យសុខភាពនៅមន្ទីរពេទ្យដែលនៅជិតបំផុត។", 19),
    ("km", "ធនាគារជាតិនៃកម្ពុជាបានរាយការណ៍ថា អត្រាអតិផរណាបានធ្លាក់ចុះជាបន្តបន្ទាប់ក្នុងរយៈពេលបីខែចុងក្រោយនេះ។", 14),
    ("my", "ဝန်ကြီးချုပ်သည် ယမန်နေ့က မန္တလေးမြို့သို့ ရောက်ရှိပြီး ရေကြီးမှုကြောင့် ထိခိုက်ခံရသော ဒေသခံများကို သွားရောက်ကြည့်ရှုခဲ့သည်။", 24),
    ("my", "ကျန်းမာရေးဝန်ကြီးဌာနက ပြည်သူများအား လက်ကို မကြာခဏ ဆေးကြောရန်နှင့် အနီးဆုံးဆေးရုံတွင် ကျန်းမာရေးစစ်ဆေးမှု ခံယူရန် တိုက်တွန်းထားသည်။", 23),
    ("my", "မိုးလေဝသနှင့်ဇလဗေဒညွှန်ကြားမှုဦးစီးဌာနက လာမည့်သုံးရက်အတွင်း မိုးသည်းထန်စွာ ရွာသွန်းနိုင်ကြောင်း ခန့်မှန်းထားသည်။", 20),
]  # fmt: skip
TIBETAN = "ལྷ་སའི་གྲོང་ཁྱེར་དུ་དེ་རིང་ཆར་པ་ཆེན་པོ་བབས་པས་ལམ་ཁ་ཤས་བཀག་ཡོད། སློབ་གྲྭ་ཁག་ཅིག་ཀྱང་ཉིན་གཅིག་རིང་སྒོ་བརྒྱབ་པ་རེད།"  # fmt: skip


def icu_words(text: str) -> list[str]:
    """ICU's own segmentation of a whole text: its pieces that hold a letter or a digit."""
    return [piece for piece in WordBreaker(text, "root") if WORD.search(piece)]


def batch_words(texts: list[str]) -> list[list[str]]:
    """The words `num_words` counts, as text, per text."""
    chars = chars_of(pa.array(texts, pa.string()))
    words = words_of(chars)
    spans = zip(words.starts.tolist(), words.ends.tolist(), strict=True)
    spelled = [chars.codes[a:b].tobytes().decode() for a, b in spans]
    first = words.first.tolist()
    return [spelled[a:b] for a, b in itertools.pairwise(first)]


def test_scripts_without_spaces_count_the_words_icu_finds():
    texts = [text for _, text, _ in SEGMENTED_SAMPLES]
    counts = word_counts(pa.array(texts)).tolist()
    assert counts == [count for _, _, count in SEGMENTED_SAMPLES]
    assert counts == [len(icu_words(text)) for text in texts]
    assert batch_words(texts) == [icu_words(text) for text in texts]
    assert_same(texts)
    assert [len(WORD.findall(text)) for text in texts] == [2, 2, 2, 5, 4, 6, 1, 2, 2, 8, 9, 5]


def test_tibetan_counts_a_word_per_syllable_as_before():
    assert word_counts(pa.array([TIBETAN])).tolist() == [len(WORD.findall(TIBETAN))] == [30]


def test_mixed_scripts_cut_at_script_changes_and_where_icu_cuts():
    texts = [
        "บริษัท Apple เปิดตัว iPhone 17 ในกรุงเทพฯ เมื่อวันที่ 15 กันยายน 2568 โดยมีราคาเริ่มต้นที่ 32,900 บาท",
        "ธนาคารแห่งประเทศไทย (ธปท.) คงอัตราดอกเบี้ยไว้ที่ร้อยละ 2.50 ต่อปี",
        "ក្រុមហ៊ុន Toyota បានប្រកាសថា ការលក់រថយន្តនៅកម្ពុជាកើនឡើង ១៥ ភាគរយ។",
        "Thai PBS รายงานว่า 東京 มีฝนตกหนัก",
        "iPhoneรุ่นใหม่ ราคา฿100 เล่นๆ กรุงเทพฯ ๒๕๖๘ สวัสดี😀ครับ ก\u3099",
    ]
    assert batch_words(texts) == [
        ["บริษัท", "Apple", "เปิด", "ตัว", "iPhone", "17", "ใน", "กรุงเทพฯ", "เมื่อ", "วัน", "ที่", "15",
         "กันยายน", "2568", "โดย", "มี", "ราคา", "เริ่ม", "ต้น", "ที่", "32", "900", "บาท"],
        ["ธนาคาร", "แห่ง", "ประเทศไทย", "ธปท", "คง", "อัตรา", "ดอกเบี้ย", "ไว้", "ที่", "ร้อย", "ละ",
         "2", "50", "ต่อ", "ปี"],
        ["ក្រុមហ៊ុន", "Toyota", "បាន", "ប្រកាស", "ថា", "ការ", "លក់", "រថយន្ត", "នៅ", "កម្ពុជា",
         "កើនឡើង", "១៥", "ភាគរយ"],
        ["Thai", "PBS", "รายงาน", "ว่า", "東", "京", "มี", "ฝน", "ตกหนัก"],
        ["iPhone", "รุ่น", "ใหม่", "ราคา", "100", "เล่นๆ", "กรุงเทพฯ", "๒๕๖๘", "สวัสดี", "ครับ", "ก",
         "\u3099"],
    ]  # fmt: skip
    assert_same(texts)


_SEGMENTED_ALPHABET = (
    "กขคงจิีุู่้ัเแโๆฯ๑ກຂຄງິີຸູ່້ໆកខគងិីុូ់្ៗ១ကခဂငိီုူ့်္၁ལྷ་སའིabcXYZ019\u0301\u0300東京かな\u3099 .,-'\u200b\u200c\n😀"
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(st.sampled_from(_SEGMENTED_ALPHABET), max_size=60), max_size=20))
def test_runs_cut_together_are_cut_as_each_alone(batch):
    """All the runs of a batch go to ICU in one call; the reference sends each run alone."""
    assert batch_words(batch) == [words(text) for text in batch]


def test_a_thai_article_of_a_hundred_words_is_kept(tmp_path):
    body = " ".join(text for lang, text, _ in SEGMENTED_SAMPLES if lang == "th") * 2
    record = {"text": body, "language": "th", "date": "2021-02-03"}
    write(tmp_path / "raw" / "th.jsonl", jsonl([record]))
    report = run_build(tmp_path / "raw", tmp_path / "dist", min_words=50)
    assert not rejects(report.out)
    assert [r["num_words"] for r in rows(report.out)] == [2 * (30 + 25 + 28)]


def test_every_code_point_is_classified_as_python_classifies_it():
    table = kind_table()
    points = [c for c in range(CODE_POINTS) if not 0xD800 <= c <= 0xDFFF]
    chars = list(map(chr, points))
    bits = table[points]
    for kind, python in [
        (Kind.WORD, lambda ch: WORD.fullmatch(ch) is not None),
        (Kind.SPACE, str.isspace),
        (Kind.LETTER, str.isalpha),
    ]:
        expected = np.fromiter(map(bool, map(python, chars)), bool, len(chars))
        assert (((bits & kind) != 0) == expected).all(), kind
