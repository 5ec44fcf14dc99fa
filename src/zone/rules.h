/*
 * What part of a zone is ours to write: the ignore and exclude rules and
 * the TTL bounds of a (zone, target) pair, matched inside the view
 * (zone/view.h), so plan, sync, verify and the daemon agree.
 *
 *   ignore   provider side: RRsets the provider holds that zonesync never
 *            reads into a diff, never changes, never deletes (an ACM
 *            validation CNAME, an ACME challenge TXT).  A matching RRset
 *            of the primary is not pushed either (reported).
 *   exclude  primary side: records never pushed to the target (internal
 *            names, RFC 1918 addresses); one record of an RRset may go
 *            while the rest are pushed.
 *   ttl      the TTL of what is pushed, clamped into [min, max].
 *
 * A rule matches when each of its parts does: name, a glob (fnmatch, case
 * folded, '*' crossing dots) on the owner relative to the zone ("@" for
 * the apex; "www", "_acme-challenge.*"), or on the absolute name when the
 * glob ends with a dot; type, one type or a list; value, a glob on the
 * record's presentation form, or for a rule whose types are all A and/or
 * AAAA, an address prefix ("10.0.0.0/8").  An absent part matches all.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <libknot/dname.h>

#include "zone/zone.h"

typedef struct {
	char *name;      /* lowercased glob, or NULL */
	bool absolute;   /* name ends with a dot: matched on the full name */
	uint16_t *types; /* ntypes of them; 0: any */
	size_t ntypes;
	char *value;     /* glob on the presentation form, or NULL */
	bool prefix;     /* value is an address prefix (A/AAAA only) */
	int family;      /* of the prefix */
	uint8_t addr[16];
	unsigned bits;
	char *text; /* the rule as the config wrote it, for reports */
} zone_rule_t;

typedef struct {
	zone_rule_t *ignore;
	size_t nignore;
	zone_rule_t *exclude;
	size_t nexclude;
	uint32_t ttl_min, ttl_max; /* 0: no bound */
} zone_rules_t;

/* A rule from its parts (types: names such as "A", "cname"; value may be
 * NULL).  0, or -EINVAL with err saying which part is wrong and why. */
int zone_rule_make(const char *name, const char *const *types, size_t ntypes, const char *value,
                   zone_rule_t *out, char *err, size_t errlen);
void zone_rule_free(zone_rule_t *r);

/* Do a and b say the same (all their parts, not only their text)? */
bool zone_rule_equal(const zone_rule_t *a, const zone_rule_t *b);

/* Append a copy of each rule of from to to (a target's rules after its
 * zone's); the TTL bounds of from, where set, replace to's, and where the
 * two then cross (to's min above from's max), from's bound wins.  0, -ENOMEM. */
int zone_rules_add(zone_rules_t *to, const zone_rules_t *from);
void zone_rules_free(zone_rules_t *r);
/* Do a and b say the same (rules in the same order, the same bounds)? */
bool zone_rules_equal(const zone_rules_t *a, const zone_rules_t *b);
bool zone_rules_empty(const zone_rules_t *r);

/* The owner of one RRset as the rules see it, worked out once, when a
 * rule first needs it (most RRsets fail a rule on their type alone). */
typedef struct {
	const zone_rrset_t *set;
	const char *apex; /* the zone's apex as text ("example.com.") */
	bool ready, in_zone;
	knot_dname_storage_t wire;
	char full[KNOT_DNAME_TXT_MAXLEN + 1]; /* "www.example.com." */
	char rel[KNOT_DNAME_TXT_MAXLEN + 1];  /* "www", "@" at the apex */
} zone_rule_owner_t;

/* Start o for set, in the zone whose apex text is apex. */
void zone_rule_owner_init(zone_rule_owner_t *o, const char *apex, const zone_rrset_t *set);

/* The owner's text (computed if not yet). */
const char *zone_rule_owner_text(zone_rule_owner_t *o);

/* Does rule r match the RRset of o?  For a rule with a value, any record
 * of the set matching makes the set match. */
bool zone_rule_match_set(const zone_rule_t *r, zone_rule_owner_t *o);

/* Does rule r match record i of o's RRset? */
bool zone_rule_match_rr(const zone_rule_t *r, zone_rule_owner_t *o, size_t i);

/* Does rule r match an RRset at o's owner and type, whatever its values
 * (its name and type parts only)?  What a rule with a value may hold at a
 * target only the target's records tell. */
bool zone_rule_match_name_type(const zone_rule_t *r, zone_rule_owner_t *o);
