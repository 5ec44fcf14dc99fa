"""ignore-owned-by: external-dns against real providers: pdns_server (its
HTTP API) and moto_server (Route 53), with knotd as the primary.

What external-dns writes is put at the provider first, as external-dns's
TXT registry writes it in the new format: a marker TXT named TYPE-NAME
("heritage=external-dns,external-dns/owner=...,external-dns/resource=...")
beside the records it owns (and one in the old format, at the name of the
A it owns), written through the provider's own API (the PowerDNS API, the
Route 53 API); then `zonesync sync` runs with the key set
on the target.  The primary holds records of its own and some at names and
types external-dns owns, which must be reported as conflicts (stdout
"conflicts, not pushed") and never written.

Each test has its own knotd, pdns_server, zonesync state and ports; one
moto_server serves the module (reset per test)."""
import json

import pytest

from motolab import aws_env, describe

ZONE = "example.com."
OWNER = "k8s-prod"


def marker(resource):
    return (f'"heritage=external-dns,external-dns/owner={OWNER},'
            f'external-dns/resource={resource}"')


# What external-dns wrote at the provider (new format): (name, type, ttl, [values]).
EXTDNS = [
    ("a-api.example.com.", "TXT", 300, [marker("ingress/default/api")]),
    ("api.example.com.", "A", 300, ["198.51.100.10"]),
    ("cname-app.example.com.", "TXT", 300, [marker("service/default/app")]),
    ("app.example.com.", "CNAME", 300, ["lb-1.elb.example.net."]),
    # Its record already gone (external-dns deletes the record first):
    # the name is still claimed.
    ("cname-shop.example.com.", "TXT", 300, [marker("ingress/shop/shop")]),
    # The old format (before external-dns 0.12): the marker at the name itself.
    ("legacy.example.com.", "TXT", 300, [marker("service/old/legacy")]),
    ("legacy.example.com.", "A", 300, ["198.51.100.30"]),
]
OWNED = {(n, t) for n, t, _, _ in EXTDNS}


def zone_text(serial=1, extra=""):
    """The primary: records of its own, and two at names and types
    external-dns owns (api A, with another address; shop CNAME, whose
    external-dns record is missing)."""
    return f"""$ORIGIN {ZONE}
$TTL 3600
@       SOA  ns1 hostmaster {serial} 3600 600 1209600 300
        NS   ns1
ns1     A    192.0.2.53
www 300 A    192.0.2.80
api 300 A    192.0.2.99
shop    CNAME www
{extra}"""


CONFLICTS = {("api.example.com.", "A"), ("shop.example.com.", "CNAME")}


def conflicts_in(stdout):
    """The (name, type) listed under 'conflicts, not pushed' in sync's or
    plan's text."""
    out, inside = set(), False
    for line in stdout.splitlines():
        if "conflicts, not pushed" in line:
            inside = True
            continue
        if inside and line.startswith("    "):
            f = line.split()
            out.add((f[0], f[1]))
        else:
            inside = False
    return out


def run_ok(zs, cmd, *args):
    r = zs.command(cmd, *args)
    assert r.returncode == 0, f"zonesync {cmd} {' '.join(args)}: {describe(r)}"
    return r


# --- PowerDNS ---------------------------------------------------------------------------

def pdns_put(pdns, records):
    pdns.patch(ZONE, [{"name": n, "type": t, "ttl": ttl, "changetype": "REPLACE",
                       "records": [{"content": v, "disabled": False} for v in vals]}
                      for n, t, ttl, vals in records])


def pdns_sets(pdns):
    """{(name, TYPE): frozenset(content)} of the zone at pdns_server."""
    return {(s["name"], s["type"]): frozenset(r["content"] for r in s["records"])
            for s in pdns.zone(ZONE)["rrsets"] if s["records"]}


def pdns_lab(lab, key=True):
    knot = lab.knot({ZONE: zone_text(1)})
    pdns = lab.pdns_api()
    pdns.create_zone(ZONE)
    pdns_put(pdns, EXTDNS)
    target = pdns.target()
    if key:
        target["ignore-owned-by"] = "external-dns"
    else:
        # First contact would keep them anyway (test_first_contact.py):
        # adopt: replace shows what the key alone prevents.
        target["adopt"] = "replace"
    zs = lab.zonesync_cli(knot, [target], [{"domain": ZONE, "target": ["pdns"],
                                            "max-delete": "100%", "max-update": "100%"}])
    return knot, pdns, zs


def assert_extdns_intact(got):
    for n, t, _, vals in EXTDNS:
        assert got.get((n, t)) == frozenset(vals), (n, t, got.get((n, t)))
    assert ("shop.example.com.", "CNAME") not in got, got


