/* The daemon's hold on its state directory and its pid file. */
#include "sched/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
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
	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (*fd < 0) {
		return fail(err, errlen, -errno, "%s: %s", path, strerror(errno));
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

/* The pid file: refused when it names a zonesync still running. */
int daemon_pid_file(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	long pid = 0;
	if (f != NULL) {
		if (fscanf(f, "%ld", &pid) != 1) {
			pid = 0;
		}
		fclose(f);
	}
	if (pid > 0 && pid != (long)getpid() && (kill((pid_t)pid, 0) == 0 || errno == EPERM)) {
		char comm[64] = "", proc[64];
		snprintf(proc, sizeof(proc), "/proc/%ld/comm", pid);
		FILE *c = fopen(proc, "r");
		if (c == NULL || fgets(comm, sizeof(comm), c) == NULL ||
		    strncmp(comm, "zonesync", 8) == 0) {
			if (c != NULL) {
				fclose(c);
			}
			snprintf(err, errlen,
			         "server.pid-file: %s names a running zonesync (pid %ld)", path,
			         pid);
			return -EEXIST;
		}
		fclose(c); /* a stale file: the pid is another program's now */
	}
	f = fopen(path, "w");
	if (f == NULL || fprintf(f, "%ld\n", (long)getpid()) < 0 || fclose(f) != 0) {
		snprintf(err, errlen, "server.pid-file: cannot write %s: %s", path,
		         strerror(errno));
		return -EIO;
	}
	return 0;
}
