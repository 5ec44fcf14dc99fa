"""One engine for every target (issue 11, items 5 and 6), as a user sees it
from `zonesync sync -c CONF` and `zonesync plan -c CONF` (one pass each, no
daemon).

A. AXFR-only primaries (nsd 4.6, pdns_server with the bind backend) answer
   IXFR with the whole zone.  When a target is clean at the previous serial,
   the delta is the diff of the previous and the new snapshot: a one-record
   change costs one write and no read of the target.  Requests are counted
   where they arrive: moto_server's access log (Route 53) and pdns_server's
   webserver log (PowerDNS API).
B. What the one engine shows: a line per zone and target for every kind of
   target, zonefile and exec included, and exit 1 when one failed; plan
   (text and JSON) for every kind of target; sync naming the types a target
   skipped, as plan does; plan naming the record sets it leaves alone.

Each test has its own servers and ports (servers.Lab, the `lab` fixture);
moto_server is one per module, reset per test."""
import json
import re

import dns.name
import pytest

from motolab import aws_env, describe, listing_view, primary_view, synced_lines, view_diff
from servers import (dig_axfr_generic, dig_ixfr, is_axfr_style, read_zonefile, rrset_view,
                     zonefile_serial)

ZONE = "example.com."


def zone_text(serial=1, extra="", www2="192.0.2.81"):
    return f"""$ORIGIN example.com.
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
www 300 A    {www2}
old     CNAME www
{extra}"""


# --- helpers ---------------------------------------------------------------------------------

def axfr_only_primary(lab, kind, text):
    """nsd or pdns_server (bind backend) serving example.com.; both change
    data by set_zone(zone, text, serial)."""
    if kind == "nsd":
        return lab.nsd({ZONE: text})
    return lab.pdns({ZONE: text})


def route53_target(moto, zid, tid="aws"):
    return {"id": tid, "type": "route53", "hosted-zone-id": zid, "endpoint": moto.endpoint}


def sync_ok(zs, *args):
    r = zs.sync(*args)
    assert r.returncode == 0, f"zonesync sync {' '.join(args)}: {describe(r)}"
    return r


def assert_r53_in_sync(moto, zid, primary):
    got = listing_view(moto.list(zid), ZONE)
    want, _ = primary_view(primary.axfr(ZONE), ZONE)
    assert got == want, f"hosted zone differs from the primary's view:\n{view_diff(got, want)}"
    return got


# PowerDNS's own DNSSEC types are never synced; the SOA is compared by its
# serial (a zone zonesync did not create keeps PowerDNS's SOA fields).
PDNS_SKIP = frozenset("RRSIG NSEC NSEC3 NSEC3PARAM DNSKEY CDS CDNSKEY".split())


def assert_pdns_in_sync(pdns, primary):
    got = rrset_view(pdns.axfr(ZONE), soa="serial", skip=PDNS_SKIP)
    want = rrset_view(dig_axfr_generic(primary.port, ZONE, primary.secret), soa="serial",
                      skip=PDNS_SKIP)
    assert got == want, f"PowerDNS differs from the primary:\n{view_diff(got, want)}"
    return got


def target_lines(stdout, target, zone=ZONE):
    """The lines of sync/plan text output that start a target's report
    ("example.com. -> archive: ..." or "example.com. -> aws (route53): ...")."""
    rx = re.compile(rf"^{re.escape(zone)} -> {re.escape(target)}[ :(]")
    return [line for line in stdout.splitlines() if rx.match(line)]


def target_block(stdout, target, zone=ZONE):
    """A target's report in text output: its first line and the lines after
    it (changes, notes) up to the next "ZONE -> TARGET" line."""
    out, inside = [], False
    for line in stdout.splitlines():
        if re.match(r"^\S+ -> \S", line):
            inside = re.match(rf"^{re.escape(zone)} -> {re.escape(target)}[ :(]", line) is not None
        if inside:
            out.append(line)
    return out


def one_line(r, target):
    lines = target_lines(r.stdout, target)
    assert len(lines) == 1, f"want one line for target {target}, got {lines}\n{describe(r)}"
    return lines[0]


def plan_json(zs, rc=None):
    r = zs.plan()
    if rc is not None:
        assert r.returncode == rc, f"plan --json: want exit {rc}: {describe(r)}"
    try:
        return json.loads(r.stdout)
    except ValueError:
        raise AssertionError(f"plan --json printed no JSON: {describe(r)}") from None


