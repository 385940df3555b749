"""The article as published: field names, types, constraints and descriptions.

Everything else (Arrow schema, `datasets.Features`, JSON Schema, the card's schema
table) is derived from this model by `schema.derive`; edit here, never there.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from schema.languages import ISO_639_1, UNDETERMINED

SCHEMA_VERSION = "1.3.0"
"""Semver of the record layout: major for removed/renamed/retyped fields, minor for additions
and for values computed another way (1.3.0: `title_source` added; `num_words` cuts Thai, Lao,
Khmer and Myanmar into words, and counts no punctuation of the kana blocks)."""

SHA256_HEX = r"^[0-9a-f]{64}$"


class DatePrecision(StrEnum):
    """How much of the publication date the source actually stated."""

    YEAR = "year"
    MONTH = "month"
    DAY = "day"


class DateSource(StrEnum):
    """Where the publication date was found, from the most to the least reliable on a web page."""

    HEADER = "header"  # the `date` line of a seed-format text
    RECORD = "record"  # the date field of a JSON record
    JSON_LD = "json_ld"  # schema.org `datePublished` in JSON-LD
    META = "meta"  # a <meta> tag (`article:published_time` and the common others)
    MICRODATA = "microdata"  # an element with itemprop="datePublished"
    TIME_ELEMENT = "time_element"  # a <time datetime> element in the article
    TEXT = "text"  # the visible text near the headline ("17 febbraio 2021")
    URL = "url"  # the URL's path (/2021/02/17/slug): used only when nothing better exists


class TitleSource(StrEnum):
    """Where the title was found: a record's field, or the web page's source that won the choice
    (the printed headline and the page's metadata are compared, as the date's sources are)."""

    RECORD = "record"  # the title field of a JSON record
    JSON_LD = "json_ld"  # schema.org `headline` (or `name`) of the page's article in JSON-LD
    OG = "og"  # the Open Graph title (<meta property="og:title">)
    TWITTER = "twitter"  # the Twitter card title (<meta name="twitter:title">)
    H1 = "h1"  # the headline printed on the page: the article's <h1>
    TITLE_TAG = "title_tag"  # the page's <title>, without the site's name


DATE_TIME_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$"

DATE_PATTERNS = {
    DatePrecision.YEAR: re.compile(r"^\d{4}$"),
    DatePrecision.MONTH: re.compile(r"^\d{4}-\d{2}$"),
    DatePrecision.DAY: re.compile(r"^\d{4}-\d{2}-\d{2}$"),
}


# A quality signal that is a share: from 0 to 1, null where undefined or not computed.
Share = Annotated[float | None, Field(default=None, ge=0, le=1)]


class Article(BaseModel):
    """One news article, normalized and validated."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=True)

    id: Annotated[
        str,
        Field(
            pattern=r"^[0-9a-f]{32}$",
            description=(
                "Stable identifier: first 32 hex digits of sha256('url:' + url) when the source "
                "gives a URL, else of sha256('path:' + source_path + '#' + source_record). "
                "Unchanged across rebuilds of the same source."
            ),
        ),
    ]
    title: Annotated[
        str | None, Field(description="Headline, normalized; null when the source has none.")
    ]
    title_source: Annotated[
        TitleSource | None,
        Field(
            default=None,  # records written before the field existed have none
            description=(
                "Where `title` was found: 'record' (a JSON record's field), or the web page's "
                "source chosen by agreement between them: 'json_ld', 'og', 'twitter', 'h1' (the "
                "printed headline) or 'title_tag', the site's name removed; null when `title` "
                "is null."
            ),
        ),
    ]
    text: Annotated[
        str,
        Field(
            min_length=1,
            description="Normalized body text; paragraphs are separated by exactly one blank line.",
        ),
    ]
    date: Annotated[
        str | None,
        Field(
            pattern=r"^\d{4}(-\d{2}(-\d{2})?)?$",
            description=(
                "Publication date in ISO 8601 at the precision the source stated: 'YYYY', "
                "'YYYY-MM' or 'YYYY-MM-DD'. Never padded with an invented month or day; null "
                "when the source gives no date."
            ),
        ),
    ]
    date_precision: Annotated[
        DatePrecision | None,
        Field(
            description="Precision of `date`: 'year', 'month' or 'day'; null when `date` is null."
        ),
    ]
    date_source: Annotated[
        DateSource | None,
        Field(
            description=(
                "Where `date` was found: 'header' (a text's date line), 'record' (a JSON "
                "record's field), 'json_ld', 'meta', 'microdata', 'time_element', 'text' (near "
                "the headline) or 'url'; null when `date` is null."
            )
        ),
    ]
    date_time: Annotated[
        str | None,
        Field(
            pattern=DATE_TIME_PATTERN,
            description=(
                "Publication time as 'YYYY-MM-DDTHH:MM:SS+HH:MM' with the UTC offset the source "
                "gave; null unless the source gives a time with its offset (none is assumed)."
            ),
        ),
    ]
    language: Annotated[
        str,
        Field(
            description=(
                "ISO 639-1 code: the one the source declares when given (unless build."
                "language_source = 'detected' and the model contradicts it), else detected from "
                "the text; 'und' (undetermined) when the text is too short or too mixed to tell."
            ),
            json_schema_extra={"enum": sorted(ISO_639_1 | {UNDETERMINED})},
        ),
    ]
    language_confidence: Annotated[
        float | None,
        Field(
            ge=0,
            le=1,
            description=(
                "The language model's probability (0 to 1) for `language` on this text: for a "
                "declared language, its probability for that one (0 when the model does not know "
                "it); for 'und', that of its best guess; null when there is no text to judge."
            ),
        ),
    ]
    url: Annotated[
        str | None,
        Field(description="Address of the article as given by the source (a WARC's target URI)."),
    ]
    canonical_url: Annotated[
        str | None,
        Field(description="The page's own canonical address (<link rel=canonical>, og:url)."),
    ]
    domain: Annotated[
        str | None,
        Field(description="Host name of the publisher, from the source or derived from `url`."),
    ]
    site_name: Annotated[
        str | None,
        Field(description="Name of the publication as the page gives it (og:site_name)."),
    ]
    authors: Annotated[
        list[str], Field(description="Author names as given by the source; empty when unknown.")
    ]
    source_path: Annotated[
        str,
        Field(
            min_length=1,
            description=(
                "Path of the raw file relative to the input folder, with '/' separators. A "
                "backslash in a name is written '\\\\' and a byte that is not UTF-8 as '\\xNN', "
                "so no two files share a path."
            ),
        ),
    ]
    source_record: Annotated[
        int,
        Field(
            ge=1,
            description=(
                "Position of the record in its file, from 1: the line number in JSON Lines, the "
                "element number in a JSON array, 1 for one-article files."
            ),
        ),
    ]
    source_sha256: Annotated[
        str,
        Field(
            pattern=SHA256_HEX,
            description=(
                "sha256 of the record's raw bytes after decompression: the whole file for "
                "one-article files and a JSON file of one record, the element for a JSON "
                "array, the line for JSON Lines."
            ),
        ),
    ]
    num_words: Annotated[
        int,
        Field(
            ge=0,
            description=(
                "Words in `text`: runs of letters or digits with their marks, each Han or kana "
                "letter counting as one (not the middle dot ・); runs of Thai, Lao, Khmer and Myanmar (written "
                "without spaces) are cut into words by ICU's word break iterator, and Tibetan "
                "counts one word per tsheg-separated syllable."
            ),
        ),
    ]
    num_chars: Annotated[int, Field(ge=0, description="Unicode code points in `text`.")]
    # Quality signals (Gopher, C4 and dolma style), computed by the `quality` step and never used
    # to drop an article unless the build configures thresholds. They measure the first
    # QUALITY_MEASURED_CHARS characters of `text`; lines are its non-blank lines, words those of
    # `num_words`. Each is null when the text has none to measure, and defaults to null for rows
    # made without the step (a build whose build.steps leaves it out).
    terminal_punct_line_share: Annotated[
        Share,
        Field(
            description=(
                "Quality (C4): share of lines ending in terminal punctuation (. ! ? … 。 ！ ？ "
                "؟ । and the like, optionally followed by closing quotes or brackets)."
            )
        ),
    ]
    ellipsis_line_share: Annotated[
        Share,
        Field(description="Quality (Gopher): share of lines ending in an ellipsis ('...' or '…')."),
    ]
    bullet_line_share: Annotated[
        Share,
        Field(
            description=(
                "Quality (Gopher): share of lines starting with a bullet (• ● ▪ ► and the like, "
                "or '-', '*', '+' followed by a space)."
            )
        ),
    ]
    duplicate_line_share: Annotated[
        Share,
        Field(
            description=(
                "Quality (Gopher): share of lines that repeat an earlier line of the text exactly."
            )
        ),
    ]
    duplicate_line_char_share: Annotated[
        Share,
        Field(
            description=(
                "Quality (Gopher): share of the lines' characters (line breaks not counted) that "
                "are in lines repeating an earlier line."
            )
        ),
    ]
    mean_word_length: Annotated[
        float | None,
        Field(
            default=None,
            ge=0,
            description=(
                "Quality (Gopher): mean characters per word (a Han or kana letter is a word "
                "of one character)."
            ),
        ),
    ]
    letter_word_share: Annotated[
        Share, Field(description="Quality (Gopher): share of words with at least one letter.")
    ]
    non_alnum_char_share: Annotated[
        Share,
        Field(
            description=(
                "Quality: share of the non-space characters that are outside words (punctuation, "
                "symbols, emoji)."
            )
        ),
    ]
    top_2gram_char_share: Annotated[
        Share,
        Field(
            description=(
                "Quality (Gopher's top n-gram, on words): share of the words' characters covered "
                "by the occurrences of the most frequent word 2-gram (ties: the longer, then the "
                "first); 0 when no 2-gram repeats; null with fewer than 2 words."
            )
        ),
    ]
    top_3gram_char_share: Annotated[
        Share,
        Field(
            description="As `top_2gram_char_share`, for word 3-grams; null with fewer than 3 words."
        ),
    ]
    top_4gram_char_share: Annotated[
        Share,
        Field(
            description="As `top_2gram_char_share`, for word 4-grams; null with fewer than 4 words."
        ),
    ]
    stop_word_share: Annotated[
        Share,
        Field(
            description=(
                "Quality (Gopher, per language): share of words, lower-cased, in the stop-word "
                "list of `language` (the builder's `stopwords.toml`); null for a language "
                "without a list."
            )
        ),
    ]
    text_sha256: Annotated[
        str,
        Field(
            pattern=SHA256_HEX, description="sha256 of `text` in UTF-8; equal texts are duplicates."
        ),
    ]
    cluster_id: Annotated[
        str | None,
        Field(
            default=None,  # records written before the field existed have none
            pattern=r"^[0-9a-f]{32}$",
            description=(
                "With build.near_duplicates.action = 'mark' (the default): the id of the article "
                "kept for this article's cluster of near-copies (its own id for the kept one); "
                "null when it has no near-copy, or when the stage is off or removes near-copies "
                "as duplicates instead."
            ),
        ),
    ]

    @field_validator("language")
    @classmethod
    def _iso_639_1(cls, value: str) -> str:
        if value not in ISO_639_1 and value != UNDETERMINED:
            raise ValueError(f"{value!r} is not an ISO 639-1 language code (or 'und')")
        return value

    @model_validator(mode="after")
    def _date_matches_precision(self) -> Article:
        if (self.date is None) != (self.date_precision is None):
            raise ValueError("date and date_precision must both be set or both be null")
        if (
            self.date is not None
            and self.date_precision is not None
            and not DATE_PATTERNS[DatePrecision(self.date_precision)].match(self.date)
        ):
            raise ValueError(f"date {self.date!r} does not have {self.date_precision} precision")
        if self.date is None and (self.date_source is not None or self.date_time is not None):
            raise ValueError("date_source and date_time need a date")
        if self.date_time is not None and not self.date_time.startswith(f"{self.date}T"):
            raise ValueError(f"date_time {self.date_time!r} is not on date {self.date!r}")
        return self


# Characters of `text` the quality signals measure: far above any article, and a bound on the
# memory the step takes (a 16 MB record of one-letter words would need gigabytes of arrays).
QUALITY_MEASURED_CHARS = 100_000
# The quality signals, in column order: the `quality` step fills them, the card shows them.
QUALITY_SIGNALS = (
    "terminal_punct_line_share",
    "ellipsis_line_share",
    "bullet_line_share",
    "duplicate_line_share",
    "duplicate_line_char_share",
    "mean_word_length",
    "letter_word_share",
    "non_alnum_char_share",
    "top_2gram_char_share",
    "top_3gram_char_share",
    "top_4gram_char_share",
    "stop_word_share",
)
