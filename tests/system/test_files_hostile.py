"""The files zonesync writes, on a file system others write too: the pid
file (written as root, before privileges are dropped) is never followed
through a link nor written where another user could put one; the state is
0640 or stricter whatever the umask; a zone file stays in its directory
whatever the zone's name."""
import os
import pwd
import sqlite3
import stat
import subprocess

import pytest

from conftest import binary_path
from servers import Knot, Zonesync, free_port

ZONE = "h.test."
ZONE_TEXT = f"""$ORIGIN {ZONE}
$TTL 300
@ SOA ns1 hostmaster 1 3600 600 86400 300
@ NS ns1
ns1 A 192.0.2.1
"""


def daemon(tmp_path, **server):
    """A knotd with ZONE and zonesync for it (zonefile target); neither
    started."""
    port = free_port()
    knot = Knot(tmp_path / "knot", {ZONE: ZONE_TEXT}, port, notify=False)
    zs = Zonesync(binary_path(), tmp_path / "zs",
                  [{"id": "p", "address": f"[127.0.0.1@{knot.port}]", "key": "xfr"}],
                  [{"domain": ZONE, "primary": "p"}], keys={"xfr": knot.secret}, port=port,
                  extra_server=server)
    return knot, zs


def run(zs):
    """`zonesync run` expected to refuse to start: its CompletedProcess."""
    try:
        return subprocess.run([zs.bin, "run", "-c", zs.conf], capture_output=True, text=True,
                              timeout=10, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"zonesync run started: {e.stderr}")


def rundir(tmp_path, mode=0o755):
    d = tmp_path / "run"
    d.mkdir(mode)
    os.chmod(d, mode)
    return d


# --- the pid file ----------------------------------------------------------------------------

def test_pid_file_through_a_link_is_refused_and_its_target_untouched(tmp_path):
    """A link at the pid file's place (planted by whoever may write there)
    is not followed: not to a file, which keeps its content, nor to a name
    that does not exist, which is not created.  A FIFO or a directory there
    is refused too, without waiting on it."""
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    victim.chmod(0o600)
    d = rundir(tmp_path)
    cases = {
        "link.pid": lambda p: p.symlink_to(victim),
        "dangling.pid": lambda p: p.symlink_to(tmp_path / "created-through-the-link"),
        "fifo.pid": lambda p: os.mkfifo(p),
        "dir.pid": lambda p: p.mkdir(),
    }
    for name, make in cases.items():
        pid_file = d / name
        make(pid_file)
        _, zs = daemon(tmp_path / name, **{"pid-file": str(pid_file)})
        r = run(zs)
        assert r.returncode == 1, r.stderr
        assert f"server.pid-file: {pid_file}: " in r.stderr, r.stderr
        reason = {"link.pid": "is a symbolic link", "dangling.pid": "is a symbolic link",
                  "fifo.pid": "is not a regular file", "dir.pid": "is not a regular file"}[name]
        assert reason in r.stderr, r.stderr
    assert victim.read_text() == "precious\n"
    assert stat.S_IMODE(victim.stat().st_mode) == 0o600
    assert not (tmp_path / "created-through-the-link").exists()
    assert (d / "link.pid").is_symlink()


@pytest.mark.skipif(os.geteuid() != 0, reason="the rule is for a daemon started as root")
def test_pid_file_as_root_only_where_no_one_else_may_write(tmp_path):
    """As root, the pid file's directory must be root's and writable by no
    one else: where the service user (or anyone) may write, it could swap
    the file for a link between our checks and the write."""
    nobody = pwd.getpwnam("nobody")
    owned = tmp_path / "owned"
    owned.mkdir(0o755)
    os.chown(owned, nobody.pw_uid, nobody.pw_gid)
    group = tmp_path / "group"
    group.mkdir()
    os.chmod(group, 0o775)
    os.chown(group, 0, nobody.pw_gid)
    sticky = tmp_path / "sticky"
    sticky.mkdir()
    os.chmod(sticky, 0o1777)
    for d, why in ((owned, f"belongs to uid {nobody.pw_uid}"),
                   (group, "its group may write"), (sticky, "others may write")):
        pid_file = d / "zonesync.pid"
        _, zs = daemon(tmp_path / f"zs-{d.name}", **{"pid-file": str(pid_file)})
        r = run(zs)
        assert r.returncode == 1, r.stderr
        assert f"server.pid-file: {pid_file}: refused as root: its directory {d} {why}" \
            in r.stderr, r.stderr
        assert not pid_file.exists()
    # Root's own directory: written, and removed at the exit.
    d = rundir(tmp_path)
    pid_file = d / "zonesync.pid"
    knot, zs = daemon(tmp_path / "zs-ok", **{"pid-file": str(pid_file)})
    try:
        knot.start()
        zs.start()
        assert int(pid_file.read_text()) == zs.proc.proc.pid
        assert stat.S_IMODE(pid_file.stat().st_mode) == 0o644
        assert zs.stop() == 0
        assert not pid_file.exists()
        assert zs.problems() == []
    finally:
        zs.stop()
        knot.stop()


