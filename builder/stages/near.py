"""Near-duplicates: MinHash signatures with LSH bands, decided bucket by bucket, clustered once.

Workers compute each kept row's signature, per batch: the text is simplified (lower case, no
punctuation, digits folded to 0), cut into word n-grams whose hashes rensa turns into MinHash
signatures; the signature's bands are hashed to band keys. Each article the exact stages keep
is stored once (`builder.stages.store`), and the stage gets one small key row per (article,
band): the band key, the band's number and the article's reference, bucketed by band key. Rows
sharing a band key are candidates: only their articles are read back, each compared with the
WINDOW articles before it (in source order) with that key, and a pair whose estimated Jaccard
similarity reaches the threshold is an edge. The driver unions the edges into clusters (linear
in the edges), keeps one article per cluster (first in source order, or the longest, or the
earliest dated), and the others become duplicates with reason `near_duplicate`, or, with
`action = "mark"`, stay as rows with the kept article's id as their `cluster_id`. Every choice
is by source order, so the clusters and the kept articles do not depend on workers, buckets or
executor.
"""

from __future__ import annotations

import functools
import hashlib
import unicodedata

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from rensa import RMinHash

from builder.config import BuildSection, NearDuplicateSection
from builder.outcomes import DUPLICATE_SCHEMA, REJECT_SCHEMA, DuplicateReason
from builder.stages.base import (
    CLUSTER_SCHEMA,
    LEFT_OUT_SCHEMA,
    REDIRECT_SCHEMA,
    SOURCE_ORDER,
    Conclusion,
    Decision,
    Stage,
    first_of,
)
from builder.stages.store import REF, take_rows
from builder.storage import Storage

SEED = 20261127  # of the MinHash permutations: part of what a release's clusters depend on
WINDOW = 16  # rows before it, sharing a band key, that a row is compared with
SIGNATURE_ROWS = 500  # texts whose shingles are hashed at once: their arrays take about 20 MB
SIGNATURE_BITS = 16  # of each hash kept to estimate similarity: a chance match is 1 in 65,536
_MULTIPLIERS = np.array(  # odd 64-bit constants that combine word hashes into a shingle hash
    [
        0x9E3779B97F4A7C15,
        0xC2B2AE3D27D4EB4F,
        0x165667B19E3779F9,
        0xD6E8FEB86659FD93,
        0xFF51AFD7ED558CCD,
        0xC4CEB9FE1A85EC53,
        0x94D049BB133111EB,
        0xBF58476D1CE4E5B9,
    ],
    dtype=np.uint64,
)
SIGNATURE = "near_signature"  # fixed-size binary: the signature, SIGNATURE_BITS per hash
BANDS = "near_bands"  # fixed-size binary: one uint64 key per band (null: no words to hash)
LENGTH = "near_length"  # characters of the text, for keep = "longest"


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer: spreads combined hashes over all 64 bits (wrapping arithmetic)."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@functools.cache
def _simplify_table() -> dict[int, str | None]:
    """str.translate's table: punctuation, symbols and controls go, every digit becomes 0
    (the Basic Multilingual Plane; letters, marks and the rest of Unicode stay)."""
    table: dict[int, str | None] = {}
    for code in range(0x10000):
        category = unicodedata.category(chr(code))
        if category[0] in "PSC":
            table[code] = None
        elif category[0] == "N":
            table[code] = "0"
    return table


def _word_hash(token: str) -> int:
    """A stable 64-bit hash of a token's simplified form; 0 when nothing of it is left."""
    word = token.translate(_simplify_table())
    if not word:
        return 0
    return int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little") | 1


