"""A scripted fake primary for the system tests: UDP and TCP on 127.0.0.1,
a thread per connection, messages built with dnspython; TSIG when given a
key (then each answer is one message: zones of under per_message records).

Why a fake: the hostile answers these tests need are not something a real
primary does on demand: a serial that goes back after the SOA said newer, a
transfer that never ends, one that stops after its first message, one that
trickles a byte at a time.  Each test sets what the fake answers:

    fake.soa = 33                       # the serial the SOA query answers
    fake.ixfr = "refuse"                # REFUSED; ("refuse", dns.rcode.NOTIMP)
    fake.ixfr = ("refuse", dns.rcode.NOTIMP, 2.0)   # that, after 2 seconds
    fake.ixfr = ("full", 28)            # the whole zone of serial 28 (AXFR-style)
    fake.ixfr = ("steps", [step(30, 31), step(31, 34)])   # incremental
    fake.ixfr = "endless"               # records forever, as fast as the client reads
    fake.ixfr = ("stall", 31)           # the first message of zone 31, then nothing
    fake.ixfr = ("trickle", 31, 50)     # zone 31, one byte every 50 ms
    fake.axfr = ...                     # the same, but "steps"
    fake.key = ("xfr", secret)          # queries verified, answers signed (hmac-sha256)
    fake.forge_mac = True               # transfer answers carry a MAC one byte off

The zone of serial N is zone_records(N): a few records, one of which (www's
address, v's text) depends on N, so that zones of different serials differ.
fake.count("AXFR") says how many queries of that type came (UDP and TCP);
fake.times("AXFR") when they came (time.monotonic())."""
import select
import socket
import struct
import threading
import time

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
import dns.tsig
import dns.tsigkeyring

from servers import LOOPBACK, free_port

ZONE = "example.com."
TIMERS = (3600, 1, 1209600, 300)  # SOA refresh, retry, expire, minimum


def soa_record(serial, zone=ZONE, timers=TIMERS):
    return (zone, 3600, "SOA", f"ns1.{zone} hostmaster.{zone} {serial} " +
            " ".join(map(str, timers)))


def zone_records(serial, zone=ZONE):
    """The zone of that serial without its SOA: [(owner, ttl, TYPE, rdata)]."""
    return [(zone, 3600, "NS", f"ns1.{zone}"),
            (f"ns1.{zone}", 3600, "A", "192.0.2.53"),
            (f"www.{zone}", 300, "A", f"192.0.2.{serial % 250 + 1}"),
            (f"v.{zone}", 300, "TXT", f'"serial {serial}"')]


def step(a, b, zone=ZONE):
    """An IXFR step from serial a to b: (a, b, deleted, added), SOAs left out."""
    old, new = set(zone_records(a, zone)), set(zone_records(b, zone))
    return (a, b, sorted(old - new), sorted(new - old))


class _Gone(Exception):
    """The client closed the connection, or the fake is stopping."""


