#include "target/powerdns/powerdns.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <libknot/descriptor.h>
#include <libknot/rrtype/soa.h>
#include <libzscanner/scanner.h>

#include "conf/conf.h"
#include "dns/name.h"
#include "dns/rdata.h"
#include "net/fileerr.h"
#include "net/http.h"
#include "net/retry.h"
#include "obs/log.h"
#include "obs/metrics.h"
#include "target/powerdns/pdnsjson.h"

#define MAX_ATTEMPTS 8
#define BACKOFF_BASE 0.1
#define BACKOFF_CAP 10.0
/* A first PATCH of a large zone is one transaction of the whole zone. */
#define HTTP_TIMEOUT_MS 600000
#define KEY_MAX 512

struct target {
	const conf_target_t *conf;
	const conf_zone_t *zone;
	http_t *http;
	char server[300];    /* server-id as given */
	char zone_url[2048]; /* .../api/v1/servers/ID/zones/ZONEID */
	char zones_url[1600]; /* .../api/v1/servers/ID/zones */
	char key_header[KEY_MAX + 16];
	size_t batch_size; /* 0: all in one PATCH */
	bool create;
	pdns_zone_info_t info; /* of the last read in this open */
	bool have_info;
	const target_opts_t *run;  /* the push's, from start: cancellation */
	const target_opts_t *opts; /* during apply, for progress */
	target_progress_t progress;
};

/* --- requests ------------------------------------------------------------ */

typedef struct {
	long status; /* 0: no answer */
	char msg[2048];
	bool json;       /* msg is PowerDNS's own "error" text */
	bool unanswered; /* a write sent but its answer lost: it may have been applied */
} pdns_error_t;

static bool retryable(const pdns_error_t *e)
{
	return e->status == 0 || (e->status >= 500 && e->status <= 599);
}

/*
 * One API call with retries.  0 with resp holding a 2xx answer; -EPROTO
 * with e set for an error answer not worth retrying; -EIO when the
 * retries ran out, or at once for a write whose answer was lost
 * (e->unanswered: never sent again blindly, the caller decides);
 * -ECANCELED when the push is stopping.
 */
