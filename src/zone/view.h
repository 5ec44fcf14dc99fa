/*
 * The view of a zone for one target: the RRsets that target should hold.
 * A pure function of the zone and the target's rules, applied the same way
 * to the primary's snapshot, to an IXFR delta and to a provider's live
 * records, so that the diff of two views only shows what the target can and
 * may change.  A view shares the records of its source zone (no copies):
 * free it before the source.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zone/rules.h"
#include "zone/zone.h"

typedef struct {
	bool (*type_ok)(uint16_t type); /* types the target accepts; NULL: all */
	bool apex_soa;                  /* the apex SOA is part of the view */
	bool apex_ns;                   /* the apex NS set is part of the view */
	bool no_wildcard_ns;            /* NS at a wildcard name is skipped */
	size_t max_values;              /* records per RRset; 0: no limit */
	/* The ignore and exclude rules and TTL bounds (zone/rules.h), or NULL.
	 * The view of the primary's records (primary_side) applies all;
	 * the view of a provider's applies the ignore rules only. */
	const zone_rules_t *filter;
	bool primary_side;
	/* Provider side: RRsets the target holds as its own beside the ignore
	 * rules (records another tool owns): kept out and held as an ignore
	 * rule would, reported under the rule returned; NULL: not held.
	 * hold NULL: none. */
	const zone_rule_t *(*hold)(void *ctx, const zone_rrset_t *set);
	void *hold_ctx;
} zone_view_rules_t;

/* What one rule kept out of a view: counts, and the first names. */
#define ZONE_VIEW_NAMES 10
typedef struct {
	const zone_rule_t *rule;
	bool ignore; /* an ignore rule, else exclude */
	size_t rrsets, records;
	char *names[ZONE_VIEW_NAMES]; /* "owner TYPE", malloc'd */
	size_t nnames;
	const void *last; /* the RRset counted last (its first record) */
} zone_view_kept_t;

/* An RRset an ignore rule held out of a view (its key and type point into
 * the view's source zone). */
typedef struct {
	const uint8_t *key;
	uint16_t keylen, type;
} zone_view_held_t;

/* What a view left out, per type, in type order. */
typedef struct {
	uint16_t type;
	size_t rrsets, records;
} zone_view_skip_t;

typedef struct {
	zone_view_skip_t *skip;
	size_t count;
	size_t rrsets, records; /* totals */
	/* Kept out by the rules (not counted above): per rule, and every
	 * RRset an ignore rule held. */
	zone_view_kept_t *kept;
	size_t nkept;
	zone_view_held_t *held;
	size_t nheld;
	size_t ttl_clamped; /* RRsets whose TTL the bounds changed */
} zone_view_skipped_t;

/*
 * The view of a finished zone (apex set) into out (finished, sharing src's
 * records).  skipped, when not NULL, counts what was left out for reasons
 * other than the apex rules (those are policy, not loss), and what the
 * rules kept out.  0 or -ENOMEM.
 */
int zone_view(const zone_t *src, const zone_view_rules_t *rules, zone_t *out,
              zone_view_skipped_t *skipped);

void zone_view_skipped_free(zone_view_skipped_t *s);

/* The view of a view: free with zone_view_free() (zone_free() would free
 * the source's arena). */
void zone_view_free(zone_t *view);