class FakePrimary:
    def __init__(self, soa=1, zone=ZONE, port=None, per_message=100):
        self.zone = zone
        self.port = port or free_port()
        self.soa = soa
        self.timers = TIMERS
        self.ixfr = "refuse"
        self.axfr = ("full", soa)
        self.per_message = per_message
        self.key = None
        self.forge_mac = False
        self.queries = []  # (time.monotonic(), "udp"|"tcp", TYPE, IXFR serial or None)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = []
        self._udp = self._tcp = None

    # --- what the tests use -----------------------------------------------------------

    def start(self):
        self._udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._udp.bind((LOOPBACK, self.port))
        self._tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._tcp.bind((LOOPBACK, self.port))
        self._tcp.listen(16)
        for target in (self._serve_udp, self._serve_tcp):
            self._spawn(target)
        return self

    def stop(self):
        self._stop.set()
        for t in list(self._threads):
            t.join(timeout=5)
        for s in (self._udp, self._tcp):
            if s is not None:
                s.close()

    def count(self, qtype):
        with self._lock:
            return sum(1 for q in self.queries if q[2] == qtype)

    def times(self, qtype):
        with self._lock:
            return [q[0] for q in self.queries if q[2] == qtype]

    def ixfr_serials(self):
        """The serial each IXFR query said the client has."""
        with self._lock:
            return [q[3] for q in self.queries if q[2] == "IXFR"]

    def log(self):
        with self._lock:
            t0 = self.queries[0][0] if self.queries else 0
            return "\n".join(f"+{t - t0:7.3f}s {proto} {qtype}" +
                             (f" from {have}" if have is not None else "")
                             for t, proto, qtype, have in self.queries)

    # --- sockets ------------------------------------------------------------------------

    def _spawn(self, target, *args):
        t = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(t)
        t.start()

    def _note(self, proto, q):
        qtype = dns.rdatatype.to_text(q.question[0].rdtype)
        have = None
        if qtype == "IXFR" and q.authority:
            have = q.authority[0][0].serial
        with self._lock:
            self.queries.append((time.monotonic(), proto, qtype, have))
        return qtype, have

    def _serve_udp(self):
        while not self._stop.is_set():
            if not select.select([self._udp], [], [], 0.2)[0]:
                continue
            data, peer = self._udp.recvfrom(65535)
            try:
                q = self._parse(data)
            except Exception:
                continue
            qtype, _ = self._note("udp", q)
            recs = [soa_record(self.soa, self.zone, self.timers)] if qtype == "SOA" else []
            rcode = dns.rcode.NOERROR if qtype == "SOA" else dns.rcode.REFUSED
            self._udp.sendto(self._message(q, recs, rcode), peer)

    def _serve_tcp(self):
        while not self._stop.is_set():
            if not select.select([self._tcp], [], [], 0.2)[0]:
                continue
            conn, _ = self._tcp.accept()
            self._spawn(self._connection, conn)

    def _connection(self, conn):
        try:
            while True:
                n = int.from_bytes(self._recv(conn, 2), "big")
                q = self._parse(self._recv(conn, n))
                qtype, have = self._note("tcp", q)
                if qtype == "SOA":
                    self._send(conn, self._framed(q, [soa_record(self.soa, self.zone,
                                                                 self.timers)]))
                elif qtype in ("IXFR", "AXFR"):
                    how = self.ixfr if qtype == "IXFR" else self.axfr
                    self._transfer(conn, q, (how,) if isinstance(how, str) else how, have)
                else:
                    self._send(conn, self._framed(q, [], dns.rcode.REFUSED))
        except (_Gone, OSError):
            pass
        finally:
            conn.close()

    def _recv(self, conn, n):
        buf = b""
        while len(buf) < n:
            if self._stop.is_set():
                raise _Gone
            if not select.select([conn], [], [], 0.2)[0]:
                continue
            chunk = conn.recv(n - len(buf))
            if not chunk:
                raise _Gone
            buf += chunk
        return buf

    def _send(self, conn, data, byte_ms=0):
        view = memoryview(data)
        while view:
            if self._stop.is_set():
                raise _Gone
            if not select.select([], [conn], [], 0.2)[1]:
                continue
            view = view[conn.send(view[:1] if byte_ms else view):]
            if byte_ms:
                time.sleep(byte_ms / 1000)

    # --- answers ------------------------------------------------------------------------

    def _parse(self, data):
        """A query; with a key, its TSIG verified (make_response then signs
        the answer with the query's MAC, RFC 8945 5.3)."""
        if self.key is None:
            return dns.message.from_wire(data)
        ring = dns.tsigkeyring.from_text({self.key[0]: (dns.tsig.HMAC_SHA256, self.key[1])})
        return dns.message.from_wire(data, keyring=ring)

    def _message(self, q, recs, rcode=dns.rcode.NOERROR):
        r = dns.message.make_response(q)
        r.flags |= dns.flags.AA
        r.set_rcode(rcode)
        # One RRset per record, in order: the SOAs of a transfer repeat.
        r.answer = [dns.rrset.from_text(o, ttl, "IN", t, rd) for o, ttl, t, rd in recs]
        wire = r.to_wire(max_size=65535)
        if self.forge_mac and q.had_tsig and q.question[0].rdtype in (dns.rdatatype.AXFR,
                                                                       dns.rdatatype.IXFR):
            # The TSIG RR ends with the MAC, then original id, error and
            # an empty other data (6 octets): change the MAC's last octet.
            wire = wire[:-7] + bytes([wire[-7] ^ 0x55]) + wire[-6:]
        return wire

    def _framed(self, q, recs, rcode=dns.rcode.NOERROR):
        wire = self._message(q, recs, rcode)
        return len(wire).to_bytes(2, "big") + wire

    def _stream(self, q, recs):
        """The records as TCP messages of per_message records each."""
        n = self.per_message
        return b"".join(self._framed(q, recs[i:i + n]) for i in range(0, len(recs), n))

    def _endless_blob(self, q, records=100_000):
        """Messages of new A records e0.. e99999, built as wire directly, once
        (dnspython would build a few ten thousand records a second; sent
        again and again this goes as fast as the client reads): owner names
        point at the question's.  They repeat after 100,000 records: an
        AXFR does not see it before its end, which never comes; an IXFR
        step that adds a record twice is a protocol error."""
        n = self.per_message
        head = self._message(q, [])  # header and question
        head = head[:6] + n.to_bytes(2, "big") + head[8:]
        rr = struct.Struct("!B7s2sHHIHI")
        msgs = []
        for first in range(0, records, n):
            body = b"".join(rr.pack(7, b"e%06d" % j, b"\xc0\x0c", 1, 1, 300, 4, 0x0a000000 + j)
                            for j in range(first, first + n))
            msgs.append((len(head) + len(body)).to_bytes(2, "big") + head + body)
        return b"".join(msgs)

    def _transfer(self, conn, q, how, have):
        mode, args = how[0], how[1:]
        soa = lambda s: soa_record(s, self.zone, self.timers)  # noqa: E731
        if mode == "refuse":
            if len(args) > 1:
                self._stop.wait(args[1])  # seconds before the answer
            self._send(conn, self._framed(q, [], args[0] if args else dns.rcode.REFUSED))
        elif mode == "full":
            self._send(conn, self._stream(q, [soa(args[0])] + zone_records(args[0], self.zone) +
                                          [soa(args[0])]))
        elif mode == "steps":
            last = args[0][-1][1]
            recs = [soa(last)]
            for a, b, dels, adds in args[0]:
                recs += [soa(a)] + list(dels) + [soa(b)] + list(adds)
            self._send(conn, self._stream(q, recs + [soa(last)]))
        elif mode == "stall":
            # The opening SOA and the records, no closing SOA; then nothing
            # until the client closes the connection.
            self._send(conn, self._framed(q, [soa(args[0])] + zone_records(args[0], self.zone)))
            self._recv(conn, 1 << 20)
        elif mode == "trickle":
            recs = [soa(args[0])] + zone_records(args[0], self.zone) + [soa(args[0])]
            self._send(conn, self._stream(q, recs), byte_ms=args[1])
        elif mode == "endless":
            # AXFR-style: SOA then new records; IXFR: one step from the
            # client's serial to ours adding new records, never closed.
            head = [soa(self.soa)] if have is None else [soa(self.soa), soa(have), soa(self.soa)]
            self._send(conn, self._framed(q, head))
            blob = self._endless_blob(q)
            while True:
                self._send(conn, blob)
        else:
            raise ValueError(f"unknown transfer behaviour {how!r}")
