#!/usr/bin/env bash
# Benchmark `zonesync run` as a DNS secondary against Knot DNS, on loopback:
#
#   1. AXFR (TSIG) of a zone of N records from knotd into zonesync: zonesync's own
#      transfer time (log time=), wall time from start to the log line, peak RSS;
#      beside it dig and kdig AXFR of the same zone, and knotd as a secondary
#      (start to serving the primary's serial, peak RSS).
#   2. One-record changes on the primary (knotc zone-begin/zone-set/zone-commit):
#      latency from zone-commit returning to zonesync's "zone transferred" log line,
#      and to a knotd secondary answering the new serial.  Every change must be IXFR.
#   3. NOTIFY answers per second on one core (zonesync pinned to CPU 0, the load
#      generator to the last CPU), unsigned and TSIG-signed, windowed and burst.
#
#   meson setup build-rel --buildtype=release && ninja -C build-rel
#   bench/secondary-bench.sh [> report.md]
#
# The report (markdown) goes to stdout, progress to stderr.  Environment (optional):
#   ZONESYNC=path          binary (default build-rel/zonesync)
#   NOTIFY_FLOOD=path      load generator (default build-rel/bench/notify-flood)
#   BENCH_SIZES="N ..."    zone sizes in A records (default "100000 1000000")
#   BENCH_CHANGES=N        one-record changes per size and per secondary (default 100)
#   BENCH_FLOOD=N          NOTIFYs per windowed flood run (default 200000)
#   BENCH_WINDOW=N         outstanding NOTIFYs in the windowed runs (default 1024)
#   BENCH_BURST=N          NOTIFYs per burst run (default 20000)
#   BENCH_NOTIFY_ZONE=N    records of the zone used in part 3 (default 1000)
#   BENCH_SEED=N           generator seed (default 20261127)
#   BENCH_MAX_WAIT=s       total wait for other processes to go idle (default 600)
#   BENCH_KEEP=dir         copy every log and config there before cleaning up
#
# Exit status: 0 all goals met, 1 a goal missed, 2 something failed (a transfer,
# a change by AXFR, a crash, a tool): the numbers are then not to be trusted.
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
ZONESYNC=${ZONESYNC:-$root/build-rel/zonesync}
NOTIFY_FLOOD=${NOTIFY_FLOOD:-$root/build-rel/bench/notify-flood}
SIZES=${BENCH_SIZES:-100000 1000000}
CHANGES=${BENCH_CHANGES:-100}
FLOOD=${BENCH_FLOOD:-200000}
WINDOW=${BENCH_WINDOW:-1024}
BURST=${BENCH_BURST:-20000}
NOTIFY_ZONE=${BENCH_NOTIFY_ZONE:-1000}
SEED=${BENCH_SEED:-20261127}
MAX_WAIT=${BENCH_MAX_WAIT:-600}
KEEP=${BENCH_KEEP:-}
PY=/usr/bin/python3 # has dnspython
TIME=/usr/bin/time

# Goals.
GOAL_AXFR_1M_S=3.0     # zonesync AXFR time (log) of the 1,000,000-record zone
GOAL_IXFR_P50_MS=10    # zonesync p50 change latency, every size
GOAL_NOTIFY_RATE=50000 # NOTIFY answers/s, windowed runs
# Anchors measured before on this machine (knotd as a secondary).
declare -A ANCHOR_AXFR=([1000000]="2.3 s / 407 MB")
declare -A ANCHOR_IXFR=([100000]="119 ms" [1000000]="951 ms")

die() { echo "secondary-bench: FAIL: $*" >&2; exit 2; }
say() { echo "secondary-bench: $*" >&2; }

for t in knotd knotc kdig dig "$TIME" "$PY" taskset awk; do
	command -v "$t" >/dev/null || die "$t not found"
done
"$PY" -c 'import dns.message' 2>/dev/null || die "$PY has no dnspython"
[ -x "$ZONESYNC" ] && [ -x "$NOTIFY_FLOOD" ] ||
	die "build first: meson setup build-rel --buildtype=release && ninja -C build-rel"

tmp=$(mktemp -d /tmp/secondary-bench.XXXXXX)
PIDS=()
failures=()
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
		(cd "$tmp" && find . \( -name '*.log' -o -name '*.conf' -o -name '*.yaml' -o -name '*.txt' \) \
			-exec cp --parents {} "$KEEP" \;) 2>/dev/null || true
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
import datetime, os, random, re, socket, subprocess, sys, time
import dns.message, dns.rdatatype

def hwm(pid):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return -1

def cpu_ticks(pid):
    try:
        f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return int(f[11]) + int(f[12])
    except OSError:
        return None

