#include "xfr/notify.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libknot/codes.h>
#include <libknot/consts.h>
#include <libknot/descriptor.h>
#include <libknot/errcode.h>
#include <libknot/error.h>
#include <libknot/packet/pkt.h>
#include <libknot/packet/wire.h>
#include <libknot/rrtype/soa.h>
#include <libknot/rrtype/tsig.h>
#include <libknot/tsig-op.h>

#include "dns/name.h"
#include "obs/log.h"
#include "obs/metrics.h"
#include "xfr/xfr.h"

#define MSG_MAX 65535
#define RL_SLOTS 4096
/* recvmmsg: libuv cuts the receive buffer into 64 KiB datagram slots. */
#define UDP_BATCH 16
#define UDP_RBUF (UDP_BATCH * 65536)
/* Room for a burst of ~20,000 NOTIFYs queued in the kernel. */
#define UDP_SOCKBUF (32 * 1024 * 1024)

/* A source's three budgets (see notify.h). */
enum budget { BUDGET_SIGNED, BUDGET_UNSIGNED, BUDGET_REFUSED };

struct bucket {
	uint8_t addr[16];
	uint8_t budget;
	uint64_t last_ms;
	double tokens;
};

struct tcp_client;

struct notify {
	notify_limits_t lim;
	notify_cb_t cb;
	notify_stats_t stats;
	struct bucket *buckets;
	uv_loop_t *loop;
	uv_udp_t *udp;
	uv_tcp_t *tcp;
	size_t nsock;
	size_t clients;
	struct tcp_client *client_list;
	uint8_t *rbuf, *wbuf; /* UDP receive and answer buffers */
	uint8_t *qbuf;        /* the query being parsed: libknot edits it (TSIG strip) */
	/* Answers to one recvmmsg batch, sent with one sendmmsg. */
	uint8_t *obuf;
	size_t olen[UDP_BATCH];
	struct sockaddr_storage oaddr[UDP_BATCH];
	size_t nout;
	/* Refusal log lines: at most LOG_BURST a second, the rest counted. */
	uint64_t log_window_ms;
	unsigned log_lines;
	uint64_t log_suppressed;
};

#define LOG_BURST 10

notify_t *notify_new(const notify_limits_t *lim, const notify_cb_t *cb)
{
	notify_t *n = calloc(1, sizeof(*n));
	if (n == NULL) {
		return NULL;
	}
	n->lim = *lim;
	n->cb = *cb;
	/* The sockets' buffers come with notify_listen: notify_process alone
	 * (tests, fuzzers) needs only these. */
	n->buckets = calloc(RL_SLOTS, sizeof(*n->buckets));
	n->qbuf = malloc(MSG_MAX);
	if (n->buckets == NULL || n->qbuf == NULL) {
		notify_free(n);
		return NULL;
	}
	return n;
}

void notify_free(notify_t *n)
{
	if (n == NULL) {
		return;
	}
	free(n->buckets);
	free(n->rbuf);
	free(n->wbuf);
	free(n->qbuf);
	free(n->obuf);
	free(n->udp);
	free(n->tcp);
	free(n);
}

const notify_stats_t *notify_stats(const notify_t *n)
{
	return &n->stats;
}

