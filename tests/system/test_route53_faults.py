"""zonesync's route53 target against the fault-injecting fake Route 53
(fake_route53.py), with knotd as the primary: the strict and failing paths
that moto_server cannot show (test_route53.py has the normal ones).

What every sync run must keep (check_run, from the fake's request log):
  - every change lands exactly once: within one run a record set (name, type)
    is changed by one applied batch only, never twice, never split across
    two requests; the changes at a name that involve a CNAME are in one batch
    with the DELETEs first;
  - batches within the limits (the fake refuses the others anyway);
  - alias and SetIdentifier sets, the apex SOA and NS, are never in a change;
and at the end the hosted zone holds the view of the primary's zone
(moto.primary_view / listing_view).

Each test has its own fake server, knotd, zonesync state and ports; all are
stopped at the end and the logs printed (pytest shows them on failure)."""
import os
import re
import subprocess
import tempfile
import time
import urllib.request

import pytest

from conftest import ROOT
from fake_route53 import FakeRoute53
from motolab import R53Zonesync, describe, listing_view, primary_view, view_diff
from servers import Knot, free_port, wait_until

ZONE = "example.com."
APEX_KEEP = {("example.com.", "SOA"), ("example.com.", "NS")}


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


def hosts(n, prefix="h"):
    return "".join(f"{prefix}{i} 300 A 10.{i // 62500}.{i // 250 % 250}.{i % 250 + 1}\n"
                   for i in range(n))


# --- fixtures --------------------------------------------------------------------------------

class Lab:
    """The fake Route 53, knotd and zonesync of one test, stopped at teardown."""

    def __init__(self, tmp_path, binary):
        self.tmp, self.bin = tmp_path, binary
        self.fake = FakeRoute53().start()
        self.servers = []

    def _dir(self, name):
        d = self.tmp / f"{name}{len(self.servers)}"
        d.mkdir()
        return d

    def knot(self, text):
        k = Knot(self._dir("knot"), {ZONE: text}, free_port(), notify=False)
        self.servers.append(k)
        return k.start()

    def zonesync(self, knot, zone_opts=None, extra_server=None, **target):
        """zonesync with one route53 target "aws" on the fake (rate-limit 50
        unless given; hosted-zone-id if given, else found by name)."""
        target = {"id": "aws", "rate-limit": 50, **target}
        zs = R53Zonesync(self.bin, self._dir("zonesync"), self.fake.url, knot.port,
                         knot.secret, [{"domain": ZONE, **(zone_opts or {})}], [target],
                         extra_server=extra_server)
        self.servers.append(zs)
        return zs

    def close(self):
        for s in reversed(self.servers):
            try:
                s.stop()
            except Exception as e:  # keep stopping the others
                print(f"stopping {type(s).__name__}: {e}")
        self.fake.stop()
        for s in self.servers:
            print(f"===== {type(s).__name__} log =====")
            print(s.log())
        print("===== fake Route 53 requests =====")
        for e in self.fake.log()[-300:]:
            print(summary(e))
        problems = [p for s in self.servers if isinstance(s, R53Zonesync) for p in s.problems()]
        assert not problems, f"zonesync: {problems}"


@pytest.fixture
def lab(tmp_path, zonesync):
    binary = os.environ.get("ZONESYNC_BIN", os.path.join(ROOT, "build", "zonesync"))
    lab = Lab(tmp_path, binary)
    yield lab
    lab.close()


# --- helpers -----------------------------------------------------------------------------------

def summary(e):
    """One line of the fake's request log."""
    q = "&".join(f"{k}={v}" for k, v in e["query"].items())
    s = f"{e['method']} {e['path']}{'?' + q if q else ''} -> {e['status']}"
    if e.get("fault"):
        s += f" fault={e['fault']}"
    if e["op"] == "change":
        acts = {}
        for a, _, _ in e.get("changes", []):
            acts[a] = acts.get(a, 0) + 1
        s += f" applied={e['applied']} {acts} records={e.get('records')} chars={e.get('chars')}"
    if e.get("errors"):
        s += f" errors={e['errors'][:3]}"
    return s


def cli_form(rr):
    """A record set of the fake's store in the AWS CLI's JSON form."""
    out = {"Name": rr["name"], "Type": rr["type"]}
    if "set_identifier" in rr:
        out["SetIdentifier"] = rr["set_identifier"]
    if "alias" in rr:
        out["AliasTarget"] = rr["alias"]
    else:
        out["TTL"] = rr["ttl"]
        out["ResourceRecords"] = [{"Value": v} for v in rr["values"]]
    return out


def assert_in_sync(fake, zid, knot):
    got = listing_view([cli_form(r) for r in fake.rrsets(zid)], ZONE)
    want, _ = primary_view(knot.axfr(ZONE), ZONE)
    assert got == want, f"hosted zone differs from the view of {ZONE}:\n{view_diff(got, want)}"
    return got


def apex(fake, zid):
    return [r for r in fake.rrsets(zid) if (r["name"], r["type"]) in APEX_KEEP]


