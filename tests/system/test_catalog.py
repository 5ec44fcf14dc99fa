"""Catalog zones (RFC 9432) as a consumer: zonesync adds and removes the
member zones of a catalog as it changes, without a reload.

Two real producers: knotd generating its catalog from its member zones
(catalog-role: generate; members added and removed by a rewrite of its
configuration and `knotc reload`), and named serving a catalog written by
hand (changed by nsupdate: the group property, the version, a member that
is also a zone of zonesync's file)."""
import json
import os
import signal

from servers import (LOOPBACK, Knot, Named, Zonesync, free_port, run, wait_until, write_atomic,
                     zonefile_serial)

ZONE = """$ORIGIN {z}
$TTL 300
@ SOA ns.{z} h.{z} {serial} 3600 600 86400 300
@ NS ns.{z}
ns A 192.0.2.1
www A 192.0.2.{last}
"""


def zone_text(name, serial=1, last=10):
    return ZONE.format(z=name, serial=serial, last=last)


class KnotCatalog(Knot):
    """knotd generating catalog.example. from the member zones it is given
    (members: {name: group or None})."""

    CATALOG = "catalog.example."

    def __init__(self, workdir, members, notify_port):
        self.members = dict(members)
        super().__init__(workdir, {m: zone_text(m) for m in members}, notify_port)

    def _write_conf(self):
        # Knot's own template, then the catalog and each member.
        super()._write_conf()
        with open(self.conf) as f:
            text = f.read()
        head = text[:text.index("zone:\n")]
        # A generated catalog's serial is unixtime (knotd requires it).
        zones = (f"zone:\n  - domain: {self.CATALOG}\n    catalog-role: generate\n"
                 "    serial-policy: unixtime\n")
        for m, group in self.members.items():
            zones += (f"  - domain: {m}\n    catalog-role: member\n"
                      f"    catalog-zone: {self.CATALOG}\n")
            if group:
                zones += f"    catalog-group: {group}\n"
        with open(self.conf, "w") as f:
            f.write(head + zones)

    def set_members(self, members):
        """The members now: the configuration rewritten, knotd reloaded."""
        for m in members:
            if m not in self.zones:
                self.zones[m] = zone_text(m)
                with open(self.zone_path(m), "w") as f:
                    f.write(self.zones[m])
        self.members = dict(members)
        self._write_conf()
        self.knotc("reload")


def zonesync_conf(zs, primary_port, secret, targets, templates, catalog, zones=()):
    """zonesync's configuration (written over the one Zonesync made)."""
    lines = ["server:",
             f"  listen: [{LOOPBACK}@{zs.port}]",
             f"  state: {zs.state}",
             "  log: { level: debug }",
             "  notify-rate-limit: 0",
             "key:",
             f"  - {{ id: xfr, algorithm: hmac-sha256, secret: {secret} }}",
             "primary:",
             f"  - {{ id: p, address: [{LOOPBACK}@{primary_port}], key: xfr }}",
             "target:"] + [f"  - {t}" for t in targets] + \
            ["template:"] + [f"  - {t}" for t in templates] + \
            ["catalog:", f"  - {catalog}"]
    if zones:
        lines += ["zone:"] + [f"  - {z}" for z in zones]
    write_atomic(zs.conf, "\n".join(lines) + "\n")


def status(zs):
    r = run([zs.bin, "status", "-c", zs.conf, "--json"], check=False)
    assert r.stdout, r.stderr
    return {z["zone"]: z for z in json.loads(r.stdout)["zones"]}


def pdns_names(pdns, zone):
    z = pdns.zone(zone)
    return sorted((r["name"], r["type"]) for r in z["rrsets"]) if z else None


