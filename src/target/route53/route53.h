/*
 * The route53 target: Amazon Route 53's REST API (2013-04-01), signed with
 * SigV4.  Reads a hosted zone's record sets (paged), applies RRset changes
 * in atomic ChangeResourceRecordSets batches filled up to Route 53's limits,
 * retries throttling and server errors with backoff, paces requests per
 * target, and optionally waits for INSYNC.
 */
#pragma once

#include "target/target.h"

extern const target_type_t route53_type;

/* Forget the hosted zone listings and the ids found by name (at exit). */
void route53_cleanup(void);

/* Batching, exposed for tests: the changes of d as Route 53 actions cut
 * into batches.  counts[i] = number of changes in batch i. */
typedef struct {
	size_t records; /* ResourceRecord elements, an UPSERT twice */
	size_t chars;   /* characters of Value text, an UPSERT twice */
} r53_cost_t;

#define R53_MAX_RECORDS 1000
#define R53_MAX_CHARS 32000
#define R53_MAX_VALUE 4000
#define R53_MAX_VALUES 400

typedef enum { R53_CREATE, R53_DELETE, R53_UPSERT } r53_action_t;

typedef struct {
	r53_action_t action;
	const zone_rrset_t *set;
	r53_cost_t cost;
	size_t unit;        /* changes of one unit go in one batch */
	char **values;      /* texts, set->count of them */
} r53_change_t;

typedef struct {
	r53_change_t *change;
	size_t count;
	size_t *batch_end; /* batch i = changes [end[i-1], end[i]) */
	size_t nbatches;
} r53_plan_t;

/* Turn a diff into actions and batches: an addition is a CREATE (known
 * absent, or absent at the primary's last serial: a set made meanwhile is
 * refused, never overwritten), a replacement an UPSERT, a deletion a
 * DELETE.  apex: the zone's apex (SOA and NS there are never created or
 * deleted, an apex SOA addition is an UPSERT).  raw: the texts of the live values
 * as listed (DELETEs repeat them), or NULL.  0, -E2BIG with err naming an RRset
 * too large for one request, -EINVAL (a value Route 53 cannot take), -ENOMEM. */
struct r53_raw;
int r53_plan(const zone_diff_t *d, const knot_dname_t *apex, struct r53_raw *raw, r53_plan_t *out, char *err, size_t errlen);
/* The same, fenced (target_push_t): with fence_old, the apex SOA change of
 * d is left out and every batch starts with DELETE fence_old (the first
 * batch; the following ones DELETE fence_new, as the first left it) and
 * CREATE fence_new, so that a batch lands only while the provider's SOA is
 * what the push read or wrote.  Batches keep room for the two. */
int r53_plan_fenced(const zone_diff_t *d, const knot_dname_t *apex, struct r53_raw *raw,
                    const zone_rrset_t *fence_old, const zone_rrset_t *fence_new,
                    r53_plan_t *out, char *err, size_t errlen);
void r53_plan_free(r53_plan_t *p);
