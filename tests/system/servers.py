"""Real DNS servers (knotd, named, pdns_server, nsd) as primaries on loopback,
pdns_server with its API as a target, and zonesync run as their secondary
(the daemon, or its one-shot commands), for the system tests.

Every server lives in its own temporary directory, on ports picked free for it,
with a fresh hmac-sha256 TSIG key, and is always stopped (see the fixtures in
test_secondary.py): stop() terminates the process it started, by its pid, and
kills it when it does not exit in time.  Every external command runs with a
timeout, so that nothing hangs.

Zone data is compared as sets of normalized records (owner, ttl, type, rdata):
owner names lowercased and absolute, rdata in dnspython's canonical text
(names lowercased, as in RFC 4034 6.2), the duplicate closing SOA of an AXFR
gone (a set holds it once).
"""
import base64
import hashlib
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import threading
import time
import urllib.error
import urllib.request

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype

LOOPBACK = "127.0.0.1"
CMD_TIMEOUT = 20

# --- ports, keys, processes ----------------------------------------------------

_given_ports = set()
_port_lock = threading.Lock()


def free_port(host=LOOPBACK):
    """A port free on both UDP and TCP (two servers can share a UDP port on
    loopback without an error, so both are checked), never handed out twice in
    this session."""
    with _port_lock:
        for _ in range(200):
            t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                t.bind((host, 0))
                port = t.getsockname()[1]
                if port in _given_ports:
                    continue
                u.bind((host, port))
            except OSError:
                continue
            finally:
                t.close()
                u.close()
            _given_ports.add(port)
            return port
    raise RuntimeError("no free port")


def new_secret():
    """A fresh hmac-sha256 secret: 32 random bytes in base64."""
    return base64.b64encode(os.urandom(32)).decode()


def run(args, timeout=CMD_TIMEOUT, check=True, **kw):
    """Run a command to completion, output captured; fail with its output."""
    r = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))} exited {r.returncode}\n"
                             f"stdout: {r.stdout}\nstderr: {r.stderr}")
    return r


def read_text(path, tail=None):
    try:
        with open(path, errors="replace") as f:
            text = f.read()
    except OSError as e:
        return f"({path}: {e})"
    if tail is not None and len(text) > tail:
        text = "...\n" + text[-tail:]
    return text


class Process:
    """One server process, its output in a log file of its directory."""

    def __init__(self, name, args, logpath, env=None):
        self.name = name
        self.args = args
        self.logpath = logpath
        self.proc = None
        self.env = env

    def start(self):
        log = open(self.logpath, "ab")
        try:
            self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, env=self.env,
                                         start_new_session=True)
        finally:
            log.close()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=10):
        """SIGTERM, then SIGKILL after timeout; the exit status (None if never started)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        rc = self.proc.returncode
        self.proc = None
        return rc

    def log(self, tail=6000):
        return read_text(self.logpath, tail)


def write_atomic(path, text):
    """Write a file by rename: a daemon reloading it (SIGHUP) never reads
    half of it."""
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def wait_until(pred, timeout, interval=0.1, what="condition"):
    """Poll pred() until it returns a true value; that value, or AssertionError."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def dig_soa_serial(port, zone, host=LOOPBACK, tcp=False):
    """The SOA serial served at host@port, or None.  dig prints its
    communication errors on stdout too: only an answer line counts."""
    # -q: a zone whose name begins with '-' is not one of dig's options.
    args = ["dig", f"@{host}", "-p", str(port), "+short", "+time=1", "+tries=1", "SOA", "-q",
            zone]
    if tcp:
        args.insert(1, "+tcp")
    try:
        r = run(args, timeout=5, check=False)
    except subprocess.TimeoutExpired:
        return None
    for line in r.stdout.splitlines():
        f = line.split()
        if len(f) == 7 and not line.startswith(";") and f[2].isdigit():
            return int(f[2])
    return None


def wait_soa(port, zone, timeout=15, serial=None, proc=None):
    """Wait until the server answers the zone's SOA (with that serial if given)."""
    def ok():
        if proc is not None and not proc.alive():
            raise AssertionError(f"{proc.name} exited:\n{proc.log()}")
        s = dig_soa_serial(port, zone)
        return s is not None and (serial is None or s == serial)
    try:
        wait_until(ok, timeout, 0.1, f"SOA {zone} serial={serial} on port {port}")
    except AssertionError as e:
        if proc is not None:
            raise AssertionError(f"{e}\n{proc.name} log:\n{proc.log()}") from None
        raise


# --- records ---------------------------------------------------------------------

_ROOT = dns.name.root


_A_RE = re.compile(r"^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
                   r"(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$")
_PLAIN_NAME_RE = re.compile(r"^[A-Za-z0-9_*-]+(\.[A-Za-z0-9_*-]+)*\.$")


def normalize_name(text, origin=_ROOT):
    if _PLAIN_NAME_RE.match(text):  # fast path: plain absolute name
        return text.lower()
    return dns.name.from_text(text, origin).to_text().lower()


def normalize_record(owner, ttl, rdtype, rdata_text, origin=_ROOT):
    """(owner, ttl, TYPE, rdata) in canonical form."""
    t = dns.rdatatype.from_text(rdtype)
    if t == dns.rdatatype.A and _A_RE.match(rdata_text):
        # fast path (big zones): an A record in canonical dotted-quad form
        return (normalize_name(owner, origin), int(ttl), "A", rdata_text)
    rd = dns.rdata.from_text(dns.rdataclass.IN, t, rdata_text, origin=origin,
                             relativize=False)
    # Canonical wire form (RFC 4034 6.2: names in rdata lowercased) and back.
    wire = rd.to_digestable(_ROOT)
    rd = dns.rdata.from_wire(dns.rdataclass.IN, t, wire, 0, len(wire))
    return (normalize_name(owner, origin), int(ttl), dns.rdatatype.to_text(t),
            rd.to_text(origin=None, relativize=False))


