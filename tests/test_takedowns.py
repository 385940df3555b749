"""Takedowns (build.remove): listed articles are rejects `removed`, without their text, in every
build; a line that matches nothing is reported; a new list recomputes no cached unit; verify
finds a listed article in a published version."""

from __future__ import annotations

import hashlib
import json

import pyarrow.parquet as pq
import pytest

from builder.build import build
from builder.cli import _removals, parser
from builder.config import Config, load_config
from builder.errors import ConfigError
from builder.layout import DOMAINS_FILE
from builder.outcomes import article_id
from builder.publish import publish, verify
from builder.publish.hub import PublishError
from builder.rules.removals import Removals, kind_of, read_removals
from tests.support import (
    CONFIG_TOML,
    ENGLISH,
    ITALIAN,
    TODAY,
    jsonl,
    quiet_progress,
    rejects,
    release_files,
    rows,
    seed_text,
    write,
)
from tests.test_publish import FAST

SHARED = f"{ITALIAN} Un testo ripreso da due testate."  # one text at two addresses


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def corpus(raw) -> None:
    records = [
        {"text": ENGLISH, "url": "https://keep.example/1"},
        {"text": f"{ENGLISH} Gone.", "url": "https://gone.example/a"},
        {"text": f"{ENGLISH} Banned.", "url": "https://www.banned.example/x"},
        {"text": "Too short, and banned.", "url": "https://banned.example/y"},
        {"text": SHARED, "url": "https://keep.example/5"},
        {"text": SHARED, "url": "https://other.example/6"},
        {"text": f"{ENGLISH} By id.", "url": "https://keep.example/7"},
    ]
    write(raw / "a.jsonl", jsonl(records))
    write(raw / "seed.txt", seed_text("2021-02", f"{ITALIAN} Senza indirizzo."))


TAKEDOWNS = f"""\
# takedown requests, one per line

https://gone.example/a      # a URL, with a comment
BANNED.example.             # a domain (and its subdomains), in any case
{sha(SHARED)}
{article_id("https://keep.example/7")}
https://nowhere.example/never-published
missing.example
"""


def takedown_config(folder, text: str | None = TAKEDOWNS) -> Config:
    """The tests' config, read from a file, with build.remove = "takedowns.txt" beside it."""
    toml = CONFIG_TOML.format(min_words=5)
    if text is not None:
        write(folder / "takedowns.txt", text)
        toml += 'remove = "takedowns.txt"\n'
    write(folder / "dataset.toml", toml)
    return load_config(folder / "dataset.toml")


def run(cfg: Config, raw, out, **kw):
    return build(cfg, raw, out, today=TODAY, progress=quiet_progress(), **kw)


def test_a_takedown_file_is_read_with_the_config(tmp_path):
    cfg = takedown_config(tmp_path / "conf")
    assert cfg.build.remove == Removals(
        file="takedowns.txt",
        entries=[
            "https://gone.example/a",
            "banned.example",
            sha(SHARED),
            article_id("https://keep.example/7"),
            "https://nowhere.example/never-published",
            "missing.example",
        ],
    )
    assert [kind_of(e) for e in cfg.build.remove.entries] == [
        "url",
        "domain",
        "text_sha256",
        "id",
        "url",
        "domain",
    ]
    write(tmp_path / "bad.txt", "# fine\nnews.example\nnot-a-domain\n")
    with pytest.raises(ValueError, match=r"bad.txt: line 3: 'not-a-domain' is not a URL"):
        read_removals(tmp_path / "bad.txt", "bad.txt")
    write(tmp_path / "two.txt", "a.example b.example\n")
    with pytest.raises(ValueError, match="line 1: one entry per line"):
        read_removals(tmp_path / "two.txt", "two.txt")
    write(tmp_path / "c" / "dataset.toml", CONFIG_TOML.format(min_words=5) + 'remove = "x.txt"\n')
    with pytest.raises(ConfigError, match=r"build.remove: x.txt: takedown file not found"):
        load_config(tmp_path / "c" / "dataset.toml")
    assert takedown_config(tmp_path / "none", None).build.remove is None


