/*
 * The daemon's hold on its state: DIR/daemon.lock is held (a POSIX lock)
 * for the daemon's life, so that two daemons never share a state and
 * `status` can tell a push under way from one cut short; and the pid file.
 */
#pragma once

#include <stddef.h>
#include <sys/types.h>

/* Take DIR's lock (creating DIR).  0 with *fd the held descriptor, or <0
 * with err set (-EBUSY: held by another process, its pid in the message). */
int daemon_lock(const char *dir, int *fd, char *err, size_t errlen);

/* The pid of the process holding DIR's lock, 0 when none. */
pid_t daemon_locked_by(const char *dir);

/* Write our pid to path; refused (-EEXIST) when it names a zonesync still
 * running, a stale file replaced.  Never through a symbolic link, only to a
 * regular file, and as root only in a directory that is root's and that no
 * one else may write (the service user could otherwise have put a link
 * there).  0 or <0 with err set. */
int daemon_pid_file(const char *path, char *err, size_t errlen);