def parse_records(text):
    """Records of master-file lines `owner ttl IN TYPE rdata` (absolute names,
    as dig and the zonefile target print them); comments, blanks and any
    TSIG pseudo-record are skipped."""
    out = set()
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(";"):
            continue
        f = line.split(None, 4)
        if len(f) < 4:
            raise ValueError(f"bad record line: {line!r}")
        if len(f) == 4:
            f.append("")
        owner, ttl, cls, rdtype, rdata = f
        if rdtype.upper() == "TSIG" or cls.upper() != "IN":
            continue
        out.add(normalize_record(owner, ttl, rdtype, rdata))
    return out


def read_zonefile(path):
    """The zonefile target as a set of records (empty set if it does not exist)."""
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        return set()
    return parse_records(text)


def zonefile_serial(path):
    """The SOA serial at the top of a zonefile target, or None."""
    try:
        with open(path) as f:
            first = f.readline()
    except FileNotFoundError:
        return None
    f = first.split()
    if len(f) >= 7 and f[3] == "SOA":
        return int(f[6])
    return None


def dig_axfr(port, zone, key_secret, key_name="xfr", host=LOOPBACK, timeout=60):
    """The primary's AXFR (signed with the key) as a set of records."""
    r = run(["dig", f"@{host}", "-p", str(port), "-y", f"hmac-sha256:{key_name}:{key_secret}",
             "+noall", "+answer", "+time=5", "+tries=1", "AXFR", zone], timeout=timeout)
    if "Transfer failed" in r.stdout or "communications error" in r.stdout or \
            "connection refused" in r.stdout:
        raise AssertionError(f"AXFR of {zone} from port {port} failed:\n{r.stdout}")
    recs = parse_records(r.stdout)
    if not any(rec[2] == "SOA" for rec in recs):
        raise AssertionError(f"AXFR of {zone} from port {port} has no SOA:\n{r.stdout}")
    return recs


def records_diff(a, b):
    """Readable difference of two record sets (for assertion messages)."""
    only_a = sorted(a - b)[:20]
    only_b = sorted(b - a)[:20]
    return (f"only in first ({len(a - b)}): {only_a}\n"
            f"only in second ({len(b - a)}): {only_b}")


def dig_ixfr(port, zone, serial, key_secret, key_name="xfr", host=LOOPBACK):
    """The records of the server's answer to an IXFR from serial, in the
    order sent, as (owner, ttl, TYPE, rdata) tuples."""
    r = run(["dig", f"@{host}", "-p", str(port), "-y", f"hmac-sha256:{key_name}:{key_secret}",
             "+noall", "+answer", "+time=5", "+tries=1", f"IXFR={serial}", zone])
    out = []
    for line in r.stdout.splitlines():
        f = line.split(None, 4)
        if len(f) == 5 and not line.startswith(";") and f[3] != "TSIG":
            out.append(normalize_record(*f[:2], f[3], f[4]))
    return out


def is_axfr_style(answer):
    """Whether an IXFR answer (dig_ixfr) is the whole zone (SOA, records,
    SOA) rather than differences (SOA, old SOA, ...) or a lone SOA."""
    return len(answer) > 2 and answer[0][2] == "SOA" and answer[1][2] != "SOA"


def rrset_view(records, soa="full", skip=()):
    """{(owner, TYPE): (ttl, frozenset(rdata))} of records {(owner, ttl, TYPE,
    rdata)}, one TTL per RRset (the minimum), types in skip left out;
    soa="serial": the SOA as its serial only."""
    sets = {}
    for owner, ttl, rdtype, rdata in records:
        if rdtype in skip:
            continue
        if rdtype == "SOA" and soa == "serial":
            rdata = rdata.split()[2]
        cur = sets.setdefault((owner, rdtype), [None, set()])
        cur[0] = ttl if cur[0] is None else min(cur[0], ttl)
        cur[1].add(rdata)
    return {k: (v[0], frozenset(v[1])) for k, v in sets.items()}


def soa_serial_of(records):
    for r in records:
        if r[2] == "SOA":
            return int(r[3].split()[2])
    return None


# --- knotd -------------------------------------------------------------------------

