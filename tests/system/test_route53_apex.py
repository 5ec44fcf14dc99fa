"""The apex policies of the route53 target, against the fault-injecting fake
(moto cannot: its hosted zones carry an SOA whose value is not SOA text, and
it has no delegation-set check): soa-serial: mirror and apex-ns: sync."""
import re

from motolab import describe
from test_route53_faults import Lab, ZONE, apex, lab, zone_text  # noqa: F401


def sync(zs, fake, *args, rc=0):
    """`zonesync sync`, expecting exit rc (the apex is what these tests
    change, so test_route53_faults' keep-policy checks do not apply)."""
    mark = len(fake.log())
    r = zs.sync(*args, timeout=120)
    assert r.returncode == rc, describe(r)
    return r, fake.log()[mark:]


def soa_of(fake, zid):
    (soa,) = [r for r in fake.rrsets(zid) if r["name"] == ZONE and r["type"] == "SOA"]
    return soa["values"][0].split()


def ns_of(fake, zid):
    (ns,) = [r for r in fake.rrsets(zid) if r["name"] == ZONE and r["type"] == "NS"]
    return sorted(v.lower().rstrip(".") for v in ns["values"])


def test_soa_serial_mirror_keeps_the_providers_soa_but_the_serial(lab):
    knot = lab.knot(zone_text(7))
    fake = lab.fake
    zid = fake.create_zone(ZONE)
    before = soa_of(fake, zid)
    zs = lab.zonesync(knot, **{"hosted-zone-id": zid, "soa-serial": "mirror"})
    sync(zs, fake)
    after = soa_of(fake, zid)
    assert after[2] == "7", after
    assert after[:2] + after[3:] == before[:2] + before[3:], "only the serial changes"
    serial = knot.change(ZONE, set=[("x", 300, "A", "192.0.2.7")])
    sync(zs, fake)
    assert soa_of(fake, zid)[2] == str(serial)


def test_soa_serial_keep_never_touches_the_soa(lab):
    knot = lab.knot(zone_text(7))
    fake = lab.fake
    zid = fake.create_zone(ZONE)
    before = apex(fake, zid)
    zs = lab.zonesync(knot, **{"hosted-zone-id": zid})
    sync(zs, fake)
    knot.change(ZONE, set=[("x", 300, "A", "192.0.2.7")])
    sync(zs, fake)
    assert apex(fake, zid) == before


def test_apex_ns_sync_refused_without_the_hosted_zones_servers(lab):
    knot = lab.knot(zone_text(1))  # apex NS: ns1.example.com., ns2.example.net.
    fake = lab.fake
    zid = fake.create_zone(ZONE)
    own = ns_of(fake, zid)
    zs = lab.zonesync(knot, **{"hosted-zone-id": zid, "apex-ns": "sync"})
    r, entries = sync(zs, fake, rc=1)
    assert "apex-ns: sync refused" in r.stdout + r.stderr
    assert re.search(re.escape(own[0]) + r"|" + "|".join(map(re.escape, own)),
                     r.stdout + r.stderr), "the message names a missing name server"
    assert ns_of(fake, zid) == own
    assert not [e for e in entries if e["op"] == "change" and e.get("applied")], \
        "nothing was written"


def test_apex_ns_sync_applies_a_set_that_keeps_them(lab):
    fake = lab.fake
    zid = fake.create_zone(ZONE)
    own = ns_of(fake, zid)
    extra = "".join(f"@ NS {n}.\n" for n in own)
    knot = lab.knot(zone_text(1, extra))
    zs = lab.zonesync(knot, **{"hosted-zone-id": zid, "apex-ns": "sync"})
    sync(zs, fake)
    assert ns_of(fake, zid) == sorted(own + ["ns1.example.com", "ns2.example.net"])