def sync(zs, fake, *args, rc=0, timeout=180):
    """`zonesync sync ARGS`, expecting exit rc; (CompletedProcess, the fake's
    log entries of this run), the run checked by check_run."""
    mark = len(fake.log())
    r = zs.sync(*args, timeout=timeout)
    entries = fake.log()[mark:]
    where = f"{describe(r)}\n--- requests\n" + "\n".join(map(summary, entries[-60:]))
    assert r.returncode == rc, f"zonesync sync {' '.join(args)}: expected exit {rc}\n{where}"
    check_run(entries, where)
    return r, entries


def check_run(entries, where=""):
    """The rules of one sync run (see the module docstring)."""
    applied = [e for e in entries if e["op"] == "change" and e["applied"]]
    batch_of = {}  # (name, type) -> index of the applied batch that changed it
    for i, e in enumerate(applied):
        assert e["records"] <= 1000 and e["chars"] <= 32000, f"over a limit: {summary(e)}"
        seen = {}
        for d in e["detail"]:
            key = (d["name"], d["type"])
            assert "alias" not in d and "set_identifier" not in d, f"special set changed: {d}"
            assert key not in APEX_KEEP, f"apex SOA/NS changed (keep): {d}\n{where}"
            assert batch_of.get(key, i) == i, \
                f"{key} changed by two applied batches in one run\n{where}"
            batch_of[key] = i
            # In one batch, a set at most once, or DELETE then CREATE/UPSERT.
            prev = seen.get(key)
            assert prev is None or (prev == "DELETE" and d["action"] != "DELETE"), \
                f"{key} twice in one batch: {prev}, {d['action']}\n{where}"
            seen[key] = d["action"]
    # The changes at a name involving a CNAME: one batch, DELETEs first.
    names = {}
    for i, e in enumerate(applied):
        for j, d in enumerate(e["detail"]):
            names.setdefault(d["name"], []).append((i, j, d["action"], d["type"]))
    for name, ch in names.items():
        types = {t for _, _, _, t in ch}
        if "CNAME" in types and len(types) > 1:
            assert len({i for i, _, _, _ in ch}) == 1, \
                f"CNAME changes at {name} in several batches: {ch}\n{where}"
            acts = [a for _, _, a, _ in sorted(ch)]
            assert acts == sorted(acts, key=lambda a: a != "DELETE"), \
                f"at {name}, a DELETE after a CREATE/UPSERT: {ch}\n{where}"


def synced(text, what="synced"):
    """The `target synced:` (or `target failed:`) lines of zonesync's stderr
    for the zone, as {key: value} (key=value fields in any order)."""
    out = []
    for line in text.splitlines():
        m = re.search(rf" target {what}: (.*)", line)
        if m:
            f = dict(re.findall(r'(\w[\w-]*)=("(?:[^"\\]|\\.)*"|\S*)', m.group(1)))
            if f.get("zone") == ZONE:
                out.append(f)
    return out


def modes(r):
    return [(int(f["serial"]), f["mode"]) for f in synced(r.stderr)]


def changes(entries):
    return [e for e in entries if e["op"] == "change"]


def lists(entries):
    return [e for e in entries if e["op"] == "list"]


# --- 1. every change exactly once, through bursts of faults ---------------------------------

def test_first_sync_then_incremental_exactly_once(lab):
    knot = lab.knot(zone_text(1, hosts(300)))
    fake = lab.fake
    zid = fake.create_zone(ZONE)
    soa_ns = apex(fake, zid)
    zs = lab.zonesync(knot, **{"hosted-zone-id": zid})
    r, entries = sync(zs, fake)
    assert_in_sync(fake, zid, knot)
    assert all(d["action"] == "CREATE" for e in changes(entries) for d in e["detail"]), \
        "a first sync into an empty hosted zone CREATEs"
    assert modes(r) == [(1, "full")], describe(r)

    serial = knot.change(ZONE, set=[("new", 300, "A", "192.0.2.1"), ("h7", 300, "A", "10.9.9.9")],
                         unset=[("h8", "A"), ("www", "A", "192.0.2.81")])
    r, entries = sync(zs, fake)
    assert_in_sync(fake, zid, knot)
    assert lists(entries) == [], "a clean target at the previous serial is not listed"
    assert modes(r) == [(serial, "incremental")], describe(r)
    # Nothing new: no request at all that changes or lists.
    r, entries = sync(zs, fake)
    assert changes(entries) == [] and lists(entries) == [], describe(r)
    assert apex(fake, zid) == soa_ns


