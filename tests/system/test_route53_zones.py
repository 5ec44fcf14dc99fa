"""How the route53 target finds its hosted zones among many (issue 14 parts
3 and 4), against moto_server, with knotd as the primary:

  - one ListHostedZones listing (GET /2013-04-01/hostedzone, paged) serves
    every zone of a sync, and no ListHostedZonesByName is made;
  - a public and a private hosted zone of the same name: the public one by
    default, the private one with private: true (vpc-id choosing among
    several), verify --serving says why a private zone is not asked;
  - create: true makes a missing public hosted zone once and logs its name
    servers; without it a missing zone is the error it always was.

Hosted zones, VPCs and the checks are made with the AWS tools (the CLI, or
botocore where motolab uses it for speed); requests are counted from moto's
access log."""
import json
import re
import subprocess
import time

import pytest

from motolab import _RRSET_RE as RRSET_RE
from motolab import CMD_TIMEOUT, Moto, aws_env, describe, listing_view, strip_id
from test_route53 import Lab, ZONE, assert_in_sync, sync_ok, zone_text

ZONES = ["example.com.", "example.org.", "sub.example.com."]
LIST_RE = re.compile(r"^GET /2013-04-01/hostedzone(\?\S*)? \d{3}$")


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    m = Moto(tmp_path_factory.mktemp("moto")).start()
    yield m
    m.stop()


@pytest.fixture
def lab(tmp_path, zonesync, moto):
    import os
    from conftest import ROOT
    binary = os.environ.get("ZONESYNC_BIN", os.path.join(ROOT, "build", "zonesync"))
    moto.reset()
    lab = Lab(tmp_path, binary, moto)
    yield lab
    lab.close()


# --- helpers --------------------------------------------------------------------------------

def zone_listings(moto, since):
    """(ListHostedZones requests, ListHostedZonesByName requests) after the mark."""
    other = moto.requests(since)["other"]
    return (sum(1 for r in other if LIST_RE.match(r)),
            sum(1 for r in other if "/hostedzonesbyname" in r))


def ec2(moto, *args):
    """`aws ec2 ARGS` against moto_server: the parsed JSON."""
    cmd = [moto.aws_bin, "--endpoint-url", moto.endpoint, "ec2", *args, "--output", "json"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=CMD_TIMEOUT, env=aws_env())
    assert r.returncode == 0, f"{' '.join(cmd)}: {r.stdout}{r.stderr}"
    return json.loads(r.stdout)


def new_vpc(moto, cidr):
    return ec2(moto, "create-vpc", "--cidr-block", cidr)["Vpc"]["VpcId"]


def private_zone(moto, name, vpc):
    """A private hosted zone associated with the VPC, by the AWS CLI."""
    out = moto.aws("create-hosted-zone", "--name", name,
                   "--caller-reference", f"priv-{vpc}-{time.monotonic_ns()}",
                   "--vpc", f"VPCRegion=us-east-1,VPCId={vpc}",
                   "--hosted-zone-config", "Comment=private,PrivateZone=true")
    return strip_id(out["HostedZone"]["Id"])


def records(moto, zone_id, zone=ZONE):
    return listing_view(moto.list(zone_id), zone)


def all_zones(moto):
    """[(id, name, private)] of every hosted zone, by the AWS CLI."""
    out = moto.aws("list-hosted-zones")["HostedZones"]
    return [(strip_id(z["Id"]), z["Name"], z["Config"]["PrivateZone"]) for z in out]


# --- 1. many hosted zones: one listing --------------------------------------------------------

