#include "zone/fold.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <libknot/rdata.h>

#include "dns/name.h"
#include "zone/zone.h"

#define F_DEL 1 /* removed from the zone we hold, with ttl_del */
#define F_ADD 2 /* added, with ttl_add */

/* One record of the delta; freed as soon as it cancels out. */
struct fold_ent {
	struct fold_ent *next;
	uint64_t hash;
	uint32_t ttl_del, ttl_add;
	uint16_t type, keylen;
	uint8_t flags;
	_Alignas(8) uint8_t data[]; /* knot_rdata_t, then the owner key */
};

static inline knot_rdata_t *ent_rd(struct fold_ent *e)
{
	return (knot_rdata_t *)e->data;
}

static inline uint8_t *ent_key(struct fold_ent *e)
{
	return e->data + knot_rdata_size(ent_rd(e)->len);
}

void zone_fold_init(zone_fold_t *f, const knot_dname_t *apex)
{
	memset(f, 0, sizeof(*f));
	knot_dname_copy_lower(f->apex, apex);
	/* A random seed: a primary cannot choose records that all collide. */
	if (getrandom(&f->seed, sizeof(f->seed), GRND_NONBLOCK) != sizeof(f->seed)) {
		f->seed = (uint64_t)(uintptr_t)f ^ 0x9e3779b97f4a7c15ull;
	}
}

void zone_fold_free(zone_fold_t *f)
{
	for (size_t i = 0; i < f->nbuckets; i++) {
		struct fold_ent *e = f->bucket[i];
		while (e != NULL) {
			struct fold_ent *next = e->next;
			free(e);
			e = next;
		}
	}
	free(f->bucket);
	f->bucket = NULL;
	f->nbuckets = f->count = 0;
}

static inline uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

static uint64_t hash_bytes(uint64_t h, const uint8_t *p, size_t n)
{
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		h = (h ^ w) * 0x9e3779b97f4a7c15ull;
		h ^= h >> 29;
		p += 8;
		n -= 8;
	}
	uint64_t w = 0;
	memcpy(&w, p, n);
	h = (h ^ w ^ ((uint64_t)n << 56)) * 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 29);
}

static uint64_t hash_rr(uint64_t seed, const uint8_t *key, size_t keylen, uint16_t type,
                        const uint8_t *rd, size_t rdlen)
{
	uint64_t h = hash_bytes(seed ^ type, key, keylen);
	return mix(hash_bytes(h ^ rdlen, rd, rdlen));
}

static int grow(zone_fold_t *f)
{
	size_t n = f->nbuckets ? f->nbuckets * 2 : 64;
	struct fold_ent **b = calloc(n, sizeof(*b));
	if (b == NULL) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < f->nbuckets; i++) {
		struct fold_ent *e = f->bucket[i];
		while (e != NULL) {
			struct fold_ent *next = e->next;
			size_t k = e->hash & (n - 1);
			e->next = b[k];
			b[k] = e;
			e = next;
		}
	}
	free(f->bucket);
	f->bucket = b;
	f->nbuckets = n;
	return 0;
}

/* Find the record; *link points at the pointer to it (or to the end of its
 * chain), for unlinking or appending. */
static struct fold_ent *find(zone_fold_t *f, uint64_t h, const uint8_t *key, size_t keylen,
                             uint16_t type, const uint8_t *rd, uint16_t rdlen,
                             struct fold_ent ***link)
{
	struct fold_ent **p = &f->bucket[h & (f->nbuckets - 1)];
	for (; *p != NULL; p = &(*p)->next) {
		struct fold_ent *e = *p;
		if (e->hash == h && e->type == type && e->keylen == keylen &&
		    ent_rd(e)->len == rdlen && memcmp(ent_rd(e)->data, rd, rdlen) == 0 &&
		    memcmp(ent_key(e), key, keylen) == 0) {
			break;
		}
	}
	*link = p;
	return *p;
}

static int fold(zone_fold_t *f, bool add, const knot_dname_t *owner, uint16_t type, uint32_t ttl,
                const uint8_t *rdata, uint16_t rdlen)
{
	const uint8_t *rd;
	int len = zone_rdata_canonical(type, rdata, rdlen, &rd);
	if (len < 0) {
		return -EINVAL;
	}
	if (f->count >= f->nbuckets && grow(f) != 0) {
		return -ENOMEM;
	}
	uint8_t key[DNS_KEY_MAX];
	size_t keylen = dns_name_key(owner, key);
	uint64_t h = hash_rr(f->seed, key, keylen, type, rd, (size_t)len);
	struct fold_ent **link;
	struct fold_ent *e = find(f, h, key, keylen, type, rd, (uint16_t)len, &link);
	if (e == NULL) {
		size_t rsize = knot_rdata_size((uint16_t)len);
		e = malloc(sizeof(*e) + rsize + keylen);
		if (e == NULL) {
			return -ENOMEM;
		}
		*e = (struct fold_ent){ .hash = h, .type = type, .keylen = (uint16_t)keylen };
		knot_rdata_init(ent_rd(e), (uint16_t)len, rd);
		memcpy(ent_key(e), key, keylen);
		*link = e;
		f->count++;
	}
	if (add) {
		if (e->flags & F_ADD) {
			return -EEXIST;
		}
		/* Removed, then put back: both stay, for the TTL of the
		 * record we hold is not known here. */
		e->flags |= F_ADD;
		e->ttl_add = ttl;
	} else {
		if (e->flags & F_ADD) {
			e->flags &= (uint8_t)~F_ADD; /* added, then removed */
		} else if (e->flags & F_DEL) {
			return -ENOENT;
		} else {
			e->flags = F_DEL;
			e->ttl_del = ttl;
		}
	}
	if (e->flags == 0) {
		*link = e->next;
		free(e);
		f->count--;
	}
	return 0;
}

int zone_fold_del(zone_fold_t *f, const knot_dname_t *owner, uint16_t type, uint32_t ttl,
                  const uint8_t *rdata, uint16_t rdlen)
{
	return fold(f, false, owner, type, ttl, rdata, rdlen);
}

int zone_fold_add(zone_fold_t *f, const knot_dname_t *owner, uint16_t type, uint32_t ttl,
                  const uint8_t *rdata, uint16_t rdlen)
{
	return fold(f, true, owner, type, ttl, rdata, rdlen);
}

int zone_fold_finish(zone_fold_t *f, uint32_t from, uint32_t to, zone_delta_t *out)
{
	*out = (zone_delta_t){ .from = from, .to = to };
	zone_init(&out->del);
	zone_init(&out->add);
	zone_set_apex(&out->del, f->apex);
	zone_set_apex(&out->add, f->apex);
	int ret = 0;
	for (size_t i = 0; i < f->nbuckets && ret == 0; i++) {
		for (struct fold_ent *e = f->bucket[i]; e != NULL && ret == 0; e = e->next) {
			if (e->flags & F_DEL) {
				ret = zone_add_keyed(&out->del, ent_key(e), e->keylen, e->type,
				                     e->ttl_del, ent_rd(e));
			}
			if (ret == 0 && (e->flags & F_ADD)) {
				ret = zone_add_keyed(&out->add, ent_key(e), e->keylen, e->type,
				                     e->ttl_add, ent_rd(e));
			}
		}
	}
	zone_fold_free(f);
	if (ret == 0) {
		ret = zone_finish(&out->del);
	}
	if (ret == 0) {
		ret = zone_finish(&out->add);
	}
	if (ret != 0) {
		zone_free(&out->del);
		zone_free(&out->add);
		return -ENOMEM;
	}
	return 0;
}
