#include "obs/metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { COUNTER, GAUGE, HISTOGRAM } kind_t;

typedef struct {
	const char *name;
	kind_t kind;
	const char *labels[3];
	const char *help;
} family_t;

static const family_t FAMILIES[M_COUNT] = {
	[M_BUILD_INFO] = { "zonesync_build_info", GAUGE, { "version" }, "The version running." },
	[M_START_TIME] = { "zonesync_start_time_seconds", GAUGE, { 0 },
	                   "Unix time the daemon started." },
	[M_RELOADS] = { "zonesync_config_reloads_total", COUNTER, { "result" },
	                "Configuration reloads (SIGHUP) by result: ok, failed." },
	[M_NOTIFY_RECEIVED] = { "zonesync_notify_received_total", COUNTER, { 0 },
	                        "Queries received by the NOTIFY listener." },
	[M_NOTIFY_ACCEPTED] = { "zonesync_notify_accepted_total", COUNTER, { "zone" },
	                        "NOTIFYs accepted." },
	[M_NOTIFY_REFUSED] = { "zonesync_notify_refused_total", COUNTER, { "reason" },
	                       "Queries refused by the NOTIFY listener, by reason." },
	[M_SOA_CHECKS] = { "zonesync_soa_checks_total", COUNTER, { "zone", "result" },
	                   "SOA queries to the primary by result: newer, same, older, failed." },
	[M_TRANSFERS] = { "zonesync_transfers_total", COUNTER, { "zone", "kind", "result" },
	                  "Zone transfers by kind (ixfr, axfr) and result (ok, failed, older, "
	                  "limit, stopped)." },
	[M_TRANSFER_RECORDS] = { "zonesync_transfer_records_total", COUNTER, { "zone" },
	                         "Records received in zone transfers." },
	[M_TRANSFER_BYTES] = { "zonesync_transfer_bytes_total", COUNTER, { "zone" },
	                       "Bytes of zone transfer messages received." },
	[M_ZONE_SERIAL] = { "zonesync_zone_serial", GAUGE, { "zone" },
	                    "The SOA serial of the zone held." },
	[M_PRIMARY_SERIAL] = { "zonesync_primary_serial", GAUGE, { "zone" },
	                       "The SOA serial the primary answered last." },
	[M_ZONE_EXPIRED] = { "zonesync_zone_expired", GAUGE, { "zone" },
	                     "1 when the zone expired (the primary silent for its SOA expire)." },
	[M_ZONE_OK] = { "zonesync_zone_ok", GAUGE, { "zone" },
	                "1 when the zone's last check of its primary succeeded and was "
	                "recorded in the state; 0 when it failed or the state could not be "
	                "written." },
	[M_TARGET_SERIAL] = { "zonesync_target_serial", GAUGE, { "zone", "target" },
	                      "The SOA serial a target holds." },
	[M_TARGET_OK] = { "zonesync_target_ok", GAUGE, { "zone", "target" },
	                  "1 when the last push to the target succeeded and was recorded in the "
	                  "state." },
	[M_SYNCS] = { "zonesync_syncs_total", COUNTER, { "zone", "target", "result" },
	              "Pushes to targets by result: ok, failed, refused (a safety limit)." },
	[M_SYNC_DURATION] = { "zonesync_sync_duration_seconds", HISTOGRAM, { "target" },
	                      "Time one push to a target took." },
	[M_RRSETS_CHANGED] = { "zonesync_rrsets_changed_total", COUNTER,
	                       { "zone", "target", "op" },
	                       "RRsets written to targets by operation: add, change, delete." },
	[M_DRIFT_REPAIRED] = { "zonesync_drift_repaired_total", COUNTER, { "zone", "target" },
	                       "RRsets found changed on a target that was in sync, put back." },
	[M_CONFLICTS] = { "zonesync_conflicts", GAUGE, { "zone", "target" },
	                  "RRsets of the primary not pushed at the last full compare: the target "
	                  "holds that name and type as its own (ignored, alias, routed)." },
	[M_STOOD_DOWN] = { "zonesync_stood_down_total", COUNTER, { "zone", "target" },
	                   "Pushes not made because the target's SOA serial was ahead of ours "
	                   "(another zonesync host pushed a newer serial)." },
	[M_API_REQUESTS] = { "zonesync_api_requests_total", COUNTER, { "target" },
	                     "Requests to the target's API (HTTP or DNS)." },
	[M_API_RETRIES] = { "zonesync_api_retries_total", COUNTER, { "target" },
	                    "Requests sent again after an error." },
	[M_API_THROTTLES] = { "zonesync_api_throttles_total", COUNTER, { "target" },
	                      "Retries because the provider throttled us." },
	[M_REQUESTS_RESENT] = { "zonesync_provider_requests_resent_total", COUNTER,
	                        { "target", "reason" },
	                        "Provider requests sent again, by reason: throttled, error (an "
	                        "answer worth another try), network (no answer), reconnect "
	                        "(libcurl, after a reused connection closed)." },
	[M_WRITES_UNANSWERED] = { "zonesync_provider_writes_unanswered_total", COUNTER,
	                          { "target" },
	                          "Writes whose answer was lost (they may have been applied): "
	                          "not sent again; the live records are read again instead." },
	[M_LAST_SUCCESS] = { "zonesync_target_last_success_seconds", GAUGE, { "zone", "target" },
	                     "Unix time of the last successful push to the target." },
	[M_JOBS_QUEUED] = { "zonesync_jobs_queued", GAUGE, { "kind", "id" },
	                    "Jobs waiting for room: SOA checks and transfers per primary "
	                    "(kind=primary, its max-transfers), pushes per target (kind=target, "
	                    "its max-pushes)." },
	[M_JOBS_RUNNING] = { "zonesync_jobs_running", GAUGE, { "kind", "id" },
	                     "Jobs running: SOA checks and transfers per primary, pushes per "
	                     "target." },
};

