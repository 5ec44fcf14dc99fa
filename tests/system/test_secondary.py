"""zonesync as a secondary of real primaries (knotd, named, pdns_server) on
loopback: NOTIFY, SOA checks, IXFR/AXFR with TSIG, the zonefile target.

Each test gets its own servers, ports, keys and directories (servers.py); all
of them are stopped at the end of the test, and their logs printed (pytest
shows them when the test fails)."""
import os
import re
import selectors
import socket
import struct
import threading
import time

import dns.flags
import dns.message
import dns.opcode
import dns.query
import dns.rcode
import dns.rdatatype
import dns.rrset
import dns.tsig
import dns.tsigkeyring
import pytest

from conftest import ROOT
from servers import (Knot, Named, Pdns, Zonesync, LOOPBACK, free_port, new_secret,
                     records_diff, wait_until)

ZONE = "example.com."
NEVER = 3600  # a refresh/retry interval that no test waits for


def zone_text(serial, extra="", refresh=1, retry=1):
    return f"""$ORIGIN example.com.
$TTL 3600
@       SOA  ns1 hostmaster {serial} {refresh} {retry} 1209600 300
        NS   ns1
        NS   ns2.example.net.
        MX   10 mail
ns1     A    192.0.2.53
mail    A    192.0.2.25
www 300 A    192.0.2.80
old     CNAME www
{extra}"""


class Lab:
    """Servers of one test, stopped in reverse order at teardown."""

    def __init__(self, tmp_path, binary):
        self.tmp = tmp_path
        self.bin = binary
        self.servers = []

    def _dir(self, name):
        d = self.tmp / f"{name}{len(self.servers)}"
        d.mkdir()
        return d

    def add(self, server):
        self.servers.append(server)
        return server

    def knot(self, zones, notify_port, **kw):
        return self.add(Knot(self._dir("knot"), zones, notify_port, **kw))

    def named(self, zones, notify_port, **kw):
        return self.add(Named(self._dir("named"), zones, notify_port, **kw))

    def pdns(self, zones, notify_port, **kw):
        return self.add(Pdns(self._dir("pdns"), zones, notify_port, **kw))

    def zonesync(self, primary_port, secret, port, zone_opts=None, domains=(ZONE,), **kw):
        zones = [{"domain": d, "primary": "p", **(zone_opts or {})} for d in domains]
        primaries = [{"id": "p", "address": f"[{LOOPBACK}@{primary_port}]", "key": "xfr"}]
        return self.add(Zonesync(self.bin, self._dir("zonesync"), primaries, zones,
                                 keys={"xfr": secret}, port=port, **kw))

    def close(self):
        for s in reversed(self.servers):
            try:
                s.stop()
            except Exception as e:  # keep stopping the others
                print(f"stopping {type(s).__name__}: {e}")
        for s in self.servers:
            print(f"===== {type(s).__name__} log =====")
            print(s.log())
        # Every zonesync run ended by SIGTERM must exit 0, without sanitizer reports.
        problems = [p for s in self.servers if isinstance(s, Zonesync) for p in s.problems()]
        assert not problems, f"zonesync: {problems}"


@pytest.fixture
def lab(tmp_path, zonesync):
    # zonesync (conftest) checks the binary; its path, as conftest finds it:
    binary = os.environ.get("ZONESYNC_BIN", os.path.join(ROOT, "build", "zonesync"))
    lab = Lab(tmp_path, binary)
    yield lab
    lab.close()


# --- helpers -----------------------------------------------------------------------------

TRANSFER_RE = re.compile(r" info zone transferred: zone=(\S+) kind=(.+?) serial=(\d+) from=(\d+) "
                         r"records=(\d+) messages=(\d+) bytes=(\d+)")


def transfers(zs, since=0, zone=ZONE):
    """The 'zone transferred' lines after since: [(line index, kind, serial, from, records)]."""
    out = []
    for i, line in enumerate(zs.lines()[since:], since):
        m = TRANSFER_RE.search(line)
        if m and m.group(1) == zone:
            out.append((i, m.group(2), int(m.group(3)), int(m.group(4)), int(m.group(5))))
    return out


