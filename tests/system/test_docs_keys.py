"""Every configuration key the loader accepts is documented in
docs/zonesync.yaml.5, in its own section, as a `.B key` or `.BR key` line.

The keys are read from the schema tables themselves, not scraped from the C
source: test_docs_keys in tests/unit/test_conf.c walks the sections' tables
(src/conf/schema.c) and every target type's (target_registry) and checks each
name under its heading of the page.  This runs that check from the build
next to the zonesync binary under test, so that the system suite covers the
page too.  A key added to a table without its paragraph fails here."""
import os
import subprocess

import pytest

from conftest import binary_path


def test_keys_documented():
    path = os.path.join(os.path.dirname(binary_path()), "tests", "test_conf")
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} not built (ninja -C build)")
    r = subprocess.run([path, "docs"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "test_docs_keys" in r.stdout
