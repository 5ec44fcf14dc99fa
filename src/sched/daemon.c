/* The daemon's hold on its state directory and its pid file. */
#include "sched/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return ret;
}

int daemon_lock(const char *dir, int *fd, char *err, size_t errlen)
{
	char path[4096];
	if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
		return fail(err, errlen, -errno, "cannot create state directory %s: %s", dir,
		            strerror(errno));
	}
	snprintf(path, sizeof(path), "%s/daemon.lock", dir);
	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (*fd < 0) {
		return fail(err, errlen, -errno, "%s: %s", path, strerror(errno));
	}
	/* 0640 or stricter, whatever the umask was or an older zonesync did. */
	struct stat st;
	if (fstat(*fd, &st) == 0 && (st.st_mode & 07777 & ~0640) != 0) {
		fchmod(*fd, st.st_mode & 0640);
	}
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	if (fcntl(*fd, F_SETLK, &fl) == 0) {
		return 0;
	}
	int e = errno;
	pid_t pid = daemon_locked_by(dir);
	close(*fd);
	*fd = -1;
	if (e == EAGAIN || e == EACCES) {
		return fail(err, errlen, -EBUSY,
		            "state directory %s is in use by another zonesync run (pid %ld): a "
		            "daemon, or a `zonesync sync` pass (one writer per state)",
		            dir, (long)pid);
	}
	return fail(err, errlen, -e, "%s: cannot lock: %s", path, strerror(e));
}

pid_t daemon_locked_by(const char *dir)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/daemon.lock", dir);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return 0;
	}
	/* F_GETLK wants a descriptor open for the lock type it tests. */
	struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET };
	pid_t pid = 0;
	if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK) {
		pid = fl.l_pid;
	}
	close(fd);
	return pid;
}

/* Why a pid file in directory fd dfd cannot be written as root, or NULL:
 * whoever else may write there could put a link to any file in its place
 * between our look and our write. */
static const char *unsafe_for_root(int dfd, char *why, size_t size)
{
	struct stat st;
	if (fstat(dfd, &st) != 0) {
		snprintf(why, size, "%s", strerror(errno));
	} else if (st.st_uid != 0) {
		snprintf(why, size, "belongs to uid %u", (unsigned)st.st_uid);
	} else if ((st.st_mode & S_IWOTH) != 0) {
		snprintf(why, size, "others may write");
	} else if ((st.st_mode & S_IWGRP) != 0) {
		snprintf(why, size, "its group may write");
	} else {
		return NULL;
	}
	return why;
}

/* The pid a pid file holds, 0 when none. */
static long pid_in(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0) {
		return 0;
	}
	buf[n] = '\0';
	char *end;
	long pid = strtol(buf, &end, 10);
	return end != buf && (*end == '\n' || *end == '\0') && pid > 0 ? pid : 0;
}

/* Does pid name a zonesync that runs (not us)?  A pid reused by another
 * program makes a stale file. */
static bool zonesync_runs(long pid)
{
	if (pid <= 0 || pid == (long)getpid() || (kill((pid_t)pid, 0) != 0 && errno != EPERM)) {
		return false;
	}
	char comm[64] = "", proc[64];
	snprintf(proc, sizeof(proc), "/proc/%ld/comm", pid);
	FILE *c = fopen(proc, "r");
	bool runs = c == NULL || fgets(comm, sizeof(comm), c) == NULL ||
	            strncmp(comm, "zonesync", 8) == 0;
	if (c != NULL) {
		fclose(c);
	}
	return runs;
}

int daemon_pid_file(const char *path, char *err, size_t errlen)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	const char *base = slash != NULL ? slash + 1 : path;
	if (slash == NULL) {
		snprintf(dir, sizeof(dir), ".");
	} else {
		snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
	}
	if (*base == '\0') {
		return fail(err, errlen, -EINVAL, "server.pid-file: %s: not a file name", path);
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		return fail(err, errlen, -errno, "server.pid-file: %s: its directory: %s", path,
		            strerror(errno));
	}
	char why[64];
	if (geteuid() == 0 && unsafe_for_root(dfd, why, sizeof(why)) != NULL) {
		close(dfd);
		return fail(err, errlen, -EPERM,
		            "server.pid-file: %s: refused as root: its directory %s %s", path, dir,
		            why);
	}
	/* Never through a link; O_NONBLOCK: a FIFO is refused, not waited on. */
	int fd = openat(dfd, base,
	                O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0644);
	int e = errno;
	close(dfd);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0) {
			close(fd);
		}
		return fail(err, errlen, fd < 0 ? -e : -EINVAL, "server.pid-file: %s: %s", path,
		            fd >= 0 || e == EISDIR ? "is not a regular file"
		            : e == ELOOP           ? "is a symbolic link"
		                                   : strerror(e));
	}
	long pid = pid_in(fd);
	if (zonesync_runs(pid)) {
		close(fd);
		return fail(err, errlen, -EEXIST,
		            "server.pid-file: %s names a running zonesync (pid %ld)", path, pid);
	}
	char text[32];
	int n = snprintf(text, sizeof(text), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, text, (size_t)n, 0) != n) {
		e = errno;
		close(fd);
		return fail(err, errlen, -EIO, "server.pid-file: cannot write %s: %s", path,
		            strerror(e));
	}
	if (close(fd) != 0) {
		return fail(err, errlen, -EIO, "server.pid-file: cannot write %s: %s", path,
		            strerror(errno));
	}
	return 0;
}
