#include "zone/zonefile.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <libknot/descriptor.h>
#include <libzscanner/scanner.h>

#include "dns/name.h"
#include "dns/rdata.h"

/* A record seen before the SOA, to be checked once the apex is known. */
struct pending {
	uint8_t *owner;
	char *file;
	uint64_t line;
};

struct load_ctx {
	zone_t *z;
	const char *name; /* top-level input name */
	zone_error_t *err;
	int ret;
	bool fixed_apex; /* apex given by the caller */
	bool have_soa;
	bool no_include;
	struct pending *pending;
	size_t npending, cappending;
	uint8_t apex_key[DNS_KEY_MAX]; /* owners in the zone start with it */
	size_t apex_keylen;
};

static const char *file_of(const zs_scanner_t *s, const struct load_ctx *c)
{
	return (s->file.name != NULL && s->file.name[0] != '\0') ? s->file.name : c->name;
}

static void fail(struct load_ctx *c, zs_scanner_t *s, int ret, const char *file, uint64_t line,
                 const char *fmt, ...)
{
	if (c->ret == 0) {
		/* Line 0: a problem of the whole input, not of one line. */
		int n = line > 0 ? snprintf(c->err->msg, sizeof(c->err->msg), "%s:%llu: ", file,
		                            (unsigned long long)line)
		                 : snprintf(c->err->msg, sizeof(c->err->msg), "%s: ", file);
		va_list ap;
		va_start(ap, fmt);
		if (n > 0 && (size_t)n < sizeof(c->err->msg)) {
			vsnprintf(c->err->msg + n, sizeof(c->err->msg) - (size_t)n, fmt, ap);
		}
		va_end(ap);
		c->ret = ret;
	}
	if (s != NULL) {
		s->state = ZS_STATE_STOP;
	}
}

/* In the zone iff the apex key is a prefix of the owner key (keys are
 * lowercase and every label ends in 0x00); otherwise report it. */
static bool owner_in_zone(struct load_ctx *c, zs_scanner_t *s, const uint8_t *owner,
                          const uint8_t *key, size_t keylen, const char *file, uint64_t line)
{
	if (keylen >= c->apex_keylen && memcmp(key, c->apex_key, c->apex_keylen) == 0) {
		return true;
	}
	char o[DNS_NAME_STR_MAX], a[DNS_NAME_STR_MAX];
	fail(c, s, -EINVAL, file, line, "record owner %s is outside the zone %s",
	     dns_name_to_str(owner, o, sizeof(o)), dns_name_to_str(c->z->apex, a, sizeof(a)));
	return false;
}

/* Add the scanner's current record, owner given by its key. */
static void add(struct load_ctx *c, zs_scanner_t *s, const uint8_t *key, size_t keylen,
                const char *file, uint64_t line)
{
	char tname[32];
	if (s->r_data_length > DNS_RDATA_MAX) {
		fail(c, s, -EINVAL, file, line, "record data too long");
		return;
	}
	int ret = zone_add_key(c->z, key, keylen, s->r_type, s->r_ttl, s->r_data,
	                       (uint16_t)s->r_data_length);
	if (ret == -ENOMEM) {
		fail(c, s, ret, file, line, "out of memory");
	} else if (ret < 0) {
		fail(c, s, -EINVAL, file, line, "malformed %s record data",
		     dns_type_str(s->r_type, tname, sizeof(tname)));
	}
}

static void on_record(zs_scanner_t *s)
{
	struct load_ctx *c = s->process.data;
	if (c->ret != 0) {
		s->state = ZS_STATE_STOP;
		return;
	}
	const char *file = file_of(s, c);
	uint64_t line = s->line_counter;
	char tname[32];

	if (s->r_class != KNOT_CLASS_IN) {
		fail(c, s, -EINVAL, file, line, "class %u is not supported, only IN", s->r_class);
		return;
	}
	if (knot_rrtype_is_metatype(s->r_type) || s->r_type == 0) {
		fail(c, s, -EINVAL, file, line, "type %s cannot appear in zone data",
		     dns_type_str(s->r_type, tname, sizeof(tname)));
		return;
	}
	if (s->r_type == KNOT_RRTYPE_SOA) {
		char o[DNS_NAME_STR_MAX], a[DNS_NAME_STR_MAX];
		if (c->have_soa) {
			fail(c, s, -EINVAL, file, line, "second SOA record (%s); a zone has one",
			     dns_name_to_str(s->r_owner, o, sizeof(o)));
			return;
		}
		if (c->fixed_apex && !dns_name_equal(s->r_owner, c->z->apex)) {
			fail(c, s, -EINVAL, file, line, "SOA owner %s is not the zone apex %s",
			     dns_name_to_str(s->r_owner, o, sizeof(o)),
			     dns_name_to_str(c->z->apex, a, sizeof(a)));
			return;
		}
		c->have_soa = true;
		if (!c->fixed_apex) {
			zone_set_apex(c->z, s->r_owner);
			c->apex_keylen = dns_name_key(c->z->apex, c->apex_key);
			for (size_t i = 0; i < c->npending && c->ret == 0; i++) {
				uint8_t key[DNS_KEY_MAX];
				size_t keylen = dns_name_key(c->pending[i].owner, key);
				owner_in_zone(c, s, c->pending[i].owner, key, keylen,
				              c->pending[i].file, c->pending[i].line);
			}
			if (c->ret != 0) {
				return;
			}
		}
	} else if (c->z->apex_len > 0) {
		uint8_t key[DNS_KEY_MAX];
		size_t keylen = dns_name_key(s->r_owner, key); /* lowercases */
		if (owner_in_zone(c, s, s->r_owner, key, keylen, file, line)) {
			add(c, s, key, keylen, file, line);
		}
		return;
	} else {
		if (c->npending == c->cappending) {
			size_t n = c->cappending ? 2 * c->cappending : 16;
			struct pending *p = realloc(c->pending, n * sizeof(*p));
			if (p == NULL) {
				fail(c, s, -ENOMEM, file, line, "out of memory");
				return;
			}
			c->pending = p;
			c->cappending = n;
		}
		struct pending *p = &c->pending[c->npending];
		p->owner = knot_dname_copy(s->r_owner, NULL);
		p->file = strdup(file);
		p->line = line;
		if (p->owner == NULL || p->file == NULL) {
			free(p->owner);
			free(p->file);
			fail(c, s, -ENOMEM, file, line, "out of memory");
			return;
		}
		c->npending++;
	}

	uint8_t key[DNS_KEY_MAX];
	size_t keylen = dns_name_key(s->r_owner, key);
	add(c, s, key, keylen, file, line);
}

