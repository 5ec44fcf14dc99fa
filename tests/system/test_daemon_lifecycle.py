"""The daemon's life: SIGHUP reloads (zones added, removed, changed; a bad
file refused), SIGTERM in the middle of a push then a restart that
converges, the Prometheus endpoint after a sync, systemd notifications,
the pid file and the state lock.  Real knotd primaries, moto_server as
Route 53."""
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import dns.message
import dns.opcode
import dns.query
import dns.rdatatype
import pytest

from conftest import ROOT
from servers import LOOPBACK, Knot, Zonesync, free_port, wait_until, zonefile_serial
from motolab import Moto, R53Zonesync, listing_view, primary_view, view_diff

BINARY = os.environ.get("ZONESYNC_BIN", os.path.join(ROOT, "build", "zonesync"))


def zone_text(origin, serial=1, extra=""):
    return f"""$ORIGIN {origin}
$TTL 3600
@       SOA  ns1 hostmaster {serial} 3600 600 1209600 300
        NS   ns1
ns1     A    192.0.2.53
www     A    192.0.2.80
{extra}"""


def big_zone(origin, n):
    return zone_text(origin, extra="".join(f"h{i} A 198.51.{i // 250}.{i % 250 + 1}\n"
                                           for i in range(n)))


def status_json(zs, env=None):
    r = subprocess.run([zs.bin, "status", "-c", zs.conf, "--json"], capture_output=True,
                       text=True, timeout=30, env=env)
    assert r.returncode in (0, 1), r.stderr
    return json.loads(r.stdout)


def scrape(port, path="/metrics"):
    with urllib.request.urlopen(f"http://{LOOPBACK}:{port}{path}", timeout=5) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return r.read().decode()


