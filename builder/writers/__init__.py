"""Writers of the release folder: Parquet shards, accounting tables, manifest and card."""
