#!/usr/bin/env bash
# Benchmark `zonesync sync` pushing a zone into Amazon Route 53 (moto_server as
# the emulator), against the classic recipe doing the same work
# (bench/classic-recipe.sh: dig AXFR + the AWS CLI, as `cli53 import --replace`).
# Everything runs on loopback: a knotd primary and a moto_server started here on
# free ports, in a temporary directory removed at exit.
#
# The zone (bench.test.) has BENCH_RECORDS records (default 9,990, apex SOA and
# NS included, under Route 53's quota of 10,000 records per hosted zone), a
# generated mix of A, AAAA, TXT, MX and CNAME.  Each run (BENCH_RUNS, default
# 3) starts a fresh knotd primary, resets moto_server and creates one fresh,
# empty hosted zone per contender, then measures three scenarios; every
# contender does each of them in turn (the order rotates from run to run):
#
#   1. first:   the first push of the whole zone into the empty hosted zone;
#   2. one:     one record changed on the primary (knotc zone-begin,
#               zone-unset/zone-set, zone-commit: knotd serves it by IXFR), then a push;
#   3. hundred: 100 changes in one primary transaction (34 RRsets added, 33
#               with a value replaced, 33 deleted), then a push.
#
# Contenders: `zonesync sync -c CONF` with the default rate limit (5 requests/s
# per target, what an operator gets), the same with `rate-limit:
# BENCH_FAST_RATE` (default 100; 0 leaves it out) to show the pacing's share,
# and bench/classic-recipe.sh.  For each push: wall time of the command, and
# the requests it made, counted from moto_server's access log (one line per
# request on its stderr): GET .../hostedzone/ID/rrset = ListResourceRecordSets
# ("list"), POST .../hostedzone/ID/rrset/ = ChangeResourceRecordSets ("change"),
# anything else ("other": hostedzonesbyname, GetChange, ...).  Also moto_server's
# own CPU time during the push.  After every push the hosted zone is listed
# with the AWS CLI and compared with the primary's AXFR (apex SOA and NS left
# out; names, TTLs and canonical rdata); any difference stops the benchmark.
# The AWS CLI's start-up is measured as the wall time of a minimal call
# (`aws route53 get-hosted-zone-count`, one tiny request), median of 5 per run.
#
#   meson setup build-rel --buildtype=release && ninja -C build-rel
#   bench/route53-bench.sh [> report.md]
#
# The report (markdown) goes to stdout, progress to stderr.  Environment (optional):
#   ZONESYNC=path        binary (default build-rel/zonesync)
#   AWS=path             AWS CLI (default: the real script behind the pyenv shim, else aws)
#   MOTO_SERVER=path     moto_server (same)
#   BENCH_RECORDS=N      records in the zone, apex SOA and NS included (default 9990)
#   BENCH_RUNS=N         runs (default 3); the report gives medians
#   BENCH_FAST_RATE=N    rate-limit of the extra zonesync contender (default 100; 0: none)
#   BENCH_SEED=N         generator seed (default 20261127)
#   BENCH_MAX_WAIT=s     total wait for other processes to go idle (default 600)
#   BENCH_KEEP=dir       copy every log, config and result there before cleaning up
#
# Exit status: 0 done; 2 something failed (a command, a hosted zone not equal
# to the zone after a push, zonesync not incremental when it should be): the
# report is then not written, and the failing command and its stderr are shown.
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
ZONESYNC=${ZONESYNC:-$root/build-rel/zonesync}
real_tool() { { command -v pyenv >/dev/null && pyenv which "$1" 2>/dev/null; } || command -v "$1"; }
AWS=${AWS:-$(real_tool aws)}
MOTO_SERVER=${MOTO_SERVER:-$(real_tool moto_server)}
RECORDS=${BENCH_RECORDS:-9990}
RUNS=${BENCH_RUNS:-3}
FAST_RATE=${BENCH_FAST_RATE:-100}
SEED=${BENCH_SEED:-20261127}
MAX_WAIT=${BENCH_MAX_WAIT:-600}
KEEP=${BENCH_KEEP:-}
CLASSIC=$here/classic-recipe.sh
PY=/usr/bin/python3 # has dnspython
TIME=/usr/bin/time
ZONE=bench.test.

die() { echo "route53-bench: FAIL: $*" >&2; exit 2; }
say() { echo "route53-bench: $*" >&2; }

for t in knotd knotc dig "$PY" "$TIME" "$AWS" "$MOTO_SERVER" awk; do
	command -v "$t" >/dev/null || die "$t not found"
done
"$PY" -c 'import dns.message, dns.rdata' 2>/dev/null || die "$PY has no dnspython"
[ -x "$ZONESYNC" ] || die "build first: meson setup build-rel --buildtype=release && ninja -C build-rel"
[ -x "$CLASSIC" ] || die "$CLASSIC is missing or not executable"

