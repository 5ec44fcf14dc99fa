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

#include <stdatomic.h>
#include <stdbool.h>
#include <uv.h>

#include "conf/conf.h"
#include "xfr/notify.h"

typedef struct sched sched_t;

/* The scheduler takes conf (malloc'd, loaded) and frees it when done;
 * NULL when out of memory, conf then still the caller's. */
sched_t *sched_new(uv_loop_t *loop, conf_t *conf);
void sched_free(sched_t *s);

/* The configuration in force. */
const conf_t *sched_conf(const sched_t *s);

/* Tell ri (STATE/daemon.json: sched/runinfo.h) of the zones and targets
 * whose state cannot be read or written.  ri stays the caller's. */
struct runinfo;
void sched_set_runinfo(sched_t *s, struct runinfo *ri);

/* Read each zone's stored state and check every zone now. */
int sched_start(sched_t *s, char *err, size_t errlen);

/*
 * Take a new configuration (a reload; conf as for sched_new, taken only on
 * success).  A zone whose configuration is the same keeps running; a
 * changed one restarts, a removed one stops (its state stays in the
 * store), an added one starts.  The jobs of an old zone finish first: the
 * new zone of the same name waits for them.  0, or <0 with err set and
 * nothing changed.
 */
typedef struct {
	size_t added, removed, changed, kept;
} sched_reload_t;
int sched_reload(sched_t *s, conf_t *conf, sched_reload_t *out, char *err, size_t errlen);

/* A valid NOTIFY for zone arrived. */
void sched_notify(sched_t *s, const conf_zone_t *zone);

/* The NOTIFY listener's lookup (xfr/notify.h) over a configuration: the
 * zone qname names, its primary's key, and whether from may notify it
 * (the handle is the conf_zone_t).  false: not one of ours. */
bool sched_notify_lookup(const conf_t *conf, const knot_dname_t *qname,
                         const struct sockaddr *from, notify_zone_t *out);

/* The listener's source callback: is from one of the addresses of a
 * primary of some zone, or only within one's notify-from prefixes, or
 * neither (xfr/notify.h). */
notify_source_t sched_notify_source(const conf_t *conf, const struct sockaddr *from);

/*
 * Hold the scheduler off zones for a pass run beside it (a `zonesync sync`
 * asked over the control socket): the zones named (all when n is 0; names
 * as the configuration spells them, a name not there holds nothing) start
 * no refresh and no push until sched_release.  cb is called on the loop
 * thread once their running jobs have ended (perhaps before sched_hold
 * returns) with the configuration to run the pass over, valid until the
 * release, or NULL when the daemon is stopping (release all the same).
 * One hold at a time: -EBUSY; -ENOMEM.  The release checks each zone
 * afresh (the pass may have moved its serial), and what was kicked during
 * the hold comes with that check.
 */
typedef void (*sched_hold_cb)(void *ctx, const conf_t *conf);
int sched_hold(sched_t *s, char *const *names, size_t n, sched_hold_cb cb, void *ctx);
void sched_release(sched_t *s);

/* Set when the daemon stops: a pass run beside it ends its pushes too. */
const atomic_bool *sched_cancel(const sched_t *s);

/* Stop the timers; running jobs finish (the loop then runs dry), a push
 * before its next request (its target stays dirty, reconciled at the next
 * start). */
void sched_stop(sched_t *s);
