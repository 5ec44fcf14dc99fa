#include "target/powerdns/pdnsjson.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <libknot/descriptor.h>
#include <libzscanner/scanner.h>

#include "dns/name.h"
#include "dns/rdata.h"
#include "obs/log.h"

/* Longest content we read: a 65,535-byte TXT with every byte as \DDD. */
#define CONTENT_MAX (4 * DNS_RDATA_MAX + 1024)

/* --- record content ------------------------------------------------------- */

bool pdns_type_has_text(uint16_t type)
{
	/* Found by asking PowerDNS 4.7 to read RFC 3597 "\# 1 00" for every type
	 * libknot knows: these refuse it (their own parser runs), the others
	 * (NULL, RT, SIG and anything unnamed) take it. */
	switch (type) {
	case KNOT_RRTYPE_A:
	case KNOT_RRTYPE_NS:
	case KNOT_RRTYPE_CNAME:
	case KNOT_RRTYPE_SOA:
	case KNOT_RRTYPE_PTR:
	case KNOT_RRTYPE_HINFO:
	case KNOT_RRTYPE_MINFO:
	case KNOT_RRTYPE_MX:
	case KNOT_RRTYPE_TXT:
	case KNOT_RRTYPE_RP:
	case KNOT_RRTYPE_AFSDB:
	case KNOT_RRTYPE_KEY:
	case KNOT_RRTYPE_AAAA:
	case KNOT_RRTYPE_LOC:
	case KNOT_RRTYPE_SRV:
	case KNOT_RRTYPE_NAPTR:
	case KNOT_RRTYPE_KX:
	case KNOT_RRTYPE_CERT:
	case KNOT_RRTYPE_DNAME:
	case KNOT_RRTYPE_APL:
	case KNOT_RRTYPE_DS:
	case KNOT_RRTYPE_SSHFP:
	case KNOT_RRTYPE_IPSECKEY:
	case KNOT_RRTYPE_RRSIG:
	case KNOT_RRTYPE_NSEC:
	case KNOT_RRTYPE_DNSKEY:
	case KNOT_RRTYPE_DHCID:
	case KNOT_RRTYPE_NSEC3:
	case KNOT_RRTYPE_NSEC3PARAM:
	case KNOT_RRTYPE_TLSA:
	case KNOT_RRTYPE_SMIMEA:
	case KNOT_RRTYPE_CDS:
	case KNOT_RRTYPE_CDNSKEY:
	case KNOT_RRTYPE_OPENPGPKEY:
	case KNOT_RRTYPE_CSYNC:
	case KNOT_RRTYPE_ZONEMD:
	case KNOT_RRTYPE_SVCB:
	case KNOT_RRTYPE_HTTPS:
	case KNOT_RRTYPE_SPF:
	case KNOT_RRTYPE_NID:
	case KNOT_RRTYPE_L32:
	case KNOT_RRTYPE_L64:
	case KNOT_RRTYPE_LP:
	case KNOT_RRTYPE_EUI48:
	case KNOT_RRTYPE_EUI64:
	case KNOT_RRTYPE_URI:
	case KNOT_RRTYPE_CAA:
		return true;
	default:
		return false;
	}
}

/* The type as PowerDNS reads it: its mnemonic when PowerDNS knows the type
 * (it may not know libknot's name for the others, e.g. NULL), else TYPEn. */
static const char *type_name(uint16_t type, char *buf, size_t size)
{
	if (pdns_type_has_text(type)) {
		return dns_type_str(type, buf, size);
	}
	snprintf(buf, size, "TYPE%u", type);
	return buf;
}

/* An IPSECKEY without a gateway (type 0): PowerDNS writes no field where
 * RFC 4025 (and zscanner) want ".": put it back.  NULL when not needed. */
static char *ipseckey_gateway(const char *content)
{
	unsigned prec, gwtype, alg;
	int n = 0;
	if (sscanf(content, "%u %u %u %n", &prec, &gwtype, &alg, &n) != 3 || gwtype != 0 ||
	    n == 0 || content[n] == '.') {
		return NULL;
	}
	size_t len = strlen(content) + 3;
	char *fixed = malloc(len);
	if (fixed != NULL) {
		snprintf(fixed, len, "%.*s. %s", n, content, content + n);
	}
	return fixed;
}

