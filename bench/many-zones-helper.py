"""Helper of many-zones-bench.sh (python3 with dnspython): zone generation,
polling of many zones for a serial (DNS, metrics, zone files), one-change
latencies, CPU and memory of a process, and the exactness check.

    many-zones-helper.py COMMAND ARGS...   (see the cmd_* functions)

Zones are z<i>.many.test. for i in 1..N.  Every zone has R records: SOA, two
NS, then a fixed mix of A, AAAA, TXT, MX and CNAME; one TXT (`v`) carries a
version, so that a new serial always comes with one changed record.
"""

import os
import random
import re
import select
import socket
import subprocess
import sys
import time
import urllib.request

import dns.message
import dns.name
import dns.query
import dns.rdataclass
import dns.rdatatype
import dns.tsigkeyring
import dns.zone


def zname(i):
    return f"z{i}.many.test."


def zone_text(i, records, serial, version):
    """Zone i with `records` records in all (>= 5), at `serial`."""
    r = random.Random(i)  # the same data for a zone at every serial
    out = [f"$ORIGIN {zname(i)}", "$TTL 3600",
           f"@ SOA ns1 hostmaster {serial} 3600 600 604800 300",
           "@ NS ns1", "@ NS ns2.example.net.",
           f"ns1 A 192.0.2.{i % 250 + 1}",
           f'v 300 TXT "version={version}"']
    for k in range(records - len(out) + 2):
        kind = k % 5
        if kind == 0:
            out.append(f"h{k} A 10.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(1, 255)}")
        elif kind == 1:
            out.append(f"h{k} AAAA 2001:db8:{r.randrange(65536):x}::{r.randrange(1, 65536):x}")
        elif kind == 2:
            out.append(f'h{k} 600 TXT "token-{r.randrange(10 ** 9)}"')
        elif kind == 3:
            out.append(f"m{k} MX {r.choice((10, 20))} ns1")
        else:
            out.append(f"c{k} CNAME h{k - 4}")
    return "\n".join(out) + "\n"


def write_zone(d, i, records, serial, version):
    p = os.path.join(d, f"{zname(i)}zone")
    with open(p + ".tmp", "w") as f:
        f.write(zone_text(i, records, serial, version))
    os.rename(p + ".tmp", p)


def cmd_freeport(args):
    """freeport [USED...]: a port free for TCP and UDP on 127.0.0.1, below the
    ephemeral range: 10,000 zones' transfers take many ephemeral ports, and one of
    them took the knotd secondary's port in a run (it then could not bind)."""
    used = set(int(a) for a in args)
    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
    for _ in range(1000):
        p = random.randrange(10000, max(10001, low))
        if p in used:
            continue
        try:
            for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                s = socket.socket(socket.AF_INET, kind)
                s.bind(("127.0.0.1", p))
                s.close()
        except OSError:
            continue
        print(p)
        return
    sys.exit("no free port")


def cmd_gen(args):
    """gen DIR N RECORDS SERIAL VERSION: all N zone files."""
    d, n, rec, serial, ver = args[0], int(args[1]), int(args[2]), int(args[3]), args[4]
    os.makedirs(d, exist_ok=True)
    for i in range(1, n + 1):
        write_zone(d, i, rec, serial, ver)


def cmd_names(args):
    """names N PREFIX SUFFIX: one line per zone, PREFIX zone SUFFIX."""
    n = int(args[0])
    sys.stdout.write("".join(f"{args[1]}{zname(i)}{args[2]}\n" for i in range(1, n + 1)))


def cmd_sql(args):
    """sql N: SQL that creates the N zones (kind NATIVE, empty) in PowerDNS's gsqlite3."""
    n = int(args[0])
    print("BEGIN;")
    for i in range(1, n + 1):
        print(f"INSERT INTO domains (name, type) VALUES ('{zname(i)[:-1]}', 'NATIVE');")
    print("COMMIT;")


def hwm(pid):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return -1


def ticks(pid):
    try:
        f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return int(f[11]) + int(f[12])
    except OSError:
        return None


def alive(pid):
    return os.path.exists(f"/proc/{pid}")


