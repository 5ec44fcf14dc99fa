#include "target/rfc2136/rfc2136.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <libknot/consts.h>
#include <libknot/descriptor.h>
#include <libknot/packet/wire.h>
#include <libknot/rrtype/soa.h>
#include <libknot/rrtype/tsig.h>
#include <libknot/tsig-op.h>

#include "conf/conf.h"
#include "dns/name.h"
#include "net/retry.h"
#include "net/sock.h"
#include "obs/log.h"
#include "obs/metrics.h"
#include "target/rfc2136/updmsg.h"
#include "xfr/xfr.h"

#define DEFAULT_TIMEOUT 30 /* seconds: a connection, one answer */
#define MAX_ATTEMPTS 8
#define BACKOFF_BASE 0.2
#define BACKOFF_CAP 10.0
#define READ_ATTEMPTS 3
#define MAC_MAX 64

struct target {
	const conf_target_t *conf;
	const conf_zone_t *zone;
	net_addr_t addr;
	const knot_tsig_key_t *key; /* NULL: unsigned */
	char who[80];               /* ADDR@PORT, for messages */
	uint32_t timeout_ms;
	size_t max_changes;
	int fd;      /* TCP connection for the updates, -1 */
	bool reused; /* fd has carried an exchange already */
	uint8_t *msg, *ans;
	const target_opts_t *run;  /* the push's, from start: cancellation */
	const target_opts_t *opts; /* during apply, for progress */
	target_progress_t progress;
	bool mirror;          /* soa-serial: mirror */
	bool live_read;       /* read() saw the server's SOA: */
	uint32_t live_serial; /* its serial then */
};

/* One UPDATE message to send: message b of a plan, or an SOA-only step. */
typedef struct {
	const upd_plan_t *plan; /* NULL: the SOA step */
	size_t b;
	const knot_rdata_t *soa; /* the step's SOA, its serial set */
	uint32_t ttl;
	const knot_rdata_t *fence; /* the SOA the server must hold, or NULL */
	char what[2 * DNS_NAME_STR_MAX + 200]; /* for errors: "UPDATE 2 of 5 to ..." */
	char label[64];                        /* for the retry log: "2/5" */
} update_t;

/* --- TCP ------------------------------------------------------------------- */

/* xfr.c has the same few lines for its own sockets; an UPDATE exchange
 * also keeps its connection from one message to the next. */


static void disconnect(target_t *t)
{
	if (t->fd >= 0) {
		close(t->fd);
		t->fd = -1;
	}
	t->reused = false;
}

/* Send one message and read one answer into t->ans.  0 or an I/O error
 * (the connection is then closed). */
static int exchange(target_t *t, size_t len, size_t *alen)
{
	int64_t deadline = sock_now_ms() + t->timeout_ms;
	if (t->fd >= 0 && t->reused && sock_idle_broken(t->fd)) {
		/* The server closed the idle connection (its own timeout):
		 * nothing was sent on it, a new one is no re-send. */
		disconnect(t);
	}
	if (t->fd < 0) {
		int fd = sock_open(&t->addr, SOCK_STREAM, deadline);
		if (fd < 0) {
			return fd;
		}
		t->fd = fd;
	}
	uint8_t l[2];
	knot_wire_write_u16(l, (uint16_t)len);
	int ret = sock_send_all(t->fd, l, 2, deadline);
	if (ret == 0) {
		ret = sock_send_all(t->fd, t->msg, len, deadline);
	}
	if (ret == 0) {
		ret = sock_recv_all(t->fd, l, 2, deadline);
	}
	if (ret == 0) {
		*alen = knot_wire_read_u16(l);
		ret = sock_recv_all(t->fd, t->ans, *alen, deadline);
	}
	if (ret != 0) {
		disconnect(t);
		return ret;
	}
	t->reused = true;
	return 0;
}

static const char *io_error(int ret)
{
	return ret == -ETIMEDOUT ? "timed out" : strerror(-ret);
}


