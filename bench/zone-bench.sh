#!/usr/bin/env bash
# shellcheck disable=SC2034  # C_<name> arrays are used through a nameref
# Benchmark `zonesync diff` on a 1,000,000-RRset zone pair against
# ldns-compare-zones (diff) and named-checkzone (load), and check the goals.
#
#   meson setup build-release --buildtype=release && ninja -C build-release
#   bench/zone-bench.sh
#
# Environment (all optional):
#   ZONESYNC=path        binary to measure (default build-release/zonesync)
#   BENCH_RRSETS=N       RRsets in OLD.zone (default 1000000)
#   BENCH_SEED=N         generator seed (default 20241127)
#   BENCH_RUNS=N         runs per command (default 3)
#   BENCH_DATA=dir       where the zones go (default bench/data, git-ignored)
#   BENCH_MAX_WAIT=s     how long to wait for other processes to go idle (default 600)
#
# Exit status: 0 all goals met, 1 a goal missed, 2 a check failed (wrong diff
# counts, a tool missing or failing): the numbers are then not to be trusted.
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
ZONESYNC=${ZONESYNC:-$root/build-release/zonesync}
N=${BENCH_RRSETS:-1000000}
SEED=${BENCH_SEED:-20241127}
RUNS=${BENCH_RUNS:-3}
DATA=${BENCH_DATA:-$here/data}
MAX_WAIT=${BENCH_MAX_WAIT:-600}
TIME=/usr/bin/time
OLD=$DATA/OLD.zone
NEW=$DATA/NEW.zone

# Goals.
GOAL_LOAD_S=1.0   # zonesync: load one zone (--stats load_old and load_new)
GOAL_DIFF_S=0.3   # zonesync: the diff itself (--stats diff)
GOAL_RSS_MB=300   # zonesync diff, whole command, decimal MB (10^6 bytes)

die() { echo "zone-bench: FAIL: $*" >&2; exit 2; }

for t in "$TIME" ldns-compare-zones named-checkzone python3 awk; do
	command -v "$t" >/dev/null ||
		die "$t not found (apt-get install -y ldnsutils bind9-utils time python3)"
done
[ -x "$ZONESYNC" ] ||
	die "$ZONESYNC not built: meson setup build-release --buildtype=release && ninja -C build-release"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1}
	END { if (NR % 2) printf "%.3f\n", a[(NR + 1) / 2]; else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
maxof() { printf '%s\n' "$@" | sort -g | tail -n1; }
fdiv() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
kib2mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }

# CPU time (in cores) used on the whole machine between two /proc/stat samples.
cpu_sample() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9; exit }' /proc/stat; }
hz=$(getconf CLK_TCK)

# Wait until the other processes use less than a quarter of a core; waits of
# the whole run add up to at most MAX_WAIT seconds, then it measures anyway.
waited=0
wait_idle() {
	local a b busy said=0
	while :; do
		a=$(cpu_sample); sleep 1; b=$(cpu_sample)
		busy=$(awk -v a="$a" -v b="$b" -v hz="$hz" 'BEGIN { split(a, x, " "); split(b, y, " ");
			printf "%.2f", (y[1] - x[1]) / hz }')
		le "$busy" 0.25 && return 0
		if [ "$waited" -ge "$MAX_WAIT" ]; then
			echo "zone-bench: WARNING: other processes use $busy cores; measuring anyway" >&2
			return 0
		fi
		[ "$said" -eq 1 ] || echo "zone-bench: other processes use $busy cores; waiting for the machine to go idle" >&2
		said=1
		sleep 4; waited=$((waited + 5))
	done
}