def wait_idle(pids, quiet=0.05, limit=60.0):
    """Until none of pids used CPU for `quiet` seconds (ticks are 10 ms)."""
    end = time.time() + limit
    last = [cpu_ticks(p) for p in pids]
    since = time.time()
    while time.time() < end:
        time.sleep(0.01)
        cur = [cpu_ticks(p) for p in pids]
        if cur != last:
            last, since = cur, time.time()
        elif time.time() - since >= quiet:
            return True
    return False

class Soa:
    """SOA queries over one connected UDP socket (what `kdig @ADDR SOA` asks)."""
    def __init__(self, port, zone="bench.test."):
        self.q = dns.message.make_query(zone, "SOA")
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.connect(("127.0.0.1", int(port)))
    def serial(self, timeout=0.2):
        """The serial, or None (no answer, refused port, SERVFAIL...)."""
        self.q.id = random.randrange(65536)
        try:
            self.s.send(self.q.to_wire())
            self.s.settimeout(timeout)
            while True:
                r = dns.message.from_wire(self.s.recv(65535))
                if r.id == self.q.id:
                    break
        except (OSError, socket.timeout, dns.exception.DNSException):
            return None
        for rr in r.answer:
            if rr.rdtype == dns.rdatatype.SOA:
                return rr[0].serial
        return None

def iso_epoch(ts):
    return datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()

XFR = re.compile(r"^(\S+) info zone transferred: zone=(\S+) kind=(.*?) serial=(\d+) from=(\d+) "
                 r"records=(\d+) messages=(\d+) bytes=(\d+)(?: steps=\d+ changed=\d+)? "
                 r"time=([\d.]+)s")

class Tail:
    def __init__(self, path, start=0):
        self.f = open(path, "rb")
        self.f.seek(start)
        self.buf = b""
    def lines(self):
        self.buf += self.f.read()
        *done, self.buf = self.buf.split(b"\n")
        return [l.decode(errors="replace") for l in done]

def cmd_freeport(args):
    """A port free for TCP and UDP on 127.0.0.1, picked at random in 20000-60999."""
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

def cmd_gen(args):
    """N A records h<i>.bench.test. with random addresses, in random order."""
    n, path, seed = int(args[0]), args[1], int(args[2])
    r = random.Random(seed)
    idx = list(range(n))
    r.shuffle(idx)
    with open(path, "w") as f:
        f.write("$ORIGIN bench.test.\n$TTL 3600\n"
                "@ SOA ns.bench.test. hostmaster.bench.test. 1 3600 600 604800 300\n"
                "@ NS ns\nns A 192.0.2.1\n")
        f.writelines(f"h{i} A 10.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(1, 255)}\n"
                     for i in idx)

def cmd_soa(args):
    """soa PORT: print the serial (or nothing)."""
    s = Soa(args[0]).serial(1.0)
    if s is not None:
        print(s)

def cmd_waitsoa(args):
    """waitsoa PORT SERIAL INTERVAL TIMEOUT PID: poll until the serial is >= SERIAL
    (SERIAL 0: any answer); print the epoch time it was seen, the serial and PID's VmHWM."""
    port, want, interval, timeout, pid = args[0], int(args[1]), float(args[2]), float(args[3]), args[4]
    q = Soa(port)
    end = time.time() + timeout
    while time.time() < end:
        s = q.serial(0.05)
        if s is not None and s >= want:
            t = time.time()
            print(f"{t:.6f} {s} {hwm(pid)}")
            return
        time.sleep(interval)
    sys.exit(f"serial {want} not seen on port {port} within {timeout} s")

def cmd_waitlog(args):
    """waitlog LOG SERIAL TIMEOUT PID: wait for zonesync's 'zone transferred' line with
    serial >= SERIAL; print its epoch time, VmHWM, then the line's fields."""
    path, want, timeout, pid = args[0], int(args[1]), float(args[2]), args[3]
    t = Tail(path)
    end = time.time() + timeout
    while time.time() < end:
        for line in t.lines():
            m = XFR.match(line)
            if m and int(m.group(4)) >= want:
                h = hwm(pid)
                print(f"{iso_epoch(m.group(1)):.3f} {h} kind={m.group(3).replace(' ', '_')} "
                      f"serial={m.group(4)} records={m.group(6)} messages={m.group(7)} "
                      f"bytes={m.group(8)} time={m.group(9)}")
                return
            if " error " in line or " warning " in line:
                print(line, file=sys.stderr)
        if os.path.exists(f"/proc/{pid}") is False:
            sys.exit(f"process {pid} is gone")
        time.sleep(0.005)
    sys.exit(f"no transfer of serial >= {want} within {timeout} s")