/* Network errors worth another try: the server may come back. */
static bool transient(int ret)
{
	return ret == -ETIMEDOUT || ret == -ECONNREFUSED || ret == -ECONNRESET ||
	       ret == -ECONNABORTED || ret == -EPIPE || ret == -EHOSTUNREACH ||
	       ret == -ENETUNREACH || ret == -EAGAIN;
}

/* The push's cancellation flag: from start, or apply's options. */
static const atomic_bool *stop_flag(const target_t *t)
{
	const target_opts_t *o = t->run != NULL ? t->run : t->opts;
	return o != NULL ? o->cancel : NULL;
}

/* --- open, close ------------------------------------------------------------ */

static void r2136_close(target_t *t)
{
	if (t != NULL) {
		disconnect(t);
		free(t->msg);
		free(t->ans);
		free(t);
	}
}

static int r2136_open(const conf_target_t *tc, const conf_zone_t *zc, target_t **out,
                      target_stats_t *stats, char *err, size_t errlen)
{
	(void)stats;
	const char *addr = conf_target_str(tc, "address");
	target_t *t = calloc(1, sizeof(*t));
	if (t == NULL) {
		return -ENOMEM;
	}
	t->fd = -1;
	t->conf = tc;
	t->zone = zc;
	t->key = tc->key != NULL ? &tc->key->tsig : NULL;
	t->timeout_ms = (uint32_t)conf_target_int(tc, "timeout", DEFAULT_TIMEOUT) * 1000;
	t->max_changes = (size_t)conf_target_int(tc, "batch-size", 0);
	t->mirror = target_mirrors_serial(tc);
	if (addr == NULL || net_parse_addr(addr, 53, &t->addr) != 0) {
		snprintf(err, errlen, "address '%s': expected IP[@PORT]", addr ? addr : "");
		r2136_close(t);
		return -EINVAL;
	}
	net_addr_str(&t->addr, t->who, sizeof(t->who));
	t->msg = malloc(UPD_MSG_MAX);
	t->ans = malloc(UPD_MSG_MAX);
	if (t->msg == NULL || t->ans == NULL) {
		r2136_close(t);
		return -ENOMEM;
	}
	*out = t;
	return 0;
}

static void r2136_start(target_t *t, const target_opts_t *o)
{
	t->run = o;
}

/* --- read: AXFR ------------------------------------------------------------- */

/* A zone transfer is bounded by the zone's transfer limits (records, bytes,
 * time); the push's cancellation is looked at between attempts. */
static int r2136_read(target_t *t, zone_t *live, target_foreign_t *foreign,
                      target_stats_t *stats, char *err, size_t errlen)
{
	(void)foreign; /* a zone transfer holds nothing we cannot account for */
	zone_init(live);
	const conf_zone_t *zc = t->zone;
	xfr_peer_t peer = { .addr = &t->addr, .key = t->key };
	xfr_limits_t lim = { .max_records = zc->xfr_max_records,
		             .max_bytes = zc->xfr_max_bytes,
		             .timeout_ms = zc->xfr_timeout * 1000,
		             .io_timeout_ms = t->timeout_ms };
	xfr_result_t res;
	char xerr[512];
	int ret;
	for (unsigned attempt = 1;; attempt++) {
		stats->requests++;
		ret = xfr_transfer(&peer, zc->name, NULL, &lim, &res, xerr, sizeof(xerr));
		if (ret == 0 || !transient(ret) || attempt == READ_ATTEMPTS) {
			break;
		}
		double pause = retry_backoff(attempt, BACKOFF_BASE, BACKOFF_CAP);
		metrics_add(M_REQUESTS_RESENT, 1, t->conf->id, "network");
		log_info("rfc2136 AXFR retried: target=%s zone=%s error=%s reason=network "
		         "attempt=%u pause=%.2fs",
		         t->conf->id, zc->domain, LOGV(xerr), attempt, pause);
		stats->retries++;
		stats->wait_secs += pause;
		if (!retry_sleep_stop(pause, stop_flag(t))) {
			snprintf(err, errlen, "reading the zone by AXFR: stopped after: %s", xerr);
			return -ECANCELED;
		}
	}
	if (ret != 0) {
		snprintf(err, errlen, "reading the zone by AXFR: %s", xerr);
		return ret;
	}
	stats->reads++;
	if (res.kind != XFR_FULL) {
		xfr_result_free(&res);
		snprintf(err, errlen, "reading the zone by AXFR: %s: not a whole zone", t->who);
		return -EPROTO;
	}
	*live = res.zone;
	zone_init(&res.zone);
	xfr_result_free(&res);
	t->live_read = zone_serial(live, &t->live_serial) == 0;
	return 0;
}