static int parse_line(zs_scanner_t *sc, uint16_t type, const char *content, uint8_t *out,
                      size_t size)
{
	if (strlen(content) > CONTENT_MAX) {
		return -EINVAL;
	}
	int ret = dns_rdata_from_text(sc, type, content, out, size);
	return ret < 0 && ret != -ENOMEM ? -EINVAL : ret;
}

int pdns_content_to_rdata(zs_scanner_t *sc, uint16_t type, const char *content, uint8_t *out,
                          size_t size)
{
	char *fixed = type == KNOT_RRTYPE_IPSECKEY ? ipseckey_gateway(content) : NULL;
	int ret = parse_line(sc, type, fixed != NULL ? fixed : content, out, size);
	free(fixed);
	return ret;
}

static int grow(char **buf, size_t *size, size_t need)
{
	if (*size >= need) {
		return 0;
	}
	char *b = realloc(*buf, need);
	if (b == NULL) {
		return -ENOMEM;
	}
	*buf = b;
	*size = need;
	return 0;
}

/* RFC 3597: \# LENGTH HEX. */
static int generic_text(const knot_rdata_t *rd, char **buf, size_t *size)
{
	if (grow(buf, size, (size_t)rd->len * 2 + 16) != 0) {
		return -ENOMEM;
	}
	int o = snprintf(*buf, *size, "\\# %u", rd->len);
	if (rd->len > 0) {
		(*buf)[o++] = ' ';
	}
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < rd->len; i++) {
		(*buf)[o++] = hex[rd->data[i] >> 4];
		(*buf)[o++] = hex[rd->data[i] & 15];
	}
	(*buf)[o] = '\0';
	return o;
}

/* A LOC size or precision (RFC 1876 mantissa and power of ten, in cm) in
 * meters, as PowerDNS computes it. */
static double loc_size(uint8_t v)
{
	double m = 0.01 * ((v >> 4) & 0xf);
	for (int count = v & 0xf; count > 0; count--) {
		m *= 10;
	}
	return m;
}

static uint32_t u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* PowerDNS takes a content only in the very text it would write itself
 * ("Not in expected format"), and writes LOC its own way: the same
 * arithmetic as its LOCRecordContent, so that the texts agree. */
static int loc_text(const knot_rdata_t *rd, char **buf, size_t *size)
{
	if (rd->len != 16 || rd->data[0] != 0 || grow(buf, size, 160) != 0) {
		return rd->len != 16 || rd->data[0] != 0 ? -EINVAL : -ENOMEM;
	}
	const uint8_t *d = rd->data;
	double lat = ((int32_t)(u32(d + 4) - ((uint32_t)1 << 31))) / 3600000.0;
	double lon = ((int32_t)(u32(d + 8) - ((uint32_t)1 << 31))) / 3600000.0;
	double alt = ((int32_t)u32(d + 12)) / 100.0 - 100000;
	double remlat = 60.0 * (lat - (int)lat);
	double remlon = 60.0 * (lon - (int)lon);
	return snprintf(*buf, *size, "%d %d %2.03f %c %d %d %2.03f %c %.2fm %.2fm %.2fm %.2fm",
	                abs((int)lat), abs((int)((lat - (int)lat) * 60)),
	                fabs((remlat - (int)remlat) * 60.0), lat > 0 ? 'N' : 'S', abs((int)lon),
	                abs((int)((lon - (int)lon) * 60)), fabs((remlon - (int)remlon) * 60.0),
	                lon > 0 ? 'E' : 'W', alt, loc_size(d[1]), loc_size(d[2]),
	                loc_size(d[3]));
}