SAMPLE = re.compile(r'^([a-z_]+)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-z_]+)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """Prometheus text -> ({(name, frozenset(labels.items())): value}, {family: type});
    every sample line must parse and belong to a family declared before it."""
    samples, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            _, _, fam, kind = line.split(" ", 3)
            assert kind in ("counter", "gauge", "histogram"), line
            assert fam not in types, f"family declared twice: {line}"
            types[fam] = kind
            continue
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        name, labels, value = m.group(1), m.group(2) or "", float(m.group(3))
        fam = re.sub(r"_(bucket|sum|count)$", "", name) if name not in types else name
        assert fam in types, f"sample before its TYPE: {line!r}"
        lab = dict(LABEL.findall(labels))
        key = (name, frozenset(lab.items()))
        assert key not in samples, f"duplicate sample {line!r}"
        samples[key] = value
    return samples, types


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())))


def one_zone(workdir, zone, notify=True, **extra_server):
    """A knotd primary of one small zone and zonesync (zonefile target)
    listening for its NOTIFYs; neither started."""
    port = free_port()
    knot = Knot(os.path.join(workdir, "knot"), {zone: zone_text(zone)}, port, notify=notify)
    zs = Zonesync(BINARY, os.path.join(workdir, "zs"),
                  [{"id": "p", "address": f"[{LOOPBACK}@{knot.port}]", "key": "xfr"}],
                  [{"domain": zone, "primary": "p"}], keys={"xfr": knot.secret}, port=port,
                  extra_server=extra_server)
    return knot, zs


class BigLab:
    """moto_server with a hosted zone, a knotd primary of a zone of n
    records, and zonesync pushing it at one request a second: a first push
    of several change batches (1,000 records each) that takes seconds."""

    def __init__(self, tmp_path, zone, n):
        self.tmp, self.zone = tmp_path, zone
        self.moto = Moto(tmp_path / "moto").start()
        self.port = free_port()
        self.knot = Knot(tmp_path / "knot", {zone: big_zone(zone, n)}, self.port)
        self.zid = self.moto.create_zone(zone)
        (tmp_path / "zs").mkdir()
        self.zs = None

    def zonesync(self, **zone_keys):
        """(Re)write zonesync's config; the Zonesync of it."""
        self.zs = R53Zonesync(BINARY, self.tmp / "zs", self.moto.endpoint, self.knot.port,
                              self.knot.secret, [{"domain": self.zone, **zone_keys}],
                              [{"id": "aws", "hosted-zone-id": self.zid, "rate-limit": 1}],
                              port=self.port)
        return self.zs

    def first_batch_sent(self, since):
        wait_until(lambda: self.moto.requests(since, self.zid)["change"] >= 1, 60,
                   what="the first change batch")

    def assert_converged(self):
        got = listing_view(self.moto.list(self.zid), self.zone)
        want, _ = primary_view(self.knot.axfr(self.zone), self.zone)
        assert got == want, view_diff(got, want)

    def close(self):
        if self.zs is not None:
            self.zs.stop()
        self.knot.stop()
        self.moto.stop()


# --- SIGHUP ---------------------------------------------------------------------------

def test_sighup_adds_removes_and_restarts_zones(tmp_path, zonesync):  # noqa: ARG001
    port = free_port()
    zones = {z: zone_text(z) for z in ("a.test.", "b.test.", "c.test.", "d.test.")}
    knot = Knot(tmp_path / "knot", zones, port)
    prim = [{"id": "p", "address": f"[{LOOPBACK}@{knot.port}]", "key": "xfr"}]
    keys = {"xfr": knot.secret}
    mport = free_port()
    metrics = {"metrics": f"{LOOPBACK}@{mport}"}
    zs = Zonesync(BINARY, tmp_path / "zs", prim,
                  [{"domain": "a.test.", "primary": "p"}, {"domain": "b.test.", "primary": "p"},
                   {"domain": "d.test.", "max-delete": "50%", "primary": "p"}],
                  keys=keys, port=port, extra_server=metrics)
    try:
        knot.start()
        zs.start()
        for z in ("a.test.", "b.test.", "d.test."):
            zs.wait_serial(z, 1, timeout=20)
        pid = zs.proc.proc.pid
        # Keep a, drop b, add c, change d (its max-delete).
        mark = zs.mark()
        Zonesync(BINARY, tmp_path / "zs", prim,
                 [{"domain": "a.test.", "primary": "p"}, {"domain": "c.test.", "primary": "p"},
                  {"domain": "d.test.", "max-delete": "40%", "primary": "p"}],
                 keys=keys, port=port, extra_server=metrics)
        os.kill(pid, signal.SIGHUP)
        zs.wait_log(r"configuration reloaded: zones=3 added=1 removed=1 restarted=1 "
                    r"unchanged=1", since=mark)
        assert zs.find(r"zone removed, its state is kept: zone=b\.test\.", since=mark)
        assert zs.find(r"zone restarts, its configuration changed: zone=d\.test\.", since=mark)
        zs.wait_serial("c.test.", 1, timeout=20)
        # The listener is the same one: a change to a arrives by NOTIFY...
        serial_a = knot.change("a.test.", set=[("new", 300, "A", "192.0.2.1")])
        zs.wait_serial("a.test.", serial_a, timeout=20)
        serial_d = knot.change("d.test.", set=[("new", 300, "A", "192.0.2.4")])
        zs.wait_serial("d.test.", serial_d, timeout=20)
        # ... and b is no longer ours: its NOTIFY is refused (logged as an
        # unknown zone, nothing else), its file stays.
        mark = zs.mark()
        knot.change("b.test.", set=[("new", 300, "A", "192.0.2.2")])
        time.sleep(1.5)
        assert zonefile_serial(zs.zonefile("b.test.")) == 1
        lines = zs.find(r"zone=b\.test\.", since=mark)
        assert lines and all("reason=unknown-zone" in line for line in lines), zs.log()
        assert zs.proc.proc.pid == pid and zs.alive()
        # status lists the zones of the running configuration.
        st = status_json(zs)
        assert (st["daemon"]["running"], st["daemon"]["pid"]) == (True, pid), st["daemon"]
        assert sorted(z["zone"] for z in st["zones"]) == ["a.test.", "c.test.", "d.test."]
        # So do the metrics: b's series are gone, the others' kept.
        samples, _ = parse_metrics(scrape(mport))
        zones = {dict(k[1]).get("zone") for k in samples} - {None}
        assert zones == {"a.test.", "c.test.", "d.test."}, zones
        assert value(samples, "zonesync_zone_serial", zone="d.test.") == serial_d
        assert value(samples, "zonesync_config_reloads_total", result="ok") == 1

        # A file with an error: refused with its place, the running one stays.
        with open(zs.conf) as f:
            good = f.read()
        with open(zs.conf, "w") as f:
            f.write(good.replace("max-delete: 40%", "max-delete: lots"))
        mark = zs.mark()
        os.kill(pid, signal.SIGHUP)
        zs.wait_log(r"reload failed, the running configuration stays", since=mark)
        assert zs.find(r"reload failed: .*zonesync\.yaml:\d+:\d+: .*max-delete", since=mark)
        serial_c = knot.change("c.test.", set=[("late", 300, "A", "192.0.2.3")])
        zs.wait_serial("c.test.", serial_c, timeout=20)

        # The secret is never in the log, at debug level either.
        assert knot.secret not in zs.log(tail=None)
        assert zs.stop() == 0
        assert zs.problems() == []
    finally:
        zs.stop()
        knot.stop()


def test_reload_storm(tmp_path, zonesync):  # noqa: ARG001
    """Thirty reloads in quick succession, each adding, removing or changing
    zones, while the primary changes them: the daemon stays up, ends with
    every zone of the last configuration in step, and exits cleanly (in the
    sanitizer build: no leak, no use after free of an old configuration)."""
    names = [f"z{i}.test." for i in range(4)]
    port = free_port()
    knot = Knot(tmp_path / "knot", {z: zone_text(z) for z in names}, port)
    prim = [{"id": "p", "address": f"[{LOOPBACK}@{knot.port}]", "key": "xfr"}]

    def config(k):
        # Variant k: a rotating subset of the zones, with max-delete varying.
        zones = [{"domain": z, "primary": "p", "max-delete": f"{30 + (k + i) % 3}%"}
                 for i, z in enumerate(names) if (k + i) % 4 != 0 or k < 0]
        return Zonesync(BINARY, tmp_path / "zs", prim, zones, keys={"xfr": knot.secret},
                        port=port, level="info")
    zs = config(0)
    try:
        knot.start()
        zs.start()
        pid = zs.proc.proc.pid
        for k in range(1, 31):
            config(k)
            os.kill(pid, signal.SIGHUP)
            if k % 5 == 0:
                z = names[k % 4]
                knot.change(z, set=[(f"r{k}", 300, "A", f"192.0.2.{k}")], wait=False)
            time.sleep(0.05)
        mark = zs.mark()
        config(-1)  # every zone
        os.kill(pid, signal.SIGHUP)
        zs.wait_log(r"configuration reloaded: zones=4 ", since=mark, timeout=20)
        for z in names:
            want = wait_until(lambda: knot.serial(z), 10, what=f"{z} served")
            zs.wait_serial(z, want, timeout=30)
        assert zs.alive() and zs.proc.proc.pid == pid
        assert zs.stop() == 0
        assert zs.problems() == []
        assert not zs.find(r" error "), "\n".join(zs.find(r" error "))
    finally:
        zs.stop()
        knot.stop()


# --- SIGTERM in the middle of a push --------------------------------------------------

def test_sigterm_mid_push_then_restart_converges(tmp_path, zonesync):  # noqa: ARG001
    lab = BigLab(tmp_path, "big.test.", 4000)
    zs = lab.zonesync()
    try:
        lab.knot.start()
        mark = lab.moto.mark()
        zs.start()
        lab.first_batch_sent(mark)
        t0 = time.monotonic()
        assert zs.stop(timeout=30) == 0, zs.log()
        took = time.monotonic() - t0
        sent = lab.moto.requests(mark, lab.zid)["change"]
        assert sent < 5, f"the whole push ran ({sent} batches): not interrupted"
        assert took < 15, f"SIGTERM took {took:.1f} s"
        assert zs.find(r"target push interrupted: zone=big\.test\. target=aws .*dirty=yes")
        st = status_json(zs, env=zs.env)
        (t,) = st["zones"][0]["targets"]
        assert st["daemon"]["running"] is False
        assert t["state"] == "dirty" and t["dirty"] is True and t["last_error"] is None, t
        # Part of the zone is there: the restart reads it and sends the rest.
        mark = zs.mark()
        zs.start()
        zs.wait_log(r"target synced: zone=big\.test\. target=aws serial=1 mode=full",
                    timeout=120, since=mark)
        lab.assert_converged()
        assert status_json(zs, env=zs.env)["zones"][0]["targets"][0]["state"] == "ok"
        assert zs.stop() == 0
        assert zs.problems() == []
    finally:
        lab.close()


def test_reload_waits_for_the_old_zones_push(tmp_path, zonesync):  # noqa: ARG001
    """A zone changed by a reload while its push runs: the push goes on to
    its end under the old configuration, and only then does the restarted
    zone run (never two pushes to one target at once)."""
    lab = BigLab(tmp_path, "big.test.", 3000)
    zs = lab.zonesync(**{"max-delete": "30%"})
    try:
        lab.knot.start()
        mark = lab.moto.mark()
        zs.start()
        lab.first_batch_sent(mark)
        log_mark = zs.mark()
        lab.zonesync(**{"max-delete": "20%"})  # the new file; the same process
        os.kill(zs.proc.proc.pid, signal.SIGHUP)
        zs.wait_log(r"configuration reloaded: zones=1 added=0 removed=0 restarted=1",
                    since=log_mark)
        synced = zs.wait_log(r"target synced: zone=big\.test\. target=aws serial=1 mode=full",
                             timeout=120, since=log_mark)
        again = zs.wait_log(r"zone up to date: zone=big\.test\. serial=1", timeout=30,
                            since=log_mark)
        lines = zs.lines()[log_mark:]
        assert lines.index(synced) < lines.index(again), "\n".join(lines)
        lab.assert_converged()
        assert zs.stop() == 0
        assert zs.problems() == []
    finally:
        lab.zs = zs
        lab.close()


# --- metrics ----------------------------------------------------------------------------

def test_metrics_after_a_sync(tmp_path, zonesync):  # noqa: ARG001
    zone = "m.test."
    mport = free_port()
    knot, zs = one_zone(tmp_path, zone, metrics=f"{LOOPBACK}@{mport}")
    port = zs.port
    try:
        knot.start()
        zs.start()
        zs.wait_serial(zone, 1, timeout=20)
        serial = knot.change(zone, set=[("new", 300, "A", "192.0.2.9")])
        zs.wait_serial(zone, serial, timeout=20)
        # An unsigned NOTIFY for a zone whose primary has a key: refused.
        q = dns.message.make_query(zone, dns.rdatatype.SOA)
        q.set_opcode(dns.opcode.NOTIFY)
        dns.query.udp(q, LOOPBACK, port=port, timeout=5)

        z, t = {"zone": zone}, {"zone": zone, "target": "file"}
        # The push counts just after it has written the file (and under
        # ASan that gap is long enough for a scrape to fall in it).
        wait_until(lambda: value(parse_metrics(scrape(mport))[0], "zonesync_target_serial",
                                 **t) == serial, 10, what="the target's serial gauge")
        text = scrape(mport)
        s, types = parse_metrics(text)
        assert types["zonesync_sync_duration_seconds"] == "histogram"
        assert types["zonesync_syncs_total"] == "counter"
        assert types["zonesync_target_serial"] == "gauge"
        assert value(s, "zonesync_zone_serial", **z) == serial
        assert value(s, "zonesync_primary_serial", **z) == serial
        assert value(s, "zonesync_target_serial", **t) == serial
        assert value(s, "zonesync_target_ok", **t) == 1
        assert value(s, "zonesync_zone_expired", **z) == 0
        assert value(s, "zonesync_syncs_total", **t, result="ok") == 2
        assert value(s, "zonesync_transfers_total", **z, kind="axfr", result="ok") == 1
        assert value(s, "zonesync_transfers_total", **z, kind="ixfr", result="ok") == 1
        assert value(s, "zonesync_transfer_records_total", **z) >= 5
        assert value(s, "zonesync_soa_checks_total", **z, result="newer") == 2
        assert value(s, "zonesync_notify_accepted_total", **z) >= 1
        assert value(s, "zonesync_notify_refused_total", reason="unsigned") == 1
        assert value(s, "zonesync_notify_received_total") >= 2
        last = value(s, "zonesync_target_last_success_seconds", **t)
        assert abs(last - time.time()) < 60
        assert value(s, "zonesync_build_info", version=re.search(
            r'version="([^"]+)"', text).group(1)) == 1
        # The histogram: cumulative buckets, +Inf = count = pushes.
        buckets = sorted(((float(dict(k[1])["le"]), v) for k, v in s.items()
                          if k[0] == "zonesync_sync_duration_seconds_bucket"
                          and dict(k[1])["target"] == "file"))
        counts = [v for _, v in buckets]
        assert counts == sorted(counts) and buckets[-1][0] == float("inf")
        assert buckets[-1][1] == value(s, "zonesync_sync_duration_seconds_count",
                                       target="file") == 2
        assert value(s, "zonesync_sync_duration_seconds_sum", target="file") > 0
        # Anything but /metrics is 404.
        try:
            scrape(mport, "/other")
            raise AssertionError("/other answered 200")
        except urllib.error.HTTPError as e:
            assert e.code == 404
        assert zs.stop() == 0
        assert zs.problems() == []
    finally:
        zs.stop()
        knot.stop()


# --- systemd, pid file, lock ------------------------------------------------------------

def test_systemd_notifications(tmp_path, zonesync):  # noqa: ARG001
    sock_path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(sock_path)
    sock.settimeout(10)
    knot, zs = one_zone(tmp_path, "s.test.")
    zs.proc.env = {**os.environ, "NOTIFY_SOCKET": sock_path, "WATCHDOG_USEC": "400000"}

    def until(state):
        seen = []
        while True:
            msg = sock.recv(4096).decode()
            seen.append(msg)
            if state in msg.split("\n"):
                return seen

    try:
        knot.start()
        zs.start()
        assert "STATUS=1 zones" in until("READY=1")[-1].split("\n")
        assert any("WATCHDOG=1" in m for m in until("WATCHDOG=1"))
        os.kill(zs.proc.proc.pid, signal.SIGHUP)
        until("RELOADING=1")
        until("READY=1")
        zs.proc.proc.send_signal(signal.SIGTERM)
        until("STOPPING=1")
        # A second SIGTERM while it stops is taken, not fatal (zs.stop()
        # sends one more): it still exits 0.
        zs.proc.proc.send_signal(signal.SIGTERM)
        assert zs.stop() == 0
    finally:
        zs.stop()
        knot.stop()
        sock.close()


def test_pid_file_and_state_lock(tmp_path, zonesync):  # noqa: ARG001
    pid_file = str(tmp_path / "zonesync.pid")
    knot, zs = one_zone(tmp_path, "p.test.", notify=False, **{"pid-file": pid_file})
    port = zs.port
    try:
        knot.start()
        zs.start()
        with open(pid_file) as f:
            assert int(f.read()) == zs.proc.proc.pid
        # A second daemon with the same pid file is refused at once.
        r = subprocess.run([BINARY, "run", "-c", zs.conf], capture_output=True, text=True,
                           timeout=30)
        assert r.returncode == 1
        assert f"server.pid-file: {pid_file} names a running zonesync (pid " \
               f"{zs.proc.proc.pid})" in r.stderr, r.stderr
        # One with its own pid file and listener, but the same state: refused too.
        other = tmp_path / "other.yaml"
        with open(zs.conf) as f:
            text = f.read()
        other.write_text(text.replace(pid_file, str(tmp_path / "other.pid"))
                         .replace(f"{LOOPBACK}@{port}", f"{LOOPBACK}@{free_port()}"))
        r = subprocess.run([BINARY, "run", "-c", str(other)], capture_output=True, text=True,
                           timeout=30)
        assert r.returncode == 1
        assert f"is in use by another zonesync run (pid {zs.proc.proc.pid})" in r.stderr
        assert not os.path.exists(tmp_path / "other.pid")
        r = subprocess.run([BINARY, "status", "-c", zs.conf], capture_output=True, text=True)
        assert f"daemon: running, pid {zs.proc.proc.pid}" in r.stdout
        assert zs.stop() == 0
        assert not os.path.exists(pid_file)
        r = subprocess.run([BINARY, "status", "-c", zs.conf], capture_output=True, text=True)
        assert "daemon: not running" in r.stdout
        # A stale pid file (a dead process) does not stop a start.
        with open(pid_file, "w") as f:
            f.write("999999999\n")
        zs.start()
        assert zs.stop() == 0
        assert zs.problems() == []
    finally:
        zs.stop()
        knot.stop()


def test_user_drops_privileges_after_binding(tmp_path, zonesync):  # noqa: ARG001
    """Started as root with `user: nobody`: the sockets are bound first,
    then every file (state, lock, zone files) is written as nobody."""
    if os.geteuid() != 0:
        pytest.skip("needs root to change user")
    nobody = pwd.getpwnam("nobody")
    zone = "u.test."
    base = tempfile.mkdtemp(prefix="zonesync-user-")  # outside pytest's 0700 tree
    os.chmod(base, 0o755)
    knot, zs = one_zone(base, zone, user="nobody")
    try:
        for d in (zs.state, zs.out):
            os.chown(d, nobody.pw_uid, nobody.pw_gid)
        knot.start()
        zs.start()
        zs.wait_serial(zone, 1, timeout=20)
        with open(f"/proc/{zs.proc.proc.pid}/status") as f:
            uids = next(line for line in f if line.startswith("Uid:")).split()[1:]
        assert all(int(u) == nobody.pw_uid for u in uids), uids
        for path in (os.path.join(zs.state, "state.db"), os.path.join(zs.state, "daemon.lock"),
                     zs.zonefile(zone)):
            assert os.stat(path).st_uid == nobody.pw_uid, path
        assert zs.find(r"privileges dropped: user=nobody")
        assert zs.stop() == 0
        assert zs.problems() == []
    finally:
        zs.stop()
        knot.stop()
        shutil.rmtree(base, ignore_errors=True)


def test_status_says_the_primary_is_failing(tmp_path, zonesync):  # noqa: ARG001
    """The primary stops answering: status keeps the serial it answered
    last, says the zone is failing and why, and exits 1."""
    zone = "f.test."
    knot, zs = one_zone(tmp_path, zone)
    try:
        knot.start()
        zs.start()
        zs.wait_serial(zone, 1, timeout=20)
        st = status_json(zs)
        (z,) = st["zones"]
        assert (z["state"], z["serial"], z["primary_serial"], z["last_error"]) == \
            ("ok", 1, 1, None), z
        assert abs(z["checked"] - time.time()) < 60
        assert zs.stop() == 0
        knot.stop()
        r = subprocess.run([BINARY, "sync", "-c", zs.conf], capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 1, r.stdout + r.stderr
        r = subprocess.run([BINARY, "status", "-c", zs.conf, "--json"], capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 1
        (z,) = json.loads(r.stdout)["zones"]
        assert (z["state"], z["serial"], z["primary_serial"]) == ("failing", 1, 1), z
        assert "SOA query" in z["last_error"], z
        text = subprocess.run([BINARY, "status", "-c", zs.conf], capture_output=True,
                              text=True, timeout=30).stdout
        assert re.search(r"^f\.test\.\s+1\s+1\s+failing\s+file", text, re.M), text
        assert re.search(r"last check \S+Z: .*SOA query", text), text
        assert zs.problems() == []
    finally:
        zs.stop()
        knot.stop()