@pytest.mark.parametrize("decoys", [20, 230])
def test_one_listing_for_all_zones(lab, moto, decoys):
    """3 zones among `decoys` other hosted zones: a sync of every zone makes
    one ListHostedZones pass (1 page of 100 for 23 zones, 3 pages for 233)
    and no ListHostedZonesByName, and each zone's records land in its own
    hosted zone."""
    for i in range(decoys):
        moto.create_zone(f"decoy{i}.example.net.")
    ids = {z: moto.create_zone(z) for z in ZONES}
    knot = lab.knot({z: zone_text(1, f"only-{i} A 192.0.2.{i + 1}\n", z)
                     for i, z in enumerate(ZONES)})
    zs = lab.zonesync(knot, zones=[{"domain": z} for z in ZONES])

    mark = moto.mark()
    r = sync_ok(zs)
    listed, by_name = zone_listings(moto, mark)
    pages = (decoys + len(ZONES)) // 100 + 1
    assert (listed, by_name) == (pages, 0), \
        f"{listed} ListHostedZones requests (want {pages}: one pass), " \
        f"{by_name} ListHostedZonesByName\n{describe(r)}"
    assert re.search(rf"hosted zones listed: .*zones={decoys + len(ZONES)} pages={pages}",
                     r.stderr), describe(r)
    written = {m.group(2) for m in map(RRSET_RE.search, moto.lines()[mark:])
               if m and m.group(1) == "POST"}
    assert written == set(ids.values()), f"changes sent to {written - set(ids.values())}"
    for i, z in enumerate(ZONES):
        got = assert_in_sync(moto, ids[z], knot, z)
        assert (f"only-{i}.{z}", "A") in got


# --- 2. public and private zones of one name ----------------------------------------------------

def test_public_and_private_of_one_name(lab, moto):
    """example.com. public, and private in two VPCs: by default the public
    one is written (never a private one); private: true alone is an error
    naming both private zones; private: true + vpc-id writes the private zone
    of that VPC only; verify --serving says a private zone is served inside
    its VPCs; vpc-id without private and create with private are refused."""
    vpc_a, vpc_b = new_vpc(moto, "10.1.0.0/16"), new_vpc(moto, "10.2.0.0/16")
    priv_a = private_zone(moto, ZONE, vpc_a)
    pub = moto.create_zone(ZONE)
    priv_b = private_zone(moto, ZONE, vpc_b)
    assert {(i, p) for i, _, p in all_zones(moto)} == {(priv_a, True), (pub, False),
                                                     (priv_b, True)}
    knot = lab.knot({ZONE: zone_text(1)})

    # Default: the public zone.
    zs = lab.zonesync(knot)
    sync_ok(zs)
    assert_in_sync(moto, pub, knot)
    assert records(moto, priv_a) == {} and records(moto, priv_b) == {}

    # private: true without vpc-id: two candidates, named.
    zs = lab.zonesync(knot, targets=[{"id": "aws", "private": "true"}])
    r = zs.sync()
    assert r.returncode != 0, describe(r)
    msg = r.stdout + r.stderr
    assert "2 private hosted zones named example.com." in msg, describe(r)
    assert priv_a in msg and priv_b in msg and "vpc-id" in msg, describe(r)

    # private: true + vpc-id: the zone of that VPC.
    zs = lab.zonesync(knot, targets=[{"id": "aws", "private": "true", "vpc-id": vpc_b}])
    sync_ok(zs)
    assert_in_sync(moto, priv_b, knot)
    assert records(moto, priv_a) == {}, "the private zone of the other VPC was written"

    # A VPC with no private zone of the name.
    vpc_c = new_vpc(moto, "10.3.0.0/16")
    zs = lab.zonesync(knot, targets=[{"id": "aws", "private": "true", "vpc-id": vpc_c}])
    r = zs.sync()
    assert r.returncode != 0 and f"associated with VPC {vpc_c}" in r.stdout + r.stderr, \
        describe(r)

    # verify --serving: not the delegation set, and why.
    zs = lab.zonesync(knot, targets=[{"id": "aws", "private": "true", "vpc-id": vpc_a}])
    r = zs.command("verify", "--serving")
    out = r.stdout + r.stderr
    assert "is private: it is served only inside its VPCs" in out, describe(r)
    assert re.search(r"GET /2013-04-01/hostedzone/[^/ ]+ ", "\n".join(moto.lines())), \
        "vpc-id is checked with GetHostedZone"

    # Refused by open: vpc-id without private, create with private.
    for target, words in [({"vpc-id": vpc_a}, "vpc-id is for private hosted zones"),
                          ({"private": "true", "create": "true"},
                           "create: true with private: true")]:
        zs = lab.zonesync(knot, targets=[{"id": "aws", **target}])
        r = zs.sync()
        assert r.returncode != 0 and words in r.stdout + r.stderr, describe(r)
    assert len(all_zones(moto)) == 3


# --- 3. create: true --------------------------------------------------------------------------