static int call(target_t *t, const char *method, const char *url, const char *body,
                size_t body_len, http_response_t *resp, target_stats_t *stats, pdns_error_t *e)
{
	const char *headers[3] = { t->key_header, "Accept: application/json",
		                   "Content-Type: application/json" };
	bool write = !http_idempotent(method);
	double started = retry_clock();
	for (unsigned attempt = 1;; attempt++) {
		char neterr[512];
		stats->requests++;
		memset(e, 0, sizeof(*e));
		int ret = http_request(t->http, method, url, headers, body != NULL ? 3 : 2, body,
		                       body_len, resp, neterr, sizeof(neterr));
		/* Reads only: a write always goes on a new connection. */
		target_count_resends(t->conf, t->zone, stats, resp->sends, method, url);
		if (ret == 0 && resp->status >= 200 && resp->status < 300) {
			return 0;
		}
		if (ret == -ECANCELED || ret == -EFBIG) {
			snprintf(e->msg, sizeof(e->msg), "%s", neterr);
			return ret;
		}
		if (ret == 0) {
			e->status = resp->status;
			e->json = pdns_parse_error(resp->body, resp->len, e->msg, sizeof(e->msg)) == 0;
			http_response_free(resp);
		} else {
			snprintf(e->msg, sizeof(e->msg), "%s", neterr);
		}
		log_printable(e->msg);
		if (!retryable(e)) {
			return -EPROTO;
		}
		/* A write that went out and got no answer (or a gateway's
		 * timeout) may have been applied. */
		if (write && ((e->status == 0 && resp->sends > 0) || e->status == 504)) {
			e->unanswered = true;
			return -EIO;
		}
		if (target_stopping(t->run, t->opts)) {
			return -ECANCELED; /* stopping: no retry */
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
		stats->retries++;
		const char *reason = e->status == 0 ? "network" : "error";
		metrics_add(M_REQUESTS_RESENT, 1, t->conf->id, reason);
		log_info("powerdns request retried: target=%s zone=%s %s status=%ld reason=%s "
		         "attempt=%u pause=%.2fs error=%s",
		         t->conf->id, t->zone->domain, method, e->status, reason, attempt, pause,
		         LOGV(e->msg));
		stats->wait_secs += pause;
		target_report(target_shown_to(t->run, t->opts), &t->progress, pause, "retry");
		if (!retry_sleep_stop(pause, target_stop_flag(t->run, t->opts))) {
			return -ECANCELED;
		}
	}
}

static void error_text(const target_t *t, const pdns_error_t *e, char *err, size_t errlen)
{
	if (e->status == 0) {
		snprintf(err, errlen, "%s", e->msg);
	} else if (e->status == 401 || e->status == 403) {
		snprintf(err, errlen,
		         "HTTP %ld: %s: PowerDNS refused the API key (check %s and the server's "
		         "api-key)",
		         e->status, e->msg,
		         conf_target_str(t->conf, "api-key-file") != NULL ? "api-key-file"
		                                                           : "api-key-env");
	} else {
		snprintf(err, errlen, "HTTP %ld: %s", e->status, e->msg);
	}
}

/* --- open ---------------------------------------------------------------- */

static int read_key(const conf_target_t *tc, char *key, size_t size, char *err, size_t errlen)
{
	const char *file = conf_target_str(tc, "api-key-file");
	const char *env = conf_target_str(tc, "api-key-env");
	if (file != NULL && env != NULL) {
		snprintf(err, errlen, "target %s: api-key-file and api-key-env both set; keep one",
		         tc->id);
		return -EINVAL;
	}
	if (file == NULL && env == NULL) {
		snprintf(err, errlen,
		         "target %s: no API key: set api-key-file or api-key-env (PowerDNS's "
		         "api-key)",
		         tc->id);
		return -EINVAL;
	}
	char line[KEY_MAX + 2] = "";
	if (file != NULL) {
		FILE *f = fopen(file, "r");
		if (f == NULL) {
			int e = errno;
			char cause[160];
			snprintf(err, errlen, "target %s: api-key-file %s: %s", tc->id, file,
			         file_error(file, e, cause, sizeof(cause)));
			return -e;
		}
		if (fgets(line, sizeof(line), f) == NULL) {
			line[0] = '\0';
		}
		fclose(f);
	} else {
		const char *v = getenv(env);
		snprintf(line, sizeof(line), "%s", v != NULL ? v : "");
	}
	/* The first line, without surrounding white space. */
	char *p = line;
	while (*p == ' ' || *p == '\t') {
		p++;
	}
	size_t n = strcspn(p, "\r\n");
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t')) {
		n--;
	}
	int ret = 0;
	const char *where = file != NULL ? "api-key-file" : "api-key-env";
	const char *what = file != NULL ? file : env;
	if (n == 0) {
		snprintf(err, errlen, "target %s: %s %s: no key (%s)", tc->id, where, what,
		         file != NULL ? "the first line is empty" : "the variable is unset or empty");
		ret = -EINVAL;
	} else if (n >= size || n > KEY_MAX) {
		snprintf(err, errlen, "target %s: %s %s: key longer than %d characters", tc->id,
		         where, what, KEY_MAX);
		ret = -EINVAL;
	} else {
		for (size_t i = 0; i < n && ret == 0; i++) {
			if ((unsigned char)p[i] < 0x20 || (unsigned char)p[i] == 0x7f) {
				snprintf(err, errlen, "target %s: %s %s: the key holds a control "
				                      "character",
				         tc->id, where, what);
				ret = -EINVAL;
			}
		}
	}
	if (ret == 0) {
		memcpy(key, p, n);
		key[n] = '\0';
	}
	memset(line, 0, sizeof(line));
	return ret;
}