def test_bursts_of_faults_are_retried(lab):
    """Throttling, PriorRequestNotComplete, 429, 500, 502, 503, 504 and dropped
    connections, at most 5 in a row for one request (within 8 attempts), on
    the listing, the change batches and GetChange: the sync succeeds and
    every change lands once."""
    knot = lab.knot(zone_text(1, hosts(2500)))
    fake = lab.fake
    zid = fake.create_zone(ZONE)
    zs = lab.zonesync(knot, **{"hosted-zone-id": zid})
    fake.configure(pending_polls=1)
    burst = ["Throttling", "PriorRequestNotComplete", "close", "500", "429"]
    fake.add_faults([{"op": "zone", "fault": "Throttling"}, {"op": "zone", "fault": "close"}]
                    + [{"op": "list", "fault": f} for f in ["503", "Throttling", "close"]]
                    + [{"op": "change", "fault": f} for f in burst]
                    + [{"op": "getchange", "fault": f} for f in ["Throttling", "500"]])
    r, entries = sync(zs, fake, "--wait")
    assert all(f["op"] == "zone" for f in fake.faults()), f"not consumed: {fake.faults()}"
    assert_in_sync(fake, zid, knot)

    # The next change (700 TTLs, under max-update 30%): faults between batches.
    text = zone_text(2, hosts(2500).replace(" 300 A 10.", " 60 A 10.", 700))
    set_zone(knot, text, 2)
    fake.clear_faults()
    fake.add_faults([{"op": "change", "fault": f} for f in ["502", "504", "Throttling"]])
    r, entries = sync(zs, fake)
    assert fake.faults() == [], f"faults not consumed: {fake.faults()}"
    assert_in_sync(fake, zid, knot)
    retried = [e for e in changes(entries) if e.get("fault")]
    assert len(retried) == 3, "\n".join(map(summary, entries))


@pytest.mark.parametrize("drop", ["close-after", "reset-after"])
def test_lost_answer_after_the_batch_was_applied(lab, drop):
    """The connection closes (FIN) or is reset (RST) after the batch was
    applied, before its answer: the batch may have landed, so it is not sent
    again blindly (not by zonesync, nor by libcurl, which re-sends a request
    whose reused connection died: the POST went on the connection of the
    listing).  The records are read again and only what is missing is sent;
    a warning says so.  The fake exists for this: moto cannot drop a
    connection after applying a change."""
    knot = lab.knot(zone_text(1, hosts(1500)))
    fake = lab.fake
    zid = fake.create_zone(ZONE)
    zs = lab.zonesync(knot, **{"hosted-zone-id": zid})
    fake.add_faults([{"op": "change", "fault": drop}])
    r, entries = sync(zs, fake)
    assert_in_sync(fake, zid, knot)
    ch = changes(entries)
    assert ch[0]["fault"] == drop and ch[0]["applied"], summary(ch[0])
    arrived = [e for e in ch if e["batch"] == ch[0]["batch"]]
    assert len(arrived) == 1, "the batch whose answer was lost arrived again:\n" + \
        "\n".join(map(summary, entries))
    assert not [e for e in ch if e["status"] == 400], "\n".join(map(summary, entries))
    assert lists(entries[entries.index(ch[0]):]), "the records are read again"
    assert re.search(r"warning route53 change batch unanswered, not sent again: target=aws "
                     r"zone=example\.com\. batch=1/2 ", r.stderr), describe(r)
    assert modes(r) == [(1, "full")], describe(r)


def test_invalid_input_is_not_retried(lab):
    knot = lab.knot(zone_text(1))
    fake = lab.fake
    zid = fake.create_zone(ZONE)
    zs = lab.zonesync(knot, **{"hosted-zone-id": zid})
    fake.add_faults([{"op": "change", "fault": "InvalidInput", "message": "Invalid XML ; zz-42"}])
    r, entries = sync(zs, fake, rc=1)
    assert len(changes(entries)) == 1, "\n".join(map(summary, entries))
    assert "zz-42" in r.stderr and "target failed: zone=example.com. target=aws" in r.stderr
    sync(zs, fake)
    assert_in_sync(fake, zid, knot)


def test_error_text_without_control_characters(lab):
    """An endpoint's error text with ANSI escapes, a newline and a DEL: the
    sync's log, the stored last_error and `status` (text and JSON) show it
    with each control character made '?', never the raw bytes."""
    knot = lab.knot(zone_text(1))
    fake = lab.fake
    zid = fake.create_zone(ZONE)
    zs = lab.zonesync(knot, **{"hosted-zone-id": zid})
    nasty = "\x1b[31mzz-43 red\x1b[0m\nERROR forged line\x7f"
    fake.add_faults([{"op": "change", "fault": "InvalidInput", "message": nasty}])
    r, _ = sync(zs, fake, rc=1)
    assert "zz-43" in r.stderr, describe(r)
    for out in (r.stdout, r.stderr):
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", out), describe(r)
    assert not re.search(r"^ERROR forged line", r.stderr, re.M), describe(r)
    for args in (("status",), ("status", "--json")):
        st = zs.command(*args)
        assert "zz-43" in st.stdout, describe(st)
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", st.stdout + st.stderr), describe(st)
        assert "?[31mzz-43 red?[0m?E" in st.stdout, describe(st)


# --- 2. PENDING, then INSYNC ------------------------------------------------------------------

def test_wait_polls_until_insync(lab):
    knot = lab.knot(zone_text(1))
    fake = lab.fake
    zid = fake.create_zone(ZONE)
    zs = lab.zonesync(knot, **{"hosted-zone-id": zid})
    fake.configure(pending_polls=3)
    r, entries = sync(zs, fake, "--wait")
    ids = {e["change_id"] for e in changes(entries) if e["applied"]}
    polls = [(e["path"].rsplit("/", 1)[-1], e["change_status"]) for e in entries
             if e["op"] == "getchange"]
    assert polls and {c for c, _ in polls} <= ids, polls
    last = [s for c, s in polls if c == polls[-1][0]]
    assert last == ["PENDING"] * 3 + ["INSYNC"], polls
    assert_in_sync(fake, zid, knot)

    # Without --wait, a change that stays PENDING does not hold the sync up.
    fake.configure(pending_polls=1000000)
    knot.change(ZONE, set=[("new", 300, "A", "192.0.2.1")])
    r, entries = sync(zs, fake, timeout=60)
    assert_in_sync(fake, zid, knot)


