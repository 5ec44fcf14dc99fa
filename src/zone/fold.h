/*
 * A running IXFR delta: the steps of an incremental transfer (RFC 1995)
 * folded into one net change as their records arrive, so that memory and
 * the work that follows cost the net change, not the number of steps.
 *
 * A record added by one step and removed by a later one leaves nothing, so
 * each step's new SOA cancels against the next step's old one and the
 * result removes the SOA we held and adds the last one.  A record removed
 * and added back stays as both (remove, then add): its TTL may differ from
 * the one we hold, which only applying tells.  Records match by owner, type and canonical rdata
 * (RFC 4034 section 6.2), as store_zone_apply() matches them.
 *
 * Applying the folded delta to a zone gives what applying the steps one by
 * one gives, whenever the steps apply one by one.  Two faults are seen
 * while folding (removing a record already removed, adding one already
 * added); the rest (removing what the zone never had, adding what it has)
 * shows when the delta is applied.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <libknot/dname.h>

#include "zone/diff.h"

struct fold_ent;

typedef struct {
	struct fold_ent **bucket;
	size_t nbuckets; /* a power of two, or 0 before the first record */
	size_t count;    /* live entries */
	uint64_t seed;
	knot_dname_storage_t apex;
} zone_fold_t;

void zone_fold_init(zone_fold_t *f, const knot_dname_t *apex);
void zone_fold_free(zone_fold_t *f);

/*
 * Fold one record removed (del) or added (add) by the current step.  The
 * rdata must be well formed for its type.  0, -EINVAL for malformed rdata,
 * -ENOENT when del removes a record the delta already removed, -EEXIST
 * when add adds one it already added, -ENOMEM.  The delta is unchanged on
 * error.
 */
int zone_fold_del(zone_fold_t *f, const knot_dname_t *owner, uint16_t type, uint32_t ttl,
                  const uint8_t *rdata, uint16_t rdlen);
int zone_fold_add(zone_fold_t *f, const knot_dname_t *owner, uint16_t type, uint32_t ttl,
                  const uint8_t *rdata, uint16_t rdlen);

/* Records in the delta now (removed plus added). */
static inline size_t zone_fold_count(const zone_fold_t *f)
{
	return f->count;
}

/*
 * The net change as one finished step from..to (out->del and out->add,
 * owned by the caller: zone_free() both).  The fold is emptied.  0 or
 * -ENOMEM (then out holds nothing).
 */
int zone_fold_finish(zone_fold_t *f, uint32_t from, uint32_t to, zone_delta_t *out);
