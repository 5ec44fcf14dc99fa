/* STATE/daemon.json, and the check that the state is ours to write. */
#include "sched/runinfo.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define INFO_MAX (1 << 20) /* a reader's bound: the file is small */

/* Who we are, for the messages: names when there are, else numbers. */
static void whoami(char *user, size_t ulen, char *group, size_t glen)
{
	struct passwd *pw = getpwuid(geteuid());
	struct group *gr = getgrgid(getegid());
	if (pw != NULL) {
		snprintf(user, ulen, "%s", pw->pw_name);
	} else {
		snprintf(user, ulen, "%u", (unsigned)geteuid());
	}
	if (gr != NULL) {
		snprintf(group, glen, "%s", gr->gr_name);
	} else {
		snprintf(group, glen, "%u", (unsigned)getegid());
	}
}

static int cannot_write(const char *path, const char *what, int e, char *err, size_t errlen)
{
	char user[64], group[64];
	whoami(user, sizeof(user), group, sizeof(group));
	if (e == EACCES || e == EPERM) {
		snprintf(err, errlen,
		         "%s %s is not writable by user %s (uid %u): %s; the state belongs "
		         "to the user zonesync runs as: chown %s:%s %s",
		         what, path, user, (unsigned)geteuid(), strerror(e), user, group, path);
	} else {
		snprintf(err, errlen, "%s %s is not writable by user %s: %s", what, path, user,
		         strerror(e));
	}
	return -e;
}

int runinfo_check_state(const char *dir, char *err, size_t errlen)
{
	if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
		int e = errno;
		char user[64], group[64];
		whoami(user, sizeof(user), group, sizeof(group));
		snprintf(err, errlen,
		         "cannot create the state directory %s as user %s: %s; create it for "
		         "that user: install -d -o %s -g %s -m 0750 %s",
		         dir, user, strerror(e), user, group, dir);
		return -e;
	}
	/* SQLite makes its -wal and -shm files beside state.db: the
	 * directory must take new files, not only the ones there. */
	if (faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) != 0) {
		return cannot_write(dir, "the state directory", errno, err, errlen);
	}
	static const char *const files[] = { "state.db", "state.db-wal", "state.db-shm",
		                             "daemon.lock", "daemon.json" };
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		if (faccessat(AT_FDCWD, path, F_OK, AT_EACCESS) != 0) {
			continue;
		}
		if (faccessat(AT_FDCWD, path, R_OK | W_OK, AT_EACCESS) != 0) {
			return cannot_write(path, "the state file", errno, err, errlen);
		}
	}
	return 0;
}

struct runinfo {
	int fd;
	char *path;
	json_t *obj;
};

/* The whole object, in place: written, then cut to its length, under the
 * lock (a reader waits for it). */
static void save(runinfo_t *ri)
{
	char *text = json_dumps(ri->obj, JSON_COMPACT);
	if (text == NULL) {
		return;
	}
	size_t len = strlen(text);
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	if (fcntl(ri->fd, F_SETLKW, &fl) == 0) {
		if (pwrite(ri->fd, text, len, 0) == (ssize_t)len) {
			(void)!ftruncate(ri->fd, (off_t)len);
		}
		fl.l_type = F_UNLCK;
		fcntl(ri->fd, F_SETLK, &fl);
	}
	free(text);
}

int runinfo_open(const char *dir, runinfo_t **out, char *err, size_t errlen)
{
	runinfo_t *ri = calloc(1, sizeof(*ri));
	size_t n = strlen(dir) + sizeof("/daemon.json");
	if (ri == NULL || (ri->path = malloc(n)) == NULL ||
	    (ri->obj = json_pack("{s:I,s:I,s:n,s:[]}", "pid", (json_int_t)getpid(), "started",
	                         (json_int_t)time(NULL), "config", "state_errors")) == NULL) {
		if (ri != NULL) {
			free(ri->path);
		}
		free(ri);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	snprintf(ri->path, n, "%s/daemon.json", dir);
	ri->fd = open(ri->path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (ri->fd < 0) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", ri->path, strerror(e));
		json_decref(ri->obj);
		free(ri->path);
		free(ri);
		return -e;
	}
	save(ri);
	*out = ri;
	return 0;
}

void runinfo_close(runinfo_t *ri)
{
	if (ri == NULL) {
		return;
	}
	/* A reader that finds it anyway checks the pid against the lock. */
	unlink(ri->path);
	close(ri->fd);
	json_decref(ri->obj);
	free(ri->path);
	free(ri);
}

void runinfo_config(runinfo_t *ri, const char *path, const char *sha256)
{
	if (ri == NULL) {
		return;
	}
	char *abs = realpath(path, NULL);
	json_object_set_new(ri->obj, "config",
	                    json_pack("{s:s,s:s,s:I}", "path", abs != NULL ? abs : path, "sha256",
	                              sha256, "loaded", (json_int_t)time(NULL)));
	free(abs);
	save(ri);
}

static bool same_pair(json_t *e, const char *zone, const char *target)
{
	const char *z = json_string_value(json_object_get(e, "zone"));
	const char *t = json_string_value(json_object_get(e, "target"));
	return z != NULL && strcmp(z, zone) == 0 &&
	       (target == NULL ? t == NULL : t != NULL && strcmp(t, target) == 0);
}

bool runinfo_state_error(runinfo_t *ri, const char *zone, const char *target, const char *error)
{
	if (ri == NULL) {
		return false;
	}
	json_t *list = json_object_get(ri->obj, "state_errors");
	size_t i;
	json_t *e;
	json_array_foreach(list, i, e)
	{
		if (!same_pair(e, zone, target)) {
			continue;
		}
		if (error == NULL) {
			json_array_remove(list, i);
			save(ri);
			return true;
		}
		const char *was = json_string_value(json_object_get(e, "error"));
		if (was != NULL && strcmp(was, error) == 0) {
			return false;
		}
		json_object_set_new(e, "error", json_string(error));
		save(ri);
		return true;
	}
	if (error == NULL) {
		return false;
	}
	json_array_append_new(list, json_pack("{s:s,s:s?,s:s,s:I}", "zone", zone, "target", target,
	                                      "error", error, "since", (json_int_t)time(NULL)));
	save(ri);
	return true;
}

json_t *runinfo_read(const char *dir, long pid, char *err, size_t errlen)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/daemon.json", dir);
	err[0] = '\0';
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno != ENOENT) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		}
		return NULL;
	}
	char *buf = malloc(INFO_MAX + 1);
	ssize_t len = -1;
	struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET };
	if (buf != NULL && fcntl(fd, F_SETLKW, &fl) == 0) {
		len = pread(fd, buf, INFO_MAX, 0);
	}
	int e = errno;
	close(fd); /* drops the lock */
	json_t *obj = NULL;
	if (len < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(e));
	} else if ((obj = json_loadb(buf, (size_t)len, 0, NULL)) == NULL) {
		snprintf(err, errlen, "%s: not the JSON a daemon writes", path);
	} else if (json_integer_value(json_object_get(obj, "pid")) != pid) {
		json_decref(obj); /* an earlier daemon's, left by a crash */
		obj = NULL;
	}
	free(buf);
	return obj;
}