static int content_text(const knot_rrset_t *rrset, size_t pos, char **buf, size_t *size)
{
	const knot_rdata_t *rd = knot_rdataset_at(&rrset->rrs, (uint16_t)pos);
	if (!pdns_type_has_text(rrset->type)) {
		return generic_text(rd, buf, size);
	}
	if (rrset->type == KNOT_RRTYPE_LOC) {
		return loc_text(rd, buf, size);
	}
	int n = dns_rr_text(rrset, pos, 0, buf, size);
	if (n > 0 && rrset->type == KNOT_RRTYPE_IPSECKEY && rd->len >= 3 && rd->data[1] == 0) {
		/* No gateway: PowerDNS writes nothing where RFC 4025 has ".". */
		char *dot = strstr(*buf, " . ");
		if (dot != NULL) {
			memmove(dot, dot + 2, strlen(dot + 2) + 1);
			n -= 2;
		}
	}
	return n;
}

int pdns_content_from_rr(const knot_rrset_t *rrset, size_t pos, zs_scanner_t *sc, char **buf,
                         size_t *size)
{
	const knot_rdata_t *rd = knot_rdataset_at(&rrset->rrs, (uint16_t)pos);
	int n = content_text(rrset, pos, buf, size);
	if (n < 0 || sc == NULL) {
		return n;
	}
	uint8_t *back = malloc(DNS_RDATA_MAX);
	if (back == NULL) {
		return -ENOMEM;
	}
	int m = pdns_content_to_rdata(sc, rrset->type, *buf, back, DNS_RDATA_MAX);
	bool same = m == rd->len && memcmp(back, rd->data, rd->len) == 0;
	free(back);
	return same ? n : -EINVAL;
}

/* --- names ---------------------------------------------------------------- */

bool pdns_name_ok(const knot_dname_t *name)
{
	for (const uint8_t *l = name; *l != 0; l += *l + 1) {
		if (l == name && l[0] == 1 && l[1] == '*') {
			continue;
		}
		for (uint8_t i = 1; i <= *l; i++) {
			uint8_t c = l[i];
			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			      (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '/')) {
				return false;
			}
		}
	}
	return true;
}

int pdns_zone_id(const knot_dname_t *name, char *out, size_t size)
{
	char text[DNS_NAME_STR_MAX];
	if (dns_name_to_str(name, text, sizeof(text)) == NULL) {
		return -EINVAL;
	}
	if (strcmp(text, ".") == 0) {
		/* A lone dot does not survive every HTTP path handling. */
		if (size < 4) {
			return -ENOSPC;
		}
		memcpy(out, "=2E", 4);
		return 3;
	}
	size_t o = 0;
	for (const char *p = text; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;
		bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		             (c >= '0' && c <= '9') || c == '.' || c == '-';
		if (o + (plain ? 1 : 3) + 1 > size) {
			return -ENOSPC;
		}
		if (plain) {
			out[o++] = (char)c;
		} else {
			o += (size_t)snprintf(out + o, size - o, "=%02X", c);
		}
	}
	out[o] = '\0';
	return (int)o;
}

/* --- the zone ------------------------------------------------------------- */

void pdns_zone_info_free(pdns_zone_info_t *info)
{
	for (size_t i = 0; i < info->nsets; i++) {
		free(info->sets[i].key);
	}
	free(info->sets);
	target_foreign_free(&info->left);
	memset(info, 0, sizeof(*info));
}

bool pdns_zone_info_has(const pdns_zone_info_t *info, const zone_rrset_t *set)
{
	for (size_t i = 0; i < info->nsets; i++) {
		const pdns_set_id_t *s = &info->sets[i];
		if (s->type == set->type && s->keylen == set->keylen &&
		    memcmp(s->key, set->key, s->keylen) == 0) {
			return true;
		}
	}
	return false;
}

static int remember(pdns_zone_info_t *info, const knot_dname_t *owner, uint16_t type)
{
	uint8_t key[DNS_KEY_MAX];
	size_t keylen = dns_name_key(owner, key);
	pdns_set_id_t *n = realloc(info->sets, (info->nsets + 1) * sizeof(*n));
	if (n == NULL) {
		return -ENOMEM;
	}
	info->sets = n;
	n[info->nsets].key = malloc(keylen);
	if (n[info->nsets].key == NULL) {
		return -ENOMEM;
	}
	memcpy(n[info->nsets].key, key, keylen);
	n[info->nsets].keylen = keylen;
	n[info->nsets].type = type;
	info->nsets++;
	return 0;
}

