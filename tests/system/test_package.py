"""The Debian package: debian/ builds with dpkg-buildpackage, lintian finds
no error or warning, and the .deb installs, works and purges clean on this
machine.

It needs root and dpkg, and it changes the system (a package, a user,
files in /usr, /etc, /lib and /var/lib) for about a minute, so it skips
unless everything it would create is absent, and it purges the package and
removes the user it caused in a finally.  It runs in the normal build only:
the package is built from the source tree, not from ZONESYNC_BIN, so the
ASan run (build-asan) would build the same package a second time."""
import fcntl
import grp
import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import time

import pytest

from conftest import ROOT, binary_path
from servers import free_port

PKG = "zonesync"
CONF = "/etc/zonesync/zonesync.yaml"
STATE = "/var/lib/zonesync"
UNIT = "/lib/systemd/system/zonesync.service"
WANTS = "/etc/systemd/system/multi-user.target.wants/zonesync.service"
DSH = "/var/lib/systemd/deb-systemd-helper-enabled/"
MANS = ["/usr/share/man/man8/zonesync.8.gz", "/usr/share/man/man5/zonesync.yaml.5.gz"]
DOCS = ["/usr/share/doc/zonesync/copyright", "/usr/share/doc/zonesync/README.md.gz",
        "/usr/share/doc/zonesync/examples/zonesync.yaml"]
# Everything the package puts on the system, and what the test asserts is
# gone after the purge.
CREATED = ["/usr/bin/zonesync", CONF, "/etc/zonesync", STATE, UNIT, WANTS,
           DSH + "zonesync.service.dsh-also", DSH + "multi-user.target.wants/zonesync.service"
           ] + MANS + DOCS


def run(*args, timeout=120, **kw):
    return subprocess.run(list(map(str, args)), capture_output=True, text=True,
                          timeout=timeout, **kw)


def dpkg_status():
    r = run("dpkg-query", "-W", "-f=${Status}", PKG)
    return r.stdout.strip() if r.returncode == 0 else "not known"


def user_exists():
    try:
        pwd.getpwnam(PKG)
        return True
    except KeyError:
        return False


def group_exists():
    try:
        grp.getgrnam(PKG)
        return True
    except KeyError:
        return False


def skip_reason():
    if "build-asan" in os.path.abspath(binary_path()).split(os.sep):
        return "the package is built from the source tree: once, in the normal run, is enough"
    if shutil.which("dpkg-buildpackage") is None or shutil.which("dpkg") is None:
        return "dpkg / dpkg-buildpackage absent (scripts/install-deps installs dpkg-dev)"
    if os.geteuid() != 0:
        return "installs a package: needs root"
    if not os.path.exists(os.path.join(ROOT, ".git")):
        return "not a git checkout: the package is built from `git ls-files`"
    if dpkg_status() not in ("not known", "unknown ok not-installed"):
        return f"package {PKG} is already known to dpkg ({dpkg_status()}): not touching it"
    there = [p for p in CREATED if os.path.lexists(p)]
    if user_exists() or group_exists():
        there.append("user or group zonesync")
    if there:
        return f"would not leave this machine as found: already there: {', '.join(there)}"
    return None


