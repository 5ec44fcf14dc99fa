"""zonesync's route53 target against moto_server (a Route 53 emulator), with
knotd (and once pdns_server) as the primary; what lands in the hosted zone is
read back with the AWS CLI and compared with the view of the primary's zone
(moto.py: apex SOA/NS and types Route 53 does not take left out, one TTL per
RRset = the minimum, Route 53's octal escapes decoded).

One moto_server serves the whole module; it is reset before every test.  Each
test has its own knotd, zonesync state and ports; every process is stopped at
the end of the test and the logs printed (pytest shows them on failure).

Requests are counted from moto's access log (one line per request on its
stderr): ChangeResourceRecordSets = POST /2013-04-01/hostedzone/ID/rrset,
ListResourceRecordSets = GET /2013-04-01/hostedzone/ID/rrset."""
import json
import os

import pytest

from conftest import ROOT
from motolab import (Moto, R53Zonesync, SignedKnot, describe, listing_view, name_text,
                  primary_view, r53_name, r53_rdata, rrset_of, synced_lines, view_diff)
from servers import LOOPBACK, Knot, Named, Pdns, free_port, run, wait_until

ZONE = "example.com."
NEVER = 3600  # a refresh/retry interval that no test waits for


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


# --- fixtures -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    m = Moto(tmp_path_factory.mktemp("moto")).start()
    yield m
    m.stop()


class Lab:
    """The servers of one test, stopped in reverse order at teardown."""

    def __init__(self, tmp_path, binary, moto):
        self.tmp = tmp_path
        self.bin = binary
        self.moto = moto
        self.moto_mark = moto.mark()
        self.servers = []

    def _dir(self, name):
        d = self.tmp / f"{name}{len(self.servers)}"
        d.mkdir()
        return d

    def add(self, server):
        self.servers.append(server)
        return server

    def knot(self, zones, notify_port=None, signed=False, **kw):
        cls = SignedKnot if signed else Knot
        if notify_port is None:
            notify_port, kw["notify"] = free_port(), False
        return self.add(cls(self._dir("knot"), zones, notify_port, **kw)).start()

    def pdns(self, zones):
        return self.add(Pdns(self._dir("pdns"), zones, free_port())).start()

    def named(self, zones):
        return self.add(Named(self._dir("named"), zones, free_port())).start()

    def zonesync(self, primary, zones=None, targets=None, port=None, **kw):
        """zonesync syncing the primary's zones (default example.com.) to the
        route53 target "aws" (targets default: [{"id": "aws"}], found by name)."""
        zones = zones if zones is not None else [{"domain": ZONE}]
        targets = targets if targets is not None else [{"id": "aws"}]
        return self.add(R53Zonesync(self.bin, self._dir("zonesync"), self.moto.endpoint,
                                    primary.port, primary.secret, zones, targets,
                                    port=port, **kw))

    def close(self):
        for s in reversed(self.servers):
            try:
                s.stop()
            except Exception as e:  # keep stopping the others
                print(f"stopping {type(s).__name__}: {e}")
        for s in self.servers:
            print(f"===== {type(s).__name__} log =====")
            print(s.log())
        print("===== moto_server requests of this test =====")
        print("\n".join(self.moto.lines()[self.moto_mark:][-200:]))
        problems = [p for s in self.servers if isinstance(s, R53Zonesync) for p in s.problems()]
        assert not problems, f"zonesync: {problems}"


@pytest.fixture
def lab(tmp_path, zonesync, moto):
    binary = os.environ.get("ZONESYNC_BIN", os.path.join(ROOT, "build", "zonesync"))
    moto.reset()
    lab = Lab(tmp_path, binary, moto)
    yield lab
    lab.close()


# --- helpers --------------------------------------------------------------------------------

def views(moto, zone_id, primary, zone=ZONE):
    """(hosted zone view, primary's view) now."""
    got = listing_view(moto.list(zone_id), zone)
    want, _ = primary_view(primary.axfr(zone), zone)
    return got, want


def assert_in_sync(moto, zone_id, primary, zone=ZONE):
    got, want = views(moto, zone_id, primary, zone)
    assert got == want, f"hosted zone {zone_id} differs from the view of {zone}:\n" \
                        f"{view_diff(got, want)}"
    return got


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
        raise AssertionError(f"zonesync plan --json printed no JSON object: {describe(r)}") \
            from None


def plan_target(plan, zone=ZONE, target="aws"):
    zs = [z for z in plan["zones"] if z["zone"] == zone]
    assert len(zs) == 1, f"zone {zone} not once in the plan: {plan}"
    ts = [t for t in zs[0]["targets"] if t["target"] == target]
    assert len(ts) == 1, f"target {target} not once in the plan of {zone}: {plan}"
    return zs[0], ts[0]


