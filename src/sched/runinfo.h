/*
 * What a running daemon tells `status` that state.db cannot: the
 * configuration it runs, and the zones and targets whose state it could
 * not read or write (state.db is then stale, and may not be writable at
 * all).  One JSON object in STATE/daemon.json (0640):
 *
 *   {"pid": N, "started": T,
 *    "config": {"path": ABSOLUTE, "sha256": HEX, "loaded": T},
 *    "state_errors": [{"zone": Z, "target": ID or null, "error": TEXT,
 *                      "since": T}, ...]}
 *
 * The daemon creates it at start, as the service user, and keeps it open:
 * each change is written in place through that descriptor, under a POSIX
 * write lock, so it stays writable when the directory no longer is.  A
 * reader takes a read lock; the file is the daemon's only while its pid
 * holds daemon.lock.  Also here: the check at start that the service user
 * can write the state at all.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

/* Can this process (its effective user and groups) write the state: DIR
 * (created when missing), and each of state.db, state.db-wal,
 * state.db-shm, daemon.lock and daemon.json that exists?  0, or <0 with
 * err naming the path and the fix (chown USER:GROUP PATH). */
int runinfo_check_state(const char *dir, char *err, size_t errlen);

typedef struct runinfo runinfo_t;

/* Create (replace) DIR/daemon.json for this process.  0 or <0, err set. */
int runinfo_open(const char *dir, runinfo_t **out, char *err, size_t errlen);
/* Remove the file (when it can) and free. */
void runinfo_close(runinfo_t *ri);

/* The configuration now in force (at start and after each reload). */
void runinfo_config(runinfo_t *ri, const char *path, const char *sha256);

/* The state of this zone (target NULL) or of one of its targets could not
 * be read or written (error), or was again (error NULL: forgotten).  The
 * file is written when this changes something.  True when it did. */
bool runinfo_state_error(runinfo_t *ri, const char *zone, const char *target, const char *error);

/* The running daemon's object from DIR/daemon.json, when pid (the holder
 * of daemon.lock) wrote it: a new reference, or NULL with err set ("" when
 * there is simply none: no file, or one of an earlier process). */
json_t *runinfo_read(const char *dir, long pid, char *err, size_t errlen);
