"""Two zonesync daemons, no coordinator (TWO HOSTS in zonesync(8)): each with
its own state, control socket and primary (knotd), both feeding the same zone
to the same providers with soa-serial: mirror, every push fenced with the
provider's SOA.  The providers: the strict fake Route 53 (fake_route53.py),
because moto_server's change batches are not atomic (a fence there would not
hold), and named taking RFC 2136 updates.

A thread samples both providers' SOA serial all along: a serial seen going
back (RFC 1982) fails the test, as does data that is not the newest primary's
at the end.  One primary lags behind the other (the instance cut off from the
newest data), so its daemon has an older serial to push: it must stand down."""
import os
import re
import threading
import time

import pytest

from fake_route53 import FakeRoute53
from motolab import R53Zonesync
from servers import Knot, LOOPBACK, dig_axfr, dig_soa_serial, free_port, wait_until, write_atomic
from test_rfc2136 import NamedTarget

ZONE = "example.com."
BASE = f"""$ORIGIN {ZONE}
$TTL 300
@    SOA  ns1 hostmaster 1 3600 600 1209600 300
     NS   ns1
ns1  A    192.0.2.53
www  A    192.0.2.80
"""
# The changes the primaries make, in order: each one serial more.
CHANGES = [
    [("c1", 300, "A", "192.0.2.1")],
    [("c2", 300, "A", "192.0.2.2"), ("www", 300, "A", "192.0.2.81")],
    [("c3", 300, "A", "192.0.2.3")],
    [("c4", 300, "A", "192.0.2.4")],
]


def newer(a, b):
    """a after b by RFC 1982."""
    return a != b and ((a - b) & 0xFFFFFFFF) < 0x80000000


class Sampler(threading.Thread):
    """Polls the providers' SOA serials every few ms and keeps each change."""

    def __init__(self, fake, zid, named):
        super().__init__(daemon=True)
        self.fake, self.zid, self.named = fake, zid, named
        self.seen = {"aws": [], "upd": []}
        self.halt = threading.Event()

    def aws(self):
        for rr in self.fake.rrsets(self.zid):
            if rr["type"] == "SOA" and rr["name"] == ZONE:
                return int(rr["values"][0].split()[2])
        return None

    def run(self):
        while not self.halt.is_set():
            for name, get in (("aws", self.aws),
                              ("upd", lambda: dig_soa_serial(self.named.port, ZONE))):
                try:
                    s = get()
                except Exception:  # a busy server now and then: sample again
                    s = None
                if s is not None and (not self.seen[name] or self.seen[name][-1] != s):
                    self.seen[name].append(s)
            time.sleep(0.005)

    def stop(self):
        self.halt.set()
        self.join(5)

    def check_monotonic(self):
        for name, serials in self.seen.items():
            for a, b in zip(serials, serials[1:]):
                assert newer(b, a), f"{name}'s serial went back: {serials}"