def change_view(c, side):
    """The "old"/"new" side of a plan change as (ttl, frozenset(canonical rdata))."""
    v = c[side]
    return (int(v["ttl"]), frozenset(r53_rdata(c["type"], x) for x in v["values"]))


def change_key(c):
    return (name_text(r53_name(c["name"])), c["type"])


# --- 1. first sync, then additions, changes, deletions --------------------------------------

def test_first_sync_then_changes(lab, moto):
    """A first (full) sync from knotd, then records added, changed and deleted
    on the primary, each arriving in the hosted zone by an incremental sync."""
    knot = lab.knot({ZONE: zone_text(1)})
    zid = moto.create_zone(ZONE)
    zs = lab.zonesync(knot, targets=[{"id": "aws", "hosted-zone-id": zid}])

    r = sync_ok(zs)
    view = assert_in_sync(moto, zid, knot)
    assert ("www.example.com.", "A") in view
    s = synced_lines(r.stderr, ZONE)
    assert [(x[1], x[2], x[3]) for x in s] == [("aws", 1, "full")], describe(r)

    steps = [
        # additions: a new name, a new type at a name, a new RRset at the apex
        dict(set=[("new", 300, "A", "192.0.2.1"), ("new", 300, "A", "192.0.2.2"),
                  ("new", 600, "TXT", '"hello world" "two"'),
                  ("mail", 3600, "TXT", '"mail host"'),
                  ("example.com.", 3600, "AAAA", "2001:db8::1"),
                  ("_sip._tcp", 300, "SRV", "10 60 5060 sip.example.com.")]),
        # changes: a value, a TTL, a value added to a set, a CNAME target
        dict(unset=[("www", "A", "192.0.2.81"), ("mail", "AAAA"), ("old", "CNAME")],
             set=[("www", 300, "A", "192.0.2.82"), ("mail", 60, "AAAA", "2001:db8::25"),
                  ("new", 300, "A", "192.0.2.3"), ("old", 3600, "CNAME", "new.example.com.")]),
        # deletions: one value of a set, a whole RRset, a whole name
        dict(unset=[("new", "A", "192.0.2.1"), ("new", "TXT"), ("_sip._tcp", "SRV"),
                    ("mail", "TXT")]),
    ]
    for step in steps:
        serial = knot.change(ZONE, **step)
        mark = moto.mark()
        r = sync_ok(zs)
        change, listed = moto.request_count(mark, zid)  # before the AWS CLI lists
        assert change >= 1 and listed == 0, (change, listed, describe(r))
        assert_in_sync(moto, zid, knot)
        s = synced_lines(r.stderr, ZONE)
        assert [(x[1], x[2], x[3]) for x in s] == [("aws", serial, "incremental")], describe(r)

    got = listing_view(moto.list(zid), ZONE)
    assert got[("www.example.com.", "A")] == (300, frozenset({"192.0.2.80", "192.0.2.82"}))
    assert got[("mail.example.com.", "AAAA")] == (60, frozenset({"2001:db8::25"}))
    assert got[("new.example.com.", "A")] == (300, frozenset({"192.0.2.2", "192.0.2.3"}))
    assert ("_sip._tcp.example.com.", "SRV") not in got

    # Nothing new on the primary: a sync changes nothing and sends nothing.
    mark = moto.mark()
    sync_ok(zs)
    assert moto.request_count(mark, zid)[0] == 0


# --- 2. request counts ----------------------------------------------------------------------

def test_request_counts_big_zone(lab, moto):
    """5,000 A records: the first sync in at most 6 ChangeResourceRecordSets
    requests (1,000 ResourceRecord elements each); then a one-record change in
    exactly 1 ChangeResourceRecordSets and no ListResourceRecordSets."""
    extra = "".join(f"h{i} 300 A 192.0.2.{i % 250 + 1}\n" for i in range(5000))
    knot = lab.knot({ZONE: zone_text(1, extra)})
    zid = moto.create_zone(ZONE)
    zs = lab.zonesync(knot, targets=[{"id": "aws", "hosted-zone-id": zid, "rate-limit": 20}])

    mark = moto.mark()
    r = sync_ok(zs, timeout=300)
    change, listed = moto.request_count(mark, zid)
    assert 5 <= change <= 6, f"{change} ChangeResourceRecordSets for 5,000 records\n{describe(r)}"
    assert listed >= 1, "a first sync lists the live record sets"
    view = assert_in_sync(moto, zid, knot)
    assert len(view) == 5000 + 7

    serial = knot.change(ZONE, set=[("h17", 300, "A", "192.0.2.250")])
    mark = moto.mark()
    r = sync_ok(zs)
    reqs = moto.requests(mark, zid)
    assert (reqs["change"], reqs["list"]) == (1, 0), f"{reqs}\n{describe(r)}"
    s = synced_lines(r.stderr, ZONE)
    assert [(x[2], x[3], x[4], x[5]) for x in s] == [(serial, "incremental", 1, 1)], describe(r)
    got = listing_view(moto.list(zid), ZONE)
    assert got[("h17.example.com.", "A")] == (300, frozenset({"192.0.2.18", "192.0.2.250"}))


