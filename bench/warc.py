"""WARC readers compared on one generated `.warc.gz` (one gzip member per record, as CC-NEWS):
records per second and MB per second (of the file) to iterate and read every response's
decoded payload, for FastWARC, warcio, and Broadsheet's own WarcReader (FastWARC underneath,
payloads decoded and hashed, everything read through the input file's checks).

    .venv/bin/python -m bench.warc [--pages 3000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from builder.config import BuildSection
from builder.readers.warc import WarcReader
from tests import warcs
from tests.support import ITALIAN_WORDS, read_file, source_at


def generate(path: Path, pages: int, seed: int = 7) -> int:
    """A crawl of `pages` HTML responses of 20-60 KB (with their request and metadata records);
    the number of records."""
    rng = random.Random(seed)
    records = [warcs.warcinfo()]
    for i in range(pages):
        url = f"https://example.org/news/{i}"
        text = " ".join(
            rng.choice(ITALIAN_WORDS) + str(rng.randrange(1000))
            for _ in range(rng.randint(3000, 9000))
        )
        body = f"<html><head><title>{i}</title></head><body><p>{text}</p></body></html>".encode()
        records += [warcs.request(url), warcs.response(url, body), warcs.metadata(url)]
    path.write_bytes(warcs.warc(records, gz=True))
    return len(records)


def fastwarc_read(path: Path) -> int:
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    count = 0
    with open(path, "rb") as f:
        for record in ArchiveIterator(f, parse_http=False):
            count += 1
            if record.record_type == WarcRecordType.response:
                record.parse_http(auto_decode="all")
                record.reader.read()
    return count


def warcio_read(path: Path) -> int:
    from warcio.archiveiterator import ArchiveIterator

    count = 0
    with open(path, "rb") as f:
        for record in ArchiveIterator(f):
            count += 1
            if record.rec_type == "response":
                record.content_stream().read()
    return count


def broadsheet_read(path: Path) -> int:
    reader = WarcReader(BuildSection())
    return sum(1 for _ in read_file(reader, source_at(path, path.name)))


READERS: dict[str, Callable[[Path], int]] = {
    "fastwarc": fastwarc_read,
    "warcio": warcio_read,
    "broadsheet WarcReader": broadsheet_read,
}


def bench(pages: int, repeat: int) -> dict[str, tuple[float, float]]:
    """(records/s, MB/s of the compressed file) per reader, the best of `repeat` runs each."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "crawl.warc.gz"
        records = generate(path, pages)
        megabytes = path.stat().st_size / 1e6
        figures = {}
        for name, read in READERS.items():
            best = float("inf")
            for _ in range(repeat):
                start = time.perf_counter()
                read(path)
                best = min(best, time.perf_counter() - start)
            figures[name] = (records / best, megabytes / best)
        print(f"{records} records, {pages} HTML responses, {megabytes:.1f} MB gzip per record")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for name, (rate, speed) in bench(args.pages, args.repeat).items():
        print(f"{name:>22}: {rate:9.0f} records/s {speed:8.1f} MB/s")


if __name__ == "__main__":
    main()