/* Percent-encode a path segment. */
static int path_escape(const char *in, char *out, size_t size)
{
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)in; *p != '\0'; p++) {
		bool plain = isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~';
		if (o + 4 > size) {
			return -ENOSPC;
		}
		o += plain ? (size_t)(out[o] = (char)*p, 1)
		           : (size_t)snprintf(out + o, size - o, "%%%02X", *p);
	}
	out[o] = '\0';
	return (int)o;
}

static void pdns_close(target_t *t)
{
	if (t != NULL) {
		http_free(t->http);
		pdns_zone_info_free(&t->info);
		memset(t->key_header, 0, sizeof(t->key_header));
		free(t);
	}
}

static int pdns_open(const conf_target_t *tc, const conf_zone_t *zc, target_t **out,
                     target_stats_t *stats, char *err, size_t errlen)
{
	(void)stats; /* no request here: a one-record change costs one PATCH */
	target_t *t = calloc(1, sizeof(*t));
	if (t == NULL) {
		return -ENOMEM;
	}
	t->conf = tc;
	t->zone = zc;
	t->create = conf_target_bool(tc, "create", false);
	t->batch_size = (size_t)conf_target_int(tc, "batch-size", 0);
	const char *sid = conf_target_str(tc, "server-id");
	snprintf(t->server, sizeof(t->server), "%s", sid != NULL ? sid : "localhost");

	/* The base URL, with or without a trailing slash or /api/v1. */
	char base[1024];
	snprintf(base, sizeof(base), "%s", conf_target_str(tc, "url"));
	size_t bl = strlen(base);
	while (bl > 0 && base[bl - 1] == '/') {
		base[--bl] = '\0';
	}
	if (bl >= 7 && strcmp(base + bl - 7, "/api/v1") == 0) {
		base[bl - 7] = '\0';
	}
	char sid_esc[900], zid[1100];
	char key[KEY_MAX + 1];
	int ret = read_key(tc, key, sizeof(key), err, errlen);
	if (ret == 0) {
		snprintf(t->key_header, sizeof(t->key_header), "X-API-Key: %s", key);
		memset(key, 0, sizeof(key));
		if (path_escape(t->server, sid_esc, sizeof(sid_esc)) < 0 ||
		    pdns_zone_id(zc->name, zid, sizeof(zid)) < 0 ||
		    (size_t)snprintf(t->zones_url, sizeof(t->zones_url), "%s/api/v1/servers/%s/zones",
		                     base, sid_esc) >= sizeof(t->zones_url) ||
		    (size_t)snprintf(t->zone_url, sizeof(t->zone_url), "%s/%s", t->zones_url, zid) >=
		            sizeof(t->zone_url)) {
			snprintf(err, errlen, "target %s: API URL too long", tc->id);
			ret = -EINVAL;
		}
	}
	if (ret == 0) {
		t->http = http_new(HTTP_TIMEOUT_MS);
		ret = t->http != NULL ? 0 : -ENOMEM;
	}
	if (ret != 0) {
		pdns_close(t);
		return ret;
	}
	*out = t;
	return 0;
}

static void pdns_start(target_t *t, const target_opts_t *o)
{
	t->run = o;
	http_set_stop(t->http, o != NULL ? o->cancel : NULL);
	http_set_timeout(t->http, o != NULL && o->request_timeout_ms > 0 ? o->request_timeout_ms
	                                                                 : HTTP_TIMEOUT_MS);
}

/* --- read ------------------------------------------------------------------ */

/* POST /zones: kind Native, no name servers, SOA-EDIT-API off.  1 when we
 * made it, 0 when someone else did meanwhile (409), or an error. */
static int create_zone(target_t *t, target_stats_t *stats, char *err, size_t errlen)
{
	char *body = pdns_create_body(t->zone->name);
	if (body == NULL) {
		return -ENOMEM;
	}
	http_response_t resp;
	pdns_error_t e;
	int ret = call(t, "POST", t->zones_url, body, strlen(body), &resp, stats, &e);
	free(body);
	if (ret == 0) {
		stats->writes++;
		http_response_free(&resp);
		log_notice("powerdns zone created: target=%s zone=%s server=%s", t->conf->id,
		           t->zone->domain, t->server);
		return 1;
	}
	if (ret == -EPROTO && e.status == 409) {
		return 0;
	}
	char m[2300];
	error_text(t, &e, m, sizeof(m));
	snprintf(err, errlen, "cannot create zone %s on PowerDNS server %s: %s", t->zone->domain,
	         t->server, m);
	return ret;
}