# --- 3. failure in batch k of n ---------------------------------------------------------------

def test_failed_batch_leaves_target_dirty_then_converges(lab):
    knot = lab.knot(zone_text(1, hosts(2500)))
    fake = lab.fake
    zid = fake.create_zone(ZONE)
    zs = lab.zonesync(knot, **{"hosted-zone-id": zid})
    fake.configure(fail_batch={"n": 2, "times": 100})
    r, entries = sync(zs, fake, rc=1)
    fake.configure(fail_batch=None)
    ch = changes(entries)
    failed = [e for e in ch if e.get("fault") == "fail_batch"]
    assert len(failed) == 8, f"batch 2 tried {len(failed)} times, not 8\n" + \
        "\n".join(map(summary, ch))
    assert all(e["detail"] == failed[0]["detail"] for e in failed), "retries send the same batch"
    assert sum(e["applied"] for e in ch) == 1, "\n".join(map(summary, ch))
    assert "target failed: zone=example.com. target=aws" in r.stderr, describe(r)
    assert modes(r) == []

    # Dirty: the next sync, at the same serial, lists and converges.
    r, entries = sync(zs, fake)
    assert lists(entries), "a dirty target is listed again"
    assert entries.index(lists(entries)[0]) < entries.index(changes(entries)[0])
    assert modes(r) == [(1, "full")], describe(r)
    assert_in_sync(fake, zid, knot)
    # Clean again: nothing to do.
    r, entries = sync(zs, fake)
    assert changes(entries) == [] and lists(entries) == [], describe(r)


# --- 4. record sets changed behind zonesync's back ---------------------------------------------

def test_changed_behind_the_back_rereads_once(lab):
    knot = lab.knot(zone_text(1, hosts(20)))
    fake = lab.fake
    zid = fake.create_zone(ZONE)
    zs = lab.zonesync(knot, **{"hosted-zone-id": zid})
    sync(zs, fake)
    # Behind zonesync's back: www gets another TTL, h3 another value, mail A goes.
    fake.edit(zid, put=[{"name": "www.example.com.", "type": "A", "ttl": 42,
                         "values": ["192.0.2.80", "192.0.2.81"]},
                        {"name": "h3.example.com.", "type": "A", "ttl": 300,
                         "values": ["10.0.0.4", "10.0.0.99"]}],
               delete=[{"name": "mail.example.com.", "type": "A"}])
    knot.change(ZONE, unset=[("www", "A"), ("h3", "A"), ("mail", "A")],
                set=[("h5", 300, "A", "10.5.5.5")])
    r, entries = sync(zs, fake)
    ch = changes(entries)
    refused = [e for e in ch if e["status"] == 400]
    assert len(refused) == 1, "\n".join(map(summary, entries))
    errors = " | ".join(refused[0]["errors"])
    assert "but the values provided do not match the current values" in errors
    assert "but it was not found" in errors
    after = entries[entries.index(refused[0]):]
    assert lists(after), "an InvalidChangeBatch on DELETE makes zonesync re-read"
    assert_in_sync(fake, zid, knot)


def test_reread_only_once(lab):
    """A batch refused again after the re-read: the target fails (no loop);
    the next sync converges."""
    knot = lab.knot(zone_text(1))
    fake = lab.fake
    zid = fake.create_zone(ZONE)
    zs = lab.zonesync(knot, **{"hosted-zone-id": zid})
    sync(zs, fake)
    knot.change(ZONE, unset=[("www", "A", "192.0.2.81")])
    msg = ("Tried to delete resource record set [name='www.example.com.', type='A'] "
           "but the values provided do not match the current values")
    fake.add_faults([{"op": "change", "fault": "InvalidChangeBatch", "message": msg}] * 3)
    r, entries = sync(zs, fake, rc=1)
    assert len(changes(entries)) == 2, "\n".join(map(summary, entries))
    assert "values provided do not match" in r.stderr, describe(r)
    fake.clear_faults()
    sync(zs, fake)
    assert_in_sync(fake, zid, knot)


@pytest.mark.parametrize("form", ["messages", "error"])
def test_refused_batch_message_in_error_output(lab, form):
    """A batch refused for a reason zonesync cannot repair: the sync fails and
    Route 53's messages (both of them) are in its error output, whichever of
    the two body forms they come in."""
    knot = lab.knot(zone_text(1))
    fake = lab.fake
    zid = fake.create_zone(ZONE)
    zs = lab.zonesync(knot, **{"hosted-zone-id": zid})
    fake.configure(icb_form=form)
    fake.add_faults([{"op": "change", "fault": "InvalidChangeBatch", "messages": OTHER}] * 5)
    r, entries = sync(zs, fake, rc=1)
    for m in OTHER:
        assert m in r.stderr, describe(r)
    assert "target failed: zone=example.com. target=aws" in r.stderr


