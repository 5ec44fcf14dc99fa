/*
 * One pass over one zone: refresh it from its primary (SOA query, IXFR
 * else AXFR, commit to the store), then bring its targets to the new
 * snapshot through the engine.  The daemon runs the two halves as separate
 * jobs (a refresh per zone, a push per target, so a slow provider holds up
 * no other); `zonesync sync` and `plan` run them back to back in one
 * thread.  verify compares each target with a fresh AXFR.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "conf/conf.h"
#include "store/store.h"
#include "sync/engine.h"

/* What a refresh found: the zone's state and timers from its SOA. */
typedef struct {
	bool ok;       /* the primary answered and the snapshot is current */
	bool answered; /* the primary answered the SOA query */
	bool has_data; /* a snapshot exists */
	uint32_t serial;
	uint32_t refresh, retry, expire; /* from the SOA, clamped */
	int64_t expire_at;
	bool expired;
	/* The transfer failed in a way the same primary repeats (a limit
	 * breached, a serial that goes back): the next try should back off. */
	bool final;
	char primary[64]; /* the address (no port) that answered, "" none */
} sync_refresh_t;

/*
 * Ask the primaries in order for the SOA; transfer when theirs is newer
 * (RFC 1982); commit.  *delta (when not NULL) gets what changed, whole
 * RRsets before and after, when the previous snapshot was there: from the
 * IXFR, or from comparing the two snapshots when the primary sent the
 * whole zone; NULL otherwise (free with engine_delta_free, then free()).
 * Every outcome is logged and counted; out says what the timers need.
 */
void sync_refresh(store_t *st, const conf_zone_t *zc, sync_refresh_t *out, engine_delta_t **delta);

/* One pass outside the daemon (zonesync sync/plan): the same refresh and
 * pushes as the daemon's jobs, in this thread. */
typedef struct {
	engine_opts_t engine;
	const char *target; /* only this target id, or NULL for all */
	void (*on_target)(void *ctx, const conf_zone_t *zc, const conf_target_t *tc,
	                  const engine_zone_t *z, const engine_result_t *r);
	void *ctx;
} sync_opts_t;

typedef struct {
	bool checked;  /* the primary answered and the snapshot is current */
	bool answered; /* the primary answered the SOA query */
	bool has_data; /* a snapshot exists */
	uint32_t serial;
	size_t failed, refused; /* targets */
	char primary[64];       /* the address that answered, "" when none */
} sync_pass_t;

/* 0 when the primary was checked and every target is in sync. */
int sync_zone(const char *state, const conf_zone_t *zc, const sync_opts_t *o, sync_pass_t *out);

/* verify: a fresh AXFR of the zone from its primary, against which every
 * target (or o->target) is compared through the engine (as a plan, limits
 * off); on_target gets each result.  0, or <0 with err set when no
 * primary gave the zone. */
int sync_verify(const conf_zone_t *zc, const sync_opts_t *o, char *err, size_t errlen);

/* Process-wide set-up and clean-up of what the providers share (HTTP,
 * rate limits, caches). */
void sync_global_init(void);
void sync_global_cleanup(void);
