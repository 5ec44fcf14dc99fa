#include "zone/zone.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libknot/descriptor.h>
#include <libknot/rrtype/soa.h>

#include "dns/name.h"
#include "dns/rdata.h"

void zone_init(zone_t *z)
{
	memset(z, 0, sizeof(*z));
	arena_init(&z->arena);
}

void zone_free(zone_t *z)
{
	free(z->rr);
	arena_free(&z->arena);
	zone_init(z);
}

void zone_set_apex(zone_t *z, const knot_dname_t *apex)
{
	knot_dname_copy_lower(z->apex, apex);
	z->apex_len = knot_dname_size(z->apex);
}

int zone_reserve(zone_t *z, size_t n)
{
	if (n <= z->cap) {
		return 0;
	}
	zone_rr_t *a = arena_big_alloc(n * sizeof(*a));
	if (a == NULL) {
		return -ENOMEM;
	}
	if (z->count > 0) {
		memcpy(a, z->rr, z->count * sizeof(*a));
	}
	free(z->rr);
	z->rr = a;
	z->cap = n;
	return 0;
}

static int push(zone_t *z, const zone_rr_t *rr)
{
	if (z->count == z->cap) {
		size_t cap = z->cap ? z->cap * 2 : 32; /* small: see arena.c */
		zone_rr_t *n = arena_big_alloc(cap * sizeof(*n));
		if (n == NULL) {
			return -ENOMEM;
		}
		if (z->count > 0) {
			memcpy(n, z->rr, z->count * sizeof(*n));
		}
		free(z->rr);
		z->rr = n;
		z->cap = cap;
	}
	z->rr[z->count++] = *rr;
	z->sorted = false;
	return 0;
}

static const uint8_t *intern_key(zone_t *z, const uint8_t *key, size_t keylen)
{
	if (z->count > 0) {
		const zone_rr_t *last = &z->rr[z->count - 1];
		if (last->keylen == keylen && memcmp(last->key, key, keylen) == 0) {
			return last->key;
		}
	}
	uint8_t *k = arena_alloc(&z->arena, keylen ? keylen : 1);
	if (k != NULL) {
		memcpy(k, key, keylen);
	}
	return k;
}

/*
 * Rdata of the commonest types that is well formed and already canonical
 * (no names inside), checked without libknot's full parser: two thirds of a
 * typical zone are A, AAAA and TXT.
 */
static bool rdata_is_plain(uint16_t type, const uint8_t *rd, uint16_t len)
{
	switch (type) {
	case KNOT_RRTYPE_A:
		return len == 4;
	case KNOT_RRTYPE_AAAA:
		return len == 16;
	case KNOT_RRTYPE_TXT: {
		/* One or more <length, bytes> strings filling the rdata exactly. */
		size_t pos = 0;
		while (pos < len) {
			pos += 1 + (size_t)rd[pos];
		}
		return len > 0 && pos == len;
	}
	default:
		return false;
	}
}

int zone_rdata_canonical(uint16_t type, const uint8_t *rdata, uint16_t rdlen,
                         const uint8_t **out)
{
	static _Thread_local uint8_t canon[DNS_RDATA_MAX];
	if (rdata_is_plain(type, rdata, rdlen)) {
		*out = rdata;
		return rdlen;
	}
	*out = canon;
	return dns_rdata_canonical(type, rdata, rdlen, canon);
}

int zone_add_key(zone_t *z, const uint8_t *key, size_t keylen, uint16_t type, uint32_t ttl,
                 const uint8_t *rdata, uint16_t rdlen)
{
	const uint8_t *data;
	int len = zone_rdata_canonical(type, rdata, rdlen, &data);
	if (len < 0) {
		return len;
	}
	knot_rdata_t *rd = arena_alloc(&z->arena, knot_rdata_size((uint16_t)len));
	if (rd == NULL) {
		return -ENOMEM;
	}
	knot_rdata_init(rd, (uint16_t)len, data);
	zone_rr_t rr = { .rd = rd, .ttl = ttl, .type = type, .keylen = (uint16_t)keylen };
	rr.key = intern_key(z, key, keylen);
	if (rr.key == NULL) {
		return -ENOMEM;
	}
	return push(z, &rr);
}

