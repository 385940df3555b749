"""The published record model: the one definition every other schema is derived from."""

from schema.article import SCHEMA_VERSION, Article, DatePrecision, DateSource
from schema.derive import arrow_schema, field_table, hf_features, json_schema

__all__ = [
    "SCHEMA_VERSION",
    "Article",
    "DatePrecision",
    "DateSource",
    "arrow_schema",
    "field_table",
    "hf_features",
    "json_schema",
]
