"""Safety at first contact (issue 15 part 3): a provider zone zonesync has
never pushed to may hold records the primary lacks (made in a console, an
ACME challenge).  Until the (zone, target) pair is adopted, no push that
reads the provider deletes them: the primary's records arrive (added and
updated), the provider's own stay, listed by plan and sync and logged at
notice.  `sync --force` once, or the target's `adopt: replace`, adopts it.

Route 53 is moto_server (the hand-made records written and read back with
the AWS CLI); PowerDNS is a real pdns_server with its HTTP API.  knotd is
the primary."""
import json

import dns.name

from motolab import R53Zonesync, describe, listing_view, name_text, primary_view, view_diff
from servers import dig_axfr_generic, free_port

ZONE = "example.com."

PRIMARY = f"""$ORIGIN {ZONE}
$TTL 3600
@       SOA  ns1 hostmaster 1 3600 600 1209600 300
        NS   ns1
ns1     A    192.0.2.53
www 300 A    192.0.2.80
mail    A    192.0.2.25
"""

# Made by hand in the provider: two RRsets the primary lacks, and a www
# the primary has with another value (an update: it goes).
HANDMADE = [("legacy.example.com.", "A", ["192.0.2.10"]),
            ("_acme-challenge.example.com.", "TXT", ['"token-123"']),
            ("www.example.com.", "A", ["203.0.113.1"])]
LEFT = {("legacy.example.com.", "A"), ("_acme-challenge.example.com.", "TXT")}


# --- Route 53 (moto_server) ------------------------------------------------------------------

def r53_setup(lab, moto, handmade=True, adopt=None, port=None):
    """knotd with PRIMARY, a hosted zone (with the hand-made records), and
    zonesync with its route53 target "aws"."""
    moto.reset()
    knot = lab.knot({ZONE: PRIMARY})
    zid = moto.create_zone(ZONE)
    if handmade:
        moto.change(zid, [{"Action": "UPSERT",
                           "ResourceRecordSet": {"Name": n, "Type": t, "TTL": 600,
                                                 "ResourceRecords": [{"Value": v}
                                                                     for v in vals]}}
                          for n, t, vals in HANDMADE])
    target = {"id": "aws", "hosted-zone-id": zid}
    if adopt is not None:
        target["adopt"] = adopt
    zs = lab.add(R53Zonesync(lab.binary, lab.dir("zonesync"), moto.endpoint, knot.port,
                             knot.secret, [{"domain": ZONE}], [target], port=port))
    return knot, zid, zs


def r53_view(moto, zid):
    return listing_view(moto.list(zid), ZONE)


def primary_of(knot):
    return primary_view(knot.axfr(ZONE), ZONE)[0]


def assert_kept(moto, zid, knot):
    """The hosted zone holds the primary's view plus the two hand-made
    RRsets, untouched."""
    got = r53_view(moto, zid)
    want = dict(primary_of(knot))
    want[("legacy.example.com.", "A")] = (600, frozenset({"192.0.2.10"}))
    want[("_acme-challenge.example.com.", "TXT")] = (600, frozenset({'"token-123"'}))
    assert got == want, view_diff(got, want)


def assert_primary_only(moto, zid, knot):
    got, want = r53_view(moto, zid), primary_of(knot)
    assert got == want, view_diff(got, want)


def run_ok(zs, *args):
    r = zs.command(*args)
    assert r.returncode == 0, f"zonesync {' '.join(args)}: {describe(r)}"
    return r


def plan_target(zs):
    r = zs.plan()
    try:
        plan = json.loads(r.stdout)
    except ValueError:
        raise AssertionError(f"plan --json printed no JSON: {describe(r)}") from None
    (z,) = plan["zones"]
    (t,) = z["targets"]
    return t


def status_target(zs):
    r = zs.command("status", "--json")
    (z,) = json.loads(r.stdout)["zones"]
    (t,) = z["targets"]
    return t


def left_of(t):
    return {(x["name"], x["type"]) for x in t["not_deleted"]["rrsets"]}


