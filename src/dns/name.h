/*
 * Domain names: case-insensitive equality, RFC 4034 canonical order, and the
 * canonical sort key that the zone core and the store use for ordering.
 *
 * The sort key of a name is its labels from the root down, each lowercased
 * and terminated by a 0x00 byte.  Bytes 0x00 and 0x01 inside a label are
 * escaped as 0x01 0x01 and 0x01 0x02, so memcmp() of two keys gives exactly
 * the RFC 4034 section 6.1 order, even for binary labels.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <libknot/dname.h>

/* Longest possible key: every byte of a 255-byte name escaped. */
#define DNS_KEY_MAX 512
/* Longest presentation form: every byte as \DDD, plus the dots. */
#define DNS_NAME_STR_MAX (4 * KNOT_DNAME_MAXLEN + 1)

/* Build the sort key of a wire name; returns its length. */
size_t dns_name_key(const knot_dname_t *name, uint8_t key[DNS_KEY_MAX]);

/* Rebuild the lowercased wire name from a key; returns its length or -EINVAL. */
int dns_name_from_key(const uint8_t *key, size_t keylen, knot_dname_storage_t out);

/* Compare two keys (memcmp order, shorter first). */
int dns_key_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

/* RFC 4034 canonical comparison of two wire names: <0, 0, >0. */
int dns_name_cmp(const knot_dname_t *a, const knot_dname_t *b);

/* Case-insensitive equality. */
bool dns_name_equal(const knot_dname_t *a, const knot_dname_t *b);

/* A hash of the wire name, without case: equal names (dns_name_equal)
 * hash the same.  FNV-1a, for tables keyed by name. */
uint32_t dns_name_hash(const knot_dname_t *name);

/* True when name is at or below apex. */
bool dns_name_in_zone(const knot_dname_t *name, const knot_dname_t *apex);

/* Presentation form with escapes and the trailing dot; NULL on failure. */
char *dns_name_to_str(const knot_dname_t *name, char *buf, size_t size);

/* Presentation form of the name held in a key. */
char *dns_key_to_str(const uint8_t *key, size_t keylen, char *buf, size_t size);

/* Parse a presentation-form name (relative names are taken as absolute),
 * lowercased; returns the wire length or -EINVAL. */
int dns_name_from_str(const char *str, knot_dname_storage_t out);