static int check_zone(target_t *t, char *err, size_t errlen)
{
	const pdns_zone_info_t *i = &t->info;
	if (strcasecmp(i->kind, "Slave") == 0 || strcasecmp(i->kind, "Consumer") == 0) {
		snprintf(err, errlen,
		         "zone %s on PowerDNS server %s is of kind %s: it takes its records from "
		         "its own primary, not from the API (make it Native or Master)",
		         t->zone->domain, t->server, i->kind);
		return -EINVAL;
	}
	if (i->soa_edit_api[0] != '\0') {
		/* PowerDNS would rewrite the serial of every SOA we send, so the
		 * zone would never equal the primary's, nor stop differing. */
		snprintf(err, errlen,
		         "zone %s on PowerDNS server %s has SOA-EDIT-API %s, which rewrites the "
		         "SOA serial zonesync copies from the primary; clear it (pdnsutil "
		         "set-meta %s SOA-EDIT-API, or PUT {\"soa_edit_api\": \"\"} to the zone)",
		         t->zone->domain, t->server, i->soa_edit_api, t->zone->domain);
		return -EINVAL;
	}
	return 0;
}

static int pdns_read(target_t *t, zone_t *live, target_foreign_t *foreign, target_stats_t *stats,
                     char *err, size_t errlen)
{
	zone_init(live);
	zone_set_apex(live, t->zone->name);
	pdns_zone_info_free(&t->info);
	t->have_info = false;
	bool created = false;
	t->progress = (target_progress_t){ .reading = true };
	target_report(t->run, &t->progress, 0, NULL);
	http_response_t resp;
	pdns_error_t e;
	int ret = call(t, "GET", t->zone_url, NULL, 0, &resp, stats, &e);
	if (ret == -EPROTO && e.status == 404 && t->create) {
		ret = create_zone(t, stats, err, errlen);
		if (ret < 0) {
			return ret;
		}
		created = ret == 1;
		ret = call(t, "GET", t->zone_url, NULL, 0, &resp, stats, &e);
	}
	if (ret != 0) {
		if (e.status == 404) {
			snprintf(err, errlen,
			         "zone %s not found on PowerDNS server %s (%s): create it there, or "
			         "set create: true",
			         t->zone->domain, t->server, t->zone_url);
		} else {
			char m[2300];
			error_text(t, &e, m, sizeof(m));
			snprintf(err, errlen, "GET zone %s: %s", t->zone->domain, m);
		}
		return ret;
	}
	stats->reads++;
	char perr[1024];
	ret = pdns_parse_zone(resp.body, resp.len, live, &t->info, perr, sizeof(perr));
	http_response_free(&resp);
	if (ret != 0) {
		snprintf(err, errlen, "zone %s on PowerDNS server %s: %s", t->zone->domain,
		         t->server, perr);
		zone_free(live);
		pdns_zone_info_free(&t->info);
		return ret;
	}
	/* One answer, bounded by HTTP_MAX_BODY; what it holds by this. */
	size_t held = live->count + t->info.left.count, max = target_read_max(t->zone);
	if (held > max) {
		snprintf(err, errlen,
		         "zone %s on PowerDNS server %s holds %zu records, more than the %zu a "
		         "read takes (transfer-max-records, %llu, and room for the server's own; "
		         "raise transfer-max-records if the zone is that large)",
		         t->zone->domain, t->server, held, max,
		         (unsigned long long)t->zone->xfr_max_records);
		zone_free(live);
		pdns_zone_info_free(&t->info);
		return -EFBIG;
	}
	ret = check_zone(t, err, errlen);
	if (ret == 0 && created) {
		/* Only PowerDNS's placeholder SOA (default-soa-content) is there: not
		 * data to keep or mirror; the first push replaces it. */
		live->count = 0;
	}
	if (ret == 0) {
		ret = zone_finish(live);
	}
	if (ret != 0) {
		zone_free(live);
		pdns_zone_info_free(&t->info);
		return ret;
	}
	t->have_info = true;
	for (size_t i = 0; i < t->info.left.count; i++) {
		const target_foreign_set_t *s = &t->info.left.set[i];
		if (target_foreign_add(foreign, s->name, s->type, s->why) != 0) {
			return -ENOMEM;
		}
	}
	return 0;
}