def assert_synced(zs, primary, zone=ZONE):
    """The zonefile target holds exactly what the primary serves by AXFR."""
    got = zs.records(zone)
    want = primary.axfr(zone)
    assert got == want, f"target differs from the primary's AXFR:\n{records_diff(got, want)}"


def assert_ixfr_after_notify(zs, since, serial, prev, kinds=("IXFR",)):
    """Since the mark: a NOTIFY was accepted, then the zone came to serial from prev
    by a transfer of one of these kinds."""
    xs = [t for t in transfers(zs, since) if t[2] == serial]
    assert len(xs) == 1, f"expected one transfer to serial {serial}:\n{zs.log()}"
    idx, kind, _, frm, _ = xs[0]
    assert kind in kinds, f"transfer to {serial} was {kind!r}, not {kinds}:\n{zs.log()}"
    assert frm == prev, f"transfer to {serial} was from {frm}, not {prev}"
    lines = zs.lines()
    notifies = [i for i in range(since, idx) if f"NOTIFY accepted: zone={ZONE}" in lines[i]]
    assert notifies, f"no NOTIFY accepted before the transfer to {serial}:\n{zs.log()}"


def check_change(zs, primary, since, serial, prev, kinds=("IXFR",)):
    zs.wait_serial(ZONE, serial)
    assert_synced(zs, primary)
    assert_ixfr_after_notify(zs, since, serial, prev, kinds)


# --- primaries ------------------------------------------------------------------------------

def test_knotd_axfr_then_ixfr_on_notify(lab):
    """knotd (NOTIFY over TCP, IXFR from its journal): first sync by AXFR, then
    additions, changes and deletions arrive by IXFR after each NOTIFY."""
    zport = free_port()
    knot = lab.knot({ZONE: zone_text(1)}, zport).start()
    # No polling: only a NOTIFY can start a transfer after the first check.
    zs = lab.zonesync(knot.port, knot.secret, zport,
                      {"refresh-min-interval": NEVER, "retry-min-interval": 1})
    zs.start()
    zs.wait_serial(ZONE, 1)
    assert_synced(zs, knot)
    assert [t[1] for t in transfers(zs)] == ["AXFR"]

    steps = [
        dict(set=[("new", 300, "A", "192.0.2.1"), ("new", 300, "A", "192.0.2.2"),
                  ("new", 600, "TXT", '"hello world" "two"'),
                  ("_sip._tcp", 300, "SRV", "10 60 5060 sip.example.com.")]),
        dict(set=[("www", 60, "A", "192.0.2.81"), ("old", 3600, "CNAME", "new.example.com.")],
             unset=[("www", "A"), ("old", "CNAME")]),
        dict(unset=[("new", "A", "192.0.2.1"), ("new", "TXT"), ("mail", "A")]),
    ]
    prev = 1
    for step in steps:
        mark = zs.mark()
        serial = knot.change(ZONE, **step)
        check_change(zs, knot, mark, serial, prev)
        prev = serial
    recs = zs.records(ZONE)
    assert ("www.example.com.", 60, "A", "192.0.2.81") in recs
    assert not any(r[0] == "mail.example.com." for r in recs)
    assert ("new.example.com.", 300, "A", "192.0.2.2") in recs