def test_route53_first_contact_keeps_handmade_records(lab, moto):
    """A hosted zone with hand-made records (legacy A, an ACME TXT, a www of
    another value): plan lists the two as not deleted; the first sync brings
    the primary's records (www updated) and deletes nothing, with a notice;
    they stay through a second sync, a `sync --full`, and a reconcile by the
    daemon (`sync --full` through it); status says unadopted; `sync --force`
    once (the target up to date) deletes them and adopts the pair.
    Fails on main before this change: the first sync deleted both
    (max-delete 30% does not apply to a zone under 10 RRsets), and plan had
    no not_deleted."""
    knot, zid, zs = r53_setup(lab, moto, port=free_port())

    t = plan_target(zs)
    assert t["unadopted"] is True, t
    assert t["not_deleted"]["count"] == 2 and left_of(t) == LEFT, t
    assert t["summary"]["delete"] == 0 and t["summary"]["update"] == 1, t
    text = zs.plan_text()
    assert "not deleted, first contact: 2 RRsets" in text.stdout, describe(text)
    assert "legacy.example.com. A" in text.stdout, describe(text)
    assert "zonesync sync --force" in text.stdout, describe(text)
    # The plan wrote nothing.
    assert r53_view(moto, zid)[("www.example.com.", "A")] == (600, frozenset({"203.0.113.1"}))

    r = run_ok(zs, "sync")
    assert_kept(moto, zid, knot)
    assert "first contact, not deleted: zone=example.com. target=aws count=2" in r.stderr, \
        describe(r)
    assert "not deleted, first contact: 2 RRsets" in r.stdout, describe(r)
    assert status_target(zs)["unadopted"] is True

    # Again, up to date; then a full compare: still there, still listed.
    run_ok(zs, "sync")
    assert_kept(moto, zid, knot)
    r = run_ok(zs, "sync", "--full")
    assert_kept(moto, zid, knot)
    assert "first contact, not deleted" in r.stderr, describe(r)
    assert "repaired drift" not in r.stdout, describe(r)

    # The daemon's reconcile (sync --full through it): the same.
    zs.start()
    mark = zs.mark()
    r = run_ok(zs, "sync", "--full")
    zs.wait_log(r"first contact, not deleted: zone=example\.com\. target=aws count=2",
                timeout=20, since=mark)
    assert_kept(moto, zid, knot)
    assert zs.stop() == 0
    assert status_target(zs)["unadopted"] is True

    # Adopted by one forced sync: the two go, the pair is adopted.
    r = run_ok(zs, "sync", "--force")
    assert_primary_only(moto, zid, knot)
    assert "target adopted: zone=example.com. target=aws deleted=2" in r.stderr, describe(r)
    assert status_target(zs)["unadopted"] is False
    t = plan_target(zs)
    assert t["unadopted"] is False and t["not_deleted"]["count"] == 0, t


def test_route53_adopt_replace_deletes_at_first_contact(lab, moto):
    """adopt: replace on a fresh state: the first sync deletes the
    hand-made records (the primary's zone is the whole truth), with no
    first-contact notice, and the pair is adopted.  Fails if the key were
    not read or not honoured (the records would stay)."""
    knot, zid, zs = r53_setup(lab, moto, adopt="replace")
    t = plan_target(zs)
    assert t["unadopted"] is False and t["summary"]["delete"] == 2, t
    r = run_ok(zs, "sync")
    assert_primary_only(moto, zid, knot)
    assert "first contact" not in r.stderr, describe(r)
    assert status_target(zs)["unadopted"] is False


def test_route53_empty_zone_syncs_normally(lab, moto):
    """A new hosted zone (its own apex SOA and NS only): nothing to lose,
    so the first sync is a plain one, no notice, the pair adopted at once
    (a record made by hand afterwards is drift, repaired by --full).
    Fails if an empty zone were left unadopted."""
    knot, zid, zs = r53_setup(lab, moto, handmade=False)
    r = run_ok(zs, "sync")
    assert_primary_only(moto, zid, knot)
    assert "first contact" not in r.stderr and "not deleted" not in r.stdout, describe(r)
    assert status_target(zs)["unadopted"] is False
    moto.change(zid, [{"Action": "UPSERT",
                       "ResourceRecordSet": {"Name": "later.example.com.", "Type": "A",
                                             "TTL": 60,
                                             "ResourceRecords": [{"Value": "192.0.2.99"}]}}])
    r = run_ok(zs, "sync", "--full")
    assert_primary_only(moto, zid, knot)
    assert "repaired drift" in r.stdout, describe(r)


# --- PowerDNS (pdns_server, HTTP API) ---------------------------------------------------------

def pdns_view(pdns):
    """{(owner, TYPE)} of what pdns_server serves."""
    return {(name_text(dns.name.from_text(o)), t) for o, _, t, _ in pdns.axfr(ZONE)}


def test_powerdns_first_contact_keeps_then_force_adopts(lab):
    """A PowerDNS zone with hand-made RRsets: the first sync brings the
    primary's records and keeps them (and sync --full too), --force deletes
    them.  Fails on main before this change (the first sync deleted
    them)."""
    knot = lab.knot({ZONE: PRIMARY})
    pdns = lab.pdns_api()
    pdns.create_zone()
    pdns.patch(ZONE, [{"name": n, "type": t, "ttl": 600, "changetype": "REPLACE",
                       "records": [{"content": v, "disabled": False} for v in vals]}
                      for n, t, vals in HANDMADE])
    zs = lab.zonesync_cli(knot, [pdns.target()], [{"domain": ZONE, "target": ["pdns"]}])

    r = run_ok(zs, "sync")
    held = pdns_view(pdns)
    assert LEFT <= held, (held, describe(r))
    assert {("mail.example.com.", "A"), ("example.com.", "NS")} <= held, held
    www = {rd for o, _, t, rd in pdns.axfr(ZONE) if o == "www.example.com." and t == "A"}
    assert www == {"192.0.2.80"}, www  # updates go
    assert "first contact, not deleted: zone=example.com. target=pdns count=2" in r.stderr, \
        describe(r)

    r = run_ok(zs, "sync", "--full")
    assert LEFT <= pdns_view(pdns), describe(r)

    r = run_ok(zs, "sync", "--force")
    held = pdns_view(pdns)
    assert not (LEFT & held), (held, describe(r))
    want = {(name_text(dns.name.from_text(o)), t)
            for o, _, t, _ in dig_axfr_generic(knot.port, ZONE, knot.secret)}
    assert held == want, (held, want)
