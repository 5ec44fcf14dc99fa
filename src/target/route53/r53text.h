/*
 * Route 53's text forms of names and TXT data (see shared/notes/route53.md):
 * names come back lowercase with a trailing dot and every byte other than
 * a-z 0-9 '-' '_' as a three-digit octal escape (\052 for '*'); TXT values
 * are quoted character-strings.  We write them as people do: printable ASCII
 * (0x20..0x7e, the space too) as it is, '"' and '\' as \" and \\, any other
 * byte \ooo.  We read any escape (zonesync before issue 14 wrote a space as
 * \040).  Both sides are turned into wire form before comparing, so the
 * spelling of a value never shows as a difference.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <libknot/dname.h>
#include <libknot/rrset.h>

struct zs_scanner;

/* Route 53 name text -> wire (lowercased).  Octal \ooo and the zone-file
 * escapes (\DDD decimal is NOT accepted: Route 53 never sends it).
 * Returns the wire length or -EINVAL. */
int r53_name_to_wire(const char *text, knot_dname_storage_t out);

/* Wire -> text for requests: a-z 0-9 - _ as they are, a leading "*" label
 * as "*", everything else \ooo.  Returns the length or -ENOSPC/-EINVAL. */
int r53_name_from_wire(const knot_dname_t *name, char *out, size_t size);

/* TXT/SPF rdata -> one Route 53 Value: "s1" "s2" ... ("v=spf1 mx -all",
 * "a\"b\\c\377").  Returns the length, or -EINVAL for malformed rdata,
 * -ENOSPC when out is too small. */
int r53_txt_from_rdata(const uint8_t *rd, size_t len, char *out, size_t size);

/* A Route 53 TXT Value -> rdata.  Quoted strings (\" \\ \ooo), or bare
 * words separated by spaces.  Returns the rdata length or -EINVAL. */
int r53_txt_to_rdata(const char *value, uint8_t *out, size_t size);


/* Record pos of rrset as one Route 53 Value (malloc'd *buf, grown): TXT and
 * SPF as quoted strings, other types as zone text with every \DDD escape
 * made \ooo, the escape Route 53 uses (libknot's zone text already writes
 * the quoted strings of CAA and NAPTR the way we write TXT).  With a
 * scanner (see below) the value is read back and must give the same rdata:
 * a value we could not read back is never sent (libknot prints a few odd
 * rdata, e.g. an SVCB alpn holding a space, in a form its scanner refuses).
 * Returns the length, -EINVAL for such a value, or another error. */
int r53_value_from_rr(const knot_rrset_t *rrset, size_t pos, struct zs_scanner *sc, char **buf,
                      size_t *size);

/* A Route 53 Value of this type -> wire rdata in out (DNS_RDATA_MAX bytes).
 * sc is a scanner made with dns_scanner_new(), reused between calls.
 * Returns the rdata length or -EINVAL. */
int r53_value_to_rdata(struct zs_scanner *sc, uint16_t type, const char *value, uint8_t *out,
                       size_t size);