OTHER = ["RRSet of type TXT with DNS name example.com. is not permitted because a "
         "conflicting RRSet of type CNAME with the same DNS name already exists in zone "
         "example.com.", "Invalid Resource Record: 'FATAL problem: zz-43'"]


def test_other_refusal_is_not_reread(lab):
    """Only a DELETE that does not match or finds nothing, or a CREATE of a set
    that exists, makes zonesync re-read (the spec); any other InvalidChangeBatch
    fails the target at once."""
    knot = lab.knot(zone_text(1))
    fake = lab.fake
    zid = fake.create_zone(ZONE)
    zs = lab.zonesync(knot, **{"hosted-zone-id": zid})
    msgs = ["RRSet with DNS name x.example.org. is not permitted in zone example.com.",
            "Invalid Resource Record: 'FATAL problem: zz-44'"]
    fake.add_faults([{"op": "change", "fault": "InvalidChangeBatch", "messages": msgs}] * 5)
    r, entries = sync(zs, fake, rc=1)
    assert len(changes(entries)) == 1 and len(lists(entries)) == 1, \
        "re-read after an InvalidChangeBatch that is no mismatch:\n" + \
        "\n".join(map(summary, entries))


# --- 5. alias and SetIdentifier sets ----------------------------------------------------------

def test_alias_and_set_identifier_sets_untouched(lab):
    knot = lab.knot(zone_text(1, "lb 300 AAAA 2001:db8::1\n"))
    fake = lab.fake
    zid = fake.create_zone(ZONE)
    specials = [
        {"name": "lb.example.com.", "type": "A", "alias": {
            "hosted_zone_id": "Z35SXDOTRQ7X7K", "dns_name": "lb-1.elb.amazonaws.com.",
            "evaluate_target_health": False}},
        {"name": "example.com.", "type": "AAAA", "alias": {
            "hosted_zone_id": "Z2FDTNDATAQYW2", "dns_name": "d1.cloudfront.net.",
            "evaluate_target_health": True}},
        {"name": "geo.example.com.", "type": "TXT", "ttl": 60, "values": ['"eu"'],
         "set_identifier": "eu", "weight": 10},
        {"name": "geo.example.com.", "type": "TXT", "ttl": 60, "values": ['"us"'],
         "set_identifier": "us", "weight": 20},
    ]
    fake.edit(zid, put=specials)
    zs = lab.zonesync(knot, **{"hosted-zone-id": zid})

    def current():
        return [r for r in fake.rrsets(zid) if "alias" in r or "set_identifier" in r]
    before = current()
    sync(zs, fake)
    assert current() == before
    assert_in_sync(fake, zid, knot)
    knot.change(ZONE, unset=[("lb", "AAAA")], set=[("geo", 300, "A", "192.0.2.7")])
    sync(zs, fake)
    assert current() == before
    assert_in_sync(fake, zid, knot)


# --- 6. the limits, RRsets never split ---------------------------------------------------------

def big_zone(serial, variant=0):
    """3 A sets of 400 values (1,200 ResourceRecord elements), 30 TXT sets of
    one ~3,870-character value (116,000 characters), 1,500 single A sets, a
    name that is an A set (variant 0) or a CNAME (variant 1), and a name c
    (between big2 and the hosts) whose AAAA set of 100 values (variant 0)
    becomes an A set of 150 (variant 1): a DELETE of 100 records and a
    CREATE of 150, where the batch of big2's UPSERT (800 records) has room
    for 200: the first fits, the pair does not, so the pair must open the
    next batch (an owner's changes never straddle two)."""
    lines = []
    for j in range(3):
        lines += [f"big{j} 300 A 10.{j}.{i // 250}.{i % 250 + variant}" for i in range(400)]
    if variant == 0:
        lines += [f"c 300 AAAA 2001:db8::{i + 1:x}" for i in range(100)]
    else:
        lines += [f"c 300 A 10.9.0.{i + 1}" for i in range(150)]
    for j in range(30):
        s = " ".join(f'"{chr(97 + (j + k + variant) % 26) * 255}"' for k in range(15))
        lines.append(f"t{j} 300 TXT {s}")
    lines.append("swap 300 A 192.0.2.9" if variant == 0 else "swap 300 CNAME www")
    return zone_text(serial, "\n".join(lines) + "\n" + hosts(1500))


def set_zone(knot, text, serial):
    with open(knot.zone_path(ZONE), "w") as f:
        f.write(text)
    knot.knotc("zone-reload", ZONE)
    wait_until(lambda: knot.serial(ZONE) == serial, 20, what=f"knotd serial {serial}")