class TwoLab:
    def __init__(self, tmp_path, binary):
        self.tmp, self.bin = tmp_path, binary
        self.fake = FakeRoute53().start()
        self.zid = self.fake.create_zone(ZONE)
        self.servers = []

    def dir(self, name):
        d = self.tmp / f"{name}{len(self.servers)}"
        d.mkdir()
        return d

    def add(self, s):
        self.servers.append(s)
        return s

    def daemon(self, name, named, rate=50, extra=""):
        """A daemon and its own primary (knotd, NOTIFY to it), both started;
        rate: its Route 53 requests per second."""
        port = free_port()
        knot = self.add(Knot(self.dir(f"knot-{name}"), {ZONE: BASE + extra}, port).start())
        zs = self.add(R53Zonesync(self.bin, self.dir(f"zonesync-{name}"), self.fake.url,
                                  knot.port, knot.secret, [{"domain": ZONE}], [], port=port))
        write_atomic(zs.conf, f"""server:
  listen: [{LOOPBACK}@{port}]
  state: "{zs.state}"
  log: {{ level: debug }}
  notify-rate-limit: 0
  instances: 2
key:
  - {{ id: xfr, algorithm: hmac-sha256, secret: "{knot.secret}" }}
  - {{ id: upd, algorithm: hmac-sha256, secret: "{named.secret}" }}
primary:
  - {{ id: p, address: [{LOOPBACK}@{knot.port}], key: xfr }}
target:
  - {{ id: aws, type: route53, endpoint: "{self.fake.url}", hosted-zone-id: {self.zid},
      soa-serial: mirror, rate-limit: {rate} }}
  - {{ id: upd, type: rfc2136, address: "{LOOPBACK}@{named.port}", key: upd,
      soa-serial: mirror }}
zone:
  - {{ domain: {ZONE}, primary: p, target: [aws, upd], max-delete: 100%, max-update: 100% }}
""")
        zs.knot = knot
        return zs

    def close(self):
        for s in reversed(self.servers):
            try:
                s.stop()
            except Exception as e:
                print(f"stopping {type(s).__name__}: {e}")
        self.fake.stop()
        for s in self.servers:
            print(f"===== {type(s).__name__} log =====")
            print(s.log())
        problems = [p for s in self.servers if isinstance(s, R53Zonesync) for p in s.problems()]
        assert not problems, f"zonesync: {problems}"


@pytest.fixture
def two(tmp_path, zonesync):
    from conftest import binary_path
    lab = TwoLab(tmp_path, binary_path())
    yield lab
    lab.close()


def a_records_aws(fake, zid):
    return {(rr["name"].lower(), tuple(sorted(rr["values"])))
            for rr in fake.rrsets(zid) if rr["type"] == "A"}


def a_records_axfr(port, secret, keyname):
    out = {}
    for owner, _, rdtype, rdata in dig_axfr(port, ZONE, secret, key_name=keyname):
        if rdtype == "A":
            out.setdefault(owner.lower(), []).append(rdata)
    return {(o, tuple(sorted(v))) for o, v in out.items()}


def check_data(two, named, knot):
    want = a_records_axfr(knot.port, knot.secret, "xfr")
    assert a_records_aws(two.fake, two.zid) == want
    assert a_records_axfr(named.port, named.secret, "upd") == want


def wait_synced(zs, serial, since=0, timeout=60):
    """Both targets of zs pushed (or found) serial."""
    for t in ("aws", "upd"):
        zs.wait_log(rf"target (synced|up to date): zone={re.escape(ZONE)} target={t} "
                    rf"serial={serial}\b", timeout=timeout, since=since)


def change(knot, n):
    return knot.change(ZONE, set=CHANGES[n])


def test_lagging_instance_stands_down_then_catches_up(two):
    named = two.add(NamedTarget(two.dir("named"), BASE).start())
    sampler = Sampler(two.fake, two.zid, named)
    a = two.daemon("a", named)
    b = two.daemon("b", named)
    a.start()
    wait_synced(a, 1)
    b.start()
    wait_synced(b, 1)
    sampler.start()
    try:
        # A's primary moves on three serials; A pushes them.
        for n in range(3):
            serial = change(a.knot, n)
        assert serial == 4
        wait_synced(a, 4)
        # B's primary, cut off from the newest data, has only the first
        # change: B has serial 2 to push and must not.
        mark = b.mark()
        assert change(b.knot, 0) == 2
        for t in ("aws", "upd"):
            b.wait_log(rf"(target ahead, standing down|target synced|target failed): "
                       rf"zone={re.escape(ZONE)} target={t} serial=2\b", since=mark, timeout=30)
        time.sleep(1)  # room for a wrong write to show in the samples
        sampler.check_monotonic()
        check_data(two, named, a.knot)
        for t in ("aws", "upd"):
            assert b.find(rf"target ahead, standing down: zone={re.escape(ZONE)} target={t} "
                          rf"serial=2 provider-serial=4:", since=mark)
        assert not b.find(r"target (failed|synced): .*serial=2\b", since=mark)
        # It asked its primary (which has nothing newer) once, not in a loop.
        down = b.find(r"target ahead, standing down", since=mark)
        b.wait_log(rf"zone up to date: zone={re.escape(ZONE)} serial=2", since=mark)
        time.sleep(1)
        assert len(b.find(r"target ahead, standing down", since=mark)) <= len(down) + 2, \
            b.log()
        # Reconnected: B's primary catches up, B finds its own data there.
        mark = b.mark()
        change(b.knot, 1)
        assert change(b.knot, 2) == 4
        wait_synced(b, 4, since=mark)
        assert not b.find(r"target synced: .* changes=[1-9]", since=mark), \
            "B pushed at the serial A had pushed already"
        # Both move on together: both end at the newest serial, exact.
        ma, mb = a.mark(), b.mark()
        change(a.knot, 3)
        change(b.knot, 3)
        wait_synced(a, 5, since=ma)
        wait_synced(b, 5, since=mb)
    finally:
        sampler.stop()
    sampler.check_monotonic()
    assert sampler.seen["aws"][-1] == 5 and sampler.seen["upd"][-1] == 5, sampler.seen
    check_data(two, named, a.knot)