def test_create_missing_public_zone(lab, moto):
    """No hosted zone for example.com.: without create, the sync fails with
    the error naming it and creates nothing; a plan with create: true creates
    nothing; the first sync with create: true creates exactly one public
    hosted zone (comment zonesync), its records arrive, and the log names its
    name servers; a second sync (a new process) finds it and creates none.
    A private zone of the name is not taken for it."""
    vpc = new_vpc(moto, "10.9.0.0/16")
    priv = private_zone(moto, ZONE, vpc)
    knot = lab.knot({ZONE: zone_text(1)})

    zs = lab.zonesync(knot)
    r = zs.sync()
    assert r.returncode != 0, describe(r)
    assert "no public hosted zone named example.com. in this account" in r.stdout + r.stderr, \
        describe(r)
    assert "a private one has that name" in r.stdout + r.stderr, describe(r)
    assert [z[0] for z in all_zones(moto)] == [priv]

    zs = lab.zonesync(knot, targets=[{"id": "aws", "create": "true"}])
    r = zs.plan()
    assert r.returncode in (0, 3), describe(r)
    assert [z[0] for z in all_zones(moto)] == [priv], "plan created a hosted zone"

    mark = moto.mark()
    r = sync_ok(zs)
    creates = [x for x in moto.requests(mark)["other"]
               if re.match(r"POST /2013-04-01/hostedzone \d{3}$", x)]
    assert len(creates) == 1, f"{creates}\n{describe(r)}"
    made = [z for z in all_zones(moto) if not z[2]]
    assert len(made) == 1 and made[0][1] == ZONE, all_zones(moto)
    zid = made[0][0]
    got = moto.aws("get-hosted-zone", "--id", zid)
    assert got["HostedZone"]["Config"].get("Comment") == "zonesync"
    servers = got["DelegationSet"]["NameServers"]
    m = re.search(r"hosted zone created: .*id=(\S+) .*name servers: (.*) \(delegate", r.stderr)
    assert m and m.group(1) == zid, describe(r)
    assert {s.rstrip(".").lower() for s in m.group(2).split()} == \
        {s.rstrip(".").lower() for s in servers}, describe(r)
    assert_in_sync(moto, zid, knot)
    assert records(moto, priv) == {}, "the private zone was written"

    # Again (a new process, a new serial): found, not created again.
    serial = knot.change(ZONE, set=[("late", 300, "A", "192.0.2.99")])
    mark = moto.mark()
    r = sync_ok(zs)
    reqs = moto.requests(mark)["other"]
    assert not any(x.startswith("POST /2013-04-01/hostedzone ") for x in reqs), \
        f"{reqs}\n{describe(r)}"
    assert len([z for z in all_zones(moto) if not z[2]]) == 1, all_zones(moto)
    assert ("late.example.com.", "A") in assert_in_sync(moto, zid, knot)
    assert serial > 1


# --- 4. create: true where moto is too lenient: CallerReference, lost answers ---------------------

@pytest.fixture
def fake_lab(tmp_path, zonesync):
    import os
    from conftest import ROOT
    from test_route53_faults import Lab as FakeLab
    binary = os.environ.get("ZONESYNC_BIN", os.path.join(ROOT, "build", "zonesync"))
    lab = FakeLab(tmp_path, binary)
    yield lab
    lab.close()


