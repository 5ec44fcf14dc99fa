#!/usr/bin/env python3
"""Generate a pair of zone files for benchmarking `zonesync diff`.

usage: gen-zone.py [--seed N] RRSETS OUTDIR

Writes OUTDIR/OLD.zone with exactly RRSETS RRsets (SOA and apex NS included)
for the origin bench.test., in shuffled (non-canonical) order, and
OUTDIR/NEW.zone in which 1% of the RRsets differ:

  * RRSETS // 300 RRsets removed,
  * RRSETS // 300 RRsets changed (half a changed value -- a record replaced,
    added or dropped -- half a changed TTL),
  * RRSETS // 300 RRsets added (new names, and AAAA next to existing A),

plus the SOA serial bumped.  NEW.zone is shuffled independently of OLD.zone and
also writes unchanged data differently (relative/absolute owners, TTL omitted
or explicit, record order within an RRset, a few upper-case owners), which a
diff must not report.

The zone passes `named-checkzone` with its default checks: MX, SRV and NS
targets are in-zone hosts with addresses, so no check needs the network.

It prints the exact counts, ending with the line a correct `zonesync diff`
prints last (the SOA counts as one changed RRset), and writes the same to
OUTDIR/expected.txt.  Output depends only on RRSETS and --seed (python3 stdlib
only; the `random` calls used here give the same sequence on the Python 3
versions in use today -- checked with 3.11, byte-identical output run to run).
"""

import argparse
import os
import random
import sys

ORIGIN = "bench.test."
DEFAULT_TTL = 3600
SERIAL_OLD = 2024010101
TTLS = [60, 300, 600, 900, 1800, 3600, 3600, 3600, 7200, 14400, 86400]

WORDS = ("www web api app mail smtp imap db pg redis cache cdn vpn git ci build node host edge lb "
         "proxy auth sso shop blog static img media video chat m portal wiki docs status "
         "monitor grafana kube worker queue search files backup ftp intranet crm erp").split()
# Labels below a host name; they contain no digit, host labels always do, so no
# host name is ever equal to one of these (or to a name made of them).
REGIONS = ("eu us ap sa af me").split()
ENVS = ("prod staging dev qa").split()
SITES = ("fra ams lon par nyc sfo sin syd tok").split()
SRV_SERVICES = ("_sip._tcp _sip._udp _sips._tcp _xmpp-client._tcp _xmpp-server._tcp _ldap._tcp "
                "_kerberos._udp _imaps._tcp _submission._tcp _caldav._tcp _minecraft._tcp").split()
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"