def word_hashes(texts: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of every text's simplified words (lower case, no punctuation, digits folded),
    flat, and each text's offsets into them. Texts are split at white space in Arrow; each
    distinct token of the batch is simplified and hashed once."""
    lists = pc.utf8_split_whitespace(pc.utf8_lower(texts))
    if isinstance(lists, pa.ChunkedArray):
        lists = lists.combine_chunks()
    offsets = lists.offsets.to_numpy().astype(np.int64)
    tokens = lists.values.slice(offsets[0], offsets[-1] - offsets[0])
    encoded = pc.dictionary_encode(tokens)
    vocabulary = encoded.dictionary.to_pylist()
    hashed = np.fromiter(map(_word_hash, vocabulary), dtype=np.uint64, count=len(vocabulary))
    hashes = hashed[encoded.indices.to_numpy(zero_copy_only=False)]
    words = hashes != 0  # a token of punctuation only is no word
    text_of = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    counts = np.bincount(text_of[words], minlength=len(offsets) - 1)
    return hashes[words], np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)


def shingle_hashes(words: np.ndarray, offsets: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of every text's word n-grams (a text shorter than n words is one shingle), flat,
    and each text's offsets into them; a text without words has none."""
    counts = np.diff(offsets)
    short = (counts > 0) & (counts < n)
    per_text = np.where(counts >= n, counts - n + 1, short.astype(np.int64))
    text_of = np.repeat(np.arange(len(counts)), per_text)
    at = np.arange(len(text_of)) - np.repeat(np.cumsum(per_text) - per_text, per_text)
    at += offsets[:-1][text_of]  # each shingle's first word
    padded = np.concatenate([words, np.zeros(n, dtype=np.uint64)])
    multipliers = _MULTIPLIERS[np.arange(n) % len(_MULTIPLIERS)]
    every = np.zeros(len(words), dtype=np.uint64)  # the n-gram starting at every word
    for k in range(n):
        every += padded[k : k + len(words)] * multipliers[k]
    combined = every[at]
    if short.any():  # a short text's n-gram runs into the next text: only its words count
        mine = np.flatnonzero(short[text_of])
        window = at[mine, None] + np.arange(n)
        inside = window < offsets[1:][text_of[mine]][:, None]
        terms = np.where(inside, padded[window] * multipliers, np.uint64(0))
        combined[mine] = terms.sum(axis=1, dtype=np.uint64)
    return _mix(combined), np.concatenate([[0], np.cumsum(per_text)]).astype(np.uint64)


def signatures(
    texts: pa.Array | pa.ChunkedArray, settings: NearDuplicateSection
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The MinHash signatures (uint32, texts x hashes), band keys (uint64, texts x bands), and
    whether each text had any word to hash. Words are hashed once for all the texts (a batch
    shares most of its vocabulary), shingles and signatures SIGNATURE_ROWS texts at a time."""
    words, offsets = word_hashes(texts)
    parts = [
        _signatures(words, offsets[start : start + SIGNATURE_ROWS + 1], settings)
        for start in range(0, max(len(offsets) - 1, 1), SIGNATURE_ROWS)  # one, even for none
    ]
    signature, key, found = (np.concatenate(p) for p in zip(*parts, strict=True))
    return signature, key, found


def _signatures(
    words: np.ndarray, offsets: np.ndarray, settings: NearDuplicateSection
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`signatures` of the texts whose words are at these offsets into `words`."""
    mine = words[offsets[0] : offsets[-1]]
    shingles, rows = shingle_hashes(mine, offsets - offsets[0], settings.shingle_words)
    hashes = settings.bands * settings.rows_per_band
    matrix = RMinHash.digest_matrix_from_flat_token_hashes(shingles, rows, hashes, SEED)
    signature = np.array(matrix.to_rows(), dtype=np.uint32).reshape(len(offsets) - 1, hashes)
    bands = signature.reshape(len(signature), settings.bands, settings.rows_per_band)
    key = np.zeros(bands.shape[:2], dtype=np.uint64)
    for r in range(settings.rows_per_band):
        key = _mix(key ^ (bands[:, :, r].astype(np.uint64) * _MULTIPLIERS[r % len(_MULTIPLIERS)]))
    key = _mix(key + np.arange(1, settings.bands + 1, dtype=np.uint64))  # bands never collide
    return signature, key, np.diff(rows) > 0


def _fixed(matrix: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """A matrix as a fixed-size binary column, one value per row (null where not valid)."""
    width = matrix.shape[1] * matrix.dtype.itemsize
    data = pa.py_buffer(np.ascontiguousarray(matrix).tobytes())
    if valid is None or valid.all():
        return pa.Array.from_buffers(pa.binary(width), len(matrix), [None, data])
    mask = pa.array(valid).buffers()[1]
    nulls = int((~valid).sum())
    return pa.Array.from_buffers(pa.binary(width), len(matrix), [mask, data], null_count=nulls)


def _matrix(column: pa.Array | pa.ChunkedArray, dtype: type, width: int) -> np.ndarray:
    """A fixed-size binary column back as a matrix (a null row holds whatever its bytes are)."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if not len(column):
        return np.zeros((0, width), dtype=dtype)
    count = (column.offset + len(column)) * width
    flat: np.ndarray = np.frombuffer(column.buffers()[1], dtype=dtype, count=count)
    return flat.reshape(-1, width)[column.offset :]


class NearDuplicates(Stage):
    """Articles whose estimated similarity reaches the threshold: one per cluster is kept."""

    name = "near_duplicate"
    key = "near_band"
    columns = ("id", "date")
    inputs = ("text",)
    produces = (SIGNATURE, BANDS, LENGTH, "near_band", "near_part")
    concludes = True
    stores = True  # 16 key rows per article, which carry only its reference

    def __init__(self, settings: NearDuplicateSection | None = None):
        self.settings = settings or NearDuplicateSection()

    def configured(self, settings: BuildSection | None) -> NearDuplicates | None:
        near = settings.near_duplicates if settings is not None else NearDuplicateSection()
        return NearDuplicates(near) if near.enabled else None

    @property
    def hashes(self) -> int:
        return self.settings.bands * self.settings.rows_per_band

    @property
    def fanout(self) -> int:
        return self.settings.bands

    def annotate(self, keys: pa.Table) -> pa.Table:
        """Per batch, in the worker: every row's signature, band keys and length."""
        texts = keys["text"]
        signature, bands, found = signatures(texts, self.settings)
        kept_bits = (signature & np.uint32((1 << SIGNATURE_BITS) - 1)).astype(np.uint16)
        keys = keys.append_column(SIGNATURE, _fixed(kept_bits))
        keys = keys.append_column(BANDS, _fixed(bands, found))
        return keys.append_column(LENGTH, pc.utf8_length(keys["text"]).cast(pa.int64()))

    def expand(self, kept: pa.Table) -> pa.Table:
        """One key row per (article, band): the band key, the band's number and the article's
        reference in the store, in the articles' order; none for a text without words, which
        is no one's near-copy."""
        bands = self.settings.bands
        kept = kept.filter(pc.is_valid(kept[BANDS]))
        keys = _matrix(kept[BANDS], np.uint64, bands)
        return pa.table(
            {
                self.key: keys.reshape(-1),
                "near_part": np.tile(np.arange(bands, dtype=np.int8), len(kept)),
                REF: np.repeat(kept[REF].to_numpy(), bands),
            }
        )

    def decide(self, keys: pa.Table, work: Storage) -> Decision:
        """The edges among the key rows that share their band key (see `_edges`); every
        article goes on, by the reference of its first band's row."""
        sharing = _sharing(keys[self.key].to_numpy())
        return Decision(
            keys.filter(pc.equal(keys["near_part"], 0)).select([REF]),
            DUPLICATE_SCHEMA.empty_table(),
            REJECT_SCHEMA.empty_table(),
            LEFT_OUT_SCHEMA.empty_table(),
            self._edges(keys.take(pa.array(sharing)), work) if len(sharing) else None,
        )

    def _edges(self, rows: pa.Table, work: Storage) -> pa.Table:
        """Edges between rows sharing a band key: each row to the (at most WINDOW) rows before
        it in source order with that key, when their estimated similarity reaches the
        threshold; linear in the rows. Only these rows' articles are read from the store."""
        refs, article = np.unique(rows[REF].to_numpy(), return_inverse=True)
        articles = take_rows(work, self.name, refs, [*_NODE, SIGNATURE])
        rank = np.empty(len(refs), dtype=np.int64)  # each article's place in source order
        rank[pc.sort_indices(articles, SOURCE_ORDER).to_numpy()] = np.arange(len(refs))
        band = rows[self.key].to_numpy()
        order = np.lexsort((rank[article], band))  # by band key, then source order
        ordered = band[order]
        before, after = [], []
        for distance in range(1, WINDOW + 1):
            same = np.flatnonzero(ordered[distance:] == ordered[:-distance])
            if not len(same):  # no group has more rows than this
                break
            before.append(order[same])
            after.append(order[same + distance])
        earlier = np.concatenate([np.zeros(0, dtype=np.int64), *before])  # rows, then articles
        a, b = article[earlier], article[np.concatenate([np.zeros(0, dtype=np.int64), *after])]
        signature = _matrix(articles[SIGNATURE], np.uint16, self.hashes)
        equal = signature[a] == signature[b]
        similarity = equal.mean(axis=1) if len(a) else np.zeros(0)
        # A pair sharing several bands meets in several buckets: only the bucket of the first
        # band they share (as far as the kept bits tell) reports it, so the driver gets it once.
        bands, hashes_per_band = self.settings.bands, self.settings.rows_per_band
        shared = equal.reshape(len(a), bands, hashes_per_band).all(axis=2)
        first = np.argmax(shared, axis=1)
        here = rows["near_part"].to_numpy()[earlier]
        close = (similarity >= self.settings.threshold) & ((first == here) | ~shared.any(axis=1))
        node = articles.select(_NODE)
        edges = {
            f"{side}_{n}": c
            for side, at in (("a", a[close]), ("b", b[close]))
            for n, c in zip(_NODE, node.take(pa.array(at)).columns, strict=True)
        }
        return pa.table(edges | {"similarity": pa.array(similarity[close], pa.float64())})

    def conclude(self, partials: list[pa.Table]) -> Conclusion:
        return cluster(partials, self.settings)


_NODE = ["source_path", "source_record", "_part", "_row", "id", "date", LENGTH]


def _sharing(keys: np.ndarray) -> np.ndarray:
    """The positions of the values that occur more than once."""
    order = np.argsort(keys, kind="stable")
    repeated = keys[order][1:] == keys[order][:-1]
    shares = np.zeros(len(keys), dtype=bool)
    shares[1:] |= repeated
    shares[:-1] |= repeated
    return order[shares]


def cluster(partials: list[pa.Table], settings: NearDuplicateSection) -> Conclusion:
    """The clusters the edges make, whatever their order: per cluster, the article kept and
    what becomes of the others."""
    edges = pa.concat_tables(partials) if partials else None
    if edges is None or not len(edges):
        return Conclusion(
            DUPLICATE_SCHEMA.empty_table(),
            LEFT_OUT_SCHEMA.empty_table(),
            CLUSTER_SCHEMA.empty_table(),
        )
    sides = [edges.select([f"{p}_{n}" for n in _NODE]).rename_columns(_NODE) for p in "ab"]
    nodes = pa.concat_tables(sides).sort_by(SOURCE_ORDER)
    nodes = nodes.filter(first_of(_where(nodes)))  # in source order: index order is source order
    a = pc.index_in(_where(sides[0]), _where(nodes)).to_numpy()
    b = pc.index_in(_where(sides[1]), _where(nodes)).to_numpy()
    similarity = edges["similarity"].to_numpy()
    root = _components(len(nodes), a, b)
    kept = _kept(nodes, root, settings.keep)
    if settings.action == "mark":
        ids = nodes["id"].take(pa.array(kept))
        clusters = pa.table(
            {"_part": nodes["_part"], "_row": nodes["_row"], "cluster_id": ids},
            schema=CLUSTER_SCHEMA,
        )
        return Conclusion(DUPLICATE_SCHEMA.empty_table(), LEFT_OUT_SCHEMA.empty_table(), clusters)
    closest, direct = np.zeros(len(nodes)), np.zeros(len(nodes))
    for x, y in ((a, b), (b, a)):
        np.maximum.at(closest, x, similarity)
        to_kept = kept[x] == y
        np.maximum.at(direct, x[to_kept], similarity[to_kept])
    copies = np.flatnonzero(kept != np.arange(len(nodes)))
    duplicates = pa.table(
        {
            "source_path": nodes["source_path"].take(pa.array(copies)),
            "source_record": nodes["source_record"].take(pa.array(copies)),
            "reason": pa.array([DuplicateReason.NEAR_DUPLICATE.value] * len(copies), pa.string()),
            "duplicate_of": nodes["id"].take(pa.array(kept[copies])),
            "similarity": np.where(direct > 0, direct, closest)[copies],
        },
        schema=DUPLICATE_SCHEMA,
    )
    left_out = nodes.select(["_part", "_row"]).take(pa.array(copies))
    redirects = pa.table(
        {"id": nodes["id"].take(pa.array(copies))}
        | {n: duplicates[n] for n in REDIRECT_SCHEMA.names[1:]},
        schema=REDIRECT_SCHEMA,
    )
    return Conclusion(duplicates, left_out, CLUSTER_SCHEMA.empty_table(), redirects)


def _where(table: pa.Table) -> pa.ChunkedArray:
    """A row's place as one string: its source path and record number."""
    record = table["source_record"].cast(pa.string())
    return pc.binary_join_element_wise(table["source_path"], record, "\x00")


def _components(count: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Each node's component, named by its smallest member (union-find over the edges)."""
    parent = list(range(count))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for x, y in zip(a.tolist(), b.tolist(), strict=True):
        rx, ry = find(x), find(y)
        if rx != ry:
            parent[max(rx, ry)] = min(rx, ry)
    return np.array([find(x) for x in range(count)], dtype=np.int64)


def _kept(nodes: pa.Table, root: np.ndarray, keep: str) -> np.ndarray:
    """For each node, the node kept of its cluster: the first in source order, unless `keep`
    prefers the longest text or the earliest date (ties and undated: the first)."""
    index = np.arange(len(nodes))
    if keep == "first":
        return root
    if keep == "longest":
        preference = -nodes[LENGTH].to_numpy()
    else:  # "earliest": dates as written (2021 < 2021-02 < 2021-02-17), undated last
        dates = pc.fill_null(nodes["date"], "\uffff").to_numpy(zero_copy_only=False)
        preference = np.unique(dates, return_inverse=True)[1]
    order = np.lexsort((index, preference, root))
    ordered_root = root[order]
    firsts = order[np.r_[True, ordered_root[1:] != ordered_root[:-1]]]
    chosen = np.empty(len(nodes), dtype=np.int64)
    chosen[root[firsts]] = firsts
    return chosen[root]