static void on_error(zs_scanner_t *s)
{
	struct load_ctx *c = s->process.data;
	fail(c, s, -EINVAL, file_of(s, c), s->line_counter, "%s", zs_strerror(s->error.code));
}

static int run(struct load_ctx *c, zs_scanner_t *s)
{
	if (c->no_include) {
		/* Parse record by record to see (and refuse) $INCLUDE: input
		 * from memory must not read files. */
		s->process.data = c;
		while (c->ret == 0 && zs_parse_record(s) == 0) {
			if (s->state == ZS_STATE_DATA) {
				on_record(s);
			} else if (s->state == ZS_STATE_ERROR) {
				on_error(s);
			} else if (s->state == ZS_STATE_INCLUDE) {
				fail(c, s, -EINVAL, c->name, s->line_counter,
				     "$INCLUDE is not allowed in this input");
			} else if (s->state == ZS_STATE_EOF || s->state == ZS_STATE_STOP) {
				break;
			}
		}
		if (c->ret == 0 && s->state == ZS_STATE_ERROR) {
			on_error(s);
		}
	} else {
		if (zs_set_processing(s, on_record, on_error, c) != 0) {
			fail(c, NULL, -EINVAL, c->name, 0, "%s", zs_strerror(s->error.code));
			return c->ret;
		}
		if (zs_parse_all(s) != 0 && c->ret == 0) {
			fail(c, NULL, -EINVAL, file_of(s, c), s->line_counter, "%s",
			     zs_strerror(s->error.code));
		}
	}
	if (c->ret == 0 && !c->have_soa) {
		fail(c, NULL, -EINVAL, c->name, 0, "no SOA record: not a zone");
	}
	c->z->owners_in_apex = c->ret == 0; /* every owner was checked */
	if (c->ret == 0 && zone_finish(c->z) != 0) {
		fail(c, NULL, -ENOMEM, c->name, 0, "out of memory");
	}
	return c->ret;
}

static int load(zone_t *z, const char *name, const char *path, const char *data, size_t len,
                const knot_dname_t *origin, zone_error_t *err)
{
	struct load_ctx c = { .z = z, .name = name, .err = err, .no_include = (path == NULL) };
	err->msg[0] = '\0';
	zone_init(z);

	char origin_str[DNS_NAME_STR_MAX] = ".";
	if (origin != NULL) {
		zone_set_apex(z, origin);
		c.fixed_apex = true;
		c.apex_keylen = dns_name_key(z->apex, c.apex_key);
		dns_name_to_str(z->apex, origin_str, sizeof(origin_str));
	}

	zs_scanner_t *s = malloc(sizeof(*s));
	if (s == NULL) {
		snprintf(err->msg, sizeof(err->msg), "%s: out of memory", name);
		return -ENOMEM;
	}
	if (zs_init(s, origin_str, KNOT_CLASS_IN, 3600) != 0) {
		snprintf(err->msg, sizeof(err->msg), "%s: %s", name, zs_strerror(s->error.code));
		free(s);
		return -EINVAL;
	}

	int ret;
	if (path != NULL) {
		FILE *f = fopen(path, "r");
		if (f == NULL) {
			ret = errno == ENOMEM ? -ENOMEM : -ENOENT;
			snprintf(err->msg, sizeof(err->msg), "%s: cannot open: %s", path,
			         strerror(errno));
			goto out;
		}
		/* Room for as many records as the file can hold lines of ~24
		 * bytes: pages never touched cost nothing, while growing a
		 * million-entry array by doubling touches twice its size. */
		struct stat st;
		if (fstat(fileno(f), &st) == 0 && st.st_size > 0) {
			zone_reserve(z, (size_t)st.st_size / 24 + 16);
		}
		fclose(f);
		if (zs_set_input_file(s, path) != 0) {
			ret = -ENOENT;
			snprintf(err->msg, sizeof(err->msg), "%s: cannot read: %s", path,
			         zs_strerror(s->error.code));
			goto out;
		}
	} else if (zs_set_input_string(s, data, len) != 0) {
		ret = -EINVAL;
		snprintf(err->msg, sizeof(err->msg), "%s: %s", name, zs_strerror(s->error.code));
		goto out;
	}
	ret = run(&c, s);
out:
	zs_deinit(s);
	free(s);
	for (size_t i = 0; i < c.npending; i++) {
		free(c.pending[i].owner);
		free(c.pending[i].file);
	}
	free(c.pending);
	if (ret != 0) {
		zone_free(z);
	}
	return ret;
}

int zone_load_file(zone_t *z, const char *path, const knot_dname_t *origin, zone_error_t *err)
{
	return load(z, path, path, NULL, 0, origin, err);
}

int zone_load_string(zone_t *z, const char *name, const char *data, size_t len,
                     const knot_dname_t *origin, zone_error_t *err)
{
	return load(z, name, NULL, data, len, origin, err);
}