/* Histogram bucket bounds (seconds): a one-record push takes tens of
 * milliseconds, a first sync of a large zone minutes. */
static const double BOUNDS[] = { 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300 };
#define NBOUNDS (sizeof(BOUNDS) / sizeof(BOUNDS[0]))

typedef struct series {
	struct series *next;
	/* Series whose first label is the zone are chained by it too, so
	 * that a zone's are forgotten without a walk through all of them (a
	 * reload that removes 5,000 zones of 10,000 took minutes on the loop
	 * thread). */
	struct series *znext;
	uint32_t zhash; /* of zone="..." as rendered; 0: no zone label */
	uint32_t hash;
	metric_t m;
	double value; /* histograms: the sum */
	uint64_t count;
	uint64_t bucket[NBOUNDS]; /* observations <= BOUNDS[i] (not cumulative) */
	char labels[];            /* rendered: zone="a.",target="b" */
} series_t;

/* A chained hash table that doubles as it fills (one chain per series on
 * average at most): 10,000 zones make ~200,000 series. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static series_t **heads;
static series_t **zheads; /* by zhash, as many chains as heads */
static size_t nheads;
static size_t nseries;
static size_t nbytes; /* the series' sizes, each rounded up as copy_size() */

/* The room a series takes in a scrape's copy. */
static size_t copy_size(size_t labels_len)
{
	return (sizeof(series_t) + labels_len + 8) & ~(size_t)7;
}

const char *metrics_name(metric_t m)
{
	return m < M_COUNT ? FAMILIES[m].name : NULL;
}

/* A label value escaped as the text format wants; -1 when it does not fit. */
static int escape(char *buf, size_t size, size_t *o, const char *v)
{
	for (const char *p = v != NULL ? v : ""; *p != '\0'; p++) {
		if (*o + 3 >= size) {
			return -1;
		}
		if (*p == '\\' || *p == '"') {
			buf[(*o)++] = '\\';
			buf[(*o)++] = *p;
		} else if (*p == '\n') {
			buf[(*o)++] = '\\';
			buf[(*o)++] = 'n';
		} else {
			buf[(*o)++] = *p;
		}
	}
	buf[*o] = '\0';
	return 0;
}

/* name="value" pairs, joined by commas; *zlen: the length of the first
 * pair when its label is the zone, else 0. */
static int render_labels(metric_t m, va_list ap, char *buf, size_t size, size_t *zlen)
{
	size_t o = 0;
	buf[0] = '\0';
	*zlen = 0;
	for (int i = 0; i < 3 && FAMILIES[m].labels[i] != NULL; i++) {
		int n = snprintf(buf + o, size - o, "%s%s=\"", i > 0 ? "," : "",
		                 FAMILIES[m].labels[i]);
		if (n < 0 || (size_t)n >= size - o) {
			return -1;
		}
		o += (size_t)n;
		if (escape(buf, size, &o, va_arg(ap, const char *)) != 0 || o + 2 >= size) {
			return -1;
		}
		buf[o++] = '"';
		buf[o] = '\0';
		if (i == 0 && strcmp(FAMILIES[m].labels[0], "zone") == 0) {
			*zlen = o;
		}
	}
	return 0;
}

