#!/usr/bin/env bash
# Benchmark one IXFR made of many small steps (issue 13): does a secondary's
# memory follow the number of steps in the IXFR, or the net change?
#
# For each N (arguments, default "5000 50000"), on loopback, in a fresh
# temporary directory under /tmp:
#
#   1. named (BIND 9.18) as the primary of a small zone bench.test. (serial
#      S0 = 1, 6 records), dynamic updates allowed with the TSIG key xfr,
#      `max-ixfr-ratio unlimited` (else BIND answers a small zone's IXFR with
#      the whole zone) and `max-journal-size unlimited` (else, since 9.12, the
#      journal is kept to about twice the zone's size and the old steps are
#      dropped, so the IXFR from S0 would be an AXFR), `notify no`.
#   2. Two secondaries take the zone at S0: `zonesync sync` once (a zonefile
#      target, a state directory: state.db holds S0, by AXFR), and knotd with
#      the zone as a secondary of named (the SOA refresh is one day, so it does
#      not look again until told).
#   3. N dynamic updates, each its own transaction (one `send` each) through
#      one long-running `nsupdate -v` reading its script from stdin; timed
#      ("setup").  Over TCP: over UDP, 4 of 50,000 updates were lost on a busy
#      2-core machine (nsupdate timed out and went on without them).
#      Step k (serial S0 + k) adds hK.bench.test. 300 A; every 10th step also
#      deletes the record of step k-5; every 20th also adds back the record
#      deleted 10 steps before (step k-15's name, with another address); every
#      100th also replaces the TXT of counter.bench.test. (a record of S0).
#      So the IXFR holds 2N+2 SOAs and about 1.17N other records, while the net
#      change from S0 is 0.95N added A records and one TXT replaced.
#      named's AXFR must then equal the zone the script expects.
#   4. Checks that named answers `dig IXFR=S0` with N steps (2N+2 SOA records),
#      not the whole zone; its time and record count are reported.
#   5. zonesync: `zonesync sync` (one IXFR of N steps) under /usr/bin/time -v:
#      wall time, "Maximum resident set size", its log line "zone transferred:
#      kind=... records=... messages=...", and the zonefile target's file
#      compared with named's AXFR (every record, normalized).  Its address space
#      is capped (ulimit -v, BENCH_MEM_CAP_MB, default 70% of RAM): a run that
#      does not fit is reported as "did not finish under X GB".
#   6. knotd: VmHWM before, `knotc zone-refresh` (SOA query, then IXFR), time
#      until it answers serial S0+N, VmHWM after (its peak is the process's
#      high-water mark: the table gives it and its growth); its log must show
#      an incoming IXFR and no AXFR; its AXFR is compared with named's.
#
#   meson setup build-rel --buildtype=release && ninja -C build-rel
#   bench/ixfr-steps-bench.sh [N ...] [> report.md]
#   ZONESYNC_BIN=/path/to/zonesync bench/ixfr-steps-bench.sh 5000 50000
#
# The report (markdown) goes to stdout, progress to stderr.  Environment (optional):
#   ZONESYNC_BIN=path     binary (default build-rel/zonesync)
#   BENCH_MEM_CAP_MB=MB   address-space cap of `zonesync sync` (default 70% of MemTotal; 0: none)
#   BENCH_KEEP=dir        copy every log, config, zone and /usr/bin/time output there before cleaning up
#
# Needs named, nsupdate, dig (bind9, bind9-dnsutils), knotd, knotc (knot),
# /usr/bin/time, /usr/bin/python3 with dnspython.  MB = 10^6 bytes.
# Exit status: 0 done (a run over the cap is a result, not a failure); 2 something
# failed (a server, an update, an AXFR-style answer, a copy unequal to named's
# zone): the numbers are then not to be trusted, and no report is printed.
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
ZONESYNC_BIN=${ZONESYNC_BIN:-$root/build-rel/zonesync}
STEPS=${*:-5000 50000}
KEEP=${BENCH_KEEP:-}
PY=/usr/bin/python3 # has dnspython
TIME=/usr/bin/time
ZONE=bench.test.
S0=1

