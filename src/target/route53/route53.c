#include "target/route53/route53.h"

#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <libknot/descriptor.h>

#include "conf/conf.h"
#include "dns/name.h"
#include "dns/rdata.h"
#include "net/awscreds.h"
#include "net/http.h"
#include "net/retry.h"
#include "net/sigv4.h"
#include "obs/log.h"
#include "obs/metrics.h"
#include "target/route53/r53text.h"
#include "target/route53/r53xml.h"

#define API "/2013-04-01"
#define XMLNS "https://route53.amazonaws.com/doc/2013-04-01/"
#define MAX_ATTEMPTS 8
#define BACKOFF_BASE 0.1
#define BACKOFF_CAP 10.0
#define HTTP_TIMEOUT_MS 60000
#define WAIT_MAX_SECS 900.0
/* Record sets per ListResourceRecordSets page: we ask for Route 53's most. */
#define LIST_PAGE 300

struct target {
	const conf_target_t *conf;
	const conf_zone_t *zone;
	http_t *http;
	aws_source_t *src; /* shared, process-wide: the credentials' cache */
	aws_creds_t creds; /* the copy the current request is signed with */
	char account[140]; /* the AWS account id, or "key AKID" when unknown */
	char base[512]; /* scheme://host[:port], no trailing slash */
	char host[300]; /* host[:port] as in the Host header */
	char region[64];
	char zone_id[R53_ID_MAX];
	bool private_zone; /* private: true */
	bool missing;      /* create: true and no hosted zone yet: apply creates it */
	r53_raw_t raw; /* texts of the last read, for DELETEs */
	ratelimit_t *rl;
	const target_opts_t *run;  /* the push's, from start: cancellation */
	const target_opts_t *opts; /* during apply, for progress */
	target_progress_t progress;
};

/* --- requests ------------------------------------------------------------ */

typedef struct {
	long status;
	char code[64];
	char msg[2048];
	bool unanswered; /* a write sent but its answer lost: it may have been applied */
} r53_error_t;

static void cache_set(const target_t *t, bool forget);

static bool retryable(const r53_error_t *e)
{
	return r53_retry_class(e->status, e->code) != R53_GIVE_UP;
}

