"""Hostile and unusual text: legacy code pages, BOM-less UTF-16, mixed encodings, odd dates,
Unicode spaces and separators, combining marks, lone surrogates, and inputs built to be slow."""

import datetime as dt
import time

import pytest

from builder.decode import decode

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


@pytest.mark.parametrize("language", ["fr", "de", "cs", "ru", "el", "ar", "ja", "ko"])
@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom(language, encoding):
    text = f"{NEWS[language]}\n{NEWS[language]}\n"
    assert decode(text.encode(encoding)) == text


@pytest.mark.parametrize(
    ("language", "encoding"),
    [("fr", "cp1252"), ("de", "cp1252"), ("cs", "cp1250"), ("ru", "cp1251"), ("el", "cp1253")],
)
def test_utf8_mixed_with_a_legacy_code_page_is_repaired_line_by_line(language, encoding):
    text, other = NEWS[language], NEWS["it"] if encoding == "cp1252" else NEWS[language]
    data = b"".join(
        [text.encode(), b"\n\n", other.encode(encoding), b"\n\n", text.encode(), b"\n"]
    )
    assert decode(data) == f"{text}\n\n{other}\n\n{text}\n"
