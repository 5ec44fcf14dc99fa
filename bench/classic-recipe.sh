#!/usr/bin/env bash
# The classic way to keep an Amazon Route 53 hosted zone equal to a zone on a
# DNS primary: the command nsnotifyd runs on a NOTIFY, doing what
# `cli53 import --replace` does with the zone file it is given, with dig and the
# AWS CLI instead of cli53 (same requests; bench/route53-bench.sh compares it
# with `zonesync sync`):
#
#   1. dig AXFR of the zone from the primary (TSIG if -y);
#   2. list every record set of the hosted zone
#      (`aws route53 list-resource-record-sets`, which follows the pages itself:
#      one ListResourceRecordSets request per 300 record sets);
#   3. compare (python3, standard library only): a record set of the zone that
#      is not in the hosted zone with the same name, type, TTL and values is
#      created; a record set of the hosted zone that is not in the zone with the
#      same name, type, TTL and values is deleted (with its listed TTL and
#      values).  A changed set is therefore a DELETE plus a CREATE.  The apex SOA
#      and NS are left alone on both sides (cli53 without --editauth);
#   4. the changes, deletions first and then creations, in chunks of 100
#      changes, one `aws route53 change-resource-record-sets` call per chunk;
#      the first failed chunk stops the script (earlier chunks stay applied).
#      No waiting for INSYNC (cli53 without --wait).
#
# Differences from cli53 (all in cli53's favour, none change the requests for
# the benchmark's zones): values are compared as a set (cli53 compares them in
# order, so a set listed in another order is rewritten); the hosted zone is
# given by id, so there is no lookup request (cli53 looks the zone up first,
# one more request); an RRset whose records have different TTLs gets the
# smallest (cli53 takes the first record's).  Like cli53, a record type Route 53
# does not take (RRSIG, NSEC, DNSKEY, ...) stops the script before any change,
# and alias record sets, which never appear in an AXFR, are deleted.
#
# usage: classic-recipe.sh [-e ENDPOINT] [-p PORT] [-y ALG:NAME:SECRET] [-n] ZONE SERVER HOSTED_ZONE_ID
#   -e URL    Route 53 endpoint (e.g. a moto_server); default the AWS CLI's
#   -p PORT   the primary's DNS port (default 53)
#   -y KEY    TSIG key for the AXFR, as dig -y takes it
#   -n        dry run: print the counts, send no change
# Environment: AWS (aws command, default aws), DIG (default dig), PYTHON
# (default python3); credentials and region as the AWS CLI reads them.
#
# stdout: one line of key=value: serial, rrsets (of the zone, apex SOA/NS left
# out), live (record sets listed), deletes, creates, changes, batches,
# aws_calls (AWS CLI runs), and the seconds spent in each step: axfr_s, list_s,
# diff_s, change_s, total_s.
# Exit status: 0 done, 1 a step failed (the hosted zone may be half changed), 2 usage.
set -euo pipefail
export LC_ALL=C

AWS=${AWS:-aws}
DIG=${DIG:-dig}
PYTHON=${PYTHON:-python3}
endpoint=() port=53 tsig=() dry=0
usage() { sed -n 's/^# usage: /usage: /p' "$0" >&2; exit 2; }
while getopts e:p:y:nh o; do
	case $o in
	e) endpoint=(--endpoint-url "$OPTARG") ;;
	p) port=$OPTARG ;;
	y) tsig=(-y "$OPTARG") ;;
	n) dry=1 ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 3 ] || usage
