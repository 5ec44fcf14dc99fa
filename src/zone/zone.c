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

static int push(zone_t *z, const zone_rr_t *rr)
{
	if (z->count == z->cap) {
		size_t cap = z->cap ? z->cap * 2 : 1024;
		zone_rr_t *n = realloc(z->rr, cap * sizeof(*n));
		if (n == NULL) {
			return -ENOMEM;
		}
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

int zone_add(zone_t *z, const knot_dname_t *owner, uint16_t type, uint32_t ttl,
             const uint8_t *rdata, uint16_t rdlen)
{
	static _Thread_local uint8_t canon[DNS_RDATA_MAX];
	int len = dns_rdata_canonical(type, rdata, rdlen, canon);
	if (len < 0) {
		return len;
	}
	knot_rdata_t *rd = arena_alloc(&z->arena, knot_rdata_size((uint16_t)len));
	if (rd == NULL) {
		return -ENOMEM;
	}
	knot_rdata_init(rd, (uint16_t)len, canon);

	uint8_t key[DNS_KEY_MAX];
	size_t keylen = dns_name_key(owner, key);
	zone_rr_t rr = { .rd = rd, .ttl = ttl, .type = type, .keylen = (uint16_t)keylen };
	rr.key = intern_key(z, key, keylen);
	if (rr.key == NULL) {
		return -ENOMEM;
	}
	return push(z, &rr);
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

static int rr_qsort_cmp(const void *a, const void *b)
{
	return zone_rr_cmp(a, b);
}

int zone_rrset_cmp(const zone_rrset_t *a, const zone_rrset_t *b)
{
	return owner_type_cmp(a->key, a->keylen, a->type, b->key, b->keylen, b->type);
}

/* Sort entry: 8 bytes of the owner key past the apex, and the record. */
struct sort_ent {
	uint64_t prefix;
	uint32_t idx;
};

static uint64_t key_prefix(const zone_rr_t *rr, size_t skip)
{
	uint64_t p = 0;
	for (size_t i = 0; i < 8; i++) {
		uint8_t b = skip + i < rr->keylen ? rr->key[skip + i] : 0;
		p = (p << 8) | b;
	}
	return p;
}

/*
 * All owners of a zone share the apex as a key prefix, so records are first
 * ordered by the next 8 key bytes with an LSD radix sort (zero padding keeps
 * that order consistent with the full order), then each run of equal
 * prefixes is finished with the full comparison.  About ten times faster
 * than qsort() alone on a million records.
 */
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
		for (size_t i = 0; i < n && skip > 0; i++) {
			if (z->rr[i].keylen < skip || memcmp(z->rr[i].key, akey, skip) != 0) {
				skip = 0; /* not all in zone: no common prefix */
			}
		}
	}
	struct sort_ent *a = malloc(n * sizeof(*a)), *b = malloc(n * sizeof(*b));
	zone_rr_t *sorted = malloc(n * sizeof(*sorted));
	if (a == NULL || b == NULL || sorted == NULL) {
		free(a);
		free(b);
		free(sorted);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		a[i].prefix = key_prefix(&z->rr[i], skip);
		a[i].idx = (uint32_t)i;
	}
	for (unsigned shift = 0; shift < 64; shift += 8) {
		size_t count[257] = { 0 };
		for (size_t i = 0; i < n; i++) {
			count[((a[i].prefix >> shift) & 0xff) + 1]++;
		}
		if (count[((a[0].prefix >> shift) & 0xff) + 1] == n) {
			continue; /* every entry has the same byte here */
		}
		for (size_t i = 1; i < 257; i++) {
			count[i] += count[i - 1];
		}
		for (size_t i = 0; i < n; i++) {
			b[count[(a[i].prefix >> shift) & 0xff]++] = a[i];
		}
		struct sort_ent *t = a;
		a = b;
		b = t;
	}
	for (size_t i = 0; i < n; i++) {
		sorted[i] = z->rr[a[i].idx];
	}
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		while (j < n && a[j].prefix == a[i].prefix) {
			j++;
		}
		if (j - i > 1) {
			qsort(sorted + i, j - i, sizeof(*sorted), rr_qsort_cmp);
		}
		i = j;
	}
	free(a);
	free(b);
	free(z->rr);
	z->rr = sorted;
	z->cap = n;
	return 0;
}

static inline bool same_set(const zone_rr_t *a, const zone_rr_t *b)
{
	return a->type == b->type &&
	       (a->key == b->key || dns_key_cmp(a->key, a->keylen, b->key, b->keylen) == 0);
}

int zone_finish(zone_t *z)
{
	/* Zone files are often already in order: check before sorting. */
	bool ordered = true;
	for (size_t i = 1; i < z->count && ordered; i++) {
		ordered = zone_rr_cmp(&z->rr[i - 1], &z->rr[i]) < 0;
	}
	if (!ordered && sort_records(z) != 0) {
		return -ENOMEM;
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