class Soas:
    """SOA serials of many zones from one server, over one UDP socket."""

    def __init__(self, port):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.connect(("127.0.0.1", int(port)))
        self.s.setblocking(False)

    def serials(self, zones, window=500, wait=0.3):
        """{zone: serial or None} for the zones (lower-case absolute text)."""
        out = {}
        zones = list(zones)
        for a in range(0, len(zones), window):
            part = zones[a:a + window]
            ids = {}
            for z in part:
                q = dns.message.make_query(z, "SOA")
                q.id = random.randrange(65536)
                ids[q.id, z] = True
                try:
                    self.s.send(q.to_wire())
                except OSError:
                    pass
            end = time.time() + wait
            got = 0
            while got < len(part) and time.time() < end:
                rl, _, _ = select.select([self.s], [], [], max(0.0, end - time.time()))
                if not rl:
                    break
                try:
                    r = dns.message.from_wire(self.s.recv(65535))
                except (OSError, dns.exception.DNSException):
                    continue
                if not r.question:
                    continue
                z = r.question[0].name.to_text().lower()
                if (r.id, z) not in ids:
                    continue
                got += 1
                for rr in r.answer:
                    if rr.rdtype == dns.rdatatype.SOA:
                        out[z] = rr[0].serial
        return out


SERIAL_RE = re.compile(rb"\bSOA\s+\S+\s+\S+\s+(\d+)", re.I)


def file_serial(path):
    try:
        with open(path, "rb") as f:
            m = SERIAL_RE.search(f.read(4096))
    except OSError:
        return None
    return int(m.group(1)) if m else None


METRIC_RE = re.compile(r'^zonesync_target_serial\{zone="([^"]*)",target="([^"]*)"\} (\d+)', re.M)


def metrics_serials(url):
    """{(zone, target): serial} from zonesync's metrics; None when unreachable."""
    try:
        text = urllib.request.urlopen(url, timeout=10).read().decode()
    except OSError:
        return None
    return {(m.group(1).lower().rstrip(".") + ".", m.group(2)): int(m.group(3))
            for m in METRIC_RE.finditer(text)}


def cmd_wait(args):
    """wait KIND WHERE N SERIAL TIMEOUT PID PROGRESS [T0 [STALL]]: poll until every zone
    is at SERIAL or later, for at most TIMEOUT seconds, and give up earlier when no zone
    came in sync for STALL seconds (0: never).  KIND dns: WHERE is a server's port (SOA queries); KIND metrics:
    WHERE is zonesync's metrics URL, and both targets (files, pdns) must be there.
    Prints: the epoch time the last zone was seen in sync (or the time of giving up),
    zones in sync, zones not in sync, VmHWM (KiB) of PID, polls made.
    PROGRESS gets a line per poll: seconds since T0 (or the start), zones in sync."""
    kind, where, n, want, timeout, pid, prog = args[:7]
    n, want, timeout = int(n), int(want), float(timeout)
    t0 = float(args[7]) if len(args) > 7 else time.time()
    stall = float(args[8]) if len(args) > 8 else 0.0
    pending = set(zname(i) for i in range(1, n + 1))
    soas = Soas(where) if kind == "dns" else None
    end = time.time() + timeout
    last_t = time.time()
    polls = 0
    peak = -1
    with open(prog, "a") as pf:
        while pending and time.time() < end:
            polls += 1
            if kind == "dns":
                got = soas.serials(sorted(pending))
                done = {z for z, s in got.items() if s is not None and s >= want}
            else:
                got = metrics_serials(where)
                done = set()
                if got is not None:
                    done = {z for z in pending
                            if got.get((z, "files"), -1) >= want and got.get((z, "pdns"), -1) >= want}
            if done:
                last_t = time.time()
                pending -= done
            peak = max(peak, hwm(pid))
            print(f"{time.time() - t0:.2f} {n - len(pending)}", file=pf, flush=True)
            if not alive(pid):
                print(f"process {pid} is gone", file=sys.stderr)
                break
            if pending and stall > 0 and time.time() - last_t > stall:
                print(f"no zone came in sync for {stall:.0f} s: giving up", file=sys.stderr)
                break
            if pending:
                time.sleep(0.5 if kind == "metrics" else 0.2)
    print(f"{last_t:.3f} {n - len(pending)} {len(pending)} {max(peak, hwm(pid))} {polls}")
    if pending:
        ex = sorted(pending, key=lambda z: int(z[1:].split(".")[0]))[:5]
        print(f"not in sync after {time.time() - t0:.0f} s: {len(pending)} zones, e.g. {' '.join(ex)}",
              file=sys.stderr)


