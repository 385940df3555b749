"""A deterministic news corpus for `make bench`: the same bytes for the same seed and size.

Records look like crawler output (news-please keys) of about 3 kB. Mixed in, at fixed rates:
exact duplicates (half of them equal only after normalization: extra spaces and tabs, NFD),
short or empty records, runs of spaces and tabs, NFD text and Windows-1252 mojibake. The same
records are written as JSONL shards, as one JSONL file, and (the first TXT_ARTICLES of them)
as seed-format text files.

    .venv/bin/python -m bench.corpus --mb 250 --out /tmp/corpus-250
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SEED = 20261127
DUPLICATE_RATE = 0.05
SHORT_RATE = 0.02
SHARD_MB = 64
TXT_ARTICLES = 2000
_MARK = ".benchgen-partial"  # marks a folder being written, so a rerun may remove it

_VOCABULARY = {
    "en": (
        "the council approved plan city transport new year said minister government market "
        "report police court week people public school health water energy price rise fall "
        "election vote party leader crisis talks agreement workers strike company shares "
        "growth budget tax local national region station bridge road river storm weather"
    ),
    "it": (
        "il consiglio comunale approvato piano città trasporto nuovo anno detto ministro governo "
        "mercato rapporto polizia tribunale settimana persone scuola salute acqua energia prezzo "
        "elezioni voto partito crisi accordo lavoratori sciopero azienda crescita bilancio tasse "
        "regione stazione ponte strada fiume tempesta più già perché città università"
    ),
    "de": (
        "der stadtrat hat plan stadt verkehr neue jahr sagte minister regierung markt bericht "
        "polizei gericht woche menschen schule gesundheit wasser energie preis wahl partei krise "
        "gespräche abkommen arbeiter streik unternehmen wachstum haushalt steuer straße brücke "
        "fluss sturm wetter für über größer schön grüße müller"
    ),
    "fr": (
        "le conseil municipal approuvé plan ville transport nouvel année déclaré ministre "
        "gouvernement marché rapport police tribunal semaine gens école santé eau énergie prix "
        "élection vote parti crise accord travailleurs grève entreprise croissance budget impôt "
        "région gare pont route rivière tempête été déjà très français"
    ),
}
_WORDS = {language: words.split() for language, words in _VOCABULARY.items()}
_MONTHS = [f"{y}-{m:02d}" for y in range(2019, 2025) for m in range(1, 13)]


@dataclass(frozen=True)
class Corpus:
    sharded: Path  # folder of .jsonl shards of about SHARD_MB each
    single: Path  # the same records as one .jsonl file
    txt: Path  # the first TXT_ARTICLES records as seed-format text files
    records: int
    bytes: int

    @property
    def single_file(self) -> Path:
        return self.single / "corpus.jsonl"


def _paragraphs(rng: random.Random, language: str, count: int) -> list[str]:
    words = _WORDS[language]
    out = []
    for _ in range(count):
        sentences = []
        for _ in range(rng.randint(3, 6)):
            sentence = " ".join(rng.choices(words, k=rng.randint(8, 22)))
            sentences.append(sentence[0].upper() + sentence[1:] + ".")
        out.append(" ".join(sentences))
    return out


def _mess(rng: random.Random, text: str) -> str:
    """Spacing a normalizer must repair, and NFD: equal to `text` after normalization."""
    text = text.replace(". ", ".  \t", rng.randint(1, 4)).replace("\n", " \t\n", 1)
    return unicodedata.normalize("NFD", text)


def _mojibake(text: str) -> str:
    """UTF-8 read as Windows-1252, the commonest encoding damage in crawls."""
    return text.encode("utf-8").decode("cp1252", errors="ignore")


def records(seed: int = SEED) -> Iterator[dict]:
    """An endless, deterministic stream of news records."""
    rng = random.Random(seed)
    pools = {lang: _paragraphs(rng, lang, 400) for lang in _WORDS}
    languages = list(_WORDS)
    recent: list[dict] = []
    for number in range(1 << 62):
        roll = rng.random()
        if recent and roll < DUPLICATE_RATE:
            original = rng.choice(recent)
            text = original["maintext"]
            if roll < DUPLICATE_RATE / 2:
                text = _mess(rng, text)
            yield {**original, "maintext": text, "url": f"https://news.example/a/{number}"}
            continue
        language = rng.choice(languages)
        month = rng.choice(_MONTHS)
        if roll < DUPLICATE_RATE + SHORT_RATE:
            text = rng.choice(["", "Breaking news.", "   ", "Live updates follow."])
        else:
            body = rng.sample(pools[language], rng.randint(4, 7))
            body.insert(rng.randint(0, len(body)), f"Story {number} from our newsroom.")
            text = "\n".join(body)
            style = rng.random()
            if style < 0.10:
                text = unicodedata.normalize("NFD", text)
            elif style < 0.13:
                text = _mojibake(text)
            elif style < 0.30:
                text = text.replace(" ", "  ", 5).replace(". ", ".\t", 2)
        record = {
            "title": " ".join(rng.choices(_WORDS[language], k=8)).capitalize(),
            "maintext": text,
            "date_publish": f"{month}-{rng.randint(1, 28):02d} {rng.randint(0, 23):02d}:00:00",
            "language": language,
            "url": f"https://news.example/a/{number}",
            "source_domain": "news.example",
            "authors": [f"Reporter {rng.randint(1, 300)}"],
        }
        if len(recent) < 5000:
            recent.append(record)
        else:
            recent[rng.randrange(5000)] = record
        yield record


def seed_text(record: dict) -> str:
    """A record in the seed's text format: a `date YYYY-MM-DD` header line, then the body."""
    return f"date {record['date_publish'][:10]}\n{record['maintext']}"