die() { echo "ixfr-steps-bench: FAIL: $*" >&2; exit 2; }
say() { echo "ixfr-steps-bench: $(date +%T) $*" >&2; }

for t in named nsupdate dig knotd knotc "$TIME" "$PY" awk; do
	command -v "$t" >/dev/null || die "$t not found"
done
"$PY" -c 'import dns.rdata' 2>/dev/null || die "$PY has no dnspython"
[ -x "$ZONESYNC_BIN" ] || die "no $ZONESYNC_BIN: meson setup build-rel --buildtype=release && ninja -C build-rel"
for n in $STEPS; do
	[[ $n =~ ^[1-9][0-9]*$ ]] || die "N must be a positive integer: $n"
done
mem_total_kb=$(awk '/^MemTotal/ { print $2 }' /proc/meminfo)
CAP_MB=${BENCH_MEM_CAP_MB:-$((mem_total_kb * 7 / 10 / 1000))}

tmp=$(mktemp -d /tmp/ixfr-steps-bench.XXXXXX)
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
		(cd "$tmp" && find . -type f \( -name '*.log' -o -name '*.conf' -o -name '*.yaml' -o -name '*.txt' \
			-o -name '*.zone' -o -name '*.time' -o -name '*.out' \) -exec cp --parents {} "$KEEP" \;) 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo "ixfr-steps-bench: FAIL: line $LINENO: $BASH_COMMAND" >&2' ERR
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
import random, socket, sys, time
import dns.exception, dns.message, dns.name, dns.rdata, dns.rdataclass, dns.rdatatype

ZONE = "bench.test."

def addr(k, second=0):
    """A distinct address per step (198.18.0.0/15, the benchmarking range)."""
    return f"198.{18 + second}.{(k >> 8) & 255}.{k & 255}"  # past 65535 addresses repeat, names do not

INITIAL = [
    f"{ZONE} 300 IN NS ns.{ZONE}",
    f"ns.{ZONE} 300 IN A 192.0.2.1",
    f"www.{ZONE} 300 IN A 192.0.2.2",
    f"{ZONE} 300 IN MX 10 mail.{ZONE}",
    f"mail.{ZONE} 300 IN A 192.0.2.3",
    f'counter.{ZONE} 300 IN TXT "step-0"',
]

def cmd_zone(args):
    """zone PATH: the zone at serial S0 (SOA refresh one day: knotd waits to be told)."""
    with open(args[0], "w") as f:
        f.write(f"{ZONE} 300 IN SOA ns.{ZONE} hostmaster.{ZONE} 1 86400 3600 2419200 300\n")
        f.write("".join(r + "\n" for r in INITIAL))

def cmd_updates(args):
    """updates N PORT SCRIPT EXPECTED: the nsupdate script of N transactions, and the
    zone (without SOA) the primary must hold after it."""
    n, port, script, expected = int(args[0]), args[1], args[2], args[3]
    h = {}  # live hK records: k -> address
    counter = "step-0"
    ops = {"add": 0, "del": 0}
    with open(script, "w") as f:
        f.write(f"server 127.0.0.1 {port}\nzone {ZONE}\n")
        for k in range(1, n + 1):
            f.write(f"update add h{k}.{ZONE} 300 A {addr(k)}\n")
            h[k] = addr(k); ops["add"] += 1
            if k % 10 == 0:
                f.write(f"update delete h{k - 5}.{ZONE} A\n")
                del h[k - 5]; ops["del"] += 1
            if k % 20 == 0 and k >= 20:
                f.write(f"update add h{k - 15}.{ZONE} 300 A {addr(k - 15, 1)}\n")
                h[k - 15] = addr(k - 15, 1); ops["add"] += 1
            if k % 100 == 0:
                f.write(f"update delete counter.{ZONE} TXT\n")
                f.write(f'update add counter.{ZONE} 300 TXT "step-{k}"\n')
                counter = f"step-{k}"; ops["add"] += 1; ops["del"] += 1
            f.write("send\n")
        f.write("quit\n")
    with open(expected, "w") as f:
        for r in INITIAL:
            if r.startswith("counter."):
                r = f'counter.{ZONE} 300 IN TXT "{counter}"'
            f.write(r + "\n")
        f.writelines(f"h{k}.{ZONE} 300 IN A {a}\n" for k, a in sorted(h.items()))
    print(ops["add"], ops["del"])