/* --- apply ------------------------------------------------------------------ */

static const zone_rrset_t *set_of(const zone_change_t *c)
{
	return c->kind == ZONE_CHANGE_DELETE ? &c->old : &c->new;
}

/* Names of RRsets, for a message. */
typedef struct {
	char text[1024];
	size_t n;
} set_list_t;

static void list_add(set_list_t *l, const zone_rrset_t *s)
{
	char name[DNS_NAME_STR_MAX], type[16];
	size_t o = strlen(l->text);
	dns_key_to_str(s->key, s->keylen, name, sizeof(name));
	if (o + 1 < sizeof(l->text)) {
		snprintf(l->text + o, sizeof(l->text) - o, "%s%s %s", l->n > 0 ? ", " : "", name,
		         dns_type_str(s->type, type, sizeof(type)));
	}
	l->n++;
}

/* The changes of d but those to RRsets the last read left alone (in
 * foreign) and those at names PowerDNS's API refuses (in badname). */
static int keep_own(target_t *t, const zone_diff_t *d, zone_diff_t *out, set_list_t *foreign,
                    set_list_t *badname)
{
	memset(out, 0, sizeof(*out));
	if (d->count == 0) {
		return 0;
	}
	out->change = malloc(d->count * sizeof(*out->change));
	if (out->change == NULL) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < d->count; i++) {
		const zone_rrset_t *s = set_of(&d->change[i]);
		knot_dname_storage_t owner;
		if (t->have_info && pdns_zone_info_has(&t->info, s)) {
			list_add(foreign, s);
		} else if (dns_name_from_key(s->key, s->keylen, owner) < 0 ||
		           !pdns_name_ok(owner)) {
			list_add(badname, s);
		} else {
			out->change[out->count++] = d->change[i];
		}
	}
	return 0;
}

/* Is this refusal "your idea of the live records is out of date"? */
static bool stale(const pdns_error_t *e)
{
	return e->status == 404 ||
	       (e->status == 422 && strstr(e->msg, "Conflicts with pre-existing RRset") != NULL);
}