def generate(out: Path, megabytes: float, seed: int = SEED) -> Corpus:
    """Write about `megabytes` MB of JSON Lines as shards and as one file; reuse an existing copy.

    The corpus is written into a sibling folder and renamed into place when complete, so an
    interrupted run never leaves a corpus that looks finished, nor shards of another size.
    """
    done = out / "corpus.json"
    if done.is_file():
        info = json.loads(done.read_text())
        if info["megabytes"] == megabytes and info["seed"] == seed:
            return _corpus(out, info)
        raise FileExistsError(
            f"{out} holds a corpus of {info['megabytes']} MB with seed {info['seed']}, not "
            f"{megabytes} MB with seed {seed}: give another folder"
        )
    if out.exists():
        raise FileExistsError(
            f"{out} exists and is not a finished corpus: remove it or give another folder"
        )
    part = out.with_name(out.name + ".partial")
    if (part / _MARK).is_file():
        shutil.rmtree(part)  # our own leftover from an interrupted run
    elif part.exists():
        raise FileExistsError(f"{part} exists and was not made by benchgen: remove it")
    part.mkdir(parents=True)
    (part / _MARK).touch()
    (part / "sharded").mkdir()
    (part / "single").mkdir()
    (part / "txt").mkdir()
    target, written, count, shard = megabytes * 1_000_000, 0, 0, 0
    stream = records(seed)
    with open(part / "single" / "corpus.jsonl", "wb") as single:
        while written < target:
            with open(part / "sharded" / f"part-{shard:04d}.jsonl", "wb") as shard_file:
                in_shard = 0
                while in_shard < SHARD_MB * 1_000_000 and written < target:
                    record = next(stream)
                    line = (json.dumps(record, ensure_ascii=False) + "\n").encode()
                    shard_file.write(line)
                    single.write(line)
                    if count < TXT_ARTICLES:
                        text = part / "txt" / f"article-{count:05d}.txt"
                        text.write_text(seed_text(record), encoding="utf-8")
                    in_shard += len(line)
                    written += len(line)
                    count += 1
            shard += 1
    info = {"megabytes": megabytes, "seed": seed, "records": count, "bytes": written}
    (part / "corpus.json").write_text(json.dumps(info))
    (part / _MARK).unlink()
    part.rename(out)
    return _corpus(out, info)


def monthly(out: Path, months: int, megabytes: float, seed: int = SEED) -> list[Path]:
    """`months` + 1 JSON Lines files of about `megabytes` MB each, one per month from 2024-01
    (`2024-01.jsonl`, ...): the records of `records(seed)` in order, each with its publication
    date moved into its file's month (day and time kept). The last file is the month added to
    an input of the others. Written once into `out` (renamed into place when complete), then
    reused."""
    done = out / "monthly.json"
    info = {"months": months, "megabytes": megabytes, "seed": seed}
    names = [f"{2024 + m // 12}-{m % 12 + 1:02d}.jsonl" for m in range(months + 1)]
    if done.is_file():
        if json.loads(done.read_text()) != info:
            raise FileExistsError(
                f"{out} holds other monthly files than {info}: give another folder"
            )
        return [out / name for name in names]
    if out.exists():
        raise FileExistsError(f"{out} exists and is not a finished set of monthly files")
    part = out.with_name(out.name + ".partial")
    if (part / _MARK).is_file():
        shutil.rmtree(part)
    elif part.exists():
        raise FileExistsError(f"{part} exists and was not made by benchgen: remove it")
    part.mkdir(parents=True)
    (part / _MARK).touch()
    stream = records(seed)
    for name in names:
        month, written = name.removesuffix(".jsonl"), 0
        with open(part / name, "wb") as f:
            while written < megabytes * 1_000_000:
                record = next(stream)
                record = {**record, "date_publish": month + record["date_publish"][7:]}
                line = (json.dumps(record, ensure_ascii=False) + "\n").encode()
                f.write(line)
                written += len(line)
    (part / "monthly.json").write_text(json.dumps(info))
    (part / _MARK).unlink()
    part.rename(out)
    return [out / name for name in names]


def _corpus(out: Path, info: dict) -> Corpus:
    return Corpus(out / "sharded", out / "single", out / "txt", info["records"], info["bytes"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=250, help="size in MB (default %(default)s)")
    parser.add_argument("--out", type=Path, required=True, help="folder to create")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    corpus = generate(args.out, args.mb, args.seed)
    print(
        f"{corpus.records:,} records, {corpus.bytes:,} bytes in {corpus.sharded}, "
        f"{corpus.single} and {corpus.txt}"
    )


if __name__ == "__main__":
    main()