def cmd_changes(args):
    """changes MODE KNOTCCONF PRIMARYPORT FIRST COUNT OUT TARGET PID PRIMARYPID
    MODE zonesync: TARGET is zonesync's log; knot: TARGET is the secondary's port.
    One change at a time: wait until the primary and the secondary are idle, make the
    change, take the time when zone-commit returns, wait for the secondary to have it.
    OUT gets one line per change: k serial latency_ms kind xfr_time_s latency_from_call_ms
    commit_call_ms (how long `knotc zone-commit` took)."""
    mode, conf, pport, first, count, out, target, pid, ppid = args
    first, count = int(first), int(count)
    prim = Soa(pport)
    serial = prim.serial(2.0)
    if serial is None:
        sys.exit("the primary does not answer")
    tail = Tail(target, os.path.getsize(target)) if mode == "zonesync" else None
    sec = Soa(target) if mode == "knot" else None
    knotc = ["knotc", "-c", conf]
    with open(out, "w") as o:
        for k in range(first, first + count):
            wait_idle([pid, ppid])
            t_call = None
            for c in (["zone-begin", "bench.test."],
                      ["zone-set", "bench.test.", f"r{k}", "300", "A",
                       f"198.{18 + (k >> 16) % 2}.{(k >> 8) & 255}.{k & 255}"],
                      ["zone-commit", "bench.test."]):
                if c[0] == "zone-commit":
                    t_call = time.time()  # zone-commit is about to be called
                r = subprocess.run(knotc + c, capture_output=True, text=True)
                if r.returncode != 0 or "OK" not in r.stdout:
                    sys.exit(f"knotc {' '.join(c)}: {r.stdout.strip()} {r.stderr.strip()}")
            t0 = time.time()  # zone-commit has returned
            want = serial + 1
            end = t0 + 30
            kind, xtime, seen = "-", "-", None
            while time.time() < end and seen is None:
                if tail:
                    for line in tail.lines():
                        m = XFR.match(line)
                        if m and int(m.group(4)) >= want:
                            seen = iso_epoch(m.group(1))
                            kind, xtime, got = m.group(3).replace(" ", "_"), m.group(9), int(m.group(4))
                            break
                        if " error " in line or " warning " in line:
                            print(line, file=sys.stderr)
                    if seen is None:
                        time.sleep(0.001)
                else:
                    s = sec.serial(0.05)
                    if s is not None and s >= want:
                        seen, got, kind = time.time(), s, "?"
                    else:
                        time.sleep(0.002)
            if seen is None:
                print(f"{k} {want} timeout - - - -", file=o, flush=True)
                sys.exit(f"change {k} (serial {want}) not seen within 30 s")
            p = prim.serial(1.0)
            if p != want:
                print(f"warning: the primary is at serial {p}, expected {want}", file=sys.stderr)
            serial = got
            print(f"{k} {got} {(seen - t0) * 1000:.1f} {kind} {xtime} {(seen - t_call) * 1000:.1f} "
                  f"{(t0 - t_call) * 1000:.1f}", file=o, flush=True)

def cmd_idle(args):
    """idle QUIET LIMIT PID...: wait until none of the PIDs used CPU for QUIET seconds."""
    if not wait_idle(args[2:], float(args[0]), float(args[1])):
        print(f"warning: {args[2:]} still busy after {args[1]} s", file=sys.stderr)