static int patch(target_t *t, const pdns_plan_t *p, bool live_known, target_stats_t *stats,
                 char *err, size_t errlen)
{
	zs_scanner_t *sc = dns_scanner_new();
	if (sc == NULL) {
		return -ENOMEM;
	}
	int ret = 0;
	size_t from = 0;
	for (size_t b = 0; b < p->nbatches && ret == 0; b++) {
		size_t to = p->batch_end[b];
		if (target_stopping(t->run, t->opts)) {
			snprintf(err, errlen, "stopped before batch %zu of %zu", b + 1, p->nbatches);
			ret = -ECANCELED;
			break;
		}
		char *body = NULL;
		size_t len = 0;
		ret = pdns_patch_body(p->order, from, to, sc, &body, &len, err, errlen);
		if (ret != 0) {
			break;
		}
		http_response_t resp;
		pdns_error_t e;
		ret = call(t, "PATCH", t->zone_url, body, len, &resp, stats, &e);
		free(body);
		if (ret != 0) {
			char m[2300];
			error_text(t, &e, m, sizeof(m));
			const char *hint = "";
			if (e.status == 400 && !e.json && len > 1000000) {
				hint = " (a body over the server's webserver-max-bodysize, 2 MB by "
				       "default? raise it, or set batch-size)";
			}
			snprintf(err, errlen, "PATCH zone %s, batch %zu of %zu (%zu RRsets, %zu "
			                      "bytes): %s%s",
			         t->zone->domain, b + 1, p->nbatches, to - from, len, m, hint);
			if (ret == -EPROTO && !live_known && stale(&e)) {
				ret = -ESTALE;
			} else if (e.unanswered) {
				/* Applied or not, only the live records can
				 * tell: the engine reads them and diffs again. */
				metrics_add(M_WRITES_UNANSWERED, 1, t->conf->id);
				log_warning("powerdns PATCH unanswered, not sent again: target=%s "
				            "zone=%s batch=%zu/%zu error=\"%s\": it may have been "
				            "applied; reading the records again",
				            t->conf->id, t->zone->domain, b + 1, p->nbatches, e.msg);
				ret = -ESTALE;
			}
			break;
		}
		http_response_free(&resp);
		stats->writes++;
		for (size_t i = from; i < to; i++) {
			t->progress.records_done += set_of(p->order[i])->count;
		}
		t->progress.batches_done = b + 1;
		target_report(t->opts, &t->progress, 0, NULL);
		from = to;
	}
	dns_scanner_free(sc);
	return ret;
}

/*
 * PowerDNS's PATCH takes no condition: read, compare, write.  Right before
 * the first PATCH, the zone's serial must still be the one the push read
 * (fenced) or last wrote (a push of a delta): else another writer has been
 * there since, and the engine reads again and decides (-ESTALE).  What
 * another writer does between this GET and the PATCH is not seen: the
 * window zonesync.yaml(5) documents.
 */
static int compare_serial(target_t *t, const target_push_t *push, target_stats_t *stats,
                          char *err, size_t errlen)
{
	uint32_t expect;
	if (push->fence_old != NULL && push->fence_old->count == 1) {
		expect = knot_soa_serial(push->fence_old->rr[0].rd);
	} else if (push->has_previous && !push->live_known) {
		expect = push->previous;
	} else {
		return 0; /* nothing known to compare with */
	}
	char url[2100];
	snprintf(url, sizeof(url), "%s?rrsets=false", t->zone_url);
	http_response_t resp;
	pdns_error_t e;
	int ret = call(t, "GET", url, NULL, 0, &resp, stats, &e);
	if (ret != 0) {
		char m[2300];
		error_text(t, &e, m, sizeof(m));
		snprintf(err, errlen, "GET zone %s (its serial, before the PATCH): %s",
		         t->zone->domain, m);
		return ret == -EPROTO && e.status == 404 ? -ESTALE : ret; /* a read tells */
	}
	stats->reads++;
	uint32_t now;
	ret = pdns_parse_serial(resp.body, resp.len, &now);
	http_response_free(&resp);
	if (ret != 0) {
		snprintf(err, errlen, "GET zone %s: no serial in the answer", t->zone->domain);
		return -EPROTO;
	}
	if (now != expect) {
		snprintf(err, errlen,
		         "zone %s is at serial %u on PowerDNS server %s, not %u as %s: another "
		         "writer has been there",
		         t->zone->domain, now, t->server, expect,
		         push->fence_old != NULL ? "read" : "last written");
		return -ESTALE;
	}
	return 0;
}