# Dummy credentials only, nothing from the environment or ~/.aws.
for v in $(env | sed -n 's/^\(AWS_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done
unset HTTP_PROXY HTTPS_PROXY http_proxy https_proxy
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1
export AWS_SHARED_CREDENTIALS_FILE=/nonexistent/credentials AWS_CONFIG_FILE=/nonexistent/config
export AWS_PAGER="" AWS_MAX_ATTEMPTS=1

tmp=$(mktemp -d /tmp/route53-bench.XXXXXX)
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill -0 "$p" 2>/dev/null && kill "$p" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do
		for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$p" 2>/dev/null && kill -9 "$p" 2>/dev/null
	done
	if [ -n "$KEEP" ]; then
		mkdir -p "$KEEP"
		(cd "$tmp" && find . \( -name '*.log' -o -name '*.conf' -o -name '*.yaml' -o -name '*.txt' \
			-o -name '*.err' -o -name '*.out' -o -name '*.zone' \) -exec cp --parents {} "$KEEP" \;) 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# stop PID: SIGTERM, wait for it to exit (kill -9 after 30 s), forget it.
stop() {
	local p=$1 keep=() q
	kill "$p" 2>/dev/null || true
	for _ in $(seq 300); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$p" 2>/dev/null && kill -9 "$p" 2>/dev/null
	wait "$p" 2>/dev/null || true
	for q in "${PIDS[@]}"; do [ "$q" = "$p" ] || keep+=("$q"); done
	PIDS=("${keep[@]}")
}

# ---------------------------------------------------------------- helper (python)
cat >"$tmp/h.py" <<'EOF'
import json, os, random, re, socket, statistics, subprocess, sys, time, urllib.request
import dns.message, dns.name, dns.query, dns.rdata, dns.rdataclass, dns.rdatatype

ZONE = "bench.test."
TTLS = [60, 300, 300, 600, 900, 1800, 3600, 3600, 3600, 7200, 86400]
WORDS = ("www web api app mail smtp imap db pg redis cache cdn vpn git ci build node host edge lb "
         "proxy auth sso shop blog static img media video chat portal wiki docs status "
         "monitor grafana kube worker queue search files backup ftp intranet crm erp").split()
ENVS = "prod staging dev qa".split()
SITES = "fra ams lon par nyc sfo sin syd tok".split()
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"
# (types at one generated name, weight)
BUNDLES = [(("A",), 38), (("A", "AAAA"), 14), (("AAAA",), 8), (("CNAME",), 16),
           (("TXT",), 8), (("MX", "TXT"), 8), (("MX",), 4), (("A", "TXT"), 4)]


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)
        self.idx = 0
        self.mx = []

    def host(self):
        r = self.r
        self.idx += 1
        label = f"{r.choice(WORDS)}{self.idx}"
        x = r.random()
        if x < 0.7:
            return f"{label}.{ZONE}"
        if x < 0.9:
            return f"{label}.{r.choice(ENVS)}.{ZONE}"
        return f"{label}.{r.choice(SITES)}.{r.choice(ENVS)}.{ZONE}"

    def tok(self, alphabet, n):
        return "".join(self.r.choices(alphabet, k=n))

    def value(self, t, owner):
        r = self.r
        if t == "A":
            return f"{r.choice((10, 172, 198))}.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(1, 255)}"
        if t == "AAAA":
            return f"2001:db8:{r.randrange(65536):x}:{r.randrange(65536):x}::{r.randrange(1, 65536):x}"
        if t == "MX":
            return f"{r.choice((5, 10, 10, 20, 30))} {r.choice(self.mx)}"
        if t == "CNAME":
            x = r.random()
            if x < 0.5:
                return f"{r.choice(WORDS)}{r.randrange(1, self.idx + 2)}.{ZONE}"
            if x < 0.8:
                return f"d{self.tok(ALNUM, 12)}.cloudfront.example.net."
            return f"{r.choice(WORDS)}-{r.randrange(1000)}.edge.example.org."
        # TXT
        if owner.startswith("_dmarc."):
            return f'"v=DMARC1; p={r.choice(("none", "quarantine", "reject"))}; rua=mailto:dmarc@bench.test"'
        if "._domainkey." in owner:
            rec = "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA" + self.tok(B64, 348)
            return f'"{rec[:255]}" "{rec[255:]}"'  # more than 255 bytes: two strings
        x = r.random()
        if x < 0.4:
            return f'"v=spf1 ip4:10.{r.randrange(256)}.{r.randrange(256)}.0/24 include:_spf.bench.test ~all"'
        if x < 0.7:
            return f'"google-site-verification={self.tok(B64[:62], 43)}"'
        return f'"{self.tok(ALNUM, 32)}"'

    def count(self, t):
        x = self.r.random()
        if t == "A":
            return 1 if x < 0.8 else 2 if x < 0.95 else 3
        if t in ("AAAA", "TXT"):
            return 1 if x < 0.9 else 2
        if t == "MX":
            return 1 if x < 0.4 else 2 if x < 0.9 else 3
        return 1

    def values(self, t, owner, n):
        out = []
        for _ in range(100 * n):
            v = self.value(t, owner)
            if v not in out:
                out.append(v)
                if len(out) == n:
                    break
        return out

    def txt_owner(self, host):
        x = self.r.random()
        if x < 0.25:
            return "_dmarc." + host
        if x < 0.4:
            return f"s{self.r.randrange(1, 3)}._domainkey." + host
        return host


