/*
 * Record data: validation and canonical form, and text for humans.
 */
#pragma once

#include <stdint.h>
#include <stddef.h>
#include <libknot/dname.h>
#include <libknot/rrset.h>

/* Maximum length of one record's rdata. */
#define DNS_RDATA_MAX 65535

/*
 * Check that rdata is well formed for its type and give its canonical form
 * (RFC 4034 section 6.2: names inside lowercased) in out, which must hold
 * DNS_RDATA_MAX bytes.  Compression pointers are refused.
 * Returns the canonical length, or -EINVAL for malformed rdata.
 */
int dns_rdata_canonical(uint16_t type, const uint8_t *rdata, uint16_t rdlen, uint8_t *out);

/* Type mnemonic ("A", "TYPE65000") into buf of at least 16 bytes. */
const char *dns_type_str(uint16_t type, char *buf, size_t size);

struct zs_scanner;

/* A scanner for dns_rdata_from_text(), reused between calls (zs_init costs a
 * 200 KiB clear).  NULL when out of memory. */
struct zs_scanner *dns_scanner_new(void);
void dns_scanner_free(struct zs_scanner *sc);

/*
 * One record's rdata from its zone-file text (a provider's value), in wire
 * form into out.  One line only: a newline is refused, so nothing else can
 * be read in with it; read as TYPEn so that every type libknot knows reads,
 * in its own text or as \#.  Returns the rdata length or -EINVAL.
 */
int dns_rdata_from_text(struct zs_scanner *sc, uint16_t type, const char *text, uint8_t *out,
                        size_t size);

/*
 * Text of record pos of an RRset: rdata only, or with the owner, TTL, class
 * and type in front (header).  *buf is malloc'd and grown as needed.
 * Returns the length or a negative error.
 */
int dns_rr_text(const knot_rrset_t *rrset, size_t pos, int header, char **buf, size_t *size);
