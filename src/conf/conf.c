#include "conf/conf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <libdnssec/tsig.h>
#include <openssl/evp.h>
#include <libknot/errcode.h>

#include "dns/name.h"
#include "net/fileerr.h"

#define MAX_CONF_SIZE (16 * 1024 * 1024)
#define MAX_SECRET_SIZE 4096

#define MINUTE 60u
#define HOUR (60u * MINUTE)
#define DAY (24u * HOUR)
#define WEEK (7u * DAY)

struct ctx {
	const char *name; /* file name in messages */
	char *dir;        /* directory of the file, for relative secret-file paths */
	FILE *errs;
	unsigned errors;
	conf_t *conf;
	const conf_type_t *const *types; /* the target types known */
	unsigned flags;                  /* CONF_LOAD_* */
	const conf_member_t *members;    /* conf_with_members */
	size_t nmembers;
};

static void err_at(struct ctx *c, const ynode_t *n, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void err_at(struct ctx *c, const ynode_t *n, const char *fmt, ...)
{
	c->errors++;
	if (c->errs == NULL) {
		return;
	}
	fprintf(c->errs, "%s:%u:%u: ", c->name, n ? n->line : 1, n ? n->col : 1);
	va_list ap;
	va_start(ap, fmt);
	vfprintf(c->errs, fmt, ap);
	va_end(ap);
	fputc('\n', c->errs);
}

/* --- values ------------------------------------------------------------ */

static const ynode_t *want(struct ctx *c, const ynode_t *n, ynode_kind_t kind, const char *key,
                           const char *what)
{
	if (n == NULL) {
		return NULL;
	}
	if (n->kind != kind) {
		err_at(c, n, "'%s' must be %s, not %s", key, what, ynode_kind_str(n->kind));
		return NULL;
	}
	if (kind == YNODE_SCALAR && n->value[0] == '\0') {
		err_at(c, n, "'%s' must not be empty", key);
		return NULL;
	}
	return n;
}

static const char *scalar(struct ctx *c, const ynode_t *n, const char *key)
{
	n = want(c, n, YNODE_SCALAR, key, "a value");
	return n ? n->value : NULL;
}

static size_t list_len(const ynode_t *n)
{
	return n == NULL ? 0 : n->kind == YNODE_SEQ ? n->n : 1;
}

static int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", NULL };
	static const char *const no[] = { "false", "no", "off", NULL };
	for (size_t i = 0; yes[i]; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

static int parse_int(const char *s, long long *out)
{
	if (*s == '\0' || isspace((unsigned char)*s)) {
		return -EINVAL;
	}
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0') {
		return -EINVAL;
	}
	*out = v;
	return 0;
}

/* Digits only (no sign, no spaces) then an optional one-character unit
 * from units, whose factors are in mult; the result at most max (which is
 * below UINT64_MAX / 10, so that no step overflows). */
static int parse_scaled(const char *s, const char *units, const uint64_t *mult, uint64_t max,
                        uint64_t *out)
{
	uint64_t v = 0;
	const char *p = s;
	while (*p >= '0' && *p <= '9') {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > max) {
			return -EINVAL;
		}
		p++;
	}
	if (p == s) {
		return -EINVAL;
	}
	if (*p != '\0') {
		const char *u = strchr(units, *p);
		if (u == NULL || p[1] != '\0') {
			return -EINVAL;
		}
		uint64_t m = mult[u - units];
		if (v > max / m) {
			return -EINVAL;
		}
		v *= m;
	}
	*out = v;
	return 0;
}

int conf_parse_duration(const char *s, uint32_t *out)
{
	static const uint64_t mult[] = { 1, MINUTE, HOUR, DAY, WEEK };
	uint64_t v;
	if (parse_scaled(s, "smhdw", mult, UINT32_MAX, &v) != 0) {
		return -EINVAL;
	}
	*out = (uint32_t)v;
	return 0;
}

/* A byte count, at most max: a number, or one with K, M or G (1024-based). */
static int parse_size(const char *s, uint64_t max, uint64_t *out)
{
	static const uint64_t mult[] = { 1ull << 10, 1ull << 20, 1ull << 30 };
	return parse_scaled(s, "KMG", mult, max, out);
}

/* A duration in its largest exact unit, for messages: 3600 is "1h". */
static const char *fmt_duration(uint32_t v, char buf[16])
{
	static const struct {
		uint32_t secs;
		char unit;
	} units[] = { { WEEK, 'w' }, { DAY, 'd' }, { HOUR, 'h' }, { MINUTE, 'm' } };
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (v != 0 && v % units[i].secs == 0) {
			snprintf(buf, 16, "%" PRIu32 "%c", v / units[i].secs, units[i].unit);
			return buf;
		}
	}
	snprintf(buf, 16, "%" PRIu32 "s", v);
	return buf;
}

bool conf_primary_allows(const conf_primary_t *p, const struct sockaddr *from)
{
	if (p == NULL || from == NULL) {
		return false;
	}
	for (size_t i = 0; i < p->naddr; i++) {
		if (net_same_ip((const struct sockaddr *)&p->addr[i].ss, from)) {
			return true;
		}
	}
	for (size_t i = 0; i < p->nnotify_from; i++) {
		if (net_prefix_match(&p->notify_from[i], from)) {
			return true;
		}
	}
	return false;
}

static bool check_url(const char *s)
{
	const char *rest;
	if (strncmp(s, "http://", 7) == 0) {
		rest = s + 7;
	} else if (strncmp(s, "https://", 8) == 0) {
		rest = s + 8;
	} else {
		return false;
	}
	if (*rest == '\0' || *rest == '/') {
		return false;
	}
	for (const char *p = s; *p; p++) {
		if ((unsigned char)*p <= ' ' || *p == 0x7f) {
			return false;
		}
	}
	return true;
}

static int parse_limit(const char *s, conf_limit_t *out)
{
	size_t len = strlen(s);
	long long v;
	char num[32];
	bool percent = len > 0 && s[len - 1] == '%';
	if (percent) {
		len--;
	}
	if (len == 0 || len >= sizeof(num)) {
		return -EINVAL;
	}
	memcpy(num, s, len);
	num[len] = '\0';
	if (parse_int(num, &v) != 0 || v < 0 || (percent && v > 100) || v > UINT32_MAX) {
		return -EINVAL;
	}
	out->percent = percent;
	out->value = (uint32_t)v;
	return 0;
}

/* --- references ----------------------------------------------------------- */

static const conf_key_t *find_key(const conf_t *conf, const char *id)
{
	for (size_t i = 0; i < conf->nkey; i++) {
		if (strcasecmp(conf->key[i].id, id) == 0) {
			return &conf->key[i];
		}
	}
	return NULL;
}

/* Does section list an entry with this id, whatever its other errors? */
static bool declared(const struct ctx *c, const char *section, const char *id)
{
	const ynode_t *list = ynode_get(c->conf->root, section);
	for (size_t i = 0; list && list->kind == YNODE_SEQ && i < list->n; i++) {
		const ynode_t *idn = ynode_get(list->item[i], "id");
		if (idn && idn->kind == YNODE_SCALAR && strcasecmp(idn->value, id) == 0) {
			return true;
		}
	}
	return false;
}

/* A key reference: reported unless defined.  Bad key sections were already
 * reported, so a reference to a key that failed its own checks is silent. */
static const conf_key_t *key_ref(struct ctx *c, const ynode_t *n, const char *id, const char *where)
{
	const conf_key_t *k = find_key(c->conf, id);
	if (k == NULL && !declared(c, "key", id)) {
		err_at(c, n, "%s: key '%s' is not defined", where, id);
	}
	return k;
}

/* --- the loader: a section's keys by its table (conf/schema.c) ------------- */

static const conf_item_t *item_find(const conf_item_t *items, const char *name)
{
	for (; items->name != NULL; items++) {
		if (strcmp(items->name, name) == 0) {
			return items;
		}
	}
	return NULL;
}

