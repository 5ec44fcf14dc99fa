"""The NOTIFY listener against hostile peers on loopback (issue 13): a
spoofer flooding unsigned NOTIFYs in the primary's name while the real
primary (knotd over TCP, named over UDP) sends its signed one; TCP clients
from an address in no ACL; hosts of a notify-from prefix taking the pool;
a slow-loris; a client that sends and never reads.

The hostile peers are raw sockets bound to loopback addresses (127.0.0.2 and
up are loopback on Linux too): 127.0.0.1 is the primary's address, the
others are outside the ACL unless a test puts them in notify-from."""
import os
import select
import socket
import threading
import time

import dns.message
import dns.opcode
import dns.rcode
import dns.rdatatype
import dns.tsig
import dns.tsigkeyring
import pytest

from servers import LOOPBACK, Knot, Named, Zonesync, free_port, new_secret, wait_until

ZONE = "hostile.test."
OUTSIDER = "127.0.0.2"


def zone_text(serial=1):
    # refresh 3600: without a NOTIFY, nothing is transferred during a test
    return f"""$ORIGIN {ZONE}
$TTL 3600
@       SOA  ns1 hostmaster {serial} 3600 600 1209600 300
        NS   ns1
ns1     A    192.0.2.53
www     A    192.0.2.80
"""


def notify_msg(zone=ZONE, secret=None, qid=0x4242):
    q = dns.message.make_query(zone, dns.rdatatype.SOA)
    q.set_opcode(dns.opcode.NOTIFY)
    q.id = qid
    if secret is not None:
        q.use_tsig(dns.tsigkeyring.from_text({"xfr": secret}), keyname="xfr",
                   algorithm=dns.tsig.HMAC_SHA256)
    return q


def notify_wire(zone=ZONE, secret=None, qid=0x4242):
    return notify_msg(zone, secret, qid).to_wire()


def tcp_frame(wire):
    return len(wire).to_bytes(2, "big") + wire