def test_listed_articles_are_removed_without_their_text(tmp_path):
    corpus(tmp_path / "raw")
    cfg = takedown_config(tmp_path)
    report = run(cfg, tmp_path / "raw", tmp_path / "dist")
    assert sorted(r["url"] or r["source_path"] for r in rows(report.out)) == [
        "https://keep.example/1",
        "seed.txt",
    ]
    removed = {r["source_record"]: r for r in rejects(report.out) if r["reason"] == "removed"}
    assert sorted(removed) == [2, 3, 5, 6, 7]  # both copies of the listed text
    assert all(r["excerpt"] == "" for r in removed.values())
    assert removed[2]["detail"] == "listed in build.remove: https://gone.example/a"
    assert removed[3]["detail"] == "listed in build.remove: banned.example"
    assert removed[6]["domain"] == "other.example"
    short = next(r for r in rejects(report.out) if r["reason"] == "too_short")
    assert (short["domain"], short["excerpt"]) == ("banned.example", "")  # a listed domain's text
    assert report.warnings == [
        "build.remove (takedowns.txt): 2 line(s) matched no article of this input: "
        "https://nowhere.example/never-published, missing.example"
    ]
    acc = report.manifest.accounting
    assert acc.rejects_by_reason["removed"] == 5 and acc.duplicates == 0
    settings = json.loads((report.out / "manifest.json").read_text(encoding="utf-8"))
    assert settings["build_settings"]["remove"] == cfg.build.remove.model_dump(mode="json")
    domains = {r["domain"]: r for r in pq.read_table(report.out / DOMAINS_FILE).to_pylist()}
    assert domains["banned.example"]["rejected_too_short"] == 1
    assert domains["www.banned.example"]["rejected_removed"] == 1
    assert "| reject: `removed` | 5 |" in (report.out / "README.md").read_text(encoding="utf-8")
    # a takedown is the maintainer's choice: --strict fails only on the too-short record
    with pytest.raises(Exception, match=r"--strict: 1 record\(s\) rejected \(too_short: 1\)"):
        run(cfg, tmp_path / "raw", tmp_path / "strict", strict=True)


def test_without_a_list_the_manifest_keeps_its_bytes(tmp_path):
    write(tmp_path / "raw" / "a.txt", seed_text("2021-02", ENGLISH))
    report = run(takedown_config(tmp_path, None), tmp_path / "raw", tmp_path / "dist")
    manifest = json.loads((report.out / "manifest.json").read_text(encoding="utf-8"))
    assert "remove" not in manifest["build_settings"]


def test_a_changed_list_recomputes_no_unit_and_the_release_follows_it(tmp_path):
    corpus(tmp_path / "raw")
    for i in range(6):  # more files, more units
        write(tmp_path / "raw" / f"more{i}.jsonl", jsonl([{"text": f"{ENGLISH} {i}."}]))
    out = tmp_path / "dist"
    first = run(takedown_config(tmp_path / "c0", None), tmp_path / "raw", out)
    units = first.cache.computed
    assert units >= 1 and first.cache.reused == 0
    listed = run(takedown_config(tmp_path / "c1"), tmp_path / "raw", out)
    assert (listed.cache.reused, listed.cache.computed) == (units, 0)
    assert listed.accounting.rejects["removed"] == 5
    other = "https://keep.example/1\n"  # another list: what the first one removed is back
    again = run(takedown_config(tmp_path / "c2", other), tmp_path / "raw", out)
    assert (again.cache.reused, again.cache.computed) == (units, 0)
    urls = {r["url"] for r in rows(out)}
    assert "https://keep.example/1" not in urls and "https://gone.example/a" in urls
    assert again.accounting.rejects["removed"] == 1
    fresh = run(
        takedown_config(tmp_path / "c3", other), tmp_path / "raw", tmp_path / "fresh", cache=False
    )
    assert release_files(out) == release_files(fresh.out)


def test_verify_finds_a_listed_article_in_a_published_version(
    hub, hub_repo, hub_token, monkeypatch, tmp_path
):
    monkeypatch.setenv("HF_TOKEN", hub_token)
    corpus(tmp_path / "raw")
    cfg = takedown_config(tmp_path)
    report = run(cfg, tmp_path / "raw", tmp_path / "dist")
    publish(report.out, cfg, repo_id=hub_repo, version="1.0.0", retry=FAST)
    checked = verify(hub_repo, "v1.0.0", cfg.build.remove)
    assert checked.checks[-1] == "no article listed in takedowns.txt (6 line(s))"
    late = Removals(file="late.txt", entries=["https://keep.example/1"])  # a request after it
    with pytest.raises(PublishError, match=r"v1.0.0 holds 1 article\(s\) that build.remove"):
        verify(hub_repo, "v1.0.0", late)
    # the command line: --remove, else the config's build.remove
    write(tmp_path / "late.txt", "keep.example\n")
    args = parser().parse_args(
        [
            "--config",
            str(tmp_path / "dataset.toml"),
            "verify",
            "--repo",
            "r",
            "--revision",
            "v1",
            "--remove",
            str(tmp_path / "late.txt"),
        ]
    )
    assert _removals(args).entries == ["keep.example"]
    args = parser().parse_args(
        ["--config", str(tmp_path / "dataset.toml"), "verify", "--repo", "r", "--revision", "v1"]
    )
    assert _removals(args) == cfg.build.remove
    args = parser().parse_args(
        ["--config", str(tmp_path / "none.toml"), "verify", "--repo", "r", "--revision", "v1"]
    )
    assert _removals(args) is None
