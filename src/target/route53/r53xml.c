#include "target/route53/r53xml.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libknot/descriptor.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libzscanner/scanner.h>

#include "dns/name.h"
#include "dns/rdata.h"
#include "obs/log.h"
#include "target/route53/r53text.h"

/* libxml2 prints some errors (bad encodings) whatever the parse flags:
 * an answer we cannot read is reported by our caller, once, in our log. */
static void quiet(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

static xmlDocPtr parse(const char *xml, size_t len)
{
	if (xml == NULL || len == 0 || len > INT32_MAX) {
		return NULL;
	}
	xmlSetGenericErrorFunc(NULL, quiet); /* per thread in libxml2 */
	return xmlReadMemory(xml, (int)len, "route53.xml", NULL,
	                     XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOERROR |
	                             XML_PARSE_NOWARNING);
}

static bool is(const xmlNode *n, const char *name)
{
	return n != NULL && n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

static xmlNode *child(const xmlNode *n, const char *name)
{
	for (xmlNode *c = n != NULL ? n->children : NULL; c != NULL; c = c->next) {
		if (is(c, name)) {
			return c;
		}
	}
	return NULL;
}

/* The text of an element (its direct text children), "" when absent. */
static const char *text(const xmlNode *n)
{
	if (n == NULL) {
		return "";
	}
	for (xmlNode *c = n->children; c != NULL; c = c->next) {
		if (c->type == XML_TEXT_NODE && c->content != NULL) {
			return (const char *)c->content;
		}
	}
	return "";
}

static void copy(char *dst, size_t size, const char *s)
{
	snprintf(dst, size, "%s", s);
}

static const char *strip(const char *id, const char *prefix)
{
	size_t n = strlen(prefix);
	return strncmp(id, prefix, n) == 0 ? id + n : id;
}

static int raw_add(r53_raw_t *raw, const knot_dname_t *owner, uint16_t type, const uint8_t *rd,
                   size_t rdlen, const char *text)
{
	if (raw->count == raw->cap) {
		size_t cap = raw->cap ? raw->cap * 2 : 256;
		r53_raw_entry_t *e = realloc(raw->e, cap * sizeof(*e));
		if (e == NULL) {
			return -ENOMEM;
		}
		raw->e = e;
		raw->cap = cap;
	}
	uint8_t k[DNS_KEY_MAX];
	size_t kl = dns_name_key(owner, k);
	r53_raw_entry_t *e = &raw->e[raw->count];
	e->keylen = kl + 2 + rdlen;
	e->key = malloc(e->keylen);
	e->text = strdup(text);
	if (e->key == NULL || e->text == NULL) {
		free(e->key);
		free(e->text);
		return -ENOMEM;
	}
	memcpy(e->key, k, kl);
	e->key[kl] = (uint8_t)(type >> 8);
	e->key[kl + 1] = (uint8_t)type;
	memcpy(e->key + kl + 2, rd, rdlen);
	raw->count++;
	raw->sorted = false;
	return 0;
}

static int raw_cmp(const void *a, const void *b)
{
	const r53_raw_entry_t *x = a, *y = b;
	size_t n = x->keylen < y->keylen ? x->keylen : y->keylen;
	int c = memcmp(x->key, y->key, n);
	return c != 0 ? c : (x->keylen > y->keylen) - (x->keylen < y->keylen);
}

static void raw_truncate(r53_raw_t *raw, size_t count)
{
	while (raw->count > count) {
		raw->count--;
		free(raw->e[raw->count].key);
		free(raw->e[raw->count].text);
	}
}

const char *r53_raw_find(r53_raw_t *raw, const zone_rrset_t *s, size_t i)
{
	if (raw == NULL || raw->count == 0) {
		return NULL;
	}
	if (!raw->sorted) {
		qsort(raw->e, raw->count, sizeof(*raw->e), raw_cmp);
		raw->sorted = true;
	}
	const knot_rdata_t *rd = s->rr[i].rd;
	size_t kl = s->keylen + 2 + rd->len;
	uint8_t *k = malloc(kl);
	if (k == NULL) {
		return NULL;
	}
	memcpy(k, s->key, s->keylen);
	k[s->keylen] = (uint8_t)(s->type >> 8);
	k[s->keylen + 1] = (uint8_t)s->type;
	memcpy(k + s->keylen + 2, rd->data, rd->len);
	r53_raw_entry_t want = { .key = k, .keylen = kl };
	r53_raw_entry_t *e = bsearch(&want, raw->e, raw->count, sizeof(*raw->e), raw_cmp);
	free(k);
	return e != NULL ? e->text : NULL;
}

void r53_raw_free(r53_raw_t *raw)
{
	raw_truncate(raw, 0);
	free(raw->e);
	memset(raw, 0, sizeof(*raw));
}

/* A set left alone, named as zonesync names owners ("*.example.com.", not
 * Route 53's "\\052.example.com."), so that the engine matches it with the
 * primary's (a conflict) and reports read the same; as listed when that
 * name does not parse. */
static int foreign_add(target_foreign_t *f, const char *name, const char *type, const char *why)
{
	knot_dname_storage_t wire;
	char text[DNS_NAME_STR_MAX];
	if (r53_name_to_wire(name, wire) > 0 && dns_name_to_str(wire, text, sizeof(text)) != NULL) {
		name = text;
	}
	return target_foreign_add(f, name, type, why);
}

int r53_parse_rrsets(const char *xml, size_t len, zone_t *live, r53_raw_t *raw,
                     target_foreign_t *foreign,
                     r53_next_t *next, char *err, size_t errlen)
{
	memset(next, 0, sizeof(*next));
	xmlDocPtr doc = parse(xml, len);
	xmlNode *root = doc != NULL ? xmlDocGetRootElement(doc) : NULL;
	if (!is(root, "ListResourceRecordSetsResponse")) {
		snprintf(err, errlen, "ListResourceRecordSets: not a record set listing");
		xmlFreeDoc(doc);
		return -EINVAL;
	}
	zs_scanner_t *sc = dns_scanner_new();
	uint8_t *rd = malloc(2 * DNS_RDATA_MAX);
	uint8_t *canon = rd != NULL ? rd + DNS_RDATA_MAX : NULL;
	int ret = sc != NULL && rd != NULL ? 0 : -ENOMEM;
	xmlNode *sets = child(root, "ResourceRecordSets");
	for (xmlNode *s = sets != NULL ? sets->children : NULL; s != NULL && ret == 0; s = s->next) {
		if (!is(s, "ResourceRecordSet")) {
			continue;
		}
		next->sets++;
		const char *name = text(child(s, "Name"));
		const char *tname = text(child(s, "Type"));
		if (child(s, "AliasTarget") != NULL || child(s, "SetIdentifier") != NULL) {
			ret = foreign_add(foreign, name, tname,
			                  child(s, "AliasTarget") != NULL ? "alias" : "routing policy");
			continue;
		}
		knot_dname_storage_t owner;
		uint16_t type;
		char *end;
		const char *ttl_text = text(child(s, "TTL"));
		unsigned long ttl = strtoul(ttl_text, &end, 10);
		if (r53_name_to_wire(name, owner) < 0) {
			snprintf(err, errlen, "record set '%s' %s: bad name", name, tname);
			ret = -EINVAL;
			break;
		}
		if (knot_rrtype_from_string(tname, &type) != 0) {
			snprintf(err, errlen, "record set '%s' %s: unknown type", name, tname);
			ret = -EINVAL;
			break;
		}
		if (*ttl_text == '\0' || *end != '\0' || ttl > INT32_MAX) {
			snprintf(err, errlen, "record set '%s' %s: bad TTL '%s'", name, tname,
			         ttl_text);
			ret = -EINVAL;
			break;
		}
		/* Parse the whole set first: one unreadable value makes the set
		 * one we cannot account for, left alone like an alias. */
		xmlNode *rrs = child(s, "ResourceRecords");
		size_t mark = live->count, raw_mark = raw != NULL ? raw->count : 0;
		bool bad = false;
		for (xmlNode *r = rrs != NULL ? rrs->children : NULL; r != NULL; r = r->next) {
			if (!is(r, "ResourceRecord")) {
				continue;
			}
			const char *value = text(child(r, "Value"));
			int n = r53_value_to_rdata(sc, type, value, rd, DNS_RDATA_MAX);
			if (n < 0 || dns_rdata_canonical(type, rd, (uint16_t)n, canon) < 0) {
				log_warning("route53: record set %s %s has a value zonesync cannot "
				            "read, left alone: '%.200s'",
				            name, tname, value);
				bad = true;
				break;
			}
			int canon_len = dns_rdata_canonical(type, rd, (uint16_t)n, canon);
			if (zone_add(live, owner, type, (uint32_t)ttl, rd, (uint16_t)n) != 0 ||
			    (raw != NULL && raw_add(raw, owner, type, canon, (size_t)canon_len,
			                            value) != 0)) {
				ret = -ENOMEM;
				break;
			}
		}
		if (bad) {
			live->count = mark; /* its records dropped (arena space stays) */
			if (raw != NULL) {
				raw_truncate(raw, raw_mark);
			}
			ret = foreign_add(foreign, name, tname, "a value zonesync cannot read");
		}
	}
	if (ret == 0 && strcmp(text(child(root, "IsTruncated")), "true") == 0) {
		next->truncated = true;
		copy(next->name, sizeof(next->name), text(child(root, "NextRecordName")));
		copy(next->type, sizeof(next->type), text(child(root, "NextRecordType")));
		copy(next->identifier, sizeof(next->identifier),
		     text(child(root, "NextRecordIdentifier")));
		if (next->name[0] == '\0') {
			snprintf(err, errlen, "ListResourceRecordSets: truncated without "
			                      "NextRecordName");
			ret = -EINVAL;
		}
	}
	free(rd);
	dns_scanner_free(sc);
	xmlFreeDoc(doc);
	return ret;
}

int r53_zones_add(r53_zones_t *z, const knot_dname_t *name, const char *id, bool private_zone)
{
	size_t n = knot_dname_size(name);
	if (n == 0 || strlen(id) >= R53_ID_MAX) {
		return -EINVAL;
	}
	if (z->count == z->cap) {
		size_t cap = z->cap ? z->cap * 2 : 64;
		r53_zone_entry_t *e = realloc(z->e, cap * sizeof(*e));
		if (e == NULL) {
			return -ENOMEM;
		}
		z->e = e;
		z->cap = cap;
	}
	r53_zone_entry_t *e = &z->e[z->count];
	e->name = malloc(n);
	if (e->name == NULL) {
		return -ENOMEM;
	}
	memcpy(e->name, name, n);
	knot_dname_to_lower(e->name);
	copy(e->id, sizeof(e->id), id);
	e->private_zone = private_zone;
	z->count++;
	return 0;
}

/* Wire names in any total order (equal names equal): length, then bytes. */
static int name_cmp(const uint8_t *a, const uint8_t *b)
{
	size_t x = knot_dname_size(a), y = knot_dname_size(b);
	if (x != y) {
		return x < y ? -1 : 1;
	}
	return memcmp(a, b, x);
}

static int entry_cmp(const void *a, const void *b)
{
	const r53_zone_entry_t *x = a, *y = b;
	int c = name_cmp(x->name, y->name);
	return c != 0 ? c : strcmp(x->id, y->id);
}

void r53_zones_sort(r53_zones_t *z)
{
	if (z->count > 1) {
		qsort(z->e, z->count, sizeof(*z->e), entry_cmp);
	}
}

size_t r53_zones_find(const r53_zones_t *z, const knot_dname_t *name, size_t *first)
{
	knot_dname_storage_t lower;
	size_t n = knot_dname_size(name);
	*first = 0;
	if (n == 0 || n > sizeof(lower)) {
		return 0;
	}
	memcpy(lower, name, n);
	knot_dname_to_lower(lower);
	/* The first entry not below the name, then the run of equal ones. */
	size_t lo = 0, hi = z->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (name_cmp(z->e[mid].name, lower) < 0) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	size_t end = lo;
	while (end < z->count && name_cmp(z->e[end].name, lower) == 0) {
		end++;
	}
	*first = lo;
	return end - lo;
}

void r53_zones_drop(r53_zones_t *z, const char *id)
{
	for (size_t i = 0; i < z->count; i++) {
		if (strcmp(z->e[i].id, id) == 0) {
			free(z->e[i].name);
			memmove(&z->e[i], &z->e[i + 1], (z->count - i - 1) * sizeof(*z->e));
			z->count--;
			return;
		}
	}
}

void r53_zones_free(r53_zones_t *z)
{
	for (size_t i = 0; i < z->count; i++) {
		free(z->e[i].name);
	}
	free(z->e);
	memset(z, 0, sizeof(*z));
}

int r53_parse_zone_list(const char *xml, size_t len, r53_zones_t *out, size_t max,
                        r53_zone_next_t *next, char *err, size_t errlen)
{
	memset(next, 0, sizeof(*next));
	xmlDocPtr doc = parse(xml, len);
	xmlNode *root = doc != NULL ? xmlDocGetRootElement(doc) : NULL;
	if (!is(root, "ListHostedZonesResponse")) {
		snprintf(err, errlen, "ListHostedZones: not a hosted zone listing");
		xmlFreeDoc(doc);
		return -EINVAL;
	}
	int ret = 0;
	xmlNode *zones = child(root, "HostedZones");
	for (xmlNode *z = zones != NULL ? zones->children : NULL; z != NULL && ret == 0;
	     z = z->next) {
		if (!is(z, "HostedZone")) {
			continue;
		}
		next->zones++;
		knot_dname_storage_t name;
		const char *id = strip(text(child(z, "Id")), "/hostedzone/");
		if (r53_name_to_wire(text(child(z, "Name")), name) < 0 || *id == '\0' ||
		    strlen(id) >= R53_ID_MAX) {
			continue;
		}
		if (out->count >= max) {
			snprintf(err, errlen, "ListHostedZones: more than %zu hosted zones", max);
			ret = -EFBIG;
			break;
		}
		bool priv = strcmp(text(child(child(z, "Config"), "PrivateZone")), "true") == 0;
		ret = r53_zones_add(out, name, id, priv);
	}
	if (ret == 0 && strcmp(text(child(root, "IsTruncated")), "true") == 0) {
		next->truncated = true;
		const char *m = text(child(root, "NextMarker"));
		if (*m == '\0' || strlen(m) >= sizeof(next->marker)) {
			snprintf(err, errlen, "ListHostedZones: truncated without a usable NextMarker");
			ret = -EINVAL;
		} else {
			copy(next->marker, sizeof(next->marker), m);
		}
	}
	xmlFreeDoc(doc);
	return ret;
}

int r53_parse_zone_info(const char *xml, size_t len, r53_zone_info_t *out)
{
	memset(out, 0, sizeof(*out));
	xmlDocPtr doc = parse(xml, len);
	xmlNode *root = doc != NULL ? xmlDocGetRootElement(doc) : NULL;
	xmlNode *hz = child(root, "HostedZone");
	const char *id = strip(text(child(hz, "Id")), "/hostedzone/");
	if ((!is(root, "GetHostedZoneResponse") && !is(root, "CreateHostedZoneResponse")) ||
	    *id == '\0' || strlen(id) >= R53_ID_MAX) {
		xmlFreeDoc(doc);
		return -EINVAL;
	}
	copy(out->id, sizeof(out->id), id);
	out->private_zone = strcmp(text(child(child(hz, "Config"), "PrivateZone")), "true") == 0;
	xmlNode *vpcs = child(root, "VPCs");
	for (xmlNode *v = vpcs != NULL ? vpcs->children : NULL; v != NULL; v = v->next) {
		if (is(v, "VPC")) {
			if (out->vpcs < R53_VPCS_MAX) {
				copy(out->vpc[out->vpcs], R53_VPC_ID_MAX, text(child(v, "VPCId")));
			}
			out->vpcs++;
		}
	}
	/* CreateHostedZone of a private zone answers with one VPC, alone. */
	xmlNode *one = child(root, "VPC");
	if (one != NULL && out->vpcs == 0) {
		copy(out->vpc[0], R53_VPC_ID_MAX, text(child(one, "VPCId")));
		out->vpcs = 1;
	}
	xmlNode *ns = child(child(root, "DelegationSet"), "NameServers");
	for (xmlNode *c = ns != NULL ? ns->children : NULL; c != NULL && out->ns < R53_NS_MAX;
	     c = c->next) {
		if (is(c, "NameServer") && r53_name_to_wire(text(c), out->nameserver[out->ns]) > 0) {
			out->ns++;
		}
	}
	xmlFreeDoc(doc);
	return 0;
}

int r53_parse_change(const char *xml, size_t len, char id[R53_ID_MAX], char status[16])
{
	xmlDocPtr doc = parse(xml, len);
	xmlNode *root = doc != NULL ? xmlDocGetRootElement(doc) : NULL;
	xmlNode *info = child(root, "ChangeInfo");
	int ret = -EINVAL;
	if (info != NULL && *text(child(info, "Id")) != '\0') {
		copy(id, R53_ID_MAX, strip(text(child(info, "Id")), "/change/"));
		copy(status, 16, text(child(info, "Status")));
		ret = 0;
	}
	xmlFreeDoc(doc);
	return ret;
}

int r53_parse_nameservers(const char *xml, size_t len, knot_dname_storage_t *out, size_t max)
{
	xmlDocPtr doc = parse(xml, len);
	xmlNode *root = doc != NULL ? xmlDocGetRootElement(doc) : NULL;
	xmlNode *ns = child(child(root, "DelegationSet"), "NameServers");
	int n = ns != NULL ? 0 : -EINVAL;
	for (xmlNode *c = ns != NULL ? ns->children : NULL; c != NULL && (size_t)n < max;
	     c = c->next) {
		if (is(c, "NameServer") && r53_name_to_wire(text(c), out[n]) > 0) {
			n++;
		}
	}
	xmlFreeDoc(doc);
	return n;
}

int r53_parse_error(const char *xml, size_t len, char *code, size_t codelen, char *msg,
                    size_t msglen)
{
	code[0] = msg[0] = '\0';
	xmlDocPtr doc = parse(xml, len);
	xmlNode *root = doc != NULL ? xmlDocGetRootElement(doc) : NULL;
	int ret = -EINVAL;
	if (is(root, "ErrorResponse")) {
		xmlNode *e = child(root, "Error");
		copy(code, codelen, text(child(e, "Code")));
		copy(msg, msglen, text(child(e, "Message")));
		ret = e != NULL ? 0 : -EINVAL;
	} else if (is(root, "InvalidChangeBatch")) {
		copy(code, codelen, "InvalidChangeBatch");
		size_t o = 0;
		xmlNode *ms = child(root, "Messages");
		for (xmlNode *m = ms != NULL ? ms->children : NULL; m != NULL; m = m->next) {
			if (is(m, "Message") && o + 3 < msglen) {
				o += (size_t)snprintf(msg + o, msglen - o, "%s%s", o > 0 ? "; " : "",
				                      text(m));
				if (o >= msglen) {
					o = msglen - 1;
				}
			}
		}
		if (o == 0) {
			copy(msg, msglen, text(child(root, "Message")));
		}
		ret = 0;
	}
	xmlFreeDoc(doc);
	return ret;
}

int r53_buf_add(r53_buf_t *b, const char *s, size_t len)
{
	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + len + 1) {
			cap *= 2;
		}
		char *d = realloc(b->data, cap);
		if (d == NULL) {
			return -ENOMEM;
		}
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int r53_buf_add_escaped(r53_buf_t *b, const char *s, size_t len)
{
	size_t start = 0;
	for (size_t i = 0; i < len; i++) {
		const char *rep = NULL;
		switch (s[i]) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		default: continue;
		}
		if (r53_buf_add(b, s + start, i - start) != 0 || r53_buf_add(b, rep, strlen(rep)) != 0) {
			return -ENOMEM;
		}
		start = i + 1;
	}
	return r53_buf_add(b, s + start, len - start);
}

void r53_buf_free(r53_buf_t *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

r53_retry_t r53_retry_class(long status, const char *code)
{
	if (status == 429 || strcmp(code, "Throttling") == 0) {
		return R53_THROTTLED;
	}
	/* PriorRequestNotComplete: a change batch of ours still in progress. */
	if (status == 0 || status == 500 || status == 502 || status == 503 || status == 504 ||
	    strcmp(code, "PriorRequestNotComplete") == 0) {
		return R53_RETRY;
	}
	return R53_GIVE_UP;
}