def plan_targets(plan, zone=ZONE):
    """{target id: its entry} of the zone in plan --json output."""
    zs = [z for z in plan["zones"] if z["zone"] == zone]
    assert len(zs) == 1, f"zone {zone} not once in the plan: {plan}"
    out = {}
    for t in zs[0]["targets"]:
        assert t["target"] not in out, f"target {t['target']} twice in the plan: {plan}"
        out[t["target"]] = t
    return out


def name_key(text):
    return dns.name.from_text(text).to_text().lower()


def names_set(line_or_lines, name, rdtype):
    """Whether a line names the record set: its owner, then its type as a
    word somewhere after it."""
    lines = [line_or_lines] if isinstance(line_or_lines, str) else line_or_lines
    rx = re.compile(rf"{re.escape(name)}\s(.*\s)?{re.escape(rdtype)}(\s|$|[,;)])",
                    re.IGNORECASE)
    return any(rx.search(line) for line in lines)


# --- A. AXFR-only primaries: incremental pushes ------------------------------------------------

@pytest.mark.parametrize("kind", ["nsd", "pdns"])
def test_axfr_only_primary_route53_one_change_one_request(lab, moto, kind):
    """A first (full) sync from an AXFR-only primary, then one RRset changed
    there (serial 1 -> 2): the second `zonesync sync` sends exactly one
    ChangeResourceRecordSets and no ListResourceRecordSets (the delta is the
    diff of the two snapshots; the target was clean at serial 1), logs
    mode=incremental, and the hosted zone equals the primary's view.

    Fails today: a full zone from the primary makes the route53 target
    re-read the hosted zone (a ListResourceRecordSets, mode=full)."""
    moto.reset()
    primary = axfr_only_primary(lab, kind, zone_text(1))
    zid = moto.create_zone(ZONE)
    zs = lab.zonesync_cli(primary, [route53_target(moto, zid)],
                          [{"domain": ZONE, "target": ["aws"]}], env=aws_env())

    sync_ok(zs)
    assert_r53_in_sync(moto, zid, primary)

    primary.set_zone(ZONE, zone_text(2, www2="192.0.2.82"), 2)
    # The premise: this primary answers an IXFR with the whole zone.
    assert is_axfr_style(dig_ixfr(primary.port, ZONE, 1, primary.secret)), \
        f"{kind} answered IXFR with differences: the test no longer tests an AXFR-only primary"
    mark = moto.mark()
    r = sync_ok(zs)
    reqs = moto.requests(mark, zid)  # counted before the AWS CLI lists
    assert (reqs["change"], reqs["list"]) == (1, 0), \
        f"want 1 ChangeResourceRecordSets, 0 ListResourceRecordSets: {reqs}\n{describe(r)}"
    got = assert_r53_in_sync(moto, zid, primary)
    assert got[("www.example.com.", "A")] == (300, frozenset({"192.0.2.80", "192.0.2.82"}))
    s = synced_lines(r.stderr, ZONE)
    assert [(x[1], x[2], x[3]) for x in s] == [("aws", 2, "incremental")], describe(r)


@pytest.mark.parametrize("kind", ["nsd", "pdns"])
def test_axfr_only_primary_powerdns_one_change_one_patch(lab, kind):
    """The same with a PowerDNS API target (pdns_server, sqlite backend):
    after the first sync, a one-RRset change on the AXFR-only primary costs
    exactly one PATCH (and the fence's read of the serial) and no GET of the
    zone's records, and what PowerDNS serves equals
    the primary's zone.

    Fails today: the full zone from the primary makes the powerdns target
    GET the zone (a read) before its PATCH (mode=full)."""
    primary = axfr_only_primary(lab, kind, zone_text(1))
    pdns = lab.pdns_api()
    pdns.create_zone(ZONE)
    zs = lab.zonesync_cli(primary, [pdns.target()], [{"domain": ZONE, "target": ["pdns"]}])

    sync_ok(zs)
    assert_pdns_in_sync(pdns, primary)

    primary.set_zone(ZONE, zone_text(2, www2="192.0.2.82"), 2)
    assert is_axfr_style(dig_ixfr(primary.port, ZONE, 1, primary.secret)), \
        f"{kind} answered IXFR with differences: the test no longer tests an AXFR-only primary"
    mark = pdns.mark()
    r = sync_ok(zs)
    reqs = pdns.request_lines(mark)  # counted before the test's own GETs
    zone_path = f"/api/v1/servers/localhost/zones/{ZONE}"
    patches = [q for q in reqs if q[0] == "PATCH"]
    # The fence (two hosts, zonesync(8)) reads the serial right before the
    # PATCH (?rrsets=false; pdns's log drops the query): that one GET, and no
    # second one, which would be a read of the records (mode=full).
    zone_gets = [q for q in reqs if q[0] == "GET" and q[1].split("?")[0] == zone_path]
    assert len(patches) == 1 and len(zone_gets) == 1, \
        f"want 1 PATCH and 1 GET (the fence's) of the zone: {reqs}\n{describe(r)}"
    got = assert_pdns_in_sync(pdns, primary)
    assert got[("www.example.com.", "A")] == (300, frozenset({"192.0.2.80", "192.0.2.82"}))
    assert got[("example.com.", "SOA")] == (3600, frozenset({"2"}))
    s = synced_lines(r.stderr, ZONE)
    assert [(x[1], x[2], x[3]) for x in s] == [("pdns", 2, "incremental")], describe(r)


