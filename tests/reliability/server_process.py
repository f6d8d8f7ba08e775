"""Kept for tests importing it from here: the helper lives in tests/server_process.py."""

from tests.server_process import ServerProcess, free_port

__all__ = ["ServerProcess", "free_port"]
