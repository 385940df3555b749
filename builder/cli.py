"""Command line: a thin layer over the library API (`builder.build`, `builder.publish`); see `--help`."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from builder.config import DEFAULT_CONFIG_FILE, load_config
from builder.errors import BroadsheetError, ConfigError, Interrupted, stop_on_signals
from builder.executors import EXECUTORS, default_workers
from builder.rules.removals import Removals, read_removals
from builder.terminal import shown


def _cmd_build(args: argparse.Namespace) -> int:
    from builder.build import build
    from builder.writers.domains import summary as domain_summary

    config = load_config(args.config)
    report = build(
        config,
        args.raw,
        args.out,
        workers=args.workers,
        strict=args.strict,
        allow_empty=args.allow_empty,
        executor=args.executor,
        address=args.address,
        work=args.work,
        cache=not args.no_cache,
    )
    shards = len(report.manifest.shards)
    by_kind: dict[str, list[str]] = {}
    for name, kind in sorted(report.accounting.skipped.items()):
        by_kind.setdefault(kind, []).append(name)
    for kind, names in by_kind.items():
        more = f" and {len(names) - 5} more" if len(names) > 5 else ""
        listed = ", ".join(shown(name) for name in names[:5])
        print(f"note: skipped {len(names)} file(s), {kind}: {listed}{more}", file=sys.stderr)
    if report.accounting.rows == 0:
        print(
            f"warning: the release holds no rows: {shown(str(args.raw))} gave no record to publish",
            file=sys.stderr,
        )
    if report.cache is not None:
        print(report.cache.line(), file=sys.stderr)
    for warning in report.warnings:
        print(f"warning: {shown(warning)}", file=sys.stderr)
    print(report.accounting.table())
    for line in domain_summary(report.manifest.stats):
        print(shown(line))
    print(f"release: {shown(str(args.out))}  ({shards} shard(s), version {config.dataset.version})")
    return 0


def _cmd_publish(args: argparse.Namespace) -> int:
    from builder.publish import publish

    config = load_config(args.config)
    result = publish(
        args.release,
        config,
        repo_id=args.repo,
        version=args.version,
        dry_run=args.dry_run,
        create_pr=args.create_pr,
        show=print,
    )
    print(result.summary())
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    from builder.publish import verify

    print(verify(args.repo, args.revision, _removals(args)).summary())
    return 0


def _removals(args: argparse.Namespace) -> Removals | None:
    """The takedown list verify checks against: --remove, else build.remove of the config
    (when there is a config file), else none."""
    if args.remove is None:
        return load_config(args.config).build.remove if args.config.is_file() else None
    try:
        entries = read_removals(args.remove, str(args.remove))
    except ValueError as exc:
        raise ConfigError(f"--remove: {exc}") from exc
    return Removals(file=str(args.remove), entries=entries)


def _cmd_schema(args: argparse.Namespace) -> int:
    from builder.reference import refresh
    from schema.derive import JSON_SCHEMA_PATH, json_schema_text

    JSON_SCHEMA_PATH.write_text(json_schema_text(), encoding="utf-8")
    print(f"wrote {JSON_SCHEMA_PATH}")
    checkout = JSON_SCHEMA_PATH.parent.parent
    if (checkout / "docs").is_dir():  # a source checkout: its generated reference tables too
        for path in refresh(checkout):
            print(f"wrote {path}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m builder", description="Build and publish a news-article dataset."
    )
    p.add_argument(
        "--config",
        type=Path,
        default=DEFAULT_CONFIG_FILE,
        help="dataset config file (default: %(default)s)",
    )
    sub = p.add_subparsers(dest="command", required=True)

    b = sub.add_parser(
        "build",
        help="build raw files into a release folder",
        description="Build raw files into a release folder. The new release replaces --out only "
        "when it is complete; --out must be empty, missing or a Broadsheet release.",
        epilog="exit codes: 0 built, 1 other failure, 2 bad config, 3 bad input or --out, "
        "4 --strict and a record was rejected, 6 --out cannot be written (full disk, read-only "
        "folder, mount point), 7 an input file kept changing while it was read, 128+N stopped by signal N (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP). "
        "On any failure the previous release is left as it was.",
    )
    b.add_argument(
        "--raw",
        default="raw",
        help="input folder, or an fsspec URL such as s3://bucket/raw where that filesystem is "
        "installed (default: %(default)s)",
    )
    b.add_argument(
        "--out", type=Path, default=Path("dist"), help="release folder (default: %(default)s)"
    )
    b.add_argument(
        "--workers",
        type=int,
        default=default_workers(),
        help="worker processes of the local executor (default: all cores, %(default)s)",
    )
    b.add_argument(
        "--executor",
        choices=EXECUTORS,
        help="where tasks run: local worker processes, or a Ray cluster (default: run.executor "
        "in the config, else local); the release is byte-identical either way",
    )
    b.add_argument(
        "--address",
        help="Ray cluster address, host:port (default: run.address in the config; none starts "
        "a local Ray instance for the build)",
    )
    b.add_argument(
        "--work",
        metavar="URL",
        help="where work files go, a folder or an fsspec URL every worker can reach (default: "
        "run.work in the config, else a .work folder inside the release being built)",
    )
    b.add_argument(
        "--no-cache",
        action="store_true",
        help="compute every work unit, neither reusing nor storing results in the build cache "
        "(run.cache, else a .<out>.cache folder beside the release)",
    )
    b.add_argument(
        "--strict",
        action="store_true",
        help="fail, keeping the previous release, if any record is rejected",
    )
    b.add_argument(
        "--allow-empty",
        action="store_true",
        help="let a build without a single row replace an existing release (by default it fails "
        "with exit 3 and keeps the release: an empty --raw is often an unmounted share)",
    )
    b.set_defaults(func=_cmd_build)

    pub = sub.add_parser(
        "publish", help="publish a release folder to the Hub as one commit plus a vX.Y.Z tag"
    )
    pub.add_argument(
        "--release", type=Path, default=Path("dist"), help="release folder (default: %(default)s)"
    )
    pub.add_argument("--repo", help="Hub repository org/name (default: dataset.repo_id)")
    pub.add_argument("--version", help="version X.Y.Z to publish (default: dataset.version)")
    pub.add_argument("--dry-run", action="store_true", help="print the plan and send nothing")
    pub.add_argument(
        "--create-pr", action="store_true", help="open a pull request instead of committing to main"
    )
    pub.set_defaults(func=_cmd_publish)

    ver = sub.add_parser(
        "verify", help="load a published version with datasets and check it against its manifest"
    )
    ver.add_argument("--repo", required=True, help="Hub repository org/name")
    ver.add_argument("--revision", required=True, help="tag (vX.Y.Z), branch or commit to check")
    ver.add_argument(
        "--remove",
        type=Path,
        metavar="FILE",
        help="a takedown file (as build.remove): check that no article it lists is in the "
        "version (default: build.remove of the config, when the config file exists)",
    )
    ver.set_defaults(func=_cmd_verify)

    s = sub.add_parser(
        "schema",
        help="rewrite schema/article.schema.json from the model (and, in a source checkout, the "
        "reference tables of docs/)",
    )
    s.set_defaults(func=_cmd_schema)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if getattr(args, "workers", 1) < 1:
        print("error: --workers must be at least 1", file=sys.stderr)
        return 2
    try:
        with stop_on_signals():
            return args.func(args)
    except BroadsheetError as exc:
        print(f"error: {shown(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except (Interrupted, KeyboardInterrupt) as exc:
        signum = exc.signum if isinstance(exc, Interrupted) else signal.SIGINT
        if isinstance(exc, Interrupted) and exc.released:
            where = f"; the new release is in place in {shown(str(args.out))}"
        elif args.command == "build":
            where = "; the previous release was left in place"
        else:
            where = ""
        if sys.stderr.isatty():  # the live progress line ends here, not under the message
            sys.stderr.write("\r\x1b[2K")
        print(f"interrupted by {signal.Signals(signum).name}{where}", file=sys.stderr)
        return 128 + signum