def cmd_freeport(args):
    """A port free for TCP and UDP on 127.0.0.1, none of args."""
    used = set(int(a) for a in args)
    for _ in range(1000):
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            t.bind(("127.0.0.1", 0))
            p = t.getsockname()[1]
            if p in used:
                continue
            u.bind(("127.0.0.1", p))
        except OSError:
            continue
        finally:
            t.close()
            u.close()
        print(p)
        return
    sys.exit("no free port")


def cmd_gen(args):
    """gen RECORDS ZONEFILE JSON SEED: the zone with exactly RECORDS records."""
    n, path, jpath, seed = int(args[0]), args[1], args[2], int(args[3])
    g = Gen(seed)
    sets = []   # [owner, type, ttl, [values]]
    total = 0

    def add(owner, t, ttl, vals):
        nonlocal total
        vals = vals[:n - total]
        if vals:
            sets.append([owner, t, ttl, vals])
            total += len(vals)

    add(ZONE, "SOA", 3600, [f"ns1.{ZONE} hostmaster.{ZONE} 1 3600 600 1209600 300"])
    add(ZONE, "NS", 86400, [f"ns1.{ZONE}", f"ns2.{ZONE}"])
    for h in ("ns1", "ns2"):
        add(f"{h}.{ZONE}", "A", 86400, [g.value("A", "")])
    for i in range(1, 5):
        h = f"mx{i}.{ZONE}"
        g.mx.append(h)
        add(h, "A", 3600, [g.value("A", "")])
        add(h, "AAAA", 3600, [g.value("AAAA", "")])
    add(ZONE, "MX", 3600, [f"10 mx1.{ZONE}", f"20 mx2.{ZONE}"])
    add(ZONE, "TXT", 3600, ['"v=spf1 mx -all"'])
    infra = len(sets)
    bundles = [b for b, _ in BUNDLES]
    weights = [w for _, w in BUNDLES]
    while total < n:
        bundle = g.r.choices(bundles, weights)[0]
        host = g.host()
        for t in bundle:
            owner = g.txt_owner(host) if bundle == ("TXT",) else host
            add(owner, t, g.r.choice(TTLS), g.values(t, owner, g.count(t)))
    assert total == n, total
    with open(path, "w") as f:
        f.write(f"; generated by bench/route53-bench.sh: {n} records, seed {seed}\n$ORIGIN {ZONE}\n$TTL 3600\n")
        for owner, t, ttl, vals in sets:
            for v in vals:
                f.write(f"{owner} {ttl} IN {t} {v}\n")
    with open(jpath, "w") as f:
        json.dump({"infra": infra, "sets": sets, "seed": seed}, f)
    mix = {}
    for s in sets:
        mix[s[1]] = mix.get(s[1], 0) + len(s[3])
    print(f"records={total} rrsets={len(sets)} names={len({s[0] for s in sets})} "
          f"multi_record_rrsets={sum(1 for s in sets if len(s[3]) > 1)} "
          "mix=" + ",".join(f"{t}:{c}" for t, c in sorted(mix.items(), key=lambda x: -x[1])))


def knotc(conf, *a):
    r = subprocess.run(["knotc", "-c", conf, "-t", "10", *a], capture_output=True, text=True, timeout=30)
    if r.returncode != 0 or "OK" not in r.stdout:
        raise RuntimeError(f"knotc {' '.join(a)}: exit {r.returncode}: {r.stdout.strip()} {r.stderr.strip()}")


def transaction(conf, unset, set_):
    """unset = [(owner, type[, value])], set_ = [(owner, ttl, type, value)]."""
    knotc(conf, "zone-begin", ZONE)
    try:
        for u in unset:
            knotc(conf, "zone-unset", ZONE, u[0], u[1], *(u[2].split() if len(u) > 2 else ()))
        for owner, ttl, t, v in set_:
            knotc(conf, "zone-set", ZONE, owner, str(ttl), t, *v.split())
        knotc(conf, "zone-commit", ZONE)
    except BaseException:
        subprocess.run(["knotc", "-c", conf, "zone-abort", ZONE], capture_output=True, timeout=30)
        raise


def load_sets(jpath):
    d = json.load(open(jpath))
    return d["infra"], d["sets"], d["seed"]


def cmd_change1(args):
    """change1 KNOTCONF JSON: one A record of a single-record A RRset replaced."""
    conf, jpath = args
    infra, sets, seed = load_sets(jpath)
    for owner, t, ttl, vals in sets[infra:]:
        if t == "A" and len(vals) == 1:
            break
    new = "192.0.2.200"
    transaction(conf, [(owner, "A", vals[0])], [(owner, ttl, "A", new)])
    print(f"{owner} A {vals[0]} -> {new}")


