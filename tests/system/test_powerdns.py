"""zonesync's powerdns target against a real pdns_server (gsqlite3 backend,
its HTTP API on a loopback port), with knotd as the primary.  What PowerDNS
holds is read back by AXFR from its own DNS port and compared with the view
of the primary's zone: every RRset but the DNSSEC records PowerDNS makes
itself (and the few types it only reads in its own text), one TTL per RRset
(the minimum), the apex SOA and NS included.

API requests are counted from pdns_server's log (webserver-loglevel=normal
and loglevel=6 give one line per request:
    127.0.0.1:37180 "PATCH /api/v1/servers/localhost/zones/example.com. HTTP/1.1" 204 306

Each test has its own pdns_server, knotd, zonesync state and ports; every
process is stopped at the end of the test and the logs printed (pytest shows
them on failure)."""
import http.server
import json
import os
import pty
import re
import socket
import struct
import subprocess
import threading
import time
import urllib.request

import pytest

from conftest import ROOT
from motolab import describe, synced_lines
from servers import LOOPBACK, Knot, PdnsApi, Zonesync, ZonesyncCommands, free_port, wait_until
from servers import PDNS_API_KEY as API_KEY
from servers import dig_axfr_generic as axfr

ZONE = "example.com."

# Types left to PowerDNS (DNSSEC) or that it reads only in its own text.
NOT_SYNCED = frozenset("RRSIG NSEC NSEC3 NSEC3PARAM DNSKEY CDS CDNSKEY MB MG MR RKEY DLV".split())


