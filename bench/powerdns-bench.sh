#!/usr/bin/env bash
# Benchmark `zonesync sync` pushing a zone into PowerDNS through its HTTP API.
# Everything runs on loopback: a knotd primary and a pdns_server (gsqlite3
# backend, API on its webserver) started here on free ports, in a temporary
# directory removed at exit.
#
# The zone (bench.test.) has BENCH_RECORDS records (default 100,000, apex SOA
# and NS included), a generated mix of A, AAAA, TXT, MX and CNAME.  Each run
# (BENCH_RUNS, default 3) starts a fresh knotd and pdns_server and measures:
#
#   1. first: the first push of the whole zone into a PowerDNS that lacks the
#      zone (`create: true`: zonesync creates it, then fills it);
#   2. one:   one record added on the primary (knotc zone-begin, zone-set,
#      zone-commit: knotd serves it by IXFR), then a push.
#
# For each push: the wall time and peak RSS of `zonesync sync`, and the API
# requests it made, counted from pdns_server's log (webserver-loglevel=normal
# with loglevel=6: one line per request, `"PATCH /api/v1/... HTTP/1.1" 204`).
# After every push PowerDNS's AXFR is compared with the primary's (sorted
# answer lines of dig); any difference stops the benchmark.  pdns_server runs
# with webserver-max-bodysize=256 (MB): the first push is one PATCH of the
# whole zone (the default batch), larger than PowerDNS's default 2 MB.
#
#   meson setup build-pdns && ninja -C build-pdns     (or any build; see ZONESYNC)
#   bench/powerdns-bench.sh [> report.md]
#
# The report (markdown) goes to stdout, progress to stderr.  Environment (optional):
#   ZONESYNC=path        binary (default build-rel/zonesync, else build-pdns/zonesync)
#   BENCH_RECORDS=N      records in the zone (default 100000)
#   BENCH_RUNS=N         runs (default 3); the report gives each and the medians
#   BENCH_SEED=N         generator seed (default 20261127)
#   BENCH_KEEP=dir       copy every log and config there before cleaning up
#
# Exit status: 0 done; 2 something failed (a command, PowerDNS's zone not equal
# to the primary's after a push): the failing command and its output are shown.
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
if [ -z "${ZONESYNC:-}" ]; then
	ZONESYNC=$root/build-rel/zonesync
	[ -x "$ZONESYNC" ] || ZONESYNC=$root/build-pdns/zonesync
fi
RECORDS=${BENCH_RECORDS:-100000}
RUNS=${BENCH_RUNS:-3}
SEED=${BENCH_SEED:-20261127}
KEEP=${BENCH_KEEP:-}
PY=/usr/bin/python3
TIME=/usr/bin/time
ZONE=bench.test.
SCHEMA=/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql
KEY=bench-$$-$RANDOM$RANDOM

die() { echo "powerdns-bench: FAIL: $*" >&2; exit 2; }
say() { echo "powerdns-bench: $*" >&2; }

for t in knotd knotc dig pdns_server sqlite3 "$PY" "$TIME" awk; do
	command -v "$t" >/dev/null || die "$t not found"
done
[ -r "$SCHEMA" ] || die "$SCHEMA missing (apt-get install pdns-backend-sqlite3)"
[ -x "$ZONESYNC" ] || die "build first: meson setup build-pdns && ninja -C build-pdns"

tmp=$(mktemp -d /tmp/powerdns-bench.XXXXXX)
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
		(cd "$tmp" && find . \( -name '*.log' -o -name '*.conf' -o -name '*.yaml' \
			-o -name '*.err' -o -name '*.out' \) -exec cp --parents {} "$KEEP" \;) 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stop() {
	local p=$1 keep=() q
	kill "$p" 2>/dev/null || true
	for _ in $(seq 300); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$p" 2>/dev/null && kill -9 "$p" 2>/dev/null
	wait "$p" 2>/dev/null || true
	for q in "${PIDS[@]}"; do [ "$q" = "$p" ] || keep+=("$q"); done
	PIDS=("${keep[@]}")
}