def cmd_metric(args):
    """metric URL NAME: the metric's lines (NAME{...} VALUE), or nothing."""
    try:
        text = urllib.request.urlopen(args[0], timeout=10).read().decode()
    except OSError:
        return
    for line in text.splitlines():
        if line.startswith(args[1] + "{") or line.startswith(args[1] + " "):
            print(line)


def cmd_cpu(args):
    """cpu SECONDS PID...: CPU seconds (utime+stime) each PID used over SECONDS."""
    secs, pids = float(args[0]), args[1:]
    hz = os.sysconf("SC_CLK_TCK")
    a = [ticks(p) for p in pids]
    time.sleep(secs)
    b = [ticks(p) for p in pids]
    print(" ".join("-" if x is None or y is None else f"{(y - x) / hz:.2f}" for x, y in zip(a, b)))


def cmd_changes(args):
    """changes MODE ZDIR N RECORDS COUNT KNOTCCONF SEED OUT PID WHERE...
    COUNT one-zone changes on the primary, one at a time, each in a random zone:
    rewrite its file with serial+1 and a new version, `knotc -b zone-reload` it,
    then poll until the secondary has the new serial.  MODE knot: WHERE is the
    secondary's port; MODE zonesync: WHERE is the zonefile target's directory and
    PowerDNS's DNS port (both must have it).  Serials are read from the file.
    OUT gets per change: zone serial ms_after_reload_returned ms_from_reload_call
    [ms_files ms_pdns]."""
    mode, zdir, n, rec, count, conf, seed, out, pid = args[:9]
    where = args[9:]
    n, rec, count = int(n), int(rec), int(count)
    r = random.Random(int(seed))
    # The primary's own serial may be ahead of its file (serial-policy increment).
    pport = re.search(r"listen: 127\.0\.0\.1@(\d+)", open(conf).read()).group(1)
    prim = Soas(pport)
    with open(out, "a") as o:
        for k in range(count):
            i = r.randrange(1, n + 1)
            z = zname(i)
            serial = max(file_serial(os.path.join(zdir, f"{z}zone")),
                         prim.serials([z], wait=1.0).get(z) or 0) + 1
            write_zone(zdir, i, rec, serial, f"change-{mode}-{k}-{serial}")
            t_call = time.time()
            p = subprocess.run(["knotc", "-c", conf, "-b", "zone-reload", z],
                               capture_output=True, text=True)
            t0 = time.time()
            if p.returncode != 0 or "OK" not in p.stdout:
                sys.exit(f"knotc zone-reload {z}: {p.stdout.strip()} {p.stderr.strip()}")
            seen = {}
            end = t0 + 120
            if mode == "knot":
                soa = Soas(where[0])
                while "dns" not in seen and time.time() < end:
                    s = soa.serials([z], wait=0.05).get(z)
                    if s is not None and s >= serial:
                        seen["dns"] = time.time()
                    else:
                        time.sleep(0.002)
            else:
                fpath = os.path.join(where[0], f"{z}zone")
                soa = Soas(where[1])
                while len(seen) < 2 and time.time() < end:
                    if "files" not in seen:
                        s = file_serial(fpath)
                        if s is not None and s >= serial:
                            seen["files"] = time.time()
                    if "pdns" not in seen:
                        s = soa.serials([z], wait=0.05).get(z)
                        if s is not None and s >= serial:
                            seen["pdns"] = time.time()
                    if len(seen) < 2:
                        time.sleep(0.002)
            need = 1 if mode == "knot" else 2
            if len(seen) < need:
                print(f"{z} {serial} timeout", file=o, flush=True)
                sys.exit(f"change {k} of {z} (serial {serial}) not seen within 120 s: {seen}")
            last = max(seen.values())
            line = f"{z} {serial} {(last - t0) * 1000:.1f} {(last - t_call) * 1000:.1f}"
            if mode != "knot":
                line += f" {(seen['files'] - t0) * 1000:.1f} {(seen['pdns'] - t0) * 1000:.1f}"
            print(line, file=o, flush=True)
            if not alive(pid):
                sys.exit(f"process {pid} is gone")
            time.sleep(0.5)


