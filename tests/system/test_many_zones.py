"""Many zones on one host (issue 16): knotd serves 2,000 zones to the daemon,
which writes each to a zone file, and 100 of them to an exec target too.

- The first checks are spread over a window (2,000 zones: 10 s), not fired
  at once (nor queued at once), and still every zone arrives, exact.
- At most max-transfers SOA checks and transfers run toward the primary at
  once (the zonesync_jobs_running gauge, sampled) while the rest wait in
  its queue (zonesync_jobs_queued seen above 0); at most max-pushes pushes
  run to a target at once (the exec target's own count of its runs).
- knotd reloads every zone with a new serial and NOTIFYs them all in one
  burst; notify-rate-limit is low (20/s) but the primary's own address may
  spend a burst as long as its zone list, so every NOTIFY is taken and
  every zone gets there within seconds (a refused one would wait for the
  SOA refresh, an hour).

The daemon's state and knotd's database are on a tmpfs when there is one:
each zone's sync is several SQLite commits, each an fsync
(synchronous=FULL), knotd's reload a journal write per zone, and on a slow
disk those, not the scheduling tested here, take the time
(bench/many-zones-bench.sh measures the whole on a real disk).
"""
import os
import re
import shutil
import tempfile
import threading
import time
import urllib.request

from conftest import ROOT
from servers import (LOOPBACK, Knot, Zonesync, free_port, new_secret, read_zonefile,
                     records_diff, wait_soa, wait_until, zonefile_serial)

N = 2000
HOOKED = 100          # zones also pushed to the exec target
MAX_TRANSFERS = 4
MAX_PUSHES = 2


def zone_name(i):
    return f"z{i:04d}.many.test."


def zone_text(i, serial, www):
    return (f"$ORIGIN {zone_name(i)}\n$TTL 300\n"
            f"@ SOA ns1 hostmaster {serial} 3600 600 86400 300\n"
            f"@ NS ns1\nns1 A 192.0.2.1\nwww A {www}\nmail A 192.0.2.25\n"
            f"@ MX 10 mail\n@ TXT \"zone {i}\"\n")


# The exec target: counts its runs at once (a file per run in a directory,
# counted while it sleeps) and logs "zone serial count" for each run.
HOOK = """#!/bin/sh
# argv: --flag ZONE SERIAL NOTIFIER
d={dir}
touch "$d/running/$$"
sleep 0.05
n=$(ls "$d/running" | wc -l)
echo "$2 $3 $n" >> "$d/runs"
rm -f "$d/running/$$"
exit 0
"""


def scrape(port):
    with urllib.request.urlopen(f"http://{LOOPBACK}:{port}/metrics", timeout=5) as r:
        return r.read().decode()


def gauge(text, name, **labels):
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    m = re.search(rf"^{name}\{{{re.escape(want)}\}} (\S+)$", text, re.M)
    return float(m.group(1)) if m else None


