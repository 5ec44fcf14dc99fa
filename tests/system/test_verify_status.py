"""zonesync verify (API and --serving) and zonesync status, with moto_server
as Route 53, a zone file target, knotd as the primary and a second knotd
standing in for the name servers that serve the provider's copy."""
import json
import os
import subprocess

import pytest

from conftest import ROOT
from motolab import Moto, aws_env
from servers import Knot, free_port, new_secret

ZONE = "example.com."


def text(serial, www="192.0.2.80"):
    return f"""$ORIGIN {ZONE}
$TTL 300
@ SOA ns1 hostmaster {serial} 3600 600 86400 300
@ NS ns1
ns1 A 192.0.2.1
www A {www}
mail MX 10 ns1
txt TXT "v=spf1 -all"
"""


class Lab:
    def __init__(self, tmp, serving_port=None, endpoint=None):
        self.tmp = tmp
        self.secret = new_secret()
        self.moto = Moto(tmp / "moto").start()
        self.zid = self.moto.create_zone(ZONE)
        self.knot = Knot(tmp / "knot", {ZONE: text(1)}, free_port(), secret=self.secret,
                         notify=False).start()
        self.state = tmp / "state"
        self.file = tmp / "copy.zone"
        serving = f", serving: [\"127.0.0.1@{serving_port}\"]" if serving_port else ""
        self.conf = tmp / "zonesync.yaml"
        self.conf.write_text(f"""server:
  listen: [127.0.0.1@{free_port()}]
  state: {self.state}
  log: {{ level: info }}
key:
  - {{ id: xfr, algorithm: hmac-sha256, secret: {self.secret} }}
primary:
  - {{ id: p, address: [127.0.0.1@{self.knot.port}], key: xfr }}
target:
  - {{ id: aws, type: route53, hosted-zone-id: {self.zid},
       endpoint: "{endpoint or self.moto.endpoint}"{serving} }}
  - {{ id: file, type: zonefile, path: "{self.file}" }}
zone:
  - {{ domain: {ZONE}, primary: p, target: [aws, file] }}
""")

    def run(self, *args):
        binary = os.environ.get("ZONESYNC_BIN", os.path.join(ROOT, "build", "zonesync"))
        return subprocess.run([binary, args[0], "-c", str(self.conf), *args[1:]],
                              capture_output=True, text=True, timeout=120, env=aws_env())

    def close(self):
        self.knot.stop()
        self.moto.stop()


@pytest.fixture
def lab(tmp_path):
    lab = Lab(tmp_path)
    yield lab
    lab.close()


def test_verify_after_sync_then_after_changes_behind_our_back(lab):
    r = lab.run("sync")
    assert r.returncode == 0, r.stdout + r.stderr
    r = lab.run("verify")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "aws (route53): same as the primary, serial 1" in r.stdout
    assert "file (zonefile): same as the primary, serial 1" in r.stdout
    # Someone edits Route 53 by hand, and the zone file.
    lab.moto.change(lab.zid, [{"Action": "UPSERT", "ResourceRecordSet": {
        "Name": "www.example.com.", "Type": "A", "TTL": 300,
        "ResourceRecords": [{"Value": "192.0.2.99"}]}}])
    lab.file.write_text(lab.file.read_text().replace("v=spf1 -all", "v=spf1 +all"))
    r = lab.run("verify", "--json")
    assert r.returncode == 1, r.stdout + r.stderr
    out = json.loads(r.stdout)
    (zone,) = out["zones"]
    by = {t["target"]: t for t in zone["targets"]}
    (c,) = by["aws"]["changes"]
    assert (c["action"], c["name"], c["type"]) == ("update", "www.example.com.", "A")
    assert c["old"]["values"] == ["192.0.2.99"] and c["new"]["values"] == ["192.0.2.80"]
    (c,) = by["file"]["changes"]
    assert (c["name"], c["type"]) == ("txt.example.com.", "TXT")
    # Text: names the RRset; verify changed nothing.
    r = lab.run("verify", "--target", "aws")
    assert r.returncode == 1 and "~ www.example.com. A" in r.stdout, r.stdout
    assert "192.0.2.99" in json.dumps(lab.moto.list(lab.zid))


def test_verify_serving_asks_the_name_servers(tmp_path):
    # What the provider's name servers serve: a stale copy (serial 1, old www).
    served = Knot(tmp_path / "served", {ZONE: text(1, www="192.0.2.11")}, free_port(),
                  notify=False).start()
    lab = Lab(tmp_path / "lab", serving_port=served.port)
    try:
        assert lab.run("sync").returncode == 0
        r = lab.run("verify", "--serving", "--target", "aws")
        assert r.returncode == 1, r.stdout + r.stderr
        assert "same as the primary" in r.stdout  # the API holds the right data...
        assert f"served by 127.0.0.1@{served.port}: SOA serial 1; 4 RRsets asked, 1 differ" \
            in r.stdout, r.stdout  # ...but what is served is not
        assert "! www.example.com. A" in r.stdout
        assert "expected www.example.com. 300 IN A 192.0.2.80" in r.stdout
        assert "served   www.example.com. 300 IN A 192.0.2.11" in r.stdout
        j = json.loads(lab.run("verify", "--serving", "--json", "--target", "aws").stdout)
        (srv,) = j["zones"][0]["targets"][0]["serving"]
        assert srv["serial"] == 1 and srv["asked"] == 4
        assert [(d["name"], d["type"]) for d in srv["differ"]] == [("www.example.com.", "A")]
        # Once the served copy is right, verify --serving passes.
        served.stop()
        served2 = Knot(tmp_path / "served2", {ZONE: text(1)}, free_port(), notify=False,
                       port=served.port).start()
        try:
            r = lab.run("verify", "--serving", "--target", "aws")
            assert r.returncode == 0, r.stdout + r.stderr
        finally:
            served2.stop()
    finally:
        served.stop()
        lab.close()


def test_status_shows_every_pair(tmp_path):
    # A target whose API does not answer: status says failing, with the error.
    dead = f"http://127.0.0.1:{free_port()}"
    lab = Lab(tmp_path, endpoint=dead)
    try:
        r = lab.run("status")
        assert r.returncode == 1 and "no state yet" in r.stderr
        r = lab.run("sync")
        assert r.returncode == 1
        r = lab.run("status", "--json")
        assert r.returncode == 1, r.stdout + r.stderr
        (zone,) = json.loads(r.stdout)["zones"]
        assert zone["zone"] == ZONE and zone["serial"] == 1 and zone["state"] == "ok"
        by = {t["target"]: t for t in zone["targets"]}
        assert by["file"]["state"] == "ok" and by["file"]["serial"] == 1
        assert by["aws"]["state"] == "failing" and by["aws"]["serial"] is None
        assert "gave up after 8 attempts" in by["aws"]["last_error"]
        text_out = lab.run("status").stdout
        assert "aws" in text_out and "failing" in text_out and "file" in text_out
    finally:
        lab.close()
