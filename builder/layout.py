"""Where things go in a release folder; the paths are part of the published contract.

Shards are partitioned by language and publication month, so a new month of articles adds
files and leaves existing ones byte-identical. Names carry no shard count ('-of-N').
"""

from __future__ import annotations

DATA_DIR = "data"
ACCOUNTING_DIR = "accounting"
REJECTS_FILE = f"{ACCOUNTING_DIR}/rejects.parquet"
DUPLICATES_FILE = f"{ACCOUNTING_DIR}/duplicates.parquet"
DOMAINS_FILE = f"{ACCOUNTING_DIR}/domains.parquet"
MANIFEST_FILE = "manifest.json"
CARD_FILE = "README.md"
JSON_SCHEMA_FILE = "article.schema.json"
UNDATED = "undated"


def month_folder(date: str | None) -> str:
    """The date part of a partition: 'YYYY-MM' for month or day precision, 'YYYY' for a year, or 'undated'."""
    return date[:7] if date else UNDATED


def partition_dir(language: str, date: str | None) -> str:
    return f"{DATA_DIR}/{language}/{month_folder(date)}"


def shard_path(partition: str, number: int) -> str:
    return f"{partition}/{number:04d}.parquet"


def language_of(shard: str) -> str:
    """The language of a shard path made by `shard_path`: 'data/it/2021-02/0000.parquet' -> 'it'."""
    return shard.split("/")[1]


def language_glob(language: str) -> str:
    """Glob over every shard of one language, for the card's `configs`."""
    return f"{DATA_DIR}/{language}/*/*.parquet"


ALL_SHARDS_GLOB = f"{DATA_DIR}/*/*/*.parquet"