class Knot:
    """knotd as a primary: NOTIFY over TCP to zonesync, IXFR from its journal.

    zones: {name: master-file text}.  Changes by knotc transactions; the
    serial is incremented at commit (serial-policy increment) unless the SOA
    itself is set in the transaction."""

    def __init__(self, workdir, zones, notify_port, secret=None, port=None, notify=True):
        self.dir = str(workdir)
        self.port = port or free_port()
        self.notify_port = notify_port
        self.notify = notify
        self.secret = secret or new_secret()
        self.zones = dict(zones)
        self.conf = os.path.join(self.dir, "knot.conf")
        for d in ("run", "db", "zones"):
            os.makedirs(os.path.join(self.dir, d), exist_ok=True)
        for name, text in self.zones.items():
            with open(self.zone_path(name), "w") as f:
                f.write(text)
        self._write_conf()
        self.proc = Process("knotd", ["knotd", "-c", self.conf],
                            os.path.join(self.dir, "knotd.out"))

    def zone_path(self, name):
        """The zone's master file: named after the zone, unless the name
        holds escapes (a \\032 is 4 bytes of a file name: too long soon)."""
        if _PLAIN_NAME_RE.match(name):
            return os.path.join(self.dir, "zones", name.rstrip(".") + ".zone")
        return os.path.join(self.dir, "zones", hashlib.sha1(name.encode()).hexdigest() + ".zone")

    def _write_conf(self):
        d = self.dir
        zones = "".join(f"  - domain: {z}\n" + ("" if _PLAIN_NAME_RE.match(z) else
                                                 f'    file: "{self.zone_path(z)}"\n')
                        for z in self.zones)
        notify = "    notify: zonesync\n" if self.notify else ""
        conf = f"""server:
    rundir: "{d}/run"
    listen: {LOOPBACK}@{self.port}
    background-workers: 1
    udp-workers: 1
    tcp-workers: 1
log:
  - target: "{d}/knotd.log"
    any: info
database:
    storage: "{d}/db"
key:
  - id: xfr
    algorithm: hmac-sha256
    secret: {self.secret}
remote:
  - id: zonesync
    address: {LOOPBACK}@{self.notify_port}
    key: xfr
acl:
  - id: xfr
    address: 127.0.0.0/8
    key: xfr
    action: transfer
template:
  - id: default
    storage: "{d}/zones"
    file: "%s.zone"
{notify}    acl: xfr
    zonefile-sync: -1
    zonefile-load: difference
    journal-content: changes
    serial-policy: increment
zone:
{zones}"""
        with open(self.conf, "w") as f:
            f.write(conf)

    def start(self, timeout=30):
        self.proc.start()
        for z in self.zones:
            wait_soa(self.port, z, timeout, proc=self.proc)
        return self

    def stop(self):
        return self.proc.stop()

    def log(self):
        return read_text(os.path.join(self.dir, "knotd.log"), 6000) + self.proc.log(2000)

    def knotc(self, *args, timeout=CMD_TIMEOUT):
        r = run(["knotc", "-c", self.conf, "-t", "10", *args], timeout=timeout, check=False)
        if r.returncode != 0 or "error" in r.stdout.lower():
            raise AssertionError(f"knotc {' '.join(args)}: {r.returncode}\n{r.stdout}{r.stderr}"
                                 f"\nknotd log:\n{self.log()}")
        return r.stdout

    def serial(self, zone):
        return dig_soa_serial(self.port, zone)

    def change(self, zone, set=(), unset=(), wait=True):
        """One transaction: unset = [(owner, type[, rdata])] first, then
        set = [(owner, ttl, type, rdata)].
        Returns the new serial (waits until knotd serves it)."""
        old = self.serial(zone)
        self.knotc("zone-begin", zone)
        try:
            for u in unset:
                self.knotc("zone-unset", zone, *u[:2], *(u[2].split() if len(u) > 2 else ()))
            for owner, ttl, rdtype, rdata in set:
                self.knotc("zone-set", zone, owner, str(ttl), rdtype, *rdata.split())
            self.knotc("zone-commit", zone)
        except BaseException:
            run(["knotc", "-c", self.conf, "zone-abort", zone], check=False)
            raise
        if not wait:
            return None
        return wait_until(lambda: (s := self.serial(zone)) != old and s, 10,
                          what=f"knotd to serve the new serial of {zone}")

    def axfr(self, zone):
        return dig_axfr(self.port, zone, self.secret)


# --- named ---------------------------------------------------------------------------