/* Reports each key of map that is in neither table (more may be NULL). */
static void check_keys(struct ctx *c, const ynode_t *map, const conf_item_t *items,
                       const conf_item_t *more, const char *where)
{
	for (size_t i = 0; i + 1 < map->n; i += 2) {
		const char *k = map->item[i]->value;
		if (item_find(items, k) == NULL && (more == NULL || item_find(more, k) == NULL)) {
			err_at(c, map->item[i], "unknown key '%s' in %s", k, where);
		}
	}
}

static const ynode_t *required(struct ctx *c, const ynode_t *map, const char *key,
                               const char *where)
{
	const ynode_t *n = ynode_get(map, key);
	if (n == NULL) {
		err_at(c, map, "%s: missing required key '%s'", where, key);
	}
	return n;
}

/* The text of a key already checked: NULL when absent or not a value. */
static const char *value_of(const ynode_t *map, const char *key)
{
	const ynode_t *n = ynode_get(map, key);
	return n != NULL && n->kind == YNODE_SCALAR && n->value[0] != '\0' ? n->value : NULL;
}

static bool is_text(const conf_item_t *it)
{
	return it->type == CONF_STR || it->type == CONF_PATH || it->type == CONF_URL ||
	       it->type == CONF_DNAME;
}

/* The size of one value of a list in its array. */
static size_t elem_size(const conf_item_t *it)
{
	switch (it->type) {
	case CONF_ADDR:
		return sizeof(net_addr_t);
	case CONF_PREFIX:
		return sizeof(net_prefix_t);
	default: /* text, or a reference */
		return sizeof(void *);
	}
}

/* A number into a field of its size (bool, uint32_t or an enum, uint64_t). */
static void store_uint(void *dst, size_t size, uint64_t v)
{
	uint32_t u32 = (uint32_t)v;
	bool b = v != 0;
	if (size == sizeof(uint64_t)) {
		memcpy(dst, &v, size);
	} else if (size == sizeof(uint32_t)) {
		memcpy(dst, &u32, size);
	} else if (size == sizeof(bool)) {
		memcpy(dst, &b, size);
	} else {
		abort(); /* a table entry that cannot be: test_conf loads every default */
	}
}

/* An integer, duration or size in the item's range: 0, -EINVAL (not such a
 * number) or -ERANGE. */
static int parse_number(const conf_item_t *it, const char *s, uint64_t *out)
{
	long long iv;
	uint32_t d;
	switch (it->type) {
	case CONF_INT:
		if (parse_int(s, &iv) != 0) {
			return -EINVAL;
		}
		if (iv < it->min || iv > it->max) {
			return -ERANGE;
		}
		*out = (uint64_t)iv;
		return 0;
	case CONF_DURATION:
		if (conf_parse_duration(s, &d) != 0) {
			return -EINVAL;
		}
		if (d < it->min || d > it->max) {
			return -ERANGE;
		}
		*out = d;
		return 0;
	case CONF_SIZE:
		if (parse_size(s, (uint64_t)it->max, out) != 0) {
			return -EINVAL;
		}
		return *out < (uint64_t)it->min ? -ERANGE : 0;
	default:
		return -EINVAL;
	}
}

static void bad_number(struct ctx *c, const ynode_t *n, const conf_item_t *it, const char *pre,
                       const char *v, int err)
{
	char lo[16], hi[16];
	if (it->type == CONF_INT) {
		err_at(c, n, "%s'%s' must be an integer from %lld to %lld, not '%s'", pre, it->name,
		       it->min, it->max, v);
	} else if (it->type == CONF_SIZE) {
		err_at(c, n,
		       "%s'%s' must be a size from %lld to %lld bytes (a number, or one with K, M "
		       "or G), not '%s'",
		       pre, it->name, it->min, it->max, v);
	} else if (err == -ERANGE) {
		err_at(c, n, "%s'%s' must be a duration from %s to %s, not '%s'", pre, it->name,
		       fmt_duration((uint32_t)it->min, lo), fmt_duration((uint32_t)it->max, hi), v);
	} else {
		err_at(c, n,
		       "%s'%s' must be a duration (seconds, or a number with s, m, h, d or w), "
		       "not '%s'",
		       pre, it->name, v);
	}
}

static void bad_choice(struct ctx *c, const ynode_t *n, const conf_item_t *it, const char *pre,
                       const char *v)
{
	char list[256] = "";
	for (size_t i = 0; it->choices[i] != NULL; i++) {
		if (i > 0) {
			strncat(list, ", ", sizeof(list) - strlen(list) - 1);
		}
		strncat(list, it->choices[i], sizeof(list) - strlen(list) - 1);
	}
	if (*pre == '\0') {
		/* The server's (log.target, log.level): worded as they always were. */
		err_at(c, n, "'%s': '%s' is not one of %s", it->name, v, list);
	} else {
		err_at(c, n, "%s'%s' is '%s', expected one of %s", pre, it->name, v, list);
	}
}

/*
 * One value v of item it (at node n; NULL for a default), checked, and
 * stored at dst unless dst is NULL.  0, or -1 when it is not valid: reported
 * (but a reference to a section that failed its own checks is silent).
 * Value errors start with pre; a reference's name where.
 */
static int load_value(struct ctx *c, const ynode_t *n, const char *v, const conf_item_t *it,
                      const char *where, const char *pre, void *dst)
{
	const conf_t *conf = c->conf;
	const void *ref = NULL;
	uint64_t u = 0;
	int ret;
	switch (it->type) {
	case CONF_STR:
	case CONF_PATH:
	case CONF_URL:
	case CONF_DNAME: {
		knot_dname_storage_t dn;
		char canon[DNS_NAME_STR_MAX];
		if (it->type == CONF_URL && !check_url(v)) {
			err_at(c, n, "%s'%s': bad URL '%s', expected http://HOST[:PORT][/PATH]",
			       pre, it->name, v);
			return -1;
		}
		if (it->type == CONF_DNAME) {
			if (dns_name_from_str(v, dn) < 0) {
				err_at(c, n, "%s'%s' is not a valid domain name", pre, v);
				return -1;
			}
			v = dns_name_to_str(dn, canon, sizeof(canon));
		}
		if (dst != NULL) {
			char *s = strdup(v);
			memcpy(dst, &s, sizeof(s));
		}
		return 0;
	}
	case CONF_INT:
	case CONF_DURATION:
	case CONF_SIZE:
		if ((ret = parse_number(it, v, &u)) != 0) {
			bad_number(c, n, it, pre, v, ret);
			return -1;
		}
		break;
	case CONF_BOOL: {
		bool b;
		if (parse_bool(v, &b) != 0) {
			err_at(c, n, "%s'%s' must be true or false, not '%s'", pre, it->name, v);
			return -1;
		}
		u = b;
		break;
	}
	case CONF_ENUM:
		while (it->choices[u] != NULL && strcmp(it->choices[u], v) != 0) {
			u++;
		}
		if (it->choices[u] == NULL) {
			bad_choice(c, n, it, pre, v);
			return -1;
		}
		u += it->def == NULL; /* 0 stays "absent" */
		break;
	case CONF_LIMIT: {
		conf_limit_t l;
		memset(&l, 0, sizeof(l));
		if (parse_limit(v, &l) != 0) {
			err_at(c, n,
			       "%s'%s' must be a percentage (0%%-100%%) or a count of RRsets, not "
			       "'%s'",
			       pre, it->name, v);
			return -1;
		}
		if (dst != NULL) {
			memcpy(dst, &l, sizeof(l));
		}
		return 0;
	}
	case CONF_ADDR: {
		net_addr_t a;
		if (net_parse_addr(v, it->port ? (uint16_t)it->port : 53, &a) != 0) {
			err_at(c, n, "%s'%s': bad address '%s', expected IP[@PORT]", pre, it->name,
			       v);
			return -1;
		}
		if (dst != NULL) {
			memcpy(dst, &a, sizeof(a));
		}
		return 0;
	}
	case CONF_PREFIX: {
		net_prefix_t p;
		if (net_parse_prefix(v, &p) != 0) {
			err_at(c, n,
			       "%s'%s': bad prefix '%s', expected IP[/BITS] with no host bits set",
			       pre, it->name, v);
			return -1;
		}
		if (dst != NULL) {
			memcpy(dst, &p, sizeof(p));
		}
		return 0;
	}
	case CONF_KEYREF:
		ref = key_ref(c, n, v, where);
		goto store_ref;
	case CONF_PRIMARYREF:
		for (size_t i = 0; i < conf->nprimary && ref == NULL; i++) {
			if (strcasecmp(conf->primary[i].id, v) == 0) {
				ref = &conf->primary[i];
			}
		}
		if (ref == NULL) {
			err_at(c, n, "%s: primary '%s' is not defined", where, v);
		}
		goto store_ref;
	case CONF_TARGETREF:
		for (size_t i = 0; i < conf->ntarget && ref == NULL; i++) {
			if (strcasecmp(conf->target[i].id, v) == 0) {
				ref = &conf->target[i];
			}
		}
		/* A declared target that failed its own checks was already
		 * reported. */
		if (ref == NULL && !declared(c, "target", v)) {
			err_at(c, n, "%s: target '%s' is not defined", where, v);
		}
		goto store_ref;
	case CONF_MAP:
	case CONF_RULES:
	case CONF_GROUPS:
		return -1; /* not a value: load_items() */
	}
	if (dst != NULL) {
		store_uint(dst, it->size, u);
	}
	return 0;
store_ref:
	if (dst != NULL) {
		memcpy(dst, &ref, sizeof(ref));
	}
	return ref != NULL ? 0 : -1;
}

