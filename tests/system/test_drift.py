"""Drift and refusals against moto_server (issue 12).

Drift: a hand edit in the hosted zone (one RRset changed, one record added)
on a target zonesync holds as clean at the current serial.  A plain `sync`
does not read such a target (up to date); `sync --full` and the daemon's
reconcile-interval read it and put the primary's view back.

Refusals: a push refused by max-delete is a decision, not an error: the
daemon does not retry it (no request to the provider while the serial
stays), `status` says refused with why, and a new serial or `sync --force`
ends it.

The hosted zone is read back with the AWS CLI; requests are counted from
moto's access log (motolab.Moto.requests)."""
import json
import re
import time

import pytest

from motolab import describe, listing_view
from servers import LOOPBACK, free_port, wait_until
from test_daemon_lifecycle import parse_metrics, scrape
from test_route53 import NEVER, ZONE, assert_in_sync, lab, moto, zone_text  # noqa: F401

WWW = "www.example.com."
EXTRA = "extra.example.com."
# What the primary's change deletes: two RRsets, over max-delete: 1.
DELETE_TWO = [("mail", "AAAA"), ("old", "CNAME")]


def hand_edit(moto, zid, check=True):
    """What an operator does in the console: www's A set changed, and a
    record the primary does not have added (check: and it is there)."""
    moto.change(zid, [
        {"Action": "UPSERT", "ResourceRecordSet": {
            "Name": WWW, "Type": "A", "TTL": 300,
            "ResourceRecords": [{"Value": "192.0.2.99"}]}},
        {"Action": "CREATE", "ResourceRecordSet": {
            "Name": EXTRA, "Type": "A", "TTL": 300,
            "ResourceRecords": [{"Value": "198.51.100.1"}]}},
    ])
    if not check:
        return
    got = listing_view(moto.list(zid), ZONE)
    assert (EXTRA, "A") in got and got[(WWW, "A")][1] == frozenset({"192.0.2.99"})


def drifted(moto, zid):
    got = listing_view(moto.list(zid), ZONE)
    return (EXTRA, "A") in got or got.get((WWW, "A"), (0, ()))[1] == frozenset({"192.0.2.99"})


def status_target(zs, target="aws"):
    r = zs.command("status", "--json")
    (zone,) = [z for z in json.loads(r.stdout)["zones"] if z["zone"] == ZONE]
    (t,) = [t for t in zone["targets"] if t["target"] == target]
    return t


def drift_metric(mport):
    samples, types = parse_metrics(scrape(mport))
    assert types.get("zonesync_drift_repaired_total") == "counter"
    key = ("zonesync_drift_repaired_total",
           frozenset({"zone": ZONE, "target": "aws"}.items()))
    return samples.get(key)


# --- drift -----------------------------------------------------------------------------------

def test_sync_full_repairs_a_hand_edit(lab, moto):
    knot = lab.knot({ZONE: zone_text(1)})
    zid = moto.create_zone(ZONE)
    zs = lab.zonesync(knot, targets=[{"id": "aws", "hosted-zone-id": zid}])
    r = zs.sync()
    assert r.returncode == 0, describe(r)
    assert_in_sync(moto, zid, knot)
    hand_edit(moto, zid)

    # A target clean at the current serial is not read: the edit stays.
    mark = moto.mark()
    r = zs.sync()
    assert r.returncode == 0, describe(r)
    assert "example.com. -> aws: up to date, serial 1" in r.stdout, describe(r)
    assert moto.request_count(mark, zid) == (0, 0)
    assert drifted(moto, zid)

    # --dry-run --full lists the repair and changes nothing.
    r = zs.sync("--full", "--dry-run")
    assert r.returncode == 0, describe(r)
    assert "2 changes (0 to add, 1 to update, 1 to delete)" in r.stdout, describe(r)
    assert drifted(moto, zid)

    # --full reads it and puts both back.
    r = zs.sync("--full")
    assert r.returncode == 0, describe(r)
    assert "example.com. -> aws: repaired drift at serial 1: 0 added, 1 updated, " \
           "1 deleted" in r.stdout, describe(r)
    assert re.search(r"drift repaired: zone=example\.com\. target=aws serial=1 added=0 "
                     r"changed=1 deleted=1 ", r.stderr), describe(r)
    assert_in_sync(moto, zid, knot)

    # Read again, nothing differs: no repair, no write.
    mark = moto.mark()
    r = zs.sync("--full")
    assert r.returncode == 0, describe(r)
    assert "drift" not in r.stdout + r.stderr, describe(r)
    changes, lists = moto.request_count(mark, zid)
    assert changes == 0 and lists >= 1
    assert status_target(zs)["state"] == "ok"