# ---------------------------------------------------------------- machine
echo "## Machine"
echo
cpu=$(awk -F': *' '/^model name/ { m = $2 } /^cpu family/ { f = $2 } /^model\t/ { n = $2 }
	/^cpu MHz/ { h = $2 } /^cache size/ { c = $2 } /^$/ { exit }
	END { printf "%s (family %s model %s, %.0f MHz, cache %s)", m, f, n, h, c }' /proc/cpuinfo)
mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
compiler=$(python3 - "$(dirname "$ZONESYNC")" <<'EOF' 2>/dev/null || cc --version | head -n1
import json, shlex, subprocess, sys
d = sys.argv[1]
cc = shlex.split(json.load(open(d + "/compile_commands.json"))[0]["command"])[0]
ver = subprocess.run([cc, "--version"], capture_output=True, text=True).stdout.splitlines()[0]
b = {o["name"]: o["value"] for o in json.load(open(d + "/meson-info/intro-buildoptions.json"))}
print(f'{ver} [{cc}] (buildtype={b["buildtype"]}, optimization=-O{b["optimization"]}, b_ndebug={b["b_ndebug"]})')
EOF
)
knotlib=$(ldd "$ZONESYNC" | awk '/libknot/ { print $3; exit }')
knotver=$(pkg-config --modversion libknot 2>/dev/null || echo "?")
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo "?")
dirty=$(git -C "$root" status --porcelain -- src meson.build meson_options.txt 2>/dev/null | awk '{ print $2 }' | tr '\n' ' ')
echo "- nproc: $(nproc); CPU: $cpu; memory: $mem"
echo "- kernel: $(uname -srm)"
echo "- compiler: $compiler"
echo "- libknot: $knotver ($(readlink -f "$knotlib" 2>/dev/null || echo "$knotlib"))"
echo "- zonesync: $("$ZONESYNC" --version 2>&1 | head -n1), git $commit${dirty:+ with uncommitted changes in: $dirty}"
echo "- $(ldns-compare-zones -v 2>&1 | head -n1); named-checkzone $(named-checkzone -v)"
echo "- python3: $(python3 -c 'import platform; print(platform.python_version())')"
newer=$(find "$root/src" "$root/meson.build" -newer "$ZONESYNC" -type f 2>/dev/null | head -n3 | tr '\n' ' ')
[ -z "$newer" ] || echo "- WARNING: sources newer than $ZONESYNC: $newer(rebuild with ninja -C build-release)"
echo

# ---------------------------------------------------------------- data
stamp="$(sha256sum "$here/gen-zone.py" | cut -c1-16) rrsets=$N seed=$SEED"
if [ ! -s "$OLD" ] || [ ! -s "$NEW" ] || [ ! -s "$DATA/expected.txt" ] ||
	[ "$(cat "$DATA/stamp" 2>/dev/null)" != "$stamp" ]; then
	echo "Generating $N RRsets into $DATA ..." >&2
	rm -f "$DATA/stamp"
	python3 "$here/gen-zone.py" --seed "$SEED" "$N" "$DATA" >/dev/null
	echo "$stamp" >"$DATA/stamp"
fi
exp() { sed -n "s/.*\b$1=\([0-9]*\).*/\1/p" "$DATA/expected.txt" | head -n1; }
E_ADD=$(exp added); E_CHG=$(exp changed); E_DEL=$(exp removed)
E_OLD=$(exp old_rrsets); E_NEW=$(exp new_rrsets); E_REC=$(exp old_records)
expected_line=$(sed -n 's/^expected: //p' "$DATA/expected.txt")
[ -n "$E_ADD" ] && [ -n "$expected_line" ] || die "$DATA/expected.txt is incomplete; delete $DATA and rerun"

echo "## Data"
echo
echo "- generator: \`bench/gen-zone.py --seed $SEED $N $DATA\` (stamp: $stamp)"
sed 's/^/- /' "$DATA/expected.txt"
echo "- OLD.zone $(du -h "$OLD" | cut -f1), NEW.zone $(du -h "$NEW" | cut -f1); page cache warm (files read once before timing)"
echo
cat "$OLD" "$NEW" >/dev/null

# ---------------------------------------------------------------- sanity of the peers
# named-checkzone -q only silences its messages; it loads the whole file either
# way.  Prove that it reads every record: its dump must hold all of them.
wait_idle
named-checkzone bench.test "$OLD" >"$tmp/ncz.txt" 2>&1 || { cat "$tmp/ncz.txt" >&2; die "named-checkzone rejects OLD.zone"; }
grep -q "loaded serial" "$tmp/ncz.txt" && grep -qx OK "$tmp/ncz.txt" ||
	{ cat "$tmp/ncz.txt" >&2; die "named-checkzone did not report a clean load"; }
[ "$(wc -l <"$tmp/ncz.txt")" -eq 2 ] ||
	{ cat "$tmp/ncz.txt" >&2; die "named-checkzone warns about OLD.zone (the timings would include warnings)"; }
dumped=$(named-checkzone -q -D bench.test "$OLD" | awk '!/^;/ && NF' | wc -l)
[ "$dumped" -eq "$E_REC" ] || die "named-checkzone loaded $dumped records, OLD.zone has $E_REC"