int zone_add(zone_t *z, const knot_dname_t *owner, uint16_t type, uint32_t ttl,
             const uint8_t *rdata, uint16_t rdlen)
{
	uint8_t key[DNS_KEY_MAX];
	size_t keylen = dns_name_key(owner, key);
	return zone_add_key(z, key, keylen, type, ttl, rdata, rdlen);
}

int zone_add_keyed(zone_t *z, const uint8_t *key, size_t keylen, uint16_t type, uint32_t ttl,
                   const knot_rdata_t *rd)
{
	size_t rsize = knot_rdata_size(rd->len);
	knot_rdata_t *copy = arena_alloc(&z->arena, rsize);
	if (copy == NULL) {
		return -ENOMEM;
	}
	memcpy(copy, rd, rsize);
	zone_rr_t rr = { .rd = copy, .ttl = ttl, .type = type, .keylen = (uint16_t)keylen };
	rr.key = intern_key(z, key, keylen);
	if (rr.key == NULL) {
		return -ENOMEM;
	}
	return push(z, &rr);
}

static inline int owner_type_cmp(const uint8_t *ak, size_t al, uint16_t at, const uint8_t *bk,
                                 size_t bl, uint16_t bt)
{
	if (ak != bk || al != bl) {
		int r = dns_key_cmp(ak, al, bk, bl);
		if (r != 0) {
			return r;
		}
	}
	return (at > bt) - (at < bt);
}

int zone_rr_cmp(const zone_rr_t *a, const zone_rr_t *b)
{
	int r = owner_type_cmp(a->key, a->keylen, a->type, b->key, b->keylen, b->type);
	if (r != 0) {
		return r;
	}
	return knot_rdata_cmp(a->rd, b->rd);
}

int zone_rrset_cmp(const zone_rrset_t *a, const zone_rrset_t *b)
{
	return owner_type_cmp(a->key, a->keylen, a->type, b->key, b->keylen, b->type);
}

/* Sort entry: 8 bytes of the owner key at some offset, and the record. */
struct sort_ent {
	uint64_t prefix;
	uint32_t idx;
	uint32_t owner; /* against the entry before: OWNER_NEW, _SAME or _UNKNOWN */
};

enum { OWNER_NEW, OWNER_SAME, OWNER_UNKNOWN };

static uint64_t key_prefix(const zone_rr_t *rr, size_t off)
{
	uint64_t p = 0;
	for (size_t i = 0; i < 8; i++) {
		uint8_t b = off + i < rr->keylen ? rr->key[off + i] : 0;
		p = (p << 8) | b;
	}
	return p;
}

/* LSD radix sort of n entries by prefix; the result ends in *a. */
static void radix8(struct sort_ent **a, struct sort_ent **tmp, size_t n)
{
	for (unsigned shift = 0; shift < 64; shift += 8) {
		size_t count[257] = { 0 };
		for (size_t i = 0; i < n; i++) {
			count[(((*a)[i].prefix >> shift) & 0xff) + 1]++;
		}
		if (count[(((*a)[0].prefix >> shift) & 0xff) + 1] == n) {
			continue; /* every entry has the same byte here */
		}
		for (size_t i = 1; i < 257; i++) {
			count[i] += count[i - 1];
		}
		for (size_t i = 0; i < n; i++) {
			(*tmp)[count[((*a)[i].prefix >> shift) & 0xff]++] = (*a)[i];
		}
		struct sort_ent *t = *a;
		*a = *tmp;
		*tmp = t;
	}
}

/* Records of one owner: by type, then rdata. */
static int ent_cmp_owner(const void *x, const void *y, void *arg)
{
	const zone_rr_t *rr = arg;
	const zone_rr_t *a = &rr[((const struct sort_ent *)x)->idx];
	const zone_rr_t *b = &rr[((const struct sort_ent *)y)->idx];
	if (a->type != b->type) {
		return a->type < b->type ? -1 : 1;
	}
	return knot_rdata_cmp(a->rd, b->rd);
}

