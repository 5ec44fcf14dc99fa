/*
 * Differences between two zones, RRset by RRset, in canonical order.
 * A change refers to RRsets inside the two zones: both must outlive it.
 */
#pragma once

#include "zone/zone.h"
#include "zone/zonefile.h"

typedef enum {
	ZONE_CHANGE_ADD,     /* only in the new zone */
	ZONE_CHANGE_DELETE,  /* only in the old zone */
	ZONE_CHANGE_REPLACE, /* in both, with other records or another TTL */
} zone_change_kind_t;

typedef struct {
	zone_change_kind_t kind;
	zone_rrset_t old; /* valid for DELETE and REPLACE */
	zone_rrset_t new; /* valid for ADD and REPLACE */
} zone_change_t;

typedef struct {
	zone_change_t *change;
	size_t count, cap;
	size_t added, deleted, replaced;
} zone_diff_t;

/* One IXFR step (RFC 1995): from serial "from", remove the records of del
 * (the old SOA among them), then add those of add (the new SOA among them);
 * both are finished record lists. */
typedef struct {
	uint32_t from, to;
	zone_t del, add;
} zone_delta_t;

/* Compare two finished zones.  0 or -ENOMEM. */
int zone_diff(const zone_t *old, const zone_t *new, zone_diff_t *out);
void zone_diff_free(zone_diff_t *d);
