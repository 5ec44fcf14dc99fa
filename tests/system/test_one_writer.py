"""One writer per target (issue 12): while a daemon runs on a state directory,
`zonesync sync` asks it, over STATE/control, to run the pass, and prints the
daemon's result; with no daemon the command runs the pass itself holding the
daemon lock.  plan, verify and status only read.

Against the fake Route 53 (fake_route53.py): its request log counts every
write, and its PENDING changes make a pass as slow as a test needs."""
import os
import re
import stat
import subprocess
import time

import pytest

from conftest import ROOT
from fake_route53 import FakeRoute53
from motolab import R53Zonesync, describe
from servers import Knot, free_port, wait_until
from test_route53_faults import ZONE, assert_in_sync, hosts, summary, zone_text

HOSTS = 20


class Lab:
    """The fake Route 53, a knotd that notifies zonesync, and zonesync (its
    daemon started by the test), stopped at teardown."""

    def __init__(self, tmp_path):
        self.bin = os.environ.get("ZONESYNC_BIN", os.path.join(ROOT, "build", "zonesync"))
        self.fake = FakeRoute53().start()
        self.zid = self.fake.create_zone(ZONE)
        port = free_port()
        (tmp_path / "zs").mkdir()
        self.knot = Knot(tmp_path / "knot", {ZONE: zone_text(1, hosts(HOSTS))}, port).start()
        self.zs = R53Zonesync(self.bin, tmp_path / "zs", self.fake.url, self.knot.port,
                              self.knot.secret, [{"domain": ZONE, "max-delete": "30%"}],
                              [{"id": "aws", "hosted-zone-id": self.zid, "rate-limit": 50}],
                              port=port)
        self.socket = os.path.join(self.zs.state, "control")

    def changes(self, since=0):
        """The change requests the fake has seen since the mark."""
        return [e for e in self.fake.log()[since:] if e["op"] == "change"]

    def writes(self, since=0):
        return "\n".join(map(summary, self.changes(since)))

    def close(self):
        self.zs.stop()
        self.knot.stop()
        self.fake.stop()
        print("===== zonesync =====")
        print(self.zs.log())
        print("===== fake Route 53 requests =====")
        for e in self.fake.log()[-100:]:
            print(summary(e))
        assert self.zs.problems() == []


@pytest.fixture
def lab(tmp_path, zonesync):  # noqa: ARG001
    lab = Lab(tmp_path)
    yield lab
    lab.close()


def delete_hosts(knot, first, last):
    """Delete h<first>..h<last - 1> on the primary in one transaction; the new serial."""
    return knot.change(ZONE, unset=[(f"h{i}", "A") for i in range(first, last)])


def shape(text):
    """Output with its numbers and timings out: what must not depend on who ran the pass."""
    return re.sub(r"[0-9]+(\.[0-9]+)?", "N", text.replace("(incremental)", "(full)"))


