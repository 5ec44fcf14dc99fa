"""Status that cannot lie (issue 12): a daemon that cannot write its state
refuses to start, or, when the state becomes unwritable while it runs,
says the zone is failing in status and metrics; a target never pushed
says so, unknown values are null; columns fit long names; a monitoring
user who may only read the state (no TSIG secret) runs status; status -c
says when the daemon runs another configuration.  A real knotd primary."""
import json
import os
import pwd
import re
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time

import pytest

from conftest import ROOT
from servers import LOOPBACK, Knot, Zonesync, free_port, wait_until, write_atomic
from test_daemon_lifecycle import parse_metrics, scrape, value, zone_text

BINARY = os.environ.get("ZONESYNC_BIN", os.path.join(ROOT, "build", "zonesync"))
NOBODY = pwd.getpwnam("nobody")

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to change user")


@pytest.fixture
def base():
    """A directory outside pytest's 0700 tree, that other users may enter."""
    d = tempfile.mkdtemp(prefix="zonesync-truth-")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def lab(workdir, zone, zones=None, **extra_server):
    port = free_port()
    knot = Knot(os.path.join(workdir, "knot"), {zone: zone_text(zone)}, port)
    zs = Zonesync(BINARY, os.path.join(workdir, "zs"),
                  [{"id": "p", "address": f"[{LOOPBACK}@{knot.port}]", "key": "xfr"}],
                  zones or [{"domain": zone, "primary": "p"}], keys={"xfr": knot.secret},
                  port=port, extra_server=extra_server)
    return knot, zs


