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
#include <libknot/errcode.h>

#include "dns/name.h"

#define MAX_CONF_SIZE (16 * 1024 * 1024)
#define MAX_SECRET_SIZE 4096

/* Defaults and ranges of the zone and server keys (see zonesync.yaml(5)). */
#define MINUTE 60u
#define HOUR (60u * MINUTE)
#define DAY (24u * HOUR)
#define WEEK (7u * DAY)
#define DEF_REFRESH_MIN 60u
#define DEF_REFRESH_MAX DAY
#define DEF_RETRY_MIN 30u
#define DEF_RETRY_MAX HOUR
#define DEF_EXPIRE_MIN HOUR
#define DEF_EXPIRE_MAX (30u * DAY)
#define DEF_XFR_MAX_RECORDS 10000000u
#define MAX_XFR_MAX_RECORDS UINT32_MAX
#define DEF_XFR_MAX_BYTES (1ull << 30)
#define MAX_XFR_MAX_BYTES (1ull << 40)
#define DEF_XFR_TIMEOUT 600u
#define MAX_XFR_TIMEOUT DAY
#define DEF_NOTIFY_RATE_LIMIT 1000u
#define MAX_NOTIFY_RATE_LIMIT 1000000u
#define DEF_TCP_MAX_CLIENTS 100u
#define MAX_TCP_MAX_CLIENTS 65535u
#define DEF_TCP_IDLE_TIMEOUT 10u
#define MAX_TCP_IDLE_TIMEOUT HOUR