# --- B1. sync: a line per target of every kind; exit 1 on a failed one -------------------------

RECORDER = """#!/bin/sh
printf '%s\\n' "$@" > "{out}.args"
echo "$2 $3" >> "{out}.runs"
"""


def local_targets(tmp_path, hook_command):
    """A zonefile target "archive" and an exec target "hook"; the file's path."""
    out = tmp_path / "archive"
    out.mkdir()
    targets = [{"id": "archive", "type": "zonefile", "path": f"{out}/%s.zone"},
               {"id": "hook", "type": "exec", "command": hook_command, "timeout": 10}]
    return targets, str(out / "example.com.zone")


def recorder(tmp_path):
    """An exec command that records its arguments and each run; (command, out)."""
    out = tmp_path / "rec"
    script = tmp_path / "hook.sh"
    script.write_text(RECORDER.format(out=out))
    script.chmod(0o755)
    return [str(script), "--flag"], str(out)


def runs(out):
    try:
        with open(out + ".runs") as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


def test_sync_prints_a_line_for_every_target_kind(lab, tmp_path):
    """`zonesync sync` reports every pair of zone and target on stdout, one
    line each, zonefile and exec targets as well as API targets: synced at
    the new serial after a change, up to date when nothing changed; and what
    it reports is what happened (the file holds the primary's zone, the
    command ran once per serial).

    Fails today: sync prints nothing at all for zonefile and exec targets
    (stdout is empty), though it writes the file and runs the command."""
    knot = lab.knot({ZONE: zone_text(1)})
    command, rec = recorder(tmp_path)
    targets, path = local_targets(tmp_path, command)
    zs = lab.zonesync_cli(knot, targets, [{"domain": ZONE, "target": ["archive", "hook"]}])

    r = sync_ok(zs)
    assert re.search(r"-> archive: synced serial 1\b", one_line(r, "archive")), describe(r)
    hook = one_line(r, "hook")
    assert "serial 1" in hook and "fail" not in hook, describe(r)
    assert read_zonefile(path) == knot.axfr(ZONE)
    assert runs(rec) == ["example.com 1"]

    r = sync_ok(zs)  # nothing new
    assert re.search(r"-> archive: up to date, serial 1\b", one_line(r, "archive")), describe(r)
    hook = one_line(r, "hook")
    assert "serial 1" in hook and "fail" not in hook, describe(r)
    assert runs(rec) == ["example.com 1"], "the command ran again for the same serial"

    serial = knot.change(ZONE, set=[("new", 300, "A", "192.0.2.9")])
    r = sync_ok(zs)
    assert re.search(rf"-> archive: synced serial {serial}\b", one_line(r, "archive")), \
        describe(r)
    hook = one_line(r, "hook")
    assert f"serial {serial}" in hook and "fail" not in hook, describe(r)
    assert read_zonefile(path) == knot.axfr(ZONE)
    assert runs(rec) == ["example.com 1", f"example.com {serial}"]
    with open(rec + ".args") as f:
        assert f.read().split() == ["--flag", "example.com", str(serial), "127.0.0.1"]