class Named:
    """named (BIND 9.18) as a primary: NOTIFY over UDP (notify explicit;
    also-notify zonesync), changes by nsupdate with the xfr key.

    max_ixfr_ratio=False leaves `max-ixfr-ratio unlimited` out, so that a small
    zone answers IXFR with the whole zone."""

    def __init__(self, workdir, zones, notify_port, secret=None, max_ixfr_ratio=True,
                 port=None):
        self.dir = str(workdir)
        self.port = port or free_port()
        self.rndc_port = free_port()
        self.notify_port = notify_port
        self.secret = secret or new_secret()
        self.rndc_secret = new_secret()
        self.zones = dict(zones)
        self.conf = os.path.join(self.dir, "named.conf")
        self.rndc_conf = os.path.join(self.dir, "rndc.conf")
        for name, text in self.zones.items():
            with open(self.zone_path(name), "w") as f:
                f.write(text)
        d = self.dir
        ratio = "    max-ixfr-ratio unlimited;\n" if max_ixfr_ratio else ""
        zones_conf = "".join(
            f'zone "{z}" {{ type primary; file "{self.zone_path(z)}"; '
            f'allow-update {{ key "xfr"; }}; }};\n' for z in self.zones)
        conf = f"""key "xfr" {{ algorithm hmac-sha256; secret "{self.secret}"; }};
key "rndc" {{ algorithm hmac-sha256; secret "{self.rndc_secret}"; }};
controls {{ inet {LOOPBACK} port {self.rndc_port} allow {{ {LOOPBACK}; }} keys {{ "rndc"; }}; }};
options {{
    directory "{d}";
    pid-file "{d}/named.pid";
    session-keyfile "{d}/session.key";
    managed-keys-directory "{d}";
    listen-on port {self.port} {{ {LOOPBACK}; }};
    listen-on-v6 {{ none; }};
    recursion no;
    dnssec-validation no;
    notify explicit;
    also-notify {{ {LOOPBACK} port {notify_port} key "xfr"; }};
    allow-transfer {{ key "xfr"; }};
    notify-delay 0;
{ratio}}};
{zones_conf}"""
        with open(self.conf, "w") as f:
            f.write(conf)
        with open(self.rndc_conf, "w") as f:
            f.write(f'key "rndc" {{ algorithm hmac-sha256; secret "{self.rndc_secret}"; }};\n'
                    f'options {{ default-key "rndc"; default-server {LOOPBACK}; '
                    f'default-port {self.rndc_port}; }};\n')
        self.proc = Process("named", ["named", "-g", "-4", "-n", "1", "-c", self.conf],
                            os.path.join(self.dir, "named.out"))

    def zone_path(self, name):
        return os.path.join(self.dir, name.rstrip(".") + ".zone")

    def start(self, timeout=30):
        self.proc.start()
        for z in self.zones:
            wait_soa(self.port, z, timeout, proc=self.proc)
        return self

    def stop(self):
        return self.proc.stop()

    def log(self):
        return self.proc.log()

    def serial(self, zone):
        return dig_soa_serial(self.port, zone)

    def nsupdate(self, zone, lines, wait_serial=None):
        """Send one update (lines such as "update add www.example.com. 300 A 192.0.2.1").
        Waits until named serves a serial other than before (or wait_serial)."""
        old = self.serial(zone)
        script = f"server {LOOPBACK} {self.port}\nzone {zone}\n" + \
            "".join(line + "\n" for line in lines) + "send\nquit\n"
        r = run(["nsupdate", "-t", "10", "-y", f"hmac-sha256:xfr:{self.secret}"],
                input=script, check=False)
        if r.returncode != 0:
            raise AssertionError(f"nsupdate failed ({r.returncode}):\n{script}\n"
                                 f"{r.stdout}{r.stderr}\nnamed log:\n{self.log()}")
        if wait_serial is not None:
            want = lambda s: s == wait_serial  # noqa: E731
        else:
            want = lambda s: s is not None and s != old  # noqa: E731
        return wait_until(lambda: (s := self.serial(zone)) is not None and want(s) and s, 10,
                          what=f"named to serve the new serial of {zone}")

    def axfr(self, zone):
        return dig_axfr(self.port, zone, self.secret)


# --- pdns_server -----------------------------------------------------------------------

class Pdns:
    """pdns_server with the bind backend as a primary.  Its NOTIFY has no SOA
    in it, and it answers IXFR with an AXFR-style stream.  TSIG: the key is
    imported with pdnsutil import-tsig-key and allowed with set-meta
    TSIG-ALLOW-AXFR (both kept in the bind-dnssec-db).

    Changes: edit the zone file with a bumped serial, bind-reload-now, then
    `pdns_control notify` (also-notify points at zonesync)."""

    def __init__(self, workdir, zones, notify_port, secret=None, port=None):
        self.dir = str(workdir)
        self.port = port or free_port()
        self.notify_port = notify_port
        self.secret = secret or new_secret()
        self.zones = dict(zones)
        self.conf = os.path.join(self.dir, "pdns.conf")
        d = self.dir
        with open(os.path.join(d, "named.conf"), "w") as f:
            for name, text in self.zones.items():
                with open(self.zone_path(name), "w") as zf:
                    zf.write(text)
                f.write(f'zone "{name}" {{ type master; file "{self.zone_path(name)}"; }};\n')
        conf = f"""launch=bind
bind-config={d}/named.conf
bind-dnssec-db={d}/bind-dnssec.sqlite3
primary=yes
also-notify={LOOPBACK}:{notify_port}
only-notify=
daemon=no
guardian=no
disable-syslog=yes
local-address={LOOPBACK}
local-port={self.port}
socket-dir={d}
security-poll-suffix=
webserver=no
api=no
distributor-threads=1
receiver-threads=1
"""
        with open(self.conf, "w") as f:
            f.write(conf)
        self.pdnsutil("create-bind-db", f"{d}/bind-dnssec.sqlite3")
        self.pdnsutil("import-tsig-key", "xfr", "hmac-sha256", self.secret)
        for name in self.zones:
            self.pdnsutil("set-meta", name, "TSIG-ALLOW-AXFR", "xfr")
        self.proc = Process("pdns_server", ["pdns_server", f"--config-dir={d}"],
                            os.path.join(d, "pdns.out"))

    def zone_path(self, name):
        return os.path.join(self.dir, name.rstrip(".") + ".zone")

    def pdnsutil(self, *args):
        return run(["pdnsutil", f"--config-dir={self.dir}", *args]).stdout

    def control(self, *args):
        r = run(["pdns_control", f"--config-dir={self.dir}", *args], check=False)
        if r.returncode != 0:
            raise AssertionError(f"pdns_control {' '.join(args)}: {r.returncode}\n"
                                 f"{r.stdout}{r.stderr}\npdns log:\n{self.log()}")
        return r.stdout

    def start(self, timeout=30):
        self.proc.start()
        for z in self.zones:
            wait_soa(self.port, z, timeout, proc=self.proc)
        return self

    def stop(self):
        return self.proc.stop()

    def log(self):
        return self.proc.log()

    def serial(self, zone):
        return dig_soa_serial(self.port, zone)

    def set_zone(self, zone, text, serial, notify=True):
        """Replace the zone's file (text must carry serial), reload, NOTIFY."""
        path = self.zone_path(zone)
        with open(path + ".tmp", "w") as f:
            f.write(text)
        os.replace(path + ".tmp", path)
        self.control("bind-reload-now", zone)
        wait_until(lambda: self.serial(zone) == serial, 10,
                   what=f"pdns to serve serial {serial} of {zone}")
        if notify:
            self.control("notify", zone)

    def axfr(self, zone):
        return dig_axfr(self.port, zone, self.secret)


