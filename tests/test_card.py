"""The generated dataset card: valid Hub metadata, exact counts, and a kept maintainer block."""

from huggingface_hub import DatasetCard

from builder.writers.card import (
    MAINTAINER_END,
    MAINTAINER_START,
    extract_maintainer_notes,
    render_card,
)
from builder.writers.manifest import read_manifest
from schema import Article
from tests.support import ENGLISH, ITALIAN, config, run_build, seed_text, write


def test_card_metadata_and_body(tmp_path):
    raw = tmp_path / "raw"
    for i in range(3):
        write(raw / f"it{i}.txt", seed_text("2021-02", f"{ITALIAN} {i}"))
    write(raw / "en.txt", seed_text("2021-03-04", ENGLISH))
    write(raw / "empty.txt", "")
    report = run_build(raw, tmp_path / "dist")
    card = DatasetCard((report.out / "README.md").read_text(encoding="utf-8"))
    data = card.data.to_dict()
    assert data["license"] == "cc-by-4.0" and data["size_categories"] == ["n<1K"]
    configs = {c["config_name"]: c["data_files"][0]["path"] for c in data["configs"]}
    assert configs == {
        "default": "data/*/*/*.parquet",
        "en": "data/en/*/*.parquet",
        "it": "data/it/*/*.parquet",
    }
    examples = {i["config_name"]: i["splits"][0]["num_examples"] for i in data["dataset_info"]}
    assert examples == {"default": 4, "en": 1, "it": 3}
    assert [f["name"] for f in data["dataset_info"][0]["features"]] == list(Article.model_fields)
    body = card.text
    assert 'load_dataset("test-org/test-news", "default", revision="v1.0.0", split="train")' in body
    assert "| `date_precision` |" in body and "| 2021-02 | 0 | 3 | 3 |" in body
    assert "reject: `no_text` | 1" in body and "articles_per_month.png" in body
    assert (report.out / "articles_per_month.png").read_bytes().startswith(b"\x89PNG")


def test_maintainer_notes_round_trip(tmp_path):
    write(tmp_path / "raw" / "a.txt", seed_text("2021-02", ENGLISH))
    manifest = run_build(tmp_path / "raw", tmp_path / "dist").manifest
    notes = "Hand-written.\n\nWith | pipes and `code`."
    card = render_card(config(), manifest, [], notes)
    assert extract_maintainer_notes(card) == notes
    assert card.count(MAINTAINER_START) == card.count(MAINTAINER_END) == 1
    assert extract_maintainer_notes("no block here") is None


def test_the_card_publish_renders_from_the_manifest_file_is_the_build_card(tmp_path):
    """Publish re-renders the card from manifest.json, whose keys are sorted: the same card results."""
    write(tmp_path / "raw" / "a.txt", seed_text("2021-02", ENGLISH))
    write(tmp_path / "raw" / "b.txt", seed_text("2021-03", ITALIAN))
    report = run_build(tmp_path / "raw", tmp_path / "dist")
    card = render_card(config(), read_manifest(report.out / "manifest.json"))
    assert card == (report.out / "README.md").read_text(encoding="utf-8")
    assert "|  | min | p10 | p50 | p90 | p99 | max |" in card


def test_the_card_tags_exactly_the_languages_with_rows(tmp_path):
    """dataset.languages is ["en", "it"]; with English rows only, `it` is no tag (the Hub would
    list the dataset under Italian) and the build warns of it."""
    write(tmp_path / "raw" / "a.txt", seed_text("2021-02", ENGLISH))
    report = run_build(tmp_path / "raw", tmp_path / "dist")
    card = DatasetCard((report.out / "README.md").read_text(encoding="utf-8"))
    assert card.data.to_dict()["language"] == ["en"]
    assert [c["config_name"] for c in card.data.to_dict()["configs"]] == ["default", "en"]
    assert report.warnings == [
        "dataset.languages lists 'it', but no article is in that language: the card does not tag it"
    ]
    write(tmp_path / "raw" / "b.txt", seed_text("2021-03", ITALIAN))
    report = run_build(tmp_path / "raw", tmp_path / "dist")
    assert report.warnings == []
    card = DatasetCard((report.out / "README.md").read_text(encoding="utf-8"))
    assert card.data.to_dict()["language"] == ["en", "it"]