# (bundle, weight): the RRset types one generated name holds.
BUNDLES = [
    (("A",), 33),
    (("A", "AAAA"), 12),  # dual-stack hosts
    (("AAAA",), 9),
    (("A", "TXT"), 4),
    (("CNAME",), 11),
    (("MX", "TXT"), 4),  # mail domains with an SPF record
    (("MX",), 4),
    (("TXT",), 4),  # _dmarc / DKIM / verification tokens
    (("SRV",), 9),
]


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)
        self.idx = 0
        self.mx_targets = []
        self.srv_targets = []

    # --- names -------------------------------------------------------------

    def host_name(self):
        """A unique relative host name, a quarter of them a few labels deep."""
        r = self.r
        self.idx += 1
        label = r.choice(WORDS) + str(self.idx)
        x = r.random()
        if x < 0.75:
            return label
        if x < 0.87:
            return f"{label}.{r.choice(ENVS)}"
        if x < 0.96:
            return f"{label}.{r.choice(SITES)}.{r.choice(REGIONS)}"
        return f"{label}.rack.{r.choice(SITES)}.{r.choice(ENVS)}.{r.choice(REGIONS)}"

    # --- rdata -------------------------------------------------------------

    def a(self):
        r = self.r
        x = r.random()
        if x < 0.6:
            return f"10.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(1, 255)}"
        if x < 0.8:
            return f"172.{r.randrange(16, 32)}.{r.randrange(256)}.{r.randrange(1, 255)}"
        return f"198.{r.randrange(18, 20)}.{r.randrange(256)}.{r.randrange(1, 255)}"

    def aaaa(self):
        r = self.r
        return f"2001:db8:{r.randrange(65536):x}:{r.randrange(65536):x}::{r.randrange(1, 65536):x}"

    def token(self, alphabet, n):
        return "".join(self.r.choices(alphabet, k=n))

    def txt(self, owner):
        r = self.r
        if owner.startswith("_dmarc."):
            return f'"v=DMARC1; p={r.choice(("none", "quarantine", "reject"))}; rua=mailto:dmarc@bench.test"'
        if "._domainkey." in owner:
            key = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA" + self.token(B64, 348)
            rec = "v=DKIM1; k=rsa; p=" + key
            return f'"{rec[:255]}" "{rec[255:]}"'  # > 255 octets: two strings
        x = r.random()
        if x < 0.35:
            return f'"v=spf1 ip4:{self.a()} include:_spf.bench.test ~all"'
        if x < 0.6:
            return f'"google-site-verification={self.token(B64[:62], 43)}"'
        if x < 0.8:
            return f'"{self.token(ALNUM, 32)}"'
        return f'"owner=team-{r.randrange(500)}" "cost-center {r.randrange(10000)}"'

    def mx(self):
        return f"{self.r.choice((5, 10, 10, 20, 30, 50))} {self.r.choice(self.mx_targets)}"

    def srv(self):
        r = self.r
        return (f"{r.choice((0, 10, 10, 20))} {r.choice((0, 5, 10, 50, 100))} "
                f"{r.choice((5060, 5061, 5222, 5269, 389, 88, 993, 587, 443, 25565))} "
                f"{r.choice(self.srv_targets)}")

    def cname(self):
        r = self.r
        x = r.random()
        if x < 0.5:  # in-zone target (may not exist: fine for CNAME)
            return f"{r.choice(WORDS)}{r.randrange(1, self.idx + 2)}"
        if x < 0.8:
            return f"d{self.token(ALNUM, 12)}.cloudfront.example.net."
        return f"{r.choice(WORDS)}-{r.randrange(1000)}.edge.example.org."

    def rdata(self, rtype, owner):
        return {"A": self.a, "AAAA": self.aaaa, "MX": self.mx, "SRV": self.srv,
                "CNAME": self.cname}.get(rtype, lambda: self.txt(owner))()

    def rrcount(self, rtype):
        x = self.r.random()
        if rtype == "A":
            return 1 if x < 0.80 else 2 if x < 0.95 else self.r.choice((3, 4))
        if rtype == "AAAA":
            return 1 if x < 0.90 else 2
        if rtype == "MX":
            return 1 if x < 0.40 else 2 if x < 0.90 else 3
        if rtype == "SRV":
            return 1 if x < 0.60 else 2 if x < 0.90 else 3
        if rtype == "TXT":
            return 1 if x < 0.85 else 2
        return 1

    def records(self, rtype, owner, n=None):
        """n distinct records (as text) of an RRset."""
        n = self.rrcount(rtype) if n is None else n
        out = []
        for _ in range(50 * n):
            v = self.rdata(rtype, owner)
            if v not in out:
                out.append(v)
                if len(out) == n:
                    break
        return out

    def new_value(self, rtype, owner, rds):
        """A record for the RRset that is none of rds."""
        for _ in range(1000):
            v = self.rdata(rtype, owner)
            if v not in rds:
                return v
        sys.exit(f"gen-zone: no new value for {owner} {rtype}")

    def ttl(self):
        return self.r.choice(TTLS)

    def owner_for(self, rtype, host):
        """Owner of a single-type name: SRV and some TXT live under _labels."""
        r = self.r
        if rtype == "SRV":
            return f"{r.choice(SRV_SERVICES)}.{host}"
        if rtype == "TXT":
            x = r.random()
            if x < 0.3:
                return f"_dmarc.{host}"
            if x < 0.45:
                return f"s{r.randrange(1, 4)}._domainkey.{host}"
        return host