/* A key given as one value or a list of them: its values into a new array
 * at dst (its count at cnt), unless dst is NULL. */
static void load_list(struct ctx *c, const ynode_t *n, const conf_item_t *it, const char *where,
                      const char *pre, void *dst, void *cnt)
{
	if (n->kind == YNODE_MAP) {
		err_at(c, n, "'%s' must be a value or a list of values, not a map", it->name);
		return;
	}
	if (n->kind == YNODE_SEQ && n->n == 0) {
		err_at(c, n, "%s'%s' must not be an empty list", pre, it->name);
	}
	size_t len = list_len(n), size = elem_size(it), count = 0;
	char *array = dst != NULL ? calloc(len + 1, size) : NULL;
	if (dst != NULL && array == NULL) {
		return;
	}
	for (size_t i = 0; i < len; i++) {
		const ynode_t *e = n->kind == YNODE_SEQ ? n->item[i] : n;
		const char *v = n->kind != YNODE_SEQ ? scalar(c, e, it->name)
		                : want(c, e, YNODE_SCALAR, it->name, "a list of values") ? e->value
		                                                                         : NULL;
		char *slot = array != NULL ? array + count * size : NULL;
		if (v == NULL || load_value(c, e, v, it, where, pre, slot) != 0) {
			continue;
		}
		bool twice = false;
		for (size_t j = 0; slot != NULL && it->type == CONF_TARGETREF && j < count; j++) {
			twice |= memcmp(array + j * size, slot, size) == 0;
		}
		if (twice) {
			err_at(c, e, "%s: target '%s' is listed twice", where, v);
			continue;
		}
		count++;
	}
	if (dst != NULL) {
		memcpy(dst, &array, sizeof(array));
		memcpy(cnt, &count, sizeof(count));
	}
}

/* A number key of map, or its default; -1 when it has neither or is bad. */
static int number_in(const ynode_t *map, const conf_item_t *it, uint64_t *out)
{
	const ynode_t *n = ynode_get(map, it->name);
	const char *v = n == NULL ? it->def : n->kind == YNODE_SCALAR ? n->value : NULL;
	return v != NULL && parse_number(it, v, out) == 0 ? 0 : -1;
}

/* A key that must not be below another one (a maximum and its minimum),
 * compared when both are valid, and reported at the one given. */
static void check_at_least(struct ctx *c, const ynode_t *map, const conf_item_t *items,
                           const conf_item_t *it, const char *pre)
{
	const conf_item_t *lo = item_find(items, it->at_least);
	uint64_t vlo, vhi;
	if (lo == NULL || number_in(map, lo, &vlo) != 0 || number_in(map, it, &vhi) != 0 ||
	    vhi >= vlo) {
		return;
	}
	const ynode_t *n = ynode_get(map, it->name);
	if (n != NULL) {
		err_at(c, n, "%s'%s' (%" PRIu64 ") is below '%s' (%" PRIu64 ")", pre, it->name, vhi,
		       lo->name, vlo);
	} else {
		err_at(c, ynode_get(map, lo->name),
		       "%s'%s' (%" PRIu64 ", the default) is below '%s' (%" PRIu64 ")", pre,
		       it->name, vhi, lo->name, vlo);
	}
}

/* One rule's type part: one type or a list of them, into types[] (at
 * most max); the count, or -1 reported. */
static int rule_types(struct ctx *c, const ynode_t *n, const char *where, const char **types,
                      size_t max)
{
	if (n->kind == YNODE_SCALAR) {
		types[0] = n->value;
		return 1;
	}
	if (n->kind != YNODE_SEQ || n->n == 0 || n->n > max) {
		err_at(c, n, "%s: type must be a type or a list of 1 to %zu types", where, max);
		return -1;
	}
	for (size_t i = 0; i < n->n; i++) {
		if (n->item[i]->kind != YNODE_SCALAR) {
			err_at(c, n->item[i], "%s: type must be a type or a list of types", where);
			return -1;
		}
		types[i] = n->item[i]->value;
	}
	return (int)n->n;
}

/* A CONF_RULES key: a list of maps {name, type, value}, each made into a
 * zone_rule_t (array at dst, count at cnt; only checked when dst is NULL). */
static void load_rules(struct ctx *c, const ynode_t *n, const conf_item_t *it, const char *pre,
                       void *dst, void *cnt)
{
	static const conf_item_t parts[] = {
		{ .name = "name", .type = CONF_STR },
		{ .name = "type", .type = CONF_STR },
		{ .name = "value", .type = CONF_STR },
		{ .name = NULL },
	};
	if (n->kind != YNODE_SEQ) {
		err_at(c, n, "%s'%s' must be a list of rules ({ name: GLOB, type: TYPE, value: "
		             "GLOB })",
		       pre, it->name);
		return;
	}
	zone_rule_t *rules = calloc(n->n + 1, sizeof(*rules));
	size_t count = 0;
	if (rules == NULL) {
		return;
	}
	for (size_t i = 0; i < n->n; i++) {
		const ynode_t *e = n->item[i];
		char where[400];
		snprintf(where, sizeof(where), "%s%s[%zu]", pre, it->name, i);
		char key[3][48]; /* "ignore[2]", "ignore[2].name", "ignore[2].value" */
		snprintf(key[0], sizeof(key[0]), "%.16s[%zu]", it->name, i);
		snprintf(key[1], sizeof(key[1]), "%.16s[%zu].name", it->name, i);
		snprintf(key[2], sizeof(key[2]), "%.16s[%zu].value", it->name, i);
		if (want(c, e, YNODE_MAP, key[0], "a map {name, type, value}") == NULL) {
			continue;
		}
		unsigned before = c->errors;
		check_keys(c, e, parts, NULL, where);
		if (e->n == 0) {
			err_at(c, e, "%s: a rule needs at least one of name, type and value", where);
			continue;
		}
		const ynode_t *nn = ynode_get(e, "name"), *tn = ynode_get(e, "type"),
		              *vn = ynode_get(e, "value");
		const char *name = nn != NULL ? scalar(c, nn, key[1]) : NULL;
		const char *value = vn != NULL ? scalar(c, vn, key[2]) : NULL;
		const char *types[64];
		int ntypes = tn != NULL ? rule_types(c, tn, where, types, 64) : 0;
		if (c->errors != before || ntypes < 0) {
			continue;
		}
		char err[300];
		zone_rule_t r;
		int ret = zone_rule_make(name, types, (size_t)ntypes, value, &r, err, sizeof(err));
		if (ret != 0) {
			const ynode_t *at = strncmp(err, "name", 4) == 0   ? nn
			                    : strncmp(err, "type", 4) == 0 ? tn
			                    : strncmp(err, "value", 5) == 0 ? vn
			                                                   : e;
			err_at(c, at != NULL ? at : e, "%s: %s", where,
			       ret == -ENOMEM ? "out of memory" : err);
			continue;
		}
		if (dst != NULL) {
			rules[count++] = r;
		} else {
			zone_rule_free(&r);
		}
	}
	if (dst != NULL) {
		memcpy(dst, &rules, sizeof(rules));
		memcpy(cnt, &count, sizeof(count));
	} else {
		free(rules);
	}
}