def cmd_change100(args):
    """change100 KNOTCONF JSON: 34 RRsets added, 33 with one value replaced, 33
    deleted, in one transaction, at 100 distinct names (none the one of change1)."""
    conf, jpath = args
    infra, sets, seed = load_sets(jpath)
    g = Gen(seed + 1)
    g.mx = [f"mx{i}.{ZONE}" for i in range(1, 5)]
    g.idx = 100000
    first_a = next(i for i in range(infra, len(sets)) if sets[i][1] == "A" and len(sets[i][3]) == 1)
    by_owner = {}
    for i in range(infra, len(sets)):
        if i != first_a and sets[i][0] != sets[first_a][0]:
            by_owner.setdefault(sets[i][0], []).append(i)
    owners = sorted(by_owner)
    picked = [by_owner[o][0] for o in g.r.sample(owners, 66)]
    changed, deleted = picked[:33], picked[33:]
    unset, set_ = [], []
    for i in changed:
        owner, t, ttl, vals = sets[i]
        k = g.r.randrange(len(vals))
        new = g.values(t, owner, 1)[0]
        while new in vals:
            new = g.value(t, owner)
        unset.append((owner, t, vals[k]))
        set_.append((owner, ttl, t, new))
    for i in deleted:
        unset.append((sets[i][0], sets[i][1]))
    types = ["A", "AAAA", "TXT", "MX", "CNAME"]
    for k in range(34):
        t = types[k % len(types)]
        owner = f"new{k}.{ZONE}"
        set_.append((owner, 300, t, g.value(t, owner)))
    transaction(conf, unset, set_)
    deleted_records = sum(len(sets[i][3]) for i in deleted)
    print(f"added=34 replaced=33 deleted=33 (records: +34 -{deleted_records})")


def serial(port):
    q = dns.message.make_query(ZONE, "SOA")
    try:
        r = dns.query.udp(q, "127.0.0.1", timeout=0.5, port=int(port))
    except Exception:
        return None
    for rr in r.answer:
        if rr.rdtype == dns.rdatatype.SOA:
            return rr[0].serial
    return None


def cmd_waitsoa(args):
    """waitsoa PORT MIN TIMEOUT: wait until the serial is >= MIN; print it."""
    port, want, timeout = args[0], int(args[1]), float(args[2])
    end = time.time() + timeout
    while time.time() < end:
        s = serial(port)
        if s is not None and s >= want:
            print(s)
            return
        time.sleep(0.05)
    sys.exit(f"serial >= {want} not served on port {port} within {timeout} s")


def cmd_waitport(args):
    port, timeout = int(args[0]), float(args[1])
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"nothing listens on port {port} after {timeout} s")


def cmd_reset(args):
    req = urllib.request.Request(f"{args[0]}/moto-api/reset", data=b"", method="POST")
    with urllib.request.urlopen(req, timeout=30) as r:
        assert r.status == 200


REQ = re.compile(r'"([A-Z]+) (/\S*) HTTP/[0-9.]+" (\d{3})')
RRSET = re.compile(r"^/2013-04-01/hostedzone/([^/?]+)/rrset/?(\?.*)?$")


def cmd_count(args):
    """count LOG FROM: Route 53 requests in the access log after line FROM:
    list change other status_not_2xx [other request lines]."""
    lines = open(args[0], errors="replace").read().splitlines()[int(args[1]):]
    n = {"list": 0, "change": 0, "other": 0, "bad": 0}
    others = []
    for line in lines:
        m = REQ.search(line)
        if not m or not m.group(2).startswith("/2013-04-01/"):
            continue
        if not m.group(3).startswith("2"):
            n["bad"] += 1
        r = RRSET.match(m.group(2))
        if r and m.group(1) == "GET":
            n["list"] += 1
        elif r and m.group(1) == "POST":
            n["change"] += 1
        else:
            n["other"] += 1
            others.append(f"{m.group(1)}_{m.group(2).split('?')[0]}_{m.group(3)}")
    print(n["list"], n["change"], n["other"], n["bad"], *others[:20])


def cpu_s(args):
    try:
        f = open(f"/proc/{args[0]}/stat").read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return -1.0


def cmd_cpu(args):
    print(f"{cpu_s(args):.2f}")


def canon(t, text):
    rd = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.from_text(t), text,
                             origin=dns.name.root, relativize=False)
    wire = rd.to_digestable(dns.name.root)
    rd = dns.rdata.from_wire(dns.rdataclass.IN, rd.rdtype, wire, 0, len(wire))
    return rd.to_text(origin=None, relativize=False)


def octal_to_decimal(text):
    return re.sub(r"\\([0-7]{3})", lambda m: "\\%03d" % int(m.group(1), 8), text)


def name_of(text, octal):
    if octal:
        text = octal_to_decimal(text)
    return dns.name.from_text(text).to_text().lower()


def cmd_verify(args):
    """verify AXFR LISTING: the hosted zone (AWS CLI JSON) equals the zone (dig
    AXFR text), apex SOA and NS left out on both sides; print the RRset count."""
    apex = name_of(ZONE, False)
    want = {}
    for line in open(args[0]):
        if not line.strip() or line.startswith(";"):
            continue
        owner, ttl, cls, t, rdata = (line.split(None, 4) + [""])[:5]
        owner = name_of(owner, False)
        if cls != "IN" or t == "TSIG" or (owner == apex and t in ("SOA", "NS")):
            continue
        s = want.setdefault((owner, t), [int(ttl), set()])
        s[0] = min(s[0], int(ttl))
        s[1].add(canon(t, rdata.strip()))
    want = {k: (v[0], frozenset(v[1])) for k, v in want.items()}
    got = {}
    dup = []
    for rs in json.load(open(args[1]))["ResourceRecordSets"]:
        owner = name_of(rs["Name"], True)
        t = rs["Type"]
        if owner == apex and t in ("SOA", "NS"):
            continue
        vals = [canon(t, octal_to_decimal(r["Value"])) for r in rs.get("ResourceRecords", [])]
        if (owner, t) in got or len(set(vals)) != len(vals):
            dup.append((owner, t))
        got[(owner, t)] = (int(rs.get("TTL", -1)), frozenset(vals))
    diff = sorted(k for k in set(want) | set(got) if want.get(k) != got.get(k))
    if diff or dup:
        for k in diff[:20]:
            print(f"  {k[0]} {k[1]}: hosted zone {got.get(k)}; zone {want.get(k)}", file=sys.stderr)
        for k in dup[:20]:
            print(f"  {k[0]} {k[1]}: listed twice or with duplicate values", file=sys.stderr)
        sys.exit(f"{len(diff)} RRsets differ, {len(dup)} duplicated")
    print(len(want))