def test_named_notify_udp_ixfr_from_nsupdate(lab):
    """named (NOTIFY over UDP, max-ixfr-ratio unlimited): nsupdate changes
    arrive by IXFR after each NOTIFY."""
    zport = free_port()
    named = lab.named({ZONE: zone_text(10)}, zport).start()
    zs = lab.zonesync(named.port, named.secret, zport,
                      {"refresh-min-interval": NEVER, "retry-min-interval": 1})
    zs.start()
    zs.wait_serial(ZONE, 10)
    assert_synced(zs, named)

    steps = [
        ["update add new.example.com. 300 A 192.0.2.1",
         "update add new.example.com. 300 AAAA 2001:db8::1",
         'update add txt.example.com. 600 TXT "v=spf1 -all"'],
        ["update delete www.example.com. A",
         "update add www.example.com. 120 A 192.0.2.81",
         "update delete old.example.com. CNAME",
         "update add old.example.com. 3600 CNAME new.example.com."],
        ["update delete new.example.com. AAAA", "update delete mail.example.com."],
    ]
    prev = 10
    for lines in steps:
        mark = zs.mark()
        serial = named.nsupdate(ZONE, lines)
        check_change(zs, named, mark, serial, prev)
        prev = serial
    recs = zs.records(ZONE)
    assert ("www.example.com.", 120, "A", "192.0.2.81") in recs
    assert ("old.example.com.", 3600, "CNAME", "new.example.com.") in recs
    assert not any(r[0] == "mail.example.com." for r in recs)


def test_named_ixfr_answered_as_full_zone(lab):
    """named without max-ixfr-ratio: a delta bigger than the zone is answered
    as a whole zone in IXFR form; the change still arrives."""
    zport = free_port()
    big = '"' + "x" * 200 + '"'
    text = f"""$ORIGIN example.com.
$TTL 3600
@   SOA ns1 hostmaster 1 1 1 1209600 300
    NS  ns1
ns1 A   192.0.2.53
t   TXT {big}
"""
    named = lab.named({ZONE: text}, zport, max_ixfr_ratio=False).start()
    zs = lab.zonesync(named.port, named.secret, zport,
                      {"refresh-min-interval": NEVER, "retry-min-interval": 1})
    zs.start()
    zs.wait_serial(ZONE, 1)
    prev = 1
    for i in range(2):
        mark = zs.mark()
        # Old and new TXT together outweigh the zone: named answers in full.
        serial = named.nsupdate(ZONE, ["update delete t.example.com. TXT",
                                       f'update add t.example.com. 3600 TXT "{"y" * 200}{i}"'])
        check_change(zs, named, mark, serial, prev, kinds=("IXFR (full zone)", "AXFR"))
        prev = serial
    assert "AXFR-style IXFR" in named.log(), "named did not answer IXFR in full: test is moot"
    assert any(r[2] == "TXT" and r[3].endswith('1"') for r in zs.records(ZONE))


def test_pdns_primary_notify_without_soa_and_axfr_style_ixfr(lab):
    """pdns_server (bind backend): its NOTIFY has no SOA and it answers IXFR
    with an AXFR-style stream (the first message only the SOA); changes arrive."""
    zport = free_port()
    pdns = lab.pdns({ZONE: zone_text(1)}, zport).start()
    zs = lab.zonesync(pdns.port, pdns.secret, zport,
                      {"refresh-min-interval": NEVER, "retry-min-interval": 1})
    zs.start()
    zs.wait_serial(ZONE, 1)
    assert_synced(zs, pdns)

    versions = [
        (2, zone_text(2, "new 300 A 192.0.2.1\nnew 300 TXT \"hi there\"\n")),
        (3, zone_text(3, "new 300 A 192.0.2.1\nnew 300 TXT \"changed\"\n").replace(
            "www 300 A    192.0.2.80", "www 60 A 192.0.2.81")),
        (4, zone_text(4).replace("mail    A    192.0.2.25\n", "")),
    ]
    prev = 1
    for serial, text in versions:
        mark = zs.mark()
        pdns.set_zone(ZONE, text, serial)
        check_change(zs, pdns, mark, serial, prev, kinds=("IXFR (full zone)",))
        prev = serial
    assert not zs.find(r"IXFR failed|falling back to AXFR"), zs.log()
    assert not any(r[0] == "mail.example.com." for r in zs.records(ZONE))


# --- NOTIFY checks ----------------------------------------------------------------------------