static const char *str_of(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static void copy_str(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src != NULL ? src : "");
}

/* An RRset zonesync leaves alone: counted and named. */
static int left_alone(pdns_zone_info_t *info, const char *name, const char *type, const char *why)
{
	info->foreign++;
	return target_foreign_add(&info->left, name, type, why);
}

/* One RRset: its records into live, or counted as foreign.  0, -EINVAL
 * (malformed JSON, err set) or -ENOMEM. */
static int parse_rrset(const json_t *s, size_t idx, zone_t *live, pdns_zone_info_t *info,
                       zs_scanner_t *sc, uint8_t *rd, uint8_t *canon, char *err,
                       size_t errlen)
{
	const char *name = str_of(s, "name");
	const char *tname = str_of(s, "type");
	const json_t *ttl_v = json_object_get(s, "ttl");
	const json_t *records = json_object_get(s, "records");
	if (!json_is_object(s) || name == NULL || tname == NULL) {
		snprintf(err, errlen, "rrsets[%zu]: not an object with a name and a type", idx);
		return -EINVAL;
	}
	knot_dname_storage_t owner;
	if (dns_name_from_str(name, owner) < 0 || name[0] == '\0') {
		snprintf(err, errlen, "rrset '%.300s' %.20s: not a domain name", name, tname);
		return -EINVAL;
	}
	if (records != NULL && !json_is_array(records)) {
		snprintf(err, errlen, "rrset '%.300s' %.20s: records is not a list", name, tname);
		return -EINVAL;
	}
	size_t n = json_array_size(records);
	if (n == 0) {
		return 0; /* comments only: no data */
	}
	json_int_t ttl = json_is_integer(ttl_v) ? json_integer_value(ttl_v) : -1;
	if (ttl < 0 || ttl > INT32_MAX) {
		snprintf(err, errlen, "rrset '%.300s' %.20s: no TTL from 0 to 2147483647", name,
		         tname);
		return -EINVAL;
	}
	uint16_t type;
	if (knot_rrtype_from_string(tname, &type) != 0) {
		/* PowerDNS's own types (ALIAS, LUA) and those libknot lacks. */
		log_debug("powerdns: rrset %s %s: a type zonesync does not know, left alone",
		          name, tname);
		return left_alone(info, name, tname, "a type zonesync does not know");
	}
	if (!dns_name_in_zone(owner, live->apex)) {
		log_warning("powerdns: rrset %s %s lies outside zone, left alone", name, tname);
		return left_alone(info, name, tname, "outside the zone");
	}
	for (size_t i = 0; i < n; i++) {
		const json_t *r = json_array_get(records, i);
		const json_t *dis = json_object_get(r, "disabled");
		if (str_of(r, "content") == NULL || (dis != NULL && !json_is_boolean(dis))) {
			snprintf(err, errlen,
			         "rrset '%.300s' %.20s: records[%zu] without a content text", name,
			         tname, i);
			return -EINVAL;
		}
		if (json_is_true(dis)) {
			/* Someone took it out of service on purpose: the whole set
			 * is theirs until they put it back. */
			info->disabled++;
			int ret = left_alone(info, name, tname, "disabled");
			return ret != 0 ? ret : remember(info, owner, type);
		}
	}
	size_t mark = live->count;
	for (size_t i = 0; i < n; i++) {
		const char *content = str_of(json_array_get(records, i), "content");
		int len = pdns_content_to_rdata(sc, type, content, rd, DNS_RDATA_MAX);
		if (len == -ENOMEM) {
			return len;
		}
		if (len < 0 || dns_rdata_canonical(type, rd, (uint16_t)len, canon) < 0) {
			log_warning("powerdns: rrset %s %s has a content zonesync cannot read, left "
			            "alone: '%.200s'",
			            name, tname, content);
			live->count = mark; /* its records dropped (arena space stays) */
			int ret = left_alone(info, name, tname, "a content zonesync cannot read");
			return ret != 0 ? ret : remember(info, owner, type);
		}
		if (zone_add(live, owner, type, (uint32_t)ttl, rd, (uint16_t)len) != 0) {
			return -ENOMEM;
		}
	}
	return 0;
}