/* --- apply: UPDATE ------------------------------------------------------------ */

/* "UPDATE 2 of 5 to ADDR (31 changes: a.example.com. A .. z.example.com. TXT)" */
static const char *batch_str(const target_t *t, const upd_plan_t *p, size_t b, char *buf,
                             size_t size)
{
	size_t from = b == 0 ? 0 : p->batch_end[b - 1], to = p->batch_end[b];
	char first[DNS_NAME_STR_MAX + 20], last[DNS_NAME_STR_MAX + 20];
	upd_op_str(&p->op[from], first, sizeof(first));
	if (to - from == 1) {
		snprintf(buf, size, "UPDATE %zu of %zu to %s (1 change: %s)", b + 1, p->nbatches,
		         t->who, first);
	} else {
		upd_op_str(&p->op[to - 1], last, sizeof(last));
		snprintf(buf, size, "UPDATE %zu of %zu to %s (%zu changes: %s .. %s)", b + 1,
		         p->nbatches, t->who, to - from, first, last);
	}
	return buf;
}

static const char *rcode_hint(uint8_t rcode)
{
	switch (rcode) {
	case KNOT_RCODE_FORMERR:
		return "the server could not read the message";
	case KNOT_RCODE_SERVFAIL:
		return "server failure";
	case KNOT_RCODE_NOTIMPL:
		return "the server does not take dynamic updates";
	case KNOT_RCODE_REFUSED:
		return "the server refused the update: may this key (or address) update the "
		       "zone there (BIND allow-update, Knot acl action update)?  BIND also "
		       "refuses an MX whose target in the zone has no address or is a CNAME: "
		       "see the server's log";
	case KNOT_RCODE_NOTAUTH:
		return "the server is not authoritative for the zone, or does not let this key "
		       "update it (Knot answers NOTAUTH to a denied update)";
	case KNOT_RCODE_NOTZONE:
		return "a name in the update is outside the zone";
	case KNOT_RCODE_NXDOMAIN:
	case KNOT_RCODE_YXDOMAIN:
	case KNOT_RCODE_YXRRSET:
	case KNOT_RCODE_NXRRSET:
		return "a prerequisite failed, though none was sent";
	default:
		return "an unexpected answer";
	}
}

/* Send the message m until the server takes it: 0, or an error with err
 * set. */