def test_knotd_catalog(lab):
    """knotd's generated catalog: members appear and sync, one added
    appears without a reload, one removed with on-remove keep leaves its
    file, one removed with purge has its records deleted at PowerDNS."""
    pdns = lab.pdns_api()
    notify_port = free_port()
    knot = lab.add(KnotCatalog(lab.dir("knot"), {"keep1.example.": None,
                                                  "purge1.example.": "pdns"},
                               notify_port)).start()
    zs = lab.add(Zonesync(lab.binary, lab.dir("zonesync"), [], [], port=notify_port))
    zonesync_conf(
        zs, knot.port, knot.secret,
        [f'{{ id: file, type: zonefile, path: "{zs.out}/%s.zone" }}',
         f"{{ id: pdns, type: powerdns, url: \"{pdns.url}\", "
         f"api-key-file: \"{pdns.key_file()}\", create: true }}"],
        ["{ id: files, target: [file] }",
         "{ id: pdns, target: [pdns], on-remove: purge }"],
        "{ domain: catalog.example., primary: p, template: files, group: { pdns: pdns } }")
    zs.start()
    zs.wait_serial("keep1.example.", 1, timeout=20)
    wait_until(lambda: ("www.purge1.example.", "A") in (pdns_names(pdns, "purge1.example.")
                                                        or ()),
               20, what="purge1.example. at PowerDNS")
    assert not os.path.exists(zs.zonefile("purge1.example."))  # its template has no file
    st = status(zs)
    assert st["keep1.example."]["origin"] == {"from": "catalog", "catalog": "catalog.example.",
                                              "template": "files"}
    assert st["purge1.example."]["origin"]["template"] == "pdns"
    assert st["catalog.example."]["catalog_zone"] is True
    assert st["catalog.example."]["origin"]["from"] == "config"

    # A member added at knotd: it comes with the catalog's NOTIFY and IXFR.
    mark = zs.mark()
    knot.set_members({"keep1.example.": None, "purge1.example.": "pdns",
                      "new.example.": None})
    zs.wait_serial("new.example.", 1, timeout=20)
    zs.wait_log(r"catalog changed: catalog=catalog.example\. .* added=1 removed=0", since=mark)
    assert not zs.find(r"configuration reloaded|reloading", since=mark)

    # Removed, on-remove keep: the file stays as it was.
    mark = zs.mark()
    knot.set_members({"purge1.example.": "pdns", "new.example.": None})
    zs.wait_log(r"catalog changed: .* removed=1", since=mark, timeout=20)
    zs.wait_log(r"zone removed, its state is kept: zone=keep1\.example\.", since=mark)
    assert zonefile_serial(zs.zonefile("keep1.example.")) == 1
    assert not zs.find(r"purg", since=mark)

    # Removed, on-remove purge: its records go, the apex SOA and NS stay.
    mark = zs.mark()
    knot.set_members({"new.example.": None})
    zs.wait_log(r"catalog member purged: zone=purge1\.example\. target=pdns", since=mark,
                timeout=20)
    assert pdns_names(pdns, "purge1.example.") == [("purge1.example.", "NS"),
                                                   ("purge1.example.", "SOA")]
    st = status(zs)
    assert "purge1.example." not in st and "keep1.example." not in st
    assert "new.example." in st


def named_catalog(serial, members, version="2"):
    """A catalog written by hand: members {unique-id: (member, group)}."""
    text = (f"$ORIGIN catalog.example.\n$TTL 0\n"
            f"@ SOA invalid. invalid. {serial} 3600 600 86400 0\n@ NS invalid.\n"
            f'version TXT "{version}"\n')
    for uid, (member, group) in members.items():
        text += f"{uid}.zones PTR {member}\n"
        if group:
            text += f'group.{uid}.zones TXT "{group}"\n'
    return text