class Sampler(threading.Thread):
    """Scrapes the metrics every 50 ms: the most jobs running and queued
    toward the primary seen."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port = port
        self.stop = threading.Event()
        self.running = self.queued = 0
        self.samples = 0

    def run(self):
        while not self.stop.is_set():
            try:
                text = scrape(self.port)
            except OSError:
                time.sleep(0.05)
                continue
            r = gauge(text, "zonesync_jobs_running", kind="primary", id="p")
            q = gauge(text, "zonesync_jobs_queued", kind="primary", id="p")
            if r is not None:
                self.samples += 1
                self.running = max(self.running, r)
                self.queued = max(self.queued, q or 0)
            time.sleep(0.05)


def serials(zs):
    """{zone: serial} of the zone files written so far."""
    out = {}
    for i in range(N):
        s = zonefile_serial(zs.zonefile(zone_name(i)))
        if s is not None:
            out[zone_name(i)] = s
    return out


def hook_runs(path):
    try:
        with open(path) as f:
            return [line.split() for line in f if line.strip()]
    except FileNotFoundError:
        return []


def test_many_zones(tmp_path):
    secret = new_secret()
    zs_port = free_port()
    metrics_port = free_port()
    zones = {zone_name(i): zone_text(i, 1, f"192.0.2.{i % 250 + 1}") for i in range(N)}
    base = (tempfile.mkdtemp(prefix="zonesync-many-", dir="/dev/shm")
            if os.access("/dev/shm", os.W_OK) else str(tmp_path))
    knot = Knot(os.path.join(base, "knot"), zones, zs_port, secret=secret)
    hookdir = tmp_path / "hook"
    (hookdir / "running").mkdir(parents=True)
    hook = tmp_path / "hook.sh"
    hook.write_text(HOOK.format(dir=hookdir))
    hook.chmod(0o755)
    zlist = [{"domain": zone_name(i), "primary": "p",
              **({"target": "[file, hook]"} if i < HOOKED else {})} for i in range(N)]
    zs = Zonesync(os.environ.get("ZONESYNC_BIN", os.path.join(ROOT, "build", "zonesync")),
                  os.path.join(base, "zs"),
                  [{"id": "p", "address": f"[{LOOPBACK}@{knot.port}]", "key": "xfr",
                    "max-transfers": MAX_TRANSFERS}],
                  zlist, keys={"xfr": secret}, port=zs_port, level="info",
                  extra_server={"notify-rate-limit": 20,
                                "metrics": f"{LOOPBACK}@{metrics_port}"})
    conf = open(zs.conf).read().replace(
        "zone:\n", f"  - {{ id: hook, type: exec, command: [{hook}, --flag], "
                   f"max-pushes: {MAX_PUSHES} }}\nzone:\n", 1)
    open(zs.conf, "w").write(conf)
    sampler = Sampler(metrics_port)
    try:
        t0 = time.monotonic()
        knot.proc.start()
        for i in (0, N // 2, N - 1):
            wait_soa(knot.port, zone_name(i), 60, proc=knot.proc)
        # knotd loads zones in the background: all of them before we start.
        wait_until(lambda: knot.knotc("zone-status").count("serial: 1") >= N, 60, 0.5,
                   what="knotd to load every zone")
        print(f"knotd up in {time.monotonic() - t0:.1f} s")

        t0 = time.monotonic()
        zs.start(timeout=30)
        sampler.start()
        zs.wait_log(rf"first checks spread: zones={N} over=10s", timeout=10)
        wait_until(lambda: len(serials(zs)) == N, 90, 0.5, what="every zone in its file")
        first_sync = time.monotonic() - t0
        # Spread over the window, not all at once.
        mtimes = sorted(os.stat(zs.zonefile(zone_name(i))).st_mtime for i in range(N))
        spread = mtimes[-1] - mtimes[0]
        early = sum(1 for m in mtimes if m - mtimes[0] < 2)
        print(f"first sync of {N} zones: {first_sync:.1f} s, files written over {spread:.1f} s,"
              f" {early} in the first 2 s")
        assert spread >= 5, f"first checks not spread: every file written within {spread:.1f} s"
        assert early < N / 2, f"{early} of {N} zones checked in the first 2 s"
        # Not all queued at once either (they would be, and only the queue
        # would spread them, as the files' times alone cannot tell).
        first_queued = sampler.queued
        print(f"first sync: most queued toward the primary {first_queued}")
        assert first_queued < N * 3 / 4, f"{first_queued} first checks queued at once"
        for i in (0, 1, 777, N - 1):
            z = zone_name(i)
            got, want = read_zonefile(zs.zonefile(z)), knot.axfr(z)
            assert got == want, f"{z} differs from the primary:\n{records_diff(got, want)}"

        # One burst: every zone a new serial, every zone notified.
        for i in range(N):
            with open(knot.zone_path(zone_name(i)), "w") as f:
                f.write(zone_text(i, 2, f"198.51.100.{i % 250 + 1}"))
        t1 = time.monotonic()
        knot.knotc("zone-reload")
        # Their SOA refresh is an hour: only the NOTIFYs bring them now.
        wait_until(lambda: sum(1 for s in serials(zs).values() if s != 1) == N, 90, 0.5,
                   what="every zone at its new serial (NOTIFY burst)")
        burst_sync = time.monotonic() - t1
        print(f"after the reload, every zone in sync in {burst_sync:.1f} s")
        for i in (3, 1234, N - 2):
            z = zone_name(i)
            got, want = read_zonefile(zs.zonefile(z)), knot.axfr(z)
            assert got == want, f"{z} differs from the primary:\n{records_diff(got, want)}"
        accepted = len(zs.find(r"NOTIFY accepted: "))
        refused = zs.find(r"NOTIFY refus")
        assert not refused, f"NOTIFYs refused in the burst: {refused[:3]}"
        wait_until(lambda: len({r[0] for r in hook_runs(hookdir / "runs") if r[1] == "2"})
                   == HOOKED, 30, 0.5, what="the exec target run for each new serial")
        sampler.stop.set()
        sampler.join(5)

        # The bounds: toward the primary, and to the exec target.
        print(f"primary: most running {sampler.running}, most queued {sampler.queued} "
              f"({sampler.samples} samples); NOTIFYs accepted: {accepted}")
        assert sampler.samples > 10
        assert 0 < sampler.running <= MAX_TRANSFERS
        assert sampler.queued > 0, "the primary's queue never held a job"
        runs = hook_runs(hookdir / "runs")
        most = max(int(r[2]) for r in runs)
        print(f"exec target: {len(runs)} runs, at most {most} at once")
        assert most <= MAX_PUSHES, f"{most} pushes at once to a target with max-pushes {MAX_PUSHES}"
        text = scrape(metrics_port)
        assert gauge(text, "zonesync_jobs_queued", kind="target", id="hook") == 0
        assert gauge(text, "zonesync_jobs_running", kind="target", id="file") == 0
        assert zs.stop() == 0
        assert zs.problems() == []
    finally:
        sampler.stop.set()
        zs.stop()
        knot.stop()
        if base.startswith("/dev/shm/"):
            shutil.copy(zs.logpath, tmp_path / "zonesync.log")
            shutil.copy(os.path.join(base, "knot", "knotd.log"), tmp_path / "knotd.log")
            shutil.rmtree(base, ignore_errors=True)
