"""Run the local Hub by hand.

    python -m tests.hubserver --storage /tmp/hub [--port 8000] [--token hf_mytoken] [-v]

It prints the environment to use in another shell, e.g.::

    export HF_ENDPOINT=http://127.0.0.1:8000 HF_HUB_DISABLE_XET=1 HF_TOKEN=hf_mytoken

after which ``huggingface_hub`` (``HfApi().create_repo(..., repo_type="dataset")``,
``upload_folder``...) and ``datasets.load_dataset("org/name")`` talk to it. Stop with Ctrl-C;
everything stays in ``--storage`` and is served again by the next run.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import signal

from .server import DEFAULT_TOKEN, HubServer


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.hubserver", description="Local Hugging Face Hub-compatible server."
    )
    parser.add_argument("--storage", required=True, help="folder holding repos and blobs")
    parser.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (0 = any free)")
    parser.add_argument(
        "--token",
        action="append",
        help=f"accepted write token (repeatable; default {DEFAULT_TOKEN})",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)

    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(message)s"
    )
    tokens = args.token or [DEFAULT_TOKEN]
    server = HubServer(args.storage, port=args.port, tokens=set(tokens)).start()
    print(f"Local Hub listening on {server.url} (storage: {server.storage})")
    print("In another shell:")
    print(
        f"  export HF_ENDPOINT={server.url} HF_HUB_DISABLE_XET=1 HF_HUB_DISABLE_TELEMETRY=1 "
        f"HF_TOKEN={shlex.quote(tokens[0])}"
    )
    print("Ctrl-C to stop.", flush=True)

    def _terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    try:
        server.serve_forever()
    finally:
        print("stopped")


if __name__ == "__main__":
    main()
