/*
 * The powerdns target: a PowerDNS Authoritative server through its HTTP API
 * (/api/v1/servers/ID/zones/ZONE, X-API-Key).  Reads the zone in one GET,
 * applies RRset changes in PATCH requests (REPLACE with the TTL and every
 * record, DELETE), all in one by default (PowerDNS applies a PATCH in one
 * transaction), creates a missing zone when asked, and retries connection
 * errors and 5xx answers with backoff.  PowerDNS holds a full copy: apex
 * SOA and NS included; the DNSSEC records it makes itself are left to it.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "target/target.h"
#include "zone/diff.h"

extern const target_type_t powerdns_type;

/*
 * Batching, exposed for tests: the changes of d in sending order (at each
 * owner its deletions first, so that a CNAME replacing other data never
 * meets it), cut into batches of at most batch_size changes (0: one batch).
 * The changes of one owner share a batch whenever they fit in one, so that
 * PowerDNS applies them together; one RRset is one change, never split.
 */
typedef struct {
	const zone_change_t **order;
	size_t count;
	size_t *batch_end; /* batch i = order[end[i-1] .. end[i]) */
	size_t nbatches;
} pdns_plan_t;

int pdns_plan(const zone_diff_t *d, size_t batch_size, pdns_plan_t *out);
void pdns_plan_free(pdns_plan_t *p);
