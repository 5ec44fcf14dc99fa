/*
 * Metrics: a process-wide registry of counters, gauges and histograms with
 * labels, rendered in the Prometheus text format (version 0.0.4) and served
 * at server.metrics by a small HTTP endpoint.  Updates come from any thread
 * (a mutex: metrics change per NOTIFY, transfer or push, never per record).
 *
 * The registry and the logger are the process's only global mutable state
 * (see DESIGN.md): a count taken deep in a provider must not need a handle
 * threaded through every call.  Label values come from the configuration
 * (zone, target) or a fixed set (reason, kind, result), never from a
 * packet: the number of series stays bounded by the configuration.
 */
#pragma once

#include <stddef.h>

#include "net/addr.h"

typedef enum {
	M_BUILD_INFO,         /* gauge {version} = 1 */
	M_START_TIME,         /* gauge: unix time the daemon started */
	M_RELOADS,            /* counter {result}: SIGHUP reloads, ok or failed */
	M_NOTIFY_RECEIVED,    /* counter: NOTIFY-listener queries, all */
	M_NOTIFY_ACCEPTED,    /* counter {zone} */
	M_NOTIFY_REFUSED,     /* counter {reason} */
	M_SOA_CHECKS,         /* counter {zone,result}: newer, same, older, failed */
	M_TRANSFERS,          /* counter {zone,kind,result}: ixfr/axfr, ok/failed */
	M_TRANSFER_RECORDS,   /* counter {zone} */
	M_TRANSFER_BYTES,     /* counter {zone} */
	M_ZONE_SERIAL,        /* gauge {zone}: the serial held */
	M_PRIMARY_SERIAL,     /* gauge {zone}: the serial the primary last answered */
	M_ZONE_EXPIRED,       /* gauge {zone}: 1 expired */
	M_ZONE_OK,            /* gauge {zone}: 1 the last check succeeded and was recorded */
	M_TARGET_SERIAL,      /* gauge {zone,target}: the serial the target holds */
	M_TARGET_OK,          /* gauge {zone,target}: 1 the last push succeeded */
	M_SYNCS,              /* counter {zone,target,result}: ok, failed, refused */
	M_SYNC_DURATION,      /* histogram {target}: seconds of one push */
	M_RRSETS_CHANGED,     /* counter {zone,target,op}: add, change, delete */
	M_DRIFT_REPAIRED,     /* counter {zone,target}: RRsets changed outside zonesync, put back */
	M_CONFLICTS,          /* gauge {zone,target}: primary RRsets not pushed, held by the target */
	M_STOOD_DOWN,         /* counter {zone,target}: pushes not made, the provider was ahead */
	M_API_REQUESTS,       /* counter {target} */
	M_API_RETRIES,        /* counter {target} */
	M_API_THROTTLES,      /* counter {target} */
	M_REQUESTS_RESENT,    /* counter {target,reason}: throttled, error, network, reconnect */
	M_WRITES_UNANSWERED,  /* counter {target}: writes whose answer was lost */
	M_LAST_SUCCESS,       /* gauge {zone,target}: unix time of the last good push */
	M_JOBS_QUEUED,        /* gauge {kind,id}: jobs waiting for room (sched/queue.h) */
	M_JOBS_RUNNING,       /* gauge {kind,id}: jobs running */
	M_COUNT
} metric_t;

/* Label values follow v, as many as the metric has labels, in the order
 * above.  Thread-safe; an allocation failure drops the update. */
void metrics_add(metric_t m, double v, ...);
void metrics_set(metric_t m, double v, ...);
void metrics_observe(metric_t m, double v, ...);

/* Forget every series of this zone (removed by a reload), or only those of
 * one of its targets (target not NULL: taken off the zone). */
void metrics_forget(const char *zone, const char *target);

/* The whole registry as Prometheus text (malloc'd, NUL-terminated; its
 * length in *len), or NULL when out of memory. */
char *metrics_render(size_t *len);

/* Free every series (at exit). */
void metrics_cleanup(void);

/* The name of a metric ("zonesync_..."), for docs and tests. */
const char *metrics_name(metric_t m);

/* The endpoint: GET /metrics on addr, in a thread of its own.  Bind before
 * privileges are dropped.  NULL with err set when it cannot listen. */
typedef struct metrics_server metrics_server_t;
metrics_server_t *metrics_serve(const net_addr_t *addr, char *err, size_t errlen);
void metrics_server_stop(metrics_server_t *s);
