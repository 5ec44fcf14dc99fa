"""The daemon and Route 53: a push that fails is retried by the daemon on its
own, and later changes go incrementally.  Against the fault-injecting fake
(moto never fails a request)."""
import os

from conftest import ROOT
from servers import Knot, free_port
from motolab import R53Zonesync
from test_route53_faults import ZONE, assert_in_sync, zone_text
from fake_route53 import FakeRoute53


def test_daemon_retries_a_failed_push_by_itself(tmp_path, zonesync):  # noqa: ARG001
    fake = FakeRoute53().start()
    zid = fake.create_zone(ZONE)
    zs_port = free_port()
    knot = Knot(tmp_path / "knot", {ZONE: zone_text(1)}, zs_port)
    (tmp_path / "zs").mkdir()
    binary = os.environ.get("ZONESYNC_BIN", os.path.join(ROOT, "build", "zonesync"))
    zs = R53Zonesync(binary, tmp_path / "zs", fake.url, knot.port, knot.secret,
                     [{"domain": ZONE}], [{"id": "aws", "hosted-zone-id": zid, "rate-limit": 50}],
                     port=zs_port)
    try:
        knot.start()
        # The first change request is refused (not a retryable error): the
        # push fails, and only the daemon's own retry can bring it in.
        fake.add_faults([{"op": "change", "fault": "InvalidInput"}])
        zs.start()
        zs.wait_log(r"target failed: zone=example\.com\. target=aws", timeout=20)
        zs.wait_log(r"target synced: zone=example\.com\. target=aws serial=1 mode=full",
                    timeout=40)
        assert_in_sync(fake, zid, knot)
        # Then a change on the primary arrives by NOTIFY, incrementally.
        mark = zs.mark()
        serial = knot.change(ZONE, set=[("late", 300, "A", "192.0.2.44")])
        zs.wait_log(rf"target synced: zone=example\.com\. target=aws serial={serial} "
                    r"mode=incremental", timeout=20, since=mark)
        assert_in_sync(fake, zid, knot)
        assert zs.stop() == 0
        assert zs.problems() == []
    finally:
        zs.stop()
        knot.stop()
        fake.stop()