# ---------------------------------------------------------------- measuring
# The commands, each an array C_<name> (used through a nameref in run), and the
# exit status each must give.
C_zs_diff=("$ZONESYNC" diff --stats "$OLD" "$NEW")
C_zs_load=("$ZONESYNC" diff --stats "$OLD" /dev/null) # loads OLD, then fails on /dev/null
C_ldns=(ldns-compare-zones "$OLD" "$NEW")
C_ncz=(named-checkzone -q bench.test "$OLD")
C_ncz_noi=(named-checkzone -q -i none bench.test "$OLD")
declare -A WANT=([zs_diff]=1 [zs_load]=2 [ldns]=0 [ncz]=0 [ncz_noi]=0)
NAMES=(zs_diff zs_load ldns ncz ncz_noi)

# run NAME I: one timed run; records wall s, peak RSS KiB and the CPU cores
# other processes used meanwhile.  A run during which other processes used
# more than 0.3 cores is repeated (up to 3 times).  Outputs are kept for checking.
declare -A WALL RSS BG
run() {
	local name=$1 i=$2 rc a b w m u s bg try
	local -n cmd=C_$name
	for try in 1 2 3 4; do
		wait_idle
		a=$(cpu_sample)
		rc=0
		"$TIME" -o "$tmp/time" -f '%e %M %U %S' "${cmd[@]}" >"$tmp/$name.$i.out" 2>"$tmp/$name.$i.err" || rc=$?
		b=$(cpu_sample)
		[ "$rc" -eq "${WANT[$name]}" ] ||
			{ tail -n5 "$tmp/$name.$i.err" >&2; die "$name: exit status $rc, expected ${WANT[$name]}: ${cmd[*]}"; }
		read -r w m u s < <(tail -n1 "$tmp/time")
		bg=$(awk -v a="$a" -v b="$b" -v hz="$hz" -v own="$u $s" -v w="$w" 'BEGIN {
			split(a, x, " "); split(b, y, " "); split(own, o, " ");
			bg = ((y[1] - x[1]) / hz - o[1] - o[2]) / (w > 0 ? w : 1)
			if (w < 0.5) bg = 0  # too short to tell at 1/CLK_TCK resolution
			printf "%.2f", bg < 0 ? 0 : bg }')
		le "$bg" 0.3 && break
		[ "$try" -eq 4 ] || echo "  $name run $i: ${w}s with $bg cores of other load: repeating" >&2
	done
	WALL[$name]+="$w "; RSS[$name]+="$m "; BG[$name]+="$bg "
	echo "  $name run $i: ${w}s $(kib2mib "$m")MiB (other load $bg cores)" >&2
}

# Round robin, so that a slow spell of the machine hits every command alike.
echo "Measuring, $RUNS rounds ..." >&2
for i in $(seq 1 "$RUNS"); do
	for name in "${NAMES[@]}"; do
		run "$name" "$i"
	done
done

# ---------------------------------------------------------------- checking
declare -a S_LOLD S_LNEW S_DIFF S_OUT S_RSS
for i in $(seq 1 "$RUNS"); do
	got=$(tail -n1 "$tmp/zs_diff.$i.out")
	[ "$got" = "$expected_line" ] ||
		die "zonesync diff run $i printed '$got', the generator made '$expected_line'"
	st=$(grep '^stats:' "$tmp/zs_diff.$i.err") || die "zonesync diff run $i: no stats line"
	val() { sed -n "s/.*\b$1=\([0-9.]*\).*/\1/p" <<<"$st"; }
	S_LOLD+=("$(val load_old | tr -d s)"); S_LNEW+=("$(val load_new | tr -d s)")
	S_DIFF+=("$(val diff | tr -d s)"); S_OUT+=("$(val output | tr -d s)"); S_RSS+=("$(val peak_rss)")
	r_old=$(sed -n 's/.*load_old=[0-9.]*s (\([0-9]*\) rrsets).*/\1/p' <<<"$st")
	r_new=$(sed -n 's/.*load_new=[0-9.]*s (\([0-9]*\) rrsets).*/\1/p' <<<"$st")
	[ "$r_old" = "$E_OLD" ] && [ "$r_new" = "$E_NEW" ] ||
		die "zonesync loaded $r_old/$r_new RRsets, the zones have $E_OLD/$E_NEW"
	[ "$(val changes)" = "$((E_ADD + E_CHG + E_DEL))" ] || die "zonesync stats: changes=$(val changes)"
	grep -q '/dev/null' "$tmp/zs_load.$i.err" && ! grep -q 'OLD.zone' "$tmp/zs_load.$i.err" ||
		die "zonesync load-only run $i failed on OLD.zone: $(cat "$tmp/zs_load.$i.err")"
	grep -qE '^[[:space:]]*\+[0-9]+[[:space:]]+-[0-9]+[[:space:]]+~[0-9]+' "$tmp/ldns.$i.out" ||
		die "ldns-compare-zones run $i printed no summary"
