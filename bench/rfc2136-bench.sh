#!/usr/bin/env bash
# Benchmark `zonesync sync` pushing a zone into named by RFC 2136 dynamic
# updates (the rfc2136 target), from a knotd primary; everything on loopback,
# on free ports, in a temporary directory removed at exit.
#
# The zone (bench.test.) has BENCH_RECORDS records (default 100,000, apex SOA
# and NS included): A, AAAA, TXT, MX, SRV and CNAME, every MX and SRV target
# an in-zone host with an address (named checks MX targets on update).  Each
# run (BENCH_RUNS, default 3) starts a fresh knotd primary, a fresh named
# target holding only its own SOA and NS (allow-update and allow-transfer for
# the key), and zonesync with a fresh state, then measures:
#
#   1. first: the first push of the whole zone (an AXFR of the target, then
#             UPDATE messages filled up to 64 KiB);
#   2. one:   one A record changed on the primary (knotc transaction: knotd
#             serves it by IXFR), then a push (incremental: no read of the
#             target, exactly one UPDATE expected).
#
# For each push: wall time of `zonesync sync`, its CPU time and peak RSS
# (/usr/bin/time), the UPDATE messages named took (its update-security log:
# one `signer "upd" approved` line per UPDATE), named's CPU time during the
# push, and zonesync's own counters (requests, reads, writes).  After every
# push the target's AXFR is compared with the primary's (apex SOA and NS left
# out: apex-ns and soa-serial are keep; names, TTLs, canonical rdata); any
# difference stops the benchmark.  For scale, the same zone is also loaded
# by named as a plain secondary (AXFR from knotd), which is what a server
# that can take zone transfers would do instead.
#
#   meson setup build-rel --buildtype=release && ninja -C build-rel
#   bench/rfc2136-bench.sh [> report.md]
#
# The report (markdown) goes to stdout, progress to stderr.  Environment (optional):
#   ZONESYNC=path      binary (default build-rel/zonesync)
#   BENCH_RECORDS=N    records in the zone, apex SOA and NS included (default 100000)
#   BENCH_RUNS=N       runs (default 3); the report gives each run and the medians
#   BENCH_SEED=N       generator seed (default 20261127)
#   BENCH_KEEP=dir     copy the logs, configs and results there before cleaning up
#
# Exit status: 0 done; 2 something failed (a command, the target not equal to
# the zone after a push, a push not incremental or not one UPDATE when it
# should be): the failing command and its output are shown.
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
ZONESYNC=${ZONESYNC:-$root/build-rel/zonesync}
RECORDS=${BENCH_RECORDS:-100000}
RUNS=${BENCH_RUNS:-3}
SEED=${BENCH_SEED:-20261127}
KEEP=${BENCH_KEEP:-}
PY=/usr/bin/python3 # has dnspython
TIME=/usr/bin/time
ZONE=bench.test.

die() { echo "rfc2136-bench: FAIL: $*" >&2; exit 2; }
say() { echo "rfc2136-bench: $*" >&2; }

for t in knotd knotc named dig "$PY" "$TIME" awk; do
	command -v "$t" >/dev/null || die "$t not found"
done
"$PY" -c 'import dns.rdata' 2>/dev/null || die "$PY has no dnspython"
[ -x "$ZONESYNC" ] || die "build first: meson setup build-rel --buildtype=release && ninja -C build-rel"

tmp=$(mktemp -d /tmp/rfc2136-bench.XXXXXX)
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
			-o -name '*.err' -o -name '*.out' \) -exec cp --parents {} "$KEEP" \;) 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# stop PID: SIGTERM, wait for it (kill -9 after 30 s), forget it.
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
import os, random, socket, statistics, subprocess, sys, time
import dns.name, dns.rdata, dns.rdataclass, dns.rdatatype

ZONE = "bench.test."
TTLS = [60, 300, 300, 600, 900, 1800, 3600, 3600, 3600, 7200, 86400]
WORDS = ("www web api app mail smtp imap db pg redis cache cdn vpn git ci build node host edge lb "
         "proxy auth sso shop blog static img media video chat portal wiki docs status").split()