def hosts(n, prefix):
    return "".join(f"{prefix}{i} 300 A 10.{i // 250 % 250}.{i % 250}.1\n" for i in range(n))


def load_zone(knot, serial, extra):
    """The primary's zone file replaced (zonefile-load: difference makes it an
    IXFR): faster than thousands of knotc zone-set."""
    with open(knot.zone_path(ZONE), "w") as f:
        f.write(BASE.replace(" hostmaster 1 ", f" hostmaster {serial} ") + extra)
    knot.knotc("zone-reload", ZONE)
    wait_until(lambda: knot.serial(ZONE) == serial, 30, what=f"knotd at serial {serial}")


def addresses(n, net):
    return "".join(f"h{i} 300 A {net}.{i // 250}.{i % 250}\n" for i in range(n))


def test_concurrent_big_pushes_end_at_the_newest(two):
    """Both start with 1,200 hosts.  B pushes serial 2, every address changed
    (UPSERTs, unconditional on Route 53: 3 batches, one a second; two
    UPDATEs); once its first batch has claimed the SOA, A's primary comes
    with serial 3, every address changed again, and A pushes while B's
    batches still go.  B's later batches must fail on the fence (B stands
    down): the providers end exact at serial 3 and never go back."""
    named = two.add(NamedTarget(two.dir("named"), BASE + addresses(1200, "10.1")).start())
    sampler = Sampler(two.fake, two.zid, named)
    a = two.daemon("a", named, extra=addresses(1200, "10.1"))
    b = two.daemon("b", named, rate=1, extra=addresses(1200, "10.1"))
    a.start()
    wait_synced(a, 1)
    b.start()
    wait_synced(b, 1, timeout=120)
    sampler.start()
    try:
        ma, mb = a.mark(), b.mark()
        load_zone(b.knot, 2, addresses(1200, "10.2"))
        wait_until(lambda: sampler.seen["aws"][-1] == 2, 60, what="B's first batch")
        load_zone(a.knot, 3, addresses(1200, "10.3") + "last 300 A 192.0.2.99\n")
        wait_synced(a, 3, since=ma, timeout=120)
        for t in ("aws", "upd"):
            b.wait_log(rf"(target (synced|up to date|failed)|target ahead, standing down): "
                       rf"zone={re.escape(ZONE)} target={t} serial=2\b", since=mb, timeout=120)
        time.sleep(1)
    finally:
        sampler.stop()
    sampler.check_monotonic()
    assert sampler.seen["aws"][-1] == 3 and sampler.seen["upd"][-1] == 3, sampler.seen
    check_data(two, named, a.knot)
    assert len(a_records_aws(two.fake, two.zid)) == 1200 + 3
    assert b.find(rf"target ahead, standing down: zone={re.escape(ZONE)} target=aws serial=2 "
                  rf"provider-serial=3:", since=mb)