# --- 3. zone content ------------------------------------------------------------------------

LONG1 = "a" * 255
LONG2 = "b" * 100

# The CAA values with ";" are ordinary: "0 issuewild \";\"" (no CA may issue
# wildcard certificates) is the example of Route 53's own documentation, and
# "; account=..." is an RFC 8659 issuer parameter.
CONTENT = f"""
*.wild  300 A 192.0.2.1
*.wild  300 TXT "wildcard"
quote   TXT  "say \\"hi\\"" "back\\\\slash"
quote   TXT  "semi;colon" "two  spaces"
long    TXT  "{LONG1}" "{LONG2}"
utf     TXT  "caf\\195\\169" "tab\\009x" "del\\127\\255"
MixedCase A  192.0.2.2
a\\.b   A    192.0.2.3
esc\\.dot\\.name TXT "x"
@       CAA  0 issue "letsencrypt.org"
@       CAA  128 iodef "mailto:sec@example.com"
@       CAA  0 issuewild ";"
@       CAA  0 issue "ca.example.net; account=230123"
_sip._tcp SRV 10 60 5060 sip.example.com.
_sip._tcp SRV 20 0 5060 .
naptr   NAPTR 100 10 "U" "E2U+sip" "!^.*$!sip:info@example.com!" .
naptr   NAPTR 100 20 "S" "SIP+D2U" "" _sip._udp.example.com.
_443._tcp TLSA 3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
host    SSHFP 4 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
host    SSHFP 1 1 0123456789abcdef0123456789abcdef01234567
svc     SVCB 1 host.example.com. alpn=h2,h3 port=8443
svc     SVCB 0 svc2.example.com.
@       HTTPS 1 . alpn=h2 ipv4hint=192.0.2.80
sub     NS   ns.sub
sub     NS   ns2.example.net.
sub     DS   12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
ns.sub  A    192.0.2.54
mixed 600 A 192.0.2.10
mixed 300 A 192.0.2.11
mixed 900 A 192.0.2.12
ptr     PTR  www.example.com.
spf     SPF  "v=spf1 -all"
replaced A 192.0.2.20
replaced AAAA 2001:db8::20
info    HINFO "PC" "Linux"
loc     LOC  52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m
"""


def test_zone_content(lab, moto):
    """Wildcards, TXT with quotes, backslashes, several strings, strings of 255
    bytes and non-ASCII bytes, names with uppercase and escaped dots, CAA, SRV,
    NAPTR, TLSA, SSHFP, SVCB, HTTPS, DS, PTR, SPF, a delegation with glue, an
    RRset loaded with mixed TTLs, types Route 53 does not take (skipped); then a
    CNAME replacing an A and an AAAA at one name.  Finally a zonesync with a
    fresh state reads all of it back (Route 53's text forms) and finds nothing
    to change."""
    knot = lab.knot({ZONE: zone_text(1, CONTENT)})
    axfr = knot.axfr(ZONE)
    # knotd keeps one TTL per RRset: it collapsed the mixed one itself (the
    # zone loader logs "TTL mismatch"); see test_mixed_ttls_from_pdns.
    assert len({r[1] for r in axfr if r[0] == "mixed.example.com."}) == 1
    zid = moto.create_zone(ZONE)
    zs = lab.zonesync(knot, targets=[{"id": "aws", "hosted-zone-id": zid}])

    r = sync_ok(zs)
    got = assert_in_sync(moto, zid, knot)
    for key in [("*.wild.example.com.", "A"), ("a\\.b.example.com.", "A"),
                ("mixedcase.example.com.", "A"), ("example.com.", "CAA"),
                ("example.com.", "HTTPS"), ("sub.example.com.", "DS"),
                ("long.example.com.", "TXT"), ("utf.example.com.", "TXT")]:
        assert key in got, f"{key} missing"
    assert not any(k[1] in ("HINFO", "LOC") for k in got)
    # The 255-byte string and the one after it stay two strings of one value.
    (value,) = rrset_of(moto.list(zid), "long.example.com.", "TXT")[0]["ResourceRecords"]
    assert value["Value"] == f'"{LONG1}" "{LONG2}"', value

    # A CNAME replacing an A and an AAAA at one name (one batch: DELETEs first).
    serial = knot.change(ZONE, unset=[("replaced", "A"), ("replaced", "AAAA")],
                         set=[("replaced", 300, "CNAME", "www.example.com.")])
    mark = moto.mark()
    r = sync_ok(zs)
    assert moto.request_count(mark, zid) == (1, 0), describe(r)
    got = assert_in_sync(moto, zid, knot)
    assert got[("replaced.example.com.", "CNAME")] == (300, frozenset({"www.example.com."}))
    assert [x[2] for x in synced_lines(r.stderr, ZONE)] == [serial], describe(r)
    # ... and back: the CNAME replaced by an A.
    knot.change(ZONE, unset=[("replaced", "CNAME")], set=[("replaced", 300, "A", "192.0.2.21")])
    sync_ok(zs)
    assert_in_sync(moto, zid, knot)

    # A zonesync that knows nothing (fresh state) lists the live record sets,
    # parses Route 53's text of every type and finds them equal to the zone.
    # A fresh state is first contact, which deletes nothing unless told
    # (test_first_contact.py): adopt: replace tells it the hosted zone is
    # all the primary's, and still the alias and weighted sets stay.
    fresh = lab.zonesync(knot, targets=[{"id": "aws", "hosted-zone-id": zid,
                                         "adopt": "replace"}])
    plan = plan_json(fresh, rc=0)
    _, t = plan_target(plan)
    assert t["error"] is None and t["changes"] == [], plan
    assert t["skipped"].get("HINFO") == 1 and t["skipped"].get("LOC") == 1, t["skipped"]
    mark = moto.mark()
    r = sync_ok(fresh)
    assert moto.request_count(mark, zid)[0] == 0, describe(r)


