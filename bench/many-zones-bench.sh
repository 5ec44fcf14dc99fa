#!/usr/bin/env bash
# Many small zones (issue 16): `zonesync run` as a secondary of N zones beside knotd
# as a secondary of the same zones, on loopback, in one run.
#
# A knotd primary serves N zones (z1.many.test. ... zN.many.test.) of R records each
# (SOA, NS, A, AAAA, TXT, MX, CNAME: see bench/many-zones-helper.py).
#
#   zonesync: every zone has two targets, a zonefile target and a PowerDNS API target
#     (pdns_server, gsqlite3; the N zones are created empty in its database before
#     zonesync starts, outside the timed part).  "In sync" means zonesync's metrics
#     (zonesync_target_serial) show both targets of every zone at the primary's serial;
#     the exactness check below confirms what the metrics say on a sample.
#   knotd: a second knotd with the N zones as secondary (its defaults, as
#     secondary-bench.sh); "in sync" means it answers the primary's SOA serial for
#     every zone.
#
# Each secondary is measured alone (the primary notifies only the one being measured;
# the other is not running):
#   1. start to all zones in sync, and its peak RSS (VmHWM) by then;
#   2. CPU (utime+stime) used while idle over BENCH_IDLE seconds after that;
#   3. one-zone changes (BENCH_CHANGES, one at a time, random zones): the zone file
#      rewritten with a new serial and one changed record, `knotc -b zone-reload Z`,
#      then the time until the secondary has it (zonesync: the zone file and PowerDNS's
#      SOA over DNS both at the new serial; knotd: its SOA answer);
#   4. the NOTIFY storm: every zone file gets a new serial at once, `knotc zone-reload`
#      (all zones), then the time until all zones are in sync, and how many zones were
#      not in sync when the wait ended (BENCH_TIMEOUT; must be 0);
#   5. (zonesync) exactness: for BENCH_SAMPLE random zones, the zonefile target's
#      records and PowerDNS's AXFR equal the primary's AXFR (canonical records, TTLs
#      included, SOA included).
#
#   meson setup build-rel --buildtype=release && ninja -C build-rel
#   bench/many-zones-bench.sh [--zones N] [--records R] [> report.md]
#
# --zones N (default 10000), --records R (default 20).  The report (markdown) goes to
# stdout, progress to stderr.  Environment (optional):
#   ZONESYNC=path        binary (default build-rel/zonesync)
#   BENCH_IDLE=s         idle CPU window (default 60)
#   BENCH_CHANGES=N      one-zone changes per secondary (default 5)
#   BENCH_SAMPLE=N       zones in the exactness check (default 50)
#   BENCH_TIMEOUT=s      longest wait for all zones to be in sync, each time (default 3600)
#   BENCH_STALL=s        give up waiting sooner when no zone came in sync for that long
#                        (default 180; the zones' SOA refresh is 3600 s)
#   BENCH_ONLY=zonesync|knotd  measure only that secondary (default both; ratios need both)
#   BENCH_NOTIFY_RATE_LIMIT=N  zonesync's server.notify-rate-limit (default: not set,
#                        zonesync's default)
#   BENCH_SEED=N         seed of the random zone choices (default 20261205)
#   BENCH_KEEP=dir       copy the logs, configs and progress files there before cleaning up
#
# Needs knotd, knotc, pdns_server (pdns-backend-sqlite3), sqlite3, /usr/bin/python3 with
# dnspython.  Exit status: 0 done and everything in sync and equal; 1 a secondary did not
# get every zone in sync, or the sample differs; 2 something failed (a server, a tool).
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
ZONESYNC=${ZONESYNC:-$root/build-rel/zonesync}
ZONES=10000
RECORDS=20
IDLE=${BENCH_IDLE:-60}
CHANGES=${BENCH_CHANGES:-5}
SAMPLE=${BENCH_SAMPLE:-50}
TIMEOUT=${BENCH_TIMEOUT:-3600}
STALL=${BENCH_STALL:-180}
NOTIFY_RATE_LIMIT=${BENCH_NOTIFY_RATE_LIMIT:-}
ONLY=${BENCH_ONLY:-both}
SEED=${BENCH_SEED:-20261205}
KEEP=${BENCH_KEEP:-}
PY=/usr/bin/python3 # has dnspython
SCHEMA=/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql

die() { echo "many-zones-bench: FAIL: $*" >&2; exit 2; }
say() { echo "many-zones-bench: $(date -u +%H:%M:%S) $*" >&2; }
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }

while [ $# -gt 0 ]; do
	case $1 in
	--zones) ZONES=${2:?--zones needs a number}; shift 2 ;;
	--records) RECORDS=${2:?--records needs a number}; shift 2 ;;
	-h | --help) usage ;;
	*) echo "many-zones-bench: unknown argument: $1" >&2; usage ;;
	esac
done
[[ $ZONES =~ ^[1-9][0-9]*$ ]] || die "--zones must be a positive number, not '$ZONES'"
{ [[ $RECORDS =~ ^[0-9]+$ ]] && [ "$RECORDS" -ge 5 ]; } || die "--records must be a number >= 5, not '$RECORDS'"

for t in knotd knotc pdns_server sqlite3 "$PY" awk; do
	command -v "$t" >/dev/null || die "$t not found"
done
"$PY" -c 'import dns.query, dns.zone' 2>/dev/null || die "$PY has no dnspython"
[ -r "$SCHEMA" ] || die "$SCHEMA missing (apt-get install pdns-backend-sqlite3)"
[ -x "$ZONESYNC" ] || die "build first: meson setup build-rel --buildtype=release && ninja -C build-rel"

tmp=$(mktemp -d /tmp/many-zones-bench.XXXXXX)
PIDS=()
# shellcheck disable=SC2317 # called by the trap
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
		(cd "$tmp" && find . -path ./primary/zones -prune -o -path ./zs/files -prune -o \
			-path ./knotsec/zones -prune -o \( -name '*.log' -o -name '*.conf' -o -name '*.yaml' \
			-o -name '*.txt' \) -exec cp --parents {} "$KEEP" \;) 2>/dev/null || true
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

h() { "$PY" "$here/many-zones-helper.py" "$@"; }
ports_used=()
freeport() { local p; p=$(h freeport "${ports_used[@]}"); ports_used+=("$p"); echo "$p"; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
mb() { awk -v k="$1" 'BEGIN { printf "%.0f", k * 1024 / 1e6 }'; }
now() { date +%s.%N; }
# load: cores used by the whole machine over the last 5 s (ours included).
cpu_sample() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }
hz=$(getconf CLK_TCK)
load() { local a b; a=$(cpu_sample); sleep 5; b=$(cpu_sample); awk -v a="$a" -v b="$b" -v hz="$hz" 'BEGIN { printf "%.2f", (b - a) / hz / 5 }'; }