static int send_update(target_t *t, const update_t *m, target_stats_t *stats, char *err,
                       size_t errlen)
{
	const knot_dname_t *apex = t->zone->name;
	const char *what = m->what;
	char last[600] = "";
	for (unsigned attempt = 1;; attempt++) {
		uint16_t id = sock_random_id();
		int len = m->plan != NULL ? upd_write_fenced(m->plan, m->b, apex, id, m->fence,
		                                             t->msg, UPD_MSG_MAX)
		                          : upd_write_soa_fenced(apex, id, m->ttl, m->soa, m->fence,
		                                                 t->msg, UPD_MSG_MAX);
		if (len < 0) {
			snprintf(err, errlen, "%s: cannot write the message", what);
			return len;
		}
		size_t size = (size_t)len;
		uint8_t mac[MAC_MAX];
		size_t maclen = sizeof(mac);
		if (t->key != NULL && knot_tsig_sign(t->msg, &size, UPD_MSG_MAX, NULL, 0, mac,
		                                     &maclen, t->key, 0, 0) != KNOT_EOK) {
			snprintf(err, errlen, "%s: cannot sign the message", what);
			return -EINVAL;
		}
		size_t alen = 0;
		stats->requests++;
		int ret = exchange(t, size, &alen);
		bool again;
		const char *reason = "network";
		if (ret != 0) {
			snprintf(last, sizeof(last), "%s", io_error(ret));
			again = transient(ret);
		} else {
			upd_answer_t a;
			char perr[512];
			ret = upd_parse_answer(t->ans, alen, id, apex, t->key, mac, maclen, t->who,
			                       &a, perr, sizeof(perr));
			if (ret != 0) {
				disconnect(t);
				snprintf(err, errlen, "%s: %s", what, perr);
				return ret;
			}
			if (a.rcode == KNOT_RCODE_NOERROR) {
				return 0;
			}
			if (a.rcode == KNOT_RCODE_NXRRSET && m->fence != NULL) {
				/* Our own message, its answer lost, applied
				 * and sent again fails the same way: only a
				 * read tells, the engine reads again. */
				snprintf(err, errlen,
				         "%s: answered NXRRSET: the zone's SOA is no longer the "
				         "one read (another writer, or this message applied "
				         "before its answer was lost)",
				         what);
				return -ESTALE;
			}
			char rc[32];
			upd_rcode_str(a.rcode, rc, sizeof(rc));
			snprintf(last, sizeof(last), "answered %s (%s)", rc, rcode_hint(a.rcode));
			again = a.rcode == KNOT_RCODE_SERVFAIL;
			ret = again ? -EIO : -EPROTO;
			reason = "error";
		}
		if (!again) {
			snprintf(err, errlen, "%s: %s", what, last);
			return ret;
		}
		if (attempt == MAX_ATTEMPTS) {
			snprintf(err, errlen, "%s: gave up after %d attempts, last: %s", what,
			         MAX_ATTEMPTS, last);
			return -EIO;
		}
		/* Sent again even when the answer was lost and the server may
		 * have applied it: an UPDATE without prerequisites applied twice
		 * changes nothing more (RFC 2136 3.4.2: adding a record that is
		 * there, deleting one that is not, are no-ops). */
		double pause = retry_backoff(attempt, BACKOFF_BASE, BACKOFF_CAP);
		metrics_add(M_REQUESTS_RESENT, 1, t->conf->id, reason);
		log_info("rfc2136 UPDATE retried: target=%s zone=%s server=%s message=%s "
		         "error=%s reason=%s attempt=%u pause=%.2fs",
		         t->conf->id, t->zone->domain, t->who, m->label, LOGV(last), reason, attempt,
		         pause);
		stats->retries++;
		stats->wait_secs += pause;
		target_report(t->opts, &t->progress, pause, "retry");
		if (!retry_sleep_stop(pause, stop_flag(t))) {
			snprintf(err, errlen, "%s: stopped after: %s", what, last);
			return -ECANCELED;
		}
	}
}

/* --- soa-serial: mirror ------------------------------------------------------ */

/* The server's SOA as it answers now (one RR, in a finished zone). */
static int server_soa(target_t *t, zone_t *soa, target_stats_t *stats, char *err, size_t errlen)
{
	xfr_peer_t peer = { .addr = &t->addr, .key = t->key };
	uint8_t rcode = 0;
	char qerr[512];
	zone_init(soa);
	stats->requests++;
	stats->reads++;
	int ret = xfr_query(&peer, t->zone->name, KNOT_RRTYPE_SOA, t->timeout_ms, soa, &rcode,
	                    qerr, sizeof(qerr));
	if (ret == 0 && rcode != KNOT_RCODE_NOERROR) {
		char rc[32];
		snprintf(qerr, sizeof(qerr), "%s: SOA query answered %s", t->who,
		         upd_rcode_str(rcode, rc, sizeof(rc)));
		ret = -EPROTO;
	} else if (ret == 0 && (zone_finish(soa) != 0 || soa->count != 1 ||
	                        soa->rr[0].rd->len < 22)) {
		snprintf(qerr, sizeof(qerr), "%s: no SOA for the zone in the answer", t->who);
		ret = -EPROTO;
	}
	if (ret != 0) {
		zone_free(soa);
		snprintf(err, errlen, "soa-serial: mirror: reading the serial: %s", qerr);
	}
	return ret;
}