/* The source's IP as 16 bytes (IPv4 mapped), for the rate limiter. */
static void addr_bytes(const struct sockaddr *sa, uint8_t out[16])
{
	memset(out, 0, 16);
	if (sa->sa_family == AF_INET) {
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		memcpy(out, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	}
}

/* One token bucket per source and budget; a slot is taken over by another
 * on a hash collision, and starts full: still bounded, never stricter.  It
 * holds max(rate, burst) tokens and fills at rate a second. */
static bool rate_ok(notify_t *n, const struct sockaddr *from, enum budget budget, uint64_t now_ms,
                    uint32_t burst)
{
	uint32_t rate = n->lim.rate_limit;
	if (rate == 0) {
		return true;
	}
	double cap = burst > rate ? burst : rate;
	uint8_t a[16];
	addr_bytes(from, a);
	uint32_t h = 2166136261u;
	for (int i = 0; i < 16; i++) {
		h = (h ^ a[i]) * 16777619u;
	}
	h = (h ^ budget) * 16777619u;
	struct bucket *b = &n->buckets[h % RL_SLOTS];
	if (memcmp(b->addr, a, 16) != 0 || b->budget != budget || b->last_ms == 0) {
		memcpy(b->addr, a, 16);
		b->budget = (uint8_t)budget;
		b->tokens = cap;
		b->last_ms = now_ms;
	}
	double refill = (double)(now_ms - b->last_ms) * rate / 1000.0;
	b->tokens = b->tokens + refill > cap ? cap : b->tokens + refill;
	b->last_ms = now_ms;
	if (b->tokens < 1.0) {
		return false;
	}
	b->tokens -= 1.0;
	return true;
}

/* A bare error answer built from the header alone (message unparsable). */
static size_t header_answer(const uint8_t *msg, uint8_t *out, uint8_t rcode)
{
	memcpy(out, msg, KNOT_WIRE_HEADER_SIZE);
	knot_wire_set_qr(out);
	knot_wire_clear_aa(out);
	knot_wire_clear_tc(out);
	knot_wire_clear_ra(out);
	knot_wire_clear_ad(out);
	knot_wire_set_rcode(out, rcode);
	knot_wire_set_qdcount(out, 0);
	knot_wire_set_ancount(out, 0);
	knot_wire_set_nscount(out, 0);
	knot_wire_set_arcount(out, 0);
	return KNOT_WIRE_HEADER_SIZE;
}

static const char *src_str(const struct sockaddr *sa, char *buf, size_t size)
{
	net_addr_t a = { 0 };
	memcpy(&a.ss, sa,
	       sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
	                                 : sizeof(struct sockaddr_in));
	return net_addr_str(&a, buf, size);
}

/* May a refusal be logged now?  A flood of bad NOTIFYs must not flood
 * the log: past LOG_BURST lines a second they are counted, and the count
 * is logged with the next line allowed. */
static bool log_allowed(notify_t *n, uint64_t now_ms)
{
	if (now_ms - n->log_window_ms >= 1000) {
		if (n->log_suppressed > 0) {
			log_notice("NOTIFY refusals not logged: count=%llu",
			           (unsigned long long)n->log_suppressed);
			n->log_suppressed = 0;
		}
		n->log_window_ms = now_ms;
		n->log_lines = 0;
	}
	if (n->log_lines >= LOG_BURST) {
		n->log_suppressed++;
		return false;
	}
	n->log_lines++;
	return true;
}

/* An accepted NOTIFY: the zone, the source, and the serial its answer
 * section carries (RFC 1996 3.7), "-" without one. */
static void log_accepted(const notify_zone_t *zone, const knot_pkt_t *q,
                         const struct sockaddr *from)
{
	char src[80], serial[16] = "-";
	src_str(from, src, sizeof(src));
	const knot_pktsection_t *an = knot_pkt_section(q, KNOT_ANSWER);
	for (uint16_t i = 0; i < an->count; i++) {
		const knot_rrset_t *rr = knot_pkt_rr(an, i);
		if (rr->type == KNOT_RRTYPE_SOA && rr->rrs.count > 0) {
			snprintf(serial, sizeof(serial), "%u", knot_soa_serial(rr->rrs.rdata));
			break;
		}
	}
	log_info("NOTIFY accepted: zone=%s from=%s serial=%s", zone->domain, src, serial);
}

/* The zone (ours, or as the message names it), the source, why. */
static void log_refusal(const notify_zone_t *zone, const knot_dname_t *qname,
                        const struct sockaddr *from, const char *reason, int tsig_ret)
{
	char name[KNOT_DNAME_TXT_MAXLEN + 1], src[80];
	const char *domain =
	        zone != NULL ? zone->domain : knot_dname_to_str(name, qname, sizeof(name));
	src_str(from, src, sizeof(src));
	if (tsig_ret != KNOT_EOK) {
		log_notice("NOTIFY refused: zone=%s from=%s reason=%s (%s)", LOGV(domain), src,
		           reason, knot_strerror(tsig_ret));
	} else {
		log_notice("NOTIFY refused: zone=%s from=%s reason=%s",
		           domain != NULL ? LOGV(domain) : "?", src, reason);
	}
}

void notify_set_limits(notify_t *n, const notify_limits_t *lim)
{
	n->lim = *lim;
}

/* A refusal of a message not parsed further, from its header alone; over
 * the source's refusal budget it gets no answer. */
static size_t refuse_early(notify_t *n, const uint8_t *msg, const struct sockaddr *from,
                           uint64_t now_ms, uint8_t *out, uint8_t rcode, const char *reason)
{
	metrics_add(M_NOTIFY_REFUSED, 1, reason);
	if (!rate_ok(n, from, BUDGET_REFUSED, now_ms, 0)) {
		n->stats.dropped++;
		return 0;
	}
	if (rcode == KNOT_RCODE_NOTIMPL) {
		n->stats.notimp++;
	} else {
		n->stats.formerr++;
	}
	return header_answer(msg, out, rcode);
}

size_t notify_process(notify_t *n, const uint8_t *msg, size_t len, const struct sockaddr *from,
                      uint64_t now_ms, uint8_t *out, size_t outmax)
{
	if (len < KNOT_WIRE_HEADER_SIZE || outmax < MSG_MAX || knot_wire_get_qr(msg)) {
		n->stats.dropped++;
		return 0;
	}
	n->stats.received++;
	metrics_add(M_NOTIFY_RECEIVED, 1);
	if (knot_wire_get_opcode(msg) != KNOT_OPCODE_NOTIFY) {
		return refuse_early(n, msg, from, now_ms, out, KNOT_RCODE_NOTIMPL, "not-notify");
	}

	len = len > MSG_MAX ? MSG_MAX : len;
	memcpy(n->qbuf, msg, len);
	knot_pkt_t *q = knot_pkt_new(n->qbuf, (uint16_t)len, NULL);
	if (q == NULL) {
		return 0;
	}
	size_t answer = 0;
	if (knot_pkt_parse(q, 0) != KNOT_EOK || knot_wire_get_qdcount(msg) != 1 ||
	    knot_pkt_qtype(q) != KNOT_RRTYPE_SOA || knot_pkt_qclass(q) != KNOT_CLASS_IN) {
		answer = refuse_early(n, msg, from, now_ms, out, KNOT_RCODE_FORMERR, "malformed");
		goto out;
	}

	/* Judge it first: the zone, the source, the signature. */
	notify_zone_t zone_info;
	const notify_zone_t *zone = NULL;
	if (n->cb.lookup(n->cb.ctx, knot_pkt_qname(q), from, &zone_info)) {
		zone = &zone_info;
	}
	const char *reason = NULL; /* refused: why, for metrics and the log */
	int tsig_ret = KNOT_EOK;
	uint8_t rcode = KNOT_RCODE_REFUSED;
	uint16_t tsig_rcode = 0;
	bool verified = false; /* signed with the zone's key: so is the answer */
	bool limited = false;
	if (zone == NULL) {
		/* REFUSED, as for a zone this source may not notify: the
		 * answer must not tell which zones we serve. */
		reason = "unknown-zone";
	} else if (!zone->source_ok) {
		reason = "source-not-allowed";
	} else if (zone->key != NULL && q->tsig_rr == NULL) {
		reason = "unsigned";
	} else if (zone->key != NULL) {
		tsig_ret = knot_tsig_server_check(q->tsig_rr, q->wire, q->size, zone->key);
		if (tsig_ret == KNOT_EOK) {
			verified = true;
		} else {
			reason = "tsig";
			rcode = KNOT_RCODE_NOTAUTH;
			tsig_rcode = tsig_ret == KNOT_TSIG_EBADTIME  ? KNOT_RCODE_BADTIME
			             : tsig_ret == KNOT_TSIG_EBADKEY ? KNOT_RCODE_BADKEY
			                                             : KNOT_RCODE_BADSIG;
		}
	} else if (q->tsig_rr != NULL) {
		/* Signed, but we know no key for this primary (RFC 8945 5.2.1). */
		reason = "unknown-key";
		rcode = KNOT_RCODE_NOTAUTH;
		tsig_rcode = KNOT_RCODE_BADKEY;
	}

	/* Then charge the budget it belongs to: only the key's holder spends
	 * the signed one. */
	if (reason == NULL) {
		limited = !rate_ok(n, from, verified ? BUDGET_SIGNED : BUDGET_UNSIGNED, now_ms,
		                   zone->burst);
		if (limited) {
			reason = "rate-limited";
		} else {
			rcode = KNOT_RCODE_NOERROR;
		}
	} else if (!rate_ok(n, from, BUDGET_REFUSED, now_ms, 0)) {
		metrics_add(M_NOTIFY_REFUSED, 1, reason);
		n->stats.dropped++;
		goto out;
	}

	if (reason != NULL) {
		metrics_add(M_NOTIFY_REFUSED, 1, reason);
		if (limited) {
			n->stats.ratelimited++;
		} else if (rcode == KNOT_RCODE_NOTAUTH) {
			n->stats.notauth++;
		} else {
			n->stats.refused++;
		}
		if (log_allowed(n, now_ms)) {
			log_refusal(zone, knot_pkt_qname(q), from, reason, tsig_ret);
		}
	}

	knot_pkt_t *r = knot_pkt_new(out, MSG_MAX, NULL);
	if (r == NULL || knot_pkt_init_response(r, q) != KNOT_EOK) {
		knot_pkt_free(r);
		goto out;
	}
	knot_wire_set_aa(r->wire);
	knot_wire_set_rcode(r->wire, rcode);
	answer = r->size;
	knot_pkt_free(r);

	uint8_t digest[64];
	size_t dlen = sizeof(digest);
	if (verified) {
		if (knot_tsig_sign(out, &answer, outmax, knot_tsig_rdata_mac(q->tsig_rr),
		                   knot_tsig_rdata_mac_length(q->tsig_rr), digest, &dlen, zone->key,
		                   0, 0) != KNOT_EOK) {
			answer = header_answer(msg, out, KNOT_RCODE_SERVFAIL);
			goto out;
		}
	} else if (tsig_rcode == KNOT_RCODE_BADTIME) {
		/* BADTIME answers are signed, with the request's time. */
		knot_tsig_sign(out, &answer, outmax, knot_tsig_rdata_mac(q->tsig_rr),
		               knot_tsig_rdata_mac_length(q->tsig_rr), digest, &dlen, zone->key,
		               tsig_rcode, knot_tsig_rdata_time_signed(q->tsig_rr));
	} else if (tsig_rcode != 0) {
		/* BADKEY and BADSIG: an unsigned TSIG record carrying the error. */
		knot_tsig_add(out, &answer, outmax, tsig_rcode, q->tsig_rr);
	}
	if (rcode == KNOT_RCODE_NOERROR) {
		n->stats.accepted++;
		metrics_add(M_NOTIFY_ACCEPTED, 1, zone->domain);
		log_accepted(zone, q, from);
		n->cb.accepted(n->cb.ctx, zone->handle, from);
	}
out:
	knot_pkt_free(q);
	return answer;
}

/* --- UDP ------------------------------------------------------------------ */

static void udp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)suggested;
	notify_t *n = h->data;
	buf->base = (char *)n->rbuf;
	buf->len = UDP_RBUF;
}