SECRET=$("$PY" -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')
APIKEY=bench-$$-$RANDOM$RANDOM
PP=$(freeport)  # knotd primary
SP=$(freeport)  # knotd secondary
ZP=$(freeport)  # zonesync NOTIFY listener
MP=$(freeport)  # zonesync metrics
DP=$(freeport)  # PowerDNS DNS
AP=$(freeport)  # PowerDNS API

# knot_primary_conf NOTIFYPORT: the primary's config, notifying that port only.
knot_primary_conf() {
	local d=$tmp/primary
	mkdir -p "$d/run" "$d/db" "$d/zones"
	{
		cat <<-EOF
		server:
		    rundir: "$d/run"
		    listen: 127.0.0.1@$PP
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
		  - id: secondary
		    address: 127.0.0.1@$1
		    key: xfr
		acl:
		  - id: xfr
		    address: 127.0.0.0/8
		    key: xfr
		    action: transfer
		template:
		  - id: default
		    storage: "$d/zones"
		    file: "%s.zone"
		    notify: secondary
		    acl: xfr
		    zonefile-sync: -1
		    zonefile-load: difference
		    journal-content: changes
		    serial-policy: increment
		zone:
		EOF
		h names "$ZONES" "  - domain: " ""
	} >"$d/knot.conf"
}

knot_secondary_conf() {
	local d=$tmp/knotsec
	mkdir -p "$d/run" "$d/db" "$d/zones"
	{
		cat <<-EOF
		server:
		    rundir: "$d/run"
		    listen: 127.0.0.1@$SP
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
		    address: 127.0.0.1@$PP
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
		EOF
		h names "$ZONES" "  - domain: " ""
	} >"$d/knot.conf"
}

zonesync_conf() {
	local d=$tmp/zs
	mkdir -p "$d/state" "$d/files"
	printf '%s\n' "$APIKEY" >"$d/api.key"
	{
		cat <<-EOF
		server:
		  listen: [127.0.0.1@$ZP]
		  metrics: 127.0.0.1@$MP
		  state: $d/state
		  log: { level: info }
		${NOTIFY_RATE_LIMIT:+  notify-rate-limit: $NOTIFY_RATE_LIMIT}
		key:
		  - { id: xfr, algorithm: hmac-sha256, secret: $SECRET }
		primary:
		  - { id: p, address: [127.0.0.1@$PP], key: xfr }
		target:
		  - { id: files, type: zonefile, path: "$d/files/%s.zone" }
		  - { id: pdns, type: powerdns, url: "http://127.0.0.1:$AP", api-key-file: "$d/api.key" }
		zone:
		EOF
		h names "$ZONES" "  - { domain: " ", primary: p, target: [files, pdns] }"
	} >"$d/zonesync.yaml"
	"$ZONESYNC" check -c "$d/zonesync.yaml" >"$d/check.txt" 2>&1 ||
		{ tail -n 5 "$d/check.txt" >&2; die "zonesync check rejects $d/zonesync.yaml"; }
}

pdns_start() {
	local d=$tmp/pdns
	mkdir -p "$d"
	sqlite3 "$d/pdns.sqlite3" <"$SCHEMA"
	h sql "$ZONES" | sqlite3 "$d/pdns.sqlite3"
	# No caches: the latency polls ask PowerDNS for the SOA over DNS, and the zones
	# were made behind its back (the zone cache would not know them).
	cat >"$d/pdns.conf" <<-EOF
	launch=gsqlite3
	gsqlite3-database=$d/pdns.sqlite3
	daemon=no
	guardian=no
	disable-syslog=yes
	local-address=127.0.0.1
	local-port=$DP
	socket-dir=$d
	security-poll-suffix=
	api=yes
	api-key=$APIKEY
	webserver=yes
	webserver-address=127.0.0.1
	webserver-port=$AP
	webserver-allow-from=127.0.0.0/8
	webserver-loglevel=normal
	loglevel=6
	cache-ttl=0
	query-cache-ttl=0
	negquery-cache-ttl=0
	zone-cache-refresh-interval=0
	EOF
	pdns_server --config-dir="$d" >"$d/pdns.log" 2>&1 &
	PDNS_PID=$!; PIDS+=("$PDNS_PID")
	for _ in $(seq 300); do
		grep -q "Listening for HTTP requests" "$d/pdns.log" && return 0
		kill -0 "$PDNS_PID" 2>/dev/null || break
		sleep 0.1
	done
	tail -n 5 "$d/pdns.log" >&2
	die "pdns_server did not start"
}

# requests FROM: "GET PATCH other" API requests in pdns.log after line FROM.
requests() {
	tail -n +"$(($1 + 1))" "$tmp/pdns/pdns.log" | awk '
		/"GET \/api\/v1\/[^ ]* HTTP/ { g++; next }
		/"PATCH \/api\/v1\/[^ ]* HTTP/ { p++; next }
		/"[A-Z]+ \/api\/v1\/[^ ]* HTTP/ { o++ }
		END { printf "%d %d %d\n", g, p, o }'
}

# primary_start: (re)start the primary and wait until it serves every zone at SERIAL.
primary_start() {
	local t0 out
	t0=$(now)
	knotd -c "$tmp/primary/knot.conf" >"$tmp/primary/stdout.log" 2>&1 &
	PRIM_PID=$!; PIDS+=("$PRIM_PID")
	out=$(h wait dns "$PP" "$ZONES" "$SERIAL" 600 "$PRIM_PID" "$tmp/primary/progress.txt")
	read -r t ok miss _ <<<"$out"
	[ "$miss" -eq 0 ] || die "the knotd primary serves only $ok of $ZONES zones at serial $SERIAL"
	R[primary,load]=$(secs "$t0" "$t")
}

# storm NAME KIND WHERE PID: every zone file gets serial SERIAL+1 and a new record
# version, `knotc zone-reload` (all zones), then wait for the secondary.
storm() {
	local name=$1 kind=$2 where=$3 pid=$4 t0 t1 out t ok miss hwm
	SERIAL=$((SERIAL + 1000))
	say "[$name] NOTIFY storm: all $ZONES zones to serial $SERIAL"
	h gen "$tmp/primary/zones" "$ZONES" "$RECORDS" "$SERIAL" "storm-$name"
	t0=$(now)
	knotc -c "$tmp/primary/knot.conf" zone-reload >"$tmp/$name-reload.txt" 2>&1 ||
		{ cat "$tmp/$name-reload.txt" >&2; die "knotc zone-reload failed"; }
	t1=$(now)
	out=$(h wait "$kind" "$where" "$ZONES" "$SERIAL" "$TIMEOUT" "$pid" "$tmp/$name-storm-progress.txt" "$t0" "$STALL")
	read -r t ok miss hwm _ <<<"$out"
	R[$name,storm]=$(secs "$t0" "$t"); R[$name,storm_ok]=$ok; R[$name,storm_miss]=$miss
	R[$name,storm_call]=$(secs "$t0" "$t1"); R[$name,storm_hwm]=$hwm
	R[$name,storm_load]=$(load)
	say "[$name] storm: $ok in sync, $miss not, after ${R[$name,storm]} s"
}

# changes NAME MODE PID WHERE...: BENCH_CHANGES one-zone changes; fills R[NAME,chg*].
changes() {
	local name=$1 mode=$2 pid=$3 n p50 max
	shift 3
	say "[$name] $CHANGES one-zone changes"
	h changes "$mode" "$tmp/primary/zones" "$ZONES" "$RECORDS" "$CHANGES" \
		"$tmp/primary/knot.conf" "$SEED" "$tmp/$name-changes.txt" "$pid" "$@" ||
		failures+=("$name: one-zone changes: see above")
	read -r n p50 max _ < <(h stats "$tmp/$name-changes.txt" 2)
	R[$name,chg]="$p50 / $max"; R[$name,chg_n]=$n
	read -r _ p50 max _ < <(h stats "$tmp/$name-changes.txt" 3)
	R[$name,chg_call]="$p50 / $max"
	if [ "$mode" = zonesync ]; then
		read -r _ p50 max _ < <(h stats "$tmp/$name-changes.txt" 4); R[$name,chg_files]="$p50 / $max"
		read -r _ p50 max _ < <(h stats "$tmp/$name-changes.txt" 5); R[$name,chg_pdns]="$p50 / $max"
	fi
	# Both secondaries get the same zones changed (same seed).  The changed zones now
	# have serials above SERIAL; the storm goes past them.
}

declare -A R
failures=()
incomplete=()
SERIAL=1

# ---------------------------------------------------------------- machine
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo "?")
dirty=$(git -C "$root" status --porcelain -- src meson.build 2>/dev/null | awk '{ print $2 }' | tr '\n' ' ')
cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
machine="- nproc: $(nproc); CPU: $cpu; RAM: $mem; kernel: $(uname -sr); open files limit: $(ulimit -n)
- $(knotd --version | head -n1); PowerDNS $(pdns_server --version 2>&1 | sed -n 's/.*PowerDNS Authoritative Server \([0-9.]*\).*/\1/p' | head -n1) (gsqlite3, caches off); python3 dnspython $("$PY" -c 'import dns.version; print(dns.version.version)')
- zonesync: git $commit${dirty:+ (uncommitted changes in: $dirty)}, $ZONESYNC"