def test_mixed_ttls_from_pdns(lab, moto):
    """pdns_server sends the records of one RRset with different TTLs (knotd
    does not): the RRset lands with the minimum TTL."""
    pdns = lab.pdns({ZONE: zone_text(1, "mixed 600 A 192.0.2.10\nmixed 300 A 192.0.2.11\n"
                                        "mixed 900 A 192.0.2.12\n")})
    ttls = {r[1] for r in pdns.axfr(ZONE) if r[0] == "mixed.example.com."}
    assert ttls == {300, 600, 900}, "pdns_server no longer sends mixed TTLs"
    zid = moto.create_zone(ZONE)
    zs = lab.zonesync(pdns, targets=[{"id": "aws", "hosted-zone-id": zid}])
    sync_ok(zs)
    got = assert_in_sync(moto, zid, pdns)
    assert got[("mixed.example.com.", "A")] == (
        300, frozenset({"192.0.2.10", "192.0.2.11", "192.0.2.12"}))


def test_uppercase_names_from_named(lab, moto):
    """named keeps the case of owner names and of names in rdata (knotd and
    pdns_server lowercase owners): they land, compare equal to Route 53's
    lowercase names, and a zonesync with a fresh state finds nothing to change."""
    named = lab.named({ZONE: zone_text(1, "MixedCase 300 A 192.0.2.10\n"
                                          "a\\.B TXT \"escaped dot\"\n"
                                          "Alias CNAME WWW.Example.COM.\n"
                                          "*.Wild A 192.0.2.11\n"
                                          "MX2 MX 10 Mail.Example.com.\n")})
    raw = run(["dig", f"@{LOOPBACK}", "-p", str(named.port), "-y",
               f"hmac-sha256:xfr:{named.secret}", "+noall", "+answer", "AXFR", ZONE]).stdout
    assert "MixedCase.example.com." in raw and "WWW.Example.COM." in raw, raw
    zid = moto.create_zone(ZONE)
    zs = lab.zonesync(named, targets=[{"id": "aws", "hosted-zone-id": zid}])
    sync_ok(zs)
    got = assert_in_sync(moto, zid, named)
    assert ("a\\.b.example.com.", "TXT") in got and ("*.wild.example.com.", "A") in got
    assert got[("alias.example.com.", "CNAME")] == (3600, frozenset({"www.example.com."}))

    named.nsupdate(ZONE, ["update add MixedCase.example.com. 300 A 192.0.2.12"])
    mark = moto.mark()
    r = sync_ok(zs)
    assert moto.request_count(mark, zid) == (1, 0), describe(r)
    got = assert_in_sync(moto, zid, named)
    assert got[("mixedcase.example.com.", "A")] == (300, frozenset({"192.0.2.10", "192.0.2.12"}))

    fresh = lab.zonesync(named, targets=[{"id": "aws", "hosted-zone-id": zid}])
    plan = plan_json(fresh, rc=0)
    assert plan_target(plan)[1]["changes"] == [], plan
    mark = moto.mark()
    r = sync_ok(fresh)
    assert moto.request_count(mark, zid)[0] == 0, describe(r)