# --- pdns_server as an API target -----------------------------------------------------

_PDNS_REQ_RE = re.compile(r'"(GET|POST|PATCH|PUT|DELETE) (/api/v1/\S+) HTTP/[0-9.]+" (\d{3})')


PDNS_API_KEY = "zs-test-key-6f1c2a"
PDNS_SCHEMA = "/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql"


class PdnsApi:
    """pdns_server with the gsqlite3 backend (a fresh database from the
    packaged schema), its DNS on one loopback port and its webserver/API on
    another."""

    def __init__(self, workdir, extra_conf=""):
        self.dir = str(workdir)
        self.port = free_port()
        self.api_port = free_port()
        self.url = f"http://{LOOPBACK}:{self.api_port}"
        self.db = os.path.join(self.dir, "pdns.sqlite3")
        with open(PDNS_SCHEMA) as f:
            schema = f.read()
        con = sqlite3.connect(self.db)
        con.executescript(schema)
        con.close()
        conf = f"""launch=gsqlite3
gsqlite3-database={self.db}
daemon=no
guardian=no
disable-syslog=yes
local-address={LOOPBACK}
local-port={self.port}
socket-dir={self.dir}
security-poll-suffix=
api=yes
api-key={PDNS_API_KEY}
webserver=yes
webserver-address={LOOPBACK}
webserver-port={self.api_port}
webserver-allow-from=127.0.0.0/8
webserver-loglevel=normal
loglevel=6
distributor-threads=1
receiver-threads=1
{extra_conf}"""
        with open(os.path.join(self.dir, "pdns.conf"), "w") as f:
            f.write(conf)
        self.logpath = os.path.join(self.dir, "pdns.out")
        self.proc = Process("pdns_server", ["pdns_server", f"--config-dir={self.dir}"],
                            self.logpath)

    def start(self, timeout=30):
        self.proc.start()

        def up():
            if not self.proc.alive():
                raise AssertionError(f"pdns_server exited:\n{self.log()}")
            try:
                self.api("GET", "/servers/localhost")
                return True
            except (OSError, urllib.error.URLError):
                return False
        wait_until(up, timeout, 0.1, f"pdns_server API on port {self.api_port}")
        return self

    def stop(self):
        return self.proc.stop()

    def log(self, tail=6000):
        return read_text(self.logpath, tail)

    def pdnsutil(self, *args):
        return run(["pdnsutil", f"--config-dir={self.dir}", *args]).stdout

    def api(self, method, path, body=None, key=PDNS_API_KEY):
        """(status, parsed JSON or text) of one API request."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.url}/api/v1{path}", data=data, method=method,
                                     headers={"X-API-Key": key,
                                              "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                status, text = r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read().decode()
        try:
            return status, json.loads(text) if text else None
        except ValueError:
            return status, text

    def create_zone(self, name="example.com.", soa_edit_api=""):
        """A zone made through the API (PowerDNS puts its placeholder SOA in)."""
        st, out = self.api("POST", "/servers/localhost/zones",
                           {"name": name, "kind": "Native", "nameservers": [],
                            "soa_edit_api": soa_edit_api})
        assert st == 201, (st, out)

    def zone(self, name="example.com."):
        st, out = self.api("GET", f"/servers/localhost/zones/{name}")
        return out if st == 200 else None

    def patch(self, name, rrsets):
        st, out = self.api("PATCH", f"/servers/localhost/zones/{name}", {"rrsets": rrsets})
        assert st == 204, (st, out)

    def axfr(self, zone="example.com."):
        return dig_axfr_generic(self.port, zone)

    def key_file(self):
        """A file holding the API key, for a target's api-key-file."""
        path = os.path.join(self.dir, "api.key")
        with open(path, "w") as f:
            f.write(PDNS_API_KEY + "\n")
        return path

    def target(self, tid="pdns", **kw):
        """A zonesync powerdns target of this server (ZonesyncCli)."""
        return {"id": tid, "type": "powerdns", "url": self.url,
                "api-key-file": self.key_file(), **kw}

    def lines(self):
        try:
            with open(self.logpath, errors="replace") as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def mark(self):
        return len(self.lines())

    def request_lines(self, since=0):
        """API requests after the mark: [(method, path, status)]."""
        out = []
        for line in self.lines()[since:]:
            m = _PDNS_REQ_RE.search(line)
            if m:
                out.append((m.group(1), m.group(2), int(m.group(3))))
        return out

    def requests(self, since=0):
        """API requests after the mark: {"GET": n, "PATCH": n, "POST": n, ...}."""
        out = {}
        for line in self.lines()[since:]:
            m = _PDNS_REQ_RE.search(line)
            if m:
                out[m.group(1)] = out.get(m.group(1), 0) + 1
        return out


