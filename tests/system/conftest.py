"""Shared fixtures of the system tests: the zonesync binary under test, one
test's servers (servers.Lab) and a moto_server per module."""
import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def binary_path():
    """The zonesync under test: $ZONESYNC_BIN, else build/zonesync."""
    return os.environ.get("ZONESYNC_BIN", os.path.join(ROOT, "build", "zonesync"))


@pytest.fixture(scope="session")
def zonesync():
    path = binary_path()
    if not os.access(path, os.X_OK):
        pytest.fail(f"zonesync binary not found at {path} (set ZONESYNC_BIN)")

    def run(*args, **kw):
        return subprocess.run([path, *map(str, args)], capture_output=True, text=True,
                              timeout=kw.pop("timeout", 60), **kw)
    return run


@pytest.fixture
def lab(tmp_path, zonesync):
    """The servers of one test (servers.Lab), all stopped at its end and
    their logs printed.  (Some older modules define a lab of their own.)"""
    from servers import Lab
    lab = Lab(tmp_path, binary_path())
    yield lab
    lab.close()


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    """One moto_server for the module (motolab.Moto); reset() it per test."""
    from motolab import Moto
    m = Moto(tmp_path_factory.mktemp("moto")).start()
    yield m
    m.stop()