def norm(owner, ttl, rdtype, rdata):
    t = dns.rdatatype.from_text(rdtype)
    rd = dns.rdata.from_text(dns.rdataclass.IN, t, rdata, origin=dns.name.root, relativize=False)
    wire = rd.to_digestable(dns.name.root)
    rd = dns.rdata.from_wire(dns.rdataclass.IN, t, wire, 0, len(wire))
    return (dns.name.from_text(owner).to_text().lower(), int(ttl), dns.rdatatype.to_text(t),
            rd.to_text(origin=None, relativize=False))

def records(path, soa=True):
    """Master-file lines `owner ttl IN TYPE rdata` (dig +answer, the zonefile
    target): a set of normalized records; TSIG and comments skipped."""
    out = set()
    for line in open(path):
        line = line.strip()
        if not line or line.startswith(";"):
            continue
        f = line.split(None, 4)
        if len(f) < 5 or f[2].upper() != "IN" or f[3].upper() == "TSIG":
            continue
        if f[3].upper() == "SOA" and not soa:
            continue
        out.add(norm(f[0], f[1], f[3], f[4]))
    return out

def cmd_same(args):
    """same A B [nosoa]: exit 1 (and say what differs) unless the record sets are equal;
    print the number of records."""
    soa = len(args) < 3
    a, b = records(args[0], soa), records(args[1], soa)
    if a != b:
        print(f"{len(a - b)} records only in {args[0]}: {sorted(a - b)[:5]}\n"
              f"{len(b - a)} only in {args[1]}: {sorted(b - a)[:5]}", file=sys.stderr)
        sys.exit(1)
    print(len(a))

def cmd_net(args):
    """net OLD NEW: records (SOA left out) added, deleted, and RRsets touched."""
    a, b = records(args[0], False), records(args[1], False)
    sets = {(r[0], r[2]) for r in a ^ b}
    print(len(b - a), len(a - b), len(sets))

def cmd_ixfr(args):
    """ixfr FILE: (dig +answer IXFR) records, SOA records, whether it is AXFR-style."""
    recs = []
    for line in open(args[0]):
        f = line.split(None, 4)
        if len(f) == 5 and not line.startswith(";") and f[3] != "TSIG":
            recs.append(f[3])
    soas = sum(1 for t in recs if t == "SOA")
    axfr_style = len(recs) > 2 and recs[0] == "SOA" and recs[1] != "SOA"
    print(len(recs), soas, "axfr-style" if axfr_style else "incremental")

def cmd_freeport(args):
    """A port free for TCP and UDP on 127.0.0.1, none of args."""
    used = set(int(a) for a in args)
    for _ in range(1000):
        p = random.randrange(20000, 61000)
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

def serial(sock, q):
    q.id = random.randrange(65536)
    try:
        sock.send(q.to_wire())
        sock.settimeout(0.2)
        while True:
            r = dns.message.from_wire(sock.recv(65535))
            if r.id == q.id:
                break
    except (OSError, socket.timeout, dns.exception.DNSException):
        return None
    for rr in r.answer:
        if rr.rdtype == dns.rdatatype.SOA:
            return rr[0].serial
    return None