class CountingStandIn:
    """A counting stand-in for the primary, NOT a DNS server: it counts every UDP
    datagram and TCP connection that reaches the primary's address, so a test
    can prove that no SOA query reached the primary.  It answers each UDP
    datagram with a bare REFUSED header so that zonesync's checks fail at once
    instead of waiting for their timeout."""

    def __init__(self, port):
        self.port = port
        self.count = 0
        self.lock = threading.Lock()
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind((LOOPBACK, port))
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind((LOOPBACK, port))
        self.tcp.listen(16)
        self.stopping = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        sel = selectors.DefaultSelector()
        sel.register(self.udp, selectors.EVENT_READ)
        sel.register(self.tcp, selectors.EVENT_READ)
        while not self.stopping:
            for key, _ in sel.select(timeout=0.1):
                if key.fileobj is self.udp:
                    data, addr = self.udp.recvfrom(65535)
                    with self.lock:
                        self.count += 1
                    if len(data) >= 12:
                        flags = struct.unpack("!H", data[2:4])[0]
                        hdr = data[:2] + struct.pack("!HHHHH", (flags | 0x8000) & 0xfff0 | 5,
                                                     0, 0, 0, 0)
                        self.udp.sendto(hdr, addr)
                else:
                    conn, _ = self.tcp.accept()
                    with self.lock:
                        self.count += 1
                    conn.close()
        sel.close()

    def packets(self):
        with self.lock:
            return self.count

    def stop(self):
        self.stopping = True
        self.thread.join(timeout=5)
        self.udp.close()
        self.tcp.close()

    def log(self):
        return f"stand-in received {self.count} packets/connections"


def notify_msg(zone=ZONE, key=None, keyname="xfr", opcode=dns.opcode.NOTIFY):
    q = dns.message.make_query(zone, dns.rdatatype.SOA)
    q.flags = dns.flags.AA  # (flags hold the opcode too: set it after)
    q.set_opcode(opcode)
    if key is not None:
        q.use_tsig(dns.tsigkeyring.from_text({keyname: key}), keyname=keyname,
                   algorithm=dns.tsig.HMAC_SHA256)
    return q


def raw_exchange(q, port, source=LOOPBACK, tcp=False, timeout=3):
    """Send q from source, return the raw answer (nothing verified)."""
    wire = q.to_wire()
    if tcp:
        with socket.create_connection((LOOPBACK, port), timeout, (source, 0)) as s:
            s.sendall(struct.pack("!H", len(wire)) + wire)
            buf = b""
            while len(buf) < 2 or len(buf) < 2 + struct.unpack("!H", buf[:2])[0]:
                chunk = s.recv(65535)
                assert chunk, "connection closed without an answer"
                buf += chunk
            resp = buf[2:2 + struct.unpack("!H", buf[:2])[0]]
    else:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(timeout)
            s.bind((source, 0))
            s.sendto(wire, (LOOPBACK, port))
            resp, _ = s.recvfrom(65535)
    assert resp[:2] == wire[:2], "answer with another ID"
    flags = struct.unpack("!H", resp[2:4])[0]
    assert flags & 0x8000, "not a response"
    return resp


def rcode_of(resp):
    return dns.rcode.Rcode(struct.unpack("!H", resp[2:4])[0] & 0xf)