/*
 * The keys of items in map (NULL or not a map: none given), in the order of
 * the table: each checked, and stored in base (the section's structure)
 * where the table says; a key left out takes its default, or is reported
 * when required.  Unknown keys are the caller's (check_keys).
 */
static void load_items(struct ctx *c, const ynode_t *map, const conf_item_t *items,
                       const char *where, const char *pre, void *base)
{
	for (const conf_item_t *it = items; it->name != NULL; it++) {
		const ynode_t *n = ynode_get(map, it->name);
		void *dst = base != NULL && it->size > 0 ? (char *)base + it->off : NULL;
		if (it->type == CONF_GROUPS) {
			continue; /* the section's own code reads it */
		}
		if (it->type == CONF_MAP) {
			char sub[320];
			snprintf(sub, sizeof(sub), "%s.%s", where, it->name);
			if (n != NULL && want(c, n, YNODE_MAP, it->name, "a map") != NULL) {
				check_keys(c, n, it->sub, NULL, sub);
			}
			load_items(c, n, it->sub, sub, pre, base);
		} else if (n != NULL && it->type == CONF_RULES) {
			load_rules(c, n, it, pre, dst, dst ? (char *)base + it->count_off : NULL);
		} else if (n != NULL && it->list) {
			load_list(c, n, it, where, pre, dst,
			          dst ? (char *)base + it->count_off : NULL);
		} else if (n != NULL) {
			const char *v = scalar(c, n, it->name);
			if (v != NULL) {
				load_value(c, n, v, it, where, pre, dst);
			}
		} else if (it->required) {
			err_at(c, map, "%s: missing required key '%s'", where, it->name);
		} else if (it->def != NULL && dst != NULL) {
			load_value(c, NULL, it->def, it, where, pre, dst);
		}
		if (it->at_least != NULL) {
			check_at_least(c, map, items, it, pre);
		}
	}
}

/* What load_items() allocated in base. */
static void free_items(const conf_item_t *items, void *base)
{
	for (const conf_item_t *it = items; it->name != NULL; it++) {
		char *p;
		if (it->type == CONF_MAP) {
			free_items(it->sub, base);
		}
		if (it->type == CONF_RULES && it->size > 0) {
			zone_rule_t *rules;
			size_t n;
			memcpy(&rules, (char *)base + it->off, sizeof(rules));
			memcpy(&n, (char *)base + it->count_off, sizeof(n));
			for (size_t i = 0; i < n; i++) {
				zone_rule_free(&rules[i]);
			}
			free(rules);
			continue;
		}
		if (it->size == 0 || (!it->list && !is_text(it))) {
			continue;
		}
		memcpy(&p, (char *)base + it->off, sizeof(p));
		if (it->list && is_text(it)) {
			size_t n;
			memcpy(&n, (char *)base + it->count_off, sizeof(n));
			for (size_t i = 0; i < n; i++) {
				free(((char **)(void *)p)[i]);
			}
		}
		free(p);
	}
}

/* --- server ------------------------------------------------------------- */

static void load_server(struct ctx *c, const ynode_t *n)
{
	/* Absent or not a map: its defaults hold all the same. */
	if (n != NULL && want(c, n, YNODE_MAP, "server", "a map") != NULL) {
		check_keys(c, n, conf_server_items, NULL, "server");
	}
	load_items(c, n, conf_server_items, "server", "", c->conf);
	c->conf->server.has_metrics = c->conf->server.metrics.len != 0;
}

/* --- sections with ids -------------------------------------------------- */

/* Validate a section list and its ids; returns the list or NULL. */
static const ynode_t *section_list(struct ctx *c, const char *name)
{
	const ynode_t *n = ynode_get(c->conf->root, name);
	if (n == NULL) {
		return NULL;
	}
	if (n->kind != YNODE_SEQ) {
		err_at(c, n, "'%s' must be a list of maps, not %s", name, ynode_kind_str(n->kind));
		return NULL;
	}
	return n;
}

/* The id of entry idx of a section (its table's first key), checked. */
static const char *item_id(struct ctx *c, const ynode_t *list, size_t idx, const char *section,
                           const conf_item_t *items)
{
	const char *idkey = items[0].name;
	const ynode_t *item = list->item[idx];
	if (item->kind != YNODE_MAP) {
		err_at(c, item, "each '%s' entry must be a map, not %s", section,
		       ynode_kind_str(item->kind));
		return NULL;
	}
	const ynode_t *idn = required(c, item, idkey, section);
	const char *id = scalar(c, idn, idkey);
	if (id == NULL) {
		return NULL;
	}
	/* Zones are told apart by name, not text (load_zones, by hash: there
	 * may be 10,000); ids of the few primaries, keys, targets here. */
	for (size_t j = 0; j < idx && strcmp(idkey, "domain") != 0; j++) {
		const ynode_t *prev = ynode_get(list->item[j], idkey);
		if (prev != NULL && prev->kind == YNODE_SCALAR && strcasecmp(prev->value, id) == 0) {
			err_at(c, idn, "%s '%s' is defined twice (first at line %u)", section, id,
			       prev->line);
			return NULL;
		}
	}
	return id;
}

static char *path_join(const char *dir, const char *path)
{
	if (path[0] == '/' || dir == NULL) {
		return strdup(path);
	}
	size_t n = strlen(dir) + strlen(path) + 2;
	char *p = malloc(n);
	if (p != NULL) {
		snprintf(p, n, "%s/%s", dir, path);
	}
	return p;
}

