/*
 * Route 53's XML: the answers we read (record set pages, hosted zones,
 * change info, both error forms) and the change batches we send.  Parsing
 * is bounded (libxml2 without network or entity expansion) and every
 * problem names the record set it is in.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <libknot/dname.h>

#include "target/target.h"
#include "zone/zone.h"

#define R53_ID_MAX 128

/* Where the next ListResourceRecordSets page starts. */
typedef struct {
	size_t sets; /* ResourceRecordSet elements on the page just read */
	bool truncated;
	char name[1100];
	char type[16];
	char identifier[R53_ID_MAX * 2];
} r53_next_t;

/*
 * The text of each live value as Route 53 listed it, by record: a DELETE
 * must repeat the value exactly as Route 53 holds it ("a b" is not
 * "a\040b" to its matcher), whoever wrote it.
 */
typedef struct {
	uint8_t *key; /* owner sort key, type (2 bytes), canonical rdata */
	size_t keylen;
	char *text;
} r53_raw_entry_t;

typedef struct r53_raw {
	r53_raw_entry_t *e;
	size_t count, cap;
	bool sorted;
} r53_raw_t;

/* The listed text of record i of set s, or NULL when not listed. */
const char *r53_raw_find(r53_raw_t *raw, const zone_rrset_t *s, size_t i);
void r53_raw_free(r53_raw_t *raw);

/*
 * One ListResourceRecordSets page: its record sets are added to live
 * (values parsed to wire rdata), their texts to raw (when not NULL).
 * Alias sets, sets with a SetIdentifier and sets with a value we cannot
 * read are named in *foreign (when not NULL) and left out.  0, or -EINVAL with err naming
 * the set.
 */
int r53_parse_rrsets(const char *xml, size_t len, zone_t *live, r53_raw_t *raw,
                     target_foreign_t *foreign,
                     r53_next_t *next, char *err, size_t errlen);

/* One ListHostedZonesByName page: the id (without "/hostedzone/") of the
 * public zone named apex, if on this page.  0 found, -ENOENT not here
 * (next says whether and where to go on), -EINVAL bad XML. */
int r53_parse_zones(const char *xml, size_t len, const knot_dname_t *apex, char id[R53_ID_MAX],
                    r53_next_t *next);

/* ChangeInfo of ChangeResourceRecordSets/GetChange: id without "/change/",
 * status "PENDING" or "INSYNC".  0 or -EINVAL. */
int r53_parse_change(const char *xml, size_t len, char id[R53_ID_MAX], char status[16]);

/* GetHostedZone: the delegation set's name servers (wire, lowercased),
 * at most max.  Returns the count or -EINVAL. */
int r53_parse_nameservers(const char *xml, size_t len, knot_dname_storage_t *out, size_t max);

/* An error body, either form: code ("InvalidChangeBatch", "Throttling"...)
 * and the message(s), several joined with "; ".  0, or -EINVAL when the
 * body is neither form (code and msg then empty). */
int r53_parse_error(const char *xml, size_t len, char *code, size_t codelen, char *msg,
                    size_t msglen);

/* Append s to a growing buffer with XML escaping.  0 or -ENOMEM. */
typedef struct {
	char *data;
	size_t len, cap;
} r53_buf_t;
int r53_buf_add(r53_buf_t *b, const char *s, size_t len);
int r53_buf_add_escaped(r53_buf_t *b, const char *s, size_t len);
void r53_buf_free(r53_buf_t *b);