free_port() {
	"$PY" -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The zone: SOA, NS, then RECORDS-2 records at generated names.
"$PY" - "$RECORDS" "$SEED" >"$tmp/zone.txt" <<'EOF'
import random, sys
n, seed = int(sys.argv[1]), int(sys.argv[2])
r = random.Random(seed)
print("$ORIGIN bench.test.\n$TTL 3600")
print("@ SOA ns1 hostmaster 1 3600 600 1209600 300")
print("@ NS ns1")
left, i = n - 2, 0
while left > 0:
    i += 1
    k = r.random()
    name = f"h{i}"
    if k < 0.45:
        print(f"{name} 300 A 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}")
    elif k < 0.65:
        print(f"{name} 300 AAAA 2001:db8::{i >> 16:x}:{i & 0xffff:x}")
    elif k < 0.80:
        print(f'{name} 600 TXT "v=spf1 ip4:192.0.2.{i % 250} -all" "id {i}"')
    elif k < 0.90:
        print(f"{name} 3600 MX {r.randint(0, 50)} mail{i % 97}.example.net.")
    else:
        print(f"{name} 300 CNAME h{max(1, i - 1)}")
    left -= 1
EOF

# axfr PORT [DIG-ARGS]: the zone's records as sorted unique answer lines.
axfr() {
	local port=$1
	shift
	dig @127.0.0.1 -p "$port" "$@" +noall +answer +time=10 +tries=1 AXFR "$ZONE" |
		awk '{ $1 = tolower($1); print }' | sort -u
}

# requests LOGFILE FROM: "GET POST PATCH" counted after line FROM.
requests() {
	tail -n +"$(($2 + 1))" "$1" | awk '
		/"GET \/api\/v1\/[^ ]* HTTP/ { g++ }
		/"POST \/api\/v1\/[^ ]* HTTP/ { p++ }
		/"PATCH \/api\/v1\/[^ ]* HTTP/ { pa++ }
		END { printf "%d %d %d\n", g, p, pa }'
}

# timed NAME CMD...: runs it, records "wall rss" in $tmp/NAME.time.
timed() {
	local name=$1
	shift
	if ! "$TIME" -f '%e %M' -o "$tmp/$name.time" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"; then
		cat "$tmp/$name.out" "$tmp/$name.err" >&2
		die "$* failed"
	fi
}

results=()
for run in $(seq "$RUNS"); do
	d=$tmp/run$run
	mkdir -p "$d/knot/zones" "$d/knot/db" "$d/pdns" "$d/zs/state"
	kport=$(free_port)
	pport=$(free_port)
	aport=$(free_port)
	secret=$(head -c 32 /dev/urandom | base64)
	cp "$tmp/zone.txt" "$d/knot/zones/bench.test.zone"
	cat >"$d/knot/knot.conf" <<EOF
server:
    rundir: "$d/knot"
    listen: 127.0.0.1@$kport
log:
  - target: "$d/knot/knotd.log"
    any: info
database:
    storage: "$d/knot/db"
key:
  - id: xfr
    algorithm: hmac-sha256
    secret: $secret
acl:
  - id: xfr
    address: 127.0.0.0/8
    key: xfr
    action: transfer
template:
  - id: default
    storage: "$d/knot/zones"
    file: "%s.zone"
    acl: xfr
    zonefile-sync: -1
    zonefile-load: difference
    journal-content: changes
    serial-policy: increment
zone:
  - domain: $ZONE
EOF
	knotd -c "$d/knot/knot.conf" >"$d/knot/knotd.out" 2>&1 &
	PIDS+=($!)
	knotpid=$!
	sqlite3 "$d/pdns/pdns.sqlite3" <"$SCHEMA"
	cat >"$d/pdns/pdns.conf" <<EOF
launch=gsqlite3
gsqlite3-database=$d/pdns/pdns.sqlite3
daemon=no
guardian=no
disable-syslog=yes
local-address=127.0.0.1
local-port=$pport
socket-dir=$d/pdns
security-poll-suffix=
api=yes
api-key=$KEY
webserver=yes
webserver-address=127.0.0.1
webserver-port=$aport
webserver-allow-from=127.0.0.0/8
webserver-loglevel=normal
webserver-max-bodysize=256
loglevel=6
EOF
	pdns_server --config-dir="$d/pdns" >"$d/pdns/pdns.log" 2>&1 &
	PIDS+=($!)
	pdnspid=$!
	for _ in $(seq 300); do
		s=$(dig @127.0.0.1 -p "$kport" +short +time=1 +tries=1 SOA "$ZONE" | awk '{print $3}')
		[ "$s" = 1 ] && break
		sleep 0.1
	done
	[ "$s" = 1 ] || die "knotd did not serve $ZONE"
	for _ in $(seq 300); do
		grep -q "Listening for HTTP requests" "$d/pdns/pdns.log" && break
		sleep 0.1
	done
	printf '%s\n' "$KEY" >"$d/zs/api.key"
	cat >"$d/zs/zonesync.yaml" <<EOF
server:
  listen: [127.0.0.1@$(free_port)]
  state: "$d/zs/state"
  log: { level: info }
key:
  - { id: xfr, algorithm: hmac-sha256, secret: $secret }
primary:
  - { id: p, address: [127.0.0.1@$kport], key: xfr }
target:
  - id: pdns
    type: powerdns
    url: "http://127.0.0.1:$aport"
    api-key-file: "$d/zs/api.key"
    create: true
zone:
  - { domain: $ZONE, primary: p, target: [pdns], max-delete: 100%, max-update: 100% }
EOF
	check() {
		axfr "$kport" -y "hmac-sha256:xfr:$secret" >"$d/want.txt"
		axfr "$pport" >"$d/got.txt"
		cmp -s "$d/want.txt" "$d/got.txt" ||
			{ diff "$d/want.txt" "$d/got.txt" | head -20 >&2; die "run $run $1: PowerDNS differs from the primary"; }
	}

	say "run $run: first push of $RECORDS records"
	mark=$(wc -l <"$d/pdns/pdns.log")
	timed "first$run" "$ZONESYNC" sync -c "$d/zs/zonesync.yaml"
	read -r g p pa <<<"$(requests "$d/pdns/pdns.log" "$mark")"
	read -r wall rss <<<"$(cat "$tmp/first$run.time")"
	check first
	results+=("first $run $wall $rss $g $p $pa")

	say "run $run: one-record change"
	knotc -c "$d/knot/knot.conf" zone-begin "$ZONE" >/dev/null
	knotc -c "$d/knot/knot.conf" zone-set "$ZONE" changed 300 A 192.0.2.77 >/dev/null
	knotc -c "$d/knot/knot.conf" zone-commit "$ZONE" >/dev/null
	for _ in $(seq 100); do
		s=$(dig @127.0.0.1 -p "$kport" +short +time=1 +tries=1 SOA "$ZONE" | awk '{print $3}')
		[ "$s" = 2 ] && break
		sleep 0.1
	done
	mark=$(wc -l <"$d/pdns/pdns.log")
	timed "one$run" "$ZONESYNC" sync -c "$d/zs/zonesync.yaml"
	read -r g p pa <<<"$(requests "$d/pdns/pdns.log" "$mark")"
	read -r wall rss <<<"$(cat "$tmp/one$run.time")"
	grep -q "serial=2 mode=" "$tmp/one$run.err" || die "run $run: no push of serial 2"
	mode=$(sed -n 's/.*target synced: .* mode=\([a-z]*\).*/\1/p' "$tmp/one$run.err")
	check one
	results+=("one $run $wall $rss $g $p $pa $mode")
	cp "$tmp/first$run.err" "$d/zs/first.log"
	cp "$tmp/one$run.err" "$d/zs/one.log"
	stop "$pdnspid"
	stop "$knotpid"
done

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$root" status --porcelain 2>/dev/null | grep -q . && echo " + uncommitted changes" || true)
echo "## PowerDNS: first push of $RECORDS records, then a one-record change"
echo
echo "\`bench/powerdns-bench.sh\` at commit $commit$dirty; zonesync $("$ZONESYNC" --version 2>/dev/null | head -1 || true)"
echo "($ZONESYNC), PowerDNS $(pdns_server --version 2>&1 | sed -n 's/.*PowerDNS Authoritative Server \([0-9.]*\).*/\1/p' | head -1) (gsqlite3), knotd $(knotd --version | awk '{print $NF}'), $(nproc) cores."
echo
echo "| push | run | wall (s) | zonesync peak RSS (MB) | GET | POST | PATCH | mode |"
echo "|---|---:|---:|---:|---:|---:|---:|---|"
for r in "${results[@]}"; do
	read -r what n wall rss g p pa mode <<<"$r"
	printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$what" "$n" "$wall" "$(awk -v k="$rss" 'BEGIN { printf "%.0f", k / 1024 }')" "$g" "$p" "$pa" "${mode:-full}"
done
for what in first one; do
	m=$(for r in "${results[@]}"; do
		set -- $r
		if [ "$1" = "$what" ]; then echo "$3"; fi
	done | median)
	echo
	echo "median wall time, $what: ${m} s"
done
