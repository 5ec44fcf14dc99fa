/* PowerDNS PATCH batches: order of the changes and where batches end. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "target/powerdns/powerdns.h"

static const zone_rrset_t *set_of(const zone_change_t *c)
{
	return c->kind == ZONE_CHANGE_DELETE ? &c->old : &c->new;
}

static bool same_owner(const zone_change_t *a, const zone_change_t *b)
{
	const zone_rrset_t *x = set_of(a), *y = set_of(b);
	return x->keylen == y->keylen && memcmp(x->key, y->key, x->keylen) == 0;
}

void pdns_plan_free(pdns_plan_t *p)
{
	free(p->order);
	free(p->batch_end);
	memset(p, 0, sizeof(*p));
}

int pdns_plan(const zone_diff_t *d, size_t batch_size, pdns_plan_t *out)
{
	memset(out, 0, sizeof(*out));
	if (d->count == 0) {
		return 0;
	}
	out->order = malloc(d->count * sizeof(*out->order));
	out->batch_end = malloc(d->count * sizeof(*out->batch_end));
	if (out->order == NULL || out->batch_end == NULL) {
		pdns_plan_free(out);
		return -ENOMEM;
	}
	size_t max = batch_size == 0 ? d->count : batch_size;
	size_t in_batch = 0;
	/* A diff is in canonical order: the changes of one owner are adjacent. */
	for (size_t g = 0; g < d->count;) {
		size_t end = g + 1;
		while (end < d->count && same_owner(&d->change[g], &d->change[end])) {
			end++;
		}
		size_t first = out->count;
		for (size_t i = g; i < end; i++) {
			if (d->change[i].kind == ZONE_CHANGE_DELETE) {
				out->order[out->count++] = &d->change[i];
			}
		}
		for (size_t i = g; i < end; i++) {
			if (d->change[i].kind != ZONE_CHANGE_DELETE) {
				out->order[out->count++] = &d->change[i];
			}
		}
		size_t n = end - g;
		if (in_batch > 0 && in_batch + n > max) {
			/* The owner's changes go together into the next batch. */
			out->batch_end[out->nbatches++] = first;
			in_batch = 0;
		}
		/* An owner with more changed RRsets than a batch holds: cut in
		 * order, its deletions still first. */
		while (n > max - in_batch) {
			size_t take = max - in_batch;
			first += take;
			n -= take;
			out->batch_end[out->nbatches++] = first;
			in_batch = 0;
		}
		in_batch += n;
		g = end;
	}
	if (in_batch > 0) {
		out->batch_end[out->nbatches++] = out->count;
	}
	return 0;
}