static uint32_t hash(metric_t m, const char *s)
{
	uint32_t h = 2166136261u ^ (uint32_t)m;
	for (; *s != '\0'; s++) {
		h = (h ^ (uint8_t)*s) * 16777619u;
	}
	return h;
}

/* The zone chain's hash of the first len bytes of rendered labels (never 0). */
static uint32_t zone_hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++) {
		h = (h ^ (uint8_t)s[i]) * 16777619u;
	}
	return h != 0 ? h : 1;
}

/* Twice the chains (or the first 256); the table stays as it is when
 * memory is short.  With the lock held. */
static void grow(void)
{
	size_t n = nheads == 0 ? 256 : nheads * 2;
	series_t **t = calloc(n, sizeof(*t)), **zt = calloc(n, sizeof(*zt));
	if (t == NULL || zt == NULL) {
		free(t);
		free(zt);
		return;
	}
	for (size_t h = 0; h < nheads; h++) {
		while (heads[h] != NULL) {
			series_t *s = heads[h];
			heads[h] = s->next;
			s->next = t[s->hash % n];
			t[s->hash % n] = s;
			if (s->zhash != 0) {
				s->znext = zt[s->zhash % n];
				zt[s->zhash % n] = s;
			}
		}
	}
	free(heads);
	free(zheads);
	heads = t;
	zheads = zt;
	nheads = n;
}

/* The series, created at first use; zlen: the length of its zone="..."
 * label, 0 when it has none.  Called with the lock held. */
static series_t *series_get(metric_t m, const char *labels, size_t zlen)
{
	uint32_t hv = hash(m, labels);
	for (series_t *s = nheads > 0 ? heads[hv % nheads] : NULL; s != NULL; s = s->next) {
		if (s->hash == hv && s->m == m && strcmp(s->labels, labels) == 0) {
			return s;
		}
	}
	if (nseries >= nheads) {
		grow();
		if (nheads == 0) {
			return NULL;
		}
	}
	size_t len = strlen(labels);
	series_t *s = calloc(1, sizeof(*s) + len + 1);
	if (s == NULL) {
		return NULL;
	}
	s->hash = hv;
	s->m = m;
	memcpy(s->labels, labels, len + 1);
	s->next = heads[hv % nheads];
	heads[hv % nheads] = s;
	if (zlen > 0) {
		s->zhash = zone_hash(labels, zlen);
		s->znext = zheads[s->zhash % nheads];
		zheads[s->zhash % nheads] = s;
	}
	nseries++;
	nbytes += copy_size(len);
	return s;
}

typedef enum { OP_ADD, OP_SET, OP_OBSERVE } op_t;

static void update(metric_t m, op_t op, double v, va_list ap)
{
	char labels[1024];
	size_t zlen;
	if (m >= M_COUNT || render_labels(m, ap, labels, sizeof(labels), &zlen) != 0) {
		return;
	}
	pthread_mutex_lock(&lock);
	series_t *s = series_get(m, labels, zlen);
	if (s != NULL) {
		switch (op) {
		case OP_ADD:
			s->value += v;
			break;
		case OP_SET:
			s->value = v;
			break;
		case OP_OBSERVE:
			s->value += v;
			s->count++;
			for (size_t i = 0; i < NBOUNDS; i++) {
				if (v <= BOUNDS[i]) {
					s->bucket[i]++;
					break;
				}
			}
			break;
		}
	}
	pthread_mutex_unlock(&lock);
}

void metrics_add(metric_t m, double v, ...)
{
	va_list ap;
	va_start(ap, v);
	update(m, OP_ADD, v, ap);
	va_end(ap);
}

void metrics_set(metric_t m, double v, ...)
{
	va_list ap;
	va_start(ap, v);
	update(m, OP_SET, v, ap);
	va_end(ap);
}

void metrics_observe(metric_t m, double v, ...)
{
	va_list ap;
	va_start(ap, v);
	update(m, OP_OBSERVE, v, ap);
	va_end(ap);
}

/* Does the series start with these rendered labels (zone="..." and maybe
 * ,target="...")?  Only families whose first label is the zone. */
static bool labels_start(const series_t *s, const char *want, size_t n)
{
	const char *name = FAMILIES[s->m].labels[0];
	return name != NULL && strcmp(name, "zone") == 0 && strncmp(s->labels, want, n) == 0 &&
	       (s->labels[n] == '\0' || s->labels[n] == ',');
}

