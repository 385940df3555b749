"""Shared pytest configuration.

Hub part: every test talks to a local Hub (``tests/hubserver``), never to huggingface.co.
``huggingface_hub`` and ``datasets`` read their environment ONCE, at import time, so the
variables below are set when this file is imported, before any test module imports them:

- ``HF_ENDPOINT=http://127.0.0.1:<free port>``: the session ``hub`` server listens there.
- ``HF_HUB_DISABLE_XET=1``: otherwise uploads use the Xet protocol, which the local Hub
  does not speak (it implements the classic LFS batch/PUT/verify upload).
- ``HF_HOME=<fresh temp dir>``: no cached token, no cache shared with the user's.
- ``HF_HUB_DISABLE_TELEMETRY=1``; ``HF_TOKEN`` and the offline switches are unset.

Fixtures: ``hub`` (session HubServer), ``hub_token``, ``hub_repo`` (a fresh, not yet created
"test-org/ds-..." id) and ``hub_api`` (an ``HfApi`` with the token). Faults and stats of the
hub are reset before every test.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import sys
import tempfile
import uuid

import pytest

from tests.hubserver import DEFAULT_TOKEN, HubServer


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


HUB_PORT = _free_port()
HUB_ENDPOINT = f"http://127.0.0.1:{HUB_PORT}"
HUB_TOKEN = DEFAULT_TOKEN
_HF_HOME = tempfile.mkdtemp(prefix="broadsheet-hf-home-")
atexit.register(shutil.rmtree, _HF_HOME, True)

for _var in (
    "HF_TOKEN",
    "HUGGING_FACE_HUB_TOKEN",
    "HF_TOKEN_PATH",
    "HF_HUB_OFFLINE",
    "HF_DATASETS_OFFLINE",
    "TRANSFORMERS_OFFLINE",
    "HF_HUB_CACHE",
    "HUGGINGFACE_HUB_CACHE",
    "HF_DATASETS_CACHE",
    "HF_XET_CACHE",
    "HF_ASSETS_CACHE",
    "HUGGINGFACE_CO_STAGING",
):
    os.environ.pop(_var, None)
os.environ.update(
    {
        "HF_ENDPOINT": HUB_ENDPOINT,
        "HF_HUB_DISABLE_XET": "1",
        "HF_HOME": _HF_HOME,
        "HF_HUB_DISABLE_TELEMETRY": "1",
    }
)
if "huggingface_hub" in sys.modules:  # too late: its constants were read already
    from huggingface_hub import constants as _hf_constants

    if _hf_constants.ENDPOINT != HUB_ENDPOINT or not _hf_constants.HF_HUB_DISABLE_XET:
        raise pytest.UsageError(
            "huggingface_hub was imported before tests/conftest.py could point it at the local "
            "Hub; do not import it from a plugin or a conftest.py loaded earlier."
        )

_HUB: HubServer | None = None


@pytest.fixture(scope="session")
def hub(tmp_path_factory: pytest.TempPathFactory):
    """The local Hub on ``HF_ENDPOINT`` (storage in a session temp dir)."""
    global _HUB
    server = HubServer(tmp_path_factory.mktemp("hub-storage"), port=HUB_PORT, tokens={HUB_TOKEN})
    server.start()
    _HUB = server
    yield server
    _HUB = None
    server.stop()


@pytest.fixture(autouse=True)
def _reset_hub_faults_and_stats():
    # only if a test already started the hub: tests that do not use it do not start it
    if _HUB is not None:
        _HUB.faults.clear()
        _HUB.stats.reset()
    yield


@pytest.fixture
def hub_token(hub: HubServer) -> str:
    """A write token accepted by ``hub``."""
    return HUB_TOKEN


@pytest.fixture
def hub_repo(hub: HubServer) -> str:
    """A fresh repo id (not created yet), unique per test."""
    return f"test-org/ds-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def hub_api(hub: HubServer, hub_token: str):
    """``huggingface_hub.HfApi`` bound to ``hub`` with the write token."""
    from huggingface_hub import HfApi

    return HfApi(endpoint=hub.url, token=hub_token)
