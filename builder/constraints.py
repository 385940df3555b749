"""The pydantic model's rules compiled once into Arrow checks, so a batch is validated at once.

Field constraints (pattern, lengths, bounds, enums, nullability) are read from the model; its
validators, which are Python code, each have their Arrow counterpart in VALIDATORS. A rule with
no compiled form stops the build at start-up rather than go unchecked.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel

from schema.article import DATE_PATTERNS
from schema.derive import arrow_type
from schema.languages import ISO_639_1, UNDETERMINED

# Rows where a rule is broken -> True; and the detail for one failing row's values.
Failing = Callable[[pa.Table], np.ndarray]
Detail = Callable[[dict], str]


@dataclass(frozen=True)
class Check:
    field: str  # "record" for a rule over several fields
    failing: Failing
    detail: Detail  # the message pydantic would give, from the failing row's values


def _mask(values: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return pc.fill_null(values, False).to_numpy(zero_copy_only=False).astype(bool)


def _outside(values: pa.ChunkedArray, allowed: list) -> np.ndarray:
    """Rows holding a value not in `allowed` (a null is not a value: nullability is its own check)."""
    return _mask(pc.and_(pc.is_valid(values), pc.invert(pc.is_in(values, pa.array(allowed)))))


def _re2(pattern: str) -> str:
    """The pydantic (Rust regex) pattern for RE2: there, as here, '\\d' means any decimal digit."""
    return pattern.replace("\\d", "\\p{Nd}")


# Constraint attribute -> (Arrow comparison that breaks it, pydantic's words for it).
_LENGTHS = {"min_length": (pc.less, "at least"), "max_length": (pc.greater, "at most")}
_VALUES = {
    "ge": (pc.less, "greater than or equal to"),
    "gt": (pc.less_equal, "greater than"),
    "le": (pc.greater, "less than or equal to"),
    "lt": (pc.greater_equal, "less than"),
}


def _constraint(name: str, kind: type, item: object) -> Check:
    """The check for one constraint of a field (pattern, length or value bound)."""
    pattern = getattr(item, "pattern", None)
    if pattern is not None:
        regex = _re2(pattern)
        return Check(
            name,
            lambda t: _mask(pc.invert(pc.match_substring_regex(t[name], regex))),
            lambda _: f"String should match pattern '{pattern}'",
        )
    attr = next((a for a in (*_LENGTHS, *_VALUES) if getattr(item, a, None) is not None), None)
    if attr is None:
        raise TypeError(
            f"no Arrow check for {item!r} on field {name!r}; add one to builder/constraints.py"
        )
    limit = getattr(item, attr)
    if attr in _LENGTHS:
        breaks, words = _LENGTHS[attr]
        size = pc.list_value_length if kind is list else pc.utf8_length
        noun, unit = ("List", "item") if kind is list else ("String", "character")
        message = f"{noun} should have {words} {limit} {unit}{'s' * (limit != 1)}"
        return Check(name, lambda t: _mask(breaks(size(t[name]), limit)), lambda _: message)
    breaks, words = _VALUES[attr]
    message = f"Input should be {words} {limit}"
    return Check(name, lambda t: _mask(breaks(t[name], limit)), lambda _: message)


def _field_checks(name: str, info) -> list[Check]:
    dtype, nullable = arrow_type(info.annotation)
    inner = next(
        (a for a in getattr(info.annotation, "__args__", ()) if a is not type(None)),
        info.annotation,
    )
    kind = list if pa.types.is_list(dtype) else str if pa.types.is_string(dtype) else int
    checks = []
    if not nullable:
        noun = {list: "a valid list", str: "a valid string", int: "a valid integer"}[kind]
        checks.append(
            Check(name, lambda t: _mask(pc.is_null(t[name])), lambda _: f"Input should be {noun}")
        )
    checks += [_constraint(name, kind, item) for item in info.metadata]
    if isinstance(inner, type) and issubclass(inner, enum.Enum):
        allowed = [m.value for m in inner]
        words = ", ".join(repr(v) for v in allowed[:-1]) + f" or {allowed[-1]!r}"
        checks.append(
            Check(
                name,
                lambda t: _outside(t[name], allowed),
                lambda _: f"Input should be {words}",
            )
        )
    return checks


def _date_matches_precision(t: pa.Table) -> np.ndarray:
    date, precision = t["date"], t["date_precision"]
    broken = _mask(pc.not_equal(pc.is_null(date), pc.is_null(precision)))
    for value, pattern in DATE_PATTERNS.items():
        of_this = _mask(pc.equal(precision, value.value))
        fits = _mask(pc.match_substring_regex(date, _re2(pattern.pattern)))
        broken |= of_this & ~fits
    undated = _mask(pc.is_null(date))
    broken |= undated & (_mask(pc.is_valid(t["date_source"])) | _mask(pc.is_valid(t["date_time"])))
    day = pc.utf8_slice_codeunits(t["date_time"], 0, 11)  # 'YYYY-MM-DDT' of a date_time
    broken |= _mask(pc.not_equal(day, pc.binary_join_element_wise(date, "T", "")))
    return broken


def _precision_detail(row: dict) -> str:
    if (row["date"] is None) != (row["date_precision"] is None):
        return "Value error, date and date_precision must both be set or both be null"
    if row["date"] is None:
        return "Value error, date_source and date_time need a date"
    if row["date_time"] is not None and not row["date_time"].startswith(f"{row['date']}T"):
        return f"Value error, date_time {row['date_time']!r} is not on date {row['date']!r}"
    return f"Value error, date {row['date']!r} does not have {row['date_precision']} precision"


# The model's validators by name, compiled by hand: Python code cannot be read into Arrow.
VALIDATORS: dict[str, Check] = {
    "_iso_639_1": Check(
        "language",
        lambda t: _outside(t["language"], sorted(ISO_639_1 | {UNDETERMINED})),
        lambda row: (
            f"Value error, {row['language']!r} is not an ISO 639-1 language code (or 'und')"
        ),
    ),
    "_date_matches_precision": Check("record", _date_matches_precision, _precision_detail),
}


def compile_checks(model: type[BaseModel]) -> list[Check]:
    """Every rule of `model` as Arrow checks, in the order pydantic reports them: each field's
    constraints then its validators, field by field, then the model validators."""
    decorators = model.__pydantic_decorators__
    unknown = [
        name
        for name in [*decorators.field_validators, *decorators.model_validators]
        if name not in VALIDATORS
    ]
    if unknown or decorators.validators or decorators.root_validators:
        names = ", ".join(unknown) or "a deprecated validator"
        raise TypeError(
            f"{model.__name__}: no Arrow check for {names}; add one to builder/constraints.py"
        )
    checks = []
    for name, info in model.model_fields.items():
        checks += _field_checks(name, info)
        checks += [
            VALIDATORS[v]
            for v, decorator in decorators.field_validators.items()
            if name in decorator.info.fields
        ]
    checks += [VALIDATORS[v] for v in decorators.model_validators]
    return checks