def build_old(g, n):
    """List of RRsets [owner, type, ttl, [rdata...]] and a set of protected indices."""
    r = g.r
    rrsets = []

    def add(owner, rtype, ttl, rds):
        rrsets.append([owner, rtype, ttl, rds])

    # Apex and infrastructure hosts: never removed or changed.
    soa = f"ns1 hostmaster {SERIAL_OLD} 7200 3600 1209600 300"
    add("@", "SOA", DEFAULT_TTL, [soa])
    add("@", "NS", 86400, ["ns1", "ns2.bench.test."])
    for h in ("ns1", "ns2"):
        add(h, "A", 86400, [g.a()])
        add(h, "AAAA", 86400, [g.aaaa()])
    for i in range(1, 9):
        h = f"mx{i}"
        g.mx_targets.append(h if i % 2 else f"{h}.bench.test.")
        add(h, "A", DEFAULT_TTL, [g.a()])
        add(h, "AAAA", DEFAULT_TTL, [g.aaaa()])
    for i in range(1, 9):
        h = f"svc{i}.{SITES[i]}"
        g.srv_targets.append(f"{h}.bench.test.")
        add(h, "A", DEFAULT_TTL, [g.a(), g.a()])
    add("@", "MX", DEFAULT_TTL, ["10 mx1", "20 mx2.bench.test."])
    add("@", "TXT", DEFAULT_TTL, ['"v=spf1 mx -all"', f'"google-site-verification={g.token(B64[:62], 43)}"'])
    if len(rrsets) > n:
        sys.exit(f"gen-zone: need at least {len(rrsets)} RRsets")
    protected = len(rrsets)

    bundles = [b for b, _ in BUNDLES]
    weights = [w for _, w in BUNDLES]
    a_only = []  # indices of A RRsets at names holding nothing else
    while len(rrsets) < n:
        bundle = r.choices(bundles, weights)[0][: n - len(rrsets)]
        host = g.host_name()
        if len(bundle) == 1:
            owner = g.owner_for(bundle[0], host)
            if bundle[0] == "A":
                a_only.append(len(rrsets))
        else:
            owner = host
        for t in bundle:
            add(owner, t, g.ttl(), g.records(t, owner))
    return rrsets, protected, a_only


