/*
 * The per-zone scheduler: one job per zone at a time on libuv's worker
 * pool; refresh, retry and expire timers from the zone's SOA, clamped by the
 * zone's configured bounds, with jitter; a NOTIFY checks at once, or marks a
 * running job for one more check.  A job asks the primaries for the SOA in
 * order, transfers (IXFR, else AXFR) when theirs is newer, commits to the
 * store, then brings the zone's targets up to date.  A slow or dead primary
 * holds only its own zone's job.
 */
#pragma once

#include <stdbool.h>
#include <uv.h>

#include "conf/conf.h"

typedef struct sched sched_t;

sched_t *sched_new(uv_loop_t *loop, const conf_t *conf);
void sched_free(sched_t *s);

/* Read each zone's stored state and check every zone now. */
int sched_start(sched_t *s, char *err, size_t errlen);

/* A valid NOTIFY for zone arrived. */
void sched_notify(sched_t *s, const conf_zone_t *zone);

/* Stop the timers; running jobs finish (the loop then runs dry). */
void sched_stop(sched_t *s);