done
ldns_summary=$(tr -s '\t' ' ' <"$tmp/ldns.1.out" | tail -n1 | sed 's/^ //')

# ---------------------------------------------------------------- report
declare -A MW MR MB
for k in "${NAMES[@]}"; do
	# shellcheck disable=SC2086
	MW[$k]=$(median ${WALL[$k]}); MR[$k]=$(kib2mib "$(maxof ${RSS[$k]})"); MB[$k]=$(maxof ${BG[$k]})
done
m_lold=$(median "${S_LOLD[@]}"); m_lnew=$(median "${S_LNEW[@]}")
m_diff=$(median "${S_DIFF[@]}"); m_out=$(median "${S_OUT[@]}")
m_srss=$(maxof "${S_RSS[@]}")

row() { # key label vs-key
	local r1="" r2=""
	if [ -n "${3:-}" ]; then r1=$(fdiv "${MW[$1]}" "${MW[$3]}")×; r2=$(fdiv "${MR[$1]}" "${MR[$3]}")×; fi
	printf '| %s | %s | %s | %s | %s | %s |\n' "$2" "${MW[$1]}" "${MR[$1]}" "${r1:-—}" "${r2:-—}" "${MB[$1]}"
}
echo "## Results ($N RRsets, median wall time and max peak RSS of $RUNS runs, \`/usr/bin/time -f '%e %M'\`)"
echo
echo "| command | wall s | peak RSS MiB | time ratio (peer / zonesync) | RSS ratio (peer / zonesync) | other load (cores) |"
echo "|---|---:|---:|---:|---:|---:|"
row zs_diff "(a) \`zonesync diff --stats OLD NEW\`"
row zs_load "(a') \`zonesync diff --stats OLD /dev/null\` (loads OLD, then fails: load-only proxy)"
row ldns "(b) \`ldns-compare-zones OLD NEW\` vs (a)" zs_diff
row ncz "(c) \`named-checkzone -q bench.test OLD\` vs (a')" zs_load
row ncz_noi "(c') \`named-checkzone -q -i none bench.test OLD\` vs (a')" zs_load
echo
echo "zonesync --stats split (median of $RUNS): load_old=${m_lold}s load_new=${m_lnew}s diff=${m_diff}s output=${m_out}s, own peak_rss=${m_srss}MiB"
echo
echo "Diff summaries: zonesync \`$(tail -n1 "$tmp/zs_diff.1.out")\` = generator \`$expected_line\` (checked on every run);"
echo "ldns-compare-zones \`$ldns_summary\` (per owner name, SOA and TTL-only changes not counted: not comparable)."
echo
echo "Per-run wall s / peak RSS KiB:"
for k in "${NAMES[@]}"; do echo "- $k: ${WALL[$k]}/ ${RSS[$k]}"; done
echo "- zs_diff --stats load_old: ${S_LOLD[*]}; load_new: ${S_LNEW[*]}; diff: ${S_DIFF[*]}"
echo

rss_mb=$(awk -v m="$(maxof ${RSS[zs_diff]})" 'BEGIN { printf "%.1f", m * 1024 / 1e6 }')
load_max=$(maxof "$m_lold" "$m_lnew")
fails=0
goal() { # label value limit unit
	local v
	if le "$2" "$3"; then v=PASS; else v=FAIL; fails=$((fails + 1)); fi
	printf '| %s | %s %s | ≤ %s %s | %s (%s%% of the goal) |\n' "$1" "$2" "$4" "$3" "$4" "$v" \
		"$(awk -v a="$2" -v b="$3" 'BEGIN { printf "%.0f", 100 * a / b }')"
}
echo "## Goals"
echo
echo "| goal | measured | limit | verdict |"
echo "|---|---:|---:|---|"
goal "zonesync: load one zone (slower of load_old, load_new)" "$load_max" "$GOAL_LOAD_S" s
goal "zonesync: diff of the loaded zones" "$m_diff" "$GOAL_DIFF_S" s
goal "zonesync diff: whole command peak RSS" "$rss_mb" "$GOAL_RSS_MB" "MB"
echo
busy=$(maxof "${MB[@]}")
if ! le "$busy" 0.25; then
	echo "WARNING: other processes used up to $busy cores during a kept run; its times may be inflated."
	echo
fi
[ "$fails" -eq 0 ] || exit 1