def test_notify_checks(lab):
    """NOTIFYs from a wrong source, unsigned, badly signed, for another zone, or
    not NOTIFY at all are answered with an error and start no SOA query (a
    zone we do not serve gets the REFUSED of a source not allowed, and TCP
    from a source in no ACL is closed at accept); a correctly signed one is
    answered NOERROR, signed, and starts one."""
    secret = new_secret()
    standin = lab.add(CountingStandIn(free_port()))
    zport = free_port()
    zs = lab.zonesync(standin.port, secret, zport,
                      {"refresh-min-interval": NEVER, "retry-min-interval": NEVER,
                       "retry-max-interval": NEVER})
    mark = zs.start()
    # The check at startup reaches the stand-in and fails; the next is an hour away.
    zs.wait_log(rf"SOA query failed: zone={re.escape(ZONE)}", 10, since=mark)
    time.sleep(0.3)
    base = standin.packets()
    assert base >= 1

    wrong = new_secret()
    bad = [
        ("signed, from 127.0.0.2", notify_msg(key=secret), "127.0.0.2", dns.rcode.REFUSED),
        ("unsigned", notify_msg(), LOOPBACK, dns.rcode.REFUSED),
        ("wrong secret", notify_msg(key=wrong), LOOPBACK, dns.rcode.NOTAUTH),
        ("unknown key", notify_msg(key=secret, keyname="other"), LOOPBACK, dns.rcode.NOTAUTH),
        ("unknown zone", notify_msg("example.org.", key=secret), LOOPBACK, dns.rcode.REFUSED),
        ("UPDATE opcode", notify_msg(key=secret, opcode=dns.opcode.UPDATE), LOOPBACK,
         dns.rcode.NOTIMP),
    ]
    for tcp in (False, True):
        for what, q, source, want in bad:
            if tcp and source != LOOPBACK:
                with pytest.raises((AssertionError, ConnectionResetError, BrokenPipeError)):
                    raw_exchange(q, zport, source, tcp)
                continue
            resp = raw_exchange(q, zport, source, tcp)
            assert rcode_of(resp) == want, f"{what} (tcp={tcp}): {rcode_of(resp)!r}"
            if what == "wrong secret":
                # The answer carries a TSIG error BADSIG (RFC 8945 5.2.2).
                with pytest.raises(dns.tsig.PeerBadSignature):
                    dns.message.from_wire(resp, keyring=q.keyring, request_mac=q.mac)
            if what == "unknown key":
                with pytest.raises(dns.tsig.PeerBadKey):
                    dns.message.from_wire(resp, keyring=q.keyring, request_mac=q.mac)
    for reason in ("unsigned", r"tsig \("):
        got = zs.find(rf"notice NOTIFY refused: zone={re.escape(ZONE)} from=\S+ reason={reason}",
                      since=mark)
        assert len(got) >= 2, f"reason={reason} logged {len(got)} times:\n{zs.log()}"
    assert zs.find(rf"NOTIFY refused: zone={re.escape(ZONE)} from=127\.0\.0\.2@\d+ "
                   r"reason=source-not-allowed", since=mark)
    assert zs.find(r"NOTIFY TCP connection refused: from=127\.0\.0\.2@\d+ "
                   r"reason=source-not-allowed", since=mark)
    assert zs.find(r"NOTIFY refused: zone=example\.org\. from=\S+ reason=unknown-zone",
                   since=mark)
    time.sleep(1.0)
    assert standin.packets() == base, "a refused NOTIFY reached the primary"

    # A correct NOTIFY, over UDP: NOERROR, signed (dnspython verifies it).
    mark = zs.mark()
    q = notify_msg(key=secret)
    r = dns.query.udp(q, LOOPBACK, port=zport, timeout=3)
    assert r.rcode() == dns.rcode.NOERROR and r.opcode() == dns.opcode.NOTIFY
    assert r.had_tsig and r.flags & dns.flags.AA
    wait_until(lambda: standin.packets() > base, 5, what="the SOA query after a NOTIFY")
    zs.wait_log(r"SOA query failed", 10, since=mark)
    # Logged at info, with its source; it carried no SOA: no serial.
    assert zs.find(rf"info NOTIFY accepted: zone={re.escape(ZONE)} from=127\.0\.0\.1@\d+ "
                   r"serial=-$", since=mark), zs.log()
    # And over TCP, with the serial in its answer section (RFC 1996 3.7).
    base = standin.packets()
    mark = zs.mark()
    q = notify_msg(key=None)
    q.answer.append(dns.rrset.from_text(ZONE, 0, "IN", "SOA", "ns. h. 4242 1 1 1 1"))
    q.use_tsig(dns.tsigkeyring.from_text({"xfr": secret}), keyname="xfr",
               algorithm=dns.tsig.HMAC_SHA256)
    r = dns.query.tcp(q, LOOPBACK, port=zport, timeout=3)
    assert r.rcode() == dns.rcode.NOERROR and r.had_tsig
    wait_until(lambda: standin.packets() > base, 5, what="the SOA query after a NOTIFY over TCP")
    assert zs.find(rf"info NOTIFY accepted: zone={re.escape(ZONE)} from=127\.0\.0\.1@\d+ "
                   r"serial=4242$", since=mark), zs.log()