static void udp_flush(notify_t *n, uv_udp_t *h)
{
	if (n->nout == 0) {
		return;
	}
	uv_os_fd_t fd;
	struct mmsghdr msgs[UDP_BATCH];
	struct iovec iov[UDP_BATCH];
	memset(msgs, 0, sizeof(msgs));
	for (size_t i = 0; i < n->nout; i++) {
		iov[i].iov_base = n->obuf + i * MSG_MAX;
		iov[i].iov_len = n->olen[i];
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &n->oaddr[i];
		msgs[i].msg_hdr.msg_namelen = n->oaddr[i].ss_family == AF_INET6
		                                      ? sizeof(struct sockaddr_in6)
		                                      : sizeof(struct sockaddr_in);
	}
	size_t done = 0;
	if (uv_fileno((uv_handle_t *)h, &fd) == 0) {
		while (done < n->nout) {
			int r = sendmmsg(fd, msgs + done, (unsigned)(n->nout - done), MSG_DONTWAIT);
			if (r <= 0) {
				break;
			}
			done += (size_t)r;
		}
	}
	n->stats.dropped += n->nout - done;
	n->nout = 0;
}

static void udp_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *from,
                     unsigned flags)
{
	notify_t *n = h->data;
	/* With recvmmsg, a final call with nread 0 hands the buffer back:
	 * then the batch's answers go out together. */
	if (nread <= 0 || from == NULL || (flags & UV_UDP_MMSG_FREE)) {
		udp_flush(n, h);
		return;
	}
	uint8_t *out = n->obuf + n->nout * MSG_MAX;
	size_t alen = notify_process(n, (const uint8_t *)buf->base, (size_t)nread, from,
	                             uv_now(h->loop), out, MSG_MAX);
	if (alen > 0) {
		n->olen[n->nout] = alen;
		memcpy(&n->oaddr[n->nout], from,
		       from->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
		                                   : sizeof(struct sockaddr_in));
		n->nout++;
	}
	if (n->nout == UDP_BATCH || !(flags & UV_UDP_MMSG_CHUNK)) {
		udp_flush(n, h);
	}
}

