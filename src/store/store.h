/*
 * Persistent state in SQLite (WAL): each zone's snapshot, its serial and
 * refresh timers, and per-target sync state.
 *
 * The snapshot is kept in chunks of consecutive records in DNS canonical
 * order, one row each keyed by its first record (zone, owner sort key,
 * type, canonical rdata), so that an AXFR writes a few thousand rows, an
 * IXFR rewrites only the chunks its records fall in, and reading a zone
 * back is one ordered scan (see snapshot.c).  A snapshot and its serial
 * always change in one transaction.
 *
 * A store_t is one connection: use it from one thread at a time.  Several
 * connections (one per worker) may share a database file.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <libknot/dname.h>

#include "zone/diff.h"

typedef struct store store_t;

typedef struct {
	bool has_data; /* a snapshot is stored */
	uint32_t serial;
	int64_t refreshed; /* unix time of the last successful check, 0 never */
	int64_t expire_at; /* unix time the data expires, 0 unknown */
	bool expired;      /* alarm raised, cleared by the next success */
	/* The last check of the primary (daemon or sync), 0: never. */
	int64_t checked;
	bool has_primary_serial; /* the primary answered a SOA query once */
	uint32_t primary_serial; /* what it answered last */
	char check_error[256];   /* why the last check failed, "" when it did not */
} store_zone_info_t;

/* Open (creating if needed) DIR/state.db.  0 or a negative error, err set. */
int store_open(const char *dir, store_t **out, char *err, size_t errlen);
void store_close(store_t *s);

/*
 * Open DIR/state.db to read only (status): never created, migrated or
 * written, and no file made beside it, so it needs no write access to the
 * file or DIR.  While a writer has a -wal file there, it is read through
 * the writer's -wal and -shm; with none, the whole state is in state.db,
 * read as an immutable file: then call store_readonly_stale() after
 * reading, and read again if it says so.  0, -ENOENT (no state yet), or
 * <0 with err set (an older or newer schema among them).
 */
int store_open_readonly(const char *dir, store_t **out, char *err, size_t errlen);

/* Did a writer change the file since this read-only connection opened
 * it as immutable?  Always false for other connections. */
bool store_readonly_stale(const store_t *s);

/* The first failure to read or write the state on this connection (what
 * was being done: SQLite's message), NULL when none.  A job asks it before
 * closing, so that a state the daemon cannot write is seen as a failure
 * even where the caller only logs it. */
const char *store_error(const store_t *s);

/* The zone's state; an unknown zone has has_data false.  0 or -EIO. */
int store_zone_info(store_t *s, const knot_dname_t *apex, store_zone_info_t *out);

/* Replace the snapshot with z (an AXFR) and set its serial, atomically. */
int store_zone_replace(store_t *s, const knot_dname_t *apex, const zone_t *z, char *err,
                       size_t errlen);

/*
 * Apply IXFR steps in order, atomically: every removed record must exist,
 * every added one must not (TTLs do not take part in matching), additions
 * must be inside the zone, and the result must hold exactly one apex SOA
 * whose serial is the last step's "to".  Otherwise nothing changes and err
 * names the record or the problem: the caller falls back to AXFR.
 * 0, -EINVAL (delta does not apply), -EIO.
 */
int store_zone_apply(store_t *s, const knot_dname_t *apex, const zone_delta_t *steps, size_t nsteps,
                     char *err, size_t errlen);

/* Read the snapshot into z (finished).  -ENOENT without one. */
int store_zone_load(store_t *s, const knot_dname_t *apex, zone_t *z);

/* Read only the RRsets of the snapshot whose (owner, type) appear in which
 * (a finished record list, e.g. an IXFR step), into z (finished).  O(the
 * sets), not O(the zone).  -ENOENT without a snapshot. */
int store_zone_load_sets(store_t *s, const knot_dname_t *apex, const zone_t *which, zone_t *z);

/* Number of RRsets in the snapshot.  -ENOENT without one. */
int store_zone_rrsets(store_t *s, const knot_dname_t *apex, size_t *count);

/* Record the refresh timers (after a successful check, or at expiry). */
int store_zone_timers(store_t *s, const knot_dname_t *apex, int64_t refreshed, int64_t expire_at,
                      bool expired);

/* Per-target state: the serial last pushed (has_serial false if never).
 * refused: a safety limit refused the push of refused_serial (the reason
 * in last_error); the target waits for a newer serial or a forced push.
 * unadopted: the target held records the primary lacks when zonesync first
 * met it, and they were left (see sync/engine.h, first contact); a pair
 * never pushed (!has_serial) is unadopted too, whatever this says. */
typedef struct {
	bool has_serial;
	uint32_t serial;
	bool dirty;
	int64_t last_ok;
	bool refused;
	uint32_t refused_serial;
	bool unadopted;
	char last_error[256];
} store_target_t;

/* Record a check of the primary: when, the serial it answered (NULL: it
 * did not; the last known stays), and the error ("" or NULL: none). */
int store_zone_checked(store_t *s, const knot_dname_t *apex, int64_t when,
                       const uint32_t *primary_serial, const char *error);

int store_target_get(store_t *s, const knot_dname_t *apex, const char *target, store_target_t *out);
int store_target_set(store_t *s, const knot_dname_t *apex, const char *target,
                     const store_target_t *st);

/* The stored apex SOA's serial and timers.  -ENOENT without a snapshot. */
typedef struct {
	uint32_t serial, refresh, retry, expire;
} store_soa_t;

int store_zone_soa(store_t *s, const knot_dname_t *apex, store_soa_t *out);