static int ent_cmp(const void *x, const void *y, void *arg)
{
	const zone_rr_t *rr = arg;
	return zone_rr_cmp(&rr[((const struct sort_ent *)x)->idx],
	                   &rr[((const struct sort_ent *)y)->idx]);
}

/*
 * Order entries a[0..n) whose owner keys agree before byte off: radix on the
 * next 8 key bytes, then each run that still agrees goes 8 bytes deeper.
 * Zero padding past a key's end sorts below any byte that continues a name
 * (0x00 only ends a label, never twice in a row), so a run whose first key
 * ends inside the window holds one owner: it is ordered by type and rdata.
 */
static void sort_run(const zone_rr_t *rr, struct sort_ent *a, struct sort_ent *tmp, size_t n,
                     size_t off)
{
	/* Eight counting passes cost more than comparing a few hundred. */
	if (n < 256) {
		qsort_r(a, n, sizeof(*a), ent_cmp, (void *)rr);
		for (size_t i = 1; i < n; i++) {
			a[i].owner = OWNER_UNKNOWN;
		}
		return;
	}
	for (size_t i = 0; i < n; i++) {
		a[i].prefix = key_prefix(&rr[a[i].idx], off);
	}
	struct sort_ent *x = a, *y = tmp;
	radix8(&x, &y, n);
	if (x != a) {
		memcpy(a, x, n * sizeof(*a));
	}
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		while (j < n && a[j].prefix == a[i].prefix) {
			j++;
		}
		if (j - i > 1 && rr[a[i].idx].keylen <= off + 8) {
			qsort_r(a + i, j - i, sizeof(*a), ent_cmp_owner, (void *)rr);
			for (size_t k = i + 1; k < j; k++) {
				a[k].owner = OWNER_SAME;
			}
		} else if (j - i > 1) {
			sort_run(rr, a + i, tmp + i, j - i, off + 8);
		}
		/* Different windows: different owners. */
		a[i].owner = OWNER_NEW;
		i = j;
	}
}

/* Records in canonical order.  Owners of a zone share the apex as a key
 * prefix, so the radix starts past it.  Several times faster than qsort(). */
static int sort_records(zone_t *z)
{
	size_t n = z->count;
	if (n < 2) {
		return 0;
	}
	if (n > UINT32_MAX) {
		return -ENOMEM;
	}
	size_t skip = 0;
	if (z->apex_len > 0) {
		uint8_t akey[DNS_KEY_MAX];
		skip = dns_name_key(z->apex, akey);
		for (size_t i = 0; i < n && skip > 0 && !z->owners_in_apex; i++) {
			if (z->rr[i].keylen < skip || memcmp(z->rr[i].key, akey, skip) != 0) {
				skip = 0; /* not all in the zone: no common prefix */
			}
		}
	}
	struct sort_ent *a = arena_big_alloc(n * sizeof(*a)), *b = arena_big_alloc(n * sizeof(*b));
	if (a == NULL || b == NULL) {
		free(a);
		free(b);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		a[i].idx = (uint32_t)i;
	}
	sort_run(z->rr, a, b, n, skip);
	free(b);

	/* Gather into a new array (free b first: memory peaks while a second
	 * zone loads beside the first), giving each owner one key pointer as
	 * the sort found them. */
	zone_rr_t *sorted = arena_big_alloc(n * sizeof(*sorted));
	if (sorted == NULL) {
		free(a);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		sorted[i] = z->rr[a[i].idx];
		if (i == 0 || a[i].owner == OWNER_NEW) {
			continue;
		}
		zone_rr_t *p = &sorted[i - 1], *c = &sorted[i];
		if (a[i].owner == OWNER_SAME ||
		    (p->keylen == c->keylen && memcmp(p->key, c->key, c->keylen) == 0)) {
			c->key = p->key;
		}
	}
	free(z->rr);
	z->rr = sorted;
	z->cap = n;
	free(a);
	return 0;
}