static int pdns_apply(target_t *t, const target_push_t *push, const target_opts_t *o,
                      target_stats_t *stats, char *err, size_t errlen)
{
	const zone_diff_t *d = push->diff;
	bool live_known = push->live_known;
	zone_diff_t own;
	set_list_t foreign = { "", 0 }, badname = { "", 0 };
	int ret = keep_own(t, d, &own, &foreign, &badname);
	pdns_plan_t p = { 0 };
	if (ret == 0) {
		ret = pdns_plan(&own, t->batch_size, &p);
	}
	if (ret != 0) {
		free(own.change);
		return ret;
	}
	t->opts = o;
	t->progress = (target_progress_t){ .batches = p.nbatches };
	for (size_t i = 0; i < p.count; i++) {
		t->progress.records += set_of(p.order[i])->count;
	}
	ret = compare_serial(t, push, stats, err, errlen);
	if (ret == 0) {
		ret = patch(t, &p, live_known, stats, err, errlen);
	}
	t->opts = NULL;
	pdns_plan_free(&p);
	free(own.change);
	/* Not in sync, so not recorded clean: the next push reads again. */
	if (ret == 0 && foreign.n > 0) {
		snprintf(err, errlen,
		         "left alone %zu RRset%s holding disabled records or contents zonesync "
		         "cannot read (the other changes were applied): %s",
		         foreign.n, foreign.n == 1 ? "" : "s", foreign.text);
		ret = -EPERM;
	} else if (ret == 0 && badname.n > 0) {
		snprintf(err, errlen,
		         "not sent: %zu RRset%s at names PowerDNS's API refuses (only letters, "
		         "digits, '-', '_', '/' and a leading '*' label; the other changes were "
		         "applied): %s",
		         badname.n, badname.n == 1 ? "" : "s", badname.text);
		ret = -EPERM;
	}
	return ret;
}

/* --- rules ------------------------------------------------------------------ */

static bool pdns_type_ok(uint16_t type)
{
	switch (type) {
	/* DNSSEC: PowerDNS signs (or serves a presigned zone) itself. */
	case KNOT_RRTYPE_RRSIG:
	case KNOT_RRTYPE_NSEC:
	case KNOT_RRTYPE_NSEC3:
	case KNOT_RRTYPE_NSEC3PARAM:
	case KNOT_RRTYPE_DNSKEY:
	case KNOT_RRTYPE_CDS:
	case KNOT_RRTYPE_CDNSKEY:
	/* Not zone data. */
	case KNOT_RRTYPE_OPT:
	case KNOT_RRTYPE_TKEY:
	case KNOT_RRTYPE_TSIG:
	case KNOT_RRTYPE_IXFR:
	case KNOT_RRTYPE_AXFR:
	case KNOT_RRTYPE_ANY:
	/* PowerDNS reads these only in its own text (no \# form), which libknot
	 * cannot print: MB, MG, MR, RKEY, DLV, and PowerDNS's ALIAS and LUA. */
	case 7:
	case 8:
	case 9:
	case 57:
	case 32769:
	case 65401:
	case 65402:
		return false;
	default:
		return true;
	}
}

static zone_view_rules_t pdns_rules(const conf_target_t *tc)
{
	(void)tc;
	return (zone_view_rules_t){ .type_ok = pdns_type_ok, .apex_soa = true, .apex_ns = true };
}

static const target_ops_t OPS = {
	.open = pdns_open,
	.start = pdns_start,
	.read = pdns_read,
	.apply = pdns_apply,
	.close = pdns_close,
	.rules = pdns_rules,
};

static const conf_item_t ITEMS[] = {
	{ .name = "url", .type = CONF_URL, .required = true, .restart = true,
	  .help = "API base URL, e.g. http://127.0.0.1:8081" },
	{ .name = "server-id", .type = CONF_STR, .restart = true,
	  .help = "server id, localhost by default" },
	{ .name = "api-key-file", .type = CONF_PATH, .restart = true, .reads = true,
	  .help = "file holding the X-API-Key" },
	{ .name = "api-key-env", .type = CONF_STR, .restart = true,
	  .help = "environment variable holding the key" },
	{ .name = "create", .type = CONF_BOOL, .restart = true,
	  .help = "create the zone when missing" },
	{ .name = "batch-size", .type = CONF_INT, .min = 1, .max = 100000, .restart = true,
	  .help = "RRsets per PATCH request" },
	TARGET_ITEM_SERVING,
	TARGET_ITEM_RECONCILE_INTERVAL,
	TARGET_ITEM_END,
};

const target_type_t powerdns_type = { { "powerdns", ITEMS, "PowerDNS HTTP API" }, &OPS, NULL };
