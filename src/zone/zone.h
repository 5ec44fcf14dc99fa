/*
 * A zone held in memory: its records in RFC 4034 canonical order, grouped
 * into RRsets by (owner, type).  Records live in an arena; each names its
 * owner by the canonical sort key of dns/name.h, shared by all records of one
 * owner, and carries its rdata in canonical form (RFC 4034 section 6.2: names
 * inside rdata lowercased), so comparing two zones is a merge of two sorted
 * arrays with memcmp().
 *
 * All records of an RRset carry one TTL: the smallest given for any of them.
 * Duplicate records (same owner, type and rdata) are kept once (RFC 2181 5).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <libknot/dname.h>
#include <libknot/rdata.h>
#include <libknot/rrset.h>

#include "zone/arena.h"

typedef struct {
	const uint8_t *key;     /* owner, see dns_name_key() */
	const knot_rdata_t *rd; /* canonical rdata */
	uint32_t ttl;
	uint16_t type;
	uint16_t keylen;
} zone_rr_t;

/* A view of one RRset inside a zone: count records starting at rr. */
typedef struct {
	const uint8_t *key;
	const zone_rr_t *rr;
	size_t count;
	uint32_t ttl;
	uint16_t type;
	uint16_t keylen;
} zone_rrset_t;

typedef struct {
	size_t duplicates;    /* records dropped as duplicates */
	size_t ttl_collapsed; /* RRsets whose records had different TTLs */
} zone_stats_t;

typedef struct {
	knot_dname_storage_t apex; /* valid when apex_len > 0 */
	size_t apex_len;
	arena_t arena;
	zone_rr_t *rr;
	size_t count, cap;
	size_t rrsets; /* number of RRsets, valid once sorted */
	bool sorted;
	bool owners_in_apex; /* set by loaders that checked every owner */
	zone_stats_t stats;
} zone_t;

void zone_init(zone_t *z);
void zone_free(zone_t *z);

/* Make room for n records (a hint: adding more still works). */
int zone_reserve(zone_t *z, size_t n);

/* Set the apex (a wire name); it is kept lowercased. */
void zone_set_apex(zone_t *z, const knot_dname_t *apex);

/* Add one record (unsorted until zone_finish()).  The rdata must be well
 * formed for its type; it is copied and canonicalized.  0 or -ENOMEM. */
int zone_add(zone_t *z, const knot_dname_t *owner, uint16_t type, uint32_t ttl,
             const uint8_t *rdata, uint16_t rdlen);

/* Same, with the owner given by its sort key (see dns_name_key()). */
int zone_add_key(zone_t *z, const uint8_t *key, size_t keylen, uint16_t type, uint32_t ttl,
                 const uint8_t *rdata, uint16_t rdlen);

/* The canonical form of rdata (checked well formed): *out points at rdata
 * itself or at a per-thread buffer valid until the next call.  Its length,
 * or -EINVAL. */
int zone_rdata_canonical(uint16_t type, const uint8_t *rdata, uint16_t rdlen,
                         const uint8_t **out);

/* Same, with the rdata already canonical and checked (from a store),
 * the key copied unless it equals the key of the last record added. */
int zone_add_keyed(zone_t *z, const uint8_t *key, size_t keylen, uint16_t type, uint32_t ttl,
                   const knot_rdata_t *rd);

/* Sort, drop duplicates, collapse TTLs, count RRsets.  0 or -ENOMEM. */
int zone_finish(zone_t *z);

/* Iterate RRsets in canonical order: start with *pos = 0. */
bool zone_rrset_next(const zone_t *z, size_t *pos, zone_rrset_t *out);

/* Find one RRset; false when absent. */
bool zone_find(const zone_t *z, const knot_dname_t *owner, uint16_t type, zone_rrset_t *out);

/* Serial of the apex SOA; -ENOENT without one. */
int zone_serial(const zone_t *z, uint32_t *serial);

/* Order of records: owner key, type, then rdata (canonical). */
int zone_rr_cmp(const zone_rr_t *a, const zone_rr_t *b);

/* Owner and type of two RRsets or records: <0, 0, >0. */
int zone_rrset_cmp(const zone_rrset_t *a, const zone_rrset_t *b);

/* Same records and TTL. */
bool zone_rrset_equal(const zone_rrset_t *a, const zone_rrset_t *b);

/* Rebuild a knot_rrset_t of an RRset for libknot's text or wire functions.
 * owner must hold KNOT_DNAME_MAXLEN bytes; *buf (malloc'd, grown as needed)
 * holds the rdata.  0 or -ENOMEM / -EINVAL. */
int zone_rrset_to_knot(const zone_rrset_t *s, knot_rrset_t *out, uint8_t *owner, uint8_t **buf,
                       size_t *bufsize);

/* One record as zone text, cut to fit buf (for messages). */
const char *zone_rr_str(const zone_rr_t *rr, char *buf, size_t size);