/* One key pointer per owner, so that RRset boundaries are pointer compares. */
static void share_keys(zone_t *z)
{
	for (size_t i = 1; i < z->count; i++) {
		zone_rr_t *p = &z->rr[i - 1], *c = &z->rr[i];
		if (p->key != c->key && p->keylen == c->keylen &&
		    memcmp(p->key, c->key, c->keylen) == 0) {
			c->key = p->key;
		}
	}
}

/* Within a finished zone, records of one owner share the key pointer. */
static inline bool same_set(const zone_rr_t *a, const zone_rr_t *b)
{
	return a->key == b->key && a->type == b->type;
}

static int rr_cmp(const void *a, const void *b)
{
	return zone_rr_cmp(a, b);
}

/*
 * Records in canonical order but for a few out of place, put in order
 * without a sort: an AXFR from a server that keeps its zone in canonical
 * order sends it so, except the apex SOA, which comes first (RFC 5936
 * section 2.2).  Records that do not continue the ascending run are set
 * aside, sorted, and merged back in from the end.  1 done; 0 too many out
 * of place for this to pay (z->rr holds the same records, in another
 * order: sort them); -ENOMEM.
 */
static int merge_strays(zone_t *z)
{
	size_t n = z->count, max = n / 64 + 16, m = 0, ns = 0;
	zone_rr_t *strays = malloc(max * sizeof(*strays));
	if (strays == NULL) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		if (m == 0 || zone_rr_cmp(&z->rr[m - 1], &z->rr[i]) < 0) {
			z->rr[m++] = z->rr[i];
		} else if (ns < max) {
			strays[ns++] = z->rr[i];
		} else {
			/* [m, i) was moved out: put the strays there. */
			memcpy(&z->rr[m], strays, ns * sizeof(*strays));
			free(strays);
			return 0;
		}
	}
	qsort(strays, ns, sizeof(*strays), rr_cmp);
	size_t w = n;
	while (ns > 0) {
		if (m > 0 && zone_rr_cmp(&z->rr[m - 1], &strays[ns - 1]) > 0) {
			z->rr[--w] = z->rr[--m];
		} else {
			z->rr[--w] = strays[--ns];
		}
	}
	free(strays);
	return 1;
}

int zone_finish(zone_t *z)
{
	/* Zone files are often already in order, AXFRs nearly: check
	 * before sorting. */
	bool ordered = true;
	for (size_t i = 1; i < z->count && ordered; i++) {
		ordered = zone_rr_cmp(&z->rr[i - 1], &z->rr[i]) < 0;
	}
	if (!ordered) {
		int ret = merge_strays(z);
		if (ret < 0 || (ret == 0 && sort_records(z) != 0)) {
			return -ENOMEM;
		}
		ordered = ret == 1;
	}
	if (ordered) {
		share_keys(z); /* sorted input may come from a merge */
	}

	/* One pass per RRset: drop duplicates, collapse TTLs to the minimum. */
	size_t out = 0;
	z->rrsets = 0;
	for (size_t i = 0; i < z->count;) {
		size_t j = i + 1;
		uint32_t min = z->rr[i].ttl;
		bool mixed = false;
		while (j < z->count && same_set(&z->rr[i], &z->rr[j])) {
			if (z->rr[j].ttl != z->rr[i].ttl) {
				mixed = true;
			}
			if (z->rr[j].ttl < min) {
				min = z->rr[j].ttl;
			}
			j++;
		}
		size_t first = out;
		for (size_t k = i; k < j; k++) {
			if (out > first && knot_rdata_cmp(z->rr[out - 1].rd, z->rr[k].rd) == 0) {
				z->stats.duplicates++;
				continue;
			}
			z->rr[out] = z->rr[k];
			z->rr[out].ttl = min;
			out++;
		}
		if (mixed) {
			z->stats.ttl_collapsed++;
		}
		z->rrsets++;
		i = j;
	}
	z->count = out;
	z->sorted = true;
	return 0;
}

