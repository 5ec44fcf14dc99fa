"""moto_server as a Route 53 emulator for the system tests, the AWS CLI to
read it back, zonesync configured with a route53 target, and the "view" of a
zone: what Route 53 should hold for it.

moto_server (moto 5, from the pyenv Python on PATH) runs on loopback on a free
port, its output in a log file.  Its stderr is werkzeug's access log, one line
per HTTP request, written before the response goes out:

    127.0.0.1 - - [27/Nov/2026 07:46:12] "POST /2013-04-01/hostedzone/ID/rrset/ HTTP/1.1" 200 -

so the requests zonesync made are counted from that log between two marks
(Moto.mark() / Moto.requests()): ChangeResourceRecordSets is POST .../rrset,
ListResourceRecordSets is GET .../rrset.

Comparison of a hosted zone with the primary: both sides become
{(owner, TYPE): (ttl, frozenset(rdata))} with owner names lowercased and
absolute and rdata in dnspython's canonical text (canonical wire form, names in
rdata lowercased as in RFC 4034 6.2).  Route 53's text (names and values with
\\ooo OCTAL escapes; RFC 1035 uses decimal \\DDD) is decoded first.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.request

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype

import servers
from servers import (LOOPBACK, Knot, Process, Zonesync, ZonesyncCommands, free_port, read_text,
                     wait_until, write_atomic)

CMD_TIMEOUT = 60

# Types Route 53 accepts (anything else is skipped by zonesync and counted).
R53_TYPES = frozenset("A AAAA CAA CNAME DS HTTPS MX NAPTR NS PTR SOA SPF SRV SSHFP SVCB TLSA TXT"
                      .split())

AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials",
    "AWS_CONFIG_FILE": "/nonexistent/config",
    "AWS_PAGER": "",
    "AWS_MAX_ATTEMPTS": "1",
}


def resolve(cmd):
    """The program's real path: a pyenv shim costs a second per call (the AWS
    CLI is called often), so ask pyenv where it leads."""
    path = shutil.which(cmd)
    if path and os.sep + "shims" + os.sep in path:
        try:
            r = subprocess.run(["pyenv", "which", cmd], capture_output=True, text=True,
                               timeout=CMD_TIMEOUT)
            real = r.stdout.strip()
            if r.returncode == 0 and os.access(real, os.X_OK):
                return real
        except (OSError, subprocess.TimeoutExpired):
            pass
    return path or cmd


def aws_env():
    """The environment for zonesync and the AWS CLI: dummy credentials only."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and k != "HTTPS_PROXY" and k != "HTTP_PROXY"}
    env.update(AWS_ENV)
    return env


# --- moto_server -------------------------------------------------------------------

# The request line of an access-log line of a Route 53 record-set call.
_RRSET_RE = re.compile(r'"(GET|POST) /2013-04-01/hostedzone/([^/?\s]+)/rrset/?(\?\S*)? '
                       r'HTTP/[0-9.]+" (\d{3})')
_REQ_RE = re.compile(r'"([A-Z]+) (\S+) HTTP/[0-9.]+" (\d{3})')


