"""Shared fixtures of the system tests: the zonesync binary under test."""
import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="session")
def zonesync():
    path = os.environ.get("ZONESYNC_BIN", os.path.join(ROOT, "build", "zonesync"))
    if not os.access(path, os.X_OK):
        pytest.fail(f"zonesync binary not found at {path} (set ZONESYNC_BIN)")

    def run(*args, **kw):
        return subprocess.run([path, *map(str, args)], capture_output=True, text=True,
                              timeout=kw.pop("timeout", 60), **kw)
    return run