zone=${1%.}. server=$2 hzid=${3##*/}

tmp=$(mktemp -d /tmp/classic-recipe.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }
fail() { echo "classic-recipe: $*" >&2; exit 1; }
aws_calls=0
r53() { aws_calls=$((aws_calls + 1)); "$AWS" "${endpoint[@]}" route53 "$@"; }

t_start=$(now)

# 1. the zone, by AXFR
t=$(now)
"$DIG" "${tsig[@]}" @"$server" -p "$port" +noall +answer +time=10 +tries=1 "$zone" AXFR >"$tmp/axfr.txt" ||
	fail "dig AXFR $zone from $server port $port failed"
if grep -q '^; Transfer failed\|communications error\|connection refused' "$tmp/axfr.txt" ||
	! grep -q '[[:space:]]SOA[[:space:]]' "$tmp/axfr.txt"; then
	fail "AXFR of $zone from $server port $port failed: $(head -c 300 "$tmp/axfr.txt")"
fi
axfr_s=$(since "$t")

# 2. every record set of the hosted zone
t=$(now)
r53 list-resource-record-sets --hosted-zone-id "$hzid" --output json >"$tmp/live.json" ||
	fail "list-resource-record-sets $hzid failed"
list_s=$(since "$t")

# 3. the differences, as batches of at most 100 changes
t=$(now)
cat >"$tmp/diff.py" <<'EOF'
import json, os, re, sys

zone, axfr, live, outdir = sys.argv[1].lower(), sys.argv[2], sys.argv[3], sys.argv[4]
CHUNK = 100
R53 = set("A AAAA CAA CNAME DS HTTPS MX NAPTR NS PTR SOA SPF SRV SSHFP SVCB TLSA TXT".split())

def unescape(text, base):
    """A name or value with \\DDD (base 10, dig) or \\ooo (base 8, Route 53) escapes, as bytes."""
    out, i = bytearray(), 0
    while i < len(text):
        c = text[i]
        if c == "\\" and re.fullmatch(r"\d{3}", text[i + 1:i + 4]):
            out.append(int(text[i + 1:i + 4], base))
            i += 4
        elif c == "\\" and i + 1 < len(text):
            out += text[i + 1].encode()
            i += 2
        else:
            out += c.encode()
            i += 1
    return bytes(out)

def name_key(text, base):
    n = unescape(text, base).lower()
    return n if n.endswith(b".") else n + b"."

def r53_value(rtype, rdata):
    """dig's presentation text as a Route 53 Value (or name): decimal escapes become octal."""
    if rtype in ("TXT", "SPF"):
        return re.sub(r"\\(\d{3})", lambda m: "\\%03o" % int(m.group(1)), rdata)
    return rdata

apex = name_key(zone, 10)
want = {}   # (name, type) -> [owner text, ttl, [values]]
for line in open(axfr):
    if not line.strip() or line.startswith(";"):
        continue
    owner, ttl, cls, rtype, *rest = line.split(None, 4)
    rdata = rest[0].strip() if rest else ""
    if cls != "IN" or rtype == "TSIG":
        continue
    key = (name_key(owner, 10), rtype)
    if key[0] == apex and rtype in ("SOA", "NS"):
        continue
    if rtype not in R53:
        sys.exit(f"classic-recipe: record type {rtype} at {owner} is not supported")
    s = want.setdefault(key, [r53_value("TXT", owner.lower()), int(ttl), []])
    s[1] = min(s[1], int(ttl))
    v = r53_value(rtype, rdata)
    if v not in s[2]:
        s[2].append(v)

def content(name, rtype, ttl, values):
    return (name, rtype, int(ttl), tuple(sorted(values)))

existing = {}  # content -> listed record set
nlive = 0
for rs in json.load(open(live))["ResourceRecordSets"]:
    nlive += 1
    name = name_key(rs["Name"], 8)
    if name == apex and rs["Type"] in ("SOA", "NS"):
        continue
    values = [r["Value"] for r in rs.get("ResourceRecords", [])]
    existing[content(name, rs["Type"], rs.get("TTL", -1), values)] = rs

creates = []
for (name, rtype), (owner, ttl, values) in want.items():
    c = content(name, rtype, ttl, values)
    if c in existing:
        del existing[c]   # no difference: leave it untouched
        continue
    creates.append({"Action": "CREATE", "ResourceRecordSet": {
        "Name": owner, "Type": rtype, "TTL": ttl,
        "ResourceRecords": [{"Value": v} for v in values]}})
deletes = [{"Action": "DELETE", "ResourceRecordSet": rs} for rs in existing.values()]
changes = deletes + creates
batches = 0
for i in range(0, len(changes), CHUNK):
    batches += 1
    with open(os.path.join(outdir, f"batch-{batches:05d}.json"), "w") as f:
        json.dump({"Changes": changes[i:i + CHUNK]}, f)
print(f"rrsets={len(want)} live={nlive} deletes={len(deletes)} creates={len(creates)} "
      f"changes={len(changes)} batches={batches}")
EOF
mkdir "$tmp/batches"
counts=$("$PYTHON" "$tmp/diff.py" "$zone" "$tmp/axfr.txt" "$tmp/live.json" "$tmp/batches") ||
	fail "the comparison failed"
diff_s=$(since "$t")

# 4. deletions then creations, 100 changes per request; stop at the first failure
t=$(now)
if [ "$dry" -eq 0 ]; then
	for b in "$tmp"/batches/batch-*.json; do
		[ -e "$b" ] || break
		r53 change-resource-record-sets --hosted-zone-id "$hzid" --change-batch "file://$b" \
			--output json >/dev/null || fail "change-resource-record-sets failed at $(basename "$b")"
	done
fi
change_s=$(since "$t")

serial=$(awk '$4 == "SOA" { print $7; exit }' "$tmp/axfr.txt")
echo "serial=$serial $counts aws_calls=$aws_calls axfr_s=$axfr_s list_s=$list_s diff_s=$diff_s" \
	"change_s=$change_s total_s=$(since "$t_start")"