/* Read a secret file: base64 text, surrounding whitespace ignored. */
static char *read_secret(struct ctx *c, const ynode_t *n, const char *id)
{
	char *path = path_join(c->dir, n->value);
	if (path == NULL) {
		return NULL;
	}
	/* O_NONBLOCK and the regular-file check: a FIFO or a device must
	 * not hang or feed the loader. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	char *buf = NULL;
	struct stat st;
	if (fd < 0) {
		char cause[160];
		err_at(c, n, "key '%s': secret-file '%s': %s", id, path,
		       file_error(path, errno, cause, sizeof(cause)));
		goto out;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		err_at(c, n, "key '%s': secret-file '%s' is not a regular file", id, path);
		close(fd);
		goto out;
	}
	buf = malloc(MAX_SECRET_SIZE + 1);
	ssize_t len = buf ? read(fd, buf, MAX_SECRET_SIZE + 1) : -1;
	int e = errno;
	close(fd);
	if (len < 0 || len > MAX_SECRET_SIZE) {
		err_at(c, n, "key '%s': cannot read secret-file '%s': %s", id, path,
		       len < 0 ? strerror(e) : "file too large");
		free(buf);
		buf = NULL;
		goto out;
	}
	while (len > 0 && isspace((unsigned char)buf[len - 1])) {
		len--;
	}
	buf[len] = '\0';
	size_t lead = strspn(buf, " \t\r\n");
	memmove(buf, buf + lead, (size_t)len - lead + 1);
out:
	free(path);
	return buf;
}

static void load_keys(struct ctx *c)
{
	const ynode_t *list = section_list(c, "key");
	if (list == NULL) {
		return;
	}
	conf_t *conf = c->conf;
	conf->key = calloc(list->n + 1, sizeof(*conf->key));
	if (conf->key == NULL) {
		return;
	}
	for (size_t i = 0; i < list->n; i++) {
		const char *id = item_id(c, list, i, "key", conf_key_items);
		if (id == NULL) {
			continue;
		}
		const ynode_t *item = list->item[i];
		char where[300], pre[304];
		snprintf(where, sizeof(where), "key '%.200s'", id);
		snprintf(pre, sizeof(pre), "%s: ", where);
		check_keys(c, item, conf_key_items, NULL, where);
		knot_dname_storage_t dn;
		if (dns_name_from_str(id, dn) < 0) {
			err_at(c, ynode_get(item, "id"), "key id '%s' is not a valid domain name",
			       id);
			continue;
		}
		/* Checked by the table; what they make is a TSIG key. */
		load_items(c, item, conf_key_items, where, pre, NULL);
		const char *alg = value_of(item, "algorithm");
		if (alg != NULL && dnssec_tsig_algorithm_from_name(alg) == DNSSEC_TSIG_UNKNOWN) {
			err_at(c, ynode_get(item, "algorithm"),
			       "key '%s': unknown algorithm '%s' (hmac-md5, hmac-sha1, "
			       "hmac-sha224, hmac-sha256, hmac-sha384, hmac-sha512)",
			       id, alg);
			alg = NULL;
		}
		const ynode_t *sn = ynode_get(item, "secret");
		const ynode_t *sfn = ynode_get(item, "secret-file");
		char *secret = NULL;
		if (sn != NULL && sfn != NULL) {
			err_at(c, sfn, "key '%s': give 'secret' or 'secret-file', not both", id);
			continue;
		} else if (sn == NULL && sfn == NULL) {
			err_at(c, item, "key '%s': missing 'secret' or 'secret-file'", id);
			continue;
		} else if (sn != NULL) {
			const char *s = value_of(item, "secret");
			secret = s ? strdup(s) : NULL;
		} else if (value_of(item, "secret-file") != NULL &&
		           (c->flags & CONF_LOAD_NO_SECRETS) && alg != NULL) {
			/* The key without its material: its name and algorithm
			 * only, for a reader that never signs (status). */
			conf_key_t *k = &conf->key[conf->nkey];
			k->tsig.algorithm = dnssec_tsig_algorithm_from_name(alg);
			k->tsig.name = knot_dname_from_str_alloc(id);
			k->id = strdup(id);
			conf->nkey++;
			continue;
		} else if (value_of(item, "secret-file") != NULL) {
			secret = read_secret(c, sfn, id);
		}
		if (secret == NULL || alg == NULL) {
			free(secret);
			continue;
		}
		conf_key_t *k = &conf->key[conf->nkey];
		if (secret[0] == '\0' ||
		    knot_tsig_key_init(&k->tsig, alg, id, secret) != KNOT_EOK) {
			err_at(c, sn ? sn : sfn, "key '%s': secret is not valid base64", id);
		} else {
			k->id = strdup(id);
			conf->nkey++;
		}
		free(secret);
	}
}

static void load_primaries(struct ctx *c)
{
	const ynode_t *list = section_list(c, "primary");
	if (list == NULL) {
		return;
	}
	conf_t *conf = c->conf;
	conf->primary = calloc(list->n + 1, sizeof(*conf->primary));
	if (conf->primary == NULL) {
		return;
	}
	for (size_t i = 0; i < list->n; i++) {
		const char *id = item_id(c, list, i, "primary", conf_primary_items);
		if (id == NULL) {
			continue;
		}
		const ynode_t *item = list->item[i];
		char where[300];
		snprintf(where, sizeof(where), "primary '%.200s'", id);
		check_keys(c, item, conf_primary_items, NULL, where);
		/* Its bad values are named by their key alone, as `zonesync
		 * check` has always printed them. */
		load_items(c, item, conf_primary_items, where, "",
		           &conf->primary[conf->nprimary++]);
	}
}

static void load_targets(struct ctx *c)
{
	const ynode_t *list = section_list(c, "target");
	if (list == NULL) {
		return;
	}
	conf_t *conf = c->conf;
	conf->target = calloc(list->n + 1, sizeof(*conf->target));
	if (conf->target == NULL) {
		return;
	}
	for (size_t i = 0; i < list->n; i++) {
		const char *id = item_id(c, list, i, "target", conf_target_items);
		if (id == NULL) {
			continue;
		}
		const ynode_t *item = list->item[i];
		char where[300], pre[304];
		snprintf(where, sizeof(where), "target '%.200s'", id);
		const ynode_t *tn = required(c, item, "type", where);
		const char *tname = scalar(c, tn, "type");
		if (tname == NULL) {
			continue;
		}
		const conf_type_t *type = NULL;
		for (size_t j = 0; c->types != NULL && c->types[j] != NULL && type == NULL; j++) {
			if (strcmp(c->types[j]->name, tname) == 0) {
				type = c->types[j];
			}
		}
		if (type == NULL) {
			char types[256] = "";
			for (size_t j = 0; c->types != NULL && c->types[j] != NULL; j++) {
				if (j > 0) {
					strncat(types, ", ", sizeof(types) - strlen(types) - 1);
				}
				strncat(types, c->types[j]->name,
				        sizeof(types) - strlen(types) - 1);
			}
			err_at(c, tn, "%s: unknown type '%s' (%s)", where, tname, types);
			continue;
		}
		snprintf(where, sizeof(where), "target '%.200s' (type %s)", id, type->name);
		snprintf(pre, sizeof(pre), "%s: ", where);
		check_keys(c, item, conf_target_items, type->items, where);
		conf_target_t *t = &conf->target[conf->ntarget++];
		load_items(c, item, conf_target_items, where, pre, t);
		load_items(c, item, type->items, where, pre, NULL);
		t->type = type;
		t->node = item;
		/* Resolved here, as a primary's key is: the target's code then
		 * needs no access to the key section. */
		for (const conf_item_t *it = type->items; it->name; it++) {
			const char *kid =
			        it->type == CONF_KEYREF ? conf_target_str(t, it->name) : NULL;
			if (kid != NULL) {
				t->key = find_key(conf, kid);
			}
		}
	}
}

/* Can each target of zone z take it (the zone_check of its keys)?
 * Reported at the zone's reference to the target. */
static void check_zone_targets(struct ctx *c, const ynode_t *item, const conf_zone_t *z)
{
	const ynode_t *list = ynode_get(item, "target");
	for (size_t i = 0; z->domain != NULL && i < z->ntarget; i++) {
		const conf_target_t *t = z->target[i];
		for (const conf_item_t *it = t->type->items; it->name != NULL; it++) {
			const char *v =
			        it->zone_check != NULL ? conf_target_str(t, it->name) : NULL;
			char why[256];
			if (v == NULL || it->zone_check(v, z->domain, why, sizeof(why)) == 0) {
				continue;
			}
			const ynode_t *at = list;
			for (size_t j = 0; list->kind == YNODE_SEQ && j < list->n; j++) {
				const ynode_t *e = list->item[j];
				if (e->kind == YNODE_SCALAR && strcasecmp(e->value, t->id) == 0) {
					at = e;
				}
			}
			err_at(c, at, "zone %s: target '%s' (type %s): %s: %s", z->domain, t->id,
			       t->type->name, it->name, why);
		}
	}
}

/* The slot of conf's zone index that holds name, or the free one where it
 * would go. */
static uint32_t *zone_slot(const conf_t *conf, const knot_dname_t *name)
{
	size_t mask = conf->zone_slots - 1;
	for (size_t i = dns_name_hash(name) & mask;; i = (i + 1) & mask) {
		uint32_t *slot = &conf->zone_index[i];
		if (*slot == 0 || dns_name_equal(conf->zone[*slot - 1].name, name)) {
			return slot;
		}
	}
}

/* Index conf's last zone (zone[nzone - 1]), its name not there yet; the
 * table doubles to stay at most half full.  0 or -ENOMEM. */