int pdns_parse_zone(const char *json, size_t len, zone_t *live, pdns_zone_info_t *info,
                    char *err, size_t errlen)
{
	memset(info, 0, sizeof(*info));
	json_error_t jerr;
	json_t *root = json_loadb(json, len, 0, &jerr);
	if (root == NULL || !json_is_object(root)) {
		if (root == NULL) {
			snprintf(err, errlen, "not JSON (line %d, column %d: %s)", jerr.line,
			         jerr.column, jerr.text);
		} else {
			snprintf(err, errlen, "not a JSON object");
		}
		json_decref(root);
		return -EINVAL;
	}
	copy_str(info->kind, sizeof(info->kind), str_of(root, "kind"));
	copy_str(info->soa_edit_api, sizeof(info->soa_edit_api), str_of(root, "soa_edit_api"));
	const json_t *rrsets = json_object_get(root, "rrsets");
	if (!json_is_array(rrsets)) {
		snprintf(err, errlen, "no list of rrsets");
		json_decref(root);
		return -EINVAL;
	}
	zs_scanner_t *sc = dns_scanner_new();
	uint8_t *rd = malloc(2 * DNS_RDATA_MAX);
	int ret = sc != NULL && rd != NULL ? 0 : -ENOMEM;
	size_t n = json_array_size(rrsets);
	if (ret == 0) {
		ret = zone_reserve(live, live->count + n);
	}
	for (size_t i = 0; i < n && ret == 0; i++) {
		ret = parse_rrset(json_array_get(rrsets, i), i, live, info, sc, rd,
		                  rd + DNS_RDATA_MAX, err, errlen);
	}
	if (ret == -ENOMEM) {
		snprintf(err, errlen, "out of memory");
	}
	free(rd);
	dns_scanner_free(sc);
	json_decref(root);
	return ret;
}

int pdns_parse_serial(const char *json, size_t len, uint32_t *serial)
{
	json_t *root = json != NULL ? json_loadb(json, len, 0, NULL) : NULL;
	json_t *v = json_is_object(root) ? json_object_get(root, "serial") : NULL;
	int ret = -EINVAL;
	if (json_is_integer(v) && json_integer_value(v) >= 0 &&
	    json_integer_value(v) <= (json_int_t)UINT32_MAX) {
		*serial = (uint32_t)json_integer_value(v);
		ret = 0;
	}
	json_decref(root);
	return ret;
}

int pdns_parse_error(const char *body, size_t len, char *msg, size_t msglen)
{
	json_t *root = body != NULL ? json_loadb(body, len, 0, NULL) : NULL;
	const char *e = str_of(root, "error");
	if (e != NULL) {
		snprintf(msg, msglen, "%s", e);
		json_decref(root);
		return 0;
	}
	json_decref(root);
	/* PowerDNS's webserver answers some errors in plain text ("Not Found",
	 * "Unauthorized", "Bad Request"): show the start, printable only. */
	size_t o = 0;
	for (size_t i = 0; body != NULL && i < len && i < 300 && o + 1 < msglen; i++) {
		unsigned char c = (unsigned char)body[i];
		msg[o++] = c >= 0x20 && c < 0x7f ? (char)c : ' ';
	}
	while (o > 0 && msg[o - 1] == ' ') {
		o--;
	}
	if (o == 0) {
		snprintf(msg, msglen, "(empty body)");
	} else {
		msg[o] = '\0';
	}
	return -EINVAL;
}

/* --- requests --------------------------------------------------------------- */