# --- restarts and outages ---------------------------------------------------------------------

def test_restart_keeps_state_and_picks_up_changes(lab):
    """state.db survives a restart: without a change the zone is up to date (no
    transfer, no rewrite); a change made while zonesync was down arrives by
    IXFR when it starts again."""
    zport = free_port()
    knot = lab.knot({ZONE: zone_text(1)}, zport).start()
    zs = lab.zonesync(knot.port, knot.secret, zport,
                      {"refresh-min-interval": NEVER, "retry-min-interval": 1})
    zs.start()
    zs.wait_serial(ZONE, 1)
    assert zs.stop() == 0

    path = zs.zonefile(ZONE)
    mtime = os.stat(path).st_mtime_ns
    mark = zs.start()
    zs.wait_log(rf"zone loaded from the store: zone={re.escape(ZONE)} serial=1$", 5, since=mark)
    zs.wait_log(rf"debug zone up to date: zone={re.escape(ZONE)} serial=1$", 10, since=mark)
    assert not transfers(zs, mark), f"transfer after a restart without change:\n{zs.log()}"
    assert not zs.find("target updated", since=mark)
    assert os.stat(path).st_mtime_ns == mtime
    assert zs.stop() == 0

    serial = knot.change(ZONE, set=[("offline", 300, "A", "192.0.2.99")])
    mark = zs.start()
    zs.wait_serial(ZONE, serial)
    assert_synced(zs, knot)
    xs = transfers(zs, mark)
    assert [(t[1], t[2], t[3]) for t in xs] == [("IXFR", serial, 1)], zs.log()
    assert ("offline.example.com.", 300, "A", "192.0.2.99") in zs.records(ZONE)


def test_primary_down_then_back(lab):
    """While the primary is down zonesync logs failed SOA queries and keeps
    running; when it is back with new data, polling (no NOTIFY here) syncs it."""
    zport = free_port()
    knot = lab.knot({ZONE: zone_text(1)}, zport, notify=False).start()
    zs = lab.zonesync(knot.port, knot.secret, zport,
                      {"refresh-min-interval": 1, "retry-min-interval": 1,
                       "retry-max-interval": 1})
    zs.start()
    zs.wait_serial(ZONE, 1)

    mark = zs.mark()
    knot.stop()
    wait_until(lambda: len(zs.find(rf"warning SOA query failed: zone={re.escape(ZONE)}",
                                   since=mark)) >= 3, 15,
               what="three failed SOA queries")
    assert zs.alive()
    assert zs.records(ZONE), "the target was emptied while the primary was down"

    # Back, with a change made while it was down (knot sends no NOTIFY here).
    with open(knot.zone_path(ZONE), "w") as f:
        f.write(zone_text(2, "back 300 A 192.0.2.77\n"))
    mark = zs.mark()
    knot.start()
    zs.wait_serial(ZONE, 2, timeout=15)
    assert_synced(zs, knot)
    assert ("back.example.com.", 300, "A", "192.0.2.77") in zs.records(ZONE)
    assert not zs.find("NOTIFY accepted", since=mark)
    assert zs.alive()