ENVS = "prod staging dev qa".split()
ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"


def cmd_gen(args):
    """gen RECORDS ZONEFILE SEED: exactly RECORDS records; MX and SRV name
    hosts that have addresses."""
    n, path, seed = int(args[0]), args[1], int(args[2])
    r = random.Random(seed)
    out = []
    hosts = []

    def add(owner, ttl, t, v):
        if len(out) < n:
            out.append(f"{owner} {ttl} IN {t} {v}")

    add(ZONE, 3600, "SOA", f"ns1.{ZONE} hostmaster.{ZONE} 1 3600 600 1209600 300")
    add(ZONE, 86400, "NS", f"ns1.{ZONE}")
    add(ZONE, 86400, "NS", f"ns2.{ZONE}")
    i = 0
    while len(out) < n:
        i += 1
        w = r.choice(WORDS)
        host = f"{w}{i}.{r.choice(ENVS)}.{ZONE}" if r.random() < 0.3 else f"{w}{i}.{ZONE}"
        ttl = r.choice(TTLS)
        x = r.random()
        if x < 0.45 or not hosts:
            for _ in range(1 if r.random() < 0.85 else 2):
                add(host, ttl, "A", f"10.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(1, 255)}")
            hosts.append(host)
        elif x < 0.60:
            add(host, ttl, "A", f"10.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(1, 255)}")
            add(host, ttl, "AAAA", f"2001:db8:{r.randrange(65536):x}::{r.randrange(1, 65536):x}")
            hosts.append(host)
        elif x < 0.75:
            add(host, ttl, "CNAME", r.choice(hosts))
        elif x < 0.87:
            add(host, ttl, "TXT", f'"v=spf1 ip4:10.{r.randrange(256)}.0.0/16 ~all"')
            add(host, ttl, "TXT", '"' + "".join(r.choices(ALNUM, k=32)) + '"')
        elif x < 0.95:
            add(host, ttl, "MX", f"10 {r.choice(hosts)}")
            add(host, ttl, "MX", f"20 {r.choice(hosts)}")
        else:
            add(f"_sip._tcp.{host}", ttl, "SRV", f"10 60 5060 {r.choice(hosts)}")
    with open(path, "w") as f:
        f.write(f"; generated by bench/rfc2136-bench.sh: {n} records, seed {seed}\n")
        f.write("\n".join(out) + "\n")
    mix = {}
    for line in out:
        t = line.split()[3]
        mix[t] = mix.get(t, 0) + 1
    print(f"records={len(out)} mix=" + ",".join(f"{t}:{c}" for t, c in sorted(mix.items(), key=lambda x: -x[1])))


def cmd_freeport(args):
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


def cmd_waitsoa(args):
    """waitsoa PORT TIMEOUT: wait until the zone's SOA is served."""
    port, timeout = args[0], float(args[1])
    end = time.time() + timeout
    while time.time() < end:
        r = subprocess.run(["dig", "@127.0.0.1", "-p", port, "+short", "+time=1", "+tries=1", "SOA", ZONE],
                           capture_output=True, text=True)
        if len(r.stdout.split()) == 7:
            return
        time.sleep(0.1)
    sys.exit(f"no SOA of {ZONE} on port {port} after {timeout} s")


def view(path):
    """{(owner, type): (ttl, frozenset(canonical rdata))} of a `dig AXFR`
    output, apex SOA and NS left out."""
    sets = {}
    for line in open(path):
        if not line.strip() or line.startswith(";"):
            continue
        owner, ttl, cls, t, rdata = (line.split(None, 4) + [""])[:5]
        owner = owner.lower()
        if cls != "IN" or t == "TSIG" or (owner == ZONE and t in ("SOA", "NS")):
            continue
        if t == "A":
            v = rdata.strip()
        else:
            rd = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.from_text(t), rdata,
                                     origin=dns.name.root, relativize=False)
            w = rd.to_digestable(dns.name.root)
            v = dns.rdata.from_wire(dns.rdataclass.IN, rd.rdtype, w, 0, len(w)).to_text()
        s = sets.setdefault((owner, t), [int(ttl), set()])
        s[0] = min(s[0], int(ttl))
        s[1].add(v)
    return {k: (v[0], frozenset(v[1])) for k, v in sets.items()}