def cmd_stats(args):
    """stats FILE COLUMN: n p50 p99 max mean of a column (nearest-rank percentiles)."""
    v = []
    for l in open(args[0]):
        try:
            v.append(float(l.split()[int(args[1])]))
        except (IndexError, ValueError):
            pass
    v.sort()
    if not v:
        print("0 - - - -")
        return
    pick = lambda q: v[max(0, -(-len(v) * q // 100) - 1)]
    print(f"{len(v)} {pick(50):.1f} {pick(99):.1f} {v[-1]:.1f} {sum(v) / len(v):.1f}")

globals()["cmd_" + sys.argv[1]](sys.argv[2:])
EOF
h() { "$PY" "$tmp/h.py" "$@"; }

# ---------------------------------------------------------------- idle machine
cpu_sample() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }
hz=$(getconf CLK_TCK)
waited=0
others_load=()
# Wait until processes other than ours use less than a quarter of a core (ours
# are idle at the call sites); the waits add up to at most MAX_WAIT seconds.
wait_idle() {
	local a b busy said=0
	while :; do
		a=$(cpu_sample); sleep 1; b=$(cpu_sample)
		busy=$(awk -v a="$a" -v b="$b" -v hz="$hz" 'BEGIN { printf "%.2f", (b - a) / hz }')
		if awk -v b="$busy" 'BEGIN { exit !(b <= 0.25) }'; then
			others_load+=("$1: $busy"); return 0
		fi
		if [ "$waited" -ge "$MAX_WAIT" ]; then
			say "WARNING: other processes use $busy cores; measuring $1 anyway"
			others_load+=("$1: $busy (busy!)"); return 0
		fi
		[ "$said" -eq 1 ] || say "other processes use $busy cores; waiting for the machine to go idle"
		said=1
		sleep 4; waited=$((waited + 5))
	done
}

# ---------------------------------------------------------------- servers
SECRET=$("$PY" -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')
ports_used=()
freeport() { local p; p=$(h freeport "${ports_used[@]}"); ports_used+=("$p"); echo "$p"; }

# knot_primary_conf DIR PORT ZSPORT SECPORT ZONEFILE [open]: a primary that notifies both
# secondaries; "open" also allows unsigned transfers (part 3).
knot_primary_conf() {
	local d=$1 acl=xfr
	[ "${6:-}" != open ] || acl="[xfr, open]"
	mkdir -p "$d/run" "$d/db" "$d/zones"
	cp "$5" "$d/zones/bench.test.zone"
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
	remote:
	  - id: zonesync
	    address: 127.0.0.1@$3
	    key: xfr
	  - id: knotsec
	    address: 127.0.0.1@$4
	    key: xfr
	acl:
	  - id: xfr
	    address: 127.0.0.0/8
	    key: xfr
	    action: transfer
	  - id: open
	    address: 127.0.0.0/8
	    action: transfer
	template:
	  - id: default
	    storage: "$d/zones"
	    file: "%s.zone"
	    notify: [zonesync, knotsec]
	    acl: $acl
	    zonefile-sync: -1
	    zonefile-load: difference
	    journal-content: changes
	    serial-policy: increment
	zone:
	  - domain: bench.test
	EOF
}

# knot_secondary_conf DIR PORT PRIMARYPORT: Knot's defaults otherwise (zonefile-sync 0).
knot_secondary_conf() {
	local d=$1
	mkdir -p "$d/run" "$d/db" "$d/zones"
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
	remote:
	  - id: primary
	    address: 127.0.0.1@$3
	    key: xfr
	acl:
	  - id: notify
	    address: 127.0.0.0/8
	    key: xfr
	    action: notify
	template:
	  - id: default
	    storage: "$d/zones"
	    file: "%s.zone"
	    master: primary
	    acl: notify
	zone:
	  - domain: bench.test
	EOF
}

# zonesync_conf DIR PORT PRIMARYPORT [nokey]
zonesync_conf() {
	local d=$1 key=", key: xfr"
	[ "${4:-}" != nokey ] || key=""
	mkdir -p "$d/state"
	cat >"$d/zonesync.yaml" <<-EOF
	server:
	  listen: [127.0.0.1@$2]
	  state: $d/state
	  log: { level: info }
	  notify-rate-limit: 0
	key:
	  - { id: xfr, algorithm: hmac-sha256, secret: $SECRET }
	primary:
	  - { id: p, address: [127.0.0.1@$3]$key }
	zone:
	  - { domain: bench.test, primary: p, transfer-max-records: 20000000 }
	EOF
	"$ZONESYNC" check -c "$d/zonesync.yaml" >/dev/null || die "zonesync check rejects $d/zonesync.yaml"
}

# start_knot DIR: starts knotd in the background, sets KPID.
start_knot() {
	knotd -c "$1/knot.conf" >"$1/stdout.log" 2>&1 &
	KPID=$!; PIDS+=("$KPID")
}
# start_zonesync DIR [taskset args]: sets ZPID.
start_zonesync() {
	local d=$1; shift
	"$@" "$ZONESYNC" run -c "$d/zonesync.yaml" 2>>"$d/zonesync.log" &
	ZPID=$!; PIDS+=("$ZPID")
}
alive() { kill -0 "$1" 2>/dev/null || { failures+=("$2 exited unexpectedly"); return 1; }; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
mb() { awk -v k="$1" 'BEGIN { printf "%.0f", k * 1024 / 1e6 }'; }
fld() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }

# ---------------------------------------------------------------- machine
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo "?")
dirty=$(git -C "$root" status --porcelain -- src meson.build 2>/dev/null | awk '{ print $2 }' | tr '\n' ' ')
cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
machine="- nproc: $(nproc); CPU: $cpu; RAM: $mem; kernel: $(uname -sr)
- libknot $(pkg-config --modversion libknot 2>/dev/null || echo '?'); $(knotd --version | head -n1); $(dig -v 2>&1 | head -n1); $(kdig --version | head -n1)
- zonesync: git $commit${dirty:+ (uncommitted changes in: $dirty)}, $ZONESYNC ($(python3 -c "
import json; b = {o['name']: o['value'] for o in json.load(open('$(dirname "$ZONESYNC")/meson-info/intro-buildoptions.json'))}
print(f\"buildtype={b['buildtype']}, -O{b['optimization']}\")" 2>/dev/null || echo '?'))"
newer=$(find "$root/src" -newer "$ZONESYNC" -type f 2>/dev/null | head -n3 | tr '\n' ' ')
[ -z "$newer" ] || say "WARNING: sources newer than $ZONESYNC: $newer"

# ---------------------------------------------------------------- parts 1 and 2, per size
declare -A R
kidx=1 # names of the changed records: r1, r2, ... across the whole run
for N in $SIZES; do
	d=$tmp/$N
	mkdir -p "$d"
	say "[$N] generating the zone"
	h gen "$N" "$d/bench.test.zone" "$SEED"
	PP=$(freeport); ZP=$(freeport); SP=$(freeport)
	knot_primary_conf "$d/primary" "$PP" "$ZP" "$SP" "$d/bench.test.zone"
	knot_secondary_conf "$d/knotsec" "$SP" "$PP"
	zonesync_conf "$d/zonesync" "$ZP" "$PP"

	say "[$N] starting the knotd primary on port $PP"
	t0=$(date +%s.%N)
	start_knot "$d/primary"; PPID_=$KPID
	read -r tp serial _ < <(h waitsoa "$PP" 1 0.01 600 "$PPID_") || die "the knotd primary did not load the zone"
	R[$N,pload]=$(secs "$t0" "$tp")
	h idle 1.0 300 "$PPID_"
	R[$N,records]=$((N + 3))

	# --- 1a. dig and kdig AXFR
	wait_idle "AXFR $N"
	for tool in dig kdig; do
		say "[$N] $tool AXFR"
		"$TIME" -f '%e %M' -o "$d/$tool.time" \
			"$tool" -y "hmac-sha256:xfr:$SECRET" @127.0.0.1 -p "$PP" bench.test AXFR >/dev/null ||
			failures+=("$tool AXFR of $N failed")
		read -r "R[$N,$tool,s]" "R[$N,$tool,kb]" <"$d/$tool.time"
	done
	# One untimed check that the AXFR holds the whole zone.
	got=$(kdig -y "hmac-sha256:xfr:$SECRET" @127.0.0.1 -p "$PP" bench.test AXFR +noall +answer | grep -vc '^;')
	[ "$got" -eq $((N + 4)) ] || failures+=("kdig AXFR of $N gave $got records, expected $((N + 4))")

	# --- 1b. zonesync AXFR
	say "[$N] zonesync AXFR"
	t0=$(date +%s.%N)
	start_zonesync "$d/zonesync"; ZPID_=$ZPID
	line=$(h waitlog "$d/zonesync/zonesync.log" 1 600 "$ZPID_") ||
		{ tail -n 20 "$d/zonesync/zonesync.log" >&2; die "zonesync did not transfer the $N-record zone"; }
	read -r tl kb _ <<<"$line"
	R[$N,zs,wall]=$(secs "$t0" "$tl"); R[$N,zs,kb]=$kb
	R[$N,zs,time]=$(fld time "$line"); R[$N,zs,kind]=$(fld kind "$line")
	R[$N,zs,rec]=$(fld records "$line"); R[$N,zs,msgs]=$(fld messages "$line"); R[$N,zs,bytes]=$(fld bytes "$line")
	[ "${R[$N,zs,kind]}" = AXFR ] || failures+=("zonesync's first transfer of $N was ${R[$N,zs,kind]}")
	say "[$N] zonesync: $line"
	h idle 0.5 120 "$ZPID_" "$PPID_"

	# --- 1c. knotd as a secondary (zonesync idle meanwhile)
	say "[$N] knotd secondary AXFR"
	wait_idle "knotd secondary $N" || true
	t0=$(date +%s.%N)
	start_knot "$d/knotsec"; SPID_=$KPID
	pserial=$(h soa "$PP")
	read -r ts _ kb < <(h waitsoa "$SP" "$pserial" 0.01 600 "$SPID_") || die "the knotd secondary did not get the zone"
	R[$N,ks,wall]=$(secs "$t0" "$ts"); R[$N,ks,kb]=$kb
	h idle 1.0 300 "$SPID_"
	R[$N,ks,kb2]=$(awk '/^VmHWM/ { print $2 }' "/proc/$SPID_/status")
	stop "$SPID_"

	# --- 2a. one-record changes, zonesync
	wait_idle "changes zonesync $N" || true
	say "[$N] $CHANGES changes, zonesync"
	alive "$ZPID_" "zonesync ($N)" || die "zonesync died"
	h changes zonesync "$d/primary/knot.conf" "$PP" "$kidx" "$CHANGES" "$d/lat-zs.txt" \
		"$d/zonesync/zonesync.log" "$ZPID_" "$PPID_" || failures+=("changes to zonesync at $N: see above")
	kidx=$((kidx + CHANGES))
	read -r "R[$N,zl,n]" "R[$N,zl,p50]" "R[$N,zl,p99]" "R[$N,zl,max]" "R[$N,zl,mean]" < <(h stats "$d/lat-zs.txt" 2)
	read -r _ "R[$N,zx,p50]" _ "R[$N,zx,max]" _ < <(awk '$5 != "-" { print $5 * 1000 }' "$d/lat-zs.txt" >"$d/xt.txt"; h stats "$d/xt.txt" 0)
	read -r _ "R[$N,zc,p50]" "R[$N,zc,p99]" "R[$N,zc,max]" _ < <(h stats "$d/lat-zs.txt" 5)
	read -r _ "R[$N,zd,p50]" _ "R[$N,zd,max]" _ < <(h stats "$d/lat-zs.txt" 6)
	R[$N,zl,ixfr]=$(awk '$4 == "IXFR"' "$d/lat-zs.txt" | wc -l)
	R[$N,zl,other]=$(awk '$4 != "IXFR" { print $4 }' "$d/lat-zs.txt" | sort | uniq -c | awk '{ printf "%s%s %s", s, $1, $2; s = ", " }')
	R[$N,zl,axfr]=$(awk '$4 == "AXFR"' "$d/lat-zs.txt" | wc -l)
	R[$N,zs,kb_end]=$(awk '/^VmHWM/ { print $2 }' "/proc/$ZPID_/status")
	alive "$ZPID_" "zonesync ($N)" || true
	stop "$ZPID_"
	grep -E ' (warning|error) ' "$d/zonesync/zonesync.log" >"$d/zs-problems.txt" || true
	[ ! -s "$d/zs-problems.txt" ] || failures+=("zonesync logged $(wc -l <"$d/zs-problems.txt") warnings/errors at $N (first: $(head -n1 "$d/zs-problems.txt"))")

	# --- 2b. one-record changes, knotd secondary (restarted from its own storage)
	say "[$N] $CHANGES changes, knotd secondary"
	knotsec_axfr_before=$(grep -c 'AXFR, incoming.*started' "$d/knotsec/knotd.log" || true)
	start_knot "$d/knotsec"; SPID_=$KPID
	h waitsoa "$SP" 0 0.01 600 "$SPID_" >/dev/null || die "the restarted knotd secondary did not load its copy"
	# It keeps its refresh timer across the restart: have it check the primary now.
	knotc -c "$d/knotsec/knot.conf" zone-refresh bench.test. >/dev/null || die "knotc zone-refresh failed"
	pserial=$(h soa "$PP")
	h waitsoa "$SP" "$pserial" 0.01 600 "$SPID_" >/dev/null || die "the restarted knotd secondary did not catch up"
	h idle 1.0 300 "$SPID_" "$PPID_"
	wait_idle "changes knotd $N" || true
	h changes knot "$d/primary/knot.conf" "$PP" "$kidx" "$CHANGES" "$d/lat-ks.txt" \
		"$SP" "$SPID_" "$PPID_" || failures+=("changes to the knotd secondary at $N: see above")
	kidx=$((kidx + CHANGES))
	read -r "R[$N,kl,n]" "R[$N,kl,p50]" "R[$N,kl,p99]" "R[$N,kl,max]" "R[$N,kl,mean]" < <(h stats "$d/lat-ks.txt" 2)
	read -r _ "R[$N,kc,p50]" "R[$N,kc,p99]" "R[$N,kc,max]" _ < <(h stats "$d/lat-ks.txt" 5)
	read -r _ "R[$N,kd,p50]" _ "R[$N,kd,max]" _ < <(h stats "$d/lat-ks.txt" 6)
	R[$N,kl,axfr]=$(( $(grep -c 'AXFR, incoming.*started' "$d/knotsec/knotd.log" || true) - knotsec_axfr_before ))
	stop "$SPID_"
	stop "$PPID_"
	say "[$N] done: zonesync AXFR ${R[$N,zs,time]} s, change p50 ${R[$N,zl,p50]} ms; knotd ${R[$N,ks,wall]} s, p50 ${R[$N,kl,p50]} ms"
done

# ---------------------------------------------------------------- part 3, NOTIFY
# zonesync "keyed" has the brief's config (primary with key xfr: unsigned NOTIFYs are
# answered REFUSED); zonesync "open" has a primary without a key, so that unsigned
# NOTIFYs are accepted and trigger SOA checks too.  Each is pinned to CPU 0.
d=$tmp/notify
mkdir -p "$d"
h gen "$NOTIFY_ZONE" "$d/bench.test.zone" "$SEED"
PP=$(freeport); ZP=$(freeport); SP=$(freeport); OP=$(freeport)
knot_primary_conf "$d/primary" "$PP" "$ZP" "$SP" "$d/bench.test.zone" open
zonesync_conf "$d/keyed" "$ZP" "$PP"
zonesync_conf "$d/open" "$OP" "$PP" nokey
last=$(($(nproc) - 1))
start_knot "$d/primary"; PPID_=$KPID
h waitsoa "$PP" 1 0.01 120 "$PPID_" >/dev/null || die "the knotd primary (part 3) did not load"
ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
declare -a FL
for inst in keyed open; do
	start_zonesync "$d/$inst" taskset -c 0; ZPID_=$ZPID
	h waitlog "$d/$inst/zonesync.log" 1 120 "$ZPID_" >/dev/null || die "zonesync $inst (part 3) did not transfer the zone"
	h idle 0.5 60 "$ZPID_" "$PPID_"
	if [ "$inst" = keyed ]; then runs=("window unsigned" "window signed" "burst unsigned" "burst signed")
	else runs=("window unsigned" "burst unsigned"); fi
	port=$ZP; [ "$inst" = open ] && port=$OP
	for run in "${runs[@]}"; do
		read -r mode sig <<<"$run"
		args=(127.0.0.1 "$port" bench.test.)
		if [ "$mode" = window ]; then args+=("$FLOOD" -w "$WINDOW"); else args+=("$BURST"); fi
		[ "$sig" = signed ] && args+=(-k "xfr:$SECRET")
		sleep 1
		wait_idle "notify $inst $run" || true
		say "zonesync $inst: notify-flood ${args[*]/$SECRET/SECRET}"
		c0=$(ticks "$ZPID_")
		out=$(taskset -c "$last" "$NOTIFY_FLOOD" "${args[@]}") || failures+=("notify-flood $inst $run failed")
		c1=$(ticks "$ZPID_")
		say "  $out"
		case $inst,$sig in
		keyed,signed) label="hmac-sha256 (key xfr)" ;;
		keyed,*) label="none; the primary has a key: REFUSED" ;;
		open,*) label="none; primary without key: accepted" ;;
		esac
		cpu=$(awk -v c="$((c1 - c0))" -v hz="$hz" -v s="$(fld seconds "$out")" 'BEGIN { printf "%.0f%%", (s > 0 ? 100 * c / hz / s : 0) }')
		FL+=("$mode|$label|$(fld sent "$out")|$(fld answered "$out")|$(fld noerror "$out")|$(fld refused "$out")|$(fld other "$out")|$(fld seconds "$out")|$(fld rate "$out")|$cpu")
		alive "$ZPID_" "zonesync $inst (NOTIFY $run)" || break
	done
	R[notify,$inst,kb]=$(awk '/^VmHWM/ { print $2 }' "/proc/$ZPID_/status" 2>/dev/null || echo 0)
	R[notify,$inst,xfr]=$(grep -c 'zone transferred' "$d/$inst/zonesync.log" || true)
	R[notify,$inst,refusedlog]=$(grep -c 'NOTIFY refused' "$d/$inst/zonesync.log" || true)
	R[notify,$inst,problems]=$(grep -E ' (warning|error) ' "$d/$inst/zonesync.log" | grep -vc 'NOTIFY refused' || true)
	stop "$ZPID_"
