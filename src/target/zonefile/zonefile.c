#include "target/zonefile/zonefile.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zone/zonefile.h"

int zonefile_path(const char *tmpl, const char *domain, char *out, size_t size)
{
	char name[1100];
	size_t dl = strlen(domain);
	if (strcmp(domain, ".") == 0) {
		snprintf(name, sizeof(name), "root");
	} else {
		snprintf(name, sizeof(name), "%.*s", (int)(dl > 0 ? dl - 1 : 0), domain);
	}
	size_t o = 0;
	for (const char *p = tmpl; *p; p++) {
		const char *piece = NULL;
		size_t plen = 1;
		if (p[0] == '%' && p[1] == 's') {
			piece = name;
			plen = strlen(name);
			p++;
		} else {
			piece = p;
		}
		if (o + plen + 1 > size) {
			return -ENAMETOOLONG;
		}
		memcpy(out + o, piece, plen);
		o += plen;
	}
	out[o] = '\0';
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