def test_sync_force_beside_the_daemon_is_one_writer(lab):
    """The issue's case: the daemon refuses a big delete (max-delete), the
    operator runs `sync --force` beside it.  The daemon runs that pass (its
    log says so), the command prints the daemon's result with the exit
    status of a pass of its own, and the provider sees one set of writes."""
    zs, fake = lab.zs, lab.fake
    zs.start()
    zs.wait_log(r"target synced: zone=example\.com\. target=aws serial=1 ", timeout=30)
    st = os.stat(lab.socket)
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o660, oct(st.st_mode)

    mark = zs.mark()
    serial = delete_hosts(lab.knot, 0, 15)
    zs.wait_log(rf"target refused: zone=example\.com\. target=aws serial={serial} ",
                timeout=30, since=mark)

    # Without --force the daemon's pass is refused too: exit 1, as the command's own.
    r = zs.sync()
    assert r.returncode == 1, describe(r)
    refused_out = r.stdout
    assert "aws" in refused_out and "max-delete" in refused_out + r.stderr, describe(r)
    zs.wait_log(r"control: sync done: pid=[0-9]+ exit=1 ", since=mark)

    fmark = len(fake.log())
    mark = zs.mark()
    r = zs.sync("--force")
    assert r.returncode == 0, describe(r)
    forced_out = r.stdout
    assert re.search(r"aws", forced_out), describe(r)
    asked = zs.find(r"control: sync asked: pid=[0-9]+ uid=[0-9]+ zones=all target=all "
                    r"force=yes", since=mark)
    assert len(asked) == 1, zs.log()
    zs.wait_log(r"control: sync done: pid=[0-9]+ exit=0 ", since=mark)
    # The pass, in the daemon, is what wrote: one batch, then the daemon's own
    # check after it finds nothing left to do.
    pushed = zs.find(rf"target synced: zone=example\.com\. target=aws serial={serial} ",
                     since=mark)
    assert len(pushed) == 1, zs.log()
    zs.wait_log(r"zone (is )?(up to date|checked|current)|SOA", timeout=10, since=mark)
    time.sleep(1.5)
    writes = lab.changes(fmark)
    assert len(writes) == 1 and writes[0]["applied"], lab.writes(fmark)
    assert_in_sync(fake, lab.zid, lab.knot)

    # The same command with no daemon: the same shape of output, run here.
    assert zs.stop() == 0
    assert not os.path.exists(lab.socket), "the daemon left its socket behind"
    delete_hosts(lab.knot, 15, 18)
    fmark = len(fake.log())
    r = zs.sync("--force")
    assert r.returncode == 0, describe(r)
    assert shape(r.stdout) == shape(forced_out), describe(r)
    assert len(lab.changes(fmark)) == 1, lab.writes(fmark)
    assert_in_sync(fake, lab.zid, lab.knot)