def test_pdns_owned_records_survive_and_conflict(lab):
    """PowerDNS, with the key: external-dns's markers and records survive a
    first sync and a `sync --full`; the primary's api A and shop CNAME (names
    and types external-dns owns, shop's record missing) are reported as
    conflicts and not written, the rest of the zone is pushed.  Fails if the
    key is unknown, if a marker or an owned record is deleted or replaced
    (the view did not hold them), or if a claim without its record is
    pushed over (the conflict check only looked at live records)."""
    knot, pdns, zs = pdns_lab(lab)
    for args in ((), ("--full",)):
        r = run_ok(zs, "sync", *args)
        assert conflicts_in(r.stdout) == CONFLICTS, describe(r)
        got = pdns_sets(pdns)
        assert_extdns_intact(got)
        assert got[("www.example.com.", "A")] == frozenset({"192.0.2.80"}), got
        assert got[("ns1.example.com.", "A")] == frozenset({"192.0.2.53"}), got

    # plan says what was kept out and why.
    r = zs.plan()
    plan = json.loads(r.stdout)
    (t,) = plan["zones"][0]["targets"]
    assert t["summary"] == {"add": 0, "update": 0, "delete": 0}, t
    assert {(c["name"], c["type"]) for c in t["conflicts"]} == CONFLICTS, t
    assert {c["why"] for c in t["conflicts"]} == {"owned by external-dns"}, t
    (kept,) = [k for k in t["kept_out"] if k["side"] == "target"]
    assert "external-dns" in kept["rule"] and kept["rrsets"] == len(EXTDNS), kept


def test_pdns_change_by_ixfr_still_reads(lab):
    """PowerDNS, with the key: after a first sync, external-dns adds a record
    (late A and its marker) and the primary adds late A too, which reaches
    zonesync as an IXFR.  The push must read the provider (not push the
    delta alone) and report the conflict: late A keeps external-dns's
    address.  Fails if a target with the key takes the incremental path
    (PowerDNS's REPLACE would overwrite external-dns's record)."""
    knot, pdns, zs = pdns_lab(lab)
    run_ok(zs, "sync")
    pdns_put(pdns, [("a-late.example.com.", "TXT", 300, [marker("ingress/default/late")]),
                    ("late.example.com.", "A", 300, ["198.51.100.20"])])
    knot.change(ZONE, set=[("late", 300, "A", "192.0.2.50"), ("mine", 300, "A", "192.0.2.51")])
    r = run_ok(zs, "sync")
    assert ("late.example.com.", "A") in conflicts_in(r.stdout), describe(r)
    got = pdns_sets(pdns)
    assert got[("late.example.com.", "A")] == frozenset({"198.51.100.20"}), got
    assert got[("mine.example.com.", "A")] == frozenset({"192.0.2.51"}), got
    assert_extdns_intact(got)


def test_pdns_without_key_would_delete(lab):
    """PowerDNS, without the key: the plan deletes every marker and owned
    record and replaces api A with the primary's (and a sync does it), which
    is what the key prevents; no conflict is reported.  Fails if the records
    are left alone without the key (the tests above would then prove
    nothing)."""
    knot, pdns, zs = pdns_lab(lab, key=False)
    plan = json.loads(zs.plan().stdout)
    (t,) = plan["zones"][0]["targets"]
    changes = {(c["name"], c["type"]): c["action"] for c in t["changes"]}
    for n, ty, _, _ in EXTDNS:
        if (n, ty) != ("api.example.com.", "A"):
            assert changes.get((n, ty)) == "delete", (n, ty, changes)
    assert changes.get(("api.example.com.", "A")) in ("update", "change", "replace"), changes
    assert changes.get(("shop.example.com.", "CNAME")) == "add", changes
    assert t["conflicts"] == [], t
    r = run_ok(zs, "sync")
    assert conflicts_in(r.stdout) == set(), describe(r)
    got = pdns_sets(pdns)
    assert not any(k in got for k in OWNED - {("api.example.com.", "A")}), got
    assert got[("api.example.com.", "A")] == frozenset({"192.0.2.99"}), got


# --- Route 53 (moto) ------------------------------------------------------------------

def r53_sets(moto, zid):
    return {(s["Name"], s["Type"]): frozenset(r["Value"] for r in s.get("ResourceRecords", []))
            for s in moto.list(zid)}


@pytest.fixture
def r53(lab, moto):
    moto.reset()
    knot = lab.knot({ZONE: zone_text(1)})
    zid = moto.create_zone(ZONE)
    moto.change(zid, [{"Action": "CREATE",
                       "ResourceRecordSet": {"Name": n, "Type": t, "TTL": ttl,
                                             "ResourceRecords": [{"Value": v} for v in vals]}}
                      for n, t, ttl, vals in EXTDNS])
    env = aws_env()
    env["AWS_ENDPOINT_URL_STS"] = moto.endpoint
    target = {"id": "aws", "type": "route53", "endpoint": moto.endpoint, "hosted-zone-id": zid,
              "ignore-owned-by": "external-dns"}
    zs = lab.zonesync_cli(knot, [target], [{"domain": ZONE, "target": ["aws"],
                                            "max-delete": "100%", "max-update": "100%"}],
                          env=env)
    return knot, zid, zs


def test_route53_owned_records_survive_and_conflict(r53, moto):
    """Route 53 (moto), with the key: external-dns's markers (new format,
    written with the Route 53 API) and its A and CNAME survive a first sync
    and a `sync --full`; the primary's api A and shop CNAME are conflicts,
    not written; www A is pushed.  Fails if the key is unknown, if the
    route53 target's read and view do not hold the owned RRsets (they would
    be deleted or UPSERTed over), or if the conflicts are not reported."""
    knot, zid, zs = r53
    for args in ((), ("--full",)):
        r = run_ok(zs, "sync", *args)
        assert conflicts_in(r.stdout) == CONFLICTS, describe(r)
        got = r53_sets(moto, zid)
        assert_extdns_intact(got)
        assert got[("www.example.com.", "A")] == frozenset({"192.0.2.80"}), got