def mutate(g, rrsets, protected, a_only, k):
    """NEW = OLD with k removed, k changed, k added RRsets and the SOA bumped."""
    r = g.r
    new = list(rrsets)
    candidates = r.sample(range(protected, len(rrsets)), 2 * k)
    removed, changed = candidates[:k], candidates[k:]
    kinds = {"value-replace": 0, "value-add": 0, "value-drop": 0, "ttl": 0}

    for i in changed:
        owner, t, ttl, rds = rrsets[i]
        rds = list(rds)
        if r.random() < 0.5:
            kinds["ttl"] += 1
            ttl = r.choice([x for x in TTLS if x != ttl])
        else:
            x = r.random()
            if len(rds) > 1 and x < 0.25:
                kinds["value-drop"] += 1
                rds.pop(r.randrange(len(rds)))
            elif t != "CNAME" and x < 0.45:
                kinds["value-add"] += 1
                rds.append(g.new_value(t, owner, rds))
            else:
                kinds["value-replace"] += 1
                rds[r.randrange(len(rds))] = g.new_value(t, owner, rds)
        new[i] = [owner, t, ttl, rds]

    added = []
    n_aaaa = min(k * 3 // 10, len(a_only))
    aaaa_at = set()
    for i in r.sample(a_only, len(a_only)):
        if len(aaaa_at) == n_aaaa:
            break
        aaaa_at.add(rrsets[i][0])
    for owner in sorted(aaaa_at):  # sorted: set order must not leak into output
        added.append([owner, "AAAA", g.ttl(), g.records("AAAA", owner)])
    types = ["A", "A", "A", "AAAA", "CNAME", "TXT", "MX", "SRV"]
    while len(added) < k:
        t = r.choice(types)
        owner = g.owner_for(t, g.host_name())
        added.append([owner, t, g.ttl(), g.records(t, owner)])

    rm = set(removed)
    new = [s for i, s in enumerate(new) if i not in rm] + added
    soa = new[0]
    assert soa[1] == "SOA"
    new[0] = [soa[0], "SOA", soa[2], [soa[3][0].replace(str(SERIAL_OLD), str(SERIAL_OLD + 1))]]
    return new, kinds, len(aaaa_at)


def write_zone(g, path, rrsets, variant):
    """Write RRsets in shuffled order; SOA first.  `variant` varies the spelling."""
    r = g.r
    order = list(range(1, len(rrsets)))
    r.shuffle(order)
    nrec = 0
    with open(path, "w", buffering=1 << 20) as f:
        f.write(f"; bench zone {ORIGIN} generated by bench/gen-zone.py ({variant})\n")
        f.write(f"$ORIGIN {ORIGIN}\n$TTL {DEFAULT_TTL}\n")
        lines = []
        for i in [0] + order:
            owner, t, ttl, rds = rrsets[i]
            rds = list(rds)
            if len(rds) > 1:
                r.shuffle(rds)
            x = r.random()
            if owner == "@":
                o = "@" if x < 0.5 else ORIGIN
            elif x < 0.06:
                o = f"{owner}.{ORIGIN}"
            elif x < 0.07:
                o = owner.upper()
            else:
                o = owner
            explicit = ttl != DEFAULT_TTL or r.random() < 0.3
            cls = "IN " if r.random() < 0.8 else ""
            head = f"{o} {ttl} {cls}{t} " if explicit else f"{o} {cls}{t} "
            for rd in rds:
                lines.append(head + rd + "\n")
            nrec += len(rds)
            if len(lines) > 10000:
                f.writelines(lines)
                lines = []
        f.writelines(lines)
    return nrec


def type_mix(rrsets):
    mix = {}
    for s in rrsets:
        mix[s[1]] = mix.get(s[1], 0) + 1
    return mix


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("rrsets", type=int, help="number of RRsets in OLD.zone (>= 1000)")
    ap.add_argument("outdir", help="output directory (created if missing)")
    ap.add_argument("--seed", type=int, default=20241127, help="random seed (default %(default)s)")
    args = ap.parse_args()
    if args.rrsets < 1000:
        ap.error("RRSETS must be at least 1000")
    os.makedirs(args.outdir, exist_ok=True)

    n, k = args.rrsets, args.rrsets // 300
    g = Gen(args.seed)
    old, protected, a_only = build_old(g, n)
    new, kinds, n_aaaa = mutate(g, old, protected, a_only, k)
    assert len(old) == n and len(new) == n
    keys = {(s[0].lower(), s[1]) for s in new}
    assert len(keys) == len(new), "duplicate RRset keys"

    old_path = os.path.join(args.outdir, "OLD.zone")
    new_path = os.path.join(args.outdir, "NEW.zone")
    old_rec = write_zone(g, old_path, old, "old")
    new_rec = write_zone(g, new_path, new, "new")

    added, changed, removed = k, k + 1, k  # +1: the SOA serial
    summary = f"{added} added, {changed} changed, {removed} deleted RRsets"
    mix = type_mix(old)
    multi = sum(1 for s in old if len(s[3]) > 1)
    deep = sum(1 for s in old if s[0].count(".") >= 2 and not s[0].endswith("."))
    names = {}
    for s in old:
        names.setdefault(s[0], set()).add(s[1])
    dual = sum(1 for t in names.values() if {"A", "AAAA"} <= t)
    report = [
        f"seed={args.seed} rrsets={n}",
        f"old_rrsets={len(old)} old_records={old_rec} old_bytes={os.path.getsize(old_path)}",
        f"new_rrsets={len(new)} new_records={new_rec} new_bytes={os.path.getsize(new_path)}",
        "type_mix=" + " ".join(f"{t}:{c}({100.0 * c / n:.1f}%)"
                               for t, c in sorted(mix.items(), key=lambda x: -x[1])),
        f"names={len(names)} dual_stack_names={dual} multi_record_rrsets={multi} "
        f"names_3plus_labels_below_origin={deep}",
        f"changed_kinds=" + " ".join(f"{a}:{b}" for a, b in kinds.items()) + " soa:1",
        f"added_kinds=aaaa_next_to_a:{n_aaaa} new_names:{k - n_aaaa}",
        f"added={added} changed={changed} removed={removed}",
        f"expected: {summary}",
    ]
    with open(os.path.join(args.outdir, "expected.txt"), "w") as f:
        f.write("\n".join(report) + "\n")
    print("\n".join(report))


if __name__ == "__main__":
    main()