def test_the_daemon_holds_its_own_jobs_off_during_the_pass(lab):
    """A NOTIFY during a slow pass run for `sync`: the daemon's own push of
    the new serial starts only after that pass has ended."""
    zs, fake = lab.zs, lab.fake
    zs.start()
    zs.wait_log(r"target synced: zone=example\.com\. target=aws serial=1 ", timeout=30)
    # A delete over max-delete: the daemon refuses it; `sync --force --wait`
    # makes the daemon apply it and poll for about 10 s.
    mark = zs.mark()
    serial = delete_hosts(lab.knot, 0, 15)
    zs.wait_log(rf"target refused: zone=example\.com\. target=aws serial={serial} ",
                timeout=30, since=mark)
    fake.configure(pending_polls=6)
    fmark = len(fake.log())
    proc = subprocess.Popen([zs.bin, "sync", "-c", zs.conf, "--force", "--wait"], env=zs.env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        zs.wait_log(r"control: sync asked: ", since=mark)
        wait_until(lambda: any(e["op"] == "getchange" for e in fake.log()[fmark:]), 20,
                   what="the pass to wait for INSYNC")
        pass_mark = zs.mark()
        newer = delete_hosts(lab.knot, 15, 16)  # h15 goes: NOTIFY while the pass runs
        zs.wait_log(rf"NOTIFY accepted: zone=example\.com\.", since=pass_mark)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, f"{out}\n{err}"
    done = zs.wait_log(r"control: sync done: pid=[0-9]+ exit=0 ", since=mark)
    zs.wait_log(rf"target synced: zone=example\.com\. target=aws serial={newer} ", timeout=30,
                since=pass_mark)
    lines = zs.lines()
    i_done = lines.index(done)
    # Neither the transfer of the new serial nor its push ran beside the pass.
    later = [i for i, line in enumerate(lines[pass_mark:], pass_mark)
             if re.search(rf"(zone transferred|target synced): zone=example\.com\. .*"
                          rf"serial={newer} ", line)]
    assert len(later) == 2 and later[0] > i_done, zs.log()
    assert serial < newer
    assert_in_sync(fake, lab.zid, lab.knot)


def test_without_a_daemon_sync_holds_the_lock(lab):
    """No daemon: sync runs the pass itself, holding STATE/daemon.lock: a
    daemon started meanwhile is refused with a message that says why, and a
    second sync says the state is busy; neither writes."""
    zs, fake = lab.zs, lab.fake
    fake.configure(pending_polls=6)
    fmark = len(fake.log())
    proc = subprocess.Popen([zs.bin, "sync", "-c", zs.conf, "--wait"], env=zs.env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: any(e["op"] == "getchange" for e in fake.log()[fmark:]), 30,
                   what="the pass to wait for INSYNC")
        writes = len(lab.changes(fmark))
        run = subprocess.run([zs.bin, "run", "-c", zs.conf], env=zs.env, capture_output=True,
                             text=True, timeout=30)
        assert run.returncode == 1, describe(run)
        assert (f"is in use by another zonesync run (pid {proc.pid})" in run.stderr
                and "a `zonesync sync` pass" in run.stderr), describe(run)
        second = zs.sync("--force")
        assert second.returncode == 1, describe(second)
        assert lab.socket in second.stderr and "try again" in second.stderr, describe(second)
        assert len(lab.changes(fmark)) == writes, lab.writes(fmark)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, f"{out}\n{err}"
    assert "aws" in out
    assert not os.path.exists(lab.socket)
    assert_in_sync(fake, lab.zid, lab.knot)


def test_read_only_commands_do_not_use_the_socket(lab):
    """plan, verify and status beside a daemon read; they neither ask the
    daemon (they work with its socket gone) nor write to the provider."""
    zs, fake = lab.zs, lab.fake
    zs.start()
    zs.wait_log(r"target synced: zone=example\.com\. target=aws serial=1 ", timeout=30)
    aside = lab.socket + ".aside"
    os.rename(lab.socket, aside)
    try:
        fmark = len(fake.log())
        mark = zs.mark()
        for args, rc in ((("plan",), 0), (("verify",), 0), (("status",), 0),
                         (("sync", "--dry-run"), 0)):
            r = zs.command(*args)
            assert r.returncode == rc, describe(r)
        assert lab.changes(fmark) == [], lab.writes(fmark)
        assert zs.find(r"control: ", since=mark) == []
        # A sync needs the daemon: with its socket gone it says so and writes nothing.
        r = zs.sync("--force")
        assert r.returncode == 1, describe(r)
        assert lab.socket in r.stderr and "does not answer" in r.stderr, describe(r)
        assert lab.changes(fmark) == [], lab.writes(fmark)
    finally:
        os.rename(aside, lab.socket)
    r = zs.sync()
    assert r.returncode == 0, describe(r)


def test_control_requests_are_bounded(lab):
    """A request that is not one the daemon knows, or too long, is refused;
    a client that goes away mid-pass does not stop the pass."""
    import socket
    zs, fake = lab.zs, lab.fake
    zs.start()
    zs.wait_log(r"target synced: zone=example\.com\. target=aws serial=1 ", timeout=30)

    def ask(data):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(20)
            s.connect(lab.socket)
            try:
                s.sendall(data)
            except OSError:
                pass
            out = b""
            while True:
                try:
                    b = s.recv(65536)
                except OSError:
                    break
                if not b:
                    break
                out += b
            return out

    assert ask(b'{"cmd":"sync","bogus":true}\n').startswith(b"2 0 "), "unknown member"
    assert ask(b'{"cmd":"reboot"}\n').startswith(b"2 0 ")
    assert ask(b"x" * 70000) == b""
    zs.wait_log(r"control: request over 65536 bytes dropped")

    # Gone mid-pass: the pass still ends and the zone is in sync.
    fake.configure(pending_polls=4)
    serial = delete_hosts(lab.knot, 0, 1)
    mark = zs.mark()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(lab.socket)
        s.sendall(b'{"cmd":"sync","zones":["example.com"],"wait":true}\n')
        zs.wait_log(r"control: sync asked: ", since=mark)
    zs.wait_log(r"control: sync done: pid=[0-9]+ exit=0 ", timeout=30, since=mark)
    assert zs.find(rf"target synced: zone=example\.com\. target=aws serial={serial} ", since=0)
    assert_in_sync(fake, lab.zid, lab.knot)