void metrics_forget(const char *zone, const char *target)
{
	char want[1024] = "zone=\"";
	size_t n = 6;
	if (escape(want, sizeof(want), &n, zone) != 0 || n + 12 >= sizeof(want)) {
		return;
	}
	want[n++] = '"';
	want[n] = '\0';
	uint32_t zh = zone_hash(want, n);
	if (target != NULL) {
		memcpy(want + n, ",target=\"", 9);
		n += 9;
		if (escape(want, sizeof(want), &n, target) != 0 || n + 2 >= sizeof(want)) {
			return;
		}
		want[n++] = '"';
		want[n] = '\0';
	}
	pthread_mutex_lock(&lock);
	series_t **pp = nheads > 0 ? &zheads[zh % nheads] : NULL;
	while (pp != NULL && *pp != NULL) {
		series_t *s = *pp;
		if (s->zhash != zh || !labels_start(s, want, n)) {
			pp = &s->znext;
			continue;
		}
		*pp = s->znext;
		series_t **hp = &heads[s->hash % nheads];
		while (*hp != s) {
			hp = &(*hp)->next;
		}
		*hp = s->next;
		nseries--;
		nbytes -= copy_size(strlen(s->labels));
		free(s);
	}
	pthread_mutex_unlock(&lock);
}

void metrics_cleanup(void)
{
	pthread_mutex_lock(&lock);
	for (size_t h = 0; h < nheads; h++) {
		while (heads[h] != NULL) {
			series_t *s = heads[h];
			heads[h] = s->next;
			nseries--;
			nbytes -= copy_size(strlen(s->labels));
			free(s);
		}
	}
	free(heads);
	free(zheads);
	heads = zheads = NULL;
	nheads = 0;
	pthread_mutex_unlock(&lock);
}

/* --- rendering ------------------------------------------------------------ */

typedef struct {
	char *buf;
	size_t len, cap;
	bool oom;
} out_t;

static void out_printf(out_t *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void out_printf(out_t *o, const char *fmt, ...)
{
	for (int tries = 0; tries < 2 && !o->oom; tries++) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			o->oom = true;
			return;
		}
		if ((size_t)n < o->cap - o->len) {
			o->len += (size_t)n;
			return;
		}
		size_t cap = o->cap * 2 + (size_t)n + 1;
		char *b = realloc(o->buf, cap);
		if (b == NULL) {
			o->oom = true;
			return;
		}
		o->buf = b;
		o->cap = cap;
	}
}

static int series_cmp(const void *a, const void *b)
{
	const series_t *x = *(series_t *const *)a, *y = *(series_t *const *)b;
	if (x->m != y->m) {
		return x->m < y->m ? -1 : 1;
	}
	return strcmp(x->labels, y->labels);
}

static void render_series(out_t *o, const series_t *s)
{
	const char *name = FAMILIES[s->m].name;
	const char *l = s->labels;
	bool has = l[0] != '\0';
	if (FAMILIES[s->m].kind != HISTOGRAM) {
		double v = s->value;
		/* Counters, serials and times are whole numbers: printed as
		 * integers (exact, and several times faster than %g). */
		if (v >= -9007199254740992.0 && v <= 9007199254740992.0 && v == (double)(long long)v) {
			out_printf(o, "%s%s%s%s %lld\n", name, has ? "{" : "", l, has ? "}" : "",
			           (long long)v);
		} else {
			out_printf(o, "%s%s%s%s %.15g\n", name, has ? "{" : "", l, has ? "}" : "", v);
		}
		return;
	}
	uint64_t cum = 0;
	for (size_t i = 0; i < NBOUNDS; i++) {
		cum += s->bucket[i];
		out_printf(o, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, l, has ? "," : "", BOUNDS[i],
		           (unsigned long long)cum);
	}
	out_printf(o, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, l, has ? "," : "",
	           (unsigned long long)s->count);
	out_printf(o, "%s_sum%s%s%s %.15g\n", name, has ? "{" : "", l, has ? "}" : "", s->value);
	out_printf(o, "%s_count%s%s%s %llu\n", name, has ? "{" : "", l, has ? "}" : "",
	           (unsigned long long)s->count);
}

