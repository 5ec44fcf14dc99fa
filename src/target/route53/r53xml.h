/*
 * Route 53's XML: the answers we read (record set pages, hosted zone
 * listings and descriptions, change info, both error forms) and the change batches we send.  Parsing
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

/* Hosted zones of one account, as ListHostedZones lists them. */
typedef struct {
	uint8_t *name; /* wire, lowercase */
	char id[R53_ID_MAX]; /* without "/hostedzone/" */
	bool private_zone;
} r53_zone_entry_t;

typedef struct {
	r53_zone_entry_t *e;
	size_t count, cap;
} r53_zones_t;

/* Where the next ListHostedZones page starts. */
typedef struct {
	size_t zones; /* HostedZone elements on the page just read */
	bool truncated;
	char marker[512]; /* NextMarker (an opaque token for some emulators) */
} r53_zone_next_t;

/*
 * One ListHostedZones page: its zones appended to out, at most max in all
 * (a zone whose name or id cannot be read is left out: it cannot be one of
 * ours).  0; -EFBIG past max; -EINVAL with err saying what is wrong (not
 * a listing, truncated without NextMarker); -ENOMEM.
 */
int r53_parse_zone_list(const char *xml, size_t len, r53_zones_t *out, size_t max,
                        r53_zone_next_t *next, char *err, size_t errlen);

/* Add one entry (unsorted until r53_zones_sort).  0 or -ENOMEM/-EINVAL. */
int r53_zones_add(r53_zones_t *z, const knot_dname_t *name, const char *id, bool private_zone);
/* Sort by name, then id: r53_zones_find needs it. */
void r53_zones_sort(r53_zones_t *z);
/* The entries of a sorted listing named name (any case): how many, from
 * index *first.  O(log n). */
size_t r53_zones_find(const r53_zones_t *z, const knot_dname_t *name, size_t *first);
/* Remove the entry with that id, if any (order kept). */
void r53_zones_drop(r53_zones_t *z, const char *id);
void r53_zones_free(r53_zones_t *z);

#define R53_VPCS_MAX 16
#define R53_NS_MAX 16
#define R53_VPC_ID_MAX 64

/* A hosted zone as GetHostedZone and CreateHostedZone describe it. */
typedef struct {
	char id[R53_ID_MAX]; /* without "/hostedzone/" */
	bool private_zone;
	size_t vpcs; /* VPC elements; the first R53_VPCS_MAX ids in vpc */
	char vpc[R53_VPCS_MAX][R53_VPC_ID_MAX];
	size_t ns; /* delegation set (public zones), wire, lowercased */
	knot_dname_storage_t nameserver[R53_NS_MAX];
} r53_zone_info_t;

/* GetHostedZoneResponse or CreateHostedZoneResponse.  0, or -EINVAL when
 * it is neither or has no HostedZone Id. */
int r53_parse_zone_info(const char *xml, size_t len, r53_zone_info_t *out);

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

/* What a failed request's answer calls for: status 0 (no answer) or the
 * HTTP status, and the error code of its body ("" when none).  Route 53
 * throttles with 400 and code Throttling as well as with 429, so the code
 * counts as much as the status. */
typedef enum {
	R53_GIVE_UP,   /* the request is wrong as it stands: sending it again fails again */
	R53_RETRY,     /* a network or server fault: again after a backoff */
	R53_THROTTLED, /* too many requests: again after a backoff, counted apart */
} r53_retry_t;
r53_retry_t r53_retry_class(long status, const char *code);

/* Append s to a growing buffer with XML escaping.  0 or -ENOMEM. */
typedef struct {
	char *data;
	size_t len, cap;
} r53_buf_t;
int r53_buf_add(r53_buf_t *b, const char *s, size_t len);
int r53_buf_add_escaped(r53_buf_t *b, const char *s, size_t len);
void r53_buf_free(r53_buf_t *b);