def canon_rrsets(rrsets, origin):
    """Sorted canonical records: (owner, type, ttl, canonical rdata wire)."""
    out = set()
    for name, ttl, rdtype, rdatas in rrsets:
        for rd in rdatas:
            out.add((name.canonicalize().to_text(), dns.rdatatype.to_text(rdtype), ttl,
                     rd.to_digestable(origin).hex()))
    return sorted(out)


def axfr(port, zone, keyring=None):
    origin = dns.name.from_text(zone)
    res = []
    for m in dns.query.xfr("127.0.0.1", zone, port=int(port), keyring=keyring,
                           keyalgorithm="hmac-sha256", lifetime=60, relativize=False):
        for rr in m.answer:
            res.append((rr.name, rr.ttl, rr.rdtype, list(rr)))
    return canon_rrsets(res, origin)


def zonefile(path, zone):
    origin = dns.name.from_text(zone)
    z = dns.zone.from_file(path, origin, relativize=False, check_origin=False)
    res = []
    for name, node in z.nodes.items():
        for rds in node.rdatasets:
            res.append((name, rds.ttl, rds.rdtype, list(rds)))
    return canon_rrsets(res, origin)


def cmd_compare(args):
    """compare N SAMPLE SEED PRIMARYPORT SECRET FILESDIR PDNSPORT OUTDIR: for SAMPLE
    random zones, the zonefile target's records and PowerDNS's (AXFR) must equal the
    primary's AXFR (TSIG).  Prints: zones compared, zones equal (files), zones equal
    (pdns), then of the zones not equal those whose SOA differs too (files, pdns: the
    target is behind, not wrong); differences go to OUTDIR/diff-ZONE-TARGET.txt."""
    n, sample, seed, pport, secret, fdir, dport, odir = args
    n, sample = int(n), int(sample)
    ring = dns.tsigkeyring.from_text({"xfr": secret})
    zones = [zname(i) for i in random.Random(int(seed)).sample(range(1, n + 1), min(sample, n))]
    ok = {"files": 0, "pdns": 0}
    behind = {"files": 0, "pdns": 0}  # different, but not at the primary's serial either
    serial = lambda recs: [r[3] for r in recs if len(r) > 1 and r[1] == "SOA"]
    for z in zones:
        want = axfr(pport, z, ring)
        for tgt, get in (("files", lambda: zonefile(os.path.join(fdir, f"{z}zone"), z)),
                         ("pdns", lambda: axfr(dport, z))):
            try:
                got = get()
            except Exception as e:  # an unreadable file or a refused AXFR is a difference
                got = [("error", str(e))]
            if got == want:
                ok[tgt] += 1
                continue
            if serial(got) != serial(want):
                behind[tgt] += 1
            with open(os.path.join(odir, f"diff-{z}{tgt}.txt"), "w") as f:
                for x in sorted(set(map(tuple, want)) - set(map(tuple, got))):
                    print("- primary only", *x, file=f)
                for x in sorted(set(map(tuple, got)) - set(map(tuple, want))):
                    print(f"+ {tgt} only", *x, file=f)
    print(len(zones), ok["files"], ok["pdns"], behind["files"], behind["pdns"])


def cmd_stats(args):
    """stats FILE COLUMN: n p50 max mean of a column (nearest-rank)."""
    v = []
    for line in open(args[0]):
        try:
            v.append(float(line.split()[int(args[1])]))
        except (IndexError, ValueError):
            pass
    v.sort()
    if not v:
        print("0 - - -")
        return
    print(f"{len(v)} {v[(len(v) + 1) // 2 - 1]:.1f} {v[-1]:.1f} {sum(v) / len(v):.1f}")


globals()["cmd_" + sys.argv[1]](sys.argv[2:])