static int zone_index_last(conf_t *conf)
{
	if (2 * conf->nzone > conf->zone_slots) {
		size_t slots = conf->zone_slots ? conf->zone_slots : 16;
		while (slots < 2 * conf->nzone) {
			slots *= 2;
		}
		uint32_t *index = calloc(slots, sizeof(*index));
		if (index == NULL) {
			return -ENOMEM;
		}
		free(conf->zone_index);
		conf->zone_index = index;
		conf->zone_slots = slots;
		for (size_t i = 0; i + 1 < conf->nzone; i++) {
			*zone_slot(conf, conf->zone[i].name) = (uint32_t)(i + 1);
		}
	}
	*zone_slot(conf, conf->zone[conf->nzone - 1].name) = (uint32_t)conf->nzone;
	return 0;
}

static void load_zones(struct ctx *c)
{
	const ynode_t *list = section_list(c, "zone");
	if (list == NULL) {
		return;
	}
	conf_t *conf = c->conf;
	conf->zone = calloc(list->n + 1, sizeof(*conf->zone));
	/* At most half full: short probes, and a free slot always ends one. */
	size_t slots = 16;
	while (slots < 2 * list->n) {
		slots *= 2;
	}
	conf->zone_index = calloc(slots, sizeof(*conf->zone_index));
	if (conf->zone == NULL || conf->zone_index == NULL) {
		err_at(c, list, "out of memory for %zu zones", list->n);
		return;
	}
	conf->zone_slots = slots;
	for (size_t i = 0; i < list->n; i++) {
		const char *domain = item_id(c, list, i, "zone", conf_zone_items);
		if (domain == NULL) {
			continue;
		}
		const ynode_t *item = list->item[i];
		const ynode_t *dn = ynode_get(item, "domain");
		char where[300], pre[304];
		snprintf(where, sizeof(where), "zone '%.200s'", domain);
		snprintf(pre, sizeof(pre), "%s: ", where);
		check_keys(c, item, conf_zone_items, NULL, where);

		conf_zone_t *z = &conf->zone[conf->nzone];
		if (dns_name_from_str(domain, z->name) < 0) {
			err_at(c, dn, "zone '%s' is not a valid domain name", domain);
			continue;
		}
		uint32_t *slot = zone_slot(conf, z->name);
		if (*slot != 0) {
			char canon[DNS_NAME_STR_MAX];
			dns_name_to_str(z->name, canon, sizeof(canon));
			err_at(c, dn, "zone %s is defined twice", canon);
			continue;
		}
		*slot = (uint32_t)++conf->nzone;
		load_items(c, item, conf_zone_items, where, pre, z);
		check_zone_targets(c, item, z);
		if (z->primary != NULL) {
			((conf_primary_t *)z->primary)->nzone++;
		}
	}
}

/* --- templates, catalogs and their members ----------------------------------- */

/* Room for n more zones. */
static int zones_grow(conf_t *conf, size_t n)
{
	conf_zone_t *z = realloc(conf->zone, (conf->nzone + n + 1) * sizeof(*z));
	if (z == NULL) {
		return -ENOMEM;
	}
	memset(z + conf->nzone, 0, (n + 1) * sizeof(*z));
	conf->zone = z;
	return 0;
}

static const conf_template_t *template_find(const conf_t *conf, const char *id)
{
	for (size_t i = 0; id != NULL && i < conf->ntemplate; i++) {
		if (strcasecmp(conf->template[i].id, id) == 0) {
			return &conf->template[i];
		}
	}
	return NULL;
}

static void load_templates(struct ctx *c)
{
	const ynode_t *list = section_list(c, "template");
	conf_t *conf = c->conf;
	if (list == NULL || (conf->template = calloc(list->n + 1, sizeof(*conf->template))) == NULL) {
		return;
	}
	for (size_t i = 0; i < list->n; i++) {
		const char *id = item_id(c, list, i, "template", conf_template_items);
		if (id == NULL) {
			continue;
		}
		const ynode_t *item = list->item[i];
		char where[300], pre[304];
		snprintf(where, sizeof(where), "template '%.200s'", id);
		snprintf(pre, sizeof(pre), "%s: ", where);
		check_keys(c, item, conf_template_items, conf_zone_items + CONF_ZONE_OWN, where);
		conf_template_t *t = &conf->template[conf->ntemplate++];
		load_items(c, item, conf_template_items, where, pre, t);
		t->node = item;
		/* Its zone keys checked here, once, as a zone's (a path with
		 * "%s" among them): a member made of it then fails on none. */
		conf_zone_t z = { .domain = (char *)"example." };
		load_items(c, item, conf_zone_items + CONF_ZONE_OWN, where, pre, &z);
		check_zone_targets(c, item, &z);
		z.domain = NULL;
		free_items(conf_zone_items, &z);
	}
}

static void load_groups(struct ctx *c, const ynode_t *n, conf_catalog_t *cat, const char *where)
{
	if (n == NULL || want(c, n, YNODE_MAP, "group", "a map of group to template") == NULL ||
	    (cat->group = calloc(n->n / 2 + 1, sizeof(*cat->group))) == NULL) {
		return;
	}
	for (size_t i = 0; i + 1 < n->n; i += 2) {
		const char *tid = scalar(c, n->item[i + 1], n->item[i]->value);
		const conf_template_t *t = template_find(c->conf, tid);
		if (tid != NULL && t == NULL) {
			err_at(c, n->item[i + 1], "%s: group '%s': template '%s' is not defined", where,
			       n->item[i]->value, tid);
		}
		if (t != NULL && (cat->group[cat->ngroup].name = strdup(n->item[i]->value)) != NULL) {
			cat->group[cat->ngroup++].template = t;
		}
	}
}

/* Each catalog, and its zone (after the file's: a catalog's zone has the
 * zone keys' defaults and no target). */
static void load_catalogs(struct ctx *c)
{
	const ynode_t *list = section_list(c, "catalog");
	conf_t *conf = c->conf;
	if (list == NULL || (conf->catalog = calloc(list->n + 1, sizeof(*conf->catalog))) == NULL ||
	    zones_grow(conf, list->n) != 0) {
		return;
	}
	for (size_t i = 0; i < list->n; i++) {
		const char *domain = item_id(c, list, i, "catalog", conf_catalog_items);
		if (domain == NULL) {
			continue;
		}
		const ynode_t *item = list->item[i];
		char where[300], pre[304];
		snprintf(where, sizeof(where), "catalog '%.200s'", domain);
		snprintf(pre, sizeof(pre), "%s: ", where);
		check_keys(c, item, conf_catalog_items, NULL, where);
		conf_catalog_t *cat = &conf->catalog[conf->ncatalog];
		const ynode_t *dn = ynode_get(item, "domain");
		if (dns_name_from_str(domain, cat->name) < 0) {
			err_at(c, dn, "catalog '%s' is not a valid domain name", domain);
			continue;
		}
		const conf_zone_t *same = conf_zone_find(conf, cat->name);
		if (same != NULL) {
			err_at(c, dn, "%s is %s", where,
			       same->catalog != NULL ? "defined twice" : "also a zone");
			continue;
		}
		conf->ncatalog++;
		load_items(c, item, conf_catalog_items, where, pre, cat);
		const char *tid = value_of(item, "template");
		if (tid != NULL && (cat->template = template_find(conf, tid)) == NULL) {
			err_at(c, ynode_get(item, "template"), "%s: template '%s' is not defined",
			       where, tid);
		}
		load_groups(c, ynode_get(item, "group"), cat, where);
		conf_zone_t *z = &conf->zone[conf->nzone];
		load_items(c, NULL, conf_zone_items + CONF_ZONE_OWN, where, pre, z);
		if ((z->domain = strdup(cat->domain ? cat->domain : domain)) == NULL) {
			continue;
		}
		memcpy(z->name, cat->name, sizeof(z->name));
		z->primary = cat->primary;
		z->catalog = cat;
		conf->nzone++;
		if (zone_index_last(conf) != 0) {
			err_at(c, dn, "out of memory");
		}
		if (z->primary != NULL) {
			((conf_primary_t *)z->primary)->nzone++;
		}
	}
}