def test_signed_zone(lab, moto):
    """A zone knotd signs itself (NSEC, KSK+ZSK, CDS/CDNSKEY): RRSIG, NSEC,
    DNSKEY, CDS and CDNSKEY are skipped, the ordinary records sync, also after
    a change that knotd re-signs incrementally."""
    knot = lab.knot({ZONE: zone_text(1, "txt TXT \"signed\"\n")}, signed=True)
    axfr = knot.axfr(ZONE)
    assert {"RRSIG", "NSEC", "DNSKEY"} <= {r[2] for r in axfr}, "knotd did not sign"
    zid = moto.create_zone(ZONE)
    zs = lab.zonesync(knot, targets=[{"id": "aws", "hosted-zone-id": zid}])

    sync_ok(zs)
    got = assert_in_sync(moto, zid, knot)
    assert ("txt.example.com.", "TXT") in got
    types = {rs["Type"] for rs in moto.list(zid)}
    assert not types & {"RRSIG", "NSEC", "DNSKEY", "CDS", "CDNSKEY"}, types

    serial = knot.change(ZONE, set=[("new", 300, "A", "192.0.2.1")])
    mark = moto.mark()
    r = sync_ok(zs)
    assert moto.request_count(mark, zid) == (1, 0), describe(r)
    assert_in_sync(moto, zid, knot)
    s = synced_lines(r.stderr, ZONE)
    assert [(x[2], x[3], x[4]) for x in s] == [(serial, "incremental", 1)], describe(r)

    plan = plan_json(zs, rc=0)
    _, t = plan_target(plan)
    assert t["changes"] == [], plan
    for rdtype in ("RRSIG", "NSEC", "DNSKEY"):
        assert t["skipped"].get(rdtype, 0) > 0, f"{rdtype} not counted as skipped: {t}"


# TXT as people write it (issue 14): printable ASCII as it is inside the
# quotes, only '"' and backslash escaped, other bytes \ooo.  Zone text (decimal
# escapes) and the Route 53 Value zonesync must send for it.
PEOPLE = [
    ("example.com.", "TXT", '"v=spf1 mx -all"', '"v=spf1 mx -all"'),
    ("spf", "SPF", '"v=spf1 mx -all"', '"v=spf1 mx -all"'),
    ("quote", "TXT", '"say \\"hi\\"" "back\\\\slash"', '"say \\"hi\\"" "back\\\\slash"'),
    ("odd", "TXT", '"caf\\195\\169 tab\\009x" "" "del\\127 ~"',
     '"caf\\303\\251 tab\\011x" "" "del\\177 ~"'),
]
# The same values as zonesync wrote them before: the space as \040.
OLD_FORM = {
    ("example.com.", "TXT"): '"v=spf1\\040mx\\040-all"',
    ("spf.example.com.", "SPF"): '"v=spf1\\040mx\\040-all"',
    ("quote.example.com.", "TXT"): '"say\\040\\"hi\\"" "back\\\\slash"',
    ("odd.example.com.", "TXT"): '"caf\\303\\251\\040tab\\011x" "" "del\\177\\040~"',
}


def people_zone(serial=1):
    # The apex TXT "v=spf1 mx -all" is in zone_text already.
    return zone_text(serial, "".join(f"{n} {t} {z}\n" for n, t, z, _ in PEOPLE
                                     if n != "example.com."))


def test_txt_as_people_write_it(lab, moto):
    """TXT and SPF values land as people write them: the AWS CLI lists
    exactly "v=spf1 mx -all" (no \\040), a quote and a backslash escaped
    with a backslash, other bytes as \\ooo; a zonesync with a fresh state
    reads them back and finds nothing to change."""
    knot = lab.knot({ZONE: people_zone()})
    zid = moto.create_zone(ZONE)
    zs = lab.zonesync(knot, targets=[{"id": "aws", "hosted-zone-id": zid}])
    sync_ok(zs)
    assert_in_sync(moto, zid, knot)
    listing = moto.list(zid)
    for name, rdtype, _, want in PEOPLE:
        fqdn = name if name.endswith(".") else f"{name}.{ZONE}"
        (rs,) = rrset_of(listing, fqdn, rdtype)
        assert [v["Value"] for v in rs["ResourceRecords"]] == [want], rs

    fresh = lab.zonesync(knot, targets=[{"id": "aws", "hosted-zone-id": zid}])
    _, t = plan_target(plan_json(fresh, rc=0))
    assert t["changes"] == [], t
    mark = moto.mark()
    r = sync_ok(fresh)
    assert moto.request_count(mark, zid)[0] == 0, describe(r)