def test_serial_wrap(lab):
    """RFC 1982: 4294967295 -> 1 -> 2 are each newer; every step arrives."""
    zport = free_port()
    named = lab.named({ZONE: zone_text(4294967294)}, zport).start()
    zs = lab.zonesync(named.port, named.secret, zport,
                      {"refresh-min-interval": NEVER, "retry-min-interval": 1})
    zs.start()
    zs.wait_serial(ZONE, 4294967294)
    soa = "example.com. 3600 SOA ns1.example.com. hostmaster.example.com. {} 1 1 1209600 300"
    prev = 4294967294
    for i, serial in enumerate((4294967295, 1, 2)):
        mark = zs.mark()
        named.nsupdate(ZONE, [f"update add w{i}.example.com. 300 A 192.0.2.{i + 1}",
                              "update add " + soa.format(serial)], wait_serial=serial)
        check_change(zs, named, mark, serial, prev)
        prev = serial
    assert not zs.find("older than ours"), zs.log()
    names = {r[0] for r in zs.records(ZONE)}
    assert {"w0.example.com.", "w1.example.com.", "w2.example.com."} <= names


def test_large_zone_axfr_then_small_ixfr(lab):
    """100,000 records by AXFR, then a one-record change by a small IXFR."""
    n = 100000
    zport = free_port()
    body = "".join(f"h{i} 300 A 10.{i >> 16}.{(i >> 8) & 255}.{i & 255}\n" for i in range(n))
    knot = lab.knot({ZONE: zone_text(1, body)}, zport).start(timeout=60)
    zs = lab.zonesync(knot.port, knot.secret, zport,
                      {"refresh-min-interval": NEVER, "retry-min-interval": 1})
    zs.start()
    zs.wait_serial(ZONE, 1, timeout=90)
    first = transfers(zs)
    assert [t[1] for t in first] == ["AXFR"] and first[0][4] > n, zs.log()
    assert_synced(zs, knot)

    mark = zs.mark()
    serial = knot.change(ZONE, set=[("h5", 300, "A", "192.0.2.5")], unset=[("h5", "A")])
    zs.wait_serial(ZONE, serial, timeout=30)
    xs = transfers(zs, mark)
    assert len(xs) == 1 and xs[0][1] == "IXFR" and xs[0][4] < 10, zs.log()
    recs = zs.records(ZONE)
    assert ("h5.example.com.", 300, "A", "192.0.2.5") in recs
    assert len(recs) > n
    assert_synced(zs, knot)


def test_dead_primary_delays_no_other_zone(lab):
    """Twelve zones whose primary never answers (a socket that reads and
    stays silent: each SOA query waits out its timeout) must not hold back
    a zone whose primary is alive: its NOTIFY-driven change arrives at once."""
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind((LOOPBACK, 0))
    dead_port = silent.getsockname()[1]
    try:
        zport = free_port()
        knot = lab.knot({ZONE: zone_text(1)}, zport).start()
        dead = [f"dead{i}.example.net." for i in range(12)]
        primaries = [{"id": "p", "address": f"[{LOOPBACK}@{knot.port}]", "key": "xfr"},
                     {"id": "dead", "address": f"[{LOOPBACK}@{dead_port}]"}]
        zones = [{"domain": ZONE, "primary": "p", "refresh-min-interval": 3600}]
        zones += [{"domain": d, "primary": "dead", "retry-min-interval": 1,
                   "retry-max-interval": 1} for d in dead]
        zs = lab.add(Zonesync(lab.bin, lab._dir("zonesync"), primaries, zones,
                              keys={"xfr": knot.secret}, port=zport))
        zs.start()
        zs.wait_serial(ZONE, 1)
        # The dead zones are now all waiting on their SOA queries.
        wait_until(lambda: len(zs.find(r"warning SOA query failed: zone=dead")) >= 12, 20,
                   what="every dead zone to have timed out once")
        mark = zs.mark()
        t0 = time.monotonic()
        knot.change(ZONE, set=[("fast", 300, "A", "192.0.2.99")])
        zs.wait_serial(ZONE, 2, timeout=10)
        took = time.monotonic() - t0
        # One SOA query timeout is 5 s: arriving well under it shows the live
        # zone did not queue behind the dead ones.
        assert took < 2.5, f"the live zone took {took:.1f} s behind dead primaries"
        assert_ixfr_after_notify(zs, mark, 2, 1)
        assert_synced(zs, knot)
    finally:
        silent.close()