def dig_axfr_generic(port, zone, secret=None):
    """A server's AXFR as a set of records, every rdata in RFC 3597 form
    first (dig +unknownformat), so that types dnspython lacks (KEY, MINFO)
    compare too."""
    key = ["-y", f"hmac-sha256:xfr:{secret}"] if secret else []
    r = run(["dig", f"@{LOOPBACK}", "-p", str(port), *key, "+noall", "+answer",
             "+unknownformat", "+time=5", "+tries=1", "AXFR", zone], timeout=60)
    recs = set()
    for line in r.stdout.splitlines():
        f = line.split(None, 6)
        if not f or line.startswith(";") or f[3] == "TYPE250":  # TSIG
            continue
        owner, ttl, _, rdtype, generic, length = f[:6]
        assert generic == "\\#", line
        wire = bytes.fromhex(f[6].replace(" ", "")) if len(f) > 6 else b""
        assert len(wire) == int(length), line
        t = dns.rdatatype.from_text(rdtype)
        rd = dns.rdata.from_wire(dns.rdataclass.IN, t, wire, 0, len(wire))
        digest = rd.to_digestable(dns.name.root)  # RFC 4034 6.2: names lowercased
        rd = dns.rdata.from_wire(dns.rdataclass.IN, t, digest, 0, len(digest))
        recs.add((dns.name.from_text(owner).to_text().lower(), int(ttl),
                  dns.rdatatype.to_text(t), rd.to_text(origin=None, relativize=False)))
    assert any(rec[2] == "SOA" for rec in recs), f"AXFR of {zone} from {port}:\n{r.stdout}"
    return recs


# --- nsd ---------------------------------------------------------------------------------

class Nsd:
    """NSD 4.6 (Debian 12's nsd 4.6.1) as a primary: an AXFR-only one.

    What NSD 4.6 does, as found on Debian 12 (the facts these tests rely on):
    - Start: `nsd -d -c nsd.conf` stays in the foreground, as root with
      `username: ""` (no privilege drop) and `chroot: ""`, `database: ""` (no
      nsd.db: zones are read from their files at start).  The process started
      is the main one; it forks an xfrd and a server child and stops both on
      SIGTERM.  Its messages go to `logfile:` (stdout stays empty).  From
      start to the first SOA answer: 0.25-0.4 s.
    - IXFR: NSD 4.6 has no IXFR out.  An IXFR query is answered with the
      whole zone, AXFR-style (SOA, every record, SOA; one message for a
      small zone), and its log says "ixfr for ZONE from 127.0.0.1".  Every
      change reaches a secondary as a full zone.
    - NOTIFY: over UDP only (no TCP connection ever seen), signed with the
      key named in `notify: ADDR@PORT KEY`, with the zone's SOA in the answer
      section; sent at start and after each reload of a changed zone; when
      no answer comes, sent again every 3 s, 5 times in all.
    - Changing data: rewrite the zone file with a bumped serial, then SIGHUP
      the main process: it reloads the zone files that changed (not
      nsd.conf) and sends its NOTIFYs; three changes in a row within one
      second were each served.  `nsd-control reload ZONE` does the same but
      needs `remote-control: control-enable: yes` and TLS keys from
      `nsd-control-setup -d DIR` (1.4 s per test): not used here.
    - TSIG: a `key:` block (name, algorithm hmac-sha256, secret) and, on the
      zone, `provide-xfr: 127.0.0.1 xfr`.  `zonesdir`, `pidfile`, `xfrdfile`
      and `zonelistfile` point into the test's directory."""

    def __init__(self, workdir, zones, notify_port, secret=None, port=None, notify=True):
        self.dir = str(workdir)
        self.port = port or free_port()
        self.notify_port = notify_port
        self.notify = notify
        self.secret = secret or new_secret()
        self.zones = dict(zones)
        self.conf = os.path.join(self.dir, "nsd.conf")
        self.logpath = os.path.join(self.dir, "nsd.log")
        for name, text in self.zones.items():
            write_atomic(self.zone_path(name), text)
        d = self.dir
        notify_line = (f"    notify: {LOOPBACK}@{notify_port} xfr\n" if notify else "")
        zones_conf = "".join(f"""zone:
    name: "{z.rstrip('.')}"
    zonefile: "{self.zone_path(z)}"
    provide-xfr: {LOOPBACK} xfr
{notify_line}""" for z in self.zones)
        conf = f"""server:
    port: {self.port}
    ip-address: {LOOPBACK}
    do-ip6: no
    server-count: 1
    username: ""
    chroot: ""
    zonesdir: "{d}"
    pidfile: "{d}/nsd.pid"
    xfrdfile: "{d}/xfrd.state"
    zonelistfile: "{d}/zone.list"
    database: ""
    logfile: "{self.logpath}"
    verbosity: 2
remote-control:
    control-enable: no
key:
    name: xfr
    algorithm: hmac-sha256
    secret: "{self.secret}"
{zones_conf}"""
        with open(self.conf, "w") as f:
            f.write(conf)
        run(["nsd-checkconf", self.conf])
        self.proc = Process("nsd", ["nsd", "-d", "-c", self.conf],
                            os.path.join(self.dir, "nsd.out"))

    def zone_path(self, name):
        return os.path.join(self.dir, name.rstrip(".") + ".zone")

    def start(self, timeout=30):
        self.proc.start()
        for z in self.zones:
            wait_soa(self.port, z, timeout, proc=self.proc)
        return self

    def stop(self):
        return self.proc.stop()

    def log(self):
        return read_text(self.logpath, 6000) + self.proc.log(2000)

    def serial(self, zone):
        return dig_soa_serial(self.port, zone)

    def set_zone(self, zone, text, serial):
        """Replace the zone's file (text must carry serial) and SIGHUP nsd;
        returns once it serves that serial."""
        write_atomic(self.zone_path(zone), text)
        self.proc.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: self.serial(zone) == serial, 10,
                   what=f"nsd to serve serial {serial} of {zone}")
        return serial

    def axfr(self, zone):
        return dig_axfr(self.port, zone, self.secret)


# --- zonesync ------------------------------------------------------------------------