def test_sync_fails_when_an_exec_target_cannot_run(lab, tmp_path):
    """An exec target whose command does not exist: `zonesync sync` says so
    on stdout, on that target's line, and exits 1; the zonefile target beside
    it is written and reported all the same; the next sync tries the command
    again and fails again.

    Fails today: stdout is empty and the exit status is 0 (the failed exec
    target is only in the log)."""
    knot = lab.knot({ZONE: zone_text(1)})
    targets, path = local_targets(tmp_path, ["/nonexistent/zonesync-test-hook", "--flag"])
    zs = lab.zonesync_cli(knot, targets, [{"domain": ZONE, "target": ["archive", "hook"]}])

    r = zs.sync()
    assert r.returncode == 1, describe(r)
    assert "fail" in one_line(r, "hook"), describe(r)
    assert re.search(r"-> archive: synced serial 1\b", one_line(r, "archive")), describe(r)
    assert read_zonefile(path) == knot.axfr(ZONE)

    r = zs.sync()
    assert r.returncode == 1, describe(r)
    assert "fail" in one_line(r, "hook"), describe(r)
    assert "fail" not in one_line(r, "archive"), describe(r)


# --- B2. plan covers every target kind ----------------------------------------------------------

def test_plan_covers_zonefile_and_exec_targets(lab, tmp_path):
    """After a sync, a change on the primary: `plan --json` has one entry per
    target (the zonefile's and the exec's, with "target" and "type"), the
    zonefile entry lists the change of www A and the new A, and the text
    plan shows the same and names the exec target.  plan writes nothing:
    the file keeps serial 1 and the command does not run.

    Fails today: plan --json gives "targets": [] for zonefile and exec
    targets and the text plan says nothing of them (exit 0, no changes)."""
    knot = lab.knot({ZONE: zone_text(1)})
    command, rec = recorder(tmp_path)
    targets, path = local_targets(tmp_path, command)
    zs = lab.zonesync_cli(knot, targets, [{"domain": ZONE, "target": ["archive", "hook"]}])
    sync_ok(zs)
    assert zonefile_serial(path) == 1 and runs(rec) == ["example.com 1"]
    before = open(path).read()

    knot.change(ZONE, unset=[("www", "A", "192.0.2.81")],
                set=[("www", 300, "A", "192.0.2.82"), ("new", 300, "A", "192.0.2.9")])

    plan = plan_json(zs, rc=3)
    ts = plan_targets(plan)
    assert set(ts) == {"archive", "hook"}, plan
    assert ts["archive"]["type"] == "zonefile" and ts["hook"]["type"] == "exec", plan
    acts = {(c["action"], name_key(c["name"]), c["type"]) for c in ts["archive"]["changes"]}
    assert {("update", "www.example.com.", "A"), ("add", "new.example.com.", "A")} <= acts, plan

    r = zs.plan_text()
    assert r.returncode == 3, describe(r)
    archive = target_block(r.stdout, "archive")
    assert archive, describe(r)
    assert any("www.example.com." in line for line in archive[1:]), describe(r)
    assert any("new.example.com." in line for line in archive[1:]), describe(r)
    assert target_lines(r.stdout, "hook"), describe(r)

    assert open(path).read() == before, "plan wrote the zone file"
    assert runs(rec) == ["example.com 1"], "plan ran the command"


# --- B3. sync names the skipped types, as plan does ---------------------------------------------

def test_sync_names_skipped_types(lab, moto):
    """A primary holding HINFO and LOC records (types Route 53 cannot hold):
    plan names them for the route53 target (it does today), and so does
    `zonesync sync` in that target's report; the hosted zone holds the rest.

    Fails today: sync's line for the target says nothing of what it
    skipped."""
    moto.reset()
    extra = ('info HINFO "PC" "Linux"\n'
             "loc LOC 52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m\n")
    knot = lab.knot({ZONE: zone_text(1, extra)})
    zid = moto.create_zone(ZONE)
    zs = lab.zonesync_cli(knot, [route53_target(moto, zid)],
                          [{"domain": ZONE, "target": ["aws"]}], env=aws_env())

    r = zs.plan_text()
    assert r.returncode == 3, describe(r)
    plan_block = "\n".join(target_block(r.stdout, "aws"))
    assert "HINFO" in plan_block and "LOC" in plan_block, describe(r)

    r = sync_ok(zs)
    block = target_block(r.stdout, "aws")
    assert block, describe(r)
    text = "\n".join(block)
    assert re.search(r"\bHINFO\b", text) and re.search(r"\bLOC\b", text), describe(r)
    assert_r53_in_sync(moto, zid, knot)
    assert not {rs["Type"] for rs in moto.list(zid)} & {"HINFO", "LOC"}


