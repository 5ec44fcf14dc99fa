"""One zone fanned out to Route 53 (moto_server), PowerDNS (pdns_server and
its API) and a zone file by the daemon, knotd notifying it.  While the
PowerDNS server is down, changes keep reaching the other two at once; when
it is back, it catches up by itself; status shows every pair."""
import json
import os
import subprocess
import time

from conftest import ROOT
from motolab import Moto, aws_env, listing_view, primary_view
from servers import Knot, Zonesync, free_port, new_secret, wait_until
from test_powerdns import API_KEY, PdnsApi

ZONE = "example.com."
ZONE_TEXT = """$ORIGIN example.com.
$TTL 300
@ SOA ns1 hostmaster 1 3600 600 86400 300
@ NS ns1
ns1 A 192.0.2.1
www A 192.0.2.2
"""


def test_fanout_survives_one_provider_down(tmp_path):
    secret = new_secret()
    zs_port = free_port()
    moto = Moto(tmp_path / "moto").start()
    zid = moto.create_zone(ZONE)
    (tmp_path / "pdns").mkdir()
    pdns = PdnsApi(tmp_path / "pdns")
    pdns.start()
    pdns.create_zone(ZONE)
    knot = Knot(tmp_path / "knot", {ZONE: ZONE_TEXT}, zs_port, secret=secret).start()
    keyfile = tmp_path / "api.key"
    keyfile.write_text(API_KEY + "\n")
    zs = Zonesync(os.environ.get("ZONESYNC_BIN", os.path.join(ROOT, "build", "zonesync")),
                  tmp_path / "zs", [{"id": "p", "address": f"[127.0.0.1@{knot.port}]",
                                     "key": "xfr"}],
                  [{"domain": ZONE, "primary": "p"}], keys={"xfr": secret}, port=zs_port)
    conf = open(zs.conf).read()
    conf = conf.replace("zone:\n", f"""  - {{ id: aws, type: route53, hosted-zone-id: {zid}, endpoint: "{moto.endpoint}" }}
  - {{ id: pdns, type: powerdns, url: "{pdns.url}", api-key-file: "{keyfile}" }}
zone:
""")
    # Failed targets retry at 10 s, doubling up to the zone's retry: keep it short.
    conf = conf.replace("target: [file]", "target: [aws, pdns, file], retry-min-interval: 5s, retry-max-interval: 15s")
    open(zs.conf, "w").write(conf)
    zs.proc.env = aws_env()

    def aws_has(name):
        return any(r["Name"] == name for r in moto.list(zid))

    def pdns_has(name):
        z = pdns.zone()
        return z is not None and any(r["name"] == name for r in z["rrsets"])

    def file_has(name):
        try:
            return name in open(zs.zonefile(ZONE)).read()
        except FileNotFoundError:
            return False

    try:
        zs.start()
        wait_until(lambda: aws_has("www.example.com.") and pdns_has("www.example.com.")
                   and file_has("www.example.com."), 30, what="first push everywhere")

        pdns.stop()
        for i in (1, 2):
            name = f"down{i}.example.com."
            t0 = time.monotonic()
            knot.change(ZONE, set=[(f"down{i}", 300, "A", f"192.0.2.{10 + i}")])
            wait_until(lambda: aws_has(name) and file_has(name), 8,
                       what=f"{name} at Route 53 and in the file while PowerDNS is down")
            assert time.monotonic() - t0 < 8
        zs.wait_log(r"target failed: zone=example\.com\. target=pdns", timeout=30)

        pdns.start()  # the same database and ports
        wait_until(lambda: pdns_has("down2.example.com."), 60, 0.5,
                   what="PowerDNS catching up by itself")
        # Everyone equal to the primary, through the daemon alone.
        want, _ = primary_view(knot.axfr(ZONE), ZONE)
        assert listing_view(moto.list(zid), ZONE) == want
        r = subprocess.run([zs.bin, "status", "-c", zs.conf, "--json"], capture_output=True,
                           text=True, timeout=30)
        st = json.loads(r.stdout)
        (zone,) = st["zones"]
        states = {t["target"]: (t["state"], t["serial"]) for t in zone["targets"]}
        assert states == {"aws": ("ok", zone["serial"]), "pdns": ("ok", zone["serial"]),
                          "file": ("ok", zone["serial"])}, r.stdout
        assert r.returncode == 0
        assert zs.stop() == 0
        assert zs.problems() == []
    finally:
        zs.stop()
        knot.stop()
        pdns.stop()
        moto.stop()