struct ctx {
	const char *name; /* file name in messages */
	char *dir;        /* directory of the file, for relative secret-file paths */
	FILE *errs;
	unsigned errors;
	conf_t *conf;
	const conf_type_t *const *types; /* the target types known */
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

/* A list key also takes a single value.  Calls fn for each item. */
typedef void (*item_fn)(struct ctx *c, const ynode_t *item, const char *key, void *arg);
static void each(struct ctx *c, const ynode_t *n, const char *key, item_fn fn, void *arg)
{
	if (n == NULL) {
		return;
	}
	if (n->kind == YNODE_SCALAR) {
		fn(c, n, key, arg);
	} else if (n->kind == YNODE_SEQ) {
		if (n->n == 0) {
			err_at(c, n, "'%s' must not be an empty list", key);
		}
		for (size_t i = 0; i < n->n; i++) {
			if (want(c, n->item[i], YNODE_SCALAR, key, "a list of values") != NULL) {
				fn(c, n->item[i], key, arg);
			}
		}
	} else {
		err_at(c, n, "'%s' must be a value or a list of values, not a map", key);
	}
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

/* Check a map against its allowed keys; reports each unknown key. */
static bool check_keys(struct ctx *c, const ynode_t *map, const char *const *allowed,
                       const conf_item_t *items, const char *where)
{
	bool ok = true;
	for (size_t i = 0; i + 1 < map->n; i += 2) {
		const char *k = map->item[i]->value;
		bool known = false;
		for (size_t j = 0; allowed && allowed[j] && !known; j++) {
			known = strcmp(allowed[j], k) == 0;
		}
		for (size_t j = 0; items && items[j].name && !known; j++) {
			known = strcmp(items[j].name, k) == 0;
		}
		if (!known) {
			err_at(c, map->item[i], "unknown key '%s' in %s", k, where);
			ok = false;
		}
	}
	return ok;
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

/*
 * Numeric keys of a map.  Each returns 1 when the key is given and valid,
 * 0 when it is absent (*out is then def), -1 after reporting an error.
 * pre starts the messages ("zone 'example.com': ", or "").
 */
static int load_duration(struct ctx *c, const ynode_t *map, const char *key, const char *pre,
                         uint32_t min, uint32_t max, uint32_t def, uint32_t *out)
{
	*out = def;
	const ynode_t *n = ynode_get(map, key);
	if (n == NULL) {
		return 0;
	}
	const char *v = scalar(c, n, key);
	uint32_t d;
	if (v == NULL) {
		return -1;
	}
	if (conf_parse_duration(v, &d) != 0) {
		err_at(c, n,
		       "%s'%s' must be a duration (seconds, or a number with s, m, h, d or w), "
		       "not '%s'",
		       pre, key, v);
		return -1;
	}
	if (d < min || d > max) {
		char lo[16], hi[16];
		err_at(c, n, "%s'%s' must be a duration from %s to %s, not '%s'", pre, key,
		       fmt_duration(min, lo), fmt_duration(max, hi), v);
		return -1;
	}
	*out = d;
	return 1;
}

static int load_uint(struct ctx *c, const ynode_t *map, const char *key, const char *pre,
                     uint64_t min, uint64_t max, uint64_t def, uint64_t *out)
{
	*out = def;
	const ynode_t *n = ynode_get(map, key);
	if (n == NULL) {
		return 0;
	}
	const char *v = scalar(c, n, key);
	long long iv;
	if (v == NULL) {
		return -1;
	}
	if (parse_int(v, &iv) != 0 || iv < 0 || (uint64_t)iv < min || (uint64_t)iv > max) {
		err_at(c, n, "%s'%s' must be an integer from %" PRIu64 " to %" PRIu64 ", not '%s'",
		       pre, key, min, max, v);
		return -1;
	}
	*out = (uint64_t)iv;
	return 1;
}

static int load_uint32(struct ctx *c, const ynode_t *map, const char *key, const char *pre,
                       uint32_t min, uint32_t max, uint32_t def, uint32_t *out)
{
	uint64_t v;
	int ret = load_uint(c, map, key, pre, min, max, def, &v);
	*out = (uint32_t)v;
	return ret;
}

static int load_size(struct ctx *c, const ynode_t *map, const char *key, const char *pre,
                     uint64_t min, uint64_t max, uint64_t def, uint64_t *out)
{
	*out = def;
	const ynode_t *n = ynode_get(map, key);
	if (n == NULL) {
		return 0;
	}
	const char *v = scalar(c, n, key);
	uint64_t sz;
	if (v == NULL) {
		return -1;
	}
	if (parse_size(v, max, &sz) != 0 || sz < min) {
		err_at(c, n,
		       "%s'%s' must be a size from %" PRIu64 " to %" PRIu64
		       " bytes (a number, or one with K, M or G), not '%s'",
		       pre, key, min, max, v);
		return -1;
	}
	*out = sz;
	return 1;
}

/* --- server ------------------------------------------------------------- */

struct addr_list {
	net_addr_t *a;
	size_t n;
	uint16_t port;
};

static void add_addr(struct ctx *c, const ynode_t *item, const char *key, void *arg)
{
	struct addr_list *l = arg;
	if (net_parse_addr(item->value, l->port, &l->a[l->n]) != 0) {
		err_at(c, item, "'%s': bad address '%s', expected IP[@PORT]", key, item->value);
		return;
	}
	l->n++;
}

static void load_server(struct ctx *c, const ynode_t *n)
{
	conf_t *conf = c->conf;
	static const char *const keys[] = { "listen",
		                            "state",
		                            "metrics",
		                            "user",
		                            "pid-file",
		                            "log",
		                            "notify-rate-limit",
		                            "tcp-max-clients",
		                            "tcp-idle-timeout",
		                            NULL };
	/* Defaults first: they hold when the section is absent (or not a map)
	 * as well as for the keys it leaves out. */
	conf->server.log_target = LOG_TARGET_STDERR;
	conf->server.log_level = LOG_LEVEL_INFO;
	conf->server.notify_rate_limit = DEF_NOTIFY_RATE_LIMIT;
	conf->server.tcp_max_clients = DEF_TCP_MAX_CLIENTS;
	conf->server.tcp_idle_timeout = DEF_TCP_IDLE_TIMEOUT;
	if (n == NULL || want(c, n, YNODE_MAP, "server", "a map") == NULL) {
		goto defaults;
	}
	check_keys(c, n, keys, NULL, "server");

	const ynode_t *listen = ynode_get(n, "listen");
	if (listen != NULL) {
		struct addr_list l = { calloc(list_len(listen) + 1, sizeof(net_addr_t)), 0, 53 };
		if (l.a != NULL) {
			each(c, listen, "listen", add_addr, &l);
			conf->server.listen = l.a;
			conf->server.nlisten = l.n;
		}
	}
	const char *state = scalar(c, ynode_get(n, "state"), "state");
	if (state != NULL) {
		conf->server.state = strdup(state);
	}
	const char *metrics = scalar(c, ynode_get(n, "metrics"), "metrics");
	if (metrics != NULL) {
		if (net_parse_addr(metrics, 9153, &conf->server.metrics) != 0) {
			err_at(c, ynode_get(n, "metrics"),
			       "'metrics': bad address '%s', expected IP[@PORT]", metrics);
		} else {
			conf->server.has_metrics = true;
		}
	}
	const char *user = scalar(c, ynode_get(n, "user"), "user");
	if (user != NULL) {
		conf->server.user = strdup(user);
	}
	const char *pid_file = scalar(c, ynode_get(n, "pid-file"), "pid-file");
	if (pid_file != NULL) {
		conf->server.pid_file = strdup(pid_file);
	}
	load_uint32(c, n, "notify-rate-limit", "", 0, MAX_NOTIFY_RATE_LIMIT, DEF_NOTIFY_RATE_LIMIT,
	            &conf->server.notify_rate_limit);
	load_uint32(c, n, "tcp-max-clients", "", 1, MAX_TCP_MAX_CLIENTS, DEF_TCP_MAX_CLIENTS,
	            &conf->server.tcp_max_clients);
	load_duration(c, n, "tcp-idle-timeout", "", 1, MAX_TCP_IDLE_TIMEOUT, DEF_TCP_IDLE_TIMEOUT,
	              &conf->server.tcp_idle_timeout);
	const ynode_t *log = ynode_get(n, "log");
	if (log != NULL && want(c, log, YNODE_MAP, "log", "a map") != NULL) {
		static const char *const lkeys[] = { "target", "level", NULL };
		check_keys(c, log, lkeys, NULL, "server.log");
		const char *t = scalar(c, ynode_get(log, "target"), "target");
		if (t != NULL) {
			if (strcmp(t, "stderr") == 0) {
				conf->server.log_target = LOG_TARGET_STDERR;
			} else if (strcmp(t, "syslog") == 0) {
				conf->server.log_target = LOG_TARGET_SYSLOG;
			} else {
				err_at(c, ynode_get(log, "target"),
				       "'target': '%s' is not one of stderr, syslog", t);
			}
		}
		static const char *const levels[] = { "debug",   "info",  "notice",
			                              "warning", "error", NULL };
		const char *lv = scalar(c, ynode_get(log, "level"), "level");
		if (lv != NULL) {
			size_t i = 0;
			while (levels[i] && strcmp(levels[i], lv) != 0) {
				i++;
			}
			if (levels[i] == NULL) {
				err_at(c, ynode_get(log, "level"),
				       "'level': '%s' is not one of debug, info, notice, warning, "
				       "error",
				       lv);
			} else {
				conf->server.log_level = (log_level_t)i;
			}
		}
	}
defaults:
	if (conf->server.state == NULL) {
		conf->server.state = strdup("/var/lib/zonesync");
	}
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

static const char *item_id(struct ctx *c, const ynode_t *list, size_t idx, const char *section,
                           const char *idkey)
{
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
	for (size_t j = 0; j < idx; j++) {
		const ynode_t *prev = ynode_get(list->item[j], idkey);
		if (prev != NULL && prev->kind == YNODE_SCALAR &&
		    strcasecmp(prev->value, id) == 0 && strcmp(idkey, "domain") != 0) {
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
		err_at(c, n, "key '%s': cannot read secret-file '%s': %s", id, path,
		       strerror(errno));
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
	static const char *const keys[] = { "id", "algorithm", "secret", "secret-file", NULL };
	for (size_t i = 0; i < list->n; i++) {
		const char *id = item_id(c, list, i, "key", "id");
		if (id == NULL) {
			continue;
		}
		const ynode_t *item = list->item[i];
		char where[300];
		snprintf(where, sizeof(where), "key '%.200s'", id);
		check_keys(c, item, keys, NULL, where);
		knot_dname_storage_t dn;
		if (dns_name_from_str(id, dn) < 0) {
			err_at(c, ynode_get(item, "id"), "key id '%s' is not a valid domain name",
			       id);
			continue;
		}
		const ynode_t *algn = required(c, item, "algorithm", where);
		const char *alg = scalar(c, algn, "algorithm");
		if (alg != NULL && dnssec_tsig_algorithm_from_name(alg) == DNSSEC_TSIG_UNKNOWN) {
			err_at(c, algn,
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
			const char *s = scalar(c, sn, "secret");
			secret = s ? strdup(s) : NULL;
		} else if (scalar(c, sfn, "secret-file") != NULL) {
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
static const conf_key_t *key_ref(struct ctx *c, const ynode_t *n, const char *where)
{
	const char *id = scalar(c, n, "key");
	if (id == NULL) {
		return NULL;
	}
	const conf_key_t *k = find_key(c->conf, id);
	if (k == NULL && !declared(c, "key", id)) {
		err_at(c, n, "%s: key '%s' is not defined", where, id);
	}
	return k;
}

struct prefix_list {
	net_prefix_t *p;
	size_t n;
};

static void add_prefix(struct ctx *c, const ynode_t *item, const char *key, void *arg)
{
	struct prefix_list *l = arg;
	if (net_parse_prefix(item->value, &l->p[l->n]) != 0) {
		err_at(c, item, "'%s': bad prefix '%s', expected IP[/BITS] with no host bits set",
		       key, item->value);
		return;
	}
	l->n++;
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
	static const char *const keys[] = { "id", "address", "key", "notify-from", NULL };
	for (size_t i = 0; i < list->n; i++) {
		const char *id = item_id(c, list, i, "primary", "id");
		if (id == NULL) {
			continue;
		}
		const ynode_t *item = list->item[i];
		char where[300];
		snprintf(where, sizeof(where), "primary '%.200s'", id);
		check_keys(c, item, keys, NULL, where);
		conf_primary_t *p = &conf->primary[conf->nprimary++];
		p->id = strdup(id);

		const ynode_t *addr = required(c, item, "address", where);
		struct addr_list al = { calloc(list_len(addr) + 1, sizeof(net_addr_t)), 0, 53 };
		if (al.a != NULL) {
			each(c, addr, "address", add_addr, &al);
		}
		p->addr = al.a;
		p->naddr = al.n;

		const ynode_t *kn = ynode_get(item, "key");
		if (kn != NULL) {
			p->key = key_ref(c, kn, where);
		}
		const ynode_t *nf = ynode_get(item, "notify-from");
		if (nf != NULL) {
			struct prefix_list pl = { calloc(list_len(nf) + 1, sizeof(net_prefix_t)),
				                  0 };
			if (pl.p != NULL) {
				each(c, nf, "notify-from", add_prefix, &pl);
			}
			p->notify_from = pl.p;
			p->nnotify_from = pl.n;
		}
	}
}

static void check_item(struct ctx *c, const ynode_t *n, const conf_item_t *it, const char *where)
{
	const char *v;
	long long iv;
	bool bv;
	net_addr_t a;
	switch (it->type) {
	case CONF_STRLIST:
		if (n->kind == YNODE_SEQ) {
			if (n->n == 0) {
				err_at(c, n, "%s: '%s' must not be an empty list", where, it->name);
			}
			for (size_t i = 0; i < n->n; i++) {
				want(c, n->item[i], YNODE_SCALAR, it->name, "a list of values");
			}
		} else {
			want(c, n, YNODE_SCALAR, it->name, "a value or a list of values");
		}
		return;
	default:
		break;
	}
	v = scalar(c, n, it->name);
	if (v == NULL) {
		return;
	}
	switch (it->type) {
	case CONF_STR:
	case CONF_PATH:
	case CONF_STRLIST:
		break;
	case CONF_INT:
		if (parse_int(v, &iv) != 0 || iv < it->min || iv > it->max) {
			err_at(c, n, "%s: '%s' must be an integer from %lld to %lld, not '%s'",
			       where, it->name, it->min, it->max, v);
		}
		break;
	case CONF_BOOL:
		if (parse_bool(v, &bv) != 0) {
			err_at(c, n, "%s: '%s' must be true or false, not '%s'", where, it->name,
			       v);
		}
		break;
	case CONF_ENUM: {
		bool ok = false;
		char choices[256] = "";
		for (size_t i = 0; it->choices[i]; i++) {
			ok |= strcmp(it->choices[i], v) == 0;
			if (i > 0) {
				strncat(choices, ", ", sizeof(choices) - strlen(choices) - 1);
			}
			strncat(choices, it->choices[i], sizeof(choices) - strlen(choices) - 1);
		}
		if (!ok) {
			err_at(c, n, "%s: '%s' is '%s', expected one of %s", where, it->name, v,
			       choices);
		}
		break;
	}
	case CONF_ADDR:
		if (net_parse_addr(v, 53, &a) != 0) {
			err_at(c, n, "%s: '%s': bad address '%s', expected IP[@PORT]", where,
			       it->name, v);
		}
		break;
	case CONF_URL:
		if (!check_url(v)) {
			err_at(c, n, "%s: '%s': bad URL '%s', expected http://HOST[:PORT][/PATH]",
			       where, it->name, v);
		}
		break;
	case CONF_KEYREF:
		key_ref(c, n, where);
		break;
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
	static const char *const keys[] = { "id", "type", NULL };
	for (size_t i = 0; i < list->n; i++) {
		const char *id = item_id(c, list, i, "target", "id");
		if (id == NULL) {
			continue;
		}
		const ynode_t *item = list->item[i];
		char where[300];
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
		check_keys(c, item, keys, type->items, where);
		for (const conf_item_t *it = type->items; it->name; it++) {
			const ynode_t *v = ynode_get(item, it->name);
			if (v == NULL) {
				if (it->required) {
					err_at(c, item, "%s: missing required key '%s'", where,
					       it->name);
				}
				continue;
			}
			check_item(c, v, it, where);
		}
		conf_target_t *t = &conf->target[conf->ntarget++];
		t->id = strdup(id);
		t->type = type;
		t->node = item;
		/* Resolved here, as a primary's key is: the target's code then
		 * needs no access to the key section. */
		for (const conf_item_t *it = type->items; it->name; it++) {
			const char *kid = it->type == CONF_KEYREF ? conf_target_str(t, it->name) : NULL;
			if (kid != NULL) {
				t->key = find_key(conf, kid);
			}
		}
	}
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

static void load_limit(struct ctx *c, const ynode_t *item, const char *key, conf_limit_t *out,
                       const char *where)
{
	out->percent = true;
	out->value = 30;
	const ynode_t *n = ynode_get(item, key);
	const char *v = scalar(c, n, key);
	if (v != NULL && parse_limit(v, out) != 0) {
		err_at(c, n,
		       "%s: '%s' must be a percentage (0%%-100%%) or a count of RRsets, not '%s'",
		       where, key, v);
	}
}

/* The SOA timer bounds and the transfer limits of a zone. */
static void load_zone_timing(struct ctx *c, const ynode_t *item, conf_zone_t *z, const char *where)
{
	char pre[320];
	snprintf(pre, sizeof(pre), "%s: ", where);
	const struct {
		const char *kmin, *kmax;
		uint32_t dmin, dmax;
		uint32_t *min, *max;
	} bounds[] = {
		{ "refresh-min-interval", "refresh-max-interval", DEF_REFRESH_MIN, DEF_REFRESH_MAX,
		  &z->refresh_min, &z->refresh_max },
		{ "retry-min-interval", "retry-max-interval", DEF_RETRY_MIN, DEF_RETRY_MAX,
		  &z->retry_min, &z->retry_max },
		{ "expire-min-interval", "expire-max-interval", DEF_EXPIRE_MIN, DEF_EXPIRE_MAX,
		  &z->expire_min, &z->expire_max },
	};
	for (size_t i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++) {
		int rmin = load_duration(c, item, bounds[i].kmin, pre, 0, UINT32_MAX,
		                         bounds[i].dmin, bounds[i].min);
		int rmax = load_duration(c, item, bounds[i].kmax, pre, 0, UINT32_MAX,
		                         bounds[i].dmax, bounds[i].max);
		if (rmin < 0 || rmax < 0 || *bounds[i].min <= *bounds[i].max) {
			continue;
		}
		if (rmax > 0) {
			err_at(c, ynode_get(item, bounds[i].kmax),
			       "%s'%s' (%" PRIu32 ") is below '%s' (%" PRIu32 ")", pre,
			       bounds[i].kmax, *bounds[i].max, bounds[i].kmin, *bounds[i].min);
		} else {
			/* The max is the default: say so, at the min. */
			err_at(c, ynode_get(item, bounds[i].kmin),
			       "%s'%s' (%" PRIu32 ", the default) is below '%s' (%" PRIu32 ")", pre,
			       bounds[i].kmax, *bounds[i].max, bounds[i].kmin, *bounds[i].min);
		}
	}
	load_uint(c, item, "transfer-max-records", pre, 1, MAX_XFR_MAX_RECORDS, DEF_XFR_MAX_RECORDS,
	          &z->xfr_max_records);
	load_size(c, item, "transfer-max-bytes", pre, 1, MAX_XFR_MAX_BYTES, DEF_XFR_MAX_BYTES,
	          &z->xfr_max_bytes);
	load_duration(c, item, "transfer-timeout", pre, 1, MAX_XFR_TIMEOUT, DEF_XFR_TIMEOUT,
	              &z->xfr_timeout);
}

static void load_zones(struct ctx *c)
{
	const ynode_t *list = section_list(c, "zone");
	if (list == NULL) {
		return;
	}
	conf_t *conf = c->conf;
	conf->zone = calloc(list->n + 1, sizeof(*conf->zone));
	if (conf->zone == NULL) {
		return;
	}
	static const char *const keys[] = { "domain",
		                            "primary",
		                            "target",
		                            "max-delete",
		                            "max-update",
		                            "refresh-min-interval",
		                            "refresh-max-interval",
		                            "retry-min-interval",
		                            "retry-max-interval",
		                            "expire-min-interval",
		                            "expire-max-interval",
		                            "transfer-max-records",
		                            "transfer-max-bytes",
		                            "transfer-timeout",
		                            NULL };
	for (size_t i = 0; i < list->n; i++) {
		const char *domain = item_id(c, list, i, "zone", "domain");
		if (domain == NULL) {
			continue;
		}
		const ynode_t *item = list->item[i];
		const ynode_t *dn = ynode_get(item, "domain");
		char where[300];
		snprintf(where, sizeof(where), "zone '%.200s'", domain);
		check_keys(c, item, keys, NULL, where);

		conf_zone_t *z = &conf->zone[conf->nzone];
		if (dns_name_from_str(domain, z->name) < 0) {
			err_at(c, dn, "zone '%s' is not a valid domain name", domain);
			continue;
		}
		char canon[DNS_NAME_STR_MAX];
		dns_name_to_str(z->name, canon, sizeof(canon));
		bool dup = false;
		for (size_t j = 0; j < conf->nzone && !dup; j++) {
			if (dns_name_equal(conf->zone[j].name, z->name)) {
				err_at(c, dn, "zone %s is defined twice", canon);
				dup = true;
			}
		}
		if (dup) {
			continue;
		}

		const ynode_t *pn = required(c, item, "primary", where);
		const char *pid = scalar(c, pn, "primary");
		if (pid != NULL) {
			for (size_t j = 0; j < conf->nprimary; j++) {
				if (strcasecmp(conf->primary[j].id, pid) == 0) {
					z->primary = &conf->primary[j];
				}
			}
			if (z->primary == NULL) {
				err_at(c, pn, "%s: primary '%s' is not defined", where, pid);
			}
		}
		const ynode_t *tn = ynode_get(item, "target");
		if (tn != NULL) {
			z->target = calloc(list_len(tn) + 1, sizeof(*z->target));
			const ynode_t *single[1] = { tn };
			const ynode_t *const *items =
			        tn->kind == YNODE_SEQ ? (const ynode_t *const *)tn->item : single;
			size_t nitems = tn->kind == YNODE_SEQ ? tn->n : 1;
			if (tn->kind == YNODE_MAP) {
				err_at(c, tn,
				       "'target' must be a value or a list of values, not a map");
				nitems = 0;
			} else if (tn->kind == YNODE_SEQ && tn->n == 0) {
				err_at(c, tn, "'target' must not be an empty list");
			}
			for (size_t k = 0; z->target && k < nitems; k++) {
				const char *tid = scalar(c, items[k], "target");
				if (tid == NULL) {
					continue;
				}
				const conf_target_t *t = NULL;
				for (size_t j = 0; j < conf->ntarget; j++) {
					if (strcasecmp(conf->target[j].id, tid) == 0) {
						t = &conf->target[j];
					}
				}
				bool twice = false;
				for (size_t j = 0; t && j < z->ntarget; j++) {
					twice |= z->target[j] == t;
				}
				if (t == NULL) {
					/* A declared target that failed its own checks was
					 * already reported. */
					if (!declared(c, "target", tid)) {
						err_at(c, items[k],
						       "%s: target '%s' is not defined", where,
						       tid);
					}
				} else if (twice) {
					err_at(c, items[k], "%s: target '%s' is listed twice",
					       where, tid);
				} else {
					z->target[z->ntarget++] = t;
				}
			}
		}
		load_limit(c, item, "max-delete", &z->max_delete, where);
		load_limit(c, item, "max-update", &z->max_update, where);
		load_zone_timing(c, item, z, where);
		z->domain = strdup(canon);
		conf->nzone++;
	}
}

/* --- entry points ------------------------------------------------------- */

static int load(conf_t *conf, const char *name, const char *dir, const char *data, size_t len,
                const conf_type_t *const *types, FILE *errs)
{
	memset(conf, 0, sizeof(*conf));
	struct ctx c = { .name = name, .errs = errs, .conf = conf, .types = types };
	c.dir = dir ? strdup(dir) : NULL;

	yaml_error_t yerr;
	conf->root = ynode_parse(name, (const unsigned char *)data, len, &yerr);
	if (conf->root == NULL) {
		if (errs != NULL) {
			fprintf(errs, "%s\n", yerr.msg);
		}
		free(c.dir);
		return -EINVAL;
	}
	conf->path = strdup(name);
	if (conf->root->kind != YNODE_MAP) {
		err_at(&c, conf->root, "the configuration must be a map of sections, not %s",
		       ynode_kind_str(conf->root->kind));
	} else {
		static const char *const sections[] = { "server", "key",  "primary",
			                                "target", "zone", NULL };
		check_keys(&c, conf->root, sections, NULL,
		           "the configuration (sections are "
		           "server, key, primary, target, zone)");
		load_server(&c, ynode_get(conf->root, "server"));
		load_keys(&c);
		load_primaries(&c);
		load_targets(&c);
		load_zones(&c);
	}
	free(c.dir);
	if (c.errors > 0) {
		conf_free(conf);
		return -EINVAL;
	}
	return 0;
}

int conf_load_string(conf_t *conf, const char *name, const char *data, size_t len,
                     const conf_type_t *const *types, FILE *errs)
{
	return load(conf, name, NULL, data, len, types, errs);
}

int conf_load(conf_t *conf, const char *path, const conf_type_t *const *types, FILE *errs)
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
	int ret = load(conf, path, slash ? (dir[0] ? dir : "/") : NULL, data, len, types, errs);
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
		free(conf->primary[i].id);
		free(conf->primary[i].addr);
		free(conf->primary[i].notify_from);
	}
	free(conf->primary);
	for (size_t i = 0; i < conf->ntarget; i++) {
		free(conf->target[i].id);
	}
	free(conf->target);
	for (size_t i = 0; i < conf->nzone; i++) {
		free(conf->zone[i].domain);
		free(conf->zone[i].target);
	}
	/* A zone rejected half-way may hold targets but was not counted. */
	if (conf->zone != NULL) {
		free(conf->zone[conf->nzone].target);
	}
	free(conf->zone);
	free(conf->server.listen);
	free(conf->server.state);
	free(conf->server.user);
	free(conf->server.pid_file);
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

static bool addrs_same(const void *a, size_t na, const void *b, size_t nb, size_t size)
{
	return na == nb && (na == 0 || memcmp(a, b, na * size) == 0);
}

bool conf_target_same(const conf_target_t *a, const conf_target_t *b)
{
	return strcmp(a->id, b->id) == 0 && a->type == b->type && ynode_same(a->node, b->node) &&
	       key_same(a->key, b->key);
}

bool conf_zone_same(const conf_zone_t *a, const conf_zone_t *b)
{
	const conf_primary_t *pa = a->primary, *pb = b->primary;
	if (strcmp(a->domain, b->domain) != 0 || a->ntarget != b->ntarget ||
	    memcmp(&a->max_delete, &b->max_delete, sizeof(a->max_delete)) != 0 ||
	    memcmp(&a->max_update, &b->max_update, sizeof(a->max_update)) != 0 ||
	    a->refresh_min != b->refresh_min || a->refresh_max != b->refresh_max ||
	    a->retry_min != b->retry_min || a->retry_max != b->retry_max ||
	    a->expire_min != b->expire_min || a->expire_max != b->expire_max ||
	    a->xfr_max_records != b->xfr_max_records || a->xfr_max_bytes != b->xfr_max_bytes ||
	    a->xfr_timeout != b->xfr_timeout) {
		return false;
	}
	if (strcmp(pa->id, pb->id) != 0 || !key_same(pa->key, pb->key) ||
	    !addrs_same(pa->addr, pa->naddr, pb->addr, pb->naddr, sizeof(*pa->addr)) ||
	    !addrs_same(pa->notify_from, pa->nnotify_from, pb->notify_from, pb->nnotify_from,
	                sizeof(*pa->notify_from))) {
		return false;
	}
	for (size_t i = 0; i < a->ntarget; i++) {
		if (!conf_target_same(a->target[i], b->target[i])) {
			return false;
		}
	}
	return true;
}

const conf_zone_t *conf_zone_find(const conf_t *conf, const knot_dname_t *name)
{
	if (conf == NULL || name == NULL) {
		return NULL;
	}
	for (size_t i = 0; i < conf->nzone; i++) {
		if (dns_name_equal(conf->zone[i].name, name)) {
			return &conf->zone[i];
		}
	}
	return NULL;
}