done
stop "$PPID_"

# ---------------------------------------------------------------- report
rc=0
goal() { # goal TEXT OK(0/1)
	if [ "$2" -eq 1 ]; then echo "- PASS: $1"; else echo "- MISS: $1"; [ "$rc" -ne 0 ] || rc=1; fi
}
echo "## Machine"
echo
echo "$machine"
[ -z "$newer" ] || echo "- WARNING: sources newer than the binary ($newer...): the commit above may not be what was built"
echo "- CPU used by other processes in the second before each measurement (cores): $(IFS=";"; echo "${others_load[*]}" | sed "s/;/; /g")"
echo
echo "## 1. AXFR (TSIG hmac-sha256) of bench.test from knotd into ..."
echo
echo "MB = 10^6 bytes (VmHWM, or %M of /usr/bin/time). The zonesync time is its log's time= (transfer,"
echo "TSIG checks, commit to SQLite); the wall times count from starting the process."
echo
echo "| records | zonesync time (log) | zonesync wall (start to log line) | zonesync VmHWM | dig AXFR >/dev/null | kdig AXFR >/dev/null | knotd secondary: start to serving | knotd secondary VmHWM (at serving / settled) |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
for N in $SIZES; do
	printf '| %s | %s s | %s s | %s MB | %s s, %s MB | %s s, %s MB | %s s | %s / %s MB |\n' \
		"${R[$N,records]}" "${R[$N,zs,time]}" "${R[$N,zs,wall]}" "$(mb "${R[$N,zs,kb]}")" \
		"${R[$N,dig,s]}" "$(mb "${R[$N,dig,kb]}")" "${R[$N,kdig,s]}" "$(mb "${R[$N,kdig,kb]}")" \
		"${R[$N,ks,wall]}" "$(mb "${R[$N,ks,kb]}")" "$(mb "${R[$N,ks,kb2]}")"