def zone_text(serial=1, extra="", origin=ZONE):
    return f"""$ORIGIN {origin}
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


# --- views -----------------------------------------------------------------------------

def view_of(records, soa="full"):
    """{(owner, TYPE): (ttl, frozenset(rdata))} of records {(owner, ttl, TYPE,
    rdata)}, DNSSEC and the types not synced left out, one TTL per RRset (the
    minimum).  soa="serial": the apex SOA as its serial only."""
    sets = {}
    for owner, ttl, rdtype, rdata in records:
        if rdtype in NOT_SYNCED:
            continue
        if rdtype == "SOA" and soa == "serial":
            rdata = rdata.split()[2]
        cur = sets.setdefault((owner, rdtype), [None, set()])
        cur[0] = ttl if cur[0] is None else min(cur[0], ttl)
        cur[1].add(rdata)
    return {k: (v[0], frozenset(v[1])) for k, v in sets.items()}


def view_diff(got, want):
    lines = []
    for k in sorted(set(got) | set(want)):
        g, w = got.get(k), want.get(k)
        if g != w:
            fmt = lambda v: "absent" if v is None else f"ttl={v[0]} {sorted(v[1])}"  # noqa: E731
            lines.append(f"  {k[0]} {k[1]}: pdns {fmt(g)}; want {fmt(w)}")
    return f"{len(lines)} RRsets differ:\n" + "\n".join(lines[:40])


def assert_in_sync(pdns, knot, zone=ZONE, soa="serial"):
    """What pdns_server serves equals the view of the primary's zone.  The
    SOA is compared by serial only unless soa="full" (a zone zonesync did not
    create keeps PowerDNS's own SOA fields: see the report on the engine)."""
    got = view_of(pdns.axfr(zone), soa)
    want = view_of(axfr(knot.port, zone, knot.secret), soa)
    assert got == want, f"pdns differs from the view of {zone}:\n{view_diff(got, want)}"
    return got


# --- zonesync with a powerdns target ----------------------------------------------------

def _yaml_str(s):
    return json.dumps(str(s))


class PdnsZonesync(ZonesyncCommands, Zonesync):
    """zonesync with powerdns targets: targets = [{"id": "pdns", ...}] (type
    powerdns, the url and an api-key-file are added unless given)."""

    def __init__(self, binary, workdir, pdns, primary, targets=None, zones=None, env=None):
        super().__init__(binary, workdir,
                         [{"id": "p", "address": f"[{LOOPBACK}@{primary.port}]", "key": "xfr"}],
                         [], keys={"xfr": primary.secret})
        self.env = dict(os.environ, **(env or {}))
        self.proc.env = self.env
        keyfile = os.path.join(self.dir, "api.key")
        with open(keyfile, "w") as f:
            f.write(f"  {API_KEY}  \nsecond line ignored\n")
        targets = targets if targets is not None else [{"id": "pdns"}]
        zones = zones if zones is not None else [{"domain": ZONE}]
        lines = ["server:",
                 f"  listen: [{LOOPBACK}@{self.port}]",
                 f"  state: {_yaml_str(self.state)}",
                 "  log: { level: debug }",
                 "  notify-rate-limit: 0",
                 "key:",
                 f"  - {{ id: xfr, algorithm: hmac-sha256, secret: {primary.secret} }}",
                 "primary:",
                 f"  - {{ id: p, address: [{LOOPBACK}@{primary.port}], key: xfr }}",
                 "target:"]
        for t in targets:
            t = {"type": "powerdns", "url": pdns.url, **t}
            if "api-key-env" not in t and "api-key-file" not in t:
                t["api-key-file"] = keyfile
            t = {k: v for k, v in t.items() if v is not None}
            lines.append(f"  - id: {t.pop('id')}")
            for k, v in t.items():
                lines.append(f"    {k}: {_yaml_str(v) if isinstance(v, str) else v}")
        lines.append("zone:")
        for z in zones:
            z = {"primary": "p", "target": "[pdns]", **z}
            lines.append("  - { " + ", ".join(f"{k}: {v}" for k, v in z.items()) + " }")
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")


class Lab:
    """The servers of one test, stopped in reverse order at teardown."""

    def __init__(self, tmp_path, binary):
        self.tmp = tmp_path
        self.bin = binary
        self.servers = []

    def _dir(self, name):
        d = self.tmp / f"{name}{len(self.servers)}"
        d.mkdir()
        return d

    def add(self, server):
        self.servers.append(server)
        return server

    def knot(self, zones):
        return self.add(Knot(self._dir("knot"), zones, free_port(), notify=False)).start()

    def pdns(self, **kw):
        return self.add(PdnsApi(self._dir("pdns"), **kw)).start()

    def zonesync(self, pdns, primary, **kw):
        return self.add(PdnsZonesync(self.bin, self._dir("zonesync"), pdns, primary, **kw))

    def close(self):
        for s in reversed(self.servers):
            try:
                s.stop()
            except Exception as e:  # keep stopping the others
                print(f"stopping {type(s).__name__}: {e}")
        for s in self.servers:
            print(f"===== {type(s).__name__} log =====")
            print(s.log())
        problems = [p for s in self.servers if isinstance(s, Zonesync) for p in s.problems()]
        assert not problems, f"zonesync: {problems}"


@pytest.fixture
def lab(tmp_path, zonesync):
    binary = os.environ.get("ZONESYNC_BIN", os.path.join(ROOT, "build", "zonesync"))
    lab = Lab(tmp_path, binary)
    yield lab
    lab.close()


def sync_ok(zs, *args, **kw):
    r = zs.sync(*args, **kw)
    assert r.returncode == 0, f"zonesync sync {' '.join(args)}: {describe(r)}"
    return r


def plan_json(zs, *args, rc=None):
    r = zs.plan(*args)
    if rc is not None:
        assert r.returncode == rc, f"zonesync plan: expected exit {rc}: {describe(r)}"
    try:
        return json.loads(r.stdout)
    except ValueError:
        raise AssertionError(f"zonesync plan --json printed no JSON: {describe(r)}") from None


def plan_target(plan, zone=ZONE, target="pdns"):
    (z,) = [z for z in plan["zones"] if z["zone"] == zone]
    (t,) = [t for t in z["targets"] if t["target"] == target]
    return t


def start_all(lab, extra="", create=True, **kw):
    """knotd with the zone, pdns_server with the zone made through its API
    (SOA-EDIT-API off), zonesync between them."""
    knot = lab.knot({ZONE: zone_text(1, extra)})
    pdns = lab.pdns()
    if create:
        pdns.create_zone()
    zs = lab.zonesync(pdns, knot, **kw)
    return knot, pdns, zs


# --- 1. first sync, then changes, each one PATCH ---------------------------------------------

def test_first_sync_then_changes(lab):
    """A first sync from knotd, then records added, changed and deleted, a
    CNAME replacing an A and back: each change arrives, what pdns_server
    serves equals the view, and each change costs exactly one PATCH."""
    knot, pdns, zs = start_all(lab)
    mark = pdns.mark()
    r = sync_ok(zs)
    assert pdns.requests(mark).get("PATCH") == 1, (pdns.requests(mark), describe(r))
    got = assert_in_sync(pdns, knot)
    assert got[("www.example.com.", "A")] == (300, frozenset({"192.0.2.80", "192.0.2.81"}))
    assert ("example.com.", "NS") in got  # apex NS: PowerDNS holds a full copy
    assert [(x[1], x[2]) for x in synced_lines(r.stderr, ZONE)] == [("pdns", 1)], describe(r)

    steps = [
        dict(set=[("new", 300, "A", "192.0.2.1"), ("new", 600, "TXT", '"hello world" "two"'),
                  ("_sip._tcp", 300, "SRV", "10 60 5060 sip.example.com.")]),
        dict(unset=[("www", "A", "192.0.2.81")], set=[("www", 300, "A", "192.0.2.82")]),
        dict(unset=[("mail", "AAAA")], set=[("mail", 60, "AAAA", "2001:db8::25")]),
        dict(unset=[("new", "TXT"), ("_sip._tcp", "SRV")]),
        # A CNAME replacing an A (PowerDNS refuses a CNAME beside other data:
        # the DELETE goes first in the one PATCH), then an A replacing it.
        dict(unset=[("new", "A")], set=[("new", 300, "CNAME", "www.example.com.")]),
        dict(unset=[("new", "CNAME")], set=[("new", 300, "A", "192.0.2.9")]),
    ]
    for step in steps:
        serial = knot.change(ZONE, **step)
        mark = pdns.mark()
        r = sync_ok(zs)
        reqs = pdns.requests(mark)
        assert reqs.get("PATCH") == 1 and reqs.get("POST", 0) == 0, (step, reqs, describe(r))
        got = assert_in_sync(pdns, knot)
        assert [x[2] for x in synced_lines(r.stderr, ZONE)] == [serial], describe(r)
    assert got[("new.example.com.", "A")] == (300, frozenset({"192.0.2.9"}))
    assert ("new.example.com.", "CNAME") not in got
    assert got[("mail.example.com.", "AAAA")] == (60, frozenset({"2001:db8::25"}))
    # The SOA carries the primary's serial.
    soa = [k for k in got if k[1] == "SOA"]
    assert got[soa[0]][1] == frozenset({str(knot.serial(ZONE))})

    # Nothing new on the primary: nothing sent.
    mark = pdns.mark()
    sync_ok(zs)
    assert pdns.requests(mark).get("PATCH", 0) == 0


def test_one_record_change_is_one_patch(lab):
    """2,000 records: the first sync in one PATCH (the default batch is the
    whole change), then a one-record change in exactly one PATCH."""
    extra = "".join(f"h{i} 300 A 192.0.2.{i % 250 + 1}\n" for i in range(2000))
    knot, pdns, zs = start_all(lab, extra)
    mark = pdns.mark()
    sync_ok(zs)
    assert pdns.requests(mark).get("PATCH") == 1
    view = assert_in_sync(pdns, knot)
    assert len(view) == 2000 + 9

    knot.change(ZONE, set=[("h17", 300, "A", "192.0.2.250")])
    mark = pdns.mark()
    r = sync_ok(zs)
    reqs = pdns.requests(mark)
    assert reqs.get("PATCH") == 1, (reqs, describe(r))
    got = assert_in_sync(pdns, knot)
    assert got[("h17.example.com.", "A")] == (300, frozenset({"192.0.2.18", "192.0.2.250"}))


def test_batch_size(lab):
    """batch-size: 4 cuts the first sync into PATCHes of at most 4 RRsets,
    an owner's changes always in one PATCH (PowerDNS applies each PATCH
    whole; a name half changed between two would be served).  The zone's
    owners change 4 RRsets (the apex), 2 (a), 3 (b), 2 (mail), then 1 each
    (ns1, old, www): packed without splitting an owner that is 5 PATCHes,
    [apex] [a] [b] [mail ns1 old] [www]; cut at 4 regardless of owners it
    would be 4, with b's changes in two.  The PATCH bodies are read through
    the proxy (pdns_server logs only the count)."""
    extra = ('a A 192.0.2.1\na AAAA 2001:db8::1\n'
             'b A 192.0.2.2\nb AAAA 2001:db8::2\nb TXT "b"\n')
    knot = lab.knot({ZONE: zone_text(1, extra)})
    pdns = lab.pdns()
    pdns.create_zone()
    proxy = lab.add(FaultProxy(pdns.url).start())
    zs = lab.zonesync(pdns, knot, targets=[{"id": "pdns", "url": proxy.proxy_url,
                                            "batch-size": 4}])
    sync_ok(zs)
    owners = [[r["name"] for r in p["rrsets"]] for p in proxy.patches]
    assert all(len(o) <= 4 for o in owners), owners
    where = {}
    for k, names in enumerate(owners):
        for n in names:
            where.setdefault(n, set()).add(k)
    assert all(len(k) == 1 for k in where.values()), f"an owner in two PATCHes: {owners}"
    sizes = [len(o) for o in owners]
    assert sizes == [4, 2, 3, 4, 1], owners
    assert proxy.count("PATCH") == 5, proxy.log()
    assert_in_sync(pdns, knot)


# --- 2. content ----------------------------------------------------------------------------

LONG1 = "a" * 255
CONTENT = f"""
*.wild  300 A 192.0.2.1
*.wild  300 TXT "wildcard"
quote   TXT  "say \\"hi\\"" "back\\\\slash"
quote   TXT  "semi;colon" "two  spaces"
long    TXT  "{LONG1}" "b"
utf     TXT  "caf\\195\\169" "tab\\009x" "del\\127\\255"
empty   TXT  ""
MixedCase A  192.0.2.2
slash/24 A    192.0.2.3
under_score A 192.0.2.4
@       CAA  0 issue "letsencrypt.org"
@       CAA  0 issuewild ";"
_sip._tcp SRV 10 60 5060 sip.example.com.
naptr   NAPTR 100 10 "U" "E2U+sip" "!^.*$!sip:info@example.com!" .
_443._tcp TLSA 3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
host    SSHFP 4 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
svc     SVCB 1 host.example.com. alpn=h2,h3 port=8443
@       HTTPS 1 . alpn=h2 ipv4hint=192.0.2.80
sub     NS   ns.sub
sub     DS   12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
ns.sub  A    192.0.2.54
ptr     PTR  www.example.com.
spf     SPF  "v=spf1 -all"
info    HINFO "PC" "Linux"
loc     LOC  52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m
uri     URI  10 1 "https://example.com/"
rp      RP   hostmaster.example.com. txt.example.com.
afs     AFSDB 1 afs.example.com.
kx      KX   10 kx.example.com.
dname   DNAME example.net.
eui     EUI48 00-00-5e-00-53-2a
apl     APL  1:192.0.2.0/24 !2:2001:db8::/32
cert    CERT 1 2 3 dGVzdA==
dhcid   DHCID AAIBY2/AuCccgoJbsaxcQc9TUapptP69lOjxfNuVAA2kjEA=
openpgp OPENPGPKEY dGVzdA==
ipsec   IPSECKEY 10 1 2 192.0.2.38 AQNRU3mG7TVTO2BkR47usntb102uFJtugbo6BSGvgqt4AQ==
ipsec0  IPSECKEY 10 0 2 . AQNRU3mG7TVTO2BkR47usntb102uFJtugbo6BSGvgqt4AQ==
ipsec3  IPSECKEY 10 3 2 gw.example.com. AQNRU3mG7TVTO2BkR47usntb102uFJtugbo6BSGvgqt4AQ==
loc2    LOC  52 22 23.5 S 4 53 32 W 100m
loc3    LOC  0 0 0.001 N 179 59 59.999 W -100000m 1000000m 1m 0.01m
minfo   MINFO a.example.com. b.example.com.
key     KEY  256 3 13 kXKkvWU3vGYfTJGl3qBd4qhiWp5aRs7YtkCJxD2d+t7KXqwahww5IgJtxJT2yFItlggazyfXqJEVOmMJ3qT0tQ==
smimea  SMIMEA 3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
csync   CSYNC 66 3 A NS AAAA
zonemd  ZONEMD 2018031500 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
nid     NID  10 0014:4fff:ff20:ee64
l32     L32  10 10.1.2.0
l64     L64  10 2001:0db8:1140:1000
lp      LP   10 l64-subnet1.example.com.
eui64   EUI64 00-00-5e-ef-10-00-00-2a
cert2   CERT PKIX 2 RSASHA256 dGVzdA==
svc3    SVCB 1 . mandatory=alpn alpn=h2 ipv6hint=2001:db8::1
https2  HTTPS 2 . alpn="h3,h2" no-default-alpn port=443 key65000=abc
null    TYPE10 \\# 3 010203
rt      RT   10 relay.example.com.
unknown TYPE65280 \\# 4 0a000001
"""


def test_zone_content(lab):
    """Wildcards, TXT with quotes, backslashes, several and empty strings,
    non-ASCII bytes, names with uppercase, '/' and '_', and most
    record types PowerDNS takes, in its text or in RFC 3597 form (NULL, RT,
    an unknown type); then a zonesync with a fresh state reads it all back
    (PowerDNS's text forms) and finds nothing to change."""
    knot, pdns, zs = start_all(lab, CONTENT)
    sync_ok(zs)
    got = assert_in_sync(pdns, knot)
    for key in [("*.wild.example.com.", "A"), ("slash/24.example.com.", "A"),
                ("mixedcase.example.com.", "A"), ("example.com.", "CAA"),
                ("example.com.", "HTTPS"), ("sub.example.com.", "DS"),
                ("long.example.com.", "TXT"), ("utf.example.com.", "TXT"),
                ("null.example.com.", "NULL"), ("rt.example.com.", "RT"),
                ("unknown.example.com.", "TYPE65280"), ("loc.example.com.", "LOC")]:
        assert key in got, f"{key} missing"

    fresh = lab.zonesync(pdns, knot)
    plan = plan_json(fresh, rc=0)
    t = plan_target(plan)
    assert t["error"] is None and t["changes"] == [], plan
    mark = pdns.mark()
    sync_ok(fresh)
    assert pdns.requests(mark).get("PATCH", 0) == 0


def test_dnssec_records_skipped_and_counted(lab):
    """DNSSEC records of the primary (here given as data) are PowerDNS's
    business: skipped, counted in the plan, never sent."""
    extra = ("@ DNSKEY 257 3 13 kXKkvWU3vGYfTJGl3qBd4qhiWp5aRs7YtkCJxD2d+t7KXqwahww5IgJt"
             "xJT2yFItlggazyfXqJEVOmMJ3qT0tQ==\n"
             "@ CDS 12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
             "x NSEC www.example.com. A RRSIG NSEC\n")
    knot, pdns, zs = start_all(lab, extra)
    t = plan_target(plan_json(zs, rc=3))
    assert t["skipped"] == {"DNSKEY": 1, "CDS": 1, "NSEC": 1}, t
    sync_ok(zs)
    got = assert_in_sync(pdns, knot)
    assert not {k[1] for k in got} & {"DNSKEY", "CDS", "NSEC"}
    types = {rs["type"] for rs in pdns.zone()["rrsets"]}
    assert not types & {"DNSKEY", "CDS", "NSEC"}, types


# --- 3. drift, foreign records ---------------------------------------------------------------

def test_change_behind_the_back_is_reconciled(lab):
    """A record changed through the API behind zonesync's back: plan shows
    it, and the next full push puts the primary's records back."""
    knot, pdns, zs = start_all(lab)
    sync_ok(zs)
    pdns.patch(ZONE, [{"name": "www.example.com.", "type": "A", "ttl": 60,
                       "changetype": "REPLACE",
                       "records": [{"content": "198.51.100.1", "disabled": False}]},
                      {"name": "extra.example.com.", "type": "TXT", "ttl": 60,
                       "changetype": "REPLACE",
                       "records": [{"content": '"not from the primary"', "disabled": False}]}])
    t = plan_target(plan_json(zs, rc=3))
    changes = {(c["name"], c["type"]): c["action"] for c in t["changes"]}
    assert changes == {("www.example.com.", "A"): "update",
                       ("extra.example.com.", "TXT"): "delete"}, t

    # The next full push (any push that reads the live records: here the
    # primary's next change, or a zonesync with a fresh state).  A fresh
    # state is first contact, which deletes nothing unless told
    # (test_first_contact.py): adopt: replace tells it.
    knot.change(ZONE, set=[("new", 300, "A", "192.0.2.1")])
    fresh = lab.zonesync(pdns, knot, targets=[{"id": "pdns", "adopt": "replace"}])
    mark = pdns.mark()
    r = sync_ok(fresh)
    assert pdns.requests(mark).get("PATCH") == 1, describe(r)
    got = assert_in_sync(pdns, knot)
    assert got[("www.example.com.", "A")] == (300, frozenset({"192.0.2.80", "192.0.2.81"}))
    assert ("extra.example.com.", "TXT") not in got
    assert plan_target(plan_json(zs, rc=0))["changes"] == []


def test_disabled_records_are_left_alone(lab):
    """An RRset holding a disabled record is someone's on purpose: zonesync
    counts it, never changes or deletes it, applies the other changes, and
    says which set it left alone: the primary's change to it is a conflict,
    reported and not pushed (issue 15; before, the push failed)."""
    knot, pdns, zs = start_all(lab)
    sync_ok(zs)
    pdns.patch(ZONE, [{"name": "www.example.com.", "type": "A", "ttl": 300,
                       "changetype": "REPLACE",
                       "records": [{"content": "192.0.2.80", "disabled": False},
                                   {"content": "192.0.2.81", "disabled": True}]},
                      {"name": "off.example.com.", "type": "A", "ttl": 300,
                       "changetype": "REPLACE",
                       "records": [{"content": "192.0.2.99", "disabled": True}]}])
    knot.change(ZONE, unset=[("www", "A", "192.0.2.81")],
                set=[("www", 300, "A", "192.0.2.82"), ("new", 300, "A", "192.0.2.1")])
    # A push that reads the live records sees them (an incremental push
    # reads nothing: it trusts the last full one, as for any hand edit).
    zs = lab.zonesync(pdns, knot)
    r = zs.sync()
    assert r.returncode == 0, describe(r)
    assert "conflicts, not pushed" in r.stdout, describe(r)
    assert "www.example.com. A (disabled)" in r.stdout, describe(r)
    rrsets = {(s["name"], s["type"]): s for s in pdns.zone()["rrsets"]}
    www = rrsets[("www.example.com.", "A")]["records"]
    assert {(x["content"], x["disabled"]) for x in www} == {("192.0.2.80", False),
                                                           ("192.0.2.81", True)}
    assert ("off.example.com.", "A") in rrsets  # not the primary's, not deleted either
    assert ("new.example.com.", "A") in rrsets  # the other changes landed
    t = plan_target(plan_json(zs))
    assert t["foreign"] == 2, t


# --- 4. zone creation, errors ------------------------------------------------------------------

def test_create_true_creates_the_zone(lab):
    """create: true: a missing zone is created (Native, SOA-EDIT-API off) and
    filled by the first push, SOA and all, exactly as the primary has it."""
    knot, pdns, zs = start_all(lab, create=False, targets=[{"id": "pdns", "create": "true"}])
    assert pdns.zone() is None
    mark = pdns.mark()
    r = sync_ok(zs)
    reqs = pdns.requests(mark)
    assert reqs.get("POST") == 1 and reqs.get("PATCH") == 1, (reqs, describe(r))
    z = pdns.zone()
    assert z["kind"] == "Native" and z["soa_edit_api"] == "", z
    assert_in_sync(pdns, knot, soa="full")
    assert pdns.zone()["serial"] == 1


def test_missing_zone_without_create_is_a_clear_error(lab):
    knot, pdns, zs = start_all(lab, create=False)
    r = zs.sync()
    assert r.returncode == 1, describe(r)
    assert "zone example.com. not found on PowerDNS server localhost" in r.stderr, describe(r)
    assert "create: true" in r.stderr
    assert pdns.zone() is None


def test_bad_api_key_is_a_clear_error(lab):
    """A wrong key: PowerDNS's 401 said plainly, the key never printed."""
    knot, pdns, zs = start_all(lab, targets=[{"id": "pdns", "api-key-env": "ZS_PDNS_KEY"}],
                           env={"ZS_PDNS_KEY": "wrong-key-3b9d"})
    r = zs.sync()
    assert r.returncode == 1, describe(r)
    assert "HTTP 401" in r.stderr and "refused the API key" in r.stderr, describe(r)
    assert "wrong-key-3b9d" not in r.stderr + r.stdout + zs.log()
    # Unset: said at open.
    zs.env.pop("ZS_PDNS_KEY")
    r = zs.sync()
    assert r.returncode == 1 and "api-key-env ZS_PDNS_KEY" in r.stderr, describe(r)


def test_api_key_from_the_environment(lab):
    knot, pdns, zs = start_all(lab, targets=[{"id": "pdns", "api-key-env": "ZS_PDNS_KEY"}],
                           env={"ZS_PDNS_KEY": API_KEY})
    sync_ok(zs)
    assert_in_sync(pdns, knot)
    assert API_KEY not in zs.log()


def test_soa_edit_api_is_refused(lab):
    """SOA-EDIT-API (DEFAULT on zones the API makes unless told otherwise)
    would rewrite the serial zonesync copies: refused, with the fix."""
    knot, pdns, zs = start_all(lab, create=False)
    pdns.create_zone(soa_edit_api="DEFAULT")
    r = zs.sync()
    assert r.returncode == 1, describe(r)
    assert "SOA-EDIT-API DEFAULT" in r.stderr and "pdnsutil set-meta" in r.stderr, describe(r)


def test_refusal_shows_powerdns_message(lab):
    """A PATCH PowerDNS refuses (422) is reported with its own message: here
    a CNAME the primary adds where an ALIAS (PowerDNS's own type, which
    zonesync leaves alone) already is."""
    knot, pdns, zs = start_all(lab)
    sync_ok(zs)
    pdns.patch(ZONE, [{"name": "new.example.com.", "type": "ALIAS", "ttl": 300,
                       "changetype": "REPLACE",
                       "records": [{"content": "www.example.org.", "disabled": False}]}])
    knot.change(ZONE, set=[("new", 300, "CNAME", "www.example.com.")])
    r = zs.sync()
    assert r.returncode == 1, describe(r)
    assert "HTTP 422: RRset new.example.com. IN CNAME: Conflicts with pre-existing RRset" \
        in r.stderr, describe(r)
    t = plan_target(plan_json(zs))
    assert t["foreign"] == 1, t  # the ALIAS, never touched
    assert ("new.example.com.", "ALIAS") in {(s["name"], s["type"])
                                             for s in pdns.zone()["rrsets"]}


def test_names_the_api_refuses_are_reported(lab):
    """PowerDNS's API takes owner names of letters, digits, '-', '_', '/' and
    a leading '*' label only: others are not sent, the rest lands, and the
    push says which sets it could not send."""
    knot, pdns, zs = start_all(lab, "a\\.b A 192.0.2.3\nsp\\032ace TXT \"x\"\n")
    r = zs.sync()
    assert r.returncode == 1, describe(r)
    assert "not sent: 2 RRsets at names PowerDNS's API refuses" in r.stdout, describe(r)
    assert "a\\.b.example.com. A" in r.stdout and "sp\\032ace.example.com. TXT" in r.stdout
    got = view_of(pdns.axfr())
    assert got[("www.example.com.", "A")] == (300, frozenset({"192.0.2.80", "192.0.2.81"}))


def test_server_down_is_retried_then_reported(lab):
    """No server on the URL: connection errors are retried with backoff, then
    the push fails with the network error (and succeeds once it is up)."""
    knot = lab.knot({ZONE: zone_text(1)})
    pdns = lab.pdns()
    pdns.create_zone()
    pdns.stop()
    zs = lab.zonesync(pdns, knot)
    r = zs.sync()
    assert r.returncode == 1, describe(r)
    assert "gave up after 8 attempts" in r.stderr, describe(r)
    assert r.stderr.count("powerdns request retried") == 7, describe(r)
    pdns.start()
    sync_ok(zs)
    assert_in_sync(pdns, knot)


class HungEndpoint:
    """Accepts TCP connections and never answers (nor closes them)."""

    def __init__(self):
        self.sock = socket.create_server((LOOPBACK, 0), backlog=64)
        self.url = f"http://{LOOPBACK}:{self.sock.getsockname()[1]}"

    def stop(self):
        self.sock.close()

    def log(self):
        return ""


def test_hung_endpoint_is_bounded_for_sync(lab):
    """An endpoint that accepts and never answers held `sync` for 8 attempts
    of 10 minutes each.  With request-timeout 1s each attempt ends after a
    second, every retry line says so, and the retries end within about 3 s:
    the command fails in a few seconds, saying why, once on stdout."""
    knot = lab.knot({ZONE: zone_text(1)})
    hung = lab.add(HungEndpoint())
    zs = lab.zonesync(hung, knot)
    with open(zs.conf) as f:
        conf = f.read()
    with open(zs.conf, "w") as f:
        f.write(conf.replace("server:\n", "server:\n  request-timeout: 1s\n", 1))
    start = time.monotonic()
    r = zs.sync(timeout=120)
    took = time.monotonic() - start
    assert r.returncode == 1, describe(r)
    assert took < 15, f"sync took {took:.1f}s\n{describe(r)}"
    retries = re.findall(r"info powerdns request retried: .* reason=network attempt=\d+ "
                         r"pause=\S+ error=\"GET \S+: timed out after \d+ ms \(limit 1000 ms\)\"",
                         r.stderr)
    assert 1 <= len(retries) <= 3, describe(r)
    assert re.search(r"^example\.com\. -> pdns: failed: .*gave up after \d attempts in "
                     r"\d+\.\ds, last: .*timed out after", r.stdout, re.M), describe(r)
    assert "error target failed" not in r.stderr, describe(r)

    # On a terminal: progress while reading, with the time spent and the
    # retry waited for; a log line clears it first and starts its own line.
    main, sub = pty.openpty()
    try:
        p = subprocess.run([zs.bin, "sync", "-c", zs.conf], stdout=subprocess.PIPE,
                           stderr=sub, timeout=60)
        os.close(sub)
        sub = -1
        tty = b""
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # EIO: the other end closed
                break
            if not chunk:
                break
            tty += chunk
    finally:
        os.close(main)
        if sub >= 0:
            os.close(sub)
    tty = tty.decode()
    assert p.returncode == 1, tty
    assert re.search(r"  \d+s: reading the live records, 0 so far, waiting \S+s \(retry\)", tty), tty
    assert re.search(r"\r\x1b\[K\d{4}-\d\d-\d\dT\S+ info powerdns request retried", tty), tty
    assert tty.endswith("\r\x1b[K"), repr(tty[-200:])


def test_body_over_the_servers_limit_says_why(lab):
    """PowerDNS refuses a request body over webserver-max-bodysize (2 MB by
    default) with a bare 400: the error says what to change, and a
    batch-size gets the zone there."""
    extra = "".join(f"h{i} 300 TXT \"{'x' * 60} {i}\"\n" for i in range(20000))
    knot, pdns, zs = start_all(lab, extra)
    r = zs.sync()
    assert r.returncode == 1, describe(r)
    assert "HTTP 400: Bad Request" in r.stderr and "webserver-max-bodysize" in r.stderr, \
        describe(r)
    small = lab.zonesync(pdns, knot, targets=[{"id": "pdns", "batch-size": 5000}])
    mark = pdns.mark()
    r = sync_ok(small, timeout=600)
    assert pdns.requests(mark).get("PATCH") == 5, describe(r)
    assert_in_sync(pdns, knot)


# --- 9. a hostile path to the API: a fault proxy in front of pdns_server -----------------------
#
# pdns_server never drops a connection after a PATCH, answers slowly or
# inflates a zone: this proxy does, between zonesync and a real server.

class FaultProxy:
    """HTTP/1.1 (keep-alive) in front of url.  Faults: "reset-after-patch"
    (forward a PATCH, then reset the client's connection: applied, the
    answer lost), "delay" (seconds before forwarding a GET), "bloat" (add
    that many A records to a zone GET's answer).  Counts requests by method
    and keeps the PATCH bodies (patches: parsed JSON, in order)."""

    def __init__(self, url):
        self.url, self.faults, self.counts, self.patches = url, {}, {}, []
        self.lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                self.forward("GET")

            def do_PATCH(self):
                self.forward("PATCH")

            def do_POST(self):
                self.forward("POST")

            def forward(self, method):
                with proxy.lock:
                    proxy.counts[method] = proxy.counts.get(method, 0) + 1
                    faults = dict(proxy.faults)
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else None
                if method == "PATCH" and body:
                    with proxy.lock:
                        proxy.patches.append(json.loads(body))
                if method == "GET" and faults.get("delay"):
                    time.sleep(faults["delay"])
                req = urllib.request.Request(proxy.url + self.path, data=body, method=method,
                                             headers={k: v for k, v in self.headers.items()
                                                      if k.lower() not in ("host", "connection")})
                try:
                    with urllib.request.urlopen(req, timeout=60) as r:
                        status, data, ctype = r.status, r.read(), r.headers.get("Content-Type")
                except urllib.error.HTTPError as e:
                    status, data, ctype = e.code, e.read(), e.headers.get("Content-Type")
                if method == "PATCH" and faults.pop("reset-after-patch", None):
                    with proxy.lock:
                        proxy.faults.pop("reset-after-patch", None)
                    self.close_connection = True
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                               struct.pack("ii", 1, 0))
                    self.connection.close()
                    return
                if method == "GET" and faults.get("bloat") and "/zones/" in self.path:
                    zone = json.loads(data)
                    zone["rrsets"] += [{"name": f"bloat{i}.{zone['name']}", "type": "A",
                                        "ttl": 300, "changetype": None,
                                        "records": [{"content": "192.0.2.1",
                                                     "disabled": False}], "comments": []}
                                       for i in range(faults["bloat"])]
                    data = json.dumps(zone).encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype or "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = http.server.ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self.httpd.daemon_threads = True
        self.proxy_url = f"http://{LOOPBACK}:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def log(self):
        return f"requests: {self.counts}"

    def count(self, method):
        with self.lock:
            return self.counts.get(method, 0)