def status(zs, *args, conf=None, user=None):
    cmd = [BINARY, "status", "-c", conf or zs.conf, *args]
    if user is not None:
        cmd = ["setpriv", *user, *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def status_json(zs, conf=None, user=None):
    r = status(zs, "--json", conf=conf, user=user)
    assert r.returncode in (0, 1), r.stdout + r.stderr
    return json.loads(r.stdout)


def own(path, uid, gid):
    for root, dirs, files in os.walk(path):
        os.chown(root, uid, gid)
        for f in files:
            os.chown(os.path.join(root, f), uid, gid)


@needs_root
def test_state_not_writable_refuses_start(base):
    """As `user: nobody`, a state directory (then a state.db) nobody may
    not write: no `started`, exit 1, the path and the chown that fixes it."""
    zone = "w.test."
    knot, zs = lab(base, zone, user="nobody")
    try:
        os.chmod(zs.state, 0o755)  # root's: nobody may enter, not write
        r = subprocess.run([BINARY, "run", "-c", zs.conf], capture_output=True, text=True,
                           timeout=30)
        assert r.returncode == 1, r.stderr
        assert " started: " not in r.stderr
        assert (f"cannot start: the state directory {zs.state} is not writable by user "
                f"nobody (uid {NOBODY.pw_uid}): Permission denied") in r.stderr, r.stderr
        assert f"chown nobody:nogroup {zs.state}\n" in r.stderr, r.stderr
        # The directory is nobody's, a state.db left by root is not.
        db = os.path.join(zs.state, "state.db")
        sqlite3.connect(db).close()
        os.chmod(db, 0o644)
        os.chown(zs.state, NOBODY.pw_uid, NOBODY.pw_gid)
        r = subprocess.run([BINARY, "run", "-c", zs.conf], capture_output=True, text=True,
                           timeout=30)
        assert r.returncode == 1, r.stderr
        assert f"the state file {db} is not writable by user nobody" in r.stderr, r.stderr
        assert f"chown nobody:nogroup {db}\n" in r.stderr, r.stderr
        # Given to nobody, it starts.
        own(zs.state, NOBODY.pw_uid, NOBODY.pw_gid)
        own(zs.out, NOBODY.pw_uid, NOBODY.pw_gid)
        knot.start()
        zs.start()
        zs.wait_serial(zone, 1, timeout=20)
        assert zs.stop() == 0
        assert zs.problems() == []
    finally:
        zs.stop()
        knot.stop()


@needs_root
def test_state_unwritable_while_running_fails_the_zone(base):
    """The state becomes read-only under a running daemon (user nobody):
    the next check and push fail, status says failing with the reason, the
    metrics say zone_ok 0 and target_ok 0; writable again, all clears."""
    zone = "r.test."
    mport = free_port()
    knot, zs = lab(base, zone, user="nobody", metrics=f"{LOOPBACK}@{mport}")
    try:
        own(zs.state, NOBODY.pw_uid, NOBODY.pw_gid)
        own(zs.out, NOBODY.pw_uid, NOBODY.pw_gid)
        knot.start()
        zs.start()
        zs.wait_serial(zone, 1, timeout=20)
        st = status_json(zs)
        assert st["ok"] and st["zones"][0]["state"] == "ok", st
        samples, _ = parse_metrics(scrape(mport))
        assert value(samples, "zonesync_zone_ok", zone=zone) == 1
        assert value(samples, "zonesync_target_ok", zone=zone, target="file") == 1

        wait_until(lambda: not os.path.exists(os.path.join(zs.state, "state.db-wal")), 10,
                   what="the daemon's connections to close")
        for name in os.listdir(zs.state):
            os.chmod(os.path.join(zs.state, name), 0o444)
        os.chmod(zs.state, 0o555)
        mark = zs.mark()
        knot.change(zone, set=[("new", 300, "A", "192.0.2.2")])
        zs.wait_log(r"cannot read or write the state: zone=r\.test\. error=", timeout=20,
                    since=mark)

        def failing():
            st = status_json(zs)
            (z,) = st["zones"]
            return z["state"] == "failing" and z["targets"][0]["state"] == "failing" and st
        st = wait_until(failing, 20, what="status to say failing")
        (z,) = st["zones"]
        assert st["ok"] is False
        assert z["last_error"] and "state.db" in z["last_error"], z
        assert z["serial"] == 1, z  # the state it holds, not the primary's
        assert z["targets"][0]["last_error"], z
        assert status(zs).returncode == 1
        text = status(zs).stdout
        assert re.search(r"^r\.test\.\s+1\s+\S+\s+failing\s+file\s+zonefile\s+1\s+0\s+failing",
                         text, re.M), text
        assert "the daemon cannot write the state: " in text, text
        samples, _ = parse_metrics(scrape(mport))
        assert value(samples, "zonesync_zone_ok", zone=zone) == 0
        assert value(samples, "zonesync_target_ok", zone=zone, target="file") == 0

        # Writable again: the next check clears it, and the change arrives.
        os.chmod(zs.state, 0o755)
        for name in os.listdir(zs.state):
            os.chmod(os.path.join(zs.state, name), 0o644)
        serial = knot.change(zone, set=[("newer", 300, "A", "192.0.2.3")])
        zs.wait_serial(zone, serial, timeout=30)
        st = wait_until(lambda: (s := status_json(zs))["ok"] and s, 20, what="status ok")
        assert st["zones"][0]["last_error"] is None
        samples, _ = parse_metrics(scrape(mport))
        assert value(samples, "zonesync_zone_ok", zone=zone) == 1
        assert value(samples, "zonesync_target_ok", zone=zone, target="file") == 1
        assert zs.find(r"notice the state is written again: zone=r\.test\.")
        assert zs.stop() == 0
        assert zs.problems() == []
    finally:
        if os.path.isdir(zs.state):
            os.chmod(zs.state, 0o755)
        zs.stop()
        knot.stop()


def with_targets(zs, path, extra_zone=None):
    """zs's configuration with a second zonefile target on its zone (and
    another zone of that primary), written to path."""
    with open(zs.conf) as f:
        text = f.read()
    text = text.replace("target:\n", "target:\n  - { id: second-copy-of-the-zone, "
                        f'type: zonefile, path: "{zs.out}/2-%s.zone" }}\n')
    text = re.sub(r"target: \[file\]", "target: [file, second-copy-of-the-zone]", text)
    if extra_zone:
        text += f"  - {{ domain: {extra_zone}, primary: p, target: [file] }}\n"
    write_atomic(path, text)
    return path


def test_never_pushed_is_never_and_unknown_is_null(tmp_path):
    """A target added after the last push is `never`, PUSHED and BEHIND
    `-` (not 0); a zone never checked has null serials and times."""
    zone = "n.test."
    knot, zs = lab(tmp_path, zone)
    try:
        knot.start()
        r = subprocess.run([BINARY, "sync", "-c", zs.conf], capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        conf = with_targets(zs, str(tmp_path / "more.yaml"), extra_zone="other.test.")
        st = status_json(zs, conf=conf)
        assert st["ok"] is False
        assert st["daemon"] == {"running": False, "pid": None, "config": None,
                                "info_error": None}, st
        z, other = st["zones"]
        by = {t["target"]: t for t in z["targets"]}
        assert by["file"]["state"] == "ok" and by["file"]["behind"] == 0
        assert by["second-copy-of-the-zone"] == {
            "target": "second-copy-of-the-zone", "type": "zonefile", "serial": None,
            "behind": None, "state": "never", "dirty": False, "last_ok": None,
            "last_error": None,
            # Never pushed: not (yet) left anything (first contact).
            "unadopted": False}, by
        assert isinstance(z["checked"], int) and isinstance(z["expire_at"], int), z
        assert other == {"zone": "other.test.", "serial": None, "primary_serial": None,
                         "state": "no-data", "checked": None, "refreshed": None,
                         "expire_at": None, "last_error": None, "targets": [
                             {"target": "file", "type": "zonefile", "serial": None,
                              "behind": None, "state": "never", "dirty": False,
                              "last_ok": None, "last_error": None,
                              "unadopted": False}],
                         # From the file, not a catalog (and not a catalog zone).
                         "origin": {"from": "config", "catalog": None, "template": None},
                         "catalog_zone": False}, other
        text = status(zs, conf=conf).stdout
        line = next(ln for ln in text.splitlines() if "second-copy-of-the-zone" in ln)
        assert re.search(r"second-copy-of-the-zone\s+zonefile\s+-\s+-\s+never\s+-\s+-$",
                         line), text
    finally:
        knot.stop()


def test_columns_fit_long_names(tmp_path):
    """Long zone names and target ids widen their columns: every column
    of every line starts where its heading does."""
    zone = "a-rather-long-zone-name-for-a-status-column." + "sub." * 6 + "test."
    knot, zs = lab(tmp_path, zone)
    try:
        knot.start()
        conf = with_targets(zs, str(tmp_path / "more.yaml"), extra_zone="s.test.")
        r = subprocess.run([BINARY, "sync", "-c", conf, zone], capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        text = status(zs, conf=conf).stdout
        lines = text.splitlines()
        head = next(ln for ln in lines if ln.startswith("ZONE "))
        cols = [m.start() for m in re.finditer(r"(?<=  )\S", head)]
        names = re.findall(r"(?:^|  )(\S+(?: \S+)?)", head)
        assert names == ["ZONE", "SERIAL", "PRIMARY", "STATE", "TARGET", "TYPE", "PUSHED",
                         "BEHIND", "TSTATE", "LAST OK", "LAST ERROR"], names
        rows = [ln for ln in lines[lines.index(head) + 1:] if "zonefile" in ln]
        assert len(rows) == 3, text
        for ln in rows:
            for c in cols:
                assert ln[c - 2:c] == "  " and ln[c] != " " or ln[c:c + 1].strip() == "" \
                    and cols.index(c) < 4, f"column at {c}:\n{text}"
        target_col = cols[3]
        assert [ln[target_col:].split()[0] for ln in rows] == \
            ["file", "second-copy-of-the-zone", "file"], text
        assert rows[0].startswith(zone + "  "), text
    finally:
        knot.stop()


@needs_root
def test_status_as_a_read_only_user(base):
    """A monitoring user in the daemon's group: reads the state and the
    configuration, may write nothing there, may not read the TSIG
    secret-file.  status works while the daemon runs (read through the
    -shm of a live connection, or as an immutable file between jobs) and
    after it stopped, and writes nothing."""
    zone = "ro.test."
    knot, zs = lab(base, zone, user="nobody")
    reader = ["--reuid=1", "--regid=1", f"--groups={NOBODY.pw_gid}"]  # daemon:daemon
    try:
        # The secret in a file only root may read; the daemon reads it
        # before it drops privileges.
        secret = os.path.join(base, "xfr.key")
        with open(secret, "w") as f:
            f.write(knot.secret + "\n")
        os.chmod(secret, 0o600)
        with open(zs.conf) as f:
            text = f.read()
        write_atomic(zs.conf, text.replace(f"secret: {knot.secret}", f"secret-file: {secret}"))
        os.chmod(zs.conf, 0o644)
        own(zs.state, NOBODY.pw_uid, NOBODY.pw_gid)
        own(zs.out, NOBODY.pw_uid, NOBODY.pw_gid)
        os.chmod(zs.state, 0o750)
        knot.start()
        zs.start()
        zs.wait_serial(zone, 1, timeout=20)
        wait_until(lambda: not os.path.exists(os.path.join(zs.state, "state.db-wal")), 10,
                   what="the daemon's connections to close")

        def check(running):
            before = sorted(os.listdir(zs.state))
            r = status(zs, "--json", user=reader)
            assert r.returncode == 0, r.stdout + r.stderr
            st = json.loads(r.stdout)
            assert st["daemon"]["running"] is running, st
            assert st["daemon"]["info_error"] is None, st
            (z,) = st["zones"]
            assert (z["state"], z["serial"], z["targets"][0]["state"]) == ("ok", 1, "ok"), z
            assert sorted(os.listdir(zs.state)) == before
            return st

        db = os.path.join(zs.state, "state.db")
        mtime = os.stat(db).st_mtime_ns
        st = check(True)  # between jobs: no -wal, an immutable read
        assert st["daemon"]["config"]["same_file"] is True, st
        # A writer's connection open (its -wal and -shm there, readable).
        con = sqlite3.connect(db)
        con.execute("SELECT count(*) FROM zone").fetchall()
        con.execute("BEGIN IMMEDIATE")
        con.execute("UPDATE meta SET v=v WHERE k='schema'")
        con.commit()
        assert os.path.exists(db + "-shm")
        check(True)
        con.close()
        assert zs.stop() == 0
        check(False)
        assert os.stat(db).st_mtime_ns >= mtime
        # The user could not have read the secret, or written anything.
        r = subprocess.run(["setpriv", *reader, "cat", secret], capture_output=True)
        assert r.returncode != 0
        r = subprocess.run(["setpriv", *reader, "touch", os.path.join(zs.state, "x")],
                           capture_output=True)
        assert r.returncode != 0
        assert zs.problems() == []
    finally:
        zs.stop()
        knot.stop()


def test_status_says_the_daemon_runs_another_configuration(tmp_path):
    """status -c with another file than the daemon's, or with the daemon's
    file changed and not reloaded, says so; after a reload it does not."""
    zone = "c.test."
    knot, zs = lab(tmp_path, zone)
    try:
        knot.start()
        zs.start()
        zs.wait_serial(zone, 1, timeout=20)
        st = status_json(zs)
        c = st["daemon"]["config"]
        assert c["path"] == os.path.realpath(zs.conf), c
        assert (c["same_file"], c["same_content"]) == (True, True), c
        assert "daemon: runs another" not in status(zs).stdout

        other = str(tmp_path / "other.yaml")
        shutil.copy(zs.conf, other)
        st = status_json(zs, conf=other)
        c = st["daemon"]["config"]
        assert (c["path"], c["same_file"], c["same_content"]) == \
            (os.path.realpath(zs.conf), False, True), c
        text = status(zs, conf=other).stdout
        assert (f"daemon: runs another configuration: {os.path.realpath(zs.conf)} "
                f"(this status reads {other})") in text, text

        with open(zs.conf) as f:
            text = f.read()
        write_atomic(zs.conf, text + "# changed\n")
        c = status_json(zs)["daemon"]["config"]
        assert (c["same_file"], c["same_content"]) == (True, False), c
        text = status(zs).stdout
        assert f"daemon: {zs.conf} changed since the daemon loaded it (" in text, text
        assert f"reload it (kill -HUP {zs.proc.proc.pid})" in text, text

        mark = zs.mark()
        os.kill(zs.proc.proc.pid, signal.SIGHUP)
        zs.wait_log(r"configuration reloaded", since=mark)
        c = status_json(zs)["daemon"]["config"]
        assert (c["same_file"], c["same_content"]) == (True, True), c
        assert "changed since" not in status(zs).stdout
        assert zs.stop() == 0
        # No daemon: nothing to compare.
        assert status_json(zs)["daemon"]["config"] is None
        assert not os.path.exists(os.path.join(zs.state, "daemon.json"))
        assert zs.problems() == []
    finally:
        zs.stop()
        knot.stop()
        time.sleep(0)
