"""Per-domain accounting (`accounting/domains.parquet`): what each publisher's domain gave.

Every record read counts for exactly one domain: an article for its row's `domain`, a reject
for the domain its Reject carries (the record's own, else its URL's host; none for a file that
cannot be read or JSON that does not parse), a duplicate for the domain of its own row (its key
row's, joined by where it sits). Records that name no domain are one row with `domain` null.
Each column sums to the build's total, which the build checks before writing.

Memory: the rows are read a shard at a time, by column (never the text); the rejects and the
duplicates are the tables the build holds anyway; the duplicates' domains are joined from the
stages' key files one file at a time. What is kept across them is per domain (and, for the
near-copy clusters, the clusters' names), not per row.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from builder.outcomes import DOMAIN_SCHEMA, PRECISIONS, DuplicateReason, RejectReason
from builder.storage import Storage
from builder.writers.manifest import Stats

TOP_DOMAINS = 20  # domains the manifest (and so the card) lists; the file has them all
_WHERE = ["source_path", "source_record"]
_ROW_COLUMNS = ["id", "domain", "language", "date_precision", "cluster_id"]
Domain = str | None


def duplicate_domains(duplicates: pa.Table, work: Storage, key_files: Iterable[str]) -> pa.Array:
    """The domain of each duplicate (in the table's order): that of its key row, which the
    workers wrote for every row they kept, read from each key file by column (where, domain)."""
    wanted = duplicates.select(_WHERE).append_column(
        "_at", pa.array(np.arange(len(duplicates), dtype=np.int64))
    )
    found: list[pa.Table] = []
    if len(wanted):
        for rel in key_files:
            keys = work.parquet_file(rel).read(columns=[*_WHERE, "domain"])
            found.append(wanted.join(keys, _WHERE, join_type="inner").select(["_at", "domain"]))
    at = pa.concat_tables(
        [pa.table({"_at": pa.array([], pa.int64()), "domain": pa.array([], pa.string())}), *found]
    )
    if len(at) != len(duplicates):  # a bug: every duplicate was a kept row, with a key row
        raise RuntimeError(f"{len(duplicates) - len(at)} duplicate(s) have no key row")
    return at.sort_by("_at")["domain"].combine_chunks()


class _Tally:
    """Counts per domain, and each domain's languages and near-copy clusters."""

    def __init__(self) -> None:
        self.counts: defaultdict[Domain, Counter[str]] = defaultdict(Counter)
        self.languages: defaultdict[Domain, Counter[str]] = defaultdict(Counter)
        self.clusters: defaultdict[Domain, set[str]] = defaultdict(set)

    def groups(self, table: pa.Table, keys: list[str]) -> Iterable[tuple]:
        """(key values..., count) per distinct combination of `keys`."""
        grouped = table.group_by(keys).aggregate([([], "count_all")])
        return zip(*(grouped[c].to_pylist() for c in [*keys, "count_all"]), strict=True)

    def rows(self, table: pa.Table, heads: pa.Array) -> None:
        for domain, language, precision, n in self.groups(
            table, ["domain", "language", "date_precision"]
        ):
            counts = self.counts[domain]
            counts["articles"] += n
            counts[f"dated_{precision}" if precision else "undated"] += n
            self.languages[domain][language] += n
        marked = table.filter(pc.is_valid(table["cluster_id"]))  # action = "mark"
        copies = marked.filter(pc.not_equal(marked["cluster_id"], marked["id"]))
        for domain, n in self.groups(copies, ["domain"]):
            self.counts[domain]["near_copies"] += n
        kept = table.filter(pc.is_in(table["id"], value_set=heads))  # action = "remove"
        for pairs in (marked.select(["domain", "cluster_id"]), kept.select(["domain", "id"])):
            for domain, cluster in zip(*(c.to_pylist() for c in pairs.columns), strict=True):
                self.clusters[domain].add(cluster)

    def outcomes(self, table: pa.Table, kind: str) -> None:
        """Rejects or duplicates (`kind`), by domain and reason."""
        for domain, reason, n in self.groups(table, ["domain", "reason"]):
            self.counts[domain][kind] += n
            self.counts[domain][f"{kind}_{reason}"] += n

    def table(self) -> pa.Table:
        names = DOMAIN_SCHEMA.names
        rows: list[dict] = []
        for domain, counts in self.counts.items():
            counts["records"] = counts["articles"] + counts["rejected"] + counts["duplicates"]
            counts["near_copy_clusters"] = len(self.clusters.get(domain, ()))
            languages = sorted(self.languages[domain].items(), key=lambda kv: (-kv[1], kv[0]))
            rows.append(
                {"domain": domain, "languages": [language for language, _ in languages]}
                | {name: counts[name] for name in names if name not in ("domain", "languages")}
            )
        rows.sort(key=lambda r: (-r["records"], r["domain"] is None, r["domain"] or ""))
        return pa.Table.from_pylist(rows, schema=DOMAIN_SCHEMA)


def domain_table(
    release: Path,
    shard_paths: list[str],
    rejects: Iterable[pa.RecordBatch],
    duplicates: pa.Table,
    domains: pa.Array,
) -> pa.Table:
    """One row per domain (DOMAIN_SCHEMA), the most records first (then by name, none last):
    the articles of the shards, the rejects (batches of their domain and reason), and the
    duplicates with their `domains`."""
    tally = _Tally()
    near_copies = pa.table({"domain": domains, "cluster": duplicates["duplicate_of"]}).filter(
        pc.equal(duplicates["reason"], DuplicateReason.NEAR_DUPLICATE.value)
    )
    heads = pc.unique(near_copies["cluster"].combine_chunks())  # the articles kept
    for path in shard_paths:
        tally.rows(pq.read_table(release / path, columns=_ROW_COLUMNS), heads)
    for batch in rejects:
        tally.outcomes(pa.Table.from_batches([batch]).select(["domain", "reason"]), "rejected")
    tally.outcomes(pa.table({"domain": domains, "reason": duplicates["reason"]}), "duplicates")
    for domain, n in tally.groups(near_copies, ["domain"]):
        tally.counts[domain]["near_copies"] += n
    for domain, cluster in zip(*(c.to_pylist() for c in near_copies.columns), strict=True):
        tally.clusters[domain].add(cluster)
    return tally.table()


def totals(table: pa.Table) -> dict[str, int]:
    """Each count column's sum over the domains (the build compares them with its accounting)."""
    return {
        name: int(pc.sum(table[name]).as_py() or 0)
        for name in DOMAIN_SCHEMA.names
        if pa.types.is_integer(DOMAIN_SCHEMA.field(name).type)
    }


def check_totals(table: pa.Table, rows: int, rejects: Counter, duplicates: Counter) -> None:
    """RuntimeError (a bug, not bad input) unless the domains sum to the build's totals."""
    sums = totals(table)
    expected = {
        "articles": rows,
        "rejected": sum(rejects.values()),
        "duplicates": sum(duplicates.values()),
        **{f"rejected_{r.value}": rejects.get(r.value, 0) for r in RejectReason},
        **{f"duplicates_{r.value}": duplicates.get(r.value, 0) for r in DuplicateReason},
    }
    expected["records"] = expected["articles"] + expected["rejected"] + expected["duplicates"]
    dated = sum(sums[f"dated_{p}"] for p in PRECISIONS) + sums["undated"]
    wrong = {k: (sums[k], v) for k, v in expected.items() if sums[k] != v}
    if wrong or dated != rows:
        raise RuntimeError(f"the per-domain counts do not sum to the build's: {wrong or dated}")


def top_domains(table: pa.Table, count: int = TOP_DOMAINS) -> list[dict]:
    """The first `count` domains of the table, as the manifest lists them: the counts that are
    not zero, by kind."""
    out = []
    for row in table.slice(0, count).to_pylist():
        out.append(
            {
                "domain": row["domain"],
                "records": row["records"],
                "articles": row["articles"],
                "rejected": _by_reason(row, "rejected"),
                "duplicates": _by_reason(row, "duplicates"),
                "dated": {
                    key: row[name]
                    for key, name in [(p, f"dated_{p}") for p in PRECISIONS]
                    + [("undated", "undated")]
                    if row[name]
                },
                "languages": row["languages"],
                "near_copies": row["near_copies"],
                "near_copy_clusters": row["near_copy_clusters"],
            }
        )
    return out


def _by_reason(row: dict, kind: str) -> dict[str, int]:
    prefix = f"{kind}_"
    return {
        name.removeprefix(prefix): n for name, n in row.items() if name.startswith(prefix) and n
    }


def summary(stats: Stats, count: int = 5) -> list[str]:
    """The build summary's lines on the domains: the first `count`, aligned."""
    if not stats.domains:
        return []
    header = ("domain", "records", "articles", "rejected", "duplicates", "dated")
    rows = [
        (
            d.domain if d.domain is not None else "(none)",
            f"{d.records:,}",
            f"{d.articles:,}",
            f"{sum(d.rejected.values()):,}",
            f"{sum(d.duplicates.values()):,}",
            f"{d.articles - d.dated.get('undated', 0):,}",
        )
        for d in stats.domains[:count]
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        )
        for row in [header, *rows]
    ]
    more = stats.domain_count - len(rows)
    tail = f"  (and {more:,} more: accounting/domains.parquet)" if more > 0 else ""
    return ["", f"top domains, by records read{tail}", *lines]