/*
 * The serial the push must leave the server at: the SOA change's, else (the
 * diff leaves the SOA as it is) the one the server had when read, which is
 * the primary's.  The engine reads a mirror target before every push (its
 * view's SOA is the live one with the primary's serial); without a read,
 * the server's serial now, before the push raises it.
 */
static int wanted_serial(target_t *t, const upd_plan_t *p, uint32_t *want,
                         target_stats_t *stats, char *err, size_t errlen)
{
	if (p->has_soa) {
		*want = p->soa_want;
		return 0;
	}
	if (t->live_read) {
		*want = t->live_serial;
		return 0;
	}
	zone_t soa;
	int ret = server_soa(t, &soa, stats, err, errlen);
	if (ret == 0) {
		*want = knot_soa_serial(soa.rr[0].rd);
		zone_free(&soa);
	}
	return ret;
}

/*
 * After the push: the server raises its serial at every UPDATE that does not
 * (RFC 2136 3.4.2.2; BIND serial-update-method, Knot serial-policy), so it
 * may end above the primary's, or be there already.  An UPDATE cannot lower
 * a serial but can raise it by up to 2^31 - 1, round the ring: step it
 * forward, SOA-only messages with the rest of its own SOA, until it comes to
 * the primary's.  0 when the server serves want at the end.
 */
static int meet_serial(target_t *t, uint32_t want, bool fence, target_stats_t *stats,
                       char *err, size_t errlen)
{
	zone_t soa;
	int ret = server_soa(t, &soa, stats, err, errlen);
	if (ret != 0) {
		return ret;
	}
	const zone_rr_t *rr = &soa.rr[0];
	uint32_t from = knot_soa_serial(rr->rd);
	uint32_t step[UPD_SERIAL_STEPS];
	size_t n = upd_serial_steps(from, want, step);
	knot_rdata_t *rd = n > 0 ? malloc(knot_rdata_size(rr->rd->len)) : NULL;
	knot_rdata_t *prev = n > 0 ? malloc(knot_rdata_size(rr->rd->len)) : NULL;
	if (n > 0 && (rd == NULL || prev == NULL)) {
		free(rd);
		free(prev);
		zone_free(&soa);
		return -ENOMEM;
	}
	if (n > 0) {
		memcpy(rd, rr->rd, knot_rdata_size(rr->rd->len));
		memcpy(prev, rr->rd, knot_rdata_size(rr->rd->len));
		t->progress.batches += n;
		target_report(t->opts, &t->progress, 0, NULL);
	}
	uint32_t at = from;
	for (size_t i = 0; i < n && ret == 0; i++) {
		if (target_cancelled(t->opts)) {
			snprintf(err, errlen, "stopped before serial step %zu of %zu", i + 1, n);
			ret = -ECANCELED;
			break;
		}
		/* Fenced on the SOA as queried, then as each step left it. */
		update_t m = { .soa = rd, .ttl = rr->ttl, .fence = fence ? prev : NULL };
		knot_soa_serial_set(prev, at);
		knot_soa_serial_set(rd, step[i]);
		snprintf(m.what, sizeof(m.what),
		         "soa-serial: mirror: UPDATE to %s setting serial %u (step %zu of %zu from "
		         "%u to the primary's %u)",
		         t->who, step[i], i + 1, n, from, want);
		snprintf(m.label, sizeof(m.label), "serial-step-%zu/%zu", i + 1, n);
		ret = send_update(t, &m, stats, err, errlen);
		if (ret == 0) {
			stats->writes++;
			log_notice("rfc2136 serial step: zone=%s target=%s server=%s from=%u to=%u "
			           "step=%zu/%zu",
			           t->zone->domain, t->conf->id, t->who, at, step[i], i + 1, n);
			at = step[i];
			t->progress.batches_done++;
			target_report(t->opts, &t->progress, 0, NULL);
		}
	}
	free(rd);
	free(prev);
	zone_free(&soa);
	if (ret != 0 || n == 0) {
		return ret;
	}
	/* Each step answered NOERROR; a server ignores an SOA it does not
	 * take, so ask. */
	ret = server_soa(t, &soa, stats, err, errlen);
	if (ret != 0) {
		return ret;
	}
	uint32_t now = knot_soa_serial(soa.rr[0].rd);
	zone_free(&soa);
	if (now != want) {
		snprintf(err, errlen,
		         "soa-serial: mirror: %s serves serial %u, not the primary's %u, after %zu "
		         "SOA-only UPDATEs stepping it from %u (did the server ignore an SOA, or "
		         "another writer change it?); the records are in place",
		         t->who, now, want, n, from);
		return -ERANGE;
	}
	/* The serial is one the server had before: its journal may not
	 * expect that at its next start (see zonesync.yaml(5)). */
	log_warning("rfc2136 serial stepped round to the primary's: zone=%s target=%s server=%s "
	            "serial=%u steps=%zu: write the zone to the server's file before it "
	            "restarts (rndc sync %s; knotc zone-flush %s)",
	            t->zone->domain, t->conf->id, t->who, want, n, t->zone->domain,
	            t->zone->domain);
	return 0;
}