# --- B4. plan names the record sets it leaves alone ---------------------------------------------

def left_alone(t):
    assert "left_alone" in t, f"no left_alone list in the plan's target entry: {t}"
    return {(name_key(x["name"]), x["type"]) for x in t["left_alone"]}


def test_plan_names_route53_sets_left_alone(lab, moto):
    """An alias record set and a weighted one, made with the AWS CLI beside
    zonesync's records: plan's text names each (owner and type), plan --json
    lists them in "left_alone" (and still counts them in "foreign"), and
    neither is touched.

    Fails today: plan says only "left alone: 2 record set(s)" and its JSON
    has the count alone (no "left_alone" list)."""
    moto.reset()
    knot = lab.knot({ZONE: zone_text(1)})
    zid = moto.create_zone(ZONE)
    zs = lab.zonesync_cli(knot, [route53_target(moto, zid)],
                          [{"domain": ZONE, "target": ["aws"]}], env=aws_env())
    sync_ok(zs)
    moto.change(zid, [
        {"Action": "CREATE", "ResourceRecordSet": {
            "Name": "alias.example.com.", "Type": "A",
            "AliasTarget": {"HostedZoneId": zid, "DNSName": "www.example.com.",
                            "EvaluateTargetHealth": False}}},
        {"Action": "CREATE", "ResourceRecordSet": {
            "Name": "weighted.example.com.", "Type": "TXT", "SetIdentifier": "one",
            "Weight": 10, "TTL": 60, "ResourceRecords": [{"Value": '"w"'}]}},
    ])
    before = moto.list(zid)

    r = zs.plan_text()
    assert r.returncode == 0, describe(r)
    block = target_block(r.stdout, "aws")
    assert names_set(block, "alias.example.com.", "A"), describe(r)
    assert names_set(block, "weighted.example.com.", "TXT"), describe(r)

    t = plan_targets(plan_json(zs, rc=0))["aws"]
    # moto_server gives the apex SOA's value as a Python dict's text
    # ("{'Value': '...'}"): zonesync cannot read it and leaves it alone too.
    sets = left_alone(t) - {("example.com.", "SOA")}
    assert sets == {("alias.example.com.", "A"), ("weighted.example.com.", "TXT")}, t
    assert t["foreign"] == len(t["left_alone"]), t
    assert moto.list(zid) == before, "plan changed the hosted zone"


def test_plan_names_powerdns_sets_left_alone(lab):
    """A record set holding a disabled record (set through PowerDNS's API),
    at a name of its own and at one of the primary's: plan's text names the
    first (owner and type), plan --json lists both in "left_alone" and
    still counts them in "foreign"; PowerDNS keeps both as they were.

    Fails today: plan gives the count of left-alone sets only."""
    knot = lab.knot({ZONE: zone_text(1)})
    pdns = lab.pdns_api()
    pdns.create_zone(ZONE)
    zs = lab.zonesync_cli(knot, [pdns.target()], [{"domain": ZONE, "target": ["pdns"]}])
    sync_ok(zs)
    pdns.patch(ZONE, [{"name": "www.example.com.", "type": "A", "ttl": 300,
                       "changetype": "REPLACE",
                       "records": [{"content": "192.0.2.80", "disabled": False},
                                   {"content": "192.0.2.81", "disabled": True}]},
                      {"name": "off.example.com.", "type": "TXT", "ttl": 300,
                       "changetype": "REPLACE",
                       "records": [{"content": '"off"', "disabled": True}]}])

    r = zs.plan_text()
    block = target_block(r.stdout, "pdns")
    assert block, describe(r)
    assert names_set(block, "off.example.com.", "TXT"), describe(r)

    t = plan_targets(plan_json(zs))["pdns"]
    assert t["foreign"] == 2, t
    assert left_alone(t) == {("www.example.com.", "A"), ("off.example.com.", "TXT")}, t
    rrsets = {(s["name"], s["type"]): s for s in pdns.zone()["rrsets"]}
    assert {(x["content"], x["disabled"]) for x in rrsets[("www.example.com.", "A")]["records"]} \
        == {("192.0.2.80", False), ("192.0.2.81", True)}
    assert ("off.example.com.", "TXT") in rrsets