/* The members given to conf_with_members, each a zone of its template. */
static void load_members(struct ctx *c)
{
	conf_t *conf = c->conf;
	if (c->nmembers == 0 || zones_grow(conf, c->nmembers) != 0) {
		return;
	}
	for (size_t i = 0; i < c->nmembers; i++) {
		const conf_member_t *m = &c->members[i];
		const conf_catalog_t *cat = conf_catalog_find(conf, m->catalog);
		if (cat == NULL || cat->template == NULL || conf_zone_find(conf, m->name) != NULL) {
			continue;
		}
		const conf_template_t *t = cat->template;
		for (size_t g = 0; m->group != NULL && g < cat->ngroup; g++) {
			if (strcmp(cat->group[g].name, m->group) == 0) {
				t = cat->group[g].template;
			}
		}
		conf_zone_t *z = &conf->zone[conf->nzone];
		char domain[DNS_NAME_STR_MAX], where[600], pre[604];
		if (dns_name_to_str(m->name, domain, sizeof(domain)) == NULL ||
		    (z->domain = strdup(domain)) == NULL) {
			continue;
		}
		snprintf(where, sizeof(where), "zone %.250s (member of catalog %.250s, template '%s')",
		         domain, cat->domain, t->id);
		snprintf(pre, sizeof(pre), "%s: ", where);
		knot_dname_to_wire(z->name, m->name, sizeof(z->name));
		/* A member a target cannot take is left out, not the whole
		 * configuration: its errors are told, not counted. */
		unsigned errors = c->errors;
		load_items(c, t->node, conf_zone_items + CONF_ZONE_OWN, where, pre, z);
		check_zone_targets(c, t->node, z);
		if (c->errors > errors) {
			c->errors = errors;
			free_items(conf_zone_items, z);
			memset(z, 0, sizeof(*z));
			continue;
		}
		z->primary = cat->primary;
		z->member_of = cat;
		z->template = t;
		conf->nzone++;
		if (zone_index_last(conf) != 0) {
			err_at(c, t->node, "out of memory");
		}
		((conf_primary_t *)z->primary)->nzone++;
	}
}

const conf_catalog_t *conf_catalog_find(const conf_t *conf, const knot_dname_t *name)
{
	for (size_t i = 0; conf != NULL && name != NULL && i < conf->ncatalog; i++) {
		if (dns_name_equal(conf->catalog[i].name, name)) {
			return &conf->catalog[i];
		}
	}
	return NULL;
}

/* --- entry points ------------------------------------------------------- */

/* Load the document root (taken: freed with conf) into conf. */
static int load_root(conf_t *conf, const char *name, const char *dir, ynode_t *root,
                     const conf_type_t *const *types, unsigned flags, const conf_member_t *m,
                     size_t nm, FILE *errs)
{
	memset(conf, 0, sizeof(*conf));
	struct ctx c = { .name = name, .errs = errs, .conf = conf, .types = types, .flags = flags,
		         .members = m, .nmembers = nm };
	conf->root = root;
	conf->path = strdup(name);
	conf->dir = dir ? strdup(dir) : NULL;
	conf->flags = flags;
	conf->types = types;
	c.dir = conf->dir;
	if (conf->root->kind != YNODE_MAP) {
		err_at(&c, conf->root, "the configuration must be a map of sections, not %s",
		       ynode_kind_str(conf->root->kind));
	} else {
		static const conf_item_t sections[] = {
			{ .name = "server" },   { .name = "key" },     { .name = "primary" },
			{ .name = "target" },   { .name = "zone" },    { .name = "template" },
			{ .name = "catalog" },  { .name = NULL },
		};
		check_keys(&c, conf->root, sections, NULL,
		           "the configuration (sections are "
		           "server, key, primary, target, zone, template, catalog)");
		load_server(&c, ynode_get(conf->root, "server"));
		load_keys(&c);
		load_primaries(&c);
		load_targets(&c);
		load_zones(&c);
		load_templates(&c);
		load_catalogs(&c);
		load_members(&c);
	}
	if (c.errors > 0) {
		conf_free(conf);
		return -EINVAL;
	}
	return 0;
}

static int load(conf_t *conf, const char *name, const char *dir, const char *data, size_t len,
                const conf_type_t *const *types, unsigned flags, FILE *errs)
{
	memset(conf, 0, sizeof(*conf));
	yaml_error_t yerr;
	ynode_t *root = ynode_parse(name, (const unsigned char *)data, len, &yerr);
	if (root == NULL) {
		if (errs != NULL) {
			fprintf(errs, "%s\n", yerr.msg);
		}
		return -EINVAL;
	}
	return load_root(conf, name, dir, root, types, flags, NULL, 0, errs);
}

int conf_with_members(const conf_t *from, const conf_member_t *m, size_t n, conf_t *out,
                      FILE *errs)
{
	memset(out, 0, sizeof(*out));
	ynode_t *root = ynode_dup(from->root);
	if (root == NULL) {
		if (errs != NULL) {
			fprintf(errs, "%s: out of memory\n", from->path);
		}
		return -ENOMEM;
	}
	int ret = load_root(out, from->path, from->dir, root, from->types, from->flags, m, n, errs);
	if (ret == 0) {
		memcpy(out->sha256, from->sha256, sizeof(out->sha256));
	}
	return ret;
}

int conf_load_string(conf_t *conf, const char *name, const char *data, size_t len,
                     const conf_type_t *const *types, FILE *errs)
{
	return load(conf, name, NULL, data, len, types, 0, errs);
}

int conf_load(conf_t *conf, const char *path, const conf_type_t *const *types, FILE *errs)
{
	return conf_load_flags(conf, path, types, 0, errs);
}

int conf_load_flags(conf_t *conf, const char *path, const conf_type_t *const *types, unsigned flags,
                    FILE *errs)
{
	memset(conf, 0, sizeof(*conf));
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		if (errs != NULL) {
			fprintf(errs, "%s: cannot open: %s\n", path, strerror(errno));
		}
		return -EINVAL;
	}
	char *data = malloc(MAX_CONF_SIZE + 1);
	size_t len = data ? fread(data, 1, MAX_CONF_SIZE + 1, f) : 0;
	int rerr = ferror(f);
	fclose(f);
	if (data == NULL || rerr || len > MAX_CONF_SIZE) {
		if (errs != NULL) {
			fprintf(errs, "%s: cannot read: %s\n", path,
			        data == NULL ? "out of memory"
			        : rerr       ? "read error"
			                     : "file too large");
		}
		free(data);
		return -EINVAL;
	}
	char *dir = strdup(path);
	char *slash = dir ? strrchr(dir, '/') : NULL;
	if (slash != NULL) {
		*slash = '\0';
	}
	int ret = load(conf, path, slash ? (dir[0] ? dir : "/") : NULL, data, len, types, flags,
	               errs);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	if (ret == 0 && EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) == 1) {
		for (unsigned i = 0; i < mdlen && 2 * i + 2 < sizeof(conf->sha256); i++) {
			snprintf(conf->sha256 + 2 * i, 3, "%02x", md[i]);
		}
	}
	free(dir);
	free(data);
	return ret;
}

void conf_free(conf_t *conf)
{
	for (size_t i = 0; i < conf->nkey; i++) {
		free(conf->key[i].id);
		knot_tsig_key_deinit(&conf->key[i].tsig);
	}
	free(conf->key);
	for (size_t i = 0; i < conf->nprimary; i++) {
		free_items(conf_primary_items, &conf->primary[i]);
	}
	free(conf->primary);
	for (size_t i = 0; i < conf->ntarget; i++) {
		free_items(conf_target_items, &conf->target[i]);
	}
	free(conf->target);
	for (size_t i = 0; i < conf->nzone; i++) {
		free_items(conf_zone_items, &conf->zone[i]);
	}
	free(conf->zone);
	for (size_t i = 0; i < conf->ntemplate; i++) {
		free_items(conf_template_items, &conf->template[i]);
	}
	free(conf->template);
	for (size_t i = 0; i < conf->ncatalog; i++) {
		for (size_t g = 0; g < conf->catalog[i].ngroup; g++) {
			free(conf->catalog[i].group[g].name);
		}
		free(conf->catalog[i].group);
		free_items(conf_catalog_items, &conf->catalog[i]);
	}
	free(conf->catalog);
	free(conf->dir);
	free(conf->zone_index);
	free_items(conf_server_items, conf);
	free(conf->path);
	ynode_free(conf->root);
	memset(conf, 0, sizeof(*conf));
}