def connect(port, src=LOOPBACK, rcvbuf=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:  # before connect: the window is agreed then
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.bind((src, 0))
    s.connect((LOOPBACK, port))
    return s


def closed_by_peer(s, timeout):
    """True when the peer closes s (EOF or reset) within timeout; answers
    that arrive meanwhile are read and dropped."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        r, _, _ = select.select([s], [], [], left)
        if r:
            try:
                if s.recv(65536) == b"":
                    return True
            except (ConnectionResetError, BrokenPipeError):
                return True


def tcp_ask(port, q, src=LOOPBACK, timeout=3):
    """Send the query q over a new TCP connection; its answer (a Message,
    its signature checked when q is signed), or None when the connection is
    closed without one."""
    s = connect(port, src)
    try:
        s.settimeout(timeout)
        wire = q.to_wire()
        try:
            s.sendall(tcp_frame(wire))
            data = b""
            while len(data) < 2 or len(data) < 2 + int.from_bytes(data[:2], "big"):
                chunk = s.recv(65536)
                if not chunk:
                    return None
                data += chunk
        except (ConnectionResetError, BrokenPipeError):
            return None
        return dns.message.from_wire(data[2:], keyring=q.keyring, request_mac=q.mac)
    finally:
        s.close()


def vm_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


class Flood(threading.Thread):
    """The spoofer: unsigned NOTIFYs for the zone from the primary's
    address over UDP, about 20,000 a second, until stop()."""

    def __init__(self, port, src=LOOPBACK):
        super().__init__(daemon=True)
        self.port, self.src = port, src
        self.sent = self.answers = 0
        self.halt = threading.Event()

    def run(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((self.src, 0))
        s.setblocking(False)
        msgs = [notify_wire(qid=i) for i in range(100)]
        while not self.halt.is_set():
            for m in msgs:
                try:
                    s.sendto(m, (LOOPBACK, self.port))
                    self.sent += 1
                except BlockingIOError:
                    break
            while True:
                try:
                    s.recv(65536)
                    self.answers += 1
                except BlockingIOError:
                    break
            time.sleep(0.005)
        s.close()

    def stop(self):
        self.halt.set()
        self.join(10)


def zonesync(lab, primary_port, secret, port, **server):
    zs = Zonesync(lab.binary, lab.dir("zonesync"),
                  [{"id": "p", "address": f"[{LOOPBACK}@{primary_port}]", "key": "xfr",
                    **server.pop("primary", {})}],
                  [{"domain": ZONE, "primary": "p"}], keys={"xfr": secret}, port=port,
                  extra_server=server)
    return lab.add(zs)


# --- budgets charged after TSIG ------------------------------------------------------------

@pytest.mark.parametrize("kind", ["knotd", "named"])
def test_spoofed_flood_does_not_refuse_the_primary(lab, kind):
    """A flood of unsigned NOTIFYs from the primary's address, far over
    notify-rate-limit, goes on while the primary changes the zone: its
    signed NOTIFY is accepted and the change transferred at once.  (When the
    flood spent the primary's budget, knotd's NOTIFY was REFUSED, and knotd
    does not retry: the change waited for the SOA refresh, an hour here.)"""
    port = free_port()
    if kind == "knotd":
        primary = lab.add(Knot(lab.dir("knot"), {ZONE: zone_text()}, port)).start()
    else:
        primary = lab.add(Named(lab.dir("named"), {ZONE: zone_text()}, port)).start()
    zs = zonesync(lab, primary.port, primary.secret, port, **{"notify-rate-limit": 20})
    zs.start()
    zs.wait_serial(ZONE, 1)

    flood = Flood(port)
    flood.start()
    try:
        wait_until(lambda: flood.sent > 5000, 10, what="the flood to be under way")
        mark = zs.mark()
        if kind == "knotd":
            serial = primary.change(ZONE, set=[("www", 300, "A", "192.0.2.81")])
        else:
            serial = primary.nsupdate(ZONE, [f"update add new.{ZONE} 300 A 192.0.2.82"])
        zs.wait_serial(ZONE, serial, timeout=5)
        assert flood.is_alive()
    finally:
        flood.stop()
    assert zs.find(rf"NOTIFY accepted: zone={ZONE}", since=mark), zs.log()
    assert zs.find(rf"NOTIFY refused: zone={ZONE} from=127\.0\.0\.1@\d+ reason=unsigned"), \
        zs.log()
    # Refusals over their own budget get no answer: the flood reflects little.
    assert flood.answers < flood.sent / 10, (flood.sent, flood.answers)


# --- TCP ----------------------------------------------------------------------------------

def test_tcp_outside_every_acl_is_closed_at_accept(lab):
    """Connections from an address in no zone's ACL are closed as soon as
    they are accepted, however many; the primary's address still gets its
    answer over TCP, signed."""
    port = free_port()
    secret = new_secret()
    zs = zonesync(lab, free_port(), secret, port, **{"tcp-max-clients": 10})
    zs.start()
    held = []
    try:
        for _ in range(30):
            s = connect(port, OUTSIDER)
            held.append(s)
            try:
                s.sendall(tcp_frame(notify_wire()))
            except (ConnectionResetError, BrokenPipeError):
                pass
        for s in held:
            assert closed_by_peer(s, 3), "a connection from outside the ACL stayed open"
        answer = tcp_ask(port, notify_msg(secret=secret))
        assert answer is not None and answer.rcode() == dns.rcode.NOERROR, answer
        assert answer.had_tsig
    finally:
        for s in held:
            s.close()
    zs.wait_log(rf"NOTIFY TCP connection refused: from={OUTSIDER}@\d+ "
                r"reason=source-not-allowed")
    assert zs.find(rf"NOTIFY accepted: zone={ZONE}")


def test_tcp_notify_from_hosts_leave_slots_to_the_primary(lab):
    """Hosts of a notify-from prefix holding every connection they may (a
    few per address, at most half the pool) leave the rest to the primary's
    own address: its NOTIFY over TCP is answered."""
    port = free_port()
    secret = new_secret()
    zs = zonesync(lab, free_port(), secret, port,
                  primary={"notify-from": "[127.0.1.0/24]"},
                  **{"tcp-max-clients": 10, "tcp-max-clients-per-source": 2})
    zs.start()
    held, refused = [], 0
    try:
        for host in range(1, 9):
            for _ in range(3):
                s = connect(port, f"127.0.1.{host}")
                held.append(s)
        open_ = []
        for s in held:
            if closed_by_peer(s, 0.5):
                refused += 1
            else:
                open_.append(s)
        assert len(open_) == 5, f"{len(open_)} of {len(held)} held"
        for i in range(2):
            answer = tcp_ask(port, notify_msg(secret=secret))
            assert answer is not None and answer.rcode() == dns.rcode.NOERROR, (i, answer)
    finally:
        for s in held:
            s.close()
    assert zs.find(r"reason=tcp-max-clients-per-source")
    assert zs.find(r"reason=notify-from-share")


def test_tcp_slow_loris_closed_at_the_session_deadline(lab):
    """A client that keeps its connection busy byte by byte, completing a
    message before each idle timeout, is closed tcp-session-timeout after
    it connected (the idle timer used to restart on every byte)."""
    port = free_port()
    zs = zonesync(lab, free_port(), new_secret(), port,
                  **{"tcp-idle-timeout": "2s", "tcp-session-timeout": "3s"})
    zs.start()
    stream = tcp_frame(notify_wire()) * 100
    s = connect(port)
    start = time.monotonic()
    closed_at = None
    try:
        for b in stream:
            try:
                s.send(bytes([b]))
            except (ConnectionResetError, BrokenPipeError):
                closed_at = time.monotonic() - start
                break
            if closed_by_peer(s, 0.02):
                closed_at = time.monotonic() - start
                break
            if time.monotonic() - start > 10:
                break
    finally:
        s.close()
    assert closed_at is not None, "still open after 10 s"
    assert 2.8 <= closed_at <= 5, closed_at
    zs.wait_log(r"NOTIFY TCP connection closed: from=127\.0\.0\.1@\d+ reason=session-timeout")


def test_tcp_client_that_never_reads_is_bounded(lab):
    """A client in the ACL sends requests as fast as it can and never reads
    the answers: the daemon stops reading it once 64 KiB of answers wait,
    its memory stays bounded (it grew by 27 MiB for 20 MiB sent here, by
    280 MB in the audit's run), and the session deadline closes the
    connection."""
    port = free_port()
    zs = zonesync(lab, free_port(), new_secret(), port, **{"tcp-session-timeout": "4s"})
    # Live memory is what is bounded: ASan's quarantine would keep every
    # freed block (each message's packets), 256 MB of them by default.
    asan = os.environ.get("ASAN_OPTIONS", "")
    zs.proc.env = {**os.environ, "ASAN_OPTIONS": f"{asan}:quarantine_size_mb=1".lstrip(":")}
    zs.start()
    pid = zs.proc.proc.pid
    time.sleep(0.5)
    before = vm_rss_kib(pid)
    frame = tcp_frame(notify_wire())
    chunk = frame * ((1 << 20) // len(frame))
    s = connect(port, rcvbuf=4096)
    s.setblocking(False)
    sent, last_progress = 0, time.monotonic()
    start = last_progress
    try:
        while sent < 20 << 20 and time.monotonic() - last_progress < 1.0:
            try:
                n = s.send(chunk)
                sent += n
                last_progress = time.monotonic()
            except BlockingIOError:
                select.select([], [s], [], 0.1)
            except (ConnectionResetError, BrokenPipeError):
                break
        peak = vm_rss_kib(pid)
        # It is stopped: nothing more goes through while the answers wait.
        assert sent < 20 << 20, f"the daemon read all {sent} bytes"
        # The deadline closes it.
        wait_until(lambda: zs.find(r"NOTIFY TCP connection closed: from=127\.0\.0\.1@\d+ "
                                   r"reason=session-timeout"), 8,
                   what="the never-reading client to be closed")
        assert time.monotonic() - start < 8
    finally:
        s.close()
    grown = peak - before
    print(f"VmRSS before {before} KiB, with the client {peak} KiB (+{grown} KiB); "
          f"{sent} bytes sent")
    assert grown < 16 * 1024, f"VmRSS grew by {grown} KiB for {sent} bytes sent"