@pytest.mark.parametrize("where", ["zone", "target", "off"])
def test_daemon_repairs_drift_on_its_own(lab, moto, where):
    """reconcile-interval: 2s (the zone's, or the target's own over a zone's
    0): the daemon reads the target every ~2 s and repairs a hand edit,
    counted in zonesync_drift_repaired_total; 0 reads nothing."""
    zport, mport = free_port(), free_port()
    knot = lab.knot({ZONE: zone_text(1)}, notify_port=zport)
    zid = moto.create_zone(ZONE)
    zone = {"domain": ZONE, "refresh-min-interval": NEVER,
            "reconcile-interval": "2s" if where == "zone" else 0}
    target = {"id": "aws", "hosted-zone-id": zid}
    if where == "target":
        target["reconcile-interval"] = "2s"
    zs = lab.zonesync(knot, zones=[zone], targets=[target], port=zport,
                      extra_server={"metrics": f"{LOOPBACK}@{mport}"})
    zs.start()
    zs.wait_log(r"target synced: zone=example\.com\. target=aws serial=1 ", timeout=30)
    assert_in_sync(moto, zid, knot)
    assert drift_metric(mport) == 0  # there from the first push on, for rate()
    zmark = zs.mark()
    hand_edit(moto, zid, check=False)  # the daemon may read it at once

    if where == "off":
        mark = moto.mark()
        time.sleep(5)
        assert moto.request_count(mark, zid) == (0, 0)
        assert drifted(moto, zid)
        assert zs.find(r"drift repaired", zmark) == []
        return
    zs.wait_log(r"notice drift repaired: zone=example\.com\. target=aws serial=1 added=0 "
                r"changed=1 deleted=1 ", timeout=15, since=zmark)
    assert_in_sync(moto, zid, knot)
    assert drift_metric(mport) == 2
    # It goes on checking (a listing every ~2 s) and finds nothing more.
    mark = moto.mark()
    wait_until(lambda: moto.request_count(mark, zid)[1] >= 2, 15, 0.2, "two more checks")
    assert moto.request_count(mark, zid)[0] == 0
    assert drift_metric(mport) == 2
    assert len(zs.find(r"drift repaired", zmark)) == 1


def test_sync_full_beside_the_daemon_goes_through_it(lab, moto):
    """With a daemon running (its own drift check off), `sync --full` is
    handed to the daemon over STATE/control (one writer): the daemon's log
    shows the request with full=yes, the hand edit is repaired with one
    change request, and the command prints the repair as a direct run."""
    zport = free_port()
    knot = lab.knot({ZONE: zone_text(1)}, notify_port=zport)
    zid = moto.create_zone(ZONE)
    zone = {"domain": ZONE, "refresh-min-interval": NEVER, "reconcile-interval": 0}
    zs = lab.zonesync(knot, zones=[zone], targets=[{"id": "aws", "hosted-zone-id": zid}],
                      port=zport)
    zs.start()
    zs.wait_log(r"target synced: zone=example\.com\. target=aws serial=1 ", timeout=30)
    hand_edit(moto, zid)
    zmark, mark = zs.mark(), moto.mark()
    r = zs.sync("--full")
    assert r.returncode == 0, describe(r)
    assert "repaired drift at serial 1" in r.stdout, describe(r)
    zs.wait_log(r"control: sync asked: .* full=yes", timeout=5, since=zmark)
    assert zs.find(r"drift repaired: zone=example\.com\. target=aws ", zmark), zs.log()
    assert moto.request_count(mark, zid)[0] == 1  # one change request
    assert_in_sync(moto, zid, knot)