class Moto:
    """One moto_server on loopback, its access log in DIR/moto.log."""

    def __init__(self, workdir, port=None):
        self.dir = str(workdir)
        os.makedirs(self.dir, exist_ok=True)
        self.port = port or free_port()
        self.endpoint = f"http://{LOOPBACK}:{self.port}"
        self.logpath = os.path.join(self.dir, "moto.log")
        self._client = None
        self.aws_bin = resolve("aws")
        self.proc = Process("moto_server",
                            [resolve("moto_server"), "-H", LOOPBACK, "-p", str(self.port)],
                            self.logpath, env=aws_env())

    def start(self, timeout=30):
        self.proc.start()

        def up():
            if not self.proc.alive():
                raise AssertionError(f"moto_server exited:\n{self.log()}")
            try:
                with socket.create_connection((LOOPBACK, self.port), timeout=1):
                    return True
            except OSError:
                return False
        wait_until(up, timeout, 0.1, f"moto_server on port {self.port}")
        return self

    def stop(self):
        return self.proc.stop()

    def log(self, tail=6000):
        return read_text(self.logpath, tail)

    def reset(self):
        """Forget every hosted zone (POST /moto-api/reset)."""
        req = urllib.request.Request(f"{self.endpoint}/moto-api/reset", data=b"", method="POST")
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.status == 200, r.read()

    # -- the AWS CLI --

    def aws(self, *args, check=True, timeout=CMD_TIMEOUT):
        """`aws --endpoint-url E route53 ARGS --output json`: the parsed JSON (or
        the CompletedProcess when check=False)."""
        cmd = [self.aws_bin, "--endpoint-url", self.endpoint, "route53", *map(str, args),
               "--output", "json"]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=aws_env())
        if not check:
            return r
        if r.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} exited {r.returncode}\n"
                                 f"stdout: {r.stdout}\nstderr: {r.stderr}")
        return json.loads(r.stdout) if r.stdout.strip() else None

    def client(self):
        """A botocore Route 53 client of this moto_server (None without
        botocore): quicker than the AWS CLI for setting up."""
        if self._client is None:
            try:
                import botocore.session
            except ImportError:
                return None
            sess = botocore.session.get_session()
            self._client = sess.create_client(
                "route53", region_name="us-east-1", endpoint_url=self.endpoint,
                aws_access_key_id=AWS_ENV["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=AWS_ENV["AWS_SECRET_ACCESS_KEY"])
        return self._client

    def create_zone(self, name):
        """A new hosted zone; its id without the /hostedzone/ prefix."""
        ref = f"zs-{time.monotonic_ns()}-{os.getpid()}"
        c = self.client()
        if c is not None:
            out = c.create_hosted_zone(Name=name, CallerReference=ref)
        else:
            out = self.aws("create-hosted-zone", "--name", name, "--caller-reference", ref)
        return strip_id(out["HostedZone"]["Id"])

    def zones(self):
        """{id: name} of every hosted zone."""
        out = self.aws("list-hosted-zones")
        return {strip_id(z["Id"]): z["Name"] for z in out["HostedZones"]}

    def list(self, zone_id):
        """Every record set of the hosted zone, as the AWS CLI lists it (it
        follows the pages itself)."""
        return self.aws("list-resource-record-sets", "--hosted-zone-id", zone_id)[
            "ResourceRecordSets"]

    def change(self, zone_id, changes):
        """ChangeResourceRecordSets by the AWS CLI: changes = [{"Action", "ResourceRecordSet"}]."""
        path = os.path.join(self.dir, f"batch-{time.monotonic_ns()}.json")
        with open(path, "w") as f:
            json.dump({"Changes": changes}, f)
        try:
            return self.aws("change-resource-record-sets", "--hosted-zone-id", zone_id,
                            "--change-batch", f"file://{path}")
        finally:
            os.unlink(path)

    # -- the access log --

    def lines(self):
        try:
            with open(self.logpath, errors="replace") as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def mark(self):
        """The current end of the access log: pass as since= to requests()."""
        return len(self.lines())

    def requests(self, since=0, zone_id=None):
        """Route 53 record-set requests after the mark, from moto's access log:
        {"change": ChangeResourceRecordSets (POST .../rrset),
         "list": ListResourceRecordSets (GET .../rrset),
         "other": [request lines of any other request]}."""
        out = {"change": 0, "list": 0, "other": []}
        for line in self.lines()[since:]:
            m = _RRSET_RE.search(line)
            if m:
                if zone_id is not None and m.group(2) != zone_id:
                    continue
                out["change" if m.group(1) == "POST" else "list"] += 1
                continue
            m = _REQ_RE.search(line)
            if m:
                out["other"].append(f"{m.group(1)} {m.group(2)} {m.group(3)}")
        return out

    def request_count(self, since=0, zone_id=None):
        """(ChangeResourceRecordSets, ListResourceRecordSets) after the mark."""
        r = self.requests(since, zone_id)
        return r["change"], r["list"]


def strip_id(text):
    return text.rsplit("/", 1)[-1]


# --- Route 53 text ---------------------------------------------------------------------

def r53_name(text):
    """A name as Route 53 writes it (\\ooo octal escapes, any case) as a
    dns.name.Name."""
    labels = []
    cur = bytearray()
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            digits = text[i + 1:i + 4]
            if len(digits) == 3 and digits.isdigit():
                if not re.fullmatch(r"[0-7]{3}", digits):
                    raise ValueError(f"{text!r}: \\{digits} is not a three-digit octal escape")
                cur.append(int(digits, 8))
                i += 4
            elif i + 1 < len(text):
                cur += text[i + 1].encode()
                i += 2
            else:
                raise ValueError(f"{text!r}: dangling backslash")
        elif c == ".":
            if not cur:
                raise ValueError(f"{text!r}: empty label")
            labels.append(bytes(cur))
            cur = bytearray()
            i += 1
        else:
            if not 0x20 < ord(c) < 0x7f:
                raise ValueError(f"{text!r}: raw character {c!r} (Route 53 writes \\ooo)")
            cur += c.encode()
            i += 1
    if cur:
        labels.append(bytes(cur))
    return dns.name.Name(labels + [b""])


def name_text(name):
    """The comparison key of a name: absolute, lowercased (ASCII only)."""
    return name.to_text().lower()


_ESC_RE = re.compile(r"\\(\d{3}|.)", re.S)


def r53_value_to_rfc1035(value):
    """Route 53 value text (\\ooo octal escapes) as RFC 1035 text (\\DDD decimal)."""
    def sub(m):
        s = m.group(1)
        if len(s) == 3:
            if not re.fullmatch(r"[0-7]{3}", s):
                raise ValueError(f"{value!r}: \\{s} is not a three-digit octal escape")
            return "\\%03d" % int(s, 8)
        return m.group(0)
    return _ESC_RE.sub(sub, value)


def canonical_rdata(rdtype, text, origin=dns.name.root):
    """rdata text (RFC 1035 form) in dnspython's canonical text."""
    t = dns.rdatatype.from_text(rdtype)
    rd = dns.rdata.from_text(dns.rdataclass.IN, t, text, origin=origin, relativize=False)
    wire = rd.to_digestable(dns.name.root)
    rd = dns.rdata.from_wire(dns.rdataclass.IN, t, wire, 0, len(wire))
    return rd.to_text(origin=None, relativize=False)


def r53_rdata(rdtype, value):
    """One Route 53 Value of that type in dnspython's canonical text."""
    bad = [c for c in value if not 0x20 <= ord(c) <= 0x7e]
    if bad:
        raise ValueError(f"{rdtype} value {value!r}: raw characters {bad!r} "
                         "(Route 53 wants \\ooo escapes)")
    return canonical_rdata(rdtype, r53_value_to_rfc1035(value))


# --- the view of a zone ------------------------------------------------------------------

def primary_view(records, zone, apex_ns="keep", soa_serial="keep"):
    """What Route 53 should hold for the primary's zone, from records
    {(owner, ttl, TYPE, rdata)} (servers.dig_axfr): every RRset except the apex
    SOA and NS (never touched) and the types Route 53 does not accept; one TTL
    per RRset, the minimum of its records.  Returns (view, skipped) with view =
    {(owner, TYPE): (ttl, frozenset(rdata))} and skipped = {TYPE: records}."""
    apex = name_text(dns.name.from_text(zone))
    sets = {}
    skipped = {}
    for owner, ttl, rdtype, rdata in records:
        owner = name_text(dns.name.from_text(owner))
        if rdtype not in R53_TYPES:
            skipped[rdtype] = skipped.get(rdtype, 0) + 1
            continue
        if owner == apex and ((rdtype == "SOA" and soa_serial == "keep") or
                              (rdtype == "NS" and apex_ns == "keep")):
            continue
        cur = sets.setdefault((owner, rdtype), [None, set()])
        cur[0] = ttl if cur[0] is None else min(cur[0], ttl)
        cur[1].add(canonical_rdata(rdtype, rdata))
    return {k: (v[0], frozenset(v[1])) for k, v in sets.items()}, skipped


def is_special(rrset):
    """Alias record sets and record sets with a SetIdentifier (routing policies)."""
    return "AliasTarget" in rrset or "SetIdentifier" in rrset


def listing_view(rrsets, zone, apex_ns="keep", soa_serial="keep"):
    """The hosted zone's record sets (AWS CLI JSON) in the same form as
    primary_view(); alias and SetIdentifier sets are left out (see is_special),
    and so are the apex SOA and NS when zonesync keeps them."""
    apex = name_text(dns.name.from_text(zone))
    out = {}
    for rs in rrsets:
        if is_special(rs):
            continue
        owner = name_text(r53_name(rs["Name"]))
        rdtype = rs["Type"]
        if owner == apex and ((rdtype == "SOA" and soa_serial == "keep") or
                              (rdtype == "NS" and apex_ns == "keep")):
            continue
        key = (owner, rdtype)
        values = frozenset(r53_rdata(rdtype, rr["Value"]) for rr in rs["ResourceRecords"])
        assert len(values) == len(rs["ResourceRecords"]), f"duplicate values in {rs}"
        if key in out:
            raise AssertionError(f"two record sets {key} in the hosted zone: {out[key]} and "
                                 f"{(rs['TTL'], values)}")
        out[key] = (int(rs["TTL"]), values)
    return out


def view_diff(got, want):
    """Readable difference of two views (for assertion messages)."""
    lines = []
    for k in sorted(set(got) | set(want)):
        g, w = got.get(k), want.get(k)
        if g == w:
            continue
        fmt = lambda v: "absent" if v is None else f"ttl={v[0]} {sorted(v[1])}"  # noqa: E731
        lines.append(f"  {k[0]} {k[1]}: hosted zone {fmt(g)}; want {fmt(w)}")
    return f"{len(lines)} RRsets differ:\n" + "\n".join(lines[:40])


def rrset_of(rrsets, name, rdtype):
    """The listing's record sets at that name (any case/escape form) and type."""
    want = name_text(dns.name.from_text(name))
    return [rs for rs in rrsets
            if rs["Type"] == rdtype and name_text(r53_name(rs["Name"])) == want]


# --- zonesync with a route53 target --------------------------------------------------------

class SignedKnot(Knot):
    """knotd signing its zones itself (dnssec-signing: on, automatic keys: a
    KSK and a ZSK, ECDSAP256SHA256, NSEC)."""

    def _write_conf(self):
        super()._write_conf()
        with open(self.conf) as f:
            text = f.read()
        anchor = "    serial-policy: increment\n"
        assert anchor in text
        text = text.replace(anchor, anchor + "    dnssec-signing: on\n")
        with open(self.conf, "w") as f:
            f.write(text)


def _yaml_str(s):
    return json.dumps(str(s))  # a JSON string is a YAML double-quoted scalar


class R53Zonesync(ZonesyncCommands, Zonesync):
    """zonesync with route53 targets (one-shot `sync`/`plan` commands, or
    `run` as a daemon through the servers.Zonesync methods).

    targets: [{"id": "aws", "hosted-zone-id": Z, ...}] (type route53 and the
    endpoint are added); zones: [{"domain", "target": "[aws]", ...}] (the
    primary "p" is added)."""

    def __init__(self, binary, workdir, endpoint, primary_port, secret, zones, targets,
                 port=None, level="debug", extra_server=None):
        super().__init__(binary, workdir,
                         [{"id": "p", "address": f"[{LOOPBACK}@{primary_port}]", "key": "xfr"}],
                         [], keys={"xfr": secret}, port=port, level=level)
        self.env = aws_env()
        # STS too (the account id behind the shared rate limit; roles).
        self.env["AWS_ENDPOINT_URL_STS"] = endpoint
        self.proc.env = self.env
        lines = ["server:",
                 f"  listen: [{LOOPBACK}@{self.port}]",
                 f"  state: {_yaml_str(self.state)}",
                 f"  log: {{ level: {level} }}",
                 "  notify-rate-limit: 0",
                 *(f"  {k}: {v}" for k, v in (extra_server or {}).items()),
                 "key:",
                 f"  - {{ id: xfr, algorithm: hmac-sha256, secret: {secret} }}",
                 "primary:",
                 f"  - {{ id: p, address: [{LOOPBACK}@{primary_port}], key: xfr }}",
                 "target:"]
        for t in targets:
            t = {"type": "route53", "endpoint": endpoint, **t}
            lines.append(f"  - id: {t.pop('id')}")
            for k, v in t.items():
                lines.append(f"    {k}: {_yaml_str(v) if k == 'endpoint' else v}")
        lines.append("zone:")
        for z in zones:
            z = {"primary": "p", "target": "[aws]", **z}
            lines.append("  - { " + ", ".join(f"{k}: {v}" for k, v in z.items()) + " }")
        write_atomic(self.conf, "\n".join(lines) + "\n")


describe = servers.describe  # the tests take it from here too

SYNCED_RE = re.compile(r"target synced: (.*)$", re.M)


def synced_lines(text, zone=None):
    """The 'target synced' lines of a log (key=value fields, any order, more
    allowed): [(zone, target, serial, mode, changes, requests)]."""
    out = []
    for m in SYNCED_RE.finditer(text):
        f = dict(kv.split("=", 1) for kv in m.group(1).split() if "=" in kv)
        if zone is None or f.get("zone") == zone:
            out.append((f.get("zone"), f.get("target"), int(f.get("serial", -1)), f.get("mode"),
                        int(f.get("changes", -1)), int(f.get("requests", -1))))
    return out