def test_txt_old_octal_form_no_change(lab, moto):
    """A hosted zone holding TXT and SPF values in the form zonesync wrote
    before (a space as \\040, written here with the AWS CLI) equals the zone
    on the wire: a zonesync with a fresh state plans nothing and sends no
    ChangeResourceRecordSets, and a later change to such a set lands."""
    knot = lab.knot({ZONE: people_zone()})
    zid = moto.create_zone(ZONE)
    zs = lab.zonesync(knot, targets=[{"id": "aws", "hosted-zone-id": zid}])
    sync_ok(zs)
    moto.change(zid, [
        {"Action": "UPSERT", "ResourceRecordSet": {
            "Name": name, "Type": rdtype, "TTL": 3600, "ResourceRecords": [{"Value": value}]}}
        for (name, rdtype), value in OLD_FORM.items()])
    listing = moto.list(zid)
    for (name, rdtype), value in OLD_FORM.items():
        (rs,) = rrset_of(listing, name, rdtype)
        assert [v["Value"] for v in rs["ResourceRecords"]] == [value], rs
    assert_in_sync(moto, zid, knot)

    fresh = lab.zonesync(knot, targets=[{"id": "aws", "hosted-zone-id": zid}])
    _, t = plan_target(plan_json(fresh, rc=0))
    assert t["changes"] == [], t
    mark = moto.mark()
    r = sync_ok(fresh)
    assert moto.requests(mark, zid)["change"] == 0, describe(r)

    # Changed on the primary: a set held in the old form is replaced, one
    # deleted (its DELETE repeats the listed old text), one request.
    knot.change(ZONE, unset=[("quote", "TXT"), ("spf", "SPF")],
                set=[("spf", 3600, "SPF", '"v=spf1 a mx -all"')])
    mark = moto.mark()
    r = sync_ok(fresh)
    assert moto.request_count(mark, zid) == (1, 0), describe(r)
    assert_in_sync(moto, zid, knot)
    (rs,) = rrset_of(moto.list(zid), "spf.example.com.", "SPF")
    assert [v["Value"] for v in rs["ResourceRecords"]] == ['"v=spf1 a mx -all"'], rs


# --- 4. plan --------------------------------------------------------------------------------

def test_plan(lab, moto):
    """plan before the first sync lists the additions (exit 3); after the sync
    nothing (exit 0); a record changed behind zonesync's back with the AWS CLI
    shows as an update with its old and new values.  plan never writes."""
    knot = lab.knot({ZONE: zone_text(7)})
    zid = moto.create_zone(ZONE)
    zs = lab.zonesync(knot, targets=[{"id": "aws", "hosted-zone-id": zid}])
    want, _ = primary_view(knot.axfr(ZONE), ZONE)

    before = moto.list(zid)
    mark = moto.mark()
    plan = plan_json(zs, rc=3)
    assert moto.request_count(mark, zid)[0] == 0, "plan sent ChangeResourceRecordSets"
    assert moto.list(zid) == before, "plan changed the hosted zone"
    z, t = plan_target(plan)
    assert z["serial"] == 7, plan
    assert t["type"] == "route53" and t["error"] is None, plan
    assert all(c["action"] == "add" and c["old"] is None for c in t["changes"]), plan
    adds = {change_key(c): change_view(c, "new") for c in t["changes"]}
    assert len(adds) == len(t["changes"]), f"an RRset twice in the plan: {plan}"
    assert adds == want, view_diff(adds, want)
    assert t["summary"] == {"add": len(want), "update": 0, "delete": 0}, plan
    assert plan["changes"] == len(want), plan

    sync_ok(zs)
    assert_in_sync(moto, zid, knot)
    plan = plan_json(zs, rc=0)
    _, t = plan_target(plan)
    assert t["changes"] == [] and plan["changes"] == 0, plan
    assert t["summary"] == {"add": 0, "update": 0, "delete": 0}, plan

    # Behind zonesync's back: www A changed, a name added.
    moto.change(zid, [
        {"Action": "UPSERT", "ResourceRecordSet": {
            "Name": "www.example.com.", "Type": "A", "TTL": 60,
            "ResourceRecords": [{"Value": "192.0.2.99"}]}},
        {"Action": "CREATE", "ResourceRecordSet": {
            "Name": "stray.example.com.", "Type": "TXT", "TTL": 120,
            "ResourceRecords": [{"Value": '"stray"'}]}},
    ])
    before = moto.list(zid)
    mark = moto.mark()
    plan = plan_json(zs, rc=3)
    assert moto.request_count(mark, zid)[0] == 0, "plan sent ChangeResourceRecordSets"
    assert moto.list(zid) == before, "plan changed the hosted zone"
    _, t = plan_target(plan)
    changes = {(c["action"], *change_key(c)): c for c in t["changes"]}
    assert set(changes) == {("update", "www.example.com.", "A"),
                            ("delete", "stray.example.com.", "TXT")}, plan
    upd = changes[("update", "www.example.com.", "A")]
    assert change_view(upd, "old") == (60, frozenset({"192.0.2.99"})), upd
    assert change_view(upd, "new") == (300, frozenset({"192.0.2.80", "192.0.2.81"})), upd
    dele = changes[("delete", "stray.example.com.", "TXT")]
    assert change_view(dele, "old") == (120, frozenset({'"stray"'})) and dele["new"] is None, dele
    assert t["summary"] == {"add": 0, "update": 1, "delete": 1}, plan
    assert plan["changes"] == 2, plan


