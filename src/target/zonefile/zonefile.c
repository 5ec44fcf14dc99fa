#include "target/zonefile/zonefile.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dns/name.h"
#include "zone/zonefile.h"

/* Why text cannot be one file name in a directory, or NULL when it can. */
static const char *not_a_file_name(const char *text)
{
	if (strchr(text, '/') != NULL) {
		return "it holds '/'";
	}
	if (text[0] == '\0' || strcmp(text, ".") == 0 || strcmp(text, "..") == 0) {
		return "it is empty, '.' or '..'";
	}
	for (const char *p = text; *p != '\0'; p++) {
		/* Presentation form writes these as \DDD: never here. */
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f) {
			return "it holds a control or non-ASCII byte";
		}
	}
	return NULL;
}

int zonefile_path(const char *tmpl, const char *domain, char *out, size_t size, const char **why)
{
	char name[DNS_NAME_STR_MAX];
	size_t dl = strlen(domain);
	if (strcmp(domain, ".") == 0) {
		snprintf(name, sizeof(name), "root");
	} else {
		snprintf(name, sizeof(name), "%.*s", (int)(dl > 0 ? dl - 1 : 0), domain);
	}
	*why = NULL;
	size_t o = 0;
	for (const char *p = tmpl; *p; p++) {
		const char *piece = NULL;
		size_t plen = 1;
		if (p[0] == '%' && p[1] == 's') {
			/* The name must not take the path out of its directory. */
			if ((*why = not_a_file_name(name)) != NULL) {
				return -EINVAL;
			}
			piece = name;
			plen = strlen(name);
			p++;
		} else {
			piece = p;
		}
		if (o + plen + 1 > size) {
			*why = "the path would be too long";
			return -ENAMETOOLONG;
		}
		memcpy(out + o, piece, plen);
		o += plen;
	}
	out[o] = '\0';
	for (const char *c = out; *c != '\0'; c += strcspn(c, "/")) {
		c += strspn(c, "/");
		if (strcspn(c, "/") > NAME_MAX) {
			*why = "a file name in the path would be longer than 255 bytes";
			return -ENAMETOOLONG;
		}
	}
	return 0;
}

int zonefile_write(const char *path, const zone_t *z, char *err, size_t errlen)
{
	char tmp[4200];
	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	int fd = mkstemp(tmp);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot create a temporary file: %s", path,
		         strerror(errno));
		return -errno;
	}
	fchmod(fd, 0644);
	FILE *f = fdopen(fd, "w");
	if (f == NULL) {
		int e = errno;
		close(fd);
		unlink(tmp);
		snprintf(err, errlen, "%s: %s", tmp, strerror(e));
		return -e;
	}
	int ret = zone_write(z, f);
	if (ret == 0 && (fflush(f) != 0 || fsync(fileno(f)) != 0)) {
		ret = -errno;
	}
	if (fclose(f) != 0 && ret == 0) {
		ret = -errno;
	}
	if (ret == 0 && rename(tmp, path) != 0) {
		ret = -errno;
	}
	if (ret != 0) {
		unlink(tmp);
		snprintf(err, errlen, "%s: cannot write: %s", path, strerror(-ret));
		return ret;
	}
	/* The rename is durable once the directory is on disk. */
	char dir[4200];
	snprintf(dir, sizeof(dir), "%s", path);
	int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

/* --- the target ------------------------------------------------------------
 *
 * A local copy of the primary's zone, as a secondary keeps one: every type,
 * the apex SOA and NS as the primary has them, written whole at each new
 * serial.  Reading it back is what plan and verify compare. */

struct target {
	const conf_zone_t *zone;
	char path[4096];
};

static int zf_open(const conf_target_t *tc, const conf_zone_t *zc, target_t **out,
                   target_stats_t *stats, char *err, size_t errlen)
{
	(void)stats;
	target_t *t = calloc(1, sizeof(*t));
	if (t == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	t->zone = zc;
	const char *why;
	int ret = zonefile_path(conf_target_str(tc, "path"), zc->domain, t->path, sizeof(t->path),
	                        &why);
	if (ret != 0) {
		snprintf(err, errlen, "path: no file for zone %s: %s", zc->domain, why);
		free(t);
		return ret;
	}
	*out = t;
	return 0;
}

static void zf_close(target_t *t)
{
	free(t);
}

/* The file as it is; a missing file is an empty zone (written at the next
 * push), anything else unreadable an error naming the place. */
static int zf_read(target_t *t, zone_t *live, target_foreign_t *foreign, target_stats_t *stats,
                   char *err, size_t errlen)
{
	(void)foreign;
	stats->reads++;
	if (access(t->path, F_OK) != 0 && errno == ENOENT) {
		zone_init(live);
		zone_set_apex(live, t->zone->name);
		return zone_finish(live);
	}
	zone_error_t zerr;
	int ret = zone_load_file(live, t->path, t->zone->name, &zerr);
	if (ret != 0) {
		snprintf(err, errlen, "%s", zerr.msg);
	}
	return ret;
}

static int zf_apply(target_t *t, const target_push_t *p, const target_opts_t *o,
                    target_stats_t *stats, char *err, size_t errlen)
{
	(void)o;
	stats->writes++;
	return zonefile_write(t->path, p->want, err, errlen);
}

static zone_view_rules_t zf_rules(const conf_target_t *tc)
{
	(void)tc;
	return (zone_view_rules_t){ .apex_soa = true, .apex_ns = true };
}

static const target_ops_t OPS = {
	.flags = TARGET_WHOLE | TARGET_UNGUARDED,
	.open = zf_open,
	.close = zf_close,
	.read = zf_read,
	.apply = zf_apply,
	.rules = zf_rules,
};

/* A zone whose name cannot be a file name (a '/' in a label) is refused
 * when the configuration is loaded, and again when the file is opened. */
static int path_check(const char *tmpl, const char *domain, char *why, size_t size)
{
	char path[4096];
	const char *bad;
	int ret = zonefile_path(tmpl, domain, path, sizeof(path), &bad);
	if (ret == -EINVAL) {
		snprintf(why, size, "the zone's name is not a file name: %s", bad);
	} else if (ret != 0) {
		snprintf(why, size, "%s", bad);
	}
	return ret;
}

static const conf_item_t ITEMS[] = {
	{ .name = "path", .type = CONF_PATH, .required = true, .restart = true,
	  .zone_check = path_check, .help = "file to write; %s is the zone name" },
	TARGET_ITEM_RECONCILE_INTERVAL,
	TARGET_ITEM_END,
};

const target_type_t zonefile_type = { { "zonefile", ITEMS, "zone text file" }, &OPS, NULL };