/* --- TCP ------------------------------------------------------------------ */

/* Bytes of answers a connection may have waiting to be sent: past it, its
 * messages wait and it is not read from until the peer reads.  Answers are
 * small (a header, the question, a TSIG). */
#define TCP_QUEUE_MAX (64 * 1024)

struct outbuf {
	uint8_t *data;
	size_t len, size;
};

struct tcp_client {
	struct tcp_client *next, **prevp; /* n->client_list */
	uv_tcp_t handle;
	uv_timer_t timer;
	uv_write_t write; /* at most one in flight: of sending */
	notify_t *n;
	uint8_t *buf;
	size_t len;
	/* Answers being sent, and those gathered meanwhile (sent next). */
	struct outbuf sending, pending;
	uint64_t deadline; /* loop time (ms) of the close, whatever comes */
	int closing;
	bool paused; /* reading stopped until the peer reads */
	notify_source_t source;
	uint8_t ip[16];
	struct sockaddr_storage peer;
};

static void tcp_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void client_closed(uv_handle_t *h)
{
	struct tcp_client *c = h->data;
	if (--c->closing == 0) {
		c->n->clients--;
		free(c->buf);
		free(c->sending.data);
		free(c->pending.data);
		free(c);
	}
}

static void client_close(struct tcp_client *c)
{
	if (c->closing) {
		return;
	}
	c->closing = 2;
	*c->prevp = c->next;
	if (c->next != NULL) {
		c->next->prevp = c->prevp;
	}
	uv_close((uv_handle_t *)&c->handle, client_closed);
	uv_close((uv_handle_t *)&c->timer, client_closed);
}

