#!/bin/sh
# The build's layers hold: a file of a layer that includes a header of a
# layer above it does not compile, and one that includes a header below it
# does.  Usage: check.sh CC LAYERS_DIR (meson's build/layers).
# Each case is "LAYER HEADER yes|no".
set -u
cc=$1
layers=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bad=0
while read -r layer header expect; do
	[ -z "$layer" ] && continue
	printf '#include "%s"\n' "$header" >"$tmp/t.c"
	if $cc -fsyntax-only -I"$layers/$layer" -I/usr/include/libxml2 "$tmp/t.c" \
		>"$tmp/out" 2>&1; then
		got=yes
	else
		got=no
		# Refused for the right reason: the header is not on the path.
		if ! grep -q "$header: No such file" "$tmp/out"; then
			got=error
		fi
	fi
	if [ "$got" = "$expect" ]; then
		echo "ok: $layer includes $header: $got"
	else
		echo "FAIL: $layer includes $header: expected $expect, got $got"
		cat "$tmp/out"
		bad=$((bad + 1))
	fi
done <<CASES
zone dns/name.h yes
zone sched/sched.h no
zone conf/conf.h no
dns zone/zone.h no
net conf/conf.h no
obs conf/conf.h no
obs net/addr.h yes
xfr conf/conf.h no
xfr net/sock.h yes
store sync/engine.h no
conf target/target.h no
conf net/addr.h yes
target sync/engine.h no
target store/store.h no
target conf/conf.h yes
sync sched/sched.h no
sync target/target.h yes
sync store/store.h yes
sched cli/cli.h no
sched sync/sync.h yes
cli sched/sched.h yes
CASES
[ "$bad" -eq 0 ]