def cmd_median(args):
    v = [float(a) for a in args]
    print(f"{statistics.median(v):.2f}" if v else "-")


globals()["cmd_" + sys.argv[1]](sys.argv[2:])
EOF
h() { "$PY" "$tmp/h.py" "$@"; }

# ---------------------------------------------------------------- idle machine
cpu_sample() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }
hz=$(getconf CLK_TCK)
waited=0
LOAD=""
# Wait until the machine is idle (our servers are idle at the call sites): less
# than a quarter of a core busy over one second; waits add up to at most MAX_WAIT s.
wait_idle() {
	local a b busy said=0
	while :; do
		a=$(cpu_sample); sleep 1; b=$(cpu_sample)
		busy=$(awk -v a="$a" -v b="$b" -v hz="$hz" 'BEGIN { printf "%.2f", (b - a) / hz }')
		if awk -v b="$busy" 'BEGIN { exit !(b <= 0.25) }'; then LOAD=$busy; return 0; fi
		if [ "$waited" -ge "$MAX_WAIT" ]; then
			say "WARNING: other processes use $busy cores; measuring $1 anyway"
			LOAD="$busy!"; return 0
		fi
		[ "$said" -eq 1 ] || say "other processes use $busy cores; waiting for the machine to go idle ($1)"
		said=1
		sleep 4; waited=$((waited + 5))
	done
}