char *metrics_render(size_t *len)
{
	static const char *const TYPES[] = { "counter", "gauge", "histogram" };
	out_t o = { .cap = 4096 };
	if ((o.buf = malloc(o.cap)) == NULL) {
		return NULL;
	}
	o.buf[0] = '\0';
	/* Copies of the series in one block, taken under the lock; sorted and
	 * printed after it.  The block is allocated and its pages touched
	 * before the lock is taken (page faults on a fresh 40 MB block cost
	 * ~100 ms on a VM), so that a scrape holds updates up only for the
	 * copy itself.  If the registry grew meanwhile, allocate again. */
	series_t **all = NULL;
	char *block = NULL;
	size_t n = 0;
	bool complete = false;
	for (int tries = 0; tries < 4 && !complete; tries++) {
		pthread_mutex_lock(&lock);
		size_t want_n = nseries + 64, want_bytes = nbytes + 64 * copy_size(64);
		pthread_mutex_unlock(&lock);
		free(all);
		free(block);
		all = malloc(want_n * sizeof(*all));
		block = malloc(want_bytes);
		if (all == NULL || block == NULL) {
			break;
		}
		/* A write to every page (memset(0) after malloc may become a
		 * calloc that touches nothing). */
		for (size_t o = 0; o < want_bytes; o += 4096) {
			((volatile char *)block)[o] = 1;
		}
		pthread_mutex_lock(&lock);
		if (nseries <= want_n && nbytes <= want_bytes) {
			complete = true;
			n = 0;
			for (size_t h = 0, o = 0; h < nheads; h++) {
				for (const series_t *s = heads[h]; s != NULL; s = s->next) {
					size_t size = sizeof(*s) + strlen(s->labels) + 1;
					all[n++] = memcpy(block + o, s, size);
					o += copy_size(strlen(s->labels));
				}
			}
		}
		pthread_mutex_unlock(&lock);
	}
	if (complete) {
		qsort(all, n, sizeof(*all), series_cmp);
		for (size_t i = 0; i < n; i++) {
			const family_t *f = &FAMILIES[all[i]->m];
			if (i == 0 || all[i - 1]->m != all[i]->m) {
				out_printf(&o, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help,
				           f->name, TYPES[f->kind]);
			}
			render_series(&o, all[i]);
		}
	}
	free(block);
	free(all);
	if (!complete || o.oom) {
		free(o.buf);
		return NULL;
	}
	*len = o.len;
	return o.buf;
}

/* --- the endpoint ----------------------------------------------------------- */

struct metrics_server {
	struct MHD_Daemon *d;
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *text)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)text,
	                                                         MHD_RESPMEM_PERSISTENT);
	if (r == NULL) {
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
	(void)cls, (void)version, (void)upload, (void)con_cls;
	if (*upload_size != 0) {
		*upload_size = 0; /* a body is never wanted: drop it */
		return MHD_YES;
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET\n");
	}
	if (strcmp(url, "/metrics") != 0) {
		return reply(c, MHD_HTTP_NOT_FOUND, "zonesync: metrics are at /metrics\n");
	}
	size_t len;
	char *text = metrics_render(&len);
	if (text == NULL) {
		return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	}
	struct MHD_Response *r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

metrics_server_t *metrics_serve(const net_addr_t *addr, char *err, size_t errlen)
{
	metrics_server_t *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	bool v6 = addr->ss.ss_family == AF_INET6;
	uint16_t port = ntohs(v6 ? ((const struct sockaddr_in6 *)&addr->ss)->sin6_port
	                         : ((const struct sockaddr_in *)&addr->ss)->sin_port);
	errno = 0;
	s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | (v6 ? MHD_USE_IPv6 : 0), port,
	                        NULL, NULL, handle, NULL, MHD_OPTION_SOCK_ADDR, &addr->ss,
	                        MHD_OPTION_CONNECTION_LIMIT, 32u, MHD_OPTION_CONNECTION_TIMEOUT,
	                        10u, MHD_OPTION_END);
	if (s->d == NULL) {
		char ip[INET6_ADDRSTRLEN] = "?";
		inet_ntop(addr->ss.ss_family,
		          v6 ? (const void *)&((const struct sockaddr_in6 *)&addr->ss)->sin6_addr
		             : (const void *)&((const struct sockaddr_in *)&addr->ss)->sin_addr,
		          ip, sizeof(ip));
		snprintf(err, errlen, "server.metrics: cannot listen on %s@%u: %s", ip, port,
		         errno != 0 ? strerror(errno) : "failed");
		free(s);
		return NULL;
	}
	return s;
}

void metrics_server_stop(metrics_server_t *s)
{
	if (s != NULL) {
		MHD_stop_daemon(s->d);
		free(s);
	}
}