static int r2136_apply(target_t *t, const target_push_t *push, const target_opts_t *o,
                       target_stats_t *stats, char *err, size_t errlen)
{
	const zone_diff_t *d = push->diff;
	bool live_known = push->live_known;
	bool fenced = push->fence_old != NULL && push->fence_old->count == 1;
	upd_limits_t lim = { .msg_max = UPD_MSG_MAX - (fenced ? UPD_FENCE_MAX : 0),
		             .tsig = t->key != NULL ? knot_tsig_wire_size(t->key) : 0,
		             .max_changes = t->max_changes };
	upd_plan_t p;
	int ret = upd_plan(d, live_known, t->zone->name, &lim, &p, err, errlen);
	if (ret != 0) {
		return ret;
	}
	uint32_t want = 0;
	if (t->mirror) {
		ret = wanted_serial(t, &p, &want, stats, err, errlen);
		if (ret != 0) {
			upd_plan_free(&p);
			return ret;
		}
	}
	/* An SOA not sent for its serial is stepped below, not left alone. */
	size_t dropped = p.dropped - (p.soa_behind ? 1 : 0);
	if (dropped > 0) {
		log_notice("rfc2136 apex changes left alone: target=%s zone=%s count=%zu (the apex "
		           "SOA is never added or deleted, the apex NS set never deleted)",
		           t->conf->id, t->zone->domain, dropped);
	}
	t->opts = o;
	t->progress = (target_progress_t){ .batches = p.nbatches };
	for (size_t i = 0; i < p.count; i++) {
		t->progress.records += p.op[i].rrs;
	}
	size_t from = 0;
	/* The fence of the first message is the SOA the push read; the server
	 * sets a serial of its own at each UPDATE (RFC 2136 3.6), so that of
	 * each following one is the SOA asked for after the one before. */
	zone_t left;
	zone_init(&left);
	const knot_rdata_t *fence = fenced ? push->fence_old->rr[0].rd : NULL;
	for (size_t b = 0; b < p.nbatches && ret == 0; b++) {
		if (target_cancelled(o)) {
			snprintf(err, errlen, "stopped before UPDATE %zu of %zu", b + 1, p.nbatches);
			ret = -ECANCELED;
			break;
		}
		if (fenced && b > 0) {
			zone_free(&left);
			ret = server_soa(t, &left, stats, err, errlen);
			if (ret != 0) {
				break;
			}
			fence = left.rr[0].rd;
		}
		update_t m = { .plan = &p, .b = b, .fence = fence };
		batch_str(t, &p, b, m.what, sizeof(m.what));
		snprintf(m.label, sizeof(m.label), "%zu/%zu", b + 1, p.nbatches);
		ret = send_update(t, &m, stats, err, errlen);
		if (ret != 0) {
			break;
		}
		stats->writes++;
		for (size_t i = from; i < p.batch_end[b]; i++) {
			t->progress.records_done += p.op[i].rrs;
		}
		from = p.batch_end[b];
		t->progress.batches_done = b + 1;
		target_report(t->opts, &t->progress, 0, NULL);
	}
	zone_free(&left);
	if (ret == 0 && t->mirror) {
		ret = meet_serial(t, want, push->fence_old != NULL, stats, err, errlen);
	}
	t->opts = NULL;
	upd_plan_free(&p);
	return ret;
}