done
echo
for N in $SIZES; do
	echo "- $N: zonesync log records=${R[$N,zs,rec]} messages=${R[$N,zs,msgs]} bytes=${R[$N,zs,bytes]}, VmHWM after the $CHANGES changes too $(mb "${R[$N,zs,kb_end]}") MB; knotd primary start to serving ${R[$N,pload]} s${ANCHOR_AXFR[$N]:+; anchor knotd secondary ${ANCHOR_AXFR[$N]}}"
done
echo
echo "## 2. One-record change on the primary: zone-commit returned -> secondary has it (ms)"
echo
echo "$CHANGES changes per size and per secondary, one at a time. Negative: the secondary had the change"
echo "before \`knotc zone-commit\` had returned (zonesync's log time is truncated to the ms)."
echo
echo "| records | secondary | p50 | p99 | max | mean | from the zone-commit call: p50 / p99 / max | zone-commit took: p50 / max | transfers | zonesync time=: p50 / max |"
echo "|---:|---|---:|---:|---:|---:|---:|---:|---|---:|"
for N in $SIZES; do
	printf '| %s | zonesync | %s | %s | %s | %s | %s / %s / %s | %s / %s | %s of %s IXFR%s | %s / %s |\n' \
		"${R[$N,records]}" "${R[$N,zl,p50]}" "${R[$N,zl,p99]}" "${R[$N,zl,max]}" "${R[$N,zl,mean]}" \
		"${R[$N,zc,p50]}" "${R[$N,zc,p99]}" "${R[$N,zc,max]}" "${R[$N,zd,p50]}" "${R[$N,zd,max]}" \
		"${R[$N,zl,ixfr]}" "${R[$N,zl,n]}" "${R[$N,zl,other]:+ (${R[$N,zl,other]})}" \
		"${R[$N,zx,p50]}" "${R[$N,zx,max]}"
	printf '| %s | knotd secondary%s | %s | %s | %s | %s | %s / %s / %s | %s / %s | %s AXFR | |\n' \
		"${R[$N,records]}" "${ANCHOR_IXFR[$N]:+ (anchor ${ANCHOR_IXFR[$N]})}" \
		"${R[$N,kl,p50]}" "${R[$N,kl,p99]}" "${R[$N,kl,max]}" "${R[$N,kl,mean]}" \
		"${R[$N,kc,p50]}" "${R[$N,kc,p99]}" "${R[$N,kc,max]}" "${R[$N,kd,p50]}" "${R[$N,kd,max]}" "${R[$N,kl,axfr]}"
