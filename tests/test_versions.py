"""Version ordering and the bump each schema change requires."""

import pytest

from builder.publish.versions import Version, required_bump_error, schema_changes

OLD = {"id": "string not null", "text": "string not null", "domain": "string"}


def test_versions_order_numerically():
    assert (
        Version.parse("1.10.0") > Version.parse("1.9.3") and Version.parse("v2.0.0").tag == "v2.0.0"
    )
    assert Version.from_tag("latest") is None
    with pytest.raises(ValueError):
        Version.parse("1.0")


def test_schema_changes_are_classified():
    new = {"id": "string not null", "text": "large_string not null", "section": "string"}
    changes = {(c.kind, c.column) for c in schema_changes(OLD, new)}
    assert changes == {("removed", "domain"), ("type changed", "text"), ("added", "section")}


@pytest.mark.parametrize(
    ("new_fields", "version", "needed"),
    [
        (OLD, "1.0.1", None),
        (OLD, "1.0.0", "not after"),
        ({**OLD, "section": "string"}, "1.0.1", "at least a minor bump (to 1.1.0)"),
        ({**OLD, "section": "string"}, "1.1.0", None),
        ({k: v for k, v in OLD.items() if k != "domain"}, "1.1.0", "major bump (to 2.0.0"),
        ({**OLD, "domain": "large_string"}, "1.9.9", "major bump"),
        ({k: v for k, v in OLD.items() if k != "domain"}, "2.0.0", None),
    ],
)
def test_required_bump(new_fields, version, needed):
    error = required_bump_error(
        Version.parse("1.0.0"), Version.parse(version), schema_changes(OLD, new_fields)
    )
    assert error is None if needed is None else needed in error
