"""zonesync verify against the PowerDNS and RFC 2136 (named) targets: after a
clean sync nothing differs, at the API or as served; after a record is
changed behind zonesync's back (through PowerDNS's API, or by nsupdate),
verify names that RRset, at the API and in what the server answers, and
exits 1."""
import os


import test_powerdns as pd
import test_rfc2136 as upd
from conftest import ROOT
from motolab import describe


def binary():
    return os.environ.get("ZONESYNC_BIN", os.path.join(ROOT, "build", "zonesync"))


def test_verify_rfc2136_named(tmp_path):
    lab = upd.Lab(tmp_path, binary())
    try:
        primary = lab.primary(upd.zone_text(1))
        target = lab.target("named")
        zs = lab.zonesync(primary, target)
        zs.sync()
        r = zs.command("verify", "--serving")
        assert r.returncode == 0, describe(r)
        assert "t (rfc2136): same as the primary, serial 1" in r.stdout, describe(r)
        # --serving asks the target's own address by default.
        assert f"served by 127.0.0.1@{target.port}: SOA serial" in r.stdout, describe(r)
        assert ", 0 differ" in r.stdout, describe(r)

        target.nsupdate(["update delete www.example.com. A",
                         "update add www.example.com. 300 A 198.51.100.7"])
        r = zs.command("verify", "--serving")
        assert r.returncode == 1, describe(r)
        assert "~ www.example.com. A" in r.stdout, describe(r)
        assert "! www.example.com. A" in r.stdout, describe(r)
        assert "served   www.example.com. 300 IN A 198.51.100.7" in r.stdout, describe(r)
    finally:
        lab.close()


def test_verify_powerdns(tmp_path):
    lab = pd.Lab(tmp_path, binary())
    try:
        knot = lab.knot({pd.ZONE: pd.zone_text(1)})
        pdns = lab.pdns()
        pdns.create_zone()
        zs = lab.zonesync(pdns, knot, targets=[{"id": "pdns",
                                                "serving": f"127.0.0.1@{pdns.port}"}])
        pd.sync_ok(zs)
        r = zs.command("verify", "--serving")
        assert r.returncode == 0, describe(r)
        assert "pdns (powerdns): same as the primary, serial 1" in r.stdout, describe(r)
        assert f"served by 127.0.0.1@{pdns.port}: SOA serial 1;" in r.stdout, describe(r)

        pdns.patch(pd.ZONE, [{"name": "mail.example.com.", "type": "AAAA", "ttl": 3600,
                              "changetype": "REPLACE",
                              "records": [{"content": "2001:db8::99", "disabled": False}]}])
        r = zs.command("verify", "--serving")
        assert r.returncode == 1, describe(r)
        assert "~ mail.example.com. AAAA" in r.stdout, describe(r)
        assert "! mail.example.com. AAAA" in r.stdout, describe(r)
        assert "2001:db8::99" in r.stdout, describe(r)
    finally:
        lab.close()
