"""What `meson install` puts where an operator looks for it: the binary, both
man pages (which must render without a warning) and the systemd unit (which
systemd-analyze must accept); and `--help` on every subcommand."""
import json
import os
import re
import shutil
import subprocess

import pytest

from conftest import ROOT

BIN = os.environ.get("ZONESYNC_BIN", os.path.join(ROOT, "build", "zonesync"))
BUILD = os.path.dirname(os.path.abspath(BIN))


def run(*args, **kw):
    return subprocess.run(list(map(str, args)), capture_output=True, text=True, timeout=120, **kw)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The build dir of ZONESYNC_BIN installed under a fresh DESTDIR: (destdir, prefix)."""
    if shutil.which("meson") is None:
        pytest.skip("meson not on PATH")
    dest = tmp_path_factory.mktemp("destdir")
    # --no-rebuild: the build is the one under test, already built; a test
    # must not race another build of the same tree.
    r = run("meson", "install", "-C", BUILD, "--destdir", dest, "--no-rebuild", "--quiet")
    assert r.returncode == 0, r.stdout + r.stderr
    r = run("meson", "introspect", "--buildoptions", BUILD)
    assert r.returncode == 0, r.stderr
    opts = {o["name"]: o["value"] for o in json.loads(r.stdout)}
    return dest, opts["prefix"]


def under(installed, rel):
    dest, prefix = installed
    return os.path.join(str(dest) + prefix, rel)


def test_files_in_place(installed):
    assert os.access(under(installed, "bin/zonesync"), os.X_OK)
    for rel in ("share/man/man8/zonesync.8", "share/man/man5/zonesync.yaml.5",
                "lib/systemd/system/zonesync.service"):
        assert os.path.isfile(under(installed, rel)), \
            f"{rel} not installed (is {BUILD} configured since dist/ was added?)"


@pytest.mark.parametrize("page", ["man8/zonesync.8", "man5/zonesync.yaml.5"])
def test_man_pages_render_clean(installed, page):
    path = under(installed, "share/man/" + page)
    if shutil.which("groff") is None:
        pytest.skip("groff not installed")
    # Typeset and terminal output both: a line that cannot be broken warns
    # only at a terminal's width.
    for dev in ("-Tps", "-Tutf8"):
        r = run("groff", "-man", dev, "-ww", "-z", path)
        assert r.returncode == 0 and r.stderr == "", f"groff {dev}: {r.stderr}"
    if shutil.which("man") is not None:
        r = run("man", "--warnings", "-l", path, env={**os.environ, "MANWIDTH": "80"})
        assert r.returncode == 0 and r.stderr == "", f"man: {r.stderr}"


def test_unit(installed):
    unit = under(installed, "lib/systemd/system/zonesync.service")
    text = open(unit).read()
    _, prefix = installed
    assert f"\nExecStart={prefix}/bin/zonesync run -c /etc/zonesync/zonesync.yaml\n" in text
    assert "@" not in re.sub(r"(?m)^#.*\n", "", text), "unsubstituted @VAR@ in the unit"
    for line in ("Type=notify", "NotifyAccess=main", "WatchdogSec=60", "Restart=on-failure",
                 "TimeoutStopSec=120", "ExecReload=/bin/kill -HUP $MAINPID"):
        assert f"\n{line}\n" in text, line
    assert not re.search(r"(?m)^User=", text), "the daemon drops to server.user itself"
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze not installed")
    # systemd-analyze wants ExecStart to exist: point it at the installed
    # binary.  It exits 0 on unknown keys and bad values, so stderr counts.
    dest, _ = installed
    copy = os.path.join(str(dest), "verify", "zonesync.service")
    os.makedirs(os.path.dirname(copy))
    with open(copy, "w") as f:
        f.write(text.replace(f"ExecStart={prefix}/bin/zonesync",
                             f"ExecStart={under(installed, 'bin/zonesync')}"))
    r = run("systemd-analyze", "verify", "--man=no", copy)
    assert r.returncode == 0 and r.stderr == "", r.stderr


def subcommands(zonesync):
    r = zonesync("--help")
    assert r.returncode == 0
    names = re.findall(r"(?m)^  ([a-z]+) ", r.stdout.split("commands:\n", 1)[1])
    return names


def test_every_subcommand_has_help(zonesync):
    names = subcommands(zonesync)
    assert set(names) >= {"run", "sync", "plan", "verify", "status", "check", "diff"}, names
    for name in names:
        r = zonesync(name, "--help")
        assert r.returncode == 0, f"{name} --help: {r.returncode} {r.stderr}"
        assert r.stdout.startswith(f"usage: zonesync {name}"), f"{name}: {r.stdout[:80]!r}"
