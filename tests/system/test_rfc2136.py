"""zonesync's rfc2136 target against real servers taking TSIG-signed dynamic
updates: named (allow-update { key upd; }) and knotd (acl action update),
each started by the test on loopback ports, with knotd as the primary.

After each sync the target's AXFR must equal the view of the primary's zone:
every RRset but the apex SOA and NS (kept by default) and the types a
signing server makes itself (RRSIG, NSEC, NSEC3, NSEC3PARAM, DNSKEY, CDS,
CDNSKEY), one TTL per RRset.

UPDATE messages are counted from the target server's own log: named (run
with -g) logs `signer "upd" approved` once per UPDATE it accepts for
processing; knotd logs `DDNS, processing N updates` for each group of
UPDATE messages it applies."""
import json
import os
import re
import subprocess

import pytest

from conftest import ROOT
from motolab import SignedKnot, describe, synced_lines
from servers import (LOOPBACK, Knot, Process, dig_axfr, dig_soa_serial, free_port, new_secret,
                     read_text, run, wait_soa)

ZONE = "example.com."
APEX = "example.com."
DNSSEC = frozenset("RRSIG NSEC NSEC3 NSEC3PARAM DNSKEY CDS CDNSKEY TYPE65534".split())


def zone_text(serial=1, extra=""):
    return f"""$ORIGIN {ZONE}
$TTL 3600
@       SOA  ns1 hostmaster {serial} 3600 600 1209600 300
        NS   ns1
        NS   ns2.example.net.
        MX   10 mail
        TXT  "v=spf1 mx -all"
ns1     A    192.0.2.53
mail    A    192.0.2.25
mail    AAAA 2001:db8::25
www 300 A    192.0.2.80
www 300 A    192.0.2.81
old     CNAME www
{extra}"""


# The target's own zone before the first push: its SOA and NS are its own.
TARGET_ZONE = f"""$ORIGIN {ZONE}
$TTL 3600
@ SOA ns.target.test. admin.target.test. 1 7200 900 604800 60
@ NS ns.target.test.
"""


# --- target servers ----------------------------------------------------------------

class NamedTarget:
    """named taking updates and AXFR signed with key "upd"."""

    kind = "named"

    def __init__(self, workdir, zone_text, secret=None, keyname="upd", read_only=None):
        """read_only: the name of a second key (same secret) that may
        transfer the zone but not update it."""
        self.dir = str(workdir)
        self.port = free_port()
        self.secret = secret or new_secret()
        self.keyname = keyname
        self.zone_file = os.path.join(self.dir, "target.zone")
        with open(self.zone_file, "w") as f:
            f.write(zone_text)
        d = self.dir
        ro_key = (f'key "{read_only}" {{ algorithm hmac-sha256; secret "{self.secret}"; }};\n'
                  if read_only else "")
        ro_acl = f' key "{read_only}";' if read_only else ""
        conf = f"""key "{keyname}" {{ algorithm hmac-sha256; secret "{self.secret}"; }};
{ro_key}controls {{ }};
options {{
    directory "{d}";
    pid-file "{d}/named.pid";
    session-keyfile "{d}/session.key";
    managed-keys-directory "{d}";
    listen-on port {self.port} {{ {LOOPBACK}; }};
    listen-on-v6 {{ none; }};
    recursion no;
    dnssec-validation no;
    notify no;
    allow-transfer {{ key "{keyname}";{ro_acl} }};
}};
zone "{ZONE}" {{ type primary; file "{self.zone_file}"; allow-update {{ key "{keyname}"; }}; }};
"""
        self.conf = os.path.join(d, "named.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        self.proc = Process("named", ["named", "-g", "-4", "-n", "1", "-c", self.conf],
                            os.path.join(d, "named.out"))

    def start(self):
        self.proc.start()
        wait_soa(self.port, ZONE, 30, proc=self.proc)
        return self

    def stop(self):
        return self.proc.stop()

    def log(self):
        return self.proc.log()

    def lines(self):
        return read_text(self.proc.logpath).splitlines()

    def mark(self):
        return len(self.lines())

    def updates(self, since=0):
        """UPDATE messages taken for processing after the mark."""
        return sum(1 for line in self.lines()[since:]
                   if re.search(r'signer "[^"]+" approved', line))

    def axfr(self):
        return dig_axfr(self.port, ZONE, self.secret, key_name=self.keyname)

    def nsupdate(self, lines):
        script = f"server {LOOPBACK} {self.port}\nzone {ZONE}\n" + \
            "".join(line + "\n" for line in lines) + "send\nquit\n"
        r = run(["nsupdate", "-t", "10", "-y", f"hmac-sha256:{self.keyname}:{self.secret}"],
                input=script, check=False)
        assert r.returncode == 0, f"nsupdate: {r.stdout}{r.stderr}\n{self.log()}"