def _tcp_answers(sock, count, timeout=3):
    """Read count length-prefixed answers from sock; their rcodes."""
    sock.settimeout(timeout)
    buf, out = b"", []
    while len(out) < count:
        while len(buf) >= 2 and len(buf) >= 2 + struct.unpack("!H", buf[:2])[0]:
            n = struct.unpack("!H", buf[:2])[0]
            out.append(rcode_of(buf[2:2 + n]))
            buf = buf[2 + n:]
        if len(out) >= count:
            break
        chunk = sock.recv(65535)
        assert chunk, f"connection closed after {len(out)} of {count} answers"
        buf += chunk
    return out


def test_notify_tcp_limits_and_ipv6(lab):
    """NOTIFY over TCP: several messages in one connection, pipelined; at most
    tcp-max-clients connections; idle ones closed after tcp-idle-timeout; and
    the listener on ::1 too."""
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind((LOOPBACK, 0))  # the primary: never answers, never matters here
    port = free_port()
    primaries = [{"id": "p", "address": f"[{LOOPBACK}@{silent.getsockname()[1]}]",
                  "notify-from": '["::1"]'}]
    zs = lab.add(Zonesync(lab.bin, lab._dir("zonesync"), primaries,
                          [{"domain": ZONE, "primary": "p"}], port=port,
                          extra_server={"tcp-max-clients": 2, "tcp-idle-timeout": 1,
                                        "listen": f'[{LOOPBACK}@{port}, "::1@{port}"]'}))
    try:
        zs.start()
        wire = notify_msg(ZONE).to_wire()
        frame = struct.pack("!H", len(wire)) + wire
        # Three NOTIFYs in one write, three answers on one connection.
        a = socket.create_connection((LOOPBACK, port), 3)
        a.sendall(frame * 3)
        assert _tcp_answers(a, 3) == [dns.rcode.NOERROR] * 3
        # A second client is fine, a third is over the limit: closed at once.
        b = socket.create_connection((LOOPBACK, port), 3)
        b.sendall(frame)
        assert _tcp_answers(b, 1) == [dns.rcode.NOERROR]
        c = socket.create_connection((LOOPBACK, port), 3)
        c.settimeout(3)
        try:
            c.sendall(frame)
            got = c.recv(65535)
        except (ConnectionResetError, BrokenPipeError):
            got = b""
        assert got == b"", "a third connection was served past tcp-max-clients: 2"
        c.close()
        # Idle connections are closed after about a second.
        a.settimeout(5)
        t0 = time.monotonic()
        assert a.recv(65535) == b""
        assert time.monotonic() - t0 < 3
        a.close()
        b.close()
        # Over IPv6, UDP: ::1 is allowed by notify-from.
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s6:
            s6.settimeout(3)
            s6.sendto(wire, ("::1", port))
            resp, _ = s6.recvfrom(65535)
        assert rcode_of(resp) == dns.rcode.NOERROR
    finally:
        silent.close()


def test_wrong_transfer_key_is_named(lab):
    """A key the primary does not accept: the SOA query fails with what the
    primary said in the TSIG error field, in words (BADSIG: the secret
    differs; BADKEY: an unknown key name), and no zone is taken."""
    zport = free_port()
    knot = lab.knot({ZONE: zone_text(1)}, zport).start()
    zs = lab.zonesync(knot.port, new_secret(), zport, {"retry-min-interval": 1})
    zs.start()
    zs.wait_log(r"warning SOA query failed: zone=example\.com\. error=\"127\.0\.0\.1@\d+: the "
                r"server refused our TSIG key: BADSIG \(the secret differs", timeout=15)
    assert not os.path.exists(zs.zonefile(ZONE))