static void client_timeout(uv_timer_t *t)
{
	struct tcp_client *c = t->data;
	char src[80];
	c->n->stats.tcp_timeout++;
	log_debug("NOTIFY TCP connection closed: from=%s reason=%s",
	          src_str((const struct sockaddr *)&c->peer, src, sizeof(src)),
	          uv_now(t->loop) >= c->deadline ? "session-timeout" : "idle-timeout");
	client_close(c);
}

/* The timer: idle time from now, but never past the deadline. */
static void client_arm(struct tcp_client *c)
{
	uint64_t now = uv_now(c->handle.loop);
	uint64_t idle = (uint64_t)c->n->lim.tcp_idle_timeout * 1000;
	uint64_t left = c->deadline > now ? c->deadline - now : 0;
	uv_timer_start(&c->timer, client_timeout, idle < left ? idle : left, 0);
}

static void tcp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)suggested;
	struct tcp_client *c = h->data;
	/* Room for one more full message after what we hold. */
	size_t need = c->len + 2 + MSG_MAX;
	uint8_t *b = realloc(c->buf, need);
	if (b == NULL) {
		buf->base = NULL;
		buf->len = 0;
		return;
	}
	c->buf = b;
	buf->base = (char *)c->buf + c->len;
	buf->len = need - c->len;
}

static size_t queued(const struct tcp_client *c)
{
	return c->sending.len + c->pending.len;
}

static void client_serve(struct tcp_client *c);

static void written(uv_write_t *req, int status);

/* Send what is pending unless a write is in flight. */
static int client_flush(struct tcp_client *c)
{
	if (c->sending.len > 0 || c->pending.len == 0) {
		return 0;
	}
	struct outbuf t = c->sending;
	c->sending = c->pending;
	c->pending = t;
	uv_buf_t b = uv_buf_init((char *)c->sending.data, (unsigned)c->sending.len);
	c->write.data = c;
	return uv_write(&c->write, (uv_stream_t *)&c->handle, &b, 1, written);
}