class Zonesync:
    """zonesync run in the foreground, its stderr in DIR/zonesync.log (all
    runs appended, so a restart keeps the earlier lines)."""

    def __init__(self, binary, workdir, primaries, zones, keys=None, port=None,
                 level="debug", extra_server=None):
        """primaries: [{"id", "address": [..], "key", ...}];
        zones: [{"domain", "primary", ...}] (a zonefile target "file" is added)."""
        self.bin = binary
        self.dir = str(workdir)
        self.port = port or free_port()
        self.state = os.path.join(self.dir, "state")
        self.out = os.path.join(self.dir, "out")
        os.makedirs(self.state, exist_ok=True)
        os.makedirs(self.out, exist_ok=True)
        self.logpath = os.path.join(self.dir, "zonesync.log")
        self.conf = os.path.join(self.dir, "zonesync.yaml")
        extra_server = dict(extra_server or {})
        listen = extra_server.pop("listen", f"[{LOOPBACK}@{self.port}]")
        rate = extra_server.pop("notify-rate-limit", 0)
        lines = ["server:",
                 f"  listen: {listen}",
                 f"  state: {self.state}",
                 f"  log: {{ level: {level} }}",
                 f"  notify-rate-limit: {rate}"]
        for k, v in extra_server.items():
            lines.append(f"  {k}: {v}")
        if keys:
            lines.append("key:")
            for kid, secret in keys.items():
                lines.append(f"  - {{ id: {kid}, algorithm: hmac-sha256, secret: {secret} }}")
        lines.append("primary:")
        for p in primaries:
            lines.append("  - " + _flow(p))
        lines += ["target:",
                  f'  - {{ id: file, type: zonefile, path: "{self.out}/%s.zone" }}',
                  "zone:"]
        for z in zones:
            z = {"target": "[file]", **z}
            lines.append("  - " + _flow(z))
        write_atomic(self.conf, "\n".join(lines) + "\n")
        self.proc = Process("zonesync", [self.bin, "run", "-c", self.conf], self.logpath)
        self.exit_codes = []

    def zonefile(self, zone):
        return os.path.join(self.out, zone.rstrip(".") + ".zone")

    def start(self, timeout=10):
        """Start it and wait for its "started" line; the log mark of this run."""
        mark = self.mark()
        self.proc.start()
        self.wait_log(r" info started: ", timeout=timeout, since=mark)
        return mark

    def stop(self, timeout=15):
        """SIGTERM; its exit status (None when it was not running)."""
        rc = self.proc.stop(timeout)
        if rc is not None:
            self.exit_codes.append(rc)
        return rc

    def problems(self):
        """What went wrong in any run: non-zero exit statuses, sanitizer reports."""
        out = [f"exit status {rc}" for rc in self.exit_codes if rc != 0]
        log = read_text(self.logpath)
        for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
            if marker in log:
                out.append(f"{marker} in the log")
        return out

    def alive(self):
        return self.proc.alive()

    def lines(self):
        try:
            with open(self.logpath, errors="replace") as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def mark(self):
        """The current end of the log: pass as since= to look only after it."""
        return len(self.lines())

    def log(self, tail=12000):
        return read_text(self.logpath, tail)

    def find(self, pattern, since=0):
        """Log lines after `since` matching the regex."""
        rx = re.compile(pattern)
        return [line for line in self.lines()[since:] if rx.search(line)]

    def wait_log(self, pattern, timeout=10, since=0):
        """Wait for a log line after `since` matching the regex; the line."""
        rx = re.compile(pattern)

        def found():
            for line in self.lines()[since:]:
                if rx.search(line):
                    return line
            if not self.alive():
                raise AssertionError(f"zonesync exited while waiting for /{pattern}/; "
                                     f"log:\n{self.log()}")
            return None
        try:
            return wait_until(found, timeout, 0.05, f"zonesync log /{pattern}/")
        except AssertionError as e:
            if "zonesync exited" in str(e):
                raise
            raise AssertionError(f"{e}\nzonesync log:\n{self.log()}") from None

    def wait_serial(self, zone, serial, timeout=10):
        """Wait until the zonefile target carries that serial."""
        def done():
            if zonefile_serial(self.zonefile(zone)) == serial:
                return True
            if not self.alive():
                raise AssertionError(f"zonesync exited while waiting for serial {serial}; "
                                     f"log:\n{self.log()}")
            return False
        try:
            wait_until(done, timeout, 0.05, f"{self.zonefile(zone)} to have serial {serial}")
        except AssertionError as e:
            if "zonesync exited" in str(e):
                raise
            raise AssertionError(f"{e} (it has {zonefile_serial(self.zonefile(zone))})\n"
                                 f"zonesync log:\n{self.log()}") from None

    def records(self, zone):
        return read_zonefile(self.zonefile(zone))


def _flow(d):
    """A flow map for zonesync's YAML: values already YAML (lists as "[..]")."""
    return "{ " + ", ".join(f"{k}: {v}" for k, v in d.items()) + " }"


# --- zonesync's one-shot commands -------------------------------------------------------