# ---------------------------------------------------------------- servers
SECRET=$("$PY" -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')
ports_used=()
freeport() { local p; p=$(h freeport "${ports_used[@]}"); ports_used+=("$p"); echo "$p"; }

knot_conf() { # DIR PORT ZONEFILE
	local d=$1
	mkdir -p "$d/run" "$d/db" "$d/zones"
	cp "$3" "$d/zones/bench.test.zone"
	cat >"$d/knot.conf" <<-EOF
	server:
	    rundir: "$d/run"
	    listen: 127.0.0.1@$2
	log:
	  - target: "$d/knotd.log"
	    any: info
	database:
	    storage: "$d/db"
	key:
	  - id: xfr
	    algorithm: hmac-sha256
	    secret: $SECRET
	acl:
	  - id: xfr
	    address: 127.0.0.0/8
	    key: xfr
	    action: transfer
	template:
	  - id: default
	    storage: "$d/zones"
	    file: "%s.zone"
	    acl: xfr
	    zonefile-sync: -1
	    zonefile-load: difference
	    journal-content: changes
	    serial-policy: increment
	zone:
	  - domain: bench.test
	EOF
}

zonesync_conf() { # DIR PRIMARYPORT HOSTEDZONEID [RATE]
	local d=$1 rate=""
	[ -z "${4:-}" ] || rate="
    rate-limit: $4"
	mkdir -p "$d/state"
	cat >"$d/zonesync.yaml" <<-EOF
	server:
	  listen: [127.0.0.1@$(freeport)]
	  state: $d/state
	  log: { level: info }
	key:
	  - { id: xfr, algorithm: hmac-sha256, secret: $SECRET }
	primary:
	  - { id: p, address: [127.0.0.1@$2], key: xfr }
	target:
	  - id: aws
	    type: route53
	    endpoint: "$ENDPOINT"
	    hosted-zone-id: $3$rate
	zone:
	  - { domain: bench.test, primary: p, target: [aws] }
	EOF
	"$ZONESYNC" check -c "$d/zonesync.yaml" >"$d/check.out" 2>&1 ||
		die "zonesync check rejects $d/zonesync.yaml: $(cat "$d/check.out")"
}

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
fld() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2" | head -n1; }
loglines() { wc -l <"$tmp/moto.log"; }

# ---------------------------------------------------------------- machine
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo "?")
dirty=$(git -C "$root" status --porcelain -- src meson.build 2>/dev/null | awk '{ print $2 }' | tr '\n' ' ')
cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
buildopts=$("$PY" -c "
import json; b = {o['name']: o['value'] for o in json.load(open('$(dirname "$ZONESYNC")/meson-info/intro-buildoptions.json'))}
print(f\"buildtype={b['buildtype']}, -O{b['optimization']}, c_args={' '.join(b['c_args']) or '(none)'}\")" 2>/dev/null || echo '?')
moto_py=$(head -n1 "$MOTO_SERVER" | sed 's/^#!//')
machine="- nproc: $(nproc); CPU: $cpu; RAM: $mem; kernel: $(uname -sr)
- zonesync: git $commit${dirty:+ (uncommitted changes in: $dirty)}, $ZONESYNC ($buildopts)
- $(knotd --version | head -n1); $(dig -v 2>&1 | head -n1)
- moto_server $("$moto_py" -c 'import moto; print(moto.__version__)' 2>/dev/null || echo '?') ($MOTO_SERVER); $("$AWS" --version 2>&1 | head -n1) ($AWS)"
newer=$(find "$root/src" -newer "$ZONESYNC" -type f 2>/dev/null | head -n3 | tr '\n' ' ')
[ -z "$newer" ] || say "WARNING: sources newer than $ZONESYNC: $newer"

# ---------------------------------------------------------------- zone
say "generating the zone ($RECORDS records, seed $SEED)"
zinfo=$(h gen "$RECORDS" "$tmp/bench.test.zone" "$tmp/zone.json" "$SEED")
say "zone: $zinfo"

# ---------------------------------------------------------------- moto_server
MP=$(freeport)
ENDPOINT=http://127.0.0.1:$MP
"$MOTO_SERVER" -H 127.0.0.1 -p "$MP" >"$tmp/moto.log" 2>&1 &
MOTO_PID=$!; PIDS+=("$MOTO_PID")
h waitport "$MP" 60 || die "moto_server did not start: $(tail -n 20 "$tmp/moto.log")"
r53() { "$AWS" --endpoint-url "$ENDPOINT" route53 "$@"; }
# STS at moto too: zonesync asks GetCallerIdentity once per process (the
# account keys its rate limit); it is not a Route 53 request, not counted.
export AWS_ENDPOINT_URL_STS=$ENDPOINT

contenders=(zs)
[ "$FAST_RATE" = 0 ] || contenders+=(fast)
contenders+=(classic)
scenarios=(first one hundred)
declare -A R # R[scenario,contender,run,key]

# measure RUN SCENARIO CONTENDER DIR
# Runs the push under /usr/bin/time (user+sys of the command and every process
# it waited for) and samples the machine's busy time, moto_server's and knotd's
# CPU time around it: what is left is other processes' use during the push.
measure() {
	local run=$1 s=$2 c=$3 d=$4 mark t0 t1 c0 c1 k0 k1 b0 b1 rc line out counts cmd
	wait_idle "$s/$c run $run"
	mark=$(loglines)
	if [ "$c" = classic ]; then
		cmd=(env AWS="$AWS" DIG=dig PYTHON="$PY" "$CLASSIC" -e "$ENDPOINT" -p "$PP" -y "hmac-sha256:xfr:$SECRET"
			"$ZONE" 127.0.0.1 "${HZ[$c]}")
	else
		cmd=("$ZONESYNC" sync -c "$d/zonesync.yaml")
	fi
	c0=$(h cpu "$MOTO_PID"); k0=$(h cpu "$KPID"); b0=$(cpu_sample)
	t0=$(now)
	set +e
	"$TIME" -f '%U %S' -o "$d/$s.time" "${cmd[@]}" >"$d/$s.out" 2>"$d/$s.err"
	rc=$?
	set -e
	t1=$(now)
	b1=$(cpu_sample); k1=$(h cpu "$KPID")
	[ "$rc" -eq 0 ] || die "run $run $s: ${cmd[*]} exited $rc; stderr:
$(tail -n 30 "$d/$s.err")"
	if [ "$c" = classic ]; then
		out=$(cat "$d/$s.out")
		R[$s,$c,$run,calls]=$(fld aws_calls "$out")
		R[$s,$c,$run,detail]="axfr $(fld axfr_s "$out") s, list $(fld list_s "$out") s, diff $(fld diff_s "$out") s, change $(fld change_s "$out") s; $(fld deletes "$out") DELETE + $(fld creates "$out") CREATE in $(fld batches "$out") batches"
	else
		line=$(grep 'target synced:' "$d/$s.err" | tail -n1) ||
			die "run $run $s: no 'target synced' line from zonesync sync; stderr:
$(tail -n 30 "$d/$s.err")"
		R[$s,$c,$run,mode]=$(fld mode "$line")
		R[$s,$c,$run,zsreq]=$(fld requests "$line")
		R[$s,$c,$run,zschanges]=$(fld changes "$line")
		R[$s,$c,$run,detail]="mode=$(fld mode "$line") changes=$(fld changes "$line") requests=$(fld requests "$line") time=$(fld time "$line")"
	fi
	sleep 0.2 # moto writes the access-log line as it answers: let the last one land
	c1=$(h cpu "$MOTO_PID")
	read -r -a counts < <(h count "$tmp/moto.log" "$mark")
	R[$s,$c,$run,time]=$(secs "$t0" "$t1")
	R[$s,$c,$run,req]="${counts[0]}/${counts[1]}/${counts[2]}"
	R[$s,$c,$run,moto]=$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.2f", b - a }')
	R[$s,$c,$run,load]=$LOAD
	[ -s "$d/$s.time" ] || echo "0 0" >"$d/$s.time"
	R[$s,$c,$run,cpu]=$(awk '{ printf "%.2f", $1 + $2 }' "$d/$s.time")
	R[$s,$c,$run,during]=$(awk -v b0="$b0" -v b1="$b1" -v hz="$hz" -v m="${R[$s,$c,$run,moto]}" -v k0="$k0" -v k1="$k1" \
		-v own="${R[$s,$c,$run,cpu]}" -v t="${R[$s,$c,$run,time]}" \
		'BEGIN { o = (b1 - b0) / hz - m - (k1 - k0) - own; if (o < 0) o = 0; printf "%.2f", (t > 0 ? o / t : 0) }')
	[ "${counts[3]}" -eq 0 ] || die "run $run $s $c: ${counts[3]} requests answered with an error status: ${counts[*]:4}"
	[ "${counts[2]}" -eq 0 ] || say "run $run $s $c: other requests: ${counts[*]:4}"
	say "run $run $s $c: ${R[$s,$c,$run,time]} s, requests list/change/other ${R[$s,$c,$run,req]}, cpu ${R[$s,$c,$run,cpu]} s, moto cpu ${R[$s,$c,$run,moto]} s, others ${R[$s,$c,$run,during]} cores; ${R[$s,$c,$run,detail]}"
	if [ "$c" != classic ]; then
		local want=incremental
		[ "$s" != first ] || want=full
		[ "${R[$s,$c,$run,mode]}" = "$want" ] ||
			die "run $run $s: zonesync pushed in mode=${R[$s,$c,$run,mode]}, expected $want: $line"
		[ "$s" = first ] || [ "${counts[0]}" -eq 0 ] ||
			die "run $run $s: zonesync made ${counts[0]} ListResourceRecordSets requests after an IXFR: $line"
		[ "${R[$s,$c,$run,zsreq]}" = $((counts[0] + counts[1] + counts[2])) ] ||
			say "WARNING: run $run $s $c: zonesync logs requests=${R[$s,$c,$run,zsreq]}, moto saw ${R[$s,$c,$run,req]}"
	fi
}

# verify RUN SCENARIO CONTENDER DIR: the hosted zone equals the primary's zone.
verify() {
	local run=$1 s=$2 c=$3 d=$4 n
	r53 list-resource-record-sets --hosted-zone-id "${HZ[$c]}" --output json >"$d/$s.listing.json" ||
		die "run $run $s $c: listing the hosted zone failed"
	n=$(h verify "$rdir/$s.axfr.txt" "$d/$s.listing.json" 2>"$d/$s.verify.err") ||
		die "run $run $s $c: the hosted zone ${HZ[$c]} is not equal to the zone after the push:
$(cat "$d/$s.verify.err")"
	R[$s,rrsets]=$n
}

declare -A HZ
cli=()
for run in $(seq "$RUNS"); do
	rdir=$tmp/run$run
	mkdir -p "$rdir"
	say "run $run: fresh knotd primary, moto reset, fresh hosted zones"
	h reset "$ENDPOINT"
	PP=$(freeport)
	knot_conf "$rdir/knot" "$PP" "$tmp/bench.test.zone"
	knotd -c "$rdir/knot/knot.conf" >"$rdir/knot/stdout.log" 2>&1 &
	KPID=$!; PIDS+=("$KPID")
	h waitsoa "$PP" 1 120 >/dev/null || die "knotd did not load the zone: $(tail -n 20 "$rdir/knot/knotd.log")"
	for c in "${contenders[@]}"; do
		mkdir -p "$rdir/$c"
		HZ[$c]=$(r53 create-hosted-zone --name "$ZONE" --caller-reference "bench-$run-$c-$$" \
			--query HostedZone.Id --output text) || die "create-hosted-zone failed"
		HZ[$c]=${HZ[$c]##*/}
	done
	zonesync_conf "$rdir/zs" "$PP" "${HZ[zs]}"
	[ "$FAST_RATE" = 0 ] || zonesync_conf "$rdir/fast" "$PP" "${HZ[fast]}" "$FAST_RATE"

	# The AWS CLI's start-up: a minimal call, 5 times.
	wait_idle "aws start-up run $run"
	for _ in 1 2 3 4 5; do
		t0=$(now); r53 get-hosted-zone-count --output json >/dev/null; cli+=("$(secs "$t0" "$(now)")")
	done

	# This run's order of the contenders.
	order=()
	n=${#contenders[@]}
	for i in $(seq 0 $((n - 1))); do order+=("${contenders[$(((i + run - 1) % n))]}"); done

	for s in "${scenarios[@]}"; do
		case $s in
		one)
			R[one,what]=$(h change1 "$rdir/knot/knot.conf" "$tmp/zone.json") || die "the one-record change failed: ${R[one,what]}"
			h waitsoa "$PP" 2 30 >/dev/null || die "knotd does not serve serial 2" ;;
		hundred)
			R[hundred,what]=$(h change100 "$rdir/knot/knot.conf" "$tmp/zone.json") || die "the 100 changes failed: ${R[hundred,what]}"
			h waitsoa "$PP" 3 30 >/dev/null || die "knotd does not serve serial 3" ;;
		esac
		dig -y "hmac-sha256:xfr:$SECRET" @127.0.0.1 -p "$PP" +noall +answer "$ZONE" AXFR >"$rdir/$s.axfr.txt"
		grep -q 'SOA' "$rdir/$s.axfr.txt" || die "AXFR for the check failed: $(head -c 300 "$rdir/$s.axfr.txt")"
		for c in "${order[@]}"; do
			measure "$run" "$s" "$c" "$rdir/$c"
		done
		for c in "${order[@]}"; do
			verify "$run" "$s" "$c" "$rdir/$c"
		done
		say "run $run $s: every hosted zone equals the zone (${R[$s,rrsets]} RRsets, apex SOA/NS left out)"
	done
	stop "$KPID"
done

# ---------------------------------------------------------------- report
med() { local s=$1 c=$2 k=$3 v=() r; for r in $(seq "$RUNS"); do v+=("${R[$s,$c,$r,$k]}"); done; h median "${v[@]}"; }
all() { local s=$1 c=$2 k=$3 v=() r; for r in $(seq "$RUNS"); do v+=("${R[$s,$c,$r,$k]}"); done; echo "${v[*]}"; }
# requests: the value if every run agrees, else each run's
reqs() { local a; a=$(all "$1" "$2" req); if [ "$(tr ' ' '\n' <<<"$a" | sort -u | wc -l)" -eq 1 ]; then echo "${a%% *}"; else echo "${a// / | }"; fi; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f×", a / b; else print "-" }'; }
cli_s=$(h median "${cli[@]}")
declare -A label=([first]="1. first sync (empty hosted zone)" [one]="2. one record changed (IXFR)" [hundred]="3. 100 changes in one transaction (IXFR)")

cat <<EOF
## Machine

$machine
- $RUNS runs; in each a fresh knotd primary, moto_server reset and fresh hosted zones; contender order rotated per run

## Zone

\`$ZONE\`, generated (seed $SEED): $zinfo.
Changes: one record: ${R[one,what]}; hundred: ${R[hundred,what]}.
RRsets compared after the last push (apex SOA and NS left out): ${R[hundred,rrsets]}; every hosted zone was equal to the zone after every push.

## Results (median wall time of $RUNS runs; requests list/change/other counted in moto_server's access log)

zonesync with its default rate limit (5 requests/s per target), which is what an operator gets.
Classic = \`bench/classic-recipe.sh\` (dig AXFR + AWS CLI as \`cli53 import --replace\`). Ratio = classic time / zonesync time.

| scenario | zonesync requests (list/change/other) | zonesync time | classic requests (list/change/other) | classic time | ratio |
|---|---|---:|---|---:|---:|
EOF
for s in "${scenarios[@]}"; do
	echo "| ${label[$s]} | $(reqs "$s" zs) | $(med "$s" zs time) s | $(reqs "$s" classic) | $(med "$s" classic time) s | $(ratio "$(med "$s" classic time)" "$(med "$s" zs time)") |"
done
if [ "$FAST_RATE" != 0 ]; then
	for s in "${scenarios[@]}"; do
		echo "| ${label[$s]}, zonesync rate-limit: $FAST_RATE | $(reqs "$s" fast) | $(med "$s" fast time) s | $(reqs "$s" classic) | $(med "$s" classic time) s | $(ratio "$(med "$s" classic time)" "$(med "$s" fast time)") |"
	done
fi
loads=()
for s in "${scenarios[@]}"; do for c in "${contenders[@]}"; do for r in $(seq "$RUNS"); do loads+=("${R[$s,$c,$r,during]}"); done; done; done
cat <<EOF

Other processes' CPU use during the pushes: median $(h median "${loads[@]}") cores, max $(printf '%s\n' "${loads[@]}" | sort -g | tail -n1) (per run below; the machine has $(nproc)).

AWS CLI start-up: a minimal call (\`aws route53 get-hosted-zone-count\`, one tiny request) takes $cli_s s (median of $((RUNS * 5))).

| scenario | classic: aws runs | × start-up = CLI share | classic breakdown (run 1) | CPU s of the command: zonesync / classic | moto_server CPU s: zonesync / rate $FAST_RATE / classic |
|---|---:|---:|---|---|---|
EOF
for s in "${scenarios[@]}"; do
	calls=$(med "$s" classic calls)
	share=$(awk -v n="$calls" -v c="$cli_s" -v t="$(med "$s" classic time)" 'BEGIN { printf "%.1f s (%.0f%%)", n * c, 100 * n * c / t }')
	fastm="-"; [ "$FAST_RATE" = 0 ] || fastm=$(med "$s" fast moto)
	echo "| ${label[$s]} | ${calls%.00} | $share | ${R[$s,classic,1,detail]} | $(med "$s" zs cpu) / $(med "$s" classic cpu) | $(med "$s" zs moto) / $fastm / $(med "$s" classic moto) |"
done
echo
echo "Per run (wall s; requests list/change/other; CPU s of the command and its children; moto_server CPU s;"
echo "other processes' load in cores in the second before the push (! = over 0.25, measured anyway) and during it):"
for s in "${scenarios[@]}"; do
	for c in "${contenders[@]}"; do
		line="- $s $c: $(all "$s" "$c" time) s; $(all "$s" "$c" req); cpu $(all "$s" "$c" cpu); moto $(all "$s" "$c" moto); load before $(all "$s" "$c" load), during $(all "$s" "$c" during)"
		if [ "$c" != classic ]; then
			line+="; zonesync log:"
			for r in $(seq "$RUNS"); do line+=" [${R[$s,$c,$r,detail]}]"; done
		fi
		echo "$line"
	done
done
echo "- aws minimal call: ${cli[*]} s"
say "done"