def test_batches_within_limits_and_rrsets_not_split(lab):
    knot = lab.knot(big_zone(1))
    fake = lab.fake
    zid = fake.create_zone(ZONE)
    zs = lab.zonesync(knot, **{"hosted-zone-id": zid})
    r, entries = sync(zs, fake)
    assert all(e["applied"] for e in changes(entries)), \
        "a batch was refused:\n" + "\n".join(map(summary, changes(entries)))
    assert_in_sync(fake, zid, knot)
    # Every value changed (UPSERTs count twice), an A set that becomes a CNAME.
    set_zone(knot, big_zone(2, variant=1), 2)
    r, entries = sync(zs, fake)
    assert all(e["applied"] for e in changes(entries)), \
        "a batch was refused:\n" + "\n".join(map(summary, changes(entries)))
    assert lists(entries) == [], "incremental"
    big = [e for e in changes(entries) if any(d["name"].startswith("big") for d in e["detail"])]
    assert len(big) == 3, "an UPSERT of a 400-value set counts 800: one per request"
    # Each owner's changes in one request: c's DELETE and CREATE (which
    # fit only apart), swap's A deleted and CNAME created.
    batch_of = {}
    for k, e in enumerate(changes(entries)):
        for action, name, rtype in e["changes"]:
            batch_of.setdefault(name, []).append((k, action, rtype))
    split = {n: b for n, b in batch_of.items() if len({k for k, _, _ in b}) > 1}
    assert not split, "an owner's changes straddle two requests: " + repr(split)
    for owner, want in (("c.", {("DELETE", "AAAA"), ("CREATE", "A")}),
                        ("swap.", {("DELETE", "A"), ("CREATE", "CNAME")})):
        got = {(a, t) for n, b in batch_of.items() if n.startswith(owner) for _, a, t in b}
        assert got == want, (owner, got)
    assert_in_sync(fake, zid, knot)


# --- 7. finding the hosted zone by name -----------------------------------------------------------

def test_hosted_zone_found_by_name(lab):
    knot = lab.knot(zone_text(1))
    fake = lab.fake
    others = [fake.create_zone(n) for n in ["sub.example.com.", "example.net.", "a.example."]]
    zs = lab.zonesync(knot)
    # No example.com. zone: ListHostedZonesByName starts at sub.example.com.,
    # which zonesync must not take for it.
    r, entries = sync(zs, fake, rc=1)
    assert changes(entries) == [], "\n".join(map(summary, entries))
    zid = fake.create_zone(ZONE)
    r, entries = sync(zs, fake)
    assert {e["path"].split("/")[3] for e in changes(entries)} == {zid}
    assert_in_sync(fake, zid, knot)
    for o in others:
        assert len(fake.rrsets(o)) == 2


# --- 8. Route 53's text forms: names escaped, values as written by others ---------------------

NAMES = r"""*.wild 300 A 192.0.2.1
a\.b 300 A 192.0.2.2
MixedCase 300 A 192.0.2.3
_sip._tcp 300 SRV 10 60 5060 sip.example.com.
odd\@name 300 A 192.0.2.4
q 300 TXT "say \"hi\" \\ back" "caf\195\169;x"
"""


def test_escaped_names_read_back_equal(lab):
    """Names that Route 53 returns octal-escaped (\\052, \\056, \\100) and
    lowercased, TXT with quotes, backslashes and non-ASCII bytes: a zonesync
    with a fresh state lists them back and finds nothing to change."""
    knot = lab.knot(zone_text(1, NAMES + hosts(20)))
    fake = lab.fake
    zid = fake.create_zone(ZONE)
    zs = lab.zonesync(knot, **{"hosted-zone-id": zid})
    sync(zs, fake)
    got = {(r["name"], r["type"]) for r in fake.rrsets(zid)}
    for key in [("\\052.wild.example.com.", "A"), ("a\\056b.example.com.", "A"),
                ("mixedcase.example.com.", "A"), ("odd\\100name.example.com.", "A")]:
        assert key in got, f"{key} not in {sorted(got)}"
    assert_in_sync(fake, zid, knot)
    fresh = lab.zonesync(knot, **{"hosted-zone-id": zid})
    r, entries = sync(fresh, fake)
    assert changes(entries) == [], "\n".join(map(summary, entries))
    # Deleted on the primary: the DELETEs carry the live text and match.
    knot.change(ZONE, unset=[("*.wild", "A"), ("a\\.b", "A"), ("MixedCase", "A"), ("q", "TXT")])
    r, entries = sync(zs, fake)
    assert [e["status"] for e in changes(entries)] == [200], "\n".join(map(summary, entries))
    assert_in_sync(fake, zid, knot)


def test_delete_carries_the_live_text(lab):
    """Record sets another tool wrote in other text forms (equal rdata): the
    full sync leaves them alone; deleted on the primary, they are deleted
    with their live text (after at most one re-read)."""
    knot = lab.knot(zone_text(1, 't 300 TXT "hello world"\nv6 300 AAAA 2001:db8::7\n'
                                 'c 300 CNAME www.example.com.\n'))
    fake = lab.fake
    zid = fake.create_zone(ZONE)
    fake.edit(zid, put=[
        {"name": "T.example.com", "type": "TXT", "ttl": 300, "values": ['"hello\\040world"']},
        {"name": "v6.example.com.", "type": "AAAA", "ttl": 300, "values": ["2001:DB8:0:0::7"]},
        {"name": "c.example.com.", "type": "CNAME", "ttl": 300, "values": ["WWW.Example.COM"]}])
    zs = lab.zonesync(knot, **{"hosted-zone-id": zid})
    r, entries = sync(zs, fake)
    touched = {(d["name"], d["type"]) for e in changes(entries) for d in e["detail"]}
    assert not touched & {("t.example.com.", "TXT"), ("v6.example.com.", "AAAA"),
                          ("c.example.com.", "CNAME")}, touched
    assert_in_sync(fake, zid, knot)
    knot.change(ZONE, unset=[("t", "TXT"), ("v6", "AAAA"), ("c", "CNAME")])
    r, entries = sync(zs, fake)
    assert len([e for e in changes(entries) if e["status"] == 400]) <= 1
    assert_in_sync(fake, zid, knot)