def yaml_value(v):
    """A Python value as YAML for zonesync's configuration: a string
    double-quoted (a JSON string is a YAML double-quoted scalar), a list as a
    flow sequence, a boolean as true/false, a number as it is."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(yaml_value(x) for x in v) + "]"
    return json.dumps(str(v))


def describe(r):
    """A CompletedProcess for an assertion message."""
    return f"exit {r.returncode}\n--- stdout\n{r.stdout}\n--- stderr\n{r.stderr[-8000:]}"


class ZonesyncCommands:
    """Running zonesync's one-shot commands (`sync -c CONF`, `plan`, ...) for
    a Zonesync whose configuration is written: each run's output is appended
    to DIR/commands.log (shown by log()).  Needs self.bin, self.conf, self.dir
    and self.env (None: this process's environment)."""

    def command(self, *args, timeout=300):
        """Run `zonesync ARGS` (with -c CONF after the command word); the
        CompletedProcess."""
        cmd = [self.bin, args[0], "-c", self.conf, *map(str, args[1:])]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                           env=getattr(self, "env", None))
        with open(self.cmdlog_path(), "a") as f:
            f.write(f"$ {' '.join(cmd)}\n[exit {r.returncode}]\n--- stdout\n{r.stdout}"
                    f"--- stderr\n{r.stderr}\n")
        return r

    def cmdlog_path(self):
        return os.path.join(self.dir, "commands.log")

    def sync(self, *args, **kw):
        return self.command("sync", *args, **kw)

    def plan(self, *args, **kw):
        """`plan --json ARGS`."""
        return self.command("plan", "--json", *args, **kw)

    def plan_text(self, *args, **kw):
        return self.command("plan", *args, **kw)

    def log(self, tail=12000):
        daemon = read_text(self.logpath, tail) if os.path.exists(self.logpath) else ""
        return daemon + "\n" + read_text(self.cmdlog_path(), tail)

    def problems(self):
        out = Zonesync.problems(self)
        text = read_text(self.cmdlog_path())
        for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
            if marker in text:
                out.append(f"{marker} in the output of a command")
        return out


class ZonesyncCli(ZonesyncCommands, Zonesync):
    """zonesync with targets of any type, for its one-shot commands.

    primary: the primary server (Knot, Named, Pdns, Nsd: its .port and
    .secret, key "xfr"); targets: [{"id", "type", key: value, ...}] and
    zones: [{"domain", "target": [ids], key: value, ...}] with Python values
    (yaml_value); every zone gets the primary "p"."""

    def __init__(self, binary, workdir, primary, targets, zones, env=None, port=None,
                 level="debug"):
        paddr = f"[{LOOPBACK}@{primary.port}]"
        super().__init__(binary, workdir, [{"id": "p", "address": paddr, "key": "xfr"}], [],
                         keys={"xfr": primary.secret}, port=port, level=level)
        self.env = env
        self.proc.env = env
        lines = ["server:",
                 f"  listen: [{LOOPBACK}@{self.port}]",
                 f"  state: {yaml_value(self.state)}",
                 f"  log: {{ level: {level} }}",
                 "  notify-rate-limit: 0",
                 "key:",
                 f"  - {{ id: xfr, algorithm: hmac-sha256, secret: {primary.secret} }}",
                 "primary:",
                 f"  - {{ id: p, address: {paddr}, key: xfr }}",
                 "target:"]
        for t in targets:
            t = dict(t)
            lines.append(f"  - id: {yaml_value(t.pop('id'))}")
            for k, v in t.items():
                lines.append(f"    {k}: {yaml_value(v)}")
        lines.append("zone:")
        for z in zones:
            z = {"primary": "p", **z}
            lines.append("  - { " + ", ".join(f"{k}: {yaml_value(v)}" for k, v in z.items())
                         + " }")
        write_atomic(self.conf, "\n".join(lines) + "\n")


# --- one test's servers ------------------------------------------------------------------

class Lab:
    """The servers of one test (anything with stop() and log()), each in its
    own directory under the test's; stopped in reverse order by close(),
    their logs printed (pytest shows them when the test fails), and any
    problem of a zonesync (exit status, sanitizer report) a failure."""

    def __init__(self, tmp_path, binary):
        self.tmp = tmp_path
        self.binary = binary
        self.servers = []

    def dir(self, name):
        d = self.tmp / f"{name}{len(self.servers)}"
        d.mkdir()
        return d

    def add(self, server):
        self.servers.append(server)
        return server

    # Primaries (serving example zones to `zonesync sync` only, unless a
    # notify_port is given) and targets, started.
    def knot(self, zones, notify_port=None, **kw):
        if notify_port is None:
            notify_port, kw["notify"] = free_port(), False
        return self.add(Knot(self.dir("knot"), zones, notify_port, **kw)).start()

    def nsd(self, zones, notify_port=None, **kw):
        if notify_port is None:
            notify_port, kw["notify"] = free_port(), False
        return self.add(Nsd(self.dir("nsd"), zones, notify_port, **kw)).start()

    def pdns(self, zones, notify_port=None, **kw):
        return self.add(Pdns(self.dir("pdns"), zones, notify_port or free_port(), **kw)).start()

    def pdns_api(self, **kw):
        return self.add(PdnsApi(self.dir("pdnsapi"), **kw)).start()

    def zonesync_cli(self, primary, targets, zones, **kw):
        """zonesync for its one-shot commands (ZonesyncCli); the binary is
        ZONESYNC_BIN."""
        return self.add(ZonesyncCli(self.binary, self.dir("zonesync"), primary, targets, zones,
                                    **kw))

    def close(self):
        for s in reversed(self.servers):
            try:
                s.stop()
            except Exception as e:  # keep stopping the others
                print(f"stopping {type(s).__name__}: {e}")
        for s in self.servers:
            print(f"===== {type(s).__name__} log =====")
            print(s.log())
        problems = [p for s in self.servers if isinstance(s, Zonesync) for p in s.problems()]
        assert not problems, f"zonesync: {problems}"
