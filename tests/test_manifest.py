"""The manifest model: the bytes a build writes read back into the same model and the same bytes;
anything else (another tool's file, a damaged or newer one) does not validate and says why."""

import json
import shutil

import pytest
from pydantic import ValidationError

from builder.publish.hub import PublishError
from builder.publish.plan import check_release
from builder.writers.manifest import (
    Manifest,
    damage,
    is_broadsheet_manifest,
    manifest_json,
    read_manifest,
)
from tests.support import ENGLISH, ITALIAN, run_build, seed_text, write


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("manifest")
    write(tmp / "raw" / "en.txt", seed_text("2021-03-04", ENGLISH))
    write(tmp / "raw" / "it.txt", seed_text("2021-02", ITALIAN))
    write(tmp / "raw" / "short.txt", seed_text("2021-02", "Too short."))
    return run_build(tmp / "raw", tmp / "dist")


def on_disk(built) -> dict:
    return json.loads((built.out / "manifest.json").read_text(encoding="utf-8"))


def test_the_manifest_on_disk_reads_back_to_the_same_model_and_bytes(built):
    path = built.out / "manifest.json"
    manifest = read_manifest(path)
    assert manifest == built.manifest
    assert manifest_json(manifest) == path.read_text(encoding="utf-8")
    assert manifest.accounting.rows == 2 and manifest.accounting.rejects_by_reason == {
        "too_short": 1
    }
    assert sorted(manifest.shards) == [
        "data/en/2021-03/0000.parquet",
        "data/it/2021-02/0000.parquet",
    ]
    assert all(entry.rows == 1 and entry.nbytes for entry in manifest.shards.values())


def test_the_json_keeps_its_keys_and_layout(built):
    text = (built.out / "manifest.json").read_text(encoding="utf-8")
    data = json.loads(text)
    assert text == json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert list(data) == sorted(
        [
            "accounting",
            "build_settings",
            "dataset",
            "files",
            "generator",
            "input",
            "manifest_format",
            "schema_fields",
            "stats",
            "steps",
            "versions",
        ]
    )
    assert set(data["versions"]) == {"builder", "pyarrow", "schema"}
    assert set(data["files"]["articles_per_month.png"]) == {"sha256", "size"}
    assert set(data["files"]["accounting/rejects.parquet"]) == {"sha256", "size", "rows"}


def test_step_counters_are_listed_without_timings(built):
    steps = on_disk(built)["steps"]
    assert steps[0]["name"] == "read" and steps[-1]["name"] == "quality"
    assert all(set(step) == {"name", "rows_in", "rows_out", "rejects", "counts"} for step in steps)
    older = built.manifest.model_copy(update={"steps": []})  # as a build before step counters
    assert "steps" not in json.loads(manifest_json(older))
    assert Manifest.model_validate_json(manifest_json(older)) == older


def _edited(built, edit) -> dict:
    data = on_disk(built)
    edit(data)
    return data


@pytest.mark.parametrize(
    ("edit", "why"),
    [
        (lambda d: d.update(generator="another-tool"), "generator: Input should be 'broadsheet'"),
        (lambda d: d.pop("manifest_format"), "missing manifest_format"),
        (lambda d: d.update(manifest_format=2), "manifest_format 2, this Broadsheet reads 1"),
        (lambda d: d.pop("stats"), "missing stats"),
        (lambda d: d["accounting"].pop("rows"), "missing accounting.rows"),
        (lambda d: d.update(files=["train.csv"]), "files: Input should be "),
        (lambda d: d.update(written_later=True), "written_later: Extra inputs are not permitted"),
        (lambda d: d["files"]["data/en/2021-03/0000.parquet"].pop("rows"), "has no rows"),
    ],
    ids=[
        "other-generator",
        "no-format",
        "newer-format",
        "no-stats",
        "no-row-count",
        "files-not-a-mapping",
        "unknown-key",
        "shard-without-rows",
    ],
)
def test_a_foreign_or_damaged_manifest_is_not_ours_and_says_why(built, edit, why):
    data = _edited(built, edit)
    assert not is_broadsheet_manifest(data)
    with pytest.raises(ValidationError) as caught:
        Manifest.model_validate_json(json.dumps(data))
    assert why in damage(caught.value)
    assert "\n" not in damage(caught.value)


def test_invalid_json_is_named_as_such():
    with pytest.raises(ValidationError) as caught:
        Manifest.model_validate_json('{"generator": "broadsheet", ')
    assert damage(caught.value).startswith("invalid JSON: ")


def test_another_tools_manifest_and_non_objects_are_not_ours(built):
    assert is_broadsheet_manifest(on_disk(built))
    for other in ({"name": "theirs", "files": ["train.csv"]}, [], "broadsheet", None, 1):
        assert not is_broadsheet_manifest(other)


def test_publish_refuses_a_local_manifest_it_cannot_read_in_one_line(built, tmp_path):
    release = tmp_path / "dist"
    shutil.copytree(built.out, release)
    data = on_disk(built)
    del data["accounting"]["rows"]
    (release / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(PublishError) as caught:
        check_release(release)
    message = str(caught.value)
    assert "is not a manifest this Broadsheet can publish (missing accounting.rows)" in message
    assert message.endswith("rebuild with `make build`") and "\n" not in message


def test_the_models_marker_types_are_the_marker():
    from typing import get_args

    from builder.writers.manifest import GENERATOR, MANIFEST_FORMAT

    assert get_args(Manifest.model_fields["generator"].annotation) == (GENERATOR,)
    assert get_args(Manifest.model_fields["manifest_format"].annotation) == (MANIFEST_FORMAT,)