static int set_str(json_t *obj, const char *key, const char *value)
{
	json_t *s = json_string(value);
	return s != NULL && json_object_set_new(obj, key, s) == 0 ? 0 : -EINVAL;
}

static int rrset_json(const zone_change_t *c, zs_scanner_t *sc, knot_rrset_t *rr,
                      uint8_t *owner, uint8_t **buf, size_t *bufsize, char **text,
                      size_t *tsize, json_t **out, char *err, size_t errlen)
{
	bool del = c->kind == ZONE_CHANGE_DELETE;
	const zone_rrset_t *s = del ? &c->old : &c->new;
	char name[DNS_NAME_STR_MAX], type[32];
	dns_key_to_str(s->key, s->keylen, name, sizeof(name));
	type_name(s->type, type, sizeof(type));
	json_t *o = json_object();
	if (o == NULL) {
		return -ENOMEM;
	}
	int ret = set_str(o, "name", name) | set_str(o, "type", type) |
	          set_str(o, "changetype", del ? "DELETE" : "REPLACE");
	if (ret == 0 && !del) {
		json_t *records = json_array();
		ret = records != NULL && json_object_set_new(o, "ttl", json_integer(s->ttl)) == 0 &&
		              json_object_set_new(o, "records", records) == 0
		              ? zone_rrset_to_knot(s, rr, owner, buf, bufsize)
		              : -ENOMEM;
		for (size_t k = 0; k < s->count && ret == 0; k++) {
			int n = pdns_content_from_rr(rr, k, sc, text, tsize);
			json_t *r = json_object();
			if (n < 0 || r == NULL || set_str(r, "content", *text) != 0 ||
			    json_object_set_new(r, "disabled", json_false()) != 0 ||
			    json_array_append_new(records, r) != 0) {
				json_decref(r);
				ret = n == -ENOMEM || r == NULL ? -ENOMEM : -EINVAL;
			}
		}
	}
	if (ret != 0) {
		json_decref(o);
		if (ret == -EINVAL) {
			snprintf(err, errlen,
			         "%s %s: a record zonesync cannot write so that it reads back the "
			         "same",
			         name, type);
		}
		return ret < 0 ? ret : -EINVAL;
	}
	*out = o;
	return 0;
}

int pdns_patch_body(const zone_change_t *const *order, size_t from, size_t to,
                    zs_scanner_t *sc, char **body, size_t *len, char *err, size_t errlen)
{
	json_t *root = json_object();
	json_t *arr = json_array();
	int ret = root != NULL && arr != NULL && json_object_set(root, "rrsets", arr) == 0
	                  ? 0
	                  : -ENOMEM;
	knot_rrset_t rr;
	uint8_t owner[KNOT_DNAME_MAXLEN];
	uint8_t *buf = NULL;
	size_t bufsize = 0, tsize = 0;
	char *text = NULL;
	for (size_t i = from; i < to && ret == 0; i++) {
		json_t *o;
		ret = rrset_json(order[i], sc, &rr, owner, &buf, &bufsize, &text, &tsize, &o, err,
		                 errlen);
		if (ret == 0 && json_array_append_new(arr, o) != 0) {
			ret = -ENOMEM;
		}
	}
	free(buf);
	free(text);
	if (ret == 0) {
		*body = json_dumps(root, JSON_COMPACT);
		ret = *body != NULL ? 0 : -ENOMEM;
		*len = *body != NULL ? strlen(*body) : 0;
	}
	json_decref(arr);
	json_decref(root);
	if (ret == -ENOMEM) {
		snprintf(err, errlen, "out of memory");
	}
	return ret;
}

char *pdns_create_body(const knot_dname_t *name)
{
	char text[DNS_NAME_STR_MAX];
	if (dns_name_to_str(name, text, sizeof(text)) == NULL) {
		return NULL;
	}
	json_t *root = json_pack("{s:s, s:s, s:[], s:s}", "name", text, "kind", "Native",
	                         "nameservers", "soa_edit_api", "");
	char *body = root != NULL ? json_dumps(root, JSON_COMPACT) : NULL;
	json_decref(root);
	return body;
}