const char *conf_target_str(const conf_target_t *t, const char *key)
{
	const ynode_t *n = ynode_get(t->node, key);
	return (n && n->kind == YNODE_SCALAR) ? n->value : NULL;
}

long long conf_target_int(const conf_target_t *t, const char *key, long long def)
{
	const char *v = conf_target_str(t, key);
	long long out;
	return (v && parse_int(v, &out) == 0) ? out : def;
}

bool conf_target_bool(const conf_target_t *t, const char *key, bool def)
{
	const char *v = conf_target_str(t, key);
	bool out;
	return (v && parse_bool(v, &out) == 0) ? out : def;
}

static bool ynode_same(const ynode_t *a, const ynode_t *b)
{
	if (a == NULL || b == NULL) {
		return a == b;
	}
	if (a->kind != b->kind || a->n != b->n ||
	    (a->kind == YNODE_SCALAR && strcmp(a->value, b->value) != 0)) {
		return false;
	}
	for (size_t i = 0; i < a->n; i++) {
		if (!ynode_same(a->item[i], b->item[i])) {
			return false;
		}
	}
	return true;
}

static bool key_same(const conf_key_t *a, const conf_key_t *b)
{
	if (a == NULL || b == NULL) {
		return a == b;
	}
	return strcmp(a->id, b->id) == 0 && a->tsig.algorithm == b->tsig.algorithm &&
	       knot_dname_is_equal(a->tsig.name, b->tsig.name) &&
	       a->tsig.secret.size == b->tsig.secret.size &&
	       memcmp(a->tsig.secret.data, b->tsig.secret.data, a->tsig.secret.size) == 0;
}

/* --- reload comparison: the keys flagged restart, by the tables ------------ */

static bool items_same(const conf_item_t *items, const void *a, const void *b);

static bool text_same(const char *a, const char *b)
{
	return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

/* One value of item it, at a and at b. */
static bool value_same(const conf_item_t *it, const void *a, const void *b)
{
	const void *pa, *pb;
	conf_limit_t la, lb;
	switch (it->type) {
	case CONF_STR:
	case CONF_PATH:
	case CONF_URL:
	case CONF_DNAME:
	case CONF_KEYREF:
	case CONF_PRIMARYREF:
	case CONF_TARGETREF:
		memcpy(&pa, a, sizeof(pa));
		memcpy(&pb, b, sizeof(pb));
		if (pa == NULL || pb == NULL) {
			return pa == pb;
		}
		return it->type == CONF_KEYREF       ? key_same(pa, pb)
		       : it->type == CONF_PRIMARYREF ? items_same(conf_primary_items, pa, pb)
		       : it->type == CONF_TARGETREF  ? conf_target_same(pa, pb)
		                                     : text_same(pa, pb);
	case CONF_LIMIT:
		memcpy(&la, a, sizeof(la));
		memcpy(&lb, b, sizeof(lb));
		return la.percent == lb.percent && la.value == lb.value;
	default: /* numbers, addresses, prefixes: their bytes */
		return memcmp(a, b, it->list ? elem_size(it) : it->size) == 0;
	}
}

/* Item it (stored) of two structures of its section. */
static bool field_same(const conf_item_t *it, const void *a, const void *b)
{
	const char *fa = (const char *)a + it->off, *fb = (const char *)b + it->off;
	if (it->type == CONF_RULES) {
		size_t na, nb;
		const zone_rule_t *ra, *rb;
		memcpy(&na, (const char *)a + it->count_off, sizeof(na));
		memcpy(&nb, (const char *)b + it->count_off, sizeof(nb));
		memcpy(&ra, fa, sizeof(ra));
		memcpy(&rb, fb, sizeof(rb));
		for (size_t i = 0; na == nb && i < na; i++) {
			if (!zone_rule_equal(&ra[i], &rb[i])) {
				return false;
			}
		}
		return na == nb;
	}
	if (!it->list) {
		return value_same(it, fa, fb);
	}
	size_t na, nb, size = elem_size(it);
	const char *ea, *eb;
	memcpy(&na, (const char *)a + it->count_off, sizeof(na));
	memcpy(&nb, (const char *)b + it->count_off, sizeof(nb));
	memcpy(&ea, fa, sizeof(ea));
	memcpy(&eb, fb, sizeof(eb));
	for (size_t i = 0; na == nb && i < na; i++) {
		if (!value_same(it, ea + i * size, eb + i * size)) {
			return false;
		}
	}
	return na == nb;
}

/* Are the keys flagged restart the same in a and b, two structures of the
 * section of items?  A reference is compared by what it refers to. */
static bool items_same(const conf_item_t *items, const void *a, const void *b)
{
	for (const conf_item_t *it = items; it->name != NULL; it++) {
		if (it->type == CONF_MAP ? !items_same(it->sub, a, b)
		                         : it->restart && it->size > 0 && !field_same(it, a, b)) {
			return false;
		}
	}
	return true;
}

bool conf_target_same(const conf_target_t *a, const conf_target_t *b)
{
	if (a->type != b->type || !items_same(conf_target_items, a, b) ||
	    !key_same(a->key, b->key)) {
		return false;
	}
	/* The type's keys stay in the node: compared there, one by one. */
	for (const conf_item_t *it = a->type->items; it->name != NULL; it++) {
		if (it->restart &&
		    !ynode_same(ynode_get(a->node, it->name), ynode_get(b->node, it->name))) {
			return false;
		}
	}
	return true;
}

static size_t server_changed(const conf_item_t *items, const char *prefix, const conf_t *a,
                             const conf_t *b, char (*out)[32], size_t n, size_t max)
{
	for (const conf_item_t *it = items; it->name != NULL && n < max; it++) {
		if (it->type == CONF_MAP) {
			n = server_changed(it->sub, it->name, a, b, out, n, max);
		} else if (it->restart && it->size > 0 && !field_same(it, a, b)) {
			snprintf(out[n++], 32, "%s%s%s", prefix, prefix[0] ? "." : "", it->name);
		}
	}
	return n;
}

size_t conf_server_changed(const conf_t *a, const conf_t *b, char (*out)[32], size_t max)
{
	return server_changed(conf_server_items, "", a, b, out, 0, max);
}

bool conf_zone_same(const conf_zone_t *a, const conf_zone_t *b)
{
	/* Where it comes from too: a member that moved to another template
	 * (its group changed) restarts with it, even were its keys the same. */
	const conf_catalog_t *ca = a->member_of ? a->member_of : a->catalog;
	const conf_catalog_t *cb = b->member_of ? b->member_of : b->catalog;
	return items_same(conf_zone_items, a, b) && (a->catalog == NULL) == (b->catalog == NULL) &&
	       (ca == NULL) == (cb == NULL) && (ca == NULL || strcmp(ca->domain, cb->domain) == 0) &&
	       (a->template == NULL) == (b->template == NULL) &&
	       (a->template == NULL || (strcmp(a->template->id, b->template->id) == 0 &&
	                                a->template->on_remove == b->template->on_remove));
}

const conf_zone_t *conf_zone_find(const conf_t *conf, const knot_dname_t *name)
{
	if (conf == NULL || name == NULL) {
		return NULL;
	}
	if (conf->zone_slots == 0) {
		return NULL;
	}
	uint32_t slot = *zone_slot(conf, name);
	return slot != 0 ? &conf->zone[slot - 1] : NULL;
}