def test_named_catalog(lab):
    """A hand-written catalog at named: the explicit zone wins, the group
    property moves a member to another template, the members survive a
    restart without the primary, a version other than "2" is refused."""
    notify_port = free_port()
    members = {"m1": ("m1.example.", None), "m2": ("m2.example.", None),
               "x": ("explicit.example.", None)}
    named = lab.add(Named(lab.dir("named"), {
        "catalog.example.": named_catalog(1, members),
        "m1.example.": zone_text("m1.example.", 7),
        "m2.example.": zone_text("m2.example.", 8),
        "explicit.example.": zone_text("explicit.example.", 9)}, notify_port)).start()
    zs = lab.add(Zonesync(lab.binary, lab.dir("zonesync"), [], [], port=notify_port))
    out2 = os.path.join(zs.dir, "out2")
    os.makedirs(out2)
    zonesync_conf(
        zs, named.port, named.secret,
        [f'{{ id: file, type: zonefile, path: "{zs.out}/%s.zone" }}',
         f'{{ id: file2, type: zonefile, path: "{out2}/%s.zone" }}'],
        ["{ id: one, target: [file] }", "{ id: two, target: [file2] }"],
        "{ domain: catalog.example., primary: p, template: one, group: { second: two } }",
        ["{ domain: explicit.example., primary: p, target: [file2] }"])
    mark = zs.start()
    zs.wait_serial("m1.example.", 7, timeout=20)
    zs.wait_serial("m2.example.", 8)
    # The file's zone wins (it goes to file2), with a warning naming both.
    wait_until(lambda: zonefile_serial(os.path.join(out2, "explicit.example.zone")) == 9, 10,
               what="explicit.example. in out2")
    zs.wait_log(r"catalog member skipped: zone=explicit\.example\. catalog=catalog\.example\.: "
                r"the zone is also in the configuration file", since=mark)
    assert not os.path.exists(zs.zonefile("explicit.example."))
    assert status(zs)["explicit.example."]["origin"]["from"] == "config"

    # The group property moves m1 to template two: its target changes.
    mark = zs.mark()
    named.nsupdate("catalog.example.", ['update add group.m1.zones.catalog.example. 0 TXT '
                                        '"second"'])
    wait_until(lambda: zonefile_serial(os.path.join(out2, "m1.example.zone")) == 7, 20,
               what="m1.example. in out2")
    zs.wait_log(r"catalog changed: .* added=0 removed=0 restarted=1", since=mark)
    assert status(zs)["m1.example."]["origin"]["template"] == "two"

    # A reload (SIGHUP) keeps the members: none stops or restarts.
    mark = zs.mark()
    zs.proc.proc.send_signal(signal.SIGHUP)
    zs.wait_log(r"configuration reloaded: zones=4 added=0 removed=0 restarted=0 unchanged=4",
                since=mark)
    assert {"m1.example.", "m2.example."} <= set(status(zs))

    # Two of three members gone at once is more than max-remove (50%):
    # held, the members stay; put back, nothing changes.
    mark = zs.mark()
    named.nsupdate("catalog.example.", ["update delete m1.zones.catalog.example. PTR",
                                        "update delete m2.zones.catalog.example. PTR"])
    zs.wait_log(r"catalog change held, its members stay as they were: catalog=catalog\.example\. "
                r".*removes 2 of 3 members", since=mark, timeout=20)
    assert {"m1.example.", "m2.example."} <= set(status(zs))
    named.nsupdate("catalog.example.", ["update add m1.zones.catalog.example. 0 PTR m1.example.",
                                        "update add m2.zones.catalog.example. 0 PTR m2.example."])
    zs.wait_log(r"zone transferred: zone=catalog\.example\. .*serial=4", since=mark)
    assert not zs.find(r"zone removed|catalog changed", since=mark)

    # A restart without the primary: the members come from the store.
    zs.stop()
    named.stop()
    mark = zs.start()
    zs.wait_log(r"catalog read from the store: catalog=catalog\.example\. serial=\d+ "
                r"members=3", since=mark)
    zs.wait_log(r"zone loaded from the store: zone=m2\.example\. serial=8", since=mark)
    st = status(zs)
    assert st["m1.example."]["origin"]["template"] == "two"
    assert st["m2.example."]["serial"] == 8
    named.start()

    # Version "1": refused, with the catalog and the version named; the
    # members stay.
    mark = zs.mark()
    named.nsupdate("catalog.example.", ['update delete version.catalog.example. TXT',
                                        'update add version.catalog.example. 0 TXT "1"',
                                        'update delete m2.zones.catalog.example. PTR'])
    zs.wait_log(r'catalog refused, its members stay as they were: catalog=catalog\.example\. '
                r'.*version \\?"1\\?" is not supported', since=mark, timeout=20)
    assert "m2.example." in status(zs)
    assert not zs.find(r"zone removed", since=mark)
    # Nor after a restart: the members last accepted are kept beside the
    # stored (refused) catalog.
    zs.stop()
    mark = zs.start()
    zs.wait_log(r"catalog read from the store: catalog=catalog\.example\. serial=\d+ "
                r"members=3", since=mark)
    zs.wait_log(r"zone loaded from the store: zone=m2\.example\.", since=mark)
    assert {"m1.example.", "m2.example."} <= set(status(zs))