bool zone_rrset_next(const zone_t *z, size_t *pos, zone_rrset_t *out)
{
	size_t i = *pos;
	if (i >= z->count) {
		return false;
	}
	size_t j = i + 1;
	while (j < z->count && same_set(&z->rr[i], &z->rr[j])) {
		j++;
	}
	out->key = z->rr[i].key;
	out->keylen = z->rr[i].keylen;
	out->type = z->rr[i].type;
	out->ttl = z->rr[i].ttl;
	out->rr = &z->rr[i];
	out->count = j - i;
	*pos = j;
	return true;
}

bool zone_find(const zone_t *z, const knot_dname_t *owner, uint16_t type, zone_rrset_t *out)
{
	uint8_t key[DNS_KEY_MAX];
	size_t keylen = dns_name_key(owner, key);
	size_t lo = 0, hi = z->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const zone_rr_t *m = &z->rr[mid];
		if (owner_type_cmp(m->key, m->keylen, m->type, key, keylen, type) < 0) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	if (lo == z->count || owner_type_cmp(z->rr[lo].key, z->rr[lo].keylen, z->rr[lo].type, key,
	                                     keylen, type) != 0) {
		return false;
	}
	size_t pos = lo;
	return zone_rrset_next(z, &pos, out);
}

int zone_serial(const zone_t *z, uint32_t *serial)
{
	zone_rrset_t soa;
	if (z->apex_len == 0 || !zone_find(z, z->apex, KNOT_RRTYPE_SOA, &soa)) {
		return -ENOENT;
	}
	*serial = knot_soa_serial(soa.rr[0].rd);
	return 0;
}

bool zone_rrset_equal(const zone_rrset_t *a, const zone_rrset_t *b)
{
	if (a->count != b->count || a->ttl != b->ttl || zone_rrset_cmp(a, b) != 0) {
		return false;
	}
	for (size_t i = 0; i < a->count; i++) {
		if (knot_rdata_cmp(a->rr[i].rd, b->rr[i].rd) != 0) {
			return false;
		}
	}
	return true;
}

int zone_rrset_to_knot(const zone_rrset_t *s, knot_rrset_t *out, uint8_t *owner, uint8_t **buf,
                       size_t *bufsize)
{
	if (dns_name_from_key(s->key, s->keylen, owner) < 0) {
		return -EINVAL;
	}
	size_t need = 0;
	for (size_t i = 0; i < s->count; i++) {
		need += knot_rdata_size(s->rr[i].rd->len);
	}
	if (need > UINT32_MAX || s->count > UINT16_MAX) {
		return -EINVAL;
	}
	if (need > *bufsize || *buf == NULL) {
		uint8_t *n = realloc(*buf, need ? need : 1);
		if (n == NULL) {
			return -ENOMEM;
		}
		*buf = n;
		*bufsize = need;
	}
	size_t off = 0;
	for (size_t i = 0; i < s->count; i++) {
		size_t sz = knot_rdata_size(s->rr[i].rd->len);
		memcpy(*buf + off, s->rr[i].rd, sz);
		off += sz;
	}
	knot_rrset_init(out, owner, s->type, KNOT_CLASS_IN, s->ttl);
	out->rrs.count = (uint16_t)s->count;
	out->rrs.size = (uint32_t)need;
	out->rrs.rdata = (knot_rdata_t *)*buf;
	return 0;
}

const char *zone_rr_str(const zone_rr_t *rr, char *buf, size_t size)
{
	zone_rrset_t s = { .key = rr->key,
		           .keylen = rr->keylen,
		           .type = rr->type,
		           .ttl = rr->ttl,
		           .rr = rr,
		           .count = 1 };
	knot_dname_storage_t owner;
	knot_rrset_t k;
	uint8_t *rdbuf = NULL;
	size_t rdsize = 0;
	char *txt = NULL;
	size_t txtsize = 0;
	int len = zone_rrset_to_knot(&s, &k, owner, &rdbuf, &rdsize);
	if (len == 0) {
		len = dns_rr_text(&k, 0, 1, &txt, &txtsize);
	}
	if (len < 0) {
		snprintf(buf, size, "(unprintable record)");
	} else {
		snprintf(buf, size, "%.*s", len, txt);
	}
	free(rdbuf);
	free(txt);
	return buf;
}