def hwm(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return -1

def cmd_waitsoa(args):
    """waitsoa PORT SERIAL TIMEOUT PID: poll (10 ms) until the SOA serial is SERIAL;
    print the epoch time it was seen and PID's VmHWM (kB)."""
    port, want, timeout, pid = int(args[0]), int(args[1]), float(args[2]), args[3]
    q = dns.message.make_query(ZONE, "SOA")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect(("127.0.0.1", port))
    end = time.time() + timeout
    while time.time() < end:
        if serial(s, q) == want:
            print(f"{time.time():.6f} {hwm(pid)}")
            return
        try:
            open(f"/proc/{pid}/status").close()
        except OSError:
            sys.exit(f"process {pid} is gone")
        time.sleep(0.01)
    sys.exit(f"serial {want} not seen on port {port} within {timeout} s")

def ticks(pid):
    try:
        f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return int(f[11]) + int(f[12])
    except OSError:
        return None

def cmd_idle(args):
    """idle QUIET LIMIT PID...: until none of the PIDs used CPU for QUIET seconds."""
    quiet, limit, pids = float(args[0]), float(args[1]), args[2:]
    end = time.time() + limit
    last, since = [ticks(p) for p in pids], time.time()
    while time.time() < end:
        time.sleep(0.05)
        cur = [ticks(p) for p in pids]
        if cur != last:
            last, since = cur, time.time()
        elif time.time() - since >= quiet:
            return
    print(f"warning: {pids} still busy after {limit} s", file=sys.stderr)

globals()["cmd_" + sys.argv[1]](sys.argv[2:])
EOF
h() { "$PY" "$tmp/h.py" "$@"; }

SECRET=$("$PY" -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')
ports_used=()
freeport() { local p; p=$(h freeport "${ports_used[@]}"); ports_used+=("$p"); echo "$p"; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
mb() { awk -v k="$1" 'BEGIN { printf "%.0f", k * 1024 / 1e6 }'; }
hwm() { awk '/^VmHWM/ { print $2 }' "/proc/$1/status"; }
cputicks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; } # utime + stime
fld() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }
# dig_xfr PORT TYPE OUT: a signed transfer from 127.0.0.1@PORT into OUT (answer section only).
dig_xfr() {
	dig -y "hmac-sha256:xfr:$SECRET" @127.0.0.1 -p "$1" +noall +answer +time=30 +tries=1 \
		"$ZONE" "$2" >"$3" || die "dig $2 from port $1 failed"
	! grep -qE '^; (Transfer failed|communications error)|connection refused' "$3" ||
		die "dig $2 from port $1: $(grep '^;' "$3" | head -n1)"
}

named_conf() { # DIR PORT
	cat >"$1/named.conf" <<-EOF
	key "xfr" { algorithm hmac-sha256; secret "$SECRET"; };
	controls { };
	options {
	    directory "$1";
	    pid-file "$1/named.pid";
	    session-keyfile "$1/session.key";
	    managed-keys-directory "$1";
	    listen-on port $2 { 127.0.0.1; };
	    listen-on-v6 { none; };
	    recursion no;
	    dnssec-validation no;
	    notify no;
	    allow-transfer { key "xfr"; };
	    max-ixfr-ratio unlimited;
	    max-journal-size unlimited;
	};
	zone "$ZONE" { type primary; file "$1/bench.test.zone"; allow-update { key "xfr"; }; };
	EOF
}

knot_conf() { # DIR PORT PRIMARYPORT: Knot's defaults otherwise (as bench/secondary-bench.sh)
	mkdir -p "$1/run" "$1/db" "$1/zones"
	cat >"$1/knot.conf" <<-EOF
	server:
	    rundir: "$1/run"
	    listen: 127.0.0.1@$2
	log:
	  - target: "$1/knotd.log"
	    any: info
	database:
	    storage: "$1/db"
	key:
	  - id: xfr
	    algorithm: hmac-sha256
	    secret: $SECRET
	remote:
	  - id: primary
	    address: 127.0.0.1@$3
	    key: xfr
	acl:
	  - id: xfr
	    address: 127.0.0.0/8
	    key: xfr
	    action: transfer
	template:
	  - id: default
	    storage: "$1/zones"
	    file: "%s.zone"
	    master: primary
	    acl: xfr
	zone:
	  - domain: $ZONE
	EOF
}

zonesync_conf() { # DIR PORT PRIMARYPORT
	mkdir -p "$1/state" "$1/out"
	cat >"$1/zonesync.yaml" <<-EOF
	server:
	  listen: [127.0.0.1@$2]
	  state: $1/state
	  log: { level: info }
	key:
	  - { id: xfr, algorithm: hmac-sha256, secret: $SECRET }
	primary:
	  - { id: p, address: [127.0.0.1@$3], key: xfr }
	target:
	  - { id: file, type: zonefile, path: "$1/out/%s.zone" }
	zone:
	  - { domain: $ZONE, primary: p, target: [file], transfer-timeout: 1h }
	EOF
	"$ZONESYNC_BIN" check -c "$1/zonesync.yaml" >/dev/null || die "zonesync check rejects $1/zonesync.yaml"
}

# zonesync_sync DIR NAME [cap MB]: one `zonesync sync` under /usr/bin/time -v; its
# stderr in DIR/NAME.log, stdout in DIR/NAME.out, time in DIR/NAME.time; exit status.
zonesync_sync() {
	local d=$1 name=$2 cap=${3:-0}
	(
		[ "$cap" -eq 0 ] || ulimit -v $((cap * 1000 * 1000 / 1024))
		exec "$TIME" -v -o "$d/$name.time" "$ZONESYNC_BIN" sync -c "$d/zonesync.yaml" \
			>"$d/$name.out" 2>"$d/$name.log"
	)
}
xfr_line() { grep -h 'zone transferred:' "$1" | tail -n1 || true; }

# ---------------------------------------------------------------- machine
commit=$(git -C "$(dirname "$ZONESYNC_BIN")" rev-parse --short HEAD 2>/dev/null) &&
	commit="git $commit of the checkout the binary is in" || commit="not in a git checkout"
cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
machine="- nproc: $(nproc); CPU: $cpu; RAM: $(awk -v k="$mem_total_kb" 'BEGIN { printf "%.1f GiB", k / 1048576 }'); kernel: $(uname -sr)
- $(named -v | head -n1); knotd $(knotd --version | awk '{ print $NF; exit }'); $(dig -v 2>&1 | head -n1)
- zonesync: $ZONESYNC_BIN ($commit); address space of \`zonesync sync\` capped at $CAP_MB MB (0: none)"
say "zonesync $ZONESYNC_BIN; steps: $STEPS; cap $CAP_MB MB"

declare -A R
for N in $STEPS; do
	d=$tmp/$N
	mkdir -p "$d/named" "$d/knot" "$d/zs"
	NP=$(freeport); KP=$(freeport); ZP=$(freeport)
	S1=$((S0 + N))

	# --- 1. named, the primary
	h zone "$d/named/bench.test.zone"
	named_conf "$d/named" "$NP"
	say "[$N] named on port $NP"
	named -g -4 -c "$d/named/named.conf" >"$d/named/named.log" 2>&1 &
	NPID=$!; PIDS+=("$NPID")
	h waitsoa "$NP" "$S0" 30 "$NPID" >/dev/null || { tail -n 20 "$d/named/named.log" >&2; die "named did not start"; }
	dig_xfr "$NP" AXFR "$d/axfr0.txt"

	# --- 2. the secondaries at S0
	zonesync_conf "$d/zs" "$ZP" "$NP"
	zonesync_sync "$d/zs" sync0 || { cat "$d/zs/sync0.log" >&2; die "the first zonesync sync failed"; }
	line=$(xfr_line "$d/zs/sync0.log")
	[ "$(fld kind "$line")" = AXFR ] && [ "$(fld serial "$line")" = "$S0" ] ||
		die "zonesync's first sync: $line"
	knot_conf "$d/knot" "$KP" "$NP"
	say "[$N] knotd secondary on port $KP"
	knotd -c "$d/knot/knot.conf" >"$d/knot/stdout.log" 2>&1 &
	KPID=$!; PIDS+=("$KPID")
	h waitsoa "$KP" "$S0" 60 "$KPID" >/dev/null || { tail -n 20 "$d/knot/knotd.log" >&2; die "knotd did not get S0"; }

	# --- 3. N dynamic updates, one transaction each, one nsupdate process
	read -r "R[$N,adds]" "R[$N,dels]" < <(h updates "$N" "$NP" "$d/updates.txt" "$d/expected.txt")
	say "[$N] $N updates (${R[$N,adds]} adds, ${R[$N,dels]} deletes) through one nsupdate -v"
	t0=$(date +%s.%N)
	nsupdate -v -y "hmac-sha256:xfr:$SECRET" <"$d/updates.txt" >"$d/nsupdate.log" 2>&1 ||
		{ tail -n 5 "$d/nsupdate.log" >&2; die "nsupdate failed"; }
	t1=$(date +%s.%N)
	R[$N,setup]=$(secs "$t0" "$t1")
	[ ! -s "$d/nsupdate.log" ] || say "[$N] nsupdate said: $(head -c 300 "$d/nsupdate.log")"
	h waitsoa "$NP" "$S1" 60 "$NPID" >/dev/null || die "named does not serve serial $S1 after the updates"
	h idle 1.0 300 "$NPID"
	dig_xfr "$NP" AXFR "$d/axfr1.txt"
	h same "$d/axfr1.txt" "$d/expected.txt" nosoa >/dev/null || die "named's zone is not the expected one after the updates"
	read -r "R[$N,net_add]" "R[$N,net_del]" "R[$N,net_sets]" < <(h net "$d/axfr0.txt" "$d/axfr1.txt")
	R[$N,jnl]=$(stat -c %s "$d/named/bench.test.zone.jnl")
	say "[$N] setup ${R[$N,setup]} s; net +${R[$N,net_add]} -${R[$N,net_del]} records; journal ${R[$N,jnl]} bytes"

	# --- 4. named answers IXFR=S0 with N steps
	t0=$(date +%s.%N)
	dig -y "hmac-sha256:xfr:$SECRET" @127.0.0.1 -p "$NP" +noall +answer +time=60 +tries=1 \
		"$ZONE" "IXFR=$S0" >"$d/ixfr.txt" || die "dig IXFR failed"
	t1=$(date +%s.%N)
	R[$N,dig]=$(secs "$t0" "$t1")
	read -r "R[$N,ixfr_recs]" "R[$N,ixfr_soas]" style < <(h ixfr "$d/ixfr.txt")
	[ "$style" = incremental ] && [ "${R[$N,ixfr_soas]}" -eq $((2 * N + 2)) ] ||
		die "named's IXFR=$S0 is $style with ${R[$N,ixfr_soas]} SOA records (want incremental, $((2 * N + 2)))"
	rm -f "$d/ixfr.txt"
	h idle 1.0 60 "$NPID" "$KPID"

	# --- 5. zonesync: one IXFR of N steps
	say "[$N] zonesync sync"
	R[$N,zs_load]=$(cut -d' ' -f1 /proc/loadavg)
	zrc=0
	zonesync_sync "$d/zs" sync1 "$CAP_MB" || zrc=$?
	R[$N,zs_rss]=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$d/zs/sync1.time")
	R[$N,zs_wall]=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.2f", s }' "$d/zs/sync1.time")
	R[$N,zs_cpu]=$(awk -F': ' '/User time/ { u = $2 } /System time/ { s = $2 } END { printf "%.2f", u + s }' "$d/zs/sync1.time")
	line=$(xfr_line "$d/zs/sync1.log")
	R[$N,zs_line]=${line#*zone transferred: }
	# zs_ok: 1 one IXFR; 2 the IXFR ran out of memory under the cap and zonesync fell back
	# to AXFR (its log: "IXFR failed, trying AXFR: ... error=out of memory"); 0 no transfer.
	R[$N,zs_ok]=0
	R[$N,zs_why]=$(grep -hE 'IXFR failed|out of memory|[Cc]annot allocate|terminated by signal' \
		"$d/zs/sync1.log" "$d/zs/sync1.time" | head -n1 | sed 's/^[^ ]* //' || true)
	over_cap=0
	[ "$CAP_MB" -eq 0 ] || ! grep -qiE 'out of memory|alloc|terminated by signal' "$d/zs/sync1.log" "$d/zs/sync1.time" ||
		over_cap=1
	if [ "$zrc" -eq 0 ] && [ -n "$line" ]; then
		[ "$(fld serial "$line")" = "$S1" ] || die "zonesync transferred serial $(fld serial "$line"), not $S1"
		got=$(h same "$d/zs/out/bench.test.zone" "$d/axfr1.txt") ||
			die "zonesync's zonefile is not named's zone"
		R[$N,zs_records]=$got
		if [ "$(fld kind "$line")" = IXFR ]; then
			R[$N,zs_ok]=1
		elif [ "$over_cap" -eq 1 ]; then
			R[$N,zs_ok]=2
		else
			die "zonesync's transfer was not one IXFR: $line ${R[$N,zs_why]}"
		fi
		say "[$N] zonesync: ${R[$N,zs_wall]} s, $(mb "${R[$N,zs_rss]}") MB; ${R[$N,zs_line]}${R[$N,zs_why]:+ (after: ${R[$N,zs_why]})}"
	elif [ "$over_cap" -eq 1 ]; then
		say "[$N] zonesync did not finish under the cap ($CAP_MB MB): ${R[$N,zs_why]}"
	else
		tail -n 20 "$d/zs/sync1.log" >&2
		die "zonesync sync failed (exit $zrc)"
	fi
	h idle 1.0 60 "$NPID" "$KPID"

	# --- 6. knotd: zone-refresh, one IXFR of N steps
	say "[$N] knotd zone-refresh"
	R[$N,k_hwm0]=$(hwm "$KPID")
	R[$N,k_load]=$(cut -d' ' -f1 /proc/loadavg)
	c0=$(cputicks "$KPID")
	axfr_before=$(grep -c 'AXFR, incoming' "$d/knot/knotd.log" || true)
	t0=$(date +%s.%N)
	knotc -c "$d/knot/knot.conf" zone-refresh "$ZONE" >/dev/null || die "knotc zone-refresh failed"
	read -r t1 "R[$N,k_hwm1]" < <(h waitsoa "$KP" "$S1" 3600 "$KPID") ||
		{ tail -n 20 "$d/knot/knotd.log" >&2; die "knotd did not reach serial $S1"; }
	R[$N,k_wall]=$(secs "$t0" "$t1")
	c1=$(cputicks "$KPID")
	R[$N,k_cpu]=$(awk -v a="$c0" -v b="$c1" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", (b - a) / hz }')
	h idle 1.0 120 "$KPID"
	R[$N,k_hwm2]=$(hwm "$KPID")
	axfr_after=$(grep -c 'AXFR, incoming' "$d/knot/knotd.log" || true)
	[ "$axfr_after" -eq "$axfr_before" ] || die "knotd refreshed by AXFR: $(grep 'AXFR, incoming' "$d/knot/knotd.log" | tail -n1)"
	R[$N,k_line]=$(grep 'IXFR, incoming.*finished' "$d/knot/knotd.log" | tail -n1 | sed 's/.*finished, //' || true)
	[ -n "${R[$N,k_line]}" ] || die "knotd's log has no finished incoming IXFR"
	dig_xfr "$KP" AXFR "$d/knot-axfr.txt"
	h same "$d/knot-axfr.txt" "$d/axfr1.txt" >/dev/null || die "knotd's zone is not named's"
	say "[$N] knotd: ${R[$N,k_wall]} s, VmHWM $(mb "${R[$N,k_hwm0]}") -> $(mb "${R[$N,k_hwm2]}") MB; ${R[$N,k_line]}"

	stop "$KPID"
	stop "$NPID"
done

# ---------------------------------------------------------------- report
echo "## IXFR of N steps from named: zonesync sync and knotd as secondaries"
echo
echo "$machine"
echo
echo "Step mix: every step adds one A record; every 10th also deletes the record of step k-5; every 20th"
echo "also adds back the record deleted 10 steps before (new address); every 100th replaces a TXT record."
echo "MB = 10^6 bytes. zonesync: \`/usr/bin/time -v zonesync sync\` (wall, Maximum resident set size)."
echo "knotd: \`knotc zone-refresh\` to answering the new serial; VmHWM of the process after (growth from before)."
echo
echo "| N (steps) | net records changed (+added / -deleted) | zonesync time | zonesync peak RSS | knotd time | knotd VmHWM (growth) | ratio zonesync/knotd: time / memory |"
echo "|---:|---:|---:|---:|---:|---:|---:|"
for N in $STEPS; do
	net="$((R[$N,net_add] + R[$N,net_del])) (+${R[$N,net_add]} / -${R[$N,net_del]})"
	kt="${R[$N,k_wall]} s"
	km="$(mb "${R[$N,k_hwm2]}") MB (+$(mb $((R[$N,k_hwm2] - R[$N,k_hwm0]))) MB)"
	cap_gb=$(awk -v m="$CAP_MB" 'BEGIN { printf "%.1f", m / 1000 }')
	if [ "${R[$N,zs_ok]}" -eq 1 ]; then
		zt="${R[$N,zs_wall]} s"; zm="$(mb "${R[$N,zs_rss]}") MB"
		ratio=$(awk -v a="${R[$N,zs_wall]}" -v b="${R[$N,k_wall]}" -v c="${R[$N,zs_rss]}" -v e="${R[$N,k_hwm2]}" \
			'BEGIN { printf "%.1fx / %.1fx", (b > 0 ? a / b : 0), c / e }')
	elif [ "${R[$N,zs_ok]}" -eq 2 ]; then
		zt="IXFR did not finish under $cap_gb GB (then AXFR; ${R[$N,zs_wall]} s in all)"
		zm="> cap (peak seen $(mb "${R[$N,zs_rss]}") MB)"
		ratio="-"
	else
		zt="did not finish under $cap_gb GB (${R[$N,zs_wall]} s)"
		zm="> cap (peak seen $(mb "${R[$N,zs_rss]}") MB)"
		ratio="-"
	fi
	echo "| $N | $net | $zt | $zm | $kt | $km | $ratio |"
done
echo
for N in $STEPS; do
	echo "- N=$N: setup (one \`nsupdate -v\`, $N sends; ${R[$N,adds]} adds, ${R[$N,dels]} deletes) ${R[$N,setup]} s ($(awk -v s="${R[$N,setup]}" -v n="$N" 'BEGIN { printf "%.2f", s * 1000 / n }') ms a step);" \
		"named's journal ${R[$N,jnl]} bytes; \`dig IXFR=$S0\`: ${R[$N,ixfr_recs]} records, ${R[$N,ixfr_soas]} of them SOA (= 2N+2: $N steps), ${R[$N,dig]} s."
	if [ "${R[$N,zs_ok]}" -eq 1 ]; then
		echo "  zonesync: ${R[$N,zs_line]}; CPU ${R[$N,zs_cpu]} s (user + system); zonefile = named's AXFR (${R[$N,zs_records]} records)."
	elif [ "${R[$N,zs_ok]}" -eq 2 ]; then
		echo "  zonesync: the IXFR ran out of memory under the cap of $CAP_MB MB (\`${R[$N,zs_why]}\`), then"
		echo "  ${R[$N,zs_line]}; CPU ${R[$N,zs_cpu]} s; zonefile = named's AXFR (${R[$N,zs_records]} records)."
	else
		echo "  zonesync: did not finish under the cap of $CAP_MB MB: \`${R[$N,zs_why]}\`; CPU ${R[$N,zs_cpu]} s."
	fi
	echo "  1-minute load average (all processes; 2 or more on 2 cores is a busy machine) before zonesync ${R[$N,zs_load]}, before knotd ${R[$N,k_load]}."
	echo "  knotd: IXFR ${R[$N,k_line]}; CPU ${R[$N,k_cpu]} s from zone-refresh to the new serial; VmHWM before $(mb "${R[$N,k_hwm0]}") MB, at the new serial $(mb "${R[$N,k_hwm1]}") MB, settled $(mb "${R[$N,k_hwm2]}") MB; its AXFR = named's."
done