/* --- rules ------------------------------------------------------------------- */

bool rfc2136_type_ok(uint16_t type)
{
	switch (type) {
	/* What a signing server makes and keeps itself: signatures, denial
	 * of existence, and its own keys (with its CDS/CDNSKEY for the
	 * parent).  Pushed, they would fight its signer; a primary's own
	 * signatures could not be pushed anyway (no RRSIG goes by UPDATE),
	 * so its DNSKEY alone would only make the zone bogus. */
	case KNOT_RRTYPE_RRSIG:
	case KNOT_RRTYPE_NSEC:
	case KNOT_RRTYPE_NSEC3:
	case KNOT_RRTYPE_NSEC3PARAM:
	case KNOT_RRTYPE_DNSKEY:
	case KNOT_RRTYPE_CDS:
	case KNOT_RRTYPE_CDNSKEY:
	case 65534: /* BIND's signing state (sig-signing-type) */
		return false;
	default:
		return true;
	}
}

static zone_view_rules_t r2136_rules(const conf_target_t *tc)
{
	const char *ns = conf_target_str(tc, "apex-ns");
	return (zone_view_rules_t){ .type_ok = rfc2136_type_ok,
		                    .apex_soa = target_mirrors_serial(tc),
		                    .apex_ns = ns != NULL && strcmp(ns, "sync") == 0,
		                    /* RFC 4592 4.2; BIND ignores such an add. */
		                    .no_wildcard_ns = true };
}

/* verify --serving: the server the updates go to serves the copy. */
static int r2136_servers(target_t *t, char (*out)[80], size_t max, target_stats_t *stats,
                         char *err, size_t errlen)
{
	(void)stats, (void)err, (void)errlen;
	if (max == 0) {
		return 0;
	}
	net_addr_str(&t->addr, out[0], 80);
	return 1;
}

static const target_ops_t OPS = {
	.open = r2136_open,
	.start = r2136_start,
	.read = r2136_read,
	.apply = r2136_apply,
	.close = r2136_close,
	.servers = r2136_servers,
	.rules = r2136_rules,
};

static const conf_item_t ITEMS[] = {
	{ .name = "address", .type = CONF_ADDR, .required = true, .restart = true,
	  .help = "server taking the updates, IP[@PORT]" },
	{ .name = "key", .type = CONF_KEYREF, .restart = true,
	  .help = "TSIG key for updates and AXFR" },
	TARGET_ITEM_APEX_NS,
	TARGET_ITEM_SOA_SERIAL,
	{ .name = "timeout", .type = CONF_INT, .min = 1, .max = 3600, .restart = true,
	  .help = "seconds for a connection and for each answer (default 30)" },
	{ .name = "batch-size", .type = CONF_INT, .min = 1, .max = 65535, .restart = true,
	  .help = "RRset changes per UPDATE message (default: as many as fit in 64 KiB)" },
	TARGET_ITEM_SERVING,
	TARGET_ITEM_RECONCILE_INTERVAL,
	TARGET_ITEM_END,
};

const target_type_t rfc2136_type = { { "rfc2136", ITEMS, "DNS UPDATE with TSIG" }, &OPS, NULL };