class KnotTarget:
    """knotd taking updates and AXFR signed with key "upd" (acl action
    [transfer, update])."""

    kind = "knot"

    def __init__(self, workdir, zone_text, secret=None, keyname="upd", read_only=None):
        self.dir = str(workdir)
        self.port = free_port()
        self.secret = secret or new_secret()
        self.keyname = keyname
        d = self.dir
        for sub in ("run", "db", "zones"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        with open(os.path.join(d, "zones", "example.com.zone"), "w") as f:
            f.write(zone_text)
        self.logpath = os.path.join(d, "knotd.log")
        ro_key = (f"  - id: {read_only}\n    algorithm: hmac-sha256\n    secret: {self.secret}\n"
                  if read_only else "")
        ro_acl = (f"  - id: ro\n    address: 127.0.0.0/8\n    key: {read_only}\n"
                  "    action: transfer\n" if read_only else "")
        conf = f"""server:
    rundir: "{d}/run"
    listen: {LOOPBACK}@{self.port}
    background-workers: 1
    udp-workers: 1
    tcp-workers: 1
log:
  - target: "{self.logpath}"
    any: info
database:
    storage: "{d}/db"
key:
  - id: {keyname}
    algorithm: hmac-sha256
    secret: {self.secret}
{ro_key}acl:
  - id: upd
    address: 127.0.0.0/8
    key: {keyname}
    action: [transfer, update]
{ro_acl}template:
  - id: default
    storage: "{d}/zones"
    file: "%s.zone"
    acl: [upd{", ro" if read_only else ""}]
    zonefile-sync: -1
    journal-content: changes
    serial-policy: increment
zone:
  - domain: {ZONE}
"""
        self.conf = os.path.join(d, "knot.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        self.proc = Process("knotd", ["knotd", "-c", self.conf], os.path.join(d, "knotd.out"))

    def start(self):
        self.proc.start()
        wait_soa(self.port, ZONE, 30, proc=self.proc)
        return self

    def stop(self):
        return self.proc.stop()

    def log(self):
        return read_text(self.logpath, 6000) + self.proc.log(2000)

    def lines(self):
        return read_text(self.logpath).splitlines()

    def mark(self):
        return len(self.lines())

    def updates(self, since=0):
        n = 0
        for line in self.lines()[since:]:
            m = re.search(r"DDNS, processing (\d+) updates", line)
            if m:
                n += int(m.group(1))
        return n

    def axfr(self):
        return dig_axfr(self.port, ZONE, self.secret, key_name=self.keyname)

    def nsupdate(self, lines):
        script = f"server {LOOPBACK} {self.port}\nzone {ZONE}\n" + \
            "".join(line + "\n" for line in lines) + "send\nquit\n"
        r = run(["nsupdate", "-t", "10", "-y", f"hmac-sha256:{self.keyname}:{self.secret}"],
                input=script, check=False)
        assert r.returncode == 0, f"nsupdate: {r.stdout}{r.stderr}\n{self.log()}"


# --- zonesync with an rfc2136 target ------------------------------------------------

class UpdZonesync:
    """`zonesync sync/plan` with the primary "p" (knotd, key xfr) and the
    rfc2136 target "t" (by default with the target's key and secret)."""

    def __init__(self, binary, workdir, primary, target, **keys):
        self.bin = binary
        self.dir = str(workdir)
        self.primary = primary
        self.target = target
        self.state = os.path.join(self.dir, "state")
        os.makedirs(self.state, exist_ok=True)
        self.conf = os.path.join(self.dir, "zonesync.yaml")
        self.cmdlog = os.path.join(self.dir, "commands.log")
        self.port = free_port()
        self.write(**keys)

    def write(self, keyname=None, secret=None, **keys):
        """(Re)write the config: the target's key name and secret may be
        other than the server's; keys are more keys of the target."""
        keyname = keyname or self.target.keyname
        tkeys = "".join(f", {k}: {v}" for k, v in keys.items())
        text = f"""server:
  listen: [{LOOPBACK}@{self.port}]
  state: "{self.state}"
  log: {{ level: debug }}
key:
  - {{ id: xfr, algorithm: hmac-sha256, secret: "{self.primary.secret}" }}
  - {{ id: {keyname}, algorithm: hmac-sha256, secret: "{secret or self.target.secret}" }}
primary:
  - {{ id: p, address: [{LOOPBACK}@{self.primary.port}], key: xfr }}
target:
  - {{ id: t, type: rfc2136, address: "{LOOPBACK}@{self.target.port}", key: {keyname}{tkeys} }}
zone:
  - {{ domain: {ZONE}, primary: p, target: [t] }}
"""
        with open(self.conf, "w") as f:
            f.write(text)

    def command(self, *args, timeout=300):
        cmd = [self.bin, args[0], "-c", self.conf, *map(str, args[1:])]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        with open(self.cmdlog, "a") as f:
            f.write(f"$ {' '.join(cmd)}\n[exit {r.returncode}]\n--- stdout\n{r.stdout}"
                    f"--- stderr\n{r.stderr}\n")
        return r

    def sync(self, *args, rc=0, **kw):
        r = self.command("sync", *args, **kw)
        assert r.returncode == rc, f"zonesync sync: expected exit {rc}: {describe(r)}"
        for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
            assert marker not in r.stderr, describe(r)
        return r

    def plan(self, rc=None):
        r = self.command("plan", "--json")
        if rc is not None:
            assert r.returncode == rc, f"zonesync plan: expected exit {rc}: {describe(r)}"
        try:
            return json.loads(r.stdout)
        except ValueError:
            raise AssertionError(f"plan --json printed no JSON: {describe(r)}") from None

    def stop(self):
        pass

    def log(self):
        return read_text(self.cmdlog, 12000)


def writes(r):
    """The writes= of the 'target synced' line of a sync."""
    m = re.findall(r"target synced: .* writes=(\d+)", r.stderr)
    assert len(m) == 1, describe(r)
    return int(m[0])


# --- views --------------------------------------------------------------------------------

def view(records, apex_ns="keep", soa_serial="keep"):
    """{(owner, TYPE): (ttl, frozenset(rdata))} of what the target should
    hold (or holds) of these records; the SOA is left out always (with
    mirror its serial is compared apart: the rest of it is the target's)."""
    sets = {}
    for owner, ttl, rdtype, rdata in records:
        if rdtype in DNSSEC:
            continue
        if owner == APEX and (rdtype == "SOA" or (rdtype == "NS" and apex_ns == "keep")):
            continue
        cur = sets.setdefault((owner, rdtype), [ttl, set()])
        cur[0] = min(cur[0], ttl)
        cur[1].add(rdata)
    return {k: (v[0], frozenset(v[1])) for k, v in sets.items()}


def view_diff(got, want):
    lines = []
    for k in sorted(set(got) | set(want)):
        if got.get(k) != want.get(k):
            lines.append(f"  {k}: target {got.get(k)}; want {want.get(k)}")
    return f"{len(lines)} RRsets differ:\n" + "\n".join(lines[:40])


def apex_of(records, rdtype):
    return sorted(r[3] for r in records if r[0] == APEX and r[2] == rdtype)


def assert_in_sync(target, primary, **rules):
    got = view(target.axfr(), **rules)
    want = view(primary.axfr(ZONE), **rules)
    assert got == want, f"{target.kind} target differs from the view:\n{view_diff(got, want)}"
    return got


# --- fixtures -------------------------------------------------------------------------------

class Lab:
    def __init__(self, tmp_path, binary):
        self.tmp = tmp_path
        self.bin = binary
        self.servers = []

    def _dir(self, name):
        d = self.tmp / f"{name}{len(self.servers)}"
        d.mkdir()
        return d

    def add(self, s):
        self.servers.append(s)
        return s

    def primary(self, text, signed=False):
        cls = SignedKnot if signed else Knot
        return self.add(cls(self._dir("primary"), {ZONE: text}, free_port(),
                            notify=False)).start()

    def target(self, kind, text=TARGET_ZONE, **kw):
        cls = NamedTarget if kind == "named" else KnotTarget
        return self.add(cls(self._dir(kind), text, **kw)).start()

    def zonesync(self, primary, target, **kw):
        return self.add(UpdZonesync(self.bin, self._dir("zonesync"), primary, target, **kw))

    def close(self):
        for s in reversed(self.servers):
            try:
                s.stop()
            except Exception as e:  # keep stopping the others
                print(f"stopping {type(s).__name__}: {e}")
        for s in self.servers:
            print(f"===== {type(s).__name__} log =====")
            print(s.log())


@pytest.fixture
def lab(tmp_path, zonesync):  # noqa: ARG001 (checks the binary exists)
    binary = os.environ.get("ZONESYNC_BIN", os.path.join(ROOT, "build", "zonesync"))
    lab = Lab(tmp_path, binary)
    yield lab
    lab.close()


# --- 1. first sync, then changes ---------------------------------------------------------------

@pytest.mark.parametrize("kind", ["named", "knot"])
def test_first_sync_then_changes(lab, kind):
    """A first (full) sync into the target's own zone, then additions,
    changes, deletions and CNAMEs replacing other data (and back), each by an
    incremental sync of exactly one UPDATE; the target's AXFR equals the view
    after each, its own apex SOA and NS untouched."""
    knot = lab.primary(zone_text(1))
    target = lab.target(kind)
    own_soa, own_ns = apex_of(target.axfr(), "SOA"), apex_of(target.axfr(), "NS")
    zs = lab.zonesync(knot, target)

    mark = target.mark()
    r = zs.sync()
    got = assert_in_sync(target, knot)
    assert ("www.example.com.", "A") in got
    assert [(x[1], x[2], x[3]) for x in synced_lines(r.stderr, ZONE)] == [("t", 1, "full")], \
        describe(r)
    assert target.updates(mark) == 1 == writes(r), describe(r)
    axfr = target.axfr()
    assert apex_of(axfr, "NS") == own_ns, "apex-ns: keep touched the apex NS"
    soa = apex_of(axfr, "SOA")[0].split()
    assert soa[:2] + soa[3:] == own_soa[0].split()[:2] + own_soa[0].split()[3:]

    steps = [
        # additions: a new name, a new type at a name, an RRset at the apex
        dict(set=[("new", 300, "A", "192.0.2.1"), ("new", 300, "A", "192.0.2.2"),
                  ("new", 600, "TXT", '"hello world" "two"'),
                  ("mail", 3600, "TXT", '"mail host"'),
                  ("example.com.", 3600, "AAAA", "2001:db8::1"),
                  ("_sip._tcp", 300, "SRV", "10 60 5060 sip.example.com.")]),
        # changes: a value, a TTL, a value added to a set, a CNAME target
        dict(unset=[("www", "A", "192.0.2.81"), ("mail", "AAAA"), ("old", "CNAME")],
             set=[("www", 300, "A", "192.0.2.82"), ("mail", 60, "AAAA", "2001:db8::25"),
                  ("new", 300, "A", "192.0.2.3"), ("old", 3600, "CNAME", "new.example.com.")]),
        # a CNAME replacing an A and a TXT, an A replacing a CNAME
        dict(unset=[("new", "A"), ("new", "TXT"), ("old", "CNAME")],
             set=[("new", 300, "CNAME", "www.example.com."), ("old", 300, "A", "192.0.2.9")]),
        # deletions: a whole RRset, a whole name, a value of a set
        dict(unset=[("_sip._tcp", "SRV"), ("mail", "TXT"), ("www", "A", "192.0.2.80")]),
    ]
    for step in steps:
        serial = knot.change(ZONE, **step)
        mark = target.mark()
        r = zs.sync()
        assert_in_sync(target, knot)
        s = synced_lines(r.stderr, ZONE)
        assert [(x[1], x[2], x[3]) for x in s] == [("t", serial, "incremental")], describe(r)
        assert target.updates(mark) == 1 == writes(r), describe(r)

    got = view(target.axfr())
    assert got[("new.example.com.", "CNAME")] == (300, frozenset({"www.example.com."}))
    assert ("new.example.com.", "A") not in got and ("new.example.com.", "TXT") not in got
    assert got[("old.example.com.", "A")] == (300, frozenset({"192.0.2.9"}))
    assert got[("www.example.com.", "A")] == (300, frozenset({"192.0.2.82"}))
    assert got[("mail.example.com.", "AAAA")] == (60, frozenset({"2001:db8::25"}))
    assert apex_of(target.axfr(), "NS") == own_ns

    # Nothing new on the primary: nothing sent.
    mark = target.mark()
    zs.sync()
    assert target.updates(mark) == 0


# --- 2. message counts ----------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["named", "knot"])
def test_big_zone_then_one_record_is_one_update(lab, kind):
    """5,000 names: the first sync fills 64 KiB messages (as many as the
    bytes need, give or take one); then a one-record change is exactly one
    UPDATE message, with no AXFR of the target."""
    extra = "".join(f"h{i} 300 A 192.0.2.{i % 250 + 1}\n" for i in range(5000))
    knot = lab.primary(zone_text(1, extra))
    target = lab.target(kind)
    zs = lab.zonesync(knot, target)
    mark = target.mark()
    r = zs.sync()
    n = target.updates(mark)
    # An A record "hNNNN" costs ~22 bytes: 5,000 of them ~110 KB, 2 messages.
    assert 2 <= n <= 3 and n == writes(r), describe(r)
    got = assert_in_sync(target, knot)
    assert len(got) == 5000 + 7

    serial = knot.change(ZONE, set=[("h17", 300, "A", "192.0.2.250")])
    mark = target.mark()
    r = zs.sync()
    assert target.updates(mark) == 1, describe(r)
    s = synced_lines(r.stderr, ZONE)
    assert [(x[2], x[3], x[4], x[5]) for x in s] == [(serial, "incremental", 1, 1)], describe(r)
    assert "reads=0" in r.stderr, describe(r)
    got = view(target.axfr())
    assert got[("h17.example.com.", "A")] == (300, frozenset({"192.0.2.18", "192.0.2.250"}))


def test_batch_size_caps_changes_per_message(lab):
    """batch-size: 100 -> 450 RRsets in 5 messages."""
    extra = "".join(f"h{i} 300 A 192.0.2.{i % 250 + 1}\n" for i in range(443))
    knot = lab.primary(zone_text(1, extra))  # 443 + 7 RRsets in the view
    target = lab.target("named")
    zs = lab.zonesync(knot, target, **{"batch-size": 100})
    mark = target.mark()
    r = zs.sync()
    assert target.updates(mark) == 5 == writes(r), describe(r)
    assert_in_sync(target, knot)


# --- 3. behind zonesync's back ----------------------------------------------------------------

@pytest.mark.parametrize("kind", ["named", "knot"])
def test_changed_behind_the_back(lab, kind):
    """Records changed on the target with nsupdate: plan shows them (and
    writes nothing); an incremental sync leaves the untouched ones alone; the
    next full push (a zonesync with a fresh state) puts them back."""
    knot = lab.primary(zone_text(1))
    target = lab.target(kind)
    zs = lab.zonesync(knot, target)
    zs.sync()
    target.nsupdate(["update delete www.example.com. A",
                     "update add www.example.com. 60 A 192.0.2.99",
                     "update add stray.example.com. 120 TXT \"stray\"",
                     "update delete mail.example.com. AAAA"])

    mark = target.mark()
    plan = zs.plan(rc=3)
    assert target.updates(mark) == 0, "plan sent an UPDATE"
    (z,) = plan["zones"]
    (t,) = z["targets"]
    assert t["target"] == "t" and t["type"] == "rfc2136" and t["error"] is None, plan
    changes = {(c["action"], c["name"], c["type"]): c for c in t["changes"]}
    assert set(changes) == {("update", "www.example.com.", "A"),
                            ("delete", "stray.example.com.", "TXT"),
                            ("add", "mail.example.com.", "AAAA")}, plan
    upd = changes[("update", "www.example.com.", "A")]
    assert upd["old"] == {"ttl": 60, "values": ["192.0.2.99"]}, upd
    assert upd["new"]["ttl"] == 300 and sorted(upd["new"]["values"]) == \
        ["192.0.2.80", "192.0.2.81"], upd
    assert t["summary"] == {"add": 1, "update": 1, "delete": 1}, plan

    # A change elsewhere: incremental, the drift stays (only a full push
    # compares the target's records).
    knot.change(ZONE, set=[("other", 300, "A", "192.0.2.77")])
    zs.sync()
    assert ("stray.example.com.", "TXT") in view(target.axfr())

    # A fresh state is first contact, which deletes nothing unless told
    # (test_first_contact.py): adopt: replace makes it the full push that
    # puts everything back.
    fresh = lab.zonesync(knot, target, adopt="replace")
    mark = target.mark()
    r = fresh.sync()
    assert [x[3] for x in synced_lines(r.stderr, ZONE)] == ["full"], describe(r)
    assert target.updates(mark) == 1, describe(r)
    assert_in_sync(target, knot)
    assert fresh.plan(rc=0)["changes"] == 0


# --- 4. keys -------------------------------------------------------------------------------

def test_wrong_key(lab):
    """A wrong secret: the read fails with a TSIG error naming the server; an
    incremental push (no read) fails on its first UPDATE with BADSIG, an
    unknown key name with BADKEY.  Nothing changes on the target, the exit
    status is 1, and the right key afterwards mends the target by a full
    push."""
    knot = lab.primary(zone_text(1))
    target = lab.target("named")
    where = f"{LOOPBACK}@{target.port}"
    before = view(target.axfr())

    bad = lab.zonesync(knot, target, secret=new_secret())
    r = bad.sync(rc=1)
    assert re.search(r"target failed: .*target=t .*error=\"reading the zone by AXFR: "
                     + re.escape(where) + ".*TSIG", r.stderr), describe(r)
    assert view(target.axfr()) == before

    zs = lab.zonesync(knot, target)
    for step, (keys, error) in enumerate([
            ({"secret": new_secret()}, "BADSIG (the secret differs from the server's)"),
            ({"keyname": "nokey"}, "BADKEY (the server does not know this key name")]):
        # Clean at the primary's serial with the right key (a failed push
        # leaves the target dirty: the next push reads it first).
        zs.write()
        zs.sync()
        zs.write(**keys)
        knot.change(ZONE, set=[(f"x{step}", 300, "A", "192.0.2.1")])
        mark = target.mark()
        r = zs.sync(rc=1)
        key = keys.get("keyname", "upd")
        assert re.search(r"target failed: .*error=\"UPDATE 1 of 1 to " + re.escape(where) +
                         rf" \(1 change: x{step}\.example\.com\. A\): " + re.escape(where) +
                         rf": the server refused TSIG key {key}\.: " + re.escape(error),
                         r.stderr), describe(r)
        assert (f"x{step}.example.com.", "A") not in view(target.axfr())
        assert target.updates(mark) == 0

    # The right key again: the target was left dirty, a full push mends it.
    zs.write()
    r = zs.sync()
    assert [x[3] for x in synced_lines(r.stderr, ZONE)] == ["full"], describe(r)
    assert_in_sync(target, knot)


@pytest.mark.parametrize("kind", ["named", "knot"])
def test_key_not_allowed_to_update(lab, kind):
    """A key the server knows and lets transfer the zone but not update it:
    the UPDATE is refused (named: REFUSED; knotd: NOTAUTH with the TSIG
    error BADKEY), said with a hint."""
    knot = lab.primary(zone_text(1))
    target = lab.target(kind, read_only="ro")
    before = view(target.axfr())
    zs = lab.zonesync(knot, target, keyname="ro")
    r = zs.sync(rc=1)
    where = re.escape(f"{LOOPBACK}@{target.port}")
    refusal = {"named": r"answered REFUSED \(the server refused the update: may this key",
               "knot": where + r": the server refused TSIG key ro\.: BADKEY \(.*no acl"}[kind]
    assert re.search(rf"error=\"UPDATE 1 of 1 to {where} \(\d+ changes: .*\): " + refusal,
                     r.stderr), describe(r)
    assert view(target.axfr()) == before


# --- 5. apex ---------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["named", "knot"])
def test_soa_mirror_and_apex_ns_sync(lab, kind):
    """soa-serial: mirror gives the target the primary's serial and keeps the
    rest of its SOA; apex-ns: sync makes the apex NS the primary's (the old
    one deleted by itself, after the new are in)."""
    knot = lab.primary(zone_text(2024010101))
    target = lab.target(kind)
    own = apex_of(target.axfr(), "SOA")[0].split()
    zs = lab.zonesync(knot, target, **{"soa-serial": "mirror", "apex-ns": "sync"})
    r = zs.sync()
    axfr = target.axfr()
    soa = apex_of(axfr, "SOA")[0].split()
    assert soa[2] == "2024010101", describe(r)
    assert soa[:2] + soa[3:] == own[:2] + own[3:], "only the serial changes"
    assert apex_of(axfr, "NS") == ["ns1.example.com.", "ns2.example.net."], describe(r)
    assert_in_sync(target, knot, apex_ns="sync")

    serial = knot.change(ZONE, set=[("x", 300, "A", "192.0.2.7"),
                                    (APEX, 3600, "NS", "ns3.example.org.")],
                         unset=[(APEX, "NS", "ns2.example.net.")])
    mark = target.mark()
    r = zs.sync()
    assert target.updates(mark) == 1, describe(r)
    axfr = target.axfr()
    assert apex_of(axfr, "SOA")[0].split()[2] == str(serial)
    assert apex_of(axfr, "NS") == ["ns1.example.com.", "ns3.example.org."]
    assert_in_sync(target, knot, apex_ns="sync")
    assert zs.plan(rc=0)["changes"] == 0


# soa-serial: mirror when the server is at or above the primary's serial (or
# gets there by the messages of a push): the server takes no lower serial and
# raises its own at every UPDATE that does not, so zonesync steps it around the
# serial ring to the primary's, each step an RFC 1982 increase (less than 2^31).

STEP_RE = re.compile(r"rfc2136 serial step: zone=(\S+) target=(\S+) server=(\S+) "
                     r"from=(\d+) to=(\d+)")


def serial_steps(r):
    """[(from, to)] of the serial steps a sync logged."""
    return [(int(m.group(4)), int(m.group(5))) for m in STEP_RE.finditer(r.stderr)]


def assert_steps(r, start, want):
    """The sync stepped the serial from start to want: a chain of RFC 1982
    increases, as few as can do it (each at most 2^31 - 1)."""
    steps = serial_steps(r)
    assert steps, f"no serial step logged: {describe(r)}"
    assert steps[0][0] == start and steps[-1][1] == want, f"{steps}: {describe(r)}"
    assert all(a[1] == b[0] for a, b in zip(steps, steps[1:])), steps
    assert all(0 < (b - a) % 2**32 < 2**31 for a, b in steps), steps
    distance = (want - start) % 2**32
    assert len(steps) == -(-distance // (2**31 - 1)), steps
    return steps


def assert_mirrored(target, primary, serial, own=None):
    """The target serves exactly the primary's serial (dig and AXFR), keeps
    the rest of its own SOA, and holds the view of the primary's records."""
    assert dig_soa_serial(target.port, ZONE, tcp=True) == serial
    soa = apex_of(target.axfr(), "SOA")[0].split()
    assert int(soa[2]) == serial, soa
    if own is not None:
        assert soa[:2] + soa[3:] == own[:2] + own[3:], "only the serial changes"
    assert_in_sync(target, primary)


@pytest.mark.parametrize("kind", ["named", "knot"])
def test_soa_mirror_target_ahead_steps_down(lab, kind):
    """The target's serial 1000, the primary's 5: a target ahead is another
    writer's (TWO HOSTS in zonesync(8)), so sync stands down and writes
    nothing.  Forced, the records go in one UPDATE (the server raises its
    serial to 1001), then SOA-only UPDATEs step it around the ring to 5
    (1001 -> 2147484648 -> 5), each logged.  The next sync and plan find
    nothing to do."""
    knot = lab.primary(zone_text(5))
    target = lab.target(kind, text=TARGET_ZONE.replace(" 1 7200 ", " 1000 7200 "))
    own = apex_of(target.axfr(), "SOA")[0].split()
    zs = lab.zonesync(knot, target, **{"soa-serial": "mirror"})
    mark = target.mark()
    r = zs.sync()
    assert "stood down: the target is at serial 1000, ahead of 5" in r.stdout, describe(r)
    assert "target ahead, standing down: zone=example.com. target=t serial=5 " \
        "provider-serial=1000:" in r.stderr, describe(r)
    assert target.updates(mark) == 0 and dig_soa_serial(target.port, ZONE, tcp=True) == 1000
    r = zs.sync("--force")
    assert_mirrored(target, knot, 5, own)
    steps = assert_steps(r, 1001, 5)
    assert steps == [(1001, 2147484648), (2147484648, 5)], describe(r)
    assert all(re.search(rf"rfc2136 serial step: zone={re.escape(ZONE)} target=t "
                         rf"server=127\.0\.0\.1@{target.port} from={a} to={b}", r.stderr)
               for a, b in steps), describe(r)
    assert target.updates(mark) == 1 + len(steps) == writes(r), describe(r)

    mark = target.mark()
    assert zs.plan(rc=0)["changes"] == 0
    r = zs.sync()
    assert target.updates(mark) == 0 and not serial_steps(r), describe(r)
    assert zs.command("verify").returncode == 0


@pytest.mark.parametrize("kind", ["named", "knot"])
def test_soa_mirror_equal_serial_at_first_push(lab, kind):
    """The reported bug: at the first push the target's serial equals the
    primary's, so no SOA goes, and the server raises its serial with the
    records (to 8), one ahead of the primary for good.  Now it is stepped back
    to 7 (8 -> 2^31 + 7 -> 2^32 - 1 + 7 = 6 -> 7: one ahead is three steps),
    and a second sync or plan finds nothing."""
    knot = lab.primary(zone_text(7))
    target = lab.target(kind, text=TARGET_ZONE.replace(" 1 7200 ", " 7 7200 "))
    own = apex_of(target.axfr(), "SOA")[0].split()
    zs = lab.zonesync(knot, target, **{"soa-serial": "mirror"})
    mark = target.mark()
    r = zs.sync()
    assert_mirrored(target, knot, 7, own)
    assert_steps(r, 8, 7) == [(8, 2**31 + 7), (2**31 + 7, 6), (6, 7)]
    assert target.updates(mark) == 4, describe(r)

    mark = target.mark()
    assert zs.plan(rc=0)["changes"] == 0
    r = zs.sync()
    assert target.updates(mark) == 0, describe(r)
    assert zs.command("verify").returncode == 0
    assert dig_soa_serial(target.port, ZONE, tcp=True) == 7


@pytest.mark.parametrize("kind", ["named", "knot"])
def test_soa_mirror_messages_raise_past_the_primary(lab, kind):
    """7 RRsets, 2 per message: 4 messages; the server is at 1, the primary
    at 3: the first three raise the server to 4, the SOA of the last is
    ignored and its records raise it to 5.  The push then steps it to 3
    (5 -> 2147483652 -> 3).  A later change on the primary (serial 4) goes in
    one message with the SOA, no step."""
    knot = lab.primary(zone_text(3))
    target = lab.target(kind)
    zs = lab.zonesync(knot, target, **{"soa-serial": "mirror", "batch-size": 2})
    mark = target.mark()
    r = zs.sync()
    assert_mirrored(target, knot, 3)
    assert_steps(r, 5, 3) == [(5, 2147483652), (2147483652, 3)]
    assert target.updates(mark) == 4 + 2 == writes(r), describe(r)
    assert zs.plan(rc=0)["changes"] == 0

    serial = knot.change(ZONE, set=[("x", 300, "A", "192.0.2.7")])
    mark = target.mark()
    r = zs.sync()
    assert_mirrored(target, knot, serial)
    assert target.updates(mark) == 1 and not serial_steps(r), describe(r)


@pytest.mark.parametrize("kind", ["named", "knot"])
def test_soa_mirror_keep_never_steps(lab, kind):
    """soa-serial: keep leaves the server's serial its own: ahead of the
    primary's, raised by the push, never stepped."""
    knot = lab.primary(zone_text(5))
    target = lab.target(kind, text=TARGET_ZONE.replace(" 1 7200 ", " 1000 7200 "))
    zs = lab.zonesync(knot, target)
    mark = target.mark()
    r = zs.sync()
    assert not serial_steps(r), describe(r)
    assert target.updates(mark) == 1, describe(r)
    assert dig_soa_serial(target.port, ZONE, tcp=True) == 1001
    assert_in_sync(target, knot)


@pytest.mark.parametrize("kind", ["named", "knot"])
def test_verify_names_a_serial_changed_behind_the_back(lab, kind):
    """soa-serial: mirror: verify compares the target's SOA serial with the
    primary's.  An nsupdate that raises the target's serial makes verify exit
    1 naming the apex SOA; a sync that reads the target (a fresh state) steps
    the serial back when forced (no record to push: SOA-only UPDATEs; unforced
    it stands down: the target ahead is another writer's), and verify exits
    0; the same after a change on the primary."""
    knot = lab.primary(zone_text(5))
    target = lab.target(kind)
    zs = lab.zonesync(knot, target, **{"soa-serial": "mirror"})
    zs.sync()
    assert_mirrored(target, knot, 5)
    r = zs.command("verify")
    assert r.returncode == 0 and "same as the primary, serial 5" in r.stdout, describe(r)

    target.nsupdate([f"update add {APEX} 3600 SOA ns.target.test. admin.target.test. 50 "
                     "7200 900 604800 60"])
    assert dig_soa_serial(target.port, ZONE, tcp=True) == 50
    r = zs.command("verify")
    assert r.returncode == 1, describe(r)
    assert "1 RRset differs from the primary's serial 5 (0 missing, 1 different" in r.stdout, \
        describe(r)
    assert f"~ {APEX} SOA\n" in r.stdout, describe(r)
    assert re.search(r"- example\.com\. \d+ IN SOA ns\.target\.test\. admin\.target\.test\. 50 ",
                     r.stdout), describe(r)
    assert re.search(r"\+ example\.com\. \d+ IN SOA ns\.target\.test\. admin\.target\.test\. 5 ",
                     r.stdout), describe(r)

    # Ahead, the target is another writer's: only a forced sync moves it.
    fresh = lab.zonesync(knot, target, **{"soa-serial": "mirror"})
    mark = target.mark()
    r = fresh.sync()
    assert "stood down" in r.stdout and target.updates(mark) == 0, describe(r)
    r = fresh.sync("--force")
    assert_mirrored(target, knot, 5)
    assert_steps(r, 50, 5)
    assert target.updates(mark) == 2, describe(r)
    r = fresh.command("verify")
    assert r.returncode == 0, describe(r)

    # Raised again, then a change on the primary (serial 6, below 50): the
    # record goes in, the server raises itself to 51, and is stepped to 6.
    target.nsupdate([f"update add {APEX} 3600 SOA ns.target.test. admin.target.test. 50 "
                     "7200 900 604800 60"])
    serial = knot.change(ZONE, set=[("y", 300, "A", "192.0.2.8")])
    r = fresh.sync("--force")
    assert_mirrored(target, knot, serial)
    assert_steps(r, 51, serial)
    assert fresh.command("verify").returncode == 0


# --- 6. what a signing server makes is left alone ----------------------------------------------

def test_signed_primary_dnssec_types_skipped(lab):
    """A primary that signs (knotd: RRSIG, NSEC, DNSKEY, CDS, CDNSKEY): those
    types are skipped and reported by plan, the ordinary records sync."""
    knot = lab.primary(zone_text(1, 'txt TXT "signed"\n'), signed=True)
    assert {"RRSIG", "NSEC", "DNSKEY"} <= {r[2] for r in knot.axfr(ZONE)}, "not signed"
    target = lab.target("named")
    zs = lab.zonesync(knot, target)
    zs.sync()
    types = {r[2] for r in target.axfr()}
    assert not types & DNSSEC, types
    assert_in_sync(target, knot)
    plan = zs.plan(rc=0)
    (t,) = plan["zones"][0]["targets"]
    for rdtype in ("RRSIG", "NSEC", "DNSKEY"):
        assert t["skipped"].get(rdtype, 0) > 0, t