def proxied(lab, extra="", zones=None):
    knot = lab.knot({ZONE: zone_text(1, extra)})
    pdns = lab.pdns()
    pdns.create_zone()
    proxy = lab.add(FaultProxy(pdns.url).start())
    zs = lab.zonesync(pdns, knot, targets=[{"id": "pdns", "url": proxy.proxy_url}], zones=zones)
    return knot, pdns, proxy, zs


def test_lost_patch_answer_is_reread_not_resent(lab):
    """The connection is reset after PowerDNS applied the PATCH (it went on
    the connection of the zone GET, where libcurl would send it again): the
    PATCH arrives once, a warning says it was not sent again, the zone is
    read again and nothing is left to send."""
    knot, pdns, proxy, zs = proxied(lab, "".join(f"h{i} A 10.0.0.{i}\n" for i in range(50)))
    proxy.faults["reset-after-patch"] = True
    r = sync_ok(zs)
    assert proxy.count("PATCH") == 1, f"{proxy.log()}\n{describe(r)}"
    # The zone, its serial right before the PATCH (read-compare-write: TWO
    # HOSTS in zonesync(8)), the zone again after the lost answer.
    assert proxy.count("GET") == 3, f"{proxy.log()}\n{describe(r)}"
    assert "warning powerdns PATCH unanswered, not sent again: target=pdns zone=example.com. " \
        "batch=1/1" in r.stderr, describe(r)
    assert_in_sync(pdns, knot)


