"""Local Hugging Face Hub-compatible server for tests (standard library only).

Usage and fault switches: see ``README.md`` in this folder.
"""

from .server import DEFAULT_TOKEN, DEFAULT_USER, DROP, Faults, HubServer, Stats

__all__ = ["DEFAULT_TOKEN", "DEFAULT_USER", "DROP", "Faults", "HubServer", "Stats"]