# --- 5. safety thresholds -------------------------------------------------------------------

def test_max_delete_refuses_then_force(lab, moto):
    """Deleting more than 30% of the RRsets (the default max-delete) is
    refused: exit 1, nothing deleted, the message names max-delete, and a
    second sync refuses again; --force applies it."""
    extra = "".join(f"h{i} 300 A 192.0.2.{i + 1}\n" for i in range(20))
    knot = lab.knot({ZONE: zone_text(1, extra)})
    zid = moto.create_zone(ZONE)
    zs = lab.zonesync(knot, targets=[{"id": "aws", "hosted-zone-id": zid}])
    sync_ok(zs)
    before = assert_in_sync(moto, zid, knot)
    assert len(before) >= 20

    knot.change(ZONE, unset=[(f"h{i}", "A") for i in range(12)])
    for attempt in (1, 2):
        mark = moto.mark()
        r = zs.sync()
        assert r.returncode == 1, f"attempt {attempt}: {describe(r)}"
        assert "max-delete" in r.stderr, describe(r)
        assert moto.request_count(mark, zid)[0] == 0, f"attempt {attempt}: {describe(r)}"
        assert listing_view(moto.list(zid), ZONE) == before, f"attempt {attempt} deleted"

    r = sync_ok(zs, "--force")
    got = assert_in_sync(moto, zid, knot)
    assert len(before) - len(got) == 12


def test_max_update_refuses_then_force(lab, moto):
    """Changing more than 30% of the RRsets (the default max-update) is
    refused: exit 1, nothing written, the message names max-update and the
    counts, a second sync refuses again (the refusal is remembered, not
    forgotten); --force applies it.  Before issue 17 no test failed with
    the max-update check removed."""
    extra = "".join(f"h{i} 300 A 192.0.2.{i + 1}\n" for i in range(20))
    knot = lab.knot({ZONE: zone_text(1, extra)})
    zid = moto.create_zone(ZONE)
    zs = lab.zonesync(knot, targets=[{"id": "aws", "hosted-zone-id": zid}])
    sync_ok(zs)
    before = assert_in_sync(moto, zid, knot)
    assert len(before) == 27

    # 12 of the 27 RRsets get a new value: over 30% (8), nothing deleted.
    knot.change(ZONE, unset=[(f"h{i}", "A") for i in range(12)],
                set=[(f"h{i}", 300, "A", f"198.51.100.{i + 1}") for i in range(12)])
    for attempt in (1, 2):
        mark = moto.mark()
        r = zs.sync()
        assert r.returncode == 1, f"attempt {attempt}: {describe(r)}"
        assert "would update 12 of 29 RRsets, over max-update 30% (8)" in r.stderr, describe(r)
        assert "zonesync sync --force" in r.stderr, describe(r)
        assert moto.request_count(mark, zid)[0] == 0, f"attempt {attempt}: {describe(r)}"
        assert listing_view(moto.list(zid), ZONE) == before, f"attempt {attempt} wrote"

    sync_ok(zs, "--force")
    got = assert_in_sync(moto, zid, knot)
    assert len(got) == 27 and got != before


def test_max_delete_is_a_share_of_the_target(lab, moto):
    """max-delete 30% is a share of the RRsets the target holds before the
    change: deleting 7 of 27 (26%) is not refused, whether the sync is
    incremental or a full reconcile (the same change must get the same
    answer both ways)."""
    extra = "".join(f"h{i} 300 A 192.0.2.{i + 1}\n" for i in range(20))
    knot = lab.knot({ZONE: zone_text(1, extra)})
    zid = moto.create_zone(ZONE)
    zs = lab.zonesync(knot, targets=[{"id": "aws", "hosted-zone-id": zid}])
    sync_ok(zs)
    assert len(assert_in_sync(moto, zid, knot)) == 27

    knot.change(ZONE, unset=[(f"h{i}", "A") for i in range(7)])
    # A fresh state is first contact, which deletes nothing unless told
    # (test_first_contact.py): adopt: replace makes this plan the full
    # compare of an adopted target that the limit is about.
    fresh = lab.zonesync(knot, targets=[{"id": "aws", "hosted-zone-id": zid,
                                         "adopt": "replace"}])
    _, t = plan_target(plan_json(fresh, rc=3))
    assert t["summary"]["delete"] == 7 and not t.get("refused"), t
    r = sync_ok(zs)  # incremental: the IXFR's 7 deletions
    assert [x[3] for x in synced_lines(r.stderr, ZONE)] == ["incremental"], describe(r)
    assert len(assert_in_sync(moto, zid, knot)) == 20


# --- 6. the daemon --------------------------------------------------------------------------

