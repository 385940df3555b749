"""The pydantic model is the single source of truth; every other schema must follow it."""

import json

import pyarrow as pa
import pytest
from pydantic import ValidationError

from builder.reference import TABLES, generated_block
from schema import Article, arrow_schema, field_table, hf_features, json_schema
from schema.derive import JSON_SCHEMA_PATH, features_dict, features_yaml, json_schema_text

VALID = {
    "id": "0" * 32,
    "title": None,
    "text": "Corpo.",
    "date": "2021-02",
    "date_precision": "month",
    "date_source": "header",
    "date_time": None,
    "language": "it",
    "language_confidence": 0.99,
    "url": None,
    "canonical_url": None,
    "domain": None,
    "site_name": None,
    "authors": [],
    "source_path": "a.txt",
    "source_record": 1,
    "source_sha256": "a" * 64,
    "num_words": 1,
    "num_chars": 6,
    "text_sha256": "b" * 64,
}


def test_committed_json_schema_is_current():
    assert JSON_SCHEMA_PATH.read_text(encoding="utf-8") == json_schema_text(), (
        "schema/article.schema.json is stale: run `make schema` and commit it"
    )


def test_arrow_schema_follows_model_field_order_and_nullability():
    schema = arrow_schema()
    assert schema.names == list(Article.model_fields)
    assert schema.field("title").nullable and schema.field("date").nullable
    assert not schema.field("text").nullable and not schema.field("id").nullable
    assert schema.field("authors").type == pa.list_(pa.field("item", pa.string(), nullable=False))
    assert schema.field("source_record").type == pa.int64()


def test_hf_features_derive_from_arrow():
    features = hf_features()
    assert list(features) == list(Article.model_fields)
    assert features.arrow_schema.names == arrow_schema().names


def test_features_without_datasets_equal_datasets_own():
    assert features_dict() == hf_features().to_dict()
    assert features_yaml() == hf_features()._to_yaml_list()


def test_every_field_has_a_description_everywhere():
    js = json_schema()
    for name, info in Article.model_fields.items():
        assert info.description, name
        assert js["properties"][name]["description"] == info.description
    assert [row[0] for row in field_table()] == list(Article.model_fields)
    assert all(row[2] for row in field_table())


def test_json_schema_carries_version_and_is_json():
    assert json.loads(json_schema_text())["version"] == json_schema()["version"]


def test_valid_record_round_trips():
    assert Article(**VALID).model_dump()["date"] == "2021-02"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"date": "2021-02-01", "date_precision": "month"}, "does not have month precision"),
        ({"date": "2021-02", "date_precision": None}, "both be set"),
        ({"date": None, "date_precision": "day"}, "both be set"),
        ({"date": None, "date_precision": None}, "need a date"),
        (
            {
                "date": "2021-02-03",
                "date_precision": "day",
                "date_time": "2021-02-04T10:00:00+01:00",
            },
            "not on date",
        ),
        ({"date_time": "2021-02-03T10:00:00"}, "should match pattern"),
        ({"language_confidence": 1.5}, "less than or equal to 1"),
        ({"date_source": "copyright"}, "Input should be"),
        ({"language": "ita"}, "not an ISO 639-1"),
        ({"language": "xx"}, "not an ISO 639-1"),
        ({"language": "UND"}, "not an ISO 639-1"),
        ({"text": ""}, "at least 1 character"),
        ({"extra": 1}, "Extra inputs"),
    ],
)
def test_model_refuses_inconsistent_records(change, message):
    with pytest.raises(ValidationError, match=message):
        Article(**{**VALID, **change})


@pytest.mark.parametrize("rel", sorted(TABLES))
def test_the_docs_reference_tables_are_the_models(rel):
    """docs/schema.md and docs/config.md hold tables generated from the schema and config models."""
    name, generate = TABLES[rel]
    text = (JSON_SCHEMA_PATH.parent.parent / rel).read_text(encoding="utf-8")
    assert generated_block(text, name).strip() == generate(), (
        f"{rel} is stale: run `make schema` to rewrite its table from the model"
    )
