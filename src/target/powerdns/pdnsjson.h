/*
 * PowerDNS's HTTP API in JSON (jansson): the zone we read (its RRsets, each
 * record's content in zone-file text), the error bodies, and the PATCH
 * bodies we send.  Record contents are parsed back into canonical wire
 * rdata (zscanner) before any comparison, so PowerDNS's own text never
 * shows as a difference.  Every problem names the RRset it is in.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <libknot/dname.h>
#include <libknot/rrset.h>

#include "target/target.h"
#include "zone/diff.h"
#include "zone/zone.h"

struct zs_scanner;

/* One RRset of the live zone that zonesync leaves alone: its owner's sort
 * key and type. */
typedef struct {
	uint8_t *key;
	size_t keylen;
	uint16_t type;
} pdns_set_id_t;

/* What a zone's JSON says besides its records. */
typedef struct {
	char kind[32];          /* Native, Master, Slave, ... */
	char soa_edit_api[64];  /* the SOA-EDIT-API metadata, "" when unset */
	size_t foreign;         /* RRsets left out of the live zone */
	target_foreign_t left;  /* the same, named */
	pdns_set_id_t *sets;    /* of them, those inside the zone (never touched) */
	size_t nsets;
	size_t disabled;        /* of them, sets holding a disabled record */
} pdns_zone_info_t;

void pdns_zone_info_free(pdns_zone_info_t *info);

/* Is this RRset one of info's sets? */
bool pdns_zone_info_has(const pdns_zone_info_t *info, const zone_rrset_t *set);

/*
 * A zone as GET /servers/ID/zones/ZONE answers it: its RRsets are added to
 * live (apex already set; not finished here).  An RRset holding a disabled
 * record, one with a content we cannot read, one of a type libknot does not
 * know (PowerDNS's ALIAS, LUA...) or outside the zone is counted in
 * info->foreign and left out.  0, -EINVAL with err naming the place, or
 * -ENOMEM.
 */
int pdns_parse_zone(const char *json, size_t len, zone_t *live, pdns_zone_info_t *info,
                    char *err, size_t errlen);

/* The "error" string of an error body into msg; -EINVAL when the body is
 * not JSON with one (msg then holds the start of the body as text). */
/* The "serial" of a zone object (GET zone, its SOA serial as PowerDNS
 * serves it): 0, or -EINVAL when the answer holds none in 0..2^32-1. */
int pdns_parse_serial(const char *json, size_t len, uint32_t *serial);

int pdns_parse_error(const char *body, size_t len, char *msg, size_t msglen);

/* Record content text -> wire rdata (out holds size bytes).  sc is made by
 * dns_scanner_new() and reused.  Returns the rdata length or -EINVAL. */
int pdns_content_to_rdata(struct zs_scanner *sc, uint16_t type, const char *content,
                          uint8_t *out, size_t size);

/* Record pos of rrset as PowerDNS content text (malloc'd *buf, grown):
 * zone-file text for the types PowerDNS parses, RFC 3597 \# form for the
 * others.  With sc the text is read back and must give the same rdata.
 * Returns the length, -EINVAL (a content that does not read back), or
 * another negative error. */
int pdns_content_from_rr(const knot_rrset_t *rrset, size_t pos, struct zs_scanner *sc,
                         char **buf, size_t *size);

/* Does PowerDNS 4.x read this type's zone-file text (else it wants \#)? */
bool pdns_type_has_text(uint16_t type);


/* Does PowerDNS's API take this owner name?  It refuses every name with a
 * byte other than a-z A-Z 0-9 '-' '_' '/' in a label, but a leftmost "*"
 * label ("Name ... contains unsupported characters"). */
bool pdns_name_ok(const knot_dname_t *name);

/* The zone's id in API paths: its name with every byte other than a-z A-Z
 * 0-9 '.' '-' as =XX (PowerDNS's apiZoneNameToId), the root as "=2E".
 * Returns the length or -ENOSPC. */
int pdns_zone_id(const knot_dname_t *name, char *out, size_t size);

/*
 * The PATCH body of changes [from, to) of an order (pointers into a diff):
 * ADD and REPLACE as changetype REPLACE (ttl and every record), DELETE as
 * DELETE.  *body is malloc'd (NUL-terminated).  0, -EINVAL with err naming
 * an RRset whose content cannot be written, or -ENOMEM.
 */
int pdns_patch_body(const zone_change_t *const *order, size_t from, size_t to,
                    struct zs_scanner *sc, char **body, size_t *len, char *err, size_t errlen);

/* The POST body that creates a zone: kind Native, no name servers, and
 * SOA-EDIT-API off (PowerDNS then keeps the SOA serial we send). */
char *pdns_create_body(const knot_dname_t *name);
