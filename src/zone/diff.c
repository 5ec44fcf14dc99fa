#include "zone/diff.h"

#include <errno.h>
#include <stdlib.h>

static int push(zone_diff_t *d, const zone_change_t *c)
{
	if (d->count == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 64;
		zone_change_t *n = realloc(d->change, cap * sizeof(*n));
		if (n == NULL) {
			return -ENOMEM;
		}
		d->change = n;
		d->cap = cap;
	}
	d->change[d->count++] = *c;
	switch (c->kind) {
	case ZONE_CHANGE_ADD:
		d->added++;
		break;
	case ZONE_CHANGE_DELETE:
		d->deleted++;
		break;
	case ZONE_CHANGE_REPLACE:
		d->replaced++;
		break;
	}
	return 0;
}

int zone_diff(const zone_t *old, const zone_t *new, zone_diff_t *out)
{
	*out = (zone_diff_t){ 0 };
	size_t po = 0, pn = 0;
	zone_rrset_t o, n;
	bool ho = zone_rrset_next(old, &po, &o);
	bool hn = zone_rrset_next(new, &pn, &n);

	while (ho || hn) {
		int cmp = !ho ? 1 : !hn ? -1 : zone_rrset_cmp(&o, &n);
		zone_change_t c = { 0 };
		int ret = 0;
		if (cmp < 0) {
			c.kind = ZONE_CHANGE_DELETE;
			c.old = o;
			ret = push(out, &c);
			ho = zone_rrset_next(old, &po, &o);
		} else if (cmp > 0) {
			c.kind = ZONE_CHANGE_ADD;
			c.new = n;
			ret = push(out, &c);
			hn = zone_rrset_next(new, &pn, &n);
		} else {
			if (!zone_rrset_equal(&o, &n)) {
				c.kind = ZONE_CHANGE_REPLACE;
				c.old = o;
				c.new = n;
				ret = push(out, &c);
			}
			ho = zone_rrset_next(old, &po, &o);
			hn = zone_rrset_next(new, &pn, &n);
		}
		if (ret != 0) {
			zone_diff_free(out);
			return ret;
		}
	}
	return 0;
}

void zone_diff_free(zone_diff_t *d)
{
	free(d->change);
	*d = (zone_diff_t){ 0 };
}
