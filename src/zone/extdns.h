/*
 * What external-dns owns in a zone, by the TXT records of its TXT registry
 * (the target key ignore-owned-by: external-dns), so that the view of a
 * provider's records holds them as the target's own (zone/view.h).
 *
 * A marker is a TXT record whose text (its strings joined, surrounding
 * double quotes dropped) is a comma-separated list of key=value tokens with
 * heritage=external-dns and no other heritage, as external-dns writes it:
 * "heritage=external-dns,external-dns/owner=OWNER,external-dns/resource=R".
 * The TXT RRset holding a marker is owned, and so is what the marker's name
 * says, as external-dns's TXT registry reads it without --txt-prefix or
 * --txt-suffix:
 *
 *   new format  the first label is TYPE-LABEL, TYPE one of the types
 *               external-dns manages (a, aaaa, cname, ns, mx, ptr, srv,
 *               naptr, txt, dname): it owns that type at the name with
 *               LABEL as its first label ("a-www" owns www A, "cname-*.x"
 *               owns *.x CNAME);
 *   old format  any other name: it owns those same types but AAAA at its
 *               own name (external-dns tracks AAAA in the new format
 *               only), but NS at the apex.
 *
 * SOA is never owned.  What a marker claims is owned whether the records
 * exist or not: a primary RRset there is a conflict either way.  Pure: a
 * function of the zone's records.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zone/rules.h"
#include "zone/zone.h"

typedef struct zone_extdns zone_extdns_t;

/* Is the TXT rdata (wire form) an external-dns marker?  owner, when not
 * NULL, gets its external-dns/owner value (cut to size; "" without one).
 * False too when out of memory (a copy of the text): for reports and
 * tests; the index reads markers itself and fails then. */
bool zone_extdns_marker(const uint8_t *rdata, size_t rdlen, char *owner, size_t size);

/* The index of what the markers of z (finished, apex set) own, into *out.
 * 0, or -ENOMEM. */
int zone_extdns_index(const zone_t *z, zone_extdns_t **out);
void zone_extdns_free(zone_extdns_t *x);

/* Markers found, and (name, type) claims made (markers' own TXT sets
 * among them). */
size_t zone_extdns_markers(const zone_extdns_t *x);
size_t zone_extdns_claims(const zone_extdns_t *x);

/* The rule an owned RRset is reported under ("owned-by=external-dns", in
 * the form of the ignore rules' text). */
extern const zone_rule_t zone_extdns_rule;

/* The hold callback of zone_view_rules_t (ctx: a zone_extdns_t): does
 * external-dns own the name and type of set (a provider's RRset, or one of
 * the primary's, for a conflict)?  &zone_extdns_rule, or NULL. */
const zone_rule_t *zone_extdns_hold(void *ctx, const zone_rrset_t *set);