def copy_tree(dest):
    """The tracked files of this checkout (their working-tree contents)."""
    r = run("git", "-C", ROOT, "ls-files", "-z")
    assert r.returncode == 0, r.stderr
    for rel in r.stdout.split("\0"):
        src = os.path.join(ROOT, rel)
        if not rel or not os.path.lexists(src):
            continue  # deleted in the working tree
        dst = os.path.join(dest, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        if os.path.islink(src):
            os.symlink(os.readlink(src), dst)
        else:
            shutil.copy2(src, dst)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(the .changes, the zonesync .deb) from dpkg-buildpackage -b."""
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    top = tmp_path_factory.mktemp("deb")
    src = top / "zonesync"
    copy_tree(src)
    r = run("dpkg-buildpackage", "-us", "-uc", "-b", "-j2", cwd=src, timeout=900)
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-4000:]
    changes = sorted(top.glob("zonesync_*.changes"))
    debs = sorted(top.glob("zonesync_*.deb"))
    assert len(changes) == 1 and len(debs) == 1, os.listdir(top)
    return changes[0], debs[0]


def test_lintian_clean(built):
    if shutil.which("lintian") is None:
        pytest.skip("lintian absent (scripts/install-deps installs it)")
    changes, _ = built
    r = run("lintian", changes, timeout=300)
    tags = [line for line in r.stdout.splitlines() if line[:2] in ("E:", "W:")]
    assert tags == [], r.stdout
    assert r.returncode == 0, r.stdout + r.stderr


def dpkg(*args):
    """dpkg, waiting out another apt/dpkg (another helper's install-deps) a while."""
    for _ in range(30):
        r = run("dpkg", *args, timeout=300)
        if r.returncode == 0 or "lock" not in r.stderr:
            return r
        run("sleep", "2")
    return r


def remove_user_we_caused():
    # The package keeps its user at purge, as is Debian practice; this test
    # made it, so this test removes it.
    if user_exists():
        run("deluser", "--system", "--quiet", PKG)
    if group_exists():
        run("delgroup", "--system", "--quiet", "--only-if-empty", PKG)


def test_install_use_purge(built, tmp_path):
    _, deb = built
    # One test at a time on this machine: two would install the same package.
    lock = open("/tmp/zonesync-test-package.lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        reason = skip_reason()
        if reason:
            pytest.skip(reason)
        try:
            installed_then_purged(deb, tmp_path)
        finally:
            if dpkg_status() not in ("not known", "unknown ok not-installed"):
                dpkg("--purge", PKG)
            remove_user_we_caused()
    finally:
        lock.close()


def installed_then_purged(deb, tmp_path):
    r = dpkg("-i", deb)
    assert r.returncode == 0, r.stdout + r.stderr
    assert dpkg_status() == "install ok installed"

    # The binary, the version of debian/changelog, and the shipped example
    # configuration accepted as it is installed: as root, who checks that
    # server.user exists and can read what the daemon reads, and as that user.
    r = run("/usr/bin/zonesync", "--version")
    version = run("dpkg-query", "-W", "-f=${Version}", PKG).stdout
    assert r.returncode == 0 and version and version in r.stdout, (r.stdout, r.stderr, version)
    r = run("/usr/bin/zonesync", "check", "-c", CONF)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"{CONF}: ok: 1 zone" in r.stdout
    r = run("runuser", "-u", PKG, "--", "/usr/bin/zonesync", "check", "-c", CONF)
    assert r.returncode == 0, r.stdout + r.stderr

    # The system user and its state directory.
    pw = pwd.getpwnam(PKG)
    assert pw.pw_uid < 1000 and pw.pw_shell == "/usr/sbin/nologin", pw
    assert grp.getgrgid(pw.pw_gid).gr_name == PKG
    st = os.stat(STATE)
    assert stat.S_ISDIR(st.st_mode) and st.st_uid == pw.pw_uid and st.st_gid == pw.pw_gid
    assert stat.S_IMODE(st.st_mode) == 0o750, oct(st.st_mode)

    # The configuration is a conffile: an admin's edit survives upgrades.
    r = run("dpkg-query", "-W", "-f=${Conffiles}", PKG)
    assert any(line.split()[:1] == [CONF] for line in r.stdout.splitlines()), r.stdout

    # The unit, where systemd looks, runs what the package installed, and
    # is enabled (without a running systemd: deb-systemd-helper's links).
    unit = open(UNIT).read()
    assert "\nExecStart=/usr/bin/zonesync run -c /etc/zonesync/zonesync.yaml\n" in unit
    assert os.path.realpath(WANTS) == os.path.realpath(UNIT)

    daemon_runs_as_packaged(tmp_path)

    # Again over itself (an upgrade, as maintainer scripts see it): the
    # postinst runs a second time on an existing user and directory, and
    # an admin's edit of the configuration stays.
    with open(CONF, "a") as f:
        f.write("# edited by the admin\n")
    r = dpkg("-i", deb)
    assert r.returncode == 0, r.stdout + r.stderr
    assert open(CONF).read().endswith("# edited by the admin\n")
    st = os.stat(STATE)
    assert st.st_uid == pw.pw_uid and stat.S_IMODE(st.st_mode) == 0o750
    assert os.path.isfile(os.path.join(STATE, "state.db")), "the state survives an upgrade"

    # Man pages where man finds them, the docs and examples.
    for path in MANS + DOCS:
        assert os.path.isfile(path), path
    if shutil.which("man"):
        for page, path in (("8 zonesync", MANS[0]), ("5 zonesync.yaml", MANS[1])):
            r = run("man", "-w", *page.split())
            assert r.returncode == 0 and r.stdout.strip() == path, (page, r.stdout, r.stderr)

    r = dpkg("--purge", PKG)
    assert r.returncode == 0, r.stdout + r.stderr
    assert dpkg_status() in ("not known", "unknown ok not-installed")
    left = [p for p in CREATED if os.path.lexists(p)]
    assert left == [], f"left after purge: {left}"
    assert user_exists(), "the user stays at purge (Debian practice: its uid may own files)"


def daemon_runs_as_packaged(tmp_path):
    """The daemon as the unit starts it (as root), on the shipped
    configuration but another port: it drops to the package's user and
    makes its state in the package's directory."""
    port = free_port()
    conf = tmp_path / "zonesync.yaml"
    text = open(CONF).read()
    assert "listen: 127.0.0.1@5353\n" in text
    conf.write_text(text.replace("listen: 127.0.0.1@5353\n", f"listen: 127.0.0.1@{port}\n"))
    logpath = tmp_path / "daemon.log"
    with open(logpath, "w") as log:
        p = subprocess.Popen(["/usr/bin/zonesync", "run", "-c", str(conf)], stdout=log,
                             stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 15
        while (" started: " not in logpath.read_text() and p.poll() is None
               and time.monotonic() < deadline):
            time.sleep(0.1)
        assert p.poll() is None and " started: " in logpath.read_text(), logpath.read_text()
        st = os.stat(os.path.join(STATE, "state.db"))
        assert st.st_uid == pwd.getpwnam(PKG).pw_uid, "state.db not made as server.user"
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    assert p.returncode == 0, f"exit status {p.returncode}: " + logpath.read_text()


def test_changelog_follows_meson_version():
    """debian/changelog's newest entry is the project version (a native
    package: no Debian revision), so a release bumps both."""
    meson = open(os.path.join(ROOT, "meson.build")).read()
    want = re.search(r"^\s*version\s*:\s*'([^']+)'", meson, re.M).group(1)
    first = open(os.path.join(ROOT, "debian", "changelog")).readline()
    m = re.match(r"zonesync \(([^)]+)\) ", first)
    assert m and m.group(1) == want, (first, want)
