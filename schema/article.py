"""The article as published: field names, types, constraints and descriptions.

Everything else (Arrow schema, `datasets.Features`, JSON Schema, the card's schema
table) is derived from this model by `schema.derive`; edit here, never there.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from schema.languages import ISO_639_1

SCHEMA_VERSION = "1.0.0"
"""Semver of the record layout: major for removed/renamed/retyped fields, minor for additions."""

SHA256_HEX = r"^[0-9a-f]{64}$"


class DatePrecision(StrEnum):
    """How much of the publication date the source actually stated."""

    YEAR = "year"
    MONTH = "month"
    DAY = "day"


DATE_PATTERNS = {
    DatePrecision.YEAR: re.compile(r"^\d{4}$"),
    DatePrecision.MONTH: re.compile(r"^\d{4}-\d{2}$"),
    DatePrecision.DAY: re.compile(r"^\d{4}-\d{2}-\d{2}$"),
}


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
    language: Annotated[
        str,
        Field(
            description="ISO 639-1 code: from the source record when given, else detected from the text.",
            json_schema_extra={"enum": sorted(ISO_639_1)},
        ),
    ]
    url: Annotated[str | None, Field(description="Address of the article as given by the source.")]
    domain: Annotated[
        str | None,
        Field(description="Host name of the publisher, from the source or derived from `url`."),
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
                "one-article files and JSON files, the line for JSON Lines."
            ),
        ),
    ]
    num_words: Annotated[
        int,
        Field(
            ge=0,
            description="Words in `text`: runs of letters or digits, each Han or kana character counting as one.",
        ),
    ]
    num_chars: Annotated[int, Field(ge=0, description="Unicode code points in `text`.")]
    text_sha256: Annotated[
        str,
        Field(
            pattern=SHA256_HEX, description="sha256 of `text` in UTF-8; equal texts are duplicates."
        ),
    ]

    @field_validator("language")
    @classmethod
    def _iso_639_1(cls, value: str) -> str:
        if value not in ISO_639_1:
            raise ValueError(f"{value!r} is not an ISO 639-1 language code")
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
        return self