def test_zone_over_the_read_limit_is_refused(lab):
    """A zone GET holding more records than transfer-max-records allows (and
    an eighth, and 1,000): the push fails saying so, nothing is written."""
    knot, pdns, proxy, zs = proxied(lab, zones=[{"domain": ZONE,
                                                 "transfer-max-records": 2000}])
    proxy.faults["bloat"] = 4000
    r = zs.sync()
    assert r.returncode == 1, describe(r)
    assert re.search(r"debug target failed: zone=example\.com\. target=pdns serial=1 dirty=no "
                     r".* holds 40[0-9][0-9] records, more than the 3250 a read takes "
                     r"\(transfer-max-records, 2000,", r.stderr), describe(r)
    assert proxy.count("PATCH") == 0


def test_sigterm_stops_a_slow_zone_read(lab):
    """The daemon's zone GET takes 5 s to answer: SIGTERM stops it within a
    couple of seconds, nothing written."""
    knot, pdns, proxy, zs = proxied(lab)
    proxy.faults["delay"] = 5
    mark = zs.start()
    wait_until(lambda: proxy.count("GET") >= 1, 20, what="the zone GET")
    time.sleep(0.5)
    t0 = time.monotonic()
    assert zs.stop(timeout=15) == 0
    secs = time.monotonic() - t0
    assert secs < 2.5, f"stopping took {secs:.1f} s"
    assert zs.find(r"notice target push interrupted: zone=example\.com\. target=pdns "
                   r"serial=1 dirty=no", mark), zs.log()
    assert proxy.count("PATCH") == 0