# ---------------------------------------------------------------- zones
say "generating $ZONES zones of $RECORDS records"
h gen "$tmp/primary/zones" "$ZONES" "$RECORDS" "$SERIAL" 1
R[load_before]=$(load)

# ---------------------------------------------------------------- zonesync
run_zonesync() {
	knot_primary_conf "$ZP"
	say "[zonesync] starting the knotd primary (notifies zonesync)"
	primary_start
	say "[zonesync] primary serves all zones after ${R[primary,load]} s; PowerDNS: creating $ZONES empty zones"
	pdns_start
	zonesync_conf
	R[zs,load_at_start]=$(load)
	mark=$(wc -l <"$tmp/pdns/pdns.log")
	say "[zonesync] start (timeout $TIMEOUT s)"
	t0=$(now)
	"$ZONESYNC" run -c "$tmp/zs/zonesync.yaml" 2>>"$tmp/zs/zonesync.log" &
	ZS_PID=$!; PIDS+=("$ZS_PID")
	out=$(h wait metrics "http://127.0.0.1:$MP/metrics" "$ZONES" "$SERIAL" "$TIMEOUT" "$ZS_PID" \
		"$tmp/zs-start-progress.txt" "$t0" "$STALL")
	read -r t ok miss hwm _ <<<"$out"
	R[zs,start]=$(secs "$t0" "$t"); R[zs,start_ok]=$ok; R[zs,start_miss]=$miss; R[zs,start_hwm]=$hwm
	read -r g p o <<<"$(requests "$mark")"
	R[zs,start_req]="$g GET, $p PATCH, $o other"
	say "[zonesync] start: $ok in sync, $miss not, after ${R[zs,start]} s; VmHWM $(mb "$hwm") MB"
	zs_ok=1
	if ! kill -0 "$ZS_PID" 2>/dev/null; then
		failures+=("zonesync exited during the initial sync: $(tail -n 3 "$tmp/zs/zonesync.log" | tr '\n' ' ')")
		zs_ok=0
	elif [ "$miss" -ne 0 ]; then
		incomplete+=("zonesync: $miss of $ZONES zones not in sync ${R[zs,start]} s after its start")
		zs_ok=0
	fi
	if [ "$zs_ok" = 1 ]; then
		sleep 5
		say "[zonesync] idle CPU over $IDLE s"
		read -r "R[zs,idle]" "R[zs,idle_pdns]" < <(h cpu "$IDLE" "$ZS_PID" "$PDNS_PID")
		changes zs zonesync "$ZS_PID" "$tmp/zs/files" "$DP"
		mark=$(wc -l <"$tmp/pdns/pdns.log")
		storm zs metrics "http://127.0.0.1:$MP/metrics" "$ZS_PID"
		read -r g p o <<<"$(requests "$mark")"
		R[zs,storm_req]="$g GET, $p PATCH, $o other"
		[ "${R[zs,storm_miss]}" -eq 0 ] || incomplete+=("zonesync: ${R[zs,storm_miss]} zones missed the NOTIFY storm")
		say "[zonesync] exactness on $SAMPLE zones"
		mkdir -p "$tmp/diffs"
		read -r "R[cmp_n]" "R[cmp_files]" "R[cmp_pdns]" "R[cmp_files_behind]" "R[cmp_pdns_behind]" < <(h compare "$ZONES" "$SAMPLE" "$SEED" "$PP" "$SECRET" \
			"$tmp/zs/files" "$DP" "$tmp/diffs") || failures+=("the exactness check failed to run")
		if [ "${R[cmp_files]:-0}" != "${R[cmp_n]:-x}" ] || [ "${R[cmp_pdns]:-0}" != "${R[cmp_n]:-x}" ]; then
			incomplete+=("exactness: of ${R[cmp_n]:-?} zones, files equal ${R[cmp_files]:-?}, PowerDNS equal ${R[cmp_pdns]:-?}")
			for f in "$tmp"/diffs/*; do [ -e "$f" ] && { echo "== $f"; head -n 6 "$f"; } >&2; done
		fi
	fi
	R[zs,hwm_end]=$(awk '/^VmHWM/ { print $2 }' "/proc/$ZS_PID/status" 2>/dev/null || echo 0)
	R[zs,refused]=$(h metric "http://127.0.0.1:$MP/metrics" zonesync_notify_refused_total |
		sed 's/.*reason="\([^"]*\)"} \(.*\)/\2 \1/' | paste -sd, - | sed 's/,/, /g')
	R[zs,prim_refused]=$(grep -c "notify, outgoing.*REFUSED" "$tmp/primary/knotd.log" || true)
	R[zs,warn]=$(grep -c ' warning ' "$tmp/zs/zonesync.log" || true)
	R[zs,err]=$(grep -c ' error ' "$tmp/zs/zonesync.log" || true)
	R[zs,first_problem]=$(grep -m1 -E ' (warning|error) ' "$tmp/zs/zonesync.log" || true)
	R[zs,xfr]=$(grep -c 'zone transferred' "$tmp/zs/zonesync.log" || true)
	R[zs,retried]=$(grep -c 'request retried' "$tmp/zs/zonesync.log" || true)
	R[pdns,5xx]=$(grep -c '"[A-Z]* /api/v1/[^ ]* HTTP/1.1" 5[0-9][0-9] ' "$tmp/pdns/pdns.log" || true)
	stop "$ZS_PID"
	stop "$PDNS_PID"
	stop "$PRIM_PID"
}

# ---------------------------------------------------------------- knotd secondary
run_knotd() {
	knot_primary_conf "$SP"
	knot_secondary_conf
	say "[knotd] restarting the knotd primary (notifies the knotd secondary)"
	primary_start
	R[ks,load_at_start]=$(load)
	say "[knotd] start"
	t0=$(now)
	knotd -c "$tmp/knotsec/knot.conf" >"$tmp/knotsec/stdout.log" 2>&1 &
	KS_PID=$!; PIDS+=("$KS_PID")
	out=$(h wait dns "$SP" "$ZONES" "$SERIAL" "$TIMEOUT" "$KS_PID" "$tmp/ks-start-progress.txt" "$t0" "$STALL")
	read -r t ok miss hwm _ <<<"$out"
	R[ks,start]=$(secs "$t0" "$t"); R[ks,start_ok]=$ok; R[ks,start_miss]=$miss; R[ks,start_hwm]=$hwm
	say "[knotd] start: $ok in sync, $miss not, after ${R[ks,start]} s; VmHWM $(mb "$hwm") MB"
	if [ "$miss" -eq 0 ]; then
		sleep 5
		say "[knotd] idle CPU over $IDLE s"
		R[ks,idle]=$(h cpu "$IDLE" "$KS_PID")
		changes ks knot "$KS_PID" "$SP"
		storm ks dns "$SP" "$KS_PID"
		[ "${R[ks,storm_miss]}" -eq 0 ] || incomplete+=("knotd: ${R[ks,storm_miss]} zones missed the NOTIFY storm")
	else
		incomplete+=("knotd: $miss of $ZONES zones not in sync ${R[ks,start]} s after its start")
	fi
	R[ks,hwm_end]=$(awk '/^VmHWM/ { print $2 }' "/proc/$KS_PID/status" 2>/dev/null || echo 0)
	stop "$KS_PID"
	stop "$PRIM_PID"
}

[ "$ONLY" = knotd ] || run_zonesync
[ "$ONLY" = zonesync ] || run_knotd

# ---------------------------------------------------------------- report
v() { echo "${R[$1]:--}"; }
ratio() { # ratio ZS KS: zonesync / knotd (above 1: zonesync took longer, used more)
	awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0 && b != "-" && a != "-") printf "%.2f×", a / b; else print "-" }'
}
first() { echo "${1%% *}"; }
echo "## Machine"
echo
echo "$machine"
echo "- load of the whole machine (cores, 5 s samples, ours included): before the run $(v load_before); at zonesync's start $(v zs,load_at_start); after its storm $(v zs,storm_load); at knotd's start $(v ks,load_at_start); after its storm $(v ks,storm_load)"
echo
echo "## $ZONES zones x $RECORDS records; knotd primary serves them all $(v primary,load) s after its start (last restart)"
echo
echo "| measure | zonesync (files + PowerDNS) | knotd secondary | zonesync / knotd |"
echo "|---|---:|---:|---:|"
echo "| start to all zones in sync (s) | $(v zs,start) ($(v zs,start_ok) of $ZONES) | $(v ks,start) ($(v ks,start_ok) of $ZONES) | $(ratio "$(v zs,start)" "$(v ks,start)") |"
echo "| VmHWM at sync (MB) | $(mb "$(v zs,start_hwm)") | $(mb "$(v ks,start_hwm)") | $(ratio "$(v zs,start_hwm)" "$(v ks,start_hwm)") |"
echo "| VmHWM at the end (MB) | $(mb "$(v zs,hwm_end)") | $(mb "$(v ks,hwm_end)") | $(ratio "$(v zs,hwm_end)" "$(v ks,hwm_end)") |"
echo "| idle CPU over $IDLE s (s) | $(v zs,idle) | $(v ks,idle) | $(ratio "$(v zs,idle)" "$(v ks,idle)") |"
echo "| one-zone change, reload returned -> has it (ms), p50 / max of $CHANGES | $(v zs,chg) | $(v ks,chg) | $(ratio "$(first "$(v zs,chg)")" "$(first "$(v ks,chg)")") |"
echo "| same, from the reload call (ms) | $(v zs,chg_call) | $(v ks,chg_call) | |"
echo "| NOTIFY storm: reload call to all in sync (s) | $(v zs,storm) | $(v ks,storm) | $(ratio "$(v zs,storm)" "$(v ks,storm)") |"
echo "| zones that missed the storm (must be 0) | $(v zs,storm_miss) | $(v ks,storm_miss) | |"
echo
echo "- zonesync: the change latency split: zone file p50 / max $(v zs,chg_files) ms, PowerDNS $(v zs,chg_pdns) ms; PowerDNS API requests during the start: $(v zs,start_req), during the storm: $(v zs,storm_req); pdns_server's own CPU while zonesync idled: $(v zs,idle_pdns) s"
echo "- zonesync log: $(v zs,xfr) transfers, $(v zs,retried) API requests retried (PowerDNS answered $(v pdns,5xx) requests with a 5xx: its SQLite is written by many requests at once), $(v zs,warn) warnings, $(v zs,err) errors${R[zs,first_problem]:+ (first: \`${R[zs,first_problem]}\`)}"
echo "- NOTIFYs zonesync refused (its metrics, by reason): ${R[zs,refused]:-none}; the primary logged $(v zs,prim_refused) NOTIFYs answered REFUSED (knotd does not send those again: such a zone waits for its SOA refresh, 3600 s)"
echo "- \`knotc zone-reload\` (all zones) returned after: zonesync run $(v zs,storm_call) s, knotd run $(v ks,storm_call) s"
echo "- exactness (zonesync, after the storm): $(v cmp_n) random zones; zonefile target equal to the primary's AXFR: $(v cmp_files); PowerDNS's AXFR equal: $(v cmp_pdns); of the zones not equal, at an older serial: files $(v cmp_files_behind), PowerDNS $(v cmp_pdns_behind) (the rest hold the primary's serial with other records: wrong)"
echo
rc=0
if [ "${#incomplete[@]}" -gt 0 ]; then
	echo "## Not in sync / not equal"
	echo
	printf -- '- %s\n' "${incomplete[@]}"
	echo
	rc=1
fi
if [ "${#failures[@]}" -gt 0 ]; then
	echo "## Failures"
	echo
	printf -- '- %s\n' "${failures[@]}"
	rc=2
fi
exit "$rc"