def test_daemon_pushes_after_notify(lab, moto):
    """`zonesync run` as knotd's secondary: the first transfer lands in the
    hosted zone, then a change on the primary arrives after its NOTIFY,
    without any `sync` command."""
    zport = free_port()
    knot = lab.knot({ZONE: zone_text(1)}, notify_port=zport)
    zid = moto.create_zone(ZONE)
    zs = lab.zonesync(knot, zones=[{"domain": ZONE, "refresh-min-interval": NEVER,
                                    "retry-min-interval": 1}],
                      targets=[{"id": "aws", "hosted-zone-id": zid}], port=zport)
    zs.start()
    zs.wait_log(r"target synced: zone=example\.com\. target=aws serial=1 ", timeout=30)
    assert_in_sync(moto, zid, knot)

    mark = zs.mark()
    serial = knot.change(ZONE, set=[("daemon", 300, "A", "192.0.2.200")],
                         unset=[("mail", "AAAA")])

    def arrived():
        got = listing_view(moto.list(zid), ZONE)
        return ("daemon.example.com.", "A") in got and \
            ("mail.example.com.", "AAAA") not in got
    wait_until(arrived, 30, 0.5, "the change to arrive in the hosted zone")
    assert_in_sync(moto, zid, knot)
    line = zs.wait_log(rf"target synced: zone=example\.com\. target=aws serial={serial} ",
                       timeout=5, since=mark)
    assert "mode=incremental" in line, line
    assert zs.alive()


# --- 7. hosted zone found by name -----------------------------------------------------------

def test_hosted_zone_found_by_name(lab, moto):
    """No hosted-zone-id: each zone goes to the hosted zone of its own name
    among example.co., sub.example.com. and example.com."""
    sub = "sub.example.com."
    decoy = moto.create_zone("example.co.")
    zid_sub = moto.create_zone(sub)
    zid = moto.create_zone(ZONE)
    knot = lab.knot({ZONE: zone_text(1), sub: zone_text(1, "only-sub A 192.0.2.9\n", sub)})
    zs = lab.zonesync(knot, zones=[{"domain": ZONE}, {"domain": sub}], targets=[{"id": "aws"}])

    r = sync_ok(zs)
    assert {x[0] for x in synced_lines(r.stderr)} == {ZONE, sub}, describe(r)
    assert_in_sync(moto, zid, knot, ZONE)
    got = assert_in_sync(moto, zid_sub, knot, sub)
    assert ("only-sub.sub.example.com.", "A") in got
    assert listing_view(moto.list(decoy), "example.co.") == {}, "example.co. was written"
    assert not any(k[0] == "only-sub.sub.example.com." for k in
                   listing_view(moto.list(zid), ZONE)), "sub's records went to example.com."


# --- 8. alias and routing-policy record sets ----------------------------------------------

def test_alias_and_set_identifier_never_deleted(lab, moto):
    """An alias record set and a weighted one (SetIdentifier), made with the
    AWS CLI, survive incremental syncs, a full reconcile by a zonesync that
    knows nothing (fresh state, adopt: replace) and a --force sync; plan
    never lists them."""
    knot = lab.knot({ZONE: zone_text(1)})
    zid = moto.create_zone(ZONE)
    zs = lab.zonesync(knot, targets=[{"id": "aws", "hosted-zone-id": zid}])
    sync_ok(zs)
    moto.change(zid, [
        {"Action": "CREATE", "ResourceRecordSet": {
            "Name": "alias.example.com.", "Type": "A",
            "AliasTarget": {"HostedZoneId": zid, "DNSName": "www.example.com.",
                            "EvaluateTargetHealth": False}}},
        {"Action": "CREATE", "ResourceRecordSet": {
            "Name": "weighted.example.com.", "Type": "A", "SetIdentifier": "one",
            "Weight": 10, "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.7"}]}},
    ])

    def specials():
        return sorted((rs["Name"], rs["Type"], rs.get("SetIdentifier", ""))
                      for rs in moto.list(zid) if "AliasTarget" in rs or "SetIdentifier" in rs)
    keep = specials()
    assert len(keep) == 2, keep

    knot.change(ZONE, set=[("new", 300, "A", "192.0.2.1")], unset=[("www", "A", "192.0.2.81")])
    sync_ok(zs)
    assert_in_sync(moto, zid, knot)
    assert specials() == keep

    # A fresh state is first contact, which deletes nothing unless told
    # (test_first_contact.py): adopt: replace tells it the hosted zone is
    # all the primary's, and still the alias and weighted sets stay.
    fresh = lab.zonesync(knot, targets=[{"id": "aws", "hosted-zone-id": zid,
                                         "adopt": "replace"}])
    plan = plan_json(fresh, rc=0)
    _, t = plan_target(plan)
    assert t["changes"] == [], plan
    knot.change(ZONE, unset=[("new", "A")])
    sync_ok(fresh)
    assert_in_sync(moto, zid, knot)
    assert specials() == keep
    sync_ok(fresh, "--force")
    assert specials() == keep