def test_create_idempotent_and_after_deletion(fake_lab):
    """Against the fake Route 53 (one hosted zone per CallerReference, for
    ever, as Route 53 does): a CreateHostedZone whose answer is lost (applied,
    connection dropped) is not sent again blindly: the listing finds the zone,
    one zone in all, the records arrive.  Then a user deletes that zone and the
    primary changes: the next sync's CreateHostedZone with the same reference
    is refused (HostedZoneAlreadyExists), the zone is not listed, so zonesync
    creates it with a fresh reference, and pushes the whole zone, not only
    the change."""
    from test_route53_faults import assert_in_sync as fake_in_sync, set_zone
    from test_route53_faults import zone_text as fake_zone_text
    lab = fake_lab
    fake = lab.fake
    other = fake.create_zone("example.net.")
    knot = lab.knot(fake_zone_text(1))
    zs = lab.zonesync(knot, create="true")
    fake.add_faults([{"op": "createzone", "fault": "close-after"}])

    r = sync_ok(zs)
    creates = [e for e in fake.log() if e["op"] == "createzone"]
    assert len(creates) == 1 and creates[0].get("fault") == "close-after", creates
    ours = [z for z in fake.zones() if z["name"] == ZONE]
    assert len(ours) == 1, fake.zones()
    zid = ours[0]["id"]
    assert "hosted zone found after CreateHostedZone went unanswered" in r.stderr, describe(r)
    fake_in_sync(fake, zid, knot)
    ref = creates[0]["caller_reference"]
    assert re.fullmatch(r"zonesync-[0-9a-f]{32}", ref), ref

    # Deleted by a user; the primary changes: recreated, the whole zone pushed.
    fake.delete_zone(zid)
    fake.clear_log()
    set_zone(knot, fake_zone_text(2, "late 300 A 192.0.2.99\n"), 2)
    r = sync_ok(zs)
    creates = [e for e in fake.log() if e["op"] == "createzone"]
    assert [e["status"] for e in creates] == [409, 201], creates
    assert creates[0]["caller_reference"] == ref
    assert creates[1]["caller_reference"].startswith(ref + "-"), creates
    ours = [z for z in fake.zones() if z["name"] == ZONE]
    assert len(ours) == 1 and ours[0]["id"] != zid, fake.zones()
    m = re.search(r"hosted zone created: .*id=(\S+) .*name servers: \S+", r.stderr)
    assert m and m.group(1) == ours[0]["id"], describe(r)
    fake_in_sync(fake, ours[0]["id"], knot)
    assert len(fake.rrsets(other)) == 2, "example.net. was written"


# --- 5. the daemon: listed again at most once a minute ---------------------------------------------

def test_daemon_lists_again_at_most_once_a_minute(tmp_path, zonesync):  # noqa: ARG001
    """The daemon, its zone's hosted zone missing: the push fails and is
    retried (after 10 s, 20 s, 40 s) without listing the account again
    within a minute; the zone created meanwhile (by someone else) is found by
    the first retry a minute after the listing, and synced."""
    import os
    from conftest import ROOT
    from fake_route53 import FakeRoute53
    from servers import Knot, free_port
    from motolab import R53Zonesync
    from test_route53_faults import assert_in_sync as fake_in_sync
    from test_route53_faults import zone_text as fake_zone_text

    fake = FakeRoute53().start()
    fake.create_zone("example.net.")
    zs_port = free_port()
    knot = Knot(tmp_path / "knot", {ZONE: fake_zone_text(1)}, zs_port)
    (tmp_path / "zs").mkdir()
    binary = os.environ.get("ZONESYNC_BIN", os.path.join(ROOT, "build", "zonesync"))
    zs = R53Zonesync(binary, tmp_path / "zs", fake.url, knot.port, knot.secret,
                     [{"domain": ZONE}], [{"id": "aws", "rate-limit": 50}], port=zs_port)

    def listings():
        return [e for e in fake.log() if e["method"] == "GET" and
                e["path"].rstrip("/") == "/2013-04-01/hostedzone"]
    try:
        knot.start()
        zs.start()
        zs.wait_log(r"target failed: zone=example\.com\. target=aws", timeout=20)
        t0 = time.monotonic()
        assert len(listings()) == 1, [e["path"] for e in fake.log()]
        zid = fake.create_zone(ZONE)
        # Two retries (10 s and 30 s after the first failure): no listing.
        mark = zs.mark()
        zs.wait_log(r"target failed: zone=example\.com\. target=aws", timeout=20, since=mark)
        mark = zs.mark()
        zs.wait_log(r"target failed: zone=example\.com\. target=aws", timeout=30, since=mark)
        assert len(listings()) == 1, "listed again within a minute"
        assert "no public hosted zone named example.com." in zs.log()
        zs.wait_log(r"target synced: zone=example\.com\. target=aws serial=1 mode=full",
                    timeout=60, since=mark)
        assert time.monotonic() - t0 >= 55
        assert len(listings()) == 2, [e["path"] for e in listings()]
        fake_in_sync(fake, zid, knot)
        assert zs.stop() == 0
        assert zs.problems() == []
    finally:
        zs.stop()
        knot.stop()
        fake.stop()
