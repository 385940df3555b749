"""Schemas derived from `Article`: Arrow for the shards, Features for `datasets`, JSON Schema for tools."""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from enum import Enum
from functools import cache
from pathlib import Path

import pyarrow as pa

from schema.article import SCHEMA_VERSION, Article

JSON_SCHEMA_PATH = Path(__file__).with_name("article.schema.json")

_SCALARS: dict[type, pa.DataType] = {
    str: pa.string(),
    int: pa.int64(),
    bool: pa.bool_(),
    float: pa.float64(),
}


def arrow_type(annotation: object) -> tuple[pa.DataType, bool]:
    """Map a field annotation to (Arrow type, nullable)."""
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        (inner,) = [a for a in args if a is not type(None)]
        return arrow_type(inner)[0], True
    if typing.get_origin(annotation) is list:
        item, _ = arrow_type(args[0])
        return pa.list_(pa.field("item", item, nullable=False)), False
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return pa.string(), False
    if annotation in _SCALARS:
        return _SCALARS[annotation], False
    raise TypeError(
        f"no Arrow mapping for annotation {annotation!r}; extend schema.derive._SCALARS"
    )


@cache
def arrow_schema() -> pa.Schema:
    """Arrow schema of the Parquet shards, in model field order, with descriptions as field metadata."""
    fields = []
    for name, info in Article.model_fields.items():
        dtype, nullable = arrow_type(info.annotation)
        fields.append(
            pa.field(name, dtype, nullable=nullable, metadata={"description": info.description})
        )
    return pa.schema(fields, metadata={"broadsheet.schema_version": SCHEMA_VERSION})


def dataclass_schema(cls: type) -> pa.Schema:
    """Arrow schema of a dataclass's fields, for the builder's own tables (rejects, duplicates)."""
    hints = typing.get_type_hints(cls)
    fields = []
    for item in dataclasses.fields(cls):
        dtype, nullable = arrow_type(hints[item.name])
        fields.append(pa.field(item.name, dtype, nullable=nullable))
    return pa.schema(fields)


def hf_features():
    """`datasets.Features` of the published rows (imported lazily: `datasets` is slow to import)."""
    from datasets import Features

    return Features.from_arrow_schema(arrow_schema())


# datasets' names of the Arrow types in _SCALARS (its `Value` dtypes).
_VALUE_DTYPES = {
    pa.string(): "string",
    pa.int64(): "int64",
    pa.bool_(): "bool",
    pa.float64(): "float64",
}


def _feature(dtype: pa.DataType) -> dict:
    if pa.types.is_list(dtype):
        return {"feature": _feature(dtype.value_type), "_type": "List"}
    return {"dtype": _VALUE_DTYPES[dtype], "_type": "Value"}


def features_dict() -> dict:
    """`hf_features().to_dict()` without importing `datasets` (half a second a build), for the
    shards' metadata and the card; a test holds the two equal."""
    return {field.name: _feature(field.type) for field in arrow_schema()}


def features_yaml() -> list[dict]:
    """`hf_features()._to_yaml_list()` (the card's `dataset_info.features`), without `datasets`."""
    out: list[dict] = []
    for name, feature in features_dict().items():
        if feature["_type"] == "List":
            out.append({"name": name, "list": feature["feature"]["dtype"]})
        else:
            out.append({"name": name, "dtype": feature["dtype"]})
    return out


def json_schema() -> dict:
    """JSON Schema of one record, as committed in `schema/article.schema.json`."""
    body = Article.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "version": SCHEMA_VERSION,
        **body,
    }


def json_schema_text() -> str:
    """The committed file's exact text; `python -m builder schema` rewrites it."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def field_table() -> list[tuple[str, str, str]]:
    """(field, type, description) rows for documentation, e.g. the dataset card."""
    rows = []
    for field in arrow_schema():
        type_name = str(field.type).replace("list<item: string not null>", "list<string>")
        rows.append(
            (
                field.name,
                type_name + (" (nullable)" if field.nullable else ""),
                field.metadata[b"description"].decode(),
            )
        )
    return rows