done
echo
echo "## 3. NOTIFY, zonesync pinned to CPU 0 (notify-rate-limit 0), notify-flood on CPU $last"
echo
echo "| mode | TSIG | sent | answered | share | NOERROR | REFUSED | other | seconds | answers/s | zonesync CPU |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for f in "${FL[@]}"; do
	IFS='|' read -r m s sent ans ne rf ot sec rate cpu <<<"$f"
	share=$(awk -v a="$ans" -v s="$sent" 'BEGIN { printf "%.1f%%", s ? 100 * a / s : 0 }')
	[ "$m" = window ] && m="window $WINDOW"
	echo "| $m | $s | $sent | $ans | $share | $ne | $rf | $ot | $sec | $rate | $cpu |"
done
echo
for inst in keyed open; do
	echo "- zonesync $inst: VmHWM after the floods $(mb "${R[notify,$inst,kb]}") MB; transfers logged ${R[notify,$inst,xfr]}; 'NOTIFY refused' log lines ${R[notify,$inst,refusedlog]}; other warnings/errors ${R[notify,$inst,problems]}"
done
echo
echo "## Goals"
echo
for N in $SIZES; do
	[ "$N" = 1000000 ] && goal "zonesync AXFR of 1M records <= $GOAL_AXFR_1M_S s (${R[$N,zs,time]} s)" \
		"$(awk -v a="${R[$N,zs,time]}" -v g="$GOAL_AXFR_1M_S" 'BEGIN { print (a <= g) }')"
	goal "zonesync change latency p50 <= $GOAL_IXFR_P50_MS ms at $N (${R[$N,zl,p50]} ms)" \
		"$(awk -v a="${R[$N,zl,p50]}" -v g="$GOAL_IXFR_P50_MS" 'BEGIN { print (a + 0 <= g && a != "-") }')"
	[ "${R[$N,zl,ixfr]}" = "$CHANGES" ] || failures+=("$N: only ${R[$N,zl,ixfr]} of $CHANGES changes came by IXFR (${R[$N,zl,other]})")
done
for f in "${FL[@]}"; do
	IFS='|' read -r m s sent ans ne rf ot sec rate cpu <<<"$f"
	if [ "$m" = window ]; then
		goal "NOTIFY $m $s >= $GOAL_NOTIFY_RATE/s and none dropped ($rate/s, $ans of $sent)" \
			"$(awk -v r="$rate" -v g="$GOAL_NOTIFY_RATE" -v a="$ans" -v s="$sent" 'BEGIN { print (r >= g && a == s) }')"
	else
		goal "NOTIFY $m $s: none dropped ($ans of $sent)" "$([ "$ans" = "$sent" ] && echo 1 || echo 0)"
	fi
done
if [ "${#failures[@]}" -gt 0 ]; then
	echo
	echo "## Failures"
	echo
	printf -- '- %s\n' "${failures[@]}"
	rc=2
fi
exit "$rc"