static void written(uv_write_t *req, int status)
{
	struct tcp_client *c = req->data;
	c->sending.len = 0;
	/* Closing, a pending write ends (UV_ECANCELED) before the close. */
	if (c->closing) {
		return;
	}
	if (status < 0 || client_flush(c) != 0) {
		client_close(c);
	} else if (c->paused && queued(c) < TCP_QUEUE_MAX / 2) {
		client_serve(c);
	}
}

static int client_answer(struct tcp_client *c, const uint8_t *answer, size_t alen)
{
	struct outbuf *o = &c->pending;
	if (o->len + 2 + alen > o->size) {
		size_t size = o->size > 0 ? o->size : 1024;
		while (size < o->len + 2 + alen) {
			size *= 2;
		}
		uint8_t *d = realloc(o->data, size);
		if (d == NULL) {
			return -ENOMEM;
		}
		o->data = d;
		o->size = size;
	}
	knot_wire_write_u16(o->data + o->len, (uint16_t)alen);
	memcpy(o->data + o->len + 2, answer, alen);
	o->len += 2 + alen;
	return 0;
}

/* Answer the whole messages held while the queue of answers has room;
 * read more only then. */
static void client_serve(struct tcp_client *c)
{
	notify_t *n = c->n;
	uv_stream_t *s = (uv_stream_t *)&c->handle;
	size_t off = 0;
	bool served = false;
	while (queued(c) < TCP_QUEUE_MAX && c->len - off >= 2) {
		size_t mlen = knot_wire_read_u16(c->buf + off);
		if (c->len - off - 2 < mlen) {
			break;
		}
		size_t alen =
		        notify_process(n, c->buf + off + 2, mlen, (const struct sockaddr *)&c->peer,
		                       uv_now(s->loop), n->wbuf, MSG_MAX);
		off += 2 + mlen;
		served = true;
		if (alen > 0 && client_answer(c, n->wbuf, alen) != 0) {
			client_close(c);
			return;
		}
	}
	memmove(c->buf, c->buf + off, c->len - off);
	c->len -= off;
	if (client_flush(c) != 0) {
		client_close(c);
		return;
	}
	if (served) {
		client_arm(c);
	}
	bool full = queued(c) >= TCP_QUEUE_MAX;
	if (full && !c->paused) {
		n->stats.tcp_paused++;
		uv_read_stop(s);
	} else if (!full && c->paused) {
		uv_read_start(s, tcp_alloc, tcp_read);
	}
	c->paused = full;
}

static void tcp_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	(void)buf;
	struct tcp_client *c = s->data;
	if (nread < 0) {
		client_close(c);
		return;
	}
	c->len += (size_t)nread;
	client_serve(c);
}

/* Why a new connection is closed at once, or NULL: a source in no ACL, a
 * full pool, the source's share, the notify-from prefixes' half. */
static const char *tcp_refusal(const notify_t *n, const struct tcp_client *c)
{
	if (c->source == NOTIFY_SOURCE_NONE) {
		return "source-not-allowed";
	}
	if (n->clients > n->lim.tcp_max_clients) {
		return "tcp-max-clients";
	}
	uint32_t same = 0, prefix = 0;
	for (const struct tcp_client *o = n->client_list; o != NULL; o = o->next) {
		if (o != c) {
			same += memcmp(o->ip, c->ip, sizeof(c->ip)) == 0;
			prefix += o->source == NOTIFY_SOURCE_PREFIX;
		}
	}
	if (same >= n->lim.tcp_max_per_source) {
		return "tcp-max-clients-per-source";
	}
	if (c->source == NOTIFY_SOURCE_PREFIX && prefix >= (n->lim.tcp_max_clients + 1) / 2) {
		return "notify-from-share";
	}
	return NULL;
}