/* Say where the credentials of t came from (never the credentials). */
static void log_creds(const target_t *t, const char *what)
{
	char exp[32] = "never";
	if (t->creds.expires != 0) {
		struct tm tm;
		gmtime_r(&t->creds.expires, &tm);
		strftime(exp, sizeof(exp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	log_info("route53 credentials %s: target=%s source=%s key=%.4s... expires=%s", what,
	         t->conf->id, LOGV(t->creds.source), t->creds.access_key, exp);
}

/* Why a failed request is sent again (a fixed set: a metric label). */
static const char *resend_reason(const r53_error_t *e)
{
	if (r53_retry_class(e->status, e->code) == R53_THROTTLED) {
		return "throttled";
	}
	return e->status == 0 ? "network" : "error";
}

/*
 * One API call with pacing and retries.  query: raw pairs (encoded here).
 * 0 with resp holding a 2xx answer; -EPROTO with e set for an error answer
 * that is not worth retrying; -EIO when the retries ran out, or at once
 * for a write whose answer was lost (e->unanswered: never sent again
 * blindly, the caller decides); -ECANCELED when the push is stopping.
 */
static int call(target_t *t, const char *method, const char *path, const sigv4_pair_t *query,
                size_t nquery, const char *body, size_t body_len, http_response_t *resp,
                target_stats_t *stats, r53_error_t *e)
{
	char url[4096];
	size_t o = (size_t)snprintf(url, sizeof(url), "%s%s", t->base, path);
	for (size_t i = 0; i < nquery && o < sizeof(url); i++) {
		char *k = sigv4_encode(query[i].name, 0);
		char *v = sigv4_encode(query[i].value, 0);
		if (k != NULL && v != NULL) {
			o += (size_t)snprintf(url + o, sizeof(url) - o, "%c%s=%s", i == 0 ? '?' : '&',
			                      k, v);
		}
		free(k);
		free(v);
	}
	if (o >= sizeof(url)) {
		snprintf(e->msg, sizeof(e->msg), "request URL too long");
		return -EPROTO;
	}
	sigv4_pair_t ctype = { "content-type", "application/xml" };
	bool write = !http_idempotent(method);
	double started = retry_clock();
	for (unsigned attempt = 1;; attempt++) {
		double wait = ratelimit_take(t->rl);
		if (wait > 0) {
			stats->wait_secs += wait;
			target_report(target_shown_to(t->run, t->opts), &t->progress, wait, "rate limit");
		}
		if (!retry_sleep_stop(wait, target_stop_flag(t->run, t->opts))) {
			snprintf(e->msg, sizeof(e->msg), "stopped (the daemon is stopping)");
			return -ECANCELED;
		}
		/* Credentials for this request only: a refresh happens here,
		 * between requests, never in the middle of one. */
		char cerr[sizeof(e->msg)];
		int got = aws_source_creds(t->src, &t->creds, cerr, sizeof(cerr));
		if (got < 0) {
			memset(e, 0, sizeof(*e));
			snprintf(e->msg, sizeof(e->msg), "%s", cerr);
			return -EACCES;
		}
		if (got > 0) {
			log_creds(t, "refreshed");
		}
		sigv4_creds_t creds = { t->creds.access_key, t->creds.secret_key,
			                t->creds.session_token[0] != '\0' ? t->creds.session_token
			                                                   : NULL };
		char date[17];
		time_t now = time(NULL);
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(date, sizeof(date), "%Y%m%dT%H%M%SZ", &tm);
		sigv4_request_t req = { .method = method,
			                .host = t->host,
			                .path = path,
			                .query = query,
			                .nquery = nquery,
			                .headers = body != NULL ? &ctype : NULL,
			                .nheaders = body != NULL ? 1 : 0,
			                .body = body != NULL ? body : "",
			                .body_len = body != NULL ? body_len : 0,
			                .region = t->region,
			                .service = "route53",
			                .amz_date = date };
		char *auth = sigv4_authorization(&req, &creds);
		if (auth == NULL) {
			snprintf(e->msg, sizeof(e->msg), "cannot sign the request");
			return -EPROTO;
		}
		char h_auth[2048], h_date[64], h_token[4200];
		const char *headers[4];
		size_t nh = 0;
		snprintf(h_auth, sizeof(h_auth), "Authorization: %s", auth);
		free(auth);
		snprintf(h_date, sizeof(h_date), "X-Amz-Date: %s", date);
		headers[nh++] = h_auth;
		headers[nh++] = h_date;
		if (creds.session_token != NULL) {
			snprintf(h_token, sizeof(h_token), "X-Amz-Security-Token: %s",
			         creds.session_token);
			headers[nh++] = h_token;
		}
		if (body != NULL) {
			headers[nh++] = "Content-Type: application/xml";
		}
		char neterr[512];
		stats->requests++;
		memset(e, 0, sizeof(*e));
		int ret = http_request(t->http, method, url, headers, nh, body, body_len, resp,
		                       neterr, sizeof(neterr));
		/* Reads only: a write always goes on a new connection. */
		target_count_resends(t->conf, t->zone, stats, resp->sends, method, path);
		if (ret == 0 && resp->status >= 200 && resp->status < 300) {
			return 0;
		}
		if (ret == -ECANCELED || ret == -EFBIG) {
			snprintf(e->msg, sizeof(e->msg), "%s", neterr);
			return ret;
		}
		if (ret == 0) {
			e->status = resp->status;
			if (r53_parse_error(resp->body, resp->len, e->code, sizeof(e->code), e->msg,
			                    sizeof(e->msg)) != 0) {
				snprintf(e->msg, sizeof(e->msg), "%.300s",
				         resp->body != NULL ? resp->body : "(empty body)");
			}
			http_response_free(resp);
		} else {
			snprintf(e->msg, sizeof(e->msg), "%s", neterr);
		}
		log_printable(e->code);
		log_printable(e->msg);
		if (!retryable(e)) {
			if (strcmp(e->code, "NoSuchHostedZone") == 0) {
				cache_set(t, true);
			}
			return -EPROTO;
		}
		/* A write that went out and got no answer (or a gateway's
		 * timeout) may have been applied: sending it again blindly
		 * could apply it twice. */
		if (write && ((e->status == 0 && resp->sends > 0) || e->status == 504)) {
			e->unanswered = true;
			return -EIO;
		}
		double pause = retry_backoff(attempt, BACKOFF_BASE, BACKOFF_CAP);
		if (attempt == MAX_ATTEMPTS || !retry_in_time(started, pause, target_retry_budget(t->run))) {
			char last[sizeof(e->msg)];
			snprintf(last, sizeof(last), "%s", e->msg);
			snprintf(e->msg, sizeof(e->msg),
			         "gave up after %u attempts in %.1fs, last: %.1900s", attempt,
			         retry_clock() - started, last);
			return -EIO;
		}
		if (target_stopping(t->run, t->opts)) {
			/* Stopping: no retry (the write did not land; dirty). */
			return -ECANCELED;
		}
		bool throttled = r53_retry_class(e->status, e->code) == R53_THROTTLED;
		stats->retries++;
		stats->throttled += throttled;
		const char *reason = resend_reason(e);
		metrics_add(M_REQUESTS_RESENT, 1, t->conf->id, reason);
		log_info("route53 request retried: target=%s zone=%s %s %s status=%ld code=%s "
		         "reason=%s attempt=%u pause=%.2fs error=%s",
		         t->conf->id, t->zone->domain, method, path, e->status,
		         e->code[0] != '\0' ? e->code : "-", reason, attempt, pause, LOGV(e->msg));
		stats->wait_secs += pause;
		target_report(target_shown_to(t->run, t->opts), &t->progress, pause,
		              throttled ? "throttled" : "retry");
		if (!retry_sleep_stop(pause, target_stop_flag(t->run, t->opts))) {
			return -ECANCELED;
		}
	}
}

/* err := "WHAT: why", WHAT from fmt, why from the failed call. */
static void call_failed(const r53_error_t *e, char *err, size_t errlen, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static void call_failed(const r53_error_t *e, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	size_t o = n < 0 ? 0 : (size_t)n < errlen ? (size_t)n : errlen - 1;
	if (e->status == 0) {
		snprintf(err + o, errlen - o, ": %s", e->msg);
	} else {
		snprintf(err + o, errlen - o, ": HTTP %ld %s: %s", e->status,
		         e->code[0] != '\0' ? e->code : "error", e->msg);
	}
}

/* --- open: credentials, endpoint, hosted zone ------------------------------ */

/*
 * Hosted zones by name.  One ListHostedZones listing per endpoint and
 * account, kept for the life of the process and shared by every target and
 * zone that uses them: the daemon lists an account's zones once, not once
 * per zone (10,000 zones are 100 pages).  A name not in the listing lists
 * again, at most once per RELIST_SECS per listing (a zone created
 * meanwhile).  Which zone a (target, zone) pair took is kept too, and
 * forgotten, with its entry in the listing, when Route 53 says the zone is
 * gone (NoSuchHostedZone), so that it is found again by name.
 *
 * cache_lock guards both lists and the listings' entries; it is never held
 * across a request.  A listing's fetch lock makes one lister at a time
 * (the others wait and find it listed).
 */
#define ZONES_PAGE 100   /* maxitems: Route 53's most */
#define ZONES_MAX 100000 /* hosted zones of one account we hold */
#define ZONES_PAGES (ZONES_MAX / ZONES_PAGE + 1)
#define RELIST_SECS 60.0
#define CANDIDATES_MAX 16 /* hosted zones of one name we choose among */

struct zone_cache {
	struct zone_cache *next;
	char key[1800]; /* endpoint, account, target id, zone, kind, VPC */
	char id[R53_ID_MAX];
};

struct listing {
	struct listing *next;
	char base[512];
	char account[256];
	pthread_mutex_t fetch;
	r53_zones_t zones; /* sorted */
	bool listed;
	double listed_at; /* retry_clock() */
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct zone_cache *cache;
static struct listing *listings;

/* Which account the listing belongs to: the AWS account id, or when it
 * cannot be told the access key (one key, one account); set at open by
 * account_limiter(). */
static const char *account_key(const target_t *t)
{
	return t->account;
}

/* What the choice depends on: a reload that changes private or vpc-id
 * must choose again. */
static void cache_key(const target_t *t, char *key, size_t size)
{
	const char *vpc = conf_target_str(t->conf, "vpc-id");
	snprintf(key, size, "%s %s %s %s %s %s", t->base, account_key(t), t->conf->id,
	         t->zone->domain, t->private_zone ? "private" : "public", vpc != NULL ? vpc : "-");
}

static bool cache_get(target_t *t)
{
	char key[1800];
	cache_key(t, key, sizeof(key));
	pthread_mutex_lock(&cache_lock);
	struct zone_cache *c = cache;
	while (c != NULL && strcmp(c->key, key) != 0) {
		c = c->next;
	}
	if (c != NULL) {
		memcpy(t->zone_id, c->id, sizeof(t->zone_id));
	}
	pthread_mutex_unlock(&cache_lock);
	return c != NULL;
}

/* The listing of t's endpoint and account (under cache_lock). */
static struct listing *listing_find(const target_t *t)
{
	struct listing *l = listings;
	while (l != NULL &&
	       (strcmp(l->base, t->base) != 0 || strcmp(l->account, account_key(t)) != 0)) {
		l = l->next;
	}
	return l;
}

static void cache_set(const target_t *t, bool forget)
{
	char key[1800];
	cache_key(t, key, sizeof(key));
	pthread_mutex_lock(&cache_lock);
	struct zone_cache **pc = &cache;
	while (*pc != NULL && strcmp((*pc)->key, key) != 0) {
		pc = &(*pc)->next;
	}
	if (forget && *pc != NULL) {
		struct zone_cache *c = *pc;
		*pc = c->next;
		free(c);
	} else if (!forget && *pc == NULL && (*pc = calloc(1, sizeof(**pc))) != NULL) {
		memcpy((*pc)->key, key, sizeof(key));
		memcpy((*pc)->id, t->zone_id, sizeof(t->zone_id));
	}
	struct listing *l = forget ? listing_find(t) : NULL;
	if (l != NULL && t->zone_id[0] != '\0') {
		r53_zones_drop(&l->zones, t->zone_id);
	}
	pthread_mutex_unlock(&cache_lock);
}

void route53_cleanup(void)
{
	aws_sources_cleanup();
	pthread_mutex_lock(&cache_lock);
	while (cache != NULL) {
		struct zone_cache *n = cache->next;
		free(cache);
		cache = n;
	}
	while (listings != NULL) {
		struct listing *n = listings->next;
		r53_zones_free(&listings->zones);
		pthread_mutex_destroy(&listings->fetch);
		free(listings);
		listings = n;
	}
	pthread_mutex_unlock(&cache_lock);
}

static int parse_endpoint(target_t *t, const char *endpoint, char *err, size_t errlen)
{
	const char *p = strstr(endpoint, "://");
	if (p == NULL || (strncmp(endpoint, "http://", 7) != 0 &&
	                  strncmp(endpoint, "https://", 8) != 0)) {
		snprintf(err, errlen, "endpoint '%s': expected http:// or https://", endpoint);
		return -EINVAL;
	}
	const char *host = p + 3;
	size_t hl = strcspn(host, "/");
	if (hl == 0 || hl >= sizeof(t->host) ||
	    (size_t)(host - endpoint) + hl >= sizeof(t->base)) {
		snprintf(err, errlen, "endpoint '%s': bad host", endpoint);
		return -EINVAL;
	}
	memcpy(t->host, host, hl);
	t->host[hl] = '\0';
	memcpy(t->base, endpoint, (size_t)(host - endpoint) + hl);
	t->base[(host - endpoint) + hl] = '\0';
	return 0;
}

/* Does a listing's next page start where the last one did? */
static bool same_marker(const r53_next_t *a, const r53_next_t *b)
{
	return strcmp(a->name, b->name) == 0 && strcmp(a->type, b->type) == 0 &&
	       strcmp(a->identifier, b->identifier) == 0;
}

/* The listing of t's endpoint and account, made empty when new. */
static struct listing *listing_get(const target_t *t)
{
	pthread_mutex_lock(&cache_lock);
	struct listing *l = listing_find(t);
	if (l == NULL && (l = calloc(1, sizeof(*l))) != NULL) {
		snprintf(l->base, sizeof(l->base), "%s", t->base);
		snprintf(l->account, sizeof(l->account), "%s", account_key(t));
		pthread_mutex_init(&l->fetch, NULL);
		l->next = listings;
		listings = l;
	}
	pthread_mutex_unlock(&cache_lock);
	return l;
}

/*
 * ListHostedZones, every page, into l (its fetch lock held).  Bounded: at
 * most ZONES_PAGE zones a page, ZONES_MAX in all, ZONES_PAGES pages, and
 * every truncated page holds zones and a NextMarker other than the marker
 * it was asked from.  0, or an error with err set (l unchanged).
 */
static int list_zones(target_t *t, struct listing *l, target_stats_t *stats, char *err,
                      size_t errlen)
{
	r53_zones_t z = { 0 };
	r53_zone_next_t next = { 0 };
	char asked[sizeof(next.marker)] = "";
	size_t n;
	int ret = 0;
	for (n = 1;; n++) {
		if (target_stopping(t->run, t->opts)) {
			snprintf(err, errlen, "ListHostedZones: stopped after %zu pages", n - 1);
			ret = -ECANCELED;
			break;
		}
		sigv4_pair_t q[2] = { { "maxitems", "100" } };
		size_t nq = 1;
		if (n > 1) {
			q[0] = (sigv4_pair_t){ "marker", asked };
			q[nq++] = (sigv4_pair_t){ "maxitems", "100" };
		}
		http_response_t resp;
		r53_error_t e;
		ret = call(t, "GET", API "/hostedzone", q, nq, NULL, 0, &resp, stats, &e);
		if (ret != 0) {
			call_failed(&e, err, errlen, "ListHostedZones of %s, page %zu", t->base, n);
			break;
		}
		stats->reads++;
		char perr[512];
		ret = r53_parse_zone_list(resp.body, resp.len, &z, ZONES_MAX, &next, perr,
		                          sizeof(perr));
		http_response_free(&resp);
		if (ret != 0) {
			snprintf(err, errlen, "%s (page %zu, from %s)", perr, n, t->base);
			break;
		}
		if (next.zones > ZONES_PAGE) {
			snprintf(err, errlen,
			         "ListHostedZones of %s: page %zu holds %zu hosted zones, more than "
			         "the %d asked for",
			         t->base, n, next.zones, ZONES_PAGE);
			ret = -EPROTO;
			break;
		}
		if (!next.truncated) {
			break;
		}
		if (next.zones == 0 || strcmp(next.marker, asked) == 0) {
			snprintf(err, errlen,
			         "ListHostedZones of %s: page %zu does not advance (%s, NextMarker "
			         "'%s'): the listing would never end",
			         t->base, n,
			         next.zones == 0 ? "no hosted zone" : "the marker it started from",
			         next.marker);
			ret = -EPROTO;
			break;
		}
		if (n >= ZONES_PAGES) {
			snprintf(err, errlen,
			         "ListHostedZones of %s: still truncated after %zu pages (%zu hosted "
			         "zones), stopped reading",
			         t->base, n, z.count);
			ret = -EFBIG;
			break;
		}
		snprintf(asked, sizeof(asked), "%s", next.marker);
	}
	if (ret != 0) {
		r53_zones_free(&z);
		return ret;
	}
	r53_zones_sort(&z);
	size_t count = z.count;
	pthread_mutex_lock(&cache_lock);
	r53_zones_free(&l->zones);
	l->zones = z;
	l->listed = true;
	l->listed_at = retry_clock();
	pthread_mutex_unlock(&cache_lock);
	log_info("route53 hosted zones listed: target=%s endpoint=%s zones=%zu pages=%zu",
	         t->conf->id, t->base, count, n);
	return 0;
}

/* The hosted zones named like t's zone, of the kind it wants (private or
 * public): their ids (at most max) and how many; *other: of the other kind. */
typedef struct {
	size_t count, other;
	char id[CANDIDATES_MAX][R53_ID_MAX];
} candidates_t;

static void candidates(const target_t *t, const struct listing *l, candidates_t *c)
{
	memset(c, 0, sizeof(*c));
	size_t first, n = r53_zones_find(&l->zones, t->zone->name, &first);
	for (size_t i = first; i < first + n; i++) {
		const r53_zone_entry_t *e = &l->zones.e[i];
		if (e->private_zone != t->private_zone) {
			c->other++;
		} else if (c->count++ < CANDIDATES_MAX) {
			memcpy(c->id[c->count - 1], e->id, R53_ID_MAX);
		}
	}
}

/* "Z1, Z2, ..." of the candidates, for messages. */
static void candidate_list(const candidates_t *c, const bool *keep, char *out, size_t size)
{
	size_t o = 0;
	out[0] = '\0';
	for (size_t i = 0; i < c->count && i < CANDIDATES_MAX && o < size; i++) {
		if (keep == NULL || keep[i]) {
			o += (size_t)snprintf(out + o, size - o, "%s%s", o > 0 ? ", " : "", c->id[i]);
		}
	}
	if (c->count > CANDIDATES_MAX && o < size) {
		snprintf(out + o, size - o, ", ...");
	}
}

/* The private zone among the candidates associated with vpc-id (one
 * GetHostedZone each): 0 with t->zone_id set, or an error naming them. */
static int pick_by_vpc(target_t *t, const candidates_t *c, const char *want, const char *vpc,
                       target_stats_t *stats, char *err, size_t errlen)
{
	char ids[CANDIDATES_MAX * (R53_ID_MAX + 2) + 8];
	candidate_list(c, NULL, ids, sizeof(ids));
	if (c->count > CANDIDATES_MAX) {
		snprintf(err, errlen,
		         "%zu private hosted zones named %s in this account (%s): too many to ask "
		         "which is associated with VPC %s; set hosted-zone-id",
		         c->count, want, ids, vpc);
		return -EINVAL;
	}
	bool keep[CANDIDATES_MAX] = { false };
	size_t found = 0, at = 0;
	for (size_t i = 0; i < c->count; i++) {
		char path[300];
		snprintf(path, sizeof(path), API "/hostedzone/%s", c->id[i]);
		http_response_t resp;
		r53_error_t e;
		int ret = call(t, "GET", path, NULL, 0, NULL, 0, &resp, stats, &e);
		if (ret != 0) {
			call_failed(&e, err, errlen, "GetHostedZone %s (private, named %s)", c->id[i],
			            want);
			return ret;
		}
		stats->reads++;
		r53_zone_info_t info;
		ret = r53_parse_zone_info(resp.body, resp.len, &info);
		http_response_free(&resp);
		if (ret != 0) {
			snprintf(err, errlen, "GetHostedZone %s: unreadable answer", c->id[i]);
			return -EPROTO;
		}
		for (size_t k = 0; k < info.vpcs && k < R53_VPCS_MAX && !keep[i]; k++) {
			keep[i] = strcmp(info.vpc[k], vpc) == 0;
		}
		if (keep[i]) {
			found++;
			at = i;
		}
	}
	if (found == 1) {
		memcpy(t->zone_id, c->id[at], sizeof(t->zone_id));
		return 0;
	}
	if (found == 0) {
		snprintf(err, errlen,
		         "no private hosted zone named %s is associated with VPC %s (private "
		         "zones of that name: %s): check vpc-id, or associate the VPC",
		         want, vpc, ids);
		return -ENOENT;
	}
	candidate_list(c, keep, ids, sizeof(ids));
	snprintf(err, errlen,
	         "%zu private hosted zones named %s are associated with VPC %s (%s): set "
	         "hosted-zone-id to the one to write",
	         found, want, vpc, ids);
	return -EINVAL;
}

/* The zone named in the listing of the kind t wants, decided by the rules
 * (public: the one public zone; private: the one private zone, or with
 * vpc-id the one associated with that VPC).  0 with t->zone_id set;
 * -ENOENT with err set when there is none; another error. */
static int pick_zone(target_t *t, const candidates_t *c, const char *want, target_stats_t *stats,
                     char *err, size_t errlen)
{
	const char *kind = t->private_zone ? "private" : "public";
	if (c->count == 0) {
		const char *hint = t->private_zone ? "create it with its VPC, or set hosted-zone-id"
		                                   : "create it, set create: true, or set "
		                                     "hosted-zone-id";
		snprintf(err, errlen, "no %s hosted zone named %s in this account (%s)%s", kind,
		         want, hint,
		         c->other == 0 ? ""
		         : t->private_zone
		                 ? "; a public one has that name: drop private: true to write it"
		                 : "; a private one has that name: set private: true to write it");
		return -ENOENT;
	}
	const char *vpc = conf_target_str(t->conf, "vpc-id");
	if (t->private_zone && vpc != NULL) {
		return pick_by_vpc(t, c, want, vpc, stats, err, errlen);
	}
	if (c->count > 1) {
		char ids[CANDIDATES_MAX * (R53_ID_MAX + 2) + 8];
		candidate_list(c, NULL, ids, sizeof(ids));
		snprintf(err, errlen, "%zu %s hosted zones named %s in this account (%s): set %s",
		         c->count, kind, want, ids,
		         t->private_zone ? "vpc-id to the VPC of the one to write, or "
		                           "hosted-zone-id"
		                         : "hosted-zone-id to the one to write");
		return -EINVAL;
	}
	memcpy(t->zone_id, c->id[0], sizeof(t->zone_id));
	return 0;
}

/*
 * Find t's hosted zone by name in the shared listing: listed when it is
 * not yet, listed again when the name is missing and the listing is older
 * than RELIST_SECS, or at once with force (after a CreateHostedZone whose
 * outcome is unknown).  0 with t->zone_id set (and remembered), -ENOENT
 * with err set when there is none, or another error.
 */
static int lookup_zone(target_t *t, bool force, target_stats_t *stats, char *err, size_t errlen)
{
	char want[1100];
	if (r53_name_from_wire(t->zone->name, want, sizeof(want)) < 0) {
		snprintf(err, errlen, "zone name cannot be written for Route 53");
		return -EINVAL;
	}
	struct listing *l = listing_get(t);
	if (l == NULL) {
		return -ENOMEM;
	}
	candidates_t c;
	int ret = 0;
	bool fresh = false;
	pthread_mutex_lock(&l->fetch);
	for (;;) {
		pthread_mutex_lock(&cache_lock);
		bool listed = l->listed;
		double age = retry_clock() - l->listed_at;
		candidates(t, l, &c);
		pthread_mutex_unlock(&cache_lock);
		if (fresh || (listed && !force && (c.count > 0 || age < RELIST_SECS))) {
			break;
		}
		ret = list_zones(t, l, stats, err, errlen);
		if (ret != 0) {
			break;
		}
		fresh = true;
	}
	pthread_mutex_unlock(&l->fetch);
	if (ret == 0) {
		ret = pick_zone(t, &c, want, stats, err, errlen);
	}
	if (ret == 0) {
		cache_set(t, false);
	}
	return ret;
}

/* A hosted zone created: into the shared listing, so that every target of
 * this endpoint and account finds it. */
static void listing_add(const target_t *t, const char *id)
{
	struct listing *l = listing_get(t);
	if (l == NULL) {
		return;
	}
	pthread_mutex_lock(&cache_lock);
	size_t first, n = r53_zones_find(&l->zones, t->zone->name, &first);
	bool have = false;
	for (size_t i = first; i < first + n && !have; i++) {
		have = strcmp(l->zones.e[i].id, id) == 0;
	}
	if (!have && r53_zones_add(&l->zones, t->zone->name, id, false) == 0) {
		r53_zones_sort(&l->zones);
	}
	pthread_mutex_unlock(&cache_lock);
}

static int find_zone(target_t *t, target_stats_t *stats, char *err, size_t errlen)
{
	if (cache_get(t)) {
		return 0;
	}
	return lookup_zone(t, false, stats, err, errlen);
}

/* --- create: true ------------------------------------------------------------- */

/*
 * The CallerReference of our CreateHostedZone for t's zone.  Route 53
 * creates at most one hosted zone per CallerReference and account, so a
 * request sent again after a lost answer cannot make two zones: it gets
 * HostedZoneAlreadyExists.  Derived, not random: "zonesync-" and the first
 * 32 hex digits of SHA-256("zonesync", zone name).  Of the zone name only,
 * not of the target id too: two targets (or two hosts, two configurations)
 * writing the same zone in the same account write the one public hosted
 * zone of its name, so they must not make two; the account scopes the
 * reference already.
 *
 * Route 53 keeps a used reference after its zone is deleted: when a user
 * deleted the zone zonesync made, that reference is refused for ever.  So
 * after HostedZoneAlreadyExists we list the zones again: the zone is there
 * (an earlier request made it) and is taken, or it is not (deleted since)
 * and we create it once more with the reference and the current time
 * ("-UNIXTIME"), a reference never used; a lost answer to that request is
 * sent again with the same one.  (zonesync never deletes a hosted zone.)
 */
static void caller_reference(const target_t *t, time_t now, char out[R53_ID_MAX])
{
	char in[1400], hex[SIGV4_HEX_LEN + 1];
	int n = snprintf(in, sizeof(in), "zonesync\n%s", t->zone->domain);
	sigv4_sha256_hex(in, n < 0 ? 0 : (size_t)n < sizeof(in) ? (size_t)n : sizeof(in) - 1, hex);
	if (now == 0) {
		snprintf(out, R53_ID_MAX, "zonesync-%.32s", hex);
	} else {
		snprintf(out, R53_ID_MAX, "zonesync-%.32s-%lld", hex, (long long)now);
	}
}

static int create_body(const char *name, const char *ref, r53_buf_t *b)
{
	int ret = 0;
#define ADD(s) ret |= r53_buf_add(b, (s), strlen(s))
	ADD("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<CreateHostedZoneRequest xmlns=\"" XMLNS "\"><Name>");
	ret |= r53_buf_add_escaped(b, name, strlen(name));
	ADD("</Name><CallerReference>");
	ret |= r53_buf_add_escaped(b, ref, strlen(ref));
	ADD("</CallerReference><HostedZoneConfig><Comment>zonesync</Comment>"
	    "<PrivateZone>false</PrivateZone></HostedZoneConfig></CreateHostedZoneRequest>\n");
#undef ADD
	return ret != 0 ? -ENOMEM : 0;
}

/* The name servers of a new hosted zone, for the log: "a, b, c". */
static void ns_list(const r53_zone_info_t *info, char *out, size_t size)
{
	size_t o = 0;
	out[0] = '\0';
	for (size_t i = 0; i < info->ns && o < size; i++) {
		char name[DNS_NAME_STR_MAX];
		if (dns_name_to_str(info->nameserver[i], name, sizeof(name)) != NULL) {
			o += (size_t)snprintf(out + o, size - o, "%s%s", o > 0 ? " " : "", name);
		}
	}
}

/*
 * CreateHostedZone of t's zone (public; create: true, before the first
 * push).  A lost answer or HostedZoneAlreadyExists lists the zones again
 * (see caller_reference).  0 with t->zone_id set, or an error.
 */
static int create_zone(target_t *t, target_stats_t *stats, char *err, size_t errlen)
{
	char want[1100], ref[R53_ID_MAX];
	if (r53_name_from_wire(t->zone->name, want, sizeof(want)) < 0) {
		snprintf(err, errlen, "zone name cannot be written for Route 53");
		return -EINVAL;
	}
	/* Made meanwhile by another target of this endpoint and account? */
	candidates_t c = { 0 };
	pthread_mutex_lock(&cache_lock);
	struct listing *l = listing_find(t);
	if (l != NULL) {
		candidates(t, l, &c);
	}
	pthread_mutex_unlock(&cache_lock);
	if (c.count > 0) {
		int ret = pick_zone(t, &c, want, stats, err, errlen);
		if (ret == 0) {
			cache_set(t, false);
		}
		return ret;
	}
	caller_reference(t, 0, ref);
	bool renewed = false;
	for (int attempt = 1; attempt <= 3; attempt++) {
		r53_buf_t body = { 0 };
		if (create_body(want, ref, &body) != 0) {
			r53_buf_free(&body);
			return -ENOMEM;
		}
		http_response_t resp;
		r53_error_t e;
		int ret = call(t, "POST", API "/hostedzone", NULL, 0, body.data, body.len, &resp,
		               stats, &e);
		r53_buf_free(&body);
		if (ret == 0) {
			stats->writes++;
			r53_zone_info_t info;
			ret = r53_parse_zone_info(resp.body, resp.len, &info);
			http_response_free(&resp);
			if (ret != 0) {
				/* Created, but where?  The next open lists again. */
				snprintf(err, errlen,
				         "CreateHostedZone %s: unreadable answer (the zone may exist "
				         "now: it is looked for by name next time)",
				         want);
				return -EPROTO;
			}
			memcpy(t->zone_id, info.id, sizeof(t->zone_id));
			listing_add(t, info.id);
			cache_set(t, false);
			char ns[R53_NS_MAX * DNS_NAME_STR_MAX];
			ns_list(&info, ns, sizeof(ns));
			log_notice("route53 hosted zone created: target=%s zone=%s id=%s "
			           "caller-reference=%s name servers: %s (delegate the zone to them "
			           "at its parent, the registrar)",
			           t->conf->id, t->zone->domain, info.id, ref,
			           ns[0] != '\0' ? ns : "(none in the answer)");
			return 0;
		}
		bool taken = ret == -EPROTO && strcmp(e.code, "HostedZoneAlreadyExists") == 0;
		if (!taken && !e.unanswered) {
			call_failed(&e, err, errlen, "CreateHostedZone %s (create: true)", want);
			return ret;
		}
		/* Made by our own earlier request (answer lost), or by someone
		 * else meanwhile: then it is listed now. */
		char lerr[1024];
		ret = lookup_zone(t, true, stats, lerr, sizeof(lerr));
		if (ret == 0) {
			log_notice("route53 hosted zone found after CreateHostedZone %s: target=%s "
			           "zone=%s id=%s",
			           taken ? "said it exists" : "went unanswered", t->conf->id,
			           t->zone->domain, t->zone_id);
			return 0;
		}
		if (ret != -ENOENT) {
			snprintf(err, errlen, "%s", lerr);
			return ret;
		}
		if (taken && renewed) {
			call_failed(&e, err, errlen, "CreateHostedZone %s, CallerReference %s", want,
			            ref);
			return -EPROTO;
		}
		if (taken) {
			/* The reference belongs to a zone deleted since. */
			caller_reference(t, time(NULL), ref);
			renewed = true;
			log_notice("route53 CallerReference of zone %s used before by a hosted zone "
			           "deleted since: target=%s creating it with %s",
			           t->zone->domain, t->conf->id, ref);
		}
	}
	snprintf(err, errlen, "CreateHostedZone %s: no answer after 3 attempts", want);
	return -EIO;
}

static void r53_close(target_t *t)
{
	if (t != NULL) {
		http_free(t->http);
		r53_raw_free(&t->raw);
		memset(&t->creds, 0, sizeof(t->creds));
		free(t);
	}
}

/* The shared credentials source of a target's profile, credentials-file,
 * role-arn and external-id keys (NULL: out of memory). */
static aws_source_t *source_of(const conf_target_t *tc)
{
	aws_want_t want = { .profile = conf_target_str(tc, "profile"),
		            .credentials_file = conf_target_str(tc, "credentials-file"),
		            .role_arn = conf_target_str(tc, "role-arn"),
		            .external_id = conf_target_str(tc, "external-id") };
	return aws_source_get(&want);
}

/* The rate limiter of t's account (Route 53 counts requests per account):
 * shared by every target whose credentials are of that account at this
 * endpoint.  When the account cannot be told, the access key stands for
 * it (a key belongs to one account). */
static ratelimit_t *account_limiter(target_t *t)
{
	char account[16], why[600], key[900];
	int ret = aws_source_account(t->src, account, why, sizeof(why));
	if (ret == 0) {
		snprintf(t->account, sizeof(t->account), "%s", account);
		snprintf(key, sizeof(key), "route53 %s account %s", t->base, account);
	} else {
		snprintf(t->account, sizeof(t->account), "key %.128s", t->creds.access_key);
		if (ret != -EAGAIN) {
			log_warning("route53: target=%s: the AWS account of its credentials is "
			            "unknown (%s): its rate limit is shared only with targets using "
			            "the same access key",
			            t->conf->id, LOGV(why));
		}
		snprintf(key, sizeof(key), "route53 %s key %s", t->base, t->creds.access_key);
	}
	return ratelimit_share(key, t->conf->id, (double)conf_target_int(t->conf, "rate-limit", 5));
}

static int r53_open(const conf_target_t *tc, const conf_zone_t *zc, target_t **out,
                    target_stats_t *stats, char *err, size_t errlen)
{
	target_t *t = calloc(1, sizeof(*t));
	if (t == NULL) {
		return -ENOMEM;
	}
	t->conf = tc;
	t->zone = zc;
	t->private_zone = conf_target_bool(tc, "private", false);
	bool create = conf_target_bool(tc, "create", false);
	if (t->private_zone && create) {
		snprintf(err, errlen,
		         "target %s: create: true with private: true: zonesync creates public "
		         "hosted zones only (a private one needs its VPC); create it with its VPC, "
		         "or drop create",
		         tc->id);
		free(t);
		return -EINVAL;
	}
	if (!t->private_zone && conf_target_str(tc, "vpc-id") != NULL) {
		snprintf(err, errlen,
		         "target %s: vpc-id is for private hosted zones: set private: true, or "
		         "drop vpc-id",
		         tc->id);
		free(t);
		return -EINVAL;
	}
	const char *endpoint = conf_target_str(tc, "endpoint");
	if (endpoint == NULL) {
		endpoint = aws_endpoint_env("ROUTE_53");
	}
	const char *region = conf_target_str(tc, "region");
	snprintf(t->region, sizeof(t->region), "%s", region != NULL ? region : "us-east-1");
	int ret = parse_endpoint(t, endpoint != NULL ? endpoint : "https://route53.amazonaws.com",
	                         err, errlen);
	if (ret == 0 && conf_target_str(tc, "external-id") != NULL &&
	    conf_target_str(tc, "role-arn") == NULL) {
		snprintf(err, errlen, "external-id is given without role-arn: it goes with the role");
		ret = -EINVAL;
	}
	if (ret == 0) {
		t->src = source_of(tc);
		ret = t->src != NULL ? aws_source_creds(t->src, &t->creds, err, errlen) : -ENOMEM;
		if (ret > 0) {
			log_creds(t, "found");
			ret = 0;
		}
	}
	if (ret == 0) {
		t->http = http_new(HTTP_TIMEOUT_MS);
		t->rl = account_limiter(t);
		ret = t->http != NULL && t->rl != NULL ? 0 : -ENOMEM;
	}
	const char *id = conf_target_str(tc, "hosted-zone-id");
	if (ret == 0 && id != NULL) {
		const char *p = strncmp(id, "/hostedzone/", 12) == 0 ? id + 12 : id;
		snprintf(t->zone_id, sizeof(t->zone_id), "%s", p);
	} else if (ret == 0) {
		ret = find_zone(t, stats, err, errlen);
		if (ret == -ENOENT && create) {
			/* Created by the first push (apply), not by a plan. */
			log_info("route53 hosted zone missing: target=%s zone=%s: the next push "
			         "creates it (create: true)",
			         tc->id, zc->domain);
			t->missing = true;
			ret = 0;
		}
	}
	if (ret != 0) {
		r53_close(t);
		return ret;
	}
	*out = t;
	return 0;
}

static void r53_start(target_t *t, const target_opts_t *o)
{
	t->run = o;
	http_set_stop(t->http, o != NULL ? o->cancel : NULL);
	http_set_timeout(t->http, o != NULL && o->request_timeout_ms > 0 ? o->request_timeout_ms
	                                                                 : HTTP_TIMEOUT_MS);
}

/* --- read ------------------------------------------------------------------ */

/*
 * Is the listing within the bounds a broken or hostile endpoint cannot push
 * us past, after page n (which started at *asked and said *next)?  At most
 * max records and sets left alone (held); at most LIST_PAGE sets a page;
 * every truncated page holds sets and a marker other than the one it
 * started from; at most max_pages pages.  0, or an error with err set.
 */
static int listing_bounds(const target_t *t, size_t n, const r53_next_t *asked,
                          const r53_next_t *next, size_t held, size_t max, size_t max_pages,
                          char *err, size_t errlen)
{
	const char *id = t->zone_id;
	if (next->sets > LIST_PAGE) {
		snprintf(err, errlen,
		         "ListResourceRecordSets %s: page %zu holds %zu record sets, more than the "
		         "%d asked for",
		         id, n, next->sets, LIST_PAGE);
		return -EPROTO;
	}
	if (held > max) {
		snprintf(err, errlen,
		         "ListResourceRecordSets %s: more than %zu records after %zu pages, stopped "
		         "reading (a read takes transfer-max-records, %llu, and room for the "
		         "provider's own; raise transfer-max-records if the zone is that large)",
		         id, max, n, (unsigned long long)t->zone->xfr_max_records);
		return -EFBIG;
	}
	if (!next->truncated) {
		return 0;
	}
	if (next->sets == 0 || (n > 1 && same_marker(next, asked))) {
		snprintf(err, errlen,
		         "ListResourceRecordSets %s: page %zu does not advance (%s, next record "
		         "'%s' %s): the listing would never end",
		         id, n, next->sets == 0 ? "no record set" : "the marker it started from",
		         next->name, next->type);
		return -EPROTO;
	}
	if (n >= max_pages) {
		snprintf(err, errlen,
		         "ListResourceRecordSets %s: still truncated after %zu pages (%zu records), "
		         "stopped reading",
		         id, n, held);
		return -EFBIG;
	}
	return 0;
}

/* The hosted zone's record sets, page by page, within listing_bounds(); the
 * push's cancellation is looked at before each page and during one. */
static int r53_read(target_t *t, zone_t *live, target_foreign_t *foreign, target_stats_t *stats,
                    char *err, size_t errlen)
{
	zone_init(live);
	zone_set_apex(live, t->zone->name);
	r53_raw_free(&t->raw);
	if (t->missing) {
		return zone_finish(live); /* nothing yet: the push creates the zone */
	}
	char path[300];
	snprintf(path, sizeof(path), API "/hostedzone/%s/rrset", t->zone_id);
	/* Route 53 fills every page but the last: twice the pages the records
	 * fill leaves room enough. */
	size_t max = target_read_max(t->zone);
	size_t max_pages = 2 * (max / LIST_PAGE + 1);
	size_t foreign0 = foreign != NULL ? foreign->count : 0;
	r53_next_t next = { 0 }, asked;
	int ret = 0;
	for (size_t n = 1; ret == 0; n++) {
		if (target_stopping(t->run, t->opts)) {
			snprintf(err, errlen, "ListResourceRecordSets %s: stopped after %zu pages",
			         t->zone_id, n - 1);
			ret = -ECANCELED;
			break;
		}
		sigv4_pair_t q[4] = { { "maxitems", "300" } };
		size_t nq = 1;
		if (next.truncated) {
			q[nq++] = (sigv4_pair_t){ "name", next.name };
			if (next.type[0] != '\0') {
				q[nq++] = (sigv4_pair_t){ "type", next.type };
			}
			if (next.identifier[0] != '\0') {
				q[nq++] = (sigv4_pair_t){ "identifier", next.identifier };
			}
		}
		size_t read = live->count + (foreign != NULL ? foreign->count - foreign0 : 0);
		t->progress = (target_progress_t){ .reading = true, .records_read = read };
		target_report(t->run, &t->progress, 0, NULL);
		http_response_t resp;
		r53_error_t e;
		ret = call(t, "GET", path, q, nq, NULL, 0, &resp, stats, &e);
		if (ret != 0) {
			call_failed(&e, err, errlen, "ListResourceRecordSets %s, page %zu",
			            t->zone_id, n);
			break;
		}
		stats->reads++;
		char perr[1024];
		asked = next;
		ret = r53_parse_rrsets(resp.body, resp.len, live, &t->raw, foreign, &next, perr,
		                       sizeof(perr));
		http_response_free(&resp);
		if (ret != 0) {
			snprintf(err, errlen, "hosted zone %s: %s", t->zone_id, perr);
			break;
		}
		size_t held = live->count + (foreign != NULL ? foreign->count - foreign0 : 0);
		ret = listing_bounds(t, n, &asked, &next, held, max, max_pages, err, errlen);
		if (!next.truncated) {
			break;
		}
	}
	if (ret == 0) {
		ret = zone_finish(live);
	}
	if (ret != 0) {
		zone_free(live);
	}
	return ret;
}

/* --- apply ----------------------------------------------------------------- */

static const char *ACTION[] = { "CREATE", "DELETE", "UPSERT" };

static int batch_xml(const target_t *t, const r53_plan_t *p, size_t from, size_t to, r53_buf_t *b)
{
	char name[1100], type[16], ttl[16], comment[200];
	int ret = 0;
	snprintf(comment, sizeof(comment), "zonesync: %zu of %zu changes", to - from, p->count);
	ret |= r53_buf_add(b, "", 0);
#define ADD(s) ret |= r53_buf_add(b, (s), strlen(s))
	ADD("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<ChangeResourceRecordSetsRequest xmlns=\"" XMLNS "\"><ChangeBatch><Comment>");
	ADD(comment);
	ADD("</Comment><Changes>");
	for (size_t i = from; i < to; i++) {
		const r53_change_t *c = &p->change[i];
		knot_dname_storage_t owner;
		if (dns_name_from_key(c->set->key, c->set->keylen, owner) < 0 ||
		    r53_name_from_wire(owner, name, sizeof(name)) < 0) {
			return -EINVAL;
		}
		dns_type_str(c->set->type, type, sizeof(type));
		snprintf(ttl, sizeof(ttl), "%u", c->set->ttl);
		ADD("<Change><Action>");
		ADD(ACTION[c->action]);
		ADD("</Action><ResourceRecordSet><Name>");
		ret |= r53_buf_add_escaped(b, name, strlen(name));
		ADD("</Name><Type>");
		ADD(type);
		ADD("</Type><TTL>");
		ADD(ttl);
		ADD("</TTL><ResourceRecords>");
		for (size_t k = 0; k < c->set->count; k++) {
			ADD("<ResourceRecord><Value>");
			ret |= r53_buf_add_escaped(b, c->values[k], strlen(c->values[k]));
			ADD("</Value></ResourceRecord>");
		}
		ADD("</ResourceRecords></ResourceRecordSet></Change>");
	}
	ADD("</Changes></ChangeBatch></ChangeResourceRecordSetsRequest>\n");
#undef ADD
	(void)t;
	return ret != 0 ? -ENOMEM : 0;
}

/* Is this refusal "your idea of the live records is out of date"? */
static bool stale(const r53_error_t *e)
{
	/* Route 53's own words; a CNAME conflict ("...a conflicting RRSet of
	 * type CNAME ... already exists") is not staleness. */
	return strcmp(e->code, "InvalidChangeBatch") == 0 &&
	       (strstr(e->msg, "but it was not found") != NULL ||
	        strstr(e->msg, "but the values provided do not match") != NULL ||
	        strstr(e->msg, "but it already exists") != NULL);
}

/* Why a private hosted zone has no name servers to ask. */
static void private_servers(const target_t *t, char *err, size_t errlen)
{
	snprintf(err, errlen,
	         "hosted zone %s of %s is private: it is served only inside its VPCs, by the "
	         "VPC's resolver, not by a delegation set that can be asked from here; to "
	         "check it, list resolver addresses reachable from this host in the "
	         "target's 'serving' key",
	         t->zone_id, t->zone->domain);
}

/* The hosted zone's delegation set (GetHostedZone): the count, or <0. */
static int delegation_set(target_t *t, knot_dname_storage_t *ns, size_t max,
                          target_stats_t *stats, char *err, size_t errlen)
{
	char path[300];
	snprintf(path, sizeof(path), API "/hostedzone/%s", t->zone_id);
	http_response_t resp;
	r53_error_t e;
	int ret = call(t, "GET", path, NULL, 0, NULL, 0, &resp, stats, &e);
	if (ret != 0) {
		call_failed(&e, err, errlen, "GetHostedZone %s", t->zone_id);
		return ret;
	}
	stats->reads++;
	int n = r53_parse_nameservers(resp.body, resp.len, ns, max);
	r53_zone_info_t info;
	bool priv = n <= 0 && r53_parse_zone_info(resp.body, resp.len, &info) == 0 &&
	            info.private_zone;
	http_response_free(&resp);
	if (priv) {
		private_servers(t, err, errlen);
		return -EOPNOTSUPP;
	}
	if (n <= 0) {
		snprintf(err, errlen, "GetHostedZone %s: no delegation set in the answer",
		         t->zone_id);
		return -EPROTO;
	}
	return n;
}

/* With apex-ns: sync, the new apex NS set must keep the hosted zone's own
 * name servers: otherwise the zone would delegate away from Route 53. */
static int check_apex_ns(target_t *t, const r53_plan_t *p, target_stats_t *stats, char *err,
                         size_t errlen)
{
	uint8_t apex_key[DNS_KEY_MAX];
	size_t apex_keylen = dns_name_key(t->zone->name, apex_key);
	const zone_rrset_t *ns = NULL;
	for (size_t i = 0; i < p->count; i++) {
		const zone_rrset_t *s = p->change[i].set;
		if (s->type == KNOT_RRTYPE_NS && s->keylen == apex_keylen &&
		    memcmp(s->key, apex_key, apex_keylen) == 0 && p->change[i].action != R53_DELETE) {
			ns = s;
		}
	}
	if (ns == NULL) {
		return 0;
	}
	knot_dname_storage_t own[16];
	int n = delegation_set(t, own, 16, stats, err, errlen);
	if (n < 0) {
		return n;
	}
	for (int i = 0; i < n; i++) {
		bool found = false;
		for (size_t k = 0; k < ns->count && !found; k++) {
			found = knot_dname_is_case_equal(ns->rr[k].rd->data, own[i]);
		}
		if (!found) {
			char name[DNS_NAME_STR_MAX];
			dns_name_to_str(own[i], name, sizeof(name));
			snprintf(err, errlen,
			         "apex-ns: sync refused: the primary's apex NS set lacks %s, one of "
			         "the hosted zone's own name servers (add them all to the zone, or "
			         "use apex-ns: keep)",
			         name);
			return -EPERM;
		}
	}
	return 0;
}

static int wait_insync(target_t *t, const char *change_id, target_stats_t *stats, char *err,
                       size_t errlen)
{
	char path[300];
	snprintf(path, sizeof(path), API "/change/%s", change_id);
	double waited = 0, pause = 0.5;
	for (;;) {
		http_response_t resp;
		r53_error_t e;
		int ret = call(t, "GET", path, NULL, 0, NULL, 0, &resp, stats, &e);
		if (ret != 0) {
			call_failed(&e, err, errlen, "GetChange %s", change_id);
			return ret;
		}
		stats->waits++;
		char id[R53_ID_MAX], status[16];
		ret = r53_parse_change(resp.body, resp.len, id, status);
		http_response_free(&resp);
		if (ret != 0) {
			snprintf(err, errlen, "GetChange %s: unreadable answer", change_id);
			return -EPROTO;
		}
		if (strcmp(status, "INSYNC") == 0) {
			return 0;
		}
		if (waited >= WAIT_MAX_SECS) {
			snprintf(err, errlen, "change %s still %s after %.0f s", change_id, status,
			         waited);
			return -ETIMEDOUT;
		}
		target_report(target_shown_to(t->run, t->opts), &t->progress, pause, "INSYNC");
		retry_sleep(pause);
		waited += pause;
		stats->wait_secs += pause;
		pause = pause * 1.5 > 10 ? 10 : pause * 1.5;
	}
}

static int r53_apply(target_t *t, const target_push_t *push, const target_opts_t *o,
                     target_stats_t *stats, char *err, size_t errlen)
{
	const zone_diff_t *d = push->diff;
	bool live_known = push->live_known;
	r53_plan_t p;
	/* A fence needs the listed text of the SOA: only after a read. */
	bool fenced = push->fence_old != NULL && live_known;
	int ret = r53_plan_fenced(d, t->zone->name, live_known ? &t->raw : NULL,
	                          fenced ? push->fence_old : NULL,
	                          fenced ? push->fence_new : NULL, &p, err, errlen);
	if (ret != 0) {
		return ret;
	}
	if (t->missing) {
		/* Its apex SOA and NS come with it: the plan UPSERTs them. */
		ret = create_zone(t, stats, err, errlen);
		if (ret == 0 && !live_known) {
			/* Only a delta to push (the zone was deleted after an
			 * earlier sync): the whole zone is needed, a read tells. */
			snprintf(err, errlen, "hosted zone %s created for %s: reading it to push "
			         "the whole zone", t->zone_id, t->zone->domain);
			ret = -ESTALE;
		}
		t->missing = ret != 0 && ret != -ESTALE;
		if (ret != 0) {
			r53_plan_free(&p);
			return ret;
		}
	}
	if (conf_target_str(t->conf, "apex-ns") != NULL &&
	    strcmp(conf_target_str(t->conf, "apex-ns"), "sync") == 0) {
		ret = check_apex_ns(t, &p, stats, err, errlen);
		if (ret != 0) {
			r53_plan_free(&p);
			return ret;
		}
	}
	t->opts = o;
	t->progress = (target_progress_t){ .batches = p.nbatches };
	for (size_t i = 0; i < p.count; i++) {
		t->progress.records += p.change[i].set->count;
	}
	char (*ids)[R53_ID_MAX] = calloc(p.nbatches + 1, sizeof(*ids));
	if (ids == NULL) {
		r53_plan_free(&p);
		return -ENOMEM;
	}
	char path[300];
	snprintf(path, sizeof(path), API "/hostedzone/%s/rrset/", t->zone_id);
	size_t from = 0;
	for (size_t b = 0; b < p.nbatches && ret == 0; b++) {
		size_t to = p.batch_end[b];
		if (target_cancelled(o)) {
			snprintf(err, errlen, "stopped before batch %zu of %zu", b + 1, p.nbatches);
			ret = -ECANCELED;
			break;
		}
		r53_buf_t xml = { 0 };
		ret = batch_xml(t, &p, from, to, &xml);
		http_response_t resp;
		r53_error_t e;
		if (ret == 0) {
			ret = call(t, "POST", path, NULL, 0, xml.data, xml.len, &resp, stats, &e);
			if (ret != 0) {
				call_failed(&e, err, errlen,
				            "ChangeResourceRecordSets batch %zu of %zu (%zu changes)",
				            b + 1, p.nbatches, to - from);
				if (ret == -EPROTO && stale(&e)) {
					ret = -ESTALE;
				} else if (e.unanswered) {
					/* Applied or not, only the live records can
					 * tell: the engine reads them and diffs again. */
					metrics_add(M_WRITES_UNANSWERED, 1, t->conf->id);
					log_warning("route53 change batch unanswered, not sent again: "
					            "target=%s zone=%s batch=%zu/%zu error=\"%s\": it "
					            "may have been applied; reading the records again",
					            t->conf->id, t->zone->domain, b + 1, p.nbatches,
					            e.msg);
					ret = -ESTALE;
				}
			}
		}
		r53_buf_free(&xml);
		if (ret != 0) {
			break;
		}
		stats->writes++;
		char status[16];
		if (r53_parse_change(resp.body, resp.len, ids[b], status) != 0) {
			ids[b][0] = '\0';
		}
		http_response_free(&resp);
		for (size_t i = from; i < to; i++) {
			t->progress.records_done += p.change[i].set->count;
		}
		t->progress.batches_done = b + 1;
		target_report(t->opts, &t->progress, 0, NULL);
		from = to;
	}
	for (size_t b = 0; ret == 0 && o != NULL && o->wait && b < p.nbatches; b++) {
		if (ids[b][0] != '\0') {
			ret = wait_insync(t, ids[b], stats, err, errlen);
		}
	}
	t->opts = NULL;
	free(ids);
	r53_plan_free(&p);
	return ret;
}

/* --- servers (verify --serving) ----------------------------------------------- */

static int r53_servers(target_t *t, char (*out)[80], size_t max, target_stats_t *stats,
                       char *err, size_t errlen)
{
	if (t->private_zone) {
		private_servers(t, err, errlen);
		return -EOPNOTSUPP;
	}
	if (t->missing) {
		snprintf(err, errlen,
		         "no hosted zone named %s yet: the first sync creates it (create: true)",
		         t->zone->domain);
		return -ENOENT;
	}
	knot_dname_storage_t ns[16];
	int n = delegation_set(t, ns, 16, stats, err, errlen);
	if (n < 0) {
		return n;
	}
	size_t count = 0;
	for (int i = 0; i < n && count < max; i++) {
		char name[DNS_NAME_STR_MAX];
		struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *ai = NULL;
		if (dns_name_to_str(ns[i], name, sizeof(name)) == NULL ||
		    getaddrinfo(name, "53", &hints, &ai) != 0) {
			log_warning("route53: name server %s of %s does not resolve", name,
			            t->zone_id);
			continue;
		}
		char ip[INET6_ADDRSTRLEN];
		const void *a = ai->ai_family == AF_INET6
		                        ? (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr
		                        : (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr;
		if (inet_ntop(ai->ai_family, a, ip, sizeof(ip)) != NULL) {
			snprintf(out[count++], 80, "%s@53", ip);
		}
		freeaddrinfo(ai);
	}
	if (count == 0) {
		snprintf(err, errlen, "none of the hosted zone's name servers resolves");
		return -ENOENT;
	}
	return (int)count;
}

/* --- rules ------------------------------------------------------------------ */

static bool r53_type_ok(uint16_t type)
{
	switch (type) {
	case KNOT_RRTYPE_SOA:
	case KNOT_RRTYPE_A:
	case KNOT_RRTYPE_TXT:
	case KNOT_RRTYPE_NS:
	case KNOT_RRTYPE_CNAME:
	case KNOT_RRTYPE_MX:
	case KNOT_RRTYPE_NAPTR:
	case KNOT_RRTYPE_PTR:
	case KNOT_RRTYPE_SRV:
	case KNOT_RRTYPE_SPF:
	case KNOT_RRTYPE_AAAA:
	case KNOT_RRTYPE_CAA:
	case KNOT_RRTYPE_DS:
	case KNOT_RRTYPE_TLSA:
	case KNOT_RRTYPE_SSHFP:
	case KNOT_RRTYPE_SVCB:
	case KNOT_RRTYPE_HTTPS:
		return true;
	default:
		return false;
	}
}

static zone_view_rules_t r53_rules(const conf_target_t *tc)
{
	const char *ns = conf_target_str(tc, "apex-ns");
	return (zone_view_rules_t){ .type_ok = r53_type_ok,
		                    .apex_soa = target_mirrors_serial(tc),
		                    .apex_ns = ns != NULL && strcmp(ns, "sync") == 0,
		                    .no_wildcard_ns = true,
		                    .max_values = R53_MAX_VALUES };
}

/* --- probe (check) ------------------------------------------------------------- */

static int r53_probe(const conf_target_t *tc, char *msg, size_t msglen)
{
	aws_source_t *src = source_of(tc);
	if (src == NULL) {
		return -ENOMEM;
	}
	aws_creds_t c;
	int ret = aws_source_creds(src, &c, msg, msglen);
	if (ret < 0) {
		return ret;
	}
	char account[16], why[600], exp[48] = "";
	if (c.expires != 0) {
		struct tm tm;
		gmtime_r(&c.expires, &tm);
		strftime(exp, sizeof(exp), ", expire %Y-%m-%dT%H:%M:%SZ", &tm);
	}
	if (aws_source_account(src, account, why, sizeof(why)) == 0) {
		snprintf(msg, msglen, "AWS credentials from %s (account %s%s)", c.source, account,
		         exp);
	} else {
		snprintf(msg, msglen, "AWS credentials from %s (account unknown: %s%s)", c.source,
		         why, exp);
	}
	memset(&c, 0, sizeof(c));
	return 0;
}

static const target_ops_t OPS = {
	.probe = r53_probe,
	.open = r53_open,
	.start = r53_start,
	.read = r53_read,
	.apply = r53_apply,
	.close = r53_close,
	.servers = r53_servers,
	.rules = r53_rules,
};

static const conf_item_t ITEMS[] = {
	{ .name = "hosted-zone-id", .type = CONF_STR, .restart = true,
	  .help = "hosted zone id (Z...); found by the zone name when absent" },
	{ .name = "private", .type = CONF_BOOL, .restart = true,
	  .help = "write the private hosted zone of the zone's name, not the public one" },
	{ .name = "vpc-id", .type = CONF_STR, .restart = true,
	  .help = "with private: the VPC whose private hosted zone of that name to write" },
	{ .name = "create", .type = CONF_BOOL, .restart = true,
	  .help = "create the public hosted zone when missing (never deleted)" },
	{ .name = "endpoint", .type = CONF_URL, .restart = true,
	  .help = "API endpoint (tests, China, GovCloud)" },
	{ .name = "region", .type = CONF_STR, .restart = true,
	  .help = "signing region, us-east-1 by default" },
	{ .name = "profile", .type = CONF_STR, .restart = true,
	  .help = "AWS profile (shared config and credentials files); the environment's "
	          "keys are then not used" },
	{ .name = "role-arn", .type = CONF_STR, .restart = true,
	  .help = "IAM role to assume (STS AssumeRole) with the credentials found" },
	{ .name = "external-id", .type = CONF_STR, .restart = true,
	  .help = "ExternalId for role-arn" },
	{ .name = "credentials-file", .type = CONF_PATH, .restart = true, .reads = true,
	  .help = "shared credentials file" },
	TARGET_ITEM_APEX_NS,
	TARGET_ITEM_SOA_SERIAL,
	{ .name = "rate-limit", .type = CONF_INT, .min = 1, .max = 1000, .restart = true,
	  .help = "requests per second (default 5)" },
	TARGET_ITEM_SERVING,
	TARGET_ITEM_RECONCILE_INTERVAL,
	TARGET_ITEM_END,
};

const target_type_t route53_type = { { "route53", ITEMS, "Amazon Route 53" }, &OPS,
	                             route53_cleanup };