# --- the state ------------------------------------------------------------------------------

def test_state_is_0640_or_stricter_whatever_the_umask(tmp_path):
    """Started with umask 000, the daemon's state.db and its lock are 0640
    or stricter, and so are the WAL and shared memory files SQLite makes
    beside the database (they take its mode: seen here through a connection
    of ours, as the daemon's come and go with its jobs).  A state that an
    older zonesync left readable by all is made so too."""
    knot, zs = daemon(tmp_path)
    state = zs.state

    def modes(names=("state.db", "daemon.lock")):
        return {n: oct(stat.S_IMODE(os.stat(os.path.join(state, n)).st_mode)) for n in names}

    def strict(m):
        return all(int(v, 8) & ~0o640 == 0 for v in m.values())

    def umask0_start():
        old = os.umask(0)
        try:
            zs.start()
        finally:
            os.umask(old)

    try:
        knot.start()
        umask0_start()
        zs.wait_serial(ZONE, 1, timeout=20)
        assert strict(modes()), modes()
        assert zs.stop() == 0
        old = os.umask(0)
        try:
            db = sqlite3.connect(os.path.join(state, "state.db"))
            db.execute("BEGIN IMMEDIATE")
            db.execute("UPDATE meta SET v = v")
            wal = modes(("state.db-wal", "state.db-shm"))
            db.rollback()
            db.close()
        finally:
            os.umask(old)
        assert strict(wal), wal
        # An older zonesync's files, readable and writable by all.
        for n in os.listdir(state):
            os.chmod(os.path.join(state, n), 0o666)
        umask0_start()
        assert strict(modes()), modes()
        assert zs.stop() == 0
        assert zs.problems() == []
    finally:
        zs.stop()
        knot.stop()


def test_sync_makes_its_state_0640_or_stricter(tmp_path):
    """`zonesync sync` (no daemon) creates the state with umask 000: the
    same modes."""
    knot, zs = daemon(tmp_path)
    try:
        knot.start()
        r = subprocess.run([zs.bin, "sync", "-c", zs.conf], capture_output=True, text=True,
                           timeout=60, preexec_fn=lambda: os.umask(0))
        assert r.returncode == 0, r.stderr
        for n in os.listdir(zs.state):
            mode = stat.S_IMODE(os.stat(os.path.join(zs.state, n)).st_mode)
            assert mode & ~0o640 == 0, (n, oct(mode))
    finally:
        knot.stop()


# --- zone files ------------------------------------------------------------------------------

CHECK_CONF = """server:
  state: {dir}/state
primary:
  - {{ id: p, address: 192.0.2.1 }}
target:
  - {{ id: file, type: zonefile, path: "{dir}/zones/%s.zone" }}
  - {{ id: one, type: zonefile, path: "{dir}/all.zone" }}
  - {{ id: hook, type: exec, command: /bin/true }}
zone:
{zones}"""


def check(tmp_path, zones):
    """`zonesync check` of CHECK_CONF with these zone lines."""
    conf = tmp_path / "zonesync.yaml"
    conf.write_text(CHECK_CONF.format(dir=tmp_path, zones="".join(f"  - {z}\n" for z in zones)))
    return subprocess.run([binary_path(), "check", "-c", str(conf)], capture_output=True,
                          text=True, timeout=30)


def test_check_refuses_zone_names_that_are_no_file_names(tmp_path):
    """A zone whose name holds '/' would put a zonefile target's file
    outside its directory ("%s" is the name): `zonesync check` (and every
    command, which loads the same configuration) refuses it, naming the
    zone, the target and why.  Targets that name no file take it."""
    r = check(tmp_path, ['{ domain: "a/b.example.", primary: p, target: [hook, file] }',
                         '{ domain: "/etc/cron.d/x", primary: p, target: file }',
                         '{ domain: "ok.example.", primary: p, target: file }'])
    assert r.returncode == 2, r.stdout + r.stderr
    errors = r.stderr.splitlines()
    assert len(errors) == 2, r.stderr
    assert errors[0].endswith(":10:58: zone a/b.example.: target 'file' (type zonefile): "
                              "path: the zone's name is not a file name: it holds '/'"), errors
    assert errors[1].endswith(":11:52: zone /etc/cron.d/x.: target 'file' (type zonefile): "
                              "path: the zone's name is not a file name: it holds '/'"), errors
    assert not (tmp_path / "zones").exists()
    # The same zone to an exec target, or to a zonefile target whose path
    # does not hold its name; odd bytes are \DDD in a file name: fine.
    r = check(tmp_path, ['{ domain: "a/b.example.", primary: p, target: [hook, one] }',
                         '{ domain: "a\\\\000\\\\..b.example.", primary: p, target: file }'])
    assert r.returncode == 0, r.stderr