def cmd_verify(args):
    """verify PRIMARY_AXFR TARGET_AXFR: equal views; print the RRset count."""
    want, got = view(args[0]), view(args[1])
    diff = sorted(k for k in set(want) | set(got) if want.get(k) != got.get(k))
    if diff:
        for k in diff[:20]:
            print(f"  {k[0]} {k[1]}: target {got.get(k)}; primary {want.get(k)}", file=sys.stderr)
        sys.exit(f"{len(diff)} RRsets differ")
    print(len(want))


def cmd_cpu(args):
    try:
        f = open(f"/proc/{args[0]}/stat").read().rsplit(")", 1)[1].split()
        print(f"{(int(f[11]) + int(f[12])) / os.sysconf('SC_CLK_TCK'):.2f}")
    except OSError:
        print("-1")


def cmd_median(args):
    v = [float(a) for a in args]
    print(f"{statistics.median(v):.2f}" if v else "-")


globals()["cmd_" + sys.argv[1]](sys.argv[2:])
EOF
h() { "$PY" "$tmp/h.py" "$@"; }

SECRET=$("$PY" -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')
ports_used=()
freeport() { local p; p=$(h freeport "${ports_used[@]}"); ports_used+=("$p"); echo "$p"; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
fld() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2" | head -n1; }

knot_start() { # DIR PORT ZONEFILE -> KPID
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
	knotd -c "$d/knot.conf" >"$d/knotd.out" 2>&1 &
	KPID=$!; PIDS+=("$KPID")
	h waitsoa "$2" 120 || die "knotd did not serve the zone: $(tail -n 20 "$d/knotd.log")"
}

# named_start DIR PORT primary|secondary [PRIMARYPORT] -> NPID
named_start() {
	local d=$1 zone
	mkdir -p "$d"
	if [ "$3" = primary ]; then
		cat >"$d/target.zone" <<-EOF
		\$ORIGIN $ZONE
		@ 3600 IN SOA ns.target.test. admin.target.test. 1 7200 900 604800 60
		@ 3600 IN NS ns.target.test.
		EOF
		zone="type primary; file \"$d/target.zone\"; allow-update { key \"upd\"; };"
	else
		zone="type secondary; file \"$d/secondary.zone\"; primaries port $4 { 127.0.0.1 key \"xfr\"; };"
	fi
	cat >"$d/named.conf" <<-EOF
	key "upd" { algorithm hmac-sha256; secret "$SECRET"; };
	key "xfr" { algorithm hmac-sha256; secret "$SECRET"; };
	controls { };
	options {
	    directory "$d";
	    pid-file "$d/named.pid";
	    session-keyfile "$d/session.key";
	    listen-on port $2 { 127.0.0.1; };
	    listen-on-v6 { none; };
	    recursion no;
	    dnssec-validation no;
	    notify no;
	    allow-transfer { key "upd"; };
	};
	logging {
	    channel f { file "$d/named.log"; print-time yes; severity info; };
	    category default { f; };
	    category update { f; };
	    category update-security { f; };
	    category xfer-in { f; };
	};
	zone "$ZONE" { $zone };
	EOF
	named -f -4 -n 1 -c "$d/named.conf" >"$d/named.out" 2>&1 &
	NPID=$!; PIDS+=("$NPID")
}

updates() { # NAMEDLOG: UPDATE messages taken so far
	grep -c 'signer "upd" approved' "$1" || true
}

# ---------------------------------------------------------------- machine
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo "?")
dirty=$(git -C "$root" status --porcelain -- src meson.build 2>/dev/null | awk '{ print $2 }' | tr '\n' ' ')
cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
buildopts=$("$PY" -c "
import json; b = {o['name']: o['value'] for o in json.load(open('$(dirname "$ZONESYNC")/meson-info/intro-buildoptions.json'))}
print(f\"buildtype={b['buildtype']}, -O{b['optimization']}, b_sanitize={b['b_sanitize']}\")" 2>/dev/null || echo '?')
machine="- nproc: $(nproc); CPU: $cpu; RAM: $mem; kernel: $(uname -sr)
- zonesync: git $commit${dirty:+ (uncommitted changes in: $dirty)}, $ZONESYNC ($buildopts)
- $(knotd --version | head -n1); $(named -v | head -n1)"

say "generating the zone ($RECORDS records, seed $SEED)"
zinfo=$(h gen "$RECORDS" "$tmp/bench.test.zone" "$SEED")
say "zone: $zinfo"

declare -A R
for run in $(seq "$RUNS"); do
	d=$tmp/run$run
	mkdir -p "$d/zonesync/state"
	PP=$(freeport); TP=$(freeport); SP=$(freeport)
	knot_start "$d/knot" "$PP" "$tmp/bench.test.zone"
	named_start "$d/named" "$TP" primary
	h waitsoa "$TP" 60 || die "named did not start: $(tail -n 20 "$d/named/named.out" "$d/named/named.log")"
	cat >"$d/zonesync/zonesync.yaml" <<-EOF
	server:
	  listen: [127.0.0.1@$(freeport)]
	  state: $d/zonesync/state
	  log: { level: info }
	key:
	  - { id: xfr, algorithm: hmac-sha256, secret: "$SECRET" }
	  - { id: upd, algorithm: hmac-sha256, secret: "$SECRET" }
	primary:
	  - { id: p, address: [127.0.0.1@$PP], key: xfr }
	target:
	  - { id: named, type: rfc2136, address: 127.0.0.1@$TP, key: upd }
	zone:
	  - { domain: bench.test, primary: p, target: [named] }
	EOF
	dig @127.0.0.1 -p "$PP" -y "hmac-sha256:xfr:$SECRET" +noall +answer AXFR "$ZONE" >"$d/primary.axfr"

	for s in first one; do
		if [ "$s" = one ]; then
			owner=$(awk '$4 == "A" { print $1; exit }' "$tmp/bench.test.zone")
			old=$(awk -v o="$owner" '$1 == o && $4 == "A" { print $5; exit }' "$tmp/bench.test.zone")
			ttl=$(awk -v o="$owner" '$1 == o && $4 == "A" { print $2; exit }' "$tmp/bench.test.zone")
			kc() { knotc -c "$d/knot/knot.conf" -t 10 "$@" >/dev/null || die "knotc $*"; }
			kc zone-begin "$ZONE"
			kc zone-unset "$ZONE" "$owner" A "$old"
			kc zone-set "$ZONE" "$owner" "$ttl" A 192.0.2.200
			kc zone-commit "$ZONE"
			for _ in $(seq 100); do
				dig @127.0.0.1 -p "$PP" +short A "$owner" | grep -q 192.0.2.200 && break
				sleep 0.05
			done
			dig @127.0.0.1 -p "$PP" -y "hmac-sha256:xfr:$SECRET" +noall +answer AXFR "$ZONE" >"$d/primary.axfr"
		fi
		u0=$(updates "$d/named/named.log")
		n0=$(h cpu "$NPID")
		t0=$(now)
		set +e
		"$TIME" -f '%U %S %M' -o "$d/$s.time" "$ZONESYNC" sync -c "$d/zonesync/zonesync.yaml" \
			>"$d/$s.out" 2>"$d/$s.err"
		rc=$?
		set -e
		t1=$(now)
		n1=$(h cpu "$NPID")
		[ "$rc" -eq 0 ] || die "run $run $s: zonesync sync exited $rc: $(tail -n 20 "$d/$s.err")"
		sleep 0.3 # named writes its log lines as it goes
		u1=$(updates "$d/named/named.log")
		line=$(grep 'target synced:' "$d/$s.err" | tail -n1) || die "run $run $s: no 'target synced' line"
		R[$s,$run,time]=$(secs "$t0" "$t1")
		R[$s,$run,cpu]=$(awk '{ printf "%.2f", $1 + $2 }' "$d/$s.time")
		R[$s,$run,rss]=$(awk '{ printf "%.0f", $3 / 1024 }' "$d/$s.time")
		R[$s,$run,named]=$(awk -v a="$n0" -v b="$n1" 'BEGIN { printf "%.2f", b - a }')
		R[$s,$run,updates]=$((u1 - u0))
		R[$s,$run,line]="mode=$(fld mode "$line") changes=$(fld changes "$line") requests=$(fld requests "$line") reads=$(fld reads "$line") writes=$(fld writes "$line") retries=$(fld retries "$line") time=$(fld time "$line")"
		want=full; [ "$s" = first ] || want=incremental
		[ "$(fld mode "$line")" = "$want" ] || die "run $run $s: mode=$(fld mode "$line"), expected $want"
		[ "$(fld writes "$line")" = "${R[$s,$run,updates]}" ] ||
			die "run $run $s: zonesync says writes=$(fld writes "$line"), named took ${R[$s,$run,updates]} UPDATEs"
		[ "$s" = first ] || [ "${R[$s,$run,updates]}" = 1 ] ||
			die "run $run $s: ${R[$s,$run,updates]} UPDATE messages for a one-record change"
		dig @127.0.0.1 -p "$TP" -y "hmac-sha256:upd:$SECRET" +noall +answer AXFR "$ZONE" >"$d/target.axfr"
		R[$s,$run,rrsets]=$(h verify "$d/primary.axfr" "$d/target.axfr") ||
			die "run $run $s: the target differs from the primary"
		say "run $run $s: ${R[$s,$run,time]} s, ${R[$s,$run,updates]} UPDATEs, zonesync cpu ${R[$s,$run,cpu]} s rss ${R[$s,$run,rss]} MB, named cpu ${R[$s,$run,named]} s; ${R[$s,$run,line]}; target = primary (${R[$s,$run,rrsets]} RRsets)"
	done

	# For scale: named as a plain secondary of the same zone (AXFR).
	named_start "$d/secondary" "$SP" secondary "$PP"
	t0=$(now)
	for _ in $(seq 1200); do
		grep -q "transfer of '${ZONE%.}/IN' from .*: Transfer completed" "$d/secondary/named.log" 2>/dev/null && break
		kill -0 "$NPID" 2>/dev/null || die "named secondary exited"
		sleep 0.05
	done
	t1=$(now)
	grep -q "Transfer completed" "$d/secondary/named.log" || die "named secondary: no transfer: $(tail -n 5 "$d/secondary/named.log")"
	R[axfr,$run,time]=$(secs "$t0" "$t1")
	say "run $run: named as a secondary loaded the zone by AXFR in ${R[axfr,$run,time]} s (from its start)"
	stop "$NPID"
	for p in "${PIDS[@]}"; do stop "$p"; done
done

med() { local k=$1 v=() run; for run in $(seq "$RUNS"); do v+=("${R[$k,$run,$2]}"); done; h median "${v[@]}"; }
runs() { local k=$1 v=() run; for run in $(seq "$RUNS"); do v+=("${R[$k,$run,$2]}"); done; echo "${v[*]}" | sed 's/ / \/ /g'; }

cat <<EOF
## rfc2136: pushing $RECORDS records to named by DNS UPDATE

$machine
- zone: $zinfo (seed $SEED); $RUNS runs, each with a fresh knotd primary, named target and zonesync state

| push | wall time, s (median; runs) | UPDATE messages | zonesync CPU s / peak RSS MB | named CPU s | zonesync's counters (run 1) |
|---|---|---:|---|---:|---|
| first sync (AXFR of the target + UPDATEs) | $(med first time) ($(runs first time)) | $(runs first updates) | $(med first cpu) / $(med first rss) | $(med first named) | ${R[first,1,line]} |
| one A record changed | $(med one time) ($(runs one time)) | $(runs one updates) | $(med one cpu) / $(med one rss) | $(med one named) | ${R[one,1,line]} |
| for scale: named as a secondary, AXFR from knotd (from start) | $(med axfr time) ($(runs axfr time)) | - | - | - | - |

After every push the target's AXFR equalled the primary's (apex SOA and NS left out), ${R[first,1,rrsets]} RRsets.
EOF