def test_full_sync_deletes_with_live_text(lab):
    """Record sets not in the primary's zone, written by another tool in a
    text form zonesync would not write (AAAA not compressed, uppercase
    CNAME target, a TXT with a plain space): the full sync deletes them with
    the TTL and values exactly as listed (Route 53 matches a DELETE's values
    to the current ones)."""
    knot = lab.knot(zone_text(1, hosts(20)))
    fake = lab.fake
    zid = fake.create_zone(ZONE)
    fake.edit(zid, put=[
        {"name": "x.example.com.", "type": "AAAA", "ttl": 300, "values": ["2001:DB8:0:0::9"]},
        {"name": "y.example.com.", "type": "TXT", "ttl": 300, "values": ['"a b"']},
        {"name": "z.example.com.", "type": "CNAME", "ttl": 300, "values": ["WWW.Example.COM"]}])
    # First contact deletes nothing unless told (test_first_contact.py):
    # adopt: replace, as the deletions' text is what this test is about.
    zs = lab.zonesync(knot, **{"hosted-zone-id": zid, "adopt": "replace"})
    r, entries = sync(zs, fake)
    deletes = [d for e in changes(entries) if e["applied"] for d in e["detail"]
               if d["action"] == "DELETE"]
    assert sorted((d["name"], d["values"][0]) for d in deletes) == [
        ("x.example.com.", "2001:DB8:0:0::9"), ("y.example.com.", '"a b"'),
        ("z.example.com.", "WWW.Example.COM")], "\n".join(map(summary, entries))
    assert_in_sync(fake, zid, knot)


def test_incremental_addition_over_a_console_alias_is_a_conflict(lab):
    """An alias made in the console after the last sync, at the name and
    type the primary then adds: the incremental push (nothing read) must not
    overwrite it.  The addition goes as a CREATE, which Route 53 refuses
    ("already exists") as this strict server does, whole batch and all; the
    engine reads the zone, finds the alias and reports the conflict.  Fails
    when incremental additions are UPSERTs: the alias is replaced by the A
    set.  (moto accepts a CREATE over an alias: only the strict server
    shows this.)"""
    knot = lab.knot(zone_text(1, hosts(5)))
    fake = lab.fake
    zid = fake.create_zone(ZONE)
    zs = lab.zonesync(knot, **{"hosted-zone-id": zid})
    sync(zs, fake)
    alias = {"hosted_zone_id": zid, "dns_name": "www.example.com.",
             "evaluate_target_health": False}
    fake.edit(zid, put=[{"name": "promo.example.com.", "type": "A", "alias": alias}])
    knot.change(ZONE, set=[("promo", 300, "A", "192.0.2.77"), ("new", 300, "A", "192.0.2.1")])
    r, entries = sync(zs, fake)
    ch = changes(entries)
    where = describe(r) + "\n" + "\n".join(map(summary, entries))
    assert any(not e.get("applied") for e in ch), where  # the CREATE refused
    assert lists(entries), where                         # then read
    got = {(x["name"], x["type"]): x for x in fake.rrsets(zid)}
    assert got[("promo.example.com.", "A")].get("alias") == alias, where
    assert ("new.example.com.", "A") in got, where
    assert "promo.example.com. A (alias)" in r.stdout, where


# --- 8. hostile listings, connections that die: bounded, stoppable, never blind -------------
#
# The fake Route 53 plays these: moto answers ListResourceRecordSets from its
# store only, and cannot drop or reset a connection after applying a change.

def peak_rss_kb(zs, *args, timeout=60):
    """Run `zonesync ARGS` (with -c CONF); (exit status, its output (stdout
    and stderr), its peak RSS in KiB, seconds it took)."""
    cmd = [zs.bin, args[0], "-c", zs.conf, *args[1:]]
    t0 = time.monotonic()
    with tempfile.TemporaryFile() as err:
        p = subprocess.Popen(cmd, stdout=err, stderr=subprocess.STDOUT, env=zs.env)
        deadline = t0 + timeout
        while True:
            pid, status, usage = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                p.kill()
                pid, status, usage = os.wait4(p.pid, 0)
                break
            time.sleep(0.05)
        p.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        text = err.read().decode(errors="replace")
    with open(zs.cmdlog_path(), "a") as f:
        f.write(f"$ {' '.join(cmd)}\n[exit {p.returncode}]\n--- output\n{text}\n")
    return p.returncode, text, usage.ru_maxrss, time.monotonic() - t0


