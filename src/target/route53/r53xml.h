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

#include "zone/zone.h"

#define R53_ID_MAX 128

/* Where the next ListResourceRecordSets page starts. */
typedef struct {
	bool truncated;
	char name[1100];
	char type[16];
	char identifier[R53_ID_MAX * 2];
} r53_next_t;

/*
 * One ListResourceRecordSets page: its record sets are added to live
 * (values parsed to wire rdata).  Alias sets and sets with a SetIdentifier
 * are counted in *foreign and left out.  0, or -EINVAL with err naming the
 * set and the value.
 */
int r53_parse_rrsets(const char *xml, size_t len, zone_t *live, size_t *foreign, r53_next_t *next,
                     char *err, size_t errlen);

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