# --- refusals --------------------------------------------------------------------------------

def test_refusal_waits_for_a_new_serial(lab, moto):
    """The daemon: a change deleting 2 RRsets over max-delete: 1 is refused
    once; neither the retry timer (10 s) nor the zone's checks every 2 s
    read the target again; status says refused; a new serial is pushed."""
    zport = free_port()
    knot = lab.knot({ZONE: zone_text(1)}, notify_port=zport)
    zid = moto.create_zone(ZONE)
    zs = lab.zonesync(knot, zones=[{"domain": ZONE, "max-delete": 1,
                                    "refresh-min-interval": 1, "refresh-max-interval": 2,
                                    "reconcile-interval": "2s"}],
                      targets=[{"id": "aws", "hosted-zone-id": zid}], port=zport)
    zs.start()
    zs.wait_log(r"target synced: zone=example\.com\. target=aws serial=1 ", timeout=30)
    zmark = zs.mark()
    serial = knot.change(ZONE, unset=DELETE_TWO)
    zs.wait_log(rf"target refused: zone=example\.com\. target=aws serial={serial} "
                r"error=\"would delete 2 of ", timeout=20, since=zmark)
    time.sleep(0.5)  # the refused push's own requests are logged
    mark = moto.mark()
    time.sleep(12)
    assert moto.request_count(mark, zid) == (0, 0), moto.requests(mark, zid)
    # The zone was checked meanwhile, and the target left alone.
    assert len(zs.find(r"target still refused, .*: zone=example\.com\. target=aws", zmark)) >= 2
    assert len(zs.find(r"target refused: ", zmark)) == 1
    t = status_target(zs)
    assert t["state"] == "refused", t
    assert "max-delete" in t["last_error"] and t["serial"] == 1, t
    text = zs.command("status").stdout
    assert re.search(r"\baws\b.*\brefused\b", text), text

    # A new serial that deletes nothing is pushed (and ends the refusal).
    zmark = zs.mark()
    serial = knot.change(ZONE, set=[("mail", 3600, "AAAA", "2001:db8::25"),
                                    ("old", 3600, "CNAME", "www")])
    zs.wait_log(rf"target synced: zone=example\.com\. target=aws serial={serial} ",
                timeout=20, since=zmark)
    assert_in_sync(moto, zid, knot)
    t = status_target(zs)
    assert t["state"] == "ok" and t["last_error"] is None, t


def test_refusal_waits_for_force(lab, moto):
    """One-shot sync: refused once, then held without a request until
    `sync --force` applies it."""
    knot = lab.knot({ZONE: zone_text(1)})
    zid = moto.create_zone(ZONE)
    zs = lab.zonesync(knot, zones=[{"domain": ZONE, "max-delete": 1}],
                      targets=[{"id": "aws", "hosted-zone-id": zid}])
    r = zs.sync()
    assert r.returncode == 0, describe(r)
    serial = knot.change(ZONE, unset=DELETE_TWO)
    r = zs.sync()
    assert r.returncode == 1 and "aws: refused: would delete 2 of" in r.stdout, describe(r)
    assert status_target(zs)["state"] == "refused"

    mark = moto.mark()
    r = zs.sync()
    assert r.returncode == 1 and "aws: refused: would delete 2 of" in r.stdout, describe(r)
    assert moto.request_count(mark, zid) == (0, 0), moto.requests(mark, zid)

    r = zs.sync("--force")
    assert r.returncode == 0, describe(r)
    assert f"synced serial {serial} (full): 0 added, 0 updated, 2 deleted" in r.stdout, \
        describe(r)
    assert_in_sync(moto, zid, knot)
    assert status_target(zs)["state"] == "ok"