def test_endless_listing_is_bounded(lab):
    """IsTruncated=true forever, 300 new record sets a page: the read stops
    at transfer-max-records and an eighth (and 1,000) with an error naming the
    limit, within seconds, and memory stays near a plain run's (before the
    cap, `plan` grew to 640 MB in 20 s)."""
    knot = lab.knot(zone_text(1))
    fake = lab.fake
    zid = fake.create_zone(ZONE)
    zs = lab.zonesync(knot, zone_opts={"transfer-max-records": 20000},
                      **{"hosted-zone-id": zid, "rate-limit": 1000})
    rc, _, plain_kb, _ = peak_rss_kb(zs, "plan")
    assert rc == 3  # changes to make
    fake.configure(listing={"endless": True})
    rc, err, kb, secs = peak_rss_kb(zs, "plan", timeout=60)
    lists_made = len(lists(fake.log()))
    assert rc == 1, err
    assert secs < 30, f"{secs:.1f} s"
    assert "ListResourceRecordSets " + zid + ": more than 23500 records after 79 pages" in err, err
    assert "transfer-max-records" in err
    assert lists_made < 90, lists_made
    assert kb < plain_kb + 64 * 1024, f"peak RSS {kb} KiB, a plain plan {plain_kb} KiB"
    # sync says the same and writes nothing.
    r, entries = sync(zs, fake, rc=1)
    assert changes(entries) == [] and "more than 23500 records" in r.stderr, describe(r)


def test_listing_that_repeats_its_marker_fails(lab):
    """A truncated page whose next marker is the one it started from: the
    listing would never end; the second such page is an error at once."""
    knot = lab.knot(zone_text(1))
    fake = lab.fake
    zid = fake.create_zone(ZONE)
    zs = lab.zonesync(knot, **{"hosted-zone-id": zid})
    fake.configure(listing={"repeat": True})
    r, entries = sync(zs, fake, rc=1, timeout=30)
    assert len(lists(entries)) == 2, "\n".join(map(summary, entries))
    assert changes(entries) == []
    assert re.search(r"ListResourceRecordSets \S+: page 2 does not advance \(the marker it "
                     r"started from, next record 'p000000001-000\.example\.com\.' A\)",
                     r.stderr), describe(r)


def test_sigterm_stops_an_endless_slow_listing(lab):
    """The daemon reads an endless listing whose pages take 3 s each: SIGTERM
    stops it within a couple of seconds (during a page, not after it), the
    push interrupted, nothing written."""
    knot = lab.knot(zone_text(1))
    fake = lab.fake
    zid = fake.create_zone(ZONE)
    zs = lab.zonesync(knot, **{"hosted-zone-id": zid})
    fake.configure(listing={"endless": True, "delay": 3})
    mark = zs.start()
    wait_until(lambda: len(lists(fake.log())) >= 2, 20, what="a second listing page")
    time.sleep(0.5)  # well inside the second page's 3 s
    t0 = time.monotonic()
    assert zs.stop(timeout=15) == 0
    secs = time.monotonic() - t0
    assert secs < 2.5, f"stopping took {secs:.1f} s"
    assert zs.find(r"notice target push interrupted: zone=example\.com\. target=aws "
                   r"serial=1 dirty=no", mark), zs.log()
    assert changes(fake.log()) == []


def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    out = {}
    for m in re.finditer(r"^(zonesync_provider_\w+)\{([^}]*)\} (\S+)$", text, re.M):
        out[(m.group(1), m.group(2))] = float(m.group(3))
    return out


def test_daemon_logs_and_counts_every_request_sent_again(lab):
    """In the daemon: a listing GET whose reused connection drops is sent
    again by libcurl (logged, counted reason="reconnect"); a change batch
    whose connection is reset after it was applied is not sent again
    (logged, counted as an unanswered write) and the records are read again;
    a 500 on the next batch is retried by zonesync (reason="error")."""
    knot = lab.knot(zone_text(1, hosts(1500)))
    fake = lab.fake
    zid = fake.create_zone(ZONE)
    port = free_port()
    zs = lab.zonesync(knot, extra_server={"metrics": f"127.0.0.1@{port}"},
                      **{"hosted-zone-id": zid})
    fake.add_faults([{"op": "list", "fault": "close", "skip": 1},
                     {"op": "change", "fault": "reset-after"},
                     {"op": "change", "fault": "500"}])
    mark = zs.start()
    zs.wait_log(r"info target synced: zone=example\.com\. target=aws serial=1 ", 30, mark)
    assert fake.faults() == [], fake.faults()
    assert_in_sync(fake, zid, knot)
    entries = fake.log()
    ch = changes(entries)
    assert len([e for e in ch if e["batch"] == ch[0]["batch"]]) == 1, \
        "\n".join(map(summary, entries))
    assert zs.find(r"info route53 request re-sent by libcurl: target=aws zone=example\.com\. "
                   r"GET \S+/rrset times=1", mark), zs.log()
    assert zs.find(r"warning route53 change batch unanswered, not sent again: target=aws", mark)
    assert zs.find(r"info route53 request retried: target=aws .* POST .* status=500 .* "
                   r"reason=error", mark), zs.log()
    m = scrape(port)
    assert m.get(("zonesync_provider_requests_resent_total",
                  'target="aws",reason="reconnect"')) == 1, m
    assert m.get(("zonesync_provider_requests_resent_total",
                  'target="aws",reason="error"')) == 1, m
    assert m.get(("zonesync_provider_writes_unanswered_total", 'target="aws"')) == 1, m
    zs.stop()