static void tcp_accept(uv_stream_t *server, int status)
{
	notify_t *n = server->data;
	if (status < 0) {
		return;
	}
	struct tcp_client *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		return;
	}
	c->n = n;
	c->next = n->client_list;
	c->prevp = &n->client_list;
	if (c->next != NULL) {
		c->next->prevp = &c->next;
	}
	n->client_list = c;
	uv_tcp_init(server->loop, &c->handle);
	uv_timer_init(server->loop, &c->timer);
	c->handle.data = c;
	c->timer.data = c;
	n->clients++;
	int plen = sizeof(c->peer);
	if (uv_accept(server, (uv_stream_t *)&c->handle) != 0 ||
	    uv_tcp_getpeername(&c->handle, (struct sockaddr *)&c->peer, &plen) != 0) {
		client_close(c);
		return;
	}
	/* Refused: accept and close at once, so the backlog drains. */
	const struct sockaddr *peer = (const struct sockaddr *)&c->peer;
	addr_bytes(peer, c->ip);
	c->source = n->cb.source != NULL ? n->cb.source(n->cb.ctx, peer) : NOTIFY_SOURCE_PRIMARY;
	const char *why = tcp_refusal(n, c);
	if (why != NULL) {
		char src[80];
		n->stats.tcp_refused++;
		if (log_allowed(n, uv_now(server->loop))) {
			log_notice("NOTIFY TCP connection refused: from=%s reason=%s",
			           src_str(peer, src, sizeof(src)), why);
		}
		client_close(c);
		return;
	}
	c->deadline = uv_now(server->loop) + (uint64_t)n->lim.tcp_session_timeout * 1000;
	client_arm(c);
	uv_read_start((uv_stream_t *)&c->handle, tcp_alloc, tcp_read);
}

int notify_listen(notify_t *n, uv_loop_t *loop, const net_addr_t *listen, size_t nlisten,
                  char *err, size_t errlen)
{
	n->loop = loop;
	n->udp = calloc(nlisten + 1, sizeof(*n->udp));
	n->tcp = calloc(nlisten + 1, sizeof(*n->tcp));
	n->rbuf = malloc(UDP_RBUF);
	n->wbuf = malloc(MSG_MAX);
	n->obuf = malloc((size_t)UDP_BATCH * MSG_MAX);
	if (n->udp == NULL || n->tcp == NULL || n->rbuf == NULL || n->wbuf == NULL ||
	    n->obuf == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < nlisten; i++) {
		const net_addr_t *a = &listen[i];
		const struct sockaddr *sa = (const struct sockaddr *)&a->ss;
		char where[80];
		net_addr_str(a, where, sizeof(where));
		uv_udp_init_ex(loop, &n->udp[i], sa->sa_family | UV_UDP_RECVMMSG);
		uv_tcp_init(loop, &n->tcp[i]);
		n->udp[i].data = n;
		n->tcp[i].data = n;
		n->nsock = i + 1;
		unsigned v6only = sa->sa_family == AF_INET6 ? UV_UDP_IPV6ONLY : 0;
		int ret = uv_udp_bind(&n->udp[i], sa, v6only);
		if (ret == 0) {
			/* A deep queue so a burst waits instead of being dropped:
			 * SO_RCVBUFFORCE as root, else as much as rmem_max allows. */
			uv_os_fd_t fd;
			int size = UDP_SOCKBUF;
			if (uv_fileno((uv_handle_t *)&n->udp[i], &fd) != 0 ||
			    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) != 0) {
				uv_recv_buffer_size((uv_handle_t *)&n->udp[i], &size);
			}
			ret = uv_udp_recv_start(&n->udp[i], udp_alloc, udp_recv);
		}
		if (ret != 0) {
			snprintf(err, errlen, "cannot listen on %s (UDP): %s", where,
			         uv_strerror(ret));
			return ret;
		}
		ret = uv_tcp_bind(&n->tcp[i], sa, sa->sa_family == AF_INET6 ? UV_TCP_IPV6ONLY : 0);
		if (ret == 0) {
			ret = uv_listen((uv_stream_t *)&n->tcp[i], 128, tcp_accept);
		}
		if (ret != 0) {
			snprintf(err, errlen, "cannot listen on %s (TCP): %s", where,
			         uv_strerror(ret));
			return ret;
		}
	}
	return 0;
}

void notify_close(notify_t *n)
{
	while (n->client_list != NULL) {
		client_close(n->client_list);
	}
	for (size_t i = 0; i < n->nsock; i++) {
		if (!uv_is_closing((uv_handle_t *)&n->udp[i])) {
			uv_close((uv_handle_t *)&n->udp[i], NULL);
		}
		if (!uv_is_closing((uv_handle_t *)&n->tcp[i])) {
			uv_close((uv_handle_t *)&n->tcp[i], NULL);
		}
	}
}
